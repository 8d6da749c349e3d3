"""Plots of the decoupling lab's simulations: a spike through a synchronous chain and a queue, and
consumers scaled on queue depth.

Each plot has a text form (``text_table`` of :mod:`labkit.services.sqs.sim_coupling`,
:meth:`~labkit.services.sqs.sim_scaling.ScalingRun.table`) that a lesson prints beside it. Lines
differ by style and marker and are labelled, never by colour alone; everything is drawn in black
and greys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.services.sqs.sim_coupling import CouplingRun
    from labkit.services.sqs.sim_scaling import ScalingRun

#: Line styles for runs compared in one plot, in order (solid, dashed, dotted, dash-dot).
STYLES: tuple[tuple[str, str], ...] = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"))


def _window_sums(values: Sequence[float], width: int) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for start in range(0, len(values), width):
        chunk = values[start : start + width]
        xs.append(start + len(chunk) / 2)
        ys.append(sum(chunk) / max(1, len(chunk)))
    return xs, ys


def coupling_plot(sync: CouplingRun, queue: CouplingRun, *, every: int = 5) -> Any:
    """Three panels over time: orders placed against the shipping capacity; orders that failed;
    orders waiting for a worker. Values are averaged over ``every`` seconds.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, (load, failed, waiting) = plt.subplots(3, 1, figsize=(9, 7.5), sharex=True)
    xs, placed = _window_sums([s.arrivals for s in sync.seconds], every)
    load.plot(xs, placed, color="black", linestyle="-", label="orders placed per second")
    load.axhline(
        sync.shipping.capacity,
        color="black",
        linestyle="--",
        label=f"shipping capacity ({sync.shipping.capacity:g} orders/s)",
    )
    load.set_ylabel("orders / s")
    load.set_title("A traffic spike, the same orders for both designs")
    load.legend(loc="upper right", fontsize="small")

    for run, (style, marker), label in (
        (sync, STYLES[0], "synchronous: buying service calls shipping"),
        (queue, STYLES[1], "through a queue"),
    ):
        xs, values = _window_sums([s.failed for s in run.seconds], every)
        failed.plot(
            xs, values, color="black", linestyle=style, marker=marker, markevery=6, label=label
        )
        xs, values = _window_sums([s.backlog for s in run.seconds], every)
        waiting.plot(
            xs, values, color="black", linestyle=style, marker=marker, markevery=6, label=label
        )
    failed.set_ylabel("failed orders / s")
    failed.set_title("Orders that failed (the customer got an error)")
    failed.legend(loc="upper right", fontsize="small")
    waiting.set_ylabel("orders waiting")
    waiting.set_title("Orders waiting for a shipping worker")
    waiting.set_xlabel("seconds")
    waiting.legend(loc="upper right", fontsize="small")
    for ax in (load, failed, waiting):
        ax.axvspan(sync.spike.start, sync.spike.start + sync.spike.length, color="0.9", zorder=0)
        ax.grid(True, color="0.85", linewidth=0.6)
    fig.tight_layout()
    return fig


def scaling_plot(runs: ScalingRun | Sequence[ScalingRun]) -> Any:
    """Two panels over time for one or more runs (one line style per run): the queue's backlog,
    and the instances in service beside the instances the load needs.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    many = list(runs) if isinstance(runs, Sequence) else [runs]
    fig, (backlog, fleet) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    first = many[0]
    minutes = [s.t / 60 for s in first.samples]
    needed = [s.rate * first.workload.seconds_per_message for s in first.samples]
    fleet.plot(minutes, needed, color="0.45", linestyle="-", linewidth=3, label="instances needed")
    for run, (style, marker) in zip(many, STYLES, strict=False):
        label = f"target {run.target:,.4g} per instance"
        times = [s.t / 60 for s in run.samples]
        backlog.plot(
            times,
            [s.backlog for s in run.samples],
            color="black",
            linestyle=style,
            marker=marker,
            markevery=max(1, len(times) // 12),
            label=label,
        )
        fleet.step(
            times,
            [s.in_service for s in run.samples],
            where="post",
            color="black",
            linestyle=style,
            label=f"in service, {label}",
        )
    backlog.set_ylabel("messages waiting")
    backlog.set_title("Queue backlog (ApproximateNumberOfMessagesVisible)")
    backlog.legend(loc="upper right", fontsize="small")
    fleet.set_ylabel("instances")
    fleet.set_xlabel("minutes")
    fleet.set_title("Instances in service follow the backlog, a launch time later")
    fleet.legend(loc="upper right", fontsize="small")
    for ax in (backlog, fleet):
        ax.grid(True, color="0.85", linewidth=0.6)
    fig.tight_layout()
    return fig


__all__ = ["coupling_plot", "scaling_plot"]
