"""DAX benchmark: a cache hit through the real DAX client against a get_item on stock moto.

Prints, measured in the same run (medians of interleaved batches):
- a DAX item cache hit: ``AmazonDaxClient.get_item`` (the real ``amazondax`` client: request
  validation against DynamoDB's API model, its events and retry wrapper, then the sandbox's
  node and item cache), in milliseconds of wall time;
- the same call through ``AmazonDaxClient.resource(...).Table(...).get_item`` (boto3's
  serializers on top);
- a cache miss (every key read once), and ``get_item`` on stock moto (``mock_aws``);
- the ratio of the hit to stock moto's ``get_item``.

Target (the DynamoDB lab issue): a DAX hit under 0.5 ms of wall time in process.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

import support

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

CALLS = 200
BATCHES = 7
KEY = {"id": {"S": "u1"}}
ITEM = {"id": {"S": "u1"}, "name": {"S": "Ada"}, "score": {"N": "42"}}
TABLE = {
    "TableName": "users",
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}


def timed(fn: Callable[[int], Any]) -> float:
    """Milliseconds per call of ``fn(i)`` over ``CALLS`` calls."""
    return support.timed(fn, CALLS)[0]


def stock(batch: int) -> float:
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**TABLE)
        client.put_item(TableName="users", Item=ITEM)
        return timed(lambda _i: client.get_item(TableName="users", Key=KEY))


def sandbox(batch: int) -> tuple[float, float, float]:
    from amazondax import AmazonDaxClient

    import labkit

    lab = labkit.start(quiet=True)
    try:
        ddb = lab.client("dynamodb")
        ddb.create_table(**TABLE)
        for i in range(CALLS):
            ddb.put_item(TableName="users", Item={**ITEM, "id": {"S": f"u{i}"}})
        control = lab.client("dax")
        control.create_cluster(
            ClusterName="bench",
            NodeType="dax.r5.large",
            ReplicationFactor=1,
            IamRoleArn="arn:aws:iam::123456789012:role/dax",
        )
        url = control.describe_clusters()["Clusters"][0]["ClusterDiscoveryEndpoint"]["URL"]
        dax = AmazonDaxClient(endpoint_url=url)
        miss = timed(lambda i: dax.get_item(TableName="users", Key={"id": {"S": f"u{i}"}}))
        hit = timed(lambda _i: dax.get_item(TableName="users", Key=KEY))
        table = AmazonDaxClient.resource(endpoint_url=url).Table("users")
        table.get_item(Key={"id": "u1"})
        resource_hit = timed(lambda _i: table.get_item(Key={"id": "u1"}))
        return hit, resource_hit, miss
    finally:
        lab.stop()


def main() -> int:
    stock_ms: list[float] = []
    hits: list[float] = []
    resource_hits: list[float] = []
    misses: list[float] = []
    for batch in range(BATCHES):
        stock_ms.append(stock(batch))
        hit, resource_hit, miss = sandbox(batch)
        hits.append(hit)
        resource_hits.append(resource_hit)
        misses.append(miss)
    hit = statistics.median(hits)
    moto = statistics.median(stock_ms)
    print(f"DAX hit, AmazonDaxClient.get_item:        {hit:.3f} ms (target < 0.5 ms)")
    print(f"DAX hit, resource Table.get_item:          {statistics.median(resource_hits):.3f} ms")
    print(f"DAX miss (read from the sandbox's table):  {statistics.median(misses):.3f} ms")
    print(f"stock moto get_item:                       {moto:.3f} ms")
    print(f"DAX hit / stock moto get_item:             {hit / moto:.2f}x")
    return 0 if hit < 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
