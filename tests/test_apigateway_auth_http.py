"""Authorizers over HTTP: a REST API in the sandbox called with ``requests`` at its invoke URL,
secured by a Cognito user pool, a Lambda authorizer, IAM (SigV4) and a resource policy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from apigateway_support import ECHO, grant, lambda_uri, proxy, trace, url
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lambda_support import create, events_of

import labkit
from labkit.lab import Lab
from labkit.sandbox.environment import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY
from labkit.services.cognitoidp.sim_tokens import b64url, unb64url

PASSWORD = "Corr3ct-Horse!"
ACCOUNT = "123456789012"

#: DELETE only for the admins group, read from the claims the authorizer passes.
ORDERS = """
import json
def lambda_handler(event, context):
    claims = event["requestContext"]["authorizer"]["claims"]
    groups = claims.get("cognito:groups", "").split(",")
    if event["httpMethod"] == "DELETE" and "admins" not in groups:
        return {"statusCode": 403, "body": json.dumps({"error": "admins only"})}
    return {"statusCode": 200, "body": json.dumps(event)}
"""

#: A TOKEN authorizer: "allow-<user>" → Allow on every method, "deny" → Deny,
#: "boom" → crash, anything else → Unauthorized. Prints each event (the tests count calls).
GATE = """
import json
def lambda_handler(event, context):
    print(json.dumps(event))
    token = event.get("authorizationToken") or event["headers"].get("X-Team", "")
    if token == "boom":
        raise KeyError("boom")
    if token.startswith("allow"):
        effect, user = "Allow", token.split("-", 1)[-1]
    elif token == "deny":
        effect, user = "Deny", "nobody"
    else:
        raise Exception("Unauthorized")
    arn = event["methodArn"].split("/")[0] + "/*"
    return {
        "principalId": user,
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn}]},
        "context": {"team": "blue", "level": 3},
        "usageIdentifierKey": user,
    }
"""


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def api_with(
    lab: Lab,
    routes: list[tuple[str, str, dict[str, Any]]],
    integration: dict[str, Any],
    *,
    authorizer: dict[str, Any] | None = None,
    policy: dict[str, Any] | None = None,
) -> tuple[str, str | None]:
    """A REST API with ``routes`` (path, verb, put_method arguments), an optional authorizer
    (its id replaces ``"AUTH"``) and resource policy, deployed to ``dev``."""
    apig = lab.client("apigateway")
    extra = {"policy": json.dumps(policy)} if policy else {}
    api = str(apig.create_rest_api(name="shop", **extra)["id"])
    auth_id = None
    if authorizer is not None:
        auth_id = str(apig.create_authorizer(restApiId=api, **authorizer)["id"])
    ids = {"/": apig.get_resources(restApiId=api)["items"][0]["id"]}
    for path, verb, args in routes:
        parent = "/"
        for part in [p for p in path.split("/") if p]:
            here = f"{parent.rstrip('/')}/{part}"
            if here not in ids:
                ids[here] = apig.create_resource(
                    restApiId=api, parentId=ids[parent], pathPart=part
                )["id"]
            parent = here
        args = dict(args)
        if args.get("authorizerId") == "AUTH":
            args["authorizerId"] = auth_id
        apig.put_method(restApiId=api, resourceId=ids[path], httpMethod=verb, **args)
        apig.put_integration(restApiId=api, resourceId=ids[path], httpMethod=verb, **integration)
    grant(lab, api, integration)
    apig.create_deployment(restApiId=api, stageName="dev")
    return api, auth_id


# -- Cognito user pools ---------------------------------------------------------------------------


def user_pool(lab: Lab) -> tuple[str, str, str]:
    """A pool with app clients ``web`` and ``other``, users alice (admins) and bob."""
    idp = lab.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="shop")["UserPool"]["Id"]
    web, other = (
        idp.create_user_pool_client(
            UserPoolId=pool, ClientName=name, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        for name in ("web", "other")
    )
    idp.create_group(UserPoolId=pool, GroupName="admins")
    for name in ("alice", "bob"):
        idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS")
        idp.admin_set_user_password(
            UserPoolId=pool, Username=name, Password=PASSWORD, Permanent=True
        )
    idp.admin_add_user_to_group(UserPoolId=pool, Username="alice", GroupName="admins")
    return pool, web, other


def sign_in(lab: Lab, client: str, name: str, kind: str = "IdToken") -> str:
    result = lab.client("cognito-idp").initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD},
    )
    return str(result["AuthenticationResult"][kind])


def cognito_api(lab: Lab, pool: str, **authorizer: Any) -> str:
    fn = create(lab, "orders", ORDERS)
    method = {"authorizationType": "COGNITO_USER_POOLS", "authorizerId": "AUTH"}
    api, _ = api_with(
        lab,
        [("/orders", "POST", method), ("/orders/{id}", "DELETE", method)],
        proxy(fn),
        authorizer={
            "name": "users",
            "type": "COGNITO_USER_POOLS",
            "providerARNs": [f"arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/{pool}"],
            "identitySource": "method.request.header.Authorization",
            **authorizer,
        },
    )
    return api


def test_signed_in_users_may_post_and_only_admins_may_delete(lab: Lab) -> None:
    pool, web, _ = user_pool(lab)
    api = cognito_api(lab, pool)
    alice, bob = sign_in(lab, web, "alice"), sign_in(lab, web, "bob")

    anonymous = requests.post(url(api, "dev", "/orders"), json={})
    assert (anonymous.status_code, anonymous.json()) == (401, {"message": "Unauthorized"})
    assert anonymous.headers["x-amzn-ErrorType"] == "UnauthorizedException"

    posted = requests.post(url(api, "dev", "/orders"), json={}, headers={"Authorization": bob})
    assert posted.status_code == 200, posted.text
    claims = posted.json()["requestContext"]["authorizer"]["claims"]
    assert claims["cognito:username"] == "bob" and claims["aud"] == web
    assert "principalId" not in posted.json()["requestContext"]["authorizer"]

    as_bob = requests.delete(url(api, "dev", "/orders/7"), headers={"Authorization": bob})
    assert as_bob.status_code == 403  # the function's answer: bob is no admin
    as_alice = requests.delete(url(api, "dev", "/orders/7"), headers={"Authorization": alice})
    assert as_alice.status_code == 200
    assert as_alice.json()["requestContext"]["authorizer"]["claims"]["cognito:groups"] == "admins"

    entry = trace(api)[-1]
    assert entry.authorizer == "COGNITO_USER_POOLS" and "alice" in entry.auth_reason


def test_forged_expired_and_other_pools_tokens_get_401(lab: Lab) -> None:
    pool, web, _ = user_pool(lab)
    api = cognito_api(lab, pool)
    bob = sign_in(lab, web, "bob")
    head, payload, signature = bob.split(".")
    claims = json.loads(unb64url(payload))
    claims["cognito:groups"] = ["admins"]
    forged = f"{head}.{b64url(json.dumps(claims).encode())}.{signature}"
    r = requests.delete(url(api, "dev", "/orders/7"), headers={"Authorization": forged})
    assert (r.status_code, r.json()) == (401, {"message": "Unauthorized"})
    assert "forged" in trace(api)[-1].auth_reason

    idp = lab.client("cognito-idp")
    elsewhere = idp.create_user_pool(PoolName="elsewhere")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=elsewhere, ClientName="x", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=elsewhere, Username="eve", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=elsewhere, Username="eve", Password=PASSWORD, Permanent=True
    )
    eve = sign_in(lab, client, "eve")
    r = requests.post(url(api, "dev", "/orders"), json={}, headers={"Authorization": eve})
    assert r.status_code == 401

    lab.clock.advance(3600)  # ID tokens live an hour by default
    r = requests.post(url(api, "dev", "/orders"), json={}, headers={"Authorization": bob})
    assert (r.status_code, r.json()) == (401, {"message": "The incoming token has expired"})


def test_wrong_audience_and_scopes(lab: Lab) -> None:
    pool, web, other = user_pool(lab)
    api = cognito_api(lab, pool, identityValidationExpression=web)
    mine = requests.post(
        url(api, "dev", "/orders"), json={}, headers={"Authorization": sign_in(lab, web, "bob")}
    )
    assert mine.status_code == 200
    theirs = requests.post(
        url(api, "dev", "/orders"), json={}, headers={"Authorization": sign_in(lab, other, "bob")}
    )
    assert (theirs.status_code, theirs.json()) == (401, {"message": "Unauthorized"})
    # No authorizationScopes on the method: an access token is refused, as API Gateway reads
    # the token as an ID token.
    access = sign_in(lab, web, "bob", "AccessToken")
    r = requests.post(url(api, "dev", "/orders"), json={}, headers={"Authorization": access})
    assert r.status_code == 401


def test_a_method_with_scopes_wants_an_access_token_holding_one(lab: Lab) -> None:
    pool, web, _ = user_pool(lab)
    fn = create(lab, "orders", ORDERS)
    scoped = {
        "authorizationType": "COGNITO_USER_POOLS",
        "authorizerId": "AUTH",
        "authorizationScopes": ["aws.cognito.signin.user.admin"],
    }
    other_scope = dict(scoped, authorizationScopes=["orders/write"])
    api, _ = api_with(
        lab,
        [("/me", "POST", scoped), ("/orders", "POST", other_scope)],
        proxy(fn),
        authorizer={
            "name": "users",
            "type": "COGNITO_USER_POOLS",
            "providerARNs": [f"arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/{pool}"],
        },
    )
    access = sign_in(lab, web, "bob", "AccessToken")
    ok = requests.post(url(api, "dev", "/me"), json={}, headers={"Authorization": access})
    assert ok.status_code == 200, ok.text
    assert ok.json()["requestContext"]["authorizer"]["claims"]["client_id"] == web
    id_token = requests.post(
        url(api, "dev", "/me"), json={}, headers={"Authorization": sign_in(lab, web, "bob")}
    )
    assert id_token.status_code == 401
    missing = requests.post(url(api, "dev", "/orders"), json={}, headers={"Authorization": access})
    assert missing.status_code == 401
    assert "orders/write" in trace(api)[-1].auth_reason


# -- Lambda authorizers ---------------------------------------------------------------------------


def permit(lab: Lab, source_arn: str, function: str = "gate") -> None:
    """Let API Gateway invoke ``function`` for ``source_arn`` (``lambda add-permission``)."""
    lab.client("lambda").add_permission(
        FunctionName=function,
        StatementId="apigateway",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=source_arn,
    )


def gate_api(lab: Lab, *, allowed: bool = True, **authorizer: Any) -> str:
    """An API whose two GET methods use the GATE authorizer, which API Gateway may invoke for
    this authorizer (``allowed``)."""
    gate = create(lab, "gate", GATE)
    echo = create(lab, "echo", ECHO)
    method = {"authorizationType": "CUSTOM", "authorizerId": "AUTH"}
    spec = {
        "name": "gate",
        "type": "TOKEN",
        "authorizerUri": lambda_uri(gate),
        "identitySource": "method.request.header.Authorization",
    }
    spec.update(authorizer)
    api, auth_id = api_with(
        lab,
        [("/orders", "GET", method), ("/orders/{id}", "GET", method)],
        proxy(echo),
        authorizer=spec,
    )
    if allowed:
        permit(lab, f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{api}/authorizers/{auth_id}")
    return api


def test_token_authorizer_allow_deny_unauthorized_and_failure(lab: Lab) -> None:
    api = gate_api(lab)
    ok = requests.get(url(api, "dev", "/orders"), headers={"Authorization": "allow-ann"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["requestContext"]["authorizer"] == {
        "principalId": "ann",
        "team": "blue",
        "level": "3",
        "integrationLatency": ok.json()["requestContext"]["authorizer"]["integrationLatency"],
    }
    denied = requests.get(url(api, "dev", "/orders"), headers={"Authorization": "deny"})
    assert (denied.status_code, denied.json()) == (
        403,
        {"Message": "User is not authorized to access this resource with an explicit deny"},
    )
    nope = requests.get(url(api, "dev", "/orders"), headers={"Authorization": "guess"})
    assert (nope.status_code, nope.json()) == (401, {"message": "Unauthorized"})
    boom = requests.get(url(api, "dev", "/orders"), headers={"Authorization": "boom"})
    assert (boom.status_code, boom.json()) == (500, {"message": None})
    assert boom.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"
    missing = requests.get(url(api, "dev", "/orders"))
    assert missing.status_code == 401


def test_api_gateway_must_be_allowed_to_invoke_the_authorizer(lab: Lab) -> None:
    api = gate_api(lab, allowed=False)
    r = requests.get(url(api, "dev", "/orders"), headers={"Authorization": "allow-ann"})
    assert (r.status_code, r.json()) == (500, {"message": None})
    assert "add-permission" in trace(api)[-1].auth_reason
    assert events_of(lab, "gate") == []
    # The console's wider grant (any source of this API) is enough.
    permit(lab, f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{api}/*")
    r = requests.get(url(api, "dev", "/orders"), headers={"Authorization": "allow-ann"})
    assert r.status_code == 200, r.text


def test_an_authorizer_role_must_be_assumable_and_allowed_to_invoke(lab: Lab) -> None:
    # authorizerCredentials instead of a function permission: API Gateway assumes the role
    # (its trust policy must name apigateway.amazonaws.com) and invokes with it.
    iam = lab.client("iam")

    def role(name: str, service: str, actions: list[str]) -> str:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            ],
        }
        arn = str(
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
                "Arn"
            ]
        )
        allow = {"Effect": "Allow", "Action": actions, "Resource": "*"}
        iam.put_role_policy(
            RoleName=name,
            PolicyName="invoke",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow]}),
        )
        return arn

    cases = [
        ("for-lambda", "lambda.amazonaws.com", ["lambda:InvokeFunction"], "assume the provided"),
        ("no-invoke", "apigateway.amazonaws.com", ["s3:GetObject"], "Invalid permissions"),
        ("invoker", "apigateway.amazonaws.com", ["lambda:InvokeFunction"], ""),
    ]
    apig = lab.client("apigateway")
    api = gate_api(lab, allowed=False, authorizerCredentials=role(*cases[0][:3]))
    auth_id = apig.get_authorizers(restApiId=api)["items"][0]["id"]
    for name, service, actions, reason in cases:
        arn = role(name, service, actions) if name != cases[0][0] else None
        if arn is not None:
            apig.update_authorizer(
                restApiId=api,
                authorizerId=auth_id,
                patchOperations=[{"op": "replace", "path": "/authorizerCredentials", "value": arn}],
            )
            apig.create_deployment(restApiId=api, stageName="dev")
        r = requests.get(url(api, "dev", "/orders"), headers={"Authorization": "allow-ann"})
        if reason:
            assert (r.status_code, r.json()) == (500, {"message": None}), name
            assert reason in trace(api)[-1].auth_reason, name
        else:
            assert r.status_code == 200, r.text
    assert len(events_of(lab, "gate")) == 1  # only the last role got the function invoked


def test_token_authorizer_results_are_cached_for_the_ttl_on_the_lab_clock(lab: Lab) -> None:
    api = gate_api(lab, authorizerResultTtlInSeconds=60)
    headers = {"Authorization": "allow-ann"}
    for path in ("/orders", "/orders/1", "/orders/2"):
        assert requests.get(url(api, "dev", path), headers=headers).status_code == 200
    assert len(events_of(lab, "gate")) == 1  # one call, then the cache
    assert "cached" in trace(api)[-1].auth_reason
    lab.clock.advance(60)
    assert requests.get(url(api, "dev", "/orders"), headers=headers).status_code == 200
    assert len(events_of(lab, "gate")) == 2
    # A deploy is not needed for the cache to hold; another token is another cache entry.
    requests.get(url(api, "dev", "/orders"), headers={"Authorization": "allow-bo"})
    assert len(events_of(lab, "gate")) == 3


def test_request_authorizer_needs_its_identity_sources(lab: Lab) -> None:
    api = gate_api(lab, type="REQUEST", identitySource="method.request.header.X-Team")
    assert requests.get(url(api, "dev", "/orders")).status_code == 401
    assert events_of(lab, "gate") == []
    ok = requests.get(url(api, "dev", "/orders"), headers={"X-Team": "allow-cy"})
    assert ok.status_code == 200, ok.text
    (event,) = events_of(lab, "gate")
    assert event["type"] == "REQUEST" and event["headers"]["X-Team"] == "allow-cy"
    assert event["methodArn"].endswith(f"{api}/dev/GET/orders")


def test_an_authorizer_can_supply_the_api_key_of_a_usage_plan(lab: Lab) -> None:
    apig = lab.client("apigateway")
    gate = create(lab, "gate", GATE)
    echo = create(lab, "echo", ECHO)
    api = apig.create_rest_api(name="metered", apiKeySource="AUTHORIZER")["id"]
    auth = apig.create_authorizer(
        restApiId=api,
        name="gate",
        type="TOKEN",
        authorizerUri=lambda_uri(gate),
        identitySource="method.request.header.Authorization",
    )["id"]
    root = apig.get_resources(restApiId=api)["items"][0]["id"]
    res = apig.create_resource(restApiId=api, parentId=root, pathPart="data")["id"]
    apig.put_method(
        restApiId=api,
        resourceId=res,
        httpMethod="GET",
        authorizationType="CUSTOM",
        authorizerId=auth,
        apiKeyRequired=True,
    )
    apig.put_integration(restApiId=api, resourceId=res, httpMethod="GET", **proxy(echo))
    grant(lab, api, proxy(echo))
    apig.create_deployment(restApiId=api, stageName="dev")
    permit(lab, f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{api}/authorizers/{auth}")
    key = apig.create_api_key(name="partner", enabled=True, value="partner-key-0123456789")
    plan = apig.create_usage_plan(name="basic", apiStages=[{"apiId": api, "stage": "dev"}])
    apig.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")

    ok = requests.get(
        url(api, "dev", "/data"), headers={"Authorization": "allow-partner-key-0123456789"}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["requestContext"]["identity"]["apiKeyId"] == key["id"]
    stranger = requests.get(url(api, "dev", "/data"), headers={"Authorization": "allow-nokey"})
    assert (stranger.status_code, stranger.json()) == (403, {"message": "Forbidden"})


# -- IAM ------------------------------------------------------------------------------------------


def signed(method: str, address: str, credentials: Credentials, **headers: str) -> Any:
    request = AWSRequest(method=method, url=address, data=b"", headers=headers)
    SigV4Auth(credentials, "execute-api", "us-east-1").add_auth(request)
    return requests.request(method, address, headers=dict(request.headers.items()))


def iam_api(lab: Lab, policy: dict[str, Any] | None = None, *, name: str = "echo") -> str:
    echo = create(lab, name, ECHO)
    api, _ = api_with(
        lab,
        [("/users/{id}/files", "GET", {"authorizationType": "AWS_IAM"})],
        proxy(echo),
        policy=policy,
    )
    return api


def test_iam_wants_a_valid_signature(lab: Lab) -> None:
    api = iam_api(lab)
    address = url(api, "dev", "/users/me/files")
    r = requests.get(address)
    assert (r.status_code, r.json()) == (403, {"message": "Missing Authentication Token"})
    mine = Credentials(FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY)
    ok = signed("GET", address, mine)
    assert ok.status_code == 200, ok.text
    assert ok.json()["requestContext"]["identity"]["userArn"] == f"arn:aws:iam::{ACCOUNT}:root"
    forged = signed("GET", address, Credentials(FAKE_ACCESS_KEY_ID, "not-the-secret"))
    assert forged.status_code == 403
    assert forged.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    broken = dict(ok.request.headers)
    broken["Authorization"] = broken["Authorization"].split(", Signature=")[0]
    incomplete = requests.get(address, headers=broken)
    assert incomplete.status_code == 403
    assert "not a complete Signature Version 4" in trace(api)[-1].auth_reason
    unknown = signed("GET", address, Credentials("AKIAMADEUP", "x"))
    assert unknown.json() == {"message": "The security token included in the request is invalid."}


def test_identity_pool_users_reach_only_their_own_path(lab: Lab) -> None:
    pool, web, _ = user_pool(lab)
    identity, iam = lab.client("cognito-identity"), lab.client("iam")
    provider = f"cognito-idp.us-east-1.amazonaws.com/{pool}"
    identity_pool = identity.create_identity_pool(
        IdentityPoolName="users",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": web}],
    )["IdentityPoolId"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"cognito-identity.amazonaws.com:aud": identity_pool},
                    "ForAnyValue:StringLike": {
                        "cognito-identity.amazonaws.com:amr": "authenticated"
                    },
                },
            }
        ],
    }
    role = iam.create_role(RoleName="users", AssumeRolePolicyDocument=json.dumps(trust))
    own = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": "arn:aws:execute-api:us-east-1:*:*/*/GET/users/"
                "${cognito-identity.amazonaws.com:sub}/files",
            }
        ],
    }
    iam.put_role_policy(RoleName="users", PolicyName="own", PolicyDocument=json.dumps(own))
    identity.set_identity_pool_roles(
        IdentityPoolId=identity_pool, Roles={"authenticated": role["Role"]["Arn"]}
    )
    api = iam_api(lab)

    def credentials(name: str) -> tuple[str, Credentials]:
        logins = {provider: sign_in(lab, web, name)}
        found = identity.get_id(IdentityPoolId=identity_pool, Logins=logins)["IdentityId"]
        got = identity.get_credentials_for_identity(IdentityId=found, Logins=logins)
        c = got["Credentials"]
        return found, Credentials(c["AccessKeyId"], c["SecretKey"], c["SessionToken"])

    alice_id, alice = credentials("alice")
    bob_id, _ = credentials("bob")
    own_files = signed("GET", url(api, "dev", f"/users/{alice_id}/files"), alice)
    assert own_files.status_code == 200, own_files.text
    assert own_files.json()["requestContext"]["identity"]["cognitoIdentityId"] == alice_id
    theirs = signed("GET", url(api, "dev", f"/users/{bob_id}/files"), alice)
    assert theirs.status_code == 403
    assert theirs.json()["Message"].startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/users/")
    assert (
        "is not authorized to perform: execute-api:Invoke on resource:" in theirs.json()["Message"]
    )
    no_token = Credentials(alice.access_key, alice.secret_key)  # the session token forgotten
    forgot = signed("GET", url(api, "dev", f"/users/{alice_id}/files"), no_token)
    assert (forgot.status_code, forgot.json()) == (
        403,
        {"message": "The security token included in the request is invalid."},
    )
    lab.clock.advance(3600)  # identity-pool credentials live an hour
    late = signed("GET", url(api, "dev", f"/users/{alice_id}/files"), alice)
    assert (late.status_code, late.json()) == (
        403,
        {"message": "The security token included in the request is expired"},
    )


def test_iam_users_are_decided_by_their_own_policies(lab: Lab) -> None:
    iam = lab.client("iam")
    own = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": "arn:aws:execute-api:*:*:*/dev/GET/users/${aws:username}/files",
            }
        ],
    }
    keys = {}
    for name in ("ann", "ben"):
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="own", PolicyDocument=json.dumps(own))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        keys[name] = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    api = iam_api(lab)
    mine = signed("GET", url(api, "dev", "/users/ann/files"), keys["ann"])
    assert mine.status_code == 200, mine.text
    assert (
        mine.json()["requestContext"]["identity"]["userArn"] == f"arn:aws:iam::{ACCOUNT}:user/ann"
    )
    theirs = signed("GET", url(api, "dev", "/users/ben/files"), keys["ann"])
    assert theirs.status_code == 403
    assert theirs.json()["Message"].startswith(f"User: arn:aws:iam::{ACCOUNT}:user/ann is not")
    iam.create_user(UserName="cat")  # no policy at all
    cat = iam.create_access_key(UserName="cat")["AccessKey"]
    bare = signed(
        "GET",
        url(api, "dev", "/users/cat/files"),
        Credentials(cat["AccessKeyId"], cat["SecretAccessKey"]),
    )
    assert bare.status_code == 403


def test_another_account_needs_the_resource_policy(lab: Lab) -> None:
    outsider = Credentials(FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY)
    closed = iam_api(lab)
    address = url(closed, "dev", "/users/x/files")
    r = signed("GET", address, outsider, **{"x-moto-account-id": "210987654321"})
    assert r.status_code == 403 and r.json()["Message"].startswith(
        "User: arn:aws:iam::210987654321:root is not authorized"
    )
    welcome = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "210987654321"},
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
            }
        ],
    }
    opened = iam_api(lab, welcome, name="echo2")
    r = signed(
        "GET",
        url(opened, "dev", "/users/x/files"),
        outsider,
        **{"x-moto-account-id": "210987654321"},
    )
    assert r.status_code == 200, r.text


# -- resource policies --------------------------------------------------------------------------


def test_open_method_with_resource_policy_by_source_ip(lab: Lab) -> None:
    def policy(cidr: str) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "execute-api:Invoke",
                    "Resource": "execute-api:/*",
                    "Condition": {"IpAddress": {"aws:SourceIp": cidr}},
                }
            ],
        }

    echo = create(lab, "echo", ECHO)
    elsewhere, _ = api_with(
        lab,
        [("/items", "GET", {"authorizationType": "NONE"})],
        proxy(echo),
        policy=policy("192.0.2.0/24"),
    )
    r = requests.get(url(elsewhere, "dev", "/items"))
    assert r.status_code == 403
    assert r.json()["Message"] == (
        "User: anonymous is not authorized to perform: execute-api:Invoke on resource: "
        f"arn:aws:execute-api:us-east-1:********9012:{elsewhere}/dev/GET/items"
    )
    assert trace(elsewhere)[-1].authorizer == "RESOURCE_POLICY"
    here, _ = api_with(
        lab,
        [("/items", "GET", {"authorizationType": "NONE"})],
        proxy(echo),
        policy=policy("127.0.0.0/8"),
    )
    assert requests.get(url(here, "dev", "/items")).status_code == 200


def test_a_new_resource_policy_reaches_callers_when_deployed(lab: Lab) -> None:
    echo = create(lab, "echo", ECHO)
    api, _ = api_with(lab, [("/items", "GET", {"authorizationType": "NONE"})], proxy(echo))
    deny_all = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
            }
        ],
    }
    apig = lab.client("apigateway")
    apig.update_rest_api(
        restApiId=api,
        patchOperations=[{"op": "replace", "path": "/policy", "value": json.dumps(deny_all)}],
    )
    assert requests.get(url(api, "dev", "/items")).status_code == 200
    apig.create_deployment(restApiId=api, stageName="dev")
    r = requests.get(url(api, "dev", "/items"))
    assert r.status_code == 403 and r.json()["Message"].endswith("with an explicit deny")


# -- who may invalidate the stage cache ---------------------------------------------------------


def test_cache_invalidation_is_decided_like_an_iam_request(lab: Lab) -> None:
    echo = create(lab, "echo", ECHO)
    api, _ = api_with(lab, [("/products", "GET", {"authorizationType": "NONE"})], proxy(echo))
    apig = lab.client("apigateway")
    apig.create_deployment(
        restApiId=api, stageName="prod", cacheClusterEnabled=True, cacheClusterSize="0.5"
    )
    apig.update_stage(
        restApiId=api,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/*/*/caching/enabled", "value": "true"}],
    )
    target = url(api, "prod", "/products")
    iam = lab.client("iam")
    flush = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "execute-api:InvalidateCache", "Resource": "*"}
        ],
    }
    iam.create_user(UserName="ops")
    iam.put_user_policy(UserName="ops", PolicyName="flush", PolicyDocument=json.dumps(flush))
    key = iam.create_access_key(UserName="ops")["AccessKey"]
    ops = Credentials(key["AccessKeyId"], key["SecretAccessKey"])

    def request_id(response: Any) -> str:
        assert response.status_code == 200, response.text
        return str(response.json()["requestContext"]["requestId"])

    first = request_id(requests.get(target))
    refreshed = signed("GET", target, ops, **{"Cache-Control": "max-age=0"})
    assert request_id(refreshed) != first
    assert trace(api)[-1].cache == "refresh"
    # The learner's own key with a wrong secret is not the administrator: the header is ignored.
    forged = signed(
        "GET", target, Credentials(FAKE_ACCESS_KEY_ID, "guessed"), **{"Cache-Control": "max-age=0"}
    )
    assert request_id(forged) == request_id(refreshed)
    assert "signature does not match" in trace(api)[-1].steps[3].detail
