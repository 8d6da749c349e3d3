"""The containers lab's ``app_runner`` and ``long_job`` checks.

``app_runner``: the learner's ``deploy_api(apprunner, image)`` runs the same product API on App
Runner. The check calls it in a world of its own and sends requests to the service's HTTPS URL:
``/products`` must answer as on ECS. App Runner sends requests and health checks to the port
the service's image configuration names (8080 unless it says otherwise,
https://docs.aws.amazon.com/apprunner/latest/api/API_ImageConfiguration.html); the app listens on
8080, so a service configured for another port would fail its health check and never run.

``long_job``: the search index job works for 20 minutes of lab time
(:data:`~labkit.labs.containers_apps.JOB_SECONDS`) once an hour, every hour. The learner's
``deploy_index_job(aws, image, network)`` creates what runs it, a Lambda function or an ECS task
definition, and returns its name or ARN. The check runs the choice: a Lambda function is stopped
at its timeout, at most ``lambda.timeout_max`` (900 s), before the job ends; a task definition
runs on Fargate until the job exits, and its month of hourly runs is priced per second from
``fargate.price_per_vcpu_hour`` and ``fargate.price_per_gb_hour`` against :data:`BUDGET`.
"""

from __future__ import annotations

from typing import Any

import botocore.exceptions

from labkit import facts
from labkit.grading.checks import CheckContext, short
from labkit.labs import containers_apps as apps
from labkit.labs.containers_support import make_network, push, task_definition, tasks
from labkit.services.ecs.sim_fargate import TaskSizeError, fargate_size, task_cost

#: The index job's runs a month (hourly, 30 days) and what the team may spend on them.
RUNS_PER_MONTH = 24 * 30
BUDGET = 20.0
#: Memory the job needs (MiB): a smaller task is stopped for running out of memory.
JOB_MEMORY = 2048


def check_app_runner(ctx: CheckContext) -> None:
    """The product API answers at the App Runner service's HTTPS URL."""
    import requests

    apps.reset()
    image = push(ctx.sandbox, apps.shop_api, "shop-api")
    client = ctx.client("apprunner")
    ctx.call(
        ctx.function("deploy_api"),
        client,
        image,
        hints={
            botocore.exceptions.ClientError: "The image is in your account's private ECR: "
            "ImageRepository with ImageIdentifier=image and ImageRepositoryType 'ECR'."
        },
    )
    listed = client.list_services()["ServiceSummaryList"]
    ctx.expect(
        listed,
        "`deploy_api` created no App Runner service.",
        hint="apprunner.create_service(ServiceName=..., SourceConfiguration={'ImageRepository': "
        "{'ImageIdentifier': image, 'ImageRepositoryType': 'ECR', 'ImageConfiguration': "
        "{'Port': '8080'}}}).",
    )
    service = client.describe_service(ServiceArn=listed[0]["ServiceArn"])["Service"]
    config = (service["SourceConfiguration"].get("ImageRepository") or {}).get(
        "ImageConfiguration"
    ) or {}
    port = int(config.get("Port") or apps.APP_PORT)
    if port != apps.APP_PORT:
        ctx.fail(
            f"The service sends requests and health checks to port {port}, but the app listens "
            f"on {apps.APP_PORT}: on AWS its health check fails and the service never runs "
            "(CREATE_FAILED).",
            hint=f"ImageConfiguration={{'Port': '{apps.APP_PORT}'}}: the port the container "
            "listens on.",
        )
    ctx.expect(
        service["Status"] == "RUNNING",
        f"The service `{service['ServiceName']}` is {service['Status']}, not RUNNING.",
        hint="Leave it running (a paused service answers 503).",
    )
    answer = requests.get(f"https://{service['ServiceUrl']}/products", timeout=5)
    ctx.expect(
        answer.status_code == 200 and "products" in answer.text,
        f"GET https://{service['ServiceUrl']}/products answered {answer.status_code}: "
        f"{short(answer.text)}",
        hint="Serve the product API image (the `image` argument) with nothing in front of it.",
    )


def check_long_job(ctx: CheckContext) -> None:
    """The 20-minute hourly job runs to its end, within the budget."""
    aws = ctx.sandbox
    apps.reset()
    network = make_network(aws)
    image = push(aws, apps.index_job, "index-job")
    ctx.client("ecs").create_cluster(clusterName="jobs")
    made = ctx.call(
        ctx.function("deploy_index_job"),
        aws,
        image,
        network,
        returns=str,
        hints={
            botocore.exceptions.ClientError: "A Fargate task definition pulls its image with "
            "an execution role (executionRoleArn with AmazonECSTaskExecutionRolePolicy) and "
            "takes cpu and memory from Fargate's table."
        },
    )
    limit = int(facts.value("lambda.timeout_max"))
    function = _function(ctx, made)
    if function is not None:
        timeout = int(function.get("Timeout", facts.value("lambda.timeout_default")))
        ctx.fail(
            f"`{function['FunctionName']}` is a Lambda function: Lambda stops an invocation "
            f"at its timeout ({timeout} s here, {limit} s at most), and the job needs "
            f"{apps.JOB_SECONDS} s. Every run would end unfinished.",
            hint="Work longer than Lambda's 15 minutes runs as a container: register a "
            "Fargate task definition for the image and run it as a task.",
        )
    try:
        definition = task_definition(ctx, made)
    except botocore.exceptions.ClientError:
        ctx.fail(
            f"`deploy_index_job` returned {short(made)}, which is neither a Lambda function nor "
            "an ECS task definition.",
            hint="Return the task definition's ARN (taskDefinitionArn) or family.",
        )
    try:
        size = fargate_size(definition.get("cpu"), definition.get("memory"))
    except TaskSizeError as refused:
        ctx.fail(
            f"The task definition is no Fargate size: {refused}",
            hint="requiresCompatibilities ['FARGATE'] with task-level cpu and memory from "
            "Fargate's table.",
        )
    if size.memory < JOB_MEMORY:
        ctx.fail(
            f"The task has {size.memory} MiB; the job needs {JOB_MEMORY} MiB: ECS stops it with "
            "'OutOfMemoryError: Container killed due to memory usage'.",
            hint=f"Give the task at least {JOB_MEMORY} MiB (with 1 vCPU: cpu '1024', memory "
            "'2048').",
        )
    ecs = ctx.client("ecs")
    ran = ecs.run_task(
        cluster="jobs",
        taskDefinition=definition["taskDefinitionArn"],
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": network["subnets"],
                "securityGroups": [network["security_group"]],
            }
        },
    )
    ctx.expect(
        ran["tasks"],
        f"ECS could not start the job on Fargate: {short(ran['failures'])}",
        hint="A Fargate task definition (networkMode 'awsvpc') with an execution role.",
    )
    ctx.clock.advance(apps.JOB_SECONDS + 60)
    finished = [w for _t, w in apps.SEEN.get("index_job", []) if w == "finished"]
    stopped = tasks(ctx, "jobs", "STOPPED")
    if not finished:
        reason = stopped[0].get("stoppedReason") if stopped else "it is still running"
        ctx.fail(
            f"The job did not finish on Fargate: {reason}",
            hint="The task definition's container runs the image with no command override, "
            "and an execution role that may pull it.",
        )
    monthly = RUNS_PER_MONTH * task_cost(size, apps.JOB_SECONDS)
    if monthly > BUDGET:
        ctx.fail(
            f"The job runs, but {size.vcpu:g} vCPU and {size.memory_gb:g} GB for "
            f"{apps.JOB_SECONDS} s, {RUNS_PER_MONTH} times a month, costs ${monthly:.2f} at "
            f"Fargate's per-second prices: over the ${BUDGET:.0f} budget.",
            hint="The job needs 1 vCPU and 2 GB: cpu '1024', memory '2048' (Fargate bills the "
            "size you ask for, per second).",
        )


def _function(ctx: CheckContext, name: str) -> dict[str, Any] | None:
    """The Lambda function ``name`` (name or ARN) describes, if there is one."""
    if ":task-definition/" in name:
        return None
    try:
        found = ctx.client("lambda").get_function(FunctionName=name)
    except botocore.exceptions.ClientError:
        return None
    return dict(found["Configuration"])
