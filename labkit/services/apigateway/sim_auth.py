"""Who may call a REST API method: what every authorizer answers, and the resource policy.

API Gateway decides each request in two parts
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html):
the method's authorizer (``authorizationType``: ``NONE``, ``AWS_IAM``, ``COGNITO_USER_POOLS``,
``CUSTOM`` for a Lambda authorizer) and the API's resource policy, combined as the page's
flowcharts and outcome tables say:

- **resource policy only** (``NONE``): the policy must explicitly allow the caller (who is
  ``anonymous``: an unsigned request names nobody);
- **Lambda authorizer**: an explicit deny of the policy refuses the caller before the function is
  called; otherwise the authorizer's policy and the resource policy together follow Table A
  (either may allow; a deny in either wins; neither → implicit deny);
- **IAM**: the caller's identity policies and the resource policy, as IAM evaluates them (Table A
  in one account, Table B across accounts: both must allow);
- **Cognito**: once the token is accepted, the resource policy must explicitly allow.

Each authorizer here is a plain-Python decider (no moto) that returns an :class:`AuthVerdict`:
allowed or not, the HTTP status and body API Gateway answers with, and *why*, in words for the
trace. :mod:`~labkit.services.apigateway.sim_auth_cognito`,
:mod:`~labkit.services.apigateway.sim_auth_lambda` and
:mod:`~labkit.services.apigateway.sim_auth_iam` are the deciders; this module holds what they
share: the verdict, the method ARN and the resource-policy verdicts.

Response bodies are API Gateway's defaults for its gateway responses
(https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html:
``UNAUTHORIZED`` 401, ``ACCESS_DENIED`` 403, ``AUTHORIZER_CONFIGURATION_ERROR`` and
``AUTHORIZER_FAILURE`` 500, ``MISSING_AUTHENTICATION_TOKEN``, ``INVALID_SIGNATURE`` and
``EXPIRED_TOKEN`` 403), with the messages AWS's troubleshooting pages quote
(https://repost.aws/knowledge-center/api-gateway-403-error-lambda-authorizer).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from labkit import policy as engine
from labkit.policy.document import Policy

#: The action every execute-api decision is about.
INVOKE = "execute-api:Invoke"
#: How explanations name an API's resource policy.
POLICY_NAME = "the API's resource policy"

PolicyVerdict = Literal["allow", "deny", "neutral"]

# -- AWS's answers ----------------------------------------------------------------------------

#: ``{"message":"Unauthorized"}``: a missing, malformed or refused token (``UNAUTHORIZED``).
UNAUTHORIZED = "Unauthorized"
#: A Cognito token past its ``exp`` (what API Gateway answers, widely reported, e.g.
#: https://github.com/aws-amplify/amplify-js/issues/6060).
TOKEN_EXPIRED = "The incoming token has expired"
#: A Lambda authorizer's policy denies the method explicitly.
EXPLICIT_DENY = "User is not authorized to access this resource with an explicit deny"
#: A Lambda authorizer's policy does not allow the method (and no resource policy does).
NOT_AUTHORIZED = "User is not authorized to access this resource"
#: An ``AWS_IAM`` method called without a signature.
MISSING_TOKEN = "Missing Authentication Token"
#: A signature by an access key AWS does not know.
INVALID_TOKEN = "The security token included in the request is invalid."
#: A signature by temporary credentials past their expiry.
EXPIRED_TOKEN = "The security token included in the request is expired"
#: A signature that does not match the request.
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True)
class AuthVerdict:
    """What an authorizer (with the resource policy) decided about one request.

    Attributes:
        allowed: Whether the request goes on to the integration.
        status: The status API Gateway answers a refusal with (401, 403, 500).
        message: The body's ``message`` (``None`` is AWS's ``{"message": null}`` of an
            authorizer configuration error).
        message_key: The body's key: ``Message`` for refusals by a policy (a Lambda
            authorizer's, IAM's, the resource policy's), as AWS spells those
            (``{"Message":"User: anonymous is not authorized to perform: ..."}``, e.g.
            https://github.com/ASFHyP3/hyp3/issues/2283), else ``message``.
        error_type: The ``x-amzn-ErrorType`` header of a refusal.
        reason: Why, in words (the trace and the checks' hints show it).
        decider: ``NONE``, ``AWS_IAM``, ``COGNITO_USER_POOLS``, ``CUSTOM`` or ``RESOURCE_POLICY``.
        principal_id: The caller as the authorizer names them (a Lambda authorizer's
            ``principalId``, a Cognito ``sub``, an IAM ARN).
        context: ``requestContext.authorizer`` for the integration (``claims`` of a Cognito
            token; ``principalId`` and the ``context`` of a Lambda authorizer).
        identity: Fields for ``requestContext.identity`` (``userArn``, ``accessKey``,
            ``cognitoIdentityId``, ...).
        usage_key: A Lambda authorizer's ``usageIdentifierKey`` (API key source ``AUTHORIZER``).
        cached: Whether a Lambda authorizer's answer came from its result cache.
    """

    allowed: bool
    status: int = 200
    message: str | None = ""
    error_type: str = ""
    reason: str = ""
    decider: str = "NONE"
    principal_id: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    identity: Mapping[str, Any] = field(default_factory=dict)
    usage_key: str | None = None
    cached: bool = False
    message_key: str = "message"

    @classmethod
    def allow(cls, decider: str, reason: str, **fields: Any) -> AuthVerdict:
        """The request may go on."""
        return cls(True, 200, "", "", reason, decider, **fields)

    @classmethod
    def unauthorized(
        cls, decider: str, reason: str, message: str = UNAUTHORIZED, **fields: Any
    ) -> AuthVerdict:
        """401 ``{"message":"Unauthorized"}`` (or the expired-token message)."""
        return cls(False, 401, message, "UnauthorizedException", reason, decider, **fields)

    @classmethod
    def forbidden(
        cls,
        decider: str,
        reason: str,
        message: str,
        error_type: str = "AccessDeniedException",
        **fields: Any,
    ) -> AuthVerdict:
        """403 with ``message``; a refusal by a policy (``AccessDeniedException``) words its
        body ``{"Message": ...}``."""
        fields.setdefault(
            "message_key", "Message" if error_type == "AccessDeniedException" else "message"
        )
        return cls(False, 403, message, error_type, reason, decider, **fields)

    @classmethod
    def configuration_error(cls, decider: str, reason: str, **fields: Any) -> AuthVerdict:
        """500 ``{"message": null}``: the authorizer failed or answered something API Gateway
        cannot read (``AuthorizerConfigurationException``)."""
        return cls(False, 500, None, "AuthorizerConfigurationException", reason, decider, **fields)

    def because(self, reason: str) -> AuthVerdict:
        """The same verdict with ``reason`` appended (``; ...``)."""
        return replace(self, reason=f"{self.reason}; {reason}" if self.reason else reason)


# -- method ARNs ------------------------------------------------------------------------------


def method_arn(region: str, account: str, api_id: str, stage: str, verb: str, path: str) -> str:
    """``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{VERB}/{path}``: the resource an
    ``execute-api:Invoke`` decision is about (the path as called, without its leading slash)."""
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{verb}/{path.lstrip('/')}"


def masked_arn(arn: str) -> str:
    """The method ARN as API Gateway prints it in a refusal: the account id masked but for its
    last four digits (``arn:aws:execute-api:us-east-1:********9012:abc/dev/GET/``)."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and len(parts[4]) == 12:
        parts[4] = "*" * 8 + parts[4][-4:]
    return ":".join(parts)


def denied_message(caller: str, arn: str, *, explicit: bool, action: str = INVOKE) -> str:
    """``User: {caller} is not authorized to perform: execute-api:Invoke on resource: {arn}``
    (``with an explicit deny`` when a Deny decided), as API Gateway answers IAM and
    resource-policy refusals."""
    tail = " with an explicit deny" if explicit else ""
    return (
        f"User: {caller} is not authorized to perform: {action} on resource: "
        f"{masked_arn(arn)}{tail}"
    )


# -- policies ---------------------------------------------------------------------------------


def load_resource_policy(
    document: str | Mapping[str, Any] | None, api_arn_prefix: str = ""
) -> Policy | None:
    """The API's resource policy, named for explanations; ``None`` when the API has none.

    ``execute-api:/stage/VERB/path``, the console's and the docs' shorthand for "this API", is
    spelled out under ``api_arn_prefix`` (``arn:aws:execute-api:region:account:api-id``) as API
    Gateway expands it. A document that is not JSON stays for the engine to report as
    malformed (API Gateway refuses such policies at ``UpdateRestApi``).
    """
    if document is None or document in ("", {}):
        return None
    raw: Any = document
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return engine.load_policy(raw, name=POLICY_NAME, kind="resource")
    if isinstance(raw, Mapping) and api_arn_prefix:
        raw = _expand(raw, api_arn_prefix)
    return engine.load_policy(raw, name=POLICY_NAME, kind="resource")


def _expand(document: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    statements = document.get("Statement")
    items = [statements] if isinstance(statements, Mapping) else statements
    if not isinstance(items, list):
        return dict(document)
    out: list[Any] = []
    for statement in items:
        if isinstance(statement, Mapping):
            statement = dict(statement)
            for key in ("Resource", "NotResource"):
                value = statement.get(key)
                if isinstance(value, (str, list)):
                    values = [value] if isinstance(value, str) else value
                    statement[key] = [
                        prefix + v[len("execute-api:") :]
                        if isinstance(v, str) and v.startswith("execute-api:")
                        else v
                        for v in values
                    ]
        out.append(statement)
    return {**document, "Statement": out}


def verdict_of(policy: Policy | None, request: engine.Request) -> tuple[PolicyVerdict, str]:
    """What one policy alone says about ``request``: ``deny`` (a Deny applies), ``allow``, or
    ``neutral``; and the statement that decided, or the nearest miss, in words."""
    if policy is None:
        return "neutral", "there is no resource policy"
    context = request.context_keys()
    results = [engine.statement_result(s, policy, request, context) for s in policy.statements]
    for effect, verdict in (("Deny", "deny"), ("Allow", "allow")):
        hit = next((r for r in results if r.applies and r.effect == effect), None)
        if hit is not None:
            return verdict, f"{hit.ref.label} {'denies' if verdict == 'deny' else 'allows'} it"  # type: ignore[return-value]
    misses = [r for r in results if not r.applies and r.failed != "action"]
    if misses:
        return "neutral", f"no statement of {policy.name} applies ({misses[0].note})"
    return "neutral", f"no statement of {policy.name} is about {request.action}"


def anonymous_request(arn: str, context: Mapping[str, Any], owner: str) -> engine.Request:
    """An unsigned caller invoking ``arn`` (how a resource policy sees callers of ``NONE``,
    ``CUSTOM`` and ``COGNITO_USER_POOLS`` methods: they sign nothing, so they are nobody)."""
    return engine.Request(
        engine.Principal.anonymous(), INVOKE, arn, resource_account=owner, context=dict(context)
    )


def request_context_keys(source_ip: str, source_vpce: str | None) -> dict[str, Any]:
    """The condition keys API Gateway puts in every execute-api request: ``aws:SourceIp``, and
    ``aws:SourceVpce`` for a request through an interface VPC endpoint; ``aws:SecureTransport``
    (the invoke URL is HTTPS only)."""
    keys: dict[str, Any] = {"aws:SourceIp": source_ip, "aws:SecureTransport": True}
    if source_vpce:
        keys["aws:SourceVpce"] = source_vpce
    return keys


def resource_policy_only(
    policy: Policy | None, arn: str, context: Mapping[str, Any], owner: str
) -> AuthVerdict:
    """A method with no authorizer (``NONE``): open without a resource policy; with one, only
    an explicit allow lets the (anonymous) caller in."""
    if policy is None:
        return AuthVerdict.allow("NONE", "authorizationType NONE and no resource policy")
    verdict, why = verdict_of(policy, anonymous_request(arn, context, owner))
    if verdict == "allow":
        return AuthVerdict.allow("RESOURCE_POLICY", f"authorizationType NONE; {why}")
    return AuthVerdict.forbidden(
        "RESOURCE_POLICY",
        f"authorizationType NONE and {why}: a resource policy must explicitly allow an "
        "anonymous caller",
        denied_message("anonymous", arn, explicit=verdict == "deny"),
    )


def combine_table_a(
    authorizer: PolicyVerdict, resource: PolicyVerdict
) -> Literal["allow", "explicit-deny", "implicit-deny"]:
    """Table A of the authorization-flow page (caller and API in one account): a deny on either
    side wins, else an allow on either side allows, else implicit deny."""
    if "deny" in (authorizer, resource):
        return "explicit-deny"
    if "allow" in (authorizer, resource):
        return "allow"
    return "implicit-deny"


__all__ = [
    "BAD_SIGNATURE",
    "EXPIRED_TOKEN",
    "EXPLICIT_DENY",
    "INVALID_TOKEN",
    "INVOKE",
    "MISSING_TOKEN",
    "NOT_AUTHORIZED",
    "POLICY_NAME",
    "TOKEN_EXPIRED",
    "UNAUTHORIZED",
    "AuthVerdict",
    "PolicyVerdict",
    "anonymous_request",
    "combine_table_a",
    "denied_message",
    "load_resource_policy",
    "masked_arn",
    "method_arn",
    "request_context_keys",
    "resource_policy_only",
    "verdict_of",
]
