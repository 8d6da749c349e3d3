"""Databases benchmark: RDS and ElastiCache endpoints against their engines called directly.

Prints, measured in the same run (interleaved batches; ratios compare each side's fastest batch,
as other load on a shared machine only ever adds time):
- a PostgreSQL query (``SELECT ... WHERE id = %s`` on a primary key) with pg8000 through the
  sandbox's RDS endpoint, and with pg8000 straight to the same server's loopback port; the ratio
  (target: within 1.2x);
- opening a connection both ways (SCRAM authentication included);
- a Redis ``GET`` with the real ``redis`` client at an ElastiCache endpoint, and with
  ``fakeredis.FakeRedis`` directly; the ratio (target: within 1.2x);
- wall time of a Multi-AZ failover of 120 s on the lab clock: the reboot call, the clock advance,
  a new connection and a query (target: under 1 s);
- wall time of a point-in-time restore to a second an hour back (the new server replays the
  archived WAL; target: under 1 s), with a spare server folder ready and copying the template
  itself (interleaved), and of a read replica catching up after its lag.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import support

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

CALLS = 300
BATCHES = 7
USER, PASSWORD = "bench", "bench-password-1"
#: Wall seconds the learner spends between two restores (reading, typing): time enough for the
#: background copy of a spare server folder.
SPARE_PAUSE = 3.0
SQL = "SELECT item FROM orders WHERE id = %s"


def timed(fn: Callable[[int], Any], calls: int = CALLS) -> float:
    """Milliseconds per call of ``fn(i)``."""
    return support.timed(fn, calls)[0]


def main() -> int:
    import fakeredis
    import pg8000
    import redis

    import labkit
    from labkit.services.rds import sim_engine
    from labkit.services.rds.patch import runtime_of

    lab = labkit.start(quiet=True)
    try:
        rds = lab.client("rds")
        instance = rds.create_db_instance(
            DBInstanceIdentifier="bench",
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            MasterUsername=USER,
            MasterUserPassword=PASSWORD,
            MultiAZ=True,
        )["DBInstance"]
        endpoint = instance["Endpoint"]
        runtime = runtime_of(lab.sandbox.backend("rds").databases["bench"])
        assert runtime is not None
        direct_port = runtime.server.port

        def via_endpoint() -> Any:
            return pg8000.connect(
                host=endpoint["Address"],
                port=endpoint["Port"],
                user=USER,
                password=PASSWORD,
                database="postgres",
            )

        def direct() -> Any:
            return pg8000.connect(
                host="127.0.0.1",
                port=direct_port,
                user=USER,
                password=PASSWORD,
                database="postgres",
            )

        setup = via_endpoint()
        cur = setup.cursor()
        cur.execute("CREATE TABLE orders (id INT PRIMARY KEY, item TEXT)")
        cur.execute("INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 1000) g")
        setup.commit()
        setup.close()

        ec = lab.client("elasticache")
        ec.create_cache_cluster(
            CacheClusterId="bench", Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1
        )
        node = ec.describe_cache_clusters(ShowCacheNodeInfo=True)["CacheClusters"][0]
        cache_endpoint = node["CacheNodes"][0]["Endpoint"]
        cache = redis.Redis(host=cache_endpoint["Address"], port=cache_endpoint["Port"])
        cache.set("k", "v" * 100)
        plain = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        plain.set("k", "v" * 100)

        q_end, q_dir, c_end, c_dir, r_end, r_dir = [], [], [], [], [], []
        for _ in range(BATCHES):
            for target, sink in ((via_endpoint, q_end), (direct, q_dir)):
                conn = target()
                cursor = conn.cursor()
                sink.append(
                    timed(lambda i, c=cursor: (c.execute(SQL, (i % 1000 + 1,)), c.fetchall()))
                )
                conn.close()
            c_end.append(timed(lambda _i: via_endpoint().close(), 20))
            c_dir.append(timed(lambda _i: direct().close(), 20))
            r_end.append(timed(lambda _i: cache.get("k"), 2000))
            r_dir.append(timed(lambda _i: plain.get("k"), 2000))

        failovers = []
        for _ in range(3):
            t = time.perf_counter()
            rds.reboot_db_instance(DBInstanceIdentifier="bench", ForceFailover=True)
            lab.clock.advance(120)
            conn = via_endpoint()
            conn.cursor().execute("SELECT count(*) FROM orders")
            conn.close()
            failovers.append(time.perf_counter() - t)

        # An hour of lab time with writes every minute, then restores to a second in the middle.
        writer = via_endpoint()
        wcur = writer.cursor()
        middle = None
        for minute in range(60):
            wcur.execute("UPDATE orders SET item = %s WHERE id = 1", (f"v{minute}",))
            writer.commit()
            if minute == 30:
                middle = lab.clock.now
            lab.clock.advance(60)
        # Interleaved: a restore that finds a spare server folder (copied in the background
        # while the learner works: here a pause of wall time) and one that copies the template
        # itself (no spare), as every restore did before spares.
        restores: list[float] = []
        copying: list[float] = []
        for n in range(6):
            spare = n % 2 == 0
            if spare:
                time.sleep(SPARE_PAUSE)
            else:
                with sim_engine._spare_lock:
                    sim_engine._spares.clear()
            t = time.perf_counter()
            rds.restore_db_instance_to_point_in_time(
                SourceDBInstanceIdentifier="bench",
                TargetDBInstanceIdentifier=f"restored-{n}",
                RestoreTime=middle,
            )
            (restores if spare else copying).append(time.perf_counter() - t)
            rds.delete_db_instance(DBInstanceIdentifier=f"restored-{n}", SkipFinalSnapshot=True)
        rds.create_db_instance_read_replica(
            DBInstanceIdentifier="bench-ro", SourceDBInstanceIdentifier="bench"
        )
        catch_up = []
        for n in range(5):
            wcur.execute("UPDATE orders SET item = %s WHERE id = 2", (f"r{n}",))
            writer.commit()
            t = time.perf_counter()
            lab.clock.advance(10)
            catch_up.append(time.perf_counter() - t)
        writer.close()
    finally:
        lab.stop()

    # The fastest batch of each: both sides run the same pg8000 code over loopback TCP (the guard
    # only acts at connect), so what differs between batches is other load on the machine.
    q = min(q_end) / min(q_dir)
    r = min(r_end) / min(r_dir)
    print(f"query via RDS endpoint (pg8000):        {min(q_end):.3f} ms")
    print(f"query direct to the server (pg8000):    {min(q_dir):.3f} ms")
    print(f"query endpoint / direct:                {q:.2f}x (target <= 1.2x)")
    print(f"connect via endpoint:                   {statistics.median(c_end):.2f} ms")
    print(f"connect direct:                         {statistics.median(c_dir):.2f} ms")
    print(f"Redis GET via ElastiCache endpoint:     {min(r_end):.4f} ms")
    print(f"fakeredis.FakeRedis GET directly:       {min(r_dir):.4f} ms")
    print(f"Redis endpoint / fakeredis:             {r:.2f}x (target <= 1.2x)")
    print(
        f"Multi-AZ failover (120 s lab time):     {statistics.median(failovers) * 1000:.0f} ms wall"
    )
    print(
        f"point-in-time restore (1 h of WAL):     {statistics.median(restores) * 1000:.0f} ms wall"
        f" (fastest {min(restores) * 1000:.0f} ms; target < 1 s)"
    )
    print(
        f"  the same, copying the template itself: {statistics.median(copying) * 1000:.0f} ms wall"
        f" (fastest {min(copying) * 1000:.0f} ms): spares save "
        f"{(statistics.median(copying) - statistics.median(restores)) * 1000:.0f} ms"
    )
    print(
        f"advance, replica catching up:           {statistics.median(catch_up) * 1000:.0f} ms wall"
    )
    ok = q <= 1.2 and r <= 1.2 and max(failovers) < 1 and statistics.median(restores) < 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
