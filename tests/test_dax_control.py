"""DAX's control plane in the sandbox: parameter groups, node types, names, endpoints."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from labkit import facts
from labkit.lab import Lab

ROLE = "arn:aws:iam::123456789012:role/dax"


def create(lab: Lab, name: str = "cache", **options: object) -> dict[str, object]:
    options.setdefault("NodeType", "dax.r5.large")
    options.setdefault("ReplicationFactor", 3)
    answer = lab.client("dax").create_cluster(ClusterName=name, IamRoleArn=ROLE, **options)
    return dict(answer["Cluster"])


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_default_parameters_are_five_minute_ttls(lab: Lab) -> None:
    params = lab.client("dax").describe_default_parameters()["Parameters"]
    values = {p["ParameterName"]: int(p["ParameterValue"]) for p in params}
    assert values == {
        "record-ttl-millis": facts.value("dax.item_cache_ttl_default") * 1000,
        "query-ttl-millis": facts.value("dax.query_cache_ttl_default") * 1000,
    }


def test_a_parameter_group_is_created_updated_and_used(lab: Lab) -> None:
    dax = lab.client("dax")
    group = dax.create_parameter_group(ParameterGroupName="fast", Description="short TTLs")
    assert group["ParameterGroup"] == {"ParameterGroupName": "fast", "Description": "short TTLs"}
    dax.update_parameter_group(
        ParameterGroupName="fast",
        ParameterNameValues=[{"ParameterName": "record-ttl-millis", "ParameterValue": "1000"}],
    )
    values = {
        p["ParameterName"]: p["ParameterValue"]
        for p in dax.describe_parameters(ParameterGroupName="fast")["Parameters"]
    }
    assert values == {"record-ttl-millis": "1000", "query-ttl-millis": "300000"}
    create(lab, ParameterGroupName="fast")
    cluster = dax.describe_clusters(ClusterNames=["cache"])["Clusters"][0]
    assert cluster["ParameterGroup"]["ParameterGroupName"] == "fast"
    with pytest.raises(ClientError) as in_use:
        dax.delete_parameter_group(ParameterGroupName="fast")
    assert code(in_use) == "InvalidParameterGroupStateFault"
    dax.update_cluster(ClusterName="cache", ParameterGroupName="default.dax1.0")
    dax.delete_parameter_group(ParameterGroupName="fast")
    names = [g["ParameterGroupName"] for g in dax.describe_parameter_groups()["ParameterGroups"]]
    assert names == ["default.dax1.0"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([{"ParameterName": "record-ttl-millis", "ParameterValue": "-1"}], "InvalidParameterValue"),
        ([{"ParameterName": "record-ttl-millis", "ParameterValue": "soon"}], "InvalidParameter"),
        ([{"ParameterName": "item-ttl", "ParameterValue": "1"}], "InvalidParameterValue"),
    ],
)
def test_bad_parameter_values_are_refused(
    lab: Lab, values: list[dict[str, str]], expected: str
) -> None:
    dax = lab.client("dax")
    dax.create_parameter_group(ParameterGroupName="g")
    with pytest.raises(ClientError) as refused:
        dax.update_parameter_group(ParameterGroupName="g", ParameterNameValues=values)
    assert code(refused).startswith(expected)


def test_the_default_group_cannot_be_changed_and_missing_groups_are_named(lab: Lab) -> None:
    dax = lab.client("dax")
    with pytest.raises(ClientError) as default:
        dax.update_parameter_group(
            ParameterGroupName="default.dax1.0",
            ParameterNameValues=[{"ParameterName": "query-ttl-millis", "ParameterValue": "1"}],
        )
    assert code(default) == "InvalidParameterGroupStateFault"
    with pytest.raises(ClientError) as missing:
        create(lab, ParameterGroupName="nope")
    assert code(missing) == "ParameterGroupNotFoundFault"


def test_node_types_and_sizes_are_checked(lab: Lab) -> None:
    with pytest.raises(ClientError, match="node type") as bad_type:
        create(lab, NodeType="cache.r5.large")
    assert code(bad_type) == "InvalidParameterValueException"
    with pytest.raises(ClientError, match="between 1 and 11"):
        create(lab, ReplicationFactor=12)


def test_short_and_mixed_case_names_are_accepted_and_lowercased(lab: Lab) -> None:
    assert create(lab, "C1")["ClusterName"] == "c1"
    with pytest.raises(ClientError):
        create(lab, "bad--name")
    with pytest.raises(ClientError) as taken:
        create(lab, "c1")
    assert code(taken) == "ClusterAlreadyExistsFault"


def test_the_first_describe_shows_the_endpoint(lab: Lab) -> None:
    assert create(lab)["Status"] == "creating"
    cluster = lab.client("dax").describe_clusters(ClusterNames=["cache"])["Clusters"][0]
    assert cluster["Status"] == "available"
    assert cluster["ActiveNodes"] == 3
    endpoint = cluster["ClusterDiscoveryEndpoint"]
    assert endpoint["URL"] == f"dax://{endpoint['Address']}" and endpoint["Port"] == 8111
