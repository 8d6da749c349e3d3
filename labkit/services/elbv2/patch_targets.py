"""Instance and IP targets that really answer: requests and health checks reach what serves them.

moto keeps target groups and their registrations (by target id only, so two ports of one
instance, as ECS's dynamic host ports make, collapse into one) and reports every target
``healthy``. labkit keeps each registration by id *and* port on moto's target group
(``labkit_targets``), and:

- asks the registered *servers* (:data:`SERVERS`: ECS registers one that finds the task listening
  on a task IP and container port, or on an instance and host port) for what answers a target;
- runs health checks on the lab clock, one series per target group, every
  ``HealthCheckIntervalSeconds`` (:mod:`labkit.services.elbv2.sim_targets` has the rules);
  ``DescribeTargetHealth`` reports those states, and :data:`HEALTH_LISTENERS` hear each change
  (ECS replaces a service's task whose target went unhealthy);
- forwards a request to a routable target, round robin; nothing listening there → 502.

Source: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html,
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html
(a target that closes or refuses the connection: HTTP 502).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from moto.elbv2.models import ELBv2Backend, FakeHealthStatus

from labkit.services.elbv2.sim_lambda import AlbResponse, error_page
from labkit.services.elbv2.sim_rules import AlbRequest
from labkit.services.elbv2.sim_targets import RoundRobin, TargetState, matches, routable

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: What answers at a target: given the target group, the target id and port, a function that
#: answers a request there, or ``None`` when nothing listens.
Serve = Callable[[AlbRequest], AlbResponse]
Server = Callable[[Any, str, int], "Serve | None"]
SERVERS: list[Server] = []
#: Told ``(target group, target, previous state)`` whenever a target's health state changes.
HealthListener = Callable[[Any, TargetState, str], None]
HEALTH_LISTENERS: list[HealthListener] = []
#: The address the load balancer's health checks and forwarded requests come from.
LB_ADDRESS = "10.0.0.2"


def targets_of(group: Any) -> dict[tuple[str, int], TargetState]:
    """The target group's registrations by ``(id, port)`` (kept on moto's target group)."""
    found: dict[tuple[str, int], TargetState] | None = getattr(group, "labkit_targets", None)
    if found is None:
        found = group.labkit_targets = {}
    return found


def server_for(group: Any, target: TargetState) -> Serve | None:
    """What answers at ``target``, if anything listens there."""
    for server in SERVERS:
        serve = server(group, target.target_id, target.port)
        if serve is not None:
            return serve
    return None


def _port(group: Any, target: dict[str, Any]) -> int:
    return int(target.get("Port") or group.port or 80)


def health_check(group: Any, clock_now: Callable[[], float]) -> None:
    """One round of health checks of every target of ``group``."""
    del clock_now
    if str(getattr(group, "healthcheck_enabled", "true")).lower() == "false":
        return
    path = str(group.health_check_path or "/")
    for target in list(targets_of(group).values()):
        serve = server_for(group, target)
        status: int | None = None
        if serve is not None:
            request = AlbRequest(
                "GET",
                "http",
                target.target_id,
                target.port,
                path,
                (),
                {
                    "host": (f"{target.target_id}:{target.port}",),
                    "user-agent": ("ELB-HealthChecker/2.0",),
                },
                b"",
                LB_ADDRESS,
            )
            status = serve(request).status if serve is not None else None
        passed = status is not None and matches(
            str((group.matcher or {}).get("HttpCode", "200")), status
        )
        before = target.state
        if target.record(
            passed,
            status,
            healthy_after=int(group.healthy_threshold_count),
            unhealthy_after=int(group.unhealthy_threshold_count),
        ):
            for listener in list(HEALTH_LISTENERS):
                listener(group, target, before)


def forward_to_targets(group: Any, request: AlbRequest) -> AlbResponse:
    """Send ``request`` to a routable instance or IP target of ``group``."""
    picker: RoundRobin | None = getattr(group, "labkit_round_robin", None)
    if picker is None:
        picker = group.labkit_round_robin = RoundRobin()
    target = picker.pick(routable(list(targets_of(group).values())))
    if target is None:
        return error_page(
            503, "Service Temporarily Unavailable", f"target group {group.name} has no targets"
        )
    target.served += 1
    serve = server_for(group, target)
    if serve is None:
        return error_page(
            502,
            "Bad Gateway",
            f"nothing listens on {target.target_id}:{target.port} (connection refused)",
        )
    return serve(request)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Keep registrations by id and port, check health on the clock, and report it."""
    register = ELBv2Backend.register_targets
    deregister = ELBv2Backend.deregister_targets
    describe = ELBv2Backend.describe_target_health

    def start_checks(backend: ELBv2Backend, group: Any) -> None:
        if getattr(group, "labkit_health_event", None) is not None:
            return
        clock = sandbox.clock

        def check() -> None:
            if backend.target_groups.get(group.arn) is not group:
                group.labkit_health_event.cancel()  # deleted, or gone with lab.reset()
                return
            health_check(group, lambda: clock.timestamp)

        group.labkit_health_event = clock.every(
            int(group.health_check_interval_seconds),
            check,
            label=f"elbv2 health checks {group.name}",
        )

    def register_targets(self: ELBv2Backend, target_group_arn: str, instances: list[Any]) -> None:
        register(self, target_group_arn, instances)
        group = self.target_groups.get(target_group_arn)
        if group is None or group.target_type == "lambda":
            return
        known = targets_of(group)
        for target in instances:
            key = (str(target["Id"]), _port(group, target))
            known.setdefault(key, TargetState(*key))
        start_checks(self, group)

    def deregister_targets(
        self: ELBv2Backend, target_group_arn: str, instances: list[dict[str, Any]]
    ) -> None:
        group = self.target_groups.get(target_group_arn)
        if group is not None and group.target_type != "lambda":
            known = targets_of(group)
            for target in instances:
                known.pop((str(target["Id"]), _port(group, target)), None)
            left = {t.target_id for t in known.values()}
            # moto keys by id alone: keep its entry while another port of the id is registered.
            instances = [t for t in instances if str(t["Id"]) not in left]
            if not instances:
                return
        deregister(self, target_group_arn, instances)

    def describe_target_health(
        self: ELBv2Backend, target_group_arn: str, targets: list[dict[str, Any]]
    ) -> list[FakeHealthStatus]:
        group = self.target_groups.get(target_group_arn)
        if group is None or group.target_type == "lambda":
            return describe(self, target_group_arn, targets)
        known = targets_of(group)
        wanted = {(str(t["Id"]), _port(group, t)) for t in targets or []}
        answer = []
        for key, state in known.items():
            if wanted and key not in wanted:
                continue
            answer.append(
                FakeHealthStatus(
                    state.target_id,
                    str(state.port),
                    str(group.health_check_port or "traffic-port"),
                    state.state,
                    state.reason,
                    state.description,
                )
            )
        for key in wanted - set(known):
            answer.extend(describe(self, target_group_arn, [{"Id": key[0], "Port": key[1]}]))
        return answer

    ELBv2Backend.register_targets = register_targets  # type: ignore[method-assign]
    ELBv2Backend.deregister_targets = deregister_targets  # type: ignore[method-assign]
    ELBv2Backend.describe_target_health = describe_target_health  # type: ignore[method-assign]

    def undo() -> None:
        ELBv2Backend.register_targets = register  # type: ignore[method-assign]
        ELBv2Backend.deregister_targets = deregister  # type: ignore[method-assign]
        ELBv2Backend.describe_target_health = describe  # type: ignore[method-assign]
        SERVERS.clear()
        HEALTH_LISTENERS.clear()

    stack.callback(undo)


__all__ = [
    "HEALTH_LISTENERS",
    "LB_ADDRESS",
    "SERVERS",
    "Serve",
    "Server",
    "forward_to_targets",
    "health_check",
    "install",
    "server_for",
    "targets_of",
]
