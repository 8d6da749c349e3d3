"""SQS at depth: a backlog sent in batches and drained, on stock moto and in a labkit sandbox.

The workload (the Decoupling lab's "backlog" exercise): send N messages with
``send_message_batch`` (10 per call), then drain with ``receive_message(MaxNumberOfMessages=10)``
and ``delete_message_batch`` until the queue answers empty. ``WaitTimeSeconds`` is 0, so no time
passes on any clock; stock moto runs with real time in a plain ``mock_aws()``, labkit in a
free-play sandbox, both in this process, in this run.

Prints:
- wall seconds for N = 2,000 on stock moto and on labkit, and the ratio (target: labkit at least
  30x faster);
- wall seconds for N = 10,000 on labkit (target: under 15 s);
- per call, at depth 0, 1,000 and 2,000 (10,000 for the big run): send_message_batch while the
  queue fills, receive_message and delete_message_batch while it drains (median of the calls
  nearest each depth).

Stock moto's send and receive cost grows with depth (it scans every message, asking the clock
about each), so its N = 2,000 run takes minutes. ``--stock-depth`` shrinks it while developing;
the figures that count come from the default.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

BATCH = 10


@dataclass
class Run:
    """What one send-and-drain run measured."""

    depth: int
    wall: float = 0.0
    drained: int = 0
    send_ms: dict[int, float] = field(default_factory=dict)
    receive_ms: dict[int, float] = field(default_factory=dict)
    delete_ms: dict[int, float] = field(default_factory=dict)


def _near(samples: list[tuple[int, float]], depth: int, width: int = 5) -> float:
    """Median milliseconds of the ``width`` calls made nearest ``depth``."""
    nearest = sorted(samples, key=lambda s: abs(s[0] - depth))[:width]
    return statistics.median(ms for _, ms in nearest) * 1000


def backlog(sqs: Any, depth: int, checkpoints: list[int]) -> Run:
    """Send ``depth`` messages in batches, then drain them; time it all and each call."""
    url = sqs.create_queue(QueueName=f"backlog-{depth}")["QueueUrl"]
    run = Run(depth)
    sends: list[tuple[int, float]] = []
    receives: list[tuple[int, float]] = []
    deletes: list[tuple[int, float]] = []
    start = time.perf_counter()
    for first in range(0, depth, BATCH):
        entries = [{"Id": str(i), "MessageBody": f"message {first + i}"} for i in range(BATCH)]
        t = time.perf_counter()
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
        sends.append((first, time.perf_counter() - t))
    left = depth
    while True:
        t = time.perf_counter()
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        receives.append((left, time.perf_counter() - t))
        if not got:
            break
        t = time.perf_counter()
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
            ],
        )
        deletes.append((left, time.perf_counter() - t))
        left -= len(got)
        run.drained += len(got)
    run.wall = time.perf_counter() - start
    for point in checkpoints:
        run.send_ms[point] = _near(sends, point)
        run.receive_ms[point] = _near(receives, point)
        run.delete_ms[point] = _near(deletes, point)
    return run


def warm_up(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="warm-up")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "0", "MessageBody": "x"}])
    for m in sqs.receive_message(QueueUrl=url).get("Messages", []):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def on_stock(work: Callable[[Any], Any]) -> Any:
    import boto3
    from moto import mock_aws

    with mock_aws():
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        sqs = session.client("sqs")
        warm_up(sqs)
        return work(sqs)


def on_labkit(work: Callable[[Any], Any]) -> Any:
    import labkit

    lab = labkit.start(quiet=True)
    try:
        sqs = lab.client("sqs")
        warm_up(sqs)
        return work(sqs)
    finally:
        lab.stop()


def checkpoints_for(depth: int) -> list[int]:
    return [0, depth // 2, depth] if depth > 2_000 else [0, 1_000, 2_000][: 1 + depth // 1_000]


def table(title: str, runs: dict[str, Run]) -> None:
    print(f"\n{title}")
    print(
        f"  {'depth':>7}  {'':<7} {'send_batch(10)':>15} {'receive(10)':>13} {'delete_batch':>13}"
    )
    points = sorted({p for run in runs.values() for p in run.send_ms})
    for point in points:
        for name, run in runs.items():
            if point not in run.send_ms:
                continue  # a smaller --stock-depth does not reach this depth
            print(
                f"  {point:>7,}  {name:<7} {run.send_ms[point]:12.2f} ms "
                f"{run.receive_ms[point]:10.2f} ms {run.delete_ms[point]:10.2f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depth", type=int, default=2_000, help="backlog for the comparison")
    parser.add_argument("--stock-depth", type=int, default=None, help="smaller stock backlog")
    parser.add_argument("--big", type=int, default=10_000, help="labkit-only backlog")
    args = parser.parse_args()
    stock_depth = args.stock_depth or args.depth

    print(f"SQS backlog benchmark: send N in batches of {BATCH}, drain with receive(10) + delete")
    stock = on_stock(lambda sqs: backlog(sqs, stock_depth, checkpoints_for(stock_depth)))
    mine = on_labkit(lambda sqs: backlog(sqs, args.depth, checkpoints_for(args.depth)))
    big = on_labkit(lambda sqs: backlog(sqs, args.big, checkpoints_for(args.big)))
    for run in (stock, mine, big):
        assert run.drained == run.depth, f"drained {run.drained} of {run.depth}"

    print(f"\nN = {args.depth:,} (wall seconds, send + drain)")
    print(
        f"  stock moto : {stock.wall:9.2f} s"
        + (f"   (measured at N = {stock_depth:,})" if stock_depth != args.depth else "")
    )
    print(f"  labkit     : {mine.wall:9.2f} s")
    if stock_depth == args.depth:
        print(f"  ratio      : {stock.wall / mine.wall:9.1f}x faster (target: at least 30x)")
    print(f"\nN = {args.big:,} on labkit: {big.wall:.2f} s (target: under 15 s)")
    table("Per call at depth (median of the 5 calls nearest it)", {"stock": stock, "labkit": mine})
    table(f"labkit at N = {args.big:,}", {"labkit": big})


if __name__ == "__main__":
    main()
