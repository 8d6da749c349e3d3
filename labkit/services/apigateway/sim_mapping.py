"""Non-proxy integrations' data mapping: request templates and parameters on the way in,
integration responses on the way out, as API Gateway applies them.

In (``PutIntegration``):

- the request template is chosen by the request's ``Content-Type`` (``application/json`` when
  none is sent); with none for it, ``passthroughBehavior`` decides: ``WHEN_NO_MATCH`` passes the
  body through, ``WHEN_NO_TEMPLATES`` passes it only when the integration has no template at all,
  ``NEVER`` refuses; a refusal is 415 ``{"message":"Unsupported Media Type"}``;
- ``requestParameters`` map ``integration.request.{header,querystring,path}.x`` from
  ``method.request.{header,querystring,path}.y``, ``stageVariables.y``, ``context.y`` or a
  ``'literal'``;
- the URI's ``${stageVariables.x}`` and ``{x}`` (integration path parameters) are filled in.

Out (``PutIntegrationResponse``): the integration response whose ``selectionPattern`` (a regular
expression) matches the Lambda function's ``errorMessage`` (Lambda) or the backend's status code
(HTTP, AWS service, MOCK) is chosen, else the default one (no pattern); none at all → 500
``{"message":"Internal server error"}`` (AWS logs "No match for output mapping and no default
output mapping configured"). Its response template (by ``application/json``) maps the body; its
``responseParameters`` map headers.

https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/request-response-data-mappings.html

Plain Python: no moto, no Jupyter.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from labkit.services.apigateway.sim_model import IntegrationResponseSpec, IntegrationSpec
from labkit.services.apigateway.sim_request import ApiRequest, Response
from labkit.services.apigateway.sim_vtl import json_path, render

_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
_PATH_PARAM = re.compile(r"\{([A-Za-z0-9_.+-]+)\}")


@dataclass
class Outbound:
    """The integration request after mapping.

    Attributes:
        uri: The URI with stage variables and path parameters filled in.
        body: The mapped body.
        headers: Integration request headers.
        query: Integration query string parameters.
        path: Integration path parameters.
        refused: A response to answer instead (415), when no template applies.
    """

    uri: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    path: dict[str, str] = field(default_factory=dict)
    refused: Response | None = None


def method_params(request: ApiRequest) -> dict[str, dict[str, str]]:
    """``$input.params()``: the method request's path, query string and header values."""
    query: dict[str, str] = {}
    for k, v in request.query:
        query[k] = v
    return {
        "path": dict(request.path_params),
        "querystring": query,
        "header": dict(request.headers),
    }


def template_context(request: ApiRequest) -> dict[str, Any]:
    """``$context`` for a mapping template."""
    auth = request.auth
    identity: dict[str, Any] = {
        "sourceIp": request.source_ip,
        "userAgent": request.header("User-Agent"),
    }
    authorizer: dict[str, Any] = {}
    if auth is not None:
        identity.update(auth.identity)
        if auth.api_key_id is not None:
            identity["apiKeyId"] = auth.api_key_id
            identity["apiKey"] = request.header("x-api-key") or auth.usage_key
        authorizer = dict(auth.context)
        if auth.principal_id is not None:
            authorizer.setdefault("principalId", auth.principal_id)
    when = datetime.fromtimestamp(request.now, tz=timezone.utc)
    return {
        "accountId": request.account_id,
        "apiId": request.api_id,
        "authorizer": authorizer,
        "domainName": f"{request.api_id}.execute-api.{request.region}.amazonaws.com",
        "domainPrefix": request.api_id,
        "extendedRequestId": request.request_id[:8] + "=",
        "httpMethod": request.http_method,
        "identity": identity,
        "path": f"/{request.stage.name}{request.path}",
        "protocol": "HTTP/1.1",
        "requestId": request.request_id,
        "requestTime": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(request.now * 1000),
        "resourceId": request.resource.id if request.resource is not None else "",
        "resourcePath": request.resource.path if request.resource is not None else "",
        "stage": request.stage.name,
    }


def _body_text(body: str | bytes | None) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return body


def _source_value(request: ApiRequest, source: str) -> str | None:
    if len(source) >= 2 and source[0] == source[-1] == "'":
        return source[1:-1]
    if source == "method.request.body":
        return _body_text(request.body)
    if source.startswith("method.request.body."):
        # method.request.body.JSONPath_EXPRESSION: a field of a JSON body ("" when the body is
        # not JSON or has no such field, as $input.path gives).
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-parameter-mapping-sources.html
        try:
            document = json.loads(_body_text(request.body) or "null")
        except ValueError:
            return None
        found = json_path(document, "$." + source.removeprefix("method.request.body."))
        if found is None:
            return None
        return found if isinstance(found, str) else json.dumps(found)
    if source.startswith("method.request."):
        where, _, name = source.removeprefix("method.request.").partition(".")
        if where == "header":
            return request.header(name)
        if where == "querystring":
            return request.query_value(name)
        if where == "path":
            return request.path_params.get(name)
        return None
    if source.startswith("stageVariables."):
        return request.stage.variables.get(source.removeprefix("stageVariables."))
    if source.startswith("context."):
        value: Any = template_context(request)
        for part in source.removeprefix("context.").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return None if value is None else str(value)
    return None


def map_request(request: ApiRequest, integration: IntegrationSpec) -> Outbound:
    """The integration request for a non-proxy integration (template, parameters, URI)."""
    body = _body_text(request.body)
    content_type = (request.header("Content-Type") or "application/json").split(";")[0].strip()
    templates = integration.request_templates or {}
    template = templates.get(content_type)
    outbound = Outbound(uri=integration.uri, body=body)
    if content_type not in templates:
        behavior = integration.passthrough_behavior or "WHEN_NO_MATCH"
        if behavior == "NEVER" or (behavior == "WHEN_NO_TEMPLATES" and templates):
            outbound.refused = Response.message(415, "Unsupported Media Type")
            return outbound
    elif template:
        outbound.body = render(
            template,
            body=body,
            params=method_params(request),
            context=template_context(request),
            stage_variables=request.stage.variables,
        )
    for target, source in (integration.request_parameters or {}).items():
        value = _source_value(request, str(source))
        if value is None:
            continue
        where, _, name = target.removeprefix("integration.request.").partition(".")
        if where == "header":
            outbound.headers[name] = value
        elif where == "querystring":
            outbound.query[name] = value
        elif where == "path":
            outbound.path[name] = value
    outbound.uri = fill_uri(integration.uri, request, outbound.path)
    return outbound


def fill_uri(uri: str, request: ApiRequest, path: dict[str, str]) -> str:
    """``uri`` with ``${stageVariables.x}`` and ``{x}`` filled in (integration path parameters,
    else the method's of the same name)."""
    uri = _STAGE_VARIABLE.sub(lambda m: request.stage.variables.get(m.group(1), ""), uri)

    def param(match: re.Match[str]) -> str:
        name = match.group(1)
        plain = name.rstrip("+")
        return path.get(plain) or path.get(name) or request.path_params.get(plain, match.group(0))

    return _PATH_PARAM.sub(param, uri)


def select_response(
    responses: tuple[IntegrationResponseSpec, ...], subject: str
) -> IntegrationResponseSpec | None:
    """The integration response for ``subject`` (an error message or a status code)."""
    default = None
    for candidate in responses:
        pattern = candidate.selection_pattern
        if not pattern:
            default = default or candidate
            continue
        try:
            if re.fullmatch(pattern, subject, flags=re.DOTALL):
                return candidate
        except re.error:
            continue
    return default


def map_response(
    request: ApiRequest,
    integration: IntegrationSpec,
    subject: str,
    body: str,
    headers: dict[str, str],
) -> tuple[Response, str]:
    """The method response for a backend answer: chosen by ``subject``, its template and
    parameters applied. Returns it and a note for the trace."""
    chosen = select_response(integration.responses, subject)
    if chosen is None:
        return (
            Response.message(500, "Internal server error"),
            "no integration response matches and none is the default",
        )
    templates = chosen.response_templates or {}
    template = templates.get("application/json")
    if template is None and templates:
        template = next(iter(templates.values()))
    out = body
    if template:
        out = render(
            template,
            body=body,
            params=method_params(request),
            context=template_context(request),
            stage_variables=request.stage.variables,
        )
    response_headers = {"Content-Type": "application/json"}
    for target, source in (chosen.response_parameters or {}).items():
        name = target.removeprefix("method.response.header.")
        source = str(source)
        if len(source) >= 2 and source[0] == source[-1] == "'":
            response_headers[name] = source[1:-1]
        elif source.startswith("integration.response.header."):
            wanted = source.removeprefix("integration.response.header.").lower()
            for k, v in headers.items():
                if k.lower() == wanted:
                    response_headers[name] = v
        elif source.startswith("integration.response.body"):
            value = _body_value(body, source.removeprefix("integration.response.body"))
            if value is not None:
                response_headers[name] = value
    try:
        status = int(chosen.status_code)
    except ValueError:
        return Response.message(500, "Internal server error"), "a bad status code"
    note = f"integration response {chosen.status_code}" + (
        f" (pattern {chosen.selection_pattern!r})" if chosen.selection_pattern else " (default)"
    )
    return Response(status, response_headers, out), note


def _body_value(body: str, path: str) -> str | None:
    try:
        value: Any = json.loads(body)
    except ValueError:
        return None
    for part in [p for p in path.split(".") if p]:
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)
