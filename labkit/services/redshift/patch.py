"""Redshift clusters answer SQL: the Data API runs statements on each cluster's own DuckDB database.

moto 5.2.5 keeps Redshift's control plane (clusters, IAM roles, snapshots, snapshot-copy
settings) and answers the Data API (``redshift-data``) with a canned three-row result for any
SQL, with neither ``BatchExecuteStatement`` nor ``ListStatements``. While a lab runs:

- Each cluster has a :class:`~.sim_warehouse.Warehouse` (made when first used, kept on moto's
  cluster object, so ``lab.reset()`` drops it with the cluster).
- ``ExecuteStatement`` runs one statement; ``BatchExecuteStatement`` runs several in one
  transaction (a failure rolls the batch back: the statements after it are ``ABORTED``), as the
  Data API does (https://docs.aws.amazon.com/redshift-data/latest/APIReference/
  API_BatchExecuteStatement.html). Named ``Parameters`` (``:name``) are bound as literals.
  Statements finish before the call returns: ``DescribeStatement`` reports ``FINISHED`` or
  ``FAILED`` with Redshift's ``ERROR:`` line, ``ResultRows``, ``HasResultSet`` and, for a batch,
  ``SubStatements`` (ids ``<id>:1``, ``<id>:2``...).
- ``GetStatementResult`` returns ``Records`` of typed fields (``longValue``, ``doubleValue``,
  ``stringValue``, ``booleanValue``, ``isNull``) with ``ColumnMetadata`` and ``TotalNumRows``, in
  pages of :data:`PAGE_ROWS` with ``NextToken`` (AWS pages by size); ``ListStatements`` lists
  them, newest first.
- The Data API is how a notebook without a database driver talks to Redshift: no JDBC/ODBC,
  no network connection to the cluster, only signed HTTPS calls that boto3 makes.
- Snapshots carry a copy of the cluster's data; with cross-Region snapshot copy enabled
  (``enable_snapshot_copy``), each new snapshot is copied to the destination Region, where
  ``restore_from_cluster_snapshot`` makes a cluster with the data
  (https://docs.aws.amazon.com/redshift/latest/mgmt/working-with-snapshots.html#cross-region-snapshot-copy).
- Redshift Serverless workgroups: moto has no Redshift Serverless, so ``WorkgroupName`` is
  refused with a message that says so.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from moto.redshift.models import RedshiftBackend, Snapshot, redshift_backends
from moto.redshiftdata import responses as data_responses
from moto.s3.models import s3_backends

from labkit import facts
from labkit.services.athena.patch import S3Store, catalog_for
from labkit.services.redshift import access
from labkit.services.redshift.sim_sql import split_statements
from labkit.services.redshift.sim_statements import StatementRecord, SubStatement, statements
from labkit.services.redshift.sim_warehouse import Context, Warehouse

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: Where the cluster's database lives on moto's cluster (and snapshot) objects.
WAREHOUSE = "_labkit_warehouse"
#: Records a GetStatementResult page holds (AWS pages by size, up to 100 MB).
PAGE_ROWS = 10_000


def warehouse_of(cluster: Any) -> Warehouse:
    """The cluster's database (made on first use)."""
    found: Warehouse | None = cluster.__dict__.get(WAREHOUSE)
    if found is None:
        found = Warehouse()
        cluster.__dict__[WAREHOUSE] = found
    return found


def slices_per_node(node_type: str) -> int:
    """Slices of one node of ``node_type`` (2 for a type the facts do not list)."""
    key = "redshift.slices_per_node_" + str(node_type).replace(".", "_")
    try:
        return int(facts.value(key))
    except Exception:
        return 2


def _error(code: str, message: str, status: int = 400) -> tuple[str, dict[str, int]]:
    # moto takes a handler's status from the "status" header.
    return json.dumps({"__type": code, "message": message}), {"status": status}


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def bind(sql: str, parameters: list[dict[str, str]]) -> str:
    """``sql`` with each ``:name`` replaced by its parameter's value as a SQL literal."""
    values = {str(p.get("name")): str(p.get("value")) for p in parameters or []}

    def swap(match: re.Match[str]) -> str:
        name = match.group(1)
        return _literal(values[name]) if name in values else match.group(0)

    return re.sub(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)", swap, sql)


def field_of(value: Any) -> dict[str, Any]:
    """A value as a Data API ``Field``."""
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, Decimal):
        return {"stringValue": str(value)}
    if isinstance(value, datetime):
        return {"stringValue": value.isoformat(sep=" ")}
    if isinstance(value, date):
        return {"stringValue": value.isoformat()}
    return {"stringValue": str(value)}


def _column_metadata(name: str, kind: str) -> dict[str, Any]:
    return {
        "columnDefault": None,
        "isCaseSensitive": kind == "varchar",
        "isCurrency": False,
        "isSigned": kind in ("int2", "int4", "int8", "float4", "float8", "numeric"),
        "label": name,
        "length": 0,
        "name": name,
        "nullable": 1,
        "precision": 0,
        "scale": 0,
        "schemaName": "",
        "tableName": "",
        "typeName": kind,
    }


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Run Data API statements on each cluster's database while ``sandbox`` runs."""
    stack.enter_context(_patched(sandbox))


@contextmanager
def _patched(sandbox: Sandbox) -> Iterator[None]:
    response_cls = data_responses.RedshiftDataAPIServiceResponse
    names = (
        "execute_statement",
        "batch_execute_statement",
        "describe_statement",
        "get_statement_result",
        "list_statements",
    )
    originals = {name: response_cls.__dict__.get(name) for name in names}
    backend_originals = {
        name: getattr(RedshiftBackend, name)
        for name in ("create_cluster_snapshot", "restore_from_cluster_snapshot")
    }

    def now() -> float:
        return sandbox.clock.timestamp

    def context(account: str, region: str, cluster: Any) -> Context:
        store = S3Store(account)
        find, _ = catalog_for(account, region)
        per_node = slices_per_node(cluster.node_type)

        def put(bucket: str, key: str, body: bytes) -> None:
            s3_backends[account]["aws"].put_object(bucket_name=bucket, key_name=key, value=body)

        return Context(
            store=store,
            put=put,
            allow=access.s3_allow(sandbox.client, region),
            cluster_roles=tuple(str(r) for r in cluster.iam_roles_arn),
            catalog=find,
            slices=per_node * int(cluster.number_of_nodes),
            slices_per_node=per_node,
        )

    def start(self: Any, sqls: list[str], batch: bool) -> Any:
        if self._get_param("WorkgroupName"):
            return _error(
                "ValidationException",
                "The sandbox has no Redshift Serverless (moto has no workgroups): create a "
                "provisioned cluster with redshift.create_cluster and pass ClusterIdentifier.",
            )
        identifier = self._get_param("ClusterIdentifier")
        database = self._get_param("Database")
        if not identifier:
            return _error(
                "ValidationException", "Either ClusterIdentifier or WorkgroupName is required."
            )
        if not database:
            return _error("ValidationException", "Database is required.")
        account, region = self.current_account, self.region
        cluster = redshift_backends[account][region].clusters.get(identifier)
        if cluster is None:
            return _error("ValidationException", "Redshift endpoint doesn't exist in this region.")
        if str(cluster.status) != "available":
            return _error(
                "ValidationException", f"Cluster {identifier} is {cluster.status}, not available."
            )
        parameters = self._get_param("Parameters") or []
        record = StatementRecord(
            id=str(uuid.uuid4()),
            cluster=identifier,
            database=database,
            db_user=self._get_param("DbUser"),
            secret_arn=self._get_param("SecretArn"),
            name=self._get_param("StatementName"),
            created=now(),
            batch=batch,
            parameters=parameters,
        )
        warehouse = warehouse_of(cluster)
        ctx = context(account, region, cluster)
        record.slices = ctx.slices
        record.slices_per_node = ctx.slices_per_node
        # Redshift's query ids grow with every statement a cluster runs.
        first_id = sum(len(r.parts) for r in statements(self.redshiftdata_backend).values())
        for index, sql in enumerate(sqls, start=1):
            part_id = f"{record.id}:{index}" if batch else record.id
            record.parts.append(SubStatement(part_id, sql, query_id=first_id + index))
        run_parts(warehouse, record, ctx)
        statements(self.redshiftdata_backend)[record.id] = record
        body = {
            "Id": record.id,
            "ClusterIdentifier": identifier,
            "CreatedAt": record.created,
            "Database": database,
        }
        if record.db_user:
            body["DbUser"] = record.db_user
        if record.secret_arn:
            body["SecretArn"] = record.secret_arn
        return 200, {}, json.dumps(body)

    def execute_statement(self: Any) -> Any:
        sql = self._get_param("Sql") or ""
        parts = split_statements(sql)
        if len(parts) != 1:
            return _error(
                "ValidationException",
                "ExecuteStatement runs one SQL statement; use BatchExecuteStatement for several.",
            )
        return start(self, [bind(parts[0], self._get_param("Parameters") or [])], batch=False)

    def batch_execute_statement(self: Any) -> Any:
        sqls = [str(s) for s in self._get_param("Sqls") or []]
        if not sqls:
            return _error("ValidationException", "Sqls must hold at least one statement.")
        return start(self, sqls, batch=True)

    def find(self: Any, statement_id: str) -> tuple[StatementRecord | None, SubStatement | None]:
        base, _, index = statement_id.partition(":")
        record = statements(self.redshiftdata_backend).get(base)
        if record is None:
            return None, None
        if index:
            matches = [p for p in record.parts if p.id == statement_id]
            return record, matches[0] if matches else None
        return record, None if record.batch else record.parts[0]

    def sub_body(part: SubStatement, record: StatementRecord) -> dict[str, Any]:
        outcome = part.outcome
        body: dict[str, Any] = {
            "Id": part.id,
            "QueryString": part.sql,
            "Status": part.status,
            "CreatedAt": record.created,
            "UpdatedAt": record.created,
            "Duration": part.duration_ns,
            "HasResultSet": bool(outcome and outcome.has_result_set),
            "ResultRows": outcome.rows_affected if outcome else -1,
            "ResultSize": len(json.dumps([list(map(str, r)) for r in outcome.rows]))
            if outcome and outcome.has_result_set
            else 0,
            "RedshiftQueryId": part.query_id,
        }
        if outcome is not None and outcome.error:
            body["Error"] = outcome.error
        return body

    def describe_statement(self: Any) -> Any:
        statement_id = str(self._get_param("Id") or "")
        record, part = find(self, statement_id)
        if record is None:
            return _error("ResourceNotFoundException", "Query does not exist.")
        if record.batch and part is None:
            subs = [sub_body(p, record) for p in record.parts]
            body: dict[str, Any] = {
                "Id": record.id,
                "QueryString": "",
                "Status": record.status,
                "CreatedAt": record.created,
                "UpdatedAt": record.created,
                "Duration": sum(p.duration_ns for p in record.parts),
                "HasResultSet": any(s["HasResultSet"] for s in subs),
                "ResultRows": -1,
                "ResultSize": -1,
                "SubStatements": subs,
                "RedshiftPid": 1073741824,
            }
            if record.error:
                body["Error"] = record.error
        else:
            assert part is not None
            body = sub_body(part, record)
            body["RedshiftPid"] = 1073741824
        body.update(
            {
                "ClusterIdentifier": record.cluster,
                "Database": record.database,
                "QueryParameters": record.parameters,
            }
        )
        if record.db_user:
            body["DbUser"] = record.db_user
        if record.secret_arn:
            body["SecretArn"] = record.secret_arn
        return 200, {}, json.dumps(body)

    def get_statement_result(self: Any) -> Any:
        statement_id = str(self._get_param("Id") or "")
        record, part = find(self, statement_id)
        if record is None:
            return _error("ResourceNotFoundException", "Query does not exist.")
        if part is None:
            return _error(
                "ValidationException",
                "A batch's results are per statement: pass the sub-statement's Id "
                f"({record.id}:1, {record.id}:2, ...), as DescribeStatement lists them.",
            )
        outcome = part.outcome
        if outcome is None or part.status != "FINISHED" or not outcome.has_result_set:
            return _error(
                "ResourceNotFoundException",
                "Query does not have result. Please check query status with DescribeStatement.",
            )
        start_at = int(self._get_param("NextToken") or 0)
        page = outcome.rows[start_at : start_at + PAGE_ROWS]
        body: dict[str, Any] = {
            "Records": [[field_of(v) for v in row] for row in page],
            "ColumnMetadata": [_column_metadata(n, t) for n, t in outcome.columns],
            "TotalNumRows": len(outcome.rows),
        }
        if start_at + PAGE_ROWS < len(outcome.rows):
            body["NextToken"] = str(start_at + PAGE_ROWS)
        return 200, {}, json.dumps(body)

    def list_statements(self: Any) -> Any:
        wanted = str(self._get_param("Status") or "ALL").upper()
        prefix = self._get_param("StatementName")
        limit = int(self._get_param("MaxResults") or 100)
        start_at = int(self._get_param("NextToken") or 0)
        # Newest first; statements of the same lab instant in the order they ran, reversed.
        found = sorted(statements(self.redshiftdata_backend).values(), key=lambda r: r.created)
        found.reverse()
        rows = []
        for record in found:
            if wanted != "ALL" and record.status != wanted:
                continue
            if prefix and not (record.name or "").startswith(prefix):
                continue
            row: dict[str, Any] = {
                "Id": record.id,
                "CreatedAt": record.created,
                "UpdatedAt": record.created,
                "Status": record.status,
                "IsBatchStatement": record.batch,
                "QueryParameters": record.parameters,
            }
            if record.batch:
                row["QueryStrings"] = [p.sql for p in record.parts]
            else:
                row["QueryString"] = record.parts[0].sql
            if record.name:
                row["StatementName"] = record.name
            if record.secret_arn:
                row["SecretArn"] = record.secret_arn
            rows.append(row)
        body: dict[str, Any] = {"Statements": rows[start_at : start_at + limit]}
        if start_at + limit < len(rows):
            body["NextToken"] = str(start_at + limit)
        return 200, {}, json.dumps(body)

    def create_cluster_snapshot(
        self: Any, cluster_identifier: str, *args: Any, **kwargs: Any
    ) -> Any:
        snapshot = backend_originals["create_cluster_snapshot"](
            self, cluster_identifier, *args, **kwargs
        )
        cluster = self.clusters.get(cluster_identifier)
        data = cluster.__dict__.get(WAREHOUSE) if cluster is not None else None
        if data is not None:
            snapshot.__dict__[WAREHOUSE] = data.clone()
        copy = cluster.cluster_snapshot_copy_status if cluster is not None else None
        if copy and copy.get("DestinationRegion"):
            destination = redshift_backends[self.account_id][copy["DestinationRegion"]]
            if snapshot.snapshot_identifier not in destination.snapshots:
                copied = Snapshot(
                    cluster,
                    snapshot.snapshot_identifier,
                    self.account_id,
                    copy["DestinationRegion"],
                    None,
                    snapshot_type=snapshot.snapshot_type,
                )
                copied.availability_zone = f"{copy['DestinationRegion']}a"
                if WAREHOUSE in snapshot.__dict__:
                    copied.__dict__[WAREHOUSE] = snapshot.__dict__[WAREHOUSE]
                copied.__dict__["_labkit_source_region"] = self.region_name
                destination.snapshots[snapshot.snapshot_identifier] = copied
        return snapshot

    def restore_from_cluster_snapshot(self: Any, **kwargs: Any) -> Any:
        identifier = kwargs.get("snapshot_identifier")
        snapshot = self.snapshots.get(identifier)
        if snapshot is not None and "availability_zone" not in kwargs:
            # A snapshot copied from another Region names that Region's zone.
            kwargs["availability_zone"] = f"{self.region_name}a"
        cluster = backend_originals["restore_from_cluster_snapshot"](self, **kwargs)
        data = snapshot.__dict__.get(WAREHOUSE) if snapshot is not None else None
        if data is not None:
            cluster.__dict__[WAREHOUSE] = data.clone()
        return cluster

    replacements = {
        "execute_statement": execute_statement,
        "batch_execute_statement": batch_execute_statement,
        "describe_statement": describe_statement,
        "get_statement_result": get_statement_result,
        "list_statements": list_statements,
    }
    for name, function in replacements.items():
        setattr(response_cls, name, function)
    setattr(RedshiftBackend, "create_cluster_snapshot", create_cluster_snapshot)  # noqa: B010
    setattr(RedshiftBackend, "restore_from_cluster_snapshot", restore_from_cluster_snapshot)  # noqa: B010
    try:
        yield
    finally:
        for name, original in originals.items():
            if original is None:
                delattr(response_cls, name)
            else:
                setattr(response_cls, name, original)
        for name, function in backend_originals.items():
            setattr(RedshiftBackend, name, function)


def run_parts(warehouse: Warehouse, record: StatementRecord, ctx: Context) -> None:
    """Run a request's statements; a batch in one transaction, rolled back on a failure."""
    layouts = dict(warehouse.layouts)
    external = dict(warehouse.external)
    if record.batch:
        warehouse.con.execute("BEGIN TRANSACTION")
    failed = False
    for part in record.parts:
        if failed:
            part.status = "ABORTED"
            continue
        began = time.perf_counter_ns()
        part.outcome = warehouse.run(part.sql, ctx)
        part.duration_ns = time.perf_counter_ns() - began
        part.status = "FAILED" if part.outcome.error else "FINISHED"
        failed = part.outcome.error is not None
    if record.batch:
        if failed:
            warehouse.con.execute("ROLLBACK")
            warehouse.layouts = layouts
            warehouse.external = external
        else:
            warehouse.con.execute("COMMIT")


__all__ = ["StatementRecord", "install", "statements", "warehouse_of"]
