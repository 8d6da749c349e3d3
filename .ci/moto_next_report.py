"""What broke under the newest moto: the unit tests that failed, grouped by test module.

`make moto-next` runs the unit suite in `.venv-moto-next/` (everything as locked but moto) with
`--junitxml`, then calls this script on that report. It prints the moto version, how many tests
failed, and each failed test id under its module (one module per service or area: test_sqs_*,
test_lambda_*, ...). It always exits 0: an upgrade survey never fails the build.

    python .ci/moto_next_report.py REPORT.xml MOTO_VERSION
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path


def main(report: Path, version: str) -> int:
    if not report.exists():
        print(f"moto {version}: the unit suite wrote no report ({report}); see the output above.")
        return 0
    cases = list(ET.parse(report).getroot().iter("testcase"))
    broken: dict[str, list[str]] = defaultdict(list)
    skipped = 0
    for case in cases:
        module = case.get("classname", "").split(".")
        # classname is "tests.test_sqs_fidelity" or "tests.test_sqs_fidelity.TestClass".
        name = next((part for part in module if part.startswith("test_")), ".".join(module))
        if case.find("failure") is not None or case.find("error") is not None:
            broken[name].append(case.get("name", "?"))
        elif case.find("skipped") is not None:
            skipped += 1
    failed = sum(len(ids) for ids in broken.values())
    print(f"\nmoto {version} (locked: see requirements.lock): {failed} of {len(cases)} unit tests")
    print(f"failed or errored, {skipped} skipped, in {len(broken)} module(s).")
    for module in sorted(broken, key=lambda m: (-len(broken[m]), m)):
        print(f"\n{module} ({len(broken[module])})")
        for test in sorted(broken[module]):
            print(f"  - {test}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "?"))
