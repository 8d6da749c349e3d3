"""What API Gateway did: a read-only snapshot of a REST API's request trace.

The pipeline (:mod:`labkit.services.apigateway.sim_pipeline`) writes every request it serves
into the API's trace, kept on moto's REST API object by the patch: stage, route, who authorized
it and why, cache hit or miss, the throttle bucket, the integration, status and latency. This
module finds an API by id or name and reads that trace for views and checks. Reading never
creates a backend or changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from labkit.errors import LabkitError
from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing_in
from labkit.services.apigateway.sim_request import ApiState, StageMetrics, TraceEntry

DEFAULT_REGION = "us-east-1"


class UnknownApiError(LabkitError):
    """No REST API with that id or name."""

    code = "UnknownApi"

    def __init__(self, api: str, known: list[str]) -> None:
        names = ", ".join(known) or "none yet"
        if not api:
            message = "There is no REST API in the sandbox yet (create_rest_api makes one)."
        elif api == "(which one?)":
            message = f"There are several REST APIs; name one (its id or name): {names}."
        else:
            message = f"There is no REST API {api!r} in the sandbox. REST APIs: {names}."
        super().__init__(message)
        self.api = api


@dataclass(frozen=True)
class ApiTrace:
    """A REST API's trace at one moment.

    Attributes:
        api_id: The API's id.
        name: Its name.
        region: Its Region.
        entries: Every request the trace keeps, oldest first.
    """

    api_id: str
    name: str
    region: str
    entries: tuple[TraceEntry, ...]
    metrics: dict[str, StageMetrics] = field(default_factory=dict)


def _apis(region: str, account_id: str) -> list[Any]:
    found: list[Any] = []
    for backend in existing_in("apigateway", account_id, region):
        found.extend(backend.apis.values())
    # HTTP APIs (API Gateway v2) keep the same trace on their own objects.
    for backend in existing_in("apigatewayv2", account_id, region):
        found.extend(a for a in backend.apis.values() if a.protocol_type == "HTTP")
    return found


def _id(api: Any) -> str:
    """A REST API's ``id``, or an HTTP API's ``api_id``."""
    return str(getattr(api, "id", None) or api.api_id)


def find_api(
    api: str | None, *, region: str = DEFAULT_REGION, account_id: str = DEFAULT_ACCOUNT_ID
) -> str:
    """The id of the REST API ``api`` (its id or name; the only API when ``None``).

    Raises:
        UnknownApiError: No REST API has that id or name, or several exist and none is named.
    """
    apis = _apis(region, account_id)
    if api is None and len(apis) == 1:
        return _id(apis[0])
    for candidate in apis:
        if api is not None and api in (_id(candidate), candidate.name):
            return _id(candidate)
    known = [f"{a.name} ({_id(a)})" for a in apis]
    if api is None:
        raise UnknownApiError("", known) if not apis else UnknownApiError("(which one?)", known)
    raise UnknownApiError(api, known)


def api_trace(
    api: str, *, region: str = DEFAULT_REGION, account_id: str = DEFAULT_ACCOUNT_ID
) -> ApiTrace:
    """The trace of the REST API ``api`` (its id or its name), with each stage's metrics.

    Raises:
        UnknownApiError: No REST API has that id or name.
    """
    apis = _apis(region, account_id)
    for candidate in apis:
        if api in (_id(candidate), candidate.name):
            state: ApiState | None = getattr(candidate, "labkit_state", None)
            if state is None:
                return ApiTrace(_id(candidate), str(candidate.name), region, ())
            metrics = {stage: replace(m) for stage, m in state.metrics.items()}
            return ApiTrace(
                _id(candidate), str(candidate.name), region, tuple(state.trace), metrics
            )
    raise UnknownApiError(api, [f"{a.name} ({_id(a)})" for a in apis])
