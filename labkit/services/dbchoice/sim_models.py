"""What each database of the "Which DB?" table is: data model, operations, consistency, latency,
scale and cost, as a model a workload can be run against.

Documented figures come from the fact table (``labkit/facts/facts.toml``, each with its AWS
page). The latencies and throughputs that turn a workload into "fast enough or not" are **model
settings**, not AWS figures: AWS documents orders of magnitude (DynamoDB single-digit
milliseconds, DAX and ElastiCache microseconds, Glacier hours), and the settings below keep those
orders, so that a choice fails here for the reason it would fail in production (a full scan of a
row store, one index probe per row per hop of a traversal, a restore from an archive), never for a
few milliseconds either way.

Plain Python (no moto, no Jupyter).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit import facts
from labkit.errors import LabkitError

#: Operation kinds a workload is made of.
KINDS = (
    "key_read",  # one record by its key
    "key_write",  # one record written
    "transaction",  # several records written atomically
    "join",  # rows of several tables/collections combined by a field
    "document_query",  # a query on nested fields of documents
    "analytics_scan",  # an ad-hoc aggregate over much of the data
    "graph_traversal",  # hops along relationships, n deep
    "full_text",  # relevance-ranked text search
    "time_range",  # aggregates of a measure over a time window, in time bins
    "rank",  # a member's rank and the top N by score
    "blob_read",  # a large object read whole
    "archive_read",  # a record kept for years, read rarely
)

#: Model settings (milliseconds): see the module's docstring.
ROW_STORE_MS_PER_GB = 10_000.0  # a transactional row store scanning for an ad-hoc aggregate
COLUMNAR_MS_PER_GB = 40.0  # a columnar MPP warehouse (Redshift) scanning the columns it needs
ATHENA_MS_PER_GB = 80.0  # Athena scanning columnar files on S3
INDEX_PROBE_MS = 0.005  # one B-tree page visit
EDGE_MS = 0.0005  # one edge followed by a graph engine (adjacency kept with the vertex)
ATHENA_START_MS = 1_000.0  # an Athena query is queued and planned before it scans


class UnknownServiceError(LabkitError):
    """A service name the "Which DB?" models do not know."""

    code = "UnknownService"

    def __init__(self, name: object, known: list[str]) -> None:
        super().__init__(
            f"{name!r} is not one of the databases the models know: {', '.join(known)}."
        )


class BadConfigurationError(LabkitError):
    """A configuration option a service does not have, or a value it does not take."""

    code = "BadConfiguration"

    def __init__(self, message: str) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class Outcome:
    """What one operation met on a model: its latency, or a refusal and why."""

    latency_ms: float | None
    refused: str = ""
    stale_reads: bool = False


LatencyFn = Callable[[Mapping[str, float], Mapping[str, Any]], float]


def _const(ms: float) -> LatencyFn:
    return lambda size, config: ms


@dataclass(frozen=True)
class ServiceModel:
    """One database of the "Which DB?" table.

    Attributes:
        key: Its short name (``rds``, ``dynamodb``, ...).
        name: AWS's name.
        data_model: What it stores and how it is read.
        consistency: Its consistency, in words.
        latency: Per operation kind it serves: the latency (ms) for an operation's sizes.
        refuses: Per operation kind it does not serve: why not (what AWS or the engine says).
        read_your_writes: Whether a read right after a write sees it (per configuration).
        max_record_bytes: The largest record (item, document, row, object), if limited.
        max_data_gb: The most data one database holds, if limited.
        max_writes_per_second: A model ceiling of writes one database takes, if it has one.
        durable: Whether it is a system of record (in-memory caches are not).
        cost_per_gb_month: Storage price, where the fact table has it.
        fact_ids: The fact table entries the model stands on.
        status: ``available``, or why it cannot be chosen (end of support).
        options: Configuration options it takes, with their allowed values.
    """

    key: str
    name: str
    data_model: str
    consistency: str
    latency: Mapping[str, LatencyFn]
    refuses: Mapping[str, str]
    read_your_writes: Callable[[Mapping[str, Any], str], bool] = lambda config, kind: True
    max_record_bytes: float | None = None
    max_data_gb: float | None = None
    max_writes_per_second: float | None = None
    durable: bool = True
    cost_per_gb_month: float | None = None
    fact_ids: tuple[str, ...] = ()
    status: str = "available"
    options: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    def run(self, kind: str, size: Mapping[str, float], config: Mapping[str, Any]) -> Outcome:
        """What an operation of ``kind`` with ``size`` meets on this model."""
        if self.status != "available":
            return Outcome(None, refused=self.status)
        if kind in self.latency:
            return Outcome(
                self.latency[kind](size, config),
                stale_reads=not self.read_your_writes(config, kind),
            )
        reason = self.refuses.get(kind) or f"{self.name} has no operation of this kind"
        return Outcome(None, refused=reason)


def _scan(ms_per_gb: float, start: float = 0.0) -> LatencyFn:
    return lambda size, config: start + ms_per_gb * size.get("scanned_gb", 1.0)


def _edges(size: Mapping[str, float]) -> float:
    fanout, depth = size.get("fanout", 10.0), int(size.get("depth", 2))
    return sum(fanout**hop for hop in range(1, depth + 1))


def _sql_traversal(size: Mapping[str, float], config: Mapping[str, Any]) -> float:
    # One self-join per hop: every row of the frontier is an index probe (log2 of the edge
    # table's rows, one page visit each) before the next hop can start.
    probes = math.log2(max(2.0, size.get("edges_total", 1e6)))
    return 2.0 + _edges(size) * probes * INDEX_PROBE_MS


def _graph_traversal(size: Mapping[str, float], config: Mapping[str, Any]) -> float:
    # Index-free adjacency: a vertex's edges are stored with it, each hop follows them.
    return 2.0 + _edges(size) * EDGE_MS


def _per_query_traversal(ms: float) -> LatencyFn:
    # A key-value store walks a graph with one request per vertex of each frontier.
    def run(size: Mapping[str, float], config: Mapping[str, Any]) -> float:
        fanout, depth = size.get("fanout", 10.0), int(size.get("depth", 2))
        return ms * sum(fanout**hop for hop in range(0, depth))

    return run


def _glacier_restore(size: Mapping[str, float], config: Mapping[str, Any]) -> float:
    if config.get("storage_class") == "DEEP_ARCHIVE":
        return float(facts.value("dbchoice.deep_archive_standard_hours")) * 3_600_000
    if config.get("retrieval") == "Expedited":
        return float(facts.value("dbchoice.glacier_expedited_minutes")) * 60_000
    return float(facts.value("dbchoice.glacier_standard_hours")) * 3_600_000


def _glacier_price(config: Mapping[str, Any]) -> float:
    if config.get("storage_class") == "DEEP_ARCHIVE":
        return float(facts.value("dbchoice.storage_price_deep_archive"))
    return float(facts.value("dbchoice.storage_price_glacier_flexible"))


NO_JOIN_KV = (
    "DynamoDB has no join: each table is read by key (GetItem, Query on one partition key) or "
    "in full (Scan), and your code combines them"
)
NOT_OLTP = "{name} is an analytics engine: it is not built for many small reads and writes"


def _models() -> dict[str, ServiceModel]:
    qldb_end = str(facts.value("qldb.end_of_support"))
    qldb_instead = str(facts.value("dbchoice.qldb_recommendation"))
    sql = {
        "key_read": _const(2.0),
        "key_write": _const(4.0),
        "transaction": _const(8.0),
        "join": _const(5.0),
        "analytics_scan": _scan(ROW_STORE_MS_PER_GB),
        "graph_traversal": _sql_traversal,
        "full_text": _const(40.0),
        "time_range": _scan(ROW_STORE_MS_PER_GB),
        "rank": _const(20.0),
        "document_query": _const(10.0),
    }
    relational_refuses = {
        "blob_read": "large objects belong in S3, with their keys in the database",
        "archive_read": "keeping years of rarely read records on database storage",
    }
    replica = {"reads_from": ("primary", "replica")}

    def primary_reads(config: Mapping[str, Any], kind: str) -> bool:
        return bool(config.get("reads_from", "primary") == "primary")

    models = [
        ServiceModel(
            key="rds",
            name="Amazon RDS",
            aliases=(
                "rds",
                "amazon rds",
                "rds postgresql",
                "rds for postgresql",
                "postgresql",
                "postgres",
                "rds mysql",
                "mysql",
            ),
            data_model="relational tables (PostgreSQL, MySQL, ...): SQL, joins, transactions",
            consistency="strong on the primary; read replicas lag (asynchronous)",
            latency=sql,
            refuses=relational_refuses,
            read_your_writes=primary_reads,
            max_data_gb=float(facts.value("dbchoice.rds_storage_max")) * 1024,
            max_writes_per_second=10_000.0,
            fact_ids=("rds.multi_az_failover_seconds", "rds.backup_retention_max"),
            options=replica,
        ),
        ServiceModel(
            key="aurora",
            name="Amazon Aurora",
            aliases=(
                "aurora",
                "amazon aurora",
                "aurora postgresql",
                "aurora mysql",
                "aurora-postgresql",
                "aurora-mysql",
                "aurora serverless",
            ),
            data_model="relational (PostgreSQL- or MySQL-compatible) on a shared storage volume "
            "of six copies in three AZs",
            consistency="strong on the writer; Aurora Replicas read the same storage, usually "
            "within milliseconds",
            latency=sql,
            refuses=relational_refuses,
            read_your_writes=primary_reads,
            max_data_gb=float(facts.value("dbchoice.aurora_storage_max")) * 1024,
            max_writes_per_second=20_000.0,
            fact_ids=("aurora.storage_copies", "aurora.replicas_per_cluster_max"),
            options=replica,
        ),
        ServiceModel(
            key="dynamodb",
            name="Amazon DynamoDB",
            aliases=("dynamodb", "amazon dynamodb", "dynamo", "ddb"),
            data_model="key-value and item collections: GetItem, Query (one partition key), Scan",
            consistency="eventually consistent reads by default; strongly consistent on request",
            latency={
                "key_read": _const(5.0),
                "key_write": _const(6.0),
                "transaction": _const(15.0),
                "graph_traversal": _per_query_traversal(5.0),
                "analytics_scan": _scan(5.0 * 1024),  # a Scan page is 1 MB, one request each
                "time_range": _scan(5.0 * 1024),  # across every device: a Scan
                "rank": _scan(5.0 * 1024),
            },
            refuses={
                "join": NO_JOIN_KV,
                "document_query": "DynamoDB queries by key only: a nested attribute needs a "
                "secondary index per attribute, or a Scan with a filter",
                "full_text": "DynamoDB has no text search",
                "blob_read": "an item is at most 400 KB",
                "archive_read": "",
            },
            read_your_writes=lambda config, kind: bool(config.get("consistent_reads", False)),
            max_record_bytes=float(facts.value("dynamodb.item_size_max")),
            fact_ids=(
                "dynamodb.item_size_max",
                "dynamodb.typical_latency",
                "dbchoice.dynamodb_join_support",
            ),
            options={"consistent_reads": (True, False), "dax": (True, False)},
        ),
        ServiceModel(
            key="elasticache",
            name="Amazon ElastiCache",
            aliases=(
                "elasticache",
                "amazon elasticache",
                "redis",
                "valkey",
                "memcached",
                "elasticache for redis",
                "elasticache redis",
            ),
            data_model="in-memory key-value with Redis's structures (hashes, sorted sets, ...)",
            consistency="strong on the primary node; replicas asynchronous",
            latency={"key_read": _const(0.5), "key_write": _const(0.5), "rank": _const(0.5)},
            refuses={
                "join": "a cache has no join",
                "transaction": "MULTI/EXEC runs commands together but a cache is not a system "
                "of record",
                "analytics_scan": "a cache holds what fits in memory, not the history",
                "graph_traversal": "no graph queries",
                "full_text": "no text search (Redis OSS)",
                "document_query": "no queries on nested fields",
                "time_range": "no time-range aggregates",
                "blob_read": "objects of megabytes belong in S3",
                "archive_read": "memory is the most expensive place to keep years of data",
            },
            durable=False,
            max_writes_per_second=100_000.0,
            fact_ids=("dbchoice.elasticache_latency", "elasticache.default_maxmemory_policy"),
        ),
        ServiceModel(
            key="documentdb",
            name="Amazon DocumentDB",
            aliases=("documentdb", "amazon documentdb", "docdb", "mongodb", "mongo"),
            data_model="JSON documents with the MongoDB API: nested fields, arrays, aggregation",
            consistency="strong on the primary; replicas usually within 100 ms",
            latency={
                "key_read": _const(5.0),
                "key_write": _const(6.0),
                "transaction": _const(12.0),
                "document_query": _const(8.0),
                "join": _const(25.0),  # $lookup
                "analytics_scan": _scan(ROW_STORE_MS_PER_GB),
                "graph_traversal": _sql_traversal,  # $graphLookup probes an index per hop
                "rank": _const(30.0),
                "full_text": _const(30.0),  # a text index ($text)
            },
            refuses={
                "blob_read": "a document is at most 16 MB",
                "archive_read": "",
            },
            max_record_bytes=float(facts.value("dbchoice.documentdb_document_size_max"))
            * 1024
            * 1024,
            max_data_gb=float(facts.value("dbchoice.aurora_storage_max")) * 1024,
            max_writes_per_second=20_000.0,
            fact_ids=("dbchoice.documentdb_document_size_max",),
        ),
        ServiceModel(
            key="neptune",
            name="Amazon Neptune",
            aliases=("neptune", "amazon neptune", "graph", "gremlin"),
            data_model="a graph of vertices and edges: Gremlin, openCypher, SPARQL",
            consistency="strong on the writer; read replicas share the storage",
            latency={
                "key_read": _const(5.0),
                "key_write": _const(8.0),
                "transaction": _const(12.0),
                "graph_traversal": _graph_traversal,
            },
            refuses={
                "join": "a graph has no tables to join: relationships are edges to traverse",
                "analytics_scan": "a graph database is not an analytics warehouse",
                "full_text": "",
                "document_query": "",
                "time_range": "",
                "rank": "",
                "blob_read": "",
                "archive_read": "",
            },
            max_writes_per_second=10_000.0,
            fact_ids=("dbchoice.neptune_query_languages",),
        ),
        ServiceModel(
            key="keyspaces",
            name="Amazon Keyspaces (for Apache Cassandra)",
            aliases=("keyspaces", "amazon keyspaces", "cassandra", "cql"),
            data_model="wide-column tables (CQL): rows by partition key, sorted by clustering "
            "columns",
            consistency="LOCAL_QUORUM writes; reads LOCAL_ONE (eventual) or LOCAL_QUORUM",
            latency={
                "key_read": _const(5.0),
                "key_write": _const(6.0),
            },
            refuses={
                "join": "CQL has no join",
                "time_range": "a time window across every device is a query without the "
                "partition key: Keyspaces refuses it unless it says ALLOW FILTERING (a full scan)",
                "transaction": "CQL has lightweight transactions on one row, not across rows",
                "analytics_scan": "a query without the partition key needs ALLOW FILTERING: a "
                "full scan Keyspaces warns will have unpredictable performance",
                "graph_traversal": "",
                "full_text": "",
                "document_query": "",
                "rank": "",
                "blob_read": "a row is at most 1 MB",
                "archive_read": "",
            },
            read_your_writes=lambda config, kind: config.get("read_consistency") == "LOCAL_QUORUM",
            max_record_bytes=float(facts.value("dbchoice.keyspaces_row_size_max")) * 1024**2,
            fact_ids=("dbchoice.keyspaces_partition_key_rule", "dbchoice.keyspaces_row_size_max"),
            options={"read_consistency": ("LOCAL_ONE", "LOCAL_QUORUM")},
        ),
        ServiceModel(
            key="qldb",
            name="Amazon QLDB",
            aliases=("qldb", "amazon qldb", "ledger"),
            data_model="an immutable, cryptographically verifiable journal",
            consistency="serializable",
            latency={},
            refuses={},
            status=f"Amazon QLDB reached end of support on {qldb_end}: it cannot be chosen. AWS "
            f"recommends {qldb_instead}, with the history kept in audit tables",
            fact_ids=("qldb.end_of_support", "dbchoice.qldb_recommendation"),
        ),
        ServiceModel(
            key="timestream",
            name="Amazon Timestream",
            aliases=(
                "timestream",
                "amazon timestream",
                "time series",
                "influxdb",
                "timestream for influxdb",
                "timestream for liveanalytics",
            ),
            data_model="time series: measures with dimensions and a timestamp, SQL with time "
            "functions (bin, ago, interpolation)",
            consistency="a written record is queryable at once",
            latency={
                "key_write": _const(10.0),
                "time_range": _const(50.0),
                "analytics_scan": _scan(400.0),
            },
            refuses={
                "key_read": "",
                "transaction": "records are appended; there is no multi-record transaction",
                "join": "",
                "graph_traversal": "",
                "full_text": "",
                "document_query": "",
                "rank": "",
                "blob_read": "",
                "archive_read": "",
            },
            fact_ids=("dbchoice.timestream_successor",),
        ),
        ServiceModel(
            key="opensearch",
            name="Amazon OpenSearch Service",
            aliases=(
                "opensearch",
                "amazon opensearch",
                "opensearch service",
                "elasticsearch",
                "amazon opensearch service",
            ),
            data_model="JSON documents in inverted indexes: full-text relevance search, "
            "aggregations",
            consistency="near real time: a document is searchable after the next refresh "
            "(every second by default)",
            latency={
                "key_read": _const(10.0),
                "key_write": _const(15.0),
                "full_text": _const(20.0),
                "document_query": _const(20.0),
                "analytics_scan": _scan(1_000.0),
            },
            refuses={
                "transaction": "there are no multi-document transactions",
                "join": "",
                "graph_traversal": "",
                "time_range": "",
                "rank": "",
                "blob_read": "",
                "archive_read": "",
            },
            read_your_writes=lambda config, kind: kind not in ("full_text", "document_query"),
            fact_ids=("dbchoice.opensearch_refresh_interval",),
        ),
        ServiceModel(
            key="redshift",
            name="Amazon Redshift",
            aliases=("redshift", "amazon redshift", "data warehouse", "redshift serverless"),
            data_model="a columnar, massively parallel SQL data warehouse",
            consistency="serializable; loaded in batches",
            latency={
                "analytics_scan": _scan(COLUMNAR_MS_PER_GB),
                "join": _const(500.0),
                "key_read": _const(200.0),
                "time_range": _scan(COLUMNAR_MS_PER_GB),
            },
            refuses={
                "key_write": NOT_OLTP.format(name="Redshift"),
                "transaction": NOT_OLTP.format(name="Redshift"),
                "graph_traversal": "",
                "full_text": "",
                "document_query": "",
                "rank": "",
                "blob_read": "",
                "archive_read": "",
            },
            max_writes_per_second=50.0,
            fact_ids=(),
        ),
        ServiceModel(
            key="athena",
            name="Amazon Athena on S3",
            aliases=("athena", "amazon athena", "athena on s3", "s3 + athena"),
            data_model="SQL over files in S3 (Parquet, ORC, CSV, JSON), serverless",
            consistency="reads what S3 holds when the query runs",
            latency={
                "analytics_scan": _scan(ATHENA_MS_PER_GB, ATHENA_START_MS),
                "time_range": _scan(ATHENA_MS_PER_GB, ATHENA_START_MS),
                "join": _const(ATHENA_START_MS + 1_000.0),
                "key_read": _const(ATHENA_START_MS),
            },
            refuses={
                "key_write": NOT_OLTP.format(name="Athena"),
                "transaction": NOT_OLTP.format(name="Athena"),
                "graph_traversal": "",
                "full_text": "",
                "document_query": "",
                "rank": "",
                "blob_read": "",
                "archive_read": "",
            },
            fact_ids=("athena.price_per_tb_scanned", "athena.min_billed_per_query"),
        ),
        ServiceModel(
            key="s3",
            name="Amazon S3",
            aliases=("s3", "amazon s3", "s3 standard"),
            data_model="objects by key in buckets, up to 50 TB each",
            consistency="strong read-after-write",
            latency={
                "key_read": _const(20.0),
                "key_write": _const(30.0),
                "blob_read": _const(60.0),
                "archive_read": _const(20.0),
            },
            refuses={
                "join": "S3 stores objects; querying them is Athena's job",
                "transaction": "",
                "analytics_scan": "S3 stores objects; querying them is Athena's job",
                "graph_traversal": "",
                "full_text": "",
                "document_query": "",
                "time_range": "",
                "rank": "",
            },
            max_record_bytes=float(facts.value("s3.max_object_size")),
            max_writes_per_second=float(facts.value("dbchoice.s3_put_rate_per_prefix")),
            cost_per_gb_month=float(facts.value("s3.storage_price_standard")),
            fact_ids=("s3.storage_price_standard", "dbchoice.s3_put_rate_per_prefix"),
        ),
        ServiceModel(
            key="glacier",
            name="Amazon S3 Glacier",
            aliases=(
                "glacier",
                "s3 glacier",
                "amazon s3 glacier",
                "glacier flexible retrieval",
                "s3 glacier flexible retrieval",
                "glacier deep archive",
                "deep archive",
                "s3 glacier deep archive",
            ),
            data_model="archived objects: restored (minutes to hours) before they are read",
            consistency="strong, once restored",
            latency={"archive_read": _glacier_restore, "key_write": _const(30.0)},
            refuses={
                "key_read": "an archived object must be restored (minutes to hours) before a GET",
                "blob_read": "an archived object must be restored (minutes to hours) first",
                "join": "",
                "transaction": "",
                "analytics_scan": "",
                "graph_traversal": "",
                "full_text": "",
                "document_query": "",
                "time_range": "",
                "rank": "",
            },
            fact_ids=(
                "dbchoice.glacier_standard_hours",
                "dbchoice.deep_archive_standard_hours",
                "dbchoice.storage_price_deep_archive",
            ),
            options={
                "storage_class": ("GLACIER", "DEEP_ARCHIVE"),
                "retrieval": ("Expedited", "Standard", "Bulk"),
            },
        ),
    ]
    return {model.key: model for model in models}


@functools.cache
def catalog() -> dict[str, ServiceModel]:
    """Every model, by key (made once; cached on the function, as the grader's tamper guard
    reports module globals that change while a check runs)."""
    return _models()


def storage_price(model: ServiceModel, config: Mapping[str, Any]) -> float | None:
    """USD per GB-month of storage, where the fact table has it."""
    if model.key == "glacier":
        return _glacier_price(config)
    return model.cost_per_gb_month


def resolve(name: object) -> ServiceModel:
    """The model called ``name``: its key, AWS's name, or a common name (any case)."""
    models = catalog()
    text = " ".join(str(name).strip().lower().replace("_", " ").split())
    for model in models.values():
        if text == model.key or text in model.aliases or text == model.name.lower():
            return model
    raise UnknownServiceError(name, sorted(models))


def parse_choice(value: Any) -> tuple[ServiceModel, dict[str, Any]]:
    """A learner's choice for a workload: ``"aurora"``, ``("dynamodb", {...})`` or
    ``{"service": "dynamodb", "consistent_reads": True}``; options are checked."""
    config: dict[str, Any]
    if isinstance(value, dict):
        config = dict(value)
        name = config.pop("service", None) or config.pop("engine", None)
        if name is None:
            raise BadConfigurationError(
                f"{value!r} names no service: give {{'service': 'aurora', ...}}"
            )
    elif isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[1], dict):
        name, config = value[0], dict(value[1])
    else:
        name, config = value, {}
    text = str(name).lower()
    model = resolve(name)
    if model.key == "glacier" and "deep" in text:
        config.setdefault("storage_class", "DEEP_ARCHIVE")
    if model.key == "s3" and str(config.get("storage_class", "")).upper() in (
        "GLACIER",
        "DEEP_ARCHIVE",
    ):
        model = catalog()["glacier"]
        config["storage_class"] = str(config["storage_class"]).upper()
    for option, chosen in config.items():
        allowed = model.options.get(option)
        if allowed is None and option != "storage_class":
            raise BadConfigurationError(
                f"{model.name} has no option {option!r} in the models"
                + (f" (it has: {', '.join(model.options)})" if model.options else "")
            )
        if allowed is not None and chosen not in allowed:
            raise BadConfigurationError(
                f"{model.name}'s {option} is one of {', '.join(map(repr, allowed))}, not {chosen!r}"
            )
    return model, config
