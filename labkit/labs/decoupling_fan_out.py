"""The decoupling lab's ``fan_out`` check: SNS fan-out to two queues, and only from this topic.

``connect(sns, sqs, topic_arn, shipping_url, billing_url)`` must subscribe both queues with the
access policies that let the topic deliver; billing gets every order, shipping only orders whose
body says ``"delivery": "ship"``, as raw messages. Then the check tries as outsiders: a second
topic of the learner's account and a topic of another account publish to both queues (nothing may
arrive), and each queue's policy is asked whether an anonymous caller or another account's user
may call ``SendMessage`` directly (neither may).

The sandbox (and moto) is imported inside the check, so that listing the course stays light.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from labkit.grading.checks import CheckContext, CheckFailed

TOPIC = "order-events"
SHIPPING = "shipping"
BILLING = "billing"

#: Orders the fan-out check publishes: (order id, delivery).
FAN_ORDERS: tuple[tuple[str, str], ...] = (
    ("o1", "ship"),
    ("o2", "pickup"),
    ("o3", "ship"),
    ("o4", "download"),
    ("o5", "ship"),
    ("o6", "pickup"),
)


# -- fan_out ------------------------------------------------------------------------------------
def _order_of(body: str) -> tuple[dict[str, Any] | None, bool]:
    """The order a queue received and whether it came raw (not in an SNS envelope)."""
    try:
        value = json.loads(body)
    except ValueError:
        return None, True
    if isinstance(value, dict) and value.get("Type") == "Notification" and "Message" in value:
        try:
            inner = json.loads(value["Message"])
        except ValueError:
            return None, False
        return (inner if isinstance(inner, dict) else None), False
    return (value if isinstance(value, dict) else None), True


def _delivery_failures(ctx: CheckContext, topic_arn: str, queue_arn: str) -> list[Any]:
    from labkit.services.sns.patch import topic_failed_deliveries

    backend = ctx.sandbox.backend("sns")  # type: ignore[attr-defined]
    return [f for f in topic_failed_deliveries(backend, topic_arn) if f.endpoint == queue_arn]


ENDPOINT_HINT = (
    'Subscribe each queue with `sns.subscribe(TopicArn=topic_arn, Protocol="sqs", '
    "Endpoint=queue_arn)`: the endpoint of an SQS subscription is the queue's ARN (from "
    "`get_queue_attributes(..., AttributeNames=['QueueArn'])`), not its URL."
)

POLICY_HINT = (
    "SNS may send to a queue only when the queue's access policy allows it. Give each queue the "
    'attribute `Policy`: a JSON document with a statement `{"Effect": "Allow", "Principal": '
    '{"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": queue_arn, '
    '"Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}` (the Resource is that queue\'s '
    "own ARN, and the condition names this topic)."
)


def check_fan_out(ctx: CheckContext) -> None:
    """``connect`` subscribes billing (everything) and shipping (ship orders only, raw)."""
    from labkit.labs.decoupling import _attributes, _drain

    connect = ctx.function("connect")
    sns = ctx.client("sns")
    sqs = ctx.client("sqs")
    topic_arn = sns.create_topic(Name=TOPIC)["TopicArn"]
    urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in (SHIPPING, BILLING)}
    arns = {name: _attributes(sqs, url)["QueueArn"] for name, url in urls.items()}
    try:
        ctx.call(connect, sns, sqs, topic_arn, urls[SHIPPING], urls[BILLING])
    except CheckFailed as failure:
        if "SQS endpoint ARN" in str(failure.message):
            ctx.fail(failure.message, hint=ENDPOINT_HINT)
        raise

    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn).get("Subscriptions", [])
    if not subscriptions:
        ctx.fail(
            "After `connect` ran, the topic has no subscription at all.",
            hint="Did you finish the function (replace the `...`)? Subscribe each queue with "
            '`sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, '
            "Attributes={...})`, after giving it an access policy.",
        )
    endpoints = Counter(s["Endpoint"] for s in subscriptions)
    for name in (SHIPPING, BILLING):
        if endpoints[arns[name]] == 0:
            ctx.fail(
                f"The {name} queue is not subscribed to the topic.",
                hint=ENDPOINT_HINT,
            )
        if endpoints[arns[name]] > 1:
            ctx.fail(
                f"The {name} queue is subscribed {endpoints[arns[name]]} times, so it would get "
                "each order that many times.",
                hint="Subscribe each queue once.",
            )

    for order_id, delivery in FAN_ORDERS:
        sns.publish(
            TopicArn=topic_arn,
            Message=json.dumps({"order_id": order_id, "delivery": delivery, "total": 25.0}),
        )
    got = {name: [_order_of(b) for b in _drain(sqs, url)] for name, url in urls.items()}
    everything = sorted(o for o, _ in FAN_ORDERS)
    to_ship = sorted(o for o, d in FAN_ORDERS if d == "ship")
    attrs = {s["Endpoint"]: sns.get_subscription_attributes(SubscriptionArn=s["SubscriptionArn"])
             ["Attributes"] for s in subscriptions}  # fmt: skip

    for name, expected in ((BILLING, everything), (SHIPPING, to_ship)):
        received = sorted(str((o or {}).get("order_id")) for o, _ in got[name])
        if received == expected:
            continue
        failures = _delivery_failures(ctx, topic_arn, arns[name])
        if failures:
            ctx.fail(
                f"SNS could not deliver to the {name} queue: {failures[-1].code}: "
                f"{failures[-1].reason}",
                hint=POLICY_HINT,
            )
        sub = attrs.get(arns[name], {})
        policy = sub.get("FilterPolicy", "")
        scope = sub.get("FilterPolicyScope", "MessageAttributes") if policy else ""
        if name == BILLING:
            ctx.fail(
                f"The billing queue received orders {received}, not every order {expected}.",
                hint="Billing needs every order: subscribe it without a filter policy.",
            )
        if not received and policy and scope != "MessageBody":
            ctx.fail(
                f"The shipping queue received nothing: its filter policy {policy} looks at the "
                f"message attributes ({scope}), but the shop puts the delivery in the message "
                "body.",
                hint="A filter policy reads the message attributes unless the subscription has "
                '`"FilterPolicyScope": "MessageBody"`. Set it next to the `FilterPolicy` (in '
                "`subscribe`'s Attributes or with `set_subscription_attributes`).",
            )
        if not policy:
            ctx.fail(
                f"The shipping queue received orders {received}: every order, not only {to_ship}.",
                hint='Give its subscription a filter policy on the body, e.g. `"FilterPolicy": '
                'json.dumps({"delivery": ["ship"]})` with `"FilterPolicyScope": "MessageBody"`.',
            )
        ctx.fail(
            f"The shipping queue received orders {received}, not the orders to ship {to_ship}.",
            hint='Orders to ship have `"delivery": "ship"` in their body. The filter policy '
            'lists the accepted values: `{"delivery": ["ship"]}`.',
        )
    if not all(raw for _, raw in got[SHIPPING]):
        ctx.fail(
            "The shipping queue received each order wrapped in an SNS envelope (a JSON document "
            'with "Type": "Notification" and the order as a string in "Message").',
            hint='Turn on raw message delivery for its subscription: `"RawMessageDelivery": '
            '"true"` in the Attributes of `subscribe` (or `set_subscription_attributes`). The '
            "shipping consumer then receives the order itself.",
        )
    _only_this_topic(ctx, sns, sqs, topic_arn, urls, arns)


ONLY_THIS_TOPIC_HINT = (
    "Scope each queue's policy to this topic alone: the principal "
    '`{"Service": "sns.amazonaws.com"}` with the condition `{"ArnEquals": {"aws:SourceArn": '
    'topic_arn}}`. A principal `*` or `{"AWS": "*"}` without that condition lets anyone '
    "send, `aws:SourceAccount` alone lets every topic of the account send, and a wildcard in the "
    "topic ARN lets every topic that matches it send."
)


def _only_this_topic(
    ctx: CheckContext,
    sns: Any,
    sqs: Any,
    topic_arn: str,
    urls: dict[str, str],
    arns: dict[str, str],
) -> None:
    """Try as outsiders: other topics publish, and strangers ask to SendMessage directly.

    A second topic of the learner's account and a topic of the same name in another account
    subscribe both queues and publish; nothing may arrive. Then each queue's policy is asked
    whether an anonymous caller or another account's principal may call SendMessage itself.
    """
    from labkit.labs.decoupling import _attributes, _drain
    from labkit.sandbox.accounts import OUTSIDER_ACCOUNT, client_in_account
    from labkit.services.sqs.access import Request, evaluate, sns_delivery_request

    policies = {name: _attributes(sqs, url).get("Policy") for name, url in urls.items()}
    outsider_sns = client_in_account(ctx.sandbox, "sns", OUTSIDER_ACCOUNT)
    outsiders = (
        ("a second topic of your account", sns, f"{TOPIC}-copy"),
        (f"a topic of another account ({OUTSIDER_ACCOUNT})", outsider_sns, TOPIC),
    )
    for who, client, name in outsiders:
        other_arn = client.create_topic(Name=name)["TopicArn"]
        for queue_arn in arns.values():
            client.subscribe(
                TopicArn=other_arn,
                Protocol="sqs",
                Endpoint=queue_arn,
                Attributes={"RawMessageDelivery": "true"},
            )
        client.publish(TopicArn=other_arn, Message=json.dumps({"order_id": "intruder"}))
        for queue, url in urls.items():
            if not _drain(sqs, url):
                continue
            decision = evaluate(policies[queue], sns_delivery_request(arns[queue], other_arn))
            ctx.fail(
                f"A message published to {who}, `{other_arn}`, reached the {queue} queue: its "
                f"policy lets that topic send, not only `{topic_arn}`. "
                f"{_let_in_by(decision)}",
                hint=ONLY_THIS_TOPIC_HINT,
            )
    strangers = (
        ("an anonymous caller", ""),
        (f"a user of another account ({OUTSIDER_ACCOUNT})", OUTSIDER_ACCOUNT),
    )
    for queue, queue_arn in arns.items():
        for who, account in strangers:
            request = Request(
                action="sqs:SendMessage",
                resource=queue_arn,
                account=account,
                context={"aws:SecureTransport": "true"},
            )
            decision = evaluate(policies[queue], request)
            if decision.allowed:
                ctx.fail(
                    f"The {queue} queue's policy lets {who} call SendMessage on it directly, "
                    f"without any topic. {_let_in_by(decision)}",
                    hint=ONLY_THIS_TOPIC_HINT,
                )


def _let_in_by(decision: Any) -> str:
    """Which statement of a queue's policy let a sender in, as a sentence."""
    statement = str(getattr(decision, "statement", "") or "")
    if not statement:
        return str(getattr(decision, "reason", ""))
    return f"The statement that let it in: {statement}."
