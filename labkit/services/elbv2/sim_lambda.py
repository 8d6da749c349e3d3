"""The event an Application Load Balancer sends a Lambda target, and how it reads the answer.

From https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html:

- the event holds ``requestContext.elb.targetGroupArn``, ``httpMethod``, ``path``, the query
  string (as sent: the load balancer does not decode it), the headers (names in lower case), the
  ``body`` and ``isBase64Encoded``; a body is base64-encoded unless its content type is text;
- with the target group attribute ``lambda.multi_value_headers.enabled`` the event carries
  ``multiValueHeaders`` and ``multiValueQueryStringParameters`` instead (every value of a repeated
  header or parameter), and the function's answer is read from ``multiValueHeaders``; without it,
  a repeated header or parameter passes only its last value and ``headers`` is read;
- the function answers ``statusCode`` (required), ``statusDescription``, ``headers`` or
  ``multiValueHeaders``, ``body`` and ``isBase64Encoded``; an answer the load balancer cannot read
  (not an object, no status code, a body that is not a string) is a 502, as is a function error.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.services.elbv2.sim_rules import AlbRequest

#: Content types whose bodies the load balancer passes as text (others are base64-encoded).
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml")


@dataclass(frozen=True)
class AlbResponse:
    """What the load balancer sends the client.

    Attributes:
        status: The HTTP status.
        headers: Header names to their values (a repeated header has several).
        body: The body.
        reason: Why the load balancer answered this way (for traces and tests).
    """

    status: int
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""
    reason: str = ""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or ``None``."""
        for key, values in self.headers.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return None


def error_page(status: int, phrase: str, reason: str) -> AlbResponse:
    """The load balancer's own HTML error page (``Server: awselb/2.0``), as it answers a 4xx or
    5xx it generates itself."""
    title = f"{status} {phrase}"
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return AlbResponse(
        status,
        {"Server": ["awselb/2.0"], "Content-Type": ["text/html"]},
        body.encode(),
        reason,
    )


def _is_text(request: AlbRequest) -> bool:
    if request.header("content-encoding"):
        return False
    content_type = (request.header("content-type") or "text/plain").lower()
    return content_type.startswith(_TEXT_TYPES)


def lambda_event(
    request: AlbRequest, target_group_arn: str, *, multi_value: bool
) -> dict[str, Any]:
    """The event for a Lambda target of ``target_group_arn``."""
    event: dict[str, Any] = {
        "requestContext": {"elb": {"targetGroupArn": target_group_arn}},
        "httpMethod": request.method,
        "path": request.path,
    }
    if multi_value:
        params: dict[str, list[str]] = {}
        for key, value in request.query:
            params.setdefault(key, []).append(value)
        event["multiValueQueryStringParameters"] = params
        event["multiValueHeaders"] = {k: list(v) for k, v in request.headers.items()}
    else:
        event["queryStringParameters"] = dict(request.query)  # the last value wins
        event["headers"] = {k: v[-1] for k, v in request.headers.items() if v}
    if _is_text(request):
        event["body"] = request.body.decode("utf-8", "replace")
        event["isBase64Encoded"] = False
    else:
        event["body"] = base64.b64encode(request.body).decode("ascii")
        event["isBase64Encoded"] = True
    return event


def lambda_response(payload: bytes, *, multi_value: bool) -> AlbResponse:
    """The client's response from a Lambda target's answer (a 502 when it cannot be read)."""
    try:
        answer = json.loads(payload) if payload else None
    except ValueError:
        answer = None
    if not isinstance(answer, Mapping):
        return error_page(502, "Bad Gateway", "the function's answer is not a JSON object")
    status = answer.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return error_page(502, "Bad Gateway", "the function's answer has no valid statusCode")
    body = answer.get("body", "")
    if body is None:
        body = ""
    if not isinstance(body, str):
        return error_page(502, "Bad Gateway", "the function's body is not a string")
    data = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode("utf-8")
    headers: dict[str, list[str]] = {}
    if multi_value:
        for name, values in (answer.get("multiValueHeaders") or {}).items():
            headers[str(name)] = [
                str(v) for v in (values if isinstance(values, list) else [values])
            ]
    else:
        for name, value in (answer.get("headers") or {}).items():
            headers[str(name)] = [str(value)]
    return AlbResponse(int(status), headers, data, "forwarded to Lambda")


__all__ = ["AlbResponse", "error_page", "lambda_event", "lambda_response"]
