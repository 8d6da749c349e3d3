"""The architecture map's edges: the wiring the sandbox holds, each with the policy that allows it.

Each reader walks one kind of wiring in moto's backends and asks the one policy engine
(:mod:`labkit.policy`, through the services' ``access.py`` and the patches' own checks, so that the
map and the sandbox agree) whether the call the edge stands for is allowed:

- calls the sandbox refuses when a policy denies them (SNS to a queue or a function, S3
  notifications, CloudFront reading an S3 origin, a Lambda authorizer) are :data:`BROKEN` when
  denied, with the engine's reason;
- calls made with an execution role, or that the sandbox lets through although AWS would refuse
  them (event source mappings and destinations need the function's role, Step Functions tasks the
  state machine's role, an API Gateway Lambda integration the function's policy), are
  :data:`DENIED_ON_AWS` when denied: drawn as broken, and saying that the sandbox let it pass;
- wiring that names a resource the sandbox lacks is :data:`MISSING`, and the missing resource is
  drawn as a placeholder node.

Counts come from what the sandbox already records: the SNS delivery log, Lambda's invocation
history (by source), Lambda's destination deliveries, API Gateway's request trace, CloudFront's
request log, Firehose's buffers, DAX's request log and the global tables' replication counters.
Wiring whose traffic the sandbox does not record has no count (``None``), never a made-up zero.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from labkit import facts
from labkit import policy as engine
from labkit.sandbox.architecture import (
    BROKEN,
    DENIED_ON_AWS,
    DISABLED,
    MISSING,
    OK,
    Edge,
    Node,
    plural,
)
from labkit.sandbox.architecture_nodes import TITLES, bucket_id, ses_id, stream_id
from labkit.sandbox.backends import existing

_ARN = re.compile(
    r"^arn:aws[a-z-]*:(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):(?P<rest>.+)$"
)
#: What a Lambda execution role must allow for an event source mapping to read its source
#: (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#events-sqs-permissions,
#: https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html#events-kinesis-permissions,
#: https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html#events-dynamodb-permissions).
ESM_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "sqs": ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
    "kinesis": (
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:DescribeStream",
        "kinesis:ListShards",
    ),
    "dynamodb": (
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:DescribeStream",
        "dynamodb:ListStreams",
    ),
}

#: What a role must allow to send to each kind of destination (Lambda destinations and
#: dead-letter queues, Step Functions tasks).
#: Said after a refusal the sandbox does not enforce (AWS would refuse; the sandbox lets it pass).
UNCHECKED = " The sandbox lets this call through; AWS would refuse it."

SEND_ACTIONS: Mapping[str, str] = {
    "sqs": "sqs:SendMessage",
    "sns": "sns:Publish",
    "lambda": "lambda:InvokeFunction",
    "events": "events:PutEvents",
    "states": "states:StartExecution",
}


class Wiring:
    """What the readers share: the nodes read so far, the placeholders they add, the problems."""

    def __init__(self, account_id: str, nodes: Mapping[str, Node]) -> None:
        self.account = account_id
        self.nodes = dict(nodes)
        self.extra: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self.problems: list[str] = []
        self._roles: dict[str, list[engine.Policy] | None] = {}
        self._functions: dict[str, Any] | None = None
        self._invoked: Counter[tuple[str, str]] | None = None

    # -- what several readers need, read once per map -----------------------------------------
    def functions(self) -> dict[str, Any]:
        """moto's functions of the account by unqualified ARN."""
        if self._functions is None:
            self._functions = functions(self.account)
        return self._functions

    def invoked(self) -> Counter[tuple[str, str]]:
        """``(function name, source)`` -> invocations recorded (labkit's Lambda history)."""
        if self._invoked is None:
            self._invoked = invocations_by_source(self.account)
        return self._invoked

    # -- nodes ------------------------------------------------------------------------------
    def has(self, node_id: str) -> bool:
        """Whether the sandbox holds the node."""
        return node_id in self.nodes

    def placeholder(
        self,
        node_id: str,
        *,
        service: str = "",
        kind: str = "",
        name: str = "",
        region: str = "",
        tier: str = "",
    ) -> str:
        """A node for what the wiring names outside the nodes read: missing from the sandbox, or
        another account's."""
        if node_id in self.nodes:
            return node_id
        found = _ARN.match(node_id)
        arn_service = found.group("service") if found else ""
        account = found.group("account") if found else ""
        # Another account's resource (a cross-account subscription): the map draws one account,
        # so it stands as a node that says whose it is, not as a missing one.
        elsewhere = account.isdigit() and account != self.account
        title = service or TITLES.get(arn_service, arn_service or "?")
        where = region or (found.group("region") if found else "") or "us-east-1"
        short = name or (found.group("rest").split(":")[-1].split("/")[-1] if found else node_id)
        self.extra.setdefault(
            node_id,
            Node(
                node_id,
                title,
                kind or "resource",
                short,
                where,
                tier or tier_of(title),
                f"in account {account}" if elsewhere else "not in the sandbox",
                missing=not elsewhere,
            ),
        )
        return node_id

    def outside(self, what: str, kind: str) -> str:
        """A node for an endpoint outside AWS (an email address, an HTTP server)."""
        node_id = f"outside:{kind}:{what}"
        self.extra.setdefault(node_id, Node(node_id, "Outside AWS", kind, what, "global", "edge"))
        return node_id

    def add(self, edge: Edge) -> None:
        """Draw ``edge``."""
        self.edges.append(edge)

    # -- roles ------------------------------------------------------------------------------
    def role_policies(self, role_arn: str) -> list[engine.Policy] | None:
        """The IAM policies (inline and attached) of a role of the account; ``None`` when IAM
        holds no such role."""
        if role_arn not in self._roles:
            self._roles[role_arn] = _read_role(self.account, role_arn)
        return self._roles[role_arn]

    def role_allows(
        self, role_arn: str, actions: tuple[str, ...], resource: str
    ) -> tuple[bool, str]:
        """Whether the role allows every one of ``actions`` on ``resource``, and why not."""
        policies = self.role_policies(role_arn)
        role = role_arn.rsplit("/", 1)[-1]
        if policies is None:
            return False, f"The role {role} does not exist in IAM."
        account = engine.arn_account(role_arn) or self.account
        for action in actions:
            request = engine.Request(
                engine.Principal.role_session(account, role, "labkit"), action, resource
            )
            decision = engine.evaluate(request, identity_policies=policies)
            if not decision.allowed:
                return False, f"The role {role} is not allowed {action}: {decision.reason}"
        return True, f"The role {role} allows {', '.join(actions)}."


def tier_of(title: str) -> str:
    """The tier a service (by its title) stands in on the map; ``integration`` by default."""
    tiers = {
        "Lambda": "compute",
        "Step Functions": "compute",
        "API Gateway": "front door",
        "Cognito user pools": "front door",
        "CloudFront": "edge",
        "S3": "data",
        "DynamoDB": "data",
        "DAX": "data",
    }
    return tiers.get(title, "integration")


def _read_role(account: str, role_arn: str) -> list[engine.Policy] | None:
    name = role_arn.rsplit("/", 1)[-1]
    for _, backend in existing("iam", account):
        role = next((r for r in backend.roles.values() if r.name == name), None)
        if role is None:
            continue
        found = [
            engine.load_policy(doc, name=f"inline policy `{pname}` of {name}", kind="identity")
            for pname, doc in sorted(role.policies.items())
        ]
        for arn, managed in sorted(role.managed_policies.items()):
            # The default version is the one IAM evaluates.
            version = next((v for v in managed.versions if v.is_default), None)
            if version is not None:
                found.append(
                    engine.load_policy(
                        version.document, name=f"managed policy {arn}", kind="identity"
                    )
                )
        return found
    return None


def status_of(allowed: bool, enforced: bool) -> str:
    """An edge's status from the engine's answer: a refusal the sandbox enforces is
    :data:`BROKEN`, one it lets through is :data:`DENIED_ON_AWS`."""
    if allowed:
        return OK
    return BROKEN if enforced else DENIED_ON_AWS


def _flow(counts: Mapping[str, int], order: tuple[str, ...]) -> tuple[int, str]:
    # The first kind is always said (``0 delivered · 12 failed``); the others when they happened.
    total = counts.get(order[0], 0)
    rest = [f"{counts[k]} {k}" for k in order[1:] if counts.get(k)]
    return total, " · ".join([f"{total} {order[0]}", *rest])


def window(kept: int, seen: int, word: str) -> str:
    """What to add to a count read from a log that keeps only its latest entries: ``""`` while
    it holds everything, else `` (in the last 100 of 2,013 messages, all the log keeps)``."""
    if seen <= kept:
        return ""
    return f" (in the last {kept:,} of {seen:,} {word}s, all the log keeps)"


def full(kept: int, limit: int, word: str) -> str:
    """What to add to a count read from a log of at most ``limit`` entries that is full (it no
    longer knows how many came before): `` (in the last 1,000 requests, all the log keeps)``."""
    return f" (in the last {kept:,} {word}s, all the log keeps)" if kept >= limit else ""


def _arn_service(arn: str) -> str:
    found = _ARN.match(arn)
    return found.group("service") if found else ""


def _lambda_backends(account: str) -> Iterator[tuple[str, Any]]:
    # moto keeps two Lambda backends (``LambdaBackend`` and the ``LambdaSimpleBackend`` that
    # mocks answer from); only one holds the functions, the mappings and labkit's history.
    for region, backend in existing("lambda", account):
        if backend.list_functions() or getattr(backend, "_event_source_mappings", None):
            yield region, backend


def invocations_by_source(account: str) -> Counter[tuple[str, str]]:
    """``(function name, source)`` -> invocations recorded (labkit's Lambda history)."""
    counts: Counter[tuple[str, str]] = Counter()
    for _, backend in _lambda_backends(account):
        state = getattr(backend, "labkit_lambda", None)
        for record in list(getattr(state, "history", []) or []):
            counts[(str(record.function_name), str(record.source))] += 1
    return counts


# -- SNS ------------------------------------------------------------------------------------------
def sns_subscriptions(w: Wiring) -> None:
    """Topic -> queue, function or outside endpoint, for each subscription."""
    from labkit.services.awslambda.access import invoke_decision
    from labkit.services.sns.patch import delivery_decision
    from labkit.services.sns.patch_log import (
        DELIVERED,
        FAILED,
        FILTERED,
        delivery_log,
        logged_count,
    )

    fns = w.functions()
    for _, backend in existing("sns", w.account):
        logs = {arn: delivery_log(t) for arn, t in backend.topics.items()}
        seen = {arn: logged_count(t) for arn, t in backend.topics.items()}
        for sub in list(backend.subscriptions.values()):
            topic = sub.topic.arn
            counts: Counter[str] = Counter()
            for entry in logs.get(topic, []):
                for outcome in entry.outcomes:
                    if outcome.subscription == sub.arn:
                        counts[outcome.result] += 1
            total, flow = _flow(counts, (DELIVERED, FAILED, FILTERED))
            flow += window(len(logs.get(topic, [])), seen.get(topic, 0), "message")
            label = sub.protocol
            if sub.protocol == "sqs":
                target = sub.endpoint if w.has(sub.endpoint) else w.placeholder(sub.endpoint)
                decision = delivery_decision(sub)
                if decision is None:
                    status, reason = MISSING, "The subscribed queue does not exist."
                else:
                    status, reason = status_of(decision.allowed, True), decision.reason
            elif sub.protocol == "lambda":
                fn = fns.get(sub.endpoint.split(":$LATEST")[0]) or fns.get(sub.endpoint)
                target = fn_id = unqualified(sub.endpoint)
                if fn is None:
                    w.placeholder(fn_id)
                    status, reason = MISSING, "The subscribed function does not exist."
                else:
                    d = invoke_decision(
                        fn,
                        service="sns.amazonaws.com",
                        source_arn=topic,
                        account_id=str(sub.topic.account_id),
                    )
                    status, reason = status_of(d.allowed, True), d.reason
            else:
                target = w.outside(sub.endpoint, sub.protocol)
                status, reason = OK, "SNS delivers outside AWS."
            w.add(Edge(topic, target, "SNS subscription", label, status, reason, total, flow))


def unqualified(arn: str) -> str:
    """A function ARN without its version or alias (the node a qualified ARN belongs to)."""
    parts = arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 else arn


def functions(account: str) -> dict[str, Any]:
    """moto's functions by unqualified ARN."""
    found: dict[str, Any] = {}
    for _, backend in _lambda_backends(account):
        for fn in backend.list_functions():
            found[unqualified(str(fn.function_arn))] = fn
    return found


# -- Lambda ---------------------------------------------------------------------------------------
def event_source_mappings(w: Wiring) -> None:
    """Queue, Kinesis stream or DynamoDB stream -> function, for each event source mapping."""
    invoked = w.invoked()
    fns = w.functions()
    for _, backend in _lambda_backends(w.account):
        for esm in list(getattr(backend, "_event_source_mappings", {}).values()):
            source_arn = str(esm.event_source_arn)
            service = _arn_service(source_arn)
            fn_arn = unqualified(str(esm.function_arn))
            fn = fns.get(fn_arn)
            source = (
                source_arn
                if w.has(source_arn)
                else w.placeholder(source_arn, kind="stream" if "/stream/" in source_arn else "")
            )
            if fn is None:
                w.placeholder(fn_arn, kind="function")
            count = invoked[(fn.function_name if fn else "", f"event-source-mapping:{esm.uuid}")]
            label = f"batch {esm.batch_size}" if esm.batch_size else "batch"
            if not w.has(source_arn):
                status, reason = MISSING, "The mapping's source does not exist."
            elif fn is None:
                status, reason = MISSING, "The mapping's function does not exist."
            elif not esm.enabled:
                status, reason = DISABLED, "The mapping is disabled: Lambda does not poll."
            else:
                resource = source_arn
                ok, why = w.role_allows(str(fn.role), ESM_ACTIONS.get(service, ()), resource)
                status = status_of(ok, False)
                reason = why if ok else why + UNCHECKED
            w.add(
                Edge(
                    source,
                    fn_arn,
                    "event source mapping",
                    label,
                    status,
                    reason,
                    count,
                    plural(count, "invocation"),
                )
            )


def lambda_destinations(w: Wiring) -> None:
    """Function -> its OnSuccess and OnFailure destinations and its dead-letter queue."""
    from labkit.services.awslambda.patch_destinations import (
        dead_letter_target,
        deliveries,
        destination,
    )

    for _, backend in _lambda_backends(w.account):
        sent: Counter[tuple[str, str, str, bool]] = Counter(
            (d.function_name, d.kind, d.target, d.delivered) for d in deliveries(backend)
        )
        for fn in backend.list_functions():
            fn_arn = unqualified(str(fn.function_arn))
            wired = [
                ("on-success", destination(fn, True)),
                ("on-failure", destination(fn, False)),
                ("dead-letter", dead_letter_target(fn)),
            ]
            for kind, target in wired:
                if not target:
                    continue
                node = target if w.has(target) else w.placeholder(target)
                ok_n = sent[(fn.function_name, kind, target, True)]
                failed_n = sent[(fn.function_name, kind, target, False)]
                flow = f"{ok_n} delivered" + (f" · {failed_n} failed" if failed_n else "")
                if not w.has(target):
                    status, reason = MISSING, "The destination does not exist."
                else:
                    action = SEND_ACTIONS.get(_arn_service(target), "")
                    ok, why = w.role_allows(str(fn.role), (action,), target)
                    status = status_of(ok, False)
                    reason = why if ok else why + UNCHECKED
                title = "dead-letter queue" if kind == "dead-letter" else "destination"
                w.add(Edge(fn_arn, node, f"Lambda {title}", kind, status, reason, ok_n, flow))


# -- S3 -------------------------------------------------------------------------------------------
def s3_notifications(w: Wiring) -> None:
    """Bucket -> queue, topic or function, for each event notification."""
    from labkit.services.s3.patch_notifications import destination_check, function_check

    invoked = w.invoked()
    fns = w.functions()
    notifying: Counter[str] = Counter()
    found: list[tuple[str, str, str, str]] = []
    for _, backend in existing("s3", w.account):
        for name, bucket in sorted(backend.buckets.items()):
            config = getattr(bucket, "notification_configuration", None)
            if config is None:
                continue
            for kind, entries in (
                ("queue", config.queue),
                ("topic", config.topic),
                ("function", config.cloud_function),
            ):
                for entry in entries or []:
                    events = ", ".join(entry.events)
                    found.append((name, kind, str(entry.arn), events))
                    if kind == "function":
                        notifying[unqualified(str(entry.arn))] += 1
    for name, kind, arn, events in found:
        source = bucket_id(name)
        target = unqualified(arn) if kind == "function" else arn
        count: int | None = None
        flow = "not recorded"
        if not w.has(target):
            w.placeholder(target)
            status, reason = MISSING, f"The notified {kind} does not exist."
        elif kind == "queue":
            problem, why = destination_check(arn, name, w.account)
            status, reason = (
                status_of(problem is None, True),
                why or "The queue's policy allows it.",
            )
        elif kind == "function":
            problem, why = function_check(arn, name, w.account)
            status = status_of(problem is None, True)
            reason = why or "The function's policy lets s3.amazonaws.com invoke it."
            fn = fns.get(target)
            count = invoked[(fn.function_name, "s3")] if fn is not None else 0
            shared = notifying[target] > 1
            flow = plural(count, "invocation") + (
                " (from every bucket notifying it)" if shared else ""
            )
        else:
            status, reason = _topic_allows(w, target, "s3.amazonaws.com", source)
        w.add(Edge(source, target, "S3 event notification", events, status, reason, count, flow))


def _topic_allows(w: Wiring, topic_arn: str, service: str, source_arn: str) -> tuple[str, str]:
    for _, backend in existing("sns", w.account):
        topic = backend.topics.get(topic_arn)
        if topic is None:
            continue
        request = engine.Request(
            engine.Principal.service(service),
            "sns:Publish",
            topic_arn,
            context={"aws:SourceArn": source_arn, "aws:SourceAccount": w.account},
        )
        document = engine.load_policy(topic.policy or "{}", name="the topic's policy")
        decision = engine.evaluate(request, resource_policy=document)
        return status_of(decision.allowed, False), decision.reason
    return MISSING, "The topic does not exist."


# -- DynamoDB, DAX, Kinesis, Firehose, Cognito, SES ------------------------------------------
def dynamodb_wiring(w: Wiring) -> None:
    """Table -> its stream; table <-> its global table replicas (writes replicated into each)."""
    from labkit.services.dynamodb.patch_global import group_of

    seen: set[tuple[str, str]] = set()
    for region, backend in existing("dynamodb", w.account):
        for name, table in sorted(backend.tables.items()):
            stream = stream_id(table)
            if stream:
                hours = float(facts.value("dynamodb.stream_retention")) / 3600
                shard = getattr(table, "stream_shard", None)
                records = len(getattr(shard, "items", None) or [])
                w.add(
                    Edge(
                        table.table_arn,
                        stream,
                        "DynamoDB stream",
                        "item changes",
                        OK,
                        "DynamoDB writes every item change to the table's stream.",
                        records,
                        plural(records, "record") + f" in the stream (kept {hours:g} hours)",
                    )
                )
            group = group_of(backend, name)
            if group is None:
                continue
            for other, replica in sorted(group.replicas.items()):
                if other == region or (other, region) in seen:
                    continue
                seen.add((region, other))
                target = f"arn:aws:dynamodb:{other}:{w.account}:table/{name}"
                back = group.replicas.get(region)
                applied = int(replica.applied) + int(getattr(back, "applied", 0) or 0)
                status = OK if w.has(target) else MISSING
                reason = f"Replica in {other}: {replica.status}."
                if not w.has(target):
                    w.placeholder(target, kind="table")
                w.add(
                    Edge(
                        table.table_arn,
                        target,
                        "global table replica",
                        "replication",
                        status,
                        reason,
                        applied,
                        f"{applied} writes replicated",
                    )
                )


def dax_tables(w: Wiring) -> None:
    """DAX cluster -> each table its clients read or wrote through it."""
    from labkit.services.dax.sim_cache import RECENT
    from labkit.services.dax.state import cache_of

    for region, backend in existing("dax", w.account):
        for cluster in list(backend.clusters.values()):
            cache = cache_of(cluster)
            if cache is None:
                continue
            tables: Counter[str] = Counter()
            recent = list(getattr(cache, "requests", []) or [])
            for request in recent:
                table = str(getattr(request, "table", "") or "")
                if table:
                    tables[table] += 1
            for (_, _), entry in list(getattr(cache, "_entries", {}).items()):
                table = str(getattr(entry, "table", "") or "")
                if table:
                    tables.setdefault(table, 0)
            for table, count in sorted(tables.items()):
                target = f"arn:aws:dynamodb:{region}:{w.account}:table/{table}"
                status = OK if w.has(target) else MISSING
                if not w.has(target):
                    w.placeholder(target, kind="table")
                w.add(
                    Edge(
                        cluster.arn,
                        target,
                        "DAX cache",
                        "read-through / write-through",
                        status,
                        "The cluster reads and writes the table for its clients.",
                        count,
                        plural(count, "request") + full(len(recent), RECENT, "request"),
                    )
                )


def firehose_wiring(w: Wiring) -> None:
    """Kinesis stream -> delivery stream -> bucket."""
    from labkit.services.firehose.patch import buffer_of, s3_destination

    for _, backend in existing("firehose", w.account):
        for stream in list(backend.delivery_streams.values()):
            arn = stream.delivery_stream_arn
            buffer = buffer_of(stream)
            source = str((stream.source or {}).get("KinesisStreamARN", "") or "")
            # What Firehose took in: delivered to the bucket, or still in its buffer.
            taken = int(getattr(buffer, "records_delivered", 0)) + len(
                getattr(buffer, "records", None) or []
            )
            if stream.delivery_stream_type == "KinesisStreamAsSource" and source:
                node = source if w.has(source) else w.placeholder(source, kind="stream")
                status = OK if w.has(source) else MISSING
                w.add(
                    Edge(
                        node,
                        arn,
                        "Firehose source",
                        "records",
                        status,
                        "Firehose reads the data stream."
                        if status == OK
                        else "The source stream does not exist.",
                        taken,
                        plural(taken, "record") + " taken in",
                    )
                )
            config = s3_destination(stream) or {}
            bucket_arn = str(config.get("BucketARN", "") or "")
            if not bucket_arn:
                continue
            node = bucket_arn if w.has(bucket_arn) else w.placeholder(bucket_arn, kind="bucket")
            objects = int(getattr(buffer, "objects_delivered", 0))
            records = int(getattr(buffer, "records_delivered", 0))
            error = str(getattr(buffer, "last_error", "") or "")
            status = MISSING if not w.has(bucket_arn) else (BROKEN if error else OK)
            reason = error or "Firehose writes buffered records to the bucket as objects."
            w.add(
                Edge(
                    arn,
                    node,
                    "Firehose destination",
                    "S3",
                    status,
                    reason,
                    records,
                    f"{records} records in {objects} objects",
                )
            )


def cognito_identity(w: Wiring) -> None:
    """Identity pool -> the user pools whose tokens it trusts."""
    for _, backend in existing("cognito-identity", w.account):
        for pool_id, pool in backend.identity_pools.items():
            for provider in pool.cognito_identity_providers or []:
                name = str(
                    provider.get("ProviderName", "")
                )  # cognito-idp.<region>.amazonaws.com/<id>
                pool_part = name.rsplit("/", 1)[-1]
                region = name.split(".")[1] if name.count(".") >= 2 else ""
                target = f"arn:aws:cognito-idp:{region}:{w.account}:userpool/{pool_part}"
                status = OK if w.has(target) else MISSING
                if not w.has(target):
                    w.placeholder(target, kind="user pool")
                w.add(
                    Edge(
                        f"identitypool:{pool_id}",
                        target,
                        "identity provider",
                        "tokens",
                        status,
                        "The identity pool trusts the user pool's tokens.",
                    )
                )


def ses_notifications(w: Wiring) -> None:
    """SES identity -> the SNS topics its bounces, complaints and deliveries go to."""
    for region, backend in existing("ses", w.account):
        topics = getattr(backend, "sns_topics", {}) or {}
        for identity, config in sorted(topics.items()):
            source = ses_id(region, identity)
            for kind, topic in sorted((config or {}).items()):
                if not isinstance(topic, str) or not topic.startswith("arn:"):
                    continue  # moto keeps the forwarding switch in the same dict
                target = topic if w.has(topic) else w.placeholder(topic, kind="topic")
                status = OK if w.has(topic) else MISSING
                w.add(
                    Edge(
                        source,
                        target,
                        "SES notification",
                        str(kind),
                        status,
                        "SES publishes the identity's notifications to the topic.",
                    )
                )


def accelerator_endpoints(w: Wiring) -> None:
    """Accelerator -> each endpoint of its endpoint groups (load balancers, instances, Elastic
    IPs), in the endpoint group's Region."""
    for _, backend in existing("globalaccelerator", w.account):
        for accelerator in list(backend.accelerators.values()):
            for listener in list(accelerator.listeners.values()):
                ports = str(getattr(listener, "port_ranges", "") or "")
                label = str(getattr(listener, "protocol", "") or "TCP") + (
                    f" {ports}" if ports and not ports.startswith("[") else ""
                )
                for group in list(listener.endpoint_groups.values()):
                    for endpoint in list(group.endpoints.values()):
                        target = _endpoint_node(w, str(endpoint.endpoint_id), str(group.region))
                        dial = float(getattr(group, "traffic_dial", 100.0) or 0.0)
                        weight = int(getattr(endpoint, "weight", 128) or 0)
                        off = dial == 0 or weight == 0
                        status = DISABLED if off else OK
                        reason = (
                            f"Traffic dial {dial:g}%, weight {weight}: no traffic goes here."
                            if off
                            else f"Traffic dial {dial:g}%, weight {weight}."
                        )
                        w.add(
                            Edge(
                                accelerator.arn,
                                target,
                                "Global Accelerator endpoint",
                                label,
                                status,
                                reason,
                            )
                        )


def _endpoint_node(w: Wiring, endpoint_id: str, region: str) -> str:
    """A node for an accelerator's endpoint: what its id names (a load balancer, an instance, an
    Elastic IP), in the endpoint group's Region; the sandbox models them behind the edge."""
    if endpoint_id in w.nodes:
        return endpoint_id
    if ":elasticloadbalancing:" in endpoint_id:
        service, kind = "Elastic Load Balancing", "load balancer"
        name = endpoint_id.rsplit("/", 2)[-2] if endpoint_id.count("/") >= 2 else endpoint_id
    elif endpoint_id.startswith("i-"):
        service, kind, name = "EC2", "instance", endpoint_id
    else:
        service, kind, name = "EC2", "Elastic IP", endpoint_id.rsplit("/", 1)[-1]
    w.extra.setdefault(
        endpoint_id,
        Node(endpoint_id, service, kind, name, region, "compute", "an accelerator endpoint"),
    )
    return endpoint_id


READERS: tuple[Callable[[Wiring], None], ...] = (
    sns_subscriptions,
    event_source_mappings,
    lambda_destinations,
    s3_notifications,
    dynamodb_wiring,
    dax_tables,
    firehose_wiring,
    cognito_identity,
    ses_notifications,
    accelerator_endpoints,
)


def collect_edges(
    account_id: str, nodes: Mapping[str, Node]
) -> tuple[list[Edge], list[Node], list[str]]:
    """Every piece of wiring: ``(edges, placeholder and outside nodes, problems)``."""
    from labkit.sandbox.architecture_front import READERS as FRONT

    w = Wiring(account_id, nodes)
    for read in READERS + FRONT:
        try:
            read(w)
        except Exception as exc:  # one kind of wiring unreadable: say so, draw the rest
            w.problems.append(f"{read.__name__.replace('_', ' ')}: {exc!r}")
    # A reader may have added a placeholder after another's edge named it: keep both ends.
    return w.edges, list(w.extra.values()), w.problems


__all__ = [
    "ESM_ACTIONS",
    "READERS",
    "SEND_ACTIONS",
    "UNCHECKED",
    "Wiring",
    "collect_edges",
    "full",
    "functions",
    "invocations_by_source",
    "status_of",
    "tier_of",
    "unqualified",
    "window",
]
