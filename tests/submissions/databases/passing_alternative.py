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
# Correct, written unlike the solution: a line-total column, pg8000's `run` with named
# parameters, a duplicate key on retry taken as done, backups for 35 days and the API's answer
# returned, write-through prices with a shorter TTL, a function zipped by hand with its
# VpcConfig at creation and a connection kept in a dict per environment (pg8000.native), and
# other services that fit.

# %%
from datetime import timedelta

import pg8000

import labkit

lab = labkit.start("databases")


# %%
def create_schema(conn):
    cur = conn.cursor()
    cur.execute("CREATE TABLE purchase (purchase_id BIGSERIAL PRIMARY KEY, buyer VARCHAR(64))")
    cur.execute(
        "CREATE TABLE purchase_line (purchase_id BIGINT REFERENCES purchase, sku TEXT, "
        "qty INT, unit_price INT, line_total INT GENERATED ALWAYS AS (qty * unit_price) STORED)"
    )
    conn.commit()


def place_order(conn, customer, items):
    new_id = conn.run("INSERT INTO purchase (buyer) VALUES (:b) RETURNING purchase_id", b=customer)[
        0
    ][0]
    for item in items:
        conn.run(
            "INSERT INTO purchase_line (purchase_id, sku, qty, unit_price) VALUES (:p, :s, :q, :u)",
            p=new_id,
            s=item["sku"],
            q=item["qty"],
            u=item["price_cents"],
        )
    conn.commit()
    return f"P-{new_id}"


def my_orders(primary, replica, customer):
    found = primary.run("SELECT purchase_id FROM purchase WHERE buyer = :b", b=customer)
    primary.commit()
    return [f"P-{row[0]}" for row in found]


def sales_report(primary, replica):
    with replica.cursor() as cur:
        cur.execute("SELECT sku, SUM(line_total) FROM purchase_line GROUP BY sku")
        totals = {sku: int(total) for sku, total in cur.fetchall()}
    replica.rollback()
    return totals


# %%
def save_order(connect, clock, order):
    waited = 0
    while waited < 600:
        try:
            conn = connect()
            cur = conn.cursor()
            cur.execute(
                "INSERT INTO orders VALUES (%s, %s, %s)",
                (order["order_id"], order["customer"], order["total_cents"]),
            )
            conn.commit()
            return
        except pg8000.DatabaseError as error:
            if "23505" in str(error):  # unique_violation: the lost commit had gone through
                return
        except (pg8000.InterfaceError, ConnectionError):  # pg8000 may let a reset through
            pass
        clock.advance(10)
        waited += 10
    raise TimeoutError(order["order_id"])


# %%
def protect(rds, instance_id):
    rds.modify_db_instance(DBInstanceIdentifier=instance_id, BackupRetentionPeriod=35)


def recover(rds, instance_id, bad_at):
    return rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=instance_id,
        TargetDBInstanceIdentifier="ledger-before-migration",
        RestoreTime=(bad_at - timedelta(seconds=1)).replace(microsecond=0),
    )


# %%
def get_price(db, cache, sku):
    hit = cache.get("p/" + sku)
    if hit:
        return int(hit)
    cur = db.cursor()
    cur.execute("SELECT price_cents FROM products WHERE sku = %s", (sku,))
    (cents,) = cur.fetchone()
    db.rollback()
    cache.setex("p/" + sku, 45, cents)
    return cents


def set_price(db, cache, sku, cents):
    cur = db.cursor()
    cur.execute("UPDATE products SET price_cents = %s WHERE sku = %s", (cents, sku))
    db.commit()
    cache.setex("p/" + sku, 45, cents)  # write-through


# %%
import io
import json as jsonlib
import zipfile

ORDER_CODE = """
import os
import boto3
import pg8000.native

_held = {}


def handler(event, context):
    if "db" not in _held:
        host = os.environ["PROXY_HOST"]
        token = boto3.client("rds").generate_db_auth_token(
            DBHostname=host, Port=5432, DBUsername=os.environ["PG_USER"]
        )
        _held["db"] = pg8000.native.Connection(
            os.environ["PG_USER"], host=host, password=token, database=os.environ["PG_DB"]
        )
    _held["db"].run(
        "INSERT INTO orders VALUES (:o, :c, :t)",
        o=event["order_id"], c=event["customer"], t=event["total_cents"],
    )
    return "ok"
"""


def build_proxy(aws, db):
    rds = aws.client("rds")
    rds.create_db_proxy(
        DBProxyName="burst-proxy",
        EngineFamily="POSTGRESQL",
        Auth=[{"SecretArn": db["secret_arn"], "IAMAuth": "REQUIRED", "AuthScheme": "SECRETS"}],
        RoleArn=db["proxy_role_arn"],
        VpcSubnetIds=db["subnet_ids"],
    )
    rds.register_db_proxy_targets(
        DBProxyName="burst-proxy", DBInstanceIdentifiers=[db["instance_id"]]
    )
    endpoint = rds.describe_db_proxies(DBProxyName="burst-proxy")["DBProxies"][0]["Endpoint"]
    iam = aws.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"},
            }
        ],
    }
    role = iam.create_role(RoleName="orders-fn", AssumeRolePolicyDocument=jsonlib.dumps(trust))
    # A managed policy naming the user on this proxy, region and account spelled out.
    proxy_arn = rds.describe_db_proxies(DBProxyName="burst-proxy")["DBProxies"][0]["DBProxyArn"]
    _, _, _, region, account, _, resource_id = proxy_arn.split(":")
    connect = iam.create_policy(
        PolicyName="orders-db-connect",
        PolicyDocument=jsonlib.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["rds-db:connect"],
                        "Resource": [
                            f"arn:aws:rds-db:{region}:{account}:dbuser:{resource_id}/{db['user']}"
                        ],
                    }
                ],
            }
        ),
    )
    iam.attach_role_policy(RoleName="orders-fn", PolicyArn=connect["Policy"]["Arn"])
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", ORDER_CODE)
    created = aws.client("lambda").create_function(
        FunctionName="orders-burst",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.handler",
        Code={"ZipFile": package.getvalue()},
        Environment={
            "Variables": {"PROXY_HOST": endpoint, "PG_USER": db["user"], "PG_DB": db["database"]}
        },
        VpcConfig={
            "SubnetIds": db["subnet_ids"][:1],
            "SecurityGroupIds": [db["security_group_id"]],
        },
    )
    return created["FunctionArn"]


# %%
assignment = {
    "orders": "Amazon RDS",
    "sales_analytics": "athena",
    "social_graph": "Amazon Neptune",
    "leaderboard": "redis",
    "sensor_metrics": "Amazon Timestream",
    "product_catalog": ("rds", {"reads_from": "primary"}),
    "product_search": "Amazon OpenSearch Service",
    "user_uploads": "Amazon S3",
    "audit_archive": "glacier",
    "payments_ledger": ("dynamodb", {"consistent_reads": True}),
}
