"""What the benchmarks share: one way to time a call.

Every ``bench_*.py`` runs as a script from this folder, so ``from support import timed`` finds
this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def timed(
    fn: Callable[[int], Any],
    calls: int = 1,
    batches: int = 1,
    *,
    unit: float = 1000.0,
    before: Callable[[], Any] | None = None,
) -> list[float]:
    """Time ``batches`` batches of ``calls`` calls of ``fn(i)``: the time per call of each batch.

    Args:
        fn: Called with the call's number, counted across batches (``batch * calls + i``), so a
            workload can use fresh keys every call.
        calls: Calls per batch.
        batches: How many batches.
        unit: Units per second of the figures returned (1000: milliseconds, 1: seconds, 1e6:
            microseconds).
        before: Run untimed before each call (then each call is timed on its own and the batch's
            figure is the sum of its calls).

    Returns:
        One figure per batch (time per call in ``unit``); take the median, or ``[0]`` for one.
    """
    times = []
    for b in range(batches):
        if before is None:
            t = time.perf_counter()
            for i in range(calls):
                fn(b * calls + i)
            elapsed = time.perf_counter() - t
        else:
            elapsed = 0.0
            for i in range(calls):
                before()
                t = time.perf_counter()
                fn(b * calls + i)
                elapsed += time.perf_counter() - t
        times.append(elapsed / calls * unit)
    return times
