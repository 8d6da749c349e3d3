"""QuickSight data sets and SPICE ingestions on the lab clock (plain Python, no moto).

A data set reads one table of an Athena data source: a ``RelationalTable`` (database and table
of the Glue catalog) or a ``CustomSql`` query. With ``ImportMode`` ``SPICE`` its rows are a copy
taken by an *ingestion* (``CreateIngestion``; ``CreateDataSet`` starts the first one): the
ingestion runs the query when it starts, is ``RUNNING`` for its modeled length
(:func:`ingestion_seconds`), and only when it is ``COMPLETED`` do its rows become the data set's.
Until the next refresh, new data in the lake does not show. With ``DIRECT_QUERY`` every read
runs the query again. Shapes: https://docs.aws.amazon.com/quicksight/latest/APIReference/API_CreateIngestion.html
and https://docs.aws.amazon.com/quicksight/latest/APIReference/API_Ingestion.html.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: labkit's model of an ingestion's length: a start-up plus time per row.
INGEST_BASE_SECONDS = 20.0
ROWS_PER_SECOND = 50_000
#: Polls of DescribeIngestion after which a running ingestion ends whatever the lab clock says.
POLLS_TO_FINISH = 3
IMPORT_MODES = ("SPICE", "DIRECT_QUERY")
_NUMERIC_INT = ("tinyint", "smallint", "integer", "int", "bigint")
_NUMERIC_DEC = ("double", "float", "real", "decimal")


def quicksight_type(athena_type: str) -> str:
    """QuickSight's column type (``STRING``, ``INTEGER``, ``DECIMAL``, ``DATETIME``, ``BIT``)."""
    base = athena_type.lower().split("(", 1)[0]
    if base in _NUMERIC_INT:
        return "INTEGER"
    if base in _NUMERIC_DEC:
        return "DECIMAL"
    if base in ("date", "timestamp"):
        return "DATETIME"
    if base == "boolean":
        return "BIT"
    return "STRING"


def typed(value: str | None, kind: str) -> Any:
    """An Athena result's text as the value its QuickSight type holds."""
    if value is None:
        return None
    if kind == "INTEGER":
        return int(value)
    if kind == "DECIMAL":
        return float(value)
    if kind == "BIT":
        return value.lower() == "true"
    return value


def ingestion_seconds(rows: int) -> float:
    """How long an ingestion of ``rows`` runs on the lab clock (labkit's model)."""
    return INGEST_BASE_SECONDS + rows / ROWS_PER_SECOND


@dataclass
class QueryResult:
    """What a data set's query returned: columns (name, QuickSight type) and typed rows."""

    columns: list[tuple[str, str]] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    bytes_scanned: int = 0
    error_type: str = ""
    error: str = ""


@dataclass
class Ingestion:
    """One refresh of a SPICE data set."""

    ingestion_id: str
    arn: str
    request_type: str  # INITIAL_INGESTION, FULL_REFRESH
    created: float
    result: QueryResult
    cancelled_at: float | None = None
    polls: int = 0
    finished: float = 0.0

    def __post_init__(self) -> None:
        if not self.finished:
            self.finished = self.created + ingestion_seconds(len(self.result.rows))

    def status(self, now: float) -> str:
        """``RUNNING``, then ``COMPLETED`` or ``FAILED`` (or ``CANCELLED``)."""
        if self.cancelled_at is not None and self.cancelled_at < self.finished:
            return "CANCELLED"
        if now < self.finished:
            return "RUNNING" if now > self.created else "INITIALIZED"
        return "FAILED" if self.result.error else "COMPLETED"

    def polled(self, now: float) -> None:
        """A DescribeIngestion: after :data:`POLLS_TO_FINISH` a running ingestion ends now."""
        self.polls += 1
        if self.polls >= POLLS_TO_FINISH and now < self.finished:
            self.finished = now

    def as_dict(self, now: float) -> dict[str, Any]:
        """The ``Ingestion`` shape of the API."""
        status = self.status(now)
        data: dict[str, Any] = {
            "Arn": self.arn,
            "IngestionId": self.ingestion_id,
            "IngestionStatus": status,
            "CreatedTime": self.created,
            "RequestSource": "MANUAL",
            "RequestType": self.request_type,
        }
        if status == "COMPLETED":
            size = sum(len(str(v)) for row in self.result.rows for v in row)
            data["RowInfo"] = {
                "RowsIngested": len(self.result.rows),
                "RowsDropped": 0,
                "TotalRowsInDataset": len(self.result.rows),
            }
            data["IngestionSizeInBytes"] = size
        if status in ("COMPLETED", "FAILED"):
            data["IngestionTimeInSeconds"] = int(self.finished - self.created)
        if status == "FAILED":
            data["ErrorInfo"] = {"Type": self.result.error_type, "Message": self.result.error}
        return data


@dataclass
class DataSet:
    """A QuickSight data set over an Athena data source."""

    data_set_id: str
    arn: str
    name: str
    import_mode: str
    physical_table_map: dict[str, Any]
    sql: str
    database: str
    data_source_arn: str
    created: float
    ingestions: list[Ingestion] = field(default_factory=list)
    columns: list[tuple[str, str]] = field(default_factory=list)
    #: Runs the data set's query now (DIRECT_QUERY reads, views): set by the patch.
    query: Callable[[], QueryResult] | None = field(default=None, repr=False)

    def current(self, now: float) -> Ingestion | None:
        """The newest ingestion that has completed by ``now`` (what SPICE holds)."""
        done = [i for i in self.ingestions if i.status(now) == "COMPLETED"]
        return max(done, key=lambda i: i.finished) if done else None

    def running(self, now: float) -> Ingestion | None:
        """An ingestion not yet ended (a data set refreshes one at a time)."""
        for ingestion in self.ingestions:
            if ingestion.status(now) in ("INITIALIZED", "RUNNING"):
                return ingestion
        return None

    def as_dict(self, now: float) -> dict[str, Any]:
        """The ``DataSet`` shape of DescribeDataSet."""
        current = self.current(now)
        size = sum(len(str(v)) for row in current.result.rows for v in row) if current else 0
        return {
            "Arn": self.arn,
            "DataSetId": self.data_set_id,
            "Name": self.name,
            "CreatedTime": self.created,
            "LastUpdatedTime": current.finished if current else self.created,
            "PhysicalTableMap": self.physical_table_map,
            "OutputColumns": [{"Name": n, "Type": t} for n, t in self.columns],
            "ImportMode": self.import_mode,
            "ConsumedSpiceCapacityInBytes": size if self.import_mode == "SPICE" else 0,
        }

    def summary(self, now: float) -> dict[str, Any]:
        """The ``DataSetSummary`` shape of ListDataSets."""
        data = self.as_dict(now)
        return {
            k: data[k]
            for k in ("Arn", "DataSetId", "Name", "CreatedTime", "LastUpdatedTime", "ImportMode")
        }


def table_sql(table: dict[str, Any]) -> tuple[str, str]:
    """``(sql, database)`` of a physical table (``RelationalTable`` or ``CustomSql``).

    Raises:
        ValueError: For a physical table the sandbox does not read (``S3Source``), with why.
    """
    if "RelationalTable" in table:
        rel = table["RelationalTable"]
        names = [c["Name"] for c in rel.get("InputColumns", [])]
        listed = ", ".join(f'"{n}"' for n in names) if names else "*"
        database = str(rel.get("Schema") or "default")
        return f'SELECT {listed} FROM "{database}"."{rel["Name"]}"', database
    if "CustomSql" in table:
        return str(table["CustomSql"]["SqlQuery"]), "default"
    kinds = ", ".join(table) or "nothing"
    raise ValueError(
        f"a physical table of {kinds}: the sandbox's data sets read an Athena data source "
        "through RelationalTable or CustomSql"
    )


def data_source_arn(table: dict[str, Any]) -> str:
    """The data source a physical table reads."""
    for kind in ("RelationalTable", "CustomSql"):
        if kind in table:
            return str(table[kind].get("DataSourceArn", ""))
    return ""
