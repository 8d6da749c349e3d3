"""Athena's queries run for real: DuckDB over the Glue Data Catalog and the sandbox's S3.

moto 5.2.5 keeps Athena's control plane (workgroups, named queries, data catalogs) and answers
every query with no rows (or rows queued through its own API), ``DataScannedInBytes`` 0 and a
state that advances on each poll. While a lab runs:

- ``StartQueryExecution`` runs the query (:mod:`.sim_engine`) against the tables of the Glue
  Data Catalog of the same account and Region, reading objects from moto's S3 in-process (no
  network); the result is written to ``<OutputLocation>/<QueryExecutionId>.csv``
  (https://docs.aws.amazon.com/athena/latest/ug/querying.html). The output location comes from
  the request or the workgroup; with ``EnforceWorkGroupConfiguration`` the workgroup's wins; with
  neither, Athena refuses the query. A disabled workgroup refuses queries.
- ``GetQueryExecution`` reports the state on the lab clock (:mod:`.sim_execution`), the
  ``DataScannedInBytes`` the engine read, and for a failed query ``StateChangeReason`` and
  ``AthenaError`` as Athena words them.
- ``GetQueryResults`` pages the result (a header row first, then the rows; values as strings,
  NULL as an empty datum), ``MaxResults`` up to ``athena.get_query_results_max_results``; before
  the query ends it is refused as Athena does.
- A workgroup's ``BytesScannedCutoffPerQuery`` cancels a query that reads past it
  (https://docs.aws.amazon.com/athena/latest/ug/workgroups-setting-control-limits-cloudwatch.html).
- ``StopQueryExecution`` cancels a running query.
- A table whose S3 location is registered with Lake Formation shows the caller (the IAM user or
  assumed role that signed the request) only the columns Lake Formation granted it, and of a
  data cells filter granted to it only the filter's rows and columns (:mod:`.sim_grants`).
- A data catalog of type ``LAMBDA`` is read through its connector function
  (:mod:`.sim_federation`): ``"catalog"."schema"."table"`` in a query, or a table named without
  a catalog when ``QueryExecutionContext.Catalog`` names it; ``CreateDataCatalog`` refuses a
  LAMBDA catalog whose ``Parameters`` do not name its function(s).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from moto.athena import models as athena_models
from moto.athena import responses as athena_responses
from moto.glue.models import glue_backends
from moto.iam.models import iam_backends
from moto.lakeformation.models import lakeformation_backends
from moto.s3.models import FakeKey, s3_backends
from moto.sts.models import sts_backends

from labkit import facts
from labkit.services.athena import sim_ddl, sim_execution
from labkit.services.athena.sim_catalog import table_def
from labkit.services.athena.sim_engine import QueryError, QueryOutcome, TableDef, run_query
from labkit.services.athena.sim_execution import QueryRecord
from labkit.services.athena.sim_federation import LambdaConnector, connector_functions
from labkit.services.athena.sim_grants import governed, granted_columns, table_access
from labkit.services.lakeformation.patch import account_filters

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

RECORDS = sim_execution.RECORDS
_READ_LOCK = threading.Lock()


def records(backend: Any) -> dict[str, QueryRecord]:
    """The query records kept on a moto Athena backend (made on first use)."""
    found: dict[str, QueryRecord] | None = backend.__dict__.get(RECORDS)
    if found is None:
        found = {}
        backend.__dict__[RECORDS] = found
    return found


class S3Store:
    """moto's S3 objects of one account, as the engine's :class:`~.sim_lakefs.ObjectStore`."""

    def __init__(self, account_id: str) -> None:
        self._backend = s3_backends[account_id]["aws"]

    def _key(self, bucket: str, key: str) -> FakeKey:
        found = self._backend.buckets[bucket].keys.get(key)
        if not isinstance(found, FakeKey):
            raise KeyError(key)
        return found

    def size(self, bucket: str, key: str) -> int:
        return int(self._key(bucket, key).size)

    def read(self, bucket: str, key: str, start: int, end: int) -> bytes:
        fake = self._key(bucket, key)
        # One buffer per object, shared by DuckDB's threads: seek and read together.
        with _READ_LOCK:
            buffer = fake._value_buffer
            buffer.seek(start)
            data: bytes = buffer.read(max(0, end - start))
        return data

    def list(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        store = self._backend.buckets[bucket].keys
        found = []
        for name in list(dict.keys(store)):
            if not name.startswith(prefix):
                continue
            fake = store.get(name)
            if isinstance(fake, FakeKey):
                found.append((name, int(fake.size)))
        return sorted(found)

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self._backend.put_object(bucket_name=bucket, key_name=key, value=body)


def _glue(account_id: str, region: str) -> Any:
    return glue_backends[account_id][region]


def catalog_for(account_id: str, region: str) -> tuple[Any, Any]:
    """``(find_table, database_exists)`` over the Glue Data Catalog of an account and Region."""
    glue = _glue(account_id, region)

    def find(database: str, name: str) -> TableDef | None:
        db = glue.databases.get(database)
        if db is None or name not in db.tables:
            return None
        table = db.tables[name]
        return table_def(
            database, table.as_dict(), [p.as_dict() for p in table.partitions.values()]
        )

    def exists(database: str) -> bool:
        return database in glue.databases

    return find, exists


def caller_arn(response: Any) -> str:
    """The IAM principal that signed an Athena request (a user, an assumed role, or the root)."""
    account = str(response.current_account)
    key = str(response.get_access_key())
    access = iam_backends[account]["aws"].access_keys.get(key)
    if access is not None and getattr(access, "user_name", None):
        return f"arn:aws:iam::{account}:user/{access.user_name}"
    assumed = sts_backends[account]["global"].get_assumed_role_from_access_key(key)
    if assumed is not None:
        return str(assumed.role_arn)
    return f"arn:aws:iam::{account}:root"


def grants_for(account_id: str, region: str, principal: str, find: Any) -> Any:
    """Lake Formation's column grants for ``principal``, for the engine."""
    backend = lakeformation_backends[account_id][region]
    registered = list(backend.resources)
    catalog = backend.grants.get(account_id)
    grants = [p.to_external_form() for p in catalog.permissions] if catalog else []

    def columns(database: str, name: str) -> frozenset[str] | None:
        table = find(database, name)
        if table is None or not governed(table.location, registered):
            return None
        return granted_columns(table, principal, grants)

    return columns


def access_for(account_id: str, region: str, principal: str, find: Any) -> Any:
    """Lake Formation's grants for ``principal``, data cells filters included, for the engine."""
    backend = lakeformation_backends[account_id][region]
    registered = list(backend.resources)
    catalog = backend.grants.get(account_id)
    grants = [p.to_external_form() for p in catalog.permissions] if catalog else []
    filters = account_filters(account_id, region)

    def access(database: str, name: str) -> Any:
        table = find(database, name)
        if table is None or not governed(table.location, registered):
            return None
        return table_access(table, principal, grants, filters)

    return access


def invoke_connector(function_arn: str, event: dict[str, Any]) -> tuple[bytes, bool]:
    """Invoke a connector function of the sandbox synchronously: ``(payload, failed)``."""
    from labkit.services.awslambda.patch import (
        TooManyRequestsException,
        lambda_backend,
        run_invocation,
    )

    parts = function_arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda":
        raise QueryError("GENERIC_USER_ERROR", f"Invalid Lambda function ARN: {function_arn}")
    backend = lambda_backend(parts[4], parts[3])
    try:
        fn = backend.get_function(function_arn)
    except Exception:
        raise QueryError("GENERIC_USER_ERROR", f"Function not found: {function_arn}") from None
    try:
        result = run_invocation(backend, fn, event, source="athena")
    except TooManyRequestsException as err:
        raise QueryError(
            "GENERIC_USER_ERROR", f"Rate exceeded invoking {function_arn}: {err.reason}"
        ) from None
    return bytes(result.payload or b""), bool(result.function_error)


def lambda_parameters_refused(parameters: dict[str, Any]) -> str | None:
    """Why a LAMBDA data catalog's ``Parameters`` are refused, or ``None`` when they are right.

    https://docs.aws.amazon.com/athena/latest/APIReference/API_CreateDataCatalog.html: either
    ``function=lambda_arn``, or both ``metadata-function`` and ``record-function``, not both sets.
    """
    keys = {str(k).lower() for k in parameters}
    one = "function" in keys
    two = {"metadata-function", "record-function"} & keys
    if one and two:
        return (
            "A LAMBDA data catalog takes either function or metadata-function and "
            "record-function, not both"
        )
    if not one and two != {"metadata-function", "record-function"}:
        return (
            "A LAMBDA data catalog needs Parameters function=<lambda arn>, or both "
            "metadata-function=<lambda arn> and record-function=<lambda arn>"
        )
    for key, value in parameters.items():
        if str(key).lower().endswith("function") and not str(value).startswith("arn:"):
            return f"{key} must be a Lambda function ARN, not {value!r}"
    return None


def federated_catalogs(backend: Any, principal: str, query_id: str) -> dict[str, LambdaConnector]:
    """The account's data catalogs of type LAMBDA, as connectors the engine can read."""
    found: dict[str, LambdaConnector] = {}
    identity = {
        "id": principal.rsplit("/", 1)[-1],
        "principal": principal.rsplit("/", 1)[-1],
        "account": str(backend.account_id),
        "arn": principal,
        "tags": {},
        "groups": [],
    }
    for name, catalog in backend.data_catalogs.items():
        if str(catalog.type).upper() != "LAMBDA":
            continue
        functions = connector_functions(dict(catalog.parameters or {}))
        if functions is None:
            continue
        found[str(name).lower()] = LambdaConnector(
            catalog=str(name),
            metadata_function=functions[0],
            record_function=functions[1],
            invoke=invoke_connector,
            identity=identity,
            query_id=query_id,
        )
    return found


def _partition_label(keys: list[str], values: Any) -> str:
    return "/".join(f"{k}={v}" for k, v in zip(keys, values, strict=False))


def run_ddl(sql: str, database: str, glue: Any, store: S3Store) -> QueryOutcome:
    """Run a DDL statement (:mod:`.sim_ddl`) on the Glue Data Catalog."""
    outcome = QueryOutcome(statement_type="DDL")
    try:
        command = sim_ddl.parse(sql, database)
        if command.action == "create_database":
            if command.database in glue.databases:
                if not command.if_not_exists:
                    raise QueryError(
                        "ALREADY_EXISTS", f"Database {command.database} already exists"
                    )
            else:
                glue.create_database(command.database, {"Name": command.database})
            return outcome
        if command.action == "show_databases":
            outcome.columns = [("database_name", "varchar")]
            outcome.rows = [(name,) for name in sorted(glue.databases)]
            return outcome
        db = glue.databases.get(command.database)
        if db is None:
            raise QueryError("SCHEMA_NOT_FOUND", f"Schema '{command.database}' does not exist")
        if command.action == "show_tables":
            outcome.columns = [("tab_name", "varchar")]
            outcome.rows = [(name,) for name in sorted(db.tables)]
            return outcome
        if command.action == "create_table":
            if command.table in db.tables:
                if not command.if_not_exists:
                    raise QueryError("ALREADY_EXISTS", f"Table {command.table} already exists")
            else:
                glue.create_table(command.database, command.table, command.table_input)
            return outcome
        # DROP TABLE IF EXISTS of a missing table (the flag stands for IF EXISTS here).
        if (
            command.action == "drop_table"
            and command.table not in db.tables
            and command.if_not_exists
        ):
            return outcome
        table = db.tables.get(command.table)
        if table is None:
            raise QueryError(
                "TABLE_NOT_FOUND",
                f"Table 'awsdatacatalog.{command.database}.{command.table}' does not exist",
            )
        if command.action == "drop_table":
            # An external table: the catalog entry goes, the objects in S3 stay.
            del db.tables[command.table]
            return outcome
        info = table.as_dict()
        keys = [str(k["Name"]).lower() for k in info.get("PartitionKeys") or []]
        storage = dict(info.get("StorageDescriptor") or {})
        location = str(storage.get("Location") or "").rstrip("/") + "/"
        if command.action == "show_partitions":
            outcome.columns = [("partition", "varchar")]
            outcome.rows = [(_partition_label(keys, p.values),) for p in table.partitions.values()]
            return outcome
        if not keys:
            raise QueryError(
                "NOT_SUPPORTED", f"Table {command.table} is not partitioned", error_type=1000
            )
        added: list[str] = []
        if command.action == "repair":
            bucket, _, prefix = location.removeprefix("s3://").partition("/")
            listed = [k for k, _ in store.list(bucket, prefix)]
            for values, folder in sorted(sim_ddl.hive_folders(listed, prefix, keys).items()):
                if str(list(values)) in table.partitions:
                    continue
                where = dict(storage, Location=f"s3://{bucket}/{folder}")
                table.create_partition({"Values": list(values), "StorageDescriptor": where})
                added.append(_partition_label(keys, list(values)))
            outcome.columns = [("result", "varchar")]
            outcome.rows = [(f"Partitions not in metastore:\t{command.table}:{a}",) for a in added]
            outcome.rows += [
                (f"Repair: Added partition to metastore {command.table}:{a}",) for a in added
            ]
            return outcome
        for spec, spec_location in command.partitions:
            if sorted(spec) != sorted(keys):
                raise QueryError(
                    "HIVE_METASTORE_ERROR",
                    f"Partition spec {spec} does not name the partition keys {', '.join(keys)}",
                )
            spec_values = [spec[k] for k in keys]
            if str(spec_values) in table.partitions:
                if command.if_not_exists:
                    continue
                raise QueryError("ALREADY_EXISTS", "Partition already exists.")
            target = spec_location or location + _partition_label(keys, spec_values) + "/"
            table.create_partition(
                {"Values": spec_values, "StorageDescriptor": dict(storage, Location=target)}
            )
        return outcome
    except QueryError as err:
        outcome.error = err
        return outcome


def _workgroup_config(backend: Any, name: str) -> dict[str, Any]:
    group = backend.work_groups.get(name)
    return dict(group.configuration or {}) if group is not None else {}


def _error(code: str, message: str) -> tuple[str, dict[str, int]]:
    return json.dumps({"__type": code, "Message": message}), {"status": 400}


def _split_s3(url: str) -> tuple[str, str]:
    bucket, _, key = url[len("s3://") :].partition("/")
    return bucket, key


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Run Athena's queries for real while ``sandbox`` runs."""
    stack.enter_context(_patched(sandbox))


@contextmanager
def _patched(sandbox: Sandbox) -> Iterator[None]:
    response_cls = athena_responses.AthenaResponse
    originals = {
        name: getattr(response_cls, name)
        for name in (
            "start_query_execution",
            "get_query_execution",
            "get_query_results",
            "stop_query_execution",
            "create_data_catalog",
        )
    }

    def now() -> float:
        return sandbox.clock.timestamp

    def start_query_execution(self: Any) -> Any:
        backend = self.athena_backend
        query = self._get_param("QueryString") or ""
        context = self._get_param("QueryExecutionContext") or {}
        config = dict(self._get_param("ResultConfiguration") or {})
        workgroup = self._get_param("WorkGroup") or "primary"
        group = backend.work_groups.get(workgroup)
        if group is None:
            return _error("InvalidRequestException", f"WorkGroup {workgroup} is not found.")
        if str(group.state).upper() == "DISABLED":
            return _error("InvalidRequestException", f"WorkGroup {workgroup} is disabled.")
        group_config = _workgroup_config(backend, workgroup)
        group_output = (group_config.get("ResultConfiguration") or {}).get("OutputLocation")
        output = config.get("OutputLocation")
        if group_config.get("EnforceWorkGroupConfiguration") or not output:
            output = group_output or (
                None if group_config.get("EnforceWorkGroupConfiguration") else output
            )
        if not output:
            return _error(
                "InvalidRequestException",
                "No output location provided. An output location is required either through "
                "the Workgroup result configuration setting or as an API input.",
            )
        if not str(output).startswith("s3://"):
            return _error("InvalidRequestException", f"{output} is not a valid S3 location")
        raw = originals["start_query_execution"](self)
        if isinstance(raw, tuple):
            return raw
        execution_id = json.loads(raw)["QueryExecutionId"]
        database = str(context.get("Database") or "default").lower()
        find, exists = catalog_for(backend.account_id, backend.region_name)
        store = S3Store(backend.account_id)
        cutoff = group_config.get("BytesScannedCutoffPerQuery")
        ddl = sim_ddl.is_ddl(query)
        caller = caller_arn(self)
        connectors = federated_catalogs(backend, caller, execution_id)
        outcome = (
            run_ddl(query, database, _glue(backend.account_id, backend.region_name), store)
            if ddl
            else run_query(
                query,
                database=database,
                catalog=find,
                database_exists=exists,
                store=store,
                scan_limit=int(cutoff) if cutoff else None,
                table_access=access_for(backend.account_id, backend.region_name, caller, find),
                federated=connectors,
                default_catalog=str(context.get("Catalog") or "awsdatacatalog"),
            )
        )
        location = str(output).rstrip("/") + "/"
        record = QueryRecord(
            execution_id=execution_id,
            query=query,
            database=database,
            workgroup=workgroup,
            # Athena writes a DDL statement's output as text, a query's as CSV.
            output_location=f"{location}{execution_id}.{'txt' if ddl else 'csv'}",
            submitted=now(),
            outcome=outcome,
        )
        record.extra["catalog"] = str(context.get("Catalog") or "AwsDataCatalog")
        record.extra["connector_calls"] = [c for con in connectors.values() for c in con.calls]
        if outcome.error is None:
            bucket, key = _split_s3(record.output_location or "")
            try:
                body = (
                    "".join(f"{row[0]}\n" for row in outcome.rows).encode()
                    if ddl
                    else sim_execution.results_csv(outcome)
                )
                store.put(bucket, key, body)
                record.result_key = (bucket, key)
            except Exception as err:  # moto raises its own errors for a missing bucket
                outcome.error = QueryError(
                    "PERMISSION_DENIED",
                    f"Unable to write the query results to {record.output_location}: {err}",
                    category=2,
                    error_type=401,
                )
        records(backend)[execution_id] = record
        return json.dumps({"QueryExecutionId": execution_id})

    def get_query_execution(self: Any) -> Any:
        backend = self.athena_backend
        execution_id = self._get_param("QueryExecutionId")
        record = records(backend).get(execution_id)
        if record is None:
            if execution_id not in backend.executions:
                return _error(
                    "InvalidRequestException", f"QueryExecution {execution_id} was not found"
                )
            return originals["get_query_execution"](self)
        record.polls += 1
        at = now()
        state = record.state(at)
        status: dict[str, Any] = {"State": state, "SubmissionDateTime": record.submitted}
        completed = record.completed(at)
        if completed is not None:
            status["CompletionDateTime"] = completed
        error = record.outcome.error
        if state in ("FAILED", "CANCELLED") and error is not None:
            status["StateChangeReason"] = error.reason
            status["AthenaError"] = {
                "ErrorCategory": error.category,
                "ErrorType": error.error_type,
                "Retryable": False,
                "ErrorMessage": error.reason,
            }
        finished = completed is not None
        millis = int(record.run_seconds * 1000)
        statistics = {
            "EngineExecutionTimeInMillis": millis if finished else 0,
            "DataScannedInBytes": record.outcome.bytes_scanned if finished else 0,
            "TotalExecutionTimeInMillis": millis + int(sim_execution.QUEUE_SECONDS * 1000)
            if finished
            else 0,
            "QueryQueueTimeInMillis": int(sim_execution.QUEUE_SECONDS * 1000),
            "ServicePreProcessingTimeInMillis": 0,
            "QueryPlanningTimeInMillis": 0,
            "ServiceProcessingTimeInMillis": 0,
            "ResultReuseInformation": {"ReusedPreviousResult": False},
        }
        result_config: dict[str, Any] = {"OutputLocation": record.output_location}
        body = {
            "QueryExecution": {
                "QueryExecutionId": execution_id,
                "Query": record.query,
                "StatementType": record.outcome.statement_type,
                "ResultConfiguration": result_config,
                "QueryExecutionContext": {
                    "Database": record.database,
                    "Catalog": str(record.extra.get("catalog", "AwsDataCatalog")),
                },
                "Status": status,
                "Statistics": statistics,
                "WorkGroup": record.workgroup,
                "EngineVersion": {
                    "SelectedEngineVersion": "AUTO",
                    "EffectiveEngineVersion": "Athena engine version 3",
                },
            }
        }
        return json.dumps(body)

    def get_query_results(self: Any) -> Any:
        backend = self.athena_backend
        execution_id = self._get_param("QueryExecutionId")
        record = records(backend).get(execution_id)
        if record is None:
            return originals["get_query_results"](self)
        state = record.state(now())
        if state in ("QUEUED", "RUNNING"):
            return _error(
                "InvalidRequestException", f"Query has not yet finished. Current state: {state}"
            )
        if state != "SUCCEEDED":
            reason = record.outcome.error.reason if record.outcome.error else state
            return _error("InvalidRequestException", reason)
        limit = int(facts.fact("athena.get_query_results_max_results").value)
        max_results = int(self._get_param("MaxResults") or limit)
        if not 1 <= max_results <= limit:
            return _error(
                "InvalidRequestException",
                f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to "
                f"satisfy constraint: Member must have value less than or equal to {limit}",
            )
        start = int(self._get_param("NextToken") or 0)
        outcome = record.outcome
        # Row 0 is the header (column names), as Athena returns it for a SELECT (not for DDL).
        dml = outcome.statement_type == "DML"
        header = [{"Data": [{"VarCharValue": name} for name, _ in outcome.columns]}] if dml else []
        with_header: list[Any] = header + list(outcome.rows)
        page = [
            row
            if isinstance(row, dict)
            else {"Data": [{} if v is None else {"VarCharValue": v} for v in row]}
            for row in with_header[start : start + max_results]
        ]
        total = len(with_header)
        body: dict[str, Any] = {
            "UpdateCount": 0,
            "ResultSet": {
                "Rows": page,
                "ResultSetMetadata": {
                    "ColumnInfo": [_column_info(name, kind) for name, kind in outcome.columns]
                },
            },
        }
        if start + max_results < total:
            body["NextToken"] = str(start + max_results)
        return json.dumps(body)

    def stop_query_execution(self: Any) -> Any:
        backend = self.athena_backend
        execution_id = self._get_param("QueryExecutionId")
        record = records(backend).get(execution_id)
        if record is None:
            return originals["stop_query_execution"](self)
        if record.state(now()) in ("QUEUED", "RUNNING"):
            record.stopped_at = now()
        return json.dumps({})

    def create_data_catalog(self: Any) -> Any:
        # A LAMBDA catalog takes "function", or "metadata-function" and "record-function", not
        # both (CreateDataCatalog's Parameters); moto keeps whatever it is given.
        if str(self._get_param("Type") or "").upper() == "LAMBDA":
            refused = lambda_parameters_refused(dict(self._get_param("Parameters") or {}))
            if refused:
                return _error("InvalidRequestException", refused)
        return originals["create_data_catalog"](self)

    replacements = {
        "create_data_catalog": create_data_catalog,
        "start_query_execution": start_query_execution,
        "get_query_execution": get_query_execution,
        "get_query_results": get_query_results,
        "stop_query_execution": stop_query_execution,
    }
    for name, function in replacements.items():
        setattr(response_cls, name, function)
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(response_cls, name, function)


def _column_info(name: str, kind: str) -> dict[str, Any]:
    return {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": name,
        "Label": name,
        "Type": kind,
        "Precision": 0,
        "Scale": 0,
        "Nullable": "UNKNOWN",
        "CaseSensitive": kind == "varchar",
    }


def outcome_of(backend: Any, execution_id: str) -> QueryOutcome | None:
    """The engine's outcome of a query (for views and checks), if the sandbox ran it."""
    record = records(backend).get(execution_id)
    return record.outcome if record is not None else None


__all__ = ["S3Store", "athena_models", "catalog_for", "install", "records"]
