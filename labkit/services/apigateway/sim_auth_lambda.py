"""Lambda authorizers (``CUSTOM``, ``TOKEN`` and ``REQUEST``) of a REST API, as API Gateway
runs them (plain Python; the patch supplies the function call).

Sources: https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html,
api-gateway-lambda-authorizer-input.html, api-gateway-lambda-authorizer-output.html, and the
troubleshooting pages https://repost.aws/knowledge-center/api-gateway-401-error-lambda-authorizer,
https://repost.aws/knowledge-center/api-gateway-403-error-lambda-authorizer and
https://repost.aws/knowledge-center/api-gateway-lambda-authorization-errors. For each request:

1. **Resource policy, phase one**: an explicit deny of the API's resource policy refuses the
   caller (403) before the function is called.
2. **Identity sources**: a ``TOKEN`` authorizer reads its one header; missing or empty → 401
   ``{"message":"Unauthorized"}`` without calling the function, and so does a token that does
   not match the ``identityValidationExpression``. A ``REQUEST`` authorizer with caching on
   needs every identity source (header, query string, stage variable, context variable); one
   missing → 401 without a call. With caching off (TTL 0) it is always called.
3. **Result cache**: with ``authorizerResultTtlInSeconds`` > 0 (default 300 s, at most 3600 s),
   the function's answer is kept for the TTL on the lab clock, keyed by the identity-source
   values (not by the method): a cached *policy* is evaluated again for each request's method
   ARN, so a policy naming only the first method refuses the next one (the documented caching
   pitfall).
4. **The function's answer**: a function API Gateway may not invoke (no statement of its policy
   lets ``apigateway.amazonaws.com`` invoke it for the authorizer, and no ``authorizerCredentials``
   role) → 500; an error whose message is ``Unauthorized`` → 401; any other error,
   or an answer without ``principalId`` and a ``policyDocument``, or a ``context`` value that is
   an object or array → 500 ``{"message": null}`` (``AuthorizerConfigurationException``).
5. **The policy**: the policy engine decides ``execute-api:Invoke`` on the method ARN: an
   explicit deny → 403 ``User is not authorized to access this resource with an explicit deny``;
   otherwise Table A with the resource policy (either allows → in; neither → 403 ``User is not
   authorized to access this resource``).

The integration gets ``requestContext.authorizer``: ``principalId``, the ``context`` map (values
as strings) and ``integrationLatency`` (the authorizer's time in ms).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labkit import facts
from labkit import policy as engine
from labkit.policy.document import Policy
from labkit.services.apigateway.sim_auth import (
    EXPLICIT_DENY,
    INVOKE,
    NOT_AUTHORIZED,
    AuthVerdict,
    anonymous_request,
    combine_table_a,
    denied_message,
    verdict_of,
)

DECIDER = "CUSTOM"
_FUNCTION_URI = re.compile(
    r"arn:aws[a-z-]*:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<fn>.+)/invocations$"
)


class AuthorizerOutputError(ValueError):
    """An authorizer answer API Gateway cannot read (it answers 500)."""


@dataclass(frozen=True)
class LambdaAuthorizer:
    """A Lambda authorizer as ``GetAuthorizer`` shows it.

    Attributes:
        id: The authorizer's id.
        name: Its name.
        type: ``TOKEN`` or ``REQUEST``.
        uri: ``arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations``.
        identity_sources: Mapping expressions (``method.request.header.Authorization``,
            ``method.request.querystring.q``, ``stageVariables.v``, ``context.x``).
        identity_validation_expression: For ``TOKEN``: a regular expression the token must
            match.
        ttl: Seconds a result is cached (0: not cached).
    """

    id: str
    name: str
    type: str
    uri: str
    identity_sources: tuple[str, ...] = ()
    identity_validation_expression: str | None = None
    ttl: int = 300

    @classmethod
    def from_api(cls, authorizer: Mapping[str, Any]) -> LambdaAuthorizer:
        """From ``GetAuthorizer``'s shape; an absent TTL is AWS's default (300 s)."""
        ttl = authorizer.get("authorizerResultTtlInSeconds")
        kind = str(authorizer.get("type") or "TOKEN").upper()
        sources = str(authorizer.get("identitySource") or "")
        if not sources and kind == "TOKEN":
            sources = "method.request.header.Authorization"
        return cls(
            str(authorizer.get("id", "")),
            str(authorizer.get("name", "")),
            kind,
            str(authorizer.get("authorizerUri") or ""),
            tuple(s.strip() for s in sources.split(",") if s.strip()),
            authorizer.get("identityValidationExpression") or None,
            int(facts.value("api_gateway.authorizer_ttl_default")) if ttl is None else int(ttl),
        )

    @property
    def function_arn(self) -> str | None:
        """The function the URI names, or ``None`` when it names none."""
        m = _FUNCTION_URI.match(self.uri)
        return m["fn"] if m else None


@dataclass(frozen=True)
class AuthorizerRequest:
    """What a Lambda authorizer sees of a request.

    Attributes:
        method_arn: ``arn:aws:execute-api:...:{api}/{stage}/{VERB}/{path}``.
        http_method: The verb.
        resource: The resource path (``/orders/{id}``).
        path: The path called (``/orders/42``).
        headers: Request headers.
        query: Query-string pairs in order.
        path_parameters: Path parameters.
        stage_variables: The stage's variables.
        request_context: ``requestContext`` (``accountId``, ``apiId``, ``stage``, ``requestId``,
            ``identity.sourceIp``, ...); also what ``context.x`` identity sources read.
    """

    method_arn: str
    http_method: str
    resource: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Sequence[tuple[str, str]] = ()
    path_parameters: Mapping[str, str] = field(default_factory=dict)
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    request_context: Mapping[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """A header by name, whatever its case."""
        wanted = name.lower()
        found = None
        for key, value in self.headers.items():
            if key.lower() == wanted:
                found = value
        return found

    def query_value(self, name: str) -> str | None:
        """The last value of a query-string parameter."""
        found = None
        for key, value in self.query:
            if key == name:
                found = value
        return found


@dataclass(frozen=True)
class Invocation:
    """The authorizer function's answer.

    Attributes:
        payload: What the function returned (JSON bytes), or its error document.
        error: Whether the function failed (raised, timed out).
        latency_ms: How long it ran.
        refused: Why API Gateway could not call it at all (no such function, no permission to
            invoke it), or ``""``.
    """

    payload: bytes
    error: bool = False
    latency_ms: float = 0.0
    refused: str = ""


@dataclass(frozen=True)
class AuthorizerOutput:
    """An answer read from the function: ``principalId``, the policy, ``context`` and
    ``usageIdentifierKey``."""

    principal_id: str
    policy: Policy
    context: Mapping[str, str]
    usage_key: str | None = None
    latency_ms: float = 0.0


@dataclass
class ResultCache:
    """Authorizer answers by (authorizer, stage, identity-source values), each until its expiry
    on the lab clock. Kept on the API (the patch stores it on moto's object), so ``lab.reset()``
    forgets it."""

    entries: dict[tuple[str, ...], tuple[float, AuthorizerOutput]] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0

    def get(self, key: tuple[str, ...], now: float) -> AuthorizerOutput | None:
        """The cached answer for ``key``, if still fresh at ``now``."""
        found = self.entries.get(key)
        if found is None or now >= found[0]:
            self.entries.pop(key, None)
            return None
        return found[1]

    def put(self, key: tuple[str, ...], output: AuthorizerOutput, expires: float) -> None:
        """Keep ``output`` for ``key`` until ``expires``."""
        self.entries[key] = (expires, output)


def identity_value(source: str, request: AuthorizerRequest) -> str | None:
    """The value of one identity-source expression for ``request`` (``None`` when absent)."""
    for prefix, read in (
        ("method.request.header.", request.header),
        ("method.request.querystring.", request.query_value),
        ("method.request.path.", request.path_parameters.get),
        ("stageVariables.", request.stage_variables.get),
    ):
        if source.startswith(prefix):
            value = read(source[len(prefix) :])
            return None if value is None else str(value)
    if source.startswith("context."):
        current: Any = request.request_context
        for part in source[len("context.") :].split("."):
            current = current.get(part) if isinstance(current, Mapping) else None
        return None if current is None else str(current)
    return None


def event_for(authorizer: LambdaAuthorizer, request: AuthorizerRequest) -> dict[str, Any]:
    """The authorizer function's input event (``TOKEN`` or ``REQUEST`` shape)."""
    if authorizer.type == "TOKEN":
        source = authorizer.identity_sources[0] if authorizer.identity_sources else ""
        return {
            "type": "TOKEN",
            "authorizationToken": identity_value(source, request) or "",
            "methodArn": request.method_arn,
        }
    multi_query: dict[str, list[str]] = {}
    for key, value in request.query:
        multi_query.setdefault(key, []).append(value)
    headers = dict(request.headers)
    return {
        "type": "REQUEST",
        "methodArn": request.method_arn,
        "resource": request.resource,
        "path": request.path,
        "httpMethod": request.http_method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()},
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(request.path_parameters),
        "stageVariables": dict(request.stage_variables),
        "requestContext": dict(request.request_context),
    }


def read_output(payload: bytes, name: str) -> AuthorizerOutput:
    """The function's answer, as API Gateway reads it.

    Raises:
        AuthorizerOutputError: Not an object with ``principalId`` and a ``policyDocument``, or a
            ``context`` value that is an object, array or null.
    """
    try:
        answer = json.loads(payload or b"null")
    except ValueError as exc:
        raise AuthorizerOutputError(f"the function's answer is not JSON ({exc})") from exc
    if not isinstance(answer, dict):
        raise AuthorizerOutputError(
            f"the function answered {type(answer).__name__}, not an object with principalId "
            "and policyDocument"
        )
    principal = answer.get("principalId")
    if principal is None or isinstance(principal, (dict, list)):
        raise AuthorizerOutputError("the function's answer has no principalId")
    document = answer.get("policyDocument")
    if not isinstance(document, (dict, str)):
        raise AuthorizerOutputError("the function's answer has no policyDocument")
    policy = engine.load_policy(document, name=f"the policy {name} returned", kind="identity")
    if policy.error:
        raise AuthorizerOutputError(f"its policyDocument is malformed: {policy.error}")
    raw_context = answer.get("context") or {}
    if not isinstance(raw_context, dict):
        raise AuthorizerOutputError("its context is not an object")
    context: dict[str, str] = {}
    for key, value in raw_context.items():
        if value is None or isinstance(value, (dict, list)):
            raise AuthorizerOutputError(
                f"its context key {key!r} holds {type(value).__name__}: context values must be "
                "strings, numbers or booleans"
            )
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        context[str(key)] = text
    usage = answer.get("usageIdentifierKey")
    return AuthorizerOutput(str(principal), policy, context, None if usage is None else str(usage))


def decide(
    authorizer: LambdaAuthorizer,
    request: AuthorizerRequest,
    *,
    invoke: Callable[[dict[str, Any]], Invocation],
    cache: ResultCache,
    now: float,
    resource_policy: Policy | None = None,
    context_keys: Mapping[str, Any] | None = None,
    owner: str = "",
) -> AuthVerdict:
    """Whether ``request`` gets in through ``authorizer``, and why.

    Args:
        authorizer: The method's authorizer.
        request: What the authorizer sees.
        invoke: Calls the function with an event; the patch supplies it.
        cache: The API's authorizer result cache.
        now: The lab clock (epoch seconds).
        resource_policy: The API's resource policy, if any.
        context_keys: Condition keys of the request (``aws:SourceIp``, ...).
        owner: The account that owns the API.
    """
    name = f"Lambda authorizer {authorizer.name or authorizer.id} ({authorizer.type})"
    anonymous = anonymous_request(request.method_arn, context_keys or {}, owner)
    resource_verdict, resource_why = verdict_of(resource_policy, anonymous)
    if resource_verdict == "deny":
        return AuthVerdict.forbidden(
            DECIDER,
            f"{resource_why} before {name} was called",
            denied_message("anonymous", request.method_arn, explicit=True),
        )
    values = [(s, identity_value(s, request)) for s in authorizer.identity_sources]
    missing = [s for s, v in values if not v]
    caching = authorizer.ttl > 0
    if authorizer.type == "TOKEN" and (missing or not values):
        where = authorizer.identity_sources[0] if authorizer.identity_sources else "its header"
        return AuthVerdict.unauthorized(DECIDER, f"{name}: no token in {where}; not called")
    if authorizer.type == "REQUEST" and caching and missing:
        return AuthVerdict.unauthorized(
            DECIDER,
            f"{name}: identity source {', '.join(missing)} missing or empty (with caching on, "
            "every identity source is required); not called",
        )
    pattern = authorizer.identity_validation_expression
    if authorizer.type == "TOKEN" and pattern:
        token = values[0][1] or ""
        if not _matches(pattern, token):
            return AuthVerdict.unauthorized(
                DECIDER,
                f"{name}: the token does not match identityValidationExpression {pattern!r}; "
                "not called",
            )
    stage = str(request.request_context.get("stage", ""))
    key = (authorizer.id, stage, *(v or "" for _, v in values))
    output = cache.get(key, now) if caching else None
    cached = output is not None
    if output is None:
        cache.misses += caching
        found = _call(authorizer, request, invoke, name)
        if isinstance(found, AuthVerdict):
            return found
        output = found
        if caching:
            cache.put(key, output, now + authorizer.ttl)
    else:
        cache.hits += 1
    source = f"{name} (cached answer)" if cached else name
    return _verdict(output, source, request.method_arn, resource_verdict, resource_why, cached)


def _call(
    authorizer: LambdaAuthorizer,
    request: AuthorizerRequest,
    invoke: Callable[[dict[str, Any]], Invocation],
    name: str,
) -> AuthorizerOutput | AuthVerdict:
    result = invoke(event_for(authorizer, request))
    if result.refused:
        return AuthVerdict.configuration_error(
            DECIDER, f"{name} could not be called: {result.refused}"
        )
    if result.error:
        message = _error_message(result.payload)
        if message == "Unauthorized":
            return AuthVerdict.unauthorized(DECIDER, f"{name} answered Unauthorized")
        return AuthVerdict.configuration_error(
            DECIDER, f"{name} failed ({message or 'an error'}), so API Gateway answers 500"
        )
    try:
        output = read_output(result.payload, name)
    except AuthorizerOutputError as exc:
        return AuthVerdict.configuration_error(DECIDER, f"{name}: {exc}")
    return AuthorizerOutput(
        output.principal_id, output.policy, output.context, output.usage_key, result.latency_ms
    )


def _verdict(
    output: AuthorizerOutput,
    source: str,
    arn: str,
    resource_verdict: str,
    resource_why: str,
    cached: bool,
) -> AuthVerdict:
    request = engine.Request(engine.Principal.anonymous(), INVOKE, arn)
    verdict, why = verdict_of(output.policy, request)
    context: dict[str, Any] = {
        "principalId": output.principal_id,
        **output.context,
        "integrationLatency": 0 if cached else round(output.latency_ms),
    }
    fields: dict[str, Any] = {
        "principal_id": output.principal_id,
        "context": context,
        "usage_key": output.usage_key,
        "cached": cached,
    }
    said = f"{source} returned principal {output.principal_id!r}: {why}"
    if verdict == "deny":
        return AuthVerdict.forbidden(DECIDER, said, EXPLICIT_DENY, **fields)
    outcome = combine_table_a(verdict, resource_verdict)  # type: ignore[arg-type]
    if outcome == "allow":
        extra = "" if verdict == "allow" else f"; {resource_why}"
        return AuthVerdict.allow(DECIDER, said + extra, **fields)
    return AuthVerdict.forbidden(DECIDER, f"{said}, and {resource_why}", NOT_AUTHORIZED, **fields)


def _error_message(payload: bytes) -> str:
    try:
        document = json.loads(payload or b"null")
    except ValueError:
        return ""
    if isinstance(document, dict):
        return str(document.get("errorMessage") or "")
    return ""


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False


__all__ = [
    "DECIDER",
    "AuthorizerOutput",
    "AuthorizerOutputError",
    "AuthorizerRequest",
    "Invocation",
    "LambdaAuthorizer",
    "ResultCache",
    "decide",
    "event_for",
    "identity_value",
    "read_output",
]
