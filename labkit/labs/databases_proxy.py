"""The databases lab's ``proxy`` check: a Lambda function at high concurrency that keeps working
through RDS Proxy.

The check builds, in a world of its own, what the task gives: a VPC with two private subnets and
a security group, the PostgreSQL instance ``shop`` whose parameter group lowers
``max_connections`` to :data:`MAX_CONNECTIONS`, a table ``orders``, the database user ``app``
with its Secrets Manager secret, and an IAM role RDS Proxy may read that secret with. The
learner writes ``build_proxy(aws, db)``: an RDS Proxy in front of ``shop`` that requires IAM
authentication, and a Lambda function in the VPC whose handler inserts the order of its event
through the proxy, its execution role allowed ``rds-db:connect`` on the proxy's user (the token
a function makes is signed as its role); it returns the function (name, ARN or
``create_function``'s answer).

Then, on the lab clock (nothing sleeps):

- :data:`BURST` invocations run at once (more than ``max_connections``,
  :func:`~labkit.services.rds.patch_proxy.concurrent_invocations`): each must succeed, its order
  must be in the table, and none of the function's connections may have gone straight to the
  instance's endpoint (each of :data:`BURST` overlapping invocations would hold one: the engine
  refuses past ``max_connections``, https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.html);
- :data:`WARM` more invocations in one warm environment must open at most one proxy connection
  each and leave none open that they opened (a connection per query, never closed, piles up
  until the proxy's clients or the database's connections run out);
- outsiders are tried: a connection from outside the proxy's VPC (the notebook), the secret's
  password with no IAM token, a token signed by an IAM user without ``rds-db:connect``, a token
  for another database user. Each must be refused; the message names any that got in
  (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-iam.html).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from labkit.grading.checks import CheckContext, short
from labkit.labs.capstone_support import Builder
from labkit.labs.databases_support import Opened, create_postgres, execute, raw_connect, rows

INSTANCE = "shop"
APP_USER = "app"
APP_PASSWORD = "app-password-7"
#: The instance's max_connections (its parameter group's): small, so the burst passes it.
MAX_CONNECTIONS = 20
#: Concurrent invocations, more than ``max_connections``.
BURST = 30
#: Invocations played one after another in one warm execution environment.
WARM = 3
PARAMETER_GROUP = "orders-small"
PROXY_ROLE = "rds-proxy-secrets"
REGION = "us-east-1"

TOO_MANY = ("too many clients", "connection slots")


def check_proxy(ctx: CheckContext) -> None:
    """Every one of a burst of invocations succeeds through the proxy; outsiders are refused."""
    build = ctx.function("build_proxy")
    with Opened() as opened:
        db = _world(ctx, opened)
        returned = ctx.call(
            build,
            Builder(ctx.sandbox),
            dict(db),
            hints={
                Exception: "Create the proxy with `create_db_proxy` (Auth from db['secret_arn'], "
                "RoleArn db['proxy_role_arn'], VpcSubnetIds db['subnet_ids']), register "
                "db['instance_id'] as its target, then deploy the handler and put it in the VPC."
            },
        )
        name = _function_name(ctx, returned)
        proxy = _the_proxy(ctx)
        _burst(ctx, opened, name, proxy)
        _warm(ctx, name, proxy)
        _outsiders(ctx, proxy)


# -- the world the task gives -------------------------------------------------------------------
def _world(ctx: CheckContext, opened: Opened) -> dict[str, Any]:
    ec2 = ctx.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=zone)["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate(("us-east-1a", "us-east-1b"))
    ]
    group = ec2.create_security_group(GroupName="orders-db", Description="orders", VpcId=vpc)
    rds = ctx.client("rds")
    rds.create_db_parameter_group(
        DBParameterGroupName=PARAMETER_GROUP,
        DBParameterGroupFamily="postgres16",
        Description="few connections",
    )
    rds.modify_db_parameter_group(
        DBParameterGroupName=PARAMETER_GROUP,
        Parameters=[
            {
                "ParameterName": "max_connections",
                "ParameterValue": str(MAX_CONNECTIONS),
                "ApplyMethod": "pending-reboot",
            }
        ],
    )
    instance = create_postgres(ctx, INSTANCE, DBParameterGroupName=PARAMETER_GROUP)
    conn = opened.add(raw_connect(instance))
    execute(
        conn,
        "CREATE TABLE orders (order_id TEXT PRIMARY KEY, customer TEXT NOT NULL, "
        "total_cents INTEGER NOT NULL)",
        f"CREATE USER {APP_USER} PASSWORD '{APP_PASSWORD}'",
        f"GRANT SELECT, INSERT ON orders TO {APP_USER}",
    )
    conn.close()
    secret = ctx.client("secretsmanager").create_secret(
        Name="shop/app",
        SecretString=json.dumps({"username": APP_USER, "password": APP_PASSWORD}),
    )["ARN"]
    iam = ctx.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "rds.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName=PROXY_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    read_secret = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret}
        ],
    }
    iam.put_role_policy(
        RoleName=PROXY_ROLE, PolicyName="read-secret", PolicyDocument=json.dumps(read_secret)
    )
    return {
        "instance_id": INSTANCE,
        "secret_arn": secret,
        "proxy_role_arn": role["Role"]["Arn"],
        "vpc_id": vpc,
        "subnet_ids": subnets,
        "security_group_id": group["GroupId"],
        "user": APP_USER,
        "database": instance.get("DBName", "shop"),
        "max_connections": MAX_CONNECTIONS,
    }


# -- what build_proxy made ----------------------------------------------------------------------
def _function_name(ctx: CheckContext, returned: Any) -> str:
    value = returned
    if isinstance(returned, dict):
        value = returned.get("FunctionName") or returned.get("FunctionArn")
        config = returned.get("Configuration")
        if value is None and isinstance(config, dict):
            value = config.get("FunctionName")
    lam = ctx.client("lambda")
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    if isinstance(value, str) and value:
        name = value.split(":function:", 1)[-1].split(":", 1)[0]
        if name in names:
            return name
    if value is None and len(names) == 1:
        return str(names[0])  # build_proxy returned nothing, but made one function
    ctx.fail(
        f"`build_proxy` returned {short(returned)}, which names no Lambda function in the "
        f"sandbox (there are {names}).",
        hint="Return the function's name (or its ARN, or `create_function`'s answer).",
    )


def _the_proxy(ctx: CheckContext) -> Any:
    backend = ctx.sandbox.backend("rds", region=REGION)  # type: ignore[attr-defined]
    proxies = list(backend.db_proxies.values())
    if not proxies:
        ctx.fail(
            "There is no RDS Proxy in the sandbox after `build_proxy`: the function can only "
            "reach the database directly.",
            hint="`rds.create_db_proxy(DBProxyName=..., EngineFamily='POSTGRESQL', Auth=[{"
            "'AuthScheme': 'SECRETS', 'SecretArn': db['secret_arn'], 'IAMAuth': 'REQUIRED'}], "
            "RoleArn=db['proxy_role_arn'], VpcSubnetIds=db['subnet_ids'])`, then "
            "`register_db_proxy_targets`.",
        )
    return proxies[0] if len(proxies) == 1 else _used_proxy(proxies)


def _used_proxy(proxies: list[Any]) -> Any:
    """Of several proxies, the one with a target (the others stand idle)."""
    from labkit.services.rds.patch_proxy import pool_of

    for proxy in proxies:
        pool = pool_of(proxy)
        if pool is not None and proxy.proxy_target_groups["default"].targets:
            return proxy
    return proxies[0]


def _order(index: int) -> dict[str, Any]:
    return {
        "order_id": f"burst-{index:03d}",
        "customer": f"c{index % 7}",
        "total_cents": 100 + index,
    }


# -- the burst ----------------------------------------------------------------------------------
def _burst(ctx: CheckContext, opened: Opened, name: str, proxy: Any) -> None:
    from labkit.services.rds import patch
    from labkit.services.rds.patch_proxy import concurrent_invocations, pool_of

    burst = concurrent_invocations(ctx.sandbox, name, BURST, _order)  # type: ignore[arg-type]
    backend = ctx.sandbox.backend("rds", region=REGION)  # type: ignore[attr-defined]
    database = backend.databases[INSTANCE]
    runtime = patch.runtime_of(database)
    direct = runtime.lambda_connections.get(name, 0) if runtime is not None else 0
    if burst.errors:
        pool = pool_of(proxy)
        refused = list(pool.stats.refused) if pool is not None else []
        _explain_errors(ctx, burst.errors, direct, refused)
    if direct:
        ctx.fail(
            f"All {BURST} invocations worked here, but the function opened {direct} "
            f"connection(s) straight to the instance's endpoint, not the proxy's. On AWS the "
            f"{BURST} invocations run at once, each holding its connection: the database "
            f"(max_connections {MAX_CONNECTIONS}) refuses every one past {MAX_CONNECTIONS}.",
            hint=_DIRECT_HINT,
        )
    pool = pool_of(proxy)
    logins = pool.stats.clients_total if pool is not None else 0
    admin = opened.add(raw_connect(_description(ctx)))
    ids = {row[0] for row in rows(admin, "SELECT order_id FROM orders")}
    admin.close()
    missing = [_order(i)["order_id"] for i in range(BURST) if _order(i)["order_id"] not in ids]
    if missing:
        ctx.fail(
            f"All {BURST} invocations returned, but {len(missing)} of their orders are not in "
            f"the table (e.g. {missing[:3]}); the proxy saw {logins} login(s).",
            hint="The handler inserts `event`'s order into `orders` through the proxy and "
            "commits (`conn.commit()`) before it returns.",
        )


_DIRECT_HINT = (
    "Give the function the proxy's endpoint (`create_db_proxy(...)['DBProxy']['Endpoint']`), "
    "not the instance's: the proxy lends a few pooled database connections to all the "
    "invocations."
)


def _description(ctx: CheckContext) -> dict[str, Any]:
    found = ctx.client("rds").describe_db_instances(DBInstanceIdentifier=INSTANCE)
    return dict(found["DBInstances"][0])


def _explain_errors(ctx: CheckContext, errors: list[str], direct: int, refused: list[str]) -> None:
    failed, first = len(errors), errors[0]
    said = f"{failed} of {BURST} concurrent invocations failed; the first: {short(first, 220)}"
    joined = " ".join(errors + refused)
    if any(part in joined for part in TOO_MANY):
        ctx.fail(
            f"{said}. The function connects straight to the instance ({direct} connection(s)): "
            f"its max_connections is {MAX_CONNECTIONS}, and {BURST} invocations at once each "
            f"held one, so {failed} were refused.",
            hint=_DIRECT_HINT,
        )
    if direct:
        ctx.fail(
            f"{said}. The function connects straight to the instance ({direct} connection(s)), "
            "not through the proxy.",
            hint=_DIRECT_HINT,
        )
    if "reachable only from inside" in joined:
        ctx.fail(
            f"{said}. The function runs outside the proxy's VPC, and RDS Proxy is never "
            "publicly accessible.",
            hint="Put the function in the VPC: `update_function_configuration(FunctionName=..., "
            "VpcConfig={'SubnetIds': db['subnet_ids'], 'SecurityGroupIds': "
            "[db['security_group_id']]})`.",
        )
    if "not an IAM authentication token" in joined:
        ctx.fail(
            f"{said}. The proxy requires IAM authentication, and the handler logged in with a "
            "password.",
            hint="In the handler, log in with a token: `boto3.client('rds')."
            "generate_db_auth_token(DBHostname=proxy_endpoint, Port=5432, DBUsername=user)` as "
            "the password.",
        )
    if "may not rds-db:connect" in joined:
        ctx.fail(
            f"{said}. The proxy refused the function's IAM token: a function signs with its "
            "execution role, and the role may not `rds-db:connect` on the proxy's database user.",
            hint="Allow the function's role (`get_function(...)['Configuration']['Role']`) "
            "`rds-db:connect` on `arn:aws:rds-db:<region>:<account>:dbuser:<proxy resource id>/"
            "<user>` (the resource id ends the proxy's `DBProxyArn`), e.g. with "
            "`iam.put_role_policy`.",
        )
    if "password authentication failed" in joined:
        ctx.fail(
            f"{said}. The proxy checks the secret's password: it does not take IAM tokens.",
            hint="Create the proxy with `IAMAuth='REQUIRED'` in its `Auth` entry: then the "
            "token from `generate_db_auth_token` is the password, and no password is stored "
            "in the function.",
        )
    if "no secret for user" in joined or "holds no secret" in joined:
        ctx.fail(
            f"{said}. The proxy has no Secrets Manager secret for the user the handler logs in "
            "as: it cannot open database connections for it.",
            hint="Give the proxy `Auth=[{'AuthScheme': 'SECRETS', 'SecretArn': "
            "db['secret_arn'], 'IAMAuth': 'REQUIRED'}]` and log in as db['user'].",
        )
    if "has no target" in joined:
        ctx.fail(
            f"{said}. The proxy has no target database.",
            hint="`rds.register_db_proxy_targets(DBProxyName=..., "
            "DBInstanceIdentifiers=[db['instance_id']])`.",
        )
    if "timed out waiting to acquire" in joined:
        ctx.fail(
            f"{said}. Every pooled database connection was held by a client in an open "
            "transaction or pinned by session state.",
            hint="Commit (or roll back) before the handler returns, and avoid `SET` and other "
            "session state, which pins a client to its database connection.",
        )
    ctx.fail(said, hint=ctx.check.hint)


# -- warm invocations -----------------------------------------------------------------------------
def _warm(ctx: CheckContext, name: str, proxy: Any) -> None:
    from labkit.services.rds.patch_proxy import pool_of

    pool = pool_of(proxy)
    if pool is None:
        return
    lam = ctx.client("lambda")
    before_logins, before_open = pool.stats.clients_total, _open_clients(pool)
    for index in range(WARM):
        order = {"order_id": f"warm-{index}", "customer": "w", "total_cents": 1}
        answer = lam.invoke(FunctionName=name, Payload=json.dumps(order))
        if answer.get("FunctionError"):
            payload = answer["Payload"].read().decode("utf-8", "replace")
            ctx.fail(
                f"The burst worked, but invocation {index + 1} in a warm environment failed: "
                f"{short(payload, 220)}",
                hint="A warm environment runs the handler again with what its earlier "
                "invocations left: reuse a connection opened outside the handler, or open and "
                "close one inside it.",
            )
    logins = pool.stats.clients_total - before_logins
    still_open = _open_clients(pool) - before_open
    if logins > WARM or still_open > 1:
        ctx.fail(
            f"{WARM} invocations in one warm environment opened {logins} connection(s) to the "
            f"proxy and left {max(still_open, 0)} more open than before: a connection per "
            "query, never closed, piles up until the proxy's clients or the database's "
            "connections run out.",
            hint="Open one connection per execution environment (outside the handler, reused "
            "by every invocation), or one per invocation closed in a `finally:` (or `with "
            "contextlib.closing(...)`).",
        )


def _open_clients(pool: Any) -> int:
    """Client sessions the proxy holds now, once it has read the sockets closed so far."""
    pool.settled()
    return len(pool.clients)


# -- outsiders ------------------------------------------------------------------------------------
def _outsiders(ctx: CheckContext, proxy: Any) -> None:
    import pg8000

    from labkit.services.rds.patch_proxy import inside_vpc

    endpoint, vpc = str(proxy.endpoint), str(proxy.vpc_id)
    rds = ctx.client("rds")

    def token(client: Any, user: str) -> str:
        return str(client.generate_db_auth_token(DBHostname=endpoint, Port=5432, DBUsername=user))

    def got_in(password: str, user: str = APP_USER) -> bool:
        try:
            conn = pg8000.connect(
                host=endpoint, port=5432, user=user, password=password, database="shop"
            )
        except Exception:  # refused: what the check hopes for
            return False
        with contextlib.suppress(Exception):
            conn.close()
        return True

    if got_in(token(rds, APP_USER)):
        ctx.fail(
            "A connection from the notebook, outside the proxy's VPC, got in.",
            hint="Put the proxy in the VPC's private subnets (VpcSubnetIds=db['subnet_ids']).",
        )
    iam = ctx.client("iam")
    iam.create_user(UserName="intern")
    keys = iam.create_access_key(UserName="intern")["AccessKey"]
    intern = ctx.client(
        "rds",
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
    )
    with inside_vpc(vpc):
        tries = [
            ("the secret's password (no IAM token)", APP_PASSWORD, APP_USER),
            (
                "a token signed by the IAM user `intern`, who has no `rds-db:connect`",
                token(intern, APP_USER),
                APP_USER,
            ),
            ("a token for another database user (`labadmin`)", token(rds, "labadmin"), "labadmin"),
        ]
        for what, password, user in tries:
            if got_in(password, user):
                ctx.fail(
                    f"From inside the VPC, {what} got into the proxy as `{user}`: the proxy "
                    "does not require IAM authentication.",
                    hint="Create the proxy with `IAMAuth='REQUIRED'` in its `Auth` entry: only "
                    "a token signed by a principal allowed `rds-db:connect` on the user gets "
                    "in.",
                )
