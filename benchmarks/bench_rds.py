"""Aurora and RDS Proxy benchmark: endpoints against the engine called directly, wall times.

Prints, measured in the same run (interleaved batches; ratios compare each side's fastest batch,
as other load on a shared machine only ever adds time):
- a primary-key query with pg8000 through an Aurora cluster's writer endpoint (the network guard
  redirects the connect; bytes then flow straight), through its reader endpoint (a relay thread
  that marks the session read-only), through an RDS Proxy (the pool's thread multiplexes), and
  straight to the engine's loopback port; each ratio to direct (issue 18's target: 1.2x for the
  endpoint; the relay and the proxy add a hop, as real ones do);
- wall time of an Aurora failover of ``aurora.failover_seconds`` on the lab clock (the call, the
  advance, a new connection and a query; target < 1 s);
- wall time of a copy-on-write clone and of a point-in-time restore of the cluster (target < 1 s);
- wall time of an Aurora global database switchover to another Region and back (the call, which
  stops the former primary cleanly and restarts its own volume as a standby of the new one, the
  replication lag on the lab clock, a new connection to the new writer and a query; target < 1 s,
  as for failovers).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import support

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

CALLS = 200
BATCHES = 5
USER, PASSWORD = "bench", "bench-password-1"
SQL = "SELECT item FROM orders WHERE id = %s"


def timed(fn: Callable[[int], Any], calls: int = CALLS) -> float:
    """Milliseconds per call of ``fn(i)``."""
    return support.timed(fn, calls)[0]


def main() -> int:
    import pg8000

    import labkit
    from labkit import facts
    from labkit.services.rds import patch_aurora, patch_proxy

    lab = labkit.start(quiet=True)
    try:
        rds = lab.client("rds")
        ec2 = lab.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=z)["Subnet"][
                "SubnetId"
            ]
            for i, z in enumerate(("us-east-1a", "us-east-1b"))
        ]
        info = rds.create_db_cluster(
            DBClusterIdentifier="bench",
            Engine="aurora-postgresql",
            MasterUsername=USER,
            MasterUserPassword=PASSWORD,
            DatabaseName="shop",
        )["DBCluster"]
        for name, tier in (("w", 1), ("r", 0)):
            rds.create_db_instance(
                DBInstanceIdentifier=name,
                DBClusterIdentifier="bench",
                Engine="aurora-postgresql",
                DBInstanceClass="db.r6g.large",
                PromotionTier=tier,
            )
        secret = lab.client("secretsmanager").create_secret(
            Name="bench", SecretString=json.dumps({"username": USER, "password": PASSWORD})
        )["ARN"]
        proxy = rds.create_db_proxy(
            DBProxyName="bench-proxy",
            EngineFamily="POSTGRESQL",
            Auth=[{"AuthScheme": "SECRETS", "SecretArn": secret, "IAMAuth": "DISABLED"}],
            RoleArn="arn:aws:iam::123456789012:role/proxy",
            VpcSubnetIds=subnets,
        )["DBProxy"]
        rds.register_db_proxy_targets(DBProxyName="bench-proxy", DBClusterIdentifiers=["bench"])
        runtime = patch_aurora.cluster_runtime(lab.sandbox.backend("rds").clusters["bench"])
        assert runtime is not None

        def to(host: str, port: int = 5432) -> Any:
            return pg8000.connect(
                host=host, port=port, user=USER, password=PASSWORD, database="shop"
            )

        setup = to(info["Endpoint"])
        cur = setup.cursor()
        cur.execute("CREATE TABLE orders (id INT PRIMARY KEY, item TEXT)")
        cur.execute("INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 1000) g")
        setup.commit()
        setup.close()

        sides: dict[str, Callable[[], Any]] = {
            "direct": lambda: to("127.0.0.1", runtime.server.port),
            "writer": lambda: to(info["Endpoint"]),
            "reader": lambda: to(info["ReaderEndpoint"]),
            "proxy": lambda: to(proxy["Endpoint"]),
        }
        times: dict[str, list[float]] = {name: [] for name in sides}
        with patch_proxy.inside_vpc(vpc):
            for _ in range(BATCHES):
                for name, open_ in sides.items():
                    conn = open_()
                    c = conn.cursor()

                    def query(i: int, c: Any = c, conn: Any = conn) -> None:
                        c.execute(SQL, (i % 1000 + 1,))
                        c.fetchall()
                        conn.commit()  # a transaction each: the proxy lends per transaction

                    times[name].append(timed(query))
                    conn.close()

        failovers = []
        for _ in range(3):
            t = time.perf_counter()
            rds.failover_db_cluster(DBClusterIdentifier="bench")
            lab.clock.advance(facts.value("aurora.failover_seconds"))
            conn = to(info["Endpoint"])
            conn.cursor().execute("SELECT count(*) FROM orders")
            conn.close()
            failovers.append(time.perf_counter() - t)

        writer = to(info["Endpoint"])
        wcur = writer.cursor()
        for minute in range(30):
            wcur.execute("UPDATE orders SET item = %s WHERE id = 1", (f"v{minute}",))
            writer.commit()
            lab.clock.advance(60)
        writer.close()
        clones, restores = [], []
        for n in range(2):
            t = time.perf_counter()
            rds.restore_db_cluster_to_point_in_time(
                DBClusterIdentifier=f"clone-{n}",
                SourceDBClusterIdentifier="bench",
                RestoreType="copy-on-write",
                UseLatestRestorableTime=True,
            )
            clones.append(time.perf_counter() - t)
            t = time.perf_counter()
            rds.restore_db_cluster_to_point_in_time(
                DBClusterIdentifier=f"pitr-{n}",
                SourceDBClusterIdentifier="bench",
                RestoreToTime=lab.clock.now - timedelta(minutes=15),
            )
            restores.append(time.perf_counter() - t)

        rds.create_global_cluster(
            GlobalClusterIdentifier="bench-global", SourceDBClusterIdentifier=info["DBClusterArn"]
        )
        far = lab.client("rds", region_name="eu-west-1")
        remote = far.create_db_cluster(
            DBClusterIdentifier="bench-eu",
            Engine="aurora-postgresql",
            GlobalClusterIdentifier="bench-global",
        )["DBCluster"]
        far.create_db_instance(
            DBInstanceIdentifier="bench-eu-1",
            DBClusterIdentifier="bench-eu",
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
        )
        lag = float(facts.value("aurora.global_replication_lag_sandbox"))
        switchovers = []
        for client, target in ((rds, remote), (far, info)):
            t = time.perf_counter()
            client.switchover_global_cluster(
                GlobalClusterIdentifier="bench-global",
                TargetDbClusterIdentifier=target["DBClusterArn"],
            )
            lab.clock.advance(lag)
            conn = to(target["Endpoint"])
            conn.cursor().execute("SELECT count(*) FROM orders")
            conn.close()
            switchovers.append(time.perf_counter() - t)
    finally:
        lab.stop()

    direct = min(times["direct"])
    for name in ("writer", "reader", "proxy"):
        print(
            f"query via {name + ' endpoint:':<22} {min(times[name]):.3f} ms "
            f"({min(times[name]) / direct:.2f}x direct)"
        )
    print(f"query direct to the engine:   {direct:.3f} ms")
    print(
        f"Aurora failover (lab {facts.value('aurora.failover_seconds')} s): "
        f"{statistics.median(failovers) * 1000:.0f} ms wall"
    )
    print(f"copy-on-write clone:          {statistics.median(clones) * 1000:.0f} ms wall")
    print(f"point-in-time restore:        {statistics.median(restores) * 1000:.0f} ms wall")
    print(
        "global switchover and back:   "
        + ", ".join(f"{t * 1000:.0f}" for t in switchovers)
        + " ms wall"
    )
    ok = min(times["writer"]) / direct <= 1.2 and max(failovers) < 1 and max(switchovers) < 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
