# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: analytics
#     role: exercise
# ---

# %% [markdown]
# Correct, unlike the solution: Athena DDL for the raw table (CREATE EXTERNAL TABLE, MSCK
# REPAIR), results paged by hand and returned as strings; a job that deduplicates with SQL and
# writes zstd; a GROUP BY instead of DISTINCT; customers on every node (DISTSTYLE ALL) with
# orders left EVEN and the report's columns the other way round; the logs paged with from/size;
# partitions added one by one from an S3 listing, metrics as dicts.

# %%
import boto3
import requests

import labkit

lab = labkit.start("analytics")
OUT = "s3://shop-athena-results/ddl/"


def athena_sql(athena, sql):
    qid = athena.start_query_execution(
        QueryString=sql, ResultConfiguration={"OutputLocation": OUT}
    )["QueryExecutionId"]
    state = "QUEUED"
    while state in ("QUEUED", "RUNNING"):
        state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"][
            "State"
        ]
    assert state == "SUCCEEDED", athena.get_query_execution(QueryExecutionId=qid)
    rows, token = [], None
    while True:
        page = athena.get_query_results(
            QueryExecutionId=qid, **({"NextToken": token} if token else {})
        )
        rows += [[d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"]]
        token = page.get("NextToken")
        if not token:
            return rows[1:]


# %%
def catalog_raw(glue, athena):
    athena_sql(athena, "CREATE DATABASE IF NOT EXISTS raw")
    athena_sql(
        athena,
        "CREATE EXTERNAL TABLE IF NOT EXISTS raw.orders (order_id string, customer_id string, "
        "amount double, status string, ts string, note string) PARTITIONED BY (dt string) "
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' "
        "LOCATION 's3://shop-lake/raw/orders/'",
    )
    athena_sql(athena, "MSCK REPAIR TABLE raw.orders")


def orders_per_day(athena):
    rows = athena_sql(
        athena,
        "SELECT dt, count(*) FROM (SELECT DISTINCT dt, order_id FROM raw.orders) GROUP BY dt",
    )
    return {day: n for day, n in rows}


# %%
SCRIPT = b"""
def main(job):
    new = job.new_objects("s3://shop-lake/raw/orders/")
    if new:
        raw = job.read(new, "json")
        once = job.sql("SELECT DISTINCT * FROM raw", raw=raw)
        job.write_parquet(once, "s3://shop-lake/curated/orders", partition_by=["dt"],
                          compression="zstd")
"""


def create_etl_job(glue, s3):
    s3.put_object(Bucket="shop-code", Key="etl.py", Body=SCRIPT)
    return glue.create_job(
        Name="curate",
        Role="glue-role",
        Command={"Name": "glueetl", "ScriptLocation": "s3://shop-code/etl.py"},
        DefaultArguments={"--job-bookmark-option": "job-bookmark-enable"},
    )["Name"]


# %%
def revenue_on(athena, day):
    rows = athena_sql(
        athena,
        "SELECT sum(amount) FROM (SELECT order_id, max(amount) AS amount FROM curated.orders "
        f"WHERE status = 'paid' AND dt = '{day}' GROUP BY order_id)",
    )
    return rows[0][0]


# %%
def redshift(data, cluster, sqls):
    batch = data.batch_execute_statement(ClusterIdentifier=cluster, Database="dev", Sqls=sqls)
    while data.describe_statement(Id=batch["Id"])["Status"] not in ("FINISHED", "FAILED"):
        pass
    assert data.describe_statement(Id=batch["Id"])["Status"] == "FINISHED"


def load_warehouse(data, cluster, role_arn):
    redshift(
        data,
        cluster,
        [
            "CREATE TABLE customers (customer_id VARCHAR(16), name VARCHAR(64), "
            "region VARCHAR(16)) DISTSTYLE ALL",
            "CREATE TABLE orders (order_id VARCHAR(32), customer_id VARCHAR(16), "
            "amount FLOAT8, status VARCHAR(16), ts VARCHAR(32))",
            f"COPY customers FROM 's3://shop-lake/raw/customers/customers.csv' "
            f"IAM_ROLE '{role_arn}' FORMAT AS CSV IGNOREHEADER 1",
            f"COPY orders FROM 's3://shop-lake/warehouse/orders/' IAM_ROLE '{role_arn}' PARQUET",
        ],
    )


REPORT_SQL = (
    "SELECT SUM(orders.amount), customers.region FROM customers, orders "
    "WHERE customers.customer_id = orders.customer_id AND orders.status = 'paid' "
    "GROUP BY customers.region"
)


def spectrum_report(data, cluster, role_arn):
    redshift(
        data,
        cluster,
        [
            "CREATE EXTERNAL SCHEMA lakehouse FROM DATA CATALOG DATABASE 'lake' "
            f"IAM_ROLE '{role_arn}'"
        ],
    )
    sql = REPORT_SQL.replace("customers, orders", "customers, lakehouse.orders orders")
    return data.execute_statement(ClusterIdentifier=cluster, Database="dev", Sql=sql)["Id"]


# %%
def incident_errors(endpoint, start, end):
    ids, offset = [], 0
    while True:
        body = {
            "from": offset,
            "size": 5,
            "query": {
                "bool": {
                    "must": [{"match_all": {}}],
                    "filter": [
                        {"terms": {"level": ["ERROR"]}},
                        {"term": {"service": {"value": "checkout"}}},
                        {"range": {"ts": {"gte": start}}},
                        {"range": {"ts": {"lt": end}}},
                    ],
                }
            },
        }
        hits = requests.post(f"{endpoint}/app-logs/_search", json=body, timeout=10).json()
        page = [h["_id"] for h in hits["hits"]["hits"]]
        ids += page
        offset += len(page)
        if not page:
            return ids


# %%
def daily_metrics(athena):
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket="shop-lake", Prefix="curated/orders/", Delimiter="/")
    for folder in listed.get("CommonPrefixes", []):
        day = folder["Prefix"].split("dt=")[1].rstrip("/")
        athena_sql(athena, f"ALTER TABLE curated.orders ADD IF NOT EXISTS PARTITION (dt = '{day}')")
    rows = athena_sql(
        athena,
        "WITH once AS (SELECT DISTINCT dt, order_id, amount FROM curated.orders "
        "WHERE status = 'paid') SELECT dt, count(order_id), sum(amount) FROM once GROUP BY dt",
    )
    return {day: {"orders": int(n), "revenue": float(r)} for day, n, r in rows}
