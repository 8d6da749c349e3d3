"""The Step Functions lab's callback checks: ``packing`` (a Map over items, a few at a time) and
``approval`` (a human approves large orders, or nobody does).

Both wait for someone outside the workflow, as ``.waitForTaskToken`` does: a task sends its
task token (to an SQS queue, or by email through SES to the sandbox mailbox), the execution
waits on the lab clock, and whoever holds the token answers with ``SendTaskSuccess`` or
``SendTaskFailure``. The checks play that someone.
https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token

- ``packing``: ``packing_definition(queue_url)``. The warehouse's :data:`ROBOTS` robots take
  pack requests from the queue (each request carries one item and a task token) and answer each
  after :data:`PACK_SECONDS` s. An order of :data:`ITEMS` items must be packed, each item once,
  never more than :data:`ROBOTS` requests waiting at once, within :data:`PACK_BUDGET` s, with
  every item's box in the output.
- ``approval``: ``approval_definition(charge_arn, queue_url, approver)``. An order above
  :data:`LIMIT` waits for an approval (the token in a queue message or an email to
  ``approver``); approved, it is charged; rejected (``SendTaskFailure``), it is not, and fails;
  unanswered, it is rejected after 24 hours of lab time. An order of :data:`LIMIT` or less is
  charged without asking.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from labkit.grading.checks import CheckContext
from labkit.labs.stepfunctions_shop import (
    CHARGE,
    calls,
    deploy_shop,
    find_charge,
    finish,
    learner_machine,
    reason,
    seconds,
)

ROBOTS = 4
PACK_SECONDS = 20
ITEMS = 12
PACK_BUDGET = 120
LIMIT = 1000
APPROVAL_TIMEOUT = 86400
SHOP_DOMAIN = "example.com"
APPROVER = "boss@example.com"

#: A token is long base64 (``=`` only as padding at its end); ``%2B`` where a link quoted it.
_TOKEN = re.compile(r"[A-Za-z0-9+/%]{100,}={0,2}")


def tokens_in(value: Any) -> list[str]:
    """Task tokens in a message or email: long base64 strings (URL-quoted ones unquoted)."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in tokens_in(v)]
    if isinstance(value, list):
        return [t for v in value for t in tokens_in(v)]
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, (dict, list)):
            return tokens_in(parsed)
        return [unquote(t) for t in _TOKEN.findall(value)]
    return []


def _drain(sqs: Any, queue_url: str) -> list[str]:
    """Every message body in the queue now (deleted as read)."""
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        for message in got:
            bodies.append(str(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


MAP_HINT = (
    f"A Map state over the order's items (ItemsPath '$.items', or Items in JSONata) with "
    f"MaxConcurrency {ROBOTS}; its item processor sends one pack request per item to the queue "
    "with sqs:sendMessage.waitForTaskToken, the item and $$.Task.Token in the MessageBody."
)


def check_packing(ctx: CheckContext) -> None:
    """Each item packed once, at most ROBOTS at a time, within the budget."""
    sqs, sfn = ctx.client("sqs"), ctx.client("stepfunctions")
    queue_url = sqs.create_queue(QueueName="pack-requests")["QueueUrl"]
    machine = learner_machine(ctx, "packing_definition", queue_url, name="packing")
    skus = [f"sku-{n:03d}" for n in range(ITEMS)]
    items = [{"sku": sku, "qty": 1 + n % 3} for n, sku in enumerate(skus)]
    order = {"order_id": "o-300", "items": items}
    start = ctx.clock.timestamp
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(order))["executionArn"]
    waiting: dict[str, tuple[float, str]] = {}  # token -> (due, sku)
    requested: list[str] = []
    peak = 0
    odd: list[str] = []
    while ctx.clock.timestamp - start <= 10 * PACK_BUDGET:
        for body in _drain(sqs, queue_url):
            found = tokens_in(body)
            sku = next((s for s in skus if s in body), None)
            if not found or sku is None:
                odd.append(body)
                continue
            requested.append(sku)
            waiting[found[0]] = (ctx.clock.timestamp + PACK_SECONDS, sku)
        peak = max(peak, len(waiting))
        answered = False
        for token, (due, sku) in list(waiting.items()):
            if due <= ctx.clock.timestamp:
                del waiting[token]
                answered = True
                # A token the execution gave up on (a timeout) has nothing to answer.
                with contextlib.suppress(ClientError):
                    sfn.send_task_success(
                        taskToken=token, output=json.dumps({"sku": sku, "box": f"bx-{sku}"})
                    )
        if answered:
            continue  # an answer may send the next request at once: read the queue again
        if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING" and not waiting:
            break
        nxt = [due for due, _ in waiting.values()]
        if ctx.clock.next_event_time is not None:
            nxt.append(ctx.clock.next_event_time)
        if not nxt:
            break
        ctx.clock.advance_to(max(min(nxt), ctx.clock.timestamp))
    described = finish(sfn, ctx.clock, arn, limit=0)
    if odd:
        ctx.fail(
            f"The warehouse got {len(odd)} pack request(s) it cannot serve, such as "
            f"{odd[0][:160]!r}: each needs one item's sku and the task token.",
            hint=MAP_HINT,
        )
    if not requested:
        ctx.fail(
            f"No pack request reached the queue; the execution ended {described['status']} "
            f"({reason(described)}).",
            hint=MAP_HINT,
        )
    if peak > ROBOTS:
        ctx.fail(
            f"{peak} pack requests were waiting at once, but the warehouse has {ROBOTS} robots: "
            "the others' requests sat in the queue and their timeouts ran.",
            hint=f"Bound the Map with MaxConcurrency {ROBOTS} (0, the default, means no limit).",
        )
    twice = sorted({s for s in requested if requested.count(s) > 1})
    missing = sorted(set(skus) - set(requested))
    if twice or missing:
        ctx.fail(
            f"Items packed twice: {twice or 'none'}; never requested: {missing or 'none'}. "
            "Each item must be packed exactly once.",
            hint="Each request carries its own item: the iteration's input ($ inside the item "
            "processor), not the whole order ($$.Execution.Input or the Map's input)."
            if twice and missing
            else MAP_HINT,
        )
    if described["status"] != "SUCCEEDED":
        ctx.fail(f"The packing ended {described['status']} ({reason(described)}).", hint=MAP_HINT)
    took = seconds(described)
    if took > PACK_BUDGET:
        ctx.fail(
            f"Packing {ITEMS} items took {took:g} s with at most {peak} at a time: the "
            f"warehouse's {ROBOTS} robots would do it in {ITEMS // ROBOTS * PACK_SECONDS} s, and "
            f"the budget is {PACK_BUDGET} s.",
            hint=f"MaxConcurrency {ROBOTS}: one at a time leaves robots idle.",
        )
    output = described.get("output") or ""
    boxes = [sku for sku in skus if f"bx-{sku}" not in output]
    if boxes:
        ctx.fail(
            f"The output lacks the box of {len(boxes)} item(s) ({boxes[0]} for one): "
            f"{output[:160]}",
            hint="A Map's output is the list of its iterations' outputs: keep it (ResultPath "
            "'$.packed', say) rather than discarding it.",
        )


APPROVAL_HINT = (
    f"A Choice on the amount (NumericGreaterThan {LIMIT}) leads to a task with "
    ".waitForTaskToken that sends $$.Task.Token (to the queue, or by email with "
    "aws-sdk:ses:sendEmail), TimeoutSeconds 86400, and a Catch of States.Timeout and of the "
    "rejection into a Fail state; only success goes on to charge-card."
)


def _requests(ctx: CheckContext, sqs: Any, queue_url: str, seen: int) -> list[str]:
    from labkit.sandbox.mailbox import mailbox

    found = []
    for body in _drain(sqs, queue_url):
        found.extend(tokens_in(body))
    for mail in mailbox(ctx.sandbox).messages()[seen:]:
        found.extend(tokens_in(mail.subject + " " + mail.body))
    return found


def check_approval(ctx: CheckContext) -> None:
    """Large orders wait for an approval; approved they are charged, rejected or unanswered in
    24 h they are not."""
    from labkit.sandbox.mailbox import mailbox

    sqs, sfn, ses = ctx.client("sqs"), ctx.client("stepfunctions"), ctx.client("ses")
    ses.verify_domain_identity(Domain=SHOP_DOMAIN)
    queue_url = sqs.create_queue(QueueName="approvals")["QueueUrl"]
    charge = deploy_shop(ctx.sandbox)[CHARGE]
    machine = learner_machine(
        ctx, "approval_definition", charge, queue_url, APPROVER, name="approvals"
    )

    def start(number: str, amount: int) -> tuple[str, float, int]:
        seen = len(mailbox(ctx.sandbox))
        order = {"order_id": number, "amount": amount, "card": "4242", "address": "1 Main St"}
        at = ctx.clock.timestamp
        arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(order))
        ctx.clock.advance(60)
        return arn["executionArn"], at, seen

    def charged(number: str, since: float) -> int:
        return sum(
            1
            for c in calls(ctx, charge, since, number)
            if c.status == "success" and find_charge(c.response) == f"ch-{number}"
        )

    arn, at, seen = start("o-400", LIMIT)
    small = finish(sfn, ctx.clock, arn, limit=3600)
    asked = _requests(ctx, sqs, queue_url, seen)
    if asked or small["status"] != "SUCCEEDED" or charged("o-400", at) != 1:
        ctx.fail(
            f"An order of exactly {LIMIT} "
            + (
                "was still waiting"
                if small["status"] == "RUNNING"
                else f"ended {small['status']} ({reason(small)})"
            )
            + ", "
            f"{'after asking for an approval' if asked else 'without an approval request'}, "
            f"charged {charged('o-400', at)} time(s): orders up to {LIMIT} need no approval and "
            "are charged once.",
            hint=f"Only amounts ABOVE {LIMIT} need approval: NumericGreaterThan, not "
            "NumericGreaterThanEquals.",
        )

    def big(number: str) -> tuple[str, float, str]:
        arn, at, seen = start(number, 5 * LIMIT)
        found = _requests(ctx, sqs, queue_url, seen)
        described = sfn.describe_execution(executionArn=arn)
        if not found:
            ctx.fail(
                f"An order of {5 * LIMIT} asked nobody for approval (no task token in the "
                f"queue, nor in an email to {APPROVER}) and ended {described['status']} "
                f"({reason(described)}).",
                hint=APPROVAL_HINT,
            )
        return arn, at, found[0]

    arn, at, token = big("o-401")
    ctx.clock.advance(2 * 3600)
    waiting = sfn.describe_execution(executionArn=arn)
    if waiting["status"] != "RUNNING" or charged("o-401", at):
        ctx.fail(
            f"Two hours after asking for approval the order was {waiting['status']} and charged "
            f"{charged('o-401', at)} time(s): it must wait for the answer, uncharged.",
            hint=APPROVAL_HINT,
        )
    sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
    approved = finish(sfn, ctx.clock, arn, limit=3600)
    if approved["status"] != "SUCCEEDED" or charged("o-401", at) != 1:
        ctx.fail(
            f"Approved (SendTaskSuccess with {{'approved': true}}), the order ended "
            f"{approved['status']} ({reason(approved)}), charged {charged('o-401', at)} "
            "time(s): it must be charged once and succeed.",
            hint=APPROVAL_HINT,
        )

    arn, at, token = big("o-402")
    sfn.send_task_failure(taskToken=token, error="Rejected", cause="Too large for this customer")
    rejected = finish(sfn, ctx.clock, arn, limit=3600)
    if rejected["status"] != "FAILED" or charged("o-402", at):
        ctx.fail(
            f"Rejected (SendTaskFailure, error 'Rejected'), the order ended "
            f"{rejected['status']} ({reason(rejected)}), charged {charged('o-402', at)} "
            "time(s): a rejected order is never charged, and its execution fails.",
            hint="A catcher of the rejection must not lead to charge-card: catch it into a "
            "Fail state (or let it fail the execution).",
        )

    arn, at, token = big("o-403")
    ctx.clock.advance(APPROVAL_TIMEOUT - 3 * 60)
    pending = sfn.describe_execution(executionArn=arn)
    if pending["status"] != "RUNNING":
        ctx.fail(
            f"Unanswered, the approval ended {pending['status']} ({reason(pending)}) after "
            f"{seconds(pending):g} s: the approver has 24 hours.",
            hint="TimeoutSeconds 86400 on the waiting task (24 hours), not less.",
        )
    unanswered = finish(sfn, ctx.clock, arn, limit=5 * 60)
    if unanswered["status"] == "RUNNING":
        ctx.fail(
            "Unanswered for 24 hours, the order is still waiting: without a TimeoutSeconds, a "
            "task token waits up to a year.",
            hint="TimeoutSeconds 86400 on the waiting task, and a Catch of States.Timeout.",
        )
    if unanswered["status"] != "FAILED" or charged("o-403", at):
        ctx.fail(
            f"Unanswered for 24 hours, the order ended {unanswered['status']} "
            f"({reason(unanswered)}), charged {charged('o-403', at)} time(s): nobody approved, so "
            "it is rejected: never charged, and the execution fails.",
            hint="Catch States.Timeout into the same rejection (a Fail state), not into the "
            "payment.",
        )
