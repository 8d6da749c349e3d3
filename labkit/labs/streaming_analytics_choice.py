"""The streaming analytics lab's ``stream_choice`` check: Kinesis or MSK for two workloads, with
the reason.

The learner sets ``CHOICES``: for each workload of :data:`WORKLOADS`, a service and a reason, as
``("msk", "retention")``, ``{"service": "Kinesis Data Streams", "reason": "..."}`` or the like.
Services may be written as AWS names them (``kinesis``, ``Amazon Kinesis Data Streams``,
``msk``, ``Amazon MSK``, ``kafka``, ``MSK Serverless``). The reason is free text or a list; it
must name the requirement that decides between the services (a word of
:data:`REASON_WORDS`).

Each workload's requirements are tried against each service with the numbers the lesson had
the learner measure, all from the fact table: Kinesis keeps records at most
``kinesis.retention_max``; a topic on MSK, provisioned or Serverless, keeps them as long as its
``retention.ms`` says (``msk.serverless_retention_unlimited``); a provisioned MSK cluster has
brokers someone sizes and adds before a peak, while a Kinesis on-demand stream and MSK
Serverless scale with the traffic. A choice passes when its service meets every requirement;
the reason when it names a requirement that rules out another service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labkit import facts
from labkit.grading.checks import CheckContext, short

KINESIS, MSK, MSK_SERVERLESS = "Kinesis Data Streams", "MSK (provisioned)", "MSK Serverless"

SERVICE_NAMES = {
    "kinesis": KINESIS,
    "kinesis data streams": KINESIS,
    "amazon kinesis data streams": KINESIS,
    "amazon kinesis": KINESIS,
    "kds": KINESIS,
    "msk": MSK,
    "amazon msk": MSK,
    "kafka": MSK,
    "msk provisioned": MSK,
    "amazon managed streaming for apache kafka": MSK,
    "msk serverless": MSK_SERVERLESS,
    "amazon msk serverless": MSK_SERVERLESS,
    "kafka serverless": MSK_SERVERLESS,
}

#: Words that name each requirement in a learner's reason.
REASON_WORDS = {
    "retention": ("retention", "retain", "replay", "keep", "kept", "365", "year", "history"),
    "scaling": (
        "scal",
        "serverless",
        "on-demand",
        "on demand",
        "broker",
        "capacity",
        "peak",
        "spike",
        "size nothing",
        "no server",
    ),
    "record_size": ("record size", "message size", "mib", " mb", "large record", "big record"),
    "consumers": ("consumer", "fan-out", "fan out", "readers"),
    "ordering": ("order",),
}


@dataclass(frozen=True)
class Requirement:
    """What a workload needs, and which services cannot give it (with why)."""

    name: str
    fails: Callable[[str], str | None]


def _retention_days() -> int:
    return int(facts.value("kinesis.retention_max")) // 86_400


def _needs_retention(days: int) -> Requirement:
    def fails(service: str) -> str | None:
        if service == KINESIS and days > _retention_days():
            return (
                f"Kinesis keeps a record at most {_retention_days()} days "
                f"(kinesis.retention_max); this workload replays {days} days"
            )
        return None

    return Requirement("retention", fails)


def _needs_no_sizing(peak: str) -> Requirement:
    def fails(service: str) -> str | None:
        if service == MSK:
            return (
                f"a provisioned MSK cluster has the brokers you chose; {peak} means adding "
                "brokers (and moving partitions) ahead of it, and this team sizes nothing"
            )
        return None

    return Requirement("scaling", fails)


@dataclass(frozen=True)
class Workload:
    """A workload the learner picks a service for."""

    name: str
    description: str
    requirements: tuple[Requirement, ...]


WORKLOADS = {
    "scan_history": Workload(
        "scan_history",
        "Scan metadata from 40 hospitals, 200 KB a record, 3 MB/s, ordered per patient; every "
        "record kept for two years (730 days) so new models can replay the whole history.",
        (_needs_retention(730),),
    ),
    "clickstream": Workload(
        "clickstream",
        "A shop's clicks, 2 KB each, 5 MB/s that jumps tenfold for an hour after a TV ad; kept "
        "24 hours, read by a Lambda function, Firehose and a Flink application; the team runs "
        "no servers and sizes nothing in advance.",
        (_needs_no_sizing("a tenfold jump after a TV ad"),),
    ),
}


def _service(ctx: CheckContext, name: str, answer: Any) -> tuple[str, str]:
    if isinstance(answer, dict):
        service, reason = answer.get("service"), answer.get("reason", "")
    elif isinstance(answer, (tuple, list)) and len(answer) >= 1:
        service, reason = answer[0], answer[1:] if len(answer) > 2 else answer[1:2]
    else:
        service, reason = answer, ""
    if isinstance(reason, (list, tuple)):
        reason = " ".join(str(r) for r in reason)
    key = str(service).strip().lower().replace("_", " ")
    if key not in SERVICE_NAMES:
        ctx.fail(
            f"`CHOICES[{name!r}]` names the service {short(service)}, which the check does not "
            "know.",
            hint="Write the service as AWS names it: 'kinesis', 'msk' or 'msk serverless'.",
        )
    return SERVICE_NAMES[key], str(reason or "")


def reasons_named(text: str) -> set[str]:
    """The requirements a learner's reason names."""
    lowered = f" {text.lower()} "
    return {need for need, words in REASON_WORDS.items() if any(w in lowered for w in words)}


def check_stream_choice(ctx: CheckContext) -> None:
    """Each workload on a service that meets its requirements, for the reason that decides."""
    choices = ctx.value("CHOICES", types=dict)
    missing = [name for name in WORKLOADS if name not in choices]
    if missing:
        ctx.fail(
            f"`CHOICES` has no answer for {', '.join(missing)}.",
            hint=f"Answer each of {', '.join(WORKLOADS)}: `(service, reason)`.",
        )
    for name, workload in WORKLOADS.items():
        service, reason = _service(ctx, name, choices[name])
        broken = [(r.name, why) for r in workload.requirements if (why := r.fails(service))]
        if broken:
            need, why = broken[0]
            ctx.fail(
                f"{name} on {service}: {why}.",
                hint=f"Read the workload's {need.replace('_', ' ')} against what you measured "
                "in the lesson, and choose the service that meets it.",
            )
        if not reason.strip():
            ctx.fail(
                f"{name}: {service} fits, but the reason is empty.",
                hint="Say which requirement decides: retention, scaling, record size, "
                "consumers or ordering.",
            )
        deciding = {r.name for r in workload.requirements}
        named = reasons_named(reason)
        if not named & deciding:
            others = [s for s in (KINESIS, MSK, MSK_SERVERLESS) if s != service]
            ruled_out = [
                f"{s} fails: {why}"
                for s in others
                for r in workload.requirements
                if (why := r.fails(s))
            ]
            ctx.fail(
                f"{name}: {service} fits, but the reason {short(reason)} "
                f"({', '.join(sorted(named)) or 'no requirement named'}) is not what decides: "
                f"{'; '.join(ruled_out)}.",
                hint="Give the requirement that rules the other service out, in the words of "
                "what you measured: retention, scaling, record size, consumers or ordering.",
            )


__all__ = ["WORKLOADS", "check_stream_choice", "reasons_named"]
