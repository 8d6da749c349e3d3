"""Run every benchmark in this folder, one process each, and print their figures.

Each benchmark measures labkit against stock moto (or its own target) within one run, so the
ratios it prints are comparable whatever the machine. ``make bench`` runs this.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n######## {script.name}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(
            f"######## {script.name}: exit {code}, {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        if code:
            failed.append(script.name)
    if failed:
        print("\nfailed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
