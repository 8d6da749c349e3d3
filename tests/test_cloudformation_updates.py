"""Stack updates as AWS runs them: an event per updated resource, dependants of a replaced one.

Stock moto updates only resources whose template text changed and records no event for them, so a
resource that refers to a replaced one keeps naming the deleted resource.
"""

from __future__ import annotations

import json
from typing import Any

from labkit.lab import Lab
from labkit.services.cloudformation.patch_updates import REPLACING, references


def _template(key: str, *, read_capacity: int = 1) -> str:
    # The table has no TableName: changing its key replaces it under a new generated name.
    return json.dumps(
        {
            "Resources": {
                "Table": {
                    "Type": "AWS::DynamoDB::Table",
                    "Properties": {
                        "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
                        "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
                        "ProvisionedThroughput": {
                            "ReadCapacityUnits": read_capacity,
                            "WriteCapacityUnits": 1,
                        },
                    },
                },
                "TableName": {
                    "Type": "AWS::SSM::Parameter",
                    "Properties": {
                        "Name": "table-name",
                        "Type": "String",
                        "Value": {"Ref": "Table"},
                    },
                },
                "TableArn": {
                    "Type": "AWS::SSM::Parameter",
                    "Properties": {
                        "Name": "table-arn",
                        "Type": "String",
                        "Value": {"Fn::Sub": "${Table.Arn}"},
                    },
                },
                "Unrelated": {
                    "Type": "AWS::SSM::Parameter",
                    "Properties": {"Name": "colour", "Type": "String", "Value": "blue"},
                },
            },
            "Outputs": {"Table": {"Value": {"Ref": "Table"}}},
        }
    )


def _events(lab: Lab, stack: str = "app") -> list[tuple[str, str, str]]:
    events = lab.client("cloudformation").describe_stack_events(StackName=stack)["StackEvents"]
    return [
        (e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason") or "")
        for e in reversed(events)
    ]


def _since_update(events: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    start = max(i for i, e in enumerate(events) if e[:2] == ("app", "UPDATE_IN_PROGRESS"))
    return events[start:]


def _parameter(lab: Lab, name: str) -> str:
    return str(lab.client("ssm").get_parameter(Name=name)["Parameter"]["Value"])


def test_resources_that_refer_to_a_replaced_table_follow_it(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="app", TemplateBody=_template("pk"))
    old = _parameter(lab, "table-name")
    cfn.update_stack(StackName="app", TemplateBody=_template("order_id"))
    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    tables = lab.client("dynamodb").list_tables()["TableNames"]
    new = _parameter(lab, "table-name")
    assert tables == [new] and new != old  # the parameter names the new table, not the deleted
    described = lab.client("dynamodb").describe_table(TableName=new)["Table"]
    assert _parameter(lab, "table-arn") == described["TableArn"]
    assert stack["Outputs"][0]["OutputValue"] == new


def test_a_replacement_is_told_in_events_and_the_old_table_goes_at_cleanup(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="app", TemplateBody=_template("pk"))
    cfn.update_stack(StackName="app", TemplateBody=_template("order_id"))
    events = _since_update(_events(lab))
    statuses = [(logical, status) for logical, status, _ in events]
    assert statuses == [
        ("app", "UPDATE_IN_PROGRESS"),
        ("Table", "UPDATE_IN_PROGRESS"),
        ("Table", "UPDATE_IN_PROGRESS"),
        ("Table", "UPDATE_COMPLETE"),
        *sorted(
            [
                ("TableArn", "UPDATE_IN_PROGRESS"),
                ("TableArn", "UPDATE_COMPLETE"),
                ("TableName", "UPDATE_IN_PROGRESS"),
                ("TableName", "UPDATE_COMPLETE"),
            ],
            key=lambda e: [s for s, _ in statuses].index(e[0]),
        ),
        ("app", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
        ("Table", "DELETE_IN_PROGRESS"),
        ("Table", "DELETE_COMPLETE"),
        ("app", "UPDATE_COMPLETE"),
    ]
    assert events[2][2] == REPLACING
    assert "Unrelated" not in {logical for logical, _, _ in events}  # it did not change
    resources = cfn.describe_stack_resources(StackName="app")["StackResources"]
    table = next(r for r in resources if r["LogicalResourceId"] == "Table")
    assert table["ResourceStatus"] == "UPDATE_COMPLETE"
    assert table["PhysicalResourceId"] == _parameter(lab, "table-name")


def test_an_update_in_place_has_its_events_and_no_cleanup(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="app", TemplateBody=_template("pk"))
    name = _parameter(lab, "table-name")
    cfn.update_stack(StackName="app", TemplateBody=_template("pk", read_capacity=5))
    events = _since_update(_events(lab))
    assert [(logical, status) for logical, status, _ in events] == [
        ("app", "UPDATE_IN_PROGRESS"),
        ("Table", "UPDATE_IN_PROGRESS"),
        ("Table", "UPDATE_COMPLETE"),
        ("app", "UPDATE_COMPLETE"),
    ]
    table = lab.client("dynamodb").describe_table(TableName=name)["Table"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert _parameter(lab, "table-name") == name


def test_references_reads_ref_getatt_and_sub() -> None:
    body: dict[str, Any] = {
        "A": {"Ref": "Queue"},
        "B": [{"Fn::GetAtt": ["Topic", "TopicArn"]}, {"Fn::GetAtt": "Fn.Arn"}],
        "C": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/${!Literal}/${Role.Arn}"},
        "D": {"Fn::Sub": ["${X}-${Y}", {"Y": {"Ref": "Other"}}]},
    }
    assert references(body) == {
        "Queue",
        "Topic",
        "Fn",
        "AWS::Partition",
        "Bucket",
        "Role",
        "X",
        "Y",
        "Other",
    }


def test_a_parameter_without_a_name_gets_one_and_keeps_it_through_updates(lab: Lab) -> None:
    def body(value: str) -> str:
        return json.dumps(
            {
                "Resources": {
                    "Setting": {
                        "Type": "AWS::SSM::Parameter",
                        "Properties": {"Type": "String", "Value": value},
                    }
                }
            }
        )

    cfn, ssm = lab.client("cloudformation"), lab.client("ssm")
    cfn.create_stack(StackName="app", TemplateBody=body("blue"))
    (resource,) = cfn.describe_stack_resources(StackName="app")["StackResources"]
    name = resource["PhysicalResourceId"]
    assert "Setting" in name and ssm.get_parameter(Name=name)["Parameter"]["Value"] == "blue"
    cfn.update_stack(StackName="app", TemplateBody=body("green"))
    parameter = ssm.get_parameter(Name=name)["Parameter"]
    assert (parameter["Value"], parameter["Version"]) == ("green", 2)  # the same one, updated
    assert [p["Name"] for p in ssm.describe_parameters()["Parameters"]] == [name]
