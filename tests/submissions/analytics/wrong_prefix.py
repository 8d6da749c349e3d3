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
# Plausible mistakes: the raw table over the whole raw/ folder; the job writes Parquet without
# partitions; the budget query on the JSON table; orders distributed on order_id; a full-text
# match on "error"; the dashboard never refreshes the catalog.

# %%
import time

import requests

import labkit

lab = labkit.start("analytics")


def query(athena, sql, database="default"):
    qid = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": database},
        ResultConfiguration={"OutputLocation": "s3://shop-athena-results/"},
    )["QueryExecutionId"]
    while True:
        status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        if status["State"] == "SUCCEEDED":
            break
        if status["State"] in ("FAILED", "CANCELLED"):
            raise RuntimeError(status.get("StateChangeReason"))
    rows = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid):
        rows += [[d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"]]
    return rows[1:]


# %%
def catalog_raw(glue, athena):
    query(athena, "CREATE DATABASE raw")
    query(
        athena,
        "CREATE EXTERNAL TABLE raw.orders (order_id string, customer_id string, amount double, "
        "status string, ts string, note string) PARTITIONED BY (dt string) "
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://shop-lake/raw/'",
    )
    query(athena, "MSCK REPAIR TABLE raw.orders")


def orders_per_day(athena):
    rows = query(athena, "SELECT dt, count(DISTINCT order_id) FROM raw.orders GROUP BY dt")
    return {day: int(n) for day, n in rows}


# %%
def create_etl_job(glue, s3):
    script = """
def main(job):
    objects = job.new_objects("s3://shop-lake/raw/orders/")
    if objects:
        job.write_parquet(job.read(objects, "json"), "s3://shop-lake/curated/orders/",
                          compression="snappy")
"""
    s3.put_object(Bucket="shop-code", Key="job.py", Body=script.encode())
    glue.create_job(
        Name="flat",
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://shop-code/job.py"},
        DefaultArguments={"--job-bookmark-option": "job-bookmark-enable"},
    )
    return "flat"


# %%
def revenue_on(athena, day):
    rows = query(
        athena,
        "SELECT sum(amount) FROM (SELECT DISTINCT order_id, amount FROM raw.orders "
        f"WHERE dt = '{day}' AND status = 'paid')",
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
        "CREATE TABLE orders (order_id VARCHAR(20) DISTKEY, customer_id "
        "VARCHAR(8), amount DECIMAL(10,2), status VARCHAR(10), ts VARCHAR(30)) SORTKEY (ts)",
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
    "ON o.customer_id = c.customer_id WHERE o.status = 'paid' GROUP BY c.region"
)


def spectrum_report(data, cluster, role_arn):
    run(
        data,
        cluster,
        f"CREATE EXTERNAL SCHEMA s FROM DATA CATALOG DATABASE 'lake' IAM_ROLE '{role_arn}'",
    )
    return run(data, cluster, REPORT_SQL.replace("FROM orders", "FROM s.orders"))


# %%
def incident_errors(endpoint, start, end):
    search = {
        "size": 500,
        "query": {
            "bool": {
                "must": [{"match": {"message": "error"}}],
                "filter": [
                    {"term": {"service": "checkout"}},
                    {"range": {"ts": {"gte": start, "lt": end}}},
                ],
            }
        },
    }
    found = requests.get(f"{endpoint}/app-logs/_search", json=search, timeout=10).json()
    return [h["_id"] for h in found["hits"]["hits"]]


# %%
def daily_metrics(athena):
    rows = query(
        athena,
        "SELECT dt, count(DISTINCT order_id), sum(amount) FROM (SELECT DISTINCT dt, order_id, "
        "amount FROM curated.orders WHERE status = 'paid') GROUP BY dt",
    )
    return {d: (int(n), float(r)) for d, n, r in rows}
