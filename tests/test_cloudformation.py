"""CloudFormation stacks as AWS runs them: each test shows behaviour stock moto lacks."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from labkit.lab import Lab
from labkit.services.cloudformation import sim_changes, sim_lint

TABLE = """
Parameters:
  Rcu: {{Type: Number, Default: 1}}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {{QueueName: orders}}
  Table:
    Type: AWS::DynamoDB::Table
    DependsOn: Queue
    Properties:
      TableName: {table}
      AttributeDefinitions: [{{AttributeName: {key}, AttributeType: S}}]
      KeySchema: [{{AttributeName: {key}, KeyType: HASH}}]
      ProvisionedThroughput: {{ReadCapacityUnits: !Ref Rcu, WriteCapacityUnits: 1}}
"""


def template(table: str = "orders", key: str = "id") -> str:
    return TABLE.format(table=table, key=key)


def taken_table(lab: Lab, name: str = "taken") -> None:
    lab.client("dynamodb").create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def events(cfn: Any, stack: str) -> list[tuple[str, str]]:
    """(logical id, status) of each event, oldest first."""
    found = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"]) for e in reversed(found)]


def queues(lab: Lab) -> list[str]:
    return list(lab.client("sqs").list_queues().get("QueueUrls", []))


# -- validation by cfn-lint ----------------------------------------------------------------------
def test_a_template_with_errors_is_refused_before_anything_is_deployed(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    body = "Resources:\n  Q: {Type: AWS::SQS::Queuee}\n  R: {Type: AWS::SQS::Queue}\n"
    with pytest.raises(ClientError) as caught:
        cfn.create_stack(StackName="bad", TemplateBody=body)
    message = caught.value.response["Error"]["Message"]
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "line 2, Resources/Q/Type" in message and "E3006" in message
    assert queues(lab) == []
    assert cfn.list_stacks()["StackSummaries"] == []


def test_validate_template_lists_every_error_with_its_line(lab: Lab) -> None:
    body = (
        "Resources:\n"
        "  Q: {Type: AWS::SQS::Queue, Properties: {Nope: 1}}\n"
        "Outputs:\n"
        "  A: {Value: !GetAtt Q.Missing}\n"
    )
    with pytest.raises(ClientError) as caught:
        lab.client("cloudformation").validate_template(TemplateBody=body)
    message = caught.value.response["Error"]["Message"]
    assert "cfn-lint found 2 errors" in message
    assert "line 2, Resources/Q/Properties/Nope" in message
    assert "line 4, Outputs/A/Value" in message


def test_a_valid_template_validates_and_json_works_too(lab: Lab) -> None:
    body = '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}'
    assert lab.client("cloudformation").validate_template(TemplateBody=body)["Parameters"] == []
    assert [f for f in sim_lint.lint(body) if f.is_error] == []


def test_a_finding_reads_as_a_hint() -> None:
    finding = sim_lint.Finding("E3002", "error", 7, "Resources/Q/Properties/X", "bad")
    assert finding.hint() == "line 7, Resources/Q/Properties/X: bad (E3002)"


# -- events and rollback -------------------------------------------------------------------------
def test_a_failed_resource_rolls_the_stack_back(lab: Lab) -> None:
    taken_table(lab)
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="shop", TemplateBody=template(table="taken"))
    stack = cfn.describe_stacks(StackName="shop")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "[Table]" in stack["StackStatusReason"]
    assert events(cfn, "shop") == [
        ("shop", "CREATE_IN_PROGRESS"),
        ("Queue", "CREATE_IN_PROGRESS"),
        ("Queue", "CREATE_COMPLETE"),
        ("Table", "CREATE_IN_PROGRESS"),
        ("Table", "CREATE_FAILED"),
        ("shop", "ROLLBACK_IN_PROGRESS"),
        ("Queue", "DELETE_IN_PROGRESS"),
        ("Queue", "DELETE_COMPLETE"),
        ("shop", "ROLLBACK_COMPLETE"),
    ]
    failed = cfn.describe_stack_events(StackName="shop")["StackEvents"]
    reason = next(e for e in failed if e["ResourceStatus"] == "CREATE_FAILED")
    assert "already exists" in reason["ResourceStatusReason"]
    # The queue it had made is gone, and reading the stack does not bring it back.
    assert queues(lab) == []
    assert cfn.describe_stack_resources(StackName="shop")["StackResources"] == []
    assert queues(lab) == []


def test_disable_rollback_keeps_what_was_created(lab: Lab) -> None:
    taken_table(lab)
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="shop", TemplateBody=template(table="taken"), DisableRollback=True)
    assert cfn.describe_stacks(StackName="shop")["Stacks"][0]["StackStatus"] == "CREATE_FAILED"
    resources = cfn.describe_stack_resources(StackName="shop")["StackResources"]
    assert {r["LogicalResourceId"]: r["ResourceStatus"] for r in resources} == {
        "Queue": "CREATE_COMPLETE",
        "Table": "CREATE_FAILED",
    }
    assert len(queues(lab)) == 1
    cfn.delete_stack(StackName="shop")
    assert queues(lab) == []


def test_on_failure_delete_removes_the_stack(lab: Lab) -> None:
    taken_table(lab)
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="shop", TemplateBody=template(table="taken"), OnFailure="DELETE")
    assert queues(lab) == []
    assert [s["StackName"] for s in cfn.describe_stacks()["Stacks"]] == []


def test_a_stack_that_deploys_lists_each_resource_with_its_status_and_time(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    lab.clock.advance(60)
    cfn.create_stack(StackName="shop", TemplateBody=template())
    resources = cfn.describe_stack_resources(StackName="shop")["StackResources"]
    assert {r["LogicalResourceId"]: r["ResourceStatus"] for r in resources} == {
        "Queue": "CREATE_COMPLETE",
        "Table": "CREATE_COMPLETE",
    }
    assert {r["Timestamp"].timestamp() for r in resources} == {lab.clock.now.timestamp()}
    assert ("Table", "CREATE_COMPLETE") in events(cfn, "shop")


# -- change sets ---------------------------------------------------------------------------------
def change_of(cfn: Any, stack: str, **kwargs: Any) -> dict[str, Any]:
    cfn.create_change_set(StackName=stack, ChangeSetName="next", **kwargs)
    changes = cfn.describe_change_set(StackName=stack, ChangeSetName="next")["Changes"]
    cfn.delete_change_set(StackName=stack, ChangeSetName="next")
    (table,) = [
        c["ResourceChange"] for c in changes if c["ResourceChange"]["LogicalResourceId"] == "Table"
    ]
    return dict(table)


@pytest.mark.parametrize(
    ("table", "key", "replacement", "recreation"),
    [
        ("orders-v2", "id", "True", "Always"),  # TableName: Replacement
        ("orders", "pk", "True", "Always"),  # KeySchema: Replacement (template reference)
    ],
)
def test_a_change_set_says_when_the_table_is_replaced(
    lab: Lab, table: str, key: str, replacement: str, recreation: str
) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="shop", TemplateBody=template())
    change = change_of(cfn, "shop", TemplateBody=template(table=table, key=key))
    assert change["Action"] == "Modify"
    assert change["Replacement"] == replacement
    assert change["PhysicalResourceId"] == "orders"
    assert {d["Target"]["RequiresRecreation"] for d in change["Details"]} >= {recreation}


def test_throughput_from_a_parameter_is_an_update_in_place(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="shop", TemplateBody=template())
    change = change_of(
        cfn,
        "shop",
        UsePreviousTemplate=True,
        Parameters=[{"ParameterKey": "Rcu", "ParameterValue": "5"}],
    )
    assert change["Replacement"] == "False"
    (detail,) = change["Details"]
    assert detail["Target"]["Name"] == "ProvisionedThroughput"
    assert detail["ChangeSource"] == "ParameterReference"
    assert detail["CausingEntity"] == "Rcu"


def test_a_change_set_without_a_type_updates_the_existing_stack(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    stack_id = cfn.create_stack(StackName="shop", TemplateBody=template())["StackId"]
    made = cfn.create_change_set(
        StackName="shop", ChangeSetName="c", TemplateBody=template(table="orders-v2")
    )
    assert made["StackId"] == stack_id
    assert len(cfn.describe_stacks()["Stacks"]) == 1


def test_replacing_a_resource_makes_what_refers_to_it_conditional() -> None:
    queue = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "a"}}
    policy_props = {"Queues": [{"Ref": "Q"}], "PolicyDocument": {}}
    old = {
        "Resources": {
            "Q": queue,
            "F": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": {"Ref": "Q"}}},
            "P": {"Type": "AWS::SQS::QueuePolicy", "Properties": policy_props},
        }
    }
    new = {"Resources": {**old["Resources"], "Q": {**queue, "Properties": {"QueueName": "b"}}}}
    changes = {c.logical_id: c for c in sim_changes.diff(old, {}, new, {})}
    assert changes["Q"].replacement == "True"
    # FunctionName cannot change in place, and its value is known only while deploying.
    assert changes["F"].replacement == "Conditional"
    assert changes["F"].details[0].evaluation == "Dynamic"
    assert changes["P"].replacement == "False"


def test_added_and_removed_resources() -> None:
    old = {"Resources": {"A": {"Type": "AWS::SNS::Topic"}}}
    new = {"Resources": {"B": {"Type": "AWS::SNS::Topic"}}}
    assert [(c.action, c.logical_id) for c in sim_changes.diff(old, {}, new, {})] == [
        ("Add", "B"),
        ("Remove", "A"),
    ]


# -- update rollback -----------------------------------------------------------------------------
ONE = "Resources:\n  A: {Type: AWS::SQS::Queue, Properties: {QueueName: a}}\n"
TWO = ONE + (
    "  B: {Type: AWS::SQS::Queue, Properties: {QueueName: b}}\n"
    "  C: {Type: AWS::SQS::Queue, DependsOn: B, Properties: {QueueName: taken, "
    "VisibilityTimeout: 9}}\n"
)


def queue_names(lab: Lab) -> list[str]:
    return sorted(u.rsplit("/", 1)[-1] for u in queues(lab))


@pytest.mark.parametrize("how", ["update_stack", "change_set"])
def test_a_failed_update_rolls_back_to_the_previous_template(lab: Lab, how: str) -> None:
    lab.client("sqs").create_queue(QueueName="taken", Attributes={"VisibilityTimeout": "5"})
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="s", TemplateBody=ONE)
    if how == "update_stack":
        cfn.update_stack(StackName="s", TemplateBody=TWO)
    else:
        cfn.create_change_set(StackName="s", ChangeSetName="more", TemplateBody=TWO)
        cfn.execute_change_set(StackName="s", ChangeSetName="more")
        described = cfn.describe_change_set(StackName="s", ChangeSetName="more")
        assert described["ExecutionStatus"] == "EXECUTE_FAILED"
    stack = cfn.describe_stacks(StackName="s")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert "[C]" in stack["StackStatusReason"]
    assert queue_names(lab) == ["a", "taken"]  # B, which the update added, is gone
    assert ("B", "DELETE_COMPLETE") in events(cfn, "s")
    assert "QueueName: b" not in cfn.get_template(StackName="s")["TemplateBody"]
    # The stack can be updated again.
    cfn.update_stack(StackName="s", TemplateBody=ONE + "  D: {Type: AWS::SQS::Queue}\n")
    assert cfn.describe_stacks(StackName="s")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"


# -- nothing to update ---------------------------------------------------------------------------
def _refused(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    return f"{error['Code']}: {error['Message']}"


def test_an_update_that_changes_nothing_is_refused_as_aws_refuses_it(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="plain", TemplateBody=ONE)
    cfn.create_stack(StackName="tables", TemplateBody=template())
    nothing = "ValidationError: No updates are to be performed."
    # The same template (moto updated a stack without parameters), or the previous one.
    assert _refused(cfn.update_stack, StackName="plain", TemplateBody=ONE) == nothing
    assert _refused(cfn.update_stack, StackName="plain", UsePreviousTemplate=True) == nothing
    # The same parameter values, however given: the default, the same value, the previous one.
    for given in ([], [{"ParameterKey": "Rcu", "ParameterValue": "1"}]):
        assert (
            _refused(
                cfn.update_stack, StackName="tables", TemplateBody=template(), Parameters=given
            )
            == nothing
        )
    previous = [{"ParameterKey": "Rcu", "UsePreviousValue": True}]
    assert (
        _refused(
            cfn.update_stack, StackName="tables", UsePreviousTemplate=True, Parameters=previous
        )
        == nothing
    )
    # A new parameter value, or new tags, is an update.
    cfn.update_stack(
        StackName="tables",
        TemplateBody=template(),
        Parameters=[{"ParameterKey": "Rcu", "ParameterValue": "2"}],
    )
    cfn.update_stack(StackName="plain", TemplateBody=ONE, Tags=[{"Key": "team", "Value": "a"}])
    statuses = {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]}
    assert statuses == {"plain": "UPDATE_COMPLETE", "tables": "UPDATE_COMPLETE"}


def test_a_change_set_without_changes_fails_with_aws_reason_and_cannot_run(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="tables", TemplateBody=template())
    previous = [{"ParameterKey": "Rcu", "UsePreviousValue": True}]
    # moto refused this call itself; AWS makes the change set, which fails.
    cfn.create_change_set(
        StackName="tables", ChangeSetName="same", UsePreviousTemplate=True, Parameters=previous
    )
    described = cfn.describe_change_set(StackName="tables", ChangeSetName="same")
    assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert described["StatusReason"] == (
        "The submitted information didn't contain changes. "
        "Submit different information to create a change set."
    )
    assert described["Changes"] == []
    refusal = _refused(cfn.execute_change_set, StackName="tables", ChangeSetName="same")
    assert refusal.startswith("InvalidChangeSetStatus: ChangeSet [")
    assert refusal.endswith("cannot be executed in its current execution status of [UNAVAILABLE]")
    assert cfn.describe_stacks(StackName="tables")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


# -- table updates that would replace the table --------------------------------------------------
def test_a_custom_named_table_that_would_be_replaced_fails_to_update_and_keeps_its_items(
    lab: Lab,
) -> None:
    cfn = lab.client("cloudformation")
    ddb = lab.client("dynamodb")
    cfn.create_stack(StackName="tables", TemplateBody=template())
    ddb.put_item(TableName="orders", Item={"id": {"S": "o-1"}})
    # A new key under the same TableName: a replacement CloudFormation cannot make.
    cfn.update_stack(StackName="tables", TemplateBody=template(key="pk"))
    stack = cfn.describe_stacks(StackName="tables")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    # The table was in the stack already: it failed to update (a new resource fails to create).
    assert stack["StackStatusReason"] == "The following resource(s) failed to update: [Table]."
    found = cfn.describe_stack_events(StackName="tables")["StackEvents"]
    (failed,) = [e for e in found if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert failed["LogicalResourceId"] == "Table"
    assert failed["ResourceStatusReason"].startswith(
        "CloudFormation cannot update a stack when a custom-named resource requires replacing."
    )
    assert ddb.scan(TableName="orders")["Count"] == 1
    # A local secondary index added under the same name is a replacement too (moto ignored it).
    events = """
Resources:
  Events:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: events
      AttributeDefinitions:
        - {AttributeName: id, AttributeType: S}
        - {AttributeName: at, AttributeType: S}
      KeySchema: [{AttributeName: id, KeyType: HASH}, {AttributeName: at, KeyType: RANGE}]
      BillingMode: PAY_PER_REQUEST
"""
    cfn.create_stack(StackName="events", TemplateBody=events)
    kind = "        - {AttributeName: kind, AttributeType: S}\n"
    indexed = events.replace("      KeySchema", kind + "      KeySchema") + (
        "      LocalSecondaryIndexes:\n"
        "        - IndexName: by-kind\n"
        "          KeySchema: [{AttributeName: id, KeyType: HASH}, "
        "{AttributeName: kind, KeyType: RANGE}]\n"
        "          Projection: {ProjectionType: KEYS_ONLY}\n"
    )
    cfn.update_stack(StackName="events", TemplateBody=indexed)
    stack = cfn.describe_stacks(StackName="events")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert stack["StackStatusReason"] == "The following resource(s) failed to update: [Events]."
