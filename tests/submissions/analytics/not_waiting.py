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
# Plausible mistakes: the crawler started but not waited for; the job writes beside the
# curated prefix; revenue summed over the orders delivered twice; refunded orders in the
# report; every checkout error of the day; the dashboard counting rows, not orders.

# %%
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


def orders_per_day(athena):
    rows = query(athena, "SELECT dt, count(DISTINCT order_id) FROM orders GROUP BY dt", "raw")
    return {day: int(n) for day, n in rows}


# %%
def create_etl_job(glue, s3):
    script = """
def main(job):
    objects = job.new_objects("s3://shop-lake/raw/orders/")
    if objects:
        job.write_parquet(job.read(objects, "json"), "s3://shop-lake/curated/",
                          partition_by=["dt"], compression="snappy")
"""
    s3.put_object(Bucket="shop-code", Key="job.py", Body=script.encode())
    glue.create_job(
        Name="beside",
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://shop-code/job.py"},
        DefaultArguments={"--job-bookmark-option": "job-bookmark-enable"},
    )
    return "beside"


# %%
def revenue_on(athena, day):
    rows = query(
        athena,
        f"SELECT sum(amount) FROM orders WHERE dt = '{day}' AND status = 'paid'",
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
        "CREATE TABLE orders (order_id VARCHAR(20), customer_id VARCHAR(8) "
        "DISTKEY, amount DECIMAL(10,2), status VARCHAR(10), ts VARCHAR(30))",
    )
    run(
        data,
        cluster,
        "CREATE TABLE customers (customer_id VARCHAR(8) DISTKEY, "
        "name VARCHAR(40), region VARCHAR(10))",
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
    "ON o.customer_id = c.customer_id GROUP BY c.region"
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
        "size": 500,
        "query": {
            "bool": {"filter": [{"term": {"service": "checkout"}}, {"term": {"level": "ERROR"}}]}
        },
    }
    found = requests.get(f"{endpoint}/app-logs/_search", json=search, timeout=10).json()
    return [h["_id"] for h in found["hits"]["hits"]]


# %%
def daily_metrics(athena):
    query(athena, "MSCK REPAIR TABLE orders", "curated")
    rows = query(
        athena,
        "SELECT dt, count(*), sum(amount) FROM orders WHERE status = 'paid' GROUP BY dt",
        "curated",
    )
    return {d: (int(n), float(r)) for d, n, r in rows}
