"""Firehose delivers to OpenSearch Service and to Redshift: the records reach the engines, on the
lab clock, through the same buffer as the S3 delivery (stock moto stores these destinations and
drops the data)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from labkit.lab import Lab
from labkit.services.firehose.patch_destinations import (
    FAILED_PREFIX,
    firehose_destination_log,
    index_name,
)

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/firehose"
BUCKET = "hose-backup"


def _domain(lab: Lab) -> tuple[str, str]:
    """A domain anyone may call: ``(endpoint URL, domain ARN)``."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "es:ESHttp*",
                "Resource": f"arn:aws:es:us-east-1:{ACCOUNT}:domain/logs/*",
            }
        ],
    }
    status = lab.client("opensearch").create_domain(
        DomainName="logs", AccessPolicies=json.dumps(policy)
    )["DomainStatus"]
    return "https://" + str(status["Endpoint"]), str(status["ARN"])


def _opensearch_stream(lab: Lab, where: dict[str, str], **config: Any) -> None:
    lab.client("s3").create_bucket(Bucket=BUCKET)
    lab.client("firehose").create_delivery_stream(
        DeliveryStreamName="logs",
        AmazonopensearchserviceDestinationConfiguration={
            "RoleARN": ROLE,
            **where,
            "IndexName": "app",
            "S3Configuration": {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{BUCKET}"},
            **config,
        },
    )


def _put(lab: Lab, name: str, *records: bytes) -> None:
    lab.client("firehose").put_record_batch(
        DeliveryStreamName=name, Records=[{"Data": r} for r in records]
    )


def _hits(base: str, index: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    answer = requests.post(f"{base}/{index}/_search", json={"query": query}, timeout=5)
    if answer.status_code == 404:  # no such index yet
        return []
    return list(answer.json()["hits"]["hits"])


def _keys(lab: Lab, bucket: str, prefix: str = "") -> list[str]:
    listing = lab.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


def _body(lab: Lab, bucket: str, key: str) -> bytes:
    return bytes(lab.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def _day(lab: Lab) -> str:
    return datetime.fromtimestamp(lab.clock.timestamp, tz=timezone.utc).strftime("%Y-%m-%d")


# -- OpenSearch ---------------------------------------------------------------------------------
def test_log_lines_are_searchable_after_the_buffer_interval_and_the_refresh(lab: Lab) -> None:
    base, arn = _domain(lab)
    _opensearch_stream(
        lab, {"DomainARN": arn}, BufferingHints={"IntervalInSeconds": 60, "SizeInMBs": 1}
    )
    index = f"app-{_day(lab)}"  # OneDay rotation by default
    _put(
        lab,
        "logs",
        b'{"level": "ERROR", "message": "db timeout"}',
        b'{"level": "INFO", "message": "login ok"}',
        b'{"level": "ERROR", "message": "timeout again"}',
    )
    # Rotation makes the index on first delivery, with dynamic mappings: strings are keywords in
    # the sandbox (labkit.services.opensearch.sim_fields.dynamic_type), so ask by term.
    errors = {"term": {"level.keyword": "ERROR"}}
    lab.clock.advance(59)
    assert _hits(base, index, errors) == []
    lab.clock.advance(1)  # the buffer flushes: indexed, not yet refreshed
    assert _hits(base, index, errors) == []
    lab.clock.advance(1)  # the index's 1 s refresh
    found = _hits(base, index, errors)
    assert sorted(h["_source"]["message"] for h in found) == ["db timeout", "timeout again"]
    log = firehose_destination_log(lab.sandbox, "logs")
    assert (log.documents_indexed, log.documents_failed, log.indexes) == (3, 0, [index])
    # FailedDocumentsOnly (the default): nothing failed, nothing in the bucket.
    assert _keys(lab, BUCKET) == []


def test_the_endpoint_spelling_and_no_rotation_reach_the_same_domain(lab: Lab) -> None:
    base, _ = _domain(lab)
    _opensearch_stream(
        lab,
        {"ClusterEndpoint": base},
        IndexRotationPeriod="NoRotation",
        BufferingHints={"IntervalInSeconds": 0, "SizeInMBs": 1},
    )
    _put(lab, "logs", b'{"message": "hello"}\n')  # a trailing newline is still one document
    lab.clock.advance(1)
    assert [h["_source"] for h in _hits(base, "app", {"match_all": {}})] == [{"message": "hello"}]


@pytest.mark.parametrize(
    ("rotation", "expected"),
    [
        ("NoRotation", "myindex"),
        ("OneHour", "myindex-2016-02-25-13"),
        ("OneDay", "myindex-2016-02-25"),
        ("OneWeek", "myindex-2016-w08"),
        ("OneMonth", "myindex-2016-02"),
    ],
)
def test_index_rotation_appends_the_documented_suffix(rotation: str, expected: str) -> None:
    # The table of es-index-rotation.html: index myindex, arrival 2016-02-25T13:00:00Z.
    arrival = datetime(2016, 2, 25, 13, tzinfo=timezone.utc).timestamp()
    assert index_name("myindex", rotation, arrival) == expected


def test_a_record_that_is_not_json_or_that_the_mapping_refuses_is_backed_up_to_s3(
    lab: Lab,
) -> None:
    base, arn = _domain(lab)
    requests.put(
        f"{base}/app", json={"mappings": {"properties": {"ms": {"type": "integer"}}}}, timeout=5
    )
    _opensearch_stream(
        lab,
        {"DomainARN": arn},
        IndexRotationPeriod="NoRotation",
        BufferingHints={"IntervalInSeconds": 60, "SizeInMBs": 1},
    )
    _put(lab, "logs", b'{"ms": 12}', b"plain text, not JSON", b'{"ms": "slow"}')
    lab.clock.advance(61)
    assert [h["_source"] for h in _hits(base, "app", {"match_all": {}})] == [{"ms": 12}]
    [key] = _keys(lab, BUCKET)
    assert key.startswith(FAILED_PREFIX)
    failed = [json.loads(line) for line in _body(lab, BUCKET, key).decode().splitlines()]
    assert [base64.b64decode(f["rawData"]) for f in failed] == [
        b"plain text, not JSON",
        b'{"ms": "slow"}',
    ]
    assert all(f["errorCode"] and f["errorMessage"] and f["esIndexName"] == "app" for f in failed)


def test_all_documents_mode_backs_up_every_record_as_the_s3_delivery_writes_it(lab: Lab) -> None:
    base, arn = _domain(lab)
    _opensearch_stream(
        lab,
        {"DomainARN": arn},
        S3BackupMode="AllDocuments",
        BufferingHints={"IntervalInSeconds": 60, "SizeInMBs": 1},
    )
    _put(lab, "logs", b'{"n": 1}\n', b'{"n": 2}\n')
    lab.clock.advance(61)
    assert len(_hits(base, f"app-{_day(lab)}", {"match_all": {}})) == 2  # indexed as well
    [key] = _keys(lab, BUCKET)
    assert not key.startswith(FAILED_PREFIX)
    assert _body(lab, BUCKET, key) == b'{"n": 1}\n{"n": 2}\n'


def test_describe_shows_the_opensearch_destination_with_its_defaults(lab: Lab) -> None:
    _, arn = _domain(lab)
    _opensearch_stream(lab, {"DomainARN": arn})
    [destination] = lab.client("firehose").describe_delivery_stream(DeliveryStreamName="logs")[
        "DeliveryStreamDescription"
    ]["Destinations"]
    described = destination["AmazonopensearchserviceDestinationDescription"]
    assert described["DomainARN"] == arn
    assert described["BufferingHints"] == {"IntervalInSeconds": 300, "SizeInMBs": 5}
    assert described["IndexRotationPeriod"] == "OneDay"
    assert described["S3BackupMode"] == "FailedDocumentsOnly"
    assert described["S3DestinationDescription"]["BucketARN"] == f"arn:aws:s3:::{BUCKET}"


def test_an_opensearch_buffer_over_100_mib_is_refused(lab: Lab) -> None:
    _, arn = _domain(lab)
    with pytest.raises(ClientError, match="less than or equal to 100"):
        _opensearch_stream(lab, {"DomainARN": arn}, BufferingHints={"SizeInMBs": 128})


# -- Redshift -----------------------------------------------------------------------------------
def _sql(lab: Lab, sql: str) -> dict[str, Any]:
    data = lab.client("redshift-data")
    sid = data.execute_statement(ClusterIdentifier="dw", Database="dev", DbUser="admin", Sql=sql)[
        "Id"
    ]
    described = dict(data.describe_statement(Id=sid))
    assert described["Status"] == "FINISHED", described.get("Error")
    return described


def _count(lab: Lab, table: str = "events") -> int:
    sid = _sql(lab, f"SELECT count(*) FROM {table}")["Id"]
    records = lab.client("redshift-data").get_statement_result(Id=sid)["Records"]
    return int(records[0][0]["longValue"])


def _redshift_stream(
    lab: Lab,
    table: str = "events",
    source: dict[str, Any] | None = None,
    compression: str = "UNCOMPRESSED",
    **copy: Any,
) -> None:
    address = lab.client("redshift").create_cluster(
        ClusterIdentifier="dw",
        NodeType="ra3.xlplus",
        NumberOfNodes=2,
        MasterUsername="admin",
        MasterUserPassword="Passw0rd1",
    )["Cluster"]["Endpoint"]["Address"]
    _sql(lab, "CREATE TABLE events (id INTEGER, kind VARCHAR(20))")
    lab.client("s3").create_bucket(Bucket="stage")
    lab.client("firehose").create_delivery_stream(
        DeliveryStreamName="rows",
        **(source or {}),
        RedshiftDestinationConfiguration={
            "RoleARN": ROLE,
            "ClusterJDBCURL": f"jdbc:redshift://{address}:5439/dev",
            "CopyCommand": {
                "DataTableName": table,
                "DataTableColumns": "id,kind",
                "CopyOptions": "CSV",
                **copy,
            },
            "Username": "admin",
            "Password": "Passw0rd1",
            "S3Configuration": {
                "RoleARN": ROLE,
                "BucketARN": "arn:aws:s3:::stage",
                "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 1},
                "CompressionFormat": compression,
            },
        },
    )


def test_rows_reach_redshift_through_the_intermediate_bucket_after_the_interval(lab: Lab) -> None:
    _redshift_stream(lab)
    _put(lab, "rows", b"1,click\n", b"2,view\n")
    lab.client("firehose").put_record(DeliveryStreamName="rows", Record={"Data": b"3,click\n"})
    lab.clock.advance(59)
    assert _count(lab) == 0 and _keys(lab, "stage") == []
    lab.clock.advance(1)
    assert _count(lab) == 3
    [key] = _keys(lab, "stage")  # the batch, as the S3 delivery writes it
    assert _body(lab, "stage", key) == b"1,click\n2,view\n3,click\n"
    log = firehose_destination_log(lab.sandbox, "rows")
    assert (log.copies, log.rows_loaded, log.errors) == (1, 3, [])


def test_rows_from_a_kinesis_data_stream_reach_redshift_through_firehose(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName="clicks")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    _redshift_stream(
        lab,
        source={
            "DeliveryStreamType": "KinesisStreamAsSource",
            "KinesisStreamSourceConfiguration": {"KinesisStreamARN": arn, "RoleARN": ROLE},
        },
    )
    kinesis.put_records(
        StreamName="clicks",
        Records=[{"Data": f"{i},click\n".encode(), "PartitionKey": f"k{i}"} for i in range(4)],
    )
    lab.clock.advance(59)
    assert _count(lab) == 0
    lab.clock.advance(1)
    assert _count(lab) == 4


def test_a_gzip_intermediate_object_loads_with_copy_gzip(lab: Lab) -> None:
    _redshift_stream(lab, compression="GZIP", CopyOptions="CSV GZIP")
    _put(lab, "rows", b"1,click\n", b"2,view\n")
    lab.clock.advance(60)
    [key] = _keys(lab, "stage")
    assert key.endswith(".gz") and _count(lab) == 2


def test_zip_cannot_feed_a_redshift_copy(lab: Lab) -> None:
    with pytest.raises(ClientError, match="SNAPPY or ZIP"):
        _redshift_stream(lab, compression="ZIP")


def test_json_records_load_with_copy_options_json_auto(lab: Lab) -> None:
    _redshift_stream(lab, CopyOptions="FORMAT AS JSON 'auto'")
    _put(lab, "rows", b'{"id": 7, "kind": "view"}\n', b'{"kind": "click", "id": 8}\n')
    lab.clock.advance(60)
    sid = _sql(lab, "SELECT id, kind FROM events ORDER BY id")["Id"]
    records = lab.client("redshift-data").get_statement_result(Id=sid)["Records"]
    assert [(r[0]["longValue"], r[1]["stringValue"]) for r in records] == [
        (7, "view"),
        (8, "click"),
    ]


def test_a_copy_into_a_missing_table_fails_visibly_and_leaves_the_object(lab: Lab) -> None:
    _redshift_stream(lab, table="nope")
    _put(lab, "rows", b"1,click\n")
    lab.clock.advance(60)
    assert _count(lab) == 0
    log = firehose_destination_log(lab.sandbox, "rows")
    assert log.copies == 1 and log.rows_loaded == 0
    [error] = log.errors
    assert "nope" in error
    [manifest_key] = _keys(lab, "stage", "errors/")
    [data_key] = [k for k in _keys(lab, "stage") if not k.startswith("errors/")]
    manifest = json.loads(_body(lab, "stage", manifest_key))
    assert manifest["entries"] == [{"url": f"s3://stage/{data_key}", "mandatory": True}]


def test_bad_data_fails_the_copy_and_loads_nothing(lab: Lab) -> None:
    _redshift_stream(lab)
    _put(lab, "rows", b"1,click\n", b"two,view\n")
    lab.clock.advance(60)
    assert _count(lab) == 0
    [error] = firehose_destination_log(lab.sandbox, "rows").errors
    assert "events" in error


def test_describe_shows_the_redshift_destination_without_its_password(lab: Lab) -> None:
    _redshift_stream(lab)
    [destination] = lab.client("firehose").describe_delivery_stream(DeliveryStreamName="rows")[
        "DeliveryStreamDescription"
    ]["Destinations"]
    described = destination["RedshiftDestinationDescription"]
    assert described["CopyCommand"]["DataTableName"] == "events"
    assert described["Username"] == "admin"
    assert "Password" not in described
    assert described["S3DestinationDescription"]["BucketARN"] == "arn:aws:s3:::stage"


def test_the_older_elasticsearch_destination_delivers_the_same_way(lab: Lab) -> None:
    base, arn = _domain(lab)
    lab.client("s3").create_bucket(Bucket=BUCKET)
    lab.client("firehose").create_delivery_stream(
        DeliveryStreamName="old",
        ElasticsearchDestinationConfiguration={
            "RoleARN": ROLE,
            "DomainARN": arn,
            "IndexName": "legacy",
            "IndexRotationPeriod": "OneMonth",
            "BufferingHints": {"IntervalInSeconds": 0, "SizeInMBs": 1},
            "S3Configuration": {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{BUCKET}"},
        },
    )
    _put(lab, "old", b'{"level": "WARN"}')
    lab.clock.advance(1)
    month = datetime.fromtimestamp(lab.clock.timestamp, tz=timezone.utc).strftime("%Y-%m")
    assert len(_hits(base, f"legacy-{month}", {"term": {"level.keyword": "WARN"}})) == 1
    [destination] = lab.client("firehose").describe_delivery_stream(DeliveryStreamName="old")[
        "DeliveryStreamDescription"
    ]["Destinations"]
    assert destination["ElasticsearchDestinationDescription"]["IndexName"] == "legacy"


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"IndexRotationPeriod": "OneYear"}, "indexRotationPeriod"),
        ({"S3BackupMode": "Nothing"}, "s3BackupMode"),
    ],
)
def test_an_opensearch_destination_aws_refuses_is_refused_with_what_is_wrong(
    lab: Lab, config: dict[str, str], words: str
) -> None:
    _, arn = _domain(lab)
    with pytest.raises(ClientError, match=words):
        _opensearch_stream(lab, {"DomainARN": arn}, **config)


def test_a_stream_to_a_cluster_that_does_not_exist_keeps_the_batch_and_says_why(lab: Lab) -> None:
    lab.client("s3").create_bucket(Bucket="stage")
    lab.client("firehose").create_delivery_stream(
        DeliveryStreamName="rows",
        RedshiftDestinationConfiguration={
            "RoleARN": ROLE,
            "ClusterJDBCURL": "jdbc:redshift://gone.abc.us-east-1.redshift.amazonaws.com:5439/dev",
            "CopyCommand": {"DataTableName": "events"},
            "Username": "admin",
            "Password": "Passw0rd1",
            "S3Configuration": {
                "RoleARN": ROLE,
                "BucketARN": "arn:aws:s3:::stage",
                "BufferingHints": {"IntervalInSeconds": 0, "SizeInMBs": 1},
            },
        },
    )
    _put(lab, "rows", b"1,click\n")
    [error] = firehose_destination_log(lab.sandbox, "rows").errors
    assert "gone.abc" in error
    assert len(_keys(lab, "stage", "errors/")) == 1
    assert len(_keys(lab, "stage")) == 2  # the batch stays, beside its error manifest
