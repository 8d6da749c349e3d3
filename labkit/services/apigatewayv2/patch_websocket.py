"""WebSocket APIs in the sandbox: a notebook-side client, routes to Lambda, and ``@connections``.

moto keeps WebSocket APIs but serves no connection, and its management API
(``apigatewaymanagementapi``) accepts a post to any connection id, even one that never existed.
While a lab runs:

- :func:`connect` (``lab.websocket(url)``) opens a connection to
  ``wss://{api}.execute-api.{region}.amazonaws.com/{stage}``: ``$connect``, each message routed
  by the route selection expression, ``$disconnect``, with the rules of
  :mod:`labkit.services.apigatewayv2.sim_websocket`; nothing sleeps: the idle timeout (10 min)
  and the maximum duration (2 h) are timers on the lab clock;
- a route's Lambda function runs only when API Gateway may invoke it, as for REST and HTTP APIs
  (:func:`labkit.services.apigateway.patch_backends.invoke_refusal`): a ``lambda:InvokeFunction``
  statement for ``apigateway.amazonaws.com`` whose source ARN matches
  ``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{route key}`` (what
  ``lambda add-permission`` or CDK's ``WebSocketLambdaIntegration`` adds), or a credentials role
  allowed to invoke it. Without it the function never runs: ``$connect`` fails the handshake with
  500, a message gets the ``Internal server error`` gateway message, ``$disconnect`` is skipped.
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-control-access-iam.html,
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-integrations.html
- ``PostToConnection``, ``GetConnection`` and ``DeleteConnection`` reach the connections of the
  API whose endpoint the client was made for; a closed or unknown one answers ``GoneException``
  (410), a post over 128 KB ``PayloadTooLargeException`` (413), and a caller signing with
  sandbox-issued role credentials needs ``execute-api:ManageConnections`` (else
  ``ForbiddenException``, 403).

Connections live on moto's v2 backend, so ``lab.reset()`` ends them with everything else.
"""

from __future__ import annotations

import json
import re
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from moto.core.exceptions import JsonRESTError
from moto.moto_api._internal import mock_random

from labkit import facts
from labkit.errors import LabkitError
from labkit.services.apigatewayv2 import patch as http
from labkit.services.apigatewayv2 import sim_websocket as ws
from labkit.services.apigatewayv2.sim_websocket import Connection

if TYPE_CHECKING:
    from labkit.clock import ScheduledEvent
    from labkit.sandbox.session import Sandbox

_WSS = re.compile(
    r"wss?://(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com"
    r"/(?P<stage>[^/?#]+)/?(?:\?(?P<query>[^#]*))?$"
)
_HOST = re.compile(r"(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com")


class WebSocketError(LabkitError):
    """A WebSocket connection could not be opened or used."""

    code = "WebSocketError"


class WebSocketRejectedError(WebSocketError):
    """The handshake was refused (the ``$connect`` route's answer, or no such API or stage)."""

    code = "WebSocketRejected"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class WebSocketClosedError(WebSocketError):
    """A message sent on a closed connection."""

    code = "WebSocketClosed"


class GoneException(JsonRESTError):
    """``@connections`` on a connection that is closed or never was."""

    code = 410

    def __init__(self, connection_id: str) -> None:
        super().__init__("GoneException", f"Connection {connection_id} is gone.")


class ForbiddenException(JsonRESTError):
    """``@connections`` by a caller whose policies do not allow
    ``execute-api:ManageConnections``."""

    code = 403

    def __init__(self, message: str = "Forbidden") -> None:
        super().__init__("ForbiddenException", message)


class PayloadTooLargeException(JsonRESTError):
    """A post larger than a WebSocket message may be."""

    code = 413

    def __init__(self) -> None:
        super().__init__("PayloadTooLargeException", "Message too long")


def _idle() -> float:
    return float(facts.value("api_gateway.websocket_idle_timeout"))


def _longest() -> float:
    return float(facts.value("api_gateway.websocket_connection_duration_max"))


def _message_max() -> int:
    return int(facts.value("api_gateway.websocket_message_max"))


def connections(backend: Any) -> dict[str, Connection]:
    """The connections kept on moto's v2 backend of one account and Region."""
    found: dict[str, Connection] | None = getattr(backend, "labkit_connections", None)
    if found is None:
        found = {}
        setattr(backend, "labkit_connections", found)  # noqa: B010 (moto's model has no slot)
    return found


def _request_id() -> str:
    return str(mock_random.uuid4())


def _connection_id() -> str:
    raw = mock_random.get_random_string(length=12, include_digits=True)
    return raw[:11] + "="


class WebSocketClient:
    """A client's end of a WebSocket connection, in the notebook.

    ``send`` a message (text, bytes, or a dict/list sent as JSON), ``receive`` what API Gateway
    or the backend sent (``None`` when nothing is waiting: nothing blocks), ``close`` it.
    """

    def __init__(self, url: str, backend: Any, api: Any, stage: Any, connection: Connection):
        self.url = url
        self._backend = backend
        self._api = api
        self._stage = stage
        self._connection = connection
        self._timer: ScheduledEvent | None = None

    # -- what the learner uses ---------------------------------------------------------------

    @property
    def connection_id(self) -> str:
        """The connection's id (AWS does not tell the client; the backend learns it from the
        ``$connect`` event)."""
        return self._connection.id

    @property
    def closed(self) -> bool:
        """Whether the connection is closed (by either side, or by a timeout)."""
        _expire(self._connection, self._backend, self._api)
        return not self._connection.open

    @property
    def close_code(self) -> int | None:
        """The close code, once closed (1000 normal, 1001 going away, 1009 message too big)."""
        return self._connection.close_code

    @property
    def close_reason(self) -> str:
        """Why it closed, in words."""
        return self._connection.close_reason

    def send(self, message: Any) -> None:
        """Send one message; its route's function runs now.

        Raises:
            WebSocketClosedError: The connection is closed.
        """
        connection = self._connection
        _expire(connection, self._backend, self._api)
        if not connection.open:
            raise WebSocketClosedError(
                f"The connection is closed ({connection.close_reason}); open a new one."
            )
        if isinstance(message, (dict, list)):
            body = json.dumps(message)
        elif isinstance(message, bytes):
            body = message.decode("utf-8", errors="replace")
        else:
            body = str(message)
        now = http.now()
        connection.last_active = now
        if len(body.encode("utf-8")) > _message_max():
            _close(connection, self._backend, self._api, ws.MESSAGE_TOO_BIG, "Message too big")
            return
        _arm(connection, self._backend, self._api)
        frozen = http.served(self._api, self._stage)
        if frozen is None:  # the stage lost its deployment: AWS keeps serving; so do we
            return
        keys = {r.key for r in frozen.routes}
        route_key = ws.select_route(frozen.route_selection_expression, body, keys)
        request_id = _request_id()
        connection.log.append((now, "message in", f"{route_key or 'no route'}: {body[:80]}"))
        if route_key is None:
            connection.inbox.append(ws.gateway_error("Forbidden", connection.id, request_id))
            return
        route = frozen.route(route_key)
        assert route is not None
        integration = frozen.integrations.get(route.integration_id or "")
        if integration is None:
            connection.inbox.append(
                ws.gateway_error("Internal server error", connection.id, request_id)
            )
            return
        event = ws.message_event(connection, route_key, body, now, _domain(self._api), request_id)
        payload, failed, _, detail = http.invoke(
            integration.uri,
            event,
            f"apigateway:{self._api.api_id}",
            allowed=_may_invoke(self._api, self._stage.name, route_key, integration),
        )
        if payload is None or failed:
            # The client sees only the gateway's message; the connection's log keeps why (as
            # AWS's execution log does).
            connection.log.append((now, "integration failed", f"{route_key}: {detail}"))
            connection.inbox.append(
                ws.gateway_error("Internal server error", connection.id, request_id)
            )
            return
        if route.route_response_selection_expression:
            connection.inbox.append(ws.route_response(payload))

    def receive(self) -> str | None:
        """The oldest message waiting for the client, or ``None`` (nothing blocks)."""
        _expire(self._connection, self._backend, self._api)
        return self._connection.inbox.popleft() if self._connection.inbox else None

    def receive_json(self) -> Any:
        """The oldest waiting message, parsed as JSON (``None`` when nothing waits)."""
        text = self.receive()
        return json.loads(text) if text is not None else None

    def close(self) -> None:
        """Close the connection (``$disconnect`` runs)."""
        _expire(self._connection, self._backend, self._api)
        _close(
            self._connection, self._backend, self._api, ws.NORMAL_CLOSURE, "closed by the client"
        )

    def __repr__(self) -> str:
        state = "open" if self._connection.open else f"closed ({self._connection.close_reason})"
        return f"<WebSocket {self.url} {self._connection.id} {state}>"


def _may_invoke(api: Any, stage: str, route_key: str, integration: Any) -> Any:
    """What :func:`http.invoke` asks before it runs a route's function: why API Gateway may not
    invoke it for this route (``None`` when it may)."""
    from labkit.services.apigateway.patch_backends import invoke_refusal

    source_arn = (
        f"arn:aws:execute-api:{api.backend.region_name}:{api.backend.account_id}:"
        f"{api.api_id}/{stage}/{route_key}"
    )

    def refusal(fn: Any) -> str | None:
        return invoke_refusal(
            fn,
            source_arn=source_arn,
            account_id=api.backend.account_id,
            credentials=getattr(integration, "credentials", None),
        )

    return refusal


def _domain(api: Any) -> str:
    return f"{api.api_id}.execute-api.{api.backend.region_name}.amazonaws.com"


def _close(connection: Connection, backend: Any, api: Any, code: int, reason: str) -> None:
    """Close ``connection`` and tell ``$disconnect`` (best effort, as AWS)."""
    if not connection.open:
        return
    now = http.now()
    connection.close(now, code, reason)
    timer = getattr(connection, "timer", None)
    if timer is not None:
        timer.cancel()
    route = None
    frozen = None
    stage = api.stages.get(connection.stage)
    if stage is not None:
        frozen = http.served(api, stage)
        route = frozen.route("$disconnect") if frozen is not None else None
    if frozen is None or route is None:
        return
    integration = frozen.integrations.get(route.integration_id or "")
    if integration is not None:
        event = ws.disconnect_event(connection, now, _domain(api), _request_id())
        http.invoke(
            integration.uri,
            event,
            f"apigateway:{api.api_id}",
            allowed=_may_invoke(api, connection.stage, "$disconnect", integration),
        )


def _expire(connection: Connection, backend: Any, api: Any) -> None:
    """Close ``connection`` if the lab clock has passed its deadline, or its API, stage or
    AWS world is gone (``lab.reset()``, a deleted API)."""
    if connection.open:
        found = http.find_api(connection.api_id, api.backend.region_name)
        if (
            found is None
            or found[1] is not api
            or connection.stage not in api.stages
            or connections(backend).get(connection.id) is not connection
        ):
            connection.close(http.now(), ws.GOING_AWAY, "the API or its stage no longer exists")
            return
        when, reason = connection.deadline(_idle(), _longest())
        if http.now() >= when:
            _close(connection, backend, api, ws.GOING_AWAY, reason)


def _arm(connection: Connection, backend: Any, api: Any) -> None:
    """A timer on the lab clock for the connection's next deadline (idle or maximum age)."""
    if not http._SANDBOX:
        return
    clock = http._SANDBOX[0].clock
    timer = getattr(connection, "timer", None)
    if timer is not None:
        timer.cancel()
    when, _ = connection.deadline(_idle(), _longest())

    def fire() -> None:
        # The world may have been reset since: only a connection still registered closes.
        if connections(backend).get(connection.id) is connection:
            _expire(connection, backend, api)

    setattr(connection, "timer", clock.call_at(when, fire))  # noqa: B010


def connect(url: str, headers: dict[str, str] | None = None) -> WebSocketClient:
    """Open a WebSocket connection to a WebSocket API stage.

    Raises:
        WebSocketRejectedError: No such API or stage, or ``$connect`` refused the handshake.
    """
    m = _WSS.match(url.strip())
    if m is None:
        raise WebSocketRejectedError(
            0,
            f"{url!r} is not a WebSocket API URL: "
            "wss://{api-id}.execute-api.{region}.amazonaws.com/{stage}",
        )
    found = http.find_api(m["api"], m["region"])
    if found is None or found[1].protocol_type != "WEBSOCKET":
        raise WebSocketRejectedError(403, f"No WebSocket API {m['api']} in {m['region']}.")
    backend, api = found
    stage = api.stages.get(m["stage"])
    frozen = http.served(api, stage) if stage is not None else None
    if stage is None or frozen is None:
        raise WebSocketRejectedError(
            403, f"Stage {m['stage']!r} of API {api.api_id} does not exist or is not deployed."
        )
    sent = dict(headers or {})
    now = http.now()
    agent = next((v for k, v in sent.items() if k.lower() == "user-agent"), "labkit-websocket")
    connection = Connection(_connection_id(), api.api_id, stage.name, now, now, user_agent=agent)
    connection.log.append((now, "connect", url))
    route = frozen.route("$connect")
    if route is not None:
        if route.authorization_type not in ("NONE", ""):
            raise WebSocketRejectedError(
                500, f"$connect authorization {route.authorization_type} is not simulated here."
            )
        integration = frozen.integrations.get(route.integration_id or "")
        if integration is None:
            raise WebSocketRejectedError(500, "The $connect route has no integration.")
        query = dict(parse_qsl(m["query"] or ""))
        event = ws.connect_event(connection, sent, query, _domain(api), _request_id())
        payload, failed, _, detail = http.invoke(
            integration.uri,
            event,
            f"apigateway:{api.api_id}",
            allowed=_may_invoke(api, stage.name, "$connect", integration),
        )
        ok, status = ws.accepted(payload, failed)
        if not ok:
            why = f": {detail}" if payload is None else ""
            raise WebSocketRejectedError(
                status, f"The $connect route refused the connection (HTTP {status}){why}."
            )
    connections(backend)[connection.id] = connection
    _arm(connection, backend, api)
    return WebSocketClient(url, backend, api, stage, connection)


# --- @connections ---------------------------------------------------------------------------------


def _may_manage(response: Any, api: Any, connection_id: str) -> None:
    """A caller signing with sandbox-issued role credentials (an assumed role, an identity
    pool's) needs ``execute-api:ManageConnections`` on
    ``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/@connections/{id}``;
    the learner's own credentials are the account's, which may.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-control-access-iam.html
    """
    from labkit import policy as engine
    from labkit.sandbox import signers

    headers = {str(k): str(v) for k, v in dict(response.headers or {}).items()}
    signer = signers.signer_of(headers, str(response.uri))
    if signer is None:
        return
    stage = urlsplit(str(response.uri)).path.split("/@connections/")[0].strip("/")
    arn = (
        f"arn:aws:execute-api:{api.backend.region_name}:{api.backend.account_id}:{api.api_id}/"
        f"{stage}/{response.method}/@connections/{connection_id}"
    )
    if signer.expired:
        raise ForbiddenException("The security token included in the request is expired")
    ask = engine.Request(signer.principal, "execute-api:ManageConnections", arn)
    decision = engine.evaluate(ask, identity_policies=signer.policies)
    if decision.allowed and signer.session_policy is not None:
        decision = engine.evaluate(ask, identity_policies=(signer.session_policy,))
    if not decision.allowed:
        raise ForbiddenException(
            f"User: {signer.principal.arn} is not authorized to perform: "
            f"execute-api:ManageConnections on resource: {arn}"
        )


def _target(response: Any, connection_id: str) -> tuple[Connection, Any, Any]:
    """The open connection ``connection_id`` of the API whose endpoint was called."""
    host = urlsplit(str(response.uri)).hostname or ""
    m = _HOST.match(host)
    found = http.find_api(m["api"], m["region"]) if m is not None else None
    if found is None:
        raise GoneException(connection_id)
    backend, api = found
    _may_manage(response, api, connection_id)
    connection = connections(backend).get(connection_id)
    if connection is None or connection.api_id != api.api_id:
        raise GoneException(connection_id)
    _expire(connection, backend, api)
    if not connection.open:
        raise GoneException(connection_id)
    return connection, backend, api


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _patch_management_api(stack: ExitStack) -> None:
    from moto.apigatewaymanagementapi.responses import ApiGatewayManagementApiResponse

    def post_to_connection(self: Any) -> str:
        connection_id = unquote(self.path.split("/@connections/")[-1])
        connection, backend, api = _target(self, connection_id)
        data = self.body if isinstance(self.body, bytes) else str(self.body or "").encode()
        if len(data) > _message_max():
            raise PayloadTooLargeException()
        connection.inbox.append(data.decode("utf-8", errors="replace"))
        connection.last_active = http.now()
        connection.log.append(
            (connection.last_active, "posted", data[:80].decode(errors="replace"))
        )
        _arm(connection, backend, api)
        return "{}"

    def get_connection(self: Any) -> str:
        connection_id = unquote(self.path.split("/@connections/")[-1])
        connection, _, _ = _target(self, connection_id)
        return json.dumps(
            {
                "connectedAt": _iso(connection.connected_at),
                "lastActiveAt": _iso(connection.last_active),
                "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            }
        )

    def delete_connection(self: Any) -> str:
        connection_id = unquote(self.path.split("/@connections/")[-1])
        connection, backend, api = _target(self, connection_id)
        _close(connection, backend, api, ws.GOING_AWAY, "closed by the backend (DeleteConnection)")
        return "{}"

    for name, method in (
        ("post_to_connection", post_to_connection),
        ("get_connection", get_connection),
        ("delete_connection", delete_connection),
    ):
        original = ApiGatewayManagementApiResponse.__dict__[name]
        setattr(ApiGatewayManagementApiResponse, name, method)
        stack.callback(setattr, ApiGatewayManagementApiResponse, name, original)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Serve WebSocket connections and ``@connections`` while ``sandbox`` runs."""
    del sandbox
    _patch_management_api(stack)


__all__ = [
    "ForbiddenException",
    "GoneException",
    "PayloadTooLargeException",
    "WebSocketClient",
    "WebSocketClosedError",
    "WebSocketError",
    "WebSocketRejectedError",
    "connect",
    "connections",
    "install",
]
