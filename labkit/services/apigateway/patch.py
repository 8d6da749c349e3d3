"""API Gateway REST APIs that call Lambda: the Lambda proxy integration (``AWS_PROXY``).

Stock moto matches a stage URL only against resource paths written out literally (a request to
``/orders/42`` never reaches the resource ``/orders/{id}``) and raises ``NotImplementedError`` for
``AWS_PROXY``. labkit answers every request a learner sends with ``requests`` to
``https://{api_id}.execute-api.{region}.amazonaws.com/{stage}/...``:

- the resource is found as API Gateway finds it (literal parts, ``{param}`` and greedy
  ``{proxy+}``), the method by its verb or ``ANY``; none matches → 403
  ``{"message":"Missing Authentication Token"}``, as API Gateway answers;
- an ``AWS_PROXY`` integration invokes the function with the proxy event (``resource``, ``path``,
  ``httpMethod``, ``headers``, ``multiValueHeaders``, ``queryStringParameters``,
  ``multiValueQueryStringParameters``, ``pathParameters``, ``stageVariables``,
  ``requestContext``, ``body``, ``isBase64Encoded``) and maps its result
  (``statusCode``, ``headers``, ``multiValueHeaders``, ``body``, ``isBase64Encoded``) to the HTTP
  response; a function error or a malformed result → 502 ``{"message": "Internal server error"}``;
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
- other integration types go to moto's own handling.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

import responses
from moto.core.models import responses_mock
from moto.moto_api._internal import mock_random

from labkit import facts
from labkit.services.awslambda.patch import (
    TooManyRequestsException,
    lambda_backend,
    run_invocation,
)

if TYPE_CHECKING:
    # moto's API Gateway models cost about 2 s to import (its OpenAPI validator): they are
    # imported when a request for an API arrives, not when every lab starts.
    from moto.apigateway.models import APIGatewayBackend, Resource, RestAPI

    from labkit.sandbox.session import Sandbox

_EXECUTE_API = re.compile(
    r"https?://(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com"
    r"/(?P<stage>[^/?#]+)(?P<path>/[^?#]*)?"
)
_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
_LAMBDA_URI = re.compile(
    r"arn:aws[a-z-]*:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<fn>.+)/invocations"
)

Reply = tuple[int, dict[str, str], str | bytes]


def _message(status: int, message: str) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps({"message": message})


def match_resource(api: RestAPI, path: str) -> tuple[Resource, dict[str, str]] | None:
    """The resource that serves ``path``, and the path parameters, as API Gateway matches them
    (literal parts win over ``{param}``, which wins over a greedy ``{proxy+}``)."""
    want = [p for p in path.split("/") if p]
    best: tuple[tuple[int, ...], Resource, dict[str, str]] | None = None
    for resource in api.resources.values():
        parts = [p for p in resource.get_path().split("/") if p]
        params: dict[str, str] = {}
        score: list[int] = []
        ok = True
        for i, part in enumerate(parts):
            if part.startswith("{") and part.endswith("+}"):
                rest = want[i:]
                if not rest:
                    ok = False
                    break
                params[part[1:-2]] = unquote("/".join(rest))
                score.append(0)
                break
            if i >= len(want):
                ok = False
                break
            if part.startswith("{") and part.endswith("}"):
                params[part[1:-1]] = unquote(want[i])
                score.append(1)
            elif part == want[i]:
                score.append(2)
            else:
                ok = False
                break
        else:
            ok = ok and len(parts) == len(want)
        if ok and (best is None or tuple(score) > best[0]):
            best = (tuple(score), resource, params)
    return (best[1], best[2]) if best else None


def _find_api(api_id: str, region: str) -> tuple[APIGatewayBackend, RestAPI] | None:
    from moto.apigateway.models import apigateway_backends

    for account in list(apigateway_backends.keys()):
        backend = apigateway_backends[account][region]
        api = backend.apis.get(api_id)
        if api is not None:
            return backend, api
    return None


def proxy_event(
    request: Any, api: RestAPI, resource: Resource, stage: str, params: dict[str, str]
) -> dict[str, Any]:
    """The Lambda proxy integration's input event (REST API, payload format 1.0)."""
    url = urlsplit(request.url)
    path = "/" + "/".join(p for p in (url.path.split("/")[2:]) if p) if url.path else "/"
    pairs = parse_qsl(url.query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for k, v in pairs:
        multi_query.setdefault(k, []).append(v)
    headers = {str(k): str(v) for k, v in dict(request.headers or {}).items()}
    host = f"{api.id}.execute-api.{api.region_name}.amazonaws.com"
    headers.setdefault("Host", host)
    body = request.body
    is_binary = False
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            body = base64.b64encode(body).decode("ascii")
            is_binary = True
    now = time.time()
    when = datetime.fromtimestamp(now, tz=timezone.utc)
    return {
        "resource": resource.get_path(),
        "path": path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": resource.id,
            "resourcePath": resource.get_path(),
            "httpMethod": request.method,
            "extendedRequestId": mock_random.get_random_hex(16),
            "requestTime": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{path}",
            "accountId": api.account_id,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": api.id,
            "requestTimeEpoch": int(now * 1000),
            "requestId": str(mock_random.uuid4()),
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": "127.0.0.1",
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": headers.get("User-Agent"),
                "user": None,
            },
            "domainName": host,
            "apiId": api.id,
        },
        "body": body if body not in (None, "") else None,
        "isBase64Encoded": is_binary,
    }


def proxy_response(payload: bytes) -> Reply:
    """The HTTP response for a Lambda proxy result; 502 when the result is malformed."""
    try:
        result = json.loads(payload or b"null")
    except ValueError:
        return _message(502, "Internal server error")
    if not isinstance(result, dict) or set(result) - {
        "statusCode",
        "headers",
        "multiValueHeaders",
        "body",
        "isBase64Encoded",
        "cookies",
    }:
        return _message(502, "Internal server error")
    try:
        status = int(result.get("statusCode", 200))
    except (TypeError, ValueError):
        return _message(502, "Internal server error")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        return _message(502, "Internal server error")
    headers: dict[str, str] = {}
    for k, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(k)] = ", ".join(str(v) for v in values)
    for k, v in (result.get("headers") or {}).items():
        headers[str(k)] = str(v)
    headers.setdefault("Content-Type", "application/json")
    data: str | bytes = body or ""
    if result.get("isBase64Encoded") and body:
        data = base64.b64decode(body)
    return status, headers, data


def handle(request: Any) -> Reply:
    """Answer one request to an ``execute-api`` URL."""
    m = _EXECUTE_API.match(str(request.url))
    if m is None:
        return _message(403, "Forbidden")
    found = _find_api(m["api"], m["region"])
    if found is None:
        return _message(403, "Forbidden")
    _, api = found
    stage = m["stage"]
    if stage not in api.stages:
        return _message(403, "Forbidden")
    matched = match_resource(api, m["path"] or "/")
    if matched is None:
        return _message(403, "Missing Authentication Token")
    resource, params = matched
    method = resource.resource_methods.get(request.method) or resource.resource_methods.get("ANY")
    integration = getattr(method, "method_integration", None) if method is not None else None
    if method is None or integration is None:
        return _message(403, "Missing Authentication Token")
    if integration.integration_type != "AWS_PROXY":
        status, body = resource.get_response(request)
        return status, {}, body
    fn_arn = _LAMBDA_URI.match(integration.uri or "")
    if fn_arn is None:
        return _message(500, "Internal server error")
    arn = fn_arn["fn"]
    lam = lambda_backend(arn.split(":")[4], arn.split(":")[3])
    try:
        fn = lam.get_function(arn)
    except Exception:
        return _message(500, "Internal server error")
    event = proxy_event(request, api, resource, stage, params)
    try:
        result = run_invocation(lam, fn, event, source=f"apigateway:{api.id}")
    except TooManyRequestsException:
        return _message(500, "Internal server error")
    timeout_ms = float(
        integration.timeout_in_millis or facts.value("api_gateway.integration_timeout_max") * 1000
    )
    if result.duration_ms > timeout_ms:
        return _message(504, "Endpoint request timed out")
    if result.function_error:
        return _message(502, "Internal server error")
    return proxy_response(result.payload)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Answer ``execute-api`` requests for ``sandbox`` (all stages, all methods)."""
    pattern = re.compile(r"https?://[a-z0-9]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com/.*")
    callbacks = [
        responses.CallbackResponse(method=method, url=pattern, callback=handle)
        for method in _METHODS
    ]
    for callback in callbacks:
        responses_mock.add(callback)

    def undo() -> None:
        for callback in callbacks:
            with contextlib.suppress(Exception):
                responses_mock.remove(callback)

    stack.callback(undo)
