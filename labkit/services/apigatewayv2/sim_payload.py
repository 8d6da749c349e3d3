"""The Lambda proxy payloads of HTTP APIs: the event sent (format 2.0 or 1.0) and how the
function's answer becomes the HTTP response.

https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html

- **2.0**: ``version``, ``routeKey``, ``rawPath``, ``rawQueryString``, ``cookies``, ``headers``
  (names in lower case; repeated headers joined with commas), ``queryStringParameters``
  (repeated values joined with commas), ``requestContext`` (``http.method``, ``http.path``,
  ``http.sourceIp``, ``authorizer.jwt``, ``time``, ``timeEpoch``, ...), ``body``,
  ``pathParameters``, ``isBase64Encoded``, ``stageVariables``; absent fields are left out. The
  answer: a JSON object with ``statusCode`` is read as the response (``headers``, ``cookies``
  each becoming a ``set-cookie``, ``body``, ``isBase64Encoded``); anything else valid JSON is the
  body of a ``200`` with ``content-type: application/json``.
- **1.0**: REST's proxy event (``multiValueHeaders``, ``multiValueQueryStringParameters``) with
  ``version`` ``1.0`` and the route key in ``requestContext``; the answer must have REST's
  shape.

A function error, or an answer API Gateway cannot read → ``500 {"message":"Internal Server
Error"}``.

Plain Python: no moto, no Jupyter.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from labkit.services.apigateway.sim_request import Response
from labkit.services.apigatewayv2.sim_http import HttpRequest, message


def _body(body: str | bytes | None) -> tuple[str | None, bool]:
    if body is None or body == b"" or body == "":
        return None, False
    if isinstance(body, bytes):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            return base64.b64encode(body).decode("ascii"), True
    return body, False


def _time(now: float) -> str:
    return datetime.fromtimestamp(now, tz=timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _domain(request: HttpRequest) -> str:
    return f"{request.api.api_id}.execute-api.{request.api.region}.amazonaws.com"


def event_v2(request: HttpRequest) -> dict[str, Any]:
    """The payload format 2.0 event for ``request``."""
    assert request.route is not None
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for k, v in request.headers.items():
        name = k.lower()
        if name == "cookie":
            cookies.extend(c.strip() for c in v.split(";") if c.strip())
            continue
        headers[name] = f"{headers[name]},{v}" if name in headers else v
    headers.setdefault("host", _domain(request))
    query: dict[str, str] = {}
    for k, v in request.query:
        query[k] = f"{query[k]},{v}" if k in query else v
    body, is_binary = _body(request.body)
    context: dict[str, Any] = {
        "accountId": request.api.account_id,
        "apiId": request.api.api_id,
        "domainName": _domain(request),
        "domainPrefix": request.api.api_id,
        "http": {
            "method": request.http_method,
            "path": request.raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": request.header("User-Agent") or "",
        },
        "requestId": request.request_id,
        "routeKey": request.route.key,
        "stage": request.stage.name,
        "time": _time(request.now),
        "timeEpoch": int(request.now * 1000),
    }
    if request.auth is not None and request.auth.context:
        context["authorizer"] = dict(request.auth.context)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": request.route.key,
        "rawPath": request.raw_path,
        "rawQueryString": urlencode(request.query),
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = context
    if body is not None:
        event["body"] = body
    if request.path_params:
        event["pathParameters"] = dict(request.path_params)
    event["isBase64Encoded"] = is_binary
    if request.stage.variables:
        event["stageVariables"] = dict(request.stage.variables)
    return event


def event_v1(request: HttpRequest) -> dict[str, Any]:
    """The payload format 1.0 event for ``request`` (REST's shape, as HTTP APIs send it)."""
    assert request.route is not None
    multi_query: dict[str, list[str]] = {}
    for k, v in request.query:
        multi_query.setdefault(k, []).append(v)
    multi_headers: dict[str, list[str]] = {}
    for k, v in request.headers.items():
        multi_headers.setdefault(k, []).append(v)
    body, is_binary = _body(request.body)
    identity: dict[str, Any] = {
        "accessKey": None,
        "accountId": None,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "sourceIp": request.source_ip,
        "user": None,
        "userAgent": request.header("User-Agent"),
        "userArn": None,
    }
    context: dict[str, Any] = {
        "accountId": request.api.account_id,
        "apiId": request.api.api_id,
        "domainName": _domain(request),
        "domainPrefix": request.api.api_id,
        "extendedRequestId": request.request_id[:16],
        "httpMethod": request.http_method,
        "identity": identity,
        "path": request.raw_path,
        "protocol": "HTTP/1.1",
        "requestId": request.request_id,
        "requestTime": _time(request.now),
        "requestTimeEpoch": int(request.now * 1000),
        "resourceId": request.route.key,
        "resourcePath": request.route.path or "/",
        "stage": request.stage.name,
        "routeKey": request.route.key,
    }
    if request.auth is not None and request.auth.context:
        context["authorizer"] = dict(request.auth.context)
    return {
        "version": "1.0",
        "resource": request.route.path or "/",
        "path": request.raw_path,
        "httpMethod": request.http_method,
        "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "requestContext": context,
        "pathParameters": dict(request.path_params) or None,
        "stageVariables": dict(request.stage.variables) or None,
        "body": body,
        "isBase64Encoded": is_binary,
    }


def response_v2(payload: bytes) -> Response:
    """The HTTP response for a format 2.0 answer."""
    try:
        result = json.loads(payload or b"null")
    except ValueError:
        return message(500, "Internal Server Error")
    if not isinstance(result, dict) or "statusCode" not in result:
        # Anything else is the body of a 200, as JSON.
        text = result if isinstance(result, str) else json.dumps(result)
        return Response(200, {"content-type": "application/json"}, text)
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        return message(500, "Internal Server Error")
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    data: str | bytes = body or ""
    if result.get("isBase64Encoded") and body:
        try:
            data = base64.b64decode(body)
        except ValueError:
            return message(500, "Internal Server Error")
    cookies = [str(c) for c in result.get("cookies") or ()]
    if cookies:
        # requests joins repeated headers; one header per cookie is what goes on the wire.
        headers["set-cookie"] = ", ".join(cookies)
    if not any(k.lower() == "content-type" for k in headers):
        headers["content-type"] = "application/json"
    return Response(status, headers, data)


__all__ = ["event_v1", "event_v2", "response_v2"]
