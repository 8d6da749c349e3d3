"""The capstone's user journeys: each check builds the learner's system in an empty world of its
own (``build(aws)``) and plays users through it, as they would meet it, and outsiders where the
task states who may do what.

- ``sign_up_and_order``: sign up, confirm with the mailed code, sign in, ``POST /orders`` and
  ``GET /orders/{id}`` with the token; no token, another pool's token and another user get in
  nowhere;
- ``welcome_email``: a new user's profile lands in the users table; its stream invokes a function
  whose role allows ``ses:SendEmail``, and the welcome email arrives;
- ``dax_reads``: ``read_order(dax, order_id)`` reads orders through DAX (its cache answers);
- ``region_failure``: with the home Region down, ``get_order(regions, order_id)`` still reads
  every order from another Region of the global table;
- ``accelerated_upload``: ``upload_photo(aws, bucket, key, body)`` from Sydney goes through
  Transfer Acceleration, faster than straight to the Region, and the photo stays private;
- ``website``: the site is served through CloudFront, and its bucket refuses anyone else.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from labkit import edge
from labkit.grading.checks import CheckContext, CheckFailed, short
from labkit.labs.capstone_support import (
    ACCOUNT,
    REGION,
    Builder,
    api_url,
    body_of,
    build_system,
    dax_cluster,
    distribution,
    http,
    place_order,
    rest_api,
    sign_up,
    table,
    uploads_bucket,
    user_pool,
)

#: Who the journeys' users are.
ANA, BEN, EVE = "ana@example.com", "ben@example.com", "eve@example.com"
#: Lab seconds the welcome journey waits for the stream, the function and SES (event source
#: mappings poll a stream about every second: far less than this).
WELCOME_WAIT = 10
#: Lab seconds the failover journey lets replication catch up before the Region fails.
SETTLE = 30
#: The photo uploaded from Sydney: 5 MB.
PHOTO_SIZE = 5_000_000
#: Where the photo's uploader is.
UPLOADER = "Sydney"
#: Reads of each order in the DAX journey.
READS_PER_ORDER = 4


# -- sign up and order --------------------------------------------------------------------------
def _outsider_token(ctx: CheckContext) -> str:
    """A signed-in user of another user pool, the check's own: their ID token."""
    idp = ctx.client("cognito-idp")
    pool = idp.create_user_pool(
        PoolName="someone-elses-app",
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
    )["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="theirs", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    return sign_up(ctx, pool, client, EVE)["IdToken"]


def check_sign_up_and_order(ctx: CheckContext) -> None:
    """A user signs up, confirms, signs in and orders; outsiders get nothing."""
    system = build_system(ctx)
    pool, client = user_pool(system)
    ana = sign_up(ctx, pool, client, ANA)
    ben = sign_up(ctx, pool, client, BEN)
    api, stage = rest_api(system)
    anonymous = http("POST", api_url(api, stage, "/orders"), json={"item": "lamp"})
    if anonymous.status_code < 400:
        ctx.fail(
            f"`POST /orders` with no token at all answered {body_of(anonymous)}: anyone may "
            "order in anyone's name.",
            hint="A Cognito authorizer on the method (`authorizationType='COGNITO_USER_POOLS'`, "
            "`authorizerId=...`), then deploy again: a method changed after the deployment is "
            "not live.",
        )
    order_id = place_order(ctx, system, ana["IdToken"], "lamp")
    mine = http("GET", api_url(api, stage, f"/orders/{order_id}"), headers=_auth(ana))
    got = _json(mine)
    if mine.status_code != 200 or not isinstance(got, dict) or got.get("order_id") != order_id:
        ctx.fail(
            f"{ANA} ordered ({order_id}), then `GET /orders/{order_id}` with her token answered "
            f"{body_of(mine)}.",
            hint="`GET /orders/{id}` (a path parameter) through the same authorizer and "
            "function; the handler reads `event['pathParameters']['id']` and answers the order "
            "as JSON.",
        )
    theirs = http("GET", api_url(api, stage, f"/orders/{order_id}"), headers=_auth(ben))
    if theirs.status_code == 200 and order_id in theirs.text:
        ctx.fail(
            f"{BEN}, signed in, read {ANA}'s order {order_id}: `GET /orders/{{id}}` answered "
            f"{body_of(theirs)}.",
            hint="Store who placed each order (the `email` or `sub` claim in "
            "`event['requestContext']['authorizer']['claims']`) and answer 404 (or 403) when "
            "the caller is someone else.",
        )
    foreign = http(
        "POST",
        api_url(api, stage, "/orders"),
        json={"item": "lamp"},
        headers={"Authorization": _outsider_token(ctx)},
    )
    if foreign.status_code < 400:
        ctx.fail(
            f"A user of another app's user pool ordered: `POST /orders` with their token "
            f"answered {body_of(foreign)}.",
            hint="The authorizer must trust your user pool only (`providerARNs=[pool_arn]`); a "
            "handler that decodes the token itself must check its issuer and signature.",
        )


def _auth(user: dict[str, str]) -> dict[str, str]:
    return {"Authorization": user["IdToken"]}


def _json(response: Any) -> Any:
    try:
        return json.loads(response.text)
    except ValueError:
        return None


# -- welcome email ------------------------------------------------------------------------------
def _profile(ctx: CheckContext, name: str, user: dict[str, str]) -> dict[str, Any]:
    """The new user's profile as the app saves it, keyed as the learner's table is."""
    schema = ctx.client("dynamodb").describe_table(TableName=name)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in schema["AttributeDefinitions"]}
    item: dict[str, Any] = {"email": {"S": user["email"]}, "name": {"S": "Ana"}}
    for key in schema["KeySchema"]:
        attribute = key["AttributeName"]
        if attribute == "email":
            continue
        value = user["sub"] if key["KeyType"] == "HASH" else "profile"
        kind = types.get(attribute, "S")
        item[attribute] = {kind: value if kind == "S" else ("1" if kind == "N" else b"1")}
    return item


WELCOME_HINT = (
    "Turn on the users table's stream (`StreamSpecification`), deploy `welcome_handler`, and "
    "connect them with `create_event_source_mapping(EventSourceArn=stream_arn, "
    "FunctionName=..., StartingPosition='LATEST')`; the handler sends with SES from a verified "
    "identity."
)


def check_welcome_email(ctx: CheckContext) -> None:
    """A new user's profile reaches the users table; the welcome email arrives through Streams,
    Lambda and SES, sent with a role that allows it."""
    from labkit.sandbox.mailbox import mailbox

    system = build_system(ctx)
    pool, client = user_pool(system)
    users = table(system, "users")
    ana = sign_up(ctx, pool, client, ANA)
    before = len(mailbox(ctx.sandbox).messages(ANA))
    ctx.client("dynamodb").put_item(TableName=users, Item=_profile(ctx, users, ana))
    ctx.clock.advance(WELCOME_WAIT)
    welcome = [
        m
        for m in mailbox(ctx.sandbox).messages(ANA)[before:]
        if m.channel == "email" and "verificationemail.com" not in m.sender
    ]
    function = _welcome_function(ctx, users)
    if not welcome:
        _why_no_welcome(ctx, users, function)
    sender = welcome[-1].sender
    role = str(ctx.client("lambda").get_function(FunctionName=function)["Configuration"]["Role"])
    allowed, reason = _role_may_send(ctx, role, sender)
    if not allowed:
        ctx.fail(
            f"The welcome email arrived, but the function's role may not send it: {reason} "
            "The sandbox let the call through; AWS would refuse it, and no email would leave.",
            hint="Give the function its own role with a policy that allows `ses:SendEmail` "
            "(on your sender's identity ARN, or `*`), and set it as the function's `Role`.",
        )


def _welcome_function(ctx: CheckContext, users: str) -> str:
    """The function an event source mapping connects to the users table's stream."""
    described = ctx.client("dynamodb").describe_table(TableName=users)["Table"]
    stream = described.get("LatestStreamArn")
    if not stream or not described.get("StreamSpecification", {}).get("StreamEnabled", True):
        ctx.fail(
            f"The users table `{users}` has no stream: nothing tells a function that a user "
            "arrived.",
            hint=WELCOME_HINT,
        )
    mappings = ctx.client("lambda").list_event_source_mappings().get("EventSourceMappings", [])
    mine = [m for m in mappings if m.get("EventSourceArn") == stream]
    if not mine:
        ctx.fail(
            f"No event source mapping reads the stream of `{users}`: no function hears of new "
            "users.",
            hint=WELCOME_HINT,
        )
    return str(mine[0]["FunctionArn"])


def _why_no_welcome(ctx: CheckContext, users: str, function: str) -> None:
    from labkit.services.awslambda.state import sandbox_snapshot

    name = function.rsplit(":", 1)[-1]
    runs = sandbox_snapshot(ctx.sandbox, function=name).invocations  # type: ignore[arg-type]
    failed = [r for r in runs if r.error_type]
    if failed:
        last = failed[-1]
        message = str(last.error_message or "")
        if "not verified" in message:
            ctx.fail(
                f"The stream invoked `{name}`, which failed: {last.error_type}: "
                f"{short(message, 160)}",
                hint="In the SES sandbox every sender and every recipient must be verified. "
                "Verify your sender (`verify_email_identity`) and take the account out of the "
                "sandbox (`sesv2.put_account_details(..., ProductionAccessEnabled=True)`): new "
                "users' addresses cannot be verified in advance.",
            )
        ctx.fail(
            f"The stream invoked `{name}`, which failed: {last.error_type}: {short(message, 160)}",
            hint="Read the records as DynamoDB Streams sends them: "
            "`record['dynamodb']['NewImage']['email']['S']` for `INSERT` events.",
        )
    ctx.fail(
        f"{ANA}'s profile went into `{users}`, and after {WELCOME_WAIT} s no welcome email "
        f"had reached her; `{name}` ran {len(runs)} time(s) without sending one.",
        hint="Send on `INSERT` records (a new user), to the `email` of the record's "
        "`NewImage` (the stream must carry new images: `NEW_IMAGE` or `NEW_AND_OLD_IMAGES`).",
    )


def _role_may_send(ctx: CheckContext, role_arn: str, sender: str) -> tuple[bool, str]:
    """Whether ``role_arn`` allows ``ses:SendEmail`` (or ``SendRawEmail``) from ``sender``'s
    identity (the address or its domain), and why not, as the policy engine says."""
    from labkit import policy as engine
    from labkit.sandbox.access import identity_documents

    def client(service: str, region: str) -> Any:
        return ctx.client(service, region_name=region)

    role = role_arn.rsplit("/", 1)[-1]
    principal = engine.Principal.role_session(ACCOUNT, role, "welcome")
    policies = identity_documents(client, principal, REGION)
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    identities = [address, address.rsplit("@", 1)[-1]]
    reason = f"the role {role} has no policy that allows ses:SendEmail."
    for action in ("ses:SendEmail", "ses:SendRawEmail"):
        for identity in identities:
            resource = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{identity}"
            decision = engine.evaluate(
                engine.Request(principal, action, resource), identity_policies=policies
            )
            if decision.allowed:
                return True, ""
            if action == "ses:SendEmail" and identity == address:
                reason = f"the role {role} is not allowed ses:SendEmail: {decision.reason}"
    return False, reason


# -- DAX ---------------------------------------------------------------------------------------
def check_dax_reads(ctx: CheckContext) -> None:
    """``read_order`` answers orders through DAX, mostly from its cache."""
    from labkit.labs.dynamodb_dax import dax_resource
    from labkit.services.dax.state import cluster_snapshot

    read_order = ctx.function("read_order")
    system = build_system(ctx)
    pool, client = user_pool(system)
    name, endpoint = dax_cluster(system)
    ana = sign_up(ctx, pool, client, ANA)
    orders = [place_order(ctx, system, ana["IdToken"], item) for item in ("lamp", "desk", "mug")]
    dax = dax_resource(endpoint)
    before = cluster_snapshot(name)
    for _ in range(READS_PER_ORDER):
        for order_id in orders:
            got = ctx.call(read_order, dax, order_id)
            if isinstance(got, dict) and "Item" in got and "order_id" not in got:
                ctx.fail(
                    "`read_order` returned the whole `get_item` response, not the order.",
                    hint="Return the item: `response.get('Item')`.",
                )
            if not isinstance(got, dict) or got.get("order_id") != order_id:
                ctx.fail(
                    f"`read_order(dax, {order_id!r})` returned {short(got)}, not the order "
                    "just placed.",
                    hint="Read the item by its key from your orders table through `dax` "
                    "(`dax.Table(name).get_item(Key={'order_id': order_id})`) and return it.",
                )
    after = cluster_snapshot(name)
    hits = after.item_hits + after.query_hits - before.item_hits - before.query_hits
    misses = after.item_misses + after.query_misses - before.item_misses - before.query_misses
    reads = READS_PER_ORDER * len(orders)
    if hits + misses == 0:
        ctx.fail(
            f"`read_order` answered all {reads} reads, but DAX served none of them: they went "
            "straight to DynamoDB.",
            hint="Read through the `dax` argument (the DAX client's resource), not a DynamoDB "
            "client; a strongly consistent read (`ConsistentRead=True`) also passes DAX by.",
        )
    if hits < reads - len(orders):
        ctx.fail(
            f"DAX's cache answered {hits} of {reads} reads of {len(orders)} orders: after the "
            "first read of each, every read should be a hit.",
            hint="Read with `get_item` by key (the item cache) and eventually consistent: "
            "DAX never caches strongly consistent reads.",
        )


# -- a Region fails ------------------------------------------------------------------------------
FAILOVER_HINT = (
    "When a Region's endpoint does not answer, boto3 raises botocore's EndpointConnectionError "
    "(a BotoCoreError, not a ClientError). Try the Regions in the order given: catch it and use "
    "the next Region's resource; every replica of a global table serves reads."
)
NO_REPLICA_HINT = (
    "Make the orders table a global table: `update_table(TableName=..., ReplicaUpdates=[{"
    "'Create': {'RegionName': 'eu-west-1'}}])` (version 2019.11.21; the table needs a stream "
    "with new and old images, which DynamoDB turns on for you)."
)


def check_region_failure(ctx: CheckContext) -> None:
    """With the home Region down, every order placed before is still read from a replica."""
    get_order = ctx.function("get_order")
    system = build_system(ctx)
    pool, client = user_pool(system)
    orders_table = table(system, "orders")
    home = ctx.client("dynamodb")
    replicas = [
        str(r["RegionName"])
        for r in home.describe_table(TableName=orders_table)["Table"].get("Replicas", [])
        if r.get("RegionName") != REGION
    ]
    if not replicas:
        ctx.fail(
            f"The orders table `{orders_table}` lives in {REGION} only: when that Region fails, "
            "every order is out of reach.",
            hint=NO_REPLICA_HINT,
        )
    ana = sign_up(ctx, pool, client, ANA)
    orders = [place_order(ctx, system, ana["IdToken"], f"item-{n}") for n in range(4)]
    ctx.clock.advance(SETTLE)
    regions = {r: ctx.resource("dynamodb", region_name=r) for r in [REGION, *replicas]}
    try:
        edge.fail_region(REGION)
        for order_id in orders:
            try:
                got = ctx.call(get_order, dict(regions), order_id)
            except CheckFailed as failure:
                cause = failure.__cause__
                if cause is not None and type(cause).__name__ in (
                    "EndpointConnectionError",
                    "ConnectTimeoutError",
                ):
                    ctx.fail(
                        f"With {REGION} down, `get_order(regions, {order_id!r})` raised "
                        f"{type(cause).__name__}: {cause}",
                        hint=FAILOVER_HINT,
                    )
                if isinstance(cause, ClientError):
                    code = cause.response.get("Error", {}).get("Code")
                    ctx.fail(
                        f"With {REGION} down, `get_order` got {code} from another Region: {cause}",
                        hint="Each Region's resource reads the same table name there: "
                        "`regions[region].Table(name).get_item(...)`.",
                    )
                raise
            if not isinstance(got, dict) or got.get("order_id") != order_id:
                ctx.fail(
                    f"With {REGION} down, `get_order(regions, {order_id!r})` returned "
                    f"{short(got)}, not the order placed before the failure.",
                    hint=FAILOVER_HINT,
                )
    finally:
        edge.restore_region(REGION)


# -- uploads --------------------------------------------------------------------------------------
ACCELERATE_HINT = (
    "Turn acceleration on for the bucket (`put_bucket_accelerate_configuration(..., "
    "AccelerateConfiguration={'Status': 'Enabled'})`) and upload with a client that uses the "
    "accelerate endpoint: `aws.client('s3', config=Config(s3={'use_accelerate_endpoint': "
    "True}))` (from botocore.config import Config)."
)


def check_accelerated_upload(ctx: CheckContext) -> None:
    """A photo uploaded from Sydney goes through the nearest edge location, faster than straight
    to the Region, and nobody else can read it."""
    from labkit.services.s3.state import uploads

    upload_photo = ctx.function("upload_photo")
    system = build_system(ctx)
    bucket = uploads_bucket(system)
    key = "photos/ana/beach.jpg"
    seen = len(uploads(bucket))
    try:
        with edge.viewer(UPLOADER):
            ctx.call(upload_photo, Builder(ctx.sandbox), bucket, key, b"\xff" * PHOTO_SIZE)
    except CheckFailed as failure:
        cause = failure.__cause__
        if isinstance(cause, ClientError) and "Acceleration" in str(cause):
            ctx.fail(f"`upload_photo` was refused: {cause}", hint=ACCELERATE_HINT)
        raise
    made = [u for u in uploads(bucket)[seen:] if u.key == key]
    if not made:
        ctx.fail(
            f"`upload_photo(aws, {bucket!r}, {key!r}, body)` returned, but no object "
            f"`{key}` reached the bucket.",
            hint="Put the body into the bucket under the key given (`put_object` or "
            "`upload_fileobj`).",
        )
    last = made[-1]
    if not last.accelerated:
        ctx.fail(
            f"The {PHOTO_SIZE // 1_000_000} MB photo from {UPLOADER} went straight to the "
            f"bucket's Region: {last.estimate.summary()}",
            hint=ACCELERATE_HINT,
        )
    if not last.estimate.faster:
        ctx.fail(
            f"The photo went through Transfer Acceleration, but it was no faster: "
            f"{last.estimate.summary()}",
            hint="Acceleration pays when the uploader is far from the bucket's Region; the "
            "photos come from everywhere, and the back end (the functions that read them) "
            "runs in us-east-1: keep the bucket there.",
        )
    answer = http("GET", f"https://{bucket}.s3.amazonaws.com/{key}")
    if answer.status_code == 200:
        ctx.fail(
            f"Anyone can read Ana's photo: an anonymous GET of {key} answered 200.",
            hint="Keep the uploads bucket private: no bucket policy for `Principal: '*'`, and "
            "Block Public Access on.",
        )


# -- the website ----------------------------------------------------------------------------------
def origin_buckets(found: dict[str, Any]) -> list[str]:
    """The S3 buckets the distribution's origins name."""
    names = []
    for origin in found["DistributionConfig"]["Origins"].get("Items", []) or []:
        domain = str(origin.get("DomainName", ""))
        if ".s3" in domain and domain.endswith(".amazonaws.com"):
            names.append(domain.split(".s3", 1)[0])
    return names


def check_website(ctx: CheckContext) -> None:
    """The website is served through CloudFront, and its bucket refuses anyone else."""
    system = build_system(ctx)
    found = distribution(system)
    buckets = origin_buckets(found)
    if not buckets:
        ctx.fail(
            f"The distribution {found['Id']} has no S3 origin: the website's files live in a "
            "bucket.",
            hint="An origin whose DomainName is `<bucket>.s3.<region>.amazonaws.com`, with an "
            "origin access control.",
        )
    page = b"<!doctype html><h1>The shop</h1>"
    s3 = ctx.client("s3")
    for bucket in buckets:
        s3.put_object(Bucket=bucket, Key="index.html", Body=page, ContentType="text/html")
    domain = found["DomainName"]
    served = edge.fetch(f"https://{domain}/index.html", viewer_at="Paris")
    if served.status != 200:
        ctx.fail(
            f"A visitor in Paris asked https://{domain}/index.html and got {served.status}: "
            "CloudFront could not read the page from the bucket.",
            hint="An origin access control on the origin, and a bucket policy that allows "
            "`s3:GetObject` to the service principal `cloudfront.amazonaws.com` on the "
            "condition `AWS:SourceArn` = the distribution's ARN.",
        )
    for bucket in buckets:
        direct = http("GET", f"https://{bucket}.s3.amazonaws.com/index.html")
        if direct.status_code == 200:
            ctx.fail(
                f"The website's bucket `{bucket}` is public: an anonymous GET of index.html "
                "straight from S3 answered 200, past CloudFront.",
                hint="Let only your distribution read the bucket: drop any statement for "
                "`Principal: '*'` and allow `cloudfront.amazonaws.com` with `AWS:SourceArn` "
                "(origin access control).",
            )


__all__ = [
    "ANA",
    "PHOTO_SIZE",
    "UPLOADER",
    "check_accelerated_upload",
    "check_dax_reads",
    "check_region_failure",
    "check_sign_up_and_order",
    "check_website",
    "check_welcome_email",
    "origin_buckets",
]
