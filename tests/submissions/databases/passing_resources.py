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
# Correct in yet another way: one table with the lines as JSONB, a retry that upserts, the
# restored instance's ARN returned, cache-aside with a 30 s TTL that deletes before and after
# a price change, a function that opens and closes one connection per invocation
# behind a proxy given half the database's connections, and choices written with options.

# %%
import json
from datetime import timedelta

import labkit

lab = labkit.start("databases")


# %%
def create_schema(conn):
    conn.cursor().execute(
        "CREATE TABLE orders (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), "
        "customer TEXT NOT NULL, lines JSONB NOT NULL)"
    )
    conn.commit()


def place_order(conn, customer, items):
    cur = conn.cursor()
    cur.execute(
        "INSERT INTO orders (customer, lines) VALUES (%s, %s::jsonb) RETURNING id",
        (customer, json.dumps(items)),
    )
    order_id = str(cur.fetchone()[0])
    conn.commit()
    return order_id


def my_orders(primary, replica, customer):
    cur = primary.cursor()
    cur.execute("SELECT id::text FROM orders WHERE customer = %s", (customer,))
    rows = cur.fetchall()
    primary.commit()
    return [r[0] for r in rows]


def sales_report(primary, replica):
    cur = replica.cursor()
    cur.execute(
        "SELECT line->>'sku', SUM((line->>'qty')::int * (line->>'price_cents')::int) "
        "FROM orders, jsonb_array_elements(lines) AS line GROUP BY 1"
    )
    report = {row[0]: row[1] for row in cur.fetchall()}
    replica.commit()
    return report


# %%
def save_order(connect, clock, order):
    for _ in range(60):  # the failover takes up to two minutes: keep trying past that
        conn = None
        try:
            conn = connect()
            cur = conn.cursor()
            cur.execute(
                "INSERT INTO orders (order_id, customer, total_cents) VALUES (%s, %s, %s) "
                "ON CONFLICT (order_id) DO UPDATE SET total_cents = EXCLUDED.total_cents",
                (order["order_id"], order["customer"], order["total_cents"]),
            )
            conn.commit()
            conn.close()
            return True
        except Exception:
            clock.advance(3)
    raise RuntimeError("database unreachable")


# %%
def protect(rds, instance_id):
    rds.modify_db_instance(
        DBInstanceIdentifier=instance_id, BackupRetentionPeriod=1, ApplyImmediately=True
    )


def recover(rds, instance_id, bad_at):
    answer = rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=instance_id,
        TargetDBInstanceIdentifier=instance_id + "-pitr",
        RestoreTime=(bad_at - timedelta(milliseconds=1000)).isoformat(),
    )
    return answer["DBInstance"]["DBInstanceArn"]


# %%
def get_price(db, cache, sku):
    value = cache.get(f"price#{sku}")
    if value is None:
        cur = db.cursor()
        cur.execute("SELECT price_cents FROM products WHERE sku = %s", (sku,))
        value = cur.fetchone()[0]
        db.commit()
        cache.set(f"price#{sku}", value, ex=30)
    return int(value)


def set_price(db, cache, sku, cents):
    cache.delete(f"price#{sku}")
    cur = db.cursor()
    cur.execute("UPDATE products SET price_cents = %s WHERE sku = %s", (cents, sku))
    db.commit()
    cache.delete(f"price#{sku}")


# %%
import contextlib
import os

import boto3
import pg8000


def orders_fn(event, context):
    endpoint = os.environ["ENDPOINT"]
    rds = boto3.client("rds", region_name=os.environ["AWS_REGION"])
    password = rds.generate_db_auth_token(endpoint, 5432, os.environ["USER_NAME"])
    conn = pg8000.connect(
        user=os.environ["USER_NAME"],
        host=endpoint,
        password=password,
        database=os.environ["DATABASE"],
    )
    with contextlib.closing(conn):  # one connection per invocation, always closed
        conn.cursor().execute(
            "INSERT INTO orders (total_cents, customer, order_id) VALUES (%s, %s, %s)",
            (event["total_cents"], event["customer"], event["order_id"]),
        )
        conn.commit()
    return {"saved": event["order_id"]}


def build_proxy(aws, db):
    rds = aws.client("rds")
    proxy = rds.create_db_proxy(
        DBProxyName="orders",
        EngineFamily="POSTGRESQL",
        Auth=[
            {
                "AuthScheme": "SECRETS",
                "SecretArn": db["secret_arn"],
                "IAMAuth": "REQUIRED",
                "ClientPasswordAuthType": "POSTGRES_SCRAM_SHA_256",
            }
        ],
        RoleArn=db["proxy_role_arn"],
        VpcSubnetIds=list(reversed(db["subnet_ids"])),
        VpcSecurityGroupIds=[db["security_group_id"]],
    )["DBProxy"]
    # Half the database's connections for the proxy: the rest stay for admins and jobs.
    rds.modify_db_proxy_target_group(
        DBProxyName="orders",
        TargetGroupName="default",
        ConnectionPoolConfig={"MaxConnectionsPercent": 50},
    )
    rds.register_db_proxy_targets(DBProxyName="orders", DBInstanceIdentifiers=[db["instance_id"]])
    aws.deploy_function(
        orders_fn,
        environment={
            "ENDPOINT": proxy["Endpoint"],
            "USER_NAME": db["user"],
            "DATABASE": db["database"],
        },
    )
    answer = aws.client("lambda").update_function_configuration(
        FunctionName="orders_fn",
        VpcConfig={"SubnetIds": db["subnet_ids"], "SecurityGroupIds": [db["security_group_id"]]},
    )
    # The function's role may connect as this user through any proxy or instance.
    aws.client("iam").put_role_policy(
        RoleName=answer["Role"].split("/")[-1],
        PolicyName="db-user",
        PolicyDocument=(
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds-db:*", '
            f'"Resource": "arn:aws:rds-db:*:*:dbuser:*/{db["user"]}"}}]}}'
        ),
    )
    return answer


# %%
assignment = {
    "orders": {"service": "aurora-postgresql"},
    "sales_analytics": "Amazon Redshift",
    "social_graph": "neptune",
    "leaderboard": "valkey",
    "sensor_metrics": "timestream",
    "product_catalog": "Amazon DocumentDB",
    "product_search": "opensearch",
    "user_uploads": "s3",
    "audit_archive": ("s3", {"storage_class": "DEEP_ARCHIVE"}),
    "payments_ledger": "rds",
}
