"""Amazon Data Firehose delivers to OpenSearch Service and to Redshift, on the lab clock.

moto 5.2.5 stores an Elasticsearch or Redshift destination's configuration and drops the data
(and does not know ``AmazonopensearchserviceDestinationConfiguration`` at all). With this patch
the records go through the same buffer as the S3 delivery (:mod:`.patch`: size or interval,
whichever comes first, on the lab clock) and, on each flush:

**OpenSearch Service** (``AmazonopensearchserviceDestinationConfiguration``, and the older
``ElasticsearchDestinationConfiguration``): the domain is ``DomainARN`` (or the domain whose
endpoint is ``ClusterEndpoint``); each record is one JSON document indexed into ``IndexName``
plus the rotation suffix of its UTC arrival time ("OneHour myindex-2016-02-25-13, OneDay
myindex-2016-02-25, OneWeek myindex-2016-w08, OneMonth myindex-2016-02",
https://docs.aws.amazon.com/firehose/latest/dev/es-index-rotation.html; default ``OneDay``,
API_AmazonopensearchserviceDestinationConfiguration.html). Documents go through the domain's
engine (:func:`labkit.services.opensearch.patch.engine_of`) as any write, so they are
searchable after the index's next refresh on the lab clock. Buffering defaults are 5 MiB and
300 s, size at most 100 MiB
(https://docs.aws.amazon.com/firehose/latest/APIReference/API_AmazonopensearchserviceBufferingHints.html).
A record that is not a JSON object, or that the index's mappings refuse, is a failed document:
``S3BackupMode`` ``FailedDocumentsOnly`` (the default) writes it to the ``S3Configuration``
bucket "with AmazonOpenSearchService-failed/ appended to the key prefix", and ``AllDocuments``
also writes every record there as the S3 delivery would
(https://docs.aws.amazon.com/firehose/latest/APIReference/API_AmazonopensearchserviceDestinationConfiguration.html).
A failed document is one JSON line shaped as Firehose's documented error records
(``attemptsMade``, ``arrivalTimestamp``, ``errorCode``, ``errorMessage``,
``attemptEndingTimestamp``, ``rawData`` base64:
https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion-error-handling.html)
plus ``esDocumentId`` and ``esIndexName``; the OpenSearch section of
https://docs.aws.amazon.com/firehose/latest/dev/retry.html could not be read in full here, so
that field list is labkit's best reading, not a quotation.

**Redshift** (``RedshiftDestinationConfiguration``): "Firehose first delivers incoming data to
your S3 bucket and then issues an Amazon Redshift COPY command to load the data from your S3
bucket to your Amazon Redshift cluster" (basic-deliver.html). The batch is written to the
``S3Configuration`` bucket as the S3 delivery writes it (key layout, compression; buffering is
that configuration's ``BufferingHints``), then ``COPY <DataTableName> (<DataTableColumns>) FROM
's3://<bucket>/<key>' CREDENTIALS 'aws_iam_role=<RoleARN>' <CopyOptions>`` runs on the cluster
named by ``ClusterJDBCURL`` through the cluster's database, the one the Data API uses
(:func:`labkit.services.redshift.patch.warehouse_of`), so the rows answer a ``SELECT`` through
``redshift-data``. A COPY that fails (a missing table, data the table refuses) leaves the object
in the bucket and records the error (:func:`destination_log`), and a manifest of the skipped
object is written under ``errors/`` in the bucket ("The skipped objects' information is
delivered to your S3 bucket as a manifest file in the errors/ folder",
https://docs.aws.amazon.com/firehose/latest/dev/retry.html, "Amazon Redshift").

Simplified, and said here: Firehose loads through a manifest (``COPY ... MANIFEST``); the
sandbox's COPY reads the one object's key directly (the same rows). The retry windows
(``RetryOptions``: 300 s for OpenSearch, 3600 s for Redshift) are not waited out: a failure is
backed up or skipped on the flush that met it. The Firehose role's S3 and ``es:ESHttp*``
permissions are not asked of the policy engine (the COPY runs with the role's credentials as on
AWS, so the cluster need not have the role), the ``Username``/``Password`` are stored but not
checked, the rotation suffix uses the arrival time of the batch's oldest record, and
``UpdateDestination`` for these destinations is moto's. When the backup bucket is missing, the
whole batch is retried at the next interval (its good documents are indexed again, under new
ids), where AWS would retry only the backup write. The path beneath ``errors/`` is labkit's
(``errors/manifests/<yyyy/MM/dd/HH>/<object name>``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from moto.firehose.exceptions import InvalidArgumentException, ValidationException
from moto.firehose.models import FirehoseBackend, firehose_backends
from moto.firehose.responses import FirehoseResponse
from moto.moto_api._internal import mock_random
from moto.opensearch.models import opensearch_backends
from moto.redshift.models import redshift_backends
from moto.s3.models import s3_backends

from labkit import facts
from labkit.services.athena.patch import S3Store, catalog_for
from labkit.services.firehose.patch import (
    FirehoseLimits,
    _check_destination,
    _compress,
    java_datetime_format,
    object_key,
)
from labkit.services.kinesis.patch import patched
from labkit.services.opensearch.patch import engine_of, find_domain
from labkit.services.opensearch.sim_fields import SearchError
from labkit.services.redshift.patch import slices_per_node, warehouse_of
from labkit.services.redshift.sim_warehouse import Context

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: moto's destination keys (its description names each ``<key>DestinationDescription``).
OPENSEARCH = "Amazonopensearchservice"
ELASTICSEARCH = "Elasticsearch"
REDSHIFT = "Redshift"
#: "AmazonOpenSearchService-failed/ appended to the key prefix" (S3BackupMode, API reference).
FAILED_PREFIX = "AmazonOpenSearchService-failed/"
ROTATIONS = ("NoRotation", "OneHour", "OneDay", "OneWeek", "OneMonth")


@dataclass
class DestinationLog:
    """What a delivery stream's OpenSearch or Redshift destination has done (views, checks).

    Attributes:
        documents_indexed: Documents indexed into OpenSearch.
        documents_failed: Documents OpenSearch refused (backed up to S3).
        indexes: Index names written to, in order of first use.
        rows_loaded: Rows COPY loaded into Redshift.
        copies: COPY commands run (failed ones included).
        errors: Why each failed COPY or document failed, oldest first.
        backup_keys: S3 keys written besides the Redshift intermediate objects (backups,
            failed documents, error manifests).
    """

    documents_indexed: int = 0
    documents_failed: int = 0
    indexes: list[str] = field(default_factory=list)
    rows_loaded: int = 0
    copies: int = 0
    errors: list[str] = field(default_factory=list)
    backup_keys: list[str] = field(default_factory=list)


def destination_log(delivery_stream: Any) -> DestinationLog:
    """The log of a moto ``DeliveryStream``'s OpenSearch or Redshift destination."""
    log: DestinationLog | None = getattr(delivery_stream, "labkit_destination_log", None)
    if log is None:
        log = DestinationLog()
        delivery_stream.labkit_destination_log = log
    return log


def firehose_destination_log(
    sandbox: Sandbox, name: str, *, region: str | None = None
) -> DestinationLog:
    """The destination log of the delivery stream called ``name``."""
    backend = sandbox.backend("firehose", region=region)
    return destination_log(backend.delivery_streams[name])


def destination_of(delivery_stream: Any) -> tuple[str, dict[str, Any]] | None:
    """``(kind, configuration)`` of an OpenSearch or Redshift destination, else ``None``."""
    destination = delivery_stream.destinations[0]
    for kind in (OPENSEARCH, ELASTICSEARCH, REDSHIFT):
        config = destination.get(kind)
        if isinstance(config, dict):
            return kind, config
    return None


def buffering_of(delivery_stream: Any) -> dict[str, Any] | None:
    """The configuration whose ``BufferingHints`` drive the buffer (``None``: not ours).

    OpenSearch's hints are the destination's own; Redshift has none of its own: its
    ``S3Configuration`` (the intermediate bucket) buffers.
    """
    found = destination_of(delivery_stream)
    if found is None:
        return None
    kind, config = found
    if kind == REDSHIFT:
        s3: dict[str, Any] = config["S3DestinationDescription"]
        return s3
    return config


def index_name(base: str, rotation: str, arrival: float) -> str:
    """``base`` with the rotation suffix of the UTC time ``arrival`` (es-index-rotation.html).

    OneWeek is ``<year>-w<week>``, weeks starting on Sunday, as the page's example
    (2016-02-25 is ``2016-w08``): the days before the year's first Sunday are week 00.
    """
    when = datetime.fromtimestamp(arrival, tz=timezone.utc)
    if rotation == "NoRotation":
        return base
    if rotation == "OneHour":
        return f"{base}-{java_datetime_format('yyyy-MM-dd-HH', when)}"
    if rotation == "OneWeek":
        return f"{base}-{when:%Y}-w{when:%U}"
    if rotation == "OneMonth":
        return f"{base}-{java_datetime_format('yyyy-MM', when)}"
    return f"{base}-{java_datetime_format('yyyy-MM-dd', when)}"


def _check_hints(hints: dict[str, Any], where: str, size_max: int, lim: FirehoseLimits) -> None:
    for member, low, high in (
        ("SizeInMBs", lim.size_min, size_max),
        ("IntervalInSeconds", lim.interval_min, lim.interval_max),
    ):
        value = int(hints[member])
        path = f"{where}.bufferingHints.{member[0].lower()}{member[1:]}"
        if not low <= value <= high:
            bound = "less than or equal to" if value > high else "greater than or equal to"
            raise ValidationException(
                f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
                f"constraint: Member must have value {bound} {high if value > high else low}"
            )


def prepare_opensearch(config: dict[str, Any], where: str, lim: FirehoseLimits) -> None:
    """Fill AWS's defaults into an OpenSearch (or Elasticsearch) destination and check it."""
    v = facts.value
    hints = config.setdefault("BufferingHints", {})
    hints.setdefault("SizeInMBs", int(v("firehose.opensearch_buffer_size_default")))
    hints.setdefault("IntervalInSeconds", int(v("firehose.opensearch_buffer_interval_default")))
    _check_hints(hints, where, int(v("firehose.opensearch_buffer_size_max")), lim)
    if not config.get("IndexName"):
        raise InvalidArgumentException(f"{where}.IndexName is required.")
    if not (config.get("DomainARN") or config.get("ClusterEndpoint")):
        raise InvalidArgumentException(f"{where}: specify either DomainARN or ClusterEndpoint.")
    rotation = config.setdefault(
        "IndexRotationPeriod", str(v("firehose.opensearch_index_rotation_default"))
    )
    if rotation not in ROTATIONS:
        raise ValidationException(
            f"1 validation error detected: Value '{rotation}' at '{where}.indexRotationPeriod' "
            f"failed to satisfy constraint: Member must satisfy enum value set: {list(ROTATIONS)}"
        )
    mode = config.setdefault("S3BackupMode", "FailedDocumentsOnly")
    if mode not in ("FailedDocumentsOnly", "AllDocuments"):
        raise ValidationException(
            f"1 validation error detected: Value '{mode}' at '{where}.s3BackupMode' failed to "
            "satisfy constraint: Member must satisfy enum value set: [FailedDocumentsOnly, "
            "AllDocuments]"
        )
    config.setdefault(
        "RetryOptions",
        {"DurationInSeconds": int(v("firehose.opensearch_retry_duration_default"))},
    )
    s3 = config.get("S3Configuration")
    if not s3:
        raise InvalidArgumentException(f"{where}.S3Configuration is required.")
    _check_destination(s3, f"{where}.s3Configuration", lim)


def prepare_redshift(config: dict[str, Any], where: str, lim: FirehoseLimits) -> None:
    """Fill AWS's defaults into a Redshift destination and check it."""
    for member in ("ClusterJDBCURL", "CopyCommand", "RoleARN", "S3Configuration"):
        if not config.get(member):
            raise InvalidArgumentException(f"{where}.{member} is required.")
    if not config["CopyCommand"].get("DataTableName"):
        raise InvalidArgumentException(f"{where}.CopyCommand.DataTableName is required.")
    config.setdefault(
        "RetryOptions",
        {"DurationInSeconds": int(facts.value("firehose.redshift_retry_duration_default"))},
    )
    config.setdefault("S3BackupMode", "Disabled")
    _check_destination(config["S3Configuration"], f"{where}.s3Configuration", lim)
    if config["S3Configuration"]["CompressionFormat"] not in ("UNCOMPRESSED", "GZIP"):
        # "The compression formats SNAPPY or ZIP cannot be specified for Amazon Redshift
        # destinations because they are not supported by the Amazon Redshift COPY operation"
        # (https://docs.aws.amazon.com/firehose/latest/APIReference/API_S3DestinationConfiguration.html).
        raise InvalidArgumentException(
            "The compression formats SNAPPY or ZIP cannot be specified for Amazon Redshift "
            "destinations: COPY cannot read them. Use GZIP (with GZIP in CopyOptions) or "
            "UNCOMPRESSED."
        )


# -- delivery -----------------------------------------------------------------------------------
def _time_prefix(arrival: float) -> str:
    return java_datetime_format("yyyy/MM/dd/HH/", datetime.fromtimestamp(arrival, tz=timezone.utc))


def _bucket(s3: dict[str, Any]) -> str:
    return str(s3["BucketARN"]).split(":")[-1]


def _write(account: str, s3: dict[str, Any], key: str, body: bytes) -> None:
    """Put an object in the destination's bucket (a ``ServiceException`` on failure)."""
    s3_backends[account]["aws"].put_object(_bucket(s3), key, body)


def _domain_of(config: dict[str, Any], account: str) -> Any:
    arn = str(config.get("DomainARN") or "")
    if arn:
        parts = arn.split(":")
        if len(parts) == 6 and parts[5].startswith("domain/"):
            backend = dict.get(dict.get(opensearch_backends, parts[4]) or {}, parts[3])
            domains = getattr(backend, "domains", {}) if backend is not None else {}
            return domains.get(parts[5].split("/", 1)[1])
        return None
    host = str(config.get("ClusterEndpoint") or "").split("://", 1)[-1].split("/", 1)[0]
    found = find_domain(host.split(":", 1)[0])
    return found[2] if found is not None else None


def _failed_line(
    raw: bytes, code: str, message: str, arrival: float, now: float, index: str
) -> str:
    return json.dumps(
        {
            "attemptsMade": 1,
            "arrivalTimestamp": int(arrival * 1000),
            "errorCode": code,
            "errorMessage": message,
            "attemptEndingTimestamp": int(now * 1000),
            "rawData": base64.b64encode(raw).decode("ascii"),
            "esDocumentId": None,
            "esIndexName": index,
        }
    )


def deliver_opensearch(
    account: str,
    delivery_stream: Any,
    config: dict[str, Any],
    records: list[bytes],
    arrival: float,
    now: float,
) -> str | None:
    """Index each record; back up failed ones (and all, with ``AllDocuments``) to S3."""
    log = destination_log(delivery_stream)
    s3 = config["S3DestinationDescription"]
    index = index_name(str(config["IndexName"]), str(config["IndexRotationPeriod"]), arrival)
    written: str | None = None
    if config.get("S3BackupMode") == "AllDocuments":
        # Every record as the S3 delivery writes it (written first: a failure retries the lot).
        written = object_key(delivery_stream, s3, arrival)
        compression = s3.get("CompressionFormat") or "UNCOMPRESSED"
        body = _compress(b"".join(records), compression, arrival, written.rsplit("/", 1)[-1])
        _write(account, s3, written, body)
        log.backup_keys.append(written)
    domain = _domain_of(config, account)
    failed: list[str] = []
    for raw in records:
        if domain is None:
            failed.append(
                _failed_line(
                    raw, "DomainNotFound", "The domain does not exist.", arrival, now, index
                )
            )
            continue
        try:
            document = json.loads(raw.decode("utf-8"))
            if not isinstance(document, dict):
                raise ValueError("a document must be a JSON object")
        except ValueError as err:
            failed.append(
                _failed_line(
                    raw, "mapper_parsing_exception", f"failed to parse: {err}", arrival, now, index
                )
            )
            continue
        try:
            doc_id = str(mock_random.uuid4()).replace("-", "")[:20]
            engine_of(domain).put(index, doc_id, document, now)
        except SearchError as err:
            failed.append(_failed_line(raw, err.kind, err.message, arrival, now, index))
            continue
        log.documents_indexed += 1
        if index not in log.indexes:
            log.indexes.append(index)
    if failed:
        prefix = f"{s3.get('Prefix') or ''}{FAILED_PREFIX}"
        key = object_key(delivery_stream, {**s3, "Prefix": prefix}, arrival)
        _write(account, s3, key, ("\n".join(failed) + "\n").encode("utf-8"))
        log.documents_failed += len(failed)
        log.backup_keys.append(key)
        log.errors.extend(json.loads(line)["errorMessage"] for line in failed)
        written = written or key
    return written


def _cluster_of(jdbc_url: str, account: str) -> Any:
    """The moto cluster of ``jdbc:redshift://<id>.<unique>.<region>.redshift.amazonaws.com``."""
    host = jdbc_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    parts = host.split(".")
    if len(parts) < 3:
        return None
    backend = dict.get(dict.get(redshift_backends, account) or {}, parts[2])
    return backend.clusters.get(parts[0]) if backend is not None else None


def deliver_redshift(
    account: str,
    delivery_stream: Any,
    config: dict[str, Any],
    records: list[bytes],
    arrival: float,
) -> str:
    """Write the batch to the intermediate bucket, then COPY it into the table."""
    log = destination_log(delivery_stream)
    s3 = config["S3DestinationDescription"]
    key = object_key(delivery_stream, s3, arrival)
    compression = s3.get("CompressionFormat") or "UNCOMPRESSED"
    _write(
        account, s3, key, _compress(b"".join(records), compression, arrival, key.rsplit("/", 1)[-1])
    )
    copy = config["CopyCommand"]
    columns = str(copy.get("DataTableColumns") or "").strip()
    sql = (
        f"COPY {copy['DataTableName']}{f' ({columns})' if columns else ''} FROM "
        f"'s3://{_bucket(s3)}/{key}' CREDENTIALS 'aws_iam_role={config['RoleARN']}' "
        f"{copy.get('CopyOptions') or ''}"
    ).strip()
    log.copies += 1
    cluster = _cluster_of(str(config["ClusterJDBCURL"]), account)
    error: str | None
    if cluster is None or str(cluster.status) != "available":
        error = f"The cluster of {config['ClusterJDBCURL']} does not exist or is not available."
    else:
        error = _copy(account, cluster, sql, str(config["RoleARN"]), log)
    if error is not None:
        log.errors.append(error)
        manifest = {"entries": [{"url": f"s3://{_bucket(s3)}/{key}", "mandatory": True}]}
        skipped = f"errors/manifests/{_time_prefix(arrival)}{key.rsplit('/', 1)[-1]}"
        _write(account, s3, skipped, json.dumps(manifest).encode("utf-8"))
        log.backup_keys.append(skipped)
    return key


def _copy(account: str, cluster: Any, sql: str, role: str, log: DestinationLog) -> str | None:
    """Run Firehose's COPY on the cluster's database; the error, if it failed."""
    per_node = slices_per_node(cluster.node_type)
    region = str(cluster.region)

    def put(bucket: str, key: str, body: bytes) -> None:
        s3_backends[account]["aws"].put_object(bucket_name=bucket, key_name=key, value=body)

    def allow(role_arn: str, action: str, bucket: str, key: str) -> str | None:
        # Firehose wrote the object as this role a moment ago and passes the role's
        # credentials to COPY; its read is not asked again (see the module docstring).
        return None

    context = Context(
        store=S3Store(account),
        put=put,
        allow=allow,
        # COPY runs with the Firehose role's credentials: the cluster need not have the role.
        cluster_roles=(role,),
        catalog=catalog_for(account, region)[0],
        slices=per_node * int(cluster.number_of_nodes),
        slices_per_node=per_node,
    )
    outcome = warehouse_of(cluster).run(sql, context)
    if outcome.error is not None:
        return outcome.error
    log.rows_loaded += outcome.rows_affected
    return None


# -- the patches --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Destinations:
    """What :mod:`.patch`'s buffer asks of the OpenSearch and Redshift destinations.

    Attributes:
        buffering: The configuration whose ``BufferingHints`` buffer a stream (``None``: not
            one of these destinations).
        deliver: Delivers a flushed buffer ``(backend, stream, records, oldest arrival)``; the
            S3 key it wrote, if any. Raises moto's ``ServiceException`` when the S3 write
            failed, for the buffer to retry.
    """

    buffering: Callable[[Any], dict[str, Any] | None]
    deliver: Callable[[FirehoseBackend, Any, list[bytes], float], str | None]


@contextmanager
def destinations(sandbox: Sandbox, limits: FirehoseLimits | None = None) -> Iterator[Destinations]:
    """Patch moto for the OpenSearch and Redshift destinations while the block runs."""
    lim = limits or FirehoseLimits.from_facts()

    def deliver(
        backend: FirehoseBackend, delivery_stream: Any, records: list[bytes], arrival: float
    ) -> str | None:
        found = destination_of(delivery_stream)
        if found is None:
            return None
        kind, config = found
        account = str(backend.account_id)
        if kind == REDSHIFT:
            return deliver_redshift(account, delivery_stream, config, records, arrival)
        now = sandbox.clock.timestamp
        return deliver_opensearch(account, delivery_stream, config, records, arrival, now)

    original_create = FirehoseBackend.create_delivery_stream

    def create_delivery_stream(self: FirehoseBackend, *args: Any) -> str:
        # args: region, name, type, kinesis, encryption, s3, extended s3, redshift, es, ...
        redshift, elasticsearch = args[7], args[8]
        if redshift:
            prepare_redshift(redshift, "redshiftDestinationConfiguration", lim)
        if elasticsearch:
            prepare_opensearch(elasticsearch, "elasticsearchDestinationConfiguration", lim)
        arn: str = original_create(self, *args)
        return arn

    original_response = FirehoseResponse.create_delivery_stream

    def create_response(self: FirehoseResponse) -> Any:
        # moto reads no AmazonopensearchserviceDestinationConfiguration: hand it over as the
        # Elasticsearch one (same shape), then file it under its own name.
        config = self._get_param("AmazonopensearchserviceDestinationConfiguration")
        if not config:
            return original_response(self)
        if self._get_param("ElasticsearchDestinationConfiguration"):
            raise InvalidArgumentException(
                "Exactly one destination configuration is supported for a Firehose"
            )
        get = self._get_param

        def get_param(name: str, *more: Any, **kw: Any) -> Any:
            if name == "ElasticsearchDestinationConfiguration":
                return config
            return get(name, *more, **kw)

        setattr(self, "_get_param", get_param)  # noqa: B010 (an instance override, for one call)
        try:
            result = original_response(self)
        finally:
            del self._get_param
        stream = firehose_backends[self.current_account][self.region].delivery_streams[
            self._get_param("DeliveryStreamName")
        ]
        stream.destinations[0][OPENSEARCH] = stream.destinations[0].pop(ELASTICSEARCH)
        return result

    original_describe = FirehoseBackend.describe_delivery_stream

    def describe_delivery_stream(
        self: FirehoseBackend, delivery_stream_name: str
    ) -> dict[str, Any]:
        result: dict[str, Any] = original_describe(self, delivery_stream_name)
        description = result["DeliveryStreamDescription"]
        description.pop("LabkitDestinationLog", None)
        for destination in description.get("Destinations", []):
            redshift = destination.get("RedshiftDestinationDescription")
            if isinstance(redshift, dict) and "Password" in redshift:
                # "RedshiftDestinationDescription" has no Password (AWS never returns it).
                destination["RedshiftDestinationDescription"] = {
                    k: v for k, v in redshift.items() if k != "Password"
                }
        return result

    patches: list[tuple[type, str, Any]] = [
        (FirehoseBackend, "create_delivery_stream", create_delivery_stream),
        (FirehoseResponse, "create_delivery_stream", create_response),
        (FirehoseBackend, "describe_delivery_stream", describe_delivery_stream),
    ]
    with patched(patches):
        yield Destinations(buffering=buffering_of, deliver=deliver)


__all__ = [
    "FAILED_PREFIX",
    "DestinationLog",
    "Destinations",
    "buffering_of",
    "deliver_opensearch",
    "deliver_redshift",
    "destination_log",
    "destination_of",
    "destinations",
    "firehose_destination_log",
    "index_name",
    "prepare_opensearch",
    "prepare_redshift",
]
