"""The request trace of a REST API as HTML and as text.

For each request: when, which stage and route, who decided about access and why, the
throttle bucket it was charged to (and what it held after), cache hit or miss, the
integration, status and latency; per stage the counts API Gateway reports as metrics; and the
latest request step by step. States are written in words with a symbol beside them
(``✓ allowed``, ``✗ refused``, ``● hit``, ``○ miss``), never in colour alone (see
:mod:`labkit.views.base`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from labkit.services.apigateway.state import ApiTrace
from labkit.views.base import (
    Column,
    Group,
    lines_html,
    panel_html,
    panel_text,
    plural,
    table_html,
    text_table,
)

#: How many of the latest requests the view shows.
SHOWN = 25

#: The fields of a request row in the view's state.
REQUEST_FIELDS = (
    "at",
    "request_id",
    "method",
    "path",
    "stage",
    "route",
    "authorizer",
    "auth_reason",
    "cache",
    "bucket",
    "integration",
    "status",
    "latency_ms",
    "integration_latency_ms",
    "steps",
)

_COLUMNS = (
    Column("Time"),
    Column("Request", mono=True),
    Column("Route", mono=True),
    Column("Access"),
    Column("Throttle"),
    Column("Cache"),
    Column("Integration"),
    Column("Status"),
    Column("Latency"),
)

_CACHE_WORDS = {
    "hit": "● hit",
    "miss": "○ miss",
    "refresh": "↻ refreshed (max-age=0)",
    "refused": "✗ refused (max-age=0)",
    "off": "– off",
    "": "– not reached",
}


def trace_state(trace: ApiTrace, now: float) -> dict[str, Any]:
    """The trace as plain data (what the widget syncs and the renderers read)."""
    requests = []
    for entry in list(trace.entries)[-SHOWN:]:
        requests.append(
            {
                "at": entry.at,
                "request_id": entry.request_id,
                "method": entry.http_method,
                "path": entry.path,
                "stage": entry.stage,
                "route": entry.route or "",
                "authorizer": entry.authorizer,
                "auth_reason": entry.auth_reason,
                "cache": entry.cache,
                "bucket": entry.bucket,
                "integration": entry.integration,
                "status": entry.status,
                "latency_ms": round(entry.latency_ms, 3),
                "integration_latency_ms": round(entry.integration_latency_ms, 3),
                # How the request reached the API (edge location, VPC endpoint) comes first.
                "steps": ([["endpoint", entry.endpoint, ""]] if entry.endpoint else [])
                + [[s.name, s.outcome, s.detail] for s in entry.steps],
            }
        )
    stages = [
        {
            "stage": stage,
            "count": m.count,
            "errors_4xx": m.errors_4xx,
            "errors_5xx": m.errors_5xx,
            "cache_hits": m.cache_hits,
            "cache_misses": m.cache_misses,
            "throttled": m.throttled,
        }
        for stage, m in sorted(trace.metrics.items())
    ]
    return {
        "api_id": trace.api_id,
        "name": trace.name,
        "region": trace.region,
        "now": now,
        "total": len(trace.entries),
        "stages": stages,
        "requests": requests,
    }


def _time(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%H:%M:%S")


def _access(row: dict[str, Any]) -> str:
    if not row["authorizer"]:
        return "– not reached"
    allowed = not any(s[0] == "authorize" and s[1] == "refused" for s in row["steps"])
    symbol = "✓ allowed" if allowed else "✗ refused"
    return f"{symbol} by {row['authorizer']}: {row['auth_reason']}"


def _throttle(row: dict[str, Any]) -> str:
    step = next((s for s in row["steps"] if s[0] == "throttle"), None)
    if step is None:
        return "– not reached"
    if step[1] == "refused":
        return f"✗ {step[2]} ({row['bucket']})"
    return f"✓ {row['bucket']}"


def _status(row: dict[str, Any]) -> str:
    status = int(row["status"])
    symbol = "✓" if status < 400 else "✗"
    return f"{symbol} {status}"


def _latency(row: dict[str, Any]) -> str:
    text = f"{row['latency_ms']:.1f} ms"
    if row["integration_latency_ms"]:
        text += f" (integration {row['integration_latency_ms']:.1f} ms)"
    return text


def _rows(state: dict[str, Any]) -> list[Group]:
    groups: dict[str, list[tuple[str, ...]]] = {}
    for row in state["requests"]:
        groups.setdefault(row["stage"], []).append(
            (
                _time(row["at"]),
                f"{row['method']} {row['path']}",
                row["route"] or "(no route)",
                _access(row),
                _throttle(row),
                _CACHE_WORDS.get(row["cache"], row["cache"]),
                row["integration"] or "– none",
                _status(row),
                _latency(row),
            )
        )
    counts = {s["stage"]: s["count"] for s in state["stages"]}
    return [
        Group(f"stage {stage}", plural(counts.get(stage, len(rows)), "request"), tuple(rows))
        for stage, rows in groups.items()
    ]


def _summary(state: dict[str, Any]) -> list[str]:
    lines = []
    for s in state["stages"]:
        lines.append(
            f"stage {s['stage']}: {plural(s['count'], 'request')} · "
            f"{s['throttled']} throttled · 4XX {s['errors_4xx']} · 5XX {s['errors_5xx']} · "
            f"cache {plural(s['cache_hits'], 'hit')}, {plural(s['cache_misses'], 'miss', 'misses')}"
        )
    if state["total"] > len(state["requests"]):
        lines.append(f"(the latest {len(state['requests'])} of {state['total']} requests)")
    return lines


def _steps(state: dict[str, Any]) -> list[str]:
    if not state["requests"]:
        return []
    last = state["requests"][-1]
    lines = [f"Latest request {last['request_id']}, step by step:"]
    for number, (name, outcome, detail) in enumerate(last["steps"], start=1):
        lines.append(f"  {number}. {name}: {outcome}" + (f" ({detail})" if detail else ""))
    return lines


def _heading(state: dict[str, Any]) -> tuple[str, str]:
    heading = f"API trace: {state['name']} ({state['api_id']})"
    when = datetime.fromtimestamp(state["now"], tz=timezone.utc)
    return heading, f"{state['region']} · lab time {when:%Y-%m-%d %H:%M:%S} UTC"


def render_html(state: dict[str, Any], *, notice: str = "", hint: str = "") -> str:
    """The trace as self-contained HTML."""
    heading, sub = _heading(state)
    if not state["requests"]:
        body = lines_html(
            ["No requests yet: call the API's invoke URL (for example with requests)."]
        )
    else:
        body = (
            lines_html(_summary(state))
            + table_html(_COLUMNS, _rows(state))
            + lines_html(_steps(state))
        )
    return panel_html(
        kind="api-trace", heading=heading, subheading=sub, body=body, notice=notice, hint=hint
    )


def render_text(state: dict[str, Any], *, notice: str = "", hint: str = "") -> str:
    """The trace as plain text."""
    heading, sub = _heading(state)
    if not state["requests"]:
        lines = ["No requests yet: call the API's invoke URL (for example with requests)."]
    else:
        lines = [
            *_summary(state),
            *text_table(_COLUMNS, _rows(state), group_label="Stage"),
            *_steps(state),
        ]
    return panel_text(heading, lines, subheading=sub, notice=notice, hint=hint)
