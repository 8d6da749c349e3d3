"""Fargate task sizes (AWS's table, others refused with AWS's message) and per-second pricing."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from ecs_support import fargate_definition, image, role

import labkit
from labkit import facts
from labkit.lab import Lab
from labkit.services.ecs.sim_fargate import (
    TaskSize,
    TaskSizeError,
    fargate_size,
    memory_choices,
    task_cost,
)


def _ok(environ: object, start_response: object) -> list[bytes]:
    del environ
    start_response("200 OK", [])  # type: ignore[operator]
    return [b"ok"]


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


@pytest.mark.parametrize(
    ("cpu", "memory", "expected"),
    [
        ("256", "512", (256, 512)),
        ("256", "2048", (256, 2048)),
        ("0.25 vCPU", "0.5 GB", (256, 512)),
        ("1 vCPU", "3GB", (1024, 3072)),
        ("4096", "30720", (4096, 30720)),
        ("8192", "20480", (8192, 20480)),
        ("16384", "122880", (16384, 122880)),
    ],
)
def test_documented_sizes_are_accepted(cpu: str, memory: str, expected: tuple[int, int]) -> None:
    assert fargate_size(cpu, memory) == TaskSize(*expected)


@pytest.mark.parametrize(
    ("cpu", "memory", "message"),
    [
        ("256", "4096", "No Fargate configuration exists for given values: 256 CPU, 4096 memory"),
        ("512", "512", "No Fargate configuration exists for given values: 512 CPU, 512 memory"),
        ("2048", "4500", "No Fargate configuration exists"),
        ("8192", "18432", "No Fargate configuration exists"),  # 8 vCPU steps by 4 GB
        ("300", "512", "Invalid 'cpu' setting for task."),
        (None, "512", "Fargate requires that 'cpu' be defined at the task level."),
    ],
)
def test_other_sizes_are_refused(cpu: str | None, memory: str, message: str) -> None:
    with pytest.raises(TaskSizeError) as refused:
        fargate_size(cpu, memory)
    assert message in refused.value.message


def test_the_table_matches_the_facts() -> None:
    # Every CPU value's memory range runs between the documented extremes.
    assert min(memory_choices(256)) == facts.value("fargate.task_memory_min")
    assert max(memory_choices(16384)) == facts.value("fargate.task_memory_max")
    assert memory_choices(facts.value("fargate.task_cpu_min"))
    assert memory_choices(facts.value("fargate.task_cpu_max"))
    assert memory_choices(333) == ()


def test_register_refuses_a_size_fargate_lacks(lab: Lab) -> None:
    uri = image(lab, _ok)
    with pytest.raises(ClientError) as refused:
        fargate_definition(lab, uri, cpu="256", memory="4096")
    assert refused.value.response["Error"]["Code"] == "ClientException"
    assert "256 CPU, 4096 memory" in refused.value.response["Error"]["Message"]
    # The same size on EC2 only is fine: the table binds Fargate.
    ecs = lab.client("ecs")
    ecs.register_task_definition(
        family="ec2",
        requiresCompatibilities=["EC2"],
        cpu="256",
        memory="4096",
        containerDefinitions=[{"name": "app", "image": uri}],
    )


def test_register_refuses_bridge_mode_and_no_execution_role_for_logs_or_images(lab: Lab) -> None:
    uri = image(lab, _ok)
    ecs = lab.client("ecs")
    with pytest.raises(ClientError) as bridge:
        ecs.register_task_definition(
            family="web",
            requiresCompatibilities=["FARGATE"],
            networkMode="bridge",
            cpu="256",
            memory="512",
            containerDefinitions=[{"name": "app", "image": uri}],
        )
    assert "Fargate only supports network mode 'awsvpc'." in str(bridge.value)
    with pytest.raises(ClientError) as logs:
        fargate_definition(lab, uri, log_group="/ecs/web", execution_role=None)
    assert "execution role ARN to support log driver awslogs" in str(logs.value)
    with pytest.raises(ClientError) as pull:
        fargate_definition(lab, uri, execution_role=None)
    assert "execution role ARN to support ECR images." in str(pull.value)
    fargate_definition(lab, uri, log_group="/ecs/web", execution_role=role(lab, "exec"))


def test_cost_is_per_second_with_a_minute_minimum() -> None:
    size = TaskSize(1024, 2048)
    per_hour = facts.value("fargate.price_per_vcpu_hour") + 2 * facts.value(
        "fargate.price_per_gb_hour"
    )
    assert task_cost(size, 3600) == pytest.approx(per_hour)
    assert task_cost(size, 90.2) == pytest.approx(per_hour * 91 / 3600)  # rounded up
    minimum = facts.value("fargate.minimum_billed_seconds")
    assert task_cost(size, 5) == pytest.approx(per_hour * minimum / 3600)
    assert math.isclose(task_cost(size, 5), task_cost(size, minimum))
