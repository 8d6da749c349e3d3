"""Buckets named like another service's endpoint (``logs``, ``kinesis``, ``events``) work.

moto routes a request to the first service whose URL pattern matches it. The virtual-hosted URL
of a bucket called ``logs`` (``https://logs.s3.amazonaws.com/``) matches CloudWatch Logs'
``logs.<anything>.amazonaws.com`` before S3's patterns, so ``CreateBucket`` answers 404 and the
bucket cannot be used. S3 has no such collision, and ``logs`` is a name learners pick. While a
lab runs, an S3 request whose virtual-hosted URL another service would claim is sent path-style
instead (``https://s3.amazonaws.com/logs/``), which moto routes to S3. Other requests are left
exactly as botocore made them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.backend_index import backend_url_patterns
from moto.core.botocore_stubber import BotocoreStubber

#: ``<scheme>://<bucket>.<s3 endpoint><path>``: a virtual-hosted S3 URL (not an accelerate,
#: website or control endpoint, whose routes are their own).
_VIRTUAL = re.compile(
    r"(?P<scheme>https?)://(?P<bucket>[a-z0-9][a-z0-9.\-]*?)\."
    r"(?P<endpoint>s3(?:\.[a-z0-9\-]+)?\.amazonaws\.com)(?P<rest>[/?].*)?$"
)


def path_style(url: str) -> str | None:
    """``url`` path-style when it is a virtual-hosted S3 URL that moto would route to another
    service; ``None`` when it is fine as it is."""
    found = _VIRTUAL.match(url)
    if found is None:
        return None
    clean = url.split("?", 1)[0]
    first = next((service for service, p in backend_url_patterns if p.match(clean)), None)
    if first in (None, "s3"):
        return None
    rest = found.group("rest") or "/"
    if rest.startswith("?"):
        rest = "/" + rest
    return f"{found.group('scheme')}://{found.group('endpoint')}/{found.group('bucket')}{rest}"


@contextmanager
def buckets_named_like_services() -> Iterator[None]:
    """Send S3 requests that another service would claim path-style inside the block."""
    real_stub_call = BotocoreStubber.__call__

    def stub_call(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        if event_name.startswith("before-send.s3."):
            rewritten = path_style(str(request.url))
            if rewritten is not None:
                request.url = rewritten
        return real_stub_call(self, event_name, request, **kwargs)

    BotocoreStubber.__call__ = stub_call  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.__call__ = real_stub_call  # type: ignore[method-assign]


__all__ = ["buckets_named_like_services", "path_style"]
