"""The topic view: a live picture of an SNS topic's fan-out.

A view, not a model: it reads :func:`labkit.sandbox.queue_inspect.topic_snapshot`, keeps what it
read in a synced traitlet, and renders it with :mod:`labkit.views.topic`. Create it with
:func:`topic_view`::

    topic_view(lab, "orders")   # a name or an ARN

It shows each subscription (filter policy, raw delivery, whether the queue's policy lets the topic
deliver) and, for each message published, where it went and why a delivery failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Dict, Float, TraitError, Unicode, validate

from labkit.views.topic import render_html, render_text, topic_state
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.lab import Lab

LIVE_HINT = "This view updates after each cell you run."

#: Keys every topic state has (see :class:`labkit.sandbox.queue_inspect.TopicSnapshot`).
TOPIC_FIELDS = frozenset(
    {
        "name",
        "arn",
        "fifo",
        "content_based_deduplication",
        "now",
        "subscriptions",
        "published",
        "publications",
    }
)


def check_topic(value: Any) -> dict[str, Any]:
    """``value`` if it is a topic state (or ``{}``), else a TraitError saying what is wrong."""
    if not isinstance(value, dict):
        raise TraitError(f"topic must be a dict, not {type(value).__name__}.")
    if not value:
        return value
    keys = set(value)
    if keys != TOPIC_FIELDS:
        missing = ", ".join(sorted(TOPIC_FIELDS - keys)) or "none"
        extra = ", ".join(sorted(map(str, keys - TOPIC_FIELDS))) or "none"
        raise TraitError(f"topic has the wrong keys (missing: {missing}; unexpected: {extra}).")
    if not isinstance(value["subscriptions"], list) or not isinstance(value["publications"], list):
        raise TraitError("topic['subscriptions'] and topic['publications'] must be lists.")
    return value


class TopicView(LiveView):
    """An SNS topic's subscriptions and where each published message went.

    Args:
        lab: The lab whose sandbox holds the topic.
        topic: The topic's name or ARN; the only topic of the sandbox when ``None``.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    #: The topic's state (see :func:`labkit.views.topic.topic_state`); ``{}`` when missing.
    topic = Dict().tag(sync=True)
    #: The name asked for.
    name = Unicode("").tag(sync=True)
    #: The lab time of the snapshot (epoch seconds).
    now = Float(0.0).tag(sync=True)

    def __init__(
        self, lab: Lab, topic: str | None = None, *, auto_refresh: bool = True, **kwargs: Any
    ) -> None:
        self._lab = lab
        self._topic = topic
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.add_class("labkit-topic-view")

    @validate("topic")
    def _validate_topic(self, proposal: Any) -> dict[str, Any]:
        return check_topic(proposal["value"])

    def is_live(self) -> bool:
        """Whether the lab's sandbox still runs."""
        return self._lab.running

    def _name(self) -> str:
        if self._topic:
            return self._topic
        from labkit.sandbox.queue_inspect import topic_names

        names = topic_names(self._lab.sandbox)
        return names[0] if len(names) == 1 else ""

    def snapshot(self) -> dict[str, Any]:
        """The topic, read now."""
        from labkit.sandbox.queue_inspect import topic_snapshot

        name = self._name()
        snap = topic_snapshot(self._lab.sandbox, name) if name else None
        return {"topic": topic_state(snap), "name": name, "now": self._lab.sandbox.clock.timestamp}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return (
            "This lab has stopped: the view shows the topic as it last was and no longer updates."
        )

    def _hint(self) -> str:
        if self.following:
            return LIVE_HINT
        return "Call .refresh() on this view to update it." if self._lab.running else ""

    def to_html(self) -> str:
        """The topic as self-contained HTML."""
        return render_html(
            self.topic, name=self.name, now=self.now, notice=self.notice, hint=self._hint()
        )

    def to_text(self) -> str:
        """The topic as plain text."""
        return render_text(
            self.topic, name=self.name, now=self.now, notice=self.notice, hint=self._hint()
        )


def topic_view(lab: Lab, topic: str | None = None) -> TopicView:
    """A live view of the topic ``topic`` (name or ARN) of ``lab``'s sandbox.

    Args:
        lab: The lab.
        topic: The topic (the only topic of the sandbox when ``None``).
    """
    return TopicView(lab, topic)


__all__ = ["TopicView", "topic_view"]
