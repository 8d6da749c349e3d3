"""The one table of AWS facts the course teaches, each with its documentation source.

Lessons and simulators read numbers from here and never retype them. The table is
``facts.toml`` beside this file; each entry has a value, a unit, a title, the AWS documentation
page that states it and the date it was checked, and, where the curriculum's source notes got it
wrong or out of date, what the notes said.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from labkit.errors import LabkitError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


@dataclass(frozen=True)
class Fact:
    """One documented AWS number (or setting).

    Attributes:
        id: Dotted identifier, e.g. ``sqs.max_message_size``.
        value: The value, in ``unit``.
        unit: The unit (bytes, seconds, count, ...).
        title: What it is, for a learner.
        source: The AWS documentation page that states it.
        as_of: The date it was checked against that page.
        notes_said: What the curriculum's notes said, when they were wrong or out of date.
        comment: Nuance worth knowing (soft quota, per shard, ...).
    """

    id: str
    value: Any
    unit: str
    title: str
    source: str
    as_of: str
    notes_said: str = ""
    comment: str = ""

    def text(self) -> str:
        """One line for a learner: the value, its unit, and where it comes from."""
        line = (
            f"{self.title}: {self.value:,} {self.unit}"
            if isinstance(self.value, (int, float)) and not isinstance(self.value, bool)
            else f"{self.title}: {self.value}"
        )
        if self.notes_said:
            line += f" (the notes say {self.notes_said!r}: out of date)"
        return f"{line} [source: {self.source}, checked {self.as_of}]"

    def __str__(self) -> str:
        return self.text()


class UnknownFactError(LabkitError):
    """A fact id that the table does not have."""

    code = "UnknownFact"


@cache
def table() -> MappingProxyType[str, Fact]:
    """Every fact by id (read-only)."""
    raw = tomllib.loads(resources.files("labkit.facts").joinpath("facts.toml").read_text("utf-8"))
    facts: dict[str, Fact] = {}
    for service, entries in raw.items():
        for name, entry in entries.items():
            fact_id = f"{service}.{name}"
            facts[fact_id] = Fact(
                id=fact_id,
                value=entry["value"],
                unit=str(entry["unit"]),
                title=str(entry["title"]),
                source=str(entry["source"]),
                as_of=str(entry["as_of"]),
                notes_said=str(entry.get("notes_said", "")),
                comment=str(entry.get("comment", "")),
            )
    return MappingProxyType(facts)


def fact(fact_id: str) -> Fact:
    """The fact called ``fact_id``."""
    facts = table()
    if fact_id not in facts:
        close = [f for f in facts if f.split(".", 1)[0] == fact_id.split(".", 1)[0]]
        raise UnknownFactError(
            f"There is no fact {fact_id!r}. Facts of that service: {', '.join(close) or 'none'}."
        )
    return facts[fact_id]


def value(fact_id: str) -> Any:
    """The value of the fact called ``fact_id`` (e.g. ``value("sqs.max_message_size")``)."""
    return fact(fact_id).value


__all__ = ["Fact", "UnknownFactError", "fact", "table", "value"]
