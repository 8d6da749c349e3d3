"""Role sessions from STS are held to their role's policies in S3, as identity pools' are."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from labkit.lab import Lab

BUCKET = "team-files"


def _as(lab: Lab, credentials: dict[str, Any]) -> Any:
    return lab.client(
        "s3",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _role(lab: Lab) -> str:
    iam = lab.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = str(
        iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
            "Arn"
        ]
    )
    read = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
        ],
    }
    iam.put_role_policy(RoleName="reader", PolicyName="read", PolicyDocument=json.dumps(read))
    owner = lab.client("s3")
    owner.create_bucket(Bucket=BUCKET)
    for key in ("docs/a.txt", "reports/b.txt"):
        owner.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    return arn


def _code(call: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call()
    return str(exc.value.response["Error"]["Code"])


def test_an_assumed_role_reads_but_cannot_write(lab: Lab) -> None:
    role = _role(lab)
    creds = lab.client("sts").assume_role(RoleArn=role, RoleSessionName="ci")["Credentials"]
    s3 = _as(lab, creds)
    assert s3.get_object(Bucket=BUCKET, Key="docs/a.txt")["Body"].read() == b"docs/a.txt"
    assert _code(lambda: s3.put_object(Bucket=BUCKET, Key="docs/c.txt", Body=b"c")) == (
        "AccessDenied"
    )


def test_a_session_policy_narrows_the_role(lab: Lab) -> None:
    role = _role(lab)
    only_docs = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/docs/*",
            }
        ],
    }
    creds = lab.client("sts").assume_role(
        RoleArn=role, RoleSessionName="narrow", Policy=json.dumps(only_docs)
    )["Credentials"]
    s3 = _as(lab, creds)
    assert s3.get_object(Bucket=BUCKET, Key="docs/a.txt")["Body"].read() == b"docs/a.txt"
    assert _code(lambda: s3.get_object(Bucket=BUCKET, Key="reports/b.txt")) == "AccessDenied"
