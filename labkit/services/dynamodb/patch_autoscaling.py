"""DynamoDB auto scaling on the lab clock: target tracking that really changes capacity.

moto (5.2.5) keeps Application Auto Scaling's control plane (``register_scalable_target``,
``put_scaling_policy`` with its CloudWatch alarms) but never scales anything. This patch runs
each target tracking policy on a DynamoDB table or GSI (``DynamoDBReadCapacityUtilization`` or
``DynamoDBWriteCapacityUtilization``) once a minute of lab time with
:func:`labkit.services.dynamodb.sim_capacity_autoscaling.decide`, reading the table's per-second
meters, and applies its decision with ``UpdateTable`` within the scalable target's minimum and
maximum: out after 2 minutes above the target, in after 15 minutes well below it.

Each decision is kept on moto's policy object (``labkit_activities``: lab time, direction,
old and new capacity, the utilization that triggered it), so ``lab.reset()`` and isolated worlds
cover it. A policy deleted, a target deregistered or a table switched to on-demand stops it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.applicationautoscaling.models import ApplicationAutoscalingBackend

from labkit.clock import Clock
from labkit.services.dynamodb.patch import patched
from labkit.services.dynamodb.sim_capacity import READ, WRITE
from labkit.services.dynamodb.sim_capacity_autoscaling import (
    SCALE_OUT,
    Decision,
    Policy,
    decide,
    minute_averages,
)
from labkit.services.dynamodb.sim_capacity_table import ON_DEMAND, meters_of

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: The predefined metrics this patch follows.
METRICS = ("DynamoDBReadCapacityUtilization", "DynamoDBWriteCapacityUtilization")
#: Seconds between evaluations (DynamoDB's metrics are per minute).
PERIOD = 60


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install DynamoDB auto scaling for ``sandbox``."""
    stack.enter_context(dynamodb_autoscaling(lambda: sandbox.clock))


@dataclass(frozen=True)
class Activity:
    """One scaling change.

    Attributes:
        at: Lab time (epoch seconds).
        resource: The scalable resource (``table/orders`` or ``table/orders/index/by-g``).
        dimension: The scalable dimension (``dynamodb:table:WriteCapacityUnits``, ...).
        direction: ``scale-out`` or ``scale-in``.
        old: Provisioned units before.
        new: Provisioned units after.
        utilization: The utilization (percent) of the minutes that triggered it, newest last.
    """

    at: float
    resource: str
    dimension: str
    direction: str
    old: float
    new: float
    utilization: tuple[float, ...]


def activities(policy: Any) -> list[Activity]:
    """The scaling changes a moto policy made so far."""
    return list(getattr(policy, "labkit_activities", ()))


def _apply(table: Any, backend: Any, index: str | None, kind: int, decision: Decision) -> None:
    """Change the provisioned units of the table or index with moto's UpdateTable."""
    key = "ReadCapacityUnits" if kind == READ else "WriteCapacityUnits"
    if index is None:
        throughput = dict(table.throughput)
        decreases = int(throughput.get("NumberOfDecreasesToday", 0))
        throughput[key] = int(decision.capacity)
        if decision.direction != SCALE_OUT:
            decreases += 1
        throughput["NumberOfDecreasesToday"] = decreases
        table.throughput = throughput
        return
    for gsi in table.global_indexes:
        if gsi.name == index:
            updated = dict(gsi.throughput or {})
            updated[key] = int(decision.capacity)
            backend.update_table_global_indexes(
                table, [{"Update": {"IndexName": index, "ProvisionedThroughput": updated}}]
            )


@contextmanager
def dynamodb_autoscaling(clock_of: Callable[[], Clock]) -> Iterator[None]:
    """Patch moto's Application Auto Scaling for the ``with`` block."""
    original_put = ApplicationAutoscalingBackend.__dict__["put_scaling_policy"]

    def evaluator(backend: ApplicationAutoscalingBackend, key: str, policy: Any) -> Any:
        state = {"out": -math.inf, "in": -math.inf}

        def evaluate() -> None:
            if id(backend.policies.get(key)) != id(policy):
                policy.labkit_event.cancel()
                return
            dimension = policy.scalable_dimension
            target = backend.targets.get(dimension, {}).get(policy.resource_id)
            if target is None:
                return
            parts = policy.resource_id.split("/")
            index = parts[3] if len(parts) > 3 and parts[2] == "index" else None
            from moto.dynamodb.models import dynamodb_backends

            ddb = dynamodb_backends[backend.account_id][backend.region_name]
            table = ddb.tables.get(parts[1]) if len(parts) > 1 else None
            if table is None or table.billing_mode == ON_DEMAND:
                return
            now = clock_of().timestamp
            meters = meters_of(table, now)
            cap = meters.table if index is None else meters.indexes.get(index)
            if cap is None:
                return
            kind = READ if "Read" in dimension else WRITE
            body = policy.target_tracking_scaling_policy_configuration or {}
            rules = Policy.from_facts(
                target=float(body.get("TargetValue", 70.0)),
                minimum=float(target.min_capacity or 1),
                maximum=float(target.max_capacity or 40000),
                scale_out_cooldown=float(body.get("ScaleOutCooldown") or 0),
                scale_in_cooldown=float(body.get("ScaleInCooldown") or 0),
                disable_scale_in=bool(body.get("DisableScaleIn", False)),
            )
            # Complete seconds only: the one the clock has just reached has not happened yet.
            span = rules.scale_in_minutes * 60
            seconds = cap.seconds(now, span + 1)[:-1]
            minutes = minute_averages([s.consumed[kind] for s in seconds], rules.scale_in_minutes)
            provisioned = cap.provisioned[kind]
            decision = decide(
                minutes,
                provisioned,
                rules,
                since_scale_out=now - state["out"],
                since_scale_in=now - state["in"],
            )
            if decision is None:
                return
            _apply(table, ddb, index, kind, decision)
            meters_of(table, now)  # the meters follow the new capacity at once
            state["out" if decision.direction == SCALE_OUT else "in"] = now
            policy.labkit_activities.append(
                Activity(
                    at=now,
                    resource=policy.resource_id,
                    dimension=dimension,
                    direction=decision.direction,
                    old=provisioned,
                    new=decision.capacity,
                    utilization=decision.utilization,
                )
            )

        return evaluate

    def put_scaling_policy(self: ApplicationAutoscalingBackend, *args: Any, **kwargs: Any) -> Any:
        policy = original_put(self, *args, **kwargs)
        body = policy.target_tracking_scaling_policy_configuration or {}
        metric = (body.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
        if policy.service_namespace != "dynamodb" or metric not in METRICS:
            return policy
        key = policy.formulate_key(
            policy.service_namespace,
            policy.resource_id,
            policy.scalable_dimension,
            policy.policy_name,
        )
        policy.labkit_activities = []
        policy.labkit_event = clock_of().every(
            PERIOD, evaluator(self, key, policy), label=f"dynamodb auto scaling {key}"
        )
        return policy

    with patched([(ApplicationAutoscalingBackend, "put_scaling_policy", put_scaling_policy)]):
        yield


__all__ = ["Activity", "activities", "dynamodb_autoscaling", "install"]
