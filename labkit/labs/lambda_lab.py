"""The Lambda lab: handlers that run behind SQS, S3 and API Gateway, graded by what they do.

Every check deploys the learner's handler in an empty world of its own (through the same
packaging as ``lab.deploy_function``), wires it to the trigger the exercise names and lets the
trigger invoke it through labkit's Lambda runtime: an SQS event source mapping on the lab clock,
an S3 notification, an HTTP request to an API Gateway stage. It then looks at the outcome (the
table, the queues, the HTTP responses) and, when something is wrong, at what the runtime recorded
(the error object, the value the handler returned) to name the likely mistake.

The module is ``lambda_lab`` because ``lambda`` is a Python keyword; the lab's id is ``lambda``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, unquote

from labkit.grading.checks import Check, CheckContext
from labkit.labs.lambda_handlers import (
    TABLE_ENV,
    create_table,
    deploy,
    error_hint,
    error_text,
    invocations,
    is_number,
    short,
    table_items,
)
from labkit.labs.spec import LabSpec

ORDERS_TABLE = "orders"
UPLOADS_TABLE = "uploads"
UPLOAD_BUCKET = "photo-uploads"
CHECK_QUEUE = "check-orders-queue"
CHECK_DLQ = "check-orders-dlq"
#: The queue of the checks: short enough to keep the check fast, long enough to see a retry.
CHECK_VISIBILITY = 30
CHECK_MAX_RECEIVES = 2

PARTIAL_HINT = (
    "Handle each record on its own: wrap its processing in try/except, collect "
    '`{"itemIdentifier": record["messageId"]}` for each one that fails, and '
    '`return {"batchItemFailures": failures}` (an empty list when all went well).'
)


# -- task 1: the SQS order processor -------------------------------------------------------------
GOOD_ORDERS: tuple[dict[str, Any], ...] = (
    {"id": "o-1", "item": "book", "qty": 2},
    {"id": "o-2", "item": "lamp", "qty": 1},
    {"id": "o-3", "item": "desk", "qty": 1},
    {"id": "o-4", "item": "pen", "qty": 12},
)
#: Bodies that are not valid orders, and why (for hints).
BAD_BODIES = {
    "this is not JSON": "not JSON",
    json.dumps({"item": "cup", "qty": 1}): "no `id`",
    json.dumps({"id": "o-9", "item": "mug", "qty": 0}): "`qty` 0",
    # The task asks for a whole-number qty and a string id: a string qty or a numeric id is not
    # an order, even where Python could convert it.
    json.dumps({"id": "o-8", "item": "cup", "qty": "2"}): "`qty` a string",
    json.dumps({"id": 7, "item": "cap", "qty": 1}): "`id` a number",
}


def _queues(ctx: CheckContext) -> tuple[Any, str, str, str]:
    """The check's queue with a dead-letter queue: ``(sqs, url, arn, dlq_url)``."""
    sqs = ctx.client("sqs")
    dlq_url = sqs.create_queue(QueueName=CHECK_DLQ)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": CHECK_MAX_RECEIVES}
    url = sqs.create_queue(
        QueueName=CHECK_QUEUE,
        Attributes={
            "VisibilityTimeout": str(CHECK_VISIBILITY),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return sqs, url, arn, dlq_url


def _queue_counts(sqs: Any, url: str) -> tuple[int, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def _drain_bodies(sqs: Any, url: str) -> list[str]:
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        bodies.extend(m["Body"] for m in got)


def batch_response_problem(
    response: Any, ids: Mapping[str, str], bad_ids: set[str]
) -> tuple[str, str] | None:
    """What is wrong with a partial batch response, as ``(message, hint)``; ``None`` if nothing.

    Args:
        response: What the handler returned (parsed from JSON).
        ids: The batch's message ids and their bodies.
        bad_ids: The ids of the messages that are not valid orders.
    """
    n_bad = len(bad_ids)
    if not isinstance(response, dict) or "batchItemFailures" not in response:
        near = [
            k
            for k in (response if isinstance(response, dict) else {})
            if str(k).lower().rstrip("s") == "batchitemfailure" or str(k) == "batchItemFailure"
        ]
        if near:
            return (
                f"Your handler returned the key `{near[0]}`; Lambda only reads "
                "`batchItemFailures`, so it took the batch as a complete success and deleted "
                f"every message, the {n_bad} bad ones too.",
                "Spell the key exactly `batchItemFailures` (camelCase, plural).",
            )
        return (
            f"For a batch with {n_bad} bad messages your handler returned {short(response)}. "
            "Without `batchItemFailures` Lambda takes the batch as a complete success and "
            "deletes every message: the bad ones are lost instead of being retried and reaching "
            "the dead-letter queue.",
            PARTIAL_HINT,
        )
    failures = response["batchItemFailures"]
    if not isinstance(failures, list):
        return (
            f"`batchItemFailures` is {short(failures)}, not a list.",
            PARTIAL_HINT,
        )
    if not failures and n_bad:
        return (
            f"Your handler reported no failure for a batch with {n_bad} bad messages, so Lambda "
            "deleted them as if they had been processed: they never reach the dead-letter queue.",
            PARTIAL_HINT,
        )
    bodies = {body: ident for ident, body in ids.items()}
    reported: set[str] = set()
    for entry in failures:
        if not isinstance(entry, dict):
            return (
                f"`batchItemFailures` holds {type(entry).__name__} values such as "
                f"{short(entry)}. Lambda cannot read that, so it treats the WHOLE batch as "
                "failed: the good orders come back too and end in the dead-letter queue with "
                "the bad ones.",
                'Each entry must be a dict: `{"itemIdentifier": record["messageId"]}`.',
            )
        if "itemIdentifier" not in entry:
            return (
                f"An entry of `batchItemFailures` is {short(entry)}, without the key "
                "`itemIdentifier`. Lambda then treats the whole batch as failed: the good "
                "orders come back too.",
                'Each entry must be `{"itemIdentifier": record["messageId"]}`.',
            )
        ident = entry["itemIdentifier"]
        if ident not in ids:
            if ident in bodies:
                what = "the message's body"
            elif isinstance(ident, str) and len(ident) > 60:
                what = "not a messageId (it looks like a receiptHandle)"
            else:
                what = "not the messageId of any message"
            return (
                f"You reported `itemIdentifier` {short(ident, 60)}, which is {what} in the "
                "batch. Lambda then treats the whole batch as failed: the good orders come back "
                "too and end in the dead-letter queue.",
                "Use the record's `messageId` (not its `receiptHandle` or `body`): "
                '`{"itemIdentifier": record["messageId"]}`.',
            )
        reported.add(str(ident))
    missed = bad_ids - reported
    if missed:
        which = ", ".join(f"{short(ids[i], 50)} ({BAD_BODIES.get(ids[i], 'bad')})" for i in missed)
        return (
            f"Your handler did not report {which}: Lambda deleted it as processed, so it never "
            "reaches the dead-letter queue.",
            "An order is valid only when the body is a JSON object with a string `id` and a "
            "whole-number `qty` of at least 1; report every other message.",
        )
    extra = reported - bad_ids
    if extra:
        which = ", ".join(short(ids[i], 60) for i in extra)
        return (
            f"Your handler reported good orders as failed ({which}): Lambda delivers them again "
            "and, after the queue's maxReceiveCount, moves them to the dead-letter queue.",
            "Report only the messages you could not process; a good order is written to the "
            "table and left out of `batchItemFailures`.",
        )
    return None


def _mixed_batch_hint(run: Any) -> str:
    """The hint for a handler that raised on the mixed batch, from the error it raised."""
    message = run.error_message or ""
    if "Type mismatch for key" in message:
        return (
            "DynamoDB refused an item whose key `id` is not a string (a message with "
            '`"id": 7` reached `put_item`). Check that `id` is a string before you write, and '
            "report the message instead. " + PARTIAL_HINT
        )
    if run.error_type == "TypeError" and "'str'" in message and "'int'" in message:
        return (
            'A message with `"qty": "2"` (a string) reached a comparison with a number. Check '
            "that `qty` is an int before you compare it, and report the message instead. "
            + PARTIAL_HINT
        )
    return PARTIAL_HINT


def check_order_processor(ctx: CheckContext) -> None:
    """``process_orders`` behind an SQS mapping: good orders in the table, only bad messages
    retried and dead-lettered."""
    handler = ctx.function("process_orders")
    create_table(ctx, ORDERS_TABLE, "id")
    deploy(ctx, handler, "process-orders", {TABLE_ENV: ORDERS_TABLE})
    sqs, url, arn, dlq_url = _queues(ctx)
    ctx.client("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="process-orders",
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    # A batch of good orders only.
    for order in GOOD_ORDERS[:2]:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(order))
    ctx.clock.advance(1)
    first = invocations(ctx, "process-orders")
    if not first:
        ctx.fail("Lambda never invoked `process_orders` for the queue's messages.")
    if first[0].failed:
        ctx.fail(
            f"On a batch of two good orders `process_orders` {error_text(first[0])}.",
            hint=error_hint(first[0], "Read the error and its line in the message above."),
        )
    stored = {str(i.get("id")): i for i in table_items(ctx, ORDERS_TABLE)}
    missing = [o["id"] for o in GOOD_ORDERS[:2] if o["id"] not in stored]
    if missing:
        have = ", ".join(sorted(stored)) or "nothing"
        ctx.fail(
            f"After a batch of two good orders the table `{ORDERS_TABLE}` holds {have} "
            f"(missing: {', '.join(missing)}).",
            hint="Parse each record's `body` with `json.loads` and write the order with "
            f"`put_item` into the table named by `os.environ['{TABLE_ENV}']`.",
        )
    for order in GOOD_ORDERS[:2]:
        got = stored[order["id"]]
        if got.get("item") != order["item"] or not is_number(got.get("qty")):
            ctx.fail(
                f"The order {order['id']} was stored as {short(got)}, not with "
                f"item={order['item']!r} and qty={order['qty']} (a number).",
                hint="Store the order's `id`, `item` and `qty` as they are in the message; "
                "`qty` stays a number.",
            )

    # A batch that mixes good orders and bad messages.
    mixed = [json.dumps(GOOD_ORDERS[2]), *BAD_BODIES, json.dumps(GOOD_ORDERS[3])]
    ids: dict[str, str] = {}
    for body in mixed:
        ids[sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"]] = body
    bad_ids = {i for i, body in ids.items() if body in BAD_BODIES}
    started = ctx.clock.timestamp
    ctx.clock.advance(1)
    batch = invocations(ctx, "process-orders", since=started)
    if not batch:
        ctx.fail("Lambda never invoked `process_orders` for the second batch.")
    mixed_run = batch[0]
    if mixed_run.status == "timeout":
        ctx.fail(
            f"On a batch with bad messages `process_orders` {error_text(mixed_run)}.",
            hint=error_hint(mixed_run, PARTIAL_HINT),
        )
    if mixed_run.failed:
        ctx.fail(
            f"On a batch holding {len(bad_ids)} bad messages `process_orders` "
            f"{error_text(mixed_run)}. A function error fails the WHOLE batch: Lambda delivers "
            "the good orders again with the bad ones, and after the queue's maxReceiveCount "
            "they all end in the dead-letter queue.",
            hint=_mixed_batch_hint(mixed_run),
        )
    problem = batch_response_problem(mixed_run.response, ids, bad_ids)
    if problem is not None:
        ctx.fail(problem[0], hint=problem[1])

    # Let the bad messages come back and reach the dead-letter queue.
    for _ in range(CHECK_MAX_RECEIVES + 1):
        ctx.clock.advance(CHECK_VISIBILITY + 1)
    stored = {str(i.get("id")): i for i in table_items(ctx, ORDERS_TABLE)}
    missing = [o["id"] for o in GOOD_ORDERS if o["id"] not in stored]
    if missing:
        ctx.fail(
            f"The good order(s) {', '.join(missing)} of a mixed batch never reached the table.",
            hint="Process every good record of the batch, not only the first one.",
        )
    if "o-9" in stored:
        ctx.fail(
            "The order o-9 with `qty` 0 was written to the table.",
            hint="An order needs a `qty` of at least 1: report o-9 as a failure instead.",
        )
    dead = sorted(_drain_bodies(sqs, dlq_url))
    visible, in_flight = _queue_counts(sqs, url)
    if dead != sorted(BAD_BODIES) or visible or in_flight:
        ctx.fail(
            f"In the end the dead-letter queue holds {[short(b, 40) for b in dead]} and the "
            f"queue {visible + in_flight} message(s); only the {len(BAD_BODIES)} bad messages "
            "should be dead-lettered.",
            hint=PARTIAL_HINT,
        )


# -- task 2: wiring the queue --------------------------------------------------------------------
REPORTER = "check-order-reporter"


# Deployed by the check into its own world: a package holds only this source, so no annotations
# (they would name `Any`, which the package does not import).
def _reporter(event, context):  # type: ignore[no-untyped-def]
    failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "bad"]
    return {"batchItemFailures": failures}


def _mapping_by_uuid(lam: Any, returned: object) -> dict[str, Any] | None:
    """The mapping whose UUID ``connect_queue`` returned, or ``None``."""
    if not isinstance(returned, str) or not returned:
        return None
    try:
        found: dict[str, Any] = lam.get_event_source_mapping(UUID=returned)
    except lam.exceptions.ResourceNotFoundException:
        return None
    except Exception:  # e.g. a value that is no UUID at all: the route does not match
        return None
    return found


def _queue_mapping(ctx: CheckContext, lam: Any, returned: object, arn: str) -> dict[str, Any]:
    """The mapping ``connect_queue`` made, found as AWS finds it: by the UUID it returned, else
    by the queue it reads (never by the spelling of ``FunctionName`` used to create it)."""
    from labkit.services.awslambda.state import function_name_in

    call = f"`connect_queue(lambda_client, {REPORTER!r}, queue_arn)`"
    on_queue = lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]
    if isinstance(returned, dict) and "UUID" in returned:
        ctx.fail(
            "`connect_queue` returned the whole response, not the mapping's UUID.",
            hint='Return `response["UUID"]`.',
        )
    mapping = _mapping_by_uuid(lam, returned)
    if mapping is None:
        if not on_queue:
            elsewhere = lam.list_event_source_mappings()["EventSourceMappings"]
            if elsewhere:
                ctx.fail(
                    f"After {call} the only mapping reads {elsewhere[0]['EventSourceArn']}, not "
                    f"the queue it was given ({arn}).",
                    hint="Use the `queue_arn` argument as `EventSourceArn`.",
                )
            ctx.fail(
                f"After {call} no event source mapping reads the queue.",
                hint="Call `lambda_client.create_event_source_mapping(EventSourceArn=queue_arn, "
                "FunctionName=function_name, ...)` and return the response's `UUID`.",
            )
        made = on_queue[0]
        if isinstance(returned, str) and returned == made.get("EventSourceMappingArn"):
            ctx.fail(
                "`connect_queue` returned the mapping's ARN, not its UUID.",
                hint='Return `response["UUID"]` (the ARN ends with it, but the task asks for '
                "the UUID).",
            )
        ctx.fail(
            f"`connect_queue` returned {short(returned)}, not the mapping's UUID ({made['UUID']}).",
            hint="Return the `UUID` of `create_event_source_mapping`'s response: "
            '`response["UUID"]`.',
        )
    if mapping["EventSourceArn"] != arn:
        ctx.fail(
            f"The mapping reads {mapping['EventSourceArn']}, not the queue it was given ({arn}).",
            hint="Use the `queue_arn` argument as `EventSourceArn`.",
        )
    target = function_name_in(str(mapping.get("FunctionArn", "")))
    if target != REPORTER:
        ctx.fail(
            f"The mapping calls {mapping.get('FunctionArn')}, not the function it was given "
            f"({REPORTER!r}).",
            hint="Use the `function_name` argument as `FunctionName` (its name, ARN or an alias "
            "of it all work).",
        )
    return mapping


def check_queue_trigger(ctx: CheckContext) -> None:
    """``connect_queue`` maps a queue to a function with partial batch responses turned on."""
    from labkit.services.awslambda.deploy import deploy_function

    connect = ctx.function("connect_queue")
    deploy_function(ctx.sandbox, _reporter, REPORTER)
    sqs, url, arn, _ = _queues(ctx)
    lam = ctx.client("lambda")
    returned = ctx.call(connect, lam, REPORTER, arn)
    mapping = _queue_mapping(ctx, lam, returned, arn)
    if "ReportBatchItemFailures" not in (mapping.get("FunctionResponseTypes") or []):
        ctx.fail(
            "The mapping does not have `FunctionResponseTypes=['ReportBatchItemFailures']`. "
            "Without it Lambda ignores the `batchItemFailures` your handler returns and deletes "
            "the whole batch when the function succeeds: bad messages are lost.",
            hint="Pass `FunctionResponseTypes=['ReportBatchItemFailures']` to "
            "`create_event_source_mapping`.",
        )
    if mapping.get("State") not in (None, "Enabled", "Enabling", "Creating"):
        ctx.fail(
            f"The mapping is {mapping.get('State')}: it does not poll the queue.",
            hint="Leave `Enabled` at its default (True).",
        )
    for body in ("ok-1", "bad", "ok-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    window = int(mapping.get("MaximumBatchingWindowInSeconds") or 0)
    ctx.clock.advance(window + 1)
    visible, in_flight = _queue_counts(sqs, url)
    if (visible, in_flight) != (0, 1):
        ctx.fail(
            f"After the mapping's first batch of 'ok-1', 'bad', 'ok-2' the queue holds {visible} "
            f"visible and {in_flight} in-flight message(s), not just 'bad' in flight.",
            hint="Check the mapping's batch size and batching window: one batch should take all "
            "three messages within a second of lab time.",
        )


# -- task 3: the S3 upload handler ---------------------------------------------------------------
UPLOADS = {
    "cat.jpg": b"meow",
    "holiday photos/beach day.jpg": b"0123456789",
    "menus/café menu (v2).pdf": b"menu...",
}


def check_upload_metadata(ctx: CheckContext) -> None:
    """``record_upload`` writes each uploaded object's key, bucket and size to DynamoDB."""
    handler = ctx.function("record_upload")
    create_table(ctx, UPLOADS_TABLE, "key")
    arn = deploy(ctx, handler, "record-upload", {TABLE_ENV: UPLOADS_TABLE})
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket=UPLOAD_BUCKET)
    ctx.client("lambda").add_permission(
        FunctionName="record-upload",
        StatementId="s3-invoke",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{UPLOAD_BUCKET}",
    )
    s3.put_bucket_notification_configuration(
        Bucket=UPLOAD_BUCKET,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    for key, body in UPLOADS.items():
        s3.put_object(Bucket=UPLOAD_BUCKET, Key=key, Body=body)
    ctx.clock.advance(0)  # S3 invokes asynchronously: the invocations run at the next tick
    runs = invocations(ctx, "record-upload")
    failed = [r for r in runs if r.failed]
    if failed:
        ctx.fail(
            f"For an upload of {len(UPLOADS)} objects `record_upload` {error_text(failed[0])}.",
            hint=error_hint(
                failed[0],
                "Each S3 event has `Records`; read the bucket from "
                "`record['s3']['bucket']['name']` and the key from "
                "`record['s3']['object']['key']`.",
            ),
        )
    items = {str(i.get("key")): i for i in table_items(ctx, UPLOADS_TABLE)}
    for key in UPLOADS:
        encoded = quote_plus(key, safe="/")
        if unquote(encoded) != encoded and unquote(encoded) in items:
            ctx.fail(
                f"The upload {key!r} was recorded as {unquote(encoded)!r}: `unquote` decodes "
                "`%XX` but leaves the `+` that S3 writes for a space.",
                hint="Use `urllib.parse.unquote_plus`, which also turns `+` into a space.",
            )
    for key in UPLOADS:
        if key in items:
            continue
        encoded = quote_plus(key, safe="/")
        if encoded in items:
            ctx.fail(
                f"The upload {key!r} was recorded under the key {encoded!r}, as the S3 event "
                "spells it: keys in S3 events are URL-encoded (a space is `+`).",
                hint="Decode the key with `urllib.parse.unquote_plus(record['s3']['object']"
                "['key'])` before you store it.",
            )
        have = ", ".join(repr(k) for k in sorted(items)) or "nothing"
        ctx.fail(
            f"After uploading {key!r} the table `{UPLOADS_TABLE}` holds {have}.",
            hint="Write one item per record, with the object's decoded key as `key` "
            f"(the table's partition key), into the table named by `os.environ['{TABLE_ENV}']`.",
        )
    for key, body in UPLOADS.items():
        item = items[key]
        if item.get("bucket") == f"arn:aws:s3:::{UPLOAD_BUCKET}":
            ctx.fail(
                f"The item for {key!r} has the bucket's ARN {item['bucket']!r}, not its name "
                f"{UPLOAD_BUCKET!r}.",
                hint="The event has both: store `record['s3']['bucket']['name']`, not `['arn']`.",
            )
        if item.get("bucket") != UPLOAD_BUCKET:
            ctx.fail(
                f"The item for {key!r} has bucket {short(item.get('bucket'))}, not "
                f"{UPLOAD_BUCKET!r}.",
                hint="Read the bucket's name from `record['s3']['bucket']['name']`.",
            )
        size = item.get("size")
        if not is_number(size):
            ctx.fail(
                f"The item for {key!r} has size {short(size)}, not a number.",
                hint="Store `record['s3']['object']['size']` as a number (an int with the "
                "resource API, or `{'N': str(size)}` with the client API).",
            )
        if size != len(body):
            ctx.fail(
                f"The item for {key!r} has size {size}, but the object has {len(body)} bytes.",
                hint="The size is in the event: `record['s3']['object']['size']`.",
            )


# -- task 4: the orders API ----------------------------------------------------------------------
STORED_ORDERS: tuple[dict[str, Any], ...] = (
    {"id": "o-1", "item": "book", "qty": 2},
    {"id": "o-7", "item": "chair", "qty": 4},
)


def _orders_api(ctx: CheckContext, function_arn: str) -> str:
    """A REST API with ``GET /orders/{id}`` proxied to the function; returns the stage URL."""
    apigw = ctx.client("apigateway")
    region = str(apigw.meta.region_name)
    api = apigw.create_rest_api(name="orders-api")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    orders = apigw.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
    one = apigw.create_resource(restApiId=api, parentId=orders, pathPart="{id}")["id"]
    apigw.put_method(restApiId=api, resourceId=one, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api,
        resourceId=one,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}"
        "/invocations",
    )
    # As the console does when it wires the integration: API Gateway may invoke the function.
    account = ctx.client("sts").get_caller_identity()["Account"]
    ctx.client("lambda").add_permission(
        FunctionName=function_arn,
        StatementId=f"orders-api-{api}",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{region}:{account}:{api}/*",
    )
    apigw.create_deployment(restApiId=api, stageName="prod")
    return f"https://{api}.execute-api.{region}.amazonaws.com/prod"


def _api_failure(ctx: CheckContext, since: float, path: str) -> tuple[str, str]:
    """Why API Gateway answered 502 for ``path``: from the invocation Lambda recorded."""
    runs = invocations(ctx, "get-order", since=since)
    if not runs:
        return f"GET {path} answered 502 and the function did not run.", ""
    run = runs[-1]
    if run.failed:
        kind, message = run.error_type or "", run.error_message or ""
        hint = error_hint(run, "")
        if "Decimal" in message and kind == "TypeError":
            hint = (
                "DynamoDB returns numbers as `decimal.Decimal`, which `json.dumps` cannot write. "
                "Convert them (e.g. `int(item['qty'])`) or use `json.dumps(item, default=int)` "
                "(or `default=str`)."
            )
        elif kind == "KeyError" and "'id'" in message:
            hint = "API Gateway puts path parameters in `event['pathParameters']['id']`."
        elif kind == "KeyError" and "Item" in message:
            hint = (
                "`get_item` has no `Item` key when the order does not exist: answer 404 then "
                "(`response.get('Item')`)."
            )
        return (
            f"GET {path} answered 502 (Internal server error): `get_order` {error_text(run)}.",
            hint or "Read the error above; a function error is always a 502 behind API Gateway.",
        )
    result = run.response
    if not isinstance(result, dict):
        return (
            f"GET {path} answered 502: `get_order` returned {short(result)}, and API Gateway "
            "needs a dict with `statusCode` and `body`.",
            "Return `{'statusCode': 200, 'headers': {'Content-Type': 'application/json'}, "
            "'body': json.dumps(order)}`.",
        )
    if "body" in result and not isinstance(result["body"], str):
        return (
            f"GET {path} answered 502: the `body` you returned is a {type(result['body']).__name__}"
            f" ({short(result['body'], 50)}). API Gateway needs the body as a string.",
            "Serialise it: `'body': json.dumps(...)`.",
        )
    extra = set(result) - {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
    return (
        f"GET {path} answered 502: API Gateway could not read the result {short(result)}"
        + (f" (unexpected keys: {', '.join(sorted(map(str, extra)))})" if extra else "")
        + ".",
        "Return only `statusCode`, `headers` and `body` (a string).",
    )


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


_NOT_JSON = object()


def check_orders_api(ctx: CheckContext) -> None:
    """``GET /orders/{id}`` through API Gateway: 200 and the order as JSON, or 404 with JSON."""
    import requests

    handler = ctx.function("get_order")
    create_table(ctx, ORDERS_TABLE, "id")
    table = ctx.resource("dynamodb").Table(ORDERS_TABLE)
    for order in STORED_ORDERS:
        table.put_item(Item=order)
    arn = deploy(ctx, handler, "get-order", {TABLE_ENV: ORDERS_TABLE})
    base = _orders_api(ctx, arn)

    for order in STORED_ORDERS:
        path = f"/orders/{order['id']}"
        since = ctx.clock.timestamp
        reply = requests.get(base + path, timeout=10)
        if reply.status_code == 502:
            message, hint = _api_failure(ctx, since, path)
            ctx.fail(message, hint=hint)
        if reply.status_code != 200:
            ctx.fail(
                f"GET {path} answered {reply.status_code} for an order that exists.",
                hint="Answer `'statusCode': 200` when the order is found.",
            )
        body = _json(reply.text)
        if body is _NOT_JSON:
            ctx.fail(
                f"GET {path} answered a body that is not JSON: {short(reply.text)}.",
                hint="Write the body with `json.dumps(order)`, not `str(order)`.",
            )
        if not isinstance(body, dict) or any(body.get(k) != v for k, v in order.items()):
            ctx.fail(
                f"GET {path} answered {short(body)}, not the order {order}.",
                hint="Answer the order's attributes as a JSON object: `json.dumps(item)` with "
                "`qty` as a number.",
            )

    path = "/orders/o-404"
    since = ctx.clock.timestamp
    reply = requests.get(base + path, timeout=10)
    if reply.status_code == 502:
        message, hint = _api_failure(ctx, since, path)
        ctx.fail(message + " (o-404 does not exist)", hint=hint)
    if reply.status_code != 404:
        ctx.fail(
            f"GET {path}, an order that does not exist, answered {reply.status_code} "
            f"({short(reply.text, 60)}).",
            hint="When `get_item` finds nothing (no `Item` in its response) answer "
            '`\'statusCode\': 404` with a JSON body such as `{"message": "order not found"}`.',
        )
    if not isinstance(_json(reply.text), dict):
        ctx.fail(
            f"GET {path} answered 404 with the body {short(reply.text)}, not a JSON object.",
            hint='Answer 404 with `json.dumps({"message": "order o-404 not found"})`.',
        )


LAB = LabSpec(
    id="lambda",
    title="AWS Lambda: functions, triggers, errors and cost",
    lesson="notebooks/05_lambda.ipynb",
    lesson_source="notebooks/05_lambda.py",
    exercise="exercises/05_lambda.ipynb",
    solution="solutions/05_lambda.ipynb",
    source="solutions/05_lambda.py",
    checks=(
        Check(
            name="order_processor",
            title="process_orders(event, context) behind an SQS mapping stores good orders and "
            "reports only the bad messages in batchItemFailures",
            points=3,
            run=check_order_processor,
            hint=PARTIAL_HINT,
            isolated=True,
        ),
        Check(
            name="queue_trigger",
            title="connect_queue(lambda_client, function_name, queue_arn) creates an SQS mapping "
            "with ReportBatchItemFailures and returns its UUID",
            points=1,
            run=check_queue_trigger,
            hint="Use `create_event_source_mapping` with "
            "`FunctionResponseTypes=['ReportBatchItemFailures']` and return the UUID.",
            isolated=True,
        ),
        Check(
            name="upload_metadata",
            title="record_upload(event, context) writes each S3 upload's decoded key, bucket "
            "and size to DynamoDB",
            points=2,
            run=check_upload_metadata,
            hint="Loop over `event['Records']`, decode the key with `unquote_plus` and "
            "`put_item` into the table named by `os.environ['TABLE_NAME']`.",
            isolated=True,
        ),
        Check(
            name="orders_api",
            title="get_order(event, context) answers GET /orders/{id} with 200 and the order as "
            "JSON, or 404 with a JSON message",
            points=3,
            run=check_orders_api,
            hint="Read `event['pathParameters']['id']`, `get_item` from the table and return "
            "`{'statusCode': ..., 'body': json.dumps(...)}`.",
            isolated=True,
        ),
    ),
)
