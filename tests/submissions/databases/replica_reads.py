# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: databases
#     role: exercise
# ---

# %% [markdown]
# Plausible mistakes: every read from the replica ("it is there to take reads"), an order
# writer with no retry, backups never turned on, a cache without a TTL (deleted on our own
# changes only), a function left outside the proxy's VPC, and DynamoDB for the relational orders.

# %%
from datetime import timedelta

import labkit

lab = labkit.start("databases")


# %%
def create_schema(conn):
    cur = conn.cursor()
    cur.execute("CREATE TABLE orders (id SERIAL PRIMARY KEY, customer TEXT)")
    cur.execute("CREATE TABLE lines (order_id INT, sku TEXT, qty INT, price_cents INT)")
    conn.commit()


def place_order(conn, customer, items):
    cur = conn.cursor()
    cur.execute("INSERT INTO orders (customer) VALUES (%s) RETURNING id", (customer,))
    order_id = cur.fetchone()[0]
    for i in items:
        cur.execute(
            "INSERT INTO lines VALUES (%s, %s, %s, %s)",
            (order_id, i["sku"], i["qty"], i["price_cents"]),
        )
    conn.commit()
    return order_id


def my_orders(primary, replica, customer):
    cur = replica.cursor()
    cur.execute("SELECT id FROM orders WHERE customer = %s", (customer,))
    ids = [r[0] for r in cur.fetchall()]
    replica.commit()
    return ids


def sales_report(primary, replica):
    cur = replica.cursor()
    cur.execute("SELECT sku, SUM(qty * price_cents) FROM lines GROUP BY sku")
    report = dict(cur.fetchall())
    replica.commit()
    return report


# %%
def save_order(connect, clock, order):
    conn = connect()
    conn.cursor().execute(
        "INSERT INTO orders VALUES (%s, %s, %s)",
        (order["order_id"], order["customer"], order["total_cents"]),
    )
    conn.commit()


# %%
def protect(rds, instance_id):
    rds.create_db_snapshot(DBInstanceIdentifier=instance_id, DBSnapshotIdentifier="safety")


def recover(rds, instance_id, bad_at):
    rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=instance_id,
        TargetDBInstanceIdentifier="ledger-2",
        RestoreTime=bad_at - timedelta(seconds=1),
    )
    return "ledger-2"


# %%
def get_price(db, cache, sku):
    if cache.exists(sku):
        return int(cache.get(sku))
    cur = db.cursor()
    cur.execute("SELECT price_cents FROM products WHERE sku = %s", (sku,))
    cents = cur.fetchone()[0]
    db.commit()
    cache.set(sku, cents)
    return cents


def set_price(db, cache, sku, cents):
    cur = db.cursor()
    cur.execute("UPDATE products SET price_cents = %s WHERE sku = %s", (cents, sku))
    db.commit()
    cache.delete(sku)


# %%
import os

import boto3
import pg8000

_conn = None


def order_handler(event, context):
    global _conn
    if _conn is None:
        token = boto3.client("rds").generate_db_auth_token(
            DBHostname=os.environ["DB_HOST"], Port=5432, DBUsername=os.environ["DB_USER"]
        )
        _conn = pg8000.connect(
            host=os.environ["DB_HOST"],
            user=os.environ["DB_USER"],
            password=token,
            database=os.environ["DB_NAME"],
        )
    cur = _conn.cursor()
    cur.execute(
        "INSERT INTO orders VALUES (%s, %s, %s)",
        (event["order_id"], event["customer"], event["total_cents"]),
    )
    _conn.commit()
    return event["order_id"]


def build_proxy(aws, db):
    # Mistake: the function is never put in the VPC ("Lambda reaches everything").
    rds = aws.client("rds")
    proxy = rds.create_db_proxy(
        DBProxyName="orders-proxy",
        EngineFamily="POSTGRESQL",
        Auth=[{"AuthScheme": "SECRETS", "SecretArn": db["secret_arn"], "IAMAuth": "REQUIRED"}],
        RoleArn=db["proxy_role_arn"],
        VpcSubnetIds=db["subnet_ids"],
    )["DBProxy"]
    rds.register_db_proxy_targets(
        DBProxyName="orders-proxy", DBInstanceIdentifiers=[db["instance_id"]]
    )
    return aws.deploy_function(
        order_handler,
        environment={
            "DB_HOST": proxy["Endpoint"],
            "DB_USER": db["user"],
            "DB_NAME": db["database"],
        },
        constants={"_conn": None},
    )


# %%
assignment = {
    "orders": "dynamodb",
    "sales_analytics": "redshift",
    "social_graph": "neptune",
    "leaderboard": "elasticache",
    "sensor_metrics": "timestream",
    "product_catalog": "documentdb",
    "product_search": "opensearch",
    "user_uploads": "s3",
    "audit_archive": "S3 Glacier Deep Archive",
    "payments_ledger": "aurora",
}
