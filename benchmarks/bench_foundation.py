"""Foundation benchmarks: labkit against raw moto, measured in the same run.

Prints:
- start-up: import + start + first call, in fresh processes (median of N, interleaved);
- per-call cost of sqs send_message and dynamodb put_item (median of batches, in alternating
  fresh processes of raw moto and labkit);
- a long poll on an empty queue (labkit on the lab clock; raw moto with a 1 s wait for scale).

Targets (the foundation issue): start-up within 1.25x of raw moto; per-call overhead within 10%;
a 20 s long poll returns within 50 ms of wall time.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import support

RAW_STARTUP = """
import time; t = time.perf_counter()
import boto3
from moto import mock_aws
mock_aws().start()
boto3.client("sqs", region_name="us-east-1").list_queues()
print(time.perf_counter() - t)
"""

LABKIT_STARTUP = """
import time; t = time.perf_counter()
import labkit
lab = labkit.start(quiet=True)
lab.client("sqs").list_queues()
print(time.perf_counter() - t)
"""


def startup(runs: int) -> tuple[float, float]:
    """Median start-up seconds of raw moto and labkit, interleaved in fresh processes."""
    raw: list[float] = []
    lab: list[float] = []
    for _ in range(runs):
        for code, into in ((RAW_STARTUP, raw), (LABKIT_STARTUP, lab)):
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            into.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(raw), statistics.median(lab)


def per_call(fn: Callable[[int], Any], calls: int, batches: int) -> float:
    """Median milliseconds per call over ``batches`` batches of ``calls`` calls."""
    return statistics.median(support.timed(fn, calls, batches))


def workloads(sqs: Any, ddb: Any) -> dict[str, Callable[[int], Any]]:
    """The measured calls; the queue is drained between batches so its depth stays small."""
    urls = [sqs.create_queue(QueueName=f"bench-{n}")["QueueUrl"] for n in range(100)]
    ddb.create_table(
        TableName="bench",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    def send(i: int) -> None:
        # A fresh queue every 20 messages keeps the depth (which stock moto's cost grows with)
        # the same small figure for both.
        sqs.send_message(QueueUrl=urls[(i // 20) % len(urls)], MessageBody=f"message {i}")

    def put(i: int) -> None:
        ddb.put_item(TableName="bench", Item={"pk": {"S": f"k{i}"}, "v": {"N": str(i)}})

    return {"sqs send_message": send, "dynamodb put_item": put}


def calls_raw(calls: int, batches: int) -> dict[str, float]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        return {k: per_call(f, calls, batches) for k, f in workloads(sqs, ddb).items()}


def calls_labkit(calls: int, batches: int) -> dict[str, float]:
    import labkit

    lab = labkit.start(quiet=True)
    try:
        work = workloads(lab.client("sqs"), lab.client("dynamodb"))
        return {k: per_call(f, calls, batches) for k, f in work.items()}
    finally:
        lab.stop()


def long_poll() -> tuple[float, float, float]:
    """Wall ms of a 20 s long poll in labkit, lab seconds it advanced, raw moto's 1 s poll."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="empty")["QueueUrl"]
        t = time.perf_counter()
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
        raw_ms = (time.perf_counter() - t) * 1000

    import labkit

    lab = labkit.start(quiet=True)
    try:
        sqs = lab.client("sqs")
        url = sqs.create_queue(QueueName="empty")["QueueUrl"]
        before = lab.clock.timestamp
        t = time.perf_counter()
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
        lab_ms = (time.perf_counter() - t) * 1000
        advanced = lab.clock.timestamp - before
    finally:
        lab.stop()
    return lab_ms, advanced, raw_ms


def per_call_rounds(rounds: int, calls: int, batches: int) -> dict[str, dict[str, float]]:
    """Per-call medians of raw moto and labkit, each round a fresh process of each, alternated.

    Alternating fresh processes spreads a busy moment of the machine over both sides instead of
    charging it to whichever ran second; the figure is the median over rounds.
    """
    found: dict[str, dict[str, list[float]]] = {"raw": {}, "labkit": {}}
    for _ in range(rounds):
        for side in ("raw", "labkit"):
            out = subprocess.run(
                [sys.executable, __file__, "--per-call", side, str(calls), str(batches)],
                capture_output=True,
                text=True,
                check=True,
            )
            for name, ms in json.loads(out.stdout.strip().splitlines()[-1]).items():
                found[side].setdefault(name, []).append(ms)
    return {
        side: {name: statistics.median(v) for name, v in figures.items()}
        for side, figures in found.items()
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--per-call":
        side, calls, batches = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        measure = calls_raw if side == "raw" else calls_labkit
        print(json.dumps(measure(calls, batches)))
        return
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    raw_s, lab_s = startup(runs)
    print("== start-up: import + start + first call (fresh process, median of", runs, "runs)")
    print(f"raw moto  {raw_s:.3f} s")
    print(f"labkit    {lab_s:.3f} s   ratio {lab_s / raw_s:.2f}x (target <= 1.25x)")

    calls, batches, rounds = 100, 7, 3
    figures = per_call_rounds(rounds, calls, batches)
    raw, lab = figures["raw"], figures["labkit"]
    print(
        f"== per call (median over {rounds} alternating pairs of fresh processes, "
        f"each the median of {batches} batches of {calls})"
    )
    for name in raw:
        ratio = lab[name] / raw[name]
        print(
            f"{name:18s} raw {raw[name]:.3f} ms  labkit {lab[name]:.3f} ms  "
            f"overhead {(ratio - 1) * 100:+.1f}% (target <= +10%)"
        )

    lab_ms, advanced, raw_ms = long_poll()
    print("== long poll on an empty queue")
    print(
        f"labkit WaitTimeSeconds=20: {lab_ms:.1f} ms wall, "
        f"lab clock +{advanced:g} s (target < 50 ms)"
    )
    print(f"raw moto WaitTimeSeconds=1: {raw_ms:.0f} ms wall (it blocks the whole wait)")


if __name__ == "__main__":
    main()
