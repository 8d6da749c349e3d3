"""Grading: checks, their results, and running them safely (plain Python, no moto, no widgets)."""

from labkit.grading.checks import Check, CheckContext, CheckFailed
from labkit.grading.results import CheckResult, ScoreReport
from labkit.grading.runner import run_check, run_checks

__all__ = [
    "Check",
    "CheckContext",
    "CheckFailed",
    "CheckResult",
    "ScoreReport",
    "run_check",
    "run_checks",
]
