"""QuickSight data sets over Athena with SPICE refreshes on the lab clock.

moto 5.2.5 keeps data sources (kept here) but a data set only by name, answers
``CreateIngestion`` with ``INITIALIZED`` and forgets it, and has no ``DescribeDataSet``,
``ListDataSets``, ``DescribeIngestion`` or ``ListIngestions``. While a lab runs, labkit answers
these itself (:mod:`.sim_spice`): a data set over an ``ATHENA`` data source (a ``RelationalTable``
or ``CustomSql``) is queried by the sandbox's Athena engine (DuckDB over the Glue catalog and
S3, :func:`labkit.services.athena.sim_engine.run_query`), so its rows are what Athena returns
for that SQL. The queries are run for QuickSight directly: they are not listed in Athena's
query history. Data sets and ingestions live on moto's QuickSight backend, so ``lab.reset()``
drops them.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from moto.core.botocore_stubber import BotocoreStubber

from labkit.services.quicksight import sim_spice
from labkit.services.quicksight.state import DATA_SETS_ATTR

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_HOST = re.compile(r"^https?://quicksight\.([a-z0-9-]+)\.amazonaws\.com(?::\d+)?$")
_DATA_SETS = re.compile(r"^/accounts/(?P<account>[^/]+)/data-sets(?:/(?P<id>[^/]+))?$")
_INGESTIONS = re.compile(
    r"^/accounts/(?P<account>[^/]+)/data-sets/(?P<id>[^/]+)/ingestions(?:/(?P<ingestion>[^/]+))?$"
)

Answer = tuple[int, dict[str, str], str]


class QuickSightError(Exception):
    """An API error answer: its code, HTTP status and message."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def data_sets(backend: Any) -> dict[str, sim_spice.DataSet]:
    """The data sets kept on a moto QuickSight backend (made on first use)."""
    found: dict[str, sim_spice.DataSet] | None = backend.__dict__.get(DATA_SETS_ATTR)
    if found is None:
        found = {}
        backend.__dict__[DATA_SETS_ATTR] = found
    return found


def run_sql(account: str, region: str, sql: str, database: str) -> sim_spice.QueryResult:
    """Run ``sql`` on the sandbox's Athena engine; typed rows, or the error."""
    from labkit.services.athena.patch import S3Store, catalog_for
    from labkit.services.athena.sim_engine import run_query

    find, exists = catalog_for(account, region)
    outcome = run_query(
        sql, database=database, catalog=find, database_exists=exists, store=S3Store(account)
    )
    result = sim_spice.QueryResult(bytes_scanned=outcome.bytes_scanned)
    if outcome.error is not None:
        missing = outcome.error.name == "TABLE_NOT_FOUND"
        result.error_type = "SQL_TABLE_NOT_FOUND" if missing else "SQL_EXCEPTION"
        result.error = outcome.error.reason
        return result
    result.columns = [(name, sim_spice.quicksight_type(kind)) for name, kind in outcome.columns]
    kinds = [kind for _, kind in result.columns]
    result.rows = [
        tuple(sim_spice.typed(v, k) for v, k in zip(row, kinds, strict=True))
        for row in outcome.rows
    ]
    return result


def _backend(account: str, region: str) -> Any:
    from moto.quicksight.models import quicksight_backends

    return quicksight_backends[account][region]


def _data_source(backend: Any, arn: str) -> Any:
    for source in backend.data_sources.values():
        if source.arn == arn:
            return source
    raise QuickSightError(
        "InvalidParameterValueException", 400, f"The data source {arn} does not exist."
    )


class _Api:
    """Answers the QuickSight operations labkit adds, for one sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._clock = sandbox.clock

    @property
    def now(self) -> float:
        return self._clock.timestamp

    def _ingest(
        self, backend: Any, data_set: sim_spice.DataSet, ingestion_id: str, kind: str
    ) -> sim_spice.Ingestion:
        result = run_sql(backend.account_id, backend.region_name, data_set.sql, data_set.database)
        ingestion = sim_spice.Ingestion(
            ingestion_id=ingestion_id,
            arn=f"{data_set.arn}/ingestion/{ingestion_id}",
            request_type=kind,
            created=self.now,
            result=result,
        )
        if result.columns:
            data_set.columns = result.columns
        data_set.ingestions.append(ingestion)
        return ingestion

    def _find(self, backend: Any, data_set_id: str) -> sim_spice.DataSet:
        found = data_sets(backend).get(data_set_id)
        if found is None:
            raise QuickSightError(
                "ResourceNotFoundException", 404, f"Data set {data_set_id} does not exist."
            )
        return found

    def create_data_set(self, backend: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        data_set_id = str(body.get("DataSetId") or "")
        if not data_set_id or not body.get("Name"):
            raise QuickSightError(
                "InvalidParameterValueException", 400, "DataSetId and Name are required."
            )
        if data_set_id in data_sets(backend):
            raise QuickSightError(
                "ResourceExistsException", 409, f"Data set {data_set_id} already exists."
            )
        mode = str(body.get("ImportMode") or "")
        if mode not in sim_spice.IMPORT_MODES:
            raise QuickSightError(
                "InvalidParameterValueException",
                400,
                f"ImportMode must be SPICE or DIRECT_QUERY, not {mode!r}.",
            )
        tables = dict(body.get("PhysicalTableMap") or {})
        if len(tables) != 1:
            raise QuickSightError(
                "InvalidParameterValueException",
                400,
                "The sandbox's data sets read one physical table (joins through "
                f"LogicalTableMap are not simulated); PhysicalTableMap has {len(tables)}.",
            )
        table = next(iter(tables.values()))
        try:
            sql, database = sim_spice.table_sql(table)
        except (ValueError, KeyError) as err:
            raise QuickSightError("InvalidParameterValueException", 400, str(err)) from err
        source = _data_source(backend, sim_spice.data_source_arn(table))
        if str(source.data_source_type).upper() != "ATHENA":
            raise QuickSightError(
                "InvalidParameterValueException",
                400,
                f"The sandbox's data sets read ATHENA data sources; {source.arn} is "
                f"{source.data_source_type}.",
            )
        arn = f"arn:aws:quicksight:{backend.region_name}:{backend.account_id}:dataset/{data_set_id}"
        data_set = sim_spice.DataSet(
            data_set_id=data_set_id,
            arn=arn,
            name=str(body["Name"]),
            import_mode=mode,
            physical_table_map=tables,
            sql=sql,
            database=database,
            data_source_arn=source.arn,
            created=self.now,
            query=lambda: run_sql(backend.account_id, backend.region_name, sql, database),
        )
        answer: dict[str, Any] = {"Arn": arn, "DataSetId": data_set_id}
        if mode == "SPICE":
            ingestion = self._ingest(backend, data_set, str(uuid.uuid4()), "INITIAL_INGESTION")
            answer.update(IngestionArn=ingestion.arn, IngestionId=ingestion.ingestion_id)
        else:
            data_set.columns = run_sql(
                backend.account_id, backend.region_name, sql, database
            ).columns
        data_sets(backend)[data_set_id] = data_set
        return 201, answer

    def handle(self, method: str, account: str, region: str, path: str, body: str) -> Answer:
        backend = _backend(account, region)
        payload = json.loads(body) if body else {}
        try:
            status, data = self._route(method, backend, path, payload)
        except QuickSightError as err:
            return (
                err.status,
                {"x-amzn-ErrorType": err.code, "content-type": "application/json"},
                json.dumps({"Message": str(err)}),
            )
        data.update(RequestId=str(uuid.uuid4()), Status=status)
        return status, {"content-type": "application/json"}, json.dumps(data)

    def _route(
        self, method: str, backend: Any, path: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        now = self.now
        if match := _INGESTIONS.match(path):
            data_set = self._find(backend, match["id"])
            ingestion_id = match["ingestion"]
            if ingestion_id is None:
                return 200, {"Ingestions": [i.as_dict(now) for i in reversed(data_set.ingestions)]}
            found = next((i for i in data_set.ingestions if i.ingestion_id == ingestion_id), None)
            if method == "PUT":
                if data_set.import_mode != "SPICE":
                    raise QuickSightError(
                        "InvalidParameterValueException",
                        400,
                        f"Data set {data_set.data_set_id} is DIRECT_QUERY: only SPICE data sets "
                        "are refreshed by an ingestion.",
                    )
                if found is not None:
                    raise QuickSightError(
                        "ResourceExistsException", 409, f"Ingestion {ingestion_id} already exists."
                    )
                if data_set.running(now) is not None:
                    raise QuickSightError(
                        "LimitExceededException",
                        429,
                        f"Data set {data_set.data_set_id} is already being refreshed.",
                    )
                kind = str(body.get("IngestionType") or "FULL_REFRESH")
                ingestion = self._ingest(backend, data_set, ingestion_id, kind)
                return 201, {
                    "Arn": ingestion.arn,
                    "IngestionId": ingestion_id,
                    "IngestionStatus": ingestion.status(now),
                }
            if found is None:
                raise QuickSightError(
                    "ResourceNotFoundException", 404, f"Ingestion {ingestion_id} does not exist."
                )
            if method == "DELETE":
                if found.status(now) in ("INITIALIZED", "RUNNING"):
                    found.cancelled_at = now
                return 200, {"Arn": found.arn, "IngestionId": ingestion_id}
            found.polled(now)
            return 200, {"Ingestion": found.as_dict(now)}
        match = _DATA_SETS.match(path)
        assert match is not None  # the caller routes only these paths here
        if match["id"] is None:
            if method == "POST":
                return self.create_data_set(backend, body)
            listed = [d.summary(now) for d in data_sets(backend).values()]
            return 200, {"DataSetSummaries": listed}
        data_set = self._find(backend, match["id"])
        if method == "DELETE":
            del data_sets(backend)[data_set.data_set_id]
            return 200, {"Arn": data_set.arn, "DataSetId": data_set.data_set_id}
        return 200, {"DataSet": data_set.as_dict(now)}


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Answer QuickSight's data set and ingestion calls while ``sandbox`` runs."""
    stack.enter_context(_answered(_Api(sandbox)))


@contextmanager
def _answered(api: _Api) -> Iterator[None]:
    original = BotocoreStubber.process_request

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        parts = urlsplit(str(request.url))
        host = _HOST.match(f"{parts.scheme}://{parts.netloc}")
        if host is None or not (_DATA_SETS.match(parts.path) or _INGESTIONS.match(parts.path)):
            return original(self, request)
        account = parts.path.split("/")[2]
        body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
        return api.handle(str(request.method), account, host.group(1), parts.path, body)

    BotocoreStubber.process_request = process_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.process_request = original  # type: ignore[method-assign]
