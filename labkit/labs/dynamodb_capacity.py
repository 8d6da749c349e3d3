"""The DynamoDB lab's ``capacity`` check: capacity for a described workload and its spike.

The learner writes ``create_catalog(dynamodb, autoscaling)``: create the table ``catalog`` (key
``sku``, a string) with the capacity they choose: on-demand, or provisioned read and write
capacity, with or without Application Auto Scaling (``autoscaling`` is boto3's
``application-autoscaling`` client; ``dynamodb`` a DynamoDB resource). In a world of its own the
check runs the workload the exercise describes, second by second on the lab clock:

- :data:`BASE_MINUTES` minutes of 100 eventually consistent reads of items up to 4 KB (half a
  read unit each: :data:`BASE_RCU` RCU) and 20 writes of items up to 1 KB (:data:`BASE_WCU`
  WCU) a second;
- a promotion: reads climb to four times that over :data:`RAMP_MINUTES` minutes and writes to
  three times, stay there :data:`PEAK_MINUTES` minutes, then fall back.

The check sends those units in fewer, larger requests (capacity meters units, not calls), after
writing the item it reads and letting the table stand a minute.

It asks that no request is throttled, and that the run costs no more than on-demand would for
the same requests (provisioned capacity is billed per unit-hour held, on-demand per request: see
:mod:`labkit.services.dynamodb.sim_pricing` and the ``dynamodb.price_*`` facts).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from labkit.grading.checks import CheckContext

CATALOG_TABLE = "catalog"
#: The workload in capacity units a second: steady reads and writes, and the promotion's peak.
BASE_RCU = 50
BASE_WCU = 20
PEAK_RCU = 200
PEAK_WCU = 60
BASE_MINUTES = 5
RAMP_MINUTES = 3
PEAK_MINUTES = 3
AFTER_MINUTES = 0
#: Lab seconds the table stands before the workload starts (the check's own set-up first).
SETTLE_SECONDS = 60
#: The check sends the workload's units in a few large requests (the units, not the number of
#: calls, are what capacity meters): an eventually consistent read of a 400 KB item is 50 RCU
#: (read with a projection, which costs the whole item but keeps the answer small), and each
#: second's writes are one item of that many KB.
READ_ITEM_BYTES = 400 * 1024 - 200
READ_RCU = 50
#: Lab seconds between the check's readings of the table's provisioned capacity (auto scaling
#: changes it at most once a minute).
SAMPLE_EVERY = 10
#: How much over on-demand's price for the same requests the run may cost (rounding).
BUDGET_SLACK = 1.02


def demand(second: int) -> tuple[int, int]:
    """Read and write units the workload needs in ``second`` of the run: steady, then a ramp
    in even steps, the peak, and steady again."""
    ramp_start = BASE_MINUTES * 60
    peak_start = ramp_start + RAMP_MINUTES * 60
    peak_end = peak_start + PEAK_MINUTES * 60
    if second < ramp_start or second >= peak_end:
        return BASE_RCU, BASE_WCU
    if second >= peak_start:
        return PEAK_RCU, PEAK_WCU
    steps = (PEAK_RCU - BASE_RCU) // READ_RCU
    step = min(steps, (second - ramp_start) * steps // (RAMP_MINUTES * 60) + 1)
    share = step / steps
    return BASE_RCU + step * READ_RCU, BASE_WCU + round((PEAK_WCU - BASE_WCU) * share)


def run_seconds() -> int:
    """How long the workload runs."""
    return (BASE_MINUTES + RAMP_MINUTES + PEAK_MINUTES + AFTER_MINUTES) * 60


@dataclass
class Run:
    """What happened while the workload ran."""

    read_units: float = 0.0
    write_units: float = 0.0
    #: Provisioned unit-seconds held (read, write); zero for an on-demand table.
    rcu_seconds: float = 0.0
    wcu_seconds: float = 0.0
    throttled_reads: int = 0
    throttled_writes: int = 0
    first_throttle: int | None = None
    #: (second, reads, writes, provisioned rcu, provisioned wcu) at the first throttle.
    at_throttle: tuple[int, int, int, float, float] | None = None
    samples: list[tuple[int, float, float]] = field(default_factory=list)


def _capacity(client: Any) -> tuple[str, float, float, str]:
    """The table's billing mode, provisioned RCU and WCU, and table class."""
    table = client.describe_table(TableName=CATALOG_TABLE)["Table"]
    mode = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    throughput = table.get("ProvisionedThroughput") or {}
    table_class = (table.get("TableClassSummary") or {}).get("TableClass", "STANDARD")
    if mode == "PAY_PER_REQUEST":
        return mode, 0.0, 0.0, table_class
    return (
        mode,
        float(throughput.get("ReadCapacityUnits", 0)),
        float(throughput.get("WriteCapacityUnits", 0)),
        table_class,
    )


def _units(response: Any) -> float:
    consumed = response.get("ConsumedCapacity") or {}
    if isinstance(consumed, list):
        return float(sum(c.get("CapacityUnits", 0.0) for c in consumed))
    return float(consumed.get("CapacityUnits", 0.0))


def _throttled(exc: ClientError) -> bool:
    return bool(
        exc.response.get("Error", {}).get("Code") == "ProvisionedThroughputExceededException"
    )


def _prepare(ctx: CheckContext, client: Any) -> None:
    """Write the item the workload reads, then let the table stand :data:`SETTLE_SECONDS`."""
    item = {"sku": {"S": "page-home"}, "body": {"S": "x" * READ_ITEM_BYTES}}
    for _ in range(600):
        try:
            client.put_item(TableName=CATALOG_TABLE, Item=item)
            break
        except ClientError as exc:
            if not _throttled(exc):
                raise
            ctx.clock.advance(1)
    ctx.clock.advance(SETTLE_SECONDS)


def run_workload(ctx: CheckContext, client: Any) -> Run:
    """Send the workload on the lab clock; stops at the end of the first second that throttled."""
    run = Run()
    _prepare(ctx, client)
    start = math.floor(ctx.clock.timestamp) + 1
    rcu = wcu = 0.0
    for second in range(run_seconds()):
        ctx.clock.advance_to(start + second)
        if second % SAMPLE_EVERY == 0:
            _, rcu, wcu, _ = _capacity(client)
            run.samples.append((second, rcu, wcu))
        run.rcu_seconds += rcu
        run.wcu_seconds += wcu
        reads, writes = demand(second)
        throttled = {"read": 0, "write": 0}
        try:
            response = client.put_item(
                TableName=CATALOG_TABLE,
                Item={
                    "sku": {"S": f"orders-{second % 10}"},
                    "body": {"S": "y" * (writes * 1024 - 100)},
                },
                ReturnConsumedCapacity="TOTAL",
            )
            run.write_units += _units(response)
        except ClientError as exc:
            if not _throttled(exc):
                raise
            throttled["write"] += 1
        for _ in range(reads // READ_RCU):
            try:
                response = client.get_item(
                    TableName=CATALOG_TABLE,
                    Key={"sku": {"S": "page-home"}},
                    ProjectionExpression="sku",
                    ReturnConsumedCapacity="TOTAL",
                )
                run.read_units += _units(response)
            except ClientError as exc:
                if not _throttled(exc):
                    raise
                throttled["read"] += 1
        run.throttled_reads += throttled["read"]
        run.throttled_writes += throttled["write"]
        if throttled["read"] or throttled["write"]:
            run.first_throttle = second
            run.at_throttle = (second, reads, writes, rcu, wcu)
            return run
    return run


def run_cost(run: Run, table_class: str, on_demand: bool) -> tuple[float, float]:
    """What the run cost, and what on-demand would have cost for the same requests (USD)."""
    pricing = importlib.import_module("labkit.services.dynamodb.sim_pricing")
    prices = pricing.Prices.of(table_class)
    per_million = 1_000_000
    od = (
        run.read_units / per_million * prices.read_request_million
        + run.write_units / per_million * prices.write_request_million
    )
    if on_demand:
        return od, od
    held = run.rcu_seconds / 3600 * prices.rcu_hour + run.wcu_seconds / 3600 * prices.wcu_hour
    return held, od


def _policies(autoscaling: Any) -> dict[str, dict[str, Any]]:
    """The table's scalable targets and target tracking policies, by dimension
    (``read``/``write``): ``{"min", "max", "target"}``."""
    out: dict[str, dict[str, Any]] = {}
    resource = f"table/{CATALOG_TABLE}"
    targets = autoscaling.describe_scalable_targets(
        ServiceNamespace="dynamodb", ResourceIds=[resource]
    ).get("ScalableTargets", [])
    policies = autoscaling.describe_scaling_policies(
        ServiceNamespace="dynamodb", ResourceId=resource
    ).get("ScalingPolicies", [])
    for target in targets:
        kind = "read" if "Read" in target["ScalableDimension"] else "write"
        out[kind] = {"min": target["MinCapacity"], "max": target["MaxCapacity"], "target": None}
    for policy in policies:
        kind = "read" if "Read" in policy["ScalableDimension"] else "write"
        config = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
        out.setdefault(kind, {"min": None, "max": None, "target": None})
        out[kind]["target"] = config.get("TargetValue")
    return out


def _throttle_hint(run: Run, policies: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """What the first throttle says about the configuration: (what happened, hint)."""
    assert run.at_throttle is not None
    second, reads, writes, rcu, wcu = run.at_throttle
    kind = "read" if run.throttled_reads else "write"
    needed = reads if kind == "read" else writes
    held = rcu if kind == "read" else wcu
    unit = "RCU" if kind == "read" else "WCU"
    minute = second / 60
    when = (
        "before the promotion"
        if minute < BASE_MINUTES
        else "as the promotion ramped up"
        if minute < BASE_MINUTES + RAMP_MINUTES
        else "at the promotion's peak"
        if minute < BASE_MINUTES + RAMP_MINUTES + PEAK_MINUTES
        else "after the promotion"
    )
    count = run.throttled_reads + run.throttled_writes
    what = (
        f"{count} {kind}{' was' if count == 1 else 's were'} throttled at minute "
        f"{minute:.1f} of the run ({when}): the workload needed {needed:g} {unit} a second "
        f"and the table had {held:g} provisioned."
    )
    policy = policies.get(kind)
    if minute < BASE_MINUTES and held < needed:
        return what, (
            f"Work out the steady load first: {BASE_RCU * 2} eventually consistent reads a second "
            f"of items up to 4 KB are {BASE_RCU} RCU (half a unit each), {BASE_WCU} writes of "
            f"items up to 1 KB are {BASE_WCU} WCU. Provision more than that, with auto scaling "
            "for the promotion, or use on-demand."
        )
    if policy is None or policy.get("target") is None:
        return what, (
            f"Nothing adjusts the {kind} capacity when the promotion comes: register the table's "
            f"{unit} as a scalable target (`register_scalable_target`, ScalableDimension "
            f"'dynamodb:table:{'Read' if kind == 'read' else 'Write'}CapacityUnits', with a "
            "MaxCapacity above the peak) and attach a target tracking policy "
            f"(`put_scaling_policy`, predefined metric DynamoDB"
            f"{'Read' if kind == 'read' else 'Write'}CapacityUtilization), or use on-demand."
        )
    peak = PEAK_RCU if kind == "read" else PEAK_WCU
    if policy.get("max") is not None and float(policy["max"]) < peak:
        return what, (
            f"The scalable target's MaxCapacity is {policy['max']:g}, below the {peak:g} {unit} "
            "the peak needs: auto scaling never goes above it. Allow room above the peak."
        )
    target = float(policy["target"])
    return what, (
        f"The policy's target utilization is {target:g} %: auto scaling adds capacity only "
        "after two minutes above the target, and until then the table lives on its headroom "
        "and on burst capacity (unused capacity kept up to 300 s). A lower target (around 70 %) "
        "leaves room for a ramp, and more burst saved up before it."
    )


def check_capacity(ctx: CheckContext) -> None:
    """The catalog serves the workload and its promotion without a throttle, for no more than
    on-demand would cost."""
    create = ctx.function("create_catalog")
    dynamodb = ctx.resource("dynamodb")
    autoscaling = ctx.client("application-autoscaling")
    client = ctx.client("dynamodb")
    ctx.call(create, dynamodb, autoscaling)
    names = client.list_tables()["TableNames"]
    if CATALOG_TABLE not in names:
        made = ", ".join(f"`{n}`" for n in names) or "no table at all"
        ctx.fail(
            f"After `create_catalog` ran, the sandbox has {made}, not `{CATALOG_TABLE}`.",
            hint=f'Create it with `create_table(TableName="{CATALOG_TABLE}", ...)`.',
        )
    keys = client.describe_table(TableName=CATALOG_TABLE)["Table"]["KeySchema"]
    if [k["AttributeName"] for k in keys] != ["sku"]:
        ctx.fail(
            f"`{CATALOG_TABLE}`'s key schema is {keys}, not the partition key `sku` alone.",
            hint="Give the table the partition key `sku` (type S) and no sort key.",
        )
    run = run_workload(ctx, client)
    mode, _, _, table_class = _capacity(client)
    if run.at_throttle is not None:
        what, hint = _throttle_hint(run, _policies(autoscaling))
        ctx.fail(what, hint=hint)
    cost, on_demand_cost = run_cost(run, table_class, mode == "PAY_PER_REQUEST")
    if cost > on_demand_cost * BUDGET_SLACK:
        peak_rcu = max((r for _, r, _ in run.samples), default=0.0)
        peak_wcu = max((w for _, _, w in run.samples), default=0.0)
        ctx.fail(
            f"No request was throttled, but the {run_seconds() // 60} minutes cost "
            f"${cost:.4f} with up to {peak_rcu:g} RCU and {peak_wcu:g} WCU provisioned, "
            f"{cost / on_demand_cost:.1f} times what on-demand would have charged for the same "
            f"requests (${on_demand_cost:.4f}).",
            hint="Provisioned capacity is billed per unit-hour whether you use it or not: "
            f"provision for the steady load with headroom (about {BASE_RCU / 0.7:.0f} RCU and "
            f"{BASE_WCU / 0.7:.0f} WCU at a 70 % target) and let auto "
            "scaling follow the promotion, or pay per request with on-demand.",
        )
