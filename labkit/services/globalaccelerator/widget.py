"""The accelerator view: a live picture of an accelerator's endpoint groups, health and routes.

A view, not a model: it reads
:func:`labkit.services.globalaccelerator.state.accelerator_snapshot`, keeps what it read in synced
traitlets, and renders it with :mod:`labkit.services.globalaccelerator.view`. Create it with
:func:`accelerator_view` (``labkit.edge.accelerator_view(...)`` in a lab).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from traitlets import Unicode

from labkit.services.cloudfront.widget import running_sandbox
from labkit.services.globalaccelerator.view import (
    accelerator_html,
    accelerator_state,
    accelerator_text,
)
from labkit.widgets.state_view import StateView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_ACCELERATOR_KEYS = frozenset(
    {"arn", "name", "dns_name", "ip_addresses", "enabled", "status", "listeners", "routes", "now"}
)


class AcceleratorView(StateView):
    """An accelerator's endpoint groups with their health now, and where viewers go.

    Args:
        sandbox: The sandbox the accelerator lives in.
        accelerator_arn: The accelerator's ARN (or DNS name).
        viewers: Cities whose route to show.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    shows = "the accelerator as it last saw it"
    title = "Global Accelerator view"
    css_class = "labkit-accelerator-view"
    state_keys = _ACCELERATOR_KEYS

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
        self._viewers = list(viewers)
        self._arn = accelerator_arn
        super().__init__(sandbox, auto_refresh=auto_refresh, **kwargs)
        self.accelerator_arn = accelerator_arn

    def read(self) -> dict[str, Any]:
        """The accelerator's health and routes, read now."""
        from labkit.services.globalaccelerator.state import accelerator_snapshot

        snap = accelerator_snapshot(
            self._arn,
            viewers=self._viewers,
            now=self._sandbox.clock.timestamp,
            sandbox=self._sandbox,
        )
        return accelerator_state(snap)

    def html_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The accelerator as self-contained HTML."""
        return accelerator_html(state, notice=notice, hint=hint)

    def text_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The accelerator as plain text."""
        return accelerator_text(state, notice=notice, hint=hint)


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
