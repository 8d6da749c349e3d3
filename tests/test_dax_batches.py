"""Batches, transactions, scans and projections through the real DAX client in the sandbox,
and proof that DAX traffic never reaches the network."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from amazondax import AmazonDaxClient

import labkit
from labkit.lab import Lab


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    ddb = lab.client("dynamodb")
    ddb.create_table(
        TableName="users",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(3):
        ddb.put_item(TableName="users", Item={"id": {"S": f"u{n}"}, "v": {"N": str(n)}})
    lab.client("dax").create_cluster(
        ClusterName="cache",
        NodeType="dax.r5.large",
        ReplicationFactor=3,
        IamRoleArn="arn:aws:iam::123456789012:role/dax",
    )
    yield lab
    lab.stop()


@pytest.fixture
def dax(lab: Lab) -> AmazonDaxClient:
    cluster = lab.client("dax").describe_clusters()["Clusters"][0]
    return AmazonDaxClient(endpoint_url=cluster["ClusterDiscoveryEndpoint"]["URL"])


def key(n: int | str) -> dict[str, Any]:
    return {"id": {"S": f"u{n}"}}


def requests(dax: AmazonDaxClient) -> list[tuple[str, str, str]]:
    return [(r.operation, r.outcome, r.detail) for r in dax._cluster._node.cache.requests]


def test_batch_get_item_mixes_hits_and_misses_and_caches_absent_keys(dax: AmazonDaxClient) -> None:
    dax.get_item(TableName="users", Key=key(0))
    first = dax.batch_get_item(RequestItems={"users": {"Keys": [key(0), key(1), key("x")]}})
    assert sorted(i["id"]["S"] for i in first["Responses"]["users"]) == ["u0", "u1"]
    assert requests(dax)[-1] == ("BatchGetItem", "miss", "1 from the item cache, 2 from DynamoDB")
    again = dax.batch_get_item(RequestItems={"users": {"Keys": [key(0), key(1), key("x")]}})
    assert len(again["Responses"]["users"]) == 2
    assert requests(dax)[-1] == ("BatchGetItem", "hit", "3 from the item cache, 0 from DynamoDB")


def test_a_strongly_consistent_batch_passes_through(lab: Lab, dax: AmazonDaxClient) -> None:
    dax.get_item(TableName="users", Key=key(0))
    lab.client("dynamodb").put_item(TableName="users", Item={**key(0), "v": {"N": "9"}})
    fresh = dax.batch_get_item(RequestItems={"users": {"Keys": [key(0)], "ConsistentRead": True}})
    assert fresh["Responses"]["users"][0]["v"] == {"N": "9"}
    assert requests(dax)[-1][1] == "pass-through"
    assert dax.get_item(TableName="users", Key=key(0))["Item"]["v"] == {"N": "0"}


def test_batch_write_item_writes_through(dax: AmazonDaxClient) -> None:
    dax.get_item(TableName="users", Key=key(0))
    dax.get_item(TableName="users", Key=key(1))
    dax.batch_write_item(
        RequestItems={
            "users": [
                {"PutRequest": {"Item": {**key(0), "v": {"N": "10"}}}},
                {"DeleteRequest": {"Key": key(1)}},
            ]
        }
    )
    assert dax.get_item(TableName="users", Key=key(0))["Item"]["v"] == {"N": "10"}
    assert "Item" not in dax.get_item(TableName="users", Key=key(1))
    assert [o for _, o, _ in requests(dax)][-2:] == ["hit", "hit"]


def test_transactions_write_through_and_transactional_reads_pass_through(
    dax: AmazonDaxClient,
) -> None:
    for n in range(3):
        dax.get_item(TableName="users", Key=key(n))
    dax.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "users", "Item": {**key(0), "v": {"N": "5"}}}},
            {"Delete": {"TableName": "users", "Key": key(1)}},
            {
                "Update": {
                    "TableName": "users",
                    "Key": key(2),
                    "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"N": "7"}},
                }
            },
        ]
    )
    assert dax.get_item(TableName="users", Key=key(0))["Item"]["v"] == {"N": "5"}
    assert "Item" not in dax.get_item(TableName="users", Key=key(1))
    assert dax.get_item(TableName="users", Key=key(2))["Item"]["v"] == {"N": "7"}
    assert [o for _, o, _ in requests(dax)][-3:] == ["hit", "hit", "miss"]
    got = dax.transact_get_items(TransactItems=[{"Get": {"TableName": "users", "Key": key(0)}}])
    assert got["Responses"][0]["Item"]["v"] == {"N": "5"}
    assert requests(dax)[-1][:2] == ("TransactGetItems", "pass-through")


def test_a_failed_transaction_leaves_the_cache_alone(dax: AmazonDaxClient) -> None:
    dax.get_item(TableName="users", Key=key(0))
    with pytest.raises(Exception) as failed:
        dax.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "users", "Item": {**key(0), "v": {"N": "99"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "users",
                        "Key": key(1),
                        "ConditionExpression": "attribute_not_exists(id)",
                    }
                },
            ]
        )
    assert failed.value.response["Error"]["Code"] == "TransactionCanceledException"  # type: ignore[attr-defined]
    assert dax.get_item(TableName="users", Key=key(0))["Item"]["v"] == {"N": "0"}


def test_scans_are_cached_by_their_parameters(dax: AmazonDaxClient) -> None:
    assert dax.scan(TableName="users")["Count"] == 3
    assert dax.scan(TableName="users", Limit=1)["Count"] == 1
    dax.put_item(TableName="users", Item={**key(3), "v": {"N": "3"}})
    assert dax.scan(TableName="users")["Count"] == 3  # the cached answer, new item or not
    assert [o for op, o, _ in requests(dax) if op == "Scan"] == ["miss", "miss", "hit"]


def test_a_projected_read_never_answers_a_full_one(dax: AmazonDaxClient) -> None:
    projected = dax.get_item(TableName="users", Key=key(0), ProjectionExpression="id")
    assert projected["Item"] == key(0)
    assert dax.get_item(TableName="users", Key=key(0))["Item"]["v"] == {"N": "0"}
    assert [o for _, o, _ in requests(dax)] == ["miss", "miss"]


def test_table_operations_are_refused_by_the_client_as_on_aws(dax: AmazonDaxClient) -> None:
    with pytest.raises(NotImplementedError, match="not supported on DAX"):
        dax.describe_table(TableName="users")


def test_dax_traffic_opens_no_socket(
    lab: Lab, dax: AmazonDaxClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Any] = []
    real = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        opened.append(address)
        real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    cluster = lab.client("dax").describe_clusters()["Clusters"][0]
    fresh = AmazonDaxClient(endpoint_url=cluster["ClusterDiscoveryEndpoint"]["URL"])
    fresh.get_item(TableName="users", Key=key(0))
    fresh.put_item(TableName="users", Item=key(5))
    fresh.query(
        TableName="users",
        KeyConditionExpression="id = :i",
        ExpressionAttributeValues={":i": {"S": "u5"}},
    )
    assert opened == []


def test_reset_empties_the_caches(lab: Lab, dax: AmazonDaxClient) -> None:
    dax.get_item(TableName="users", Key=key(0))
    lab.reset()
    assert lab.client("dax").describe_clusters()["Clusters"] == []


def test_a_refused_write_is_in_the_log_and_the_real_client_retries_it(
    dax: AmazonDaxClient,
) -> None:
    with pytest.raises(Exception, match="conditional"):
        dax.put_item(TableName="users", Item=key(0), ConditionExpression="attribute_not_exists(id)")
    # amazondax retries an error whose DAX codes do not start with 3, twice by default.
    assert [o for _, o, _ in requests(dax)] == ["error"] * 3
    assert "ConditionalCheckFailedException" in requests(dax)[0][2]


def test_a_deleted_cluster_no_longer_answers(lab: Lab, dax: AmazonDaxClient) -> None:
    dax.get_item(TableName="users", Key=key(0))
    lab.client("dax").delete_cluster(ClusterName="CACHE")  # found whatever the case
    lab.client("dax").describe_clusters()
    with pytest.raises(Exception, match="No cluster endpoints available") as gone:
        dax.get_item(TableName="users", Key=key(0))
    assert gone.value.response["Error"]["Code"] == "NoRouteException"  # type: ignore[attr-defined]


def test_a_batch_projection_without_the_key_caches_nothing_wrong(dax: AmazonDaxClient) -> None:
    spec = {"Keys": [key(0), key(1)], "ProjectionExpression": "v"}
    first = dax.batch_get_item(RequestItems={"users": spec})
    assert sorted(i["v"]["N"] for i in first["Responses"]["users"]) == ["0", "1"]
    again = dax.batch_get_item(RequestItems={"users": spec})
    assert sorted(i["v"]["N"] for i in again["Responses"]["users"]) == ["0", "1"]
    assert [o for _, o, _ in requests(dax)] == ["miss", "miss"]


def test_a_strongly_consistent_query_passes_through(lab: Lab, dax: AmazonDaxClient) -> None:
    query = {
        "TableName": "users",
        "KeyConditionExpression": "id = :i",
        "ExpressionAttributeValues": {":i": {"S": "u0"}},
    }
    dax.query(**query)
    lab.client("dynamodb").put_item(TableName="users", Item={**key(0), "v": {"N": "8"}})
    assert dax.query(**query, ConsistentRead=True)["Items"][0]["v"] == {"N": "8"}
    assert dax.query(**query)["Items"][0]["v"] == {"N": "0"}
    assert [o for _, o, _ in requests(dax)] == ["miss", "pass-through", "hit"]
