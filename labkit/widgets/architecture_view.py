"""The architecture map view: what ``lab.map()`` shows, live or held.

A view, not a model: it reads :func:`labkit.sandbox.architecture.build_map` (every resource and
its wiring, with the policy engine's answer and what flowed along each edge), keeps it in a
synced trait and renders it with :mod:`labkit.views.architecture`. Live, it redraws after every
cell (so counts grow as the clock moves and messages flow) and keeps its history to step back
through; ``hold=True`` keeps the moment of its cell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Dict, TraitError, validate

from labkit.views.architecture import as_state, render_html, render_text
from labkit.views.base import snapshot_state
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.lab import Lab

_KEYS = frozenset({"account", "nodes", "edges", "now", "problems"})


def check_map(value: Any) -> dict[str, Any]:
    """``value`` if it is a map's plain form (or ``{}``), else a TraitError saying what is wrong."""
    if not isinstance(value, dict):
        raise TraitError(f"map must be a dict, not {type(value).__name__}.")
    if not value:
        return value
    if set(value) != _KEYS:
        missing = ", ".join(sorted(_KEYS - set(value))) or "none"
        extra = ", ".join(sorted(map(str, set(value) - _KEYS))) or "none"
        raise TraitError(f"map has the wrong keys (missing: {missing}; unexpected: {extra}).")
    for key in ("nodes", "edges", "problems"):
        if not isinstance(value[key], list):
            raise TraitError(f"map[{key!r}] must be a list.")
    return value


class MapView(LiveView):
    """The sandbox as an architecture diagram, refreshed after every cell.

    Args:
        lab: The lab whose sandbox to draw.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    #: The map as plain values (see :func:`labkit.views.architecture.as_state`).
    map = Dict().tag(sync=True)

    def __init__(self, lab: Lab, *, auto_refresh: bool = True, **kwargs: Any) -> None:
        self._lab = lab
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.add_class("labkit-map-view")

    @validate("map")
    def _validate_map(self, proposal: Any) -> dict[str, Any]:
        return check_map(proposal["value"])

    def is_live(self) -> bool:
        """Whether the lab's sandbox still runs."""
        return self._lab.running

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return self._lab.clock.timestamp

    def snapshot(self) -> dict[str, Any]:
        """The map, read now."""
        from labkit.sandbox.architecture import build_map

        built = build_map(now=self._lab.clock.timestamp)
        return {"map": as_state(snapshot_state(built))}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return (
            "This lab has stopped: the map shows the sandbox as it last was and no longer updates."
        )

    def to_html(self) -> str:
        """The map as SVG and a table of its connections."""
        return render_html(self.map or as_state({}), notice=self.notice, hint=self._hint())

    def to_text(self) -> str:
        """The map as text: every resource, then every connection."""
        return render_text(self.map or as_state({}), notice=self.notice, hint=self._hint())


__all__ = ["MapView", "check_map"]
