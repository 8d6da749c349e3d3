# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Analytics: a data lake with Athena and Glue, Redshift, OpenSearch and a dashboard
#
# The shop's systems now write everything down: every order lands in S3 as a line of JSON, one
# folder a day; the application logs go to a search engine. Nobody wants to run a database
# server to answer "how many orders yesterday?": a **data lake** keeps the files in S3 and
# brings the engines to them.
#
# In this sandbox the engines are real: Athena's SQL runs on DuckDB over the objects in the
# sandbox's S3 and counts the bytes it reads; a Glue crawler reads the files to infer their
# schema; Glue jobs write real Parquet; Redshift is a DuckDB database per cluster with a model
# of its slices; OpenSearch answers its REST API from SQLite's full-text engine. You will see:
#
# 1. **the lake and its catalog**: a crawler turns folders into tables and partitions;
# 2. **Athena**: SQL over S3, billed by the bytes scanned;
# 3. **Glue ETL with job bookmarks**: JSON to partitioned Parquet, new files only;
# 4. **what a query costs**: partitions pruned, columns read, formats;
# 5. **Redshift**: `COPY`, distribution keys and the rows a join moves, Spectrum;
# 6. **OpenSearch**: the logs of an incident;
# 7. **a dashboard** that follows new days.

# %%
import time

import matplotlib.pyplot as plt
import requests

import labkit
from labkit.facts import fact
from labkit.labs import analytics_support as shop

lab = labkit.start("analytics")
s3 = lab.client("s3")
glue = lab.client("glue")
athena = lab.client("athena")
lake = shop.make_lake(shop.NOTEBOOK_SEED, shop.NOTEBOOK_DAYS)
shop.write_raw(s3, lake)
for item in s3.list_objects_v2(Bucket=shop.LAKE)["Contents"]:
    print(f"{item['Size']:>9,}  s3://{shop.LAKE}/{item['Key']}")

# %% [markdown]
# ## 1. The lake and its catalog
#
# S3 holds files, not tables. The **Glue Data Catalog** holds the tables: a name, columns with
# types, a format, the S3 **location** whose objects are the table's rows, and the
# **partitions**. Folders named `key=value` (here `dt=2026-03-01`) are **Hive-style
# partitions**: the partition's value is in the path, not in the file.
#
# A **crawler** reads the objects under a path, infers a table per folder (formats, columns,
# nested types) and adds every partition it finds. It runs on the lab clock: `RUNNING`, then
# `READY` with its last crawl `SUCCEEDED`.

# %%
glue.create_database(DatabaseInput={"Name": shop.RAW_DB})
glue.create_crawler(
    Name="raw-orders",
    Role="arn:aws:iam::123456789012:role/crawler",
    DatabaseName=shop.RAW_DB,
    Targets={"S3Targets": [{"Path": shop.RAW_URL}]},
)
glue.start_crawler(Name="raw-orders")
print(glue.get_crawler(Name="raw-orders")["Crawler"]["State"])
lab.clock.advance(120)
print(glue.get_crawler(Name="raw-orders")["Crawler"]["State"])
table = glue.get_table(DatabaseName=shop.RAW_DB, Name="orders")["Table"]
print([(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]])

# %% [markdown]
# A day arrives after the crawl: its folder is in S3, but not in the catalog. Athena reads only
# the partitions the catalog holds, so that day is invisible until a crawl (or
# `MSCK REPAIR TABLE`, or `ALTER TABLE ADD PARTITION`) registers it. The **lake view** shows
# each table's schema, its partitions marked `✓ registered`, and `dt=2026-03-04` marked
# `✗ not in the catalog (Athena skips it)`.

# %%
late = "2026-03-04"
shop.add_day(lake, late)
shop.write_raw_day(s3, lake, late)
lab.lake_view()

# %% [markdown]
# ## 2. Athena: SQL over S3, billed by what it reads
#
# `start_query_execution` returns at once with an id; the query is `QUEUED`, then `RUNNING`,
# then `SUCCEEDED` (or `FAILED` with a reason) on the lab clock, and its result is a CSV in the
# **output location** you give. Poll `get_query_execution`, then read `get_query_results`.
#
# The ingest delivers **at least once**: part-1.json of each day repeats some orders of
# part-0.json. `count(*)` counts deliveries; `count(DISTINCT order_id)` counts orders.


# %%
def run_query(sql, database=shop.RAW_DB):
    """Run ``sql`` in Athena and wait; the finished QueryExecution."""
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


def rows_of(execution):
    """A finished query's rows (the header line left out)."""
    result = athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    return [[c.get("VarCharValue") for c in r["Data"]] for r in result["ResultSet"]["Rows"][1:]]


print(rows_of(run_query("MSCK REPAIR TABLE orders")))
counted = run_query(
    "SELECT dt, count(*) AS deliveries, count(DISTINCT order_id) AS orders "
    "FROM orders GROUP BY dt ORDER BY dt"
)
print(rows_of(counted))

# %% [markdown]
# Athena charges per byte scanned: `DataScannedInBytes`, rounded up to the megabyte, with a
# minimum per query. The **query view** shows the query, the partitions it read (`●`) and
# pruned (`○`), the objects opened, the bytes scanned and billed, the cost and a preview of the
# result. This query read every partition: it asked about every day.

# %%
price = fact("athena.price_per_tb_scanned")
minimum = fact("athena.min_billed_per_query")
print(f"Athena: ${price.value} per TB scanned, at least {minimum.value} MB a query")
print(f"(source: {price.source})")
lab.query_view(counted["QueryExecutionId"])

# %% [markdown]
# ## 3. Glue ETL: JSON to partitioned, compressed Parquet, new files only
#
# JSON is read whole: every field of every line, whatever the query names. **Parquet** stores
# each column apart, compressed, with statistics: a query that names three columns reads those
# three. A **Glue job** converts the lake. In the sandbox its script defines `main(job)`;
# `job.new_objects(url)` lists what to process: with **job bookmarks** on, only the objects no
# successful run has processed; `job.write_parquet` writes Hive-partitioned Parquet.

# %%
SCRIPT = """
def main(job):
    objects = job.new_objects(job.args["source"])
    if not objects:
        return
    orders = job.read(objects, "json")
    job.write_parquet(orders, job.args["target"], partition_by=["dt"], compression="snappy")
"""
s3.put_object(Bucket=shop.CODE, Key="jobs/to_parquet.py", Body=SCRIPT.encode())
glue.create_job(
    Name="orders-to-parquet",
    Role="arn:aws:iam::123456789012:role/glue-etl",
    Command={"Name": "glueetl", "ScriptLocation": f"s3://{shop.CODE}/jobs/to_parquet.py"},
    DefaultArguments={
        "--job-bookmark-option": "job-bookmark-enable",
        "--source": shop.RAW_URL,
        "--target": shop.CURATED_URL,
    },
)
first = glue.start_job_run(JobName="orders-to-parquet")["JobRunId"]
lab.clock.advance(300)
print(glue.get_job_run(JobName="orders-to-parquet", RunId=first)["JobRun"]["JobRunState"])

# %% [markdown]
# A new day arrives and the job runs again: the bookmark remembers the eight files of the first
# run, so the second run reads only the two new ones and adds one folder. The **ETL view**
# shows both runs `✓ SUCCEEDED`, the first with 8 objects read and 4 written (one a day), the
# second with 2 read and 1 written, and the bookmark now remembering 10 objects.

# %%
new_day = "2026-03-05"
shop.add_day(lake, new_day)
shop.write_raw_day(s3, lake, new_day)
second = glue.start_job_run(JobName="orders-to-parquet")["JobRunId"]
lab.clock.advance(300)
print(glue.get_job_run(JobName="orders-to-parquet", RunId=second)["JobRun"]["JobRunState"])
lab.etl_view()

# %% [markdown]
# ## 4. What a query costs: partitions, columns, formats
#
# A crawler over the curated prefix makes `curated.orders` (Parquet). Three queries answer the
# same question, the revenue of one day's paid orders, each order once:
#
# - on the raw JSON table, the day's folder only: every byte of that day's files;
# - on Parquet, the day picked by `ts` instead of `dt`: the columns named (`ts` too), but of
#   every day, since Athena can prune only on the partition key;
# - on Parquet with `dt = '...'` and three columns: one folder, three columns.

# %%
glue.create_database(DatabaseInput={"Name": shop.CURATED_DB})
glue.create_crawler(
    Name="curated-orders",
    Role="arn:aws:iam::123456789012:role/crawler",
    DatabaseName=shop.CURATED_DB,
    Targets={"S3Targets": [{"Path": shop.CURATED_URL}]},
)
glue.start_crawler(Name="curated-orders")
lab.clock.advance(120)

REVENUE = (
    "SELECT sum(amount) AS revenue FROM (SELECT DISTINCT order_id, amount FROM orders "
    "WHERE {where} status = 'paid')"
)
day = "2026-03-02"
tries = {
    "JSON, one day": run_query(REVENUE.format(where=f"dt = '{day}' AND"), shop.RAW_DB),
    "Parquet, every day (filter on ts)": run_query(
        REVENUE.format(where=f"CAST(ts AS date) = DATE '{day}' AND"), shop.CURATED_DB
    ),
    "Parquet, one day": run_query(REVENUE.format(where=f"dt = '{day}' AND"), shop.CURATED_DB),
}
for label, execution in tries.items():
    scanned = execution["Statistics"]["DataScannedInBytes"]
    print(f"{label:<36} {scanned:>9,} bytes  revenue {rows_of(execution)[0][0]}")
print(f"(the lake's answer: {lake.revenue(day):.2f})")

# %% [markdown]
# The last query read one partition and three columns. At the lab's sizes every query bills
# the 10 MB minimum; at a terabyte the bytes are the bill. The query view of the cheapest
# query: `● 1 of 5 read, ○ 4 pruned`.

# %%
lab.query_view(tries["Parquet, one day"]["QueryExecutionId"])

# %% [markdown]
# ## 5. Redshift: COPY, distribution keys, Spectrum
#
# For dashboards hit all day long, a **warehouse** keeps the data on its own disks. Redshift
# spreads each table's rows over the **slices** of its nodes (two per `ra3.xlplus` node).
# A join needs matching rows on the same slice: when both tables are distributed on the join
# column (`DISTKEY`), or the small one is on every node (`DISTSTYLE ALL`), nothing moves;
# otherwise rows are **redistributed** every time the query runs.
#
# The cell below makes the cluster `shop-dw`, the warehouse extract in S3 and a role Redshift
# may assume to read it; `COPY` loads a table from S3 in parallel.

# %%
print(fact("redshift.slices_per_node_ra3_xlplus").value, "slices per ra3.xlplus node")
role_arn = shop.make_warehouse(lab.client, lake)
data = lab.client("redshift-data")


def run_sql(sql):
    """One statement through the Redshift Data API; its description once finished."""
    sid = data.execute_statement(ClusterIdentifier=shop.CLUSTER, Database="dev", Sql=sql)["Id"]
    while True:
        described = data.describe_statement(Id=sid)
        if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return described
        time.sleep(0.1)


run_sql(
    "CREATE TABLE orders (order_id VARCHAR(20), customer_id VARCHAR(8), amount DECIMAL(10,2), "
    "status VARCHAR(10), ts TIMESTAMP)"
)
run_sql("CREATE TABLE customers (customer_id VARCHAR(8), name VARCHAR(40), region VARCHAR(10))")
print(
    run_sql(
        f"COPY orders FROM '{shop.WAREHOUSE_ORDERS_URL}' IAM_ROLE '{role_arn}' FORMAT AS PARQUET"
    )["ResultRows"],
    "orders loaded",
)
print(
    run_sql(f"COPY customers FROM '{shop.CUSTOMERS_URL}' IAM_ROLE '{role_arn}' CSV IGNOREHEADER 1")[
        "ResultRows"
    ],
    "customers loaded",
)
REPORT = (
    "SELECT c.region, sum(o.amount) AS revenue FROM {orders} o "
    "JOIN customers c ON o.customer_id = c.customer_id WHERE o.status = 'paid' GROUP BY c.region"
)
even = run_sql(REPORT.format(orders="orders"))

# %% [markdown]
# Neither table has a key: Redshift spreads them evenly, and the join must move rows. The
# Redshift view shows the join's step `⇄ redistributed` with the rows sent to another slice
# and to another node.

# %%
lab.redshift_view(even["Id"])

# %% [markdown]
# Spectrum reads the lake's tables in place: an **external schema** over a Glue database, then
# plain SQL. Nothing is loaded; Spectrum bills the bytes it reads from S3. Its view shows the
# bytes Spectrum read and their price.

# %%
run_sql(
    f"CREATE EXTERNAL SCHEMA spectrum FROM DATA CATALOG DATABASE '{shop.SPECTRUM_DB}' "
    f"IAM_ROLE '{role_arn}'"
)
lab.redshift_view(run_sql(REPORT.format(orders="spectrum.orders"))["Id"])

# %% [markdown]
# ## 6. OpenSearch: the logs of an incident
#
# The domain `logs` answers OpenSearch's REST API at its endpoint: index documents, then
# search them with the query DSL. The lab's domain policy allows any caller
# (`"Principal": {"AWS": "*"}`), so plain unsigned `requests` work; a real domain's policy names
# your roles, and each request is signed with SigV4 (the sandbox, too, refuses any caller the
# policy does not allow). `term` matches a keyword field exactly (case included),
# `range` bounds a date, `match` searches text. A search returns only its first 10 hits
# unless it sets `size` (or pages with `from`), whatever `hits.total` counts: that is
# OpenSearch's own default ("If you don't specify size, a search returns 10 hits",
# https://docs.opensearch.org/latest/search-plugins/searching-data/paginate/).

# %%
logs = shop.make_logs(shop.NOTEBOOK_SEED)
endpoint = shop.make_log_domain(lab.client, logs)
search = {
    "query": {
        "bool": {
            "filter": [
                {"term": {"service": "checkout"}},
                {"term": {"level": "ERROR"}},
                {"range": {"ts": {"gte": logs.start, "lt": logs.end}}},
            ]
        }
    }
}
found = requests.get(f"{endpoint}/{shop.LOG_INDEX}/_search", json=search, timeout=10).json()
print(found["hits"]["total"], "matched;", len(found["hits"]["hits"]), "returned")
search["size"] = 1000
found = requests.get(f"{endpoint}/{shop.LOG_INDEX}/_search", json=search, timeout=10).json()
print(len(found["hits"]["hits"]), "returned with size 1000")

# %% [markdown]
# The search view shows the index (documents, how many are searchable, its mappings) and the
# last search with its hits.

# %%
lab.search_view()

# %% [markdown]
# ## 7. A dashboard that follows new days
#
# A dashboard is a query run again at each refresh. The catalog must know the new days first
# (here `MSCK REPAIR TABLE`), then one grouped query returns each day's paid orders and
# revenue, each order once. A new day of Parquet lands after the first drawing; the refresh
# picks it up.


# %%
def daily_metrics():
    """Each day's paid orders and revenue, from Athena now."""
    run_query("MSCK REPAIR TABLE orders", shop.CURATED_DB)
    execution = run_query(
        "SELECT dt, count(*), sum(amount) FROM (SELECT DISTINCT dt, order_id, amount "
        "FROM orders WHERE status = 'paid') GROUP BY dt ORDER BY dt",
        shop.CURATED_DB,
    )
    return {d: (int(n), float(r)) for d, n, r in rows_of(execution)}


def draw(metrics):
    """Revenue per day as bars, each labelled with its paid orders."""
    _, axes = plt.subplots(figsize=(7, 3))
    days = list(metrics)
    bars = axes.bar(days, [metrics[d][1] for d in days], color="#4c72b0", hatch="//")
    axes.bar_label(bars, labels=[f"{metrics[d][0]} orders" for d in days])
    axes.set_ylabel("revenue (paid orders)")
    axes.set_title("Daily revenue from curated.orders")
    plt.show()


draw(daily_metrics())

# %%
refreshed_day = "2026-03-06"
shop.add_day(lake, refreshed_day)
shop.write_curated_day(s3, lake, refreshed_day)
metrics = daily_metrics()
print(refreshed_day in metrics, metrics[refreshed_day])
draw(metrics)

# %% [markdown]
# ## Summary
#
# - A lake is files in S3 plus a **catalog**: tables with a location, a schema and partitions.
#   A crawler infers them; a folder the catalog does not hold is invisible to Athena until a
#   crawl, `MSCK REPAIR TABLE` or `ALTER TABLE ADD PARTITION` registers it.
# - **Athena** runs SQL where the data is and bills the bytes it scans (rounded up to the MB,
#   10 MB at least). Partition filters skip folders; Parquet lets it read only the columns
#   named; JSON is read whole.
# - A **Glue job** with **bookmarks** processes only what no successful run processed: each
#   run adds new Parquet beside the old.
# - Data arrives **at least once**: count `DISTINCT` ids, or deduplicate before summing.
# - In **Redshift**, distribute tables on the join column (or copy a small table to every node)
#   so joins move nothing; **Spectrum** queries the lake in place.
# - **OpenSearch** filters with `term` on keywords and `range` on dates, and returns 10 hits
#   unless `size` asks for more.
# - A **dashboard** refresh is a new query after the catalog is up to date.
