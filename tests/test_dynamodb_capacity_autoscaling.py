"""DynamoDB auto scaling: target tracking adjusts provisioned capacity on the lab clock."""

from __future__ import annotations

from typing import Any

from labkit.lab import Lab
from labkit.services.dynamodb.sim_capacity_autoscaling import (
    SCALE_IN,
    SCALE_OUT,
    Policy,
    decide,
    minute_averages,
)

POLICY = Policy(target=50, minimum=5, maximum=100)


def test_scale_out_needs_two_minutes_above_the_target() -> None:
    assert decide([10.0], 10, POLICY) is None
    assert decide([4.0, 10.0], 10, POLICY) is None
    decision = decide([8.0, 10.0], 10, POLICY)
    assert decision is not None and decision.direction == SCALE_OUT
    assert decision.capacity == 20  # the busiest minute (10/s) at 50 %


def test_scale_in_needs_fifteen_quiet_minutes_and_respects_the_minimum() -> None:
    quiet = [1.0] * 15
    assert decide(quiet[:14], 100, POLICY) is None
    decision = decide(quiet, 100, POLICY)
    assert decision is not None and decision.direction == SCALE_IN and decision.capacity == 5
    assert decide([1.0] * 14 + [40.0], 100, POLICY) is None  # one busy minute resets it
    assert decide(quiet, 100, Policy(50, 5, 100, disable_scale_in=True)) is None


def test_the_maximum_caps_scale_out_and_cooldowns_hold_it_back() -> None:
    decision = decide([500.0, 500.0], 10, POLICY)
    assert decision is not None and decision.capacity == 100
    held = Policy(50, 5, 100, scale_out_cooldown=300)
    assert decide([10.0, 10.0], 10, held, since_scale_out=120) is None
    assert decide([10.0, 10.0], 10, held, since_scale_out=300) is not None


def test_minute_averages_split_seconds_into_minutes() -> None:
    per_second = [1.0] * 60 + [3.0] * 60
    assert minute_averages(per_second, 2) == [1.0, 3.0]
    assert minute_averages(per_second[:90], 2) == [2.0]


def setup_scaling(lab: Lab, target: float = 50.0) -> tuple[Any, Any]:
    ddb = lab.client("dynamodb")
    ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    aas = lab.client("application-autoscaling")
    aas.register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId="table/orders",
        ScalableDimension="dynamodb:table:WriteCapacityUnits",
        MinCapacity=5,
        MaxCapacity=100,
    )
    aas.put_scaling_policy(
        PolicyName="writes",
        ServiceNamespace="dynamodb",
        ResourceId="table/orders",
        ScalableDimension="dynamodb:table:WriteCapacityUnits",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": target,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "DynamoDBWriteCapacityUtilization"
            },
        },
    )
    return ddb, aas


def write_units(ddb: Any) -> int:
    return int(
        ddb.describe_table(TableName="orders")["Table"]["ProvisionedThroughput"][
            "WriteCapacityUnits"
        ]
    )


def busy(lab: Lab, ddb: Any, seconds: int) -> None:
    """One 5 KB write (5 WCU) per second of lab time."""
    for i in range(seconds):
        ddb.put_item(TableName="orders", Item={"pk": {"S": f"k{i}"}, "d": {"S": "x" * 5000}})
        lab.clock.advance(1)


def test_target_tracking_scales_out_then_in_on_the_clock(lab: Lab) -> None:
    ddb, _ = setup_scaling(lab)
    busy(lab, ddb, 119)
    lab.clock.advance(1)
    assert write_units(ddb) == 10  # 100 % for two minutes: 5 WCU/s at a 50 % target
    busy(lab, ddb, 120)
    assert write_units(ddb) == 10  # now at the target: no change
    lab.clock.advance(14 * 60)
    assert write_units(ddb) == 10  # quiet, but not for 15 minutes yet
    lab.clock.advance(2 * 60)
    assert write_units(ddb) == 5  # back to the minimum
    from labkit.services.dynamodb.patch_autoscaling import activities

    backend = lab.sandbox.backend("application-autoscaling")
    [policy] = backend.policies.values()
    assert [(a.direction, a.old, a.new) for a in activities(policy)] == [
        (SCALE_OUT, 5.0, 10),
        (SCALE_IN, 10.0, 5),
    ]
    text = lab.table_view("orders").to_text()
    assert "Auto scaling (table/orders, writes): target 50 % utilization, between 5 and 100" in text
    assert "▲" in text and "scale-out: 5 → 10 units" in text
    assert "▼" in text and "scale-in: 10 → 5 units" in text


def test_deleting_the_policy_stops_scaling(lab: Lab) -> None:
    ddb, aas = setup_scaling(lab)
    aas.delete_scaling_policy(
        PolicyName="writes",
        ServiceNamespace="dynamodb",
        ResourceId="table/orders",
        ScalableDimension="dynamodb:table:WriteCapacityUnits",
    )
    busy(lab, ddb, 180)
    assert write_units(ddb) == 5
