"""What a Managed Flink application's job holds now: read-only, for the window view and checks.

:func:`application_snapshot` reads an application (by name or ARN; the only one when there is
one) of the running sandbox: its status, and for its running job each source's watermark (per
shard when the strategy was given to ``from_source``), each window operator's watermark, open
windows per key, late elements and firings, and what each sink emitted (the points the view
plots). Nothing here changes the job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from labkit.errors import LabkitError
from labkit.sandbox import backends
from labkit.services.flink.sim_operator import WindowOperator
from labkit.services.flink.sim_stream import JobClient, SinkNode, SourceNode
from labkit.services.flink.sim_time import MAX_TIMESTAMP, MIN_TIMESTAMP

#: How many recent late elements, firings and emitted values a snapshot keeps.
RECENT = 50
#: Numbers at least this large in a result are taken for epoch milliseconds (2001 onwards), not
#: for the metric the plot shows.
_EPOCH_MS_FLOOR = 1e12
#: How many open windows a snapshot lists.
OPEN_SHOWN = 60


class FlinkApplicationNotFoundError(LabkitError):
    """An application the sandbox does not have, or an ambiguous request for "the" one."""

    code = "FlinkApplicationNotFound"


@dataclass(frozen=True)
class SourceInfo:
    """A source: records read, its watermark, and each shard's (``None``: none yet)."""

    label: str
    records: int
    watermark: int | None
    splits: dict[str, int | None]
    idle: tuple[str, ...]


@dataclass(frozen=True)
class OpenWindow:
    """A window holding state: its key, bounds, elements (1 for an aggregate) and firings."""

    key: str
    start: int
    end: int
    elements: int
    fired: int
    kept_until: int


@dataclass(frozen=True)
class LateInfo:
    """An element that came after its windows were done."""

    key: str
    timestamp: int
    watermark: int
    at: int
    to_side_output: bool
    value: str


@dataclass(frozen=True)
class FiringInfo:
    """A window result."""

    key: str
    start: int
    end: int
    watermark: int
    at: int
    late: bool
    results: str


@dataclass(frozen=True)
class WindowInfo:
    """A window operator."""

    assigner: str
    allowed_lateness: int
    late_output: str | None
    watermark: int | None
    elements: int
    late_dropped: int
    late_to_side: int
    open: tuple[OpenWindow, ...]
    open_total: int
    late: tuple[LateInfo, ...]
    firings: tuple[FiringInfo, ...]


@dataclass(frozen=True)
class Point:
    """One emitted value the view can plot: the series, the event time, the number."""

    series: str
    at: int
    value: float


@dataclass(frozen=True)
class SinkInfo:
    """A sink: where it writes, what it sent, what failed, and its recent points."""

    label: str
    emitted: int
    sent: int | None
    failed: int | None
    errors: tuple[str, ...]
    points: tuple[Point, ...]
    recent: tuple[str, ...]


@dataclass(frozen=True)
class ApplicationSnapshot:
    """An application and its job at one lab instant."""

    name: str
    status: str
    runtime: str
    now: float
    job: str | None
    failure: str | None
    sources: tuple[SourceInfo, ...] = field(default_factory=tuple)
    windows: tuple[WindowInfo, ...] = field(default_factory=tuple)
    sinks: tuple[SinkInfo, ...] = field(default_factory=tuple)


def _applications(account: str) -> list[Any]:
    found: list[Any] = []
    for _region, backend in backends.existing("kinesisanalyticsv2", account):
        found.extend(backend.applications.values())
    return found


def find_application(app: str | None = None, *, account_id: str | None = None) -> Any:
    """moto's application named ``app`` (name or ARN), or the only one when ``None``."""
    every = _applications(account_id or backends.DEFAULT_ACCOUNT_ID)
    names = ", ".join(sorted(a.application_name for a in every)) or "none"
    if app is None:
        if len(every) != 1:
            raise FlinkApplicationNotFoundError(
                f"Say which Managed Flink application to show: this sandbox has {len(every)} "
                f"({names})."
            )
        return every[0]
    wanted = app.rsplit("/", 1)[-1]
    for found in every:
        if found.application_name == wanted or found.application_arn == app:
            return found
    raise FlinkApplicationNotFoundError(
        f"No Managed Flink application {app!r} in this sandbox (applications: {names})."
    )


def _mark(value: int) -> int | None:
    return None if value <= MIN_TIMESTAMP else value


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key(key: Any) -> str:
    return "(all)" if key is None else _short(key, 40)


def point_of(value: Any, at: int) -> Point | None:
    """A plottable point from an emitted value: a number, or a record with a number in it.

    A dict (or JSON object text) or a tuple gives its last number that is not an epoch
    timestamp in milliseconds (results put the metric after the window's bounds, e.g.
    ``{"sensor": ..., "minute": ..., "avg": ...}``) and, as the series, its first text field.
    Anything else, or a record whose only numbers are timestamps, is not plotted.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Point("value", at, float(value))
    items: list[Any]
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (tuple, list)):
        items = list(value)
    else:
        return None
    numbers = [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]
    metrics = [v for v in numbers if abs(v) < _EPOCH_MS_FLOOR]
    if not metrics:  # nothing but timestamps (a ranking, say): nothing to plot
        return None
    series = next((v for v in items if isinstance(v, str)), "value")
    return Point(series, at, float(metrics[-1]))


def _source(node: SourceNode) -> SourceInfo:
    splits: dict[str, int | None] = {}
    idle: tuple[str, ...] = ()
    if node.marks is not None:
        splits = {k: _mark(v) for k, v in node.marks.per_input().items()}
        idle = tuple(sorted(node.marks.idle))
    return SourceInfo(node.label, node.records_in, _mark(node.watermark), splits, idle)


def _window(op: WindowOperator) -> WindowInfo:
    every = op.open_windows()
    shown = tuple(
        OpenWindow(
            _key(key),
            w.start,
            w.end,
            size,
            fired,
            w.end - 1 + op.allowed_lateness,
        )
        for key, w, size, fired in every[:OPEN_SHOWN]
    )
    return WindowInfo(
        op.assigner.describe(),
        op.allowed_lateness,
        op.late_tag.tag_id if op.late_tag is not None else None,
        _mark(op.watermark),
        op.elements,
        op.late_dropped,
        op.late_to_side,
        shown,
        len(every),
        tuple(
            LateInfo(
                _key(e.key),
                e.timestamp,
                e.watermark,
                e.processing_time,
                e.to_side_output,
                _short(e.value),
            )
            for e in list(op.late)[-RECENT:]
        ),
        tuple(
            FiringInfo(
                _key(f.key),
                f.window.start,
                f.window.end,
                f.watermark,
                f.processing_time,
                f.late,
                _short(", ".join(_short(r, 60) for r in f.results), 120),
            )
            for f in list(op.firings)[-RECENT:]
        ),
    )


def _sink(node: SinkNode) -> SinkInfo:
    sink = node.sink
    points = []
    for _at, event_ms, value in node.emitted[-RECENT * 4 :]:
        point = point_of(value, event_ms)
        if point is not None:
            points.append(point)
    return SinkInfo(
        node.label,
        len(node.emitted),
        getattr(sink, "sent", None),
        getattr(sink, "failed", None),
        tuple(getattr(sink, "errors", ()) or ()),
        tuple(points),
        tuple(_short(v) for _, _, v in node.emitted[-8:]),
    )


def job_snapshot(
    job: JobClient, *, name: str, status: str, runtime: str, now: float
) -> ApplicationSnapshot:
    """A snapshot of one job (also for jobs run without an application)."""
    return ApplicationSnapshot(
        name,
        status,
        runtime,
        now,
        job.name,
        job.runtime.failure,
        tuple(_source(s) for s in job.sources),
        tuple(_window(op) for op in job.window_operators),
        tuple(_sink(s) for s in job.sinks),
    )


def application_snapshot(app: str | None, *, now: float) -> ApplicationSnapshot:
    """The application ``app`` (name or ARN; the only one when ``None``) and its job now."""
    found = find_application(app)
    jobs: list[JobClient] = getattr(found, "labkit_jobs", None) or []
    status = str(found.application_status)
    runtime = str(found.runtime_environment)
    if not jobs:
        return ApplicationSnapshot(found.application_name, status, runtime, now, None, None)
    return job_snapshot(
        jobs[0], name=found.application_name, status=status, runtime=runtime, now=now
    )


__all__ = [
    "MAX_TIMESTAMP",
    "ApplicationSnapshot",
    "FlinkApplicationNotFoundError",
    "application_snapshot",
    "find_application",
    "job_snapshot",
    "point_of",
]
