# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Analytics: a data lake with Athena and Glue, Redshift, OpenSearch, QuickSight and EMR
#
# The shop's systems now write everything down: every order lands in S3 as a line of JSON, one
# folder a day; the application logs go to a search engine. Nobody wants to run a database
# server to answer "how many orders yesterday?": a **data lake** keeps the files in S3 and
# brings the engines to them.
#
# In this sandbox the engines are real: Athena's SQL runs on DuckDB over the objects in the
# sandbox's S3 and counts the bytes it reads; a Glue crawler reads the files to infer their
# schema; Glue jobs write real Parquet; Redshift is a DuckDB database per cluster with a model
# of its slices; OpenSearch answers its REST API from SQLite's full-text engine; EMR runs PySpark
# jobs on an engine that implements the PySpark API (or on real Spark when installed). You will
# see:
#
# 1. **the lake and its catalog**: a crawler turns folders into tables and partitions;
# 2. **Athena**: SQL over S3, billed by the bytes scanned;
# 3. **Glue ETL with job bookmarks**: JSON to partitioned Parquet, new files only;
# 4. **what a query costs**: partitions pruned, columns read, formats;
# 5. **Redshift**: `COPY`, distribution keys and the rows a join moves, Spectrum;
# 6. **OpenSearch**: the logs of an incident;
# 7. **QuickSight**: a dashboard over Athena that follows new days, refreshed into SPICE;
# 8. **EMR**: the same PySpark job on one machine and on a cluster;
# 9. **a federated query**: the lake joined with a DynamoDB table through a Lambda connector;
# 10. **Lake Formation row filters**: who sees which rows and columns.

# %%
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
        lab.clock.advance(1)  # nothing sleeps: the lab clock moves the query on


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
        lab.clock.advance(1)  # nothing sleeps: the lab clock moves the query on


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
# ## 7. QuickSight: a dashboard that follows new days
#
# **Amazon QuickSight** draws dashboards from **data sets**. A data set reads a **data source**,
# here Athena, through a table or a query of yours (`CustomSql`). In **SPICE** mode QuickSight
# keeps its own in-memory copy of the rows: visuals read the copy, fast and without running (and
# paying for) an Athena query at each view, and the copy changes only when an **ingestion** (a
# refresh) completes. In `DIRECT_QUERY` mode each view queries Athena again.
#
# The data set below is one grouped query: each day's paid orders and revenue from
# `curated.orders`, each order once. Creating a SPICE data set starts its first ingestion, which
# completes on the lab clock.
#
# What the sandbox does: a data set over an Athena data source is queried by the same engine as
# Athena; an ingestion runs its query when it starts and completes on the lab clock;
# `lab.dashboard_view(data_set, x=..., y=...)` draws what a visual of the data set shows now, as a
# chart and as a table of the same numbers. What it does not model: analyses, dashboards and
# their permissions (a visual here is drawn straight from its data set), users and SPICE capacity.

# %%
print("ingestion states:", fact("quicksight.ingestion_statuses").value)
qs = lab.client("quicksight")
account = lab.client("sts").get_caller_identity()["Account"]
lake_source = qs.create_data_source(
    AwsAccountId=account,
    DataSourceId="lake-athena",
    Name="The lake, through Athena",
    Type="ATHENA",
    DataSourceParameters={"AthenaParameters": {"WorkGroup": "primary"}},
)
made = qs.create_data_set(
    AwsAccountId=account,
    DataSetId="daily-metrics",
    Name="Daily metrics",
    ImportMode="SPICE",
    PhysicalTableMap={
        "daily": {
            "CustomSql": {
                "DataSourceArn": lake_source["Arn"],
                "Name": "paid orders and revenue per day",
                "SqlQuery": (
                    "SELECT dt, count(*) AS orders, round(sum(amount), 2) AS revenue FROM "
                    "(SELECT DISTINCT dt, order_id, amount FROM curated.orders "
                    "WHERE status = 'paid') GROUP BY dt"
                ),
                "Columns": [
                    {"Name": "dt", "Type": "STRING"},
                    {"Name": "orders", "Type": "INTEGER"},
                    {"Name": "revenue", "Type": "DECIMAL"},
                ],
            }
        }
    },
)


def ingestion(ingestion_id):
    """An ingestion's status and the rows it copied into SPICE."""
    found = qs.describe_ingestion(
        AwsAccountId=account, DataSetId="daily-metrics", IngestionId=ingestion_id
    )["Ingestion"]
    return found["IngestionStatus"], found.get("RowInfo", {}).get("RowsIngested")


print("first ingestion:", ingestion(made["IngestionId"]))
lab.clock.advance(60)
print("a minute later:", ingestion(made["IngestionId"]))
lab.dashboard_view("daily-metrics", x="dt", y="revenue")

# %% [markdown]
# A new day of Parquet lands in `curated/orders/`. The dashboard does not change: it shows
# SPICE's copy. A refresh runs the data set's query again, but Athena reads only the partitions
# the catalog holds, so a refresh before the catalog knows the day still shows five days.
# `MSCK REPAIR TABLE` registers the new folder; the next refresh brings the day in.


# %%
def refresh(ingestion_id):
    """Start a full refresh, let the lab clock finish it; print what the visual shows then."""
    qs.create_ingestion(
        AwsAccountId=account,
        DataSetId="daily-metrics",
        IngestionId=ingestion_id,
        IngestionType="FULL_REFRESH",
    )
    lab.clock.advance(60)
    shown = lab.dashboard_view("daily-metrics", x="dt", y="revenue").points
    print(f"{ingestion_id}: {ingestion(ingestion_id)}; days shown: {len(shown)}")


refreshed_day = "2026-03-06"
shop.add_day(lake, refreshed_day)
shop.write_curated_day(s3, lake, refreshed_day)
shown = lab.dashboard_view("daily-metrics", x="dt", y="revenue").points
print(f"before any refresh: days shown: {len(shown)}")
refresh("before-the-repair")
run_query("MSCK REPAIR TABLE orders", shop.CURATED_DB)
refresh("after-the-repair")
print(f"(the lake's answer for {refreshed_day}: {lake.revenue(refreshed_day):.2f})")

# %% [markdown]
# The visual after the last refresh: six days, `2026-03-06` among them, its heading naming the
# ingestion `after-the-repair` its rows come from.

# %%
lab.dashboard_view("daily-metrics", x="dt", y="revenue")

# %% [markdown]
# ## 8. EMR: the same job on one machine and on a cluster
#
# Athena answers questions; some work is a *job*: read every raw order, compute the daily
# metrics, write them back to the lake as partitioned Parquet, every night. When the raw data
# outgrows one machine, that job runs on **Amazon EMR**: a cluster of EC2 instances running
# Apache Spark. A cluster has three kinds of node: the **primary** node manages the cluster (one,
# or three for high availability), **core** nodes run tasks and hold HDFS data, **task** nodes
# only run tasks. You give the cluster work as **steps**: each step runs one command, here
# `spark-submit s3://.../job.py`, and steps run one after another, each `PENDING`, `RUNNING`,
# then `COMPLETED` or `FAILED`. A step's `ActionOnFailure` says what a failure does to the rest:
# `CONTINUE`, `CANCEL_AND_WAIT` (cancel the pending steps, keep the cluster) or
# `TERMINATE_CLUSTER`.
#
# The job is written with the **PySpark DataFrame API**. The point of that API is that the same
# script runs on one machine (a laptop, a notebook) and on a hundred: Spark splits the reading,
# the grouping and the writing across the cluster's nodes; your code does not change.
#
# What the sandbox does: the cluster's steps run on the lab clock, and each step's script runs
# unchanged on an *embedded* engine that implements the PySpark API on one machine (sqlframe, over
# DuckDB), reading and writing the sandbox's S3. When real Spark is installed
# (`pip install 'labkit[spark]'`, with Java 17), the same step can run on Apache Spark in local
# mode instead. The step's log says which engine ran it. What the sandbox does not model: how
# Spark splits work across nodes, and so how much faster more nodes would be.
#
# The job computes the dashboard's numbers from the raw JSON: the `dt=...` folders become a `dt`
# column, each order is kept once (the ingest delivers at least once), then the paid orders are
# counted and summed per day.

# %%
import gzip

print("EMR node types:", fact("emr.node_roles").value)
print("When a step fails:", fact("emr.action_on_failure").value)

JOB = """
import sys
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

source, target = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.appName("daily-metrics").getOrCreate()

orders = spark.read.json(source)
paid = orders.dropDuplicates(["order_id"]).where(F.col("status") == "paid")
daily = paid.groupBy("dt").agg(
    F.count("*").alias("orders"),
    F.round(F.sum("amount"), 2).alias("revenue"),
)
daily.write.mode("overwrite").partitionBy("dt").parquet(target)
print(f"wrote {daily.count()} days to {target}")
"""

EMR_LOGS = "shop-emr-logs"
METRICS_URL = f"s3://{shop.LAKE}/curated/daily_metrics/"
s3.create_bucket(Bucket=EMR_LOGS)
s3.put_object(Bucket=shop.CODE, Key="jobs/daily_metrics.py", Body=JOB.encode())
print(f"the job: s3://{shop.CODE}/jobs/daily_metrics.py")

# %% [markdown]
# Now a cluster: one primary and two core nodes, with Spark, and the job as its first step.
# `KeepJobFlowAliveWhenNoSteps=True` keeps it running after the step, for the run on real Spark
# below; a nightly batch cluster would say `False` and shut down (and stop costing) when its
# steps are done. `LogUri` is where EMR archives each step's logs.

# %%
emr = lab.client("emr")


def job_step(name):
    """A spark-submit step running the job over every raw order."""
    return {
        "Name": name,
        "ActionOnFailure": "CANCEL_AND_WAIT",
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": [
                "spark-submit",
                "--deploy-mode",
                "cluster",
                f"s3://{shop.CODE}/jobs/daily_metrics.py",
                shop.RAW_URL,
                METRICS_URL,
            ],
        },
    }


cluster_id = emr.run_job_flow(
    Name="analytics",
    ReleaseLabel="emr-7.5.0",
    Applications=[{"Name": "Spark"}],
    LogUri=f"s3://{EMR_LOGS}/emr/",
    Instances={
        "MasterInstanceType": "m5.xlarge",
        "SlaveInstanceType": "m5.xlarge",
        "InstanceCount": 3,
        "KeepJobFlowAliveWhenNoSteps": True,
    },
    JobFlowRole="EMR_EC2_DefaultRole",
    ServiceRole="EMR_DefaultRole",
    Steps=[job_step("daily metrics")],
)["JobFlowId"]


def show_cluster():
    """The cluster's state and its steps' states, at the lab time."""
    state = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]
    steps = [
        (s["Name"], s["Status"]["State"]) for s in emr.list_steps(ClusterId=cluster_id)["Steps"]
    ]
    print(f"{lab.clock.now:%H:%M:%S}  cluster {state:<10} steps {steps}")


show_cluster()
lab.clock.advance(300)  # provisioning the nodes
show_cluster()
lab.clock.advance(120)
show_cluster()

# %% [markdown]
# The step's logs are in S3, where EMR archives them: `stdout` is what the script printed, and
# the `controller` log says how the step ran, including which engine ran it in this sandbox.
# The **EMR view** shows the cluster, its nodes by role and its step `✓ COMPLETED` with the
# engine that ran it.


# %%
def step_log(step_id, name):
    """One of a step's archived logs, unzipped."""
    key = f"emr/{cluster_id}/steps/{step_id}/{name}.gz"
    body = s3.get_object(Bucket=EMR_LOGS, Key=key)["Body"].read()
    return gzip.decompress(body).decode()


first_step = emr.list_steps(ClusterId=cluster_id)["Steps"][0]["Id"]
print(step_log(first_step, "stdout"))
print(step_log(first_step, "controller"))
written = s3.list_objects_v2(Bucket=shop.LAKE, Prefix="curated/daily_metrics/")["Contents"]
print("\n".join(o["Key"] for o in written))
lab.emr_view(cluster_id)

# %% [markdown]
# Spark wrote what it always writes: one `dt=...` folder per partition value (the column is not
# repeated inside the files), Snappy-compressed Parquet files named `part-00000-<job id>.c000...`,
# and an empty `_SUCCESS` marker that Athena skips. Athena can query the job's output, and its
# numbers are the dashboard's for the five days the raw lake holds (`2026-03-06` landed as
# Parquet only).

# %%
run_query(
    "CREATE EXTERNAL TABLE IF NOT EXISTS daily_metrics (orders bigint, revenue double) "
    f"PARTITIONED BY (dt string) STORED AS PARQUET LOCATION '{METRICS_URL}'",
    shop.CURATED_DB,
)
run_query("MSCK REPAIR TABLE daily_metrics", shop.CURATED_DB)
from_emr = rows_of(
    run_query("SELECT dt, orders, revenue FROM daily_metrics ORDER BY dt", shop.CURATED_DB)
)
on_dashboard = dict(lab.dashboard_view("daily-metrics", x="dt", y="revenue").points)
for dt, orders, revenue in from_emr:
    print(
        f"{dt}  {orders:>4} paid orders  {float(revenue):>10.2f}  dashboard {on_dashboard[dt]:.2f}"
    )

# %% [markdown]
# **The same job on real Spark.** Nothing in the script is specific to the sandbox's engine. If
# `pyspark` is installed here, the next cell runs the same step on Apache Spark in local mode
# (all cores of this machine) and its controller log says so; on a real EMR cluster the same
# script runs on Spark across the core nodes.

# %%
import importlib.util
import os

if importlib.util.find_spec("pyspark") is None:
    print("pyspark is not installed: the sandbox ran the job on its embedded engine.")
else:
    os.environ["LABKIT_EMR_ENGINE"] = "spark"
    try:
        [spark_step] = emr.add_job_flow_steps(
            JobFlowId=cluster_id, Steps=[job_step("daily metrics on Spark")]
        )["StepIds"]
        lab.clock.advance(120)
        print(step_log(spark_step, "controller"))
    finally:
        os.environ.pop("LABKIT_EMR_ENGINE")

# %% [markdown]
# A cluster costs money for every second it runs, steps or not: terminate it when the work is
# done (or let `KeepJobFlowAliveWhenNoSteps=False` do it). Its logs stay in S3.

# %%
emr.terminate_job_flows(JobFlowIds=[cluster_id])
show_cluster()

# %% [markdown]
# ## 9. Query anywhere: a federated query
#
# Not every answer lives in the lake. The customers' loyalty tiers sit in a DynamoDB table that
# the shop's app writes every second; copying it to S3 every night would give yesterday's tiers.
# Athena can read it where it is: a **data source connector** is a Lambda function that Athena
# calls to list a source's schemas and tables, learn a table's columns and read its rows. Register
# the function as a **data catalog of type `LAMBDA`**, and a query names its tables as
# `"catalog"."schema"."table"`, next to (and joined with) the lake's tables.
#
# What the sandbox does, and what it simplifies:
#
# - The connector speaks the Athena Query Federation SDK's requests, in a reduced JSON form:
#   `ListSchemasRequest`, `ListTablesRequest`, `GetTableRequest`, `ReadRecordsRequest` (real
#   connectors exchange Apache Arrow blocks, split big tables and receive the query's predicates;
#   here one request reads the whole table and the engine filters).
# - Each request is one Lambda invocation: it shows in the function's logs and is billed by
#   Lambda.
# - `DataScannedInBytes` adds what the connector returned to what was read from S3: Athena bills
#   the bytes it scans across all the sources of a query, at the same price per TB and with the
#   same minimum per query as any query.
#
# First the source: a DynamoDB table `loyalty` with each customer's tier.

# %%
dynamodb = lab.client("dynamodb")
dynamodb.create_table(
    TableName="loyalty",
    KeySchema=[{"AttributeName": "customer_id", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "customer_id", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
TIERS = ("gold", "silver", "bronze")
for n, (customer_id, _, _) in enumerate(lake.customers):
    dynamodb.put_item(
        TableName="loyalty",
        Item={"customer_id": {"S": customer_id}, "tier": {"S": TIERS[n % len(TIERS)]}},
    )
print(dynamodb.describe_table(TableName="loyalty")["Table"]["ItemCount"], "customers with a tier")

# %% [markdown]
# labkit ships a ready connector for DynamoDB, like AWS's prebuilt one: every table of the
# account appears in the schema `default`, with columns inferred from a sample of its items.
# Deploy it as a Lambda function and register it as the catalog `ddb`:

# %%
from labkit.services.athena.connectors import dynamodb_connector

connector_arn = lab.deploy_function(dynamodb_connector.lambda_handler, name="ddb-connector")
athena.create_data_catalog(Name="ddb", Type="LAMBDA", Parameters={"function": connector_arn})
print([c["CatalogName"] for c in athena.list_data_catalogs()["DataCatalogsSummary"]])

# %% [markdown]
# Revenue by loyalty tier: the orders come from S3 (Parquet, each paid order once), the tiers
# from DynamoDB, in one query. Its **query view** lists the connector's table beside the lake's:
# `federated: read by its Lambda connector`, with the bytes of its `ReadRecords` response counted
# in the bytes scanned.

# %%
by_tier = run_query(
    """
    SELECT l.tier, count(*) AS orders, round(sum(o.amount), 2) AS revenue
    FROM (SELECT DISTINCT order_id, customer_id, amount FROM orders WHERE status = 'paid') o
    JOIN "ddb"."default"."loyalty" l ON o.customer_id = l.customer_id
    GROUP BY l.tier
    ORDER BY revenue DESC
    """,
    shop.CURATED_DB,
)
print(by_tier["Status"]["State"], rows_of(by_tier))
federated_minimum = fact("athena.federated_min_billed_per_query")
print(f"billed as at least {federated_minimum.value} MB ({federated_minimum.source})")
lab.query_view(by_tier["QueryExecutionId"])

# %% [markdown]
# Every request Athena sent is an invocation of the connector. Its logs show them: the
# `ListSchemas`, `ListTables` and `GetTable` requests that planned the query, then the
# `ReadRecords` that scanned the table.

# %%
cloudwatch_logs = lab.client("logs")
group = "/aws/lambda/ddb-connector"
for stream in cloudwatch_logs.describe_log_streams(logGroupName=group)["logStreams"]:
    events = cloudwatch_logs.get_log_events(
        logGroupName=group, logStreamName=stream["logStreamName"]
    )
    for event in events["events"]:
        if not event["message"].startswith(("START", "END", "REPORT", "INIT_START")):
            print(event["message"].rstrip())

# %% [markdown]
# A connector of your own is a Lambda handler answering those four requests. The helpers in
# `labkit.services.athena.connectors.sdk` build the responses: `sdk.serve(event, tables)` answers
# every request from a dict of tables. A connector that fails fails the query, with its message
# in `StateChangeReason`, so the first place to look is the function's logs.

# %%
from labkit.services.athena.connectors import sdk


def warehouse_stock(event, context):
    """A connector serving one table, inventory.stock."""
    columns = [("sku", "string"), ("stock", "bigint")]
    rows = [{"sku": "A-1", "stock": 3}, {"sku": "B-2", "stock": 0}, {"sku": "C-3", "stock": 12}]
    return sdk.serve(event, {("inventory", "stock"): (columns, rows)})


def offline_source(event, context):
    """A connector whose database is down."""
    raise ConnectionError("the warehouse database is down for maintenance")


for name, handler in (("warehouse", warehouse_stock), ("offline", offline_source)):
    arn = lab.deploy_function(handler, name=f"{name}-connector")
    athena.create_data_catalog(Name=name, Type="LAMBDA", Parameters={"function": arn})

print(rows_of(run_query('SELECT sku FROM "warehouse"."inventory"."stock" WHERE stock = 0')))
failed = run_query('SELECT * FROM "offline"."inventory"."stock"')
print(failed["Status"]["State"], failed["Status"]["StateChangeReason"])

# %% [markdown]
# ## 10. Who sees which rows: Lake Formation
#
# The support team handles refunds: it may read the refunded orders, not the others, and not
# the customers' free-text delivery notes. IAM cannot say that: it allows a whole table or
# nothing. **Lake Formation** governs the data of an S3 location once the location is
# *registered* with it, and its grants go down to columns, rows and cells:
#
# - a **data cells filter** belongs to one table: a **row filter** (a PartiQL condition such as
#   `status = 'refunded'`, or `AllRowsWildcard` for every row) and the columns (`ColumnNames`,
#   or `ColumnWildcard` with `ExcludedColumnNames`);
# - granting `SELECT` on the filter to a principal makes Athena show that principal only those
#   columns of those rows; grants add up; a principal without any grant on a governed table is
#   refused.
#
# Two analysts sign in as IAM users: `support` gets the filter on `curated.orders`, `intern`
# gets nothing. (In a real account each also needs IAM permissions for Athena, the catalog, the
# results bucket and `lakeformation:GetDataAccess`; the sandbox checks only Lake Formation's
# grants.)

# %%
iam = lab.client("iam")


def signed_in_athena(user):
    """An Athena client signed as a new IAM user, and the user's ARN."""
    user_arn = iam.create_user(UserName=user)["User"]["Arn"]
    key = iam.create_access_key(UserName=user)["AccessKey"]
    client = lab.client(
        "athena",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    return client, user_arn


def run_as(client, sql):
    """``sql`` on curated, asked by ``client``'s caller: state, reason and rows (header first)."""
    qid = client.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": shop.CURATED_DB},
        ResultConfiguration={"OutputLocation": shop.RESULTS_URL},
    )["QueryExecutionId"]
    while True:
        status = client.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        lab.clock.advance(1)  # nothing sleeps: the lab clock moves the query on
    rows = []
    if status["State"] == "SUCCEEDED":
        result = client.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
        rows = [[d.get("VarCharValue") for d in r["Data"]] for r in result]
    return status["State"], status.get("StateChangeReason"), rows


support_athena, support_arn = signed_in_athena("support")
intern_athena, _ = signed_in_athena("intern")

lakeformation = lab.client("lakeformation")
curated_arn = f"arn:aws:s3:::{shop.LAKE}/{shop.CURATED_PREFIX.rstrip('/')}"
lakeformation.register_resource(ResourceArn=curated_arn, UseServiceLinkedRole=True)
refunds = {
    "TableCatalogId": account,
    "DatabaseName": shop.CURATED_DB,
    "TableName": "orders",
    "Name": "refunds-without-notes",
}
lakeformation.create_data_cells_filter(
    TableData={
        **refunds,
        "RowFilter": {"FilterExpression": "status = 'refunded'"},
        "ColumnWildcard": {"ExcludedColumnNames": ["note"]},
    }
)
lakeformation.grant_permissions(
    Principal={"DataLakePrincipalIdentifier": support_arn},
    Resource={"DataCellsFilter": refunds},
    Permissions=["SELECT"],
)
print(f"SELECT on the filter {refunds['Name']} granted to {support_arn}")

# %% [markdown]
# The same query, asked by each. `support` sees only the rows whose status is `refunded`
# (`'Refunded'` would match nothing: comparisons in row filters are case-sensitive), without the
# `note` column; asking for `note` fails as if the column did not exist. `intern` is refused.

# %%
state, reason, rows = run_as(support_athena, "SELECT * FROM orders ORDER BY order_id")
print("support:", state, rows[0], f"{len(rows) - 1} rows")
print("  statuses:", sorted({row[rows[0].index("status")] for row in rows[1:]}))
refunded = sum(1 for d in lake.days for o in lake.rows(d) if o.status == "refunded")
print(f"  (the lake holds {refunded} refunded rows, redeliveries included)")
print("support asks for notes:", run_as(support_athena, "SELECT note FROM orders LIMIT 1")[1])
print("intern:", run_as(intern_athena, "SELECT order_id FROM orders LIMIT 1")[1])

# %% [markdown]
# A row filter is a *subset* of PartiQL: a column compared with constants (`=, >, <, >=, <=, <>,
# !=, BETWEEN, IN, LIKE, NOT, IS [NOT] NULL`), combined with `AND` / `OR`, no functions, no
# column compared with another column, shorter than the limit below. Lake Formation refuses
# anything else when the filter is created.

# %%
limit = fact("lakeformation.row_filter_expression_max_chars")
print(f"at most {limit.value - 1} characters ({limit.source})")
try:
    lakeformation.create_data_cells_filter(
        TableData={
            **refunds,
            "Name": "any-case",
            "RowFilter": {"FilterExpression": "upper(status) = 'REFUNDED'"},
            "ColumnWildcard": {"ExcludedColumnNames": []},
        }
    )
except lakeformation.exceptions.InvalidInputException as refused:
    print(refused.response["Error"]["Code"], "-", refused.response["Error"]["Message"])

# %% [markdown]
# In the sandbox, registering the location handed the table to Lake Formation: only its grants
# said who reads it. In a real account, a table created while the data lake settings say "Use
# only IAM access control" (the default: `ALL` granted to `IAM_ALLOWED_PRINCIPALS`) stays under
# IAM until an administrator revokes that grant; revoke it, or your filters protect nothing.
# Here the location is deregistered again, and the orders are yours to query under IAM alone.

# %%
lakeformation.deregister_resource(ResourceArn=curated_arn)
print(rows_of(run_query("SELECT count(*) AS rows FROM orders", shop.CURATED_DB)))

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
# - A **QuickSight** SPICE data set shows the copy its last completed ingestion made: a new day
#   shows after a refresh, and only if the catalog knew the day when the refresh ran.
# - **EMR** runs PySpark jobs as steps on a cluster: the same script runs on one machine (here,
#   the embedded engine; real Spark in local mode when installed) and on many nodes. Terminate
#   a cluster when its steps are done.
# - A **federated query** reads other sources through a Lambda connector registered as a data
#   catalog, joined with the lake in one SQL statement; the connector's bytes count as scanned,
#   and a failing connector fails the query.
# - **Lake Formation** row and cell filters show each principal only its rows and columns of a
#   registered location; a principal without a grant is refused.
