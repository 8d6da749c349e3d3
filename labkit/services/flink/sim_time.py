"""Durations as PyFlink spells them: ``Time.minutes(1)``, ``Duration.of_seconds(30)``.

Flink measures event time and processing time in epoch milliseconds, so every duration here is a
whole number of milliseconds (PyFlink's ``pyflink.common.time.Time`` and ``Duration``). Window
sizes take a ``Time``, watermark bounds a ``Duration``; both also accept a plain number of
milliseconds, as PyFlink's ``allowed_lateness(time_ms)`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from labkit.errors import LabkitError

#: Flink's ``Long.MIN_VALUE`` and ``Long.MAX_VALUE``: the watermark before any event, and the
#: watermark a bounded source emits when it ends (which fires every event-time window).
MIN_TIMESTAMP = -(2**63)
MAX_TIMESTAMP = 2**63 - 1


class FlinkArgumentError(LabkitError):
    """A window, watermark or job argument Flink would refuse (negative size, no key, ...)."""

    code = "FlinkArgumentError"


@dataclass(frozen=True)
class Time:
    """A length of time in milliseconds (``pyflink.common.time.Time``)."""

    millis: int

    @staticmethod
    def milliseconds(n: int) -> Time:
        """``n`` milliseconds."""
        return Time(int(n))

    @staticmethod
    def seconds(n: float) -> Time:
        """``n`` seconds."""
        return Time(round(n * 1000))

    @staticmethod
    def minutes(n: float) -> Time:
        """``n`` minutes."""
        return Time(round(n * 60_000))

    @staticmethod
    def hours(n: float) -> Time:
        """``n`` hours."""
        return Time(round(n * 3_600_000))

    @staticmethod
    def days(n: float) -> Time:
        """``n`` days."""
        return Time(round(n * 86_400_000))

    def to_milliseconds(self) -> int:
        """The length in milliseconds."""
        return self.millis


@dataclass(frozen=True)
class Duration:
    """A length of time in milliseconds (``pyflink.common.time.Duration``)."""

    millis: int

    @staticmethod
    def of_millis(n: int) -> Duration:
        """``n`` milliseconds."""
        return Duration(int(n))

    @staticmethod
    def of_seconds(n: float) -> Duration:
        """``n`` seconds."""
        return Duration(round(n * 1000))

    @staticmethod
    def of_minutes(n: float) -> Duration:
        """``n`` minutes."""
        return Duration(round(n * 60_000))

    @staticmethod
    def of_hours(n: float) -> Duration:
        """``n`` hours."""
        return Duration(round(n * 3_600_000))

    @staticmethod
    def of_days(n: float) -> Duration:
        """``n`` days."""
        return Duration(round(n * 86_400_000))

    def to_milliseconds(self) -> int:
        """The length in milliseconds."""
        return self.millis


def millis(value: object, what: str) -> int:
    """``value`` as milliseconds: a ``Time``, ``Duration``, ``timedelta`` or whole milliseconds.

    Raises:
        FlinkArgumentError: For anything else, naming ``what`` it was given as.
    """
    if isinstance(value, (Time, Duration)):
        return value.millis
    if isinstance(value, timedelta):
        return round(value.total_seconds() * 1000)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise FlinkArgumentError(
        f"{what} must be a Time (Time.seconds(30)), a Duration (Duration.of_seconds(30)) or "
        f"milliseconds as an int, not {value!r}."
    )
