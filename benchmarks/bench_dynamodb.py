"""DynamoDB benchmark: put_item/get_item in the sandbox against stock moto, capacity accounting
overhead, and the table view of a 100,000-item table.

Prints, measured in the same run (medians of interleaved batches):
- put_item and get_item (1 KB items, distinct keys, an on-demand table so nothing throttles) on
  stock moto (``mock_aws``), in a labkit sandbox without the DynamoDB capacity patch, and in a
  labkit sandbox with it; the ratio sandbox/stock (target: at most 1.10x) and the capacity
  accounting overhead, with/without the patch (target: at most 10 %);
- the accounting alone: what the patch adds to one put_item (the table's meters found, the
  item sized, its key hashed, its units admitted and counted, ConsumedCapacity built), timed
  directly, as a share of the measured put_item (the difference of two noisy call times can
  come out negative on a busy machine; this cannot);
- the table view of a 100,000-item table: snapshot plus HTML and text rendering (target: under
  200 ms).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import support

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

CALLS = 100
BATCHES = 15
VIEW_ITEMS = 100_000
PAYLOAD = "x" * 1000
KEY_SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"}]
ATTRIBUTES = [{"AttributeName": "pk", "AttributeType": "S"}]


def per_call(fn: Callable[[int], Any]) -> float:
    """Microseconds per call of ``fn(i)`` over ``CALLS`` calls."""
    return support.timed(fn, CALLS, unit=1e6)[0]


def workload(client: Any, table: str) -> tuple[float, float]:
    """put_item then get_item of ``CALLS`` distinct 1 KB items: microseconds per call of each."""
    client.create_table(
        TableName=table,
        KeySchema=KEY_SCHEMA,
        AttributeDefinitions=ATTRIBUTES,
        BillingMode="PAY_PER_REQUEST",
    )
    put = per_call(
        lambda i: client.put_item(
            TableName=table, Item={"pk": {"S": f"user#{i}"}, "d": {"S": PAYLOAD}}
        )
    )
    get = per_call(lambda i: client.get_item(TableName=table, Key={"pk": {"S": f"user#{i}"}}))
    return put, get


def stock(round_no: int) -> tuple[float, float]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        return workload(client, f"bench-{round_no}")


@contextmanager
def without_capacity_patch() -> Iterator[None]:
    """Sandboxes run in the block leave the DynamoDB capacity patch out."""
    from labkit.sandbox import patches

    saved = patches.PATCHES
    patches.PATCHES = tuple(p for p in saved if p.name != "dynamodb")
    try:
        yield
    finally:
        patches.PATCHES = saved


def sandbox(round_no: int, *, capacity: bool) -> tuple[float, float]:
    import labkit

    if not capacity:
        with without_capacity_patch():
            return sandbox(round_no, capacity=True)
    lab = labkit.start(quiet=True)
    try:
        return workload(lab.client("dynamodb"), f"bench-{round_no}")
    finally:
        lab.stop()


def accounting_cost() -> float:
    """Microseconds of capacity accounting per put_item, timed on its own."""
    import labkit
    from labkit.services.dynamodb.sim_capacity import WRITE, write_units
    from labkit.services.dynamodb.sim_capacity_table import attrs_size, hash_of, meters_of

    lab = labkit.start(quiet=True)
    try:
        client = lab.client("dynamodb")
        client.create_table(
            TableName="acct",
            KeySchema=KEY_SCHEMA,
            AttributeDefinitions=ATTRIBUTES,
            BillingMode="PAY_PER_REQUEST",
        )
        table = lab.sandbox.backend("dynamodb").get_table("acct")
        now = lab.clock.timestamp
        items = [{"pk": {"S": f"user#{i}"}, "d": {"S": PAYLOAD}} for i in range(2000)]
        started = time.perf_counter()
        for item in items:
            meters = meters_of(table, now)
            units = write_units(attrs_size(item))
            where = hash_of(item["pk"])
            if meters.table.fits(now, WRITE, where, units):
                meters.table.consume(now, WRITE, where, units)
            _ = {"TableName": "acct", "CapacityUnits": units, "WriteCapacityUnits": units}
            now += 0.001
        return (time.perf_counter() - started) / len(items) * 1e6
    finally:
        lab.stop()


def view_render() -> tuple[float, float, int]:
    """Milliseconds for the table view of a 100,000-item table: (snapshot + render, fill time)."""
    import labkit
    from labkit.services.dynamodb.state import table_snapshot
    from labkit.services.dynamodb.view import render_html, render_text, table_state

    lab = labkit.start(quiet=True)
    try:
        client = lab.client("dynamodb")
        client.create_table(
            TableName="big",
            KeySchema=KEY_SCHEMA,
            AttributeDefinitions=ATTRIBUTES,
            BillingMode="PAY_PER_REQUEST",
        )
        client.update_time_to_live(
            TableName="big", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
        )
        backend = lab.sandbox.backend("dynamodb")
        now = int(lab.clock.timestamp)
        started = time.perf_counter()
        for i in range(VIEW_ITEMS):
            backend.put_item(
                "big",
                {
                    "pk": {"S": f"user#{i}"},
                    "n": {"N": str(i)},
                    "exp": {"N": str(now - 60 + i % 3600)},
                },
            )
        fill = time.perf_counter() - started
        times = []
        size = 0
        for _ in range(5):
            t = time.perf_counter()
            state = table_state(table_snapshot(lab.sandbox, "big"))
            html = render_html(state)
            text = render_text(state)
            times.append(time.perf_counter() - t)
            size = len(html) + len(text)
        return statistics.median(times) * 1000, fill, size
    finally:
        lab.stop()


def main() -> None:
    stock(-1)  # warm every path (imports, first-call costs)
    sandbox(-1, capacity=False)
    sandbox(-1, capacity=True)
    runs: dict[str, list[tuple[float, float]]] = {"stock": [], "bare": [], "capacity": []}
    for round_no in range(BATCHES):
        runs["stock"].append(stock(round_no))
        runs["bare"].append(sandbox(round_no, capacity=False))
        runs["capacity"].append(sandbox(round_no, capacity=True))

    def med(kind: str, which: int) -> float:
        return statistics.median(r[which] for r in runs[kind])

    for which, call in ((0, "put_item"), (1, "get_item")):
        s, b, c = med("stock", which), med("bare", which), med("capacity", which)
        print(f"{call} 1 KB, stock moto:                      {s:8.0f} us/call")
        print(f"{call} 1 KB, sandbox without capacity patch:  {b:8.0f} us/call")
        print(f"{call} 1 KB, sandbox (capacity metered):      {c:8.0f} us/call")
        print(f"  ratio sandbox/stock:                         {c / s:8.2f}x (target <= 1.10x)")
        print(
            f"  capacity accounting overhead:                {(c / b - 1) * 100:7.1f} % "
            "(target <= 10 %)"
        )
    accounting = accounting_cost()
    put = med("capacity", 0)
    print(f"capacity accounting alone, per put_item:       {accounting:8.1f} us/call")
    print(
        f"  share of a metered put_item:                 {accounting / put * 100:7.1f} % "
        "(target <= 10 %)"
    )
    render, fill, size = view_render()
    print(f"table view of {VIEW_ITEMS:,} items (filled in {fill:.1f} s):")
    print(f"  snapshot + HTML + text:                      {render:8.1f} ms (target < 200 ms)")
    print(f"  rendered size:                               {size:8,d} characters")


if __name__ == "__main__":
    main()
