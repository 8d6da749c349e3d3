"""The topic view: a live picture of an SNS topic's fan-out.

A view, not a model: it reads :func:`labkit.services.sns.state.topic_snapshot`, keeps what it
read in a synced traitlet, and renders it with :mod:`labkit.services.sns.view`. Create it with
:func:`topic_view`::

    topic_view(lab, "orders")   # a name or an ARN

It shows each subscription (filter policy, raw delivery, whether the queue's policy lets the topic
deliver), for each message published where it went and why a delivery failed, and the topic's
delivery log: the last few messages with each subscription's outcome and its reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Dict, validate

from labkit.services.sns.view import render_html, render_text, topic_state
from labkit.widgets.resource_view import ResourceView, check_state

if TYPE_CHECKING:
    from labkit.lab import Lab

#: Keys every topic state has (see :class:`labkit.services.sns.state.TopicSnapshot`).
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
        "log",
        "logged",
    }
)


def check_topic(value: Any) -> dict[str, Any]:
    """``value`` if it is a topic state (or ``{}``), else a TraitError saying what is wrong."""
    return check_state(value, "topic", TOPIC_FIELDS, ("subscriptions", "publications", "log"))


class TopicView(ResourceView):
    """An SNS topic's subscriptions and where each published message went.

    Args:
        lab: The lab whose sandbox holds the topic.
        topic: The topic's name or ARN; the only topic of the sandbox when ``None``.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    kind = "topic"
    #: The topic's state (see :func:`labkit.services.sns.view.topic_state`); ``{}`` when missing.
    topic = Dict().tag(sync=True)

    def __init__(
        self, lab: Lab, topic: str | None = None, *, auto_refresh: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(lab, topic, auto_refresh=auto_refresh, **kwargs)

    @validate("topic")
    def _validate_topic(self, proposal: Any) -> dict[str, Any]:
        return check_topic(proposal["value"])

    def names(self) -> list[str]:
        """The sandbox's topics."""
        from labkit.services.sns.state import topic_names

        return topic_names(self._lab.sandbox)

    def read(self, name: str) -> dict[str, Any]:
        """The topic ``name`` (a name or ARN), read now."""
        from labkit.services.sns.state import topic_snapshot

        return topic_state(topic_snapshot(self._lab.sandbox, name))

    def to_html(self) -> str:
        """The topic as self-contained HTML."""
        return render_html(self.topic, **self._render_args())

    def to_text(self) -> str:
        """The topic as plain text."""
        return render_text(self.topic, **self._render_args())


def topic_view(lab: Lab, topic: str | None = None, *, hold: bool = False) -> TopicView:
    """A live view of the topic ``topic`` (name or ARN) of ``lab``'s sandbox.

    Args:
        lab: The lab.
        topic: The topic (the only topic of the sandbox when ``None``).
        hold: Hold the moment of this call: a view that never refreshes (see ``LiveView.hold``).
    """
    return TopicView(lab, topic, hold=hold)


__all__ = ["TopicView", "topic_view"]
