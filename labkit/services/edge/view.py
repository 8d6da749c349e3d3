"""Latency across the edge as plots with text forms: each way a viewer can reach a site.

The plots tell their series apart by hatch, line style, marker and label, never by colour alone,
and each has a table that says the same in text (:func:`latency_table`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: Hatches and markers that tell series apart without colour.
HATCHES = ("", "///", "...", "xx", "\\\\", "++")
STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ((0, (5, 1)), "v"), ((0, (1, 3)), "x"))


def latency_table(rows: Sequence[tuple[str, Mapping[str, float]]]) -> str:
    """The text form of :func:`latency_plot`: one line per viewer, one column per way."""
    ways = list(dict.fromkeys(w for _, values in rows for w in values))
    table = [["viewer", *ways]]
    table += [
        [viewer, *(f"{values[w]:.0f} ms" if w in values else "–" for w in ways)]
        for viewer, values in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = []
    for n, row in enumerate(table):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def latency_plot(
    rows: Sequence[tuple[str, Mapping[str, float]]], *, title: str = "Latency per viewer"
) -> Any:
    """Horizontal bars: for each viewer, one bar per way of reaching the content (hatched
    differently, labelled with its value in ms). Print :func:`latency_table` beside it.

    Args:
        rows: ``(viewer, {way: milliseconds})`` pairs.
        title: The plot's title.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    ways = list(dict.fromkeys(w for _, values in rows for w in values))
    n = max(len(ways), 1)
    fig, ax = plt.subplots(figsize=(9, 0.9 + (0.2 * n + 0.25) * len(rows)))
    height = 0.8 / n
    for k, way in enumerate(ways):
        ys = [i + k * height for i in range(len(rows))]
        values = [values.get(way, 0.0) for _, values in rows]
        bars = ax.barh(
            ys,
            values,
            height=height * 0.95,
            color="white",
            edgecolor="black",
            hatch=HATCHES[k % len(HATCHES)],
            label=way,
        )
        ax.bar_label(
            bars, labels=[f"{v:.0f} ms" if v else "" for v in values], padding=3, fontsize=8
        )
    ax.set_yticks([i + height * (n - 1) / 2 for i in range(len(rows))], [v for v, _ in rows])
    ax.invert_yaxis()
    ax.set_xlabel("modelled time to first byte (ms)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    ax.set_xlim(0, max([v for _, values in rows for v in values.values()] + [1]) * 1.18)
    fig.tight_layout()
    return fig


def lines_plot(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    percent: bool = False,
    marks: Sequence[tuple[float, str]] = (),
) -> Any:
    """Lines told apart by style and marker (hit ratio over time, traffic share per Region).

    Args:
        series: ``name -> [(x, y), ...]``.
        title: The title.
        xlabel: The x axis label.
        ylabel: The y axis label.
        percent: Show y (a share between 0 and 1) as percent.
        marks: ``(x, label)`` vertical lines to mark events (a deploy, a failure).

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.4))
    for k, (name, points) in enumerate(series.items()):
        line, marker = STYLES[k % len(STYLES)]
        ax.plot(
            [x for x, _ in points],
            [y * 100 if percent else y for _, y in points],
            linestyle=line,
            marker=marker,
            markevery=max(1, len(points) // 24),
            color="black",
            markersize=4,
            label=name,
        )
    for x, label in marks:
        ax.axvline(x, color="black", linewidth=0.8, linestyle=(0, (2, 2)))
        ax.annotate(
            label,
            (x, 0.0),
            xycoords=("data", "axes fraction"),
            fontsize=8,
            xytext=(3, 4),
            textcoords="offset points",
        )
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel + (" (%)" if percent else ""))
    if percent:
        ax.set_ylim(-3, 103)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


__all__ = ["HATCHES", "STYLES", "latency_plot", "latency_table", "lines_plot"]
