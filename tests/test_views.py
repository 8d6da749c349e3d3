"""The plain renderers of labkit.views: HTML and text forms of a sandbox snapshot."""

from __future__ import annotations

import html
import re

import pytest

from labkit.sandbox.inventory import Resource
from labkit.views.base import width
from labkit.views.inventory import as_fields, groups, render_html, render_text

SNAPSHOT = [
    Resource("sqs", "queue", "orders", "us-east-1", "3 visible · 1 in flight · 0 delayed"),
    Resource("sqs", "FIFO queue", "payments.fifo", "eu-west-1", "0 visible · 0 in flight"),
    Resource("s3", "bucket", "photos", "global", "12 objects"),
    Resource("dynamodb", "table", "users", "us-east-1", "5 items"),
]


def _text_of(markup: str) -> str:
    """What a reader sees of some HTML: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


@pytest.mark.parametrize("render", [render_html, render_text])
def test_every_field_of_every_resource_is_shown(render):
    out = _text_of(render(SNAPSHOT)) if render is render_html else render(SNAPSHOT)
    for r in SNAPSHOT:
        for value in (r.kind, r.name, r.region, r.detail):
            assert value in out, f"{value!r} missing from {render.__name__}"


def test_html_groups_by_service_with_a_count_in_order_of_appearance():
    page = _text_of(render_html(SNAPSHOT))
    assert "AWS sandbox: 4 resources in 3 services" in page
    sqs = page.index("SQS · 2 resources")
    s3 = page.index("S3 · 1 resource")
    ddb = page.index("DynamoDB · 1 resource")
    assert sqs < page.index("payments.fifo") < s3 < page.index("photos") < ddb
    # Both SQS resources sit under the one SQS heading: it appears once.
    assert page.count("SQS ·") == 1


def test_resources_of_a_service_are_grouped_even_when_not_adjacent():
    shuffled = [SNAPSHOT[0], SNAPSHOT[2], SNAPSHOT[1]]
    (first, second) = groups(shuffled)
    assert (first.title, first.count, len(first.rows)) == ("SQS", "2 resources", 2)
    assert (second.title, second.count) == ("S3", "1 resource")


def test_text_is_an_aligned_table_with_one_count_per_group():
    text = render_text(SNAPSHOT, lab_time="2026-01-05 09:00:00 UTC")
    lines = text.splitlines()
    assert lines[0] == "AWS sandbox: 4 resources in 3 services · lab time 2026-01-05 09:00:00 UTC"
    header = lines[1]
    rows = lines[3:]
    assert len(rows) == len(SNAPSHOT)
    for column in ("kind", "name", "region", "detail"):
        at = header.index(column)
        for row in rows:
            # Each column starts at the header's offset: a space before, a value at it.
            assert row[at - 1] == " " and row[at] != " ", (column, row)
    assert rows[0].startswith("SQS (2 resources)")
    assert rows[1].startswith(" ")  # the second SQS row leaves the service cell blank
    assert rows[2].startswith("S3 (1 resource)")


def test_text_alignment_counts_wide_characters_as_two_columns():
    snap = [
        Resource("s3", "bucket", "写真", "global", "1 object"),
        Resource("s3", "bucket", "photos", "global", "2 objects"),
    ]
    rows = render_text(snap).splitlines()[3:]
    assert width(rows[0].split("global")[0]) == width(rows[1].split("global")[0])


def test_text_keeps_one_line_per_resource_whatever_the_name_holds():
    snap = [Resource("s3", "bucket", "evil\nname\x1b[31m", "global", "0 objects")]
    text = render_text(snap)
    assert len(text.splitlines()) == 4  # heading, column names, rule, one row
    assert "\x1b" not in text


def test_html_escapes_names_and_details():
    snap = [
        Resource("sqs", "queue", '<script>alert("x")</script>', "us-east-1", "a & b <i>"),
        Resource("<b>svc</b>", "<k>", "n", '"r"', "d"),
    ]
    page = render_html(snap)
    assert "<script>" not in page and "<i>" not in page and "<b>svc" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "a &amp; b &lt;i&gt;" in page
    assert "&quot;r&quot;" in page


def test_html_is_self_contained():
    page = render_html(SNAPSHOT, notice="note")
    for external in ("<script", "<link", "<style", "href=", "src=", "url("):
        assert external not in page


def test_empty_sandbox_says_so_and_what_to_do():
    page = _text_of(render_html([], hint="This view updates after each cell you run."))
    assert "AWS sandbox: empty" in page
    assert "No AWS resources yet" in page
    assert 'lab.client("sqs").create_queue(QueueName="orders")' in page
    assert "This view updates after each cell you run." in page
    text = render_text([], hint="Call .refresh() on this view to update it.")
    assert text.splitlines()[0] == "AWS sandbox: empty"
    assert 'lab.client("sqs").create_queue(QueueName="orders")' in text
    assert text.endswith("Call .refresh() on this view to update it.")
    assert "<table" not in render_html([])


def test_a_notice_is_said_in_words_in_both_forms():
    notice = "This lab is no longer running."
    assert notice in _text_of(render_html(SNAPSHOT, notice=notice))
    assert f"⚠ {notice}" in render_text(SNAPSHOT, notice=notice).splitlines()


def test_dicts_render_like_resources_and_unknown_services_keep_their_id():
    as_dicts = [as_fields(r) for r in SNAPSHOT]
    assert render_html(as_dicts) == render_html(SNAPSHOT)
    assert render_text(as_dicts) == render_text(SNAPSHOT)
    page = _text_of(render_html([Resource("newsvc", "thing", "t", "us-east-1", "")]))
    assert "newsvc · 1 resource" in page


def test_edge_services_are_titled_as_aws_names_them():
    snap = [
        Resource("globalaccelerator", "accelerator", "web", "global", "2 IPs"),
        Resource("cloudfront", "distribution", "d1.cloudfront.net", "global", "Deployed"),
    ]
    assert [g.title for g in groups(snap)] == ["Global Accelerator", "CloudFront"]
    assert "Global Accelerator · 1 resource" in _text_of(render_html(snap))
