# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Analytics exercise: the shop's order lake
#
# The shop's ingest drops every order into S3 as JSON, one folder a day, and delivers some
# orders twice. You make the lake queryable, turn it into Parquet with a Glue job that only
# processes new files, answer questions on a budget, load a warehouse whose report moves no
# row, find an incident's errors in the logs, and feed a dashboard that keeps up with new days.
#
# Write your code where it says `# YOUR CODE HERE` (replace the `...`), run the cell, then run
# the check below it. Each check builds a lake **of its own** (other days, other orders) in an
# empty sandbox with its own lab clock, and calls your functions on it: answer from the data,
# never from numbers you saw here.

# %%
import contextlib
import time

import requests

import labkit
from labkit.labs import analytics_support as shop

lab = labkit.start("analytics")
s3 = lab.client("s3")
glue = lab.client("glue")
athena = lab.client("athena")
lake = shop.make_lake(shop.NOTEBOOK_SEED, shop.NOTEBOOK_DAYS)
shop.write_raw(s3, lake)
print(f"raw orders under {shop.RAW_URL}, Athena results to {shop.RESULTS_URL}")


def run_query(athena, sql, database="default"):
    """Run ``sql`` in Athena and wait: the finished QueryExecution (its Status says how)."""
    qid = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": database},
        ResultConfiguration={"OutputLocation": shop.RESULTS_URL},
    )["QueryExecutionId"]
    while True:
        execution = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return execution
        time.sleep(0.1)


def query_rows(athena, sql, database="default"):
    """The rows of a query's result (header line left out), as lists of strings."""
    execution = run_query(athena, sql, database)
    if execution["Status"]["State"] != "SUCCEEDED":
        raise RuntimeError(execution["Status"].get("StateChangeReason", "query failed"))
    rows = []
    pages = athena.get_paginator("get_query_results").paginate(
        QueryExecutionId=execution["QueryExecutionId"]
    )
    for page in pages:
        for row in page["ResultSet"]["Rows"]:
            rows.append([cell.get("VarCharValue") for cell in row["Data"]])
    return rows[1:]


# %% [markdown]
# ## Task 1: the raw lake in the catalog, and a question
#
# Write `catalog_raw(glue, athena)` so that, when it returns, the Glue Data Catalog has a table
# **`raw.orders`** over the orders' prefix `s3://shop-lake/raw/orders/` with **every day's
# partition** (`dt`). A crawler does it (wait until it is `READY` again), or Athena DDL
# (`CREATE EXTERNAL TABLE` with `PARTITIONED BY`, then `MSCK REPAIR TABLE`).
#
# Then write `orders_per_day(athena)`: a dict `{day: number of distinct orders}` for every
# day, answered by Athena. The check runs both on a lake of other days.


# %%
def catalog_raw(glue, athena):
    ...  # YOUR CODE HERE
    ### BEGIN SOLUTION
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": shop.RAW_DB})
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_crawler(
            Name="raw-orders",
            Role="arn:aws:iam::123456789012:role/crawler",
            DatabaseName=shop.RAW_DB,
            Targets={"S3Targets": [{"Path": shop.RAW_URL}]},
        )
    glue.start_crawler(Name="raw-orders")
    while glue.get_crawler(Name="raw-orders")["Crawler"]["State"] != "READY":
        time.sleep(0.1)
    ### END SOLUTION


def orders_per_day(athena):
    ...  # YOUR CODE HERE
    ### BEGIN SOLUTION
    rows = query_rows(
        athena,
        "SELECT dt, count(DISTINCT order_id) FROM orders GROUP BY dt ORDER BY dt",
        database=shop.RAW_DB,
    )
    return {day: int(count) for day, count in rows}
    ### END SOLUTION


# %%
catalog_raw(glue, athena)
orders_per_day(athena)

# %%
lab.check("raw_table")

# %% [markdown]
# ## Task 2: a Glue job to Parquet that processes only new files
#
# Write `create_etl_job(glue, s3)`: it puts a job script in S3 (in the bucket `shop-code`) and
# creates a Glue job that runs it; it returns the job's name. The job reads the raw orders
# (`s3://shop-lake/raw/orders/`) and writes them as **Parquet, compressed, partitioned by
# `dt`** under `s3://shop-lake/curated/orders/`. A **second run after new data must process
# only the new files**: turn job bookmarks on.
#
# The script defines `main(job)` and uses the sandbox's job context (the lesson shows it):
# `job.new_objects(url)`, `job.read(objects, "json")`, `job.sql(...)`,
# `job.write_parquet(relation, url, partition_by=[...], compression=...)`. The check runs
# your job, adds a day of raw files, runs it again, and reads what was written.


# %%
def create_etl_job(glue, s3):
    ...  # YOUR CODE HERE
    ### BEGIN SOLUTION
    script = """
def main(job):
    objects = job.new_objects(job.args["source"])
    if not objects:
        return  # nothing new since the last run
    orders = job.read(objects, "json")
    job.write_parquet(
        orders, job.args["target"], partition_by=["dt"], compression="snappy"
    )
"""
    s3.put_object(Bucket=shop.CODE, Key="jobs/orders_to_parquet.py", Body=script.encode())
    glue.create_job(
        Name="orders-to-parquet",
        Role="arn:aws:iam::123456789012:role/glue-etl",
        Command={
            "Name": "glueetl",
            "ScriptLocation": f"s3://{shop.CODE}/jobs/orders_to_parquet.py",
        },
        DefaultArguments={
            "--job-bookmark-option": "job-bookmark-enable",
            "--source": shop.RAW_URL,
            "--target": shop.CURATED_URL,
        },
    )
    return "orders-to-parquet"
    ### END SOLUTION


# %% tags=["solution"]
job_name = create_etl_job(glue, s3)
run_id = glue.start_job_run(JobName=job_name)["JobRunId"]
lab.clock.advance(300)
print(glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]["JobRunState"])
lab.etl_view()

# %%
# The curated Parquet (once your job has run) in the catalog for the next tasks: a crawler.
glue.create_database(DatabaseInput={"Name": shop.CURATED_DB})
glue.create_crawler(
    Name="curated-orders",
    Role="arn:aws:iam::123456789012:role/crawler",
    DatabaseName=shop.CURATED_DB,
    Targets={"S3Targets": [{"Path": shop.CURATED_URL}]},
)
glue.start_crawler(Name="curated-orders")
lab.clock.advance(300)

# %%
lab.check("etl_job")

# %% [markdown]
# ## Task 3: the same answer on a budget
#
# Write `revenue_on(athena, day)`: the revenue of the day's **paid** orders, each order once,
# from `curated.orders`, scanning **at most 40 % of that day's Parquet bytes**
# (`DataScannedInBytes` of your queries). The check compares the answer and the bytes on a
# lake of its own, and says what your query read.


# %%
def revenue_on(athena, day):
    ...  # YOUR CODE HERE
    ### BEGIN SOLUTION
    rows = query_rows(
        athena,
        "SELECT sum(amount) FROM (SELECT DISTINCT order_id, amount FROM orders "
        f"WHERE dt = '{day}' AND status = 'paid')",
        database=shop.CURATED_DB,
    )
    return float(rows[0][0])
    ### END SOLUTION


# %% tags=["solution"]
print(revenue_on(athena, "2026-03-02"))
lab.query_view()

# %%
lab.check("cost_budget")

# %% [markdown]
# ## Task 4: a warehouse for the join-heavy report, and Spectrum
#
# The cell below makes a two-node Redshift cluster `shop-dw`, the warehouse extract
# (`s3://shop-lake/warehouse/orders/`, Parquet, each order once; `s3://shop-lake/raw/customers/`,
# CSV with a header line), a role Redshift may assume to read them, and the Glue table
# `lake.orders` over the extract.
#
# - `load_warehouse(data, cluster, role_arn)`: create `orders` (order_id, customer_id, amount,
#   status, ts: the Parquet's columns, in that order) and `customers` (customer_id, name,
#   region) with **distribution keys that make the report's join co-located**, and load both
#   with `COPY` (`data` is a `redshift-data` client).
# - `REPORT_SQL`: paid revenue per customer region: two columns, the region and its revenue.
# - `spectrum_report(data, cluster, role_arn)`: the same report over the lake's table through
#   **Redshift Spectrum** (an external schema over the Glue database `lake`), nothing loaded;
#   return the statement's `Id`.

# %%
role_arn = shop.make_warehouse(lab.client, lake)
data = lab.client("redshift-data")


def run_sql(data, cluster, sql):
    """Run one statement with the Data API; its description once it finished."""
    sid = data.execute_statement(ClusterIdentifier=cluster, Database="dev", Sql=sql)["Id"]
    while True:
        described = data.describe_statement(Id=sid)
        if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            if described["Status"] != "FINISHED":
                raise RuntimeError(described.get("Error", described["Status"]))
            return described
        time.sleep(0.1)


# %%
def load_warehouse(data, cluster, role_arn):
    ...  # YOUR CODE HERE
    ### BEGIN SOLUTION
    run_sql(
        data,
        cluster,
        "CREATE TABLE orders (order_id VARCHAR(20), customer_id VARCHAR(8) DISTKEY, "
        "amount DECIMAL(10,2), status VARCHAR(10), ts TIMESTAMP) SORTKEY (ts)",
    )
    run_sql(
        data,
        cluster,
        "CREATE TABLE customers (customer_id VARCHAR(8) DISTKEY, name VARCHAR(40), "
        "region VARCHAR(10))",
    )
    run_sql(
        data,
        cluster,
        f"COPY orders FROM '{shop.WAREHOUSE_ORDERS_URL}' IAM_ROLE '{role_arn}' FORMAT AS PARQUET",
    )
    run_sql(
        data,
        cluster,
        f"COPY customers FROM '{shop.CUSTOMERS_URL}' IAM_ROLE '{role_arn}' CSV IGNOREHEADER 1",
    )
    ### END SOLUTION


REPORT_SQL = ...  # YOUR CODE HERE
### BEGIN SOLUTION
REPORT_SQL = """
SELECT c.region, sum(o.amount) AS revenue
FROM orders o JOIN customers c ON o.customer_id = c.customer_id
WHERE o.status = 'paid'
GROUP BY c.region
"""
### END SOLUTION


def spectrum_report(data, cluster, role_arn):
    ...  # YOUR CODE HERE
    ### BEGIN SOLUTION
    run_sql(
        data,
        cluster,
        f"CREATE EXTERNAL SCHEMA IF NOT EXISTS spectrum FROM DATA CATALOG DATABASE "
        f"'{shop.SPECTRUM_DB}' IAM_ROLE '{role_arn}'",
    )
    external = REPORT_SQL.replace("FROM orders o", "FROM spectrum.orders o")
    described = run_sql(data, cluster, external)
    return described["Id"]
    ### END SOLUTION


# %% tags=["solution"]
load_warehouse(data, shop.CLUSTER, role_arn)
lab.redshift_view(run_sql(data, shop.CLUSTER, REPORT_SQL)["Id"])

# %% tags=["solution"]
lab.redshift_view(spectrum_report(data, shop.CLUSTER, role_arn))

# %%
lab.check("warehouse")

# %% [markdown]
# ## Task 5: the incident's errors
#
# The cell below makes the OpenSearch domain `logs` and indexes a day of application logs in
# `app-logs` (`ts` date, `service` and `level` keywords, `message` text). Write
# `incident_errors(endpoint, start, end)`: the `_id` of **every `ERROR` log of the `checkout`
# service** with `start <= ts < end` (ISO times such as `2026-03-03T14:00:00Z`), found through
# the domain's REST API (`requests` at `endpoint`).

# %%
logs = shop.make_logs(shop.NOTEBOOK_SEED)
endpoint = shop.make_log_domain(lab.client, logs)
print(endpoint, logs.start, logs.end)


# %%
def incident_errors(endpoint, start, end):
    ...  # YOUR CODE HERE
    ### BEGIN SOLUTION
    query = {
        "size": 1000,
        "query": {
            "bool": {
                "filter": [
                    {"term": {"service": "checkout"}},
                    {"term": {"level": "ERROR"}},
                    {"range": {"ts": {"gte": start, "lt": end}}},
                ]
            }
        },
    }
    found = requests.get(f"{endpoint}/{shop.LOG_INDEX}/_search", json=query, timeout=10).json()
    return [hit["_id"] for hit in found["hits"]["hits"]]
    ### END SOLUTION


# %% tags=["solution"]
print(len(incident_errors(endpoint, logs.start, logs.end)), "errors in the incident")
lab.search_view()

# %%
lab.check("incident")

# %% [markdown]
# ## Task 6: a dashboard of daily metrics
#
# Write `daily_metrics(athena)`: `{day: (paid orders, revenue)}` for every day of
# `curated.orders`, each order once, **from Athena at each call**: the check calls it, adds a
# day of curated Parquet to S3 (the catalog does not know that day yet) and calls it again.


# %%
def daily_metrics(athena):
    ...  # YOUR CODE HERE
    ### BEGIN SOLUTION
    run_query(athena, "MSCK REPAIR TABLE orders", database=shop.CURATED_DB)
    rows = query_rows(
        athena,
        "SELECT dt, count(*), sum(amount) FROM (SELECT DISTINCT dt, order_id, amount "
        "FROM orders WHERE status = 'paid') GROUP BY dt ORDER BY dt",
        database=shop.CURATED_DB,
    )
    return {day: (int(orders), round(float(revenue), 2)) for day, orders, revenue in rows}
    ### END SOLUTION


# %%
daily_metrics(athena)

# %%
lab.check("dashboard")

# %% [markdown]
# ## Your score

# %%
lab.score()
