"""The Step Functions lab's shop: its Lambda functions, and running a learner's workflow.

The same functions serve the lesson, the exercise and the checks, so what a learner tries is
what a check runs:

- ``charge-card`` charges an order's card: a card whose number starts with ``declined`` fails
  with ``CardDeclined`` (it never will succeed), and while the payment gateway is down (until
  the lab time ``DOWN_UNTIL`` the function was deployed with) every call fails with
  ``GatewayBusy`` (it will succeed later). It returns ``{"charge_id": "ch-<order>", ...}``.
- ``ship-order`` books a carrier: an address with ``Atlantis`` in it fails with ``CannotShip``;
  it returns ``{"tracking": "tr-<order>"}``.
- ``refund-charge`` refunds a charge: it needs the ``ch-...`` id of the payment somewhere in its
  event, and returns ``{"refunded": "ch-..."}`` (``MissingChargeId`` without one).

Each looks for the order (the object with an ``order_id``) anywhere in its event, so any payload
shape that carries the order works. Error names are the exception classes' names, which is what
Step Functions matches in ``ErrorEquals``.
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html

:func:`run` starts an execution and moves the lab clock from event to event until it ends (or
until a limit), as a learner would with ``lab.clock.advance``.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from typing import Any

from labkit.errors import LabkitError
from labkit.grading.checks import CheckContext

CHARGE, SHIP, REFUND = "charge-card", "ship-order", "refund-charge"
#: The IAM role the lab's state machines run as (the sandbox does not check it).
ROLE_ARN = "arn:aws:iam::123456789012:role/shop-workflows"


class GatewayBusy(Exception):
    """The payment gateway is down for now: trying again later can succeed."""


class CardDeclined(Exception):
    """The card was declined: trying again never succeeds."""


class CannotShip(Exception):
    """No carrier delivers to the address."""


class MissingChargeId(Exception):
    """A refund without the payment's charge id."""


def find_order(event: Any) -> dict[str, Any]:
    """The first object with an ``order_id`` in ``event`` (breadth first), or ``{}``."""
    queue = [event]
    while queue:
        value = queue.pop(0)
        if isinstance(value, dict):
            if "order_id" in value:
                return value
            queue.extend(value.values())
        elif isinstance(value, list):
            queue.extend(value)
        elif isinstance(value, str) and value.startswith(("{", "[")):
            with contextlib.suppress(ValueError):
                queue.append(json.loads(value))
    return {}


def find_charge(event: Any) -> str:
    """The first ``ch-...`` string in ``event``, or ``""``."""
    queue = [event]
    while queue:
        value = queue.pop(0)
        if isinstance(value, dict):
            queue.extend(value.values())
        elif isinstance(value, list):
            queue.extend(value)
        elif isinstance(value, str) and value.startswith("ch-"):
            return value
    return ""


# -- the handlers (packaged as Lambda functions by deploy_shop) ---------------------------------
DOWN_UNTIL = 0.0


def charge_card(event: Any, context: Any) -> dict[str, Any]:
    """Charge the order's card; GatewayBusy while the gateway is down, CardDeclined for ever."""
    order = find_order(event)
    order_id = str(order.get("order_id", "?"))
    if str(order.get("card", "")).startswith("declined"):
        raise CardDeclined(f"The card of order {order_id} was declined.")
    if time.time() < DOWN_UNTIL:
        raise GatewayBusy(f"The payment gateway is busy (order {order_id}): try again later.")
    return {"charge_id": f"ch-{order_id}", "order_id": order_id, "amount": order.get("amount")}


def ship_order(event: Any, context: Any) -> dict[str, Any]:
    """Book a carrier for the order; CannotShip to Atlantis."""
    order = find_order(event)
    order_id = str(order.get("order_id", "?"))
    address = str(order.get("address", ""))
    if "atlantis" in address.lower():
        raise CannotShip(f"No carrier delivers to {address!r} (order {order_id}).")
    return {"tracking": f"tr-{order_id}", "order_id": order_id}


def refund_charge(event: Any, context: Any) -> dict[str, Any]:
    """Refund the payment whose charge id is in the event."""
    charge = find_charge(event)
    if not charge:
        raise MissingChargeId(
            "A refund needs the charge_id that charge-card returned; the event has none: "
            + json.dumps(event)[:200]
        )
    return {"refunded": charge}


def deploy_shop(sandbox: Any, *, down_for: float = 0.0, suffix: str = "") -> dict[str, str]:
    """Deploy the shop's functions; returns their ARNs by name (``charge-card``, ...).

    Args:
        sandbox: Where (``lab.sandbox``, or a check's world).
        down_for: Seconds of lab time from now during which the payment gateway is down.
        suffix: Added to each function's name (a check deploys one gateway per scenario).
    """
    from labkit.services.awslambda.deploy import deploy_function

    down_until = float(sandbox.clock.timestamp) + down_for if down_for else 0.0
    helpers: dict[str, tuple[Any, ...]] = {
        CHARGE: (GatewayBusy, CardDeclined, find_order),
        SHIP: (CannotShip, find_order),
        REFUND: (MissingChargeId, find_charge),
    }
    handlers = {CHARGE: charge_card, SHIP: ship_order, REFUND: refund_charge}
    out = {}
    for name, handler in handlers.items():
        out[name] = deploy_function(
            sandbox,
            handler,
            name + suffix,
            imports=["import contextlib", "import json", "import time"],
            helpers=helpers[name],
            constants={"DOWN_UNTIL": down_until} if name == CHARGE else None,
        )
    return out


# -- running a workflow -------------------------------------------------------------------------
class DefinitionError(LabkitError):
    """A definition that is not a JSON object (or JSON text of one)."""

    code = "DefinitionError"


def definition_text(definition: Any) -> str:
    """A definition given as a dict or as JSON text, as the JSON text AWS takes."""
    if isinstance(definition, Mapping):
        return json.dumps(definition)
    if isinstance(definition, (str, bytes)):
        text = definition.decode() if isinstance(definition, bytes) else definition
        try:
            parsed = json.loads(text)
        except ValueError as err:
            raise DefinitionError(f"The definition is not valid JSON: {err}.") from None
        if isinstance(parsed, dict):
            return text
    raise DefinitionError(
        f"A definition is a dict (or its JSON text), not a {type(definition).__name__}."
    )


def create_machine(sfn: Any, name: str, definition: Any, *, machine_type: str = "STANDARD") -> str:
    """Create (or replace) the state machine ``name``; returns its ARN."""
    text = definition_text(definition)
    for machine in sfn.list_state_machines()["stateMachines"]:
        if machine["name"] == name:
            sfn.delete_state_machine(stateMachineArn=machine["stateMachineArn"])
    arn: str = sfn.create_state_machine(
        name=name, definition=text, roleArn=ROLE_ARN, type=machine_type
    )["stateMachineArn"]
    return arn


def run(
    sfn: Any,
    clock: Any,
    machine_arn: str,
    data: Any,
    *,
    name: str | None = None,
    limit: float = 7 * 86400,
) -> dict[str, Any]:
    """Start an execution and move the lab clock from event to event until it ends, or until
    ``limit`` seconds of lab time have passed; returns ``describe_execution``'s answer."""
    args: dict[str, Any] = {"stateMachineArn": machine_arn, "input": json.dumps(data)}
    if name:
        args["name"] = name
    arn = sfn.start_execution(**args)["executionArn"]
    return finish(sfn, clock, arn, limit=limit)


def finish(sfn: Any, clock: Any, execution_arn: str, *, limit: float = 7 * 86400) -> dict[str, Any]:
    """Move the lab clock from event to event until the execution ends (at most ``limit`` s)."""
    deadline = float(clock.timestamp) + limit
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING" or clock.timestamp >= deadline:
            return described
        nxt = clock.next_event_time
        clock.advance_to(nxt if nxt is not None and nxt <= deadline else deadline)


# -- what checks share --------------------------------------------------------------------------
def learner_machine(ctx: CheckContext, function: str, *args: Any, name: str | None = None) -> str:
    """Call the learner's ``function`` for a definition and create it as a Standard state
    machine in the check's world; returns its ARN. A definition AWS refuses fails the check
    with AWS's own message."""
    from botocore.exceptions import ClientError

    definition = ctx.call(ctx.function(function), *args)
    try:
        text = definition_text(definition)
    except DefinitionError as err:
        ctx.fail(
            f"`{function}` returned {short_repr(definition)}: {err.message}",
            hint="Return the state machine's definition: a dict with StartAt and States (or "
            "its JSON text).",
        )
    try:
        return create_machine(ctx.client("stepfunctions"), name or function.replace("_", "-"), text)
    except ClientError as err:
        error = err.response.get("Error", {})
        ctx.fail(
            f"Step Functions refused the definition `{function}` returned: "
            f"{error.get('Code')}: {error.get('Message')}",
            hint="Validate it first: `sfn.validate_state_machine_definition(definition="
            "json.dumps(d))` lists each problem with where it is.",
        )


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def calls(ctx: CheckContext, function_arn: str, since: float, order_id: str = "") -> list[Any]:
    """The invocations of a function (by ARN) at lab time ``since`` or later, oldest first;
    only those about ``order_id`` when given (each function names its order in its answer)."""
    from labkit.services.awslambda.state import snapshot

    region = str(ctx.client("lambda").meta.region_name)
    name = function_arn.rsplit(":", 1)[-1]
    found = snapshot(region=region, clock=ctx.clock, function=name).since(since).invocations
    wanted = f"o-{order_id.removeprefix('o-')}" if order_id else ""
    return [i for i in found if not wanted or wanted in json.dumps(i.response, default=str)]


def reason(described: Mapping[str, Any]) -> str:
    """An execution's error and cause, as one line of words."""
    error, cause = described.get("error") or "", described.get("cause") or ""
    # A Lambda function's cause is its error object: its message is what a reader needs.
    try:
        parsed = json.loads(cause)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        cause = str(parsed["errorMessage"])
    if len(cause) > 160:
        cause = cause[:159] + "…"
    return f"{error}: {cause}" if error and cause else error or cause or "no error"


def seconds(described: Mapping[str, Any]) -> float:
    """How long an execution ran (lab seconds; until now when it still runs)."""
    start = described["startDate"]
    stop = described.get("stopDate")
    if stop is None:
        return -1.0
    return float((stop - start).total_seconds())
