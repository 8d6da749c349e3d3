"""The containers lab's ``web_service`` and ``queue_workers`` checks.

``web_service``: the learner's ``deploy_web(aws, image, network)`` runs the shop's product API
(:func:`~labkit.labs.containers_apps.shop_api`, listening on port 8080, healthy at ``/health``)
as an ECS service on Fargate behind an Application Load Balancer. In a world of its own the check
calls it, lets two minutes of health checks pass, then sends requests through the load
balancer's DNS name the whole time while one task crashes (its process exits, as a bug would
end it): every request but the one the crashing task was answering must succeed, and the
service must be back to its size afterwards. A health check that fails (a wrong path) shows up
as targets taken out of service and tasks ECS stops for it.

``queue_workers``: the check runs the order worker service (one task) and its queue; the
learner's ``scale_workers(aws, cluster, service, queue_url)`` makes the service scale on the
queue's backlog. As an outsider, a backlog in *another* queue must not scale it; then 500 orders
arrive and the service must scale out within ten minutes of lab time, and back in to its minimum
once the queue drains.
"""

from __future__ import annotations

from typing import Any

from labkit.grading.checks import CheckContext, CheckFailed
from labkit.labs import containers_apps as apps
from labkit.labs.containers_support import (
    execution_role,
    make_network,
    push,
    services,
    tasks,
)

#: Lab seconds of requests after the crash (the replacement must be in service by then).
AFTER_CRASH = 45
#: Orders in the backlog the check sends, and the lab minutes it gives each phase.
BACKLOG = 500
SCALE_OUT_MINUTES = 10
SCALE_IN_MINUTES = 45


def check_web_service(ctx: CheckContext) -> None:
    """The product API answers through the load balancer while one task crashes."""
    import requests

    apps.reset()
    aws = ctx.sandbox
    network = make_network(aws)
    image = push(aws, apps.shop_api, "shop-api")
    try:
        ctx.call(ctx.function("deploy_web"), aws, image, network)
    except CheckFailed as refused:
        if "Container Instances" not in refused.message:
            raise
        raise CheckFailed(
            refused.message,
            hint="The EC2 launch type runs tasks on container instances you register and "
            "manage; this cluster has none. launchType='FARGATE' runs each task on capacity "
            "AWS provides.",
        ) from None
    service, url = _web_service(ctx)
    ctx.expect(
        service.get("launchType") == "FARGATE"
        or any(
            s.get("capacityProvider", "").startswith("FARGATE")
            for s in service.get("capacityProviderStrategy") or []
        ),
        f"The service `{service['serviceName']}` runs on {service.get('launchType') or 'EC2'}, "
        "not Fargate.",
        hint="launchType='FARGATE' (with networkMode 'awsvpc' and requiresCompatibilities "
        "['FARGATE'] in the task definition).",
    )
    cluster = service["clusterArn"]
    ctx.clock.advance(120)  # the targets pass their health checks
    codes = [requests.get(url, timeout=5).status_code for _ in range(10)]
    _expect_answers(ctx, codes, "before anything crashed")
    ctx.clock.advance(60)
    _expect_healthy(ctx, service)
    running_before = len(tasks(ctx, cluster, serviceName=service["serviceName"]))
    apps.CRASH.add("next")
    requests.get(url, timeout=5)  # the request the crashing task was answering is lost
    after: list[int] = []
    for second in range(AFTER_CRASH):
        burst = 5 if second == 0 else 1  # the instant after the crash, then once a second
        after += [requests.get(url, timeout=5).status_code for _ in range(burst)]
        ctx.clock.advance(1)
    failed = [code for code in after if code != 200]
    if failed:
        ctx.fail(
            f"After one task crashed, {len(failed)} of {len(after)} requests through the load "
            f"balancer failed ({_codes(failed)}): the service had {running_before} running "
            f"task{'s' if running_before != 1 else ''} when it crashed, so nothing was left to "
            "answer until ECS started a replacement.",
            hint="Run at least two tasks (desiredCount=2) in two subnets of different "
            "Availability Zones: the load balancer sends traffic to the healthy one while ECS "
            "replaces the other.",
        )
    now = tasks(ctx, cluster, serviceName=service["serviceName"])
    ctx.expect(
        len(now) >= running_before,
        f"{AFTER_CRASH} s after the crash the service runs {len(now)} of {running_before} tasks.",
        hint="Create an ECS service (create_service), not tasks with run_task: a service "
        "replaces a task that stops.",
    )


def _web_service(ctx: CheckContext) -> tuple[dict[str, Any], str]:
    """The learner's service that sits behind a load balancer, and the load balancer's URL."""
    elb = ctx.client("elbv2")
    balancers = elb.describe_load_balancers()["LoadBalancers"]
    ctx.expect(
        balancers,
        "`deploy_web` created no load balancer.",
        hint="elbv2.create_load_balancer (an Application Load Balancer in the network's two "
        "subnets), a target group of TargetType 'ip', and a listener on port 80 forwarding to it.",
    )
    found = services(ctx)
    ctx.expect(
        found,
        "`deploy_web` created no ECS service.",
        hint="ecs.create_service with your task definition, desiredCount and the network's "
        "subnets (awsvpcConfiguration).",
    )
    attached = [s for s in found if s.get("loadBalancers")]
    if not attached:
        ctx.fail(
            f"The service `{found[0]['serviceName']}` is not attached to a target group: the "
            "load balancer has no task to send requests to.",
            hint="create_service(..., loadBalancers=[{'targetGroupArn': ..., 'containerName': "
            "..., 'containerPort': 8080}]): ECS then registers each task it starts.",
        )
    service = attached[0]
    group_arn = service["loadBalancers"][0].get("targetGroupArn")
    group = elb.describe_target_groups(TargetGroupArns=[group_arn])["TargetGroups"][0]
    lb_arns = group.get("LoadBalancerArns") or []
    lb = next((b for b in balancers if b["LoadBalancerArn"] in lb_arns), None)
    if lb is None:
        ctx.fail(
            f"The target group `{group['TargetGroupName']}` of the service is used by no "
            "load balancer's listener.",
            hint="elbv2.create_listener(LoadBalancerArn=..., Protocol='HTTP', Port=80, "
            "DefaultActions=[{'Type': 'forward', 'TargetGroupArn': ...}]).",
        )
    port = next(
        (
            int(li["Port"])
            for li in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
        ),
        80,
    )
    host = lb["DNSName"] if port == 80 else f"{lb['DNSName']}:{port}"
    return service, f"http://{host}/products"


def _expect_answers(ctx: CheckContext, codes: list[int], when: str) -> None:
    failed = [code for code in codes if code != 200]
    if failed:
        ctx.fail(
            f"Requests to the load balancer's DNS name {when} answered {_codes(codes)}.",
            hint="503: no registered target (is the service attached to the target group?); "
            "502: a target that does not answer on its port (the container listens on 8080: "
            "portMappings, the target group's port and the service's containerPort).",
        )


def _expect_healthy(ctx: CheckContext, service: dict[str, Any]) -> None:
    """No target unhealthy, and no task stopped for failing its health checks."""
    elb = ctx.client("elbv2")
    group_arn = service["loadBalancers"][0]["targetGroupArn"]
    group = elb.describe_target_groups(TargetGroupArns=[group_arn])["TargetGroups"][0]
    health = elb.describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
    sick = [d for d in health if d["TargetHealth"]["State"] == "unhealthy"]
    stopped = [
        t
        for t in tasks(ctx, service["clusterArn"], "STOPPED", serviceName=service["serviceName"])
        if "health checks" in str(t.get("stoppedReason", ""))
    ]
    if sick or stopped:
        path = group.get("HealthCheckPath", "/")
        ctx.fail(
            f"The target group's health check (GET {path}) fails: "
            f"{len(sick)} target{'s' if len(sick) != 1 else ''} unhealthy and "
            f"{len(stopped)} task{'s' if len(stopped) != 1 else ''} stopped by ECS for failing "
            "ELB health checks. The load balancer keeps answering only because it fails open.",
            hint=f"The app answers its health check at {apps.HEALTH_PATH} (any other path is "
            f"404): create the target group with HealthCheckPath='{apps.HEALTH_PATH}'.",
        )


def _codes(codes: list[int]) -> str:
    counted: dict[int, int] = {}
    for code in codes:
        counted[code] = counted.get(code, 0) + 1
    return ", ".join(f"{n} x {code}" for code, n in sorted(counted.items()))


# -- queue_workers ------------------------------------------------------------------------------
def check_queue_workers(ctx: CheckContext) -> None:
    """The worker service scales out on its queue's backlog and back in when it drains."""
    aws = ctx.sandbox
    apps.reset()
    network = make_network(aws)
    ecs = ctx.client("ecs")
    sqs = ctx.client("sqs")
    ecs.create_cluster(clusterName="orders")
    definition = ecs.register_task_definition(
        family="worker",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn=execution_role(aws),
        containerDefinitions=[
            {"name": "worker", "image": push(aws, apps.queue_worker, "worker"), "essential": True}
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="orders",
        serviceName="worker",
        taskDefinition=definition,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": network["subnets"],
                "securityGroups": [network["security_group"]],
            }
        },
    )
    queue = sqs.create_queue(QueueName="orders")["QueueUrl"]
    other = sqs.create_queue(QueueName="audit")["QueueUrl"]
    ctx.call(ctx.function("scale_workers"), aws, "orders", "worker", queue)
    targets = ctx.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=["service/orders/worker"]
    )["ScalableTargets"]
    ctx.expect(
        targets,
        "The service `worker` has no scalable target: nothing may change its desired count.",
        hint="application-autoscaling register_scalable_target(ServiceNamespace='ecs', "
        "ResourceId='service/orders/worker', ScalableDimension='ecs:service:DesiredCount', "
        "MinCapacity=1, MaxCapacity=...).",
    )
    low, high = int(targets[0]["MinCapacity"]), int(targets[0]["MaxCapacity"])
    ctx.expect(
        high > 1,
        f"The scalable target's MaxCapacity is {high}: the service can never run more than "
        f"{high} task.",
        hint="MaxCapacity is the most tasks scaling may run: give it room (5, 10).",
    )

    def desired() -> int:
        found = ecs.describe_services(cluster="orders", services=["worker"])["services"][0]
        return int(found["desiredCount"])

    # An outsider's backlog: another queue fills up; the workers have nothing more to do.
    _send(sqs, other, BACKLOG)
    for _ in range(5):
        ctx.clock.advance(60)
    moved = desired()
    if moved > 1:
        ctx.fail(
            f"A backlog in another queue (`audit`) scaled the workers to {moved} tasks.",
            hint="The alarm's metric is the orders queue's: Namespace 'AWS/SQS', MetricName "
            "'ApproximateNumberOfMessagesVisible', Dimensions [{'Name': 'QueueName', 'Value': "
            "'orders'}].",
        )
    sqs.purge_queue(QueueUrl=other)
    _send(sqs, queue, BACKLOG)
    counts = []
    for _ in range(SCALE_OUT_MINUTES):
        ctx.clock.advance(60)
        counts.append(desired())
    if max(counts) <= 1:
        policies = ctx.client("application-autoscaling").describe_scaling_policies(
            ServiceNamespace="ecs", ResourceId="service/orders/worker"
        )["ScalingPolicies"]
        kinds = sorted({p["PolicyType"] for p in policies}) or ["none"]
        arns = {p["PolicyARN"] for p in policies}
        alarms = [
            a
            for a in ctx.client("cloudwatch").describe_alarms()["MetricAlarms"]
            if arns & set(a.get("AlarmActions") or [])
        ]
        if "StepScaling" in kinds:
            watched = "; ".join(
                f"{a['AlarmName']} on {a.get('MetricName')} "
                f"{[d['Value'] for d in a.get('Dimensions') or []]}"
                for a in alarms
            )
            ctx.fail(
                f"{BACKLOG} orders waited in the queue `orders` for {SCALE_OUT_MINUTES} minutes "
                f"and the service stayed at {counts[-1]} task: no alarm on that queue's backlog "
                f"ran a scaling policy (alarms with a policy: {watched or 'none'}).",
                hint="The alarm's Dimensions name the queue by its name, not its URL: "
                "[{'Name': 'QueueName', 'Value': 'orders'}], with the scale-out policy's ARN "
                "in AlarmActions.",
            )
        ctx.fail(
            f"{BACKLOG} orders waited in the queue for {SCALE_OUT_MINUTES} minutes and the "
            f"service stayed at {counts[-1]} task (scaling policies: {', '.join(kinds)}). "
            "The workers' CPU is low while they wait on the queue, so CPU says nothing "
            "about the backlog.",
            hint="A StepScaling policy (ChangeInCapacity) as the action of a CloudWatch alarm "
            "on the queue's ApproximateNumberOfMessagesVisible (GreaterThanThreshold).",
        )
    sqs.purge_queue(QueueUrl=queue)  # the workers drained it
    for _ in range(SCALE_IN_MINUTES):
        ctx.clock.advance(60)
        if desired() <= low:
            return
    ctx.fail(
        f"The queue has been empty for {SCALE_IN_MINUTES} minutes and the service still runs "
        f"{desired()} tasks (it scaled out to {max(counts)}; its minimum is {low}).",
        hint="A second StepScaling policy with a negative ScalingAdjustment, as the action of "
        "an alarm for an empty queue (LessThanOrEqualToThreshold 0).",
    )


def _send(sqs: Any, queue: str, count: int) -> None:
    for start in range(0, count, 10):
        sqs.send_message_batch(
            QueueUrl=queue,
            Entries=[{"Id": str(i), "MessageBody": f"order {start + i}"} for i in range(10)],
        )
