"""Access questions about the sandbox's resources, answered by the one policy engine.

``lab.access("orders", "sqs:SendMessage", principal="sns.amazonaws.com", source_arn=topic)``
reads the resource's policy from the sandbox (an SQS queue's access policy, an S3 bucket policy,
a Lambda function's resource-based policy, an SNS topic's access policy) through the sandbox's
boto3 clients, turns the learner's words (a queue name, URL or ARN; ``"anonymous"``, an account
id, an ARN or a service principal) into an engine request, asks :func:`labkit.policy.evaluate`,
and returns an :class:`AccessResult`: allowed or not, the statement that decided, and every
statement's verdict. :mod:`labkit.views.access` renders it as HTML and text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit import policy as engine
from labkit.errors import LabkitError
from labkit.policy.request import ContextValue
from labkit.services.awslambda.access import POLICY_NAME as FUNCTION_POLICY
from labkit.services.s3.patch_access import POLICY_NAME as BUCKET_POLICY
from labkit.services.sqs.access import POLICY_NAME as QUEUE_POLICY

#: ``client(service, region)``: a boto3 client of the sandbox (``Sandbox.client``).
ClientFactory = Callable[[str, str], Any]

_ACCOUNT_ID = re.compile(r"\d{12}")
#: The services whose resource policies the view reads, by action prefix.
SERVICES = ("sqs", "s3", "lambda", "sns")
#: How explanations name each service's resource policy.
POLICY_NAMES = {
    "sqs": QUEUE_POLICY,
    "s3": BUCKET_POLICY,
    "lambda": FUNCTION_POLICY,
    "sns": "the topic's policy",
}


class AccessQuestionError(LabkitError):
    """A question :func:`ask` cannot put to the policy engine (an unknown resource, a principal
    it cannot read, an action of a service without resource policies here)."""

    code = "BadAccessQuestion"


@dataclass(frozen=True)
class AccessResult:
    """The engine's answer to one access question, ready to show.

    Attributes:
        principal: Who asks, in words.
        action: The action asked about.
        resource: The resource's ARN.
        policy: The resource policy's name ("the queue's policy"); ``""`` when it has none.
        decision: The engine's decision (every statement's verdict, the deciding ones).
        context: The condition keys the request carried.
        identity: The names of the caller's identity-based policies that were evaluated.
    """

    principal: str
    action: str
    resource: str
    policy: str
    decision: engine.Decision
    context: Mapping[str, str] = field(default_factory=dict)
    identity: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        """Whether AWS would allow the request."""
        return self.decision.allowed

    @property
    def reason(self) -> str:
        """The decision in one sentence."""
        return self.decision.reason

    def __bool__(self) -> bool:
        return self.decision.allowed

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        from labkit.views.access import access_html, access_text

        return {"text/plain": access_text(self), "text/html": access_html(self)}

    def __repr__(self) -> str:
        from labkit.views.access import access_text

        return access_text(self)


# -- the question, in the engine's terms ----------------------------------------------------------
def parse_principal(who: str | engine.Principal) -> engine.Principal:
    """The caller, from the ways a learner names one.

    ``"anonymous"`` (an unsigned request), an account id or ``arn:aws:iam::ID:root`` (that
    account's root user), an IAM user or role ARN (a role means a session of it), an
    ``assumed-role`` session ARN, or a service principal such as ``"sns.amazonaws.com"``.
    """
    if isinstance(who, engine.Principal):
        return who
    text = str(who).strip()
    if text.lower() in ("anonymous", "*"):
        return engine.Principal.anonymous()
    if _ACCOUNT_ID.fullmatch(text):
        return engine.Principal.root(text)
    if text.endswith(".amazonaws.com") and ":" not in text:
        return engine.Principal.service(text)
    parts = text.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] in ("iam", "sts"):
        account, rest = parts[4], parts[5]
        if rest == "root":
            return engine.Principal.root(account)
        kind, _, name = rest.partition("/")
        path = "/" + name.rsplit("/", 1)[0] + "/" if "/" in name else "/"
        if parts[2] == "iam" and kind == "user":
            return engine.Principal.user(account, name.rsplit("/", 1)[-1], path=path)
        if parts[2] == "iam" and kind == "role":
            return engine.Principal.role_session(
                account, name.rsplit("/", 1)[-1], "labkit", path=path
            )
        if parts[2] == "sts" and kind == "assumed-role" and name.count("/") == 1:
            role, session = name.split("/")
            return engine.Principal.role_session(account, role, session)
    raise AccessQuestionError(
        f"labkit cannot tell who {text!r} is. Name the caller as 'anonymous', an account id "
        "('123456789012'), an IAM user or role ARN ('arn:aws:iam::123456789012:user/alice'), or "
        "a service principal ('sns.amazonaws.com')."
    )


def request_context(
    *,
    source_arn: str | None,
    source_account: str | None,
    secure: bool,
    extra: Mapping[str, ContextValue] | None,
) -> dict[str, ContextValue]:
    """The condition keys of the request: ``aws:SourceArn`` and ``aws:SourceAccount`` (from
    the source ARN's account unless given), ``aws:SecureTransport``, then ``extra``."""
    keys: dict[str, ContextValue] = {"aws:SecureTransport": "true" if secure else "false"}
    if source_arn:
        keys["aws:SourceArn"] = source_arn
        account = source_account or engine.arn_account(source_arn)
        if account:
            keys["aws:SourceAccount"] = account
    elif source_account:
        keys["aws:SourceAccount"] = source_account
    keys.update(extra or {})
    return keys


@dataclass(frozen=True)
class Target:
    """A resource the sandbox holds, and its policy.

    Attributes:
        service: ``sqs``, ``s3``, ``lambda`` or ``sns``.
        arn: The resource's ARN (for S3, the bucket's or the object's).
        owner: Its account (an S3 ARN has none).
        policy: Its resource policy document, ``None`` when it has none.
    """

    service: str
    arn: str
    owner: str
    policy: Any


def _missing(error: Exception, *codes: str) -> bool:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", "")) in codes


def _region_of(arn: str, default: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[0] == "arn" and parts[3] else default


def find_target(client: ClientFactory, service: str, resource: str, region: str) -> Target:
    """Read ``resource`` (as AWS accepts it: name, URL or ARN) and its policy from the sandbox."""
    reader = {"sqs": _queue, "s3": _bucket, "lambda": _function, "sns": _topic}[service]
    try:
        return reader(client, resource, region)
    except AccessQuestionError:
        raise
    except Exception as error:
        raise AccessQuestionError(
            f"There is no {service} resource {resource!r} in the sandbox ({error})."
        ) from None


def _queue(client: ClientFactory, resource: str, region: str) -> Target:
    if resource.startswith("arn:"):
        region, name = _region_of(resource, region), resource.rsplit(":", 1)[-1]
        url = client("sqs", region).get_queue_url(QueueName=name)["QueueUrl"]
    elif resource.startswith(("http://", "https://")):
        url = resource
    else:
        url = client("sqs", region).get_queue_url(QueueName=resource)["QueueUrl"]
    found = client("sqs", region).get_queue_attributes(
        QueueUrl=url, AttributeNames=["Policy", "QueueArn"]
    )["Attributes"]
    arn = found["QueueArn"]
    return Target("sqs", arn, engine.arn_account(arn), found.get("Policy") or None)


def _bucket(client: ClientFactory, resource: str, region: str) -> Target:
    path = resource
    if resource.startswith("arn:"):
        path = resource.split(":", 5)[5]
    elif resource.startswith("s3://"):
        path = resource[5:]
    bucket, _, key = path.partition("/")
    s3 = client("s3", region)
    s3.head_bucket(Bucket=bucket)
    try:
        policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    except Exception as error:
        if not _missing(error, "NoSuchBucketPolicy"):
            raise
        policy = None
    arn = f"arn:aws:s3:::{bucket}" + (f"/{key}" if key else "")
    owner = str(s3.get_bucket_acl(Bucket=bucket)["Owner"].get("ID", ""))
    return Target("s3", arn, owner if _ACCOUNT_ID.fullmatch(owner) else "", policy)


def _function(client: ClientFactory, resource: str, region: str) -> Target:
    region = _region_of(resource, region)
    lam = client("lambda", region)
    arn = lam.get_function(FunctionName=resource)["Configuration"]["FunctionArn"]
    try:
        policy = lam.get_policy(FunctionName=resource)["Policy"]
    except Exception as error:
        if not _missing(error, "ResourceNotFoundException"):
            raise
        policy = None
    return Target("lambda", arn, engine.arn_account(arn), json.loads(policy) if policy else None)


def _topic(client: ClientFactory, resource: str, region: str) -> Target:
    if resource.startswith("arn:"):
        region, arn = _region_of(resource, region), resource
    else:
        sns = client("sns", region)
        arns = [t["TopicArn"] for t in sns.list_topics().get("Topics", [])]
        matches = [a for a in arns if a.rsplit(":", 1)[-1] == resource]
        if not matches:
            raise AccessQuestionError(f"There is no SNS topic {resource!r} in the sandbox.")
        arn = matches[0]
    attributes = client("sns", region).get_topic_attributes(TopicArn=arn)["Attributes"]
    return Target("sns", arn, engine.arn_account(arn), attributes.get("Policy") or None)


def identity_documents(
    client: ClientFactory, principal: engine.Principal, region: str
) -> list[engine.Policy]:
    """The IAM policies (inline and attached) of a user or of a session's role in the sandbox's
    account; none for other callers, other accounts, or a user or role IAM does not hold."""
    if principal.kind not in ("user", "role"):
        return []
    if principal.account != client("sts", region).get_caller_identity()["Account"]:
        return []  # another account's IAM is not in the sandbox: pass identity_policies=
    iam = client("iam", region)
    kind, name = ("user", principal.name) if principal.kind == "user" else ("role", principal.name)
    title = kind.capitalize()
    found: list[engine.Policy] = []
    try:
        inline = getattr(iam, f"list_{kind}_policies")(**{f"{title}Name": name})["PolicyNames"]
        for policy_name in inline:
            document = getattr(iam, f"get_{kind}_policy")(
                **{f"{title}Name": name, "PolicyName": policy_name}
            )["PolicyDocument"]
            found.append(_identity(document, f"inline policy `{policy_name}` of {name}"))
        attached = getattr(iam, f"list_attached_{kind}_policies")(**{f"{title}Name": name})
        for item in attached["AttachedPolicies"]:
            version = iam.get_policy(PolicyArn=item["PolicyArn"])["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=item["PolicyArn"], VersionId=version)
            found.append(
                _identity(document["PolicyVersion"]["Document"], f"policy `{item['PolicyName']}`")
            )
    except Exception as error:
        if _missing(error, "NoSuchEntity"):
            return []
        raise
    return found


def _identity(document: Any, name: str) -> engine.Policy:
    return engine.load_policy(document, name=name, kind="identity")


def ask(
    client: ClientFactory,
    resource: str,
    action: str,
    *,
    principal: str | engine.Principal,
    region: str,
    source_arn: str | None = None,
    source_account: str | None = None,
    secure: bool = True,
    context: Mapping[str, ContextValue] | None = None,
    identity_policies: Iterable[Any] | None = None,
) -> AccessResult:
    """Ask the policy engine whether ``principal`` may do ``action`` on ``resource``.

    Args:
        client: ``client(service, region)``, a boto3 client of the sandbox.
        resource: The queue, bucket (or ``bucket/key``), function or topic: a name, URL or ARN.
        action: ``service:Operation`` (``sqs:SendMessage``, ``s3:GetObject``, ...).
        principal: Who asks (see :func:`parse_principal`).
        region: Where names without an ARN are looked up.
        source_arn: ``aws:SourceArn`` (the topic, bucket or distribution a service acts for).
        source_account: ``aws:SourceAccount`` (defaults to ``source_arn``'s account).
        secure: ``aws:SecureTransport`` (HTTPS).
        context: Other condition keys.
        identity_policies: The caller's identity-based policies; by default, read from IAM
            for a user or role of the sandbox.
    """
    service = action.split(":", 1)[0].lower() if ":" in action else ""
    if service not in SERVICES:
        raise AccessQuestionError(
            f"labkit reads resource policies of {', '.join(SERVICES)}; {action!r} is not an "
            "action of one of them (write it as service:Operation, e.g. 'sqs:SendMessage')."
        )
    caller = parse_principal(principal)
    target = find_target(client, service, str(resource), region)
    keys = request_context(
        source_arn=source_arn, source_account=source_account, secure=secure, extra=context
    )
    request = engine.Request(caller, action, target.arn, target.owner, keys)
    identity = (
        [_identity(p, f"identity policy {i}") for i, p in enumerate(identity_policies, 1)]
        if identity_policies is not None
        else identity_documents(client, caller, region)
    )
    name = POLICY_NAMES[service]
    resource_policy = (
        None if target.policy is None else engine.load_policy(target.policy, name=name)
    )
    if resource_policy is not None and not resource_policy.error and not resource_policy.statements:
        resource_policy = None  # moto keeps "no policy" as an empty statement list
    decision = engine.evaluate(request, identity_policies=identity, resource_policy=resource_policy)
    return AccessResult(
        principal=caller.describe,
        action=action,
        resource=target.arn,
        policy=name if resource_policy is not None else "",
        decision=decision,
        context={k: _shown(v) for k, v in keys.items()},
        identity=tuple(p.name for p in identity),
    )


def _shown(value: ContextValue) -> str:
    if isinstance(value, (list, tuple)) and not isinstance(value, (str, bytes)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


__all__ = [
    "POLICY_NAMES",
    "SERVICES",
    "AccessQuestionError",
    "AccessResult",
    "Target",
    "ask",
    "find_target",
    "identity_documents",
    "parse_principal",
    "request_context",
]
