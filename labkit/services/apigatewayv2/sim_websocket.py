"""WebSocket API connections: route selection, the events each route's function gets, and a
connection's life on the lab clock (plain Python).

https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-overview.html

- A client connects to ``wss://{api}.execute-api.{region}.amazonaws.com/{stage}``; the
  ``$connect`` route's function (if there is one) decides: a ``statusCode`` of 2xx accepts, any
  other answer or an error refuses the handshake.
- Each message is routed by the API's ``RouteSelectionExpression`` (``$request.body.action``:
  the ``action`` field of a JSON message); a message no route matches goes to ``$default``, and
  without one the client gets ``{"message": "Forbidden", "connectionId": ..., "requestId": ...}``
  (e.g. https://github.com/aws-samples/simple-websockets-chat-app/issues/24); a failed function,
  ``{"message": "Internal server error", ...}``. A route with a route response
  (``RouteResponseSelectionExpression``) sends its function's answer back to the client.
- A connection closes after 10 minutes without a message either way, and after 2 hours in any
  case (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html);
  a message over 128 KB closes it with code 1009; ``$disconnect`` is told, best effort.
- The backend posts to a client with ``@connections`` (``PostToConnection``); a closed
  connection answers ``GoneException`` (410).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

#: Close codes (RFC 6455) a connection ends with.
NORMAL_CLOSURE = 1000
GOING_AWAY = 1001
MESSAGE_TOO_BIG = 1009


@dataclass
class Connection:
    """One client's connection to a WebSocket API stage.

    Attributes:
        id: The connection id (``@connections/{id}``).
        api_id: The API.
        stage: The stage.
        connected_at: When the handshake succeeded (lab clock).
        last_active: When a message last went either way.
        source_ip: The client's address.
        user_agent: The client's ``User-Agent``.
        inbox: Messages waiting for the client, oldest first.
        closed_at: When it closed, if it did.
        close_code: The close code (1000 normal, 1001 going away, 1009 too big).
        close_reason: Why, in words.
        log: What happened on the connection, for views and hints: ``(time, event, detail)``.
    """

    id: str
    api_id: str
    stage: str
    connected_at: float
    last_active: float
    source_ip: str = "127.0.0.1"
    user_agent: str = ""
    inbox: deque[str] = field(default_factory=deque)
    closed_at: float | None = None
    close_code: int | None = None
    close_reason: str = ""
    log: list[tuple[float, str, str]] = field(default_factory=list)

    @property
    def open(self) -> bool:
        """Whether the connection is still open."""
        return self.closed_at is None

    def deadline(self, idle: float, longest: float) -> tuple[float, str]:
        """When the connection ends by itself, and why."""
        by_idle = self.last_active + idle
        by_age = self.connected_at + longest
        if by_age <= by_idle:
            return by_age, f"the connection reached the {longest / 3600:g}-hour maximum duration"
        return by_idle, f"no message either way for {idle / 60:g} minutes (idle timeout)"

    def close(self, now: float, code: int, reason: str) -> None:
        """Close it (once)."""
        if self.closed_at is None:
            self.closed_at, self.close_code, self.close_reason = now, code, reason
            self.log.append((now, "closed", f"{code}: {reason}"))


def select_route(expression: str, body: str, route_keys: set[str]) -> str | None:
    """The route key a message selects: the value ``expression`` picks from the message, if a
    route has it, else ``$default`` when there is one, else ``None``."""
    picked: Any = None
    if expression.startswith("$request.body."):
        try:
            picked = json.loads(body)
        except ValueError:
            picked = None
        for part in expression[len("$request.body.") :].split("."):
            picked = picked.get(part) if isinstance(picked, dict) else None
    # $connect and $disconnect are for the handshake and the close, never for a message.
    if isinstance(picked, str) and picked in route_keys and not picked.startswith("$"):
        return picked
    return "$default" if "$default" in route_keys else None


def _context(connection: Connection, route: str, event_type: str, now: float, **more: Any) -> Any:
    when = datetime.fromtimestamp(now, tz=timezone.utc)
    return {
        "routeKey": route,
        "eventType": event_type,
        "messageDirection": "IN",
        "stage": connection.stage,
        "connectedAt": int(connection.connected_at * 1000),
        "requestTimeEpoch": int(now * 1000),
        "requestTime": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
        "connectionId": connection.id,
        "apiId": connection.api_id,
        **more,
    }


def connect_event(
    connection: Connection,
    headers: dict[str, str],
    query: dict[str, str],
    domain: str,
    request_id: str,
) -> dict[str, Any]:
    """The ``$connect`` route's event."""
    event: dict[str, Any] = {
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": _context(
            connection,
            "$connect",
            "CONNECT",
            connection.connected_at,
            domainName=domain,
            requestId=request_id,
        ),
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    return event


def message_event(
    connection: Connection, route: str, body: str, now: float, domain: str, request_id: str
) -> dict[str, Any]:
    """A message route's event."""
    return {
        "requestContext": _context(
            connection,
            route,
            "MESSAGE",
            now,
            messageId=request_id[:16],
            domainName=domain,
            requestId=request_id,
        ),
        "body": body,
        "isBase64Encoded": False,
    }


def disconnect_event(
    connection: Connection, now: float, domain: str, request_id: str
) -> dict[str, Any]:
    """The ``$disconnect`` route's event."""
    return {
        "requestContext": _context(
            connection,
            "$disconnect",
            "DISCONNECT",
            now,
            disconnectStatusCode=connection.close_code,
            disconnectReason=connection.close_reason,
            domainName=domain,
            requestId=request_id,
        ),
        "isBase64Encoded": False,
    }


def gateway_error(text: str, connection_id: str, request_id: str) -> str:
    """What API Gateway sends the client itself (an unmatched route, a failed function)."""
    return json.dumps({"message": text, "connectionId": connection_id, "requestId": request_id})


def route_response(payload: bytes) -> str:
    """What a two-way route sends back: the answer's ``body``, else the answer itself."""
    try:
        answer = json.loads(payload or b"null")
    except ValueError:
        return payload.decode("utf-8", errors="replace")
    if isinstance(answer, dict) and "body" in answer:
        body = answer["body"]
        return body if isinstance(body, str) else json.dumps(body)
    return answer if isinstance(answer, str) else json.dumps(answer)


def accepted(payload: bytes | None, failed: bool) -> tuple[bool, int]:
    """Whether a ``$connect`` answer accepts the handshake, and the HTTP status."""
    if payload is None or failed:
        return False, 500
    try:
        answer = json.loads(payload or b"null")
    except ValueError:
        return False, 500
    status = answer.get("statusCode", 200) if isinstance(answer, dict) else 200
    try:
        code = int(status)
    except (TypeError, ValueError):
        return False, 500
    return 200 <= code < 300, code


__all__ = [
    "GOING_AWAY",
    "MESSAGE_TOO_BIG",
    "NORMAL_CLOSURE",
    "Connection",
    "accepted",
    "connect_event",
    "disconnect_event",
    "gateway_error",
    "message_event",
    "route_response",
    "select_route",
]
