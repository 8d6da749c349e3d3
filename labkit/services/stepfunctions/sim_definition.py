"""State machine definitions: parsed once, checked as ``CreateStateMachine`` and
``ValidateStateMachineDefinition`` check them.

A definition is refused with AWS's diagnostic codes (``INVALID_JSON_DESCRIPTION``,
``SCHEMA_VALIDATION_FAILED``, ``MISSING_TRANSITION_TARGET``, ``MISSING_END_STATE``,
``DUPLICATE_STATE_NAME``, ``INVALID_RESOURCE``...) and messages in AWS's words where they are
known (``Missing 'Next' target: X at /States/A/Next``, ``State "B" is not reachable. at
/States/B``); AWS itself says that the wording of diagnostics may change, only FAIL/OK is a
contract.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from labkit.services.stepfunctions import sim_intrinsics, sim_paths
from labkit.services.stepfunctions.sim_errors import ALL, Diagnostic, InvalidDefinitionError

STATE_TYPES = ("Task", "Pass", "Choice", "Wait", "Parallel", "Map", "Succeed", "Fail")
JSONPATH, JSONATA = "JSONPath", "JSONata"
TERMINAL_TYPES = ("Succeed", "Fail")

# Fields each state type accepts (both query languages), from the ASL reference pages.
_COMMON = {"Type", "Comment", "QueryLanguage", "Next", "End", "Assign", "Output"}
_PATHS = {"InputPath", "OutputPath"}
_FIELDS: dict[str, set[str]] = {
    "Pass": _COMMON | _PATHS | {"Parameters", "Result", "ResultPath"},
    "Task": _COMMON
    | _PATHS
    | {
        "Resource",
        "Parameters",
        "Arguments",
        "ResultPath",
        "ResultSelector",
        "Retry",
        "Catch",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
    },
    "Choice": {"Type", "Comment", "QueryLanguage", "Choices", "Default", "Assign", "Output"}
    | _PATHS,
    "Wait": _COMMON | _PATHS | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Succeed": {"Type", "Comment", "QueryLanguage", "Output"} | _PATHS,
    "Fail": {"Type", "Comment", "QueryLanguage", "Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _COMMON
    | _PATHS
    | {"Branches", "Parameters", "Arguments", "ResultPath", "ResultSelector", "Retry", "Catch"},
    "Map": _COMMON
    | _PATHS
    | {
        "ItemProcessor",
        "Iterator",
        "ItemsPath",
        "Items",
        "ItemSelector",
        "Parameters",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "ResultPath",
        "ResultSelector",
        "Retry",
        "Catch",
        "Label",
        "Arguments",
    },
}
_JSONPATH_ONLY = {
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultPath",
    "ResultSelector",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
}
_JSONATA_ONLY = {"Arguments", "Output", "Items"}
_STATE_NAME_MAX = 80
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@dataclass
class State:
    """One state of a machine: its raw fields and what the interpreter needs at hand."""

    name: str
    type: str
    spec: dict[str, Any]
    query_language: str
    next: str | None
    end: bool
    branches: list[Machine] = field(default_factory=list)
    processor: Machine | None = None

    def get(self, key: str, default: Any = None) -> Any:
        """A raw field of the state."""
        return self.spec.get(key, default)


@dataclass
class Machine:
    """A parsed machine (the top level, a Parallel branch or a Map's item processor)."""

    start_at: str
    states: dict[str, State]
    query_language: str
    timeout_seconds: float | None
    raw: dict[str, Any]

    def walk(self) -> Iterator[State]:
        """Every state, including those inside Parallel branches and Map processors."""
        for state in self.states.values():
            yield state
            for branch in state.branches:
                yield from branch.walk()
            if state.processor is not None:
                yield from state.processor.walk()


class _Checker:
    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []

    def error(self, code: str, message: str, location: str) -> None:
        self.diagnostics.append(Diagnostic(code, message, location))

    def schema(self, message: str, location: str) -> None:
        self.error("SCHEMA_VALIDATION_FAILED", message, location)


def _pairs_no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse(definition: str | dict[str, Any], *, machine_type: str = "STANDARD") -> Machine:
    """Parse and check a definition.

    Raises:
        InvalidDefinitionError: With every diagnostic found.
    """
    machine, diagnostics = analyse(definition, machine_type=machine_type)
    errors = [d for d in diagnostics if d.severity == "ERROR"]
    if errors or machine is None:
        raise InvalidDefinitionError(errors)
    return machine


def analyse(
    definition: str | dict[str, Any], *, machine_type: str = "STANDARD"
) -> tuple[Machine | None, list[Diagnostic]]:
    """Parse a definition and list its problems (as ``ValidateStateMachineDefinition``)."""
    check = _Checker()
    if isinstance(definition, str):
        if not definition.strip():
            check.error("MISSING_DESCRIPTION", "The definition is empty.", "")
            return None, check.diagnostics
        try:
            raw = json.loads(definition, object_pairs_hook=_pairs_no_duplicates)
        except _DuplicateKey as dup:
            # JSON keys repeat in practice where states are named twice.
            check.error("DUPLICATE_STATE_NAME", f"Duplicate key: {dup.key!r}", "")
            return None, check.diagnostics
        except ValueError as exc:
            check.error("INVALID_JSON_DESCRIPTION", f"Invalid JSON: {exc}", "")
            return None, check.diagnostics
    else:
        raw = definition
    if not isinstance(raw, dict):
        check.schema("The definition must be a JSON object", "/")
        return None, check.diagnostics
    language = raw.get("QueryLanguage", JSONPATH)
    if language not in (JSONPATH, JSONATA):
        check.schema(f"Value is not one of [JSONPath, JSONata]: {language}", "/QueryLanguage")
        language = JSONPATH
    machine = _machine(raw, "", language, check, machine_type)
    if machine is not None:
        # "State names MUST be unique within the scope of the whole state machine" (the ASL
        # specification), branches and item processors included.
        seen: set[str] = set()
        for state in machine.walk():
            if state.name in seen:
                check.error(
                    "DUPLICATE_STATE_NAME",
                    f"Duplicate State name: {state.name}",
                    f"/States/{state.name}",
                )
            seen.add(state.name)
    failed = any(d.severity == "ERROR" for d in check.diagnostics)
    return (None if failed else machine), check.diagnostics


def _machine(
    raw: dict[str, Any], at: str, language: str, check: _Checker, machine_type: str
) -> Machine | None:
    missing = [f for f in ("StartAt", "States") if f not in raw]
    if missing:
        check.schema(f"These fields are required: [{', '.join(missing)}]", at or "/")
        return None
    states_raw = raw["States"]
    if not isinstance(states_raw, dict) or not states_raw:
        check.schema("The field 'States' must be a non-empty object", f"{at}/States")
        return None
    timeout = raw.get("TimeoutSeconds")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0
    ):
        check.schema("The value for the field 'TimeoutSeconds' must be a positive integer", at)
    states: dict[str, State] = {}
    for name, spec in states_raw.items():
        where = f"{at}/States/{name}"
        if len(name) > _STATE_NAME_MAX:
            check.error(
                "INVALID_STATE_NAME",
                f"State name is longer than {_STATE_NAME_MAX} characters: {name}",
                where,
            )
        state = _state(name, spec, where, language, check, machine_type)
        if state is not None:
            states[name] = state
    start = raw["StartAt"]
    if start not in states_raw:
        check.error("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {start}", f"{at}/StartAt")
    # Targets and reachability, within this machine only (a branch cannot jump outside).
    for state in states.values():
        for target, where in _targets(state, f"{at}/States/{state.name}"):
            if target not in states_raw:
                check.error("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {target}", where)
    reached = _reachable(start, states)
    for name in states:
        if name not in reached:
            check.error(
                "MISSING_TRANSITION_TARGET",
                f'State "{name}" is not reachable.',
                f"{at}/States/{name}",
            )
    if states and not any(s.end or s.type in TERMINAL_TYPES for s in states.values()):
        check.error("MISSING_END_STATE", "Workflow has no terminal state", f"{at}/States")
    return Machine(start, states, language, float(timeout) if timeout else None, raw)


def _targets(state: State, where: str) -> Iterator[tuple[str, str]]:
    if state.next is not None:
        yield state.next, f"{where}/Next"
    if state.type == "Choice":
        for i, rule in enumerate(state.get("Choices") or []):
            if isinstance(rule, dict) and "Next" in rule:
                yield rule["Next"], f"{where}/Choices/{i}/Next"
        if "Default" in state.spec:
            yield state.spec["Default"], f"{where}/Default"
    for i, catcher in enumerate(state.get("Catch") or []):
        if isinstance(catcher, dict) and "Next" in catcher:
            yield catcher["Next"], f"{where}/Catch/{i}/Next"


def _reachable(start: str, states: dict[str, State]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in states:
            continue
        seen.add(name)
        todo.extend(t for t, _ in _targets(states[name], ""))
    return seen


def _state(
    name: str, spec: Any, where: str, language: str, check: _Checker, machine_type: str
) -> State | None:
    if not isinstance(spec, dict):
        check.schema("A state must be an object", where)
        return None
    kind = spec.get("Type")
    if kind is None:
        check.schema("These fields are required: [Type]", where)
        return None
    if kind not in STATE_TYPES:
        check.schema(f"Value is not one of [{', '.join(STATE_TYPES)}]: {kind}", f"{where}/Type")
        return None
    lang = spec.get("QueryLanguage", language)
    if lang not in (JSONPATH, JSONATA):
        check.schema(f"Value is not one of [JSONPath, JSONata]: {lang}", f"{where}/QueryLanguage")
        lang = language
    elif language == JSONATA and lang == JSONPATH:
        check.schema(
            "A state cannot use JSONPath when the state machine's QueryLanguage is JSONata",
            f"{where}/QueryLanguage",
        )
    for key in spec:
        if key not in _FIELDS[kind]:
            check.schema(f"Field '{key}' is not supported by a {kind} state", f"{where}/{key}")
        elif lang == JSONATA and key in _JSONPATH_ONLY:
            check.schema(
                f"Field '{key}' is not supported by JSONata states (use Arguments/Output)",
                f"{where}/{key}",
            )
        elif lang == JSONPATH and key in _JSONATA_ONLY and not (kind == "Map" and key == "Items"):
            check.schema(f"Field '{key}' is only supported by JSONata states", f"{where}/{key}")
    nxt, end = spec.get("Next"), spec.get("End", False)
    if kind in ("Choice", *TERMINAL_TYPES):
        if "Next" in spec or "End" in spec:
            check.schema(f"A {kind} state cannot have 'Next' or 'End'", where)
            nxt, end = None, False
    elif nxt is not None and end:
        check.schema("Only one of 'Next' or 'End' may be present", where)
    elif nxt is None and end is not True:
        check.schema("One of 'Next' or 'End' is required", where)
    state = State(name, kind, spec, lang, nxt if isinstance(nxt, str) else None, end is True)
    _check_kind(state, where, check, machine_type)
    if kind == "Parallel":
        branches = spec.get("Branches")
        if not isinstance(branches, list) or not branches:
            check.schema("These fields are required: [Branches]", where)
        else:
            for i, branch in enumerate(branches):
                sub = _sub(branch, f"{where}/Branches/{i}", lang, check, machine_type)
                if sub is not None:
                    state.branches.append(sub)
    if kind == "Map":
        processor = spec.get("ItemProcessor", spec.get("Iterator"))
        if processor is None:
            check.schema("These fields are required: [ItemProcessor]", where)
        else:
            state.processor = _sub(processor, f"{where}/ItemProcessor", lang, check, machine_type)
    return state


def _sub(raw: Any, where: str, language: str, check: _Checker, machine_type: str) -> Machine | None:
    if not isinstance(raw, dict):
        check.schema("Must be an object with StartAt and States", where)
        return None
    return _machine(raw, where, raw.get("QueryLanguage", language), check, machine_type)


def _check_kind(state: State, where: str, check: _Checker, machine_type: str) -> None:
    spec = state.spec
    if state.type == "Task":
        resource = spec.get("Resource")
        if not isinstance(resource, str) or not resource.startswith("arn:"):
            check.error(
                "INVALID_RESOURCE",
                f"Value is not a valid resource ARN: {resource}",
                f"{where}/Resource",
            )
        elif machine_type == "EXPRESS":
            if ":activity:" in resource:
                check.schema(
                    "Express state machine does not support Activity ARN", f"{where}/Resource"
                )
            elif resource.endswith((".sync", ".sync:2", ".waitForTaskToken")):
                pattern = resource.rsplit(".", 1)[1]
                check.schema(
                    f"Express state machine does not support '.{pattern}' service integration",
                    f"{where}/Resource",
                )
        for key in ("TimeoutSeconds", "HeartbeatSeconds"):
            value = spec.get(key)
            if value is not None and not _positive_int_or_expr(value):
                check.schema(
                    f"The value for the field '{key}' must be a positive integer", f"{where}/{key}"
                )
        timeout, heartbeat = spec.get("TimeoutSeconds"), spec.get("HeartbeatSeconds")
        if isinstance(timeout, int) and isinstance(heartbeat, int) and heartbeat >= timeout:
            check.schema(
                "The value of 'HeartbeatSeconds' must be less than 'TimeoutSeconds'",
                f"{where}/HeartbeatSeconds",
            )
    if state.type == "Wait":
        given = [k for k in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if k in spec]
        if len(given) != 1:
            check.schema(
                "A Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
                where,
            )
        seconds = spec.get("Seconds")
        if seconds is not None and not (
            (isinstance(seconds, int) and not isinstance(seconds, bool) and seconds >= 0)
            or _expr(seconds)
        ):
            check.schema(
                "The value for the field 'Seconds' must be a non-negative integer",
                f"{where}/Seconds",
            )
        stamp = spec.get("Timestamp")
        if isinstance(stamp, str) and not _expr(stamp) and not _TIMESTAMP.match(stamp):
            check.schema(
                f"The value for the field 'Timestamp' is not a valid timestamp: {stamp}",
                f"{where}/Timestamp",
            )
    if state.type == "Choice":
        rules = spec.get("Choices")
        if not isinstance(rules, list) or not rules:
            check.schema("These fields are required: [Choices]", where)
        else:
            for i, rule in enumerate(rules):
                if not isinstance(rule, dict) or "Next" not in rule:
                    check.schema("A choice rule needs 'Next'", f"{where}/Choices/{i}")
    for key in ("Retry", "Catch"):
        rules = spec.get(key)
        if rules is None:
            continue
        if not isinstance(rules, list):
            check.schema(f"The field '{key}' must be an array", f"{where}/{key}")
            continue
        for i, rule in enumerate(rules):
            at = f"{where}/{key}/{i}"
            errors = rule.get("ErrorEquals") if isinstance(rule, dict) else None
            if not isinstance(errors, list) or not errors:
                check.schema("These fields are required: [ErrorEquals]", at)
                continue
            if ALL in errors and (len(errors) > 1 or i != len(rules) - 1):
                check.schema(
                    "States.ALL must appear alone in ErrorEquals and in the last "
                    + key[:-1].lower()
                    + ("er" if key == "Catch" else "ier"),
                    f"{at}/ErrorEquals",
                )
            if key == "Catch" and "Next" not in rule:
                check.schema("These fields are required: [Next]", at)
            if key == "Retry":
                _check_retrier(rule, at, check)
    _check_paths(state, where, check)


def _check_retrier(rule: dict[str, Any], at: str, check: _Checker) -> None:
    """A retrier's numbers, as the ASL reference bounds them."""
    for key, low in (("IntervalSeconds", 1), ("MaxAttempts", 0), ("MaxDelaySeconds", 1)):
        value = rule.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < low
        ):
            check.schema(
                f"The value for the field '{key}' must be an integer of at least {low}",
                f"{at}/{key}",
            )
    rate = rule.get("BackoffRate")
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate < 1
    ):
        check.schema(
            "The value for the field 'BackoffRate' must be at least 1.0", f"{at}/BackoffRate"
        )
    jitter = rule.get("JitterStrategy")
    if jitter is not None and jitter not in ("FULL", "NONE"):
        check.schema(f"Value is not one of [FULL, NONE]: {jitter}", f"{at}/JitterStrategy")


def _check_paths(state: State, where: str, check: _Checker) -> None:
    if state.query_language != JSONPATH:
        return
    for key in ("InputPath", "OutputPath", "ItemsPath", "SecondsPath", "TimestampPath"):
        value = state.spec.get(key)
        if isinstance(value, str):
            try:
                sim_paths.parse(value)
            except sim_paths.PathSyntaxError as exc:
                check.schema(
                    f"The value for the field '{key}' must be a valid JSONPath ({exc})",
                    f"{where}/{key}",
                )
    result_path = state.spec.get("ResultPath")
    if isinstance(result_path, str):
        try:
            sim_paths.reference(result_path)
        except sim_paths.PathSyntaxError:
            check.schema(
                "The value for the field 'ResultPath' must be a valid Reference Path",
                f"{where}/ResultPath",
            )
    for key in ("Parameters", "ResultSelector", "ItemSelector"):
        if key in state.spec:
            _check_template(state.spec[key], f"{where}/{key}", check)


def _check_template(value: Any, where: str, check: _Checker) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.endswith(".$"):
                if not isinstance(inner, str):
                    check.schema(f"The value for the field '{key}' must be a STRING", where)
                elif sim_intrinsics.is_intrinsic(inner):
                    try:
                        sim_intrinsics.parse(inner)
                    except sim_intrinsics.IntrinsicSyntaxError as exc:
                        check.schema(
                            f"The value for the field '{key}' must be a valid JSONPath or a "
                            f"valid intrinsic function call ({exc})",
                            f"{where}/{key}",
                        )
                else:
                    try:
                        sim_paths.parse(inner)
                    except sim_paths.PathSyntaxError:
                        check.schema(
                            f"The value for the field '{key}' must be a valid JSONPath or a "
                            "valid intrinsic function call",
                            f"{where}/{key}",
                        )
            else:
                if isinstance(inner, str) and (
                    inner.startswith(("$.", "$$.")) or sim_intrinsics.is_intrinsic(inner)
                ):
                    check.diagnostics.append(
                        Diagnostic(
                            "NO_DOLLAR",
                            f"The value of '{key}' looks like a path or an intrinsic function, "
                            f"but the field name does not end with '.$': it is passed as text",
                            f"{where}/{key}",
                            "WARNING",
                        )
                    )
                _check_template(inner, f"{where}/{key}", check)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            _check_template(inner, f"{where}/{i}", check)


def _expr(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def _positive_int_or_expr(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool) and value > 0) or _expr(value)
