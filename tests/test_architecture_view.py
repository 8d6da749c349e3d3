"""The architecture map's renderers and widget: the SVG is deterministic and says every status in
words and symbols (never colour alone), the text form lists every node and edge, and ``lab.map()``
is a live view whose counts grow as messages flow, or a held one that keeps its moment."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from architecture_support import queue_to_function, topic_to_queue
from traitlets import TraitError

from labkit.lab import Lab
from labkit.views.architecture import (
    NODE_H,
    NODE_W,
    as_state,
    layout,
    render_html,
    render_text,
    svg,
)
from labkit.widgets.architecture_view import MapView, check_map


def node(
    name: str,
    service: str = "SQS",
    kind: str = "queue",
    tier: str = "integration",
    region: str = "us-east-1",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": f"id:{name}",
        "service": service,
        "kind": kind,
        "name": name,
        "region": region,
        "tier": tier,
        "detail": "",
        "missing": False,
        **extra,
    }


def link(source: str, target: str, status: str = "ok", **extra: Any) -> dict[str, Any]:
    return {
        "source": f"id:{source}",
        "target": f"id:{target}",
        "kind": "SNS subscription",
        "label": "sqs",
        "status": status,
        "reason": f"why {source}->{target}",
        "count": 2,
        "flow": "2 delivered",
        **extra,
    }


def state(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    return {"account": "123456789012", "nodes": nodes, "edges": edges, "now": 0.0, "problems": []}


SAMPLE = state(
    [
        node("site", "CloudFront", "distribution", "edge", "global"),
        node("shop", "API Gateway", "REST API", "front door"),
        node("worker", "Lambda", "function", "compute"),
        node("orders", "SNS", "topic"),
        node("billing"),
        node("replica", "DynamoDB", "table", "data", "eu-west-1"),
        node("gone", missing=True),
    ],
    [
        link("orders", "billing"),
        link("orders", "gone", "missing"),
        link("shop", "worker", "broken"),
        link("billing", "worker", "denied on AWS"),
    ],
)


def test_the_svg_is_the_same_for_the_same_sandbox() -> None:
    assert svg(SAMPLE) == svg(copy.deepcopy(SAMPLE))
    assert render_html(SAMPLE) == render_html(copy.deepcopy(SAMPLE))


def test_nodes_stand_in_their_groups_left_to_right() -> None:
    placed = layout(SAMPLE)
    x = {n["name"]: placed.places[n["id"]][0] for n in SAMPLE["nodes"]}
    y = {n["name"]: placed.places[n["id"]][1] for n in SAMPLE["nodes"]}
    assert x["shop"] < x["worker"] < x["orders"]
    assert x["orders"] < x["billing"]  # a topic feeding a queue of its tier stands left of it
    assert y["site"] < y["replica"] < y["shop"]  # the edge band above the Regions
    assert x["replica"] > x["billing"]  # the data tier stands right of integration in every Region
    titles = [b.title for b in placed.boxes]
    assert titles[0] == "AWS Cloud · account 123456789012"
    assert {"Edge locations (global)", "Region us-east-1", "Region eu-west-1"} <= set(titles)
    west = next(b for b in placed.boxes if b.title == "Region eu-west-1")
    east = next(b for b in placed.boxes if b.title == "Region us-east-1")
    assert west.y < east.y  # Regions stack in name order


@pytest.mark.parametrize(
    ("status", "words"),
    [("broken", "✗ broken"), ("missing", "✗ missing"), ("denied on AWS", "⚠ denied on aws")],
)
def test_a_broken_edge_is_dashed_and_marked_in_words(status: str, words: str) -> None:
    drawn = svg(SAMPLE)
    group = re.search(rf'<g class="labkit-map-edge" data-status="{status}">(.*?)</g>', drawn)
    assert group is not None
    assert "stroke-dasharray" in group.group(1) and words in group.group(1)


def test_an_ok_edge_is_solid_and_shows_its_count() -> None:
    drawn = svg(SAMPLE)
    group = re.search(r'<g class="labkit-map-edge" data-status="ok">(.*?)</g>', drawn)
    assert group is not None
    assert "stroke-dasharray" not in group.group(1) and "✓ 2" in group.group(1)


def test_a_missing_resource_is_a_dashed_box_that_says_so() -> None:
    drawn = svg(SAMPLE)
    gone = re.search(r'<g class="labkit-map-node"><title>gone[^<]*</title>(.*?)</g>', drawn)
    assert gone is not None
    assert "stroke-dasharray" in gone.group(1) and "✗ missing: gone" in gone.group(1)


def test_the_text_form_lists_every_node_and_edge_with_status_and_count() -> None:
    text = render_text(SAMPLE)
    for n in SAMPLE["nodes"]:
        assert n["name"] in text
    lines = text.splitlines()
    assert any(
        "billing" in line and "✓ allowed" in line and "2 delivered" in line for line in lines
    )
    assert any("✗ BROKEN" in line and "why shop->worker" in line for line in lines)
    assert any("✗ MISSING" in line and "gone" in line for line in lines)
    assert any("⚠ DENIED ON AWS" in line for line in lines)
    assert "Architecture map: 7 resources, 4 connections (3 not working)" in lines[0]


def test_names_are_escaped_and_nothing_runs() -> None:
    evil = state([node("<script>alert(1)</script>")], [])
    html = render_html(evil)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_an_empty_map_says_how_to_start() -> None:
    assert "Nothing to draw yet" in render_text(as_state({}))
    assert "Nothing to draw yet" in render_html(as_state({}))


def test_the_widget_refuses_a_malformed_map() -> None:
    with pytest.raises(TraitError, match="wrong keys"):
        check_map({"nodes": []})
    with pytest.raises(TraitError, match="must be a list"):
        check_map({"account": "", "nodes": {}, "edges": [], "now": 0.0, "problems": []})


def test_a_live_map_counts_grow_as_messages_flow(lab: Lab) -> None:
    topic, _ = topic_to_queue(lab)
    view = lab.map()
    assert isinstance(view, MapView) and not view.held
    assert "0 delivered" in view.to_text()
    lab.client("sns").publish(TopicArn=topic, Message="one")
    lab.client("sns").publish(TopicArn=topic, Message="two")
    view.refresh()
    assert "2 delivered" in view.to_text()
    assert len(view.history) == 2


def test_a_held_map_keeps_its_moment(lab: Lab) -> None:
    topic, _ = topic_to_queue(lab)
    held = lab.map(hold=True)
    lab.client("sns").publish(TopicArn=topic, Message="later")
    held.refresh()
    assert "0 delivered" in held.to_text() and "Held as of" in held.to_text()


def test_a_map_of_a_stopped_lab_says_so(lab: Lab) -> None:
    queue_to_function(lab)
    view = lab.map()
    lab.stop()
    view.refresh()
    assert "This lab has stopped" in view.to_text()
    assert "jobs" in view.to_text()


def test_the_display_bundle_has_html_and_text(lab: Lab) -> None:
    topic_to_queue(lab)
    bundle = lab.map()._repr_mimebundle_()
    assert "<svg" in bundle["text/html"] and "labkit-map" in bundle["text/html"]
    assert bundle["text/plain"].startswith("Architecture map: 2 resources, 1 connection")


def test_wired_nodes_stand_level_whatever_the_order_they_were_read_in() -> None:
    crossed = state(
        [node("a", "SNS", "topic"), node("b", "SNS", "topic"), node("qb"), node("qa")],
        [link("a", "qa"), link("b", "qb")],
    )
    placed = layout(crossed)
    y = {name: placed.places[f"id:{name}"][1] for name in ("a", "b", "qa", "qb")}
    assert (y["qa"], y["qb"]) == (y["a"], y["b"])


def test_holding_a_live_map_keeps_that_moment(lab: Lab) -> None:
    topic, _ = topic_to_queue(lab)
    live = lab.map()
    held = live.hold()
    lab.client("sns").publish(TopicArn=topic, Message="after")
    live.refresh()
    held.refresh()
    assert "1 delivered" in live.to_text() and "0 delivered" in held.to_text()


CAPSTONE_LIKE = state(
    [
        node("d1.cloudfront.net", "CloudFront", "distribution", "edge", "global"),
        node("shop", "API Gateway", "REST API", "front door"),
        node("shop-users", "Cognito", "user pool", "front door"),
        node("orders", "Lambda", "function", "compute"),
        node("welcome", "Lambda", "function", "compute"),
        node("welcome@shop.example", "SES", "email identity", "integration"),
        node("site", "S3", "bucket", "data"),
        node("orders-table", "DynamoDB", "table", "data"),
        node("orders stream", "DynamoDB", "stream", "data"),
        node("orders-eu", "DynamoDB", "table", "data", "eu-west-1"),
    ],
    [
        link("d1.cloudfront.net", "site"),
        link("shop", "shop-users"),
        link("shop", "orders"),
        link("orders", "orders-table"),
        link("orders-table", "orders stream"),
        link("orders stream", "welcome"),
        link("orders-table", "orders-eu"),
    ],
)


def _segments(path: str) -> list[tuple[float, float, float, float]]:
    """The straight segments of an SVG path made of M, H and V commands."""
    x = y = 0.0
    found = []
    for command, value in re.findall(r"([MHV])([-\d.,]+)", path):
        if command == "M":
            x, y = (float(v) for v in value.split(","))
            continue
        nx, ny = (float(value), y) if command == "H" else (x, float(value))
        found.append((x, y, nx, ny))
        x, y = nx, ny
    return found


def test_an_edge_that_skips_columns_crosses_no_node() -> None:
    placed = layout(CAPSTONE_LIKE)
    drawn = svg(CAPSTONE_LIKE)
    paths = re.findall(r'<path d="(M[-\d.,]+(?: [HV][-\d.]+)+)"', drawn)
    # The API to its function (Cognito stands between), the stream back to the welcome function,
    # and the distribution down to its bucket go around: three paths of straight runs.
    assert len(paths) >= 3
    for path in paths:
        for x1, y1, x2, y2 in _segments(path):
            for nx, ny in placed.places.values():
                inside_x = min(x1, x2) < nx + NODE_W - 1 and max(x1, x2) > nx + 1
                inside_y = min(y1, y2) < ny + NODE_H - 1 and max(y1, y2) > ny + 1
                assert not (inside_x and inside_y), f"{path} crosses the node at {nx},{ny}"


def test_a_replica_in_another_region_stands_in_the_same_column() -> None:
    placed = layout(CAPSTONE_LIKE)
    assert placed.places["id:orders-eu"][0] == placed.places["id:orders-table"][0]
