# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Databases exercise: orders on RDS, failover, recovery, a cache, and the right database
#
# A shop keeps its orders in **Amazon RDS for PostgreSQL**. You write its schema and queries
# with a **read replica** for the reports, make its order writer survive a **Multi-AZ failover**,
# undo a bad migration with **point-in-time restore**, put **ElastiCache** in front of the price
# lookups, keep a burst of **Lambda** invocations working through **RDS Proxy**, and choose a
# **database for each of ten workloads**.
#
# The SQL is PostgreSQL's (the sandbox runs a real PostgreSQL behind every RDS endpoint); your
# code talks to it with the `pg8000` driver (DB-API 2.0: `conn.cursor()`, `cursor.execute(sql,
# params)` with `%s` placeholders, `conn.commit()`).
#
# Write your code where it says `# YOUR CODE HERE` (replace the `...`), run the cell, then run
# the check below it. Each check calls your functions in an empty sandbox of its own, with a lab
# clock of its own, and tells you what it found.

# %%
import contextlib
import json
import os
from datetime import timedelta

import boto3
import pg8000

import labkit
from labkit.facts import fact
from labkit.services.dbchoice.sim_workloads import WORKLOADS
from labkit.services.dbchoice.view import which_db

lab = labkit.start("databases")
print(fact("rds.multi_az_failover_seconds"))

# %% [markdown]
# ## Task 1: orders, and a read replica for the reports
#
# Write four functions. Every `conn`, `primary` and `replica` is a pg8000 connection: `primary`
# to the instance, `replica` to its read replica, which replays the primary's log a few seconds
# of lab time late.
#
# - `create_schema(conn)`: the tables for orders and their lines;
# - `place_order(conn, customer, items)`: one order of `items` (a list of `{"sku": ..., "qty":
#   ..., "price_cents": ...}`) in one transaction; return the order's id;
# - `my_orders(primary, replica, customer)`: the ids of the customer's orders, for the page they
#   see **right after ordering** (it must list the order they just placed);
# - `sales_report(primary, replica)`: revenue in cents by SKU, `{sku: cents}`, for the finance
#   team, which must **not load the primary**.


# %%
def create_schema(conn):
    """Create the order tables."""
    ### BEGIN SOLUTION
    cursor = conn.cursor()
    cursor.execute(
        "CREATE TABLE orders (id SERIAL PRIMARY KEY, customer TEXT NOT NULL, "
        "placed_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    cursor.execute(
        "CREATE TABLE order_lines (order_id INTEGER NOT NULL REFERENCES orders (id), "
        "sku TEXT NOT NULL, qty INTEGER NOT NULL CHECK (qty > 0), "
        "price_cents INTEGER NOT NULL)"
    )
    conn.commit()
    ### END SOLUTION


def place_order(conn, customer, items):
    """Insert the order and its lines in one transaction; return the order's id."""
    ### BEGIN SOLUTION
    cursor = conn.cursor()
    cursor.execute("INSERT INTO orders (customer) VALUES (%s) RETURNING id", (customer,))
    order_id = cursor.fetchone()[0]
    for item in items:
        cursor.execute(
            "INSERT INTO order_lines (order_id, sku, qty, price_cents) VALUES (%s, %s, %s, %s)",
            (order_id, item["sku"], item["qty"], item["price_cents"]),
        )
    conn.commit()
    return order_id
    ### END SOLUTION


def my_orders(primary, replica, customer):
    """The ids of the customer's orders, including one placed a moment ago."""
    ### BEGIN SOLUTION
    # The replica lags: a customer's own orders come from the primary.
    cursor = primary.cursor()
    cursor.execute("SELECT id FROM orders WHERE customer = %s ORDER BY id", (customer,))
    ids = [row[0] for row in cursor.fetchall()]
    primary.commit()
    return ids
    ### END SOLUTION


def sales_report(primary, replica):
    """Revenue in cents by SKU, read from the replica."""
    ### BEGIN SOLUTION
    cursor = replica.cursor()
    cursor.execute("SELECT sku, SUM(qty * price_cents) FROM order_lines GROUP BY sku")
    report = dict(cursor.fetchall())
    replica.commit()
    return report
    ### END SOLUTION


# %%
lab.check("orders_replica")

# %% [markdown]
# ## Task 2: an order writer that survives a failover
#
# The orders instance is Multi-AZ. A failover drops every open connection, and the endpoint
# refuses new ones until it completes (about two minutes, `rds.multi_az_failover_seconds`).
# Write `save_order(connect, clock, order)`:
#
# - `connect()` opens a **new** pg8000 connection to the endpoint (it raises while the endpoint
#   does not answer);
# - `clock` is the lab clock: to wait, call `clock.advance(seconds)` (nothing sleeps here);
# - `order` is `{"order_id": ..., "customer": ..., "total_cents": ...}`, to insert into the
#   existing table `orders (order_id TEXT PRIMARY KEY, customer TEXT, total_cents INTEGER)`.
#
# Return once the order is committed. A dropped connection shows as `pg8000.InterfaceError`,
# `pg8000.DatabaseError`, or a socket's `ConnectionResetError` (an `OSError`) that pg8000 can
# let through. The check plays two failovers in the middle of a save: one
# just **after** the server committed (the commit raises, though the order is in), one just
# **before**. Every order must end up in the table exactly once.


# %%
def save_order(connect, clock, order):
    """Commit the order exactly once, whatever failover strikes."""
    ### BEGIN SOLUTION
    for _attempt in range(100):
        try:
            conn = connect()
        except (pg8000.InterfaceError, pg8000.DatabaseError, OSError):
            clock.advance(5)  # the endpoint is failing over: wait, then try again
            continue
        try:
            cursor = conn.cursor()
            cursor.execute(
                "INSERT INTO orders (order_id, customer, total_cents) VALUES (%s, %s, %s) "
                "ON CONFLICT (order_id) DO NOTHING",  # a retry after a lost commit is a no-op
                (order["order_id"], order["customer"], order["total_cents"]),
            )
            conn.commit()
            return
        except (pg8000.InterfaceError, pg8000.DatabaseError, OSError):
            clock.advance(5)
        finally:
            with contextlib.suppress(Exception):
                conn.close()  # a dropped connection may fail to close: it is gone anyway
    raise RuntimeError(f"could not save {order['order_id']}")
    ### END SOLUTION


# %%
lab.check("failover")

# %% [markdown]
# ## Task 3: undo a bad migration
#
# Write `protect(rds, instance_id)` (what the instance needs **before** anything goes wrong)
# and `recover(rds, instance_id, bad_at)`: restore the database as it was just before the
# migration that ran at `bad_at` (a UTC `datetime`) into a **new** instance, and return it (its
# identifier, or the API's answer). Automated backups keep 1 to
# `rds.backup_retention_max` days; a restore replays the log to the second you ask for, and
# writes made during that second are included.

# %%
print(fact("rds.backup_retention_max"))


# %%
def protect(rds, instance_id):
    """Turn on what point-in-time restore needs."""
    ### BEGIN SOLUTION
    rds.modify_db_instance(
        DBInstanceIdentifier=instance_id, BackupRetentionPeriod=7, ApplyImmediately=True
    )
    ### END SOLUTION


def recover(rds, instance_id, bad_at):
    """Restore to the second before `bad_at` into a new instance; return it."""
    ### BEGIN SOLUTION
    target = f"{instance_id}-restored"
    rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=instance_id,
        TargetDBInstanceIdentifier=target,
        RestoreTime=bad_at - timedelta(seconds=1),
    )
    return target
    ### END SOLUTION


# %%
lab.check("pitr")

# %% [markdown]
# ## Task 4: a cache in front of the prices
#
# Price lookups hammer the catalog database. Write `get_price(db, cache, sku)` (the price in
# cents) and `set_price(db, cache, sku, cents)` (a merchant changes it). `db` is a pg8000
# connection with the table `products (sku TEXT PRIMARY KEY, price_cents INTEGER)`; `cache` is a
# `redis.Redis` client connected to an ElastiCache cluster. Prices also change **in the database
# alone** (a pricing job writes them straight to the table). Requirements: no price returned may
# be staler than **60 seconds**, and at most **15 %** of the lookups may reach the database.
# (ElastiCache needs this code; DAX, for DynamoDB, would need none.)


# %%
def get_price(db, cache, sku):
    """The product's price: from the cache, or from the database and then cached."""
    ### BEGIN SOLUTION
    key = f"price:{sku}"
    cached = cache.get(key)
    if cached is not None:
        return int(cached)
    cursor = db.cursor()
    cursor.execute("SELECT price_cents FROM products WHERE sku = %s", (sku,))
    cents = cursor.fetchone()[0]
    db.commit()
    cache.set(key, cents, ex=60)  # the TTL bounds staleness after a change made elsewhere
    return cents
    ### END SOLUTION


def set_price(db, cache, sku, cents):
    """Change the price in the database, and drop the cached copy."""
    ### BEGIN SOLUTION
    cursor = db.cursor()
    cursor.execute("UPDATE products SET price_cents = %s WHERE sku = %s", (cents, sku))
    db.commit()
    cache.delete(f"price:{sku}")
    ### END SOLUTION


# %%
lab.check("cache")

# %% [markdown]
# ## Task 5: a Lambda function at high concurrency, through RDS Proxy
#
# A burst of orders arrives as many Lambda invocations at once, more than the database takes
# connections (`db["max_connections"]`). Write `build_proxy(aws, db)` and the handler it deploys.
# `aws` makes clients and deploys functions as `lab` does (`aws.client(...)`,
# `aws.deploy_function(handler, name, environment={...}, constants={...})`). `db` gives what
# exists: `instance_id`, `secret_arn` (the database user `user`'s password, in Secrets
# Manager), `proxy_role_arn` (a role the proxy may read the secret with), `vpc_id`,
# `subnet_ids`, `security_group_id`, `user`, `database`, `max_connections`.
#
# - Create an **RDS Proxy** in front of the instance that requires **IAM authentication** (no
#   password in the function; a token from `generate_db_auth_token`, which lasts
#   `rds.iam_auth_token_lifetime`).
# - Deploy a function whose handler inserts its event, `{"order_id": ..., "customer": ...,
#   "total_cents": ...}`, into the table `orders (order_id, customer, total_cents)` through the
#   proxy, and put it **in the VPC** (RDS Proxy is never public).
# - Allow the function's **execution role** `rds-db:connect` on the proxy's database user,
#   `arn:aws:rds-db:<region>:<account>:dbuser:<proxy resource id>/<user>` (the resource id ends
#   the proxy's `DBProxyArn`): a function's code signs with its role, so its token is the role's.
# - Each execution environment uses at most one connection: opened once and reused, or opened
#   and closed within the invocation.
#
# Return the function (its name, ARN, or the API's answer). The check runs more invocations at
# once than `max_connections`, then a few in one warm environment, and tries to get into the
# proxy from outside the VPC, with the secret's password, and with tokens it should refuse.

# %%
print(fact("rds.iam_auth_token_lifetime"))

# %%
_connection = None  # one per execution environment, kept between invocations


def place_order_handler(event, context):
    """Insert the event's order through the proxy, on this environment's one connection."""
    ### BEGIN SOLUTION
    global _connection
    if _connection is None:  # a cold start: log in with a fresh IAM token
        host, user = os.environ["DB_HOST"], os.environ["DB_USER"]
        token = boto3.client("rds").generate_db_auth_token(
            DBHostname=host, Port=5432, DBUsername=user
        )
        _connection = pg8000.connect(
            host=host, port=5432, user=user, password=token, database=os.environ["DB_NAME"]
        )
    cursor = _connection.cursor()
    cursor.execute(
        "INSERT INTO orders (order_id, customer, total_cents) VALUES (%s, %s, %s)",
        (event["order_id"], event["customer"], event["total_cents"]),
    )
    _connection.commit()  # the proxy lends a database connection for one transaction
    return {"order_id": event["order_id"]}
    ### END SOLUTION


def build_proxy(aws, db):
    """An RDS Proxy with IAM authentication, and the order function in the VPC behind it."""
    ### BEGIN SOLUTION
    rds = aws.client("rds")
    proxy = rds.create_db_proxy(
        DBProxyName="orders-proxy",
        EngineFamily="POSTGRESQL",
        Auth=[{"AuthScheme": "SECRETS", "SecretArn": db["secret_arn"], "IAMAuth": "REQUIRED"}],
        RoleArn=db["proxy_role_arn"],
        VpcSubnetIds=db["subnet_ids"],
        VpcSecurityGroupIds=[db["security_group_id"]],
    )["DBProxy"]
    rds.register_db_proxy_targets(
        DBProxyName="orders-proxy", DBInstanceIdentifiers=[db["instance_id"]]
    )
    aws.deploy_function(
        place_order_handler,
        "place-order",
        environment={
            "DB_HOST": proxy["Endpoint"],
            "DB_USER": db["user"],
            "DB_NAME": db["database"],
        },
        constants={"_connection": None},
    )
    aws.client("lambda").update_function_configuration(
        FunctionName="place-order",
        VpcConfig={"SubnetIds": db["subnet_ids"], "SecurityGroupIds": [db["security_group_id"]]},
    )
    role = aws.client("lambda").get_function(FunctionName="place-order")["Configuration"]["Role"]
    proxy_id = proxy["DBProxyArn"].rsplit(":", 1)[-1]
    aws.client("iam").put_role_policy(
        RoleName=role.rsplit("/", 1)[-1],
        PolicyName="connect-through-orders-proxy",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "rds-db:connect",
                        "Resource": f"arn:aws:rds-db:*:*:dbuser:{proxy_id}/{db['user']}",
                    }
                ],
            }
        ),
    )
    return "place-order"
    ### END SOLUTION


# %%
lab.check("proxy")

# %% [markdown]
# ## Task 6: a database for each workload
#
# Below are ten workloads, each with its operations and requirements. Give each a service:
# a name as AWS says it (`"aurora"`, `"Amazon DynamoDB"`, `"S3 Glacier Deep Archive"`), or with
# options (`("dynamodb", {"consistent_reads": True})`). The check runs every workload's
# operations against a model of the service you chose and reports what broke. `which_db(...)`
# shows the same report.

# %%
for workload in WORKLOADS.values():
    print(f"- {workload.name}: {workload.describe()}\n")

# %%
assignment = {}  # workload name -> service (or (service, {options}))
### BEGIN SOLUTION
assignment["orders"] = "aurora"
assignment["sales_analytics"] = "redshift"
assignment["social_graph"] = "neptune"
assignment["leaderboard"] = "elasticache"
assignment["sensor_metrics"] = "timestream"
assignment["product_catalog"] = "documentdb"
assignment["product_search"] = "opensearch"
assignment["user_uploads"] = "s3"
assignment["audit_archive"] = "S3 Glacier Deep Archive"
assignment["payments_ledger"] = "Aurora PostgreSQL"
### END SOLUTION
which_db(assignment)

# %%
lab.check("db_choice")

# %% [markdown]
# ## Your score

# %%
lab.score()

# %% [markdown]
# ## Summary
#
# - RDS runs the engine you chose (here PostgreSQL): SQL, joins, transactions. A read replica
#   replays the primary's log asynchronously: reports go there, a user's own just-written data
#   comes from the primary.
# - Multi-AZ keeps a synchronous standby: a failover loses no committed transaction, but drops
#   every connection and refuses new ones for a minute or two. Retry the whole transaction on a
#   new connection, after waiting, and make it idempotent: a commit can succeed unheard.
# - Point-in-time restore needs automated backups on beforehand and creates a new instance at
#   the second you choose (that second's writes included).
# - A cache-aside cache with a TTL bounds staleness even for changes made elsewhere; deleting
#   the entry on your own writes keeps them fresh at once. ElastiCache needs this code; DAX
#   does it for DynamoDB with no code change.
# - Lambda at high concurrency opens more connections than a database takes: RDS Proxy, inside
#   the VPC, lends a small pool to every invocation. With IAM authentication the function holds
#   no password, and one connection per execution environment is enough.
# - Each database has a data model: run a workload's operations against it before choosing.
