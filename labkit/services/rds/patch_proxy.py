"""RDS Proxy on moto's control plane: a real connection pool behind every proxy's endpoint.

moto 5.2.5 creates, describes and deletes proxies and their target groups but runs nothing at
the endpoint. Here (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.html):

- ``CreateDBProxy`` starts a :class:`~.sim_proxy.PoolProxy` and serves the proxy's endpoint
  through the network guard; ``DeleteDBProxy`` stops it;
- clients log in to the proxy with the user and password of a Secrets Manager secret named in
  ``Auth`` (the proxy logs in to the database with that secret), or, when that ``Auth`` entry has
  ``IAMAuth='REQUIRED'``, with a token from ``generate_db_auth_token`` (checked here: signature,
  15-minute lifetime on the lab clock, ``DBUser`` and host, and ``rds-db:connect`` on
  ``arn:aws:rds-db:<region>:<account>:dbuser:<proxy resource id>/<user>`` asked of the policy
  engine, :func:`may_connect`); a token made inside a Lambda handler with the default
  credentials is signed as a session of the function's execution role
  (``assumed-role/<role>/<function>``), as Lambda's credentials are on AWS
  (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html), so the role
  needs ``rds-db:connect``;
- the pool opens at most ``MaxConnectionsPercent`` (target group) of the target database's
  ``max_connections``, so many clients share few database connections;
- **never public**: the proxy answers only connections from inside its VPC. Code running in a
  Lambda function whose ``VpcConfig`` puts it in the proxy's VPC gets in; the notebook itself is
  outside (as a laptop is), and its connection is refused saying so, unless it says where it runs
  with :func:`inside_vpc` (an EC2 instance in that VPC, for a lesson's demo).

:func:`concurrent_invocations` runs N invocations of a Lambda function at once, each in its own
execution environment that stays alive (and keeps its database connection) until all N are done:
what a burst of concurrent Lambda invocations does to a database.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlsplit

import botocore.credentials
import botocore.signers
from moto.rds import models as rds_models

from labkit import facts
from labkit import policy as engine
from labkit.sandbox import netguard, signers
from labkit.sandbox.environment import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY
from labkit.services.rds import patch as rds_patch
from labkit.services.rds import patch_aurora, sim_capacity
from labkit.services.rds.sim_proxy import PoolProxy

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: The attribute of a moto DBProxy that holds its pool.
POOL = "_labkit_pool"

_inside = threading.local()
#: moto's default account (the learner's).
_ACCOUNT = "123456789012"


def pool_of(proxy: Any) -> PoolProxy | None:
    """The running pool of a moto DB proxy."""
    pool: PoolProxy | None = getattr(proxy, POOL, None)
    return pool


@contextlib.contextmanager
def inside_vpc(vpc_id: str) -> Iterator[None]:
    """Connect as code running inside ``vpc_id`` (an EC2 instance there) while in the block."""
    previous = getattr(_inside, "vpc", None)
    _inside.vpc = vpc_id
    try:
        yield
    finally:
        _inside.vpc = previous


def _caller_vpc(sandbox: Sandbox) -> tuple[str | None, str]:
    """The VPC the connecting code runs in, and where that code is (for messages)."""
    vpc = getattr(_inside, "vpc", None)
    if vpc:
        return vpc, f"code inside {vpc}"
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if not name:
        return None, "the notebook (outside every VPC, like your laptop)"
    from labkit.services.awslambda.patch import lambda_backend

    region = os.environ.get("AWS_REGION", "us-east-1")
    try:
        fn = lambda_backend(_ACCOUNT, region).get_function(name)
    except Exception:
        return None, f"Lambda function {name}"
    config = fn.vpc_config or {}
    subnets = list(config.get("SubnetIds") or [])
    if not subnets:
        return None, f"Lambda function {name} (not attached to a VPC: no VpcConfig)"
    ec2 = sandbox.backend("ec2", region=region)
    try:
        vpc_id = ec2.describe_subnets(subnet_ids=subnets[:1])[0].vpc_id
    except Exception:
        return None, f"Lambda function {name}"
    return str(vpc_id), f"Lambda function {name} in {vpc_id}"


class _ProxyRoute:
    """The network guard's route for a proxy endpoint: inside its VPC only."""

    def __init__(self, sandbox: Sandbox, proxy: Any) -> None:
        self._sandbox = sandbox
        self._proxy = proxy

    def target(self, port: int) -> tuple[str, int]:
        proxy = self._proxy
        pool = pool_of(proxy)
        if pool is None:
            raise ConnectionRefusedError(f"the proxy {proxy.db_proxy_name} was deleted")
        expected = _engine_port(proxy)
        if port != expected:
            raise ConnectionRefusedError(
                f"the proxy {proxy.db_proxy_name} listens on port {expected}, not {port}"
            )
        vpc, where = _caller_vpc(self._sandbox)
        if vpc != proxy.vpc_id:
            reason = (
                f"the proxy {proxy.db_proxy_name} is reachable only from inside {proxy.vpc_id} "
                f"(RDS Proxy is never publicly accessible); this connection comes from {where}"
            )
            # The driver may report only "can't connect": the proxy's record says why.
            pool.stats.refused.append(reason)
            raise ConnectionRefusedError(reason)
        return "127.0.0.1", pool.port


def _engine_port(proxy: Any) -> int:
    return 3306 if proxy.engine_family == "MYSQL" else 5432


# -- authentication ---------------------------------------------------------------------------
def _auth_entries(proxy: Any) -> list[dict[str, Any]]:
    entries = []
    for entry in proxy.auth or []:
        if hasattr(entry, "items"):  # moto's XFormedDict, or a dict
            entries.append({str(k).replace("_", "").lower(): v for k, v in entry.items()})
    return entries


def _secret(sandbox: Sandbox, arn: str) -> dict[str, Any] | None:
    region = arn.split(":")[3] if arn.startswith("arn:") else "us-east-1"
    try:
        value = sandbox.backend("secretsmanager", region=region).get_secret_value(arn, None, None)
        text = value[1] if isinstance(value, tuple) else value.get("SecretString")
        loaded = json.loads(text or "{}")
    except Exception:
        return None
    return loaded if isinstance(loaded, dict) else None


@dataclass(frozen=True)
class TokenVerdict:
    """What checking an IAM authentication token found.

    Attributes:
        allowed: Whether the client gets in.
        reason: Why (or why not), in words.
        principal: Who signed the token, when known.
    """

    allowed: bool
    reason: str
    principal: str = ""


#: Keys that act as the account itself: labkit's, and the ones moto's mock puts in the process
#: environment, which code running in a Lambda function signs with (moto answers every call
#: signed with them as the account, so a token they sign is the account's too).
_ACCOUNT_KEYS = {FAKE_ACCESS_KEY_ID: FAKE_SECRET_ACCESS_KEY, "FOOBARKEY": "FOOBARSECRET"}

#: botocore signs a token's (empty) body: the SHA-256 of nothing.
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
#: Lab time each token was generated at (the signature carries the machine's clock).
_issued: dict[str, float] = {}


def _iam_user_key(access_key_id: str) -> tuple[engine.Principal, tuple[Any, ...], str] | None:
    from moto.iam.models import iam_backends

    for account in list(iam_backends.keys()):
        backend = iam_backends[account]["aws"]
        for user in list(backend.users.values()):
            for key in user.access_keys:
                if key.access_key_id == access_key_id and key.status == "Active":
                    principal = engine.Principal.user(account, user.name, path=user.path or "/")
                    policies = []
                    for name, document in user.policies.items():
                        policies.append(
                            engine.load_policy(
                                document, name=f"inline policy `{name}`", kind="identity"
                            )
                        )
                    for arn, managed in user.managed_policies.items():
                        version = next((v for v in managed.versions if v.is_default), None)
                        if version is not None:
                            policies.append(
                                engine.load_policy(version.document, name=arn, kind="identity")
                            )
                    return principal, tuple(policies), str(key.secret_access_key)
    return None


def _signature(secret: str, date: str, region: str, canonical: str, stamp: str) -> str:
    def sign(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    scope = f"{date}/{region}/rds-db/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = sign(("AWS4" + secret).encode(), date)
    for part in (region, "rds-db", "aws4_request"):
        key = sign(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def check_token(
    token: str, *, host: str, port: int, user: str, resource_arn: str, now: float
) -> TokenVerdict:
    """Whether ``token`` (from ``generate_db_auth_token``) lets ``user`` connect to ``host``.

    Args:
        token: What the client sent as its password.
        host: The endpoint the client connected to.
        port: Its port.
        user: The database user the client logged in as.
        resource_arn: ``arn:aws:rds-db:...:dbuser:<resource id>/<user>``, what IAM is asked about.
        now: The lab clock.
    """
    parts = urlsplit("https://" + token)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if query.get("Action") != "connect" or "X-Amz-Signature" not in query:
        return TokenVerdict(False, "the password is not an IAM authentication token")
    if (parts.hostname or "").lower() != host.lower() or (parts.port or 0) != port:
        return TokenVerdict(
            False, f"the token was made for {parts.netloc}, not this endpoint {host}:{port}"
        )
    if query.get("DBUser") != user:
        return TokenVerdict(False, f"the token is for user {query.get('DBUser')}, not {user}")
    credential = query.get("X-Amz-Credential", "").split("/")
    if len(credential) != 5:
        return TokenVerdict(False, "the token's X-Amz-Credential is malformed")
    key, date, region = credential[0], credential[1], credential[2]
    lifetime = float(facts.value("rds.iam_auth_token_lifetime"))
    issued = _issued.get(query["X-Amz-Signature"])
    if issued is not None and now > issued + lifetime:
        return TokenVerdict(
            False, f"the token expired {now - issued - lifetime:.0f} s ago (tokens last 15 min)"
        )
    principal: engine.Principal
    policies: tuple[Any, ...] = ()
    session = next((s for s in signers._sts_sessions() if s.access_key_id == key), None)
    if key in _ACCOUNT_KEYS:
        principal, secret = (
            engine.Principal.root(resource_arn.split(":")[4]),
            _ACCOUNT_KEYS[key],
        )
    elif session is not None:
        signer = signers.signer_of({}, "https://x/?X-Amz-Credential=" + quote("/".join(credential)))
        if signer is None:
            return TokenVerdict(False, f"the credentials {key} are not known")
        principal, policies, secret = (
            signer.principal,
            signer.policies,
            str(session.secret_access_key),
        )
    else:
        found = _iam_user_key(key)
        if found is None:
            return TokenVerdict(
                False, f"the token is signed with access key {key}, which does not exist"
            )
        principal, policies, secret = found
    unsigned = {k: v for k, v in query.items() if k != "X-Amz-Signature"}
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(unsigned.items())
    )
    canonical = "\n".join(
        ["GET", "/", canonical_query, f"host:{parts.netloc}", "", "host", _EMPTY_SHA256]
    )
    expected = _signature(secret, date, region, canonical, query.get("X-Amz-Date", ""))
    if not hmac.compare_digest(expected, query["X-Amz-Signature"]):
        return TokenVerdict(
            False, "the token's signature does not match (altered, or another secret)"
        )
    who = principal.arn or principal.describe
    request = engine.Request(principal, "rds-db:connect", resource_arn)
    decision = engine.evaluate(request, identity_policies=list(policies))
    if not decision.allowed:
        return TokenVerdict(False, f"{who} may not rds-db:connect: {decision.reason}", who)
    return TokenVerdict(True, f"{who}: {decision.reason}", who)


def may_connect(sandbox: Sandbox, proxy_name: str, user: str, token: str) -> TokenVerdict:
    """Whether ``token`` gets ``user`` into the proxy ``proxy_name`` now (for checks and views)."""
    proxy = sandbox.backend("rds").db_proxies[proxy_name]
    return check_token(
        token,
        host=proxy.endpoint,
        port=_engine_port(proxy),
        user=user,
        resource_arn=_dbuser_arn(proxy, user),
        now=sandbox.clock.timestamp,
    )


def _dbuser_arn(proxy: Any, user: str) -> str:
    return f"arn:aws:rds-db:{proxy.region}:{proxy.account_id}:dbuser:{proxy.unique_id}/{user}"


# -- a Lambda function's own credentials --------------------------------------------------------
#: Seconds before their expiry that a function's role session is replaced by a fresh one.
_SESSION_MARGIN = 300.0
#: How long a function's role session lasts (Lambda refreshes it; any length above a token's
#: 15 minutes serves).
_SESSION_SECONDS = 3600


def _running_function() -> tuple[str, str] | None:
    """The Lambda function whose handler runs now, and its Region (the runtime sets both)."""
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if not name:
        return None
    return name, os.environ.get("AWS_REGION", "us-east-1")


def _as_function_role(signer: Any, sessions: dict[tuple[str, str], Any]) -> Any:
    """``signer``, or one signing with the running function's role session instead.

    Code in a Lambda function signs with the credentials Lambda gives it: a session of the
    function's execution role named after the function. The sandbox's handlers run with the
    account's keys, so a token they make would ask ``rds-db:connect`` of the account; signed
    with the role's session instead, it asks the role. Credentials a handler chose itself (an IAM
    user's keys) are left alone, as is everything outside a handler.
    """
    running = _running_function()
    if running is None:
        return signer
    credentials = getattr(signer, "_credentials", None)
    frozen = credentials.get_frozen_credentials() if credentials is not None else None
    if frozen is None or frozen.access_key not in _ACCOUNT_KEYS:
        return signer
    name, region = running
    from labkit.services.awslambda.patch import lambda_backend

    try:
        role_arn = str(lambda_backend(_ACCOUNT, region).get_function(name).role)
    except Exception:
        return signer  # not a function moto knows: nothing to sign as but what was given
    session = sessions.get((role_arn, name))
    known = {s.access_key_id for s in signers._sts_sessions()}
    if (
        session is None
        or session.access_key_id not in known  # gone with lab.reset() or a check's world
        or _expires_at(session) - _SESSION_MARGIN <= time.time()  # the lab clock
    ):
        session = signers.issue(role_arn, name, _SESSION_SECONDS, {}, region=region)
        sessions[(role_arn, name)] = session
    # A copy, so a client other threads share keeps its own credentials.
    role_signer = copy.copy(signer)
    role_signer._credentials = botocore.credentials.Credentials(
        session.access_key_id, session.secret_access_key, session.session_token
    )
    return role_signer


def _expires_at(session: Any) -> float:
    """When an STS session of moto's expires (its datetime is naive UTC)."""
    expires = session.expiration
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=timezone.utc)
    return float(expires.timestamp())


# -- targets ----------------------------------------------------------------------------------
def _target_database(proxy: Any) -> Any:
    """The moto DB instance the proxy's default target group sends connections to now."""
    group = proxy.proxy_target_groups["default"]
    backend = proxy.backend
    for target in group.targets:
        if target.type == "RDS_INSTANCE":
            return backend.databases.get(target.rds_resource_id)
        if target.type == "TRACKED_CLUSTER":
            cluster = backend.clusters.get(target.rds_resource_id)
            writer = cluster.writer if cluster is not None else None
            if writer is not None:
                return writer
    return None


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Put a connection pool behind every RDS Proxy endpoint while ``sandbox`` runs."""
    stack.enter_context(_patched(sandbox))


@contextlib.contextmanager
def _patched(sandbox: Sandbox) -> Iterator[None]:
    backend_cls = rds_models.RDSBackend
    original_create = backend_cls.create_db_proxy
    original_delete = backend_cls.delete_db_proxy
    original_presign = botocore.signers.RequestSigner.generate_presigned_url
    pools: list[PoolProxy] = []
    withdrawals: list[Any] = []
    sessions: dict[tuple[str, str], Any] = {}

    def make_pool(proxy: Any) -> PoolProxy:
        def target() -> tuple[str, int]:
            database = _target_database(proxy)
            if database is None:
                raise ConnectionRefusedError(
                    f"the proxy {proxy.db_proxy_name} has no target: register_db_proxy_targets"
                )
            runtime = rds_patch.runtime_of(database)
            if runtime is None:
                writer = patch_aurora.writer_target(sandbox, database)
                if writer is None:
                    raise ConnectionRefusedError(
                        f"{database.db_instance_identifier} runs no engine"
                    )
                return writer
            return runtime.target(int(database.port), sandbox.clock.timestamp)

        def pool_size() -> int:
            database = _target_database(proxy)
            if database is None:
                return 1
            runtime = rds_patch.runtime_of(database)
            cluster_id = getattr(database, "db_cluster_identifier", None)
            cluster = proxy.backend.clusters.get(cluster_id) if cluster_id else None
            aurora = patch_aurora.cluster_runtime(cluster) if cluster is not None else None
            if runtime is not None:
                limit = runtime.server.max_connections
            elif aurora is not None:
                limit = sim_capacity.max_connections(str(database.db_instance_class))
                limit = min(limit, aurora.server.max_connections)
            else:
                limit = 100
            percent = float(proxy.proxy_target_groups["default"].max_connections)
            # The engine keeps superuser_reserved_connections (3) to itself, and labkit one.
            return int(max(1, min(math.floor(limit * percent / 100), limit - 4)))

        def credentials(user: str) -> str | None:
            for entry in _auth_entries(proxy):
                secret = _secret(sandbox, str(entry.get("secretarn", "")))
                if secret and secret.get("username") == user:
                    return str(secret.get("password", ""))
            return None

        def login(user: str, password: str, database: str) -> str | None:
            for entry in _auth_entries(proxy):
                secret = _secret(sandbox, str(entry.get("secretarn", "")))
                if not secret or secret.get("username") != user:
                    continue
                if str(entry.get("iamauth", "DISABLED")).upper() == "REQUIRED":
                    verdict = check_token(
                        password,
                        host=proxy.endpoint,
                        port=_engine_port(proxy),
                        user=user,
                        resource_arn=_dbuser_arn(proxy, user),
                        now=sandbox.clock.timestamp,
                    )
                    return (
                        None if verdict.allowed else f"IAM authentication failed: {verdict.reason}"
                    )
                if password == secret.get("password"):
                    return None
                return f'password authentication failed for user "{user}"'
            return (
                f"the proxy {proxy.db_proxy_name} has no secret for user {user} "
                "(Auth names the Secrets Manager secrets of the users it lets in)"
            )

        return PoolProxy(
            proxy.db_proxy_name,
            target=target,
            login=login,
            credentials=credentials,
            pool_size=pool_size,
        )

    def create_db_proxy(self: Any, *args: Any, **kwargs: Any) -> Any:
        proxy = original_create(self, *args, **kwargs)
        pool = make_pool(proxy)
        pools.append(pool)
        setattr(proxy, POOL, pool)
        withdrawals.append(netguard.serve_endpoint(proxy.endpoint, _ProxyRoute(sandbox, proxy)))
        return proxy

    def delete_db_proxy(self: Any, proxy_name: str) -> Any:
        proxy = original_delete(self, proxy_name)
        pool = pool_of(proxy)
        if pool is not None:
            pool.stop()
            setattr(proxy, POOL, None)
        return proxy

    def generate_presigned_url(
        signer: Any, request_dict: Any, operation_name: str, *args: Any, **kwargs: Any
    ) -> Any:
        if operation_name == "connect":
            signer = _as_function_role(signer, sessions)
        url = original_presign(signer, request_dict, operation_name, *args, **kwargs)
        if operation_name == "connect":  # generate_db_auth_token: remember its lab time
            signature = dict(parse_qsl(urlsplit(str(url)).query)).get("X-Amz-Signature")
            if signature:
                _issued[signature] = sandbox.clock.timestamp
        return url

    def on_reset() -> None:
        for pool in list(pools):
            pool.stop()
        pools.clear()

    backend_cls.create_db_proxy = create_db_proxy  # type: ignore[method-assign]
    backend_cls.delete_db_proxy = delete_db_proxy  # type: ignore[method-assign]
    botocore.signers.RequestSigner.generate_presigned_url = generate_presigned_url
    sandbox.on_reset(on_reset)
    try:
        yield
    finally:
        backend_cls.create_db_proxy = original_create  # type: ignore[method-assign]
        backend_cls.delete_db_proxy = original_delete  # type: ignore[method-assign]
        botocore.signers.RequestSigner.generate_presigned_url = original_presign
        for withdraw in withdrawals:
            withdraw()
        for pool in pools:
            pool.stop()


# -- a burst of concurrent Lambda invocations -------------------------------------------------
@dataclass(frozen=True)
class BurstResult:
    """What ``n`` concurrent invocations of a function did.

    Attributes:
        results: Each invocation's result (an ``InvokeResult`` of the Lambda runtime).
        succeeded: How many returned without an error.
        errors: The error messages of those that failed, in order.
    """

    results: list[Any]
    succeeded: int
    errors: list[str]


def concurrent_invocations(
    sandbox: Sandbox, function_name: str, n: int, event: Any = None, *, region: str = "us-east-1"
) -> BurstResult:
    """Run ``n`` invocations of ``function_name`` at once, each in its own execution environment.

    The sandbox runs handlers one at a time in the notebook's process, so "at once" means what
    matters to a database: every environment is created for the burst (a cold start each, with
    its init code: a connection opened outside the handler stays open) and stays alive until the
    last invocation ends, as ``n`` overlapping invocations would. A handler that opens and closes
    its own connection inside one invocation does not overlap with the others here.

    ``event`` is every invocation's event, or a function of the invocation's index (0 to n-1)
    that makes each one's.
    """
    from labkit.services.awslambda.patch import (
        function_config,
        lambda_backend,
        state_of,
    )

    backend = lambda_backend(_ACCOUNT, region)
    fn = backend.get_function(function_name)
    state = state_of(backend)
    config = function_config(fn)
    held = []
    for _ in range(n):
        env = state.pool.acquire(config)
        env.busy = True  # held: the next acquire makes another environment
        held.append(env)
    results: list[Any] = []
    errors: list[str] = []
    try:
        for index, env in enumerate(held):
            env.busy = False
            if callable(event):
                payload = event(index)  # each invocation its own event
            else:
                payload = event if event is not None else {"burst": index}
            result = env.invoke(
                payload,
                f"burst-{index}-{os.urandom(4).hex()}",
                fn.function_arn,
            )
            env.busy = True
            results.append(result)
            if result.status != "success":
                errors.append(_error_message(result.payload))
    finally:
        for env in held:
            env.busy = False
    return BurstResult(results, len(results) - len(errors), errors)


def _error_message(payload: bytes) -> str:
    try:
        error = json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", "replace")
    if isinstance(error, dict):
        return f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"
    return str(error)
