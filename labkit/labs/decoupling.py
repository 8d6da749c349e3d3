"""The decoupling lab: an order pipeline on SQS and SNS, checked by behaviour.

Every check calls the learner's functions in an empty world of its own, with its own clock:

- ``order_queues``: ``create_order_queues(sqs)`` must make a FIFO queue ``orders.fifo`` whose
  visibility timeout covers the work on one order and whose redrive policy sends a message to a
  FIFO dead-letter queue after 3 receives; the check sends a message and receives it until it moves.
- ``consumer``: ``consume(sqs, queue_url, handle)`` runs against a FIFO queue of orders from four
  customers, one of them a poison order (``handle`` always fails on it) and one a flaky order (it
  fails once). Every good order must be handled exactly once and in its customer's order, the
  poison order must end in the dead-letter queue, the consumer must long-poll, and no message may
  become visible again while ``handle`` works on it (``handle`` takes 40 s of lab time).
- ``fan_out``: ``connect(sns, sqs, topic_arn, shipping_url, billing_url)`` must subscribe both
  queues with the access policies that let the topic deliver, and only that topic; billing gets
  every order, shipping only orders whose body says ``"delivery": "ship"``, as raw messages
  (:mod:`labkit.labs.decoupling_fan_out`).
- ``scaling``: ``backlog_target(seconds_per_message, max_wait, launch_seconds)`` must give a
  backlog-per-instance target that keeps every order's wait under ``max_wait`` in a simulated spike
  (:mod:`labkit.services.sqs.sim_scaling`) without paying for more than twice the instance time
  the orders need.

The sandbox (and moto) is imported inside the checks, so that listing the course stays light.
"""

from __future__ import annotations

import decimal
import json
import math
import numbers
from collections import Counter
from typing import Any

from labkit import facts
from labkit.grading.checks import Check, CheckContext, CheckFailed
from labkit.labs.decoupling_fan_out import check_fan_out
from labkit.labs.spec import LabSpec
from labkit.services.sqs import sim_scaling as queue_scaling

ORDER_QUEUE = "orders.fifo"
MAX_RECEIVES = 3
#: Lab seconds ``handle`` works on one order.
WORK_SECONDS = 40
#: The visibility timeout of the consumer check's own queue: enough for one order at a time.
CHECK_VISIBILITY = 60
#: Calls of ``consume`` the consumer check makes at most.
MAX_CALLS = 150
#: Lab seconds after the consumer check's first call of ``consume`` at which the first order
#: arrives: the shortest long poll (WaitTimeSeconds=1) still receives it.
FIRST_ORDER_AFTER = 1.0
#: The longest long poll, for hints.
LONG_POLL = int(facts.value("sqs.long_poll_wait_max"))

#: Orders of the consumer check, in send order: (order id, customer).
ORDERS: tuple[tuple[str, str], ...] = (
    ("a1", "alice"),
    ("b1", "bob"),
    ("a2", "alice"),
    ("b2", "bob"),
    ("c1", "carol"),
    ("a3", "alice"),
    ("b3", "bob"),
    ("c2", "carol"),
    ("d1", "dave"),
)
#: ``handle`` always fails on this order.
POISON = "b2"
#: ``handle`` fails on this order the first time only.
FLAKY = "c2"

#: The spikes of the scaling check: (workload, group, longest acceptable wait in seconds).
SCALING_CASES: tuple[tuple[queue_scaling.Workload, queue_scaling.Group, float], ...] = (
    (
        queue_scaling.Workload(
            base_rate=4, peak_rate=40, ramp=600, spike_length=600, duration=3000,
            seconds_per_message=0.5,
        ),
        queue_scaling.Group(launch_seconds=120),
        180.0,
    ),
    (
        queue_scaling.Workload(
            base_rate=10, peak_rate=100, ramp=600, spike_length=600, duration=3000,
            seconds_per_message=0.2,
        ),
        queue_scaling.Group(launch_seconds=90),
        150.0,
    ),
)  # fmt: skip
#: The group may pay for at most this many times the instance time the orders need.
BUDGET_FACTOR = 2.0


class OrderError(Exception):
    """What ``handle`` raises for an order it cannot handle (in the consumer check)."""


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_code(failure: CheckFailed) -> str:
    cause = failure.__cause__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _attributes(sqs: Any, url: str) -> dict[str, str]:
    attrs: dict[str, str] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
        "Attributes"
    ]
    return attrs


def _same_queue(sqs: Any, returned: object, url: str) -> bool:
    """Whether SQS takes ``returned`` as the URL of the queue at ``url`` (AWS accepts several
    spellings of a queue URL: ``http://``, the legacy ``queue.amazonaws.com`` hosts, ...)."""
    if not isinstance(returned, str):
        return False
    try:
        theirs = _attributes(sqs, returned).get("QueueArn")
    except Exception:  # not a URL SQS knows: the check says so
        return False
    return theirs is not None and theirs == _attributes(sqs, url).get("QueueArn")


def _counts(sqs: Any, url: str) -> int:
    attrs = _attributes(sqs, url)
    return sum(
        int(attrs.get(k, 0))
        for k in (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
    )


def _make_queues(sqs: Any, name: str, *, visibility: int) -> tuple[str, str]:
    """The check's own FIFO queue and its dead-letter queue: (queue URL, DLQ URL)."""
    base = name.removesuffix(".fifo")
    dlq = sqs.create_queue(QueueName=f"{base}-dlq.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    dlq_arn = _attributes(sqs, dlq)["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES}
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "FifoQueue": "true",
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    return url, dlq


def _drain(sqs: Any, url: str) -> list[str]:
    """Every body the queue holds now (received and deleted by the check)."""
    bodies: list[str] = []
    for _ in range(100):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        for message in got:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


# -- order_queues -------------------------------------------------------------------------------
ARN_NOT_URL_HINT = (
    "The redrive policy's `deadLetterTargetArn` is the dead-letter queue's ARN "
    "(`arn:aws:sqs:...`), not its URL: read it with `get_queue_attributes(QueueUrl=dlq_url, "
    "AttributeNames=['QueueArn'])['Attributes']['QueueArn']`."
)


def _error_message(failure: CheckFailed) -> str:
    response = getattr(failure.__cause__, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message", ""))
    return ""


def _creation_failed(ctx: CheckContext, failure: CheckFailed) -> None:
    """Give the errors AWS answers ``create_order_queues`` with most often their own hint."""
    code, text = _error_code(failure), _error_message(failure)
    if code == "InvalidParameterCombination":
        ctx.fail(
            failure.message,
            hint="The dead-letter queue of a FIFO queue must be a FIFO queue too: create it "
            'with a name ending in `.fifo` and `"FifoQueue": "true"`.',
        )
    if "Could not find DLQ for" in text:
        target = text.split("Could not find DLQ for", 1)[1].strip()
        if "://" in target or not target.startswith("arn:"):
            ctx.fail(
                f"SQS refused the redrive policy: its deadLetterTargetArn is {target!r}, which "
                "is not a queue ARN.",
                hint=ARN_NOT_URL_HINT,
            )
        ctx.fail(
            f"SQS refused the redrive policy: no queue has the ARN {target} (yet).",
            hint="Create the dead-letter queue first, then name its ARN in the order queue's "
            "redrive policy.",
        )
    if "does not allow this queue" in text:
        ctx.fail(
            f"SQS refused the redrive policy: {text.split('Reason: ', 1)[-1]}",
            hint=REDRIVE_ALLOW_HINT,
        )
    raise failure


REDRIVE_ALLOW_HINT = (
    "A dead-letter queue's `RedriveAllowPolicy` says which source queues may use it. Leave it "
    'out (the default is `allowAll`), or allow the order queue by name: `{"redrivePermission": '
    '"byQueue", "sourceQueueArns": [order_queue_arn]}`.'
)


def check_order_queues(ctx: CheckContext) -> None:
    """``create_order_queues(sqs)`` makes ``orders.fifo`` with a FIFO dead-letter queue."""
    create = ctx.function("create_order_queues")
    sqs = ctx.client("sqs")
    try:
        returned = ctx.call(create, sqs)
    except CheckFailed as failure:
        _creation_failed(ctx, failure)
    if isinstance(returned, dict) and "QueueUrl" in returned:
        ctx.fail(
            "`create_order_queues` returned the whole `create_queue` response, not the URL.",
            hint='`create_queue` answers with a dict: return its `["QueueUrl"]`.',
        )
    urls = sqs.list_queues().get("QueueUrls", [])
    names = {u.rsplit("/", 1)[-1]: u for u in urls}
    if returned is None and not urls:
        ctx.fail(
            "`create_order_queues` returned None and created no queue.",
            hint="Did you finish the function (replace the `...`)? Create the dead-letter queue, "
            "then `orders.fifo`, and return the order queue's URL.",
        )
    if ORDER_QUEUE not in names:
        made = ", ".join(f"`{n}`" for n in names) or "no queue at all"
        ctx.fail(
            f"After `create_order_queues` ran, the sandbox has {made}, not `{ORDER_QUEUE}`.",
            hint="A FIFO queue's name must end in `.fifo`, and it needs the attribute "
            '`"FifoQueue": "true"` when it is created (a queue cannot become FIFO later).',
        )
    url = names[ORDER_QUEUE]
    if returned != url and not _same_queue(sqs, returned, url):
        ctx.fail(
            f"`create_order_queues` returned {_short(returned)}, not the URL of `{ORDER_QUEUE}`.",
            hint="Return the order queue's URL (a string), the `QueueUrl` of its `create_queue`.",
        )
    attrs = _attributes(sqs, url)
    if "RedrivePolicy" not in attrs:
        ctx.fail(
            f"`{ORDER_QUEUE}` has no redrive policy, so a message that keeps failing is never set "
            "aside.",
            hint="Create the dead-letter queue first (a FIFO queue too, e.g. `orders-dlq.fifo`), "
            "read its `QueueArn` with `get_queue_attributes`, then give the order queue the "
            'attribute `RedrivePolicy`: `json.dumps({"deadLetterTargetArn": dlq_arn, '
            f'"maxReceiveCount": {MAX_RECEIVES}}})`, at creation or with `set_queue_attributes`.',
        )
    redrive = json.loads(attrs["RedrivePolicy"])
    if int(redrive.get("maxReceiveCount", 0)) != MAX_RECEIVES:
        ctx.fail(
            f"The redrive policy's maxReceiveCount is {redrive.get('maxReceiveCount')}, not "
            f"{MAX_RECEIVES}.",
            hint=f"A message should move to the dead-letter queue after {MAX_RECEIVES} receives "
            f'without a delete: `"maxReceiveCount": {MAX_RECEIVES}`.',
        )
    visibility = int(attrs.get("VisibilityTimeout", 30))
    if visibility < WORK_SECONDS:
        ctx.fail(
            f"`{ORDER_QUEUE}`'s visibility timeout is {visibility} s, but handling an order takes "
            f"up to {WORK_SECONDS} s.",
            hint="A received message is hidden only for the visibility timeout; if the work takes "
            "longer, the message shows again and another consumer handles the same order a second "
            f'time. Set `"VisibilityTimeout"` to at least {WORK_SECONDS} (seconds, as a string). '
            f"Without it SQS uses {facts.value('sqs.visibility_timeout_default')} s.",
        )

    # The dead-letter queue must accept this source (its RedriveAllowPolicy may have been set
    # after the order queue named it, which SQS does not re-check).
    from labkit.services.sqs.patch_attributes import redrive_refusal

    target = str(redrive.get("deadLetterTargetArn", ""))
    dlq_name = target.split(":")[-1]
    dlq_url = names.get(dlq_name)
    if dlq_url is not None:
        refusal = redrive_refusal(
            _attributes(sqs, dlq_url).get("RedriveAllowPolicy"), attrs["QueueArn"]
        )
        if refusal is not None:
            ctx.fail(
                f"The dead-letter queue `{dlq_name}` refuses `{ORDER_QUEUE}`: {refusal}.",
                hint=REDRIVE_ALLOW_HINT,
            )

    # Behaviour: a message received MAX_RECEIVES times without a delete moves to the DLQ.
    sqs.send_message(
        QueueUrl=url, MessageBody="poison", MessageGroupId="check", MessageDeduplicationId="p"
    )
    sent_at = ctx.clock.timestamp
    for receive in range(MAX_RECEIVES):
        got = sqs.receive_message(QueueUrl=url).get("Messages", [])
        if not got and receive == 0:
            delay = int(attrs.get("DelaySeconds", 0))
            why = (
                f"`{ORDER_QUEUE}` has DelaySeconds={delay}, so every order stays hidden for "
                f"{delay} s after it is sent"
                if delay
                else "nothing held it back that the check could see"
            )
            ctx.fail(
                f"A message sent to `{ORDER_QUEUE}` could not be received right after it was "
                f"sent: {why}.",
                hint="The order queue should deliver each order as soon as it is sent: leave "
                '`"DelaySeconds"` out (or "0").',
            )
        if not got:
            retention = int(attrs.get("MessageRetentionPeriod", 0))
            waited = ctx.clock.timestamp - sent_at
            why = (
                f" Its MessageRetentionPeriod is {retention} s, and {waited:g} s have passed: "
                "SQS deleted the message."
                if retention and waited >= retention
                else ""
            )
            ctx.fail(
                f"A message sent to `{ORDER_QUEUE}` was received {receive} time(s), then did not "
                f"come back {visibility + 1} s later, once its visibility timeout ({visibility} s) "
                f"had run out.{why}",
                hint="A received message that is not deleted must come back after the "
                "visibility timeout, until the redrive policy moves it: keep the default "
                "`MessageRetentionPeriod` (4 days), which is far longer than the work.",
            )
        ctx.clock.advance(visibility + 1)
    sqs.receive_message(QueueUrl=url)  # the receive that moves it
    if dlq_url is None or _drain(sqs, dlq_url) != ["poison"]:
        ctx.fail(
            f"A message received {MAX_RECEIVES} times without a delete did not reach the "
            f"dead-letter queue `{dlq_name}`.",
            hint=ARN_NOT_URL_HINT,
        )


# -- consumer -----------------------------------------------------------------------------------
def _order_body(order_id: str, customer: str) -> str:
    return json.dumps({"order_id": order_id, "customer": customer, "items": 1})


class _Handler:
    """The check's ``handle``: works 40 lab seconds per order and watches the message meanwhile."""

    def __init__(self, ctx: CheckContext, url: str) -> None:
        self.ctx = ctx
        self.url = url
        self.handled: list[str] = []  # order ids, in the order they succeeded
        self.attempts: Counter[str] = Counter()
        # (order id, receive count, visibility left when the work started) for each message that
        # became visible again while handle worked on it
        self.reappeared: list[tuple[str, int, float | None]] = []
        self.bad_calls: list[str] = []

    def __call__(self, body: Any = None, *rest: Any, **extra: Any) -> str:
        if not isinstance(body, str):
            self.bad_calls.append(_short(body))
            raise TypeError(
                "handle takes the message's Body (a string), e.g. handle(message['Body'])"
            )
        try:
            order = json.loads(body)
            order_id = str(order["order_id"])
        except (ValueError, KeyError, TypeError):
            self.bad_calls.append(_short(body))
            raise TypeError("handle takes the message's Body as SQS returned it") from None
        from labkit.services.sqs.state import IN_FLIGHT, message_state

        self.attempts[order_id] += 1
        before = message_state(self.ctx.sandbox, self.url, body)  # type: ignore[arg-type]
        left = before[1] if before is not None and before[0] == IN_FLIGHT else None
        self.ctx.clock.advance(WORK_SECONDS)  # the work
        after = message_state(self.ctx.sandbox, self.url, body)  # type: ignore[arg-type]
        if after is not None and after[0] != IN_FLIGHT:
            self.reappeared.append((order_id, after[2], left))
        if order_id == POISON:
            raise OrderError(f"order {order_id}: nobody can ship to this address")
        if order_id == FLAKY and self.attempts[order_id] == 1:
            raise OrderError(f"order {order_id}: the warehouse did not answer, try again later")
        self.handled.append(order_id)
        return f"shipped {order_id}"


ESCAPE_HINT = (
    "Your consumer let the exception of `handle` escape. A consumer must survive an order it "
    "cannot handle: call `handle` inside `try`/`except Exception`, and on failure do NOT delete "
    "that message. SQS delivers it again after its visibility timeout, and once it was received "
    f"{MAX_RECEIVES} times the redrive policy moves it to the dead-letter queue."
)
REAPPEARED_HINT = (
    "A message received is hidden only for its visibility timeout (this queue's is "
    f"{CHECK_VISIBILITY} s; each order takes {WORK_SECONDS} s). Never ask for less than the work "
    "(`VisibilityTimeout=` on `receive_message`), and if you receive several messages at once, "
    "remember that the last ones wait for the others: receive one at a time, or ask for a "
    "timeout that covers the whole batch, or extend each message with "
    "`change_message_visibility` just before you handle it."
)


def _first_order_missed(
    ctx: CheckContext,
    handle: _Handler,
    url: str,
    body: str,
    waits: list[object],
    returned: bool,
    start: float,
) -> None:
    """Fail the long-polling step: say whether consume received nothing, or did not handle."""
    from labkit.services.sqs.state import message_state

    state = message_state(ctx.sandbox, url, body)  # type: ignore[arg-type]
    received = returned or (state is not None and state[2] > 0)
    if handle.attempts or received:
        ctx.fail(
            "`consume` received the order but did not hand it to `handle`.",
            hint="Call `handle(message['Body'])` for each message of the response's `Messages` "
            "list, then delete the message.",
        )
    if not waits and ctx.clock.timestamp == start:
        ctx.fail(
            "`consume` made no `receive_message` call with the client it was given.",
            hint="Did you finish the function (replace the `...`)? Receive with "
            f"`sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds={LONG_POLL}, ...)`.",
        )
    waited = ctx.clock.timestamp - start
    asked = sorted({str(w) for w in waits})
    if any(w not in (None, 0, "0") for w in waits):
        said = f"Your `receive_message` asked WaitTimeSeconds={', '.join(asked)}"
    elif waits:
        said = "Your `receive_message` did not ask to wait (no WaitTimeSeconds, or 0)"
    else:
        said = "It did not call `receive_message` with the client it was given"
    ctx.fail(
        "`consume` was called on an empty queue that received an order "
        f"{FIRST_ORDER_AFTER:g} s later, and returned after {waited:g} s without it. {said}.",
        hint="Short polling returns at once when nothing is there, and a consumer that loops on it "
        "pays for one empty ReceiveMessage call after another. Pass `WaitTimeSeconds` (above 0, "
        f"at most {LONG_POLL}) to `receive_message`: SQS then answers as soon as a message "
        "arrives.",
    )


def check_consumer(ctx: CheckContext) -> None:
    """``consume(sqs, queue_url, handle)`` long-polls, handles, deletes and survives poison."""
    consume = ctx.function("consume")
    sqs = ctx.client("sqs")
    url, dlq = _make_queues(sqs, "orders-check.fifo", visibility=CHECK_VISIBILITY)
    handle = _Handler(ctx, url)
    hints: dict[type[BaseException], str] = {OrderError: ESCAPE_HINT}

    def send(order_id: str, customer: str) -> None:
        sqs.send_message(
            QueueUrl=url,
            MessageBody=_order_body(order_id, customer),
            MessageGroupId=customer,
            MessageDeduplicationId=order_id,
        )

    # Long polling: the queue is empty when consume starts; the first order comes a second later,
    # so that any wait the task allows (above zero) receives it.
    first_id, first_customer = ORDERS[0]
    start = ctx.clock.timestamp
    # What the ReceiveMessage calls made with this client asked for and got.
    waits: list[object] = []
    bodies: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        waits.append(params.get("WaitTimeSeconds"))

    def got(parsed: dict[str, Any], **_: Any) -> None:
        bodies.extend(str(m.get("Body")) for m in parsed.get("Messages", []))

    sqs.meta.events.register("provide-client-params.sqs.ReceiveMessage", record)
    sqs.meta.events.register("after-call.sqs.ReceiveMessage", got)
    ctx.clock.call_later(FIRST_ORDER_AFTER, lambda: send(first_id, first_customer))
    try:
        ctx.call(consume, sqs, url, handle, hints=hints)
    finally:
        sqs.meta.events.unregister("provide-client-params.sqs.ReceiveMessage", record)
        sqs.meta.events.unregister("after-call.sqs.ReceiveMessage", got)
    if handle.bad_calls:
        ctx.fail(
            f"`handle` was called with {handle.bad_calls[0]}, not a message's body.",
            hint="Call `handle(message['Body'])` for each message of the `Messages` list.",
        )
    if first_id not in handle.handled:
        body = _order_body(first_id, first_customer)
        _first_order_missed(ctx, handle, url, body, waits, body in bodies, start)
    for order_id, customer in ORDERS[1:]:
        send(order_id, customer)

    good = [o for o, _ in ORDERS if o != POISON]
    calls = 1
    while calls < MAX_CALLS:
        if _counts(sqs, url) == 0:
            break
        ctx.call(consume, sqs, url, handle, hints=hints)
        calls += 1
        if handle.reappeared:
            break

    if handle.reappeared:
        order_id, count, left = handle.reappeared[0]
        had = f" It had {left:g} s of visibility left when `handle` started." if left else ""
        ctx.fail(
            f"While `handle` worked on order {order_id} ({WORK_SECONDS} s), its message became "
            f"visible again (received {count}×): another consumer could have shipped it twice."
            f"{had}",
            hint=REAPPEARED_HINT,
        )
    counts = Counter(handle.handled)
    twice = sorted(o for o, n in counts.items() if n > 1)
    left = _counts(sqs, url)
    if twice:
        ctx.fail(
            f"Orders {', '.join(twice)} were handled more than once ({dict(counts)}).",
            hint="Receiving a message only hides it for the visibility timeout. Delete each "
            "message you handled: `sqs.delete_message(QueueUrl=queue_url, "
            "ReceiptHandle=message['ReceiptHandle'])`, right after `handle` returns.",
        )
    dead = _drain(sqs, dlq)
    dead_ids = [json.loads(b).get("order_id") for b in dead]
    missing = [o for o in good if o not in counts]
    if missing:
        hint = (
            "Call `handle` for every message you receive and delete only the messages it "
            "accepted. An order that failed once (the warehouse did not answer) must stay in the "
            "queue to be tried again, so never delete a message whose `handle` raised."
        )
        if any(o in dead_ids for o in missing):
            where = (
                " They ended in the dead-letter queue: each was returned by `receive_message` "
                f"{MAX_RECEIVES} times and never deleted."
            )
            hint = (
                "Every receive counts towards maxReceiveCount, even for a message your consumer "
                "received and then left alone. A consumer that skips the rest of a batch (or of a "
                "group) after a failure receives those messages again and again next to the "
                "poison order, until they are dead-lettered with it. Handle every message you "
                "received (and delete it), or receive fewer messages at a time."
            )
        elif left:
            where = f" {left} message(s) are still in the queue after {calls} calls of `consume`."
        else:
            where = " They are gone: deleted without being handled."
        ctx.fail(f"Good orders {', '.join(missing)} were never handled.{where}", hint=hint)
    for customer in sorted({c for _, c in ORDERS}):
        sent = [o for o, c in ORDERS if c == customer and o != POISON]
        done = [o for o in handle.handled if o in sent]
        if done != sent:
            ctx.fail(
                f"{customer}'s orders were handled in the order {done}, not {sent}.",
                hint="A FIFO queue hands out each message group in order; a consumer keeps that "
                "order by handling the messages of a batch in the order `receive_message` "
                "returned them, one after the other.",
            )
    if POISON not in dead_ids:
        if left:
            reason = f"it is still in the queue after {calls} calls of `consume`"
        else:
            reason = "it was deleted, so it is lost"
        ctx.fail(
            f"The poison order {POISON} (`handle` always raises on it) is not in the dead-letter "
            f"queue: {reason}.",
            hint="Never delete a message `handle` failed on, and do not keep it hidden forever "
            "(`change_message_visibility` to hours): let it come back so that, after "
            f"{MAX_RECEIVES} receives, SQS moves it to the dead-letter queue where someone can "
            "look at it.",
        )


# -- scaling ------------------------------------------------------------------------------------
def _real_number(value: object) -> float | None:
    """``value`` as a float when it is a real number (numpy's and Decimal too), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, decimal.Decimal)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number


def check_scaling(ctx: CheckContext) -> None:
    """``backlog_target`` keeps every wait under the limit within the instance budget."""
    backlog_target = ctx.function("backlog_target")
    for workload, group, max_wait in SCALING_CASES:
        spm, launch = workload.seconds_per_message, group.launch_seconds
        returned = ctx.call(backlog_target, spm, max_wait, launch)
        called = f"`backlog_target({spm}, {max_wait:g}, {launch:g})`"
        target = _real_number(returned)
        if target is None:
            ctx.fail(
                f"{called} returned "
                + (
                    "None"
                    if returned is None
                    else f"{_short(returned)} (a {type(returned).__name__})"
                )
                + ", not a number.",
                hint="Did you finish the function (replace the `...`) and `return` the target?"
                if returned is None
                else "Return a number of messages per instance (an int or a float; numpy numbers "
                "and Decimal work too), not a string, a bool or a collection.",
            )
        if not target > 0 or math.isinf(target):
            ctx.fail(
                f"{called} returned {returned!r}, not a positive number of messages per instance.",
                hint="The target is how many messages may wait for each instance.",
            )
        run = queue_scaling.simulate(workload, target, group=group)
        work = sum(workload.rate_at(t) for t in range(int(workload.duration))) * spm / 60.0
        budget = BUDGET_FACTOR * work
        case = (
            f"With {spm:g} s per order, orders allowed to wait {max_wait:g} s and instances "
            f"that take {launch:g} s to start, your target {target:,.4g}"
        )
        if run.max_wait > max_wait:
            naive = max_wait / spm
            hint = (
                "A bigger target lets more messages wait for each instance. AWS's formula, "
                "acceptable wait / seconds per message, assumes the instances are already there; "
                "in a spike new ones need time to start while the backlog grows, so leave them "
                "that time: count only the wait that remains once they are in service."
            )
            if abs(target - naive) <= 0.05 * naive:
                hint = "That is max_wait / seconds_per_message, ignoring the launch time. " + hint
            ctx.fail(
                f"{case} let an order wait {run.max_wait:,.0f} s (longest; limit {max_wait:g} s). "
                f"{run.summary()}.",
                hint=hint,
            )
        if run.instance_minutes > budget:
            ctx.fail(
                f"{case} paid for {run.instance_minutes:,.0f} instance-minutes; the orders need "
                f"{work:,.0f}, so the budget is {budget:,.0f}. {run.summary()}.",
                hint="A tiny target launches instances for a handful of waiting messages, and they "
                "then stand idle. The target is messages per instance: the acceptable wait divided "
                "by the time one message takes (not the other way round), less what the launch "
                "time costs.",
            )


LAB = LabSpec(
    id="decoupling",
    title="Decoupling: SQS queues, dead letters, FIFO, scaling on depth and SNS fan-out",
    lesson="notebooks/02_decoupling.ipynb",
    lesson_source="notebooks/02_decoupling.py",
    exercise="exercises/02_decoupling.ipynb",
    solution="solutions/02_decoupling.ipynb",
    source="solutions/02_decoupling.py",
    checks=(
        Check(
            name="order_queues",
            title=f"create_order_queues(sqs) makes `{ORDER_QUEUE}`: visibility timeout of at "
            f"least {WORK_SECONDS} s, a FIFO dead-letter queue after {MAX_RECEIVES} receives",
            points=2,
            run=check_order_queues,
            hint="Create the FIFO dead-letter queue, then the order queue with FifoQueue, "
            "VisibilityTimeout and a RedrivePolicy naming the dead-letter queue's ARN.",
            isolated=True,
        ),
        Check(
            name="consumer",
            title="consume(sqs, queue_url, handle) long-polls, handles and deletes each order "
            "once and in order, and lets a poison order reach the dead-letter queue",
            points=4,
            run=check_consumer,
            hint="Long-poll with receive_message(WaitTimeSeconds=...), call handle(body) for each "
            "message, delete it when handle returns, leave it when handle raises.",
            isolated=True,
        ),
        Check(
            name="fan_out",
            title="connect(sns, sqs, topic_arn, shipping_url, billing_url): billing gets every "
            "order, shipping only orders to ship (filter on the body, raw delivery)",
            points=3,
            run=check_fan_out,
            hint="Subscribe both queues, give each an access policy that lets the topic send, "
            "and filter the shipping subscription on the message body.",
            isolated=True,
        ),
        Check(
            name="scaling",
            title="backlog_target(seconds_per_message, max_wait, launch_seconds) keeps every "
            "order's wait under max_wait in a spike, within twice the instance time needed",
            points=2,
            run=check_scaling,
            hint="Messages per instance = the wait that remains once a new instance is in "
            "service, divided by the seconds one message takes.",
            isolated=True,
        ),
    ),
)
