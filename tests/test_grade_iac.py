"""labkit grade on the infrastructure-as-code lab: sample submissions, and the checks directly.

Each sample in tests/submissions/iac/ is a jupytext percent file of a notebook a learner might
hand in, graded in a fresh kernel as `labkit grade` does: the two correct ones are written unlike
the solution (a JSON dict, a template file; update_stack instead of a change set; percentages,
strict-mode concurrency; drift repaired through resources or from the differences alone), and
each of the other four makes one plausible mistake per task, which must fail with its hint.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from grading_support import grade_samples, said, statuses

import labkit
from labkit.grading.notebook import Submission
from labkit.lab import Lab
from labkit.labs.iac_pipeline import ORDERS_TABLE_TEMPLATE

SAMPLES = Path(__file__).resolve().parent / "submissions" / "iac"
CHECKS = ("pipeline", "keep_table", "stack_set", "drift")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


# -- the sample notebooks -----------------------------------------------------------------------
@pytest.mark.parametrize("sample", ["passing_json", "passing_file"])
def test_correct_alternatives_pass_every_check(graded: dict[str, Submission], sample: str) -> None:
    sub = graded[sample]
    assert sub.error is None and not sub.notes
    assert statuses(sub) == dict.fromkeys(CHECKS, "passed"), [said(sub, name) for name in CHECKS]
    assert sub.score == sub.max_score == 8


def test_no_policy_renamed_table_tolerated_failure_drift_only_detected(
    graded: dict[str, Submission],
) -> None:
    sub = graded["no_policy"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "it has no queue policy" in said(sub, "pipeline")
    assert "aws:SourceArn" in said(sub, "pipeline")
    assert "now `orders-v2` with 0 of the 12 orders" in said(sub, "keep_table")
    assert "TableName and KeySchema require replacement" in said(sub, "keep_table")
    assert "a failure was tolerated" in said(sub, "stack_set")
    assert "FailureToleranceCount (or FailureTolerancePercentage)" in said(sub, "stack_set")
    assert "/VisibilityTimeout is 5, the template says 60" in said(sub, "drift")
    assert "updated the stack" not in said(sub, "drift")


def test_open_policy_new_key_parallel_regions_same_template_update(
    graded: dict[str, Submission],
) -> None:
    sub = graded["open_policy"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "a second topic of your account" in said(sub, "pipeline")
    assert "not `*` alone" in said(sub, "pipeline")
    assert "failed and rolled back" in said(sub, "keep_table")
    assert "custom-named resource" in said(sub, "keep_table")
    assert "the later Region ran at the same time" in said(sub, "stack_set")
    assert "RegionConcurrencyType PARALLEL" in said(sub, "stack_set")
    # AWS refuses the update itself; the hint says why it could not bring anything back.
    assert "raised ClientError" in said(sub, "drift")
    assert "No updates are to be performed." in said(sub, "drift")
    assert "same template changes nothing" in said(sub, "drift")


def test_no_dlq_table_by_hand_soft_concurrency_queue_only(graded: dict[str, Submission]) -> None:
    sub = graded["no_dlq"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "No queue of the stack has a RedrivePolicy" in said(sub, "pipeline")
    assert "deadLetterTargetArn" in said(sub, "pipeline")
    assert "changed by hand (drift detection says DRIFTED)" in said(sub, "keep_table")
    assert "through its stack" in said(sub, "keep_table")
    assert "the other account of that Region was deployed alongside" in said(sub, "stack_set")
    assert "SOFT_FAILURE_TOLERANCE keeps" in said(sub, "stack_set")
    assert "OrdersTable: /ProvisionedThroughput/ReadCapacityUnits is 1" in said(sub, "drift")
    assert "OrderQueue" not in said(sub, "drift").split("Hint:")[0]


def test_url_endpoint_no_index_two_regions_recreated_stack(graded: dict[str, Submission]) -> None:
    sub = graded["url_endpoint"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "ROLLBACK_COMPLETE" in said(sub, "pipeline")
    assert "!GetAtt Queue.Arn" in said(sub, "pipeline")
    assert "global secondary indexes are none" in said(sub, "keep_table")
    assert "GlobalSecondaryIndexes" in said(sub, "keep_table")
    assert "cover 4 of the 6 account-Region pairs" in said(sub, "stack_set")
    assert "Regions=regions" in said(sub, "stack_set")
    assert "holds 0 of the 3 orders" in said(sub, "drift")
    assert "do not replace them" in said(sub, "drift")


# -- the sandbox under the checks: a table updated through its stack ------------------------------
@pytest.fixture
def iac_lab() -> Iterator[Lab]:
    lab = labkit.start("iac", quiet=True)
    yield lab
    lab.stop()


def test_a_table_changes_in_place_or_is_replaced_as_its_change_set_says(iac_lab: Lab) -> None:
    cfn = iac_lab.client("cloudformation")
    ddb = iac_lab.client("dynamodb")
    cfn.create_stack(StackName="db", TemplateBody=ORDERS_TABLE_TEMPLATE)
    ddb.put_item(TableName="orders", Item={"order_id": {"S": "o-1"}})
    on_demand = ORDERS_TABLE_TEMPLATE.replace("PROVISIONED", "PAY_PER_REQUEST").replace(
        "      ProvisionedThroughput:\n        ReadCapacityUnits: 5\n"
        "        WriteCapacityUnits: 5\n",
        "",
    )
    cfn.update_stack(StackName="db", TemplateBody=on_demand)
    table = ddb.describe_table(TableName="orders")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ddb.scan(TableName="orders")["Count"] == 1
    # A new key under the same custom name: the change set says Replacement, the update fails.
    new_key = on_demand.replace("order_id", "id")
    cfn.create_change_set(StackName="db", ChangeSetName="key", TemplateBody=new_key)
    change = cfn.describe_change_set(StackName="db", ChangeSetName="key")["Changes"][0]
    assert change["ResourceChange"]["Replacement"] == "True"
    cfn.execute_change_set(StackName="db", ChangeSetName="key")
    assert cfn.describe_stacks(StackName="db")["Stacks"][0]["StackStatus"] == (
        "UPDATE_ROLLBACK_COMPLETE"
    )
    assert ddb.scan(TableName="orders")["Count"] == 1
    # A new name: a new table, the old one deleted with its item.
    cfn.update_stack(StackName="db", TemplateBody=on_demand.replace("orders", "orders-v2"))
    assert ddb.list_tables()["TableNames"] == ["orders-v2"]
    assert ddb.scan(TableName="orders-v2")["Count"] == 0
