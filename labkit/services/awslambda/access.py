"""Whether a Lambda function's resource-based policy lets an AWS service invoke it.

A service that invokes a function itself (S3 notifications, SNS subscriptions) needs a
statement in the function's policy (``lambda add-permission``) naming the service principal,
usually narrowed to one source with ``aws:SourceArn`` and ``aws:SourceAccount``
(https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html). moto stores
those statements (``fn.policy.statements``) and never reads them; S3's and SNS's patches ask
here. An explicit ``Deny`` wins over any ``Allow``, as in every IAM evaluation.
"""

from __future__ import annotations

import fnmatch
from typing import Any

INVOKE_ACTIONS = ("lambda:InvokeFunction", "lambda:*", "*")
# The operators a service permission uses: exact values or * and ? wildcards.
OPERATORS = ("ArnLike", "ArnEquals", "StringEquals", "StringLike")


def may_invoke(fn: Any, *, service: str, source_arn: str, account_id: str) -> bool:
    """Whether ``service`` may invoke ``fn`` (moto's function) on behalf of ``source_arn``.

    Args:
        fn: moto's ``LambdaFunction``.
        service: The service principal, e.g. ``s3.amazonaws.com``.
        source_arn: The resource the invocation is for (the bucket, the topic).
        account_id: The account that owns the source.
    """
    policy = getattr(fn, "policy", None)
    statements: list[dict[str, Any]] = list(getattr(policy, "statements", None) or [])
    context = {"aws:sourcearn": source_arn, "aws:sourceaccount": account_id}
    matching = [s for s in statements if _applies(s, service, context)]
    if any(s.get("Effect") == "Deny" for s in matching):
        return False
    return any(s.get("Effect", "Allow") == "Allow" for s in matching)


def _applies(statement: dict[str, Any], service: str, context: dict[str, str]) -> bool:
    principal = statement.get("Principal")
    named = (
        principal.get("Service", principal.get("AWS")) if isinstance(principal, dict) else principal
    )
    if service not in _as_list(named) and "*" not in _as_list(named):
        return False
    if not any(a in INVOKE_ACTIONS for a in _as_list(statement.get("Action"))):
        return False
    for operator, tests in (statement.get("Condition") or {}).items():
        if operator not in OPERATORS:
            return False  # a condition this check cannot evaluate: do not rely on the statement
        for key, wanted in (tests or {}).items():
            have = context.get(str(key).lower())
            if have is None or not any(fnmatch.fnmatchcase(have, str(w)) for w in _as_list(wanted)):
                return False
    return True


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []
