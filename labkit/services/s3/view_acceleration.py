"""S3 Transfer Acceleration as HTML and as text: a bucket's setting, upload times by city
(straight to the Region against through the nearest edge location), and the uploads it received.

Plain functions over :func:`acceleration_state` (what the widget syncs). Which way is faster is
said in words with a symbol (``⚡ 4.0× faster accelerated``, ``≈ no gain``), never by colour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from labkit.views.base import (
    Column,
    Group,
    lines_html,
    panel_html,
    panel_text,
    plural,
    snapshot_time,
    table_html,
    text_table,
)

Row = Mapping[str, Any]

#: How many recent uploads the view lists.
UPLOADS_SHOWN = 15

_COMPARE = (
    Column("uploader"),
    Column("edge location", mono=True),
    Column("straight to the Region"),
    Column("accelerated"),
    Column("verdict"),
    Column("price if used"),
)
_UPLOADS = (
    Column("lab time"),
    Column("key", mono=True),
    Column("size"),
    Column("from"),
    Column("way"),
    Column("took"),
    Column("the other way"),
)


def _estimate_row(e: Any) -> dict[str, Any]:
    return {
        "uploader": e.uploader.name,
        "edge": f"{e.edge.code} ({e.edge.place.name})",
        "direct_ms": e.direct_ms,
        "accelerated_ms": e.accelerated_ms,
        "speedup": e.speedup,
        "price_per_gb": e.price_per_gb,
    }


def acceleration_state(
    setting: Any, uploads: Iterable[Any], estimates: Iterable[Any], *, size: int, now: float
) -> dict[str, Any]:
    """The plain dict the widget keeps.

    Args:
        setting: A :class:`~labkit.services.s3.state.BucketAcceleration`.
        uploads: :class:`~labkit.services.s3.sim_acceleration.Upload` records of the bucket.
        estimates: :class:`~labkit.services.s3.sim_acceleration.TransferEstimate` per city.
        size: The upload size the comparison models, bytes.
        now: The lab clock (epoch seconds).
    """
    return {
        "bucket": setting.bucket,
        "region": setting.region,
        "status": setting.status,
        "endpoint": setting.endpoint,
        "size": size,
        "now": now,
        "compare": [_estimate_row(e) for e in estimates],
        "uploads": [
            {
                "at": u.at,
                "key": u.key,
                "size": u.size,
                "uploader": u.uploader,
                "accelerated": u.accelerated,
                "edge": u.estimate.edge.code,
                "seconds": u.seconds,
                "other_seconds": u.other_seconds,
            }
            for u in uploads
        ],
    }


def _clock(at: float) -> str:
    return f"{datetime.fromtimestamp(at, tz=timezone.utc):%H:%M:%S}"


def seconds(ms: float) -> str:
    """``830 ms`` or ``15.43 s``."""
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def size_words(n: int) -> str:
    """``4.0 MB``, ``512 B``."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def verdict(speedup: float) -> str:
    """``⚡ 4.0× faster accelerated``, ``≈ no gain (not charged)``, ``✗ slower accelerated``."""
    if speedup >= 1.1:
        return f"⚡ {speedup:.1f}× faster accelerated"
    if speedup >= 1.0:
        return "≈ no real gain"
    return "✗ slower accelerated (not charged)"


def status_words(state: Row) -> str:
    """The bucket's setting, and what it means for the accelerate endpoint."""
    if state["status"] == "Enabled":
        return f"✓ Transfer Acceleration Enabled: {state['endpoint']} accepts requests."
    said = "Suspended" if state["status"] == "Suspended" else "never turned on"
    return (
        f"✗ Transfer Acceleration {said}: {state['endpoint']} answers 400 InvalidRequest "
        "(S3 Transfer Acceleration is not configured on this bucket)."
    )


def _compare_rows(state: Row) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            c["uploader"],
            c["edge"],
            seconds(c["direct_ms"]),
            seconds(c["accelerated_ms"]),
            verdict(c["speedup"]),
            f"${c['price_per_gb']:.2f}/GB" if c["speedup"] >= 1.0 else "$0 (slower: free)",
        )
        for c in state["compare"]
    )


def _upload_rows(state: Row) -> tuple[tuple[str, ...], ...]:
    rows = []
    for u in state["uploads"][-UPLOADS_SHOWN:][::-1]:
        way = f"⚡ accelerated via {u['edge']}" if u["accelerated"] else "→ straight to the Region"
        rows.append(
            (
                _clock(u["at"]),
                u["key"],
                size_words(u["size"]),
                u["uploader"],
                way,
                seconds(u["seconds"] * 1000),
                seconds(u["other_seconds"] * 1000),
            )
        )
    return tuple(rows)


def _groups(state: Row) -> tuple[list[Group], list[Group]]:
    compare = [
        Group(
            f"Uploading {size_words(state['size'])} to {state['region']}",
            plural(len(state["compare"]), "city", "cities"),
            _compare_rows(state),
        )
    ]
    uploads = [
        Group(
            "Recent uploads, newest first",
            plural(len(state["uploads"]), "upload"),
            _upload_rows(state),
        )
    ]
    return compare, uploads


def heading(state: Row) -> str:
    """``S3 Transfer Acceleration · photos``."""
    return f"S3 Transfer Acceleration · {state['bucket']}"


def _sub(state: Row) -> str:
    return " · ".join(p for p in (state["region"], snapshot_time(state)) if p)


_NOTE = (
    "Times are labkit's model (TCP throughput over the edge map's round trips), not a "
    "measurement; AWS charges for acceleration only when it was faster."
)


def render_html(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The view as self-contained HTML."""
    compare, uploads = _groups(state)
    body = lines_html([status_words(state)]) + table_html(_COMPARE, compare)
    if state["uploads"]:
        body += table_html(_UPLOADS, uploads)
    else:
        body += lines_html(["No upload has reached this bucket yet."])
    body += lines_html([_NOTE])
    return panel_html(
        kind="acceleration",
        heading=heading(state),
        subheading=_sub(state),
        body=body,
        notice=notice,
        hint=hint,
    )


def render_text(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The view as plain text."""
    compare, uploads = _groups(state)
    lines = [status_words(state), *text_table(_COMPARE, compare), ""]
    if state["uploads"]:
        lines += text_table(_UPLOADS, uploads)
    else:
        lines.append("No upload has reached this bucket yet.")
    lines.append(_NOTE)
    return panel_text(heading(state), lines, subheading=_sub(state), notice=notice, hint=hint)


__all__ = ["acceleration_state", "render_html", "render_text", "verdict"]
