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
# Correct, unlike the solution: the raw table made with the Glue API and its partitions listed
# from S3 (batch_create_partition); a gzip job that takes its paths from DefaultArguments and
# casts with SQL; a window function to keep each order once; both tables distributed on the
# join column, declared at table level, the report as a CTE; the logs found with a bool must of
# match queries sized to hits.total; a crawler re-run before each dashboard query, metrics as
# lists.

# %%
import time

import requests

import labkit

lab = labkit.start("analytics")


def ask(athena, sql, database):
    qid = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": database},
        WorkGroup="primary",
        ResultConfiguration={"OutputLocation": "s3://shop-athena-results/api/"},
    )["QueryExecutionId"]
    for _ in range(100):
        status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        if status["State"] == "SUCCEEDED":
            break
        if status["State"] in ("FAILED", "CANCELLED"):
            raise RuntimeError(status["StateChangeReason"])
        time.sleep(0.05)
    paginator = athena.get_paginator("get_query_results")
    rows = [
        [d.get("VarCharValue") for d in row["Data"]]
        for page in paginator.paginate(QueryExecutionId=qid)
        for row in page["ResultSet"]["Rows"]
    ]
    return rows[1:]


# %%
COLUMNS = [
    {"Name": "order_id", "Type": "string"},
    {"Name": "customer_id", "Type": "string"},
    {"Name": "amount", "Type": "double"},
    {"Name": "status", "Type": "string"},
    {"Name": "ts", "Type": "string"},
]


def catalog_raw(glue, athena):
    glue.create_database(DatabaseInput={"Name": "raw"})
    glue.create_table(
        DatabaseName="raw",
        TableInput={
            "Name": "orders",
            "StorageDescriptor": {
                "Columns": COLUMNS,
                "Location": "s3://shop-lake/raw/orders",
                "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
            },
            "PartitionKeys": [{"Name": "dt", "Type": "string"}],
            "Parameters": {"classification": "json"},
        },
    )
    s3 = lab.client("s3")
    listed = s3.list_objects_v2(Bucket="shop-lake", Prefix="raw/orders/", Delimiter="/")
    days = [p["Prefix"].split("=")[1].strip("/") for p in listed["CommonPrefixes"]]
    glue.batch_create_partition(
        DatabaseName="raw",
        TableName="orders",
        PartitionInputList=[
            {
                "Values": [day],
                "StorageDescriptor": {"Location": f"s3://shop-lake/raw/orders/dt={day}/"},
            }
            for day in days
        ],
    )


def orders_per_day(athena):
    rows = ask(athena, "SELECT dt, count(DISTINCT order_id) FROM orders GROUP BY 1", "raw")
    return {day: int(count) for day, count in rows}


# %%
def create_etl_job(glue, s3):
    script = """
def main(job):
    todo = job.new_objects(job.args["in"])
    if todo:
        rows = job.read(todo, "json")
        typed = job.sql(
            "SELECT order_id, customer_id, CAST(amount AS DOUBLE) AS amount, status, "
            "CAST(ts AS VARCHAR) AS ts, note, CAST(dt AS VARCHAR) AS dt FROM rows",
            rows=rows,
        )
        job.write_parquet(typed, job.args["out"], partition_by=("dt",), compression="gzip")
"""
    s3.put_object(Bucket="shop-code", Key="glue/curate.py", Body=script)
    glue.create_job(
        Name="curate-orders",
        Role="arn:aws:iam::123456789012:role/AWSGlueServiceRole",
        Command={"Name": "glueetl", "ScriptLocation": "s3://shop-code/glue/curate.py"},
        DefaultArguments={
            "--in": "s3://shop-lake/raw/orders/",
            "--out": "s3://shop-lake/curated/orders/",
            "--job-bookmark-option": "job-bookmark-enable",
        },
        GlueVersion="4.0",
    )
    return "curate-orders"


# %%
def revenue_on(athena, day):
    rows = ask(
        athena,
        "SELECT sum(amount) FROM (SELECT amount, row_number() OVER (PARTITION BY order_id) AS n "
        f"FROM orders WHERE dt = '{day}' AND status = 'paid') WHERE n = 1",
        "curated",
    )
    return round(float(rows[0][0]), 2)


# %%
def statement(data, cluster, sql):
    sid = data.execute_statement(ClusterIdentifier=cluster, Database="dev", Sql=sql)["Id"]
    while (described := data.describe_statement(Id=sid))["Status"] not in (
        "FINISHED",
        "FAILED",
        "ABORTED",
    ):
        time.sleep(0.05)
    if described["Status"] != "FINISHED":
        raise RuntimeError(described["Error"])
    return sid


def load_warehouse(data, cluster, role_arn):
    statement(
        data,
        cluster,
        "CREATE TABLE orders (order_id VARCHAR(24) NOT NULL, customer_id VARCHAR(10), "
        "amount NUMERIC(12,2), status VARCHAR(12), ts VARCHAR(25)) "
        "DISTSTYLE KEY DISTKEY (customer_id) COMPOUND SORTKEY (status, ts)",
    )
    statement(
        data,
        cluster,
        "CREATE TABLE customers (customer_id VARCHAR(10), name VARCHAR(50), region VARCHAR(10))"
        " DISTSTYLE KEY DISTKEY (customer_id)",
    )
    statement(
        data,
        cluster,
        f"COPY orders FROM 's3://shop-lake/warehouse/orders/' "
        f"IAM_ROLE '{role_arn}' FORMAT AS PARQUET",
    )
    statement(
        data,
        cluster,
        f"COPY customers (customer_id, name, region) FROM "
        f"'s3://shop-lake/raw/customers/' IAM_ROLE '{role_arn}' CSV IGNOREHEADER 1",
    )


REPORT_SQL = """
WITH paid AS (SELECT customer_id, amount FROM orders WHERE status = 'paid')
SELECT customers.region AS region, SUM(paid.amount) AS revenue
FROM paid INNER JOIN customers ON paid.customer_id = customers.customer_id
GROUP BY 1 ORDER BY 2 DESC
"""


def spectrum_report(data, cluster, role_arn):
    statement(
        data,
        cluster,
        f"CREATE EXTERNAL SCHEMA IF NOT EXISTS datalake FROM DATA CATALOG DATABASE 'lake' "
        f"IAM_ROLE '{role_arn}' REGION 'us-east-1'",
    )
    return statement(data, cluster, REPORT_SQL.replace("FROM orders", "FROM datalake.orders"))


# %%
def incident_errors(endpoint, start, end):
    body = {
        "query": {
            "bool": {
                "must": [{"match": {"service": "checkout"}}, {"match": {"level": "ERROR"}}],
                "filter": {"range": {"ts": {"gte": start, "lt": end}}},
            }
        },
        "size": 0,
    }
    url = f"{endpoint}/app-logs/_search"
    total = requests.get(url, json=body, timeout=10).json()["hits"]["total"]["value"]
    body["size"] = total
    return {hit["_id"] for hit in requests.get(url, json=body, timeout=10).json()["hits"]["hits"]}


# %%
def daily_metrics(athena):
    glue = lab.client("glue")
    if "dashboard" not in glue.list_crawlers()["CrawlerNames"]:
        glue.create_crawler(
            Name="dashboard",
            Role="arn:aws:iam::123456789012:role/crawler",
            DatabaseName="curated",
            Targets={"S3Targets": [{"Path": "s3://shop-lake/curated/orders/"}]},
        )
    glue.start_crawler(Name="dashboard")
    while glue.get_crawler(Name="dashboard")["Crawler"]["State"] != "READY":
        time.sleep(0.05)
    rows = ask(
        athena,
        "SELECT dt, count(DISTINCT order_id), sum(amount) FROM (SELECT DISTINCT order_id, dt, "
        "amount FROM orders WHERE status = 'paid') GROUP BY dt",
        "curated",
    )
    return {day: [int(n), float(total)] for day, n, total in rows}
