"""labkit grade on the databases lab: sample submissions, and the choice check against more
assignments.

Each sample submission in tests/submissions/databases/ is a jupytext percent file of a notebook a
learner might hand in; it is graded in a fresh kernel, as `labkit grade` does, against a real
PostgreSQL behind RDS endpoints and a Redis engine behind ElastiCache's. Two are correct and
written unlike the solution; four make a plausible mistake in every task, and each check must
fail with the hint that names it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grading_support import grade_samples, said, statuses

import labkit
from labkit.grading.notebook import Submission
from labkit.lab import Lab

SAMPLES = Path(__file__).resolve().parent / "submissions" / "databases"
CHECKS = ("orders_replica", "failover", "pitr", "cache", "proxy", "db_choice")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


@pytest.mark.parametrize("sample", ["passing_alternative", "passing_resources"])
def test_correct_alternatives_pass_every_check(graded: dict[str, Submission], sample: str) -> None:
    sub = graded[sample]
    assert sub.error is None and not sub.notes
    assert statuses(sub) == dict.fromkeys(CHECKS, "passed"), [said(sub, name) for name in CHECKS]
    assert sub.score == sub.max_score == 12


def test_replica_reads_no_retry_no_backups_no_ttl_outside_vpc_dynamodb_orders(
    graded: dict[str, Submission],
) -> None:
    sub = graded["replica_reads"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), [said(sub, n) for n in CHECKS]
    assert "as the replica has them" in said(sub, "orders_replica")
    assert "Read a user's own orders from the primary" in said(sub, "orders_replica")
    assert "raised InterfaceError" in said(sub, "failover")
    assert "open a **new** connection" in said(sub, "failover")
    assert "BackupRetentionPeriod" in said(sub, "pitr")
    assert "the pricing job" in said(sub, "cache")
    assert "outside the proxy's VPC" in said(sub, "proxy")
    assert "VpcConfig" in said(sub, "proxy")
    assert "orders on Amazon DynamoDB" in said(sub, "db_choice")
    assert "DynamoDB has no join" in said(sub, "db_choice")


def test_report_on_primary_duplicate_retry_latest_restore_hour_ttl_direct_analytics_on_rds(
    graded: dict[str, Submission],
) -> None:
    sub = graded["report_on_primary"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), [said(sub, n) for n in CHECKS]
    assert "statement(s) on the primary" in said(sub, "orders_replica")
    assert "duplicate key" in said(sub, "failover")
    assert "ON CONFLICT" in said(sub, "failover")
    assert "holds the migration's damage" in said(sub, "pitr")
    assert "UseLatestRestorableTime" in said(sub, "pitr")
    assert "in the last 60 s it was" in said(sub, "cache")
    assert "straight to the instance" in said(sub, "proxy")
    assert "max_connections is 20" in said(sub, "proxy")
    assert "the proxy's endpoint" in said(sub, "proxy")
    assert "sales_analytics on Amazon RDS: analytics_scan" in said(sub, "db_choice")


def test_unmultiplied_dead_connection_migration_second_no_cache_no_iam_sql_graph(
    graded: dict[str, Submission],
) -> None:
    sub = graded["unmultiplied"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), [said(sub, n) for n in CHECKS]
    assert "Revenue is quantity times price" in said(sub, "orders_replica")
    assert "not saved after 5 tries" in said(sub, "failover")
    assert "open a **new** connection" in said(sub, "failover")
    assert "restored to the migration's second" in said(sub, "pitr")
    assert "reached the database; the target is at most 15%" in said(sub, "cache")
    assert "Cache-aside" in said(sub, "cache")
    assert "the secret's password (no IAM token) got into the proxy" in said(sub, "proxy")
    assert "IAMAuth='REQUIRED'" in said(sub, "proxy")
    assert "social_graph on Amazon Aurora: graph_traversal" in said(sub, "db_choice")


def test_uncommitted_spinning_retry_old_restore_short_ttl_leak_qldb(
    graded: dict[str, Submission],
) -> None:
    sub = graded["uncommitted"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), [said(sub, n) for n in CHECKS]
    assert "were all the orders committed" in said(sub, "orders_replica")
    assert "times within one second of lab time" in said(sub, "failover")
    assert "clock.advance" in said(sub, "failover")
    assert "are missing" in said(sub, "pitr")
    assert "reached the database" in said(sub, "cache")
    assert "opened 6 connection(s) to the proxy" in said(sub, "proxy")
    assert "finally:" in said(sub, "proxy")
    assert "end of support" in said(sub, "db_choice")
    assert "Aurora PostgreSQL" in said(sub, "db_choice")


# -- the choice check, directly ---------------------------------------------------------------
@pytest.fixture
def databases_lab() -> Iterator[Lab]:
    lab = labkit.start("databases", quiet=True)
    yield lab
    lab.stop()


GOOD: dict[str, Any] = {
    "orders": "aurora",
    "sales_analytics": "redshift",
    "social_graph": "neptune",
    "leaderboard": "elasticache",
    "sensor_metrics": "timestream",
    "product_catalog": "documentdb",
    "product_search": "opensearch",
    "user_uploads": "s3",
    "audit_archive": "glacier",
    "payments_ledger": "aurora",
}


@pytest.mark.parametrize(
    ("change", "said_part"),
    [
        ({"leaderboard": "dynamodb"}, "leaderboard on Amazon DynamoDB"),
        ({"user_uploads": "dynamodb"}, "over Amazon DynamoDB's limit"),
        ({"audit_archive": "s3"}, "over the budget"),
        ({"sensor_metrics": "keyspaces"}, "ALLOW FILTERING"),
        ({"orders": "mongo atlas"}, "cannot read"),
        ({"product_catalog": ("rds", {"dax": True})}, "has no option 'dax'"),
        ({"nightly_batch": "rds"}, "names workloads there are not"),
    ],
)
def test_the_choice_check_names_what_broke(
    databases_lab: Lab, change: dict[str, Any], said_part: str
) -> None:
    result = databases_lab.check("db_choice", {"assignment": {**GOOD, **change}})
    assert result.status == "failed"
    assert said_part in f"{result.message} {result.hint}"


def test_the_choice_check_passes_a_fitting_assignment(databases_lab: Lab) -> None:
    assert databases_lab.check("db_choice", {"assignment": GOOD}).status == "passed"


def test_a_missing_workload_is_named(databases_lab: Lab) -> None:
    partial = {k: v for k, v in GOOD.items() if k != "orders"}
    result = databases_lab.check("db_choice", {"assignment": partial})
    assert result.status == "failed" and "gives no service to orders" in result.message
