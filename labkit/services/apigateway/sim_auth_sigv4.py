"""Checking a request's Signature Version 4 the way AWS does: recompute it with the secret key of
the access key it names and compare (plain Python; botocore's own canonicalisation).

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html:
the signature covers the method, the path, the query string, the headers named in
``SignedHeaders`` (``host`` taken from the URL when the client did not send it), the payload's
SHA-256 (or ``X-Amz-Content-SHA256``), the ``X-Amz-Date`` timestamp and the credential scope
``date/region/service/aws4_request``. A request for an ``execute-api`` URL must be signed for
service ``execute-api`` in the API's Region. A signature made with another secret, or a request
changed after it was signed, does not match.

Only signatures in the ``Authorization`` header are checked; presigned (query-string) requests
are taken as they come. The time skew AWS allows (five minutes) is not checked: signers follow
the machine's clock, the sandbox the lab clock.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-fA-F]+)"
)


@dataclass(frozen=True)
class SignedRequest:
    """The parts of a SigV4 ``Authorization`` header.

    Attributes:
        access_key_id: The key named in ``Credential``.
        date: The scope's date (``YYYYMMDD``).
        region: The scope's Region.
        service: The scope's service.
        signed_headers: The header names covered, lower case.
        signature: The hex signature sent.
    """

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse(headers: Mapping[str, Any]) -> SignedRequest | None:
    """The request's SigV4 ``Authorization`` header, read; ``None`` when it has none."""
    value = _header(headers, "authorization")
    found = _AUTHORIZATION.match(value or "")
    if found is None:
        return None
    return SignedRequest(
        found["key"],
        found["date"],
        found["region"],
        found["service"],
        tuple(found["signed"].lower().split(";")),
        found["signature"].lower(),
    )


def problem(
    method: str,
    url: str,
    headers: Mapping[str, Any],
    body: str | bytes | None,
    *,
    secret_key: str,
    session_token: str | None = None,
    region: str,
    service: str = "execute-api",
) -> str:
    """Why the request's signature does not hold, in words; ``""`` when it does (or when the
    request carries no ``Authorization`` header: a presigned request is not checked)."""
    signed = parse(headers)
    if signed is None:
        if _header(headers, "authorization"):
            return (
                "its Authorization header is not a complete Signature Version 4 signature "
                "(AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/execute-api/aws4_request, "
                "SignedHeaders=..., Signature=...)"
            )
        return ""
    if signed.service != service:
        return f"it is signed for service {signed.service!r}; an API's URL wants {service!r}"
    if signed.region != region:
        return f"it is signed for Region {signed.region}; the API is in {region}"
    timestamp = _header(headers, "x-amz-date")
    if not timestamp or not timestamp.startswith(signed.date):
        return "its X-Amz-Date header is missing or not on the date of the credential scope"
    if "host" not in signed.signed_headers:
        return "the Host header is not among the signed headers"
    data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    request = AWSRequest(method=method.upper(), url=url, data=data, headers=dict(headers))
    request.context["timestamp"] = timestamp
    signer = _Verifier(
        Credentials(signed.access_key_id, secret_key, session_token),
        signed.service,
        signed.region,
        signed.signed_headers,
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signed.signature):
        return (
            "the signature computed with the key's secret differs from the one sent (another "
            "secret, or the request was changed after it was signed)"
        )
    return ""


class _Verifier(SigV4Auth):  # type: ignore[misc]  # botocore has no annotations
    """botocore's SigV4 over exactly the headers the request says it signed."""

    def __init__(
        self, credentials: Credentials, service: str, region: str, signed: tuple[str, ...]
    ) -> None:
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        header_map = HTTPHeaders()
        lowered: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            lowered.setdefault(str(name).lower(), []).append(str(value))
        for name in self._signed:
            if name in lowered:
                for value in lowered[name]:
                    header_map[name] = value
            elif name == "host":
                header_map["host"] = urlsplit(request.url).netloc
        return header_map


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    found = None
    for key, value in headers.items():
        if str(key).lower() == name:
            found = str(value)
    return found


__all__ = ["SignedRequest", "parse", "problem"]
