"""StackSets in the sandbox: operations on the lab clock, tolerance, statuses, auto-deployment."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from labkit.clock import Clock
from labkit.lab import Lab
from labkit.services.cloudformation.sim_stacksets import (
    INSTANCE_SECONDS,
    Operation,
    OperationPreferences,
    OperationPreferencesError,
    targets,
)

A, B, C = "111111111111", "222222222222", "333333333333"
REGIONS = ["us-east-1", "eu-west-1", "ap-south-1"]


# -- the operation model, on a bare clock ---------------------------------------------------------
def run(
    prefs: dict[str, Any], failing: set[tuple[str, str]], accounts: list[str] | None = None
) -> tuple[Operation, list[tuple[float, str, str]]]:
    clock = Clock()
    started: list[tuple[float, str, str]] = []

    def deploy(account: str, region: str) -> str | None:
        started.append((clock.elapsed.total_seconds(), account, region))
        return "it broke" if (account, region) in failing else None

    op = Operation(
        "op",
        "CREATE",
        OperationPreferences.from_api(prefs),
        targets(accounts or [A, B], REGIONS),
        clock,
        deploy,
    ).start()
    clock.advance(INSTANCE_SECONDS * 20)
    return op, started


def test_one_account_at_a_time_region_by_region_by_default() -> None:
    op, done = run({}, set())
    assert op.status == "SUCCEEDED"
    assert [t for t, _, _ in done] == [INSTANCE_SECONDS * i for i in range(1, 7)]
    assert [r for _, _, r in done] == [r for r in REGIONS for _ in (A, B)]


def test_max_concurrency_needs_tolerance_in_strict_mode() -> None:
    # MaxConcurrentCount 2 with tolerance 0: strict mode runs one at a time all the same.
    _, strict = run({"MaxConcurrentCount": 2}, set())
    assert strict[-1][0] == INSTANCE_SECONDS * 6
    _, tolerant = run({"MaxConcurrentCount": 2, "FailureToleranceCount": 1}, set())
    assert tolerant[-1][0] == INSTANCE_SECONDS * 3
    _, soft = run({"MaxConcurrentCount": 2, "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"}, set())
    assert soft[-1][0] == INSTANCE_SECONDS * 3


def test_a_failure_past_the_tolerance_stops_the_region_and_those_after_it() -> None:
    op, done = run({"RegionOrder": ["eu-west-1"]}, {(A, "eu-west-1")})
    assert op.status == "FAILED"
    assert [(a, r) for _, a, r in done] == [(A, "eu-west-1")]
    statuses = {(r.account, r.region): r.status for r in op.results}
    assert statuses[(A, "eu-west-1")] == "FAILED"
    assert statuses[(B, "eu-west-1")] == "CANCELLED"
    assert {statuses[(a, "us-east-1")] for a in (A, B)} == {"CANCELLED"}


def test_a_failure_within_the_tolerance_goes_on() -> None:
    op, done = run({"FailureToleranceCount": 1}, {(A, "us-east-1")})
    assert op.status == "SUCCEEDED"
    assert len(done) == 6


def test_parallel_regions_and_percentages() -> None:
    _, done = run(
        {
            "RegionConcurrencyType": "PARALLEL",
            "MaxConcurrentPercentage": 100,
            "FailureTolerancePercentage": 50,
        },
        set(),
    )
    assert {t for t, _, _ in done} == {INSTANCE_SECONDS}
    prefs = OperationPreferences(max_concurrent_percentage=40, failure_tolerance_percentage=40)
    assert (prefs.max_concurrent(2), prefs.tolerance(2)) == (1, 0)  # rounded down, at least 1


@pytest.mark.parametrize(
    "prefs",
    [
        {"MaxConcurrentCount": 1, "MaxConcurrentPercentage": 10},
        {"FailureToleranceCount": 1, "FailureTolerancePercentage": 10},
        {"MaxConcurrentCount": 0},
        {"RegionConcurrencyType": "SOMETIMES"},
    ],
)
def test_preferences_aws_refuses(prefs: dict[str, Any]) -> None:
    with pytest.raises(OperationPreferencesError):
        OperationPreferences.from_api(prefs)


# -- through the API ------------------------------------------------------------------------------
TEMPLATE = """
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: orders
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
"""


def occupy(account: str, region: str) -> None:
    # A table of the same name already there: that instance's stack rolls back.
    from moto.dynamodb.models import dynamodb_backends

    dynamodb_backends[account][region].create_table(
        "orders",
        schema=[{"AttributeName": "id", "KeyType": "HASH"}],
        throughput=None,
        attr=[{"AttributeName": "id", "AttributeType": "S"}],
        global_indexes=None,
        indexes=None,
        streams=None,
        billing_mode="PAY_PER_REQUEST",
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )


def statuses(cfn: Any, name: str = "orders") -> dict[tuple[str, str], str]:
    found = cfn.list_stack_instances(StackSetName=name)["Summaries"]
    return {(i["Account"], i["Region"]): i["StackInstanceStatus"]["DetailedStatus"] for i in found}


def test_instances_deploy_as_the_lab_clock_passes(lab: Lab) -> None:
    occupy(B, "eu-west-1")
    cfn = lab.client("cloudformation")
    cfn.create_stack_set(StackSetName="orders", TemplateBody=TEMPLATE)
    op = cfn.create_stack_instances(
        StackSetName="orders",
        Accounts=[A, B],
        Regions=REGIONS,
        OperationPreferences={"MaxConcurrentCount": 2, "FailureToleranceCount": 1},
    )["OperationId"]
    assert set(statuses(cfn).values()) == {"RUNNING", "PENDING"}
    lab.clock.advance(INSTANCE_SECONDS * 10)
    described = cfn.describe_stack_set_operation(StackSetName="orders", OperationId=op)
    assert described["StackSetOperation"]["Status"] == "SUCCEEDED"
    assert statuses(cfn)[(B, "eu-west-1")] == "FAILED"
    assert list(statuses(cfn).values()).count("SUCCEEDED") == 5
    instance = cfn.describe_stack_instance(
        StackSetName="orders", StackInstanceAccount=B, StackInstanceRegion="eu-west-1"
    )["StackInstance"]
    assert instance["Status"] == "OUTDATED" and "[Table]" in instance["StatusReason"]
    # Each instance is a real stack in its account and Region.
    ok = cfn.describe_stack_instance(
        StackSetName="orders", StackInstanceAccount=A, StackInstanceRegion="ap-south-1"
    )["StackInstance"]
    assert (
        ok["Status"] == "CURRENT"
        and ":ap-south-1:111111111111:stack/StackSet-orders-" in ok["StackId"]
    )


def test_stopping_after_one_failure_cancels_the_rest(lab: Lab) -> None:
    occupy(A, "us-east-1")
    cfn = lab.client("cloudformation")
    cfn.create_stack_set(StackSetName="orders", TemplateBody=TEMPLATE)
    op = cfn.create_stack_instances(StackSetName="orders", Accounts=[A, B], Regions=REGIONS)[
        "OperationId"
    ]
    lab.clock.advance(INSTANCE_SECONDS * 10)
    results = cfn.list_stack_set_operation_results(StackSetName="orders", OperationId=op)
    found = {(r["Account"], r["Region"]): r["Status"] for r in results["Summaries"]}
    assert found[(A, "us-east-1")] == "FAILED"
    assert sorted(set(found.values())) == ["CANCELLED", "FAILED"]


def test_preferences_aws_refuses_come_back_as_validation_errors(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack_set(StackSetName="orders", TemplateBody=TEMPLATE)
    with pytest.raises(ClientError) as caught:
        cfn.create_stack_instances(
            StackSetName="orders",
            Accounts=[A],
            Regions=REGIONS,
            OperationPreferences={"MaxConcurrentCount": 1, "MaxConcurrentPercentage": 50},
        )
    assert caught.value.response["Error"]["Code"] == "ValidationError"


def test_service_managed_deploys_to_accounts_joining_the_ou(lab: Lab) -> None:
    org = lab.client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]
    first = org.create_account(AccountName="a", Email="a@example.com")["CreateAccountStatus"]
    org.move_account(
        AccountId=first["AccountId"], SourceParentId=root, DestinationParentId=ou["Id"]
    )
    later = org.create_account(AccountName="b", Email="b@example.com")["CreateAccountStatus"]

    cfn = lab.client("cloudformation")
    cfn.create_stack_set(
        StackSetName="orders",
        TemplateBody=TEMPLATE,
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
    )
    cfn.create_stack_instances(
        StackSetName="orders",
        DeploymentTargets={"OrganizationalUnitIds": [ou["Id"]]},
        Regions=["us-east-1", "eu-west-1"],
        OperationPreferences={"RegionConcurrencyType": "PARALLEL"},
    )
    lab.clock.advance(INSTANCE_SECONDS * 5)
    assert set(statuses(cfn)) == {(first["AccountId"], r) for r in ("us-east-1", "eu-west-1")}

    org.move_account(
        AccountId=later["AccountId"], SourceParentId=root, DestinationParentId=ou["Id"]
    )
    lab.clock.advance(INSTANCE_SECONDS * 5)
    assert statuses(cfn)[(later["AccountId"], "eu-west-1")] == "SUCCEEDED"

    org.move_account(
        AccountId=later["AccountId"], SourceParentId=ou["Id"], DestinationParentId=root
    )
    lab.clock.advance(INSTANCE_SECONDS * 5)
    assert {a for a, _ in statuses(cfn)} == {first["AccountId"]}


def test_a_stack_set_template_is_checked_once_when_the_set_is_made(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    with pytest.raises(ClientError) as caught:
        cfn.create_stack_set(
            StackSetName="bad", TemplateBody="Resources:\n  Q: {Type: AWS::SQS::Queuee}\n"
        )
    assert "E3006" in caught.value.response["Error"]["Message"]
    assert cfn.list_stack_sets()["Summaries"] == []
