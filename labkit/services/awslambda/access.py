"""Whether a Lambda function's resource-based policy lets an AWS service invoke it, asked of the
one policy engine (:mod:`labkit.policy`).

A service that invokes a function itself (S3 notifications, SNS subscriptions) needs a
statement in the function's policy (``lambda add-permission``) naming the service principal,
usually narrowed to one source with ``aws:SourceArn`` and ``aws:SourceAccount``
(https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html). moto stores
those statements (``fn.policy.statements``) and never reads them; S3's and SNS's patches ask
here. An explicit ``Deny`` wins over any ``Allow``, as in every IAM evaluation.
"""

from __future__ import annotations

from typing import Any

from labkit import policy as engine

#: How explanations name a function's resource-based policy.
POLICY_NAME = "the function's policy"


def policy_document(fn: Any) -> dict[str, Any] | None:
    """The function's resource-based policy as AWS returns it (``GetPolicy``), from moto's
    ``fn.policy.statements``; ``None`` when it has no statement."""
    statements: list[dict[str, Any]] = list(
        getattr(getattr(fn, "policy", None), "statements", None) or []
    )
    if not statements:
        return None
    return {"Version": "2012-10-17", "Statement": statements}


def function_arn(fn: Any) -> str:
    """The ARN an invocation of ``fn`` names (its unqualified ARN)."""
    arn = str(getattr(fn, "function_arn", "") or "")
    if arn:
        return arn
    # A function-like object without its ARN (tests): the one its statements name.
    document = policy_document(fn) or {"Statement": []}
    resources = [s.get("Resource") for s in document["Statement"]]
    return next((str(r) for r in resources if isinstance(r, str)), "*")


def invoke_decision(fn: Any, *, service: str, source_arn: str, account_id: str) -> engine.Decision:
    """The engine's answer (with its reason) to: may ``service`` invoke ``fn`` for
    ``source_arn``?

    Args:
        fn: moto's ``LambdaFunction``.
        service: The service principal, e.g. ``s3.amazonaws.com``.
        source_arn: The resource the invocation is for (the bucket, the topic).
        account_id: The account that owns the source.
    """
    request = engine.Request(
        engine.Principal.service(service),
        "lambda:InvokeFunction",
        function_arn(fn),
        context={"aws:SourceArn": source_arn, "aws:SourceAccount": account_id},
    )
    document = policy_document(fn)
    resource = None if document is None else engine.load_policy(document, name=POLICY_NAME)
    return engine.evaluate(request, resource_policy=resource)


def may_invoke(fn: Any, *, service: str, source_arn: str, account_id: str) -> bool:
    """Whether ``service`` may invoke ``fn`` (moto's function) on behalf of ``source_arn``
    (see :func:`invoke_decision` for why)."""
    return invoke_decision(
        fn, service=service, source_arn=source_arn, account_id=account_id
    ).allowed


__all__ = [
    "POLICY_NAME",
    "function_arn",
    "invoke_decision",
    "may_invoke",
    "policy_document",
]
