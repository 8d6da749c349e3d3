"""DynamoDB recovery on the lab clock: point-in-time recovery, backups, export to and import
from S3.

What moto 5.2.5 does (measured) and what this patch changes while a lab runs:

- **PITR.** moto records the settings but freezes ``LatestRestorableDateTime`` at the moment
  PITR was enabled and restores the table *as it is now*, whatever ``RestoreDateTime`` says.
  Here a table keeps an item history from the moment PITR is enabled
  (:mod:`labkit.services.dynamodb.sim_history`); ``DescribeContinuousBackups`` reports
  ``EarliestRestorableDateTime`` (PITR's start, at most 35 days or ``RecoveryPeriodInDays``
  back) and ``LatestRestorableDateTime`` (five minutes before now); and
  ``RestoreTableToPointInTime`` (``SourceTableName`` or ``SourceTableArn``, ``RestoreDateTime``
  or ``UseLatestRestorableTime``) creates a new table holding exactly the items of that lab
  second, refusing a time outside the window (``InvalidRestoreTimeException``) or a table without
  PITR (``PointInTimeRecoveryUnavailableException``). As on AWS the new table has the source's
  keys, indexes and capacity mode but not its TTL, streams or PITR setting.
- **On-demand backups** (``CreateBackup``/``RestoreTableFromBackup``) are faithful in moto: the
  backup copies the table at the lab time of the call; kept, except that the restored table now
  keeps the source's capacity mode (moto brought an on-demand table back provisioned at 0 units).
- **Export.** moto raises ``KeyError`` without ``S3Prefix``, runs in a real thread and writes one
  ``.gz`` object. Here ``ExportTableToPointInTime`` exports the items of ``ExportTime`` (default
  now) as AWS lays them out
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html):
  ``[prefix/]AWSDynamoDB/<ExportId>/_started`` at once, then, when the export finishes on the
  lab clock (``EXPORT_SECONDS``), ``data/<name>.json.gz`` (one ``{"Item": ...}`` DynamoDB JSON
  object per line), ``manifest-files.json``, ``manifest-summary.json`` and their ``.checksum``
  files, with ``ExportStatus`` ``IN_PROGRESS`` then ``COMPLETED`` (``FAILED`` with
  ``S3NoSuchBucket`` if the bucket does not exist).
- **Import.** moto reads DynamoDB JSON only, in a thread. Here ``ImportTable`` reads every
  object under ``S3KeyPrefix`` (``GZIP`` or uncompressed) as ``DYNAMODB_JSON`` or ``CSV`` (first
  line the header unless ``HeaderList`` is given; key attributes take the types of
  ``AttributeDefinitions``, every other value is a String, as AWS imports CSV:
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataImport.Format.html) and
  creates the table when the import finishes on the lab clock; bad lines count in ``ErrorCount``.

State lives on moto's ``Table`` (``labkit_history``) and backend (``labkit_exports``,
``labkit_imports``) objects, so ``lab.reset()`` and a check's isolated world cover it.
"""

from __future__ import annotations

import base64
import copy
import csv
import gzip
import hashlib
import io
import json
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import (
    PointInTimeRecoveryUnavailable,
    ResourceInUseException,
    SourceTableNotFoundException,
    TableAlreadyExistsException,
    TableNotFoundException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

from labkit.errors import NotSimulatedError
from labkit.services.dynamodb.patch_ttl import key_text
from labkit.services.dynamodb.sim_history import ItemHistory, window_seconds

if TYPE_CHECKING:
    from labkit.clock import Clock
    from labkit.sandbox.session import Sandbox

#: Lab seconds an export or an import takes (labkit's model: AWS's own example export ran from
#: 07:28:34 to 07:33:43, about five minutes, S3DataExport.Output.html).
EXPORT_SECONDS = 300.0
IMPORT_SECONDS = 300.0

_HISTORY = "labkit_history"
_EXPORTS = "labkit_exports"
_IMPORTS = "labkit_imports"


class RecoveryError(JsonRESTError):
    """An error AWS returns for a recovery request (code given)."""


def _error(code: str, message: str) -> RecoveryError:
    return RecoveryError(code, message)


def _epoch(value: Any) -> float:
    """A timestamp parameter as moto hands it over (datetime, epoch number or text)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def history_of(table: Any) -> ItemHistory | None:
    """The PITR item history of a moto ``Table`` (``None`` while PITR is off)."""
    history: ItemHistory | None = table.__dict__.get(_HISTORY)
    return history


def _period(table: Table) -> float:
    days = table.continuous_backups["PointInTimeRecoveryDescription"].get("RecoveryPeriodInDays")
    return window_seconds(int(days) if days else None)


# -- install ------------------------------------------------------------------------------------
def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the recovery patches for ``sandbox``."""
    seed = sandbox.seed

    def clock_of() -> Clock:
        return sandbox.clock

    put_item = Table.put_item
    delete_item = Table.delete_item
    update_item = DynamoDBBackend.update_item
    update_backups = DynamoDBBackend.update_continuous_backups
    describe_backups = DynamoDBBackend.describe_continuous_backups
    restore_backup = DynamoDBBackend.restore_table_from_backup
    handler_restore = DynamoHandler.restore_table_to_point_in_time
    handler_export = DynamoHandler.export_table_to_point_in_time
    handler_describe_export = DynamoHandler.describe_export
    handler_list_exports = DynamoHandler.list_exports
    handler_import = DynamoHandler.import_table
    handler_describe_import = DynamoHandler.describe_import

    def note(table: Table, item: Item | None, keys_from: Item) -> None:
        history = history_of(table)
        if history is None:
            return
        now = clock_of().timestamp
        image = item.to_json()["Attributes"] if item is not None else None
        history.record(now, key_text(keys_from), image)
        if len(history.changes) % 1024 == 0:
            history.compact(now, _period(table))

    def table_put_item(self: Table, *args: Any, **kwargs: Any) -> Item:
        item: Item = put_item(self, *args, **kwargs)
        note(self, item, item)
        return item

    def table_delete_item(self: Table, hash_key: Any, range_key: Any) -> Item | None:
        item: Item | None = delete_item(self, hash_key, range_key)
        if item is not None:
            note(self, None, item)
        return item

    def backend_update_item(self: DynamoDBBackend, table_name: str, *args: Any, **kw: Any) -> Item:
        item: Item = update_item(self, table_name, *args, **kw)
        if item is not None:
            note(self.get_table(table_name), item, item)
        return item

    def backend_update_backups(
        self: DynamoDBBackend, table_name: str, point_in_time_spec: dict[str, Any]
    ) -> dict[str, Any]:
        days = point_in_time_spec.get("RecoveryPeriodInDays")
        if days is not None and not 1 <= int(days) <= 35:
            raise _error(
                "ValidationException",
                f"1 validation error detected: Value '{days}' at "
                "'pointInTimeRecoverySpecification.recoveryPeriodInDays' failed to satisfy "
                "constraint: Member must have value between 1 and 35",
            )
        update_backups(self, table_name, point_in_time_spec)
        table = self.get_table(table_name)
        if point_in_time_spec.get("PointInTimeRecoveryEnabled"):
            if history_of(table) is None:
                table.__dict__[_HISTORY] = ItemHistory.start(
                    clock_of().timestamp,
                    ((key_text(i), i.to_json()["Attributes"]) for i in table.all_items()),
                )
        else:
            table.__dict__.pop(_HISTORY, None)
        return _describe_pitr(table, clock_of().timestamp)

    def backend_describe_backups(self: DynamoDBBackend, table_name: str) -> dict[str, Any]:
        describe_backups(self, table_name)
        return _describe_pitr(self.get_table(table_name), clock_of().timestamp)

    def backend_restore_backup(
        self: DynamoDBBackend, target_table_name: str, backup_arn: str
    ) -> Any:
        # moto copies the provisioned figures but not the capacity mode: an on-demand table came
        # back provisioned at 0 units. AWS restores the source's capacity mode.
        restored = restore_backup(self, target_table_name, backup_arn)
        restored.billing_mode = self.get_backup(backup_arn).table.billing_mode
        return restored

    def restore(self: DynamoHandler) -> ActionResult:
        return ActionResult(restore_to_point_in_time(self.dynamodb_backend, self.body, clock_of()))

    def export(self: DynamoHandler) -> ActionResult:
        record = start_export(self.dynamodb_backend, self.body, clock_of(), seed)
        return ActionResult({"ExportDescription": record.description()})

    def describe_export(self: DynamoHandler) -> ActionResult:
        arn = str(self.body.get("ExportArn"))
        record = _exports(self.dynamodb_backend).get(arn)
        if record is None:
            raise _error("ExportNotFoundException", f"Export not found: {arn}")
        return ActionResult({"ExportDescription": record.description()})

    def list_exports(self: DynamoHandler) -> ActionResult:
        wanted = self.body.get("TableArn")
        summaries = [
            {"ExportArn": r.arn, "ExportStatus": r.status, "ExportType": r.export_type}
            for r in _exports(self.dynamodb_backend).values()
            if wanted is None or r.table_arn == wanted
        ]
        return ActionResult({"ExportSummaries": summaries})

    def import_table(self: DynamoHandler) -> ActionResult:
        record = start_import(self.dynamodb_backend, self.body, clock_of(), seed)
        return ActionResult({"ImportTableDescription": record.description()})

    def describe_import(self: DynamoHandler) -> ActionResult:
        arn = str(self.body.get("ImportArn"))
        record = _imports(self.dynamodb_backend).get(arn)
        if record is None:
            raise _error("ImportNotFoundException", f"Import not found: {arn}")
        return ActionResult({"ImportTableDescription": record.description()})

    patches: list[tuple[type, str, Any, Any]] = [
        (Table, "put_item", put_item, table_put_item),
        (Table, "delete_item", delete_item, table_delete_item),
        (DynamoDBBackend, "update_item", update_item, backend_update_item),
        (DynamoDBBackend, "update_continuous_backups", update_backups, backend_update_backups),
        (
            DynamoDBBackend,
            "describe_continuous_backups",
            describe_backups,
            backend_describe_backups,
        ),
        (DynamoDBBackend, "restore_table_from_backup", restore_backup, backend_restore_backup),
        (DynamoHandler, "restore_table_to_point_in_time", handler_restore, restore),
        (DynamoHandler, "export_table_to_point_in_time", handler_export, export),
        (DynamoHandler, "describe_export", handler_describe_export, describe_export),
        (DynamoHandler, "list_exports", handler_list_exports, list_exports),
        (DynamoHandler, "import_table", handler_import, import_table),
        (DynamoHandler, "describe_import", handler_describe_import, describe_import),
    ]
    for owner, name, _original, replacement in patches:
        setattr(owner, name, replacement)

    def undo() -> None:
        for owner, name, original, _replacement in reversed(patches):
            setattr(owner, name, original)

    stack.callback(undo)


# -- PITR ---------------------------------------------------------------------------------------
def _describe_pitr(table: Table, now: float) -> dict[str, Any]:
    """``ContinuousBackupsDescription`` with the restorable window at ``now``."""
    out: dict[str, Any] = copy.deepcopy(table.continuous_backups)
    history = history_of(table)
    pitr = out["PointInTimeRecoveryDescription"]
    if history is not None and pitr.get("PointInTimeRecoveryStatus") == "ENABLED":
        pitr["EarliestRestorableDateTime"] = history.earliest(now, _period(table))
        pitr["LatestRestorableDateTime"] = history.latest(now)
    return out


def _find_table(backend: DynamoDBBackend, name_or_arn: str | None) -> Table | None:
    if not name_or_arn:
        return None
    if name_or_arn.startswith("arn:"):
        return next((t for t in backend.tables.values() if t.table_arn == name_or_arn), None)
    table: Table | None = backend.tables.get(name_or_arn)
    return table


def restore_to_point_in_time(
    backend: DynamoDBBackend, body: dict[str, Any], clock: Clock
) -> dict[str, Any]:
    """RestoreTableToPointInTime: a new table with the source's items at the chosen second."""
    source_name = body.get("SourceTableArn") or body.get("SourceTableName")
    source = _find_table(backend, source_name)
    if source is None:
        raise SourceTableNotFoundException(str(source_name))
    target_name = str(body.get("TargetTableName") or "")
    if target_name in backend.tables:
        raise TableAlreadyExistsException(target_name)
    history = history_of(source)
    if history is None:
        raise PointInTimeRecoveryUnavailable(source.name)
    now = clock.timestamp
    earliest = history.earliest(now, _period(source))
    latest = history.latest(now)
    use_latest = bool(body.get("UseLatestRestorableTime"))
    given = body.get("RestoreDateTime")
    if use_latest and given is not None:
        raise _error(
            "ValidationException",
            "Only one of RestoreDateTime or UseLatestRestorableTime can be specified",
        )
    if given is None and not use_latest:
        raise _error(
            "ValidationException", "Either RestoreDateTime or UseLatestRestorableTime is required"
        )
    when = latest if use_latest else _epoch(given)
    if not earliest <= when <= latest:
        raise _error(
            "InvalidRestoreTimeException",
            f"Invalid restore time {_when(when).isoformat()}: it must be between "
            f"EarliestRestorableDateTime {_when(earliest).isoformat()} and "
            f"LatestRestorableDateTime {_when(latest).isoformat()}",
        )
    history.compact(now, _period(source))
    items = history.at(max(when, history.base_at))
    restored = backend.restore_table_to_point_in_time(target_name, source.name)
    restored.billing_mode = source.billing_mode
    restored.items.clear()
    for image in items.values():
        restored.put_item(copy.deepcopy(image))
    restored.restore_date_time = _when(when)
    result: dict[str, Any] = restored.describe()
    return result


# -- export -------------------------------------------------------------------------------------
@dataclass
class ExportRecord:
    """One export to S3 and how far it got."""

    arn: str
    export_id: str
    table_arn: str
    table_id: str
    bucket: str
    bucket_owner: str
    prefix: str
    export_time: float
    start_time: float
    export_format: str
    export_type: str
    status: str = "IN_PROGRESS"
    end_time: float | None = None
    item_count: int = 0
    billed_bytes: int = 0
    manifest_key: str = ""
    failure_code: str | None = None
    failure_message: str | None = None
    client_token: str | None = None

    def description(self) -> dict[str, Any]:
        """``ExportDescription`` as the API returns it."""
        out: dict[str, Any] = {
            "ExportArn": self.arn,
            "ExportStatus": self.status,
            "StartTime": self.start_time,
            "TableArn": self.table_arn,
            "TableId": self.table_id,
            "ExportTime": self.export_time,
            "S3Bucket": self.bucket,
            "S3BucketOwner": self.bucket_owner,
            "S3SseAlgorithm": "AES256",
            "ExportFormat": self.export_format,
            "ExportType": self.export_type,
            "BilledSizeBytes": self.billed_bytes,
            "ItemCount": self.item_count,
        }
        if self.prefix:
            out["S3Prefix"] = self.prefix
        if self.client_token:
            out["ClientToken"] = self.client_token
        if self.end_time is not None:
            out["EndTime"] = self.end_time
        if self.manifest_key and self.status == "COMPLETED":
            out["ExportManifest"] = self.manifest_key
        if self.failure_code:
            out["FailureCode"] = self.failure_code
            out["FailureMessage"] = self.failure_message
        return out


def _exports(backend: DynamoDBBackend) -> dict[str, ExportRecord]:
    found: dict[str, ExportRecord] = backend.__dict__.setdefault(_EXPORTS, {})
    return found


def _token(seed: int, *parts: object) -> str:
    return hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).hexdigest()


def _s3(account: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[account]["aws"]


def start_export(
    backend: DynamoDBBackend, body: dict[str, Any], clock: Clock, seed: int
) -> ExportRecord:
    """ExportTableToPointInTime: validate, write ``_started``, finish on the clock."""
    table_arn = str(body.get("TableArn") or "")
    table = _find_table(backend, table_arn)
    if table is None:
        raise TableNotFoundException(table_arn)
    history = history_of(table)
    if history is None:
        raise PointInTimeRecoveryUnavailable(table.name)
    export_format = str(body.get("ExportFormat") or "DYNAMODB_JSON")
    export_type = str(body.get("ExportType") or "FULL_EXPORT")
    if export_format != "DYNAMODB_JSON":
        raise NotSimulatedError(
            "dynamodb", "ExportTableToPointInTime", f"ExportFormat {export_format}"
        )
    if export_type != "FULL_EXPORT":
        raise NotSimulatedError("dynamodb", "ExportTableToPointInTime", f"ExportType {export_type}")
    now = clock.timestamp
    when = _epoch(body["ExportTime"]) if body.get("ExportTime") is not None else now
    earliest, latest = history.earliest(now, _period(table)), now
    if not earliest <= when <= latest:
        raise _error(
            "InvalidExportTimeException",
            f"ExportTime {_when(when).isoformat()} is outside the table's point-in-time recovery "
            f"window ({_when(earliest).isoformat()} to {_when(latest).isoformat()})",
        )
    count = len(_exports(backend)) + 1
    export_id = f"{int(now * 1000):014d}-{_token(seed, table_arn, count)[:8]}"
    prefix = str(body.get("S3Prefix") or "")
    record = ExportRecord(
        arn=f"{table.table_arn}/export/{export_id}",
        export_id=export_id,
        table_arn=table.table_arn,
        table_id=_uuid(_token(seed, "table", table.table_arn)),
        bucket=str(body.get("S3Bucket") or ""),
        bucket_owner=str(body.get("S3BucketOwner") or backend.account_id),
        prefix=prefix,
        export_time=when,
        start_time=now,
        export_format=export_format,
        export_type=export_type,
        client_token=body.get("ClientToken"),
    )
    _exports(backend)[record.arn] = record
    items = list(history.at(max(when, history.base_at)).values())
    s3 = _s3(backend.account_id)
    if record.bucket in s3.buckets:
        s3.put_object(record.bucket, _export_key(record, "_started"), b"")
    clock.call_later(
        EXPORT_SECONDS,
        lambda: finish_export(backend, record, items, clock, seed),
        label=f"dynamodb export {export_id}",
    )
    return record


def _uuid(hexdigits: str) -> str:
    h = hexdigits[:32]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _export_key(record: ExportRecord, name: str) -> str:
    base = f"AWSDynamoDB/{record.export_id}/{name}"
    return f"{record.prefix.rstrip('/')}/{base}" if record.prefix else base


def _iso(seconds: float) -> str:
    return _when(seconds).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(seconds * 1000) % 1000:03d}Z"


def finish_export(
    backend: DynamoDBBackend,
    record: ExportRecord,
    items: list[dict[str, Any]],
    clock: Clock,
    seed: int,
) -> None:
    """Write the data file and the manifests (or fail: no bucket)."""
    if _exports(backend).get(record.arn) is not record:
        return  # the world was reset
    s3 = _s3(backend.account_id)
    now = clock.timestamp
    record.end_time = now
    if record.bucket not in s3.buckets:
        record.status = "FAILED"
        record.failure_code = "S3NoSuchBucket"
        record.failure_message = "The specified bucket does not exist"
        return
    lines = "".join(json.dumps({"Item": item}, separators=(",", ":")) + "\n" for item in items)
    data = gzip.compress(lines.encode("utf-8"), mtime=0)
    data_key = _export_key(record, f"data/{_token(seed, record.export_id, 'data')[:26]}.json.gz")
    s3.put_object(record.bucket, data_key, data)
    md5 = hashlib.md5(data).digest()
    files = (
        json.dumps(
            {
                "itemCount": len(items),
                "md5Checksum": base64.b64encode(md5).decode("ascii"),
                "etag": md5.hex(),
                "dataFileS3Key": data_key,
            },
            separators=(",", ":"),
        )
        + "\n"
    )
    files_key = _export_key(record, "manifest-files.json")
    s3.put_object(record.bucket, files_key, files.encode("utf-8"))
    s3.put_object(
        record.bucket,
        _export_key(record, "manifest-files.checksum"),
        hashlib.md5(files.encode("utf-8")).hexdigest().encode("ascii"),
    )
    record.item_count = len(items)
    record.billed_bytes = len(lines.encode("utf-8"))
    summary = json.dumps(
        {
            "version": "2020-06-30",
            "exportArn": record.arn,
            "startTime": _iso(record.start_time),
            "endTime": _iso(now),
            "tableArn": record.table_arn,
            "tableId": record.table_id,
            "exportTime": _iso(record.export_time),
            "s3Bucket": record.bucket,
            "s3Prefix": record.prefix or None,
            "s3SseAlgorithm": "AES256",
            "s3SseKmsKeyId": None,
            "manifestFilesS3Key": files_key,
            "billedSizeBytes": record.billed_bytes,
            "itemCount": record.item_count,
            "outputFormat": "DYNAMODB_JSON",
            "exportType": record.export_type,
        }
    )
    record.manifest_key = _export_key(record, "manifest-summary.json")
    s3.put_object(record.bucket, record.manifest_key, summary.encode("utf-8"))
    s3.put_object(
        record.bucket,
        _export_key(record, "manifest-summary.checksum"),
        hashlib.md5(summary.encode("utf-8")).hexdigest().encode("ascii"),
    )
    record.status = "COMPLETED"


# -- import -------------------------------------------------------------------------------------
@dataclass
class ImportRecord:
    """One import from S3 and how far it got."""

    arn: str
    table_arn: str
    table_name: str
    source: dict[str, Any]
    input_format: str
    compression: str
    creation: dict[str, Any]
    start_time: float
    csv_options: dict[str, Any] = field(default_factory=dict)
    status: str = "IN_PROGRESS"
    end_time: float | None = None
    processed: int = 0
    processed_bytes: int = 0
    imported: int = 0
    errors: int = 0
    failure_code: str | None = None
    failure_message: str | None = None

    def description(self) -> dict[str, Any]:
        """``ImportTableDescription`` as the API returns it."""
        out: dict[str, Any] = {
            "ImportArn": self.arn,
            "ImportStatus": self.status,
            "TableArn": self.table_arn,
            "S3BucketSource": self.source,
            "InputFormat": self.input_format,
            "InputCompressionType": self.compression,
            "TableCreationParameters": self.creation,
            "StartTime": self.start_time,
            "ProcessedItemCount": self.processed,
            "ProcessedSizeBytes": self.processed_bytes,
            "ImportedItemCount": self.imported,
            "ErrorCount": self.errors,
        }
        if self.csv_options:
            out["InputFormatOptions"] = {"Csv": self.csv_options}
        if self.end_time is not None:
            out["EndTime"] = self.end_time
        if self.failure_code:
            out["FailureCode"] = self.failure_code
            out["FailureMessage"] = self.failure_message
        return out


def _imports(backend: DynamoDBBackend) -> dict[str, ImportRecord]:
    found: dict[str, ImportRecord] = backend.__dict__.setdefault(_IMPORTS, {})
    return found


def start_import(
    backend: DynamoDBBackend, body: dict[str, Any], clock: Clock, seed: int
) -> ImportRecord:
    """ImportTable: validate now, create and fill the table when the import finishes."""
    creation = dict(body.get("TableCreationParameters") or {})
    name = str(creation.get("TableName") or "")
    if name in backend.tables:
        raise ResourceInUseException(f"Table already exists: {name}")
    input_format = str(body.get("InputFormat") or "")
    if input_format not in ("DYNAMODB_JSON", "CSV"):
        raise NotSimulatedError("dynamodb", "ImportTable", f"InputFormat {input_format}")
    compression = str(body.get("InputCompressionType") or "NONE")
    if compression not in ("GZIP", "NONE"):
        raise NotSimulatedError("dynamodb", "ImportTable", f"InputCompressionType {compression}")
    now = clock.timestamp
    count = len(_imports(backend)) + 1
    table_arn = f"arn:aws:dynamodb:{backend.region_name}:{backend.account_id}:table/{name}"
    import_id = f"{int(now * 1000):014d}-{_token(seed, 'import', name, count)[:8]}"
    record = ImportRecord(
        arn=f"{table_arn}/import/{import_id}",
        table_arn=table_arn,
        table_name=name,
        source=dict(body.get("S3BucketSource") or {}),
        input_format=input_format,
        compression=compression,
        creation=creation,
        start_time=now,
        csv_options=dict((body.get("InputFormatOptions") or {}).get("Csv") or {}),
    )
    _imports(backend)[record.arn] = record
    clock.call_later(
        IMPORT_SECONDS,
        lambda: finish_import(backend, record, clock),
        label=f"dynamodb import {name}",
    )
    return record


def _csv_items(text: str, options: dict[str, Any], types: dict[str, str]) -> list[Any]:
    delimiter = str(options.get("Delimiter") or ",")
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header = list(options.get("HeaderList") or [])
    if not header and rows:
        header, rows = rows[0], rows[1:]
    out: list[Any] = []
    for row in rows:
        if not row:
            continue
        if len(row) != len(header):
            out.append(None)  # a malformed line: counted as an error
            continue
        item: dict[str, Any] = {}
        for attribute, value in zip(header, row, strict=True):
            if value == "" and attribute not in types:
                continue
            item[attribute] = {types.get(attribute, "S"): value}
        out.append(item)
    return out


def finish_import(backend: DynamoDBBackend, record: ImportRecord, clock: Clock) -> None:
    """Create the table and load every object under the prefix."""
    if _imports(backend).get(record.arn) is not record:
        return
    record.end_time = clock.timestamp
    s3 = _s3(backend.account_id)
    bucket = s3.buckets.get(str(record.source.get("S3Bucket") or ""))
    if bucket is None:
        record.status = "FAILED"
        record.failure_code = "S3NoSuchBucket"
        record.failure_message = "The specified bucket does not exist"
        return
    creation = record.creation
    if record.table_name in backend.tables:
        record.status = "FAILED"
        record.failure_code = "ResourceInUseException"
        record.failure_message = f"Table already exists: {record.table_name}"
        return
    table = backend.create_table(
        name=record.table_name,
        schema=creation.get("KeySchema") or [],
        throughput=creation.get("ProvisionedThroughput"),
        attr=creation.get("AttributeDefinitions") or [],
        global_indexes=creation.get("GlobalSecondaryIndexes"),
        indexes=None,
        streams=None,
        billing_mode=str(creation.get("BillingMode") or "PROVISIONED"),
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    types = {a["AttributeName"]: a["AttributeType"] for a in table.attr}
    prefix = str(record.source.get("S3KeyPrefix") or "")
    for key_name in sorted(bucket.keys):
        if not key_name.startswith(prefix):
            continue
        raw = bucket.keys[key_name].value
        try:
            text = (gzip.decompress(raw) if record.compression == "GZIP" else raw).decode("utf-8")
        except (OSError, UnicodeDecodeError):
            record.errors += 1
            continue
        record.processed_bytes += len(raw)
        entries: list[Any]
        if record.input_format == "CSV":
            entries = _csv_items(text, record.csv_options, types)
        else:
            entries = []
            for line in text.splitlines():
                if not line.strip():
                    continue
                try:
                    entries.append(json.loads(line)["Item"])
                except (ValueError, KeyError, TypeError):
                    entries.append(None)
        for entry in entries:
            record.processed += 1
            if entry is None:
                record.errors += 1
                continue
            try:
                table.put_item(entry)
                record.imported += 1
            except Exception:  # moto's validation errors: a bad item is an error, not a crash
                record.errors += 1
    record.status = "COMPLETED"


__all__ = [
    "EXPORT_SECONDS",
    "IMPORT_SECONDS",
    "ExportRecord",
    "ImportRecord",
    "finish_export",
    "finish_import",
    "history_of",
    "install",
    "restore_to_point_in_time",
    "start_export",
    "start_import",
]
