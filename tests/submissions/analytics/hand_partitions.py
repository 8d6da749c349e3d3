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
# Plausible mistakes: partitions written by hand for the days seen in the notebook; Parquet
# written uncompressed; the day picked with ts instead of the partition key; the Spectrum
# report run on the loaded table; level matched as "error" in lower case; refunded orders in
# the dashboard.

# %%
import time

import requests

import labkit

lab = labkit.start("analytics")
SEEN_DAYS = ["2026-03-01", "2026-03-02", "2026-03-03"]


def query(athena, sql, database):
    qid = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": database},
        ResultConfiguration={"OutputLocation": "s3://shop-athena-results/"},
    )["QueryExecutionId"]
    while athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"] in (
        "QUEUED",
        "RUNNING",
    ):
        time.sleep(0.05)
    rows = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid):
        rows += [[d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"]]
    return rows[1:]


# %%
def catalog_raw(glue, athena):
    glue.create_database(DatabaseInput={"Name": "raw"})
    glue.create_table(
        DatabaseName="raw",
        TableInput={
            "Name": "orders",
            "StorageDescriptor": {
                "Columns": [
                    {"Name": "order_id", "Type": "string"},
                    {"Name": "amount", "Type": "double"},
                    {"Name": "status", "Type": "string"},
                ],
                "Location": "s3://shop-lake/raw/orders/",
            },
            "PartitionKeys": [{"Name": "dt", "Type": "string"}],
            "Parameters": {"classification": "json"},
        },
    )
    for day in SEEN_DAYS:
        glue.create_partition(
            DatabaseName="raw", TableName="orders", PartitionInput={"Values": [day]}
        )


def orders_per_day(athena):
    rows = query(athena, "SELECT dt, count(DISTINCT order_id) FROM orders GROUP BY dt", "raw")
    return {day: int(n) for day, n in rows}


# %%
def create_etl_job(glue, s3):
    script = """
def main(job):
    objects = job.new_objects("s3://shop-lake/raw/orders/")
    if objects:
        job.write_parquet(job.read(objects, "json"), "s3://shop-lake/curated/orders/",
                          partition_by=["dt"], compression="uncompressed")
"""
    s3.put_object(Bucket="shop-code", Key="job.py", Body=script.encode())
    glue.create_job(
        Name="plain",
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://shop-code/job.py"},
        DefaultArguments={"--job-bookmark-option": "job-bookmark-enable"},
    )
    return "plain"


# %%
def revenue_on(athena, day):
    rows = query(
        athena,
        "SELECT sum(amount) FROM (SELECT DISTINCT order_id, amount FROM orders WHERE "
        f"substr(CAST(ts AS varchar), 1, 10) = '{day}' AND status = 'paid')",
        "curated",
    )
    return float(rows[0][0])


# %%
def run(data, cluster, sql):
    sid = data.execute_statement(ClusterIdentifier=cluster, Database="dev", Sql=sql)["Id"]
    while data.describe_statement(Id=sid)["Status"] not in ("FINISHED", "FAILED"):
        time.sleep(0.05)
    return sid


def load_warehouse(data, cluster, role_arn):
    run(
        data,
        cluster,
        "CREATE TABLE orders (order_id VARCHAR(20), customer_id VARCHAR(8), "
        "amount DECIMAL(10,2), status VARCHAR(10), ts VARCHAR(30)) DISTKEY (customer_id)",
    )
    run(
        data,
        cluster,
        "CREATE TABLE customers (customer_id VARCHAR(8), name VARCHAR(40), "
        "region VARCHAR(10)) DISTSTYLE ALL",
    )
    run(
        data,
        cluster,
        f"COPY orders FROM 's3://shop-lake/warehouse/orders/' "
        f"IAM_ROLE '{role_arn}' FORMAT AS PARQUET",
    )
    run(
        data,
        cluster,
        f"COPY customers FROM 's3://shop-lake/raw/customers/' "
        f"IAM_ROLE '{role_arn}' CSV IGNOREHEADER 1",
    )


REPORT_SQL = (
    "SELECT c.region, sum(o.amount) AS revenue FROM orders o JOIN customers c "
    "ON o.customer_id = c.customer_id WHERE o.status = 'paid' GROUP BY c.region"
)


def spectrum_report(data, cluster, role_arn):
    return run(data, cluster, REPORT_SQL)


# %%
def incident_errors(endpoint, start, end):
    search = {
        "size": 500,
        "query": {
            "bool": {
                "filter": [
                    {"term": {"service": "checkout"}},
                    {"term": {"level": "error"}},
                    {"range": {"ts": {"gte": start, "lt": end}}},
                ]
            }
        },
    }
    found = requests.get(f"{endpoint}/app-logs/_search", json=search, timeout=10).json()
    return [h["_id"] for h in found["hits"]["hits"]]


# %%
def daily_metrics(athena):
    query(athena, "MSCK REPAIR TABLE orders", "curated")
    rows = query(
        athena,
        "SELECT dt, count(DISTINCT order_id), sum(amount) FROM (SELECT DISTINCT dt, order_id, "
        "amount FROM orders) GROUP BY dt",
        "curated",
    )
    return {d: (int(n), float(r)) for d, n, r in rows}
