"""The cluster view: instances with free capacity, tasks with state, targets with health, in HTML
and text, with words and symbols (never colour alone)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from ecs_support import web_service

import labkit
from labkit.lab import Lab
from labkit.services.ecs.view import UnknownClusterError


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    import sys

    if environ["PATH_INFO"] == "/crash":
        sys.exit(3)
    start_response("200 OK", [])
    return [b"hello"]


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def test_view_of_a_service_behind_a_load_balancer(lab: Lab) -> None:
    with pytest.raises(UnknownClusterError, match="none yet"):
        lab.cluster_view()
    url, _group, cluster = web_service(lab, hello, count=2)
    lab.clock.advance(30)
    requests.get(url + "crash")
    view = lab.cluster_view(cluster)
    text = str(view)
    assert text.splitlines()[0] == "ECS cluster apps: 1 running task · us-east-1"
    assert "● RUNNING" in text and "○ STOPPED" in text
    assert "app=3" in text and "Essential container in task exited" in text
    assert "✓ healthy" in text and "tg-web" in text
    html = view._repr_html_()
    assert 'class="labkit-view labkit-ecs-cluster"' in html
    assert "✓ healthy" in html and "○ STOPPED" in html
    assert "color:" not in html.replace("border", "")  # states carry words, not colour
    snap = view.snap  # the live view keeps its snapshot in `snap`
    assert [t.status for t in snap.tasks] == ["RUNNING", "STOPPED"]
    assert snap.tasks[0].cost > 0  # Fargate bills from the start, a minute at least
    with pytest.raises(UnknownClusterError, match="no ECS cluster 'nope'"):
        lab.cluster_view("nope")


def test_view_of_ec2_instances_shows_free_capacity(lab: Lab) -> None:
    ec2 = lab.client("ec2")
    ecs = lab.client("ecs")
    ecs.create_cluster(clusterName="ec2")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
    ecs.register_container_instance(
        cluster="ec2",
        instanceIdentityDocument=json.dumps({"instanceId": instance["InstanceId"]}),
        totalResources=[
            {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096},
        ],
    )
    from labkit.services.ecr.deploy import push_image

    lab.client("ecr").create_repository(repositoryName="api")
    uri = push_image(hello, repository="api").uri
    task_def = ecs.register_task_definition(
        family="api",
        containerDefinitions=[
            {
                "name": "app",
                "image": uri,
                "memory": 1024,
                "cpu": 512,
                "portMappings": [{"containerPort": 8080, "hostPort": 0}],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.run_task(cluster="ec2", taskDefinition=task_def, count=2, launchType="EC2")
    text = str(lab.cluster_view())
    assert f"{instance['InstanceId']}" in text
    assert "1024 / 2048" in text and "2048 / 4096" in text
    assert "49153→8080" in text and "(instances billed)" in text
