"""A DMS task's table mappings: which tables move, under which names, with which columns.

The ``TableMappings`` JSON as AWS documents it
(https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TableMapping.SelectionTransformation.html):

- **selection rules** (``"rule-type": "selection"``) pick tables by ``object-locator``
  (``schema-name``, ``table-name``; ``%`` matches any run of characters, as in SQL's ``LIKE``)
  with ``"rule-action": "include"``, ``"exclude"`` or ``"explicit"``; a table moves when an
  include (or explicit) rule matches it and no exclude rule does; a task needs at least one
  selection rule;
- **transformation rules** (``"rule-type": "transformation"``) with a ``rule-target`` of
  ``schema``, ``table`` or ``column``: ``rename`` (to ``value``), ``add-prefix``,
  ``remove-prefix``, ``add-suffix``, ``remove-suffix``, ``convert-lowercase``,
  ``convert-uppercase`` and ``remove-column``; rules apply in ``rule-id`` order (AWS applies
  them in order of their ids too).

Plain Python: the patch plans each source table with :meth:`Mappings.plan`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labkit.errors import LabkitError

_ACTIONS = {
    "rename",
    "add-prefix",
    "remove-prefix",
    "add-suffix",
    "remove-suffix",
    "convert-lowercase",
    "convert-uppercase",
    "remove-column",
}


class MappingError(LabkitError):
    """Table mappings AWS would refuse (``InvalidParameterValueException``)."""

    code = "InvalidParameterValueException"


def _like(pattern: str, value: str) -> bool:
    """``%`` matches any run of characters; everything else literally (case-sensitive)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    return re.fullmatch(regex, value) is not None


@dataclass(frozen=True)
class Rule:
    """One rule of the mappings, as parsed."""

    rule_id: int
    rule_type: str
    action: str
    schema: str
    table: str
    column: str = "%"
    target: str = ""
    value: str = ""

    def matches(self, schema: str, table: str, column: str = "") -> bool:
        """Whether the rule's object locator covers this schema, table (and column)."""
        return (
            _like(self.schema, schema)
            and _like(self.table, table)
            and (not column or _like(self.column, column))
        )


def _apply(action: str, name: str, value: str) -> str:
    if action == "rename":
        return value
    if action == "add-prefix":
        return value + name
    if action == "add-suffix":
        return name + value
    if action == "remove-prefix":
        return name[len(value) :] if name.startswith(value) else name
    if action == "remove-suffix":
        return name[: -len(value)] if value and name.endswith(value) else name
    if action == "convert-lowercase":
        return name.lower()
    if action == "convert-uppercase":
        return name.upper()
    return name


@dataclass(frozen=True)
class TablePlan:
    """How one source table lands at the target.

    Attributes:
        schema, table: The source table.
        target_schema, target_table: Its name at the target after transformations.
        columns: ``(source column, target column)`` pairs in the table's order; removed columns
            are absent.
        key: The source table's primary-key columns.
    """

    schema: str
    table: str
    target_schema: str
    target_table: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]

    @property
    def target_columns(self) -> list[str]:
        """The column names at the target, in order."""
        return [target for _, target in self.columns]

    @property
    def target_key(self) -> list[str]:
        """The primary-key columns under their target names (removed ones left out)."""
        names = dict(self.columns)
        return [names[k] for k in self.key if k in names]

    def project(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A source row (column -> value) as the target sees it (target column -> value)."""
        return {target: row.get(source) for source, target in self.columns}


class Mappings:
    """Parsed ``TableMappings``: ask :meth:`plan` for each source table."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = sorted(rules, key=lambda r: r.rule_id)

    @classmethod
    def parse(cls, raw: str | Mapping[str, Any] | None) -> Mappings:
        """From the JSON string (or dict) the API takes; raises :class:`MappingError`."""
        if raw is None or raw == "":
            raise MappingError("TableMappings is required: at least one selection rule")
        try:
            document = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except json.JSONDecodeError as error:
            raise MappingError(f"TableMappings is not valid JSON: {error}") from None
        items = document.get("rules") if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise MappingError('TableMappings needs a "rules" list')
        rules = []
        for n, item in enumerate(items, 1):
            if not isinstance(item, dict):
                raise MappingError(f"rule {n} is not an object")
            kind = str(item.get("rule-type", ""))
            action = str(item.get("rule-action", ""))
            locator = item.get("object-locator") or {}
            if kind not in ("selection", "transformation"):
                raise MappingError(
                    f"rule {n}: rule-type must be selection or transformation, not {kind!r} "
                    "(table-settings and others are not simulated)"
                )
            if kind == "selection" and action not in ("include", "exclude", "explicit"):
                raise MappingError(
                    f"rule {n}: a selection rule's rule-action is include, exclude or explicit, "
                    f"not {action!r}"
                )
            target = str(item.get("rule-target", ""))
            if kind == "transformation":
                if action not in _ACTIONS:
                    raise MappingError(
                        f"rule {n}: transformation rule-action {action!r} is not simulated "
                        f"(simulated: {', '.join(sorted(_ACTIONS))})"
                    )
                if target not in ("schema", "table", "column"):
                    raise MappingError(
                        f"rule {n}: rule-target must be schema, table or column, not {target!r}"
                    )
                if action == "remove-column" and target != "column":
                    raise MappingError(f"rule {n}: remove-column needs rule-target column")
                needs_value = action in ("rename", "add-prefix", "add-suffix")
                if needs_value and not str(item.get("value", "")):
                    raise MappingError(f"rule {n}: {action} needs a value")
            whole = "schema-name" in locator and "table-name" in locator
            if not whole and not (kind == "transformation" and target == "schema"):
                raise MappingError(f"rule {n}: object-locator needs schema-name and table-name")
            try:
                rule_id = int(str(item.get("rule-id", n)))
            except ValueError:
                raise MappingError(f"rule {n}: rule-id must be a number") from None
            rules.append(
                Rule(
                    rule_id=rule_id,
                    rule_type=kind,
                    action=action,
                    schema=str(locator.get("schema-name", "%")),
                    table=str(locator.get("table-name", "%")),
                    column=str(locator.get("column-name", "%")),
                    target=target,
                    value=str(item.get("value", "")),
                )
            )
        if not any(r.rule_type == "selection" for r in rules):
            raise MappingError("TableMappings needs at least one selection rule")
        return cls(rules)

    def selected(self, schema: str, table: str) -> bool:
        """Whether an include rule matches the table and no exclude rule does."""
        selection = [r for r in self.rules if r.rule_type == "selection"]
        included = any(
            r.matches(schema, table) for r in selection if r.action in ("include", "explicit")
        )
        excluded = any(r.matches(schema, table) for r in selection if r.action == "exclude")
        return included and not excluded

    def plan(
        self, schema: str, table: str, columns: Sequence[str], key: Sequence[str]
    ) -> TablePlan | None:
        """How ``schema.table`` lands at the target, or ``None`` when it is not selected."""
        if not self.selected(schema, table):
            return None
        target_schema, target_table = schema, table
        renamed = {c: c for c in columns}
        removed: set[str] = set()
        for rule in self.rules:
            if rule.rule_type != "transformation":
                continue
            if rule.target == "schema" and _like(rule.schema, schema):
                target_schema = _apply(rule.action, target_schema, rule.value)
            elif rule.target == "table" and rule.matches(schema, table):
                target_table = _apply(rule.action, target_table, rule.value)
            elif rule.target == "column" and rule.matches(schema, table):
                for column in columns:
                    if rule.matches(schema, table, column):
                        if rule.action == "remove-column":
                            removed.add(column)
                        else:
                            renamed[column] = _apply(rule.action, renamed[column], rule.value)
        kept = tuple((c, renamed[c]) for c in columns if c not in removed)
        return TablePlan(schema, table, target_schema, target_table, kept, tuple(key))
