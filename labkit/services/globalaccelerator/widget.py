"""The accelerator view: a live picture of an accelerator's endpoint groups, health and routes.

A view, not a model: it reads
:func:`labkit.services.globalaccelerator.state.accelerator_snapshot`, keeps what it read in synced
traitlets, and renders it with :mod:`labkit.services.globalaccelerator.view`. Create it with
:func:`accelerator_view` (``labkit.edge.accelerator_view(...)`` in a lab).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from traitlets import Dict, Unicode, validate

from labkit.services.cloudfront.widget import check_state, running_sandbox
from labkit.services.globalaccelerator.view import (
    accelerator_html,
    accelerator_state,
    accelerator_text,
)
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_ACCELERATOR_KEYS = frozenset(
    {"arn", "name", "dns_name", "ip_addresses", "enabled", "status", "listeners", "routes", "now"}
)


class AcceleratorView(LiveView):
    """An accelerator's endpoint groups with their health now, and where viewers go.

    Args:
        sandbox: The sandbox the accelerator lives in.
        accelerator_arn: The accelerator's ARN (or DNS name).
        viewers: Cities whose route to show.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    #: The snapshot (see :func:`labkit.services.globalaccelerator.view.accelerator_state`).
    state = Dict().tag(sync=True)
    #: The accelerator shown.
    accelerator_arn = Unicode("").tag(sync=True)

    def __init__(
        self,
        sandbox: Sandbox,
        accelerator_arn: str,
        *,
        viewers: Iterable[str] = (),
        auto_refresh: bool = True,
        **kwargs: Any,
    ) -> None:
        self._sandbox = sandbox
        self._viewers = list(viewers)
        self._arn = accelerator_arn
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.accelerator_arn = accelerator_arn
        self.add_class("labkit-accelerator-view")

    @validate("state")
    def _validate_state(self, proposal: Any) -> dict[str, Any]:
        return check_state(proposal["value"], _ACCELERATOR_KEYS, "state")

    def is_live(self) -> bool:
        """Whether the sandbox still runs."""
        return self._sandbox.running

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return self._sandbox.clock.timestamp

    def snapshot(self) -> dict[str, Any]:
        """The accelerator's health and routes, read now."""
        from labkit.services.globalaccelerator.state import accelerator_snapshot

        snap = accelerator_snapshot(
            self._arn,
            viewers=self._viewers,
            now=self._sandbox.clock.timestamp,
            sandbox=self._sandbox,
        )
        return {"state": accelerator_state(snap)}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return "This lab has stopped: the view shows the accelerator as it last saw it."

    def to_html(self) -> str:
        """The accelerator as self-contained HTML."""
        if not self.state:
            return ""
        return accelerator_html(self.state, notice=self.notice, hint=self._hint())

    def to_text(self) -> str:
        """The accelerator as plain text."""
        if not self.state:
            return "Global Accelerator view (not read yet)"
        return accelerator_text(self.state, notice=self.notice, hint=self._hint())


def accelerator_view(
    accelerator_arn: str,
    *,
    viewers: Iterable[str] = (),
    sandbox: Sandbox | None = None,
    hold: bool = False,
) -> AcceleratorView:
    """A live view of an accelerator's endpoint groups, health and routes; with ``hold``, held
    at the moment of this call (see ``LiveView.hold``)."""
    return AcceleratorView(running_sandbox(sandbox), accelerator_arn, viewers=viewers, hold=hold)


__all__ = ["AcceleratorView", "accelerator_view"]
