"""The welcome lab: how labs work (sandbox, clock, checks, hints, reset).

Its three checks show the two ways labkit grades: by calling the learner's functions in an empty
world of their own (``inbox_queue``, ``handle_one``) and by looking at what the learner built in
their own sandbox (``notes_bucket``).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from labkit.grading.checks import Check, CheckContext
from labkit.labs.spec import LabSpec

INBOX = "welcome-inbox"
INBOX_VISIBILITY = 60
NOTES_BUCKET = "welcome-notes"
NOTES_KEY = "hello.txt"
NOTES_TEXT = "Hello, labkit!"


NO_MESSAGES_HINT = (
    "When `receive_message` finds nothing, its response has no `Messages` key: use "
    "`response.get('Messages', [])` and return None when the list is empty."
)


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _queue_attributes(sqs: Any, url: str) -> dict[str, str]:
    attrs: dict[str, str] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
        "Attributes"
    ]
    return attrs


def _same_queue(sqs: Any, returned: str, url: str) -> bool:
    """Whether SQS takes ``returned`` as the URL of the queue at ``url`` (AWS accepts several
    spellings of a queue URL: ``http://``, the legacy ``queue.amazonaws.com`` hosts, ...)."""
    try:
        theirs = _queue_attributes(sqs, returned).get("QueueArn")
    except Exception:  # not a URL SQS knows: the check says so
        return False
    return theirs is not None and theirs == _queue_attributes(sqs, url).get("QueueArn")


def check_inbox_queue(ctx: CheckContext) -> None:
    """``create_inbox(sqs)`` creates the inbox queue with a 60 s visibility timeout."""
    create_inbox = ctx.function("create_inbox")
    sqs = ctx.client("sqs")
    returned = ctx.call(create_inbox, sqs)
    if isinstance(returned, dict) and "QueueUrl" in returned:
        ctx.fail(
            "`create_inbox` returned the whole `create_queue` response, not the queue's URL.",
            hint='`create_queue` answers with a dict: return its `["QueueUrl"]`.',
        )
    if not isinstance(returned, str):
        ctx.fail(
            f"`create_inbox` returned {_short(returned)}, not the queue's URL (a string).",
            hint="Did you finish the function (replace the `...`) and `return` the URL?",
        )
    urls = sqs.list_queues().get("QueueUrls", [])
    names = [u.rsplit("/", 1)[-1] for u in urls]
    if INBOX not in names:
        made = ", ".join(f"`{n}`" for n in names) or "no queue at all"
        ctx.fail(
            f"After `create_inbox` ran, the sandbox has {made}, not `{INBOX}`.",
            hint="The inbox is a standard queue: leave out `FifoQueue` and the `.fifo` suffix."
            if f"{INBOX}.fifo" in names
            else f'Call `sqs.create_queue(QueueName="{INBOX}", ...)`: the name must match '
            "exactly (a FIFO queue's name would end in `.fifo`).",
        )
    url = urls[names.index(INBOX)]
    if returned != url and not _same_queue(sqs, returned, url):
        ctx.fail(
            f"`create_inbox` returned {returned!r}, not the queue's URL.",
            hint='`create_queue` answers with a dict: return its `["QueueUrl"]`.',
        )
    timeout = int(_queue_attributes(sqs, url).get("VisibilityTimeout", "30"))
    if timeout != INBOX_VISIBILITY:
        ctx.fail(
            f"The queue's visibility timeout is {timeout} s, not {INBOX_VISIBILITY} s.",
            hint="Set the queue attribute `VisibilityTimeout` (seconds, as a string: "
            f'`Attributes={{"VisibilityTimeout": "{INBOX_VISIBILITY}"}}`), when you create the '
            "queue or afterwards with `set_queue_attributes`. Without it SQS uses 30 s.",
        )


def _visible_and_in_flight(sqs: Any, url: str) -> tuple[int, int]:
    attrs = _queue_attributes(sqs, url)
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def _second_call_found_nothing(
    ctx: CheckContext, first: str, after_first: tuple[int, int], sent: int
) -> None:
    """Fail the second call of ``handle_one`` that returned None: say where the message went."""
    visible, in_flight = after_first
    if in_flight:
        ctx.fail(
            f"The second call of `handle_one` returned None, but the queue still held a message: "
            f"the first call received {in_flight + 1} messages and returned only one "
            f"({first!r}). The {in_flight} other message(s) stayed hidden from every receive "
            "until the visibility timeout (30 s) runs out.",
            hint="Receive one message at a time (`MaxNumberOfMessages=1`, the default): a "
            "message you receive but do not return is hidden from everyone else until its "
            "visibility timeout ends, and then delivered again.",
        )
    if not visible:
        ctx.fail(
            f"The second call of `handle_one` returned None: after the first call the queue "
            f"was empty. The first call removed all {sent} messages but returned only one "
            f"({first!r}); the others were deleted without being returned, so they are lost.",
            hint="Delete only the message you return, with its own `ReceiptHandle` (no "
            "`delete_message_batch` over everything received, no `purge_queue`, which deletes "
            "every message in the queue).",
        )
    ctx.fail(
        f"The second call of `handle_one` returned None for a queue holding {visible} message(s).",
        hint="Each call receives a message, deletes it and returns its body; return None only "
        "when `receive_message` gave no `Messages`.",
    )


def check_handle_one(ctx: CheckContext) -> None:
    """``handle_one(sqs, url)`` receives one message, deletes it and returns its body."""
    handle_one = ctx.function("handle_one")
    sqs = ctx.client("sqs")
    url = sqs.create_queue(QueueName="check-handle-one", Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"
    ]
    sent = ["first order", "second order"]
    for body in sent:
        sqs.send_message(QueueUrl=url, MessageBody=body)

    got: list[str] = []
    after_first = (len(sent), 0)
    for index in range(len(sent)):
        body = ctx.call(handle_one, sqs, url)
        if index == 0:
            after_first = _visible_and_in_flight(sqs, url)
        if isinstance(body, dict) and "Body" in body:
            ctx.fail(
                "`handle_one` returned the whole message (a dict), not its body.",
                hint='Return `message["Body"]`, the text the producer sent.',
            )
        if isinstance(body, (bytes, bytearray)):
            ctx.fail(
                f"`handle_one` returned {_short(body)}, a {type(body).__name__}, not the "
                "message's body as SQS gives it (a str).",
                hint='SQS hands you the Body as a str: return `message["Body"]` unchanged '
                "(no `.encode()`).",
            )
        if body is None and index > 0:
            _second_call_found_nothing(ctx, got[0], after_first, len(sent))
        if body is None:
            in_flight = _visible_and_in_flight(sqs, url)[1]
            ctx.fail(
                f"`handle_one` returned None for a queue holding {len(sent)} messages.",
                hint=f"It received {in_flight} message(s) but returned None: return the "
                '`message["Body"]` of the message you received.'
                if in_flight
                else "Did you finish the function (replace the `...`) and `return` the body?",
            )
        if not isinstance(body, str):
            ctx.fail(
                f"`handle_one` returned {_short(body)}, a {type(body).__name__}, for a queue "
                "holding messages, not a message body (a str).",
                hint='Return `message["Body"]`, the text the producer sent (a str).',
            )
        got.append(body)
    if sorted(got) != sorted(sent):
        ctx.fail(
            f"Two calls on a queue holding {sent} returned {got}.",
            hint="Return the message's `Body` (a string), not the whole message or response. "
            "Each call should handle a different message.",
        )

    # Jump past the visibility timeout: a message that was received but not deleted would be
    # delivered again now, as real SQS does.
    ctx.clock.advance(31)
    attrs = _queue_attributes(sqs, url)
    left = int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )
    if left:
        ctx.fail(
            f"{left} message(s) came back after the visibility timeout ran out.",
            hint="Receiving a message only hides it for the visibility timeout. Call "
            "`sqs.delete_message(QueueUrl=..., ReceiptHandle=message['ReceiptHandle'])` once "
            "you have handled it, or it is delivered again.",
        )

    empty = ctx.call(
        handle_one,
        sqs,
        url,
        hints={
            KeyError: NO_MESSAGES_HINT,
            IndexError: NO_MESSAGES_HINT,
        },
    )
    if empty is not None:
        ctx.fail(
            f"On an empty queue `handle_one` returned {empty!r} instead of None.",
            hint=NO_MESSAGES_HINT,
        )


def check_notes_bucket(ctx: CheckContext) -> None:
    """Your sandbox has the bucket ``welcome-notes`` with ``hello.txt`` saying hello."""
    s3 = ctx.client("s3")
    buckets = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    if NOTES_BUCKET not in buckets:
        have = ", ".join(f"`{b}`" for b in buckets) or "no bucket"
        ctx.fail(
            f"Your sandbox has {have}, not `{NOTES_BUCKET}`.",
            hint=f'Run `s3.create_bucket(Bucket="{NOTES_BUCKET}")` in your notebook. If you '
            "called lab.reset() since, run it again.",
        )
    try:
        body = s3.get_object(Bucket=NOTES_BUCKET, Key=NOTES_KEY)["Body"].read()
    except ClientError:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=NOTES_BUCKET).get("Contents", [])]
        have = ", ".join(f"`{k}`" for k in keys) or "no object"
        ctx.fail(
            f"The bucket holds {have}, not `{NOTES_KEY}`.",
            hint=f'Use `s3.put_object(Bucket="{NOTES_BUCKET}", Key="{NOTES_KEY}", Body=...)`: '
            "the key is the object's full name, extension included.",
        )
    text = body.decode("utf-8", "replace").strip()
    if text != NOTES_TEXT:
        ctx.fail(
            f"`{NOTES_KEY}` says {text[:60]!r}, not {NOTES_TEXT!r}.",
            hint="Put exactly that text as the Body (a str or bytes).",
        )


LAB = LabSpec(
    id="welcome",
    title="Welcome: the sandbox, the lab clock and checks",
    lesson="notebooks/01_welcome.ipynb",
    lesson_source="notebooks/01_welcome.py",
    exercise="exercises/01_welcome.ipynb",
    solution="solutions/01_welcome.ipynb",
    source="solutions/01_welcome.py",
    checks=(
        Check(
            name="inbox_queue",
            title=f"create_inbox(sqs) creates `{INBOX}` with a {INBOX_VISIBILITY} s visibility "
            "timeout and returns its URL",
            points=1,
            run=check_inbox_queue,
            hint="Create the queue with boto3's `create_queue`, set its VisibilityTimeout, and "
            "return the URL.",
            isolated=True,
        ),
        Check(
            name="handle_one",
            title="handle_one(sqs, queue_url) receives one message, deletes it and returns its "
            "body (None when the queue is empty)",
            points=2,
            run=check_handle_one,
            hint="Receive with `receive_message`, delete with the message's ReceiptHandle, "
            "return the Body.",
            isolated=True,
        ),
        Check(
            name="notes_bucket",
            title=f"your sandbox has bucket `{NOTES_BUCKET}` with `{NOTES_KEY}` saying "
            f"{NOTES_TEXT!r}",
            points=1,
            run=check_notes_bucket,
            hint="Create the bucket and put the object in your own sandbox, in the notebook.",
        ),
    ),
)
