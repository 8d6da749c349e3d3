"""The sandbox inventory as HTML and as text: what the learner has built, service by service.

Plain functions over a snapshot (a list of :class:`~labkit.sandbox.inventory.Resource`, or the
same fields as dicts, which is how the sandbox widget keeps them). Nothing here reads AWS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from labkit.views.base import (
    Column,
    Group,
    esc,
    notice_html,
    panel_html,
    plural,
    table_html,
    text_table,
)

if TYPE_CHECKING:
    from labkit.sandbox.inventory import Resource

#: The fields of a resource, in the order the table shows them after the service.
FIELDS: tuple[str, ...] = ("service", "kind", "name", "region", "detail")

COLUMNS: tuple[Column, ...] = (
    Column("kind"),
    Column("name", mono=True),
    Column("region"),
    Column("detail"),
)

#: How AWS names its services; the boto3 name is used for any service not listed.
SERVICE_TITLES: Mapping[str, str] = {
    "apigateway": "API Gateway",
    "cloudfront": "CloudFront",
    "cognito-idp": "Cognito user pools",
    "dynamodb": "DynamoDB",
    "firehose": "Data Firehose",
    "globalaccelerator": "Global Accelerator",
    "kinesis": "Kinesis Data Streams",
    "lambda": "Lambda",
    "s3": "S3",
    "sns": "SNS",
    "sqs": "SQS",
    "stepfunctions": "Step Functions",
}

EXAMPLE = 'lab.client("sqs").create_queue(QueueName="orders")'


#: A snapshot: resources, or their fields as dicts (what the widget keeps).
Snapshot = Iterable["Resource | Mapping[str, str]"]


def as_fields(resource: Resource | Mapping[str, str]) -> dict[str, str]:
    """A resource as a plain dict of its :data:`FIELDS` (what the widget keeps and syncs)."""
    if isinstance(resource, Mapping):
        return {f: str(resource.get(f, "")) for f in FIELDS}
    return {f: str(getattr(resource, f)) for f in FIELDS}


def service_title(service: str) -> str:
    """The name AWS gives ``service`` (``SQS`` for ``sqs``)."""
    return SERVICE_TITLES.get(service, service)


def groups(resources: Snapshot) -> list[Group]:
    """The resources grouped by service, in the order services first appear."""
    by_service: dict[str, list[tuple[str, ...]]] = {}
    for resource in resources:
        fields = as_fields(resource)
        by_service.setdefault(fields["service"], []).append(
            (fields["kind"], fields["name"], fields["region"], fields["detail"])
        )
    return [
        Group(service_title(service), plural(len(rows), "resource"), tuple(rows))
        for service, rows in by_service.items()
    ]


def heading(grouped: Sequence[Group]) -> str:
    """``AWS sandbox: 3 resources in 2 services``, or ``AWS sandbox: empty``."""
    total = sum(len(g.rows) for g in grouped)
    if not total:
        return "AWS sandbox: empty"
    return f"AWS sandbox: {plural(total, 'resource')} in {plural(len(grouped), 'service')}"


def _subheading(lab_time: str) -> str:
    return f"lab time {lab_time}" if lab_time else ""


def render_html(
    resources: Snapshot, *, lab_time: str = "", notice: str = "", hint: str = ""
) -> str:
    """The inventory as a self-contained HTML table, grouped by service.

    Args:
        resources: The snapshot.
        lab_time: The lab clock's time when the snapshot was taken, shown beside the heading.
        notice: Something the reader must know first (the lab stopped, ...), shown above.
        hint: The last line (which moment is shown, how the view updates); an empty sandbox's
            advice ends with it.
    """
    grouped = groups(resources)
    body = notice_html("⚠", notice) if notice else ""
    last = ""  # the hint under a table; an empty sandbox's advice ends with it instead
    if grouped:
        body += table_html(COLUMNS, grouped)
        last = hint
    else:
        tail = f" {esc(hint)}" if hint else ""
        body += (
            '<div style="margin-top:4px">No AWS resources yet. Create one in a cell with a '
            f"boto3 client, for example <code>{esc(EXAMPLE)}</code>.{tail}</div>"
        )
    return panel_html(
        kind="sandbox",
        heading=heading(grouped),
        subheading=_subheading(lab_time),
        body=body,
        hint=last,
    )


def render_text(
    resources: Snapshot, *, lab_time: str = "", notice: str = "", hint: str = ""
) -> str:
    """The inventory as an aligned plain-text table (same arguments as :func:`render_html`)."""
    grouped = groups(resources)
    sub = _subheading(lab_time)
    lines = [heading(grouped) + (f" · {sub}" if sub else "")]
    if notice:
        lines.append(f"⚠ {notice}")
    if grouped:
        lines.extend(text_table(COLUMNS, grouped, group_label="service"))
    else:
        lines.append("No AWS resources yet. Create one in a cell with a boto3 client, for example")
        lines.append(f"    {EXAMPLE}")
    if hint:
        lines.append(hint)
    return "\n".join(lines)
