"""Helpers for the Lambda tests: zips, a role, invoking, and labkit's Lambda state."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any


def zip_of(source: str, name: str = "lambda_function.py", **more: str) -> bytes:
    """A deployment zip holding ``source`` as ``name`` (and ``more`` files by path)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source)
        for path, text in more.items():
            archive.writestr(path.replace("__", "/"), text)
    return buffer.getvalue()


def role_arn(lab: Any) -> str:
    """An IAM role Lambda accepts (moto checks that it exists)."""
    iam = lab.client("iam")
    try:
        return str(iam.get_role(RoleName="lambda-role")["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        doc = json.dumps({"Version": "2012-10-17", "Statement": []})
        return str(
            iam.create_role(RoleName="lambda-role", AssumeRolePolicyDocument=doc)["Role"]["Arn"]
        )


def create(lab: Any, name: str, source: str, **kwargs: Any) -> str:
    """Create a Python function from ``source`` (handler ``lambda_function.lambda_handler``)."""
    spec: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": role_arn(lab),
        "Handler": "lambda_function.lambda_handler",
        "Code": {"ZipFile": zip_of(source)},
    }
    spec.update(kwargs)
    return str(lab.client("lambda").create_function(**spec)["FunctionArn"])


def invoke(lab: Any, name: str, event: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    """Invoke and return ``(response, parsed payload)``."""
    response = lab.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps(event if event is not None else {}), **kwargs
    )
    raw = response["Payload"].read()
    return response, (json.loads(raw) if raw else None)


def events_of(lab: Any, name: str = "rec") -> list[dict[str, Any]]:
    """The events a function that prints each event as JSON received, oldest first (its logs)."""
    logs = lab.client("logs")
    try:
        messages = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []  # Lambda creates the group at the function's first invocation
    return [json.loads(m["message"]) for m in messages if m["message"].startswith("{")]


def lambda_state(lab: Any) -> Any:
    """labkit's Lambda state in the lab's default account and Region."""
    from labkit.services.awslambda.patch import lambda_backend, state_of

    return state_of(lambda_backend("123456789012", lab.sandbox.region))
