"""ECS services behind an Application Load Balancer: tasks really answer, crashed and unhealthy
tasks are replaced on the lab clock, and EC2 placement (binpack, spread, dynamic host ports, a
task that cannot be placed) behaves as AWS documents."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from ecs_support import image, web_service
from elbv2_support import listener, load_balancer

import labkit
from labkit.lab import Lab

#: Health flags the apps read (a module global: the app runs in this process).
SICK: set[str] = set()


def whoami(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers with the task it runs in; ``/crash`` ends its process, ``/health`` reports."""
    import os
    import sys

    me = os.environ["ECS_CONTAINER_METADATA_URI_V4"].rsplit("/", 1)[-1]
    if environ["PATH_INFO"] == "/crash":
        sys.exit(1)
    if environ["PATH_INFO"] == "/health" and me in SICK:
        start_response("500 Internal Server Error", [])
        return [b"sick"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [me.encode()]


@pytest.fixture
def lab() -> Iterator[Lab]:
    SICK.clear()
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _tasks(lab: Lab, cluster: str, status: str = "RUNNING") -> list[dict[str, Any]]:
    ecs = lab.client("ecs")
    arns = ecs.list_tasks(cluster=cluster, desiredStatus=status)["taskArns"]
    return list(ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]) if arns else []


def _health(lab: Lab, group: str) -> dict[str, str]:
    found = lab.client("elbv2").describe_target_health(TargetGroupArn=group)
    return {
        f"{d['Target']['Id']}:{d['Target']['Port']}": d["TargetHealth"]["State"]
        for d in found["TargetHealthDescriptions"]
    }


def test_requests_through_the_load_balancer_reach_every_task(lab: Lab) -> None:
    url, group, cluster = web_service(lab, whoami, count=2)
    running = _tasks(lab, cluster)
    assert len(running) == 2
    answered = {requests.get(url).text for _ in range(4)}
    assert len(answered) == 2  # round robin over both tasks
    assert set(_health(lab, group).values()) == {"initial"}
    lab.clock.advance(30)
    assert set(_health(lab, group).values()) == {"healthy"}
    addresses = {
        d["value"]
        for t in running
        for a in t["attachments"]
        for d in a["details"]
        if d["name"] == "privateIPv4Address"
    }
    assert {k.split(":")[0] for k in _health(lab, group)} == addresses


def test_a_crashed_task_is_replaced_while_the_service_keeps_answering(lab: Lab) -> None:
    url, group, cluster = web_service(lab, whoami, count=2)
    lab.clock.advance(30)
    assert requests.get(url + "crash").status_code == 502  # the task died answering
    for _ in range(4):
        assert requests.get(url).status_code == 200  # the other task answers
    stopped = _tasks(lab, cluster, "STOPPED")
    assert [t["stoppedReason"] for t in stopped] == ["Essential container in task exited"]
    assert stopped[0]["containers"][0]["exitCode"] == 1
    lab.clock.advance(1)
    assert len(_tasks(lab, cluster)) == 2  # the scheduler started a replacement
    assert len(_health(lab, group)) == 2
    service = lab.client("ecs").describe_services(cluster=cluster, services=["web"])["services"][0]
    assert service["runningCount"] == 2
    assert any("has started 1 tasks" in e["message"] for e in service["events"])


def test_an_unhealthy_task_is_taken_out_and_replaced(lab: Lab) -> None:
    url, group, cluster = web_service(lab, whoami, count=2)
    lab.clock.advance(30)
    sick = requests.get(url).text
    SICK.add(sick)
    lab.clock.advance(30)  # one failed check: still in service
    assert "unhealthy" not in _health(lab, group).values()
    lab.clock.advance(30)  # the second: out, and ECS stops the task
    stopped = _tasks(lab, cluster, "STOPPED")
    assert len(stopped) == 1
    assert stopped[0]["stoppedReason"] == f"Task failed ELB health checks in (target-group {group})"
    task_id = stopped[0]["taskArn"].rsplit("/", 1)[-1]
    events = lab.client("ecs").describe_services(cluster=cluster, services=["web"])["services"][0]
    assert (
        f"(service web) (task {task_id}) (port 8080) is unhealthy in (target-group tg-web) due "
        "to (reason Health checks failed with these codes: [500])"
    ) in [e["message"] for e in events["events"]]
    assert all(requests.get(url).text != sick for _ in range(4))
    lab.clock.advance(30)
    assert len(_tasks(lab, cluster)) == 2
    assert set(_health(lab, group).values()) == {"healthy"}


def test_scaling_the_service_in_and_out(lab: Lab) -> None:
    _url, group, cluster = web_service(lab, whoami, count=1)
    ecs = lab.client("ecs")
    ecs.update_service(cluster=cluster, service="web", desiredCount=3)
    assert len(_tasks(lab, cluster)) == 3
    assert len(_health(lab, group)) == 3
    ecs.update_service(cluster=cluster, service="web", desiredCount=1)
    assert len(_tasks(lab, cluster)) == 1
    reasons = {t["stoppedReason"] for t in _tasks(lab, cluster, "STOPPED")}
    assert len(reasons) == 1 and reasons.pop().startswith("Scaling activity initiated by")
    assert len(_health(lab, group)) == 1


# -- EC2 launch type ---------------------------------------------------------------------------
def _instances(lab: Lab, cluster: str, count: int, memory: int = 2048) -> list[str]:
    ec2 = lab.client("ec2")
    ecs = lab.client("ecs")
    ecs.create_cluster(clusterName=cluster)
    image_id = ec2.describe_images()["Images"][0]["ImageId"]
    found = []
    for zone in ("us-east-1a", "us-east-1b")[:count] if count <= 2 else ["us-east-1a"] * count:
        instance = ec2.run_instances(
            ImageId=image_id,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.medium",
            Placement={"AvailabilityZone": zone},
        )["Instances"][0]["InstanceId"]
        ecs.register_container_instance(
            cluster=cluster,
            instanceIdentityDocument=json.dumps({"instanceId": instance}),
            totalResources=[
                {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
            ],
        )
        found.append(instance)
    return found


def _bridge_definition(lab: Lab, memory: int = 512, host_port: int = 0) -> str:
    uri = image(lab, whoami, repository="api")
    return str(
        lab.client("ecs").register_task_definition(
            family="api",
            containerDefinitions=[
                {
                    "name": "app",
                    "image": uri,
                    "memory": memory,
                    "cpu": 256,
                    "portMappings": [{"containerPort": 8080, "hostPort": host_port}],
                }
            ],
        )["taskDefinition"]["taskDefinitionArn"]
    )


def _placed_on(lab: Lab, cluster: str) -> list[str]:
    ecs = lab.client("ecs")
    arns = [t["containerInstanceArn"] for t in _tasks(lab, cluster)]
    described = ecs.describe_container_instances(cluster=cluster, containerInstances=arns)
    by_arn = {
        c["containerInstanceArn"]: c["ec2InstanceId"] for c in described["containerInstances"]
    }
    return [by_arn[a] for a in arns]


def test_binpack_fills_one_instance_and_spread_uses_both(lab: Lab) -> None:
    instances = _instances(lab, "ec2", 2)
    task_def = _bridge_definition(lab)
    ecs = lab.client("ecs")
    ecs.run_task(
        cluster="ec2",
        taskDefinition=task_def,
        count=2,
        launchType="EC2",
        placementStrategy=[{"type": "binpack", "field": "memory"}],
    )
    assert len(set(_placed_on(lab, "ec2"))) == 1
    for task in _tasks(lab, "ec2"):
        ecs.stop_task(cluster="ec2", task=task["taskArn"])
    ecs.run_task(
        cluster="ec2",
        taskDefinition=task_def,
        count=2,
        launchType="EC2",
        placementStrategy=[{"type": "spread", "field": "instanceId"}],
    )
    assert sorted(_placed_on(lab, "ec2")) == sorted(instances)
    free = ecs.describe_container_instances(
        cluster="ec2",
        containerInstances=ecs.list_container_instances(cluster="ec2")["containerInstanceArns"],
    )["containerInstances"]
    memory = [next(r for r in c["remainingResources"] if r["name"] == "MEMORY") for c in free]
    assert sorted(m["integerValue"] for m in memory) == [2048 - 512, 2048 - 512]


def test_a_task_that_does_not_fit_fails_with_the_resource(lab: Lab) -> None:
    _instances(lab, "ec2", 1, memory=1024)
    answer = lab.client("ecs").run_task(
        cluster="ec2", taskDefinition=_bridge_definition(lab, memory=1536), launchType="EC2"
    )
    assert answer["tasks"] == []
    assert [f["reason"] for f in answer["failures"]] == ["RESOURCE:MEMORY"]


def test_a_fixed_host_port_fits_once_per_instance(lab: Lab) -> None:
    _instances(lab, "ec2", 1)
    answer = lab.client("ecs").run_task(
        cluster="ec2",
        taskDefinition=_bridge_definition(lab, host_port=8080),
        count=2,
        launchType="EC2",
    )
    assert len(answer["tasks"]) == 1
    assert [f["reason"] for f in answer["failures"]] == ["RESOURCE:PORTS"]


def test_a_service_waits_with_aws_reason_until_capacity_arrives(lab: Lab) -> None:
    _instances(lab, "ec2", 1, memory=1024)
    ecs = lab.client("ecs")
    ecs.create_service(
        cluster="ec2",
        serviceName="api",
        taskDefinition=_bridge_definition(lab, memory=768),
        desiredCount=2,
        launchType="EC2",
    )
    service = ecs.describe_services(cluster="ec2", services=["api"])["services"][0]
    assert service["runningCount"] == 1
    waiting = [e["message"] for e in service["events"] if "unable to place" in e["message"]]
    assert len(waiting) == 1
    assert re.fullmatch(
        r"\(service api\) was unable to place a task because no container instance met all of "
        r"its requirements\. The closest matching container-instance [0-9a-f-]{36} has "
        r"insufficient memory available\. For more information, see the Troubleshooting "
        r"section of the Amazon ECS Developer Guide\.",
        waiting[0],
    )
    lab.clock.advance(60)  # the scheduler retries: still no room
    assert (
        ecs.describe_services(cluster="ec2", services=["api"])["services"][0]["runningCount"] == 1
    )
    _instances(lab, "ec2", 1, memory=1024)  # capacity arrives
    lab.clock.advance(15)
    assert (
        ecs.describe_services(cluster="ec2", services=["api"])["services"][0]["runningCount"] == 2
    )


def test_dynamic_host_ports_behind_an_instance_target_group(lab: Lab) -> None:
    (instance,) = _instances(lab, "ec2", 1)
    lb = load_balancer(lab, name="api-lb")
    elb = lab.client("elbv2")
    vpc = lab.client("ec2").create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    group = elb.create_target_group(
        Name="tg-api", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance"
    )["TargetGroups"][0]["TargetGroupArn"]
    listener(lab, lb, [{"Type": "forward", "TargetGroupArn": group}])
    lab.client("ecs").create_service(
        cluster="ec2",
        serviceName="api",
        taskDefinition=_bridge_definition(lab),
        desiredCount=2,
        launchType="EC2",
        loadBalancers=[{"targetGroupArn": group, "containerName": "app", "containerPort": 8080}],
    )
    assert sorted(_health(lab, group)) == [f"{instance}:49153", f"{instance}:49154"]
    url = f"http://{lb['DNSName']}/"
    assert len({requests.get(url).text for _ in range(4)}) == 2
    bindings = [t["containers"][0]["networkBindings"][0]["hostPort"] for t in _tasks(lab, "ec2")]
    assert sorted(bindings) == [49153, 49154]


def test_reset_and_an_isolated_world_leave_no_running_scheduler_behind(lab: Lab) -> None:
    url, _group, cluster = web_service(lab, whoami, count=1)
    with lab.sandbox.isolated():
        inner_url, _g, _c = web_service(lab, whoami, count=1, name="inner")
        assert requests.get(inner_url).status_code == 200
        lab.clock.advance(60)
    assert requests.get(url).status_code == 200  # the learner's world is as it was
    assert len(_tasks(lab, cluster)) == 1
    lab.reset()
    lab.clock.advance(120)  # the old service's scheduler and health checks end quietly
    assert lab.client("ecs").list_clusters()["clusterArns"] == []
