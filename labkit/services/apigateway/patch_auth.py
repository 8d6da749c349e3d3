"""The authorizers of REST API methods, plugged into the request pipeline's authorize step.

:mod:`labkit.services.apigateway.sim_pipeline` decides each request in one place,
``authorize(request)``; this patch registers there the deciders of
:mod:`~labkit.services.apigateway.sim_auth_cognito` (``COGNITO_USER_POOLS``),
:mod:`~labkit.services.apigateway.sim_auth_lambda` (``CUSTOM``: ``TOKEN`` and ``REQUEST``) and
:mod:`~labkit.services.apigateway.sim_auth_iam` (``AWS_IAM``), and the resource-policy check of
methods without an authorizer. It supplies what plain Python cannot reach:

- a user pool's public keys, read from the sandbox's Cognito (the keys its tokens are signed
  with, the same its JWKS URL serves);
- the authorizer function's invocation (``lab.clock`` duration, logs, concurrency: like any
  invocation of the sandbox);
- who signed a request: the learner's own credentials (the account's administrator, its root),
  an IAM user's access key, or temporary credentials the sandbox issued (an identity pool's or an
  ``AssumeRole`` session: :mod:`labkit.sandbox.signers`); the secret to check the signature with;
- the authorizer result cache, kept on moto's REST API object (``lab.reset()`` clears it).

The deployment snapshot carries the authorizers and the resource policy as deployed, so changing
an authorizer reaches callers when the API is deployed again, as on AWS.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from labkit import policy as engine
from labkit.policy.document import Policy
from labkit.sandbox import signers
from labkit.sandbox.environment import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY
from labkit.services.apigateway import (
    sim_auth,
    sim_auth_cognito,
    sim_auth_iam,
    sim_auth_lambda,
    sim_auth_sigv4,
    sim_pipeline,
)
from labkit.services.apigateway.sim_auth import AuthVerdict
from labkit.services.apigateway.sim_auth_lambda import (
    AuthorizerRequest,
    Invocation,
    LambdaAuthorizer,
    ResultCache,
)
from labkit.services.apigateway.sim_request import ApiRequest, AuthOutcome
from labkit.services.cognitoidp.sim_tokens import TrustedPool, issuer_url

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: The account moto acts as when a request names none (the learner's).
_DEFAULT_ACCOUNT = "123456789012"
_ACCOUNT_HEADER = "x-moto-account-id"


# -- shared ------------------------------------------------------------------------------------


def outcome(verdict: AuthVerdict) -> AuthOutcome:
    """The pipeline's outcome for a decider's verdict (AWS's error type as a header)."""
    headers = (
        {}
        if verdict.allowed or not verdict.error_type
        else {"x-amzn-ErrorType": verdict.error_type}
    )
    return AuthOutcome(
        verdict.allowed,
        verdict.status,
        verdict.message,
        verdict.reason,
        verdict.decider,
        verdict.principal_id,
        dict(verdict.context),
        dict(verdict.identity),
        verdict.usage_key,
        headers=headers,
        message_key=verdict.message_key,
    )


def resource_policy(request: ApiRequest) -> Policy | None:
    """The deployed API's resource policy (``execute-api:/...`` spelled out), if any."""
    prefix = f"arn:aws:execute-api:{request.region}:{request.account_id}:{request.api_id}"
    return sim_auth.load_resource_policy(request.deployment.policy, prefix)


def _context_keys(request: ApiRequest) -> dict[str, Any]:
    return sim_auth.request_context_keys(request.source_ip, request.source_vpce)


def _authorizer(request: ApiRequest, decider: str) -> dict[str, Any] | AuthOutcome:
    """The method's authorizer as deployed, or the 500 API Gateway answers without one."""
    method = request.method
    found = request.deployment.authorizers.get(method.authorizer_id or "") if method else None
    if found is None:
        return outcome(
            AuthVerdict.configuration_error(
                decider,
                f"the method uses {decider} but names no authorizer of this deployment "
                f"({method.authorizer_id if method else None!r})",
            )
        )
    return found


# -- Cognito -----------------------------------------------------------------------------------


def trusted_pool(provider_arn: str) -> TrustedPool | None:
    """What API Gateway trusts of a user pool: its issuer URL and its public keys."""
    from labkit.sandbox.backends import existing_services
    from labkit.services.cognitoidp.patch import pool_keys

    parts = provider_arn.split(":", 5)
    if len(parts) != 6 or not parts[5].startswith("userpool/"):
        return None
    region, account, pool_id = parts[3], parts[4], parts[5][len("userpool/") :]
    for service, found_region, backend in existing_services(account):
        if service == "cognito-idp" and found_region == region:
            pool = backend.user_pools.get(pool_id)
            if pool is not None:
                keys = {key.kid: key for key in pool_keys(pool).public()}
                return TrustedPool(issuer_url(region, pool_id), keys)
    return None


def decide_cognito(request: ApiRequest) -> AuthOutcome:
    """``COGNITO_USER_POOLS``: the token in the authorizer's header, against its pools."""
    spec = _authorizer(request, sim_auth_cognito.DECIDER)
    if isinstance(spec, AuthOutcome):
        return spec
    authorizer = sim_auth_cognito.CognitoAuthorizer.from_api(spec)
    method = request.method
    return outcome(
        sim_auth_cognito.decide(
            authorizer,
            request.header(authorizer.header),
            pool=trusted_pool,
            scopes=method.authorization_scopes if method else (),
            now=request.now,
            method_arn=request.method_arn,
            resource_policy=resource_policy(request),
            context_keys=_context_keys(request),
            owner=request.account_id,
        )
    )


# -- Lambda authorizers ------------------------------------------------------------------------


def _rest_api(request: ApiRequest) -> Any:
    from moto.apigateway.models import apigateway_backends

    backends = apigateway_backends[request.account_id]
    return backends[request.region].apis.get(request.api_id)


def result_cache(request: ApiRequest) -> ResultCache:
    """The API's authorizer result cache (on moto's REST API object, so a reset clears it)."""
    api = _rest_api(request)
    cache: ResultCache | None = getattr(api, "labkit_authorizer_cache", None)
    if cache is None:
        cache = ResultCache()
        if api is not None:
            setattr(api, "labkit_authorizer_cache", cache)  # noqa: B010 (moto's model)
    return cache


def authorizer_request(request: ApiRequest) -> AuthorizerRequest:
    """What a Lambda authorizer sees of ``request``."""
    resource = request.resource.path if request.resource is not None else request.path
    context = {
        "path": f"/{request.stage.name}{request.path}",
        "accountId": request.account_id,
        "resourceId": request.resource.id if request.resource is not None else None,
        "stage": request.stage.name,
        "domainPrefix": request.api_id,
        "requestId": request.request_id,
        "identity": {
            "sourceIp": request.source_ip,
            "userAgent": request.header("User-Agent"),
            "apiKey": request.header("x-api-key"),
        },
        "domainName": f"{request.api_id}.execute-api.{request.region}.amazonaws.com",
        "resourcePath": resource,
        "httpMethod": request.http_method,
        "apiId": request.api_id,
    }
    return AuthorizerRequest(
        request.method_arn,
        request.http_method,
        resource,
        request.path,
        dict(request.headers),
        list(request.query),
        dict(request.path_params),
        dict(request.stage.variables),
        context,
    )


def authorizer_source_arn(request: ApiRequest, authorizer_id: str) -> str:
    """The ``aws:SourceArn`` of API Gateway's call to an authorizer function:
    ``arn:aws:execute-api:{region}:{account}:{api}/authorizers/{id}``."""
    return (
        f"arn:aws:execute-api:{request.region}:{request.account_id}:{request.api_id}"
        f"/authorizers/{authorizer_id}"
    )


def invoker(authorizer: LambdaAuthorizer, request: ApiRequest, credentials: str | None) -> Any:
    """Calls the authorizer's function as API Gateway does (synchronously), if the function's
    policy lets API Gateway invoke it for this authorizer, or the authorizer names a role to
    invoke it with (``authorizerCredentials``).
    https://docs.aws.amazon.com/apigateway/latest/developerguide/configure-api-gateway-lambda-authorization.html
    """
    from labkit.services.apigateway.patch_backends import lambda_function
    from labkit.services.awslambda.access import invoke_decision
    from labkit.services.awslambda.patch import TooManyRequestsException, run_invocation

    api_id = request.api_id

    def invoke(event: dict[str, Any]) -> Invocation:
        found = lambda_function(authorizer.uri)
        if found is None:
            return Invocation(b"", refused=f"its URI names no function ({authorizer.uri!r})")
        lam, fn = found
        if credentials:
            # The role must be one API Gateway may assume, and allowed to invoke the function,
            # as for an integration's credentials role (the same decision, the same log line).
            from labkit.services.apigateway.patch_backends import invoke_refusal

            refusal = invoke_refusal(
                fn,
                source_arn=authorizer_source_arn(request, authorizer.id),
                account_id=request.account_id,
                credentials=credentials,
            )
            if refusal is not None:
                return Invocation(b"", refused=refusal)
        else:
            source = authorizer_source_arn(request, authorizer.id)
            decision = invoke_decision(
                fn,
                service="apigateway.amazonaws.com",
                source_arn=source,
                account_id=request.account_id,
            )
            if not decision.allowed:
                return Invocation(
                    b"",
                    refused=f"API Gateway may not invoke function {fn.function_name}: "
                    f"{decision.reason} (lambda add-permission with principal "
                    f"apigateway.amazonaws.com and source ARN {source})",
                )
        try:
            result = run_invocation(lam, fn, event, source=f"apigateway:{api_id}:authorizer")
        except TooManyRequestsException:
            return Invocation(b'{"errorMessage": "Rate Exceeded."}', error=True)
        return Invocation(
            bytes(result.payload or b""), bool(result.function_error), float(result.duration_ms)
        )

    return invoke


def decide_lambda(request: ApiRequest) -> AuthOutcome:
    """``CUSTOM``: the method's Lambda authorizer (``TOKEN`` or ``REQUEST``)."""
    spec = _authorizer(request, sim_auth_lambda.DECIDER)
    if isinstance(spec, AuthOutcome):
        return spec
    authorizer = LambdaAuthorizer.from_api(spec)
    return outcome(
        sim_auth_lambda.decide(
            authorizer,
            authorizer_request(request),
            invoke=invoker(authorizer, request, spec.get("authorizerCredentials")),
            cache=result_cache(request),
            now=request.now,
            resource_policy=resource_policy(request),
            context_keys=_context_keys(request),
            owner=request.account_id,
        )
    )


# -- IAM ---------------------------------------------------------------------------------------


def _iam_user(access_key_id: str) -> tuple[sim_auth_iam.IamCaller, str] | None:
    """The IAM user an access key belongs to (any account), with the key's secret."""
    from moto.iam.models import iam_backends

    for account in list(iam_backends.keys()):
        backend = iam_backends[account]["aws"]
        for user in list(backend.users.values()):
            for key in user.access_keys:
                if key.access_key_id != access_key_id or key.status != "Active":
                    continue
                principal = engine.Principal.user(account, user.name, path=user.path or "/")
                policies = _user_policies(backend, user)
                caller = sim_auth_iam.IamCaller(access_key_id, principal, policies)
                return caller, str(key.secret_access_key)
    return None


def _user_policies(backend: Any, user: Any) -> tuple[Policy, ...]:
    """An IAM user's identity policies: inline, attached, and those of the user's groups."""
    found: list[Policy] = []
    owners = [
        (f"user {user.name}", user),
        *((f"group {g.name}", g) for g in backend.get_groups_for_user(user.name)),
    ]
    for owner_name, owner in owners:
        for name, document in owner.policies.items():
            found.append(
                engine.load_policy(
                    document, name=f"inline policy `{name}` of {owner_name}", kind="identity"
                )
            )
        for arn, managed in owner.managed_policies.items():
            version = next((v for v in managed.versions if v.is_default), None)
            if version is not None:
                found.append(
                    engine.load_policy(
                        version.document, name=f"managed policy {arn}", kind="identity"
                    )
                )
    return tuple(found)


def _session_secret(access_key_id: str) -> tuple[str, str] | None:
    for session in signers._sts_sessions():
        if session.access_key_id == access_key_id:
            return str(session.secret_access_key), str(session.session_token)
    return None


def iam_caller(request: ApiRequest) -> tuple[sim_auth_iam.IamCaller | None, str, str | None]:
    """Who signed ``request``: the caller (``None`` for a key nobody has), the secret to check
    the signature with, and a session token."""
    headers, url = request.headers, request.url
    key = _access_key(request) or ""
    signer = signers.signer_of(headers, url)
    if signer is not None:
        secret = _session_secret(key)
        caller = sim_auth_iam.IamCaller(
            key,
            signer.principal,
            signer.policies,
            signer.session_policy,
            dict(signer.context),
            signer.expires_at.timestamp(),
        )
        return caller, secret[0] if secret else "", secret[1] if secret else None
    if key == FAKE_ACCESS_KEY_ID:
        # The learner's own credentials: the account's administrator. moto picks the account
        # from the x-moto-account-id header (how the outsider clients act as another account).
        account = request.header(_ACCOUNT_HEADER) or _DEFAULT_ACCOUNT
        return (
            sim_auth_iam.IamCaller(key, engine.Principal.root(account)),
            FAKE_SECRET_ACCESS_KEY,
            None,
        )
    user = _iam_user(key) if key else None
    if user is not None:
        return user[0], user[1], None
    return None, "", None


def _access_key(request: ApiRequest) -> str | None:
    """The access key a request is signed with (any spelling of key id: the learner's own is
    ``testing``, which :func:`labkit.sandbox.signers.access_key_of` does not read)."""
    parsed = sim_auth_sigv4.parse(request.headers)
    if parsed is not None:
        return parsed.access_key_id
    return signers.access_key_of(request.headers, request.url)


def decide_iam(request: ApiRequest) -> AuthOutcome:
    """``AWS_IAM``: the signature, then the policy engine."""
    return outcome(iam_verdict(request))


def may(request: ApiRequest, action: str) -> tuple[bool, str]:
    """Whether the signer of ``request`` may do ``action`` on its method ARN (e.g.
    ``execute-api:InvalidateCache``), and why: the same caller resolution, signature check and
    policy evaluation as ``AWS_IAM`` methods get. An unsigned request may not."""
    verdict = iam_verdict(request, action)
    return verdict.allowed, verdict.reason


def iam_verdict(request: ApiRequest, action: str = sim_auth.INVOKE) -> AuthVerdict:
    """The ``AWS_IAM`` decision about ``action`` on ``request``'s method ARN."""
    key = _access_key(request)
    caller, secret, token = iam_caller(request) if key else (None, "", None)
    problem = token_problem = ""
    if caller is not None and token:
        sent = request.header("X-Amz-Security-Token") or _query(request, "X-Amz-Security-Token")
        if not sent:
            token_problem = "the request carries no session token (X-Amz-Security-Token)"
        elif sent != token:
            token_problem = "its session token (X-Amz-Security-Token) is not the one issued"
    if caller is not None or (key is None and request.header("Authorization")):
        problem = sim_auth_sigv4.problem(
            request.http_method,
            request.url,
            request.headers,
            request.body,
            secret_key=secret,
            session_token=token,
            region=request.region,
        )
    return sim_auth_iam.decide(
        caller,
        signed=key is not None or bool(problem),
        now=request.now,
        method_arn=request.method_arn,
        owner=request.account_id,
        resource_policy=resource_policy(request),
        context_keys=_context_keys(request),
        signature_problem=problem,
        access_key_id=key,
        action=action,
        token_problem=token_problem,
    )


def _query(request: ApiRequest, name: str) -> str | None:
    return next((v for k, v in request.query if k == name), None)


# -- methods without an authorizer -------------------------------------------------------------


def check_open_method(request: ApiRequest, decided: AuthOutcome) -> AuthOutcome:
    """``NONE``: with a resource policy, only its explicit allow lets a caller in (the other
    authorizers combine the resource policy themselves, in the order AWS documents)."""
    if decided.decider != "NONE" or not decided.allowed:
        return decided
    policy = resource_policy(request)
    if policy is None:
        return decided
    verdict = sim_auth.resource_policy_only(
        policy, request.method_arn, _context_keys(request), request.account_id
    )
    return outcome(verdict)


def _keep_validation_expression(stack: ExitStack) -> None:
    """moto's ``CreateAuthorizer`` passes ``identityValidationExpression`` under a misspelt
    name (``identiy_...``) that its ``Authorizer`` never reads, so the expression was lost;
    here it is kept, as ``GetAuthorizer`` shows it on AWS."""
    from moto.apigateway.models import Authorizer

    original = Authorizer.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        misspelt = kwargs.pop("identiy_validation_expression", None)
        if misspelt is not None and kwargs.get("identity_validation_expression") is None:
            kwargs["identity_validation_expression"] = misspelt
        original(self, *args, **kwargs)

    Authorizer.__init__ = init  # type: ignore[method-assign]
    stack.callback(setattr, Authorizer, "__init__", original)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Plug the authorizers into the pipeline while ``sandbox`` runs."""
    del sandbox
    _keep_validation_expression(stack)
    for kind, decider in (
        (sim_auth_cognito.DECIDER, decide_cognito),
        (sim_auth_lambda.DECIDER, decide_lambda),
        (sim_auth_iam.DECIDER, decide_iam),
    ):
        stack.callback(sim_pipeline.register_authorizer(kind, decider))
    stack.callback(sim_pipeline.register_resource_policy(check_open_method))
    # Who may send Cache-Control: max-age=0 (execute-api:InvalidateCache) is IAM's question too.
    stack.callback(sim_pipeline.register_permission_check(may))


__all__ = [
    "authorizer_request",
    "authorizer_source_arn",
    "check_open_method",
    "decide_cognito",
    "decide_iam",
    "decide_lambda",
    "iam_caller",
    "iam_verdict",
    "install",
    "invoker",
    "may",
    "outcome",
    "resource_policy",
    "result_cache",
    "trusted_pool",
]
