"""The Step Functions lab's ``payment`` and ``saga`` checks: retries that fit, compensation.

Each check calls the learner's definition function with the ARNs of the shop's functions
(:mod:`labkit.labs.stepfunctions_shop`), deployed in the check's own world, creates the state
machine and runs orders of its own through it on the lab clock, then reads what each function
was asked to do (labkit's Lambda runtime records every invocation) and how the execution ended.

- ``payment``: ``payment_definition(charge_arn)``. A healthy gateway charges once; a gateway
  down for :data:`OUTAGE` seconds is ridden out, the order charged within :data:`BUDGET`
  seconds; a gateway down for an hour is given up on within :data:`BUDGET` seconds, after at most
  :data:`MAX_CALLS` calls; a declined card is tried once and the execution fails saying so.
- ``saga``: ``order_definition(charge_arn, ship_arn, refund_arn)``. An order to Atlantis is
  charged, cannot ship, is refunded (the refund names the charge), and the execution fails with
  the shipping reason; a declined card ships nothing and refunds nothing; a good order is
  charged and shipped once.
"""

from __future__ import annotations

import json
from typing import Any

from labkit.grading.checks import CheckContext
from labkit.labs.stepfunctions_shop import (
    CHARGE,
    REFUND,
    SHIP,
    calls,
    deploy_shop,
    find_charge,
    learner_machine,
    reason,
    run,
    seconds,
)

#: Seconds the payment gateway is down in the outage the workflow must ride out.
OUTAGE = 25
#: Lab seconds within which a payment must be charged, or given up on.
BUDGET = 120
#: The most calls a payment may make to a gateway that stays down (an hour here).
MAX_CALLS = 10
LONG_OUTAGE = 3600

RETRY_HINT = (
    "Retry the task on GatewayBusy only (ErrorEquals: ['GatewayBusy']) with a backoff "
    "(IntervalSeconds, BackoffRate, MaxAttempts; MaxDelaySeconds caps a wait) that outlasts a "
    f"{OUTAGE}-second outage and gives up within {BUDGET} s; CardDeclined must not be retried."
)


def _order(number: str, **extra: Any) -> dict[str, Any]:
    return {"order_id": number, "amount": 40, "card": "4242-4242", "address": "1 Main St", **extra}


def _output(described: dict[str, Any]) -> Any:
    try:
        return json.loads(described.get("output") or "null")
    except ValueError:
        return described.get("output")


def check_payment(ctx: CheckContext) -> None:
    """Retries that ride out an outage within the budget, and never retry a declined card."""
    sfn = ctx.client("stepfunctions")
    healthy = deploy_shop(ctx.sandbox)[CHARGE]
    machine = learner_machine(ctx, "payment_definition", healthy, name="payment")

    start = ctx.clock.timestamp
    ok = run(sfn, ctx.clock, machine, _order("o-100"))
    made = calls(ctx, healthy, start, "o-100")
    if ok["status"] != "SUCCEEDED":
        ctx.fail(f"A good order with the gateway up ended {ok['status']} ({reason(ok)}).")
    if len(made) != 1:
        ctx.fail(f"A good order with the gateway up called charge-card {len(made)} times.")
    if not find_charge(_output(ok)):
        ctx.fail(
            f"The execution's output, {ok.get('output')}, does not carry the charge "
            "(charge-card's charge_id).",
            hint="Keep charge-card's answer in the output: with lambda:invoke it is under "
            "Payload (ResultSelector or OutputPath '$.Payload' keeps just it).",
        )

    start = ctx.clock.timestamp
    declined = run(sfn, ctx.clock, machine, _order("o-101", card="declined-0007"))
    tried = calls(ctx, healthy, start, "o-101")
    if len(tried) > 1:
        ctx.fail(
            f"A declined card was tried {len(tried)} times: CardDeclined never succeeds, and "
            "each retry charges the customer's patience.",
            hint="Retry only the errors that can succeed later: ErrorEquals ['GatewayBusy'], "
            "not States.ALL or States.TaskFailed (CardDeclined is a task failure too).",
        )
    text = reason(declined)
    if declined["status"] != "FAILED" or "declin" not in text.lower():
        ctx.fail(
            f"A declined card ended {declined['status']} ({text}): it must end FAILED, saying "
            "the card was declined.",
            hint="Let CardDeclined fail the execution (no catcher), or catch it into a Fail "
            "state whose Error or Cause names the decline.",
        )

    down = deploy_shop(ctx.sandbox, down_for=OUTAGE, suffix="-outage")[CHARGE]
    machine = learner_machine(ctx, "payment_definition", down, name="payment-outage")
    start = ctx.clock.timestamp
    rode = run(sfn, ctx.clock, machine, _order("o-102"))
    made = calls(ctx, down, start, "o-102")
    if rode["status"] != "SUCCEEDED":
        ctx.fail(
            f"With the gateway down for {OUTAGE} s the payment ended {rode['status']} "
            f"({reason(rode)}) after {len(made)} call(s) over "
            f"{made[-1].at - start if made else 0:g} s: the retries gave up before the gateway "
            "came back.",
            hint=RETRY_HINT,
        )
    if seconds(rode) > BUDGET:
        ctx.fail(
            f"With the gateway down for {OUTAGE} s the order was charged after "
            f"{seconds(rode):g} s, more than the {BUDGET} s budget.",
            hint=RETRY_HINT,
        )

    gone = deploy_shop(ctx.sandbox, down_for=LONG_OUTAGE, suffix="-down")[CHARGE]
    machine = learner_machine(ctx, "payment_definition", gone, name="payment-down")
    start = ctx.clock.timestamp
    gave_up = run(sfn, ctx.clock, machine, _order("o-103"), limit=LONG_OUTAGE - 60)
    made = calls(ctx, gone, start, "o-103")
    took = seconds(gave_up)
    if gave_up["status"] != "FAILED" or took > BUDGET:
        when = "was still retrying" if took < 0 else f"ended {gave_up['status']} after {took:g} s"
        ctx.fail(
            f"With the gateway down for an hour the payment {when} ({len(made)} calls): it "
            f"must give up, failed, within {BUDGET} s.",
            hint=RETRY_HINT,
        )
    if len(made) > MAX_CALLS:
        ctx.fail(
            f"With the gateway down the payment called it {len(made)} times in {took:g} s: "
            f"at most {MAX_CALLS}, backing off, so a struggling gateway can recover.",
            hint=RETRY_HINT,
        )


SAGA_HINT = (
    "Catch the shipping task's errors (Catch with ResultPath such as '$.error', so the charge "
    "stays in the state), go to a refund task that passes the charge_id, then to a Fail state "
    "whose Error or Cause says shipping failed. Only shipping failures lead to the refund."
)


def check_saga(ctx: CheckContext) -> None:
    """Charge, ship; a failed shipment is refunded and the execution fails with the reason."""
    sfn = ctx.client("stepfunctions")
    fns = deploy_shop(ctx.sandbox)
    machine = learner_machine(
        ctx, "order_definition", fns[CHARGE], fns[SHIP], fns[REFUND], name="orders"
    )

    def counts(since: float, order: str) -> tuple[list[Any], list[Any], list[Any]]:
        charged, shipped, refunded = (
            calls(ctx, fns[f], since, order) for f in (CHARGE, SHIP, REFUND)
        )
        return charged, shipped, refunded

    start = ctx.clock.timestamp
    good = run(sfn, ctx.clock, machine, _order("o-200"))
    charged, shipped, refunded = counts(start, "o-200")
    if good["status"] != "SUCCEEDED" or len(charged) != 1 or len(shipped) != 1 or refunded:
        ctx.fail(
            f"A good order ended {good['status']} ({reason(good)}) with {len(charged)} "
            f"charge(s), {len(shipped)} shipment(s) and {len(refunded)} refund(s): it should be "
            "charged once, shipped once, refunded never, and succeed.",
        )

    start = ctx.clock.timestamp
    lost = run(sfn, ctx.clock, machine, _order("o-201", address="7 Deep Way, Atlantis"))
    charged, shipped, refunded = counts(start, "o-201")
    done = [r for r in refunded if r.status == "success"]
    if not refunded:
        ctx.fail(
            f"An order that cannot ship was charged and never refunded: the execution ended "
            f"{lost['status']} ({reason(lost)}).",
        )
    if not done:
        failed = refunded[-1]
        ctx.fail(
            f"The refund failed: {failed.error_type}: {failed.error_message}",
            hint="A Catch's ResultPath decides where the error goes: without one, the error "
            "replaces the state's input and the charge is lost. Use ResultPath '$.error' (and "
            "keep the charge with ResultPath on the charge task, such as '$.charge').",
        )
    wanted = "ch-o-201"
    refunded_ids = [str((r.response or {}).get("refunded")) for r in done]
    if refunded_ids != [wanted]:
        ctx.fail(
            f"The order's charge {wanted} was refunded as {refunded_ids}: refund it exactly once.",
        )
    if lost["status"] != "FAILED" or "ship" not in reason(lost).lower():
        ctx.fail(
            f"After the refund the execution ended {lost['status']} ({reason(lost)}): it must "
            "end FAILED, and its error or cause must say that shipping failed.",
            hint="End the compensation in a Fail state with an Error such as 'ShippingFailed' "
            "and a Cause (or CausePath/JSONata taking the shipping error's Cause); a Succeed "
            "state there hides a lost order from whoever watches the executions.",
        )

    start = ctx.clock.timestamp
    declined = run(sfn, ctx.clock, machine, _order("o-202", card="declined-2"))
    charged, shipped, refunded = counts(start, "o-202")
    if shipped or refunded:
        ctx.fail(
            f"A declined card led to {len(shipped)} shipment(s) and {len(refunded)} refund "
            "attempt(s): nothing was charged, so nothing should ship or be refunded.",
            hint="Catch shipping's errors on the shipping task, not on the payment: a refund "
            "is the compensation for a charge that happened.",
        )
    if declined["status"] != "FAILED":
        ctx.fail(f"A declined card ended {declined['status']}: it must end FAILED.")
