"""The serverless API lab's ``ingest`` check: ``POST /events`` writes each event straight into a
Kinesis data stream, with no Lambda function in between.

The learner writes ``create_ingest_api(apig, iam, stream_name)`` (an AWS service integration of
``POST /events`` with Kinesis ``PutRecord``, its role, a ``prod`` stage; returns the API). In a
world of its own the check creates a two-shard stream, posts click events of three users over
HTTP at the invoke URL and reads the stream back:

- every post is answered 200, and no Lambda function exists in the world;
- every event is a record, its data the posted JSON, its partition key the event's ``user``
  (so one user's events stay in order on one shard and users spread over the shards);
- the integration's role may put records into that stream only: asked of labkit's policy engine
  with the role's own policies, ``kinesis:PutRecord`` on another stream of the account is denied.

Kinesis integrations: https://docs.aws.amazon.com/apigateway/latest/developerguide/integrating-api-with-aws-services-kinesis.html
"""

from __future__ import annotations

import base64
import json
from typing import Any

from labkit.grading.checks import CheckContext, short
from labkit.labs.serverless_api_support import (
    ACCOUNT,
    REGION,
    body_of,
    expect_stages,
    http,
    invoke_url,
    json_of,
    resolve_api,
)

STREAM = "clicks"
OTHER_STREAM = "payments"
EVENTS = (
    {"user": "ana", "page": "/home", "at": 1},
    {"user": "ben", "page": "/products", "at": 2},
    {"user": "ana", "page": "/products/42", "at": 3},
    {"user": "cai", "page": "/home", "at": 4},
    {"user": "ben", "page": "/cart", "at": 5},
    {"user": "ana", "page": "/checkout", "at": 6},
)

TEMPLATE_HINT = (
    "An integration of type `AWS` with `uri='arn:aws:apigateway:us-east-1:kinesis:action/"
    "PutRecord'`, `integrationHttpMethod='POST'`, a role API Gateway may assume "
    "(`credentials`), and a request template for `application/json`: "
    '`{"StreamName": "clicks", "Data": "$util.base64Encode($input.body)", '
    '"PartitionKey": "$input.path(\'$.user\')"}`; then a method response and an integration '
    "response for 200."
)
ROLE_HINT = (
    "Let the integration's role do `kinesis:PutRecord` on the stream's ARN only "
    f"(`arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks`), not on `*`."
)


def _records(ctx: CheckContext) -> list[dict[str, Any]]:
    kinesis = ctx.client("kinesis")
    out = []
    for shard in kinesis.describe_stream(StreamName=STREAM)["StreamDescription"]["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in kinesis.get_records(ShardIterator=iterator, Limit=1000)["Records"]:
            out.append({**record, "ShardId": shard["ShardId"]})
    return sorted(out, key=lambda r: int(r["SequenceNumber"]))


def _event_of(data: bytes) -> Any:
    """The posted event a record's data holds: JSON, or JSON base64-encoded once more."""
    for candidate in (data, _unbase64(data)):
        if candidate is None:
            continue
        try:
            return json.loads(candidate)
        except (ValueError, TypeError):
            continue
    return None


def _unbase64(data: bytes) -> bytes | None:
    try:
        return base64.b64decode(data, validate=True)
    except ValueError:
        return None


def _role_may_write_elsewhere(ctx: CheckContext, role_arn: str) -> tuple[bool, str]:
    """Whether the integration's role may put records into another stream of the account."""
    from labkit.policy import Principal, Request, evaluate

    iam = ctx.client("iam")
    name = role_arn.rsplit("/", 1)[-1]
    documents: list[Any] = []
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        documents.append(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        arn = attached["PolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        documents.append(
            iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        )
    other = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{OTHER_STREAM}"
    request = Request(
        Principal.role_session(ACCOUNT, name, "apigateway"), "kinesis:PutRecord", other
    )
    decision = evaluate(request, identity_policies=documents)
    return decision.allowed, decision.reason


def _integration_role(ctx: CheckContext, api: str) -> str | None:
    apig = ctx.client("apigateway")
    for resource in apig.get_resources(restApiId=api, embed=["methods"])["items"]:
        if resource.get("path") != "/events":
            continue
        integration = apig.get_integration(
            restApiId=api, resourceId=resource["id"], httpMethod="POST"
        )
        credentials = integration.get("credentials")
        return str(credentials) if credentials and ":role/" in str(credentials) else None
    return None


def check_ingest(ctx: CheckContext) -> None:
    """Events posted over HTTP land in the stream, one record each, keyed by user; no Lambda."""
    make = ctx.function("create_ingest_api")
    kinesis = ctx.client("kinesis")
    for name in (STREAM, OTHER_STREAM):
        kinesis.create_stream(StreamName=name, ShardCount=2)
    made = ctx.call(make, ctx.client("apigateway"), ctx.client("iam"), STREAM)
    api = resolve_api(ctx, made, "create_ingest_api")
    expect_stages(ctx, api, ("prod",), "create_ingest_api")
    url = invoke_url(api, "prod", "/events")
    for event in EVENTS:
        got = http("POST", url, json=event)
        if got.status_code != 200:
            ctx.fail(
                f"POST /events with {json.dumps(event)} answered {body_of(got)}.",
                hint=TEMPLATE_HINT,
            )
        answer = json_of(got)
        if isinstance(answer, dict) and "__type" in answer:
            said = answer.get("message") or answer.get("Message") or ""
            ctx.fail(
                f"POST /events with {json.dumps(event)} answered 200, but the body is "
                f"Kinesis's error {answer['__type']}: {str(said)[:200].rstrip('.')}. No record was "
                "written (an integration response without a selection pattern passes any answer on "
                "as 200).",
                hint=ROLE_HINT if "AccessDenied" in str(answer["__type"]) else TEMPLATE_HINT,
            )
    functions = ctx.client("lambda").list_functions().get("Functions", [])
    if functions:
        ctx.fail(
            f"Your API uses the Lambda function `{functions[0]['FunctionName']}`: the events "
            "should go straight from API Gateway into Kinesis.",
            hint=TEMPLATE_HINT,
        )
    records = _records(ctx)
    if len(records) != len(EVENTS):
        ctx.fail(
            f"{len(EVENTS)} events were posted and answered 200, and the stream `{STREAM}` "
            f"holds {len(records)} records.",
            hint=TEMPLATE_HINT,
        )
    for event, record in zip(EVENTS, records, strict=True):
        stored = _event_of(record["Data"])
        if stored != event:
            ctx.fail(
                f"The record of {json.dumps(event)} holds {short(record['Data'], 80)}, not the "
                "posted event.",
                hint="Kinesis wants the data base64-encoded in the request, and stores the "
                'decoded bytes: `"Data": "$util.base64Encode($input.body)"` (or '
                "`$input.json('$')`).",
            )
        if record["PartitionKey"] != event["user"]:
            keys = sorted({r["PartitionKey"] for r in records})
            ctx.fail(
                f"The records' partition keys are {short(keys, 80)}, not the events' users: "
                + (
                    "every event lands on one shard, and the stream cannot spread the load."
                    if len(keys) == 1
                    else "one user's events can land on different shards, out of order."
                ),
                hint='Key each record by its user: `"PartitionKey": "$input.path(\'$.user\')"`.',
            )
    role = _integration_role(ctx, api)
    if role is not None:
        allowed, reason = _role_may_write_elsewhere(ctx, role)
        if allowed:
            ctx.fail(
                f"The integration's role `{role.rsplit('/', 1)[-1]}` may also put records into "
                f"`{OTHER_STREAM}`, another stream of the account ({reason})",
                hint=ROLE_HINT,
            )
