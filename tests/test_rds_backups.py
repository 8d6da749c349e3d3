"""RDS read replicas with lag on the lab clock, point-in-time restore and snapshots."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pg8000
import pytest
from botocore.exceptions import ClientError

from labkit.lab import Lab
from labkit.services.rds.sim_backups import DEFAULT_REPLICA_LAG

USER, PASSWORD = "shopadmin", "correct-horse-1"


def create(lab: Lab, name: str = "shop", **options: Any) -> dict[str, Any]:
    answer = lab.client("rds").create_db_instance(
        DBInstanceIdentifier=name,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername=USER,
        MasterUserPassword=PASSWORD,
        DBName="orders",
        **options,
    )
    return dict(answer["DBInstance"])


def connect(instance: dict[str, Any]) -> Any:
    endpoint = instance["Endpoint"]
    return pg8000.connect(
        host=endpoint["Address"],
        port=endpoint["Port"],
        user=USER,
        password=PASSWORD,
        database="orders",
    )


def rows(conn: Any, sql: str = "SELECT id FROM orders ORDER BY id") -> list[int]:
    cursor = conn.cursor()
    cursor.execute(sql)
    found = [row[0] for row in cursor.fetchall()]
    conn.commit()  # end the read's transaction, as an application's pool would
    return found


def write(conn: Any, *sql: str) -> None:
    cursor = conn.cursor()
    for statement in sql:
        cursor.execute(statement)
    conn.commit()


def test_a_read_replica_lags_on_the_lab_clock_and_is_read_only(lab: Lab) -> None:
    primary = connect(create(lab))
    write(primary, "CREATE TABLE orders (id INT PRIMARY KEY)", "INSERT INTO orders VALUES (1)")
    replica_info = lab.client("rds").create_db_instance_read_replica(
        DBInstanceIdentifier="shop-reports", SourceDBInstanceIdentifier="shop"
    )["DBInstance"]
    replica = connect(replica_info)
    assert rows(replica) == [1]  # created from the source as it is now

    write(primary, "INSERT INTO orders VALUES (2)")
    assert rows(replica) == [1]  # a read right after the write: the old data
    lab.clock.advance(DEFAULT_REPLICA_LAG - 1)
    assert rows(replica) == [1]
    lab.clock.advance(1)
    assert rows(replica) == [1, 2]

    with pytest.raises(pg8000.DatabaseError, match="read-only transaction"):
        write(replica, "INSERT INTO orders VALUES (3)")


def test_a_promoted_replica_takes_writes(lab: Lab) -> None:
    primary = connect(create(lab))
    write(primary, "CREATE TABLE orders (id INT PRIMARY KEY)", "INSERT INTO orders VALUES (1)")
    info = lab.client("rds").create_db_instance_read_replica(
        DBInstanceIdentifier="shop-2", SourceDBInstanceIdentifier="shop"
    )["DBInstance"]
    lab.clock.advance(DEFAULT_REPLICA_LAG)
    lab.client("rds").promote_read_replica(DBInstanceIdentifier="shop-2")
    promoted = connect(info)
    write(promoted, "INSERT INTO orders VALUES (10)")
    assert rows(promoted) == [1, 10]
    assert rows(primary) == [1]  # they are two databases now


def test_restore_to_the_second_before_a_bad_migration(lab: Lab) -> None:
    rds = lab.client("rds")
    primary = connect(create(lab))
    write(primary, "CREATE TABLE orders (id INT PRIMARY KEY)", "INSERT INTO orders VALUES (1)")
    lab.clock.advance(60)
    write(primary, "INSERT INTO orders VALUES (2)")
    lab.clock.advance(60)
    before_migration = lab.clock.now - timedelta(seconds=1)
    write(primary, "DROP TABLE orders")  # the bad migration
    lab.clock.advance(300)

    restored = rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier="shop",
        TargetDBInstanceIdentifier="shop-restored",
        RestoreTime=before_migration,
    )["DBInstance"]
    assert rows(connect(restored)) == [1, 2]  # the master password came back with the data

    earlier = rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier="shop",
        TargetDBInstanceIdentifier="shop-earlier",
        RestoreTime=before_migration - timedelta(seconds=60),
    )["DBInstance"]
    assert rows(connect(earlier)) == [1]

    latest = rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier="shop",
        TargetDBInstanceIdentifier="shop-latest",
        UseLatestRestorableTime=True,
    )["DBInstance"]
    with pytest.raises(pg8000.DatabaseError, match='relation "orders" does not exist'):
        rows(connect(latest))


def test_restore_times_outside_the_window_and_disabled_backups_are_refused(lab: Lab) -> None:
    rds = lab.client("rds")
    create(lab)
    create(lab, "nobackups", BackupRetentionPeriod=0)
    lab.clock.advance(10)
    with pytest.raises(ClientError) as error:
        rds.restore_db_instance_to_point_in_time(
            SourceDBInstanceIdentifier="shop",
            TargetDBInstanceIdentifier="too-early",
            RestoreTime=lab.clock.now - timedelta(hours=1),
        )
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as error:
        rds.restore_db_instance_to_point_in_time(
            SourceDBInstanceIdentifier="nobackups",
            TargetDBInstanceIdentifier="nothing",
            UseLatestRestorableTime=True,
        )
    assert error.value.response["Error"]["Code"] == "InvalidDBInstanceState"


def test_a_manual_snapshot_restores_the_data_of_its_moment(lab: Lab) -> None:
    rds = lab.client("rds")
    primary = connect(create(lab))
    write(primary, "CREATE TABLE orders (id INT PRIMARY KEY)", "INSERT INTO orders VALUES (1)")
    rds.create_db_snapshot(DBInstanceIdentifier="shop", DBSnapshotIdentifier="before")
    write(primary, "INSERT INTO orders VALUES (2)")
    lab.clock.advance(30)
    restored = rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="from-snapshot", DBSnapshotIdentifier="before"
    )["DBInstance"]
    assert rows(connect(restored)) == [1]


def test_a_snapshot_copied_to_another_region_restores_there(lab: Lab) -> None:
    rds = lab.client("rds")
    primary = connect(create(lab))
    write(primary, "CREATE TABLE orders (id INT PRIMARY KEY)", "INSERT INTO orders VALUES (1)")
    arn = rds.create_db_snapshot(DBInstanceIdentifier="shop", DBSnapshotIdentifier="nightly")[
        "DBSnapshot"
    ]["DBSnapshotArn"]
    write(primary, "INSERT INTO orders VALUES (2)")
    west = lab.client("rds", region_name="us-west-2")
    # Disaster recovery: the copy is made from the destination Region, naming the source's ARN.
    west.copy_db_snapshot(
        SourceDBSnapshotIdentifier=arn,
        TargetDBSnapshotIdentifier="nightly-dr",
        SourceRegion="us-east-1",
    )
    names = [s["DBSnapshotIdentifier"] for s in west.describe_db_snapshots()["DBSnapshots"]]
    assert "nightly-dr" in names
    restored = west.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="shop-dr", DBSnapshotIdentifier="nightly-dr"
    )["DBInstance"]
    assert ".us-west-2." in restored["Endpoint"]["Address"]
    assert rows(connect(restored)) == [1]  # the data of the snapshot's moment, in us-west-2
    # A second copy under the same name is refused, as on AWS.
    with pytest.raises(ClientError, match="already exists"):
        west.copy_db_snapshot(
            SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier="nightly-dr"
        )
