"""What the queue and topic views share: a live view of one named resource of a lab's sandbox.

A :class:`ResourceView` follows a lab: it is live while the lab runs, finds its resource by the
name it was given (or the only one of its kind), and keeps the resource's state in a synced trait
named after its kind (``queue``, ``topic``), beside the name asked for and the lab time of the
snapshot. A subclass says which kind it shows and how to read and render it::

    class QueueView(ResourceView):
        kind = "queue"
        queue = Dict().tag(sync=True)            # the state, validated with @validate

        def names(self) -> list[str]: ...        # the sandbox's queues
        def read(self, name: str) -> dict[str, Any]: ...   # one queue's state, {} when missing
        def to_html(self) -> str: ...            # render self.queue with labkit.services.sqs.view
        def to_text(self) -> str: ...
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from traitlets import Float, TraitError, Unicode

from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.lab import Lab


def check_state(
    value: Any, what: str, fields: frozenset[str], lists: tuple[str, ...]
) -> dict[str, Any]:
    """``value`` if it is a resource's state (or ``{}``), else a TraitError saying what is wrong.

    Args:
        value: The value proposed for the trait.
        what: The trait's name, as the messages call it (``queue``).
        fields: The keys a state has, exactly.
        lists: The keys whose values must be lists.
    """
    if not isinstance(value, dict):
        raise TraitError(f"{what} must be a dict, not {type(value).__name__}.")
    if not value:
        return value
    keys = set(value)
    if keys != fields:
        missing = ", ".join(sorted(fields - keys)) or "none"
        extra = ", ".join(sorted(map(str, keys - fields))) or "none"
        raise TraitError(f"{what} has the wrong keys (missing: {missing}; unexpected: {extra}).")
    if not all(isinstance(value[key], list) for key in lists):
        named = " and ".join(f"{what}[{key!r}]" for key in lists)
        raise TraitError(f"{named} must be lists.")
    return value


class ResourceView(LiveView):
    """A live view of one resource of a lab's sandbox, found by name.

    Args:
        lab: The lab whose sandbox holds the resource.
        resource: The resource's name (or URL, ARN: whatever :meth:`read` accepts); the only
            resource of its kind in the sandbox when ``None``.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    #: The kind of resource in words (``queue``); also the name of the trait with its state.
    kind: ClassVar[str]

    #: The name asked for.
    name = Unicode("").tag(sync=True)
    #: The lab time of the snapshot (epoch seconds).
    now = Float(0.0).tag(sync=True)

    def __init__(
        self, lab: Lab, resource: str | None = None, *, auto_refresh: bool = True, **kwargs: Any
    ) -> None:
        self._lab = lab
        self._resource = resource
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.add_class(f"labkit-{self.kind}-view")

    # -- what a subclass provides -----------------------------------------------------------
    @abstractmethod
    def names(self) -> list[str]:
        """The names of the sandbox's resources of this kind."""

    @abstractmethod
    def read(self, name: str) -> dict[str, Any]:
        """The state of the resource ``name`` as plain values; ``{}`` when there is none."""

    # -- the rest of a LiveView -------------------------------------------------------------
    def is_live(self) -> bool:
        """Whether the lab's sandbox still runs."""
        return self._lab.running

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return self._lab.sandbox.clock.timestamp

    def _name(self) -> str:
        if self._resource:
            return self._resource
        names = self.names()
        return names[0] if len(names) == 1 else ""

    def snapshot(self) -> dict[str, Any]:
        """The resource, read now."""
        name = self._name()
        state = self.read(name) if name else {}
        return {self.kind: state, "name": name, "now": self._lab.sandbox.clock.timestamp}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return (
            f"This lab has stopped: the view shows the {self.kind} as it last was and no longer "
            "updates."
        )

    def _render_args(self) -> dict[str, Any]:
        # What both renderers take besides the state.
        return {"name": self.name, "now": self.now, "notice": self.notice, "hint": self._hint()}


__all__ = ["ResourceView", "check_state"]
