"""The window view: a live picture of a Managed Flink application's windows and what it emitted.

A view, not a model. :class:`WindowView` reads
:func:`labkit.services.flink.state.application_snapshot` (the job's watermarks, open windows per
key, late elements, firings, and the sinks' emitted values), keeps it in a synced traitlet and
renders it with :mod:`labkit.services.flink.view`, whose plot of the emitted metrics redraws after
every cell as the lab clock moves. Create it with ``lab.window_view(app)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Dict, TraitError, Unicode, validate

from labkit.services.flink.view import flink_state, render_html, render_text
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_STATE_KEYS = frozenset(
    {"name", "status", "runtime", "now", "job", "failure", "sources", "windows", "sinks"}
)


class WindowView(LiveView):
    """A Managed Flink application's windows, refreshed after every cell.

    Args:
        sandbox: The sandbox the application lives in.
        application: The application's name (:func:`window_view` finds it from a name, an ARN
            or nothing).
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    #: The snapshot (see :func:`labkit.services.flink.view.flink_state`).
    state = Dict().tag(sync=True)
    #: The application shown.
    application = Unicode("").tag(sync=True)

    def __init__(
        self, sandbox: Sandbox, application: str, *, auto_refresh: bool = True, **kwargs: Any
    ) -> None:
        self._sandbox = sandbox
        self._application = application
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.application = self._application
        self.add_class("labkit-flink-view")

    @validate("state")
    def _validate_state(self, proposal: Any) -> dict[str, Any]:
        value = proposal["value"]
        if not isinstance(value, dict):
            raise TraitError(f"state must be a dict, not {type(value).__name__}.")
        if value and set(value) != _STATE_KEYS:
            raise TraitError(f"state has the wrong keys: {sorted(value)}.")
        return value

    def is_live(self) -> bool:
        """Whether the sandbox still runs."""
        return bool(self._sandbox.running)

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return float(self._sandbox.clock.timestamp)

    def snapshot(self) -> dict[str, Any]:
        """The application and its job, read now."""
        from labkit.services.flink.state import application_snapshot

        snap = application_snapshot(self._application, now=self._sandbox.clock.timestamp)
        return {"state": flink_state(snap)}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return "This lab has stopped: the view shows the windows as it last saw them."

    def to_html(self) -> str:
        """The windows as self-contained HTML."""
        if not self.state:
            return ""
        return render_html(self.state, notice=self.notice, hint=self._hint())

    def to_text(self) -> str:
        """The windows as plain text."""
        if not self.state:
            return "Flink window view (not read yet)"
        return render_text(self.state, notice=self.notice, hint=self._hint())


def window_view(
    sandbox: Sandbox, application: str | None = None, *, hold: bool = False
) -> WindowView:
    """A live view of a Managed Flink application's windows (name or ARN; the only one when
    ``None``); with ``hold``, held at the moment of this call.

    Raises:
        FlinkApplicationNotFoundError: No such application, or several and none named.
    """
    from labkit.services.flink.state import find_application

    return WindowView(sandbox, find_application(application).application_name, hold=hold)


__all__ = ["WindowView", "window_view"]
