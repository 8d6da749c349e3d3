"""S3 event notifications to SQS as AWS checks them: the queue must exist and let S3 send.

moto stores any notification configuration and then delivers every event to its queues, whatever
their access policies say. AWS verifies each SQS destination when the configuration is put: the
queue must exist and its policy must let the S3 service send messages from this bucket (S3 sends a
test notification); otherwise the whole configuration is refused with ``InvalidArgument``,
"Unable to validate the following destination configurations"
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html).
A learner who forgets the queue policy meets the error at the call that needs it, as on AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from moto.s3.exceptions import InvalidArgumentError
from moto.s3.models import S3Backend
from moto.sqs.models import sqs_backends

from labkit.sandbox.services.sqs_policy import Request, evaluate

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

S3_SERVICE = "s3.amazonaws.com"
UNVALIDATED = "Unable to validate the following destination configurations"
NO_QUEUE = "The destination queue does not exist"
NOT_ALLOWED = (
    "Permissions on the destination queue do not allow S3 to publish notifications from this bucket"
)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the notification checks for ``sandbox``."""
    stack.enter_context(queue_destinations_checked())


def s3_delivery_request(queue_arn: str, bucket: str, account_id: str) -> Request:
    """The request S3 makes when it sends a bucket's event notification to a queue."""
    return Request(
        action="sqs:SendMessage",
        resource=queue_arn,
        service=S3_SERVICE,
        context={
            "aws:SourceArn": f"arn:aws:s3:::{bucket}",
            "aws:SourceAccount": account_id,
            "aws:SecureTransport": "true",
        },
    )


def destination_problem(queue_arn: str, bucket: str, account_id: str) -> str | None:
    """Why S3 could not validate ``queue_arn`` as a destination of ``bucket`` (``None``: it can).

    The sentence is AWS's; the decision behind it is :func:`evaluate`'s, so the queue view and
    this check agree.
    """
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        return NO_QUEUE
    region, owner, name = parts[3], parts[4], parts[5]
    queue = sqs_backends[owner][region].queues.get(name)
    if queue is None:
        return NO_QUEUE
    if not evaluate(queue._policy_json, s3_delivery_request(queue_arn, bucket, account_id)).allowed:
        return NOT_ALLOWED
    return None


def _queue_arns(config: dict[str, Any] | None) -> list[str]:
    entries = (config or {}).get("QueueConfiguration") or []
    if isinstance(entries, dict):
        entries = [entries]
    return [str(e.get("Queue", "")) for e in entries if isinstance(e, dict)]


@contextmanager
def queue_destinations_checked() -> Iterator[None]:
    """Refuse a notification configuration whose queues S3 could not send to."""
    original = S3Backend.put_bucket_notification_configuration

    def put(self: S3Backend, bucket_name: str, notification_config: dict[str, Any]) -> None:
        for arn in _queue_arns(notification_config):
            problem = destination_problem(arn, bucket_name, self.account_id)
            if problem is not None:
                raise InvalidArgumentError(UNVALIDATED, arn, problem)
        original(self, bucket_name, notification_config)

    S3Backend.put_bucket_notification_configuration = put  # type: ignore[method-assign]
    try:
        yield
    finally:
        S3Backend.put_bucket_notification_configuration = original  # type: ignore[method-assign]
