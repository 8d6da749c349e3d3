"""EMR in the sandbox: clusters start, run spark-submit steps in order on the lab clock, log to S3,
honour ActionOnFailure and shut down when done; a step's Parquet is what Athena then queries."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest

import labkit
from labkit.lab import Lab
from labkit.services.emr import sim_spark
from labkit.services.emr.sim_steps import START_SECONDS

DAILY = b"""
import sys
from pyspark.sql import SparkSession, functions as F

spark = SparkSession.builder.appName("daily").getOrCreate()
orders = spark.read.json(sys.argv[1])
daily = orders.groupBy("day").agg(F.sum("amount").alias("revenue"), F.count("*").alias("orders"))
daily.write.mode("overwrite").partitionBy("day").parquet(sys.argv[2])
print("days written:", daily.count())
"""
FAILING = b"""
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
raise RuntimeError("the orders feed is empty")
"""
#: Reads what DAILY wrote: it only succeeds after DAILY ran.
TOTAL = b"""
import sys
from pyspark.sql import SparkSession, functions as F
spark = SparkSession.builder.getOrCreate()
total = spark.read.parquet(sys.argv[1]).agg(F.sum("orders").alias("n")).collect()[0]["n"]
print("orders:", total)
"""


@pytest.fixture(autouse=True)
def no_sandbox_left_running() -> None:
    """The module's one sandbox keeps running between its tests (conftest stops leftovers)."""


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    s3 = lab.client("s3")
    for bucket in ("lake", "emr-logs", "results"):
        s3.create_bucket(Bucket=bucket)
    rows = [
        {"order_id": i, "day": f"2026-01-0{1 + i % 3}", "amount": i * 2.5, "sku": "ab"[i % 2]}
        for i in range(60)
    ]
    s3.put_object(
        Bucket="lake",
        Key="raw/orders/2026-01.json",
        Body="\n".join(json.dumps(r) for r in rows).encode(),
    )
    for name, body in (("daily.py", DAILY), ("failing.py", FAILING), ("total.py", TOTAL)):
        s3.put_object(Bucket="lake", Key=f"jobs/{name}", Body=body)
    yield lab
    lab.stop()


def step(name: str, script: str, *args: str, on_failure: str = "CONTINUE") -> dict[str, Any]:
    return {
        "Name": name,
        "ActionOnFailure": on_failure,
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": ["spark-submit", "--deploy-mode", "cluster", f"s3://lake/jobs/{script}", *args],
        },
    }


def cluster(lab: Lab, steps: list[dict[str, Any]], *, keep_alive: bool) -> str:
    emr = lab.client("emr")
    made = emr.run_job_flow(
        Name="analytics",
        ReleaseLabel="emr-7.5.0",
        LogUri="s3://emr-logs/clusters/",
        Applications=[{"Name": "Spark"}],
        Instances={
            "MasterInstanceType": "m5.xlarge",
            "SlaveInstanceType": "m5.xlarge",
            "InstanceCount": 3,
            "KeepJobFlowAliveWhenNoSteps": keep_alive,
        },
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Steps=steps,
    )
    job_flow_id: str = made["JobFlowId"]
    return job_flow_id


def states(lab: Lab, cluster_id: str) -> tuple[str, list[str]]:
    emr = lab.client("emr")
    state = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]
    steps = emr.list_steps(ClusterId=cluster_id)["Steps"]  # newest first, as EMR lists them
    return state, [s["Status"]["State"] for s in reversed(steps)]


def log(lab: Lab, url: str) -> str:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    body = lab.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return gzip.decompress(body).decode()


def test_steps_run_in_order_on_the_clock_and_the_cluster_shuts_down(lab: Lab) -> None:
    out = "s3://lake/curated/ordered/"
    cid = cluster(
        lab,
        [step("daily", "daily.py", "s3://lake/raw/orders/", out), step("total", "total.py", out)],
        keep_alive=False,
    )
    assert states(lab, cid) == ("STARTING", ["PENDING", "PENDING"])
    lab.clock.advance(START_SECONDS)
    assert states(lab, cid) == ("RUNNING", ["RUNNING", "PENDING"])
    lab.clock.advance(60)
    assert states(lab, cid) == ("RUNNING", ["COMPLETED", "RUNNING"])
    lab.clock.advance(60)
    assert states(lab, cid) == ("TERMINATED", ["COMPLETED", "COMPLETED"])
    emr = lab.client("emr")
    status = emr.describe_cluster(ClusterId=cid)["Cluster"]["Status"]
    assert status["StateChangeReason"]["Code"] == "ALL_STEPS_COMPLETED"
    second = emr.list_steps(ClusterId=cid)["Steps"][0]
    stdout = f"s3://emr-logs/clusters/{cid}/steps/{second['Id']}/stdout.gz"
    assert "orders: 60" in log(lab, stdout)  # it read what the first step wrote
    controller = log(lab, stdout.replace("stdout", "controller"))
    assert "ran on sqlframe" in controller
    with pytest.raises(emr.exceptions.ClientError, match="terminated"):
        emr.add_job_flow_steps(JobFlowId=cid, Steps=[step("late", "total.py", out)])


def test_a_step_s_parquet_is_what_athena_queries(lab: Lab) -> None:
    cid = cluster(lab, [], keep_alive=True)
    lab.clock.advance(START_SECONDS)
    assert states(lab, cid) == ("WAITING", [])
    emr = lab.client("emr")
    [step_id] = emr.add_job_flow_steps(
        JobFlowId=cid,
        Steps=[step("daily", "daily.py", "s3://lake/raw/orders/", "s3://lake/curated/daily/")],
    )["StepIds"]
    lab.clock.advance(60)
    assert (
        emr.describe_step(ClusterId=cid, StepId=step_id)["Step"]["Status"]["State"] == "COMPLETED"
    )
    assert states(lab, cid)[0] == "WAITING"  # kept alive
    keys = [
        o["Key"]
        for o in lab.client("s3").list_objects_v2(Bucket="lake", Prefix="curated/daily/")[
            "Contents"
        ]
    ]
    assert "curated/daily/_SUCCESS" in keys
    assert sorted({k.split("/")[2] for k in keys if "=" in k}) == [
        "day=2026-01-01",
        "day=2026-01-02",
        "day=2026-01-03",
    ]
    athena = lab.client("athena")
    lab.client("glue").create_database(DatabaseInput={"Name": "shop"})
    for sql in (
        "CREATE EXTERNAL TABLE daily (revenue double, orders bigint) PARTITIONED BY (day string) "
        "STORED AS PARQUET LOCATION 's3://lake/curated/daily/'",
        "MSCK REPAIR TABLE daily",
        "SELECT day, orders, revenue FROM daily ORDER BY day",
    ):
        qid = athena.start_query_execution(
            QueryString=sql,
            QueryExecutionContext={"Database": "shop"},
            ResultConfiguration={"OutputLocation": "s3://results/"},
        )["QueryExecutionId"]
        lab.clock.advance(10)
        status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        assert status["State"] == "SUCCEEDED", status
    rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"][1:]
    got = [[d["VarCharValue"] for d in r["Data"]] for r in rows]
    expected = {}
    for i in range(60):
        day = f"2026-01-0{1 + i % 3}"
        n, total = expected.get(day, (0, 0.0))
        expected[day] = (n + 1, total + i * 2.5)
    assert [(d, int(n), float(r)) for d, n, r in got] == [
        (d, n, total) for d, (n, total) in sorted(expected.items())
    ]


@pytest.mark.parametrize(
    ("action", "cluster_after", "next_step"),
    [
        ("CONTINUE", "WAITING", "COMPLETED"),
        ("CANCEL_AND_WAIT", "WAITING", "CANCELLED"),
        ("TERMINATE_CLUSTER", "TERMINATED_WITH_ERRORS", "CANCELLED"),
    ],
)
def test_a_failed_step_says_why_and_its_action_on_failure_is_honoured(
    lab: Lab, action: str, cluster_after: str, next_step: str
) -> None:
    out = f"s3://lake/curated/after-{action.lower()}/"
    cid = cluster(
        lab,
        [
            step("broken", "failing.py", on_failure=action),
            step("daily", "daily.py", "s3://lake/raw/orders/", out),
        ],
        keep_alive=True,
    )
    lab.clock.advance(START_SECONDS + 200)
    assert states(lab, cid) == (cluster_after, ["FAILED", next_step])
    emr = lab.client("emr")
    failed = emr.list_steps(ClusterId=cid, StepStates=["FAILED"])["Steps"][0]
    details = emr.describe_step(ClusterId=cid, StepId=failed["Id"])["Step"]["Status"][
        "FailureDetails"
    ]
    assert details["Reason"] == "RuntimeError: the orders feed is empty"
    stderr = log(lab, details["LogFile"])
    assert "ran on sqlframe" in stderr and "the orders feed is empty" in stderr
    if action == "TERMINATE_CLUSTER":
        reason = emr.describe_cluster(ClusterId=cid)["Cluster"]["Status"]["StateChangeReason"]
        assert reason["Code"] == "STEP_FAILURE"
    # The view says the same in words and symbols.
    view = lab.emr_view(cid)
    text = str(view)
    assert "primary 1 × m5.xlarge, core 2 × m5.xlarge" in text
    assert "✗ FAILED" in text and "RuntimeError: the orders feed is empty" in text
    symbol = {"COMPLETED": "✓", "CANCELLED": "⊘"}[next_step]
    assert f"{symbol} {next_step}" in text
    assert f"{cluster_after}" in text.splitlines()[1]
    assert 'class="labkit-view labkit-emr-cluster"' in view._repr_html_()


def test_a_step_that_cannot_start_fails_with_the_reason(lab: Lab) -> None:
    cid = cluster(
        lab,
        [
            step("typo", "no-such-job.py"),
            {
                "Name": "hive",
                "ActionOnFailure": "CONTINUE",
                "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["hive-script", "x"]},
            },
        ],
        keep_alive=True,
    )
    lab.clock.advance(START_SECONDS + 200)
    emr = lab.client("emr")
    reasons = [
        emr.describe_step(ClusterId=cid, StepId=s["Id"])["Step"]["Status"]["FailureDetails"][
            "Reason"
        ]
        for s in reversed(emr.list_steps(ClusterId=cid)["Steps"])
    ]
    assert "s3://lake/jobs/no-such-job.py is not an object in S3" in reasons[0]
    assert "not 'hive-script'" in reasons[1]


def test_a_log_uri_in_a_missing_bucket_loses_the_logs_not_the_step(lab: Lab) -> None:
    emr = lab.client("emr")
    cid = emr.run_job_flow(
        Name="no-logs",
        ReleaseLabel="emr-7.5.0",
        LogUri="s3://no-such-log-bucket/emr/",
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1},
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Steps=[step("daily", "daily.py", "s3://lake/raw/orders/", "s3://lake/nolog/")],
    )["JobFlowId"]
    lab.clock.advance(START_SECONDS + 120)
    assert states(lab, cid) == ("TERMINATED", ["COMPLETED"])


def test_terminating_a_cluster_cancels_what_has_not_run(lab: Lab) -> None:
    cid = cluster(
        lab, [step("daily", "daily.py", "s3://lake/raw/orders/", "s3://lake/t/")], keep_alive=True
    )
    emr = lab.client("emr")
    emr.terminate_job_flows(JobFlowIds=[cid])
    assert states(lab, cid) == ("TERMINATED", ["CANCELLED"])
    lab.clock.advance(START_SECONDS * 2)
    assert states(lab, cid) == ("TERMINATED", ["CANCELLED"])  # nothing woke it


def test_a_waiter_that_polls_ends_without_the_clock(lab: Lab) -> None:
    cid = cluster(
        lab, [step("daily", "daily.py", "s3://lake/raw/orders/", "s3://lake/w/")], keep_alive=True
    )
    emr = lab.client("emr")
    step_id = emr.list_steps(ClusterId=cid)["Steps"][0]["Id"]
    emr.get_waiter("step_complete").wait(
        ClusterId=cid, StepId=step_id, WaiterConfig={"Delay": 0, "MaxAttempts": 10}
    )
    assert (
        emr.describe_step(ClusterId=cid, StepId=step_id)["Step"]["Status"]["State"] == "COMPLETED"
    )


@pytest.mark.skipif(not sim_spark.available(), reason="real pyspark is not installed here")
def test_the_same_step_runs_on_real_spark_when_asked(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sim_spark.ENGINE_ENV, "spark")
    out = "s3://lake/curated/on-spark/"
    cid = cluster(
        lab,
        [step("daily", "daily.py", "s3://lake/raw/orders/", out), step("total", "total.py", out)],
        keep_alive=False,
    )
    lab.clock.advance(START_SECONDS + 200)
    assert states(lab, cid) == ("TERMINATED", ["COMPLETED", "COMPLETED"])
    second = lab.client("emr").list_steps(ClusterId=cid)["Steps"][0]["Id"]
    prefix = f"s3://emr-logs/clusters/{cid}/steps/{second}/"
    assert "orders: 60" in log(lab, prefix + "stdout.gz")
    assert "ran on Apache Spark" in log(lab, prefix + "controller.gz")


def test_a_reset_drops_clusters_and_their_pending_steps(lab: Lab) -> None:
    # Last in this module: it empties the module's world.
    cluster(
        lab, [step("daily", "daily.py", "s3://lake/raw/orders/", "s3://lake/r/")], keep_alive=True
    )
    lab.reset()
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="lake")
    lab.clock.advance(START_SECONDS * 2)
    assert lab.client("emr").list_clusters()["Clusters"] == []
    assert s3.list_objects_v2(Bucket="lake").get("KeyCount") == 0  # the old step never ran
