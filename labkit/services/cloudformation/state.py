"""What a stack or a StackSet holds now: read-only snapshots for views and checks.

:func:`stack_snapshot` reads a stack of the running sandbox (by name or id): its status and
reason, each resource with its status, physical id, last drift result and the resource it hangs
from (what it refers to first, so that a view can draw the template as a tree), and its events
oldest first. :func:`stackset_snapshot` reads a StackSet: each account and Region's instance
status (a grid) and its operations. Both read what the CloudFormation patches keep on moto's
objects, through :mod:`labkit.sandbox.backends` (no moto import).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labkit.errors import LabkitError
from labkit.sandbox import backends
from labkit.services.cloudformation.sim_changes import references


class StackNotFoundError(LabkitError):
    """A stack or StackSet the sandbox does not have."""

    code = "StackNotFound"


@dataclass(frozen=True)
class ResourceInfo:
    """One resource of a stack as a view shows it.

    Attributes:
        logical_id: Its logical id.
        resource_type: Such as ``AWS::SQS::Queue``.
        status: Its latest status (``CREATE_COMPLETE``, ``DELETE_COMPLETE``, ...).
        physical_id: Its physical id, if it has one.
        reason: Why it failed, if it did.
        drift: Its last drift status (``IN_SYNC``, ``MODIFIED``, ``DELETED``, ``NOT_CHECKED``),
            ``""`` before any detection.
        differences: ``path: expected → actual`` of each drifted property.
        parent: The resource it refers to first (``""`` for a root of the tree).
    """

    logical_id: str
    resource_type: str
    status: str
    physical_id: str
    reason: str
    drift: str
    differences: tuple[str, ...]
    parent: str


@dataclass(frozen=True)
class EventInfo:
    """One stack event."""

    at: float
    logical_id: str
    status: str
    reason: str


@dataclass(frozen=True)
class StackSnapshot:
    """A stack at one moment of lab time."""

    kind: str
    name: str
    status: str
    reason: str
    account: str
    region: str
    drift: str
    resources: tuple[ResourceInfo, ...]
    events: tuple[EventInfo, ...]
    now: float


@dataclass(frozen=True)
class InstanceInfo:
    """One stack instance of a StackSet (a cell of the grid)."""

    account: str
    region: str
    status: str
    detailed: str
    reason: str


@dataclass(frozen=True)
class OperationInfo:
    """One StackSet operation."""

    operation_id: str
    action: str
    status: str
    running: int
    done: int
    total: int


@dataclass(frozen=True)
class StackSetSnapshot:
    """A StackSet at one moment of lab time."""

    kind: str
    name: str
    permission_model: str
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    instances: tuple[InstanceInfo, ...]
    operations: tuple[OperationInfo, ...]
    now: float


def _epoch(value: Any) -> float:
    return float(value.timestamp()) if isinstance(value, datetime) else 0.0


def _stacks(account: str) -> list[tuple[str, Any]]:
    return [
        (region, stack)
        for region, backend in backends.existing("cloudformation", account)
        for stack in list(backend.stacks.values())
    ]


def find_stack(name: str, *, account_id: str | None = None) -> Any:
    """moto's stack called ``name`` (or with that id) in the account, in any Region."""
    account = account_id or backends.DEFAULT_ACCOUNT_ID
    found = [s for _, s in _stacks(account) if name in (s.name, s.stack_id)]
    if not found:
        names = ", ".join(sorted({s.name for _, s in _stacks(account)})) or "none"
        raise StackNotFoundError(f"No stack {name!r} in this sandbox (stacks: {names}).")
    return found[0]


def find_stackset(name: str, *, account_id: str | None = None) -> Any:
    """moto's StackSet called ``name`` (or with that id) in the account."""
    account = account_id or backends.DEFAULT_ACCOUNT_ID
    every = [
        s
        for _, backend in backends.existing("cloudformation", account)
        for s in list(backend.stacksets.values())
        if s.status != "DELETED"
    ]
    for stackset in every:
        if name in (stackset.name, stackset.id):
            return stackset
    names = ", ".join(sorted(s.name for s in every)) or "none"
    raise StackNotFoundError(f"No StackSet {name!r} in this sandbox (StackSets: {names}).")


def _parent(logical_id: str, template: dict[str, Any]) -> str:
    resources = template.get("Resources") or {}
    body = resources.get(logical_id) or {}
    depends = body.get("DependsOn") or []
    if isinstance(depends, str):
        depends = [depends]
    refs = sorted(references(body.get("Properties") or {}) & set(resources))
    for candidate in [*refs, *depends]:
        if candidate in resources and candidate != logical_id:
            return str(candidate)
    return ""


def stack_snapshot(name: str, *, now: float, account_id: str | None = None) -> StackSnapshot:
    """The stack called ``name`` now: resources (a tree), events and drift."""
    stack = find_stack(name, account_id=account_id)
    template: dict[str, Any] = getattr(stack, "template_dict", {}) or {}
    records: dict[str, Any] = getattr(stack, "labkit_resources", {}) or {}
    detection = getattr(stack, "labkit_drift", None)
    drifts = {d.logical_id: d for d in (detection.resources if detection else [])}
    resources: list[ResourceInfo] = []
    for logical_id, body in (template.get("Resources") or {}).items():
        record = records.get(logical_id)
        drift = drifts.get(logical_id)
        resources.append(
            ResourceInfo(
                logical_id=str(logical_id),
                resource_type=str(body.get("Type", "")),
                status=record.status if record else "NOT_CREATED",
                physical_id=(record.physical_id or "") if record else "",
                reason=(record.reason or "") if record else "",
                drift=drift.status if drift else "",
                differences=tuple(
                    f"{d.path}: {d.expected!r} → {d.actual!r}" for d in drift.differences
                )
                if drift
                else (),
                parent=_parent(str(logical_id), template),
            )
        )
    events = tuple(
        EventInfo(
            _epoch(e.timestamp),
            str(e.logical_resource_id),
            str(e.resource_status),
            str(e.resource_status_reason or ""),
        )
        for e in stack.events
    )
    return StackSnapshot(
        kind="stack",
        name=str(stack.name),
        status=str(stack.status),
        reason=str(getattr(stack, "status_reason", "") or ""),
        account=str(stack.account_id),
        region=str(stack.region_name),
        drift=detection.stack_status if detection else "NOT_CHECKED",
        resources=tuple(resources),
        events=events,
        now=now,
    )


def stackset_snapshot(name: str, *, now: float, account_id: str | None = None) -> StackSetSnapshot:
    """The StackSet called ``name`` now: its grid of accounts by Regions, and its operations."""
    stackset = find_stackset(name, account_id=account_id)
    operations = getattr(stackset, "labkit_operations", {}) or {}
    latest: dict[tuple[str, str], Any] = {}
    for operation in operations.values():
        for result in operation.results:
            if operation.action == "DELETE":
                if result.status == "SUCCEEDED":
                    latest.pop((result.account, result.region), None)
            else:
                latest[(result.account, result.region)] = result
    instances = tuple(
        InstanceInfo(
            account=a,
            region=r,
            status="CURRENT" if res.status == "SUCCEEDED" else "OUTDATED",
            detailed=str(res.status),
            reason=str(res.reason or ""),
        )
        for (a, r), res in latest.items()
    )
    return StackSetSnapshot(
        kind="stackset",
        name=str(stackset.name),
        permission_model=str(stackset.permission_model),
        accounts=tuple(dict.fromkeys(i.account for i in instances)),
        regions=tuple(dict.fromkeys(i.region for i in instances)),
        instances=instances,
        operations=tuple(
            OperationInfo(
                operation_id=str(op.operation_id),
                action=str(op.action),
                status=str(op.status),
                running=sum(1 for r in op.results if r.status == "RUNNING"),
                done=sum(1 for r in op.results if r.status not in ("PENDING", "RUNNING")),
                total=len(op.results),
            )
            for op in operations.values()
        ),
        now=now,
    )
