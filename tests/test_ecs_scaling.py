"""ECS service auto scaling on the lab clock: target tracking on the CPU the apps' requests use,
step scaling from a CloudWatch alarm on an SQS backlog, cooldowns and the scalable target's
limits, and the new desired count reaching the service scheduler."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from ecs_support import fargate_definition, image, network, web_service

import labkit
from labkit.lab import Lab
from labkit.services.ecs import sim_scaling


def busy(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A web app whose every request costs half a vCPU-second."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


busy.cpu_seconds_per_request = 0.5  # type: ignore[attr-defined]


def worker() -> Iterator[int]:
    """A queue worker's command: runs until stopped."""
    while True:
        yield 60


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _service(lab: Lab, cluster: str, name: str) -> dict[str, Any]:
    found = lab.client("ecs").describe_services(cluster=cluster, services=[name])
    return dict(found["services"][0])


def _running(lab: Lab, cluster: str, name: str) -> int:
    arns = lab.client("ecs").list_tasks(cluster=cluster, serviceName=name, desiredStatus="RUNNING")[
        "taskArns"
    ]
    return len(arns)


def _target(lab: Lab, resource: str, low: int, high: int) -> Any:
    aas = lab.client("application-autoscaling")
    aas.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=resource,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=low,
        MaxCapacity=high,
    )
    return aas


def _load(url: str, minutes: int, per_minute: int, lab: Lab) -> None:
    for _ in range(minutes):
        for _ in range(per_minute):
            assert requests.get(url, timeout=5).status_code == 200
        lab.clock.advance(60)


def test_cpu_target_tracking_scales_out_then_back_in(lab: Lab) -> None:
    url, _tg, cluster = web_service(lab, busy, count=2, name="web")
    lab.clock.advance(30)
    aas = _target(lab, "service/apps/web", 1, 6)
    aas.put_scaling_policy(
        PolicyName="cpu50",
        ServiceNamespace="ecs",
        ResourceId="service/apps/web",
        ScalableDimension="ecs:service:DesiredCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
            },
        },
    )
    # 60 requests a minute x 0.5 s over two 0.25-vCPU tasks: 30 of 30 CPU-seconds, 100 %.
    _load(url, 2, 60, lab)
    assert _service(lab, cluster, "web")["desiredCount"] == 2  # two minutes are not enough
    _load(url, 1, 60, lab)
    service = _service(lab, cluster, "web")
    assert service["desiredCount"] == 4  # two tasks' worth of CPU at a 50 % target
    assert _running(lab, cluster, "web") == 4  # the scheduler started them at once
    assert any("desired count changed from 2 to 4" in e["message"] for e in service["events"])
    # Idle: after 15 minutes below 45 % it scales in to the minimum.
    lab.clock.advance(14 * 60)
    assert _service(lab, cluster, "web")["desiredCount"] == 4
    lab.clock.advance(60)
    assert _service(lab, cluster, "web")["desiredCount"] == 1
    assert _running(lab, cluster, "web") == 1


def test_scale_out_waits_for_its_cooldown_and_stops_at_the_maximum(lab: Lab) -> None:
    url, _tg, cluster = web_service(lab, busy, count=1, name="web")
    lab.clock.advance(30)
    aas = _target(lab, "service/apps/web", 1, 3)
    aas.put_scaling_policy(
        PolicyName="cpu50",
        ServiceNamespace="ecs",
        ResourceId="service/apps/web",
        ScalableDimension="ecs:service:DesiredCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
            },
            "ScaleOutCooldown": 600,
        },
    )
    _load(url, 3, 30, lab)  # 15 of 15 CPU-seconds on one task
    assert _service(lab, cluster, "web")["desiredCount"] == 2
    _load(url, 4, 60, lab)  # still 100 %: but the cooldown holds it
    assert _service(lab, cluster, "web")["desiredCount"] == 2
    _load(url, 7, 60, lab)  # past 600 s: out again, to the maximum (3), not 4
    assert _service(lab, cluster, "web")["desiredCount"] == 3


def _worker_service(lab: Lab) -> str:
    subnets, sg = network(lab)
    ecs = lab.client("ecs")
    ecs.create_cluster(clusterName="jobs")
    task_def = fargate_definition(lab, image(lab, worker, repository="worker"), family="worker")
    ecs.create_service(
        cluster="jobs",
        serviceName="worker",
        taskDefinition=task_def,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
    )
    return "jobs"


def _step_policy(aas: Any, name: str, steps: list[dict[str, Any]], kind: str) -> str:
    return str(
        aas.put_scaling_policy(
            PolicyName=name,
            ServiceNamespace="ecs",
            ResourceId="service/jobs/worker",
            ScalableDimension="ecs:service:DesiredCount",
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": kind,
                "StepAdjustments": steps,
                "Cooldown": 60,
            },
        )["PolicyARN"]
    )


def test_step_scaling_follows_the_queue_backlog_alarm(lab: Lab) -> None:
    cluster = _worker_service(lab)
    sqs = lab.client("sqs")
    queue = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    aas = _target(lab, "service/jobs/worker", 1, 5)
    out = _step_policy(
        aas,
        "out",
        [
            {
                "MetricIntervalLowerBound": 0,
                "MetricIntervalUpperBound": 100,
                "ScalingAdjustment": 1,
            },
            {"MetricIntervalLowerBound": 100, "ScalingAdjustment": 3},
        ],
        "ChangeInCapacity",
    )
    back = _step_policy(
        aas,
        "in",
        [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -50}],
        "PercentChangeInCapacity",
    )
    cw = lab.client("cloudwatch")
    common = {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": "jobs"}],
        "Statistic": "Average",
        "Period": 60,
    }
    cw.put_metric_alarm(
        AlarmName="backlog-high",
        ComparisonOperator="GreaterThanThreshold",
        Threshold=10,
        EvaluationPeriods=1,
        AlarmActions=[out],
        **common,
    )
    cw.put_metric_alarm(
        AlarmName="backlog-low",
        ComparisonOperator="LessThanOrEqualToThreshold",
        Threshold=0,
        EvaluationPeriods=3,
        AlarmActions=[back],
        **common,
    )
    for start in range(0, 150, 10):
        sqs.send_message_batch(
            QueueUrl=queue,
            Entries=[{"Id": str(i), "MessageBody": f"job {i}"} for i in range(start, start + 10)],
        )
    lab.clock.advance(60)  # 150 visible: 140 over the threshold, the +3 step
    assert _service(lab, cluster, "worker")["desiredCount"] == 4
    assert _running(lab, cluster, "worker") == 4
    alarm = cw.describe_alarms(AlarmNames=["backlog-high"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
    lab.clock.advance(60)  # still in ALARM: the action repeats, capped at the maximum
    assert _service(lab, cluster, "worker")["desiredCount"] == 5
    sqs.purge_queue(QueueUrl=queue)
    lab.clock.advance(2 * 60)  # two empty minutes of the three the low alarm needs
    assert _service(lab, cluster, "worker")["desiredCount"] == 5
    lab.clock.advance(60)  # -50 % of 5 is -2.5: 2 fewer
    assert _service(lab, cluster, "worker")["desiredCount"] == 3
    assert cw.describe_alarms(AlarmNames=["backlog-high"])["MetricAlarms"][0]["StateValue"] == "OK"
    lab.clock.advance(3 * 60)  # -1.5 → -1, then -0.5 → -1: down to the minimum
    assert _service(lab, cluster, "worker")["desiredCount"] == 1


def test_an_alarm_on_another_queue_does_not_scale(lab: Lab) -> None:
    cluster = _worker_service(lab)
    sqs = lab.client("sqs")
    busy_queue = sqs.create_queue(QueueName="other")["QueueUrl"]
    sqs.create_queue(QueueName="jobs")
    aas = _target(lab, "service/jobs/worker", 1, 5)
    out = _step_policy(
        aas, "out", [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}], "ChangeInCapacity"
    )
    lab.client("cloudwatch").put_metric_alarm(
        AlarmName="backlog-high",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "jobs"}],
        Statistic="Average",
        Period=60,
        ComparisonOperator="GreaterThanThreshold",
        Threshold=0,
        EvaluationPeriods=1,
        AlarmActions=[out],
    )
    sqs.send_message(QueueUrl=busy_queue, MessageBody="not for the worker")
    lab.clock.advance(5 * 60)
    assert _service(lab, cluster, "worker")["desiredCount"] == 1


def test_step_rules() -> None:
    cfg = {
        "AdjustmentType": "ChangeInCapacity",
        "StepAdjustments": [
            {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
            {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 2},
        ],
    }
    assert sim_scaling.step(cfg, 10, 1, 1, 9) == sim_scaling.StepResult(2.0, 3)  # lower inclusive
    assert sim_scaling.step(cfg, 9.9, 1, 1, 9) == sim_scaling.StepResult(1.0, 2)
    assert sim_scaling.step(cfg, -1, 1, 1, 9) is None  # no step below the threshold
    exact = {"AdjustmentType": "ExactCapacity", "StepAdjustments": [{"ScalingAdjustment": 7}]}
    assert sim_scaling.step(exact, 3, 2, 1, 5).capacity == 5  # type: ignore[union-attr]
    pct = {
        "AdjustmentType": "PercentChangeInCapacity",
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 10}],
        "MinAdjustmentMagnitude": 2,
    }
    assert sim_scaling.step(pct, 1, 4, 1, 20).capacity == 6  # type: ignore[union-attr]


def test_utilization_counts_what_the_tasks_reserve() -> None:
    assert sim_scaling.utilization([15.0, 0.0], [256, 256], 60) == 50.0
    assert sim_scaling.utilization([99.0], [256], 60) == 100.0  # a task cannot use more than all
    assert sim_scaling.utilization([], [], 60) == 0.0


def test_the_cluster_view_lists_the_scaling_changes(lab: Lab) -> None:
    cluster = _worker_service(lab)
    sqs = lab.client("sqs")
    queue = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    aas = _target(lab, "service/jobs/worker", 1, 5)
    out = _step_policy(
        aas,
        "backlog-out",
        [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}],
        "ChangeInCapacity",
    )
    lab.client("cloudwatch").put_metric_alarm(
        AlarmName="backlog-high",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "jobs"}],
        Statistic="Average",
        Period=60,
        ComparisonOperator="GreaterThanThreshold",
        Threshold=0,
        EvaluationPeriods=1,
        AlarmActions=[out],
    )
    sqs.send_message(QueueUrl=queue, MessageBody="job")
    lab.clock.advance(60)
    view = lab.cluster_view(cluster)
    text = str(view)
    assert "Scaling over lab time:" in text
    assert "worker: scale-out 1 → 3 tasks by backlog-out" in text
    assert "ApproximateNumberOfMessagesVisible 1" in text
    assert "scale-out 1 → 3" in view._repr_html_()


def cruncher() -> Iterator[int]:
    """A long-running command that keeps a quarter vCPU busy (it says so)."""
    while True:
        yield 60


cruncher.cpu_seconds_per_minute = 15.0  # type: ignore[attr-defined]


def test_a_command_declaring_its_cpu_drives_target_tracking(lab: Lab) -> None:
    subnets, sg = network(lab)
    ecs = lab.client("ecs")
    ecs.create_cluster(clusterName="jobs")
    task_def = fargate_definition(
        lab, image(lab, cruncher, repository="cruncher"), family="cruncher", port=None
    )
    ecs.create_service(
        cluster="jobs",
        serviceName="worker",
        taskDefinition=task_def,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
    )
    aas = _target(lab, "service/jobs/worker", 1, 4)
    aas.put_scaling_policy(
        PolicyName="cpu50",
        ServiceNamespace="ecs",
        ResourceId="service/jobs/worker",
        ScalableDimension="ecs:service:DesiredCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
            },
            "ScaleOutCooldown": 60,
        },
    )
    lab.clock.advance(3 * 60)  # 15 of 15 CPU-seconds: 100 % for three minutes
    assert _service(lab, "jobs", "worker")["desiredCount"] == 2
