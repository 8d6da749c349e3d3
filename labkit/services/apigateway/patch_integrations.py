"""The integrate step: calling what a REST API method integrates with.

- ``AWS_PROXY`` (Lambda proxy): the function is invoked with the proxy event (``resource``,
  ``path``, ``httpMethod``, ``headers``, ``multiValueHeaders``, ``queryStringParameters``,
  ``multiValueQueryStringParameters``, ``pathParameters``, ``stageVariables``,
  ``requestContext``, ``body``, ``isBase64Encoded``) and its result (``statusCode``,
  ``headers``, ``multiValueHeaders``, ``body``, ``isBase64Encoded``) becomes the HTTP response;
  a function error or a malformed result → 502 ``{"message": "Internal server error"}``;
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
- ``AWS`` with a Lambda URI (non-proxy): the mapped body is the event; the function's
  ``errorMessage`` selects the integration response (an unmatched error goes to the default
  response, often a 200: a classic surprise);
- ``AWS`` service integrations (``arn:aws:apigateway:{region}:{service}:action/{Action}`` or
  ``:path/{path}``): the mapped body is sent as the service's own API request (Kinesis
  ``PutRecord``, DynamoDB, SQS ``SendMessage``, SNS ``Publish``, ...), signed as the
  integration's ``credentials`` role, whose identity policies the policy engine checks first
  (query-protocol services such as SNS: :mod:`labkit.services.apigateway.patch_query`);
- ``HTTP`` (mapped) and ``HTTP_PROXY`` (passed through) to endpoints inside the sandbox;
- ``MOCK``: the request template's ``statusCode`` selects the integration response.

Request and response mapping are :mod:`labkit.services.apigateway.sim_mapping`'s.
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-integration-types.html
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from labkit.services.apigateway import patch_backends
from labkit.services.apigateway.patch_backends import lambda_function, timeout_ms
from labkit.services.apigateway.sim_mapping import fill_uri
from labkit.services.apigateway.sim_request import ApiRequest, IntegrationResult, Response
from labkit.services.apigateway.sim_vtl import TemplateError
from labkit.services.awslambda.patch import (
    TooManyRequestsException,
    run_invocation,
)

if TYPE_CHECKING:
    from moto.apigateway.models import RestAPI


def integrate(request: ApiRequest, api: RestAPI) -> IntegrationResult:
    """Call ``request``'s integration (the method was resolved and the caller authorized)."""
    assert request.method is not None and request.method.integration is not None
    integration = request.method.integration
    if integration.type == "AWS_PROXY":
        return lambda_proxy(request)
    if integration.type == "HTTP_PROXY":
        return patch_backends.http_proxy(request)
    if integration.type in ("AWS", "HTTP", "MOCK"):
        try:
            return patch_backends.non_proxy(request, integration)
        except TemplateError as bad:
            return IntegrationResult(
                Response.message(500, "Internal server error"), 0, f"mapping template: {bad}"
            )
    return _moto_integration(request, api)


def _moto_integration(request: ApiRequest, api: RestAPI) -> IntegrationResult:
    """moto's own handling of the integration types labkit does not simulate itself."""
    resource = api.resources.get(request.resource.id) if request.resource is not None else None
    if resource is None:
        return IntegrationResult(Response.message(500, "Internal server error"))

    class _Request:
        method = request.http_method
        url = request.url
        headers = request.headers
        body = request.body

    status, body = resource.get_response(_Request())  # type: ignore[arg-type]
    return IntegrationResult(Response(status, {}, body), detail="moto")


def proxy_event(request: ApiRequest) -> dict[str, Any]:
    """The Lambda proxy integration's input event (REST API, payload format 1.0)."""
    multi_query: dict[str, list[str]] = {}
    for k, v in request.query:
        multi_query.setdefault(k, []).append(v)
    headers = dict(request.headers)
    host = f"{request.api_id}.execute-api.{request.region}.amazonaws.com"
    headers.setdefault("Host", host)
    body, is_binary = _body_text(request.body)
    when = datetime.fromtimestamp(request.now, tz=timezone.utc)
    resource = request.resource
    assert resource is not None
    auth = request.auth
    identity: dict[str, Any] = {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": request.source_ip,
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": request.header("User-Agent"),
        "user": None,
    }
    context: dict[str, Any] = {
        "resourceId": resource.id,
        "resourcePath": resource.path,
        "httpMethod": request.http_method,
        "extendedRequestId": request.request_id[:8] + "=",
        "requestTime": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "path": f"/{request.stage.name}{request.path}",
        "accountId": request.account_id,
        "protocol": "HTTP/1.1",
        "stage": request.stage.name,
        "domainPrefix": request.api_id,
        "requestTimeEpoch": int(request.now * 1000),
        "requestId": request.request_id,
        "identity": identity,
        "domainName": host,
        "apiId": request.api_id,
    }
    if request.source_vpce:
        # A private API's request through an interface VPC endpoint names it.
        identity["vpceId"] = request.source_vpce
    if auth is not None:
        identity.update(auth.identity)
        if auth.api_key_id is not None:
            identity["apiKey"] = request.header("x-api-key") or auth.usage_key
            identity["apiKeyId"] = auth.api_key_id
        if auth.context or auth.principal_id:
            context["authorizer"] = dict(auth.context)
            if auth.principal_id is not None:
                context["authorizer"].setdefault("principalId", auth.principal_id)
    return {
        "resource": resource.path,
        "path": request.path,
        "httpMethod": request.http_method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": request.path_params or None,
        "stageVariables": dict(request.stage.variables) or None,
        "requestContext": context,
        "body": body if body not in (None, "") else None,
        "isBase64Encoded": is_binary,
    }


def _body_text(body: str | bytes | None) -> tuple[str | None, bool]:
    if isinstance(body, bytes):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            return base64.b64encode(body).decode("ascii"), True
    return body, False


def proxy_response(payload: bytes) -> Response:
    """The HTTP response for a Lambda proxy result; 502 when the result is malformed."""
    try:
        result = json.loads(payload or b"null")
    except ValueError:
        return Response.message(502, "Internal server error")
    if not isinstance(result, dict) or set(result) - {
        "statusCode",
        "headers",
        "multiValueHeaders",
        "body",
        "isBase64Encoded",
        "cookies",
    }:
        return Response.message(502, "Internal server error")
    try:
        status = int(result.get("statusCode", 200))
    except (TypeError, ValueError):
        return Response.message(502, "Internal server error")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        return Response.message(502, "Internal server error")
    headers: dict[str, str] = {}
    for k, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(k)] = ", ".join(str(v) for v in values)
    for k, v in (result.get("headers") or {}).items():
        headers[str(k)] = str(v)
    headers.setdefault("Content-Type", "application/json")
    data: str | bytes = body or ""
    if result.get("isBase64Encoded") and body:
        data = base64.b64decode(body)
    return Response(status, headers, data)


def lambda_proxy(request: ApiRequest) -> IntegrationResult:
    """``AWS_PROXY``: invoke the function with the proxy event, map its result."""
    assert request.method is not None and request.method.integration is not None
    # ${stageVariables.x} in the URI: a function (or alias) per stage.
    found = lambda_function(fill_uri(request.method.integration.uri, request, {}))
    if found is None:
        return IntegrationResult(Response.message(500, "Internal server error"), 0, "no function")
    lam, fn = found
    refused = patch_backends.invoke_refused(request, request.method.integration.credentials, fn)
    if refused is not None:
        return IntegrationResult(Response.message(500, "Internal server error"), 0, refused)
    event = proxy_event(request)
    detail = f"lambda:{fn.function_name}"
    try:
        result = run_invocation(lam, fn, event, source=f"apigateway:{request.api_id}")
    except TooManyRequestsException:
        return IntegrationResult(
            Response.message(500, "Internal server error"), 0, f"{detail} throttled"
        )
    latency = float(result.duration_ms)
    if result.duration_ms > timeout_ms(request.method.integration):
        return IntegrationResult(
            Response.message(504, "Endpoint request timed out"), latency, f"{detail} timed out"
        )
    if result.function_error:
        return IntegrationResult(
            Response.message(502, "Internal server error"), latency, f"{detail} failed"
        )
    return IntegrationResult(proxy_response(result.payload), latency, detail)
