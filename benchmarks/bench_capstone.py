"""Capstone benchmark: the wall time of every check of lab 09 on the worked solution.

Defines the solution's functions from ``solutions/09_capstone.py`` (its lab start and "Try it"
cells left out), then runs each of the capstone's checks as ``lab.check`` does: each builds the
whole system (a user pool, a REST API with a Cognito authorizer, two functions, a global table, a
users table with a stream and its event source mapping, SES, a DAX cluster, a CloudFront
distribution with OAC, two buckets) in an empty world of its own and plays its journey. The first
pass pays moto's imports of every backend the system touches (a learner's notebook has paid them
by the time it checks); the figures are of the passes after it: each check's median and worst, and
the median total of all nine.

Target (issue 16): all capstone checks run in under 30 s of wall time.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

SOLUTION = HERE.parent / "solutions" / "09_capstone.py"
RUNS = 3
TARGET_S = 30.0


def reference(lab: Any) -> dict[str, Any]:
    """The solution's functions (with their source lines, so the handlers can be deployed)."""
    source = SOLUTION.read_text(encoding="utf-8")
    head = source.split("# %% [markdown]\n# Try it: build the shop here", 1)[0]
    head = head.replace('lab = labkit.start("capstone")', "lab = LAB")
    namespace: dict[str, Any] = {"__name__": "capstone_bench", "LAB": lab}
    exec(compile(head, str(SOLUTION), "exec"), namespace)
    return namespace


def main() -> int:
    os.environ.setdefault("LABKIT_CHECKS", "show")
    import labkit

    lab = labkit.start("capstone", quiet=True)
    times: dict[str, list[float]] = {}
    totals: list[float] = []
    failed: list[str] = []
    try:
        namespace = reference(lab)
        checks = [c.name for c in lab._require_spec().checks]
        started = time.perf_counter()
        for name in checks:  # the cold pass: moto imports its backends
            lab.check(name, namespace)
        cold = time.perf_counter() - started
        for _ in range(RUNS):
            total = 0.0
            for name in checks:
                started = time.perf_counter()
                result = lab.check(name, namespace)
                took = time.perf_counter() - started
                total += took
                times.setdefault(name, []).append(took)
                if not result.passed:
                    failed.append(f"{name}: {result.message}")
            totals.append(total)
    finally:
        lab.stop()
    print(f"first pass (moto imports every backend): {cold:6.2f} s")
    for name, runs in times.items():
        print(f"{name:<20} median {statistics.median(runs):5.2f} s, worst {max(runs):5.2f} s")
    total = statistics.median(totals)
    print(
        f"all {len(times)} checks: median {total:5.2f} s, worst {max(totals):5.2f} s "
        f"(target < {TARGET_S:.0f} s)"
    )
    for problem in failed:
        print("FAILED", problem)
    return 0 if total < TARGET_S and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
