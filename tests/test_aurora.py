"""Aurora PostgreSQL on the real engine: endpoints, failover by tier, the six-copy volume,
Serverless v2 capacity, copy-on-write clones, backtrack, and the cluster view."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pg8000
import pytest
from botocore.exceptions import ClientError

from labkit import facts
from labkit.lab import Lab
from labkit.services.rds import patch_aurora, view_cluster

USER, PASSWORD = "app", "secret-pass-1"


def cluster(lab: Lab, name: str = "orders", **options: Any) -> dict[str, Any]:
    rds = lab.client("rds")
    created = rds.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        MasterUsername=USER,
        MasterUserPassword=PASSWORD,
        DatabaseName="shop",
        **options,
    )["DBCluster"]
    return dict(created)


def instance(lab: Lab, name: str, tier: int, zone: str, klass: str = "db.r6g.large") -> None:
    lab.client("rds").create_db_instance(
        DBInstanceIdentifier=name,
        DBClusterIdentifier="orders",
        Engine="aurora-postgresql",
        DBInstanceClass=klass,
        PromotionTier=tier,
        AvailabilityZone=zone,
    )


def connect(host: str) -> Any:
    return pg8000.connect(host=host, port=5432, user=USER, password=PASSWORD, database="shop")


def one(conn: Any, sql: str, *args: Any) -> Any:
    cursor = conn.cursor()
    if args:
        cursor.execute(sql, args)
    else:
        cursor.execute(sql)
    row = cursor.fetchone()
    conn.commit()
    return row


def test_writer_and_reader_endpoints_failover_by_tier_and_the_volume_quorums(lab: Lab) -> None:
    info = cluster(lab)
    instance(lab, "w", 1, "us-east-1a")
    instance(lab, "r-low", 5, "us-east-1b")
    instance(lab, "r-first", 0, "us-east-1c")
    writer = connect(info["Endpoint"])
    cursor = writer.cursor()
    cursor.execute("CREATE TABLE orders (id INT PRIMARY KEY)")
    cursor.execute("INSERT INTO orders VALUES (1), (2)")
    writer.commit()
    assert one(writer, "SELECT aurora_db_instance_identifier()")[0] == "w"

    # The reader endpoint spreads new connections over the replicas; each is read-only and
    # reads the same volume (a committed write is there at once).
    seen = []
    for _ in range(4):
        reader = connect(info["ReaderEndpoint"])
        name, count = one(reader, "SELECT aurora_db_instance_identifier(), count(*) FROM orders")
        seen.append(name)
        assert count == 2
        with pytest.raises(pg8000.DatabaseError, match="read-only transaction"):
            reader.cursor().execute("INSERT INTO orders VALUES (3)")
        reader.close()
    assert sorted(set(seen)) == ["r-first", "r-low"]

    # Failover picks tier 0, drops connections, answers again after the documented time.
    answer = lab.client("rds").failover_db_cluster(DBClusterIdentifier="orders")["DBCluster"]
    assert [
        m["DBInstanceIdentifier"] for m in answer["DBClusterMembers"] if m["IsClusterWriter"]
    ] == ["r-first"]
    with pytest.raises(pg8000.InterfaceError):
        cursor.execute("SELECT 1")
    with pytest.raises(pg8000.InterfaceError):
        connect(info["Endpoint"])
    lab.clock.advance(facts.value("aurora.failover_seconds"))
    writer = connect(info["Endpoint"])
    assert one(writer, "SELECT aurora_db_instance_identifier(), count(*) FROM orders") == [
        "r-first",
        2,
    ]

    # Losing an AZ (two copies) keeps writes; one copy more makes the volume read-only.
    assert patch_aurora.zone_outage(lab.sandbox, "us-east-1a") == ["orders"]
    writer = connect(info["Endpoint"])
    one(writer, "INSERT INTO orders VALUES (3) RETURNING id")
    patch_aurora.lose_copies(lab.sandbox, "orders", 1)
    writer = connect(info["Endpoint"])
    with pytest.raises(pg8000.DatabaseError, match="read-only transaction"):
        writer.cursor().execute("INSERT INTO orders VALUES (4)")
    writer.rollback()
    assert one(writer, "SELECT count(*) FROM orders")[0] == 3
    patch_aurora.lose_copies(lab.sandbox, "orders", 1)
    with pytest.raises(pg8000.InterfaceError):
        connect(info["Endpoint"])  # below the read quorum
    patch_aurora.repair(lab.sandbox, "orders")
    writer = connect(info["Endpoint"])
    one(writer, "INSERT INTO orders VALUES (4) RETURNING id")

    text = view_cluster.render_text(patch_aurora.snapshot(lab.sandbox, "orders"))
    assert "✎ writer" in text and "◇ reader" in text
    assert "volume 6/6 copies" in text and "writes ✓" in text
    assert "failover @" in text and "w → r-first" in text
    html = view_cluster.render_html(patch_aurora.snapshot(lab.sandbox, "orders"))
    assert "labkit-aurora" in html and "✎ writer" in html


def test_serverless_v2_capacity_follows_the_load_within_its_bounds(lab: Lab) -> None:
    info = cluster(lab, ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 2})
    instance(lab, "w", 1, "us-east-1a", klass="db.serverless")
    writer = connect(info["Endpoint"])
    cursor = writer.cursor()
    cursor.execute("CREATE TABLE hits (n INT)")
    writer.commit()
    lab.clock.advance(1)
    for n in range(400):  # 400 write transactions in one second of lab time
        cursor.execute("INSERT INTO hits VALUES (%s)", (n,))
        writer.commit()
    lab.clock.advance(1)
    runtime = patch_aurora.cluster_runtime(lab.sandbox.backend("rds").clusters["orders"])
    assert runtime is not None
    model = runtime.capacity["w"]
    assert model.current == 2  # wanted 8 ACUs, capped at MaxCapacity
    for _ in range(6):
        lab.clock.advance(60)  # idle: it scales back down, gradually
    assert model.current == 0.5
    assert [acu for _, acu in model.history][:2] == [0.5, 2]
    assert model.cost() > 0
    text = view_cluster.render_text(patch_aurora.snapshot(lab.sandbox, "orders"))
    assert "0.5 ACU" in text and "2 ACU" in text


def test_a_clone_shares_unchanged_pages_and_copies_written_ones(lab: Lab) -> None:
    info = cluster(lab)
    instance(lab, "w", 1, "us-east-1a")
    writer = connect(info["Endpoint"])
    cursor = writer.cursor()
    cursor.execute("CREATE TABLE big (id INT PRIMARY KEY, pad TEXT)")
    cursor.execute("INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g")
    writer.commit()
    lab.clock.advance(5)
    rds = lab.client("rds")
    clone = rds.restore_db_cluster_to_point_in_time(
        DBClusterIdentifier="orders-clone",
        SourceDBClusterIdentifier="orders",
        RestoreType="copy-on-write",
        UseLatestRestorableTime=True,
    )["DBCluster"]
    rds.create_db_instance(
        DBInstanceIdentifier="cw",
        DBClusterIdentifier="orders-clone",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    before = patch_aurora.clone_pages(lab.sandbox, "orders-clone", "shop")
    assert before["copied"] == 0 and before["shared"] > 10
    copy = connect(clone["Endpoint"])
    one(copy, "UPDATE big SET pad = 'changed' WHERE id = 1 RETURNING id")
    after = patch_aurora.clone_pages(lab.sandbox, "orders-clone", "shop")
    assert 1 <= after["copied"] <= 3 and after["shared"] >= before["shared"] - 2
    assert (
        one(writer, "SELECT pad FROM big WHERE id = 1")[0] == "x" * 200
    )  # the source is as it was


def test_backtrack_is_aurora_mysql_only_and_bounded_by_its_window(lab: Lab) -> None:
    cluster(lab)
    rds = lab.client("rds")
    with pytest.raises(ClientError, match="not enabled for the aurora-postgresql engine"):
        rds.backtrack_db_cluster(DBClusterIdentifier="orders", BacktrackTo=lab.clock.now)
    rds.create_db_cluster(
        DBClusterIdentifier="legacy",
        Engine="aurora-mysql",
        MasterUsername=USER,
        MasterUserPassword=PASSWORD,
        BacktrackWindow=3600,
    )
    lab.clock.advance(7200)
    done = rds.backtrack_db_cluster(
        DBClusterIdentifier="legacy", BacktrackTo=lab.clock.now - timedelta(minutes=30)
    )
    assert done["Status"] == "pending"
    with pytest.raises(ClientError, match="backtrack window"):
        rds.backtrack_db_cluster(
            DBClusterIdentifier="legacy", BacktrackTo=lab.clock.now - timedelta(hours=2)
        )


def test_rds_proxy_in_front_of_a_cluster_follows_its_writer(lab: Lab) -> None:
    import json

    from labkit.services.rds import patch_proxy

    cluster(lab)
    instance(lab, "w", 1, "us-east-1a")
    instance(lab, "r", 0, "us-east-1b")
    ec2 = lab.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    secret = lab.client("secretsmanager").create_secret(
        Name="orders", SecretString=json.dumps({"username": USER, "password": PASSWORD})
    )["ARN"]
    rds = lab.client("rds")
    endpoint = rds.create_db_proxy(
        DBProxyName="orders-proxy",
        EngineFamily="POSTGRESQL",
        Auth=[{"AuthScheme": "SECRETS", "SecretArn": secret, "IAMAuth": "DISABLED"}],
        RoleArn="arn:aws:iam::123456789012:role/proxy",
        VpcSubnetIds=[subnet],
    )["DBProxy"]["Endpoint"]
    rds.register_db_proxy_targets(DBProxyName="orders-proxy", DBClusterIdentifiers=["orders"])
    with patch_proxy.inside_vpc(vpc):
        assert one(connect(endpoint), "SELECT aurora_db_instance_identifier()")[0] == "w"
        rds.failover_db_cluster(DBClusterIdentifier="orders")
        lab.clock.advance(facts.value("aurora.failover_seconds"))
        assert one(connect(endpoint), "SELECT aurora_db_instance_identifier()")[0] == "r"
