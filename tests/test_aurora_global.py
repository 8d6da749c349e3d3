"""Aurora global database: a secondary Region that replays the primary under a second late,
reads there, and switchover / failover that promote it without losing committed data."""

from __future__ import annotations

from typing import Any

import pg8000
import pytest
from botocore.exceptions import ClientError

from labkit import facts
from labkit.lab import Lab

USER, PASSWORD = "app", "secret-pass-1"
SECONDARY_REGION = "eu-west-1"


def connect(host: str) -> Any:
    return pg8000.connect(host=host, port=5432, user=USER, password=PASSWORD, database="shop")


def run(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    cursor = conn.cursor()
    cursor.execute(sql)
    found = [tuple(r) for r in cursor.fetchall()] if cursor.description else []
    conn.commit()
    return found


def global_database(lab: Lab) -> tuple[dict[str, Any], dict[str, Any]]:
    """A primary cluster in us-east-1 and a secondary in eu-west-1, each with one instance."""
    rds = lab.client("rds")
    primary = rds.create_db_cluster(
        DBClusterIdentifier="orders",
        Engine="aurora-postgresql",
        MasterUsername=USER,
        MasterUserPassword=PASSWORD,
        DatabaseName="shop",
    )["DBCluster"]
    rds.create_db_instance(
        DBInstanceIdentifier="orders-1",
        DBClusterIdentifier="orders",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    writer = connect(primary["Endpoint"])
    run(writer, "CREATE TABLE orders (id INT PRIMARY KEY)")
    run(writer, "INSERT INTO orders VALUES (1)")
    writer.close()
    rds.create_global_cluster(
        GlobalClusterIdentifier="shop-global", SourceDBClusterIdentifier=primary["DBClusterArn"]
    )
    far = lab.client("rds", region_name=SECONDARY_REGION)
    secondary = far.create_db_cluster(
        DBClusterIdentifier="orders-eu",
        Engine="aurora-postgresql",
        GlobalClusterIdentifier="shop-global",
    )["DBCluster"]
    far.create_db_instance(
        DBInstanceIdentifier="orders-eu-1",
        DBClusterIdentifier="orders-eu",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    return dict(primary), dict(secondary)


def members(lab: Lab) -> dict[str, bool]:
    described = lab.client("rds").describe_global_clusters()["GlobalClusters"][0]
    return {
        m["DBClusterArn"].rsplit(":", 1)[-1]: m["IsWriter"]
        for m in described["GlobalClusterMembers"]
    }


@pytest.fixture
def pair(lab: Lab) -> tuple[dict[str, Any], dict[str, Any]]:
    return global_database(lab)


def test_the_secondary_reads_under_a_second_behind_and_a_switchover_loses_nothing(
    lab: Lab, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    primary, secondary = pair
    assert facts.value("aurora.global_replication_lag_sandbox") < facts.value(
        "aurora.global_replication_lag_typical"
    )
    assert members(lab) == {"orders": True, "orders-eu": False}
    far = connect(secondary["ReaderEndpoint"])
    assert run(far, "SELECT count(*) FROM orders") == [(1,)]  # what existed when it joined
    writer = connect(primary["Endpoint"])
    run(writer, "INSERT INTO orders VALUES (2)")
    assert run(far, "SELECT count(*) FROM orders") == [(1,)]  # the same instant: not there yet
    lab.clock.advance(1)
    assert run(far, "SELECT count(*) FROM orders") == [(2,)]  # a lab second later: there
    with pytest.raises(pg8000.DatabaseError, match="read-only transaction"):
        run(far, "INSERT INTO orders VALUES (3)")  # a secondary takes no writes
    far.close()

    run(writer, "INSERT INTO orders VALUES (3), (4)")  # committed, not yet replicated
    writer.close()
    lab.client("rds").switchover_global_cluster(
        GlobalClusterIdentifier="shop-global", TargetDbClusterIdentifier=secondary["DBClusterArn"]
    )
    assert members(lab) == {"orders": False, "orders-eu": True}
    new_writer = connect(secondary["Endpoint"])
    assert run(new_writer, "SELECT count(*) FROM orders") == [(4,)]  # nothing lost
    run(new_writer, "INSERT INTO orders VALUES (5)")
    new_writer.close()
    old = connect(primary["Endpoint"])
    with pytest.raises(pg8000.DatabaseError, match="read-only transaction"):
        run(old, "INSERT INTO orders VALUES (6)")  # the former primary is read-only now
    old.close()
    with pytest.raises(ClientError, match="already the writer"):
        lab.client("rds").switchover_global_cluster(
            GlobalClusterIdentifier="shop-global",
            TargetDbClusterIdentifier=secondary["DBClusterArn"],
        )


def test_a_failover_allowing_data_loss_keeps_only_what_was_replicated(
    lab: Lab, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    primary, secondary = pair
    writer = connect(primary["Endpoint"])
    run(writer, "INSERT INTO orders VALUES (2)")
    lab.clock.advance(1)  # replicated
    run(writer, "INSERT INTO orders VALUES (3)")  # the Region fails before this one ships
    writer.close()
    lab.client("rds", region_name=SECONDARY_REGION).failover_global_cluster(
        GlobalClusterIdentifier="shop-global",
        TargetDbClusterIdentifier=secondary["DBClusterArn"],
        AllowDataLoss=True,
    )
    promoted = connect(secondary["Endpoint"])
    assert run(promoted, "SELECT id FROM orders ORDER BY id") == [(1,), (2,)]
    run(promoted, "INSERT INTO orders VALUES (10)")
    promoted.close()


def test_a_managed_failover_without_allow_data_loss_loses_nothing(
    lab: Lab, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    primary, secondary = pair
    writer = connect(primary["Endpoint"])
    run(writer, "INSERT INTO orders VALUES (2)")
    writer.close()
    lab.client("rds").failover_global_cluster(
        GlobalClusterIdentifier="shop-global", TargetDbClusterIdentifier="orders-eu"
    )
    promoted = connect(secondary["Endpoint"])
    assert run(promoted, "SELECT count(*) FROM orders") == [(2,)]
    promoted.close()
