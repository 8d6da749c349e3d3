"""S3 Transfer Acceleration in the sandbox: the accelerate endpoint, its refusals, upload times.

moto stores a bucket's accelerate configuration, and answers ``bucket.s3-accelerate.amazonaws.com``
as if it were the bucket's ordinary endpoint, whatever that configuration says. AWS
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/transfer-acceleration.html):

- serves the accelerate endpoint (and ``.s3-accelerate.dualstack.amazonaws.com``) only for a
  bucket whose acceleration is ``Enabled``; otherwise ``400 InvalidRequest`` "S3 Transfer
  Acceleration is not configured on this bucket";
- refuses acceleration to a bucket whose name has periods, at
  ``PutBucketAccelerateConfiguration`` (moto's refusal speaks of a CORS configuration) and at
  the endpoint: the name must be DNS-compliant without ``.``
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAccelerateConfiguration.html);
  boto3 itself refuses a dotted name with ``use_accelerate_endpoint`` before sending.

Every object upload the sandbox accepts (``PutObject``, ``UploadPart``, on either endpoint) is
recorded with the uploader's city and the modelled time it took, straight or accelerated
(:mod:`labkit.services.s3.sim_acceleration`), and the time the other way would have taken. The
uploader is where the edge lab's viewer is: ``with labkit.edge.viewer("Sydney"):
s3.put_object(...)`` uploads from Sydney (the sandbox's Region when no viewer is set).
:func:`uploads` lists them.
"""

from __future__ import annotations

from contextlib import ExitStack, suppress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from moto.s3.exceptions import S3ClientError
from moto.s3.models import S3Backend
from moto.s3.responses import S3Response

from labkit.services.edge.sim_locations import UnknownLocationError
from labkit.services.s3.sim_acceleration import UPLOADS_KEY, Upload, upload_estimate
from labkit.services.s3.state import uploads

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_SUFFIXES = (".s3-accelerate.amazonaws.com", ".s3-accelerate.dualstack.amazonaws.com")

NOT_CONFIGURED = "S3 Transfer Acceleration is not configured on this bucket"
DOTTED = "S3 Transfer Acceleration is not supported for buckets with periods (.) in their names"


class AccelerationRefusedError(S3ClientError):
    """S3's ``400 InvalidRequest`` about Transfer Acceleration."""

    code = "InvalidRequest"

    def __init__(self, message: str) -> None:
        super().__init__("InvalidRequest", message)


def accelerate_host(host: str) -> str | None:
    """The bucket an accelerate endpoint host names, or ``None`` for another host."""
    lower = host.lower()
    for suffix in _SUFFIXES:
        if lower.endswith(suffix):
            return lower[: -len(suffix)]
    return None


def _records(backend: S3Backend) -> list[Upload]:
    found = backend.__dict__.get(UPLOADS_KEY)
    if not isinstance(found, list):
        found = []
        backend.__dict__[UPLOADS_KEY] = found
    return found


def _uploader(sandbox: Sandbox) -> Any:
    from labkit.services.edge.patch import current_viewer

    return current_viewer(sandbox)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Serve and refuse the accelerate endpoint as S3 does; record uploads (undone by
    ``stack``)."""
    original_authorize = S3Response._authenticate_and_authorize_s3_action

    def authorize(
        self: S3Response, bucket_name: str | None = None, key_name: str | None = None
    ) -> None:
        named = accelerate_host(urlsplit(str(self.uri)).hostname or "")
        if named is not None:
            name = bucket_name or named
            if "." in name:
                raise AccelerationRefusedError(DOTTED)
            bucket = self.backend.buckets.get(name)
            if bucket is not None and bucket.accelerate_configuration != "Enabled":
                raise AccelerationRefusedError(NOT_CONFIGURED)
        original_authorize(self, bucket_name=bucket_name, key_name=key_name)

    original_key_response = S3Response.key_response

    def key_response(self: S3Response, request: Any, full_url: str, headers: Any) -> Any:
        answer = original_key_response(self, request, full_url, headers)
        # A Region the edge map lacks: the upload stands, unrecorded.
        with suppress(UnknownLocationError):
            _record(self, request, full_url, answer)
        return answer

    def _record(self: S3Response, request: Any, full_url: str, answer: Any) -> None:
        status = answer[0] if isinstance(answer, tuple) else 0
        if request.method != "PUT" or status != 200:
            return
        headers = request.headers
        if headers.get("x-amz-copy-source") or headers.get("X-Amz-Copy-Source"):
            return  # a copy moves no bytes from the uploader
        bucket_name = self.parse_bucket_name_from_url(request, full_url)
        bucket = self.backend.buckets.get(bucket_name)
        key = self.parse_key_name()
        if bucket is None or not key:
            return
        body = self.body
        size = (
            len(body)
            if isinstance(body, (bytes, str))
            else int(headers.get("content-length") or headers.get("Content-Length") or 0)
        )
        host = urlsplit(full_url).hostname or ""
        record = Upload(
            at=sandbox.clock.timestamp,
            bucket=bucket_name,
            key=key,
            size=size,
            accelerated=accelerate_host(host) is not None,
            estimate=upload_estimate(size, _uploader(sandbox), str(bucket.region_name)),
        )
        _records(self.backend).append(record)

    original_put_accelerate = S3Backend.put_bucket_accelerate_configuration

    def put_accelerate(self: S3Backend, bucket_name: str, accelerate_configuration: str) -> None:
        if "." in bucket_name and accelerate_configuration in ("Enabled", "Suspended"):
            self.get_bucket(bucket_name)  # NoSuchBucket first, as S3 answers
            raise AccelerationRefusedError(DOTTED)
        original_put_accelerate(self, bucket_name, accelerate_configuration)

    for cls, name, func, original in (
        (S3Response, "_authenticate_and_authorize_s3_action", authorize, original_authorize),
        (S3Response, "key_response", key_response, original_key_response),
        (
            S3Backend,
            "put_bucket_accelerate_configuration",
            put_accelerate,
            original_put_accelerate,
        ),
    ):
        setattr(cls, name, func)
        stack.callback(setattr, cls, name, original)


__all__ = [
    "DOTTED",
    "NOT_CONFIGURED",
    "AccelerationRefusedError",
    "Upload",
    "accelerate_host",
    "install",
    "uploads",
]
