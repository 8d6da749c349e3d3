"""The migration lab's ``snowball_or_network`` check: the learner's decision on the check's data.

The learner writes ``choose_transfer(size_tb, bandwidth_mbps, utilisation, deadline_days)`` and
answers ``"network"``, ``"snowball"`` or ``"neither"`` (``None`` too) by the rule the exercise
states: the network when it finishes by the deadline (no device to order, ship and return);
otherwise Snowball Edge when its job finishes by the deadline; otherwise neither.

The check asks it about :data:`DATASETS` (sizes, bandwidths, utilisations and deadlines of its
own) and compares each answer with what the documented arithmetic gives
(:mod:`labkit.services.snowball.sim_calculator`: ``bytes x 8 / (bits per second x utilisation)``
over the network; the job's phases on the lab's assumptions, devices of
``snowball.storage_optimized_capacity_tb`` in parallel, by Snowball). It never reads the code:
when the answers are wrong it works out which plausible slip gives exactly those answers (bytes
taken for bits, the link taken as all yours, a Snowball job taken as its copying alone, the
faster way taken whatever the deadline) and names it. Each data set is far from its deadline
either way (10 % or more), so any careful arithmetic answers alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from labkit.grading.checks import CheckContext
from labkit.services.snowball.sim_calculator import (
    TB,
    device_capacity_bytes,
    network_seconds,
    snowball_seconds,
)
from labkit.services.snowball.sim_jobs import DEFAULT_PHASES

DAY = 86_400.0
NETWORK, SNOWBALL, NEITHER = "network", "snowball", "neither"


@dataclass(frozen=True)
class Dataset:
    """One data set to move: decimal TB, megabits per second, the link's share, days."""

    name: str
    size_tb: float
    bandwidth_mbps: float
    utilisation: float
    deadline_days: float

    def text(self) -> str:
        """The data set in a learner's words."""
        return (
            f"{self.name} ({self.size_tb:g} TB over {self.bandwidth_mbps:,g} Mbit/s at "
            f"{self.utilisation:.0%}, {self.deadline_days:g} days)"
        )


DATASETS = (
    Dataset("clinic scans", 2, 1_000, 0.8, 7),
    Dataset("video archive", 80, 1_000, 0.8, 14),
    Dataset("branch backups", 50, 200, 0.9, 14),
    Dataset("shared-link warehouse", 100, 1_000, 0.3, 16),
    Dataset("sensor history", 150, 1_000, 0.8, 10),
    Dataset("data-centre exit", 500, 10_000, 0.7, 30),
    Dataset("film library", 400, 100, 0.8, 30),
    Dataset("media renders", 200, 1_000, 0.9, 30),
)


def _network_days(d: Dataset, *, bits: bool = True, utilisation: bool = True) -> float:
    size = d.size_tb * TB / (1 if bits else 8)
    return network_seconds(size, d.bandwidth_mbps * 1e6, d.utilisation if utilisation else 1.0) / (
        DAY
    )


def _snowball_days(d: Dataset, *, shipping: bool = True) -> float:
    if shipping:
        return snowball_seconds(d.size_tb * TB) / DAY
    # Copying alone, onto the device and into S3, devices in parallel.
    per_device = min(d.size_tb * TB, device_capacity_bytes())
    return 2 * DEFAULT_PHASES.copy_seconds(per_device) / DAY


def decide(network_days: float, snowball_days: float, deadline_days: float) -> str:
    """The exercise's rule: the network if it makes the deadline, else Snowball, else neither."""
    if network_days <= deadline_days:
        return NETWORK
    if snowball_days <= deadline_days:
        return SNOWBALL
    return NEITHER


def expected(d: Dataset) -> str:
    """What the documented numbers give for ``d``."""
    return decide(_network_days(d), _snowball_days(d), d.deadline_days)


#: Plausible slips, each as the answers it gives: (what it is, the hint).
MISTAKES: tuple[tuple[str, Callable[[Dataset], str], str], ...] = (
    (
        "bytes taken for bits",
        lambda d: decide(_network_days(d, bits=False), _snowball_days(d), d.deadline_days),
        "A link's bandwidth is in bits per second and a data set's size in bytes: multiply the "
        "bytes by 8 (1 TB = 10^12 bytes = 8 x 10^12 bits; 1 Mbit/s = 10^6 bits per second).",
    ),
    (
        "the whole link taken as yours",
        lambda d: decide(_network_days(d, utilisation=False), _snowball_days(d), d.deadline_days),
        "The transfer gets only `utilisation` of the link (the rest carries the site's other "
        "traffic): divide by bandwidth x utilisation, not by the bandwidth alone.",
    ),
    (
        "a Snowball job taken as its copying alone",
        lambda d: decide(_network_days(d), _snowball_days(d, shipping=False), d.deadline_days),
        "A Snowball job is more than copying: ordering, preparing, shipping out and back and "
        f"sorting add {_snowball_days(Dataset('', 0, 1, 1, 0)):g} days in this course "
        "(`labkit.services.snowball.sim_jobs.DEFAULT_PHASES`, or `snowball_seconds` in "
        "`labkit.services.snowball.sim_calculator`), on top of copying onto the device at the "
        "site and again into S3 at AWS.",
    ),
    (
        "the faster way taken, whatever the deadline",
        lambda d: NETWORK if _network_days(d) <= _snowball_days(d) else SNOWBALL,
        "Faster is not the question: the network is the answer whenever it makes the deadline "
        "(no device to order, ship and return), Snowball only when the network misses it and "
        "the job makes it, and 'neither' when both miss.",
    ),
)

RULE_HINT = (
    "The rule: 'network' when size x 8 / (bandwidth x utilisation) is within the deadline; "
    "otherwise 'snowball' when the whole Snowball job (phases plus copying both ways) is; "
    "otherwise 'neither'."
)


def read_answer(answer: object) -> str | None:
    """A learner's answer as ``network``/``snowball``/``neither`` (``None`` when unreadable)."""
    if answer is None:
        return NEITHER
    if not isinstance(answer, str):
        return None
    word = answer.strip().lower()
    if word in ("", "none", "neither", "no", "nothing"):
        return NEITHER
    if "snow" in word or word == "offline":
        return SNOWBALL
    if word in ("network", "online", "internet", "datasync", "the network", "net"):
        return NETWORK
    return None


def check_snowball_or_network(ctx: CheckContext) -> None:
    """``choose_transfer`` answers each of the check's data sets as the arithmetic does."""
    choose = ctx.function("choose_transfer")
    answers: dict[str, str] = {}
    for d in DATASETS:
        raw = ctx.call(choose, d.size_tb, d.bandwidth_mbps, d.utilisation, d.deadline_days)
        read = read_answer(raw)
        if read is None:
            ctx.fail(
                f"`choose_transfer` answered {raw!r} for {d.text()}: neither 'network', "
                "'snowball' nor 'neither'.",
                hint="Return one of the strings 'network', 'snowball' or 'neither' (None for "
                "neither works too).",
            )
        answers[d.name] = read
    wrong = [d for d in DATASETS if answers[d.name] != expected(d)]
    if not wrong:
        return
    said = "; ".join(
        f"{d.text()}: you said {answers[d.name]}, the numbers say {expected(d)} (network "
        f"{_network_days(d):.1f} days, Snowball {_snowball_days(d):.1f} days)"
        for d in wrong[:3]
    )
    more = f" …and {len(wrong) - 3} more." if len(wrong) > 3 else ""
    slips = [
        (what, hint)
        for what, answer_of, hint in MISTAKES
        if all(answer_of(d) == answers[d.name] for d in DATASETS)
    ]
    why = f" Your answers are exactly those of {slips[0][0]}." if slips else ""
    ctx.fail(
        f"{len(wrong)} of {len(DATASETS)} data sets got another answer than the arithmetic: "
        f"{said}.{more}{why}",
        hint=slips[0][1] if slips else RULE_HINT,
    )


def devices_for(size_tb: float) -> int:
    """Snowball Edge devices a data set of ``size_tb`` fills (for the lesson's table)."""
    return max(1, math.ceil(size_tb * TB / device_capacity_bytes()))
