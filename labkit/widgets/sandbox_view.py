"""The sandbox view: what ``lab.view()`` shows, every resource of the lab's sandbox by service.

A view, not a model: it reads :meth:`labkit.lab.Lab.resources` and the lab clock, keeps what it
read in synced traitlets, and renders them with :mod:`labkit.views.inventory`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Dict, List, TraitError, Unicode, validate

from labkit.views.inventory import FIELDS, as_fields, render_html, render_text
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.lab import Lab


def check_resources(value: Any) -> list[dict[str, str]]:
    """``value`` if it is a list of resources as dicts of exactly :data:`FIELDS` (all strings).

    Raises:
        TraitError: Saying which entry is wrong and what is expected.
    """
    if not isinstance(value, list):
        raise TraitError(f"resources must be a list of dicts, not {type(value).__name__}.")
    expected = set(FIELDS)
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise TraitError(f"resources[{i}] must be a dict, not {type(entry).__name__}.")
        keys = set(entry)
        if keys != expected:
            missing = ", ".join(sorted(expected - keys)) or "none"
            extra = ", ".join(sorted(map(str, keys - expected))) or "none"
            raise TraitError(
                f"resources[{i}] must have exactly the keys {', '.join(FIELDS)} "
                f"(missing: {missing}; unexpected: {extra})."
            )
        wrong = [k for k in FIELDS if not isinstance(entry[k], str)]
        if wrong:
            raise TraitError(f"resources[{i}]: {', '.join(wrong)} must be strings.")
    return value


class SandboxView(LiveView):
    """Every resource in a lab's sandbox, grouped by service; refreshes after each cell.

    Create it with ``lab.view()``. It shows the sandbox as the lab's clock stands; outside
    IPython (or with ``auto_refresh=False``) call :meth:`refresh` to update it.

    Args:
        lab: The lab whose sandbox to show.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    #: The snapshot: one dict per resource, with the fields of ``labkit.views.inventory.FIELDS``.
    resources = List(Dict()).tag(sync=True)
    #: The lab clock's time when the snapshot was taken.
    lab_time = Unicode("").tag(sync=True)

    def __init__(self, lab: Lab, *, auto_refresh: bool = True, **kwargs: Any) -> None:
        self._lab = lab
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.add_class("labkit-sandbox-view")

    @validate("resources")
    def _validate_resources(self, proposal: Any) -> list[dict[str, str]]:
        return check_resources(proposal["value"])

    def is_live(self) -> bool:
        """Whether the lab's sandbox still runs."""
        return self._lab.running

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return self._lab.clock.timestamp

    def snapshot(self) -> dict[str, Any]:
        """The sandbox's resources and the lab time, read now."""
        return {
            "resources": [as_fields(r) for r in self._lab.resources()],
            "lab_time": f"{self._lab.clock.now:%Y-%m-%d %H:%M:%S} UTC",
        }

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return (
            "This lab has stopped (lab.stop(), or a newer labkit.start() replaced it): the view "
            "shows the sandbox as it last was and no longer updates. Call .view() on a running "
            "lab to follow it."
        )

    def to_html(self) -> str:
        """The sandbox as a self-contained HTML table."""
        return render_html(
            self.resources, lab_time=self.lab_time, notice=self.notice, hint=self._hint()
        )

    def to_text(self) -> str:
        """The sandbox as an aligned plain-text table."""
        return render_text(
            self.resources, lab_time=self.lab_time, notice=self.notice, hint=self._hint()
        )
