"""What Step Functions holds, as read-only snapshots for the graph view and for checks.

- :class:`MachineGraph`: a state machine as a graph: its states (nodes, with their type and
  whether they start or end it), its transitions (``Next``, each Choice rule and the ``Default``,
  each catcher with the errors it catches), and its containers (each Parallel branch and each Map
  item processor is a graph of its own, nested under its state).
- :class:`ExecutionSnapshot`: an execution as the lab clock stands: its status, and each entry
  into a state (:class:`StateVisit`) with its place in containers (branch, iteration), status
  (``SUCCEEDED``, ``FAILED``, ``CAUGHT``, ``ABORTED``, ``RUNNING``), retries, lab times, input and
  output, and the state it went to.

Snapshots are plain data, computed from the definition and from the interpreter's record of the
execution (:mod:`.sim_execution`); reading never creates a backend or changes an execution. The
Express executions the API does not describe are here too: a view shows what AWS keeps in logs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from labkit.errors import LabkitError
from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing
from labkit.services.stepfunctions.sim_execution import Execution

Branch = tuple[tuple[str, int], ...]


class StateMachineNotFoundError(LabkitError):
    """A state machine or execution the sandbox does not have, or an ambiguous request for
    "the" one."""

    code = "StateMachineNotFound"


@dataclass(frozen=True)
class Node:
    """One state of a graph.

    Attributes:
        name: The state's name.
        type: Task, Pass, Choice, Wait, Parallel, Map, Succeed or Fail.
        start: Whether the graph starts here (``StartAt``).
        end: Whether the graph can end here (``End``, Succeed, Fail).
        resource: A Task's ``Resource`` ("" otherwise).
        comment: The state's ``Comment``.
    """

    name: str
    type: str
    start: bool
    end: bool
    resource: str = ""
    comment: str = ""


@dataclass(frozen=True)
class Edge:
    """One transition.

    Attributes:
        source, target: State names.
        kind: ``next``, ``choice`` (a rule; ``label`` says which), ``default`` or ``catch``
            (``label`` lists the errors it catches).
        label: Words for the arrow ("" for a plain ``Next``).
    """

    source: str
    target: str
    kind: str
    label: str = ""


@dataclass(frozen=True)
class MachineGraph:
    """A state machine (or a branch, or an item processor) as a graph."""

    start_at: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    containers: tuple[tuple[str, tuple[MachineGraph, ...]], ...] = ()
    name: str = ""
    arn: str = ""
    type: str = "STANDARD"

    def node(self, name: str) -> Node | None:
        """The node of the state called ``name`` at this level."""
        return next((n for n in self.nodes if n.name == name), None)

    def branches(self, state: str) -> tuple[MachineGraph, ...]:
        """The graphs inside a Parallel (one per branch) or a Map (its item processor)."""
        return dict(self.containers).get(state, ())

    def size(self) -> int:
        """How many states, counting those inside containers."""
        return len(self.nodes) + sum(g.size() for _, graphs in self.containers for g in graphs)


def _rule_label(rule: dict[str, Any]) -> str:
    if "Condition" in rule:
        return str(rule["Condition"])
    for key in ("And", "Or"):
        if key in rule:
            joiner = " and " if key == "And" else " or "
            return "(" + joiner.join(_rule_label(r) for r in rule[key]) + ")"
    if "Not" in rule:
        return "not " + _rule_label(rule["Not"])
    operator = next(
        (k for k in rule if k not in ("Variable", "Next", "Assign", "Output", "Comment")), ""
    )
    return f"{rule.get('Variable', '')} {operator} {json.dumps(rule.get(operator))}".strip()


def graph(
    definition: str | dict[str, Any],
    *,
    name: str = "",
    arn: str = "",
    machine_type: str = "STANDARD",
) -> MachineGraph:
    """The graph of a definition (text or parsed). A definition the sandbox accepted is valid;
    anything else is drawn as far as it goes."""
    raw = json.loads(definition) if isinstance(definition, str) else definition
    start = str(raw.get("StartAt", ""))
    nodes: list[Node] = []
    edges: list[Edge] = []
    containers: list[tuple[str, tuple[MachineGraph, ...]]] = []
    for state_name, spec in (raw.get("States") or {}).items():
        kind = str(spec.get("Type", ""))
        nodes.append(
            Node(
                state_name,
                kind,
                state_name == start,
                bool(spec.get("End")) or kind in ("Succeed", "Fail"),
                str(spec.get("Resource", "")),
                str(spec.get("Comment", "")),
            )
        )
        if "Next" in spec:
            edges.append(Edge(state_name, spec["Next"], "next"))
        for rule in spec.get("Choices") or []:
            edges.append(Edge(state_name, rule.get("Next", ""), "choice", _rule_label(rule)))
        if "Default" in spec:
            edges.append(Edge(state_name, spec["Default"], "default", "otherwise"))
        for catcher in spec.get("Catch") or []:
            edges.append(
                Edge(
                    state_name,
                    catcher.get("Next", ""),
                    "catch",
                    ", ".join(catcher.get("ErrorEquals") or []),
                )
            )
        if kind == "Parallel":
            containers.append((state_name, tuple(graph(b) for b in spec.get("Branches") or [])))
        if kind == "Map":
            processor = spec.get("ItemProcessor") or spec.get("Iterator")
            if processor:
                containers.append((state_name, (graph(processor),)))
    return MachineGraph(
        start, tuple(nodes), tuple(edges), tuple(containers), name, arn, machine_type
    )


@dataclass(frozen=True)
class StateVisit:
    """One entry into one state during an execution.

    Attributes:
        name, type: The state.
        branch: Where it ran: ``()`` at the top, ``(("Parallel", i),)`` in branch ``i``,
            ``(("Map", i),)`` in item ``i`` (nested containers add pairs).
        status: ``RUNNING``, ``SUCCEEDED``, ``FAILED``, ``CAUGHT`` or ``ABORTED``.
        entered_at, exited_at: Lab times (``exited_at`` is ``None`` while running).
        retries: How many times the state was retried.
        input, output: The state's raw input and its output (``None`` until it exits).
        error, cause: What it failed with ("" if it did not).
        next: The state it went to (``None`` at an end).
    """

    name: str
    type: str
    branch: Branch
    status: str
    entered_at: datetime
    exited_at: datetime | None
    retries: int
    input: Any
    output: Any
    error: str
    cause: str
    next: str | None

    @property
    def seconds(self) -> float | None:
        """How long the state took in lab time (``None`` while running)."""
        if self.exited_at is None:
            return None
        return (self.exited_at - self.entered_at).total_seconds()


@dataclass(frozen=True)
class ExecutionSnapshot:
    """An execution as the lab clock stands."""

    arn: str
    name: str
    machine_arn: str
    machine_type: str
    status: str
    started_at: datetime
    stopped_at: datetime | None
    input: Any
    output: Any
    error: str | None
    cause: str | None
    visits: tuple[StateVisit, ...]
    transitions: int
    history_events: int

    def path(self, branch: Branch = ()) -> list[str]:
        """The states entered on ``branch`` (the top level by default), in order."""
        return [v.name for v in self.visits if v.branch == branch]

    def visits_of(self, name: str) -> list[StateVisit]:
        """Every entry into the state called ``name`` (in any branch)."""
        return [v for v in self.visits if v.name == name]

    def status_of(self, name: str, branch: Branch = ()) -> str | None:
        """The status of the latest entry into ``name`` on ``branch``; ``None`` if never
        entered (a view draws such a state as not reached)."""
        found = [v for v in self.visits if v.name == name and v.branch == branch]
        return found[-1].status if found else None


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def execution_snapshot(ex: Execution) -> ExecutionSnapshot:
    """A snapshot of one interpreter execution."""
    visits = tuple(
        StateVisit(
            r.name,
            r.type,
            r.branch,
            r.status,
            _at(r.entered_at),
            _at(r.exited_at) if r.exited_at is not None else None,
            r.retries,
            r.input,
            r.output,
            r.error,
            r.cause,
            r.next,
        )
        for r in ex.runs
    )
    try:
        data = json.loads(ex.input_text)
    except ValueError:
        data = ex.input_text
    return ExecutionSnapshot(
        ex.arn,
        ex.name,
        ex.machine_arn,
        ex.machine_type,
        ex.status,
        _at(ex.start),
        _at(ex.stop) if ex.stop is not None else None,
        data,
        ex.output,
        ex.error,
        ex.cause,
        visits,
        ex.transitions,
        len(ex.events),
    )


def _backends(account_id: str) -> list[Any]:
    return [backend for _, backend in existing("stepfunctions", account_id)]


def machine_graphs(*, account_id: str = DEFAULT_ACCOUNT_ID) -> list[MachineGraph]:
    """Every state machine of the account (all Regions), as graphs."""
    out = []
    for backend in _backends(account_id):
        for machine in getattr(backend, "state_machines", []):
            out.append(
                graph(
                    machine.definition,
                    name=machine.name,
                    arn=machine.arn,
                    machine_type=(machine.type or "STANDARD").upper(),
                )
            )
    return out


def machine_graph(name_or_arn: str, *, account_id: str = DEFAULT_ACCOUNT_ID) -> MachineGraph | None:
    """The state machine with this name or ARN, as a graph (``None`` if there is none)."""
    return next(
        (g for g in machine_graphs(account_id=account_id) if name_or_arn in (g.name, g.arn)), None
    )


def executions(
    machine: str | None = None, *, account_id: str = DEFAULT_ACCOUNT_ID
) -> list[ExecutionSnapshot]:
    """Executions (of one machine, by name or ARN, or of all), oldest first."""
    found: list[Execution] = []
    for backend in _backends(account_id):
        engine = backend.__dict__.get("labkit_sfn")
        if engine is None:
            continue
        for ex in engine.executions.values():
            if machine is None or machine in (ex.machine_arn, ex.machine_name):
                found.append(ex)
    return [execution_snapshot(ex) for ex in sorted(found, key=lambda e: e.start)]


def execution(
    name_or_arn: str, *, account_id: str = DEFAULT_ACCOUNT_ID
) -> ExecutionSnapshot | None:
    """The execution with this ARN (or name), ``None`` if there is none."""
    return next(
        (e for e in reversed(executions(account_id=account_id)) if name_or_arn in (e.arn, e.name)),
        None,
    )


@dataclass(frozen=True)
class Target:
    """What a view of Step Functions follows.

    Attributes:
        machine: The state machine's ARN.
        execution: One execution's ARN, or ``""``: the machine's newest execution, whichever it
            is when the view reads.
    """

    machine: str
    execution: str = ""


def find_target(what: str | None = None, *, account_id: str = DEFAULT_ACCOUNT_ID) -> Target:
    """What ``lab.execution_view(what)`` shows: ``what`` is an execution (ARN or name: that
    execution), a state machine (name or ARN: its newest execution, as executions start), or
    ``None`` (the machine of the newest execution, or the only machine).

    Raises:
        StateMachineNotFoundError: Nothing of that name, or nothing to show.
    """
    graphs = machine_graphs(account_id=account_id)
    if what is None:
        runs = executions(account_id=account_id)
        if runs:
            return Target(runs[-1].machine_arn)
        if len(graphs) == 1:
            return Target(graphs[0].arn)
        raise StateMachineNotFoundError(
            "The sandbox has no state machine yet: create one (stepfunctions' "
            "create_state_machine), then ask for its view."
            if not graphs
            else f"The sandbox has {len(graphs)} state machines and no execution: name the one "
            f"to show ({', '.join(g.name for g in graphs)})."
        )
    for g in graphs:
        if what in (g.name, g.arn):
            return Target(g.arn)
    found = execution(what, account_id=account_id)
    if found is not None:
        return Target(found.machine_arn, found.arn)
    names = ", ".join(g.name for g in graphs) or "none"
    raise StateMachineNotFoundError(
        f"No state machine or execution called {what!r} in the sandbox (state machines: {names})."
    )


def target_snapshot(
    target: Target, *, account_id: str = DEFAULT_ACCOUNT_ID
) -> tuple[MachineGraph | None, ExecutionSnapshot | None]:
    """The machine's graph and the execution ``target`` follows, read now (``None`` for what
    no longer exists, or for a machine that has not run yet)."""
    machine = machine_graph(target.machine, account_id=account_id)
    if target.execution:
        return machine, execution(target.execution, account_id=account_id)
    runs = executions(target.machine, account_id=account_id)
    return machine, (runs[-1] if runs else None)
