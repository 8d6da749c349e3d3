"""``AWS_IAM`` authorization of a REST API method: a SigV4-signed request, decided by the one
policy engine (plain Python; the patch works out who signed).

https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html
and the authorization-flow page. API Gateway:

1. wants a signature: none → 403 ``{"message":"Missing Authentication Token"}``;
2. wants an access key it knows (403 ``The security token included in the request is
   invalid.``), a signature that matches the request (403, ``InvalidSignatureException``) and
   temporary credentials that have not expired (403 ``The security token included in the
   request is expired``);
3. asks IAM whether the caller may ``execute-api:Invoke`` the method ARN
   ``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{VERB}/{path}``: the caller's identity
   policies (a role session's role policies, narrowed by a session policy; an IAM user's) and
   the API's resource policy, as IAM combines them (in one account either may allow, Table A;
   across accounts both must, Table B; an explicit deny anywhere wins). Refused → 403 ``User:
   {arn} is not authorized to perform: execute-api:Invoke on resource: {arn}``.

Identity-pool credentials are role sessions like any other: their policies may use
``${cognito-identity.amazonaws.com:sub}``, which the request context carries, so one user's
credentials reach only that user's methods. The integration sees the caller in
``requestContext.identity`` (``userArn``, ``accessKey``, ``caller``, ``accountId``,
``cognitoIdentityId``, ``cognitoIdentityPoolId``, ``cognitoAuthenticationType``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit import policy as engine
from labkit.policy.document import Policy
from labkit.services.apigateway.sim_auth import (
    BAD_SIGNATURE,
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    INVOKE,
    MISSING_TOKEN,
    AuthVerdict,
    denied_message,
)

DECIDER = "AWS_IAM"
_COGNITO = "cognito-identity.amazonaws.com"


@dataclass(frozen=True)
class IamCaller:
    """Who signed a request, as far as IAM knows them.

    Attributes:
        access_key_id: The key the request was signed with.
        principal: The caller (a role session, an IAM user, or an account's root for the
            learner's own credentials: the account's administrator).
        identity_policies: The caller's identity-based policies.
        session_policy: A role session's session policy, if any (it narrows the role's).
        context: Condition keys the caller brings (``cognito-identity.amazonaws.com:sub``...).
        expires_at: When temporary credentials expire (epoch seconds); ``None`` for long-term
            keys.
    """

    access_key_id: str
    principal: engine.Principal
    identity_policies: tuple[Policy, ...] = ()
    session_policy: Policy | None = None
    context: Mapping[str, str] = field(default_factory=dict)
    expires_at: float | None = None


def decide(
    caller: IamCaller | None,
    *,
    signed: bool,
    now: float,
    method_arn: str,
    owner: str,
    resource_policy: Policy | None = None,
    context_keys: Mapping[str, Any] | None = None,
    signature_problem: str = "",
    access_key_id: str | None = None,
    action: str = INVOKE,
    token_problem: str = "",
) -> AuthVerdict:
    """Whether the signed request gets in, and why.

    Args:
        caller: Who signed (``None`` when the key is unknown).
        signed: Whether the request carries a signature at all.
        now: The lab clock (epoch seconds).
        method_arn: The method ARN of the request.
        owner: The account that owns the API.
        resource_policy: The API's resource policy, if any.
        context_keys: Condition keys of the request (``aws:SourceIp``, ``aws:SourceVpce``).
        signature_problem: Why the signature does not match the request, or ``""``.
        access_key_id: The key named by the signature (for the trace when it is unknown).
        action: What is asked: ``execute-api:Invoke``, or ``execute-api:InvalidateCache`` for a
            ``Cache-Control: max-age=0`` request.
        token_problem: Why temporary credentials' session token is missing or wrong, or ``""``
            (AWS then does not know the credentials at all).
    """
    if not signed:
        why = (
            "the method uses AWS_IAM and the request is not signed"
            if action == INVOKE
            else f"the request is not signed, and only a signed caller may {action}"
        )
        return AuthVerdict.forbidden(
            DECIDER,
            f"{why} (no SigV4 Authorization header or X-Amz-Credential)",
            MISSING_TOKEN,
            "MissingAuthenticationTokenException",
        )
    if signature_problem:
        return AuthVerdict.forbidden(
            DECIDER,
            f"the signature does not match the request: {signature_problem}",
            BAD_SIGNATURE,
            "InvalidSignatureException",
        )
    if caller is None:
        return AuthVerdict.forbidden(
            DECIDER,
            f"the request is signed with access key {access_key_id or '?'}, which does not "
            "exist (made up, or issued before lab.reset())",
            INVALID_TOKEN,
            "UnrecognizedClientException",
        )
    if token_problem:
        return AuthVerdict.forbidden(
            DECIDER,
            f"access key {caller.access_key_id} is temporary: {token_problem}",
            INVALID_TOKEN,
            "UnrecognizedClientException",
        )
    if caller.expires_at is not None and now >= caller.expires_at:
        return AuthVerdict.forbidden(
            DECIDER,
            f"the temporary credentials {caller.access_key_id} of {caller.principal.describe} "
            "have expired",
            EXPIRED_TOKEN,
            "ExpiredTokenException",
        )
    context = {**dict(context_keys or {}), **dict(caller.context)}
    request = engine.Request(
        caller.principal, action, method_arn, resource_account=owner, context=context
    )
    decision = engine.evaluate(
        request, identity_policies=caller.identity_policies, resource_policy=resource_policy
    )
    if decision.allowed and caller.session_policy is not None:
        narrowed = engine.evaluate(request, identity_policies=[caller.session_policy])
        if not narrowed.allowed:
            decision = narrowed
    identity = identity_fields(caller)
    who = caller.principal.arn or caller.principal.describe
    if not decision.allowed:
        return AuthVerdict.forbidden(
            DECIDER,
            f"{who}: {decision.reason}",
            denied_message(
                who, method_arn, explicit=decision.kind == "explicit-deny", action=action
            ),
            identity=identity,
        )
    # IAM callers reach the integration in requestContext.identity, with no authorizer map.
    return AuthVerdict.allow(DECIDER, f"{who}: {decision.reason}", identity=identity)


def identity_fields(caller: IamCaller) -> dict[str, Any]:
    """``requestContext.identity`` of a request signed by ``caller``."""
    principal = caller.principal
    unique = principal.unique_id or (
        f"{principal.role_arn.rsplit('/', 1)[-1]}:{principal.session}"
        if principal.kind == "role"
        else principal.account
    )
    amr = caller.context.get(f"{_COGNITO}:amr")
    return {
        "accessKey": caller.access_key_id,
        "accountId": principal.account or None,
        "caller": unique,
        "user": unique,
        "userArn": principal.arn or None,
        "cognitoIdentityId": caller.context.get(f"{_COGNITO}:sub"),
        "cognitoIdentityPoolId": caller.context.get(f"{_COGNITO}:aud"),
        "cognitoAuthenticationType": amr,
    }


__all__ = ["DECIDER", "IamCaller", "decide", "identity_fields"]
