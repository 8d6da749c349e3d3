"""S3 event notifications as AWS checks them: each queue or function must let S3 send to it.

moto stores any notification configuration and then delivers every event, whatever the
destinations' policies say. AWS verifies each destination when the configuration is put: an SQS
queue must exist and its access policy must let the S3 service send messages from this bucket (S3
sends a test notification); a Lambda function must exist and its resource-based policy must let
``s3.amazonaws.com`` invoke it from this bucket (``lambda add-permission``). Otherwise the whole
configuration is refused with ``InvalidArgument``, "Unable to validate the following destination
configurations"
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html).
A learner who forgets the permission meets the error at the call that needs it, as on AWS,
instead of a trigger that silently never fires.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from moto.s3.exceptions import InvalidArgumentError
from moto.s3.models import S3Backend

from labkit.services.awslambda.access import invoke_decision
from labkit.services.sqs.access import Request, evaluate, service_delivery_request
from labkit.services.sqs.patch import queue_by_arn

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

S3_SERVICE = "s3.amazonaws.com"
UNVALIDATED = "Unable to validate the following destination configurations"
NO_QUEUE = "The destination queue does not exist"
NOT_ALLOWED = (
    "Permissions on the destination queue do not allow S3 to publish notifications from this bucket"
)
NO_FUNCTION = "The destination Lambda function does not exist"


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the notification checks for ``sandbox``."""
    stack.enter_context(queue_destinations_checked())


def s3_delivery_request(queue_arn: str, bucket: str, account_id: str) -> Request:
    """The request S3 makes when it sends a bucket's event notification to a queue."""
    return service_delivery_request(
        queue_arn,
        service=S3_SERVICE,
        source_arn=f"arn:aws:s3:::{bucket}",
        source_account=account_id,
    )


def destination_problem(queue_arn: str, bucket: str, account_id: str) -> str | None:
    """Why S3 could not validate ``queue_arn`` as a destination of ``bucket`` (``None``: it can).

    The sentence is AWS's; the decision behind it is :func:`evaluate`'s, so the queue view and
    this check agree.
    """
    return destination_check(queue_arn, bucket, account_id)[0]


def destination_check(queue_arn: str, bucket: str, account_id: str) -> tuple[str | None, str]:
    """:func:`destination_problem`, and the policy engine's reason behind a refusal (``""``
    when there is none to give)."""
    queue = queue_by_arn(queue_arn)
    if queue is None:
        return NO_QUEUE, ""
    decision = evaluate(queue._policy_json, s3_delivery_request(queue_arn, bucket, account_id))
    return (None, "") if decision.allowed else (NOT_ALLOWED, decision.reason)


def function_problem(function_arn: str, bucket: str, account_id: str) -> str | None:
    """Why S3 could not validate the function as a destination of ``bucket`` (``None``: it can)."""
    return function_check(function_arn, bucket, account_id)[0]


def function_check(function_arn: str, bucket: str, account_id: str) -> tuple[str | None, str]:
    """:func:`function_problem`, and the policy engine's reason behind a refusal."""
    # Imported here: only a configuration that names a function needs Lambda's models.
    from labkit.services.awslambda.patch import lambda_backend

    parts = function_arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda":
        return NO_FUNCTION, ""
    region, owner = parts[3], parts[4]
    qualifier = parts[7] if len(parts) > 7 else None
    try:
        fn = lambda_backend(owner, region).get_function(parts[6], qualifier)
    except Exception:
        return NO_FUNCTION, ""
    decision = invoke_decision(
        fn, service=S3_SERVICE, source_arn=f"arn:aws:s3:::{bucket}", account_id=account_id
    )
    if decision.allowed:
        return None, ""
    return f"Not authorized to invoke function [{function_arn}]", decision.reason


def _unvalidated(why: str) -> str:
    """AWS's message, then (what AWS does not say) the policy engine's reason, marked as
    labkit's so a learner can tell the two apart."""
    return f"{UNVALIDATED} (labkit: {why})" if why else UNVALIDATED


def _entries(config: dict[str, Any] | None, kind: str) -> list[dict[str, Any]]:
    entries = (config or {}).get(kind) or []
    if isinstance(entries, dict):
        entries = [entries]
    return [e for e in entries if isinstance(e, dict)]


def _queue_arns(config: dict[str, Any] | None) -> list[str]:
    return [str(e.get("Queue", "")) for e in _entries(config, "QueueConfiguration")]


def _function_arns(config: dict[str, Any] | None) -> list[str]:
    return [str(e.get("CloudFunction", "")) for e in _entries(config, "CloudFunctionConfiguration")]


@contextmanager
def queue_destinations_checked() -> Iterator[None]:
    """Refuse a notification configuration whose queues or functions S3 could not send to."""
    original = S3Backend.put_bucket_notification_configuration

    def put(self: S3Backend, bucket_name: str, notification_config: dict[str, Any]) -> None:
        checks: list[tuple[str, Callable[[str, str, str], tuple[str | None, str]]]] = [
            (arn, destination_check) for arn in _queue_arns(notification_config)
        ]
        checks += [(arn, function_check) for arn in _function_arns(notification_config)]
        for arn, check in checks:
            problem, why = check(arn, bucket_name, self.account_id)
            if problem is not None:
                raise InvalidArgumentError(_unvalidated(why), arn, problem)
        original(self, bucket_name, notification_config)

    S3Backend.put_bucket_notification_configuration = put  # type: ignore[method-assign]
    try:
        yield
    finally:
        S3Backend.put_bucket_notification_configuration = original  # type: ignore[method-assign]
