"""What API Gateway did for an HTTP or WebSocket API: its request trace, and its connections.

The HTTP pipeline (:mod:`labkit.services.apigatewayv2.sim_http`) writes every request into the
API's trace (REST's :class:`~labkit.services.apigateway.state.ApiTrace` shape, so one view reads
both); the WebSocket patch keeps each connection on moto's backend. Reading never creates a
backend or changes anything.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing_in
from labkit.services.apigateway.sim_request import ApiState
from labkit.services.apigateway.state import DEFAULT_REGION, ApiTrace, UnknownApiError


def _apis(region: str, account_id: str) -> list[Any]:
    found: list[Any] = []
    for backend in existing_in("apigatewayv2", account_id, region):
        found.extend(backend.apis.values())
    return found


def http_api_trace(
    api: str, *, region: str = DEFAULT_REGION, account_id: str = DEFAULT_ACCOUNT_ID
) -> ApiTrace:
    """The trace of the HTTP API ``api`` (its id or name), with each stage's metrics.

    Raises:
        UnknownApiError: No HTTP or WebSocket API has that id or name.
    """
    apis = _apis(region, account_id)
    for candidate in apis:
        if api in (candidate.api_id, candidate.name):
            state: ApiState | None = getattr(candidate, "labkit_state", None)
            if state is None:
                return ApiTrace(str(candidate.api_id), str(candidate.name), region, ())
            metrics = {stage: replace(m) for stage, m in state.metrics.items()}
            return ApiTrace(
                str(candidate.api_id), str(candidate.name), region, tuple(state.trace), metrics
            )
    raise UnknownApiError(api, [f"{a.name} ({a.api_id})" for a in apis])


__all__ = ["http_api_trace"]
