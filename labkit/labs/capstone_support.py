"""What the capstone's checks share: building the learner's system in the check's world, finding
its parts as AWS names them, and playing a user (sign up, confirm, sign in, call the API).

The learner writes ``build(aws)``: it builds the whole system with ``aws.client(...)``,
``aws.resource(...)`` and ``aws.deploy_function(handler, name, ...)`` (in the notebook ``aws`` is
the ``lab``; in a check it is a :class:`Builder` on the check's own empty world) and returns a
dict naming what it built. Each part may be named however AWS accepts it (a name, an id, an ARN,
a URL, a domain or the whole ``create_*`` response), and a part the dict leaves out is found in the
sandbox when only one resource could be it. Nothing here looks for the solution's names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labkit.grading.checks import CheckContext, short

ACCOUNT = "123456789012"
#: The lab's home Region (where the checks' worlds start).
REGION = "us-east-1"
#: A password every default (and stricter, up to 20 characters) policy accepts.
PASSWORD = "Corr3ct-Horse-Battery-9!"
#: The parts ``build`` returns, by key, and what each is, in words.
PARTS: Mapping[str, str] = {
    "user_pool": "the Cognito user pool",
    "client": "the user pool's app client",
    "api": "the REST API",
    "orders": "the orders table (DynamoDB global table)",
    "users": "the users table (its stream feeds the welcome function)",
    "dax": "the DAX cluster",
    "website": "the CloudFront distribution of the website",
    "uploads": "the uploads bucket",
}

BUILD_HINT = (
    "`build(aws)` returns a dict such as `{'user_pool': pool_id, 'client': client_id, 'api': "
    "api_id, 'orders': 'orders', 'users': 'users', 'dax': 'orders-cache', 'website': "
    "distribution_id, 'uploads': bucket}`: names, ids or ARNs all work."
)


class Builder:
    """What ``build(aws)`` gets in a check: the check's world, as the notebook's ``lab`` is."""

    def __init__(self, sandbox: Any) -> None:
        self._sandbox = sandbox

    def client(self, *args: Any, **kwargs: Any) -> Any:
        """A boto3 client in the check's world (``boto3.client``'s arguments)."""
        return self._sandbox.client(*args, **kwargs)

    def resource(self, *args: Any, **kwargs: Any) -> Any:
        """A boto3 resource in the check's world (``boto3.resource``'s arguments)."""
        return self._sandbox.resource(*args, **kwargs)

    def deploy_function(self, handler: Any, name: str | None = None, **options: Any) -> str:
        """Deploy ``handler`` as a Lambda function, as ``lab.deploy_function`` does."""
        from labkit.services.awslambda.deploy import deploy_function

        return deploy_function(self._sandbox, handler, name, **options)

    def __repr__(self) -> str:
        return "<the check's AWS world>"


@dataclass
class System:
    """The learner's system as ``build`` returned it, its parts found lazily."""

    ctx: CheckContext
    returned: Mapping[str, Any]
    found: dict[str, Any] = field(default_factory=dict)

    def given(self, key: str) -> Any:
        """What ``build`` returned for ``key`` (a whole response reduced to its id)."""
        value = self.returned.get(key)
        if isinstance(value, Mapping):
            for inner in (
                "Id",
                "id",
                "ClientId",
                "UserPoolId",
                "ARN",
                "Arn",
                "TableName",
                "ClusterName",
                "Name",
                "Bucket",
            ):
                if inner in value:
                    return value[inner]
            nested = [v for v in value.values() if isinstance(v, Mapping)]
            if nested:
                return next(
                    (n.get(i) for n in nested for i in ("Id", "ARN", "Arn", "TableName") if i in n),
                    None,
                )
        return value


def build_system(ctx: CheckContext) -> System:
    """Run the learner's ``build`` in the check's world and keep what it returned."""
    build = ctx.function("build")
    returned = ctx.call(build, Builder(ctx.sandbox), returns=dict)
    unknown = [k for k in returned if k not in PARTS]
    if unknown and not any(k in PARTS for k in returned):
        ctx.fail(
            f"`build` returned a dict with the keys {', '.join(map(repr, unknown))}, none of "
            f"which the checks know ({', '.join(PARTS)}).",
            hint=BUILD_HINT,
        )
    return System(ctx, returned)


def _one(
    ctx: CheckContext,
    key: str,
    given: Any,
    candidates: Sequence[tuple[str, tuple[str, ...]]],
    *,
    prefer: Callable[[str], bool] | None = None,
) -> str:
    """The candidate that ``given`` names (any of its spellings), or the only (or only
    preferred) one when ``given`` is missing. ``candidates``: ``(id, spellings)``."""
    if given not in (None, "", ...):
        text = str(given).strip()
        for ident, spellings in candidates:
            if text == ident or text in spellings:
                return ident
        held = ", ".join(f"`{s[0] if s else i}`" for i, s in candidates) or "none at all"
        ctx.fail(
            f"`build` returned {short(given)} as `{key}` ({PARTS[key]}), which names none of "
            f"those the sandbox holds: {held}.",
            hint=BUILD_HINT,
        )
    pool = [c for c in candidates if prefer is None or prefer(c[0])] or candidates
    if len(pool) == 1:
        return pool[0][0]
    if not pool:
        ctx.fail(
            f"After `build` ran, the sandbox holds no {PARTS[key].removeprefix('the ')}.",
            hint=f"`build` creates {PARTS[key]} and returns it under `{key}`. " + BUILD_HINT,
        )
    ctx.fail(
        f"The sandbox holds {len(pool)} resources that could be {PARTS[key]} "
        f"({', '.join(f'`{s[0]}`' for _, s in pool)}), and `build` did not say which.",
        hint=f"Return it under `{key}`. " + BUILD_HINT,
    )


def user_pool(system: System) -> tuple[str, str]:
    """``(pool id, app client id)``."""
    if "user_pool" in system.found:
        return system.found["user_pool"]  # type: ignore[no-any-return]
    ctx = system.ctx
    idp = ctx.client("cognito-idp")
    pools = idp.list_user_pools(MaxResults=60)["UserPools"]
    candidates = []
    for p in pools:
        arn = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{p['Id']}"
        candidates.append((str(p["Id"]), (str(p["Id"]), str(p.get("Name")), arn)))
    pool = _one(ctx, "user_pool", system.given("user_pool"), candidates)
    clients = idp.list_user_pool_clients(UserPoolId=pool, MaxResults=60)["UserPoolClients"]
    client_candidates = [
        (str(c["ClientId"]), (str(c["ClientId"]), str(c.get("ClientName")))) for c in clients
    ]

    def password_flow(client_id: str) -> bool:
        described = idp.describe_user_pool_client(UserPoolId=pool, ClientId=client_id)
        flows = described["UserPoolClient"].get("ExplicitAuthFlows") or []
        return "ALLOW_USER_PASSWORD_AUTH" in flows or "USER_PASSWORD_AUTH" in flows

    client = _one(ctx, "client", system.given("client"), client_candidates, prefer=password_flow)
    system.found["user_pool"] = (pool, client)
    return pool, client


def rest_api(system: System) -> tuple[str, str]:
    """``(api id, stage)``: the stage is the API's only one, or ``prod`` among several."""
    if "api" in system.found:
        return system.found["api"]  # type: ignore[no-any-return]
    ctx = system.ctx
    apig = ctx.client("apigateway")
    apis = apig.get_rest_apis(limit=500).get("items", [])
    candidates = []
    for a in apis:
        url = f"https://{a['id']}.execute-api.{REGION}.amazonaws.com"
        arn = f"arn:aws:apigateway:{REGION}::/restapis/{a['id']}"
        candidates.append((str(a["id"]), (str(a["id"]), str(a.get("name")), url, url + "/", arn)))
    given = system.given("api")
    if isinstance(given, str) and given.startswith("https://"):
        given = "https://" + given.split("//", 1)[1].split("/", 1)[0]
    api = _one(ctx, "api", given, candidates)
    names = [str(s["stageName"]) for s in apig.get_stages(restApiId=api).get("item", [])]
    if not names:
        ctx.fail(
            f"The REST API {api} has no stage: nothing is deployed, so every request to it "
            "finds nothing.",
            hint="Deploy it: `apig.create_deployment(restApiId=api_id, stageName='prod')`.",
        )
    stage = names[0] if len(names) == 1 else ("prod" if "prod" in names else sorted(names)[0])
    system.found["api"] = (api, stage)
    return api, stage


def table(system: System, key: str, *, region: str = REGION) -> str:
    """The name of the table ``build`` returned under ``key`` (name or ARN)."""
    if key in system.found:
        return system.found[key]  # type: ignore[no-any-return]
    ctx = system.ctx
    client = ctx.client("dynamodb", region_name=region)
    names = client.list_tables().get("TableNames", [])
    candidates = [
        (str(n), (str(n), f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{n}")) for n in names
    ]
    given = system.given(key)
    if isinstance(given, str) and "/stream/" in given:
        given = given.split("/stream/", 1)[0]

    def fits(name: str) -> bool:
        described = client.describe_table(TableName=name)["Table"]
        if key == "orders":
            return bool(described.get("Replicas"))
        return bool(described.get("LatestStreamArn"))

    found = _one(ctx, key, given, candidates, prefer=fits)
    system.found[key] = found
    return found


def dax_cluster(system: System) -> tuple[str, str]:
    """``(cluster name, discovery endpoint URL)``."""
    if "dax" in system.found:
        return system.found["dax"]  # type: ignore[no-any-return]
    ctx = system.ctx
    clusters = ctx.client("dax").describe_clusters().get("Clusters", [])
    candidates = [
        (str(c["ClusterName"]), (str(c["ClusterName"]), str(c.get("ClusterArn")))) for c in clusters
    ]
    given = system.given("dax")
    if isinstance(given, str) and given.startswith(("dax://", "daxs://")):
        given = next(
            (
                c["ClusterName"]
                for c in clusters
                if c.get("ClusterDiscoveryEndpoint", {}).get("URL") == given
            ),
            given,
        )
    name = _one(ctx, "dax", given, candidates)
    cluster = next(c for c in clusters if c["ClusterName"] == name)
    endpoint = str(cluster["ClusterDiscoveryEndpoint"]["URL"])
    system.found["dax"] = (name, endpoint)
    return name, endpoint


def distribution(system: System) -> dict[str, Any]:
    """The website's distribution (``get_distribution``'s ``Distribution``)."""
    if "website" in system.found:
        return system.found["website"]  # type: ignore[no-any-return]
    ctx = system.ctx
    cf = ctx.client("cloudfront")
    items = cf.list_distributions().get("DistributionList", {}).get("Items", []) or []
    candidates = [
        (
            str(d["Id"]),
            (str(d["Id"]), str(d["ARN"]), str(d["DomainName"]), f"https://{d['DomainName']}"),
        )
        for d in items
    ]
    ident = _one(ctx, "website", system.given("website"), candidates)
    found = cf.get_distribution(Id=ident)["Distribution"]
    system.found["website"] = found
    return dict(found)


def uploads_bucket(system: System) -> str:
    """The uploads bucket's name (given as a name or ARN, or the only accelerated bucket)."""
    if "uploads" in system.found:
        return system.found["uploads"]  # type: ignore[no-any-return]
    ctx = system.ctx
    s3 = ctx.client("s3")
    names = [str(b["Name"]) for b in s3.list_buckets().get("Buckets", [])]
    candidates = [(n, (n, f"arn:aws:s3:::{n}", f"s3://{n}")) for n in names]

    def accelerated(name: str) -> bool:
        status = s3.get_bucket_accelerate_configuration(Bucket=name).get("Status")
        return bool(status == "Enabled")

    found = _one(ctx, "uploads", system.given("uploads"), candidates, prefer=accelerated)
    system.found["uploads"] = found
    return found


# -- playing a user -----------------------------------------------------------------------------
def sign_up(ctx: CheckContext, pool: str, client: str, email: str) -> dict[str, str]:
    """Sign ``email`` up through the app client, confirm with the mailed code, sign in; the
    tokens (``IdToken``, ``AccessToken``...) and the user's ``sub``."""
    from labkit.sandbox.mailbox import mailbox

    idp = ctx.client("cognito-idp")
    described = idp.describe_user_pool(UserPoolId=pool)["UserPool"]
    by_email = "email" in (described.get("UsernameAttributes") or [])
    username = email if by_email else email.split("@", 1)[0].replace(".", "-")
    try:
        idp.sign_up(
            ClientId=client,
            Username=username,
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": email}],
        )
    except idp.exceptions.NotAuthorizedException as error:
        ctx.fail(
            f"Signing {email} up through the app client was refused: {error}",
            hint="An app client without a secret (the app runs on phones and in browsers, "
            "where no secret stays secret): leave GenerateSecret out.",
        )
    mail = mailbox(ctx.sandbox).latest(email)
    if mail is None or not mail.code:
        ctx.fail(
            f"{email} signed up, but Cognito sent no confirmation code: the user cannot confirm "
            "their address.",
            hint="Let Cognito verify the email address: `AutoVerifiedAttributes=['email']` on "
            "the user pool.",
        )
    idp.confirm_sign_up(ClientId=client, Username=username, ConfirmationCode=mail.code)
    try:
        tokens = idp.initiate_auth(
            ClientId=client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
    except idp.exceptions.InvalidParameterException as error:
        ctx.fail(
            f"{email} confirmed, but could not sign in with a password: {error}",
            hint="Enable the flow on the app client: "
            "`ExplicitAuthFlows=['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']`.",
        )
    user = idp.get_user(AccessToken=tokens["AccessToken"])
    sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    return {**tokens, "sub": sub, "username": username, "email": email}


def api_url(api: str, stage: str, path: str) -> str:
    """The invoke URL of ``path`` on ``api``'s ``stage``."""
    return f"https://{api}.execute-api.{REGION}.amazonaws.com/{stage}{path}"


def http(method: str, url: str, **kwargs: Any) -> Any:
    """One HTTP request to the sandbox (``requests``, as an app would send it)."""
    import requests

    kwargs.setdefault("timeout", 10)
    return requests.request(method, url, **kwargs)


def body_of(response: Any) -> str:
    """A response as a message quotes it: status and (short) body."""
    return f"{response.status_code} {short(response.text, 90)}"


def place_order(ctx: CheckContext, system: System, token: str, item: str) -> str:
    """``POST /orders`` as a signed-in user; the new order's id (its ``order_id``)."""
    api, stage = rest_api(system)
    response = http(
        "POST",
        api_url(api, stage, "/orders"),
        json={"item": item},
        headers={"Authorization": token},
    )
    if response.status_code not in (200, 201):
        ctx.fail(
            f"A signed-in user's `POST /orders` (stage `{stage}`) answered {body_of(response)}.",
            hint="`POST /orders` with a Cognito authorizer, a Lambda proxy integration to "
            "`orders_handler`, a deployment, and `lambda:InvokeFunction` for API Gateway on "
            "the function.",
        )
    try:
        order = json.loads(response.text)
    except ValueError:
        order = None
    if not isinstance(order, dict) or not order.get("order_id"):
        ctx.fail(
            f"`POST /orders` answered {body_of(response)}: the body names no `order_id`.",
            hint="The handler answers with the stored order as JSON, its id under `order_id`.",
        )
    return str(order["order_id"])


__all__ = [
    "ACCOUNT",
    "BUILD_HINT",
    "PARTS",
    "PASSWORD",
    "REGION",
    "Builder",
    "System",
    "api_url",
    "body_of",
    "build_system",
    "dax_cluster",
    "distribution",
    "http",
    "place_order",
    "rest_api",
    "sign_up",
    "table",
    "uploads_bucket",
    "user_pool",
]
