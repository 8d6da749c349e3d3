"""ECS benchmarks: a request through an Application Load Balancer to a task's app, warm.

Prints:
- the app called directly as WSGI (the floor: what the learner's code itself costs);
- a request through the ALB to a Fargate task's app with ``requests.get`` (listener, rule,
  target group, round robin, WSGI environ, the container's environment and identity swapped in
  and out), and its ratio to the direct call;
- raw moto in the same run: ``requests.get`` of an S3 object (what an in-process HTTP request to
  moto costs; moto serves nothing at a load balancer's DNS name);
- the same without ``requests`` (labkit's own share: listener, rule, target, WSGI call);
- 1,000 requests through the ALB spread over four tasks (all answered, each task's share);
- one hour of lab time for a service of four tasks (health checks every 30 s, the scheduler's
  look every 15 s);
- an hour of service auto scaling: a web service under target tracking on CPU (a burst of
  requests for 20 minutes, then idle) and a worker service under step scaling from an alarm on
  its queue's backlog (messages for 20 minutes, drained by the workers), minute by minute;
- an hour of cluster auto scaling: a service on a capacity provider (managed scaling, managed
  termination protection) asked for 8 tasks for 20 minutes, then 1: instances launched, tasks
  placed, empty instances scaled in, minute by minute;
- each check of lab 11 (containers) run on its worked solution (aim: under 10 s each).

Targets (issue 17): a request through the ALB under 3 ms of wall time warm; 1,000 requests over
four tasks under 2 s; an hour of lab time of a scaling scenario under 5 s.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import support

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A small JSON API: answers with the task it runs in."""
    import os

    start_response("200 OK", [("Content-Type", "application/json")])
    task = os.environ.get("ECS_CONTAINER_METADATA_URI_V4", "direct").rsplit("/", 1)[-1]
    return [b'{"task": "' + task.encode() + b'", "path": "' + environ["PATH_INFO"].encode() + b'"}']


def per_call(fn: Callable[[int], Any], calls: int, batches: int) -> float:
    """Median milliseconds per call over ``batches`` batches of ``calls`` calls."""
    return statistics.median(support.timed(fn, calls, batches))


def direct(calls: int, batches: int) -> float:
    """Per-call ms of the WSGI app called in-process, as a test would call it."""

    def call(i: int) -> None:
        environ = {"PATH_INFO": "/orders", "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()}
        b"".join(app(environ, lambda status, headers: None))

    return per_call(call, calls, batches)


def raw_moto_s3_get(calls: int, batches: int) -> float:
    """Per-request ms of requests.get on an S3 object under plain moto."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="a.json", Body=b"{}")
        public = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::bench/*",
                }
            ],
        }
        s3.put_bucket_policy(Bucket="bench", Policy=json.dumps(public))
        url = "https://bench.s3.amazonaws.com/a.json"
        assert requests.get(url).status_code == 200
        return per_call(lambda i: requests.get(url), calls, batches)


def labkit_alb(calls: int, batches: int) -> dict[str, float]:
    """Figures of requests through the ALB to tasks of a Fargate service."""
    from ecs_support import web_service

    import labkit

    lab = labkit.start(quiet=True)
    try:
        url, _group, cluster = web_service(lab, app, count=4)
        lab.clock.advance(30)  # every target healthy
        figures: dict[str, float] = {}
        assert requests.get(url + "orders").status_code == 200
        figures["alb_request"] = per_call(lambda i: requests.get(url + "orders"), calls, batches)
        from labkit.services.elbv2 import patch as alb

        prepared = requests.Request("GET", url + "orders").prepare()
        host = url.split("/")[2]
        figures["alb_direct"] = per_call(
            lambda i: alb.serve(alb.alb_request(prepared), host), calls, batches
        )
        session = requests.Session()
        figures["alb_session"] = per_call(lambda i: session.get(url + "orders"), calls, batches)
        t = time.perf_counter()
        answers = [requests.get(url + f"orders/{i}") for i in range(1000)]
        figures["thousand_s"] = time.perf_counter() - t
        t = time.perf_counter()
        for i in range(1000):
            session.get(url + f"orders/{i}")
        figures["thousand_session_s"] = time.perf_counter() - t
        shares = Counter(a.json()["task"] for a in answers)
        assert all(a.status_code == 200 for a in answers)
        figures["tasks_answering"] = len(shares)
        figures["largest_share"] = max(shares.values())
        t = time.perf_counter()
        lab.clock.advance(3600)
        figures["hour_s"] = time.perf_counter() - t
        running = lab.client("ecs").list_tasks(cluster=cluster)["taskArns"]
        figures["running_after_hour"] = len(running)
        return figures
    finally:
        lab.stop()


def busy(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A web app whose requests cost a vCPU-second each."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


busy.cpu_seconds_per_request = 1.0  # type: ignore[attr-defined]


def worker() -> Any:
    """A queue worker's long-running command."""
    while True:
        yield 60


def scaling_hour() -> dict[str, float]:
    """An hour of lab time with both kinds of ECS service auto scaling (wall seconds, changes)."""
    from ecs_support import fargate_definition, image, network, web_service

    import labkit
    from labkit.services.elbv2 import patch as alb

    lab = labkit.start(quiet=True)
    try:
        url, _group, _cluster = web_service(lab, busy, count=1, name="web")
        subnets, sg = network(lab)
        ecs = lab.client("ecs")
        ecs.create_cluster(clusterName="jobs")
        ecs.create_service(
            cluster="jobs",
            serviceName="worker",
            taskDefinition=fargate_definition(
                lab, image(lab, worker, repository="worker"), family="worker", port=None
            ),
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}
            },
        )
        aas = lab.client("application-autoscaling")
        for resource in ("service/apps/web", "service/jobs/worker"):
            aas.register_scalable_target(
                ServiceNamespace="ecs",
                ResourceId=resource,
                ScalableDimension="ecs:service:DesiredCount",
                MinCapacity=1,
                MaxCapacity=8,
            )
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
                "ScaleOutCooldown": 60,
                "ScaleInCooldown": 60,
            },
        )
        arns = {}
        for name, steps in (
            ("out", [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}]),
            ("in", [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}]),
        ):
            arns[name] = aas.put_scaling_policy(
                PolicyName=name,
                ServiceNamespace="ecs",
                ResourceId="service/jobs/worker",
                ScalableDimension="ecs:service:DesiredCount",
                PolicyType="StepScaling",
                StepScalingPolicyConfiguration={
                    "AdjustmentType": "ChangeInCapacity",
                    "StepAdjustments": steps,
                    "Cooldown": 60,
                },
            )["PolicyARN"]
        sqs = lab.client("sqs")
        queue = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        cw = lab.client("cloudwatch")
        for name, operator, threshold, periods in (
            ("out", "GreaterThanThreshold", 40, 1),
            ("in", "LessThanOrEqualToThreshold", 0, 3),
        ):
            cw.put_metric_alarm(
                AlarmName=f"backlog-{name}",
                Namespace="AWS/SQS",
                MetricName="ApproximateNumberOfMessagesVisible",
                Dimensions=[{"Name": "QueueName", "Value": "jobs"}],
                Statistic="Average",
                Period=60,
                ComparisonOperator=operator,
                Threshold=threshold,
                EvaluationPeriods=periods,
                AlarmActions=[arns[name]],
            )
        prepared = requests.Request("GET", url).prepare()
        host = url.split("/")[2]
        t = time.perf_counter()
        peak = {"web": 0, "worker": 0}
        in_advance = 0.0
        for minute in range(60):
            if minute < 20:
                for _ in range(60):  # 60 CPU-seconds a minute: four 0.25-vCPU tasks' worth
                    alb.serve(alb.alb_request(prepared), host)
                for _ in range(5):  # 50 jobs a minute
                    sqs.send_message_batch(
                        QueueUrl=queue,
                        Entries=[{"Id": str(i), "MessageBody": "job"} for i in range(10)],
                    )
            workers = ecs.describe_services(cluster="jobs", services=["worker"])["services"][0]
            for _ in range(int(workers["runningCount"])):  # each worker: 10 messages a minute
                got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
                if got.get("Messages"):
                    sqs.delete_message_batch(
                        QueueUrl=queue,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                            for i, m in enumerate(got["Messages"])
                        ],
                    )
            ticked = time.perf_counter()
            lab.clock.advance(60)
            in_advance += time.perf_counter() - ticked
        figures: dict[str, float] = {
            "scaling_hour_s": time.perf_counter() - t,
            "scaling_advance_s": in_advance,
        }
        from labkit.services.ecs.state import snapshot

        changes = 0
        for cluster in ("apps", "jobs"):
            snap = snapshot(cluster, lab.clock.timestamp)
            for change in snap.scaling if snap else ():
                changes += 1
                peak[change.service] = max(peak[change.service], change.new)
        figures["scaling_changes"] = changes
        figures["web_peak"] = peak["web"]
        figures["worker_peak"] = peak["worker"]
        return figures
    finally:
        lab.stop()


def capacity_hour() -> dict[str, float]:
    """An hour of lab time of ECS cluster auto scaling (wall seconds, changes, peak)."""
    from ecs_support import image

    import labkit
    from labkit.services.ecs.state import snapshot

    lab = labkit.start(quiet=True)
    try:
        ec2, ecs = lab.client("ec2"), lab.client("ecs")
        scaling = lab.client("autoscaling")
        ec2.create_launch_template(
            LaunchTemplateName="ecs-nodes",
            LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.medium"},
        )
        scaling.create_auto_scaling_group(
            AutoScalingGroupName="nodes",
            LaunchTemplate={"LaunchTemplateName": "ecs-nodes"},
            MinSize=0,
            MaxSize=10,
            DesiredCapacity=0,
            AvailabilityZones=["us-east-1a"],
            NewInstancesProtectedFromScaleIn=True,
        )
        arn = scaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]["AutoScalingGroupARN"]
        ecs.create_cluster(clusterName="nodes")
        ecs.create_capacity_provider(
            name="nodes",
            autoScalingGroupProvider={
                "autoScalingGroupArn": arn,
                "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
                "managedTerminationProtection": "ENABLED",
            },
        )
        ecs.put_cluster_capacity_providers(
            cluster="nodes",
            capacityProviders=["nodes"],
            defaultCapacityProviderStrategy=[{"capacityProvider": "nodes", "weight": 1}],
        )
        task_def = ecs.register_task_definition(
            family="api",
            containerDefinitions=[
                {"name": "api", "image": image(lab, app, "api"), "cpu": 1024, "memory": 1024}
            ],
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(
            cluster="nodes", serviceName="api", taskDefinition=task_def, desiredCount=1
        )
        t = time.perf_counter()
        peak = 0
        for minute in range(60):
            if minute in (0, 20):
                ecs.update_service(
                    cluster="nodes", service="api", desiredCount=8 if minute == 0 else 1
                )
            lab.clock.advance(60)
            group = scaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]
            peak = max(peak, len(group["Instances"]))
        figures: dict[str, float] = {"capacity_hour_s": time.perf_counter() - t}
        snap = snapshot("nodes", lab.clock.timestamp)
        changes = snap.providers[0].changes if snap and snap.providers else ()
        figures["capacity_out"] = sum(c.direction == "scale-out" for c in changes)
        figures["capacity_in"] = sum(c.direction == "scale-in" for c in changes)
        figures["capacity_peak"] = peak
        figures["capacity_end"] = len(
            scaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]["Instances"]
        )
        return figures
    finally:
        lab.stop()


def lab_checks() -> dict[str, float]:
    """Wall seconds of each check of lab 11 (containers) run on its worked solution."""
    import jupytext

    from labkit.labs import get_lab

    source = Path(__file__).resolve().parent.parent / "solutions" / "11_containers.py"
    cells = [c.source for c in jupytext.read(source).cells if c.cell_type == "code"]
    # The solution's definitions, without its check and score cells (timed here instead).
    code = "\n".join(c for c in cells if not c.startswith(("lab.check", "lab.score")))
    namespace: dict[str, Any] = {}
    exec(compile(code, str(source), "exec"), namespace)  # the course's own solution
    lab = namespace["lab"]
    timings: dict[str, float] = {}
    try:
        for check in get_lab("containers").checks:
            t = time.perf_counter()
            result = lab.check(check.name, namespace)
            timings[check.name] = time.perf_counter() - t
            timings[f"{check.name}_passed"] = float(result.status == "passed")
    finally:
        lab.stop()
    return timings


def row(label: str, value: float, unit: str, note: str = "") -> None:
    """One line of the report."""
    print(f"  {label:<56} {value:8.3f} {unit}{'  ' + note if note else ''}")


def main() -> None:
    calls, batches = 200, 5
    figures = labkit_alb(calls, batches)
    figures.update(scaling_hour())
    floor = direct(calls, batches)
    raw = raw_moto_s3_get(calls, batches)
    print("ECS benchmarks (median of batches; wall time)")
    row("the WSGI app called directly", floor, "ms/call")
    row("raw moto: requests.get of an S3 object", raw, "ms/request")
    row(
        "ALB → Fargate task's app, requests.get (warm)",
        figures["alb_request"],
        "ms/request",
        f"(target < 3 ms; {figures['alb_request'] / floor:.0f}x the direct call, "
        f"{figures['alb_request'] / raw:.2f}x raw moto's S3 GET)",
    )
    row("ALB → Fargate task's app, one requests.Session", figures["alb_session"], "ms/request")
    row(
        "ALB → task without the HTTP stack (listener to WSGI)",
        figures["alb_direct"],
        "ms/request",
        "(labkit's own share of a request)",
    )
    row(
        "1,000 requests through the ALB over 4 tasks",
        figures["thousand_s"],
        "s",
        f"(target < 2 s; {int(figures['tasks_answering'])} tasks answered, the busiest "
        f"{int(figures['largest_share'])})",
    )
    row("1,000 requests over 4 tasks, one requests.Session", figures["thousand_session_s"], "s")
    row(
        "one hour of lab time, service of 4 tasks behind the ALB",
        figures["hour_s"],
        "s",
        f"({int(figures['running_after_hour'])} tasks running after it)",
    )

    row(
        "an hour of service auto scaling (target tracking + step)",
        figures["scaling_hour_s"],
        "s",
        f"(target < 5 s; {figures['scaling_advance_s']:.2f} s of it in the clock's advances; "
        f"{int(figures['scaling_changes'])} scaling changes; peaks: web "
        f"{int(figures['web_peak'])}, worker {int(figures['worker_peak'])} tasks)",
    )
    capacity = capacity_hour()
    row(
        "an hour of cluster auto scaling (capacity provider)",
        capacity["capacity_hour_s"],
        "s",
        f"(target < 5 s; {int(capacity['capacity_out'])} scale-outs, "
        f"{int(capacity['capacity_in'])} scale-ins; peak {int(capacity['capacity_peak'])} "
        f"instances, {int(capacity['capacity_end'])} at the end)",
    )
    checks = lab_checks()
    for name in [k for k in checks if not k.endswith("_passed")]:
        passed = "passed" if checks[f"{name}_passed"] else "FAILED"
        row(f"lab 11 check {name} on the solution", checks[name], "s", f"({passed}; aim < 10 s)")


if __name__ == "__main__":
    main()
