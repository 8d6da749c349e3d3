"""What a cluster's IAM role may do in S3, for COPY, UNLOAD and Spectrum.

Redshift reads and writes S3 as the IAM role the statement names (``IAM_ROLE 'arn'``): the role
must be associated with the cluster, trust ``redshift.amazonaws.com``, and its policies (with the
bucket's policy) must allow the action: ``s3:GetObject`` to load or to scan with Spectrum,
``s3:PutObject`` to unload
(https://docs.aws.amazon.com/redshift/latest/mgmt/authorizing-redshift-service.html,
https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-access-permissions.html).
Every answer comes from the one policy engine through :func:`labkit.sandbox.access.ask`.
"""

from __future__ import annotations

from collections.abc import Callable

from labkit import policy as engine
from labkit.errors import LabkitError
from labkit.sandbox.access import ClientFactory, ask

REDSHIFT_SERVICE = "redshift.amazonaws.com"
#: The session name Redshift's assumed-role sessions carry in the sandbox.
SESSION = "RedshiftIamRoleSession"


def _role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[-1]


def trust_refusal(client: ClientFactory, role_arn: str, region: str) -> str:
    """Why Redshift cannot assume ``role_arn`` (``""`` when it can)."""
    iam = client("iam", region)
    try:
        role = iam.get_role(RoleName=_role_name(role_arn))["Role"]
    except Exception as error:
        if "NoSuchEntity" in str(error):
            return f"IAM has no role {role_arn}"
        raise
    trust = role.get("AssumeRolePolicyDocument") or {}
    request = engine.Request(
        engine.Principal.service(REDSHIFT_SERVICE), "sts:AssumeRole", role["Arn"]
    )
    decision = engine.evaluate(request, resource_policy=trust)
    if decision.allowed:
        return ""
    return (
        f"the trust policy of {role['Arn']} does not let {REDSHIFT_SERVICE} call sts:AssumeRole "
        f"({decision.reason})"
    )


def s3_allow(client: ClientFactory, region: str) -> Callable[[str, str, str, str], str | None]:
    """``allow(role_arn, action, bucket, key)``: ``None`` when the role may, else why not.

    The trust check is made once per role and answer.
    """
    trusted: dict[str, str] = {}

    def allow(role_arn: str, action: str, bucket: str, key: str) -> str | None:
        if role_arn not in trusted:
            trusted[role_arn] = trust_refusal(client, role_arn, region)
        if trusted[role_arn]:
            return trusted[role_arn]
        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
        principal = engine.Principal.role_session(account, _role_name(role_arn), SESSION)
        try:
            answer = ask(client, f"{bucket}/{key}", action, principal=principal, region=region)
        except LabkitError as error:
            return str(error)
        if answer.allowed:
            return None
        return f"{action} on {bucket}/{key} denied for role {_role_name(role_arn)}: {answer.reason}"

    return allow
