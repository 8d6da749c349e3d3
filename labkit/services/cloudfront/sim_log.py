"""A CloudFront distribution's request log: its latest requests, whoever sent them.

:func:`labkit.services.cloudfront.patch.serve_request` records every request a distribution is
sent (through ``requests``, ``urllib``, ``labkit.edge.fetch`` or a traffic trace) with
:func:`record`; views and checks read them with :func:`request_log`. CloudFront's standard logs
carry much the same fields per request (time, edge location, viewer, path, status, result type,
time taken:
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html).

The log is a bounded deque on moto's distribution object, like the edge caches, so
``lab.reset()`` and a check's isolated world cover it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

#: How many of its latest requests a distribution keeps; older ones drop off, so a long trace
#: costs bounded memory (views show the last few, checks look at recent traffic).
REQUEST_LOG_SIZE = 1_000


@dataclass(frozen=True)
class LoggedRequest:
    """One request a distribution was sent, as its edge location saw it.

    Attributes:
        at: Lab time of the request (epoch seconds).
        viewer: Where the viewer was (a city).
        country: The viewer's ISO country code.
        pop: The edge location that answered (``X-Amz-Cf-Pop``).
        method: The HTTP method.
        path: The path as sent, with the query string.
        status: The status code; 0 when no answer came back (the origin could not be reached
            at all, which the viewer sees as a connection error).
        cache: CloudFront's verdict (``X-Cache``): ``Hit``, ``Miss``, ``RefreshHit``, ``Error``
            or ``Redirect``; ``""`` with no answer.
        latency_ms: Modelled time to first byte, milliseconds.
        blocked: Whether geo restriction refused the viewer's country.
    """

    at: float
    viewer: str
    country: str
    pop: str
    method: str
    path: str
    status: int
    cache: str
    latency_ms: float
    blocked: bool


def request_log(dist: Any) -> tuple[LoggedRequest, ...]:
    """A moto distribution's latest requests, oldest first (reading creates nothing)."""
    log: deque[LoggedRequest] | None = dist.__dict__.get("labkit_requests")
    return tuple(log) if log is not None else ()


def record(dist: Any, entry: LoggedRequest) -> None:
    """Add ``entry`` to a moto distribution's log (the oldest entry drops off when full)."""
    # On moto's distribution object, like the caches: reset and isolated worlds cover it.
    log: deque[LoggedRequest] | None = dist.__dict__.get("labkit_requests")
    if log is None:
        log = deque(maxlen=REQUEST_LOG_SIZE)
        dist.__dict__["labkit_requests"] = log
    log.append(entry)


__all__ = ["REQUEST_LOG_SIZE", "LoggedRequest", "record", "request_log"]
