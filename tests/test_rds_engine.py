"""RDS in the sandbox: a real PostgreSQL behind the endpoint, passwords, failover, AZ outages."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pg8000
import pytest
from botocore.exceptions import ClientError

from labkit import facts
from labkit.errors import NetworkBlockedError
from labkit.lab import Lab
from labkit.services.rds import patch as rds_patch

USER, PASSWORD = "shopadmin", "correct-horse-1"


def create(lab: Lab, name: str = "shop", **options: Any) -> dict[str, Any]:
    options.setdefault("Engine", "postgres")
    options.setdefault("DBInstanceClass", "db.t3.micro")
    options.setdefault("AllocatedStorage", 20)
    answer = lab.client("rds").create_db_instance(
        DBInstanceIdentifier=name, MasterUsername=USER, MasterUserPassword=PASSWORD, **options
    )
    return dict(answer["DBInstance"])


def connect(instance: dict[str, Any], password: str = PASSWORD, **options: Any) -> Any:
    endpoint = instance["Endpoint"]
    # Like libpq, pg8000 names the database after the user unless told: RDS has "postgres".
    options.setdefault("database", "postgres")
    return pg8000.connect(
        host=endpoint["Address"], port=endpoint["Port"], user=USER, password=password, **options
    )


def test_the_endpoint_reaches_a_real_postgresql(lab: Lab) -> None:
    instance = create(lab, DBName="orders")
    conn = connect(instance, database="orders")
    cur = conn.cursor()
    cur.execute("CREATE TABLE orders (id SERIAL PRIMARY KEY, item TEXT NOT NULL)")
    cur.execute("INSERT INTO orders (item) VALUES ('book'), ('pen') RETURNING id")
    assert [row[0] for row in cur.fetchall()] == [1, 2]
    conn.commit()
    cur.execute("SELECT version()")
    assert cur.fetchone()[0].startswith("PostgreSQL ")
    conn.close()


def test_the_master_password_is_enforced_and_can_be_changed(lab: Lab) -> None:
    instance = create(lab)
    with pytest.raises(pg8000.DatabaseError, match="password authentication failed"):
        connect(instance, password="guess")
    lab.client("rds").modify_db_instance(
        DBInstanceIdentifier="shop", MasterUserPassword="new-password-2", ApplyImmediately=True
    )
    with pytest.raises(pg8000.DatabaseError, match="password authentication failed"):
        connect(instance)
    connect(instance, password="new-password-2").close()


def test_only_the_advertised_port_answers(lab: Lab) -> None:
    instance = create(lab)
    wrong = dict(instance, Endpoint=dict(instance["Endpoint"], Port=3306))
    with pytest.raises(pg8000.InterfaceError):
        connect(wrong)


def test_other_names_stay_blocked(lab: Lab) -> None:
    create(lab)
    with pytest.raises(NetworkBlockedError):
        pg8000.connect(host="other.aaaaaaaaaa.us-east-1.rds.amazonaws.com", user=USER, password="x")


def test_a_forced_failover_drops_connections_then_serves_every_committed_row(lab: Lab) -> None:
    instance = create(lab, MultiAZ=True)
    assert (instance["AvailabilityZone"], instance["SecondaryAvailabilityZone"]) == (
        "us-east-1a",
        "us-east-1b",
    )
    conn = connect(instance)
    cur = conn.cursor()
    cur.execute("CREATE TABLE orders (id INT PRIMARY KEY)")
    cur.execute("INSERT INTO orders VALUES (1)")
    conn.commit()
    cur.execute("INSERT INTO orders VALUES (2)")  # not committed when the failover comes

    rebooted = lab.client("rds").reboot_db_instance(DBInstanceIdentifier="shop", ForceFailover=True)
    assert rebooted["DBInstance"]["DBInstanceStatus"] == "rebooting"
    with pytest.raises(pg8000.InterfaceError):
        cur.execute("SELECT 1")
    with pytest.raises(pg8000.InterfaceError):
        connect(instance)

    seconds = facts.value("rds.multi_az_failover_seconds")
    lab.clock.advance(seconds - 1)
    with pytest.raises(pg8000.InterfaceError):
        connect(instance)
    lab.clock.advance(1)
    described = lab.client("rds").describe_db_instances(DBInstanceIdentifier="shop")
    after = described["DBInstances"][0]
    assert after["DBInstanceStatus"] == "available"
    assert (after["AvailabilityZone"], after["SecondaryAvailabilityZone"]) == (
        "us-east-1b",
        "us-east-1a",
    )
    cur = connect(instance).cursor()
    cur.execute("SELECT id FROM orders ORDER BY id")
    assert [tuple(row) for row in cur.fetchall()] == [(1,)]


def test_a_single_az_instance_refuses_a_forced_failover(lab: Lab) -> None:
    create(lab)
    with pytest.raises(ClientError) as error:
        lab.client("rds").reboot_db_instance(DBInstanceIdentifier="shop", ForceFailover=True)
    assert error.value.response["Error"]["Code"] == "InvalidParameterCombination"


def test_an_az_outage_fails_over_multi_az_and_stops_single_az(lab: Lab) -> None:
    multi = create(lab, "multi", MultiAZ=True)
    single = create(lab, "single")
    assert sorted(rds_patch.zone_outage(lab.sandbox, "us-east-1a")) == ["multi", "single"]
    with pytest.raises(pg8000.InterfaceError):
        connect(single)
    lab.clock.advance(facts.value("rds.multi_az_failover_seconds"))
    connect(multi).close()
    with pytest.raises(pg8000.InterfaceError):
        connect(single)
    rds_patch.zone_restored(lab.sandbox, "us-east-1a")
    connect(single).close()


def test_deleting_the_instance_closes_its_endpoint(lab: Lab) -> None:
    instance = create(lab)
    lab.client("rds").delete_db_instance(DBInstanceIdentifier="shop", SkipFinalSnapshot=True)
    with pytest.raises(pg8000.InterfaceError):
        connect(instance)


def test_reset_stops_the_servers_of_the_wiped_instances(lab: Lab) -> None:
    instance = create(lab)
    runtime = rds_patch.runtime_of(lab.sandbox.backend("rds").databases["shop"])
    assert runtime is not None
    folder = runtime.server.data.parent
    assert folder.exists()
    lab.reset()
    assert not folder.exists()
    with pytest.raises(pg8000.InterfaceError):
        connect(instance)


def test_a_server_folder_comes_from_a_spare_of_this_process_only(tmp_path: Path) -> None:
    from labkit.services.rds import sim_engine

    foreign = tmp_path / "parent-spare"  # what a forked process inherits from its parent
    with sim_engine._spare_lock:
        sim_engine._spares.append((os.getpid() + 1, foreign))
    try:
        root = sim_engine._take_root()
        assert root != foreign and (root / "data" / "PG_VERSION").exists()
        assert (root / "archive").is_dir() and (root / "shipped").is_dir()
        with sim_engine._spare_lock:
            assert all(pid == os.getpid() for pid, _ in sim_engine._spares)
        shutil.rmtree(root, ignore_errors=True)
    finally:
        with sim_engine._spare_lock:
            sim_engine._spares[:] = [s for s in sim_engine._spares if s[1] != foreign]
