"""Helpers for the Lambda tests: zips, a role, and the facts the Lambda patch reads.

``lambda.init_timeout`` and ``lambda.log_tail_max`` are documented AWS numbers that
``labkit/facts/facts.toml`` may not hold yet (reported to the facts owner); until it does,
:func:`ensure_lambda_facts` adds them with their documented values for the test run only.
"""

from __future__ import annotations

import io
import json
import zipfile
from types import MappingProxyType
from typing import Any

import pytest

import labkit.facts as facts_module
from labkit.facts import Fact

PENDING_FACTS = {
    # https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
    "lambda.init_timeout": 10,
    # https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html (LogType=Tail: last 4 KB)
    "lambda.log_tail_max": 4096,
}


def ensure_lambda_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the pending facts readable for this test (only those the table lacks)."""
    table = dict(facts_module.table())
    missing = {k: v for k, v in PENDING_FACTS.items() if k not in table}
    if not missing:
        return
    for fact_id, value in missing.items():
        table[fact_id] = Fact(fact_id, value, "", fact_id, "test", "test")
    frozen = MappingProxyType(table)
    monkeypatch.setattr(facts_module, "table", lambda: frozen)


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


def lambda_state(lab: Any) -> Any:
    """labkit's Lambda state in the lab's default account and Region."""
    from labkit.sandbox.services.awslambda import lambda_backend, state_of

    return state_of(lambda_backend("123456789012", lab.sandbox.region))
