"""Invoke URLs answered for ``urllib.request.urlopen`` as well as for ``requests``.

moto intercepts only ``requests`` (through ``responses``); a learner's ``urllib`` call to
``https://{api}.execute-api.{region}.amazonaws.com/...`` would reach the network guard. This
handler answers it from the same gateway before ``http.client`` looks up a name; a 4xx or 5xx
answer raises ``urllib.error.HTTPError`` as it would from AWS. It joins whatever opener is
installed (the edge network's, for CloudFront hosts) rather than replacing it.
"""

from __future__ import annotations

import http.client
import io
import re
import urllib.error
import urllib.request
import urllib.response
from collections.abc import Callable
from contextlib import ExitStack
from http import HTTPStatus
from typing import Any

import requests

_INVOKE_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com$")

Reply = tuple[int, dict[str, str], "str | bytes"]


class _Request:
    """What the gateway reads of a request (``method``, ``url``, ``headers``, ``body``)."""

    def __init__(self, req: urllib.request.Request) -> None:
        self.method = req.get_method()
        self.url = req.full_url
        self.headers = dict(req.header_items())
        self.body = req.data if isinstance(req.data, (bytes, str)) else None


class InvokeUrlHandler(urllib.request.BaseHandler):
    """Answers ``urlopen`` for execute-api hosts from the gateway."""

    handler_order = 100  # before HTTPHandler / HTTPSHandler (500)

    def __init__(self, handle: Callable[[Any], Reply]) -> None:
        self._handle = handle

    def _open(self, req: urllib.request.Request) -> urllib.response.addinfourl | None:
        host = (req.host or "").split(":")[0].lower()
        if not _INVOKE_HOST.match(host):
            return None  # not ours: the other handlers (and the network guard) decide
        try:
            status, headers, body = self._handle(_Request(req))
        except requests.exceptions.ConnectionError as unknown:  # no such API: no host
            raise urllib.error.URLError(str(unknown)) from unknown
        message = http.client.HTTPMessage()
        for name, value in headers.items():
            message[name] = value
        data = body.encode("utf-8") if isinstance(body, str) else body
        reply = urllib.response.addinfourl(io.BytesIO(data), message, req.full_url, status)
        reply.msg = HTTPStatus(status).phrase  # type: ignore[attr-defined]
        return reply

    def http_open(self, req: urllib.request.Request) -> urllib.response.addinfourl | None:
        """An ``http://`` invoke URL."""
        return self._open(req)

    def https_open(self, req: urllib.request.Request) -> urllib.response.addinfourl | None:
        """An ``https://`` invoke URL."""
        return self._open(req)


def install(stack: ExitStack, handle: Callable[[Any], Reply]) -> None:
    """Put :class:`InvokeUrlHandler` in front of the installed ``urllib`` opener."""
    previous = urllib.request._opener  # type: ignore[attr-defined]
    kept = list(previous.handlers) if previous is not None else []
    urllib.request.install_opener(urllib.request.build_opener(InvokeUrlHandler(handle), *kept))

    def restore() -> None:
        urllib.request._opener = previous  # type: ignore[attr-defined]
        if previous is not None:
            for handler in kept:
                handler.add_parent(previous)

    stack.callback(restore)
