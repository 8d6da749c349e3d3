"""lab.db_view and lab.cache_view: an RDS instance, its replica, an Aurora cluster and an
ElastiCache cluster as live widgets with HTML and text forms that follow the lab clock."""

from __future__ import annotations

import pg8000
import pytest
import redis

from labkit.lab import Lab
from labkit.services.elasticache.state import CacheNotFoundError
from labkit.services.rds.state import DatabaseNotFoundError

PASSWORD = "secret-pass-1"


def shop(lab: Lab) -> None:
    """A Multi-AZ instance with backups, and its read replica."""
    rds = lab.client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="shop",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="app",
        MasterUserPassword=PASSWORD,
        MultiAZ=True,
        BackupRetentionPeriod=3,
    )
    rds.create_db_instance_read_replica(
        DBInstanceIdentifier="shop-reports", SourceDBInstanceIdentifier="shop"
    )


def bundle(view: object) -> dict[str, str]:
    found = view._repr_mimebundle_()  # type: ignore[attr-defined]
    return {"html": found["text/html"], "text": found["text/plain"]}


def test_the_db_view_follows_a_failover_and_a_held_one_keeps_its_moment(lab: Lab) -> None:
    shop(lab)
    live = lab.db_view("shop")
    held = lab.db_view("shop", hold=True)
    first = bundle(live)
    assert "primary in us-east-1a ⇄ synchronous standby in us-east-1b" in first["text"]
    assert "labkit-rds" in first["html"] and "us-east-1a" in first["html"]
    assert "read replicas: shop-reports" in first["text"]
    assert "automated backups kept 3 day(s)" in first["text"]

    lab.client("rds").reboot_db_instance(DBInstanceIdentifier="shop", ForceFailover=True)
    lab.clock.advance(300)
    now = bundle(live)
    assert "primary in us-east-1b" in now["text"] and "failover @" in now["text"]
    assert "failover @" not in bundle(held)["text"]  # held before the failover
    live.close()
    held.close()

    # The replica, named by its ARN: its source and the lag it replays at.
    view = lab.db_view("arn:aws:rds:us-east-1:123456789012:db:shop-reports", hold=True)
    text = bundle(view)["text"]
    assert "RDS read replica shop-reports (of shop)" in text
    assert "s of lab time late" in text and "no standby (Single-AZ)" in text
    view.close()

    with pytest.raises(DatabaseNotFoundError, match="Known: shop, shop-reports"):
        lab.db_view("nope")
    with pytest.raises(DatabaseNotFoundError, match="none named"):
        lab.db_view()  # two instances: which?


def test_the_cache_view_shows_keys_ttls_and_hits(lab: Lab) -> None:
    lab.client("elasticache").create_cache_cluster(
        CacheClusterId="sessions", Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1
    )
    node = lab.client("elasticache").describe_cache_clusters(
        CacheClusterId="sessions", ShowCacheNodeInfo=True
    )["CacheClusters"][0]["CacheNodes"][0]["Endpoint"]
    cache = redis.Redis(host=node["Address"], port=node["Port"])
    cache.set("session:ana", "cart", ex=60)
    cache.get("session:ana")
    cache.get("session:ben")
    view = lab.cache_view()  # the only cluster
    lab.clock.advance(20)
    shown = bundle(view)
    assert "session:ana" in shown["text"] and "1 hit" in shown["text"]
    assert "40 s" in shown["text"]  # the TTL left follows the lab clock
    assert "labkit-elasticache" in shown["html"]
    with pytest.raises(CacheNotFoundError, match="Known: sessions"):
        lab.cache_view("orders-cache")
    view.close()
    cache.close()


def test_an_aurora_cluster_shows_its_writer_and_volume(lab: Lab) -> None:
    rds = lab.client("rds")
    info = rds.create_db_cluster(
        DBClusterIdentifier="orders",
        Engine="aurora-postgresql",
        MasterUsername="app",
        MasterUserPassword=PASSWORD,
        DatabaseName="shop",
    )["DBCluster"]
    rds.create_db_instance(
        DBInstanceIdentifier="orders-1",
        DBClusterIdentifier="orders",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    conn = pg8000.connect(host=info["Endpoint"], user="app", password=PASSWORD, database="shop")
    view = lab.db_view("orders")
    shown = bundle(view)
    assert "Aurora cluster orders" in shown["text"] and "✎ writer" in shown["text"]
    assert "volume 6/6 copies" in shown["text"] and "labkit-aurora" in shown["html"]
    view.close()
    conn.close()
