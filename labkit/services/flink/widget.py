"""The window view: a live picture of a Managed Flink application's windows and what it emitted.

A view, not a model. :class:`WindowView` reads
:func:`labkit.services.flink.state.application_snapshot` (the job's watermarks, open windows per
key, late elements, firings, and the sinks' emitted values), keeps it in a synced traitlet and
renders it with :mod:`labkit.services.flink.view`, whose plot of the emitted metrics redraws after
every cell as the lab clock moves. Create it with ``lab.window_view(app)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Unicode

from labkit.services.flink.view import flink_state, render_html, render_text
from labkit.widgets.state_view import StateView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_STATE_KEYS = frozenset(
    {"name", "status", "runtime", "now", "job", "failure", "sources", "windows", "sinks"}
)


class WindowView(StateView):
    """A Managed Flink application's windows, refreshed after every cell.

    Args:
        sandbox: The sandbox the application lives in.
        application: The application's name (:func:`window_view` finds it from a name, an ARN
            or nothing).
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    shows = "the windows as it last saw them"
    title = "Flink window view"
    css_class = "labkit-flink-view"
    state_keys = _STATE_KEYS

    #: The application shown.
    application = Unicode("").tag(sync=True)

    def __init__(
        self, sandbox: Sandbox, application: str, *, auto_refresh: bool = True, **kwargs: Any
    ) -> None:
        self._application = application
        super().__init__(sandbox, auto_refresh=auto_refresh, **kwargs)
        self.application = self._application

    def read(self) -> dict[str, Any]:
        """The application and its job, read now."""
        from labkit.services.flink.state import application_snapshot

        snap = application_snapshot(self._application, now=self._sandbox.clock.timestamp)
        return flink_state(snap)

    def html_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The windows as self-contained HTML."""
        return render_html(state, notice=notice, hint=hint)

    def text_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The windows as plain text."""
        return render_text(state, notice=notice, hint=hint)


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
