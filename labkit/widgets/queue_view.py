"""The queue view: a live picture of an SQS queue's messages, groups and dead letters.

A view, not a model: it reads :func:`labkit.sandbox.queue_inspect.queue_snapshot`, keeps what it
read in a synced traitlet, and renders it with :mod:`labkit.views.queue`. Create it with
:func:`queue_view`::

    view = queue_view(lab, "orders.fifo")   # a name, URL or ARN

It refreshes after every cell the learner runs, so messages move from available to in flight to
the dead-letter queue as the cells that receive them run, and the visibility timeouts count down
as the lab clock moves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Dict, Float, TraitError, Unicode, validate

from labkit.views.queue import queue_state, render_html, render_text
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.lab import Lab

LIVE_HINT = "This view updates after each cell you run."

#: Keys every queue state has (see :class:`labkit.sandbox.queue_inspect.QueueSnapshot`).
QUEUE_FIELDS = frozenset(
    {
        "name",
        "url",
        "arn",
        "fifo",
        "now",
        "visibility_timeout",
        "retention",
        "delay",
        "receive_wait",
        "content_based_deduplication",
        "available",
        "in_flight",
        "delayed",
        "expired",
        "oldest_age",
        "messages",
        "more",
        "groups",
        "dead_letter_queue",
        "max_receive_count",
        "dead_letters",
        "sources",
        "policy",
    }
)


def check_queue(value: Any) -> dict[str, Any]:
    """``value`` if it is a queue state (or ``{}``), else a TraitError saying what is wrong."""
    if not isinstance(value, dict):
        raise TraitError(f"queue must be a dict, not {type(value).__name__}.")
    if not value:
        return value
    keys = set(value)
    if keys != QUEUE_FIELDS:
        missing = ", ".join(sorted(QUEUE_FIELDS - keys)) or "none"
        extra = ", ".join(sorted(map(str, keys - QUEUE_FIELDS))) or "none"
        raise TraitError(f"queue has the wrong keys (missing: {missing}; unexpected: {extra}).")
    if not isinstance(value["messages"], list) or not isinstance(value["groups"], list):
        raise TraitError("queue['messages'] and queue['groups'] must be lists.")
    return value


class QueueView(LiveView):
    """An SQS queue's messages by state, its FIFO groups and its dead-letter queue.

    Args:
        lab: The lab whose sandbox holds the queue.
        queue: The queue's name, URL or ARN; the only queue of the sandbox when ``None``.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    #: The queue's state (see :func:`labkit.views.queue.queue_state`); ``{}`` when missing.
    queue = Dict().tag(sync=True)
    #: The name asked for.
    name = Unicode("").tag(sync=True)
    #: The lab time of the snapshot (epoch seconds).
    now = Float(0.0).tag(sync=True)

    def __init__(
        self, lab: Lab, queue: str | None = None, *, auto_refresh: bool = True, **kwargs: Any
    ) -> None:
        self._lab = lab
        self._queue = queue
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.add_class("labkit-queue-view")

    @validate("queue")
    def _validate_queue(self, proposal: Any) -> dict[str, Any]:
        return check_queue(proposal["value"])

    def is_live(self) -> bool:
        """Whether the lab's sandbox still runs."""
        return self._lab.running

    def _name(self) -> str:
        if self._queue:
            return self._queue
        from labkit.sandbox.queue_inspect import queue_names

        names = queue_names(self._lab.sandbox)
        return names[0] if len(names) == 1 else ""

    def snapshot(self) -> dict[str, Any]:
        """The queue, read now."""
        from labkit.sandbox.queue_inspect import queue_snapshot

        name = self._name()
        snap = queue_snapshot(self._lab.sandbox, name) if name else None
        return {"queue": queue_state(snap), "name": name, "now": self._lab.sandbox.clock.timestamp}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return (
            "This lab has stopped: the view shows the queue as it last was and no longer updates."
        )

    def _hint(self) -> str:
        if self.following:
            return LIVE_HINT
        return "Call .refresh() on this view to update it." if self._lab.running else ""

    def to_html(self) -> str:
        """The queue as self-contained HTML."""
        return render_html(
            self.queue, name=self.name, now=self.now, notice=self.notice, hint=self._hint()
        )

    def to_text(self) -> str:
        """The queue as plain text."""
        return render_text(
            self.queue, name=self.name, now=self.now, notice=self.notice, hint=self._hint()
        )


def queue_view(lab: Lab, queue: str | None = None) -> QueueView:
    """A live view of the queue ``queue`` (name, URL or ARN) of ``lab``'s sandbox.

    Args:
        lab: The lab.
        queue: The queue (the only queue of the sandbox when ``None``).
    """
    return QueueView(lab, queue)


__all__ = ["QueueView", "queue_view"]
