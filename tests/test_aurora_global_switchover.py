"""Aurora global database switchover: the former primary becomes a secondary of the new one.

AWS: a switchover "demotes the current primary cluster to a secondary (read-only) cluster,
maintaining the original replication topology", so the old primary replicates from the new
primary like any secondary (the lag is ``aurora.global_replication_lag_sandbox``), and
switching back later loses nothing either.
"""

from __future__ import annotations

import pg8000
import pytest
from test_aurora_global import SECONDARY_REGION, connect, global_database, members, run

from labkit import facts
from labkit.lab import Lab


def test_the_former_primary_replicates_from_the_new_one_after_the_lag(lab: Lab) -> None:
    primary, secondary = global_database(lab)
    lag = float(facts.value("aurora.global_replication_lag_sandbox"))
    lab.client("rds").switchover_global_cluster(
        GlobalClusterIdentifier="shop-global", TargetDbClusterIdentifier=secondary["DBClusterArn"]
    )
    assert members(lab) == {"orders": False, "orders-eu": True}
    # The clock moves on before any write: the new primary, just copied, has nothing new in its
    # log (its cut once waited for a segment that never filled, then failed).
    lab.clock.advance(lag)

    new_writer = connect(secondary["Endpoint"])
    run(new_writer, "INSERT INTO orders VALUES (2)")
    old = connect(primary["ReaderEndpoint"])
    assert run(old, "SELECT id FROM orders ORDER BY id") == [(1,)]  # same instant: not yet
    lab.clock.advance(lag / 2)
    assert run(old, "SELECT id FROM orders ORDER BY id") == [(1,)]  # within the lag: not yet
    lab.clock.advance(lag)
    assert run(old, "SELECT id FROM orders ORDER BY id") == [(1,), (2,)]  # a lag later: there
    with pytest.raises(pg8000.DatabaseError, match="read-only transaction"):
        run(old, "INSERT INTO orders VALUES (3)")  # a secondary takes no writes
    old.close()
    writer_endpoint = connect(primary["Endpoint"])  # its writer endpoint refuses writes too
    with pytest.raises(pg8000.DatabaseError, match="read-only transaction"):
        run(writer_endpoint, "INSERT INTO orders VALUES (3)")
    writer_endpoint.close()

    # Switching back: the old primary catches up first and is the writer again, nothing lost,
    # and the other Region is its secondary again.
    run(new_writer, "INSERT INTO orders VALUES (4)")  # committed, not yet replicated
    new_writer.close()
    lab.client("rds", region_name=SECONDARY_REGION).switchover_global_cluster(
        GlobalClusterIdentifier="shop-global", TargetDbClusterIdentifier=primary["DBClusterArn"]
    )
    assert members(lab) == {"orders": True, "orders-eu": False}
    back = connect(primary["Endpoint"])
    assert run(back, "SELECT id FROM orders ORDER BY id") == [(1,), (2,), (4,)]
    run(back, "INSERT INTO orders VALUES (5)")
    back.close()
    far = connect(secondary["ReaderEndpoint"])
    lab.clock.advance(lag * 2)
    assert run(far, "SELECT id FROM orders ORDER BY id") == [(1,), (2,), (4,), (5,)]
    with pytest.raises(pg8000.DatabaseError, match="read-only transaction"):
        run(far, "INSERT INTO orders VALUES (6)")
    far.close()


def test_a_region_added_after_a_switchover_replicates_from_the_new_primary(lab: Lab) -> None:
    _primary, secondary = global_database(lab)
    lag = float(facts.value("aurora.global_replication_lag_sandbox"))
    lab.client("rds").switchover_global_cluster(
        GlobalClusterIdentifier="shop-global", TargetDbClusterIdentifier=secondary["DBClusterArn"]
    )
    writer = connect(secondary["Endpoint"])
    run(writer, "INSERT INTO orders VALUES (2)")
    far = lab.client("rds", region_name="ap-southeast-2")
    third = far.create_db_cluster(
        DBClusterIdentifier="orders-ap",
        Engine="aurora-postgresql",
        GlobalClusterIdentifier="shop-global",
    )["DBCluster"]
    far.create_db_instance(
        DBInstanceIdentifier="orders-ap-1",
        DBClusterIdentifier="orders-ap",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    reader = connect(third["ReaderEndpoint"])
    assert run(reader, "SELECT id FROM orders ORDER BY id") == [(1,), (2,)]  # as it joined
    run(writer, "INSERT INTO orders VALUES (3)")
    writer.close()
    lab.clock.advance(lag * 2)
    assert run(reader, "SELECT id FROM orders ORDER BY id") == [(1,), (2,), (3,)]
    reader.close()


def test_after_a_failover_allowing_data_loss_the_old_primary_stays_as_it_was(lab: Lab) -> None:
    primary, secondary = global_database(lab)
    lab.client("rds", region_name=SECONDARY_REGION).failover_global_cluster(
        GlobalClusterIdentifier="shop-global",
        TargetDbClusterIdentifier=secondary["DBClusterArn"],
        AllowDataLoss=True,
    )
    promoted = connect(secondary["Endpoint"])
    run(promoted, "INSERT INTO orders VALUES (2)")
    promoted.close()
    lab.clock.advance(5)
    old = connect(primary["Endpoint"])
    assert run(old, "SELECT id FROM orders ORDER BY id") == [(1,)]  # its Region is lost
    with pytest.raises(pg8000.DatabaseError, match="read-only transaction"):
        run(old, "INSERT INTO orders VALUES (3)")
    old.close()


def test_a_switchover_drops_the_old_primarys_sessions_and_their_open_transactions(
    lab: Lab,
) -> None:
    primary, secondary = global_database(lab)
    committed, open_ = connect(primary["Endpoint"]), connect(primary["Endpoint"])
    run(committed, "INSERT INTO orders VALUES (2)")
    open_.cursor().execute("INSERT INTO orders VALUES (3)")  # never committed
    lab.client("rds").switchover_global_cluster(
        GlobalClusterIdentifier="shop-global", TargetDbClusterIdentifier=secondary["DBClusterArn"]
    )
    for session in (committed, open_):
        with pytest.raises(pg8000.InterfaceError):
            session.cursor().execute("SELECT 1")  # the old primary stopped: its sessions ended
    new_writer = connect(secondary["Endpoint"])
    assert run(new_writer, "SELECT id FROM orders ORDER BY id") == [(1,), (2,)]
    new_writer.close()
    old = connect(primary["ReaderEndpoint"])  # the old primary answers again, as a secondary
    assert run(old, "SELECT id FROM orders ORDER BY id") == [(1,), (2,)]
    old.close()


def test_every_other_secondary_follows_the_new_primary_after_a_switchover(lab: Lab) -> None:
    primary, secondary = global_database(lab)
    lag = float(facts.value("aurora.global_replication_lag_sandbox"))
    far = lab.client("rds", region_name="ap-southeast-2")
    third = far.create_db_cluster(
        DBClusterIdentifier="orders-ap",
        Engine="aurora-postgresql",
        GlobalClusterIdentifier="shop-global",
    )["DBCluster"]
    far.create_db_instance(
        DBInstanceIdentifier="orders-ap-1",
        DBClusterIdentifier="orders-ap",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    writer = connect(primary["Endpoint"])
    run(writer, "INSERT INTO orders VALUES (2)")  # not yet at the third Region at the switch
    writer.close()
    lab.client("rds").switchover_global_cluster(
        GlobalClusterIdentifier="shop-global", TargetDbClusterIdentifier=secondary["DBClusterArn"]
    )
    reader = connect(third["ReaderEndpoint"])
    assert run(reader, "SELECT id FROM orders ORDER BY id") == [(1,), (2,)]
    new_writer = connect(secondary["Endpoint"])
    run(new_writer, "INSERT INTO orders VALUES (3)")
    new_writer.close()
    assert run(reader, "SELECT id FROM orders ORDER BY id") == [(1,), (2,)]  # within the lag
    lab.clock.advance(lag * 2)
    assert run(reader, "SELECT id FROM orders ORDER BY id") == [(1,), (2,), (3,)]
    reader.close()

    # The third Region can be switched to in turn; both others then follow it.
    far.switchover_global_cluster(
        GlobalClusterIdentifier="shop-global", TargetDbClusterIdentifier=third["DBClusterArn"]
    )
    assert members(lab) == {"orders": False, "orders-eu": False, "orders-ap": True}
    last = connect(third["Endpoint"])
    run(last, "INSERT INTO orders VALUES (4)")
    last.close()
    lab.clock.advance(lag * 2)
    for cluster in (primary, secondary):
        follower = connect(cluster["ReaderEndpoint"])
        assert run(follower, "SELECT id FROM orders ORDER BY id") == [(1,), (2,), (3,), (4,)]
        follower.close()
