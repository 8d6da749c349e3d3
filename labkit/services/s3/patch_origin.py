"""S3 as a CloudFront origin: what the bucket answers when an edge location asks for an object.

The edge reads moto's S3 model directly (no HTTP round trip), as the principal CloudFront uses:
``cloudfront.amazonaws.com`` with the distribution as ``AWS:SourceArn`` under origin access
control, the origin access identity's user under OAI, anonymous otherwise. S3's rules apply
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-auth-workflow-object-operation.html):
an explicit deny wins; without an allow the answer is ``403 AccessDenied``; a missing key is
``404 NoSuchKey`` only to a principal that may list the bucket, ``403`` otherwise. Website
endpoints serve only publicly readable objects and apply the index document
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/WebsiteEndpoints.html).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import formatdate
from typing import Any
from uuid import uuid4

from moto.s3.models import FakeKey, s3_backends

from labkit.services.edge.patch import EdgeResponse
from labkit.services.s3 import patch_access as s3_access

# Object metadata S3 returns as response headers.
_SERVED_METADATA = (
    "content-type",
    "cache-control",
    "expires",
    "content-encoding",
    "content-disposition",
    "content-language",
    "x-amz-website-redirect-location",
)


def find_bucket(name: str) -> Any:
    """moto's bucket called ``name`` in any account, or ``None``."""
    owner = s3_backends.bucket_accounts.get(name)
    if owner is None:
        return None
    partition, account = owner
    return s3_backends[account][partition].buckets.get(name)


def bucket_region(name: str) -> str | None:
    """The Region of bucket ``name``, if it exists."""
    bucket = find_bucket(name)
    return str(bucket.region_name) if bucket is not None else None


def _xml_error(status: int, code: str, message: str, **extra: str) -> EdgeResponse:
    request_id = uuid4().hex[:16].upper()
    fields = "".join(f"<{k}>{v}</{k}>" for k, v in extra.items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>{fields}"
        f"<RequestId>{request_id}</RequestId><HostId>{uuid4().hex}</HostId></Error>"
    ).encode()
    return EdgeResponse(
        status,
        [
            ("Content-Type", "application/xml"),
            ("x-amz-request-id", request_id),
            ("Server", "AmazonS3"),
        ],
        body,
    )


def _object_headers(key: FakeKey, now: float) -> list[tuple[str, str]]:
    metadata = {k.lower(): str(v) for k, v in key.metadata.items()}
    headers = [("Date", formatdate(now, usegmt=True))]
    headers.append(("Last-Modified", key.last_modified_RFC1123))
    headers.append(("ETag", key.etag))
    for name in _SERVED_METADATA:
        if name in metadata:
            headers.append((_title(name), metadata[name]))
    if "content-type" not in metadata:
        headers.append(("Content-Type", "binary/octet-stream"))
    headers.extend((k, v) for k, v in metadata.items() if k.startswith("x-amz-meta-"))
    if key.version_id and key.version_id != "null":
        headers.append(("x-amz-version-id", str(key.version_id)))
    if key.encryption:
        headers.append(("x-amz-server-side-encryption", str(key.encryption)))
    headers.append(("Accept-Ranges", "bytes"))
    headers.append(("Server", "AmazonS3"))
    return headers


def _title(name: str) -> str:
    if name.startswith("x-amz-"):
        return name
    return "-".join(part.capitalize() for part in name.split("-"))


def _current_key(bucket: Any, key_name: str) -> FakeKey | None:
    if not key_name or key_name not in bucket.keys:
        return None
    key = bucket.keys[key_name]
    return key if isinstance(key, FakeKey) else None  # a delete marker reads as missing


def rest_get(
    bucket_name: str,
    key_name: str,
    method: str,
    principal: s3_access.Principal,
    context: Mapping[str, str],
    conditional: Mapping[str, str],
    now: float,
) -> EdgeResponse:
    """A ``GET``/``HEAD`` of ``key_name`` on the bucket's REST endpoint, as ``principal``.

    The body is returned for ``HEAD`` too (the edge strips it and keeps ``Content-Length``).
    """
    bucket = find_bucket(bucket_name)
    if bucket is None:
        return _xml_error(
            404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket_name
        )
    resource = f"arn:{bucket.partition}:s3:::{bucket_name}/{key_name}"
    key = _current_key(bucket, key_name)
    if principal == s3_access.ANONYMOUS:
        allowed = s3_access.anonymous_may_read(bucket, key, resource, https=True)
    else:
        allowed = s3_access.decide(bucket.policy, "s3:GetObject", resource, principal, context)
    if allowed is not s3_access.Decision.ALLOW or (not key_name):
        return _xml_error(403, "AccessDenied", "Access Denied")
    if key is None:
        may_list = s3_access.decide(
            bucket.policy,
            "s3:ListBucket",
            f"arn:{bucket.partition}:s3:::{bucket_name}",
            principal,
            context,
        )
        if may_list is s3_access.Decision.ALLOW:
            return _xml_error(404, "NoSuchKey", "The specified key does not exist.", Key=key_name)
        return _xml_error(403, "AccessDenied", "Access Denied")
    headers = _object_headers(key, now)
    if conditional.get("if-none-match") in (key.etag, key.etag.strip('"')):
        return EdgeResponse(304, headers, b"")
    return EdgeResponse(200, headers, bytes(key.value))


_INDEX = re.compile(rb"<IndexDocument>\s*<Suffix>(.*?)</Suffix>", re.S)
_ERROR = re.compile(rb"<ErrorDocument>\s*<Key>(.*?)</Key>", re.S)


def website_get(bucket_name: str, path: str, method: str, now: float) -> EdgeResponse:
    """A request to the bucket's website endpoint (anonymous, index document applied)."""
    bucket = find_bucket(bucket_name)
    if bucket is None:
        return _html_error(404, "NoSuchBucket", "The specified bucket does not exist")
    config = bucket.website_configuration or b""
    if isinstance(config, str):
        config = config.encode()
    index = _INDEX.search(config)
    if index is None:
        return _html_error(
            404,
            "NoSuchWebsiteConfiguration",
            "The specified bucket does not have a website configuration",
        )
    key_name = path.lstrip("/")
    if not key_name or key_name.endswith("/"):
        key_name += index.group(1).decode()
    key = _current_key(bucket, key_name)
    resource = f"arn:{bucket.partition}:s3:::{bucket_name}/{key_name}"
    decision = s3_access.anonymous_may_read(bucket, key, resource, https=False)
    if decision is not s3_access.Decision.ALLOW:
        return _html_error(403, "AccessDenied", "Access Denied")
    if key is None:
        error_doc = _ERROR.search(config)
        fallback = _current_key(bucket, error_doc.group(1).decode()) if error_doc else None
        if fallback is not None:
            return EdgeResponse(404, _object_headers(fallback, now), bytes(fallback.value))
        return _html_error(404, "NoSuchKey", "The specified key does not exist.")
    return EdgeResponse(200, _object_headers(key, now), bytes(key.value))


def _html_error(status: int, code: str, message: str) -> EdgeResponse:
    title = {403: "403 Forbidden", 404: "404 Not Found"}.get(status, str(status))
    body = (
        f"<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<ul>\n"
        f"<li>Code: {code}</li>\n<li>Message: {message}</li>\n</ul>\n<hr/>\n</body>\n</html>\n"
    ).encode()
    return EdgeResponse(
        status, [("Content-Type", "text/html; charset=utf-8"), ("Server", "AmazonS3")], body
    )


__all__ = ["bucket_region", "find_bucket", "rest_get", "website_get"]
