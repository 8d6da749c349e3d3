"""The API trace view: a live picture of the requests a REST API served.

A view, not a model. :class:`ApiTraceView` reads :func:`labkit.services.apigateway.state.api_trace`
(each request's stage, route, authorizer decision and why, throttle bucket, cache hit or miss,
integration, status and latency; each stage's metrics), keeps it in a synced traitlet and renders
it with :mod:`labkit.services.apigateway.view`. Create it with ``lab.api_trace(api)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Unicode

from labkit.services.apigateway.view import render_html, render_text, trace_state
from labkit.widgets.state_view import StateView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_STATE_KEYS = frozenset({"api_id", "name", "region", "now", "total", "stages", "requests"})


class ApiTraceView(StateView):
    """A REST API's request trace, refreshed after every cell.

    Args:
        sandbox: The sandbox the API lives in.
        api: The API's id (:func:`api_trace_view` finds it from a name, an id or nothing).
        region: The API's Region.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    shows = "the requests it last saw"
    title = "API trace"
    css_class = "labkit-api-trace-view"
    state_keys = _STATE_KEYS

    #: The API shown (its id).
    api = Unicode("").tag(sync=True)

    def __init__(
        self,
        sandbox: Sandbox,
        api: str,
        *,
        region: str = "us-east-1",
        auto_refresh: bool = True,
        **kwargs: Any,
    ) -> None:
        self._api = api
        self._region = region
        super().__init__(sandbox, auto_refresh=auto_refresh, **kwargs)
        self.api = self._api

    def read(self) -> dict[str, Any]:
        """The API's trace, read now."""
        from labkit.services.apigateway.state import api_trace

        trace = api_trace(self._api, region=self._region)
        return trace_state(trace, self._sandbox.clock.timestamp)

    def html_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The trace as self-contained HTML."""
        return render_html(state, notice=notice, hint=hint)

    def text_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The trace as plain text."""
        return render_text(state, notice=notice, hint=hint)


def api_trace_view(
    sandbox: Sandbox, api: str | None = None, *, region: str | None = None, hold: bool = False
) -> ApiTraceView:
    """A live view of a REST API's request trace (id or name; the only API when ``None``); with
    ``hold``, held at the moment of this call.

    Raises:
        UnknownApiError: No such API, or several and none named.
    """
    from labkit.services.apigateway.state import find_api

    where = region or sandbox.region
    # Found before the widget exists: a widget whose construction fails cannot be closed cleanly.
    return ApiTraceView(sandbox, find_api(api, region=where), region=where, hold=hold)


__all__ = ["ApiTraceView", "api_trace_view"]
