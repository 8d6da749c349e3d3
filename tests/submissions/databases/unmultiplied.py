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
# Plausible mistakes: revenue summed over prices without the quantity, a retry that keeps the
# dropped connection, a restore to the migration's own second, no cache at all ("PostgreSQL
# is fast"), a proxy that takes the secret's password (no IAM authentication), and a
# three-hop graph walked as self-joins in Aurora.

# %%
import pg8000

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
    cur = primary.cursor()
    cur.execute("SELECT id FROM orders WHERE customer = %s", (customer,))
    ids = [r[0] for r in cur.fetchall()]
    primary.commit()
    return ids


def sales_report(primary, replica):
    cur = replica.cursor()
    cur.execute("SELECT sku, SUM(price_cents) FROM lines GROUP BY sku")
    report = dict(cur.fetchall())
    replica.commit()
    return report


# %%
def save_order(connect, clock, order):
    conn = connect()
    for attempt in range(5):
        try:
            conn.cursor().execute(
                "INSERT INTO orders VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (order["order_id"], order["customer"], order["total_cents"]),
            )
            conn.commit()
            return
        except pg8000.InterfaceError:
            clock.advance(30)
    raise RuntimeError(f"order {order['order_id']} not saved after 5 tries")


# %%
def protect(rds, instance_id):
    rds.modify_db_instance(
        DBInstanceIdentifier=instance_id, BackupRetentionPeriod=7, ApplyImmediately=True
    )


def recover(rds, instance_id, bad_at):
    rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=instance_id,
        TargetDBInstanceIdentifier="ledger-fixed",
        RestoreTime=bad_at,
    )
    return "ledger-fixed"


# %%
def get_price(db, cache, sku):
    cur = db.cursor()
    cur.execute("SELECT price_cents FROM products WHERE sku = %s", (sku,))
    cents = cur.fetchone()[0]
    db.commit()
    return cents


def set_price(db, cache, sku, cents):
    cur = db.cursor()
    cur.execute("UPDATE products SET price_cents = %s WHERE sku = %s", (cents, sku))
    db.commit()


# %%
import json
import os

_conn = None


def order_handler(event, context):
    global _conn
    if _conn is None:
        _conn = pg8000.connect(
            host=os.environ["DB_HOST"],
            user=os.environ["DB_USER"],
            password=os.environ["DB_PASSWORD"],
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
    # Mistake: the proxy takes the secret's password (IAM authentication left DISABLED), and
    # the function carries that password.
    rds = aws.client("rds")
    proxy = rds.create_db_proxy(
        DBProxyName="orders-proxy",
        EngineFamily="POSTGRESQL",
        Auth=[{"AuthScheme": "SECRETS", "SecretArn": db["secret_arn"], "IAMAuth": "DISABLED"}],
        RoleArn=db["proxy_role_arn"],
        VpcSubnetIds=db["subnet_ids"],
    )["DBProxy"]
    rds.register_db_proxy_targets(
        DBProxyName="orders-proxy", DBInstanceIdentifiers=[db["instance_id"]]
    )
    secret = json.loads(
        aws.client("secretsmanager").get_secret_value(SecretId=db["secret_arn"])["SecretString"]
    )
    aws.deploy_function(
        order_handler,
        "orders",
        environment={
            "DB_HOST": proxy["Endpoint"],
            "DB_USER": secret["username"],
            "DB_PASSWORD": secret["password"],
            "DB_NAME": db["database"],
        },
        constants={"_conn": None},
    )
    aws.client("lambda").update_function_configuration(
        FunctionName="orders",
        VpcConfig={"SubnetIds": db["subnet_ids"], "SecurityGroupIds": [db["security_group_id"]]},
    )
    return "orders"


# %%
assignment = {
    "orders": "aurora",
    "sales_analytics": "redshift",
    "social_graph": "aurora",
    "leaderboard": "elasticache",
    "sensor_metrics": "timestream",
    "product_catalog": "documentdb",
    "product_search": "opensearch",
    "user_uploads": "s3",
    "audit_archive": "S3 Glacier Deep Archive",
    "payments_ledger": "aurora",
}
