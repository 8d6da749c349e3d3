# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Databases: RDS, replicas, failover, backups, ElastiCache, and which database
#
# **Amazon RDS** runs a relational database engine for you (PostgreSQL, MySQL, MariaDB, Oracle,
# SQL Server, Db2; **Aurora** is AWS's own PostgreSQL- and MySQL-compatible engine): AWS patches
# it, backs it up, replaces failed hosts and keeps a standby in another Availability Zone. You
# still write the schema and the SQL, and you still decide where each read goes.
#
# In this sandbox every RDS instance has a **real PostgreSQL** behind its endpoint, so the SQL
# in this lesson is **PostgreSQL's dialect** (`SERIAL`, `RETURNING`, `ON CONFLICT`, `now()`). Your
# code reaches it with the `pg8000` driver, exactly as it would reach RDS. ElastiCache clusters
# have a real Redis-compatible engine behind theirs, for the `redis` client. (In a workshop your
# instructor may point the instances at a PostgreSQL server of theirs: the SQL is the same.)
#
# You will see:
#
# 1. an instance, its endpoint and real SQL;
# 2. a **read replica**, and the stale read right after a write;
# 3. **Multi-AZ failover**: dropped connections, no lost commit;
# 4. **point-in-time restore** to the second before a mistake;
# 5. **ElastiCache**: cache-aside against write-through, a session store, a leaderboard, and
#    why ElastiCache needs code changes where DAX needs none;
# 6. **RDS Proxy**: a burst of Lambda invocations that exhausts a database, and the pool that
#    serves it;
# 7. an **Aurora global database**: a secondary Region under a second behind, and switchover;
# 8. **which database** for which workload, tried on working models.

# %%
import json
import os
import re

import boto3
import pg8000
import redis

import labkit
from labkit.facts import fact
from labkit.services.dbchoice import sim_engines as engines
from labkit.services.dbchoice.sim_workloads import WORKLOADS
from labkit.services.dbchoice.view import which_db
from labkit.services.rds.patch_proxy import concurrent_invocations, inside_vpc, pool_of

lab = labkit.start("databases")
rds = lab.client("rds")

# %% [markdown]
# ## 1. An instance, its endpoint, real SQL
#
# `create_db_instance` takes the engine, the instance class, storage and the master user.
# `MultiAZ=True` adds a synchronous standby in a second Availability Zone, and
# `BackupRetentionPeriod` (days) turns on automated backups.

# %%
instance = rds.create_db_instance(
    DBInstanceIdentifier="shop",
    Engine="postgres",
    DBInstanceClass="db.t3.micro",
    AllocatedStorage=20,
    MasterUsername="shopadmin",
    MasterUserPassword="correct-horse-1",
    DBName="shop",
    MultiAZ=True,
    BackupRetentionPeriod=7,
)["DBInstance"]
endpoint = instance["Endpoint"]
print(endpoint, instance["AvailabilityZone"], "standby in", instance["SecondaryAvailabilityZone"])


def connect(info):
    """A new connection to an instance's endpoint, as the master user."""
    return pg8000.connect(
        host=info["Endpoint"]["Address"],
        port=info["Endpoint"]["Port"],
        user="shopadmin",
        password="correct-horse-1",
        database="shop",
    )


def query(conn, sql, *params):
    """Run one statement; return its rows (if any) and end the transaction."""
    cursor = conn.cursor()
    cursor.execute(sql, params) if params else cursor.execute(sql)
    found = cursor.fetchall() if cursor.description else []
    conn.commit()
    return [tuple(row) for row in found]


primary = connect(instance)
print(query(primary, "SELECT version()")[0][0][:40])

# %%
query(
    primary,
    "CREATE TABLE orders (id SERIAL PRIMARY KEY, customer TEXT NOT NULL, "
    "total_cents INTEGER NOT NULL, placed_at TIMESTAMPTZ NOT NULL DEFAULT now())",
)
print(
    query(
        primary,
        "INSERT INTO orders (customer, total_cents) VALUES (%s, %s) RETURNING id",
        "ana",
        1250,
    )
)
print(query(primary, "SELECT customer, SUM(total_cents) FROM orders GROUP BY customer"))

# %% [markdown]
# `lab.db_view("shop")` shows the instance as it is now, and follows it through this lesson:
# its endpoint, where the primary and its standby run, connections against `max_connections`,
# failovers, replicas and backups (its step control goes back to earlier moments).

# %%
lab.db_view("shop")

# %% [markdown]
# ## 2. A read replica, and the read right after a write
#
# A **read replica** is another instance that replays the primary's write-ahead log
# **asynchronously**: it takes reads off the primary (reports, dashboards), but it is always a
# little behind (CloudWatch's `ReplicaLag`). Here the lag is a few seconds of lab time.

# %%
replica_info = rds.create_db_instance_read_replica(
    DBInstanceIdentifier="shop-reports", SourceDBInstanceIdentifier="shop"
)["DBInstance"]
replica = connect(replica_info)
print("replica:", query(replica, "SELECT COUNT(*) FROM orders"))

query(primary, "INSERT INTO orders (customer, total_cents) VALUES ('ben', 3999)")
print("right after the write, the primary:", query(primary, "SELECT COUNT(*) FROM orders"))
print("right after the write, the replica:", query(replica, "SELECT COUNT(*) FROM orders"))

# %%
lab.clock.advance(10)
print("10 s later, the replica:", query(replica, "SELECT COUNT(*) FROM orders"))
try:
    query(replica, "INSERT INTO orders (customer, total_cents) VALUES ('cai', 1)")
except pg8000.DatabaseError as error:
    replica.rollback()
    print("a replica is read-only:", error.args[0]["M"])
lab.db_view("shop-reports", hold=True)  # the replica: its source, and the lag it replays at

# %% [markdown]
# So: send **reports** to the replica; read a user's **own** just-written data from the
# primary, or they will not see the order they just placed.
#
# ## 3. Multi-AZ failover
#
# The standby is **synchronous**: a transaction is committed only once the standby has it, so a
# failover loses no committed transaction. What it does lose is every **open connection**, and
# the endpoint answers nothing until the failover completes (typically 60 to 120 seconds):

# %%
print(fact("rds.multi_az_failover_seconds"))
rds.reboot_db_instance(DBInstanceIdentifier="shop", ForceFailover=True)
try:
    query(primary, "SELECT 1")
except pg8000.InterfaceError as error:
    print("the open connection:", type(error).__name__)
try:
    connect(instance)
except pg8000.InterfaceError as error:
    print("a new connection, now:", str(error)[:90])

# %%
lab.clock.advance(fact("rds.multi_az_failover_seconds").value)
after = rds.describe_db_instances(DBInstanceIdentifier="shop")["DBInstances"][0]
primary = connect(instance)  # the same endpoint name, now served from the other AZ
print(after["AvailabilityZone"], query(primary, "SELECT COUNT(*) FROM orders"))
lab.db_view("shop", hold=True)  # the primary now runs in the standby's former AZ

# %% [markdown]
# An application survives this by **retrying**: catch the driver's error, wait, open a new
# connection and run the whole transaction again. And since a commit can succeed while its
# acknowledgement is lost, the retry must be **idempotent** (`INSERT ... ON CONFLICT DO
# NOTHING` on a key the client chose).
#
# ## 4. Point-in-time restore
#
# With automated backups on, RDS keeps daily snapshots and the transaction log, and can restore
# to **any second** of the retention period (up to `rds.backup_retention_max` days) into a **new
# instance**. Here is a bad migration, and the way back:

# %%
lab.clock.advance(60)
before_migration = lab.clock.now
lab.clock.advance(1)
query(primary, "UPDATE orders SET total_cents = 0")  # the bad migration
lab.clock.advance(600)  # ten minutes until someone notices

restored_info = rds.restore_db_instance_to_point_in_time(
    SourceDBInstanceIdentifier="shop",
    TargetDBInstanceIdentifier="shop-restored",
    RestoreTime=before_migration,
)["DBInstance"]
print("now:     ", query(primary, "SELECT customer, total_cents FROM orders ORDER BY id"))
print(
    "restored:",
    query(connect(restored_info), "SELECT customer, total_cents FROM orders ORDER BY id"),
)
print(fact("rds.backup_retention_max"))

# %% [markdown]
# Writes made **during** the second you restore to are included: to undo something that ran at
# `bad_at`, restore to `bad_at - timedelta(seconds=1)`.
#
# ## 5. ElastiCache: a cache, a session store, a leaderboard
#
# An ElastiCache cluster's endpoint speaks Redis's protocol; the standard `redis` client talks to
# it. Expiries run on the lab clock.

# %%
ec = lab.client("elasticache")
ec.create_cache_cluster(
    CacheClusterId="shop-cache", Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1
)
node = ec.describe_cache_clusters(CacheClusterId="shop-cache", ShowCacheNodeInfo=True)
node_endpoint = node["CacheClusters"][0]["CacheNodes"][0]["Endpoint"]
cache = redis.Redis(
    host=node_endpoint["Address"], port=node_endpoint["Port"], decode_responses=True
)
print(cache.ping(), fact("elasticache.default_maxmemory_policy"))

# %% [markdown]
# **Cache-aside (lazy loading)**: read the cache; on a miss read the database and fill the
# cache with a TTL. Only what is read gets cached, and a change made elsewhere shows after at
# most the TTL. **Write-through**: every write updates the database *and* the cache, so the
# cache is fresh for writes made through your code (and holds data nobody may read).


# %%
def total_cache_aside(order_id):
    key = f"order:{order_id}:total"
    cached = cache.get(key)
    if cached is not None:
        return int(cached), "hit"
    total = query(primary, "SELECT total_cents FROM orders WHERE id = %s", order_id)[0][0]
    cache.set(key, total, ex=60)
    return total, "miss: read the database"


def set_total_write_through(order_id, cents):
    query(primary, "UPDATE orders SET total_cents = %s WHERE id = %s", cents, order_id)
    cache.set(f"order:{order_id}:total", cents, ex=60)


print(total_cache_aside(1), total_cache_aside(1))
query(primary, "UPDATE orders SET total_cents = 1300 WHERE id = 1")  # a change made elsewhere
print("stale until the TTL:", total_cache_aside(1))
lab.clock.advance(61)
print("after the TTL:", total_cache_aside(1))
set_total_write_through(1, 1400)
print("written through:", total_cache_aside(1))

# %% [markdown]
# A **session store** is a hash per session with a TTL that each request renews; a
# **leaderboard** is a sorted set, whose rank and top N Redis answers at once. Several steps
# that must not interleave with other clients' (count a hit and start its window's TTL, for a
# rate limiter) go in a **Lua script**, which Redis runs as one command (`cache.eval(...)`, or
# `cache.register_script(...)`).

# %%
cache.hset("session:s-1", mapping={"user": "ana", "cart": "2 items"})
cache.expire("session:s-1", 1800)
lab.clock.advance(1799)
print(cache.hgetall("session:s-1"), cache.ttl("session:s-1"))
lab.clock.advance(2)
print("30 minutes without a request:", cache.hgetall("session:s-1"))

cache.zadd("leaderboard", {"ana": 120, "ben": 300, "cai": 200})
cache.zincrby("leaderboard", 150, "ana")
print(
    cache.zrevrange("leaderboard", 0, 2, withscores=True),
    "cai is #",
    cache.zrevrank("leaderboard", "cai") + 1,
)

# %%
lab.cache_view("shop-cache", hold=True)  # keys, the TTL each has left, hits and misses

# %% [markdown]
# **ElastiCache needs code changes; DAX does not.** Everything above is code you write: where to
# look first, what to store, when to expire or delete. DAX is a cache that speaks DynamoDB's own
# API: you swap the client and keep every call (lesson 06). But DAX caches only DynamoDB's
# reads; ElastiCache caches anything, from any source (an RDS query, a computed leaderboard).

# %%
print(fact("dax.elasticache_use"))

# %% [markdown]
# ## 6. RDS Proxy: Lambda at high concurrency
#
# Lambda scales by running more **execution environments**, and each one that keeps a database
# connection holds it for as long as it lives. A database takes only `max_connections` (for RDS
# for PostgreSQL, by default `LEAST(memory / rds.max_connections_divisor, 5000)`: 112 on a
# db.t3.micro); past it, PostgreSQL refuses with "too many clients". **RDS Proxy** sits between:
# clients connect to the proxy, which lends a small pool of database connections (at most
# `MaxConnectionsPercent` of `max_connections`) to one client transaction at a time. A proxy is
# **never public**: only code in its VPC reaches it. With **IAM authentication** a function
# logs in with a 15-minute token from `generate_db_auth_token` and holds no password; the token
# is signed with the function's credentials, its **execution role**'s, so that role must be
# allowed `rds-db:connect` on the proxy's database user. The proxy itself logs in to the
# database with a Secrets Manager secret.
#
# Below, a database that takes 20 connections, and a burst of 30 invocations at once, first
# straight to the instance, then through a proxy. (On AWS the token goes over TLS, which the
# proxy then requires; the sandbox's endpoints speak no TLS.)

# %%
print(fact("rds.max_connections_divisor"))
print(fact("rds.proxy_publicly_accessible"))
ec2 = lab.client("ec2")
vpc_id = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
subnet_ids = [
    ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=zone)["Subnet"][
        "SubnetId"
    ]
    for i, zone in enumerate(["us-east-1a", "us-east-1b"])
]
rds.create_db_parameter_group(
    DBParameterGroupName="few-connections",
    DBParameterGroupFamily="postgres16",
    Description="a small max_connections, to see it run out",
)
rds.modify_db_parameter_group(
    DBParameterGroupName="few-connections",
    Parameters=[
        {
            "ParameterName": "max_connections",
            "ParameterValue": "20",
            "ApplyMethod": "pending-reboot",
        }
    ],
)
burst_db = rds.create_db_instance(
    DBInstanceIdentifier="orders-db",
    Engine="postgres",
    DBInstanceClass="db.t3.micro",
    AllocatedStorage=20,
    MasterUsername="shopadmin",
    MasterUserPassword="correct-horse-1",
    DBName="shop",
    DBParameterGroupName="few-connections",
)["DBInstance"]
secret_arn = lab.client("secretsmanager").create_secret(
    Name="orders-db/shopadmin",
    SecretString=json.dumps({"username": "shopadmin", "password": "correct-horse-1"}),
)["ARN"]
proxy = rds.create_db_proxy(
    DBProxyName="orders-proxy",
    EngineFamily="POSTGRESQL",
    Auth=[{"AuthScheme": "SECRETS", "SecretArn": secret_arn, "IAMAuth": "REQUIRED"}],
    RoleArn="arn:aws:iam::123456789012:role/proxy-reads-secret",
    VpcSubnetIds=subnet_ids,
)["DBProxy"]
rds.register_db_proxy_targets(DBProxyName="orders-proxy", DBInstanceIdentifiers=["orders-db"])
print(proxy["Endpoint"])

# %% [markdown]
# One handler for both functions: a connection opened on the environment's first invocation
# and kept (outside the handler's work, as AWS recommends), with a token when it talks to the
# proxy and the password when it talks to the instance.

# %%
_conn = None


def count_sessions(event, context):
    global _conn
    if _conn is None:
        host = os.environ["DB_HOST"]
        password = os.environ.get("DB_PASSWORD") or boto3.client("rds").generate_db_auth_token(
            DBHostname=host, Port=5432, DBUsername="shopadmin"
        )
        _conn = pg8000.connect(
            host=host, port=5432, user="shopadmin", password=password, database="shop"
        )
    cursor = _conn.cursor()
    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = 'shopadmin'")
    sessions = cursor.fetchone()[0]
    _conn.commit()
    return {"database_sessions": sessions}


in_vpc = {"SubnetIds": subnet_ids, "SecurityGroupIds": []}
for name, variables in [
    ("direct", {"DB_HOST": burst_db["Endpoint"]["Address"], "DB_PASSWORD": "correct-horse-1"}),
    ("pooled", {"DB_HOST": proxy["Endpoint"]}),
]:
    lab.deploy_function(count_sessions, name, environment=variables, constants={"_conn": None})
    lab.client("lambda").update_function_configuration(FunctionName=name, VpcConfig=in_vpc)

# The functions' role may connect as shopadmin through this proxy (its resource id ends its ARN).
role = lab.client("lambda").get_function(FunctionName="pooled")["Configuration"]["Role"]
lab.client("iam").put_role_policy(
    RoleName=role.split("/")[-1],
    PolicyName="connect-through-orders-proxy",
    PolicyDocument=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "rds-db:connect",
                    "Resource": "arn:aws:rds-db:us-east-1:123456789012:dbuser:"
                    + proxy["DBProxyArn"].split(":")[-1]
                    + "/shopadmin",
                }
            ],
        }
    ),
)

pooled = concurrent_invocations(lab.sandbox, "pooled", 30)
pool = pool_of(lab.sandbox.backend("rds").db_proxies["orders-proxy"])
print(f"through the proxy: {pooled.succeeded} of 30 worked,")
print(
    f"their {pool.stats.clients} client connections shared "
    f"{pool.stats.server_connections_max} database connection(s)"
)

# %% [markdown]
# The same burst with each environment keeping its own connection to the instance: the
# database refuses once its 20 slots (less the 3 PostgreSQL keeps for superusers, and the
# proxy's) are taken.

# %%
direct = concurrent_invocations(lab.sandbox, "direct", 30)
refusal = re.search(r"'M': '([^']*)'", direct.errors[0])  # PostgreSQL's message, in the error
print(f"straight to the instance: {direct.succeeded} of 30 worked; then:", refusal.group(1))

# %% [markdown]
# The proxy refuses what it should: the notebook is outside the VPC (as your laptop is), and
# even inside it, a password is no longer a way in.

# %%
token = rds.generate_db_auth_token(proxy["Endpoint"], 5432, "shopadmin")
try:
    pg8000.connect(host=proxy["Endpoint"], user="shopadmin", password=token, database="shop")
except pg8000.InterfaceError:
    print("a good token, from the notebook: refused,", pool.stats.refused[-1])
with inside_vpc(vpc_id):  # as code on an EC2 instance in the VPC would connect
    try:
        pg8000.connect(
            host=proxy["Endpoint"], user="shopadmin", password="correct-horse-1", database="shop"
        )
    except pg8000.DatabaseError as refused:
        print("the password, inside the VPC, refused:", refused.args[0]["M"])

# %% [markdown]
# ## 7. Aurora global database: a second Region
#
# An **Aurora global database** is one primary cluster that takes writes and up to
# `aurora.global_secondary_regions_max` read-only **secondary** clusters in other Regions. The
# storage layer ships the primary's log to them, typically in under a second: readers far away
# read locally, and a secondary can take over if the primary's Region fails. In the sandbox the
# secondary replays the primary's real PostgreSQL log `aurora.global_replication_lag_sandbox`
# seconds of lab time late. (A secondary is created with no master user: it gets the primary's
# data, users included.)

# %%
print(fact("aurora.global_replication_lag_typical"))
home = rds.create_db_cluster(
    DBClusterIdentifier="catalog",
    Engine="aurora-postgresql",
    MasterUsername="shopadmin",
    MasterUserPassword="correct-horse-1",
    DatabaseName="shop",
)["DBCluster"]
rds.create_db_instance(
    DBInstanceIdentifier="catalog-1",
    DBClusterIdentifier="catalog",
    Engine="aurora-postgresql",
    DBInstanceClass="db.r6g.large",
)
catalog = pg8000.connect(
    host=home["Endpoint"], user="shopadmin", password="correct-horse-1", database="shop"
)
query(catalog, "CREATE TABLE products (sku TEXT PRIMARY KEY, price_cents INTEGER)")
query(catalog, "INSERT INTO products VALUES ('tee', 1500)")
rds.create_global_cluster(
    GlobalClusterIdentifier="catalog-global", SourceDBClusterIdentifier=home["DBClusterArn"]
)
rds_eu = lab.client("rds", region_name="eu-west-1")
away = rds_eu.create_db_cluster(
    DBClusterIdentifier="catalog-eu",
    Engine="aurora-postgresql",
    GlobalClusterIdentifier="catalog-global",
)["DBCluster"]
rds_eu.create_db_instance(
    DBInstanceIdentifier="catalog-eu-1",
    DBClusterIdentifier="catalog-eu",
    Engine="aurora-postgresql",
    DBInstanceClass="db.r6g.large",
)
reader_eu = pg8000.connect(
    host=away["ReaderEndpoint"], user="shopadmin", password="correct-horse-1", database="shop"
)
query(catalog, "UPDATE products SET price_cents = 1200 WHERE sku = 'tee'")
print("in Ireland, the same instant:", query(reader_eu, "SELECT price_cents FROM products"))
lab.clock.advance(1)
print("one lab second later:", query(reader_eu, "SELECT price_cents FROM products"))

# %% [markdown]
# **Switchover** (`switchover_global_cluster`, planned: a Region rotation) first gives the
# secondary every committed write, then promotes it: it becomes the writer and the former
# primary a read-only secondary. **Failover** (`failover_global_cluster`) is for a primary
# Region that is down: with `AllowDataLoss=True` the secondary is promoted with what it has
# replicated, losing what the lag had not shipped yet; without it, it is a switchover. After a
# switchover the former primary replicates from the new one, as any secondary does.

# %%
print(fact("aurora.global_switchover_loses_data"))
query(catalog, "INSERT INTO products VALUES ('cap', 900)")  # committed, not yet replicated
rds.switchover_global_cluster(
    GlobalClusterIdentifier="catalog-global", TargetDbClusterIdentifier=away["DBClusterArn"]
)
for member in rds.describe_global_clusters()["GlobalClusters"][0]["GlobalClusterMembers"]:
    print(member["DBClusterArn"].split(":")[3], "writer" if member["IsWriter"] else "reader")
writer_eu = pg8000.connect(
    host=away["Endpoint"], user="shopadmin", password="correct-horse-1", database="shop"
)
print("the new writer has every commit:", query(writer_eu, "SELECT sku FROM products ORDER BY sku"))

# %% [markdown]
# ## 8. Which database?
#
# Each AWS database has a data model, and the model decides which operations are cheap. The
# course keeps a **working model** of each, with real engines where one embeds faithfully:

# %%
kv = engines.KeyValueEngine()
kv.create_table("orders", "customer", "order_id")
kv.put("orders", {"customer": "ana", "order_id": "2026-12-07#1", "total": 1250})
print("DynamoDB Query on one partition key:", kv.query("orders", "ana"))
try:
    kv.join("orders", "customers", on="customer")
except engines.EngineRefused as refusal:
    print(refusal.message)

cql = engines.CqlEngine()
cql.execute(
    "CREATE TABLE readings (device text, day text, at int, value double, "
    "PRIMARY KEY ((device, day), at))"
)
cql.execute("INSERT INTO readings (device, day, at, value) VALUES ('d1', '2026-12-07', 1, 0.5)")
print(cql.execute("SELECT * FROM readings WHERE device = 'd1' AND day = '2026-12-07'"))
try:
    cql.execute("SELECT * FROM readings WHERE value > 0.1")
except engines.CqlInvalidRequest as refusal:
    print("Keyspaces:", refusal.reason)

graph = engines.GraphEngine()
for a, b in [("ana", "ben"), ("ben", "cai"), ("cai", "dan"), ("ana", "eve")]:
    graph.add_edge(a, "follows", b)
print("Neptune-like, 3 hops:", graph.V("ana").repeat_out("follows", 3).to_list())

docs = engines.document_store()
docs.products.insert_one({"sku": "tee", "variants": [{"size": "M", "color": "red"}]})
print("DocumentDB (MongoDB API):", docs.products.find_one({"variants.size": "M"})["sku"])

# %% [markdown]
# The graph engine's steps are named as Gremlin's, but it is a small traversal over `networkx`,
# not Gremlin, openCypher or SPARQL (Neptune's languages). **QLDB** is not among the choices any
# more:

# %%
print(fact("qldb.end_of_support"))
print(fact("dbchoice.qldb_recommendation"))

# %% [markdown]
# A **workload** is a stream of operations with requirements. Run the course's workloads
# against a first guess, and read what broke:

# %%
for workload in list(WORKLOADS.values())[:3]:
    print(f"- {workload.name}: {workload.describe()}\n")

which_db({"orders": "dynamodb", "sales_analytics": "rds", "social_graph": "aurora"})

# %% [markdown]
# A join on DynamoDB, an ad-hoc scan of terabytes on a transactional database, a three-hop
# traversal as self-joins: each breaks for the reason it would in production. The exercise asks
# you to place all ten workloads.
#
# ## Summary
#
# - RDS runs a real engine (here PostgreSQL, so PostgreSQL's SQL); you connect to its endpoint
#   with an ordinary driver.
# - Read replicas are asynchronous: reports go there, a user's own fresh data comes from the
#   primary.
# - Multi-AZ keeps a synchronous standby: a failover loses no commit but drops connections for a
#   minute or two; retry on a new connection, idempotently.
# - Point-in-time restore creates a new instance at any second of the backup window; backups
#   must be on before the accident.
# - ElastiCache (Redis) caches anything with code you write: cache-aside with a TTL, or
#   write-through; sessions as hashes with TTLs, leaderboards as sorted sets. DAX caches
#   DynamoDB with no code change.
# - Lambda at high concurrency runs out of database connections; RDS Proxy, reachable only in
#   its VPC, shares a small pool among every invocation, and with IAM authentication the
#   function logs in with a short-lived token instead of a password.
# - An Aurora global database replicates to other Regions in under a second; a switchover
#   promotes a secondary without losing a commit, a failover with data loss does not wait.
# - Choose a database by its data model: run the workload's operations against it.
