"""Shard throughput against its limit over lab time: a matplotlib figure and its text form.

The samples come from :func:`labkit.services.kinesis.state.record_throughput`, which reads every
shard's meter once a second of lab time. Each shard gets its own line style and marker and a
label, the limit is a labelled dashed line, and the records a shard refused are marked with
crosses and counted in the text, so nothing depends on colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkit.services.kinesis.view import short_id

if TYPE_CHECKING:
    from labkit.services.kinesis.state import ThroughputSample

#: What can be plotted: (usage attribute, limit attribute, unit).
METRICS = {
    "records": ("write_records", "write_records_per_second", "records/s"),
    "bytes": ("write_bytes", "write_bytes_per_second", "bytes/s"),
}
_STYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def shard_ids(samples: Sequence[ThroughputSample]) -> list[str]:
    """Every shard seen in the samples, in the order they first appear."""
    seen: dict[str, None] = {}
    for sample in samples:
        for shard_id in sample.shards:
            seen.setdefault(shard_id, None)
    return list(seen)


def series(
    samples: Sequence[ThroughputSample], shard_id: str, metric: str = "records"
) -> list[tuple[float, int, int]]:
    """``(seconds since the first sample, value in the last second, records refused since the
    previous sample)`` for one shard."""
    attribute = METRICS[metric][0]
    out: list[tuple[float, int, int]] = []
    if not samples:
        return out
    zero = samples[0].at
    before = 0
    for sample in samples:
        usage = sample.shards.get(shard_id)
        if usage is None:
            continue
        refused = usage.throttled_writes - before
        before = usage.throttled_writes
        out.append((sample.at - zero, int(getattr(usage, attribute)), refused))
    return out


def limit_of(samples: Sequence[ThroughputSample], metric: str = "records") -> int:
    """A shard's write limit for ``metric``."""
    for sample in samples:
        for usage in sample.shards.values():
            return int(getattr(usage.limits, METRICS[metric][1]))
    return 0


def throughput_text(
    samples: Sequence[ThroughputSample], metric: str = "records", *, active_only: bool = True
) -> str:
    """The samples as a table: one row per second, one column per shard (value and share of the
    limit), and the records refused in that second."""
    if not samples:
        return "No sample yet: the recorder samples once a second as the lab clock moves."
    unit = METRICS[metric][2]
    limit = limit_of(samples, metric)
    ids = shard_ids(samples)
    data = {sid: {round(t, 3): (v, r) for t, v, r in series(samples, sid, metric)} for sid in ids}
    if active_only:
        ids = [sid for sid in ids if any(v or r for v, r in data[sid].values())] or ids[:1]
    header = ["t (s)"] + [f"shard {short_id(sid)}" for sid in ids] + ["refused"]
    rows = [header]
    for t in sorted({t for sid in ids for t in data[sid]}):
        cells = [f"{t:g}"]
        refused = 0
        for sid in ids:
            value, new = data[sid].get(t, (0, 0))
            refused += max(new, 0)
            cells.append(f"{value:,} ({value / limit:.0%})" if limit else f"{value:,}")
        cells.append(f"{refused:,}" if refused else "–")
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [f"writes per shard in the last second, {unit}; the limit is {limit:,} {unit}"]
    for n, row in enumerate(rows):
        lines.append("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def plot_throughput(
    samples: Sequence[ThroughputSample],
    metric: str = "records",
    *,
    title: str = "",
    active_only: bool = True,
) -> Any:
    """A figure of each shard's writes per second over lab time against the shard limit.

    Args:
        samples: From a :class:`~labkit.services.kinesis.state.ThroughputRecorder`.
        metric: ``records`` or ``bytes``.
        title: The figure's title.
        active_only: Leave out shards that never took a write.

    Returns:
        The matplotlib figure (print :func:`throughput_text` beside it).
    """
    import matplotlib.pyplot as plt

    unit = METRICS[metric][2]
    limit = limit_of(samples, metric)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ids = shard_ids(samples)
    drawn = 0
    refused_label = True
    for n, sid in enumerate(ids):
        points = series(samples, sid, metric)
        if active_only and not any(v or r for _, v, r in points):
            continue
        times = [t for t, _, _ in points]
        values = [v for _, v, _ in points]
        ax.plot(
            times,
            values,
            linestyle=_STYLES[n % len(_STYLES)],
            marker=_MARKERS[n % len(_MARKERS)],
            markersize=4,
            color="black" if n % 2 == 0 else "dimgray",
            label=f"shard {short_id(sid)}",
        )
        drops = [(t, v) for t, v, r in points if r > 0]
        if drops:
            ax.scatter(
                [t for t, _ in drops],
                [v for _, v in drops],
                marker="x",
                s=70,
                color="black",
                label="records refused (throttled)" if refused_label else None,
                zorder=3,
            )
            refused_label = False
        drawn += 1
    if limit:
        ax.axhline(limit, linestyle="--", color="gray", linewidth=1)
        ax.annotate(
            f"limit per shard: {limit:,} {unit}",
            xy=(0, limit),
            xytext=(2, 4),
            textcoords="offset points",
            fontsize=9,
        )
        ax.set_ylim(0, limit * 1.25)
    ax.set_xlabel("lab time (s)")
    ax.set_ylabel(f"writes ({unit})")
    ax.set_title(title or f"Writes per shard against the limit ({unit})")
    if drawn:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


__all__ = ["METRICS", "limit_of", "plot_throughput", "series", "shard_ids", "throughput_text"]
