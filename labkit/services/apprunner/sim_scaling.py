"""App Runner's request-driven auto scaling: instances from concurrent requests.

App Runner adds instances when the concurrent requests an instance handles exceed the auto
scaling configuration's ``MaxConcurrency``, between ``MinSize`` (kept provisioned) and
``MaxSize`` (https://docs.aws.amazon.com/apprunner/latest/dg/manage-autoscaling.html).

Requests in the sandbox are answered one after another, in-process, so concurrency is modelled:
by Little's law, the average number of requests in flight over a minute is the time they spent
(each request takes the app's ``seconds_per_request`` attribute, or
:data:`REQUEST_SECONDS`) divided by 60 s. The instances needed are that concurrency over
``MaxConcurrency``, rounded up, within the sizes.
"""

from __future__ import annotations

import math

#: Not an AWS number: how long a request takes when the app declares nothing.
REQUEST_SECONDS = 0.1


def request_seconds(entry: object) -> float:
    """How long one request to the image ``entry`` takes (its declared figure or the default)."""
    declared = getattr(entry, "seconds_per_request", None)
    if isinstance(declared, int | float) and not isinstance(declared, bool) and declared >= 0:
        return float(declared)
    return REQUEST_SECONDS


def instances_needed(
    busy_seconds: float, period: float, max_concurrency: int, min_size: int, max_size: int
) -> int:
    """Instances for a period in which requests were in flight ``busy_seconds`` in total.

    Example:
        >>> instances_needed(6000.0, 60, 100, 1, 25)  # 100 requests in flight on average
        1
        >>> instances_needed(6060.0, 60, 100, 1, 25)  # 101: a second instance
        2
        >>> instances_needed(0.0, 60, 100, 1, 25)  # idle: the provisioned minimum
        1
    """
    concurrency = busy_seconds / period if period > 0 else 0.0
    wanted = math.ceil(round(concurrency, 6) / max(max_concurrency, 1))
    return max(min_size, min(max_size, wanted))


__all__ = ["REQUEST_SECONDS", "instances_needed", "request_seconds"]
