"""Serve a family of hosts to ``requests`` (through moto's ``responses`` mock) and to ``urllib``.

moto intercepts only ``requests``; a host it has no route for (a load balancer's DNS name, the
load balancers' public-key host) would fall through to the network guard. :func:`serve` answers
every method for URLs matching a pattern from one handler, ahead of moto's scan of its ~200 URL
patterns, and puts a ``urllib`` handler for the same hosts in front of the installed opener
(joining, not replacing, the openers other patches installed). A 4xx or 5xx answer raises
``urllib.error.HTTPError`` as it would from AWS; a redirect is followed by ``urllib`` as usual.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import re
import urllib.error
import urllib.request
import urllib.response
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from http import HTTPStatus
from typing import Any

import requests
import responses
from moto.core.models import responses_mock

#: ``(status, headers as a mapping or (name, value) pairs, body)``.
Reply = tuple[int, "Mapping[str, str] | list[tuple[str, str]]", "bytes | str"]
Handler = Callable[[Any], Reply]

_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
#: What a claimed callback says it answers (the claim's own test decides what it does).
_ANY_URL = re.compile(r"https?://.*")


class _UrllibRequest:
    """What a handler reads of a request (``method``, ``url``, ``headers``, ``body``)."""

    def __init__(self, req: urllib.request.Request) -> None:
        self.method = req.get_method()
        self.url = req.full_url
        self.headers = dict(req.header_items())
        self.body = req.data if isinstance(req.data, (bytes, str)) else None


class _HostHandler(urllib.request.BaseHandler):
    handler_order = 100  # before HTTPHandler / HTTPSHandler (500)

    def __init__(self, host: re.Pattern[str], handle: Handler) -> None:
        self._host = host
        self._handle = handle

    def _open(self, req: urllib.request.Request) -> urllib.response.addinfourl | None:
        if not self._host.match((req.host or "").split(":")[0].lower()):
            return None
        try:
            status, headers, body = self._handle(_UrllibRequest(req))
        except requests.exceptions.ConnectionError as refused:
            raise urllib.error.URLError(str(refused)) from refused
        message = http.client.HTTPMessage()
        for name, value in headers.items() if isinstance(headers, Mapping) else headers:
            message[name] = value
        data = body.encode("utf-8") if isinstance(body, str) else body
        reply = urllib.response.addinfourl(io.BytesIO(data), message, req.full_url, status)
        reply.msg = HTTPStatus(status).phrase  # type: ignore[attr-defined]
        return reply

    def http_open(self, req: urllib.request.Request) -> urllib.response.addinfourl | None:
        """An ``http://`` URL of the hosts."""
        return self._open(req)

    def https_open(self, req: urllib.request.Request) -> urllib.response.addinfourl | None:
        """An ``https://`` URL of the hosts."""
        return self._open(req)


def claim(
    stack: ExitStack,
    matches: Callable[[str], bool],
    callback: Callable[[Any], Any],
    *,
    content_type: str | None = "text/plain",
) -> None:
    """Answer every ``requests`` call whose URL ``matches`` with ``callback`` (``responses``'
    ``(status, headers, body)``) until ``stack`` closes.

    The URL is claimed ahead of moto's scan of its ~200 URL patterns (which a plain
    ``responses`` registration would wait behind on every request); claims made later are asked
    first, and a URL no claim wants goes on to moto. ``content_type=None`` leaves the
    Content-Type to the callback's headers.
    """
    callbacks = {
        m: responses.CallbackResponse(
            method=m, url=_ANY_URL, callback=callback, content_type=content_type
        )
        for m in _METHODS
    }
    registry = responses_mock._registry
    scan = registry.find

    def find(request: Any) -> Any:
        found = callbacks.get(request.method)
        if found is not None and matches(str(request.url)):
            return found, []
        return scan(request)

    registry.find = find  # type: ignore[method-assign]

    def restore_find() -> None:
        if registry.__dict__.get("find") is find:
            if getattr(scan, "__self__", None) is registry:
                del registry.find
            else:
                registry.find = scan  # type: ignore[method-assign]

    stack.callback(restore_find)


def serve(stack: ExitStack, host: re.Pattern[str], handle: Handler) -> None:
    """Answer every request to a host matching ``host`` (a lower-case host name pattern,
    without port) with ``handle`` until ``stack`` closes: ``requests`` (:func:`claim`) and
    ``urllib`` (a handler in front of the installed opener, joining the others)."""
    url = re.compile(r"https?://(?P<host>[^/:?#]+)(?::\d+)?(?:[/?#].*)?$")

    def ours(raw_url: str) -> bool:
        found = url.match(raw_url)
        return found is not None and host.match(found["host"].lower()) is not None

    claim(stack, ours, handle)

    previous = urllib.request._opener  # type: ignore[attr-defined]
    kept = list(previous.handlers) if previous is not None else []
    urllib.request.install_opener(urllib.request.build_opener(_HostHandler(host, handle), *kept))

    def restore_opener() -> None:
        urllib.request._opener = previous  # type: ignore[attr-defined]
        if previous is not None:
            for handler in kept:
                with contextlib.suppress(Exception):
                    handler.add_parent(previous)

    stack.callback(restore_opener)


def body_of(body: Any) -> bytes:
    """A request body as bytes (``requests`` may carry text, bytes, a file or an iterator)."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data if isinstance(data, bytes) else str(data).encode("utf-8")
    return b"".join(c if isinstance(c, bytes) else str(c).encode() for c in body)


__all__ = ["Handler", "Reply", "body_of", "serve"]
