"""ECS services on the lab clock, and the tasks behind an Application Load Balancer.

- **The service scheduler** keeps ``desiredCount`` tasks of the service's task definition
  running: it starts what is missing (placement failures become the service event "was unable
  to place a task ..."), stops the newest extras ("Scaling activity initiated by (deployment
  ...)"), replaces the tasks of an older task definition once the new ones run, and looks again
  when a task stops and every :data:`SCHEDULER_SECONDS` of lab time.
- **Load balancing**: each task of a service with ``loadBalancers`` is registered with the
  target group (its address and container port on ``awsvpc``; its instance and host port on
  ``bridge``) and deregistered when it stops; :func:`find_server` tells the ALB what listens at
  a target, and a task whose target turns ``unhealthy`` is stopped ("Task failed ELB health
  checks in (target-group ...)") and so replaced.

Sources: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_services.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-healthcheck.html.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from labkit.services.ecs.patch import TaskRun, _after_exit, _Env, _stop, launch, runs_of
from labkit.services.ecs.sim_scaling import request_cost
from labkit.services.ecs.sim_tasks import Container, ContainerExit, wsgi_environ
from labkit.services.elbv2 import patch_targets
from labkit.services.elbv2.sim_lambda import AlbResponse, error_page
from labkit.services.elbv2.sim_rules import AlbRequest
from labkit.services.elbv2.sim_targets import TargetState

#: Not an AWS number: how often the modelled service scheduler looks at its services (lab time).
SCHEDULER_SECONDS = 15


# -- serving requests --------------------------------------------------------------------------
def _elbv2(backend: Any) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[backend.account_id][backend.region_name]


def register(run: TaskRun) -> None:
    service = run.service
    if service is None:
        return
    for lb in service.load_balancers or []:
        arn = lb.get("targetGroupArn")
        name, port = lb.get("containerName"), lb.get("containerPort")
        if not arn or port is None:
            continue
        target_port = int(port) if run.launch_type == "FARGATE" else run.host_ports.get(int(port))
        if target_port is None:
            continue
        with contextlib.suppress(Exception):
            _elbv2(run.backend).register_targets(arn, [{"Id": run.address, "Port": target_port}])
            run.targets.append((arn, run.address, target_port))
        del name


def deregister(run: TaskRun) -> None:
    for arn, target_id, port in run.targets:
        with contextlib.suppress(Exception):
            _elbv2(run.backend).deregister_targets(arn, [{"Id": target_id, "Port": port}])
    run.targets.clear()


def _all_runs() -> Iterator[TaskRun]:
    from labkit.sandbox.backends import existing_services

    for service, _region, backend in existing_services():
        if service == "ecs":
            yield from list(runs_of(backend).values())


def find_server(
    group: Any, target_id: str, port: int
) -> Callable[[AlbRequest], AlbResponse] | None:
    """What answers at ``target_id:port``: the running task there, listening on that port."""
    for run in _all_runs():
        if not run.running or run.address != target_id:
            continue
        for container in run.containers:
            spec = container.spec
            if container.app is None or spec.container_port is None:
                continue
            listening = (
                spec.container_port
                if run.launch_type == "FARGATE"
                else run.host_ports.get(spec.container_port)
            )
            if listening == port:
                return _server(run, container)
    del group
    return None


def _server(run: TaskRun, container: Container) -> Callable[[AlbRequest], AlbResponse]:
    def serve(request: AlbRequest) -> AlbResponse:
        environ = wsgi_environ(
            method=request.method,
            path=request.path,
            query=request.query_string,
            headers=request.headers,
            body=request.body,
            host=request.host,
            port=container.spec.container_port or 80,
            remote_addr=patch_targets.LB_ADDRESS,
        )
        # The request's CPU, as the app declares it (service auto scaling reads it).
        run.cpu_seconds += request_cost(container.spec.entry)
        try:
            answer = container.serve(environ)
        except ContainerExit:
            _after_exit(run)
            return error_page(502, "Bad Gateway", f"task {run.task_id}'s container exited")
        headers: dict[str, list[str]] = {}
        for name, value in answer.headers:
            headers.setdefault(name, []).append(value)
        return AlbResponse(answer.status, headers, answer.body, f"forwarded to task {run.task_id}")

    return serve


def on_health(group: Any, target: TargetState, before: str) -> None:
    """A service's task whose target turned unhealthy is stopped and replaced."""
    del before
    if target.state != "unhealthy":
        return
    for run in list(_all_runs()):
        if (
            run.running
            and run.service is not None
            and (group.arn, target.target_id, target.port) in run.targets
        ):
            # The service event ECS writes first (service-unhealthy-event-messages.html).
            where = (
                f"(port {target.port})"
                if run.launch_type == "FARGATE"
                else f"(instance {target.target_id}) (port {target.port})"
            )
            event(
                run.service,
                f"(task {run.task_id}) {where} is unhealthy in (target-group {group.name}) "
                f"due to (reason {target.description or target.reason})",
            )
            _stop(
                run,
                f"Task failed ELB health checks in (target-group {group.arn})",
                "ServiceSchedulerInitiated",
            )


# -- the service scheduler ---------------------------------------------------------------------
def event(service: Any, message: str) -> None:
    """Add a service event (newest first), as ECS words them: ``(service NAME) ...``."""
    if message.startswith("service "):  # placement's message names the service itself
        message = message.split(" ", 2)[2]
    text = f"(service {service.name}) {message}"
    events = service.events
    if events and events[0].get("message") == text:
        return  # ECS repeats an unchanged event only now and then
    events.insert(
        0, {"id": f"{len(events) + 1:08d}-labkit", "createdAt": _Env.clock().now, "message": text}
    )


def service_runs(backend: Any, service: Any) -> list[TaskRun]:
    """The service's tasks that are running."""
    return [r for r in runs_of(backend).values() if r.service is service and r.running]


def reconcile(backend: Any, service: Any) -> None:
    """Start or stop tasks until ``desiredCount`` run (what the service scheduler does)."""
    if service.status != "ACTIVE" or not service.task_definition:
        return
    running = service_runs(backend, service)
    current = [r for r in running if r.task.task_definition_arn == service.task_definition]
    old = [r for r in running if r.task.task_definition_arn != service.task_definition]
    wanted = int(service.desired_count)
    if len(current) < wanted:
        before = len(current)
        tasks, _failures = launch(
            backend,
            service.cluster_name,
            service.task_definition,
            wanted - len(current),
            launch_type=str(
                getattr(service, "labkit_launch_type", None) or service.launch_type or "EC2"
            ),
            network=service.network_configuration or None,
            group=f"service:{service.name}",
            started_by=service.id if hasattr(service, "id") else "ecs-svc",
            strategy=getattr(service, "labkit_strategy", None),
            constraints=getattr(service, "labkit_constraints", None),
            service=service,
            capacity=getattr(service, "labkit_capacity", None),
        )
        if tasks:
            event(service, f"has started {len(tasks)} tasks: {_task_list(tasks)}.")
        current = service_runs(backend, service)
        current = [r for r in current if r.task.task_definition_arn == service.task_definition]
        del before
    deployment = service.deployments[0]["id"] if service.deployments else "ecs-svc"
    if len(current) >= wanted:
        for run in old:
            _stop(
                run,
                f"Scaling activity initiated by (deployment {deployment})",
                "ServiceSchedulerInitiated",
            )
    # The extras go newest first, and tasks still waiting in PROVISIONING before any.
    for run in sorted(current, key=lambda r: (r.waiting, r.started), reverse=True)[
        : max(len(current) - wanted, 0)
    ]:
        _stop(
            run,
            f"Scaling activity initiated by (deployment {deployment})",
            "ServiceSchedulerInitiated",
        )
    # Tasks waiting in PROVISIONING for a capacity provider's instances count as pending.
    running = [r for r in service_runs(backend, service) if not r.waiting]
    service.running_count = len(running)
    service.pending_count = max(wanted - len(running), 0)
    for entry in service.deployments[:1]:
        entry["runningCount"] = len(running)
        entry["pendingCount"] = service.pending_count
        entry["desiredCount"] = wanted
        entry["rolloutState"] = "COMPLETED" if len(running) >= wanted else "IN_PROGRESS"
    if len(running) >= wanted and wanted:
        event(service, "has reached a steady state.")


def _task_list(tasks: list[Any]) -> str:
    return " ".join(f"(task {str(t.task_arn).rsplit('/', 1)[-1]})" for t in tasks)


def schedule(backend: Any, service: Any, delay: float) -> None:
    """Let the scheduler look at ``service`` after ``delay`` seconds of lab time."""
    clock = _Env.clock()
    if getattr(service, "labkit_pending", False):
        return
    service.labkit_pending = True

    def run() -> None:
        service.labkit_pending = False
        if alive(backend, service):
            _quietly(backend, service)

    clock.call_later(delay, run, label=f"ecs service {service.name}")


def _quietly(backend: Any, service: Any) -> None:
    """Reconcile from a clock event: a failure (its task definition deregistered, its cluster
    deleted) becomes a service event instead of an error in whatever advanced the clock."""
    try:
        reconcile(backend, service)
    except Exception as failed:  # moto's exceptions share no base class worth naming
        event(service, f"was unable to start tasks: {getattr(failed, 'message', failed)}")


def alive(backend: Any, service: Any) -> bool:
    """Whether ``service`` is still one of ``backend``'s (not deleted, not reset away)."""
    return backend.services.get(f"{service.cluster_name}:{service.name}") is service


def watch(backend: Any, service: Any) -> None:
    """The scheduler's regular look at ``service`` (retries tasks that could not be placed)."""
    if getattr(service, "labkit_watch", None) is not None:
        return

    def tick() -> None:
        if not alive(backend, service):
            service.labkit_watch.cancel()  # deleted, or gone with lab.reset()
            return
        if service.status == "ACTIVE":
            _quietly(backend, service)

    service.labkit_watch = _Env.clock().every(
        SCHEDULER_SECONDS, tick, label=f"ecs scheduler {service.name}"
    )


__all__ = [
    "SCHEDULER_SECONDS",
    "alive",
    "deregister",
    "event",
    "find_server",
    "on_health",
    "reconcile",
    "register",
    "schedule",
    "service_runs",
    "watch",
]
