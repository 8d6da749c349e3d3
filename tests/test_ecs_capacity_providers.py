"""ECS capacity providers that scale their Auto Scaling group on the lab clock: tasks wait in
PROVISIONING, CapacityProviderReservation drives the group out and in, managed termination
protection keeps busy instances, strategies split tasks by base and weight, and what AWS refuses
is refused with its message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import botocore.config
import botocore.exceptions
import pytest
from ecs_support import image

import labkit
from labkit.lab import Lab
from labkit.services.ecs import sim_capacity
from labkit.services.ecs.state import snapshot
from labkit.services.ecs.view import render_html, render_text

#: One of moto's own AMIs (listing them all costs seconds of CPU).
AMI = "ami-12c6146b"


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A web app that answers ok (the image every task here runs)."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _group(lab: Lab, name: str = "workers", *, protect: bool = True, most: int = 10) -> str:
    """An empty Auto Scaling group of t3.medium instances (2 vCPU, 4 GiB); its ARN."""
    ec2 = lab.client("ec2")
    template = f"{name}-template"
    ec2.create_launch_template(
        LaunchTemplateName=template,
        LaunchTemplateData={
            "ImageId": AMI,
            "InstanceType": "t3.medium",
        },
    )
    scaling = lab.client("autoscaling")
    scaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateName": template},
        MinSize=0,
        MaxSize=most,
        DesiredCapacity=0,
        AvailabilityZones=["us-east-1a"],
        NewInstancesProtectedFromScaleIn=protect,
    )
    found = scaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return str(found["AutoScalingGroups"][0]["AutoScalingGroupARN"])


def _provider(
    lab: Lab,
    name: str,
    group_arn: str,
    *,
    managed: bool = True,
    protection: bool = True,
    target: int = 100,
) -> None:
    lab.client("ecs").create_capacity_provider(
        name=name,
        autoScalingGroupProvider={
            "autoScalingGroupArn": group_arn,
            "managedScaling": {
                "status": "ENABLED" if managed else "DISABLED",
                "targetCapacity": target,
                "instanceWarmupPeriod": 60,
            },
            "managedTerminationProtection": "ENABLED" if protection else "DISABLED",
        },
    )


def _cluster(lab: Lab, *, protection: bool = True) -> str:
    """Cluster ``shop`` with provider ``workers`` as its default strategy; a task definition
    whose tasks reserve ``cpu`` units (1024: two a t3.medium)."""
    ecs = lab.client("ecs")
    ecs.create_cluster(clusterName="shop")
    _provider(lab, "workers", _group(lab, protect=protection), protection=protection)
    ecs.put_cluster_capacity_providers(
        cluster="shop",
        capacityProviders=["workers"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "workers", "weight": 1}],
    )
    return _definition(lab, 1024)


def _definition(lab: Lab, cpu: int) -> str:
    return str(
        lab.client("ecs").register_task_definition(
            family=f"job-{cpu}",
            containerDefinitions=[
                {"name": "app", "image": image(lab, app, "jobs"), "cpu": cpu, "memory": 512}
            ],
        )["taskDefinition"]["taskDefinitionArn"]
    )


def _tasks(lab: Lab, status: str | None = None) -> list[dict[str, Any]]:
    ecs = lab.client("ecs")
    arns = ecs.list_tasks(cluster="shop")["taskArns"]
    arns += ecs.list_tasks(cluster="shop", desiredStatus="STOPPED")["taskArns"]
    tasks = ecs.describe_tasks(cluster="shop", tasks=arns)["tasks"] if arns else []
    return [t for t in tasks if status is None or t["lastStatus"] == status]


def _desired(lab: Lab, name: str = "workers") -> int:
    found = lab.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return int(found["AutoScalingGroups"][0]["DesiredCapacity"])


def _reservations(lab: Lab) -> list[float]:
    """The CapacityProviderReservation figures CloudWatch holds, oldest first."""
    now = lab.clock.now
    answer = lab.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/ECS/ManagedScaling",
        MetricName="CapacityProviderReservation",
        Dimensions=[
            {"Name": "CapacityProviderName", "Value": "workers"},
            {"Name": "ClusterName", "Value": "shop"},
        ],
        StartTime=now - timedelta(hours=2),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Maximum"],
    )
    points = sorted(answer["Datapoints"], key=lambda d: d["Timestamp"])
    return [float(d["Maximum"]) for d in points]


def _instances(lab: Lab) -> dict[str, int]:
    """Container instances of ``shop``: EC2 id -> running tasks."""
    ecs = lab.client("ecs")
    arns = ecs.list_container_instances(cluster="shop")["containerInstanceArns"]
    if not arns:
        return {}
    found = ecs.describe_container_instances(cluster="shop", containerInstances=arns)
    return {c["ec2InstanceId"]: c["runningTasksCount"] for c in found["containerInstances"]}


def test_tasks_wait_then_the_group_scales_out_and_places_them(lab: Lab) -> None:
    task_def = _cluster(lab)
    answer = lab.client("ecs").run_task(cluster="shop", taskDefinition=task_def, count=5)
    assert answer["failures"] == []
    assert [t["lastStatus"] for t in answer["tasks"]] == ["PROVISIONING"] * 5
    assert {t["capacityProviderName"] for t in answer["tasks"]} == {"workers"}
    lab.clock.advance(60)
    # N = 0 with tasks waiting: 200 %; five 1-vCPU tasks need three 2-vCPU instances.
    assert _reservations(lab) == [200.0]
    assert _desired(lab) == 3
    assert _instances(lab) == {}  # still booting
    assert len(_tasks(lab, "PROVISIONING")) == 5
    lab.clock.advance(60)
    assert sorted(_instances(lab).values()) == [1, 2, 2]
    running = _tasks(lab, "RUNNING")
    assert len(running) == 5 and all(t["containerInstanceArn"] for t in running)
    ecs = lab.client("ecs")
    arns = ecs.list_container_instances(cluster="shop")["containerInstanceArns"]
    described = ecs.describe_container_instances(cluster="shop", containerInstances=arns)
    cpu = {
        r["integerValue"]
        for c in described["containerInstances"]
        for r in c["registeredResources"]
        if r["name"] == "CPU"
    }
    assert cpu == {2048}  # t3.medium: 2 vCPUs
    # Every instance busy: M = N = 3. Two more tasks need one more instance: M / N = 4 / 3.
    ecs.run_task(cluster="shop", taskDefinition=task_def, count=1)  # fits the half-empty one
    ecs.run_task(cluster="shop", taskDefinition=task_def, count=2)
    lab.clock.advance(60)
    assert _reservations(lab)[-2:] == [100.0, pytest.approx(133.333)]
    assert _desired(lab) == 4
    lab.clock.advance(60)
    assert len(_tasks(lab, "RUNNING")) == 8 and not _tasks(lab, "PROVISIONING")
    # A service scaled in stops its tasks still waiting for room before its running ones.
    ecs.stop_task(cluster="shop", task=_tasks(lab, "RUNNING")[0]["taskArn"])  # room for one
    ecs.create_service(cluster="shop", serviceName="api", taskDefinition=task_def, desiredCount=3)
    api = [t for t in _tasks(lab) if t["group"] == "service:api"]
    assert sorted(t["lastStatus"] for t in api) == ["PROVISIONING", "PROVISIONING", "RUNNING"]
    ecs.update_service(cluster="shop", service="api", desiredCount=1)
    api = [t for t in _tasks(lab) if t["group"] == "service:api"]
    assert sorted(t["lastStatus"] for t in api) == ["RUNNING", "STOPPED", "STOPPED"]


def _one_busy_instance(lab: Lab, *, protection: bool) -> tuple[str, str]:
    """Three instances, each launched for a 2-vCPU task, then the tasks on the two newest
    stopped: the oldest instance runs a task. (Its EC2 id, the task's ARN.)"""
    _cluster(lab, protection=protection)
    ecs = lab.client("ecs")
    ecs.run_task(cluster="shop", taskDefinition=_definition(lab, 2048), count=3)
    lab.clock.advance(120)
    launched = lab.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"][0]
    oldest = launched["Instances"][0]["InstanceId"]
    kept = ""
    described = ecs.describe_container_instances(
        cluster="shop",
        containerInstances=ecs.list_container_instances(cluster="shop")["containerInstanceArns"],
    )["containerInstances"]
    on = {c["containerInstanceArn"]: c["ec2InstanceId"] for c in described}
    for task in _tasks(lab, "RUNNING"):
        if on[task["containerInstanceArn"]] == oldest:
            kept = task["taskArn"]
        else:
            ecs.stop_task(cluster="shop", task=task["taskArn"])
    assert kept
    return oldest, kept


def test_empty_instances_scale_in_and_protection_keeps_the_busy_one(lab: Lab) -> None:
    busy, task = _one_busy_instance(lab, protection=True)
    lab.clock.advance(14 * 60)
    assert _desired(lab) == 3  # 14 minutes below the target: not yet
    lab.clock.advance(60)
    assert _desired(lab) == 2
    lab.clock.advance(5 * 60)
    assert _desired(lab) == 1
    assert list(_instances(lab)) == [busy]
    assert [t["taskArn"] for t in _tasks(lab, "RUNNING")] == [task]
    # M = N = 1: the reservation is back at the target and nothing more scales in.
    assert _reservations(lab)[-1] == 100.0
    group = lab.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"][0]
    assert [i["ProtectedFromScaleIn"] for i in group["Instances"]] == [True]


def test_without_managed_termination_protection_a_busy_instance_can_go(lab: Lab) -> None:
    busy, task = _one_busy_instance(lab, protection=False)
    lab.clock.advance(15 * 60)
    assert _desired(lab) == 2
    # The group's own termination policy took the oldest instance, task and all.
    assert busy not in _instances(lab)
    stopped = [t for t in _tasks(lab, "STOPPED") if t["taskArn"] == task]
    assert stopped and stopped[0]["stoppedReason"] == f"Host EC2 (instance {busy}) terminated."


def test_a_strategy_splits_tasks_by_base_and_weight(lab: Lab) -> None:
    ecs = lab.client("ecs")
    ecs.create_cluster(clusterName="shop")
    _provider(lab, "steady", _group(lab, "steady"), managed=False)
    _provider(lab, "burst", _group(lab, "burst"), managed=False)
    ecs.put_cluster_capacity_providers(
        cluster="shop", capacityProviders=["steady", "burst"], defaultCapacityProviderStrategy=[]
    )
    strategy = [
        {"capacityProvider": "steady", "base": 1, "weight": 1},
        {"capacityProvider": "burst", "weight": 4},
    ]
    task_def = _definition(lab, 256)
    tasks = ecs.run_task(
        cluster="shop", taskDefinition=task_def, count=6, capacityProviderStrategy=strategy
    )["tasks"]
    split = [t["capacityProviderName"] for t in tasks]
    assert sorted(split) == ["burst"] * 4 + ["steady"] * 2
    assert split[0] == "steady"  # the base first
    ecs.create_service(
        cluster="shop",
        serviceName="web",
        taskDefinition=task_def,
        desiredCount=11,
        capacityProviderStrategy=strategy,
    )
    service_tasks = [t for t in _tasks(lab) if t["group"] == "service:web"]
    names = [t["capacityProviderName"] for t in service_tasks]
    assert (names.count("steady"), names.count("burst")) == (3, 8)
    assert {t["lastStatus"] for t in service_tasks} == {"PROVISIONING"}  # no managed scaling
    web = ecs.describe_services(cluster="shop", services=["web"])["services"][0]
    assert (web["runningCount"], web["pendingCount"]) == (0, 11)
    # A new strategy places the tasks started from then on.
    ecs.update_service(
        cluster="shop",
        service="web",
        desiredCount=13,
        capacityProviderStrategy=[{"capacityProvider": "burst", "weight": 1}],
    )
    names = [t["capacityProviderName"] for t in _tasks(lab) if t["group"] == "service:web"]
    assert (names.count("steady"), names.count("burst")) == (3, 10)
    assert "in use and cannot be removed" in _refused(
        ecs.put_cluster_capacity_providers,
        cluster="shop",
        capacityProviders=["burst"],
        defaultCapacityProviderStrategy=[],
    )


def _refused(call: Any, **kwargs: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        call(**kwargs)
    return str(refused.value.response["Error"]["Message"])


def test_what_aws_refuses_is_refused_with_its_message(lab: Lab) -> None:
    ecs = lab.client("ecs")
    arn = _group(lab, protect=False)
    missing = arn.replace("autoScalingGroupName/workers", "autoScalingGroupName/nowhere")
    message = _refused(
        ecs.create_capacity_provider,
        name="workers",
        autoScalingGroupProvider={"autoScalingGroupArn": missing},
    )
    assert "'nowhere'" in message and "Auto Scaling group" in message
    asg = {"autoScalingGroupArn": arn, "managedScaling": {"status": "ENABLED", "targetCapacity": 0}}
    with pytest.raises(botocore.exceptions.ParamValidationError):  # boto3 checks the minimum
        ecs.create_capacity_provider(name="workers", autoScalingGroupProvider=asg)
    unchecked = lab.client(
        "ecs", config=botocore.config.Config(parameter_validation=False)
    ).create_capacity_provider
    assert "targetCapacity value '0'" in _refused(
        unchecked, name="workers", autoScalingGroupProvider=asg
    )
    asg["managedScaling"]["targetCapacity"] = 101
    assert "from 1 to 100" in _refused(
        ecs.create_capacity_provider, name="workers", autoScalingGroupProvider=asg
    )
    asg["managedScaling"]["targetCapacity"] = 90
    protected = {**asg, "managedTerminationProtection": "ENABLED"}
    assert "must have instance protection from scale in enabled" in _refused(
        ecs.create_capacity_provider, name="workers", autoScalingGroupProvider=protected
    )
    assert "cannot be prefixed" in _refused(
        ecs.create_capacity_provider, name="ecs-workers", autoScalingGroupProvider=asg
    )
    ecs.create_capacity_provider(name="workers", autoScalingGroupProvider=asg)
    ecs.create_cluster(clusterName="shop")
    assert "no capacity providers with a weight value greater than zero" in _refused(
        ecs.put_cluster_capacity_providers,
        cluster="shop",
        capacityProviders=["workers"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "workers", "base": 1}],
    )
    task_def = _definition(lab, 256)
    strategy = [{"capacityProvider": "workers", "weight": 1}]
    assert "not associated with the cluster" in _refused(
        ecs.run_task, cluster="shop", taskDefinition=task_def, capacityProviderStrategy=strategy
    )
    ecs.put_cluster_capacity_providers(
        cluster="shop", capacityProviders=["workers"], defaultCapacityProviderStrategy=[]
    )
    assert "but not both" in _refused(
        ecs.run_task,
        cluster="shop",
        taskDefinition=task_def,
        launchType="EC2",
        capacityProviderStrategy=strategy,
    )
    # Deleting: reserved and associated providers stay; an unknown one is named.
    assert "reserved and can't be deleted" in _refused(
        ecs.delete_capacity_provider, capacityProvider="FARGATE"
    )
    assert "'nowhere' does not exist" in _refused(
        ecs.delete_capacity_provider, capacityProvider="nowhere"
    )
    with pytest.raises(botocore.exceptions.ClientError) as associated:
        ecs.delete_capacity_provider(capacityProvider="workers")
    error = associated.value.response["Error"]
    assert error["Code"] == "ClientException"
    assert "associated with the cluster shop" in error["Message"]
    ecs.put_cluster_capacity_providers(
        cluster="shop", capacityProviders=[], defaultCapacityProviderStrategy=[]
    )
    deleted = ecs.delete_capacity_provider(capacityProvider="workers")["capacityProvider"]
    assert deleted["name"] == "workers"
    assert ecs.describe_capacity_providers(capacityProviders=["workers"])["capacityProviders"] == []


def test_the_cluster_view_shows_the_provider_and_waiting_tasks(lab: Lab) -> None:
    task_def = _cluster(lab)
    ecs = lab.client("ecs")
    ecs.run_task(cluster="shop", taskDefinition=task_def, count=3)
    snap = snapshot("shop", lab.clock.timestamp)
    assert snap is not None
    text = render_text(snap)
    assert text.count("◌ PROVISIONING") == 3
    assert "Capacity provider workers: group workers, desired 0, 0 instances" in text
    assert "3 tasks PROVISIONING" in text
    lab.clock.advance(120)
    snap = snapshot("shop", lab.clock.timestamp)
    assert snap is not None
    text, html = render_text(snap), render_html(snap)
    assert "scale-out 0 → 2 instances at 200% (3 tasks waiting in PROVISIONING)" in text
    assert "capacity provider" in text and text.count("● RUNNING") == 3
    assert "◌ PROVISIONING" not in text and "scale-out 0 → 2 instances" in html


def test_the_reservation_figure_and_the_binpack_estimate() -> None:
    assert sim_capacity.reservation(3, 2) == 150.0
    assert sim_capacity.reservation(0, 0) == 100.0
    # 3 tasks of 1.5 vCPU cannot share a 2-vCPU instance: 3 instances; one of 3 vCPU fits none.
    assert sim_capacity.instances_needed([(1536, 512)] * 3, 2048, 4096) == 3
    assert sim_capacity.instances_needed([(3072, 512)], 2048, 4096) == 0
    scaling = sim_capacity.ManagedScaling(True, target=50, min_step=2)
    picture = sim_capacity.Picture(2, 2, ((512, 512),), 2048, 4096, False, 0, 10)
    metric, decision = sim_capacity.decide(picture, scaling, 0)
    # One small task waiting: one instance, but the minimum step is 2: M = 4, N = 2.
    assert metric == 200.0 and decision is not None and decision.new == 8
    # While a new instance warms up (or boots), scale-out waits; the metric still says why.
    warming = sim_capacity.Picture(2, 2, ((512, 512),), 2048, 4096, True, 0, 10)
    assert sim_capacity.decide(warming, scaling, 0) == (200.0, None)
    # At the group's maximum nothing more is launched, whatever the metric.
    full = sim_capacity.Picture(10, 10, ((512, 512),), 2048, 4096, False, 0, 10)
    assert sim_capacity.decide(full, scaling, 0)[1] is None
