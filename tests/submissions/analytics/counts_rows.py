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
# Plausible mistakes: count(*) counts the orders delivered twice; the job without bookmarks
# reprocesses every file; SELECT * of the day summed in Python; the customers' header line
# loaded as a row; the search's default 10 hits; a dashboard cached after its first call.

# %%
import functools
import time

import requests

import labkit

lab = labkit.start("analytics")


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
    glue.create_crawler(
        Name="raw",
        Role="arn:aws:iam::123456789012:role/crawler",
        DatabaseName="raw",
        Targets={"S3Targets": [{"Path": "s3://shop-lake/raw/orders/"}]},
    )
    glue.start_crawler(Name="raw")
    while glue.get_crawler(Name="raw")["Crawler"]["State"] != "READY":
        time.sleep(0.05)


def orders_per_day(athena):
    rows = query(athena, "SELECT dt, count(*) FROM orders GROUP BY dt", "raw")
    return {day: int(n) for day, n in rows}


# %%
def create_etl_job(glue, s3):
    script = b"""
def main(job):
    objects = job.new_objects("s3://shop-lake/raw/orders/")
    if objects:
        job.write_parquet(job.read(objects, "json"), "s3://shop-lake/curated/orders/",
                          partition_by=["dt"], compression="snappy")
"""
    s3.put_object(Bucket="shop-code", Key="job.py", Body=script)
    glue.create_job(
        Name="to-parquet",
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://shop-code/job.py"},
    )
    return "to-parquet"


# %%
def revenue_on(athena, day):
    rows = query(athena, f"SELECT * FROM orders WHERE dt = '{day}'", "curated")
    paid = {r[0]: float(r[2]) for r in rows if r[3] == "paid"}
    return sum(paid.values())


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
        "CREATE TABLE orders (order_id VARCHAR(20), customer_id VARCHAR(8) "
        "DISTKEY, amount DECIMAL(10,2), status VARCHAR(10), ts VARCHAR(30))",
    )
    run(
        data,
        cluster,
        "CREATE TABLE customers (customer_id VARCHAR(20) DISTKEY, "
        "name VARCHAR(40), region VARCHAR(10))",
    )
    run(
        data,
        cluster,
        f"COPY orders FROM 's3://shop-lake/warehouse/orders/' IAM_ROLE '{role_arn}' PARQUET",
    )
    run(
        data,
        cluster,
        f"COPY customers FROM 's3://shop-lake/raw/customers/' IAM_ROLE '{role_arn}' CSV",
    )


REPORT_SQL = (
    "SELECT c.region, sum(o.amount) FROM orders o JOIN customers c "
    "ON o.customer_id = c.customer_id WHERE o.status = 'paid' GROUP BY c.region"
)


def spectrum_report(data, cluster, role_arn):
    run(
        data,
        cluster,
        f"CREATE EXTERNAL SCHEMA ext FROM DATA CATALOG DATABASE 'lake' IAM_ROLE '{role_arn}'",
    )
    return run(data, cluster, REPORT_SQL.replace("FROM orders", "FROM ext.orders"))


# %%
def incident_errors(endpoint, start, end):
    search = {
        "query": {
            "bool": {
                "filter": [
                    {"term": {"service": "checkout"}},
                    {"term": {"level": "ERROR"}},
                    {"range": {"ts": {"gte": start, "lt": end}}},
                ]
            }
        }
    }
    found = requests.get(f"{endpoint}/app-logs/_search", json=search, timeout=10).json()
    return [h["_id"] for h in found["hits"]["hits"]]


# %%
@functools.cache
def _metrics(athena):
    query(athena, "MSCK REPAIR TABLE orders", "curated")
    rows = query(
        athena,
        "SELECT dt, count(DISTINCT order_id), sum(amount) FROM (SELECT DISTINCT dt, order_id, "
        "amount FROM orders WHERE status = 'paid') GROUP BY dt",
        "curated",
    )
    return {d: (int(n), float(r)) for d, n, r in rows}


def daily_metrics(athena):
    return dict(_metrics(athena))
