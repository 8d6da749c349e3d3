"""The serverless API lab's checks on users: ``orders_auth`` (a user pool signs users in for
the orders API) and ``own_files`` (an identity pool gives each user only their own S3 prefix).

``orders_auth``: the learner writes ``create_user_pool(idp)`` (returns ``(pool_id,
client_id)``), ``orders_handler(event, context)`` (the orders backend, deployed by the check)
and ``create_orders_api(apig, pool_arn, function_arn)`` (``POST /orders`` and
``DELETE /orders/{id}`` on a ``prod`` stage; with a fourth parameter it is also given
``deploy(handler)``, which deploys a function of the learner's, such as a Lambda authorizer, and
returns its ARN). In a world of its own the check signs two users up
through the learner's app client, reads their codes from the sandbox mailbox, confirms them, puts
one in ``admins``, signs both in, and calls the API over HTTP:

- nobody without a token may post or delete; a signed-in user may post; only an admin deletes;
- a token whose claims were edited (``admins`` added), one signed with another key, one from
  another pool and one past its ``exp`` on the lab clock are all refused with 401.

``own_files``: the learner writes ``create_identity_pool(identity, iam, user_pool_id, client_id,
bucket)``. The check signs two users in, trades their tokens (and a guest's nothing) for
credentials and tries S3 with them: each user reads, writes and lists ``private/<identity id>/``
and nobody else's; a guest reaches no user's prefix; and another identity pool of the account
cannot hand out the learner's role (the role trusts only the learner's pool).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

from labkit.grading.checks import CheckContext, short
from labkit.labs.lambda_handlers import deploy
from labkit.labs.serverless_api_support import (
    PASSWORD,
    REGION,
    allow_api_gateway,
    body_of,
    expect_stages,
    http,
    invoke_url,
    resolve_api,
)

USERS = ("ana@example.com", "ben@example.com")
ADMIN, MEMBER = USERS
FILES_BUCKET = "user-files"

FLOW_HINT = (
    "Give the app client `ExplicitAuthFlows=['ALLOW_USER_PASSWORD_AUTH', "
    "'ALLOW_REFRESH_TOKEN_AUTH']` so users sign in with `initiate_auth`."
)
VERIFY_HINT = (
    "Create the pool with `AutoVerifiedAttributes=['email']`: Cognito then mails a code at "
    "sign-up, and `confirm_sign_up` with it confirms the user."
)
AUTHORIZER_HINT = (
    "A `COGNITO_USER_POOLS` authorizer with `providerARNs=[pool_arn]` and "
    "`identitySource='method.request.header.Authorization'`, used by both methods "
    "(`authorizationType='COGNITO_USER_POOLS', authorizerId=...`): API Gateway then checks the "
    "signature, the issuer and `exp` itself."
)
ADMINS_HINT = (
    "In `orders_handler`, read the groups API Gateway passes in "
    "`event['requestContext']['authorizer']['claims']['cognito:groups']` and answer 403 to a "
    "DELETE from anyone outside `admins`."
)
OWN_PREFIX_HINT = (
    "The authenticated role's policy: s3:GetObject and s3:PutObject on "
    f"`arn:aws:s3:::{FILES_BUCKET}/private/${{cognito-identity.amazonaws.com:sub}}/*`, and "
    f"s3:ListBucket on the bucket with the condition `s3:prefix` like "
    "`private/${cognito-identity.amazonaws.com:sub}/*`."
)
TRUST_HINT = (
    "The role's trust policy lets `cognito-identity.amazonaws.com` "
    "`sts:AssumeRoleWithWebIdentity` only with `StringEquals` on "
    "`cognito-identity.amazonaws.com:aud` (your identity pool's id) and `ForAnyValue:StringLike` "
    "on `cognito-identity.amazonaws.com:amr` (`authenticated`)."
)


# -- signing users up and in --------------------------------------------------------------------
def _pool_and_client(ctx: CheckContext, value: Any) -> tuple[str, str]:
    if isinstance(value, Mapping):
        pool = next((v for k, v in value.items() if "pool" in str(k).lower()), None)
        client = next((v for k, v in value.items() if "client" in str(k).lower()), None)
        value = (pool, client)
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, str) for v in value)
    ):
        return str(value[0]), str(value[1])
    ctx.fail(
        f"`create_user_pool` returned {short(value)}, not `(pool_id, client_id)`.",
        hint="Return the pool's id and the app client's id: `return pool_id, client_id`.",
    )


def _secret_hash(ctx: CheckContext, pool: str, client: str, user: str) -> dict[str, str]:
    """``SecretHash`` when the app client has a secret (then every call must carry it)."""
    described = ctx.client("cognito-idp").describe_user_pool_client(
        UserPoolId=pool, ClientId=client
    )["UserPoolClient"]
    secret = described.get("ClientSecret")
    if not secret:
        return {}
    digest = hmac.new(str(secret).encode(), (user + client).encode(), hashlib.sha256).digest()
    return {"SECRET_HASH": base64.b64encode(digest).decode()}


def _sign_up(ctx: CheckContext, pool: str, client: str, email: str) -> None:
    from botocore.exceptions import ClientError

    from labkit.sandbox.mailbox import mailbox

    idp = ctx.client("cognito-idp")
    secret = _secret_hash(ctx, pool, client, email)
    extra = {"SecretHash": secret["SECRET_HASH"]} if secret else {}
    try:
        idp.sign_up(
            ClientId=client,
            Username=email,
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": email}],
            **extra,
        )
    except ClientError as exc:
        error = exc.response["Error"]
        ctx.fail(
            f"Signing {email} up through your app client failed: {error['Code']}: "
            f"{error['Message']}",
            hint="Users sign themselves up (`sign_up`) with an email address as their name "
            "and a strong password; do not switch self sign-up off.",
        )
    mail = mailbox(ctx.sandbox).latest(email)
    if mail is None or not mail.code:
        ctx.fail(
            f"Signing {email} up sent no confirmation code: the pool verifies no attribute, so "
            "users can never confirm themselves.",
            hint=VERIFY_HINT,
        )
    idp.confirm_sign_up(ClientId=client, Username=email, ConfirmationCode=mail.code, **extra)


def _sign_in(ctx: CheckContext, pool: str, client: str, email: str) -> dict[str, str]:
    from botocore.exceptions import ClientError

    params = {"USERNAME": email, "PASSWORD": PASSWORD, **_secret_hash(ctx, pool, client, email)}
    try:
        result = ctx.client("cognito-idp").initiate_auth(
            ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params
        )
    except ClientError as exc:
        error = exc.response["Error"]
        ctx.fail(
            f"Signing {email} in with USER_PASSWORD_AUTH failed: {error['Code']}: "
            f"{error['Message']}",
            hint=FLOW_HINT,
        )
    tokens = result.get("AuthenticationResult") or {}
    if "IdToken" not in tokens:
        ctx.fail(
            f"Signing {email} in asked for a challenge ({result.get('ChallengeName')}), "
            "not tokens.",
            hint="No MFA and no forced password change for users who sign themselves up.",
        )
    return {"id": str(tokens["IdToken"]), "access": str(tokens["AccessToken"])}


def users_signed_in(ctx: CheckContext, pool: str, client: str) -> dict[str, dict[str, str]]:
    """Both users signed up, confirmed (the admin put in ``admins``) and signed in."""
    from botocore.exceptions import ClientError

    for email in USERS:
        _sign_up(ctx, pool, client, email)
    try:
        ctx.client("cognito-idp").admin_add_user_to_group(
            UserPoolId=pool, Username=ADMIN, GroupName="admins"
        )
    except ClientError:
        ctx.fail(
            "The pool has no group called `admins`.",
            hint="Create it in `create_user_pool`: `idp.create_group(UserPoolId=pool_id, "
            "GroupName='admins')`.",
        )
    return {email: _sign_in(ctx, pool, client, email) for email in USERS}


# -- forging tokens -----------------------------------------------------------------------------
def edited(token: str, change: Callable[[dict[str, Any]], None]) -> str:
    """``token`` with its claims changed by ``change`` and its original signature kept."""
    from labkit.services.cognitoidp.sim_tokens import b64url, unb64url

    head, payload, signature = token.split(".")
    claims = json.loads(unb64url(payload))
    change(claims)
    return f"{head}.{b64url(json.dumps(claims).encode())}.{signature}"


def resigned(token: str) -> str:
    """``token``'s claims, with ``admins`` added, signed by a key that is not the pool's."""
    from labkit.services.cognitoidp.sim_tokens import PoolKeys, decode

    claims = dict(decode(token).claims)
    claims["cognito:groups"] = ["admins"]
    return PoolKeys("forger").sign(claims, str(claims.get("token_use", "id")))


# -- orders_auth --------------------------------------------------------------------------------
class _Orders:
    """Calls to the learner's orders API with one kind of token (ID or access)."""

    def __init__(self, ctx: CheckContext, api: str, kind: str) -> None:
        self.ctx, self.base, self.kind = ctx, invoke_url(api, "prod"), kind

    def post(self, token: str | None) -> Any:
        headers = {"Authorization": token} if token else {}
        return http("POST", self.base + "/orders", json={"item": "lamp"}, headers=headers)

    def delete(self, token: str | None) -> Any:
        headers = {"Authorization": token} if token else {}
        return http("DELETE", self.base + "/orders/o-1", headers=headers)


def _ok(response: Any) -> bool:
    return 200 <= int(response.status_code) < 300


def _token_kind(ctx: CheckContext, api: str, tokens: dict[str, str]) -> _Orders:
    """The kind of token the API takes (the ID token; the access token when the methods ask
    for OAuth scopes); fails when it takes neither."""
    for kind in ("id", "access"):
        orders = _Orders(ctx, api, kind)
        got = orders.post(tokens[kind])
        if _ok(got):
            return orders
    ctx.fail(
        f"POST /orders with {MEMBER}'s ID token (in the Authorization header) answered "
        f"{body_of(got)}: a signed-in user cannot order.",
        hint=AUTHORIZER_HINT,
    )


def _expect_refused(ctx: CheckContext, got: Any, what: str, hint: str) -> None:
    if got.status_code != 401:
        ctx.fail(f"{what} answered {body_of(got)}, not 401 Unauthorized.", hint=hint)


def _takes_deploy(func: Callable[..., Any]) -> bool:
    """Whether ``create_orders_api`` asks for a fourth argument, ``deploy`` (for functions of
    its own, such as a Lambda authorizer)."""
    import inspect

    try:
        parameters = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 4 or any(p.kind is p.VAR_POSITIONAL for p in parameters)


def _deployer(ctx: CheckContext) -> Callable[..., str]:
    """``deploy(handler, name=None)``: the learner's function deployed in the check's world,
    invocable by API Gateway; returns its ARN."""

    def deploy_function(handler: Callable[..., Any], name: str | None = None) -> str:
        arn = deploy(ctx, handler, name or handler.__name__.replace("_", "-"), {})
        allow_api_gateway(ctx, arn)
        return arn

    return deploy_function


def check_orders_auth(ctx: CheckContext) -> None:
    """Signed-in users post, admins delete; edited, foreign and expired tokens get 401."""
    from labkit.services.cognitoidp.sim_tokens import decode

    make_pool = ctx.function("create_user_pool")
    handler = ctx.function("orders_handler")
    make_api = ctx.function("create_orders_api")
    idp, apig = ctx.client("cognito-idp"), ctx.client("apigateway")
    pool, client = _pool_and_client(ctx, ctx.call(make_pool, idp))
    pool_arn = idp.describe_user_pool(UserPoolId=pool)["UserPool"]["Arn"]
    function = deploy(ctx, handler, "orders", {})
    allow_api_gateway(ctx, function)
    extra = [_deployer(ctx)] if _takes_deploy(make_api) else []
    api = resolve_api(
        ctx, ctx.call(make_api, apig, pool_arn, function, *extra), "create_orders_api"
    )
    expect_stages(ctx, api, ("prod",), "create_orders_api")
    tokens = users_signed_in(ctx, pool, client)
    orders = _token_kind(ctx, api, tokens[MEMBER])
    member, admin = tokens[MEMBER][orders.kind], tokens[ADMIN][orders.kind]

    for verb, call in (("POST /orders", orders.post), ("DELETE /orders/o-1", orders.delete)):
        got = call(None)
        if got.status_code not in (401, 403):
            ctx.fail(
                f"{verb} without a token answered {body_of(got)}: anyone may do it.",
                hint=AUTHORIZER_HINT,
            )
    got = orders.delete(member)
    if _ok(got):
        ctx.fail(
            f"DELETE /orders/o-1 as {MEMBER}, who is not in `admins`, answered {body_of(got)}.",
            hint=ADMINS_HINT,
        )
    got = orders.delete(admin)
    if not _ok(got):
        ctx.fail(
            f"DELETE /orders/o-1 as {ADMIN}, in `admins`, answered {body_of(got)}.",
            hint=ADMINS_HINT + " (API Gateway passes the groups as one string: 'admins', or "
            "several joined with commas.)",
        )

    def add_admins(claims: dict[str, Any]) -> None:
        claims["cognito:groups"] = ["admins"]

    _expect_refused(
        ctx,
        orders.delete(edited(member, add_admins)),
        f"DELETE with {MEMBER}'s token, its claims edited to add `admins` (the signature kept)",
        AUTHORIZER_HINT + " A handler or authorizer that only decodes the token trusts "
        "whatever it says.",
    )
    _expect_refused(
        ctx,
        orders.post(resigned(member)),
        "POST with a token signed by a key that is not the pool's",
        AUTHORIZER_HINT,
    )
    _expect_refused(
        ctx,
        orders.post(foreign_token(ctx)),
        "POST with a token from another user pool",
        AUTHORIZER_HINT,
    )
    expires = float(decode(member).claims["exp"])
    ctx.clock.advance_to(expires + 1)
    _expect_refused(
        ctx,
        orders.post(member),
        f"POST with {MEMBER}'s token 1 s after its `exp` (lab clock)",
        AUTHORIZER_HINT,
    )


def foreign_token(ctx: CheckContext) -> str:
    """An ID token of a user of another pool in the account (the check's own)."""
    idp = ctx.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="check-elsewhere")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="elsewhere", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="eve", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="eve", Password=PASSWORD, Permanent=True)
    result = idp.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "eve", "PASSWORD": PASSWORD},
    )
    return str(result["AuthenticationResult"]["IdToken"])


# -- own_files ----------------------------------------------------------------------------------
def _user_pool(ctx: CheckContext) -> tuple[str, str]:
    idp = ctx.client("cognito-idp")
    pool = idp.create_user_pool(
        PoolName="files-users", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="files-web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pool, GroupName="admins")
    return str(pool), str(client)


def _identity_pool(ctx: CheckContext, value: Any) -> str:
    identity = ctx.client("cognito-identity")
    if isinstance(value, Mapping):
        value = value.get("IdentityPoolId", value)
    pools = identity.list_identity_pools(MaxResults=60)["IdentityPools"]
    for pool in pools:
        if value in (pool["IdentityPoolId"], pool["IdentityPoolName"]):
            return str(pool["IdentityPoolId"])
    ctx.fail(
        f"`create_identity_pool` returned {short(value)}, which names no identity pool.",
        hint="Return `create_identity_pool(...)['IdentityPoolId']`.",
    )


def _credentials(ctx: CheckContext, pool: str, logins: dict[str, str] | None, who: str) -> Any:
    """An S3 client with the credentials ``who`` gets from ``pool`` (``None`` when refused),
    and the identity id."""
    from botocore.exceptions import ClientError

    identity = ctx.client("cognito-identity")
    extra = {"Logins": logins} if logins else {}
    try:
        found = identity.get_id(IdentityPoolId=pool, **extra)["IdentityId"]
        got = identity.get_credentials_for_identity(IdentityId=found, **extra)["Credentials"]
    except ClientError as exc:
        return None, str(exc.response["Error"]["Message"])
    s3 = ctx.client(
        "s3",
        aws_access_key_id=got["AccessKeyId"],
        aws_secret_access_key=got["SecretKey"],
        aws_session_token=got["SessionToken"],
    )
    return s3, str(found)


def _allowed(call: Callable[[], Any]) -> bool:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("AccessDenied", "403"):
            return False
        raise
    return True


def _expect_own_prefix(ctx: CheckContext, s3: Any, me: str, who: str) -> None:
    key = f"private/{me}/notes.txt"
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("write", lambda: s3.put_object(Bucket=FILES_BUCKET, Key=key, Body=who.encode())),
        ("read", lambda: s3.get_object(Bucket=FILES_BUCKET, Key=key)),
        ("list", lambda: s3.list_objects_v2(Bucket=FILES_BUCKET, Prefix=f"private/{me}/")),
    ]
    for verb, call in steps:
        if not _allowed(call):
            ctx.fail(
                f"{who} (identity {me}) was refused when they tried to {verb} their own "
                f"`private/{me}/` in `{FILES_BUCKET}`.",
                hint=OWN_PREFIX_HINT,
            )


GUEST_HINT = (
    "Guests (no sign-in) get the identity pool's unauthenticated role: give them none "
    "(`AllowUnauthenticatedIdentities=False`), or a role that reaches only what is public "
    "(e.g. s3:GetObject on `public/*`), never `private/`."
)


def _expect_not_theirs(
    ctx: CheckContext, s3: Any, other: str, who: str, whose: str, hint: str = ""
) -> None:
    key = f"private/{other}/notes.txt"
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("read", lambda: s3.get_object(Bucket=FILES_BUCKET, Key=key)),
        ("overwrite", lambda: s3.put_object(Bucket=FILES_BUCKET, Key=key, Body=b"mine now")),
        ("list", lambda: s3.list_objects_v2(Bucket=FILES_BUCKET, Prefix=f"private/{other}/")),
    ]
    for verb, call in steps:
        if _allowed(call):
            ctx.fail(
                f"{who} could {verb} {whose} `private/{other}/` in `{FILES_BUCKET}`.",
                hint=hint
                or OWN_PREFIX_HINT + " A policy on `private/*` lets every user into every prefix.",
            )


def check_own_files(ctx: CheckContext) -> None:
    """Each user reaches only their own prefix; guests and other pools reach none."""
    make = ctx.function("create_identity_pool")
    identity, iam = ctx.client("cognito-identity"), ctx.client("iam")
    ctx.client("s3").create_bucket(Bucket=FILES_BUCKET)
    pool, client = _user_pool(ctx)
    made = ctx.call(make, identity, iam, pool, client, FILES_BUCKET)
    identity_pool = _identity_pool(ctx, made)
    provider = f"cognito-idp.{REGION}.amazonaws.com/{pool}"
    tokens = users_signed_in(ctx, pool, client)
    people: dict[str, tuple[Any, str]] = {}
    for email in USERS:
        s3, found = _credentials(ctx, identity_pool, {provider: tokens[email]["id"]}, email)
        if s3 is None:
            ctx.fail(
                f"{email}, signed in, got no credentials from the identity pool: {found}",
                hint="List the user pool and its app client in `CognitoIdentityProviders` "
                "(`ProviderName` cognito-idp.<region>.amazonaws.com/<pool id>), and set the "
                "pool's `authenticated` role with `set_identity_pool_roles`. " + TRUST_HINT,
            )
        people[email] = (s3, found)
    (ana_s3, ana), (ben_s3, ben) = people[ADMIN], people[MEMBER]
    if ana == ben:
        ctx.fail("Both users got the same identity id.", hint="Each login gets its own identity.")
    _expect_own_prefix(ctx, ana_s3, ana, ADMIN)
    _expect_own_prefix(ctx, ben_s3, ben, MEMBER)
    _expect_not_theirs(ctx, ana_s3, ben, ADMIN, f"{MEMBER}'s")
    _expect_not_theirs(ctx, ben_s3, ana, MEMBER, f"{ADMIN}'s")

    guest, _ = _credentials(ctx, identity_pool, None, "a guest")
    if guest is not None:
        _expect_not_theirs(ctx, guest, ana, "A guest (no sign-in)", f"{ADMIN}'s", GUEST_HINT)

    # Another identity pool of the account, pointed at the learner's role, must get nothing.
    roles = identity.get_identity_pool_roles(IdentityPoolId=identity_pool).get("Roles", {})
    role = roles.get("authenticated")
    if role:
        other = identity.create_identity_pool(
            IdentityPoolName="check_elsewhere",
            AllowUnauthenticatedIdentities=False,
            CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": client}],
        )["IdentityPoolId"]
        identity.set_identity_pool_roles(IdentityPoolId=other, Roles={"authenticated": role})
        stolen, _ = _credentials(ctx, other, {provider: tokens[MEMBER]["id"]}, MEMBER)
        if stolen is not None:
            ctx.fail(
                f"Another identity pool of the account got credentials of your role "
                f"`{role.rsplit('/', 1)[-1]}`: its trust policy trusts every identity pool.",
                hint=TRUST_HINT,
            )
