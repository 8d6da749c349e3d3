"""The queue view: a live picture of an SQS queue's messages, groups and dead letters.

A view, not a model: it reads :func:`labkit.services.sqs.state.queue_snapshot`, keeps what it
read in a synced traitlet, and renders it with :mod:`labkit.services.sqs.view`. Create it with
:func:`queue_view`::

    view = queue_view(lab, "orders.fifo")   # a name, URL or ARN

It refreshes after every cell the learner runs, so messages move from available to in flight to
the dead-letter queue as the cells that receive them run, and the visibility timeouts count down
as the lab clock moves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Dict, validate

from labkit.services.sqs.view import queue_state, render_html, render_text
from labkit.widgets.resource_view import ResourceView, check_state

if TYPE_CHECKING:
    from labkit.lab import Lab

#: Keys every queue state has (see :class:`labkit.services.sqs.state.QueueSnapshot`).
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
    return check_state(value, "queue", QUEUE_FIELDS, ("messages", "groups"))


class QueueView(ResourceView):
    """An SQS queue's messages by state, its FIFO groups and its dead-letter queue.

    Args:
        lab: The lab whose sandbox holds the queue.
        queue: The queue's name, URL or ARN; the only queue of the sandbox when ``None``.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    kind = "queue"
    #: The queue's state (see :func:`labkit.services.sqs.view.queue_state`); ``{}`` when missing.
    queue = Dict().tag(sync=True)

    def __init__(
        self, lab: Lab, queue: str | None = None, *, auto_refresh: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(lab, queue, auto_refresh=auto_refresh, **kwargs)

    @validate("queue")
    def _validate_queue(self, proposal: Any) -> dict[str, Any]:
        return check_queue(proposal["value"])

    def names(self) -> list[str]:
        """The sandbox's queues."""
        from labkit.services.sqs.state import queue_names

        return queue_names(self._lab.sandbox)

    def read(self, name: str) -> dict[str, Any]:
        """The queue ``name`` (a name, URL or ARN), read now."""
        from labkit.services.sqs.state import queue_snapshot

        return queue_state(queue_snapshot(self._lab.sandbox, name))

    def to_html(self) -> str:
        """The queue as self-contained HTML."""
        return render_html(self.queue, **self._render_args())

    def to_text(self) -> str:
        """The queue as plain text."""
        return render_text(self.queue, **self._render_args())


def queue_view(lab: Lab, queue: str | None = None, *, hold: bool = False) -> QueueView:
    """A live view of the queue ``queue`` (name, URL or ARN) of ``lab``'s sandbox.

    Args:
        lab: The lab.
        queue: The queue (the only queue of the sandbox when ``None``).
        hold: Hold the moment of this call: a view that never refreshes (see ``LiveView.hold``).
    """
    return QueueView(lab, queue, hold=hold)


__all__ = ["QueueView", "queue_view"]
