"""A task's own AWS calls, decided as its task role: the one policy engine says yes or no.

A container's code gets the task role's credentials (:mod:`labkit.services.ecs.patch`), so every
client it makes signs as ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/TASK-ID``. S3 already decides
requests signed with sandbox-issued credentials (:mod:`labkit.services.s3.patch_identity`); for
the other services a task typically calls, the task's boto3 session asks the policy engine
before the request leaves (a ``before-call`` hook), with the role's identity policies and the
resource's own policy where it has one (an SQS queue's, an SNS topic's): an explicit deny wins,
else an allow from either grants (same account), else the call fails with the service's own
error code and IAM's wording ("User: ... is not authorized to perform: sqs:SendMessage on
resource: ... because no identity-based policy allows the sqs:SendMessage action").

The action is IAM's name for the operation (``sqs:SendMessage``, ``dynamodb:PutItem``: the same
as the API's for these services); the resource is the ARN the request names. A service not listed
in :data:`RESOURCES` is left to moto (it allows), as before.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botocore.awsrequest import AWSResponse

from labkit import policy as engine
from labkit.sandbox import signers

#: IAM's prefix for a boto3 service name, where they differ.
_PREFIX = {"secretsmanager": "secretsmanager", "ssm": "ssm", "logs": "logs"}
#: The error code each service answers a denied call with.
_CODE = {"sqs": "AccessDenied", "sns": "AuthorizationError"}


def _queue_arn(params: Mapping[str, Any], region: str, account: str) -> str:
    url = str(params.get("QueueUrl", ""))
    return f"arn:aws:sqs:{region}:{account}:{url.rstrip('/').rsplit('/', 1)[-1]}" if url else "*"


def _name_arn(kind: str, key: str) -> Callable[[Mapping[str, Any], str, str], str]:
    def arn(params: Mapping[str, Any], region: str, account: str) -> str:
        value = str(params.get(key, ""))
        if not value:
            return "*"
        if value.startswith("arn:"):
            return value
        return kind.format(region=region, account=account, name=value.lstrip("/"))

    return arn


#: How to find the resource ARN a request names, by boto3 service name.
RESOURCES: dict[str, Callable[[Mapping[str, Any], str, str], str]] = {
    "sqs": _queue_arn,
    "dynamodb": _name_arn("arn:aws:dynamodb:{region}:{account}:table/{name}", "TableName"),
    "sns": _name_arn("arn:aws:sns:{region}:{account}:{name}", "TopicArn"),
    "lambda": _name_arn("arn:aws:lambda:{region}:{account}:function:{name}", "FunctionName"),
    "kinesis": _name_arn("arn:aws:kinesis:{region}:{account}:stream/{name}", "StreamName"),
    "secretsmanager": _name_arn(
        "arn:aws:secretsmanager:{region}:{account}:secret:{name}", "SecretId"
    ),
    "ssm": _name_arn("arn:aws:ssm:{region}:{account}:parameter/{name}", "Name"),
}


def _resource_policy(service: str, arn: str) -> Any:
    """The queue's or topic's own policy document, if it has one."""
    from labkit.sandbox.backends import existing

    account = engine.arn_account(arn)
    for region, backend in existing(service, account):
        if f":{region}:" not in arn:
            continue
        name = arn.rsplit(":", 1)[-1]
        if service == "sqs":
            queue = backend.queues.get(name)
            return getattr(queue, "policy", None) if queue is not None else None
        if service == "sns":
            topic = backend.topics.get(arn)
            return getattr(topic, "policy", None) if topic is not None else None
    return None


def decide(
    key: str, service: str, operation: str, params: Mapping[str, Any], region: str
) -> tuple[str, str] | None:
    """``(error code, message)`` when the session of ``key`` may not make this call, else
    ``None`` (allowed, or a call this module does not decide)."""
    find = RESOURCES.get(service)
    if find is None:
        return None
    signer = signers.signer_of({"Authorization": f"AWS4-HMAC-SHA256 Credential={key}/"})
    if signer is None:
        return None
    action = f"{_PREFIX.get(service, service)}:{operation}"
    arn = find(params, region, signer.principal.account)
    request = engine.Request(
        signer.principal,
        action,
        arn,
        resource_account=engine.arn_account(arn) or signer.principal.account,
    )
    document = _resource_policy(service, arn) if arn != "*" else None
    decision = engine.evaluate(
        request,
        identity_policies=signer.policies,
        resource_policy=engine.load_policy(document, name="the resource's policy")
        if document
        else None,
    )
    if decision.allowed:
        return None
    why = (
        "with an explicit deny"
        if decision.kind == "explicit-deny"
        else f"because no identity-based policy allows the {action} action"
    )
    message = (
        f"User: {signer.principal.arn} is not authorized to perform: {action} on resource: "
        f"{arn} {why}"
    )
    return _CODE.get(service, "AccessDeniedException"), message


def guard(session: Any, key: str, region: str) -> None:
    """Make every client of the task's boto3 ``session`` ask :func:`decide` before calling."""

    def keep_params(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        # ``before-call`` sees the serialized request; the API's own parameters are kept here.
        context["labkit_params"] = dict(params)

    def before_call(model: Any, context: Mapping[str, Any], **_: Any) -> Any:
        service = model.service_model.service_name
        params = context.get("labkit_params") or {}
        denied = decide(key, service, model.name, params, region)
        if denied is None:
            return None
        code, message = denied
        response = AWSResponse("https://denied.invalid", 400, {}, None)
        return response, {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    session.events.register("before-parameter-build", keep_params)
    session.events.register("before-call", before_call)


__all__ = ["RESOURCES", "decide", "guard"]
