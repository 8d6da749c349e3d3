"""The real DAX client (``amazondax``) against the sandbox's DAX: caches, TTLs, write-through.

Every test drives ``AmazonDaxClient`` (or its boto3 resource) as a learner would, pointed at the
URL ``describe_clusters`` returns, and DynamoDB through an ordinary boto3 client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from amazondax import AmazonDaxClient
from botocore.exceptions import ClientError

import labkit
from labkit.lab import Lab
from labkit.services.dax.patch_client import DaxEndpointError

ROLE = "arn:aws:iam::123456789012:role/dax"
KEY = {"id": {"S": "u1"}}


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
    ddb.put_item(TableName="users", Item={"id": {"S": "u1"}, "name": {"S": "Ada"}})
    yield lab
    lab.stop()


def cluster_url(lab: Lab, name: str = "cache", **options: Any) -> str:
    dax = lab.client("dax")
    dax.create_cluster(
        ClusterName=name,
        NodeType=options.pop("NodeType", "dax.t3.small"),
        ReplicationFactor=options.pop("ReplicationFactor", 1),
        IamRoleArn=ROLE,
        **options,
    )
    cluster = dax.describe_clusters(ClusterNames=[name])["Clusters"][0]
    return str(cluster["ClusterDiscoveryEndpoint"]["URL"])


def outcomes(client: AmazonDaxClient) -> list[str]:
    return [r.outcome for r in client._cluster._node.cache.requests]


def name_of(answer: dict[str, Any]) -> str | None:
    item = answer.get("Item")
    return None if item is None else str(item["name"]["S"])


def test_a_second_read_is_a_hit_in_microseconds(lab: Lab) -> None:
    dax = AmazonDaxClient(endpoint_url=cluster_url(lab))
    assert name_of(dax.get_item(TableName="users", Key=KEY)) == "Ada"
    assert name_of(dax.get_item(TableName="users", Key=KEY)) == "Ada"
    miss, hit = dax._cluster._node.cache.requests
    assert (miss.outcome, hit.outcome) == ("miss", "hit")
    assert hit.latency_us < 1000 < miss.latency_us


def test_a_write_straight_to_dynamodb_leaves_dax_stale_until_the_item_ttl(lab: Lab) -> None:
    dax = AmazonDaxClient(endpoint_url=cluster_url(lab))
    dax.get_item(TableName="users", Key=KEY)
    lab.client("dynamodb").put_item(TableName="users", Item={**KEY, "name": {"S": "Bob"}})
    assert name_of(dax.get_item(TableName="users", Key=KEY)) == "Ada"
    lab.clock.advance(299)
    assert name_of(dax.get_item(TableName="users", Key=KEY)) == "Ada"
    lab.clock.advance(1)
    assert name_of(dax.get_item(TableName="users", Key=KEY)) == "Bob"
    assert outcomes(dax) == ["miss", "hit", "hit", "miss"]


def test_a_write_through_dax_updates_the_item_cache(lab: Lab) -> None:
    dax = AmazonDaxClient(endpoint_url=cluster_url(lab))
    dax.get_item(TableName="users", Key=KEY)
    dax.put_item(TableName="users", Item={**KEY, "name": {"S": "Bob"}})
    assert name_of(dax.get_item(TableName="users", Key=KEY)) == "Bob"
    dax.update_item(
        TableName="users",
        Key=KEY,
        UpdateExpression="SET #n = :n",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":n": {"S": "Cy"}},
    )
    assert name_of(dax.get_item(TableName="users", Key=KEY)) == "Cy"
    assert outcomes(dax) == ["miss", "write-through", "hit", "write-through", "hit"]


def test_update_item_returns_what_the_caller_asked_for(lab: Lab) -> None:
    dax = AmazonDaxClient(endpoint_url=cluster_url(lab))
    plain = dax.update_item(
        TableName="users",
        Key=KEY,
        UpdateExpression="SET age = :a",
        ExpressionAttributeValues={":a": {"N": "3"}},
    )
    assert "Attributes" not in plain
    old = dax.update_item(
        TableName="users",
        Key=KEY,
        UpdateExpression="SET age = :a",
        ExpressionAttributeValues={":a": {"N": "4"}},
        ReturnValues="UPDATED_OLD",
    )
    assert old["Attributes"] == {"age": {"N": "3"}}
    assert dax.get_item(TableName="users", Key=KEY)["Item"]["age"] == {"N": "4"}


def test_a_delete_through_dax_caches_the_absence(lab: Lab) -> None:
    dax = AmazonDaxClient(endpoint_url=cluster_url(lab))
    dax.get_item(TableName="users", Key=KEY)
    dax.delete_item(TableName="users", Key=KEY)
    assert "Item" not in dax.get_item(TableName="users", Key=KEY)
    assert outcomes(dax)[-1] == "hit"


def test_strongly_consistent_reads_pass_through_and_are_not_cached(lab: Lab) -> None:
    dax = AmazonDaxClient(endpoint_url=cluster_url(lab))
    dax.get_item(TableName="users", Key=KEY)
    lab.client("dynamodb").put_item(TableName="users", Item={**KEY, "name": {"S": "Bob"}})
    fresh = dax.get_item(TableName="users", Key=KEY, ConsistentRead=True)
    assert name_of(fresh) == "Bob"
    # The strongly consistent read did not refresh the cache: the next ordinary read is stale.
    assert name_of(dax.get_item(TableName="users", Key=KEY)) == "Ada"
    assert outcomes(dax) == ["miss", "pass-through", "hit"]


def test_a_missing_item_is_cached_as_a_negative_entry(lab: Lab) -> None:
    dax = AmazonDaxClient(endpoint_url=cluster_url(lab))
    ghost = {"id": {"S": "nobody"}}
    assert dax.get_item(TableName="users", Key=ghost) == {}
    lab.client("dynamodb").put_item(TableName="users", Item={**ghost, "name": {"S": "Zed"}})
    assert dax.get_item(TableName="users", Key=ghost) == {}
    assert outcomes(dax) == ["miss", "hit"]


def test_the_query_cache_stays_stale_after_a_write_through_dax(lab: Lab) -> None:
    dax = AmazonDaxClient(endpoint_url=cluster_url(lab))
    query = {
        "TableName": "users",
        "KeyConditionExpression": "id = :i",
        "ExpressionAttributeValues": {":i": {"S": "u1"}},
    }
    assert dax.query(**query)["Items"][0]["name"] == {"S": "Ada"}
    dax.put_item(TableName="users", Item={**KEY, "name": {"S": "Bob"}})
    assert dax.query(**query)["Items"][0]["name"] == {"S": "Ada"}
    assert name_of(dax.get_item(TableName="users", Key=KEY)) == "Bob"
    lab.clock.advance(300)
    assert dax.query(**query)["Items"][0]["name"] == {"S": "Bob"}


def test_the_parameter_group_sets_both_ttls(lab: Lab) -> None:
    control = lab.client("dax")
    control.create_parameter_group(ParameterGroupName="short")
    control.update_parameter_group(
        ParameterGroupName="short",
        ParameterNameValues=[
            {"ParameterName": "record-ttl-millis", "ParameterValue": "60000"},
            {"ParameterName": "query-ttl-millis", "ParameterValue": "0"},
        ],
    )
    dax = AmazonDaxClient(endpoint_url=cluster_url(lab, ParameterGroupName="short"))
    query = {
        "TableName": "users",
        "KeyConditionExpression": "id = :i",
        "ExpressionAttributeValues": {":i": {"S": "u1"}},
    }
    dax.query(**query)
    dax.query(**query)
    dax.get_item(TableName="users", Key=KEY)
    lab.clock.advance(59)
    dax.get_item(TableName="users", Key=KEY)
    lab.clock.advance(1)
    dax.get_item(TableName="users", Key=KEY)
    assert outcomes(dax) == ["miss", "miss", "miss", "hit", "miss"]


def test_the_resource_api_reads_through_dax(lab: Lab) -> None:
    url = cluster_url(lab)
    table = AmazonDaxClient.resource(endpoint_url=url).Table("users")
    assert table.get_item(Key={"id": "u1"})["Item"]["name"] == "Ada"
    table.put_item(Item={"id": "u2", "score": 7})
    assert table.get_item(Key={"id": "u2"})["Item"]["score"] == 7
    dax = AmazonDaxClient(endpoint_url=url)
    assert name_of(dax.get_item(TableName="users", Key=KEY)) == "Ada"
    assert outcomes(dax)[-1] == "hit"  # one cluster, one cache, whichever client reads it


def test_dynamodb_errors_arrive_as_the_real_client_raises_them(lab: Lab) -> None:
    dax = AmazonDaxClient(endpoint_url=cluster_url(lab))
    with pytest.raises(ClientError) as failed:
        dax.put_item(TableName="users", Item=KEY, ConditionExpression="attribute_not_exists(id)")
    assert failed.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert type(failed.value).__name__ == "DaxServiceError"
    with pytest.raises(ClientError) as missing:
        dax.get_item(TableName="nope", Key=KEY)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_request_the_api_model_rejects_fails_in_the_client(lab: Lab) -> None:
    dax = AmazonDaxClient(endpoint_url=cluster_url(lab))
    with pytest.raises(ClientError) as failed:
        dax.get_item(TableName="users")
    assert failed.value.response["Error"]["Code"] == "ValidationException"
    assert "Key" in str(failed.value)


def test_an_endpoint_that_is_no_sandbox_cluster_is_refused_without_the_network(
    lab: Lab,
) -> None:
    cluster_url(lab)
    with pytest.raises(DaxEndpointError, match="cache"):
        AmazonDaxClient(endpoint_url="dax://cache.abc123.dax-clusters.us-east-1.amazonaws.com")
    with pytest.raises(ClientError, match="scheme"):
        AmazonDaxClient(endpoint_url="https://cache.example.com")


def test_an_encrypted_cluster_is_reached_at_daxs(lab: Lab) -> None:
    url = cluster_url(lab, ClusterEndpointEncryptionType="TLS")
    assert url.startswith("daxs://")
    assert name_of(AmazonDaxClient(endpoint_url=url).get_item(TableName="users", Key=KEY))
    with pytest.raises(DaxEndpointError, match="daxs://"):
        AmazonDaxClient(endpoint_url=url.replace("daxs://", "dax://"))


def test_a_stopped_sandbox_gives_the_real_cluster_back(lab: Lab) -> None:
    import importlib

    module: Any = importlib.import_module("amazondax.AmazonDaxClient")
    from amazondax.Cluster import Cluster

    cluster_url(lab)
    assert module.Cluster is not Cluster
    lab.stop()
    assert module.Cluster is Cluster


def test_a_node_endpoint_and_a_host_port_endpoint_reach_the_cluster_too(lab: Lab) -> None:
    cluster_url(lab)
    node = lab.client("dax").describe_clusters()["Clusters"][0]["Nodes"][0]["Endpoint"]
    dax = AmazonDaxClient(endpoints=[f"{node['Address']}:{node['Port']}"])
    assert name_of(dax.get_item(TableName="users", Key=KEY)) == "Ada"
    with pytest.raises(DaxEndpointError, match="port 8111"):
        AmazonDaxClient(endpoints=[f"{node['Address']}:9999"])


def test_the_real_clients_own_argument_checks_apply(lab: Lab) -> None:
    url = cluster_url(lab)
    with pytest.raises(ValueError, match="No endpoints provided"):
        AmazonDaxClient()
    with pytest.raises(ValueError, match="SSL/TLS is not supported"):
        AmazonDaxClient(endpoint_url=url, use_ssl=True)


def test_before_any_dax_call_the_network_guard_stops_the_real_client() -> None:
    from labkit.errors import NetworkBlockedError

    lab = labkit.start(quiet=True)  # no DAX backend loaded yet: the real Cluster class is used
    try:
        with pytest.raises(NetworkBlockedError, match="dax-clusters"):
            AmazonDaxClient(endpoint_url="dax://c.abc123.dax-clusters.us-east-1.amazonaws.com")
    finally:
        lab.stop()


def test_a_cluster_reads_the_tables_of_its_own_account(lab: Lab) -> None:
    from labkit.sandbox.accounts import OUTSIDER_ACCOUNT, client_in_account

    ddb = client_in_account(lab.sandbox, "dynamodb", OUTSIDER_ACCOUNT)
    ddb.create_table(
        TableName="theirs",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="theirs", Item={**KEY, "name": {"S": "Outsider"}})
    control = client_in_account(lab.sandbox, "dax", OUTSIDER_ACCOUNT)
    control.create_cluster(
        ClusterName="theirs", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=ROLE
    )
    url = control.describe_clusters()["Clusters"][0]["ClusterDiscoveryEndpoint"]["URL"]
    dax = AmazonDaxClient(endpoint_url=url)
    assert name_of(dax.get_item(TableName="theirs", Key=KEY)) == "Outsider"
    with pytest.raises(ClientError, match=r"ResourceNotFound|not found"):
        dax.get_item(TableName="users", Key=KEY)  # the learner's table is in another account
