"""What a Transfer Family user may do in S3: their role, their session policy, the bucket policy.

AWS (https://docs.aws.amazon.com/transfer/latest/userguide/requirements-roles.html,
https://docs.aws.amazon.com/transfer/latest/userguide/users-policies-session.html):

- Transfer Family assumes the user's ``Role`` for every S3 call, so the role's trust policy must
  let ``transfer.amazonaws.com`` call ``sts:AssumeRole``; otherwise the user cannot sign in;
- the role's identity policies (and the bucket's policy) decide each S3 action;
- a user's ``Policy`` is a session policy: it can only narrow the role (both must allow), and
  may use ``${transfer:UserName}``, ``${transfer:HomeDirectory}``, ``${transfer:HomeBucket}``
  and ``${transfer:HomeFolder}``, so one policy serves every user.

Every answer comes from the one policy engine (:mod:`labkit.policy`), through the same question
``lab.access`` asks (:func:`labkit.sandbox.access.ask`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from labkit import policy as engine
from labkit.errors import LabkitError
from labkit.sandbox.access import ClientFactory, ask

TRANSFER_SERVICE = "transfer.amazonaws.com"


def transfer_variables(user_name: str, home_directory: str | None) -> dict[str, str]:
    """The ``transfer:*`` policy variables of a user (``/bucket/home/ana`` gives HomeBucket
    ``bucket``, HomeFolder ``home/ana``, HomeDirectory ``bucket/home/ana``)."""
    keys = {"transfer:UserName": user_name}
    home = (home_directory or "").strip("/")
    if home:
        bucket, _, folder = home.partition("/")
        keys.update(
            {
                "transfer:HomeDirectory": home,
                "transfer:HomeBucket": bucket,
                "transfer:HomeFolder": folder,
            }
        )
    return keys


def _role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[-1]


def login_refusal(client: ClientFactory, role_arn: str, region: str) -> str:
    """Why Transfer Family cannot assume ``role_arn`` (``""`` when it can)."""
    iam = client("iam", region)
    try:
        role = iam.get_role(RoleName=_role_name(role_arn))["Role"]
    except Exception as error:
        if "NoSuchEntity" in str(error):
            return f"Transfer Family cannot assume {role_arn}: IAM has no such role"
        raise
    trust = role.get("AssumeRolePolicyDocument") or {}
    request = engine.Request(
        engine.Principal.service(TRANSFER_SERVICE), "sts:AssumeRole", role["Arn"]
    )
    decision = engine.evaluate(request, resource_policy=trust)
    if decision.allowed:
        return ""
    return (
        f"Transfer Family cannot assume {role['Arn']}: its trust policy does not let "
        f"{TRANSFER_SERVICE} call sts:AssumeRole ({decision.reason})"
    )


def s3_allow(
    client: ClientFactory,
    *,
    role_arn: str,
    user_name: str,
    home_directory: str | None,
    session_policy: str | None,
    region: str,
) -> Callable[[str, str, str], str | None]:
    """``allow(action, bucket, key)`` for one signed-in user: ``None`` when the role (and the
    session policy, if any) allow the S3 action, else why not."""
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    principal = engine.Principal.role_session(account, _role_name(role_arn), user_name)
    variables = transfer_variables(user_name, home_directory)
    scope: Any = None
    if session_policy:
        scope = engine.load_policy(
            json.loads(session_policy) if isinstance(session_policy, str) else session_policy,
            name=f"the session policy of {user_name}",
            kind="identity",
        )

    def allow(action: str, bucket: str, key: str) -> str | None:
        listing = action == "s3:ListBucket"
        resource = bucket if listing else f"{bucket}/{key}"
        context: dict[str, Any] = dict(variables)
        if listing:
            context["s3:prefix"] = key
        try:
            answer = ask(
                client, resource, action, principal=principal, region=region, context=context
            )
        except LabkitError as error:
            return str(error)
        shown = f"{action} on {resource or bucket}"
        if not answer.allowed:
            return f"{shown} denied for role {_role_name(role_arn)}: {answer.decision.reason}"
        if scope is not None:
            arn = f"arn:aws:s3:::{resource}"
            request = engine.Request(principal, action, arn, account, context)
            decision = engine.evaluate(request, identity_policies=[scope])
            if not decision.allowed:
                return f"{shown} denied by the session policy of {user_name}: {decision.reason}"
        return None

    return allow
