"""The REST API authorizers as plain-Python deciders: Cognito user pools, Lambda (TOKEN and
REQUEST) with result caching, IAM, and resource policies, each combined as AWS's tables say.

No moto here: tokens are real RS256 JWTs signed with a pool's keys, functions are Python callables,
callers are policy-engine principals. The sandbox tests (``test_apigateway_auth_http.py``) send
the same cases over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from labkit import policy as engine
from labkit.services.apigateway import sim_auth, sim_auth_cognito, sim_auth_iam, sim_auth_lambda
from labkit.services.apigateway.sim_auth_lambda import (
    AuthorizerRequest,
    Invocation,
    LambdaAuthorizer,
    ResultCache,
)
from labkit.services.cognitoidp.sim_tokens import (
    PoolKeys,
    TrustedPool,
    b64url,
    issuer_url,
    unb64url,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
OUTSIDER = "210987654321"
API = "a1b2c3d4e5"
POOL = "us-east-1_Pool1"
OTHER_POOL = "us-east-1_Pool2"
POOL_ARN = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{POOL}"
NOW = 1_800_000_000.0


def arn(verb: str = "GET", path: str = "/orders", stage: str = "dev") -> str:
    return sim_auth.method_arn(REGION, ACCOUNT, API, stage, verb, path)


def policy(*statements: dict[str, Any]) -> engine.Policy:
    return engine.load_policy(
        {"Version": "2012-10-17", "Statement": list(statements)},
        name="the API's resource policy",
        kind="resource",
    )


# -- Cognito ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys() -> dict[str, PoolKeys]:
    return {POOL: PoolKeys(POOL), OTHER_POOL: PoolKeys(OTHER_POOL)}


def token(
    keys: dict[str, PoolKeys],
    use: str = "id",
    *,
    pool: str = POOL,
    client: str = "client-a",
    exp: float = NOW + 3600,
    **extra: Any,
) -> str:
    claims: dict[str, Any] = {
        "sub": "sub-alice",
        "cognito:groups": ["admins", "staff"],
        "iss": issuer_url(REGION, pool),
        "token_use": use,
        "auth_time": int(NOW),
        "exp": int(exp),
        "iat": int(NOW),
    }
    if use == "id":
        claims.update({"aud": client, "cognito:username": "alice", "email_verified": True})
    else:
        claims.update({"client_id": client, "scope": "aws.cognito.signin.user.admin"})
    claims.update(extra)
    return keys[pool].sign(claims, use)


def trusted(keys: dict[str, PoolKeys]) -> Callable[[str], TrustedPool | None]:
    def find(provider_arn: str) -> TrustedPool | None:
        pool_id = provider_arn.rsplit("/", 1)[-1]
        if pool_id not in keys:
            return None
        public = {k.kid: k for k in keys[pool_id].public()}
        return TrustedPool(issuer_url(REGION, pool_id), public)

    return find


def cognito(
    keys: dict[str, PoolKeys],
    header: str | None,
    *,
    scopes: tuple[str, ...] = (),
    expression: str | None = None,
    now: float = NOW,
    resource_policy: engine.Policy | None = None,
    source_ip: str = "198.51.100.7",
) -> sim_auth.AuthVerdict:
    authorizer = sim_auth_cognito.CognitoAuthorizer.from_api(
        {
            "id": "auth1",
            "name": "users",
            "type": "COGNITO_USER_POOLS",
            "providerARNs": [POOL_ARN],
            "identitySource": "method.request.header.Authorization",
            "identityValidationExpression": expression,
        }
    )
    return sim_auth_cognito.decide(
        authorizer,
        header,
        pool=trusted(keys),
        scopes=scopes,
        now=now,
        method_arn=arn(),
        resource_policy=resource_policy,
        context_keys=sim_auth.request_context_keys(source_ip, None),
        owner=ACCOUNT,
    )


def test_a_valid_id_token_gets_in_with_its_claims_as_strings(keys: dict[str, PoolKeys]) -> None:
    verdict = cognito(keys, token(keys))
    assert verdict.allowed, verdict.reason
    claims = verdict.context["claims"]
    assert claims["sub"] == "sub-alice" and claims["cognito:username"] == "alice"
    # Every value a string, as the Lambda proxy event carries them: groups joined, booleans
    # spelled, exp as a date.
    assert claims["cognito:groups"] == "admins,staff"
    assert claims["email_verified"] == "true"
    assert claims["exp"].endswith("UTC 2027") and claims["auth_time"] == str(int(NOW))
    assert all(isinstance(v, str) for v in claims.values())


def test_bearer_prefix_and_bare_token_both_work(keys: dict[str, PoolKeys]) -> None:
    assert cognito(keys, "Bearer " + token(keys)).allowed
    assert cognito(keys, token(keys)).allowed


@pytest.mark.parametrize("header", [None, "", "Bearer ", "not-a-jwt", "a.b.c"])
def test_no_token_or_not_a_token_is_401(keys: dict[str, PoolKeys], header: str | None) -> None:
    verdict = cognito(keys, header)
    assert (verdict.allowed, verdict.status, verdict.message) == (False, 401, "Unauthorized")
    assert verdict.message_key == "message"


def test_a_forged_token_is_401(keys: dict[str, PoolKeys]) -> None:
    header, payload, signature = token(keys).split(".")
    claims = json.loads(unb64url(payload))
    claims["cognito:groups"] = ["admins", "root"]  # the caller promotes themselves
    forged = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
    verdict = cognito(keys, forged)
    assert (verdict.status, verdict.message) == (401, "Unauthorized")
    assert "forged" in verdict.reason


def test_a_token_signed_by_another_pools_key_claiming_this_pool_is_401(
    keys: dict[str, PoolKeys],
) -> None:
    impostor = token(keys, pool=OTHER_POOL, iss=issuer_url(REGION, POOL))
    verdict = cognito(keys, impostor)
    assert (verdict.status, verdict.message) == (401, "Unauthorized")


def test_a_token_of_a_pool_the_authorizer_does_not_name_is_401(keys: dict[str, PoolKeys]) -> None:
    verdict = cognito(keys, token(keys, pool=OTHER_POOL))
    assert (verdict.status, verdict.message) == (401, "Unauthorized")
    assert OTHER_POOL in verdict.reason


def test_an_expired_token_is_401_with_the_expired_message(keys: dict[str, PoolKeys]) -> None:
    fresh = token(keys, exp=NOW + 60)
    assert cognito(keys, fresh, now=NOW + 59).allowed
    verdict = cognito(keys, fresh, now=NOW + 60)
    assert (verdict.status, verdict.message) == (401, "The incoming token has expired")


def test_wrong_audience_is_401_when_the_authorizer_pins_its_client(
    keys: dict[str, PoolKeys],
) -> None:
    pinned = "client-a"
    assert cognito(keys, token(keys, client="client-a"), expression=pinned).allowed
    verdict = cognito(keys, token(keys, client="client-b"), expression=pinned)
    assert (verdict.status, verdict.message) == (401, "Unauthorized")
    assert "client-b" in verdict.reason
    # Without an identityValidationExpression a REST API's user-pool authorizer accepts every
    # app client of its pools, as on AWS.
    assert cognito(keys, token(keys, client="client-b")).allowed


def test_scopes_want_an_access_token_holding_one_of_them(keys: dict[str, PoolKeys]) -> None:
    scopes = ("orders/write",)
    good = token(keys, "access", scope="openid orders/write")
    assert cognito(keys, good, scopes=scopes).allowed
    for bad in (token(keys, "id"), token(keys, "access", scope="orders/read")):
        verdict = cognito(keys, bad, scopes=scopes)
        assert (verdict.status, verdict.message) == (401, "Unauthorized"), verdict.reason


def test_without_scopes_an_access_token_is_refused(keys: dict[str, PoolKeys]) -> None:
    verdict = cognito(keys, token(keys, "access"))
    assert (verdict.status, verdict.message) == (401, "Unauthorized")
    assert "ID token" in verdict.reason


def test_cognito_with_a_resource_policy_needs_its_explicit_allow(keys: dict[str, PoolKeys]) -> None:
    office = policy(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API}/*",
            "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
        }
    )
    inside = cognito(keys, token(keys), resource_policy=office, source_ip="192.0.2.10")
    assert inside.allowed, inside.reason
    outside = cognito(keys, token(keys), resource_policy=office, source_ip="198.51.100.7")
    assert (outside.status, outside.allowed) == (403, False)
    assert outside.message == (
        "User: anonymous is not authorized to perform: execute-api:Invoke on resource: "
        f"arn:aws:execute-api:{REGION}:********9012:{API}/dev/GET/orders"
    )
    # A bad token is refused before the policy is read.
    assert cognito(keys, "x", resource_policy=office, source_ip="192.0.2.10").status == 401


# -- Lambda authorizers -------------------------------------------------------------------------


class Function:
    """An authorizer function: returns ``answer(event)``, counting its calls."""

    def __init__(self, answer: Callable[[dict[str, Any]], Any], *, error: bool = False) -> None:
        self.answer = answer
        self.error = error
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> Invocation:
        self.events.append(event)
        return Invocation(json.dumps(self.answer(event)).encode(), self.error, 12.4)


def allow_policy(resource: str, effect: str = "Allow") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
    }


def token_function(event: dict[str, Any]) -> dict[str, Any]:
    """allow → this method; deny → explicit deny; anything else → Unauthorized (an error)."""
    tok = event["authorizationToken"]
    effect = {"allow": "Allow", "deny": "Deny"}[tok]
    return {
        "principalId": "user-7",
        "policyDocument": allow_policy(event["methodArn"], effect),
        "context": {"tier": "gold", "credits": 3, "admin": False},
    }


def authorizer(kind: str = "TOKEN", **fields: Any) -> LambdaAuthorizer:
    shape = {
        "id": "lam1",
        "name": "gate",
        "type": kind,
        "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:gate/invocations",
        "identitySource": "method.request.header.Authorization",
    }
    shape.update(fields)
    return LambdaAuthorizer.from_api(shape)


def request(
    verb: str = "GET",
    path: str = "/orders",
    headers: dict[str, str] | None = None,
    query: list[tuple[str, str]] | None = None,
) -> AuthorizerRequest:
    return AuthorizerRequest(
        arn(verb, path),
        verb,
        path,
        path,
        headers or {},
        query or [],
        {},
        {"env": "dev"},
        {"stage": "dev", "apiId": API, "accountId": ACCOUNT, "identity": {"sourceIp": "1.2.3.4"}},
    )


def lam(
    function: Function,
    req: AuthorizerRequest,
    *,
    auth: LambdaAuthorizer | None = None,
    cache: ResultCache | None = None,
    now: float = NOW,
    resource_policy: engine.Policy | None = None,
) -> sim_auth.AuthVerdict:
    return sim_auth_lambda.decide(
        auth or authorizer(),
        req,
        invoke=function,
        cache=cache if cache is not None else ResultCache(),
        now=now,
        resource_policy=resource_policy,
        context_keys=sim_auth.request_context_keys("1.2.3.4", None),
        owner=ACCOUNT,
    )


def test_token_authorizer_allow_passes_principal_and_context() -> None:
    function = Function(token_function)
    verdict = lam(function, request(headers={"authorization": "allow"}))
    assert verdict.allowed, verdict.reason
    assert function.events == [
        {"type": "TOKEN", "authorizationToken": "allow", "methodArn": arn("GET", "/orders")}
    ]
    assert verdict.principal_id == "user-7"
    assert verdict.context == {
        "principalId": "user-7",
        "tier": "gold",
        "credits": "3",
        "admin": "false",
        "integrationLatency": 12,
    }


def test_token_authorizer_explicit_deny_is_403() -> None:
    verdict = lam(Function(token_function), request(headers={"Authorization": "deny"}))
    assert (verdict.status, verdict.message) == (
        403,
        "User is not authorized to access this resource with an explicit deny",
    )


def test_a_policy_for_another_method_is_403_not_authorized() -> None:
    def other(event: dict[str, Any]) -> dict[str, Any]:
        return {"principalId": "u", "policyDocument": allow_policy(arn("POST", "/orders"))}

    verdict = lam(Function(other), request(headers={"Authorization": "x"}))
    assert (verdict.status, verdict.message) == (
        403,
        "User is not authorized to access this resource",
    )


def test_missing_token_or_failed_validation_is_401_without_calling() -> None:
    function = Function(token_function)
    assert lam(function, request()).status == 401
    gated = authorizer(identityValidationExpression="^(allow|deny)$")
    verdict = lam(function, request(headers={"Authorization": "let-me-in"}), auth=gated)
    assert (verdict.status, verdict.message) == (401, "Unauthorized")
    assert function.events == []
    assert lam(function, request(headers={"Authorization": "allow"}), auth=gated).allowed


def test_function_errors_unauthorized_is_401_others_are_500_null() -> None:
    unauthorized = Function(lambda e: {"errorMessage": "Unauthorized"}, error=True)
    assert lam(unauthorized, request(headers={"Authorization": "t"})).status == 401
    crashed = Function(lambda e: {"errorMessage": "KeyError: 'x'"}, error=True)
    verdict = lam(crashed, request(headers={"Authorization": "t"}))
    assert (verdict.status, verdict.message, verdict.error_type) == (
        500,
        None,
        "AuthorizerConfigurationException",
    )


@pytest.mark.parametrize(
    "answer",
    [
        "allow",
        {"policyDocument": allow_policy("*")},
        {"principalId": "u"},
        {"principalId": "u", "policyDocument": allow_policy("*"), "context": {"roles": ["a"]}},
    ],
)
def test_unreadable_answers_are_500(answer: Any) -> None:
    verdict = lam(Function(lambda e: answer), request(headers={"Authorization": "t"}))
    assert (verdict.status, verdict.message) == (500, None), verdict.reason


def test_results_are_cached_by_token_for_the_ttl_on_the_lab_clock() -> None:
    function = Function(token_function)
    cache = ResultCache()
    auth = authorizer(authorizerResultTtlInSeconds=None)  # AWS's default: 300 s
    assert auth.ttl == 300
    req = request(headers={"Authorization": "allow"})
    first = lam(function, req, auth=auth, cache=cache, now=NOW)
    again = lam(function, req, auth=auth, cache=cache, now=NOW + 299)
    assert first.allowed and again.allowed and again.cached and not first.cached
    assert len(function.events) == 1
    assert again.context["integrationLatency"] == 0
    lam(function, req, auth=auth, cache=cache, now=NOW + 300)
    assert len(function.events) == 2


def test_a_cached_policy_naming_one_method_refuses_the_next() -> None:
    # The documented pitfall: the cache is keyed by the token, not by the method.
    function = Function(token_function)
    cache = ResultCache()
    assert lam(function, request("GET", "/orders", {"Authorization": "allow"}), cache=cache).allowed
    other = lam(function, request("GET", "/orders/7", {"Authorization": "allow"}), cache=cache)
    assert (other.status, other.message) == (403, "User is not authorized to access this resource")
    assert other.cached and len(function.events) == 1
    # With caching off, each method gets its own answer.
    uncached = authorizer(authorizerResultTtlInSeconds=0)
    path = request("GET", "/orders/7", {"Authorization": "allow"})
    assert lam(function, path, auth=uncached, cache=cache).allowed


def test_request_authorizer_identity_sources_and_event() -> None:
    seen: list[dict[str, Any]] = []

    def by_query(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        return {
            "principalId": event["queryStringParameters"]["user"],
            "policyDocument": allow_policy("*"),
        }

    auth = authorizer(
        "REQUEST", identitySource="method.request.header.X-Team, method.request.querystring.user"
    )
    function = Function(by_query)
    missing = lam(function, request(headers={"X-Team": "blue"}), auth=auth)
    assert (missing.status, function.events) == (401, [])
    full = request(headers={"x-team": "blue"}, query=[("user", "ann")])
    verdict = lam(function, full, auth=auth)
    assert verdict.allowed and verdict.principal_id == "ann"
    event = seen[0]
    assert event["type"] == "REQUEST" and event["methodArn"] == arn()
    assert event["headers"] == {"x-team": "blue"}
    assert event["stageVariables"] == {"env": "dev"}
    assert event["requestContext"]["stage"] == "dev"
    # Caching off: identity sources are not required, the function always decides.
    open_auth = authorizer(
        "REQUEST", identitySource="method.request.header.X-Team", authorizerResultTtlInSeconds=0
    )
    assert lam(Function(by_query), request(query=[("user", "bo")]), auth=open_auth).allowed


def test_lambda_with_resource_policy_follows_table_a() -> None:
    deny_outside = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API}/*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        }
    )
    function = Function(token_function)
    verdict = lam(
        function, request(headers={"Authorization": "allow"}), resource_policy=deny_outside
    )
    # Phase one: the explicit deny refuses before the function is called.
    assert verdict.status == 403 and function.events == []
    assert verdict.message is not None and verdict.message.endswith("with an explicit deny")
    # Neither the authorizer's policy (another method) allows, but the resource policy does:
    # Table A says allow.
    open_policy = policy(
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": arn()}
    )

    def elsewhere(event: dict[str, Any]) -> dict[str, Any]:
        return {"principalId": "u", "policyDocument": allow_policy(arn("DELETE", "/x"))}

    assert lam(
        Function(elsewhere), request(headers={"Authorization": "t"}), resource_policy=open_policy
    ).allowed
    # ... while the authorizer's explicit deny wins over the resource policy's allow.
    denied = lam(
        Function(token_function),
        request(headers={"Authorization": "deny"}),
        resource_policy=open_policy,
    )
    assert denied.status == 403


# -- IAM ----------------------------------------------------------------------------------------


OWN_PREFIX = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": f"arn:aws:execute-api:*:*:{API}/*/*/users/"
            "${cognito-identity.amazonaws.com:sub}/*",
        }
    ],
}


def session(
    identity: str, policies: tuple[dict[str, Any], ...] = (OWN_PREFIX,)
) -> sim_auth_iam.IamCaller:
    return sim_auth_iam.IamCaller(
        "ASIAEXAMPLE" + identity[-4:],
        engine.Principal.role_session(
            ACCOUNT, "Cognito_users_Auth_Role", "CognitoIdentityCredentials"
        ),
        tuple(engine.load_policy(p, kind="identity") for p in policies),
        context={
            "cognito-identity.amazonaws.com:sub": identity,
            "cognito-identity.amazonaws.com:aud": "us-east-1:pool",
            "cognito-identity.amazonaws.com:amr": "authenticated",
        },
        expires_at=NOW + 3600,
    )


def iam(
    caller: sim_auth_iam.IamCaller | None,
    method: str = arn("GET", "/users/us-east-1:alice/files"),
    *,
    signed: bool = True,
    now: float = NOW,
    resource_policy: engine.Policy | None = None,
) -> sim_auth.AuthVerdict:
    return sim_auth_iam.decide(
        caller,
        signed=signed,
        now=now,
        method_arn=method,
        owner=ACCOUNT,
        resource_policy=resource_policy,
        context_keys=sim_auth.request_context_keys("1.2.3.4", None),
        access_key_id="AKIAUNKNOWN",
    )


def test_iam_unsigned_unknown_and_expired_are_403() -> None:
    assert (iam(None, signed=False).status, iam(None, signed=False).message) == (
        403,
        "Missing Authentication Token",
    )
    assert iam(None).message == "The security token included in the request is invalid."
    expired = iam(session("us-east-1:alice"), now=NOW + 3600)
    assert (expired.status, expired.message) == (
        403,
        "The security token included in the request is expired",
    )


def test_identity_pool_credentials_reach_only_their_own_prefix() -> None:
    alice = session("us-east-1:alice")
    mine = iam(alice, arn("GET", "/users/us-east-1:alice/files"))
    assert mine.allowed, mine.reason
    assert mine.identity["cognitoIdentityId"] == "us-east-1:alice"
    assert mine.identity["userArn"].endswith(
        ":assumed-role/Cognito_users_Auth_Role/CognitoIdentityCredentials"
    )
    theirs = iam(alice, arn("GET", "/users/us-east-1:bob/files"))
    assert theirs.status == 403 and theirs.message is not None
    assert theirs.message.startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Cognito_users_Auth_Role/"
        "CognitoIdentityCredentials is not authorized to perform: execute-api:Invoke"
    )
    assert "explicit deny" not in theirs.message


def test_iam_with_resource_policy_tables_a_and_b() -> None:
    root = sim_auth_iam.IamCaller("testing", engine.Principal.root(ACCOUNT))
    assert iam(root).allowed  # the account's administrator, no resource policy
    deny = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.0/24"}},
        }
    )
    refused = iam(root, resource_policy=deny)
    assert refused.status == 403 and refused.message is not None
    assert refused.message.endswith("with an explicit deny")
    invoke_all = (
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}],
        },
    )
    outsider = sim_auth_iam.IamCaller(
        "AKIAOUTSIDER",
        engine.Principal.user(OUTSIDER, "eve"),
        tuple(engine.load_policy(p, kind="identity") for p in invoke_all),
    )
    assert iam(outsider).status == 403  # Table B: the resource policy is silent
    welcome = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{OUTSIDER}:root"},
            "Action": "execute-api:Invoke",
            "Resource": "*",
        }
    )
    assert iam(outsider, resource_policy=welcome).allowed
    bare = sim_auth_iam.IamCaller("AKIABARE", engine.Principal.user(OUTSIDER, "mallory"))
    assert iam(bare, resource_policy=welcome).status == 403  # Table B: IAM side silent


# -- resource policy only -----------------------------------------------------------------------


def test_open_method_with_resource_policy_needs_an_explicit_allow() -> None:
    assert sim_auth.resource_policy_only(None, arn(), {}, ACCOUNT).allowed
    vpce_only = sim_auth.load_resource_policy(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "execute-api:Invoke",
                        "Resource": "execute-api:/*",
                        "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
                    }
                ],
            }
        ),
        f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API}",
    )
    through = sim_auth.request_context_keys("10.0.0.5", "vpce-1a2b3c4d")
    assert sim_auth.resource_policy_only(vpce_only, arn(), through, ACCOUNT).allowed
    outside = sim_auth.resource_policy_only(
        vpce_only, arn(), sim_auth.request_context_keys("10.0.0.5", None), ACCOUNT
    )
    assert (outside.status, outside.message_key) == (403, "Message")
    assert outside.message == (
        "User: anonymous is not authorized to perform: execute-api:Invoke on resource: "
        f"arn:aws:execute-api:{REGION}:********9012:{API}/dev/GET/orders"
    )
    # An account principal names IAM callers: an unsigned request is nobody, so it is refused.
    accounts = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ACCOUNT},
            "Action": "execute-api:Invoke",
            "Resource": "*",
        }
    )
    assert not sim_auth.resource_policy_only(accounts, arn(), {}, ACCOUNT).allowed


def test_table_a() -> None:
    table = {
        ("allow", "allow"): "allow",
        ("allow", "neutral"): "allow",
        ("allow", "deny"): "explicit-deny",
        ("neutral", "allow"): "allow",
        ("neutral", "neutral"): "implicit-deny",
        ("neutral", "deny"): "explicit-deny",
        ("deny", "allow"): "explicit-deny",
        ("deny", "neutral"): "explicit-deny",
        ("deny", "deny"): "explicit-deny",
    }
    for (authorizer_says, policy_says), outcome in table.items():
        assert sim_auth.combine_table_a(authorizer_says, policy_says) == outcome  # type: ignore[arg-type]


def test_iam_decides_other_execute_api_actions_too() -> None:
    # execute-api:InvalidateCache (a Cache-Control: max-age=0 request) is asked of the same
    # engine: a caller allowed only to invoke may not flush the cache.
    invoke_only = sim_auth_iam.IamCaller(
        "AKIAREADER",
        engine.Principal.user(ACCOUNT, "reader"),
        (
            engine.load_policy(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}
                    ],
                },
                kind="identity",
            ),
        ),
    )
    common: dict[str, Any] = {"signed": True, "now": NOW, "method_arn": arn(), "owner": ACCOUNT}
    assert sim_auth_iam.decide(invoke_only, **common).allowed
    flush = sim_auth_iam.decide(invoke_only, action="execute-api:InvalidateCache", **common)
    assert flush.status == 403 and flush.message is not None
    assert "execute-api:InvalidateCache" in flush.message


def test_identity_sources_read_headers_query_stage_variables_and_context() -> None:
    req = request(headers={"X-Team": "blue"}, query=[("user", "a"), ("user", "b")])
    assert sim_auth_lambda.identity_value("method.request.header.x-team", req) == "blue"
    assert sim_auth_lambda.identity_value("method.request.querystring.user", req) == "b"
    assert sim_auth_lambda.identity_value("stageVariables.env", req) == "dev"
    assert sim_auth_lambda.identity_value("context.identity.sourceIp", req) == "1.2.3.4"
    assert sim_auth_lambda.identity_value("context.nothing.here", req) is None
    assert sim_auth_lambda.identity_value("method.request.header.Missing", req) is None
