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
# Plausible mistakes: orders never committed (the same connection sees them, nobody else
# does), a retry loop that never waits, a restore to two minutes before the migration, a
# 2-second cache TTL, a new connection per query never closed, and QLDB for the ledger.

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
    return order_id


def my_orders(primary, replica, customer):
    cur = primary.cursor()
    cur.execute("SELECT id FROM orders WHERE customer = %s", (customer,))
    return [r[0] for r in cur.fetchall()]


def sales_report(primary, replica):
    cur = replica.cursor()
    cur.execute("SELECT sku, SUM(qty * price_cents) FROM lines GROUP BY sku")
    report = dict(cur.fetchall())
    replica.commit()
    return report


# %%
def save_order(connect, clock, order):
    while True:
        try:
            conn = connect()
            conn.cursor().execute(
                "INSERT INTO orders VALUES (%s, %s, %s) ON CONFLICT (order_id) DO NOTHING",
                (order["order_id"], order["customer"], order["total_cents"]),
            )
            conn.commit()
            return
        except Exception:
            continue


# %%
def protect(rds, instance_id):
    rds.modify_db_instance(
        DBInstanceIdentifier=instance_id, BackupRetentionPeriod=7, ApplyImmediately=True
    )


def recover(rds, instance_id, bad_at):
    rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=instance_id,
        TargetDBInstanceIdentifier="ledger-restored",
        RestoreTime=bad_at - timedelta(minutes=2),
    )
    return "ledger-restored"


# %%
def get_price(db, cache, sku):
    cached = cache.get(f"price:{sku}")
    if cached is not None:
        return int(cached)
    cur = db.cursor()
    cur.execute("SELECT price_cents FROM products WHERE sku = %s", (sku,))
    cents = cur.fetchone()[0]
    db.commit()
    cache.set(f"price:{sku}", cents, ex=2)
    return cents


def set_price(db, cache, sku, cents):
    cur = db.cursor()
    cur.execute("UPDATE products SET price_cents = %s WHERE sku = %s", (cents, sku))
    db.commit()
    cache.delete(f"price:{sku}")


# %%
import json
import os

import boto3
import pg8000


def new_connection():
    host = os.environ["DB_HOST"]
    token = boto3.client("rds").generate_db_auth_token(
        DBHostname=host, Port=5432, DBUsername=os.environ["DB_USER"]
    )
    return pg8000.connect(
        host=host, user=os.environ["DB_USER"], password=token, database=os.environ["DB_NAME"]
    )


def order_handler(event, context):
    # Mistake: a new connection for each query, never closed.
    reader = new_connection()
    cur = reader.cursor()
    cur.execute("SELECT count(*) FROM orders WHERE order_id = %s", (event["order_id"],))
    seen = cur.fetchone()[0]
    reader.commit()
    if seen:
        return "duplicate"
    writer = new_connection()
    writer.cursor().execute(
        "INSERT INTO orders VALUES (%s, %s, %s)",
        (event["order_id"], event["customer"], event["total_cents"]),
    )
    writer.commit()
    return "saved"


def build_proxy(aws, db):
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
    aws.deploy_function(
        order_handler,
        "orders",
        environment={
            "DB_HOST": proxy["Endpoint"],
            "DB_USER": db["user"],
            "DB_NAME": db["database"],
        },
        helpers=[new_connection],
    )
    aws.client("lambda").update_function_configuration(
        FunctionName="orders",
        VpcConfig={"SubnetIds": db["subnet_ids"], "SecurityGroupIds": [db["security_group_id"]]},
    )
    role = aws.client("lambda").get_function(FunctionName="orders")["Configuration"]["Role"]
    proxy_id = proxy["DBProxyArn"].split(":")[-1]
    aws.client("iam").put_role_policy(
        RoleName=role.rsplit("/", 1)[-1],
        PolicyName="connect",
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
    return "orders"


# %%
assignment = {
    "orders": "aurora",
    "sales_analytics": "redshift",
    "social_graph": "neptune",
    "leaderboard": "elasticache",
    "sensor_metrics": "timestream",
    "product_catalog": "documentdb",
    "product_search": "opensearch",
    "user_uploads": "s3",
    "audit_archive": "S3 Glacier Deep Archive",
    "payments_ledger": "qldb",
}
