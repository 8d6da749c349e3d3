"""labkit grade on the DynamoDB lab: sample submissions, and the checks against many mistakes.

Each sample submission in tests/submissions/dynamodb/ is a jupytext percent file of a notebook a
learner might hand in; it is graded in a fresh kernel, as `labkit grade` does. More mistakes are
fed to the checks directly (functions in a namespace, no kernel), which is quicker: every correct
alternative must pass and every plausible mistake must fail with a hint that names it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from grading_support import grade_samples, said, statuses

import labkit
from labkit.grading.notebook import Submission
from labkit.lab import Lab

SAMPLES = Path(__file__).resolve().parent / "submissions" / "dynamodb"
CHECKS = ("event_key", "capacity", "sessions", "dax_reads", "pitr_restore", "global_table")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


# -- the sample notebooks -----------------------------------------------------------------------
@pytest.mark.parametrize("sample", ["passing_alternative", "passing_resources"])
def test_correct_alternatives_pass_every_check(graded: dict[str, Submission], sample: str) -> None:
    sub = graded[sample]
    assert sub.error is None and not sub.notes
    assert statuses(sub) == dict.fromkeys(CHECKS, "passed"), [said(sub, name) for name in CHECKS]
    assert sub.score == sub.max_score == 12


def test_store_key_tutorial_capacity_no_ttl_direct_writes_no_pitr_separate_table(
    graded: dict[str, Submission],
) -> None:
    sub = graded["hot_key"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "'store-flagship' took" in said(sub, "event_key")
    assert "its partition (partition" in said(sub, "event_key")
    assert "lives in one partition" in said(sub, "event_key")
    assert "before the promotion" in said(sub, "capacity")
    assert "Work out the steady load first" in said(sub, "capacity")
    assert "Time to Live is disabled" in said(sub, "sessions")
    assert "update_time_to_live" in said(sub, "sessions")
    assert "an older version (from DAX's cache)" in said(sub, "dax_reads")
    assert "a write made straight to DynamoDB" in said(sub, "dax_reads")
    assert "PointInTimeRecoveryUnavailableException" in said(sub, "pitr_restore")
    assert "before anything goes wrong" in said(sub, "pitr_restore")
    assert "lists no replica" in said(sub, "global_table")
    assert "ReplicaUpdates" in said(sub, "global_table")


def test_day_key_static_capacity_milliseconds_no_dax_latest_time_no_failover(
    graded: dict[str, Submission],
) -> None:
    sub = graded["day_key"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "'2026-11-27' took 100% of the writes" in said(sub, "event_key")
    assert "Nothing adjusts the read capacity" in said(sub, "capacity")
    assert "milliseconds, not seconds" in said(sub, "sessions")
    assert "none of the 360 loads" in said(sub, "dax_reads")
    assert "junk entries" in said(sub, "pitr_restore")
    assert "UseLatestRestorableTime" in said(sub, "pitr_restore")
    assert "raised EndpointConnectionError" in said(sub, "global_table")
    assert "Try the Regions in order" in said(sub, "global_table")


def test_type_sort_key_high_target_unfiltered_reads_always_consistent_restore_at_the_batch(
    graded: dict[str, Submission],
) -> None:
    sub = graded["sorted_by_type"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "in the order packed, paid, placed, shipped" in said(sub, "event_key")
    assert "time" in said(sub, "event_key") and "sort key" in said(sub, "event_key")
    assert "as the promotion ramped up" in said(sub, "capacity")
    assert "target utilization is 90 %" in said(sub, "capacity")
    assert "1 s after it expired" in said(sub, "sessions")
    assert "in the background" in said(sub, "sessions")
    assert "360 of the 360 loads asked for a strongly consistent read" in said(sub, "dax_reads")
    assert "restored to the bad batch's time or later" in said(sub, "pitr_restore")
    assert "not a ClientError" in said(sub, "global_table")


def test_overwrites_oversized_capacity_string_expiry_query_cache_restored_without_pitr(
    graded: dict[str, Submission],
) -> None:
    sub = graded["overwrites"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "overwrote the first" in said(sub, "event_key")
    assert "unique per event" in said(sub, "event_key")
    assert "times what on-demand would have charged" in said(sub, "capacity")
    assert "of type S, not Number" in said(sub, "sessions")
    assert "query cache" in said(sub, "dax_reads")
    assert "point-in-time recovery is disabled" in said(sub, "pitr_restore")
    assert "does not inherit" in said(sub, "pitr_restore")
    assert "no replica there" in said(sub, "global_table")


# -- the checks, directly -----------------------------------------------------------------------
@pytest.fixture
def dynamodb_lab() -> Iterator[Lab]:
    lab = labkit.start("dynamodb", quiet=True)
    yield lab
    lab.stop()


def run(lab: Lab, check: str, **functions: Any) -> tuple[str, str]:
    result = lab.check(check, {**GOOD, **functions})
    return result.status, f"{result.message} {result.hint}"


def good_key(event: dict[str, str]) -> dict[str, str]:
    return {"pk": f"ORDER#{event['order_id']}", "sk": f"{event['at']}#{event['event_id']}"}


def sessions_table(attribute: str | None = "expires_at") -> Callable[[Any], None]:
    def create_sessions_table(dynamodb: Any) -> None:
        dynamodb.create_table(
            TableName="sessions",
            KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        if attribute:
            dynamodb.meta.client.update_time_to_live(
                TableName="sessions",
                TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
            )

    return create_sessions_table


def saver(expiry: Callable[[Any], Any]) -> Callable[..., None]:
    def save_session(dynamodb: Any, session_id: str, user_id: str, clock: Any) -> None:
        dynamodb.Table("sessions").put_item(
            Item={"session_id": session_id, "user_id": user_id, "expires_at": expiry(clock)}
        )

    return save_session


def load_session(dynamodb: Any, session_id: str, clock: Any) -> Any:
    item = dynamodb.Table("sessions").get_item(Key={"session_id": session_id}).get("Item")
    return item if item and item["expires_at"] > clock.timestamp else None


def save_through(dax: Any, dynamodb: Any, profile: dict[str, Any]) -> None:
    dax.Table("profiles").put_item(Item=profile)


def load_through(dax: Any, dynamodb: Any, user_id: str, viewer: str) -> Any:
    return dax.Table("profiles").get_item(Key={"user_id": user_id}).get("Item")


def protect(dynamodb: Any, table_name: str) -> None:
    dynamodb.meta.client.update_continuous_backups(
        TableName=table_name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )


def restorer(back: timedelta, target: str = "ledger-restored") -> Callable[..., str]:
    def recover(dynamodb: Any, table_name: str, bad_at: Any) -> str:
        dynamodb.meta.client.restore_table_to_point_in_time(
            SourceTableName=table_name, TargetTableName=target, RestoreDateTime=bad_at - back
        )
        protect(dynamodb, target)
        return target

    return recover


def make_global(dynamodb: Any, table_name: str, replica_region: str) -> None:
    dynamodb.meta.client.update_table(
        TableName=table_name, ReplicaUpdates=[{"Create": {"RegionName": replica_region}}]
    )


def first_answering(action: Callable[[Any], Any]) -> Callable[[dict[str, Any]], Any]:
    def attempt(regions: dict[str, Any]) -> Any:
        for resource in regions.values():
            try:
                return action(resource.Table("orders"))
            except EndpointConnectionError:
                continue
        return None

    return attempt


def put_order(regions: dict[str, Any], order: dict[str, Any]) -> None:
    first_answering(lambda table: table.put_item(Item=order))(regions)


def get_order(regions: dict[str, Any], order_id: str) -> Any:
    return first_answering(lambda t: t.get_item(Key={"order_id": order_id}).get("Item"))(regions)


def on_demand_catalog(dynamodb: Any, autoscaling: Any) -> None:
    dynamodb.create_table(
        TableName="catalog",
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


GOOD: dict[str, Any] = {
    "event_key": good_key,
    "create_catalog": on_demand_catalog,
    "create_sessions_table": sessions_table(),
    "save_session": saver(lambda clock: int(clock.timestamp) + 1800),
    "load_session": load_session,
    "save_profile": save_through,
    "load_profile": load_through,
    "protect": protect,
    "recover": restorer(timedelta(seconds=1)),
    "make_global": make_global,
    "put_order": put_order,
    "get_order": get_order,
}


def test_the_reference_functions_pass_every_check_but_capacity(dynamodb_lab: Lab) -> None:
    # capacity (eleven minutes of lab time) is graded with the samples above.
    for check in CHECKS:
        if check != "capacity":
            status, text = run(dynamodb_lab, check)
            assert status == "passed", (check, text)


def write_straight_read_own_from_table(dax: Any, dynamodb: Any, user_id: str, viewer: str) -> Any:
    source = dynamodb if viewer == user_id else dax
    return source.Table("profiles").get_item(Key={"user_id": user_id}).get("Item")


def save_straight(dax: Any, dynamodb: Any, profile: dict[str, Any]) -> None:
    dynamodb.meta.client.put_item(TableName="profiles", Item=profile)


def recover_returning_table(dynamodb: Any, table_name: str, bad_at: Any) -> Any:
    restorer(timedelta(milliseconds=500), "ledger-2")(dynamodb, table_name, bad_at)
    return dynamodb.Table("ledger-2")


@pytest.mark.parametrize(
    ("check", "functions"),
    [
        ("event_key", {"event_key": lambda e: {"pk": e["order_id"], "sk": e["event_id"]}}),
        (
            "event_key",
            {
                "event_key": lambda e: {
                    "pk": hashlib.sha1(e["order_id"].encode()).hexdigest(),
                    "sk": f"{e['at']}/{e['type']}",
                    "kind": "event",
                }
            },
        ),
        ("sessions", {"save_session": saver(lambda clock: int(clock.timestamp + 1800.9))}),
        (
            "dax_reads",
            {"save_profile": save_straight, "load_profile": write_straight_read_own_from_table},
        ),
        ("pitr_restore", {"recover": recover_returning_table}),
        ("pitr_restore", {"recover": restorer(timedelta(seconds=2), "ledger-2026-11-27")}),
    ],
)
def test_more_correct_alternatives_pass(dynamodb_lab: Lab, check: str, functions: Any) -> None:
    status, text = run(dynamodb_lab, check, **functions)
    assert status == "passed", text


def backup_protect(dynamodb: Any, table_name: str) -> None:
    dynamodb.meta.client.create_backup(TableName=table_name, BackupName="before-anything")


def backup_recover(dynamodb: Any, table_name: str, bad_at: Any) -> str:
    client = dynamodb.meta.client
    arn = client.list_backups(TableName=table_name)["BackupSummaries"][0]["BackupArn"]
    client.restore_table_from_backup(TargetTableName="ledger-from-backup", BackupArn=arn)
    protect(dynamodb, "ledger-from-backup")
    return "ledger-from-backup"


def in_place(dynamodb: Any, table_name: str, bad_at: Any) -> str:
    dynamodb.meta.client.restore_table_to_point_in_time(
        SourceTableName=table_name,
        TargetTableName=table_name,
        RestoreDateTime=bad_at - timedelta(seconds=1),
    )
    return table_name


def load_own_copy(dax: Any, dynamodb: Any, user_id: str, viewer: str) -> Any:
    return dax.Table("profiles").get_item(Key={"user_id": user_id})


@pytest.mark.parametrize(
    ("check", "functions", "names"),
    [
        (
            "event_key",
            {"event_key": lambda e: {"pk": e["customer_id"], "sk": e["at"] + e["event_id"]}},
            "'cust-reseller' took",
        ),
        (
            "event_key",
            {"event_key": lambda e: {"pk": e["event_id"], "sk": e["at"]}},
            "no single Query returns them",
        ),
        ("event_key", {"event_key": lambda e: e["order_id"]}, "dict of the table's key"),
        ("event_key", {"event_key": lambda e: {"pk": e["order_id"]}}, "without `sk`"),
        ("event_key", {"event_key": lambda e: {"pk": 7, "sk": e["at"]}}, "type S"),
        ("event_key", {"event_key": lambda e: None}, "returned None"),
        ("sessions", {"create_sessions_table": sessions_table("ttl")}, "no `ttl`"),
        (
            "sessions",
            {"save_session": saver(lambda clock: int(clock.timestamp))},
            "not the time the session was saved",
        ),
        ("sessions", {"create_sessions_table": lambda dynamodb: None}, "no table at all"),
        ("dax_reads", {"load_profile": load_own_copy}, "not the whole response"),
        ("pitr_restore", {"protect": backup_protect, "recover": backup_recover}, "too early"),
        ("pitr_restore", {"recover": restorer(timedelta(minutes=5))}, "lacks 30 of the 60"),
        ("pitr_restore", {"recover": in_place}, "into a NEW table"),
        ("global_table", {"make_global": lambda *args: None}, "no replica there"),
    ],
)
def test_plausible_mistakes_fail_with_a_hint_that_names_them(
    dynamodb_lab: Lab, check: str, functions: dict[str, Any], names: str
) -> None:
    status, text = run(dynamodb_lab, check, **functions)
    assert status == "failed", text
    assert names in text


def test_a_check_leaves_the_learners_sandbox_and_clock_alone(dynamodb_lab: Lab) -> None:
    client = dynamodb_lab.client("dynamodb")
    client.create_table(
        TableName="mine",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    before = dynamodb_lab.clock.now
    for check in ("sessions", "pitr_restore", "global_table"):
        run(dynamodb_lab, check)
    assert dynamodb_lab.clock.now == before
    assert client.list_tables()["TableNames"] == ["mine"]
    client.delete_table(TableName="mine")
