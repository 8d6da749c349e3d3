"""What every Lambda check shares: deploying the learner's handler and reading what it did.

A check deploys a handler into its own empty world through the same packaging as
``lab.deploy_function``, then reads the invocations labkit's Lambda runtime recorded to name the
likely mistake (:mod:`labkit.labs.lambda_lab` holds the checks and the lab's spec).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from labkit.grading import checks
from labkit.grading.checks import CheckContext

TABLE_ENV = "TABLE_NAME"
#: Check deployments stop a runaway handler quickly (a real default would be 3 s).
CHECK_FUNCTION_TIMEOUT = 2

DEPLOY_HINT = (
    "A Lambda function only has what its package holds: create boto3 clients and read "
    f"`os.environ['{TABLE_ENV}']` inside the handler, not from notebook variables such as `lab`."
)


# -- deploying the learner's handler ------------------------------------------------------------
def deploy(
    ctx: CheckContext, func: Callable[..., Any], name: str, environment: Mapping[str, str]
) -> str:
    """Deploy the learner's handler in the check's world; a package that cannot be made fails."""
    from labkit.services.awslambda.deploy import deploy_function, notebook_dependencies
    from labkit.services.awslambda.sim_packaging import PackagingError

    imports, helpers, constants = notebook_dependencies(func)
    try:
        return deploy_function(
            ctx.sandbox,
            func,
            name,
            imports=imports,
            helpers=helpers,
            constants=constants,
            environment=environment,
            timeout=CHECK_FUNCTION_TIMEOUT,
        )
    except PackagingError as error:
        ctx.fail(
            f"`{func.__name__}` cannot be packaged as a Lambda function: {error}",
            hint=DEPLOY_HINT,
        )


def invocations(ctx: CheckContext, function: str, since: float = 0.0) -> list[Any]:
    from labkit.services.awslambda.state import snapshot

    region = str(ctx.client("lambda").meta.region_name)
    snap = snapshot(region=region, clock=ctx.clock, function=function)
    return list(snap.since(since).invocations)


def short(value: object, limit: int = 80) -> str:
    """:func:`labkit.grading.checks.short`, with room for a Lambda event's longer values."""
    return checks.short(value, limit)


def error_text(invocation: Any) -> str:
    if invocation.status == "timeout":
        return f"timed out after {CHECK_FUNCTION_TIMEOUT} s (`Sandbox.Timedout`)"
    kind = invocation.error_type or invocation.status
    message = invocation.error_message or ""
    return f"raised `{kind}: {message}`" if message else f"failed with `{kind}`"


def error_hint(invocation: Any, general: str) -> str:
    """A hint for a handler that failed, from the error object Lambda returned."""
    kind = invocation.error_type or ""
    message = invocation.error_message or ""
    if invocation.status == "timeout":
        return "The handler never finished: look for a loop that does not end."
    if kind == "KeyError" and TABLE_ENV in message:
        return (
            f"The check sets the environment variable `{TABLE_ENV}`; read it with "
            f"`os.environ['{TABLE_ENV}']` (spelling counts)."
        )
    if "ResourceNotFoundException" in message or "ResourceNotFound" in kind:
        return (
            f"The table was not found: use the name in `os.environ['{TABLE_ENV}']` "
            "(the check creates the table the exercise names)."
        )
    if kind.startswith("Runtime.") or kind == "NameError":
        return DEPLOY_HINT
    return general


def table_items(ctx: CheckContext, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ctx.resource("dynamodb").Table(table).scan()["Items"]
    return items


def create_table(ctx: CheckContext, name: str, key: str) -> None:
    ctx.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
