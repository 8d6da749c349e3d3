"""What a lab is: its id, title, notebooks and checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from labkit.errors import UnknownCheckError
from labkit.grading.checks import Check


@dataclass(frozen=True)
class LabSpec:
    """One lab of the course.

    Attributes:
        id: Short identifier (``labkit.start(id)``).
        title: What the lab is about.
        lesson: The guided lesson notebook, relative to the repository root.
        exercise: The notebook learners fill in (generated from the solution).
        solution: The worked solution notebook (generated from its source).
        source: The solution's source (a jupytext percent file), the one file authors edit.
        checks: The graded behaviours, in the order learners meet them.
    """

    id: str
    title: str
    lesson: str
    exercise: str
    solution: str
    source: str
    lesson_source: str
    checks: tuple[Check, ...] = field(default_factory=tuple)

    def check(self, name: str) -> Check:
        """The check called ``name``."""
        for candidate in self.checks:
            if candidate.name == name:
                return candidate
        raise UnknownCheckError(self.id, name, [c.name for c in self.checks])

    @property
    def max_score(self) -> float:
        """Points available in all the lab's checks, hidden ones included."""
        return sum(c.points for c in self.checks)
