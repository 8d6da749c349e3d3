"""The edge's glass box: snapshots of caches and accelerators, their renderings and widgets."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from IPython.core.interactiveshell import InteractiveShell
from traitlets import TraitError
from traitlets.config import Config

import labkit
from labkit import edge
from labkit.lab import Lab
from labkit.services.cloudfront import view as views
from labkit.services.cloudfront.state import (
    UnknownEdgeResourceError,
    distribution_ids,
    distribution_snapshot,
)
from labkit.services.cloudfront.widget import CacheView
from labkit.services.edge import view as edge_plots
from labkit.services.globalaccelerator import view as accelerator_views
from labkit.services.globalaccelerator.state import accelerator_arns, accelerator_snapshot
from labkit.services.globalaccelerator.widget import AcceleratorView
from labkit.widgets.base import EVENT, AfterEachCell

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
SITE = "views-site"


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def _site(lab: Lab, *, geo: dict[str, Any] | None = None) -> dict[str, Any]:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket=SITE)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{SITE}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=SITE, Policy=json.dumps(policy))
    s3.put_object(Bucket=SITE, Key="index.html", Body="<h1>hi</h1>", ContentType="text/html")
    s3.put_object(Bucket=SITE, Key="news.html", Body="news", CacheControl="max-age=60")
    config: dict[str, Any] = {
        "CallerReference": "views",
        "Comment": "",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "s3",
                    "DomainName": f"{SITE}.s3.us-east-1.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "s3",
            "ViewerProtocolPolicy": "allow-all",
            "CachePolicyId": CACHING_OPTIMIZED,
        },
    }
    if geo is not None:
        config["Restrictions"] = {"GeoRestriction": geo}
    return dict(
        lab.client("cloudfront").create_distribution(DistributionConfig=config)["Distribution"]
    )


# -- distribution snapshots ------------------------------------------------------------------------
def test_entries_show_the_ttl_left_by_the_lab_clock(lab: Lab) -> None:
    dist = _site(lab)
    edge.fetch(f"https://{dist['DomainName']}/news.html", viewer_at="London")
    lab.clock.advance(45)
    (pop,) = distribution_snapshot(dist["Id"], now=lab.clock.timestamp).pops
    (entry,) = pop.entries
    assert (pop.pop, pop.city, pop.pricing_region) == ("LHR61-P1", "London", "Europe & Israel")
    assert (entry.path, entry.age, entry.ttl, entry.ttl_left) == ("/news.html", 45, 60.0, 15.0)
    lab.clock.advance(20)
    (pop,) = distribution_snapshot(dist["Id"], now=lab.clock.timestamp).pops
    assert pop.entries[0].ttl_left == 0.0
    assert views.entry_state(
        views.distribution_state(distribution_snapshot(dist["Id"], now=lab.clock.timestamp))[
            "pops"
        ][0]["entries"][0]
    ).startswith("◌ stale")


def test_hits_misses_and_invalidations_are_counted_per_edge(lab: Lab) -> None:
    dist = _site(lab)
    url = f"https://{dist['DomainName']}/index.html"
    for _ in range(3):
        edge.fetch(url, viewer_at="Tokyo")
    cf = lab.client("cloudfront")
    cf.create_invalidation(
        DistributionId=dist["Id"],
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/index*"]}, "CallerReference": "1"},
    )
    before = distribution_snapshot(dist["Id"], now=lab.clock.timestamp)
    assert before.invalidations[0].status == "InProgress"
    assert not before.pops[0].entries[0].invalidated
    lab.clock.advance(10)
    snap = distribution_snapshot(dist["Id"], now=lab.clock.timestamp)
    (pop,) = snap.pops
    assert (pop.hits, pop.misses, pop.requests) == (2, 1, 3)
    assert pop.hit_ratio == pytest.approx(2 / 3)
    assert pop.entries[0].invalidated  # reading did not drop it: the next request does
    assert snap.invalidations[0].status == "Completed"
    assert len(edge.edge_caches(dist["Id"])["NRT57-P1"].entries) == 1


def test_viewers_routes_and_geo_blocking_come_from_the_configuration(lab: Lab) -> None:
    dist = _site(lab, geo={"RestrictionType": "blacklist", "Quantity": 1, "Items": ["CU"]})
    report = edge.replay(
        [(0, f"https://{dist['DomainName']}/index.html", c) for c in ("Havana", "Paris")]
        + [(1, "https://elsewhere.cloudfront.net/x", "Paris")]
    )
    snap = distribution_snapshot(
        dist["Id"], viewers=["Tokyo"], traces=[report], now=lab.clock.timestamp
    )
    routes = {v.viewer: v for v in snap.viewers}
    assert set(routes) == {"Tokyo", "Havana", "Paris"}
    assert routes["Havana"].blocked and not routes["Paris"].blocked
    assert routes["Tokyo"].pop == "NRT57-P1" and routes["Tokyo"].hit_ms < 20
    blocked = [r for r in snap.requests if r.blocked]
    assert [r.viewer for r in blocked] == ["Havana"]
    assert len(snap.requests) == 2  # the request to another host is not this distribution's
    assert (snap.geo_type, snap.geo_countries) == ("blacklist", ("CU",))
    assert distribution_ids() == [dist["Id"]]


def test_an_unknown_distribution_says_what_exists(lab: Lab) -> None:
    dist = _site(lab)
    with pytest.raises(UnknownEdgeResourceError, match=dist["Id"]):
        distribution_snapshot("E000000000000", now=lab.clock.timestamp)
    assert distribution_snapshot(dist["DomainName"], now=0).id == dist["Id"]


# -- renderings --------------------------------------------------------------------------------
def test_the_html_groups_edges_by_region_and_says_states_in_words(lab: Lab) -> None:
    dist = _site(lab, geo={"RestrictionType": "blacklist", "Quantity": 1, "Items": ["CU"]})
    report = edge.replay(
        [
            (t, f"https://{dist['DomainName']}/index.html", c)
            for t in (0, 30)
            for c in ("Havana", "London", "Tokyo")
        ]
    )
    state = views.distribution_state(
        distribution_snapshot(dist["Id"], traces=[report], now=lab.clock.timestamp)
    )
    page = _text(views.render_html(state))
    assert "Europe & Israel · 1 edge location" in page
    assert "Japan · 1 edge location" in page
    assert "LHR61-P1 · London" in page and "/index.html" in page
    assert "✓ fresh, 23 h 59 min left" in page
    assert "⊘ blocked by geo restriction (403)" in page
    assert "geo restriction: block list CU" in page
    assert page.index("Europe & Israel") < page.index("Japan")
    text = views.render_text(state)
    assert "[Europe & Israel]" in text and "⊘ blocked" in text
    assert "hit ratio per 10 s of traced requests" in text
    json.dumps(state)  # what the widget syncs is plain JSON


def test_paths_are_escaped(lab: Lab) -> None:
    dist = _site(lab)
    lab.client("s3").put_object(Bucket=SITE, Key="<script>x</script>.html", Body="x")
    edge.fetch(f"https://{dist['DomainName']}/<script>x</script>.html", viewer_at="London")
    markup = views.render_html(
        views.distribution_state(distribution_snapshot(dist["Id"], now=lab.clock.timestamp))
    )
    assert "<script>" not in markup and "&lt;script&gt;" in markup


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s"),
        (59.6, "60 s"),
        (600, "10 min"),
        (3660, "1 h 1 min"),
        (86400, "24 h"),
        (31536000, "365 d"),
    ],
)
def test_durations_read_in_the_largest_sensible_unit(seconds: float, words: str) -> None:
    assert views.duration(seconds) == words


def test_latency_plot_tells_ways_apart_by_hatch_and_label() -> None:
    rows = [("Tokyo", {"direct": 180.0, "hit": 11.0}), ("Paris", {"direct": 90.0, "hit": 11.0})]
    figure = edge_plots.latency_plot(rows)
    (ax,) = figure.axes
    hatches = {patch.get_hatch() for patch in ax.patches}
    assert len(hatches) == 2
    labels = [t.get_text() for t in ax.texts]
    assert "180 ms" in labels and labels.count("11 ms") == 2
    table = edge_plots.latency_table(rows).splitlines()
    assert table[0].split() == ["viewer", "direct", "hit"]
    assert table[2].split() == ["Tokyo", "180", "ms", "11", "ms"]
    import matplotlib.pyplot as plt

    plt.close(figure)


def test_lines_plot_uses_line_styles_not_colours() -> None:
    figure = edge_plots.lines_plot(
        {"a": [(0, 0.5), (1, 1.0)], "b": [(0, 0.2), (1, 0.4)]},
        title="t",
        xlabel="x",
        ylabel="y",
        percent=True,
        marks=[(0.5, "deploy")],
    )
    lines = figure.axes[0].get_lines()
    styles = {
        (line.get_linestyle(), line.get_marker()) for line in lines if line.get_label() in "ab"
    }
    assert len(styles) == 2
    assert {line.get_color() for line in lines if line.get_label() in "ab"} == {"black"}
    import matplotlib.pyplot as plt

    plt.close(figure)


# -- accelerators ----------------------------------------------------------------------------------
def _accelerator(lab: Lab) -> tuple[Any, str, str]:
    ga = lab.client("globalaccelerator", region="us-west-2")
    acc = ga.create_accelerator(Name="web", IdempotencyToken="a")["Accelerator"]
    listener = ga.create_listener(
        AcceleratorArn=acc["AcceleratorArn"],
        Protocol="TCP",
        PortRanges=[{"FromPort": 80, "ToPort": 80}],
        IdempotencyToken="l",
    )["Listener"]["ListenerArn"]
    for region, instance in (("us-east-1", "i-0aaa"), ("eu-west-1", "i-0bbb")):
        ga.create_endpoint_group(
            ListenerArn=listener,
            EndpointGroupRegion=region,
            EndpointConfigurations=[{"EndpointId": instance}],
            HealthCheckIntervalSeconds=10,
            IdempotencyToken=region,
        )
    return ga, acc["AcceleratorArn"], acc["DnsName"]


def test_an_accelerator_snapshot_follows_health_and_routes_on_the_clock(lab: Lab) -> None:
    _ga, arn, dns = _accelerator(lab)
    first = accelerator_snapshot(arn, viewers=["Paris"], now=lab.clock.timestamp)
    assert [e.health for g in first.listeners[0].groups for e in g.endpoints] == ["INITIAL"] * 2
    lab.clock.advance(60)
    edge.fail_region("eu-west-1")
    lab.clock.advance(31)
    snap = accelerator_snapshot(dns, viewers=["Paris", "New York"], now=lab.clock.timestamp)
    health = {g.region: g.endpoints[0].health for g in snap.listeners[0].groups}
    assert health == {"us-east-1": "HEALTHY", "eu-west-1": "UNHEALTHY"}
    assert snap.listeners[0].groups[0].detection_s == 30
    paris = snap.routes[0]
    assert (paris.viewer, paris.region, paris.reason, paris.healthy) == (
        "Paris",
        "us-east-1",
        "failover",
        True,
    )
    assert len(snap.ip_addresses) == 2 and accelerator_arns() == [arn]
    text = accelerator_views.accelerator_text(accelerator_views.accelerator_state(snap))
    assert "✕ unhealthy" in text and "failover (nearest unhealthy)" in text
    assert "TCP listener, port 80" in text and "30 s" in text


def test_an_unknown_accelerator_says_how_to_make_one(lab: Lab) -> None:
    with pytest.raises(UnknownEdgeResourceError, match="us-west-2"):
        accelerator_snapshot("arn:aws:globalaccelerator::1:accelerator/x", now=0)


# -- widgets -----------------------------------------------------------------------------------
@pytest.fixture
def shell(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    yield shell
    InteractiveShell.clear_instance()


def test_the_cache_view_refreshes_after_each_cell_and_has_static_forms(
    lab: Lab, shell: Any
) -> None:
    dist = _site(lab)
    view = edge.cache_view(dist["Id"], viewers=["Tokyo"])
    assert view.following
    assert "no request yet" in view.to_text()
    shell.run_cell(
        f"from labkit import edge; edge.fetch('https://{dist['DomainName']}/index.html')"
    )
    assert "IAD89-P1" in view.to_text()
    report = edge.replay([(0, f"https://{dist['DomainName']}/index.html", "Paris")])
    view.add_trace(report)
    assert "which viewer went where" in view.to_text()
    bundle = view._repr_mimebundle_()
    assert "CDG55-P1" in bundle["text/html"] and "CDG55-P1" in bundle["text/plain"]
    with pytest.raises(TraitError, match="missing"):
        view.state = {"id": "x"}
    lab.stop()
    shell.run_cell("1 + 1")
    assert "has stopped" in view.to_text() and not view.following
    assert not [cb for cb in shell.events.callbacks[EVENT] if isinstance(cb, AfterEachCell)]


def test_the_accelerator_view_shows_health_changing_with_the_clock(lab: Lab) -> None:
    _ga, arn, _dns = _accelerator(lab)
    view = AcceleratorView(lab.sandbox, arn, viewers=["Paris"], auto_refresh=False)
    assert "◌ initial" in view.to_text()
    lab.clock.advance(60)
    view.refresh()
    assert "✓ healthy" in view.to_text() and "Call .refresh()" in view.to_text()
    assert "Global Accelerator web" in _text(view.to_html())


def test_the_cache_view_can_be_made_without_a_shell(lab: Lab) -> None:
    dist = _site(lab)
    view = CacheView(lab.sandbox, dist["Id"], auto_refresh=False)
    requests.get(f"https://{dist['DomainName']}/index.html")
    view.refresh()
    assert "1 request at 1 edge location" in view.to_text()


def test_the_cache_view_shows_plain_requests_not_only_traces(lab: Lab) -> None:
    dist = _site(lab, geo={"RestrictionType": "blacklist", "Quantity": 1, "Items": ["CU"]})
    url = f"https://{dist['DomainName']}/index.html"
    view = CacheView(lab.sandbox, dist["Id"], auto_refresh=False)
    requests.get(url, headers={"X-Labkit-Viewer": "Havana"})
    view.refresh()
    # Refused before any cache: only the request log knows of it.
    assert "1 request, none reached a cache" in view.to_text()
    lab.clock.advance(61)
    requests.get(url)
    with edge.viewer("Tokyo"):
        requests.get(url)
        requests.post(url, data=b"x")
    view.refresh()
    snap = distribution_snapshot(dist["Id"], now=lab.clock.timestamp)
    assert snap.requests == ()  # no trace handed in
    assert [(r.viewer, r.status, r.cache, r.blocked) for r in snap.recent] == [
        ("Havana", 403, "Error", True),
        ("Northern Virginia", 200, "Miss", False),
        ("Tokyo", 200, "Miss", False),
        ("Tokyo", 403, "Error", False),
    ]
    assert snap.recent[0].at == snap.recent[1].at - 61  # lab time, not time into a trace
    text = view.to_text()
    assert "latest requests (4 of the 4 kept, 1 blocked)" in text
    assert "09:00:00" in text and "09:01:01" in text
    assert "POST /index.html" in text and "⊘ blocked by geo restriction (403)" in text
    assert "which viewer went where, latest requests" in text
    page = _text(view.to_html())
    assert "latest requests" in page and "NRT57-P1" in page and "POST /index.html" in page


def test_with_a_trace_the_view_counts_viewers_from_the_trace(lab: Lab) -> None:
    dist = _site(lab)
    url = f"https://{dist['DomainName']}/index.html"
    requests.get(url)  # before the trace, not part of it
    report = edge.replay([(t, url, "Paris") for t in (0, 10)])
    state = views.distribution_state(
        distribution_snapshot(dist["Id"], traces=[report], now=lab.clock.timestamp)
    )
    assert len(state["recent"]) == 3 and len(state["requests"]) == 2
    text = views.render_text(state)
    assert "which viewer went where, traced requests" in text
    assert "Northern Virginia" not in text.split("which viewer went where")[1].split("latest")[0]
    assert "latest requests (3 of the 3 kept)" in text
    json.dumps(state)


# -- the learner's module -----------------------------------------------------------------------
def test_labkit_edge_stays_light_and_names_what_it_has() -> None:
    probe = (
        "import sys, labkit, labkit.edge as e; "
        "print('moto' in sys.modules, sorted(e.__all__) == sorted(dir(e)) or 'viewer' in dir(e))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
    with pytest.raises(AttributeError, match="replay"):
        edge.no_such_thing  # noqa: B018
    assert edge.viewer is __import__("labkit.services.edge.patch", fromlist=["viewer"]).viewer


def test_held_edge_views_keep_their_moment(lab: Lab) -> None:
    dist = _site(lab)
    url = f"https://{dist['DomainName']}/index.html"
    report = edge.replay([(0, url, "Paris")])
    live = edge.cache_view(dist["Id"], traces=[report])
    held = edge.cache_view(dist["Id"], traces=[report], hold=True)
    _ga, arn, _dns = _accelerator(lab)
    lab.clock.advance(60)
    healthy = edge.accelerator_view(arn, viewers=["Paris"], hold=True)
    edge.fail_region("eu-west-1")
    lab.clock.advance(31)
    later = edge.replay([(0, url, "Tokyo")])
    live.add_trace(later)
    held.add_trace(later)  # a held view takes nothing in
    healthy.refresh()
    assert isinstance(held, CacheView) and isinstance(healthy, AcceleratorView)
    assert "NRT57-P1" in live.to_text() and "NRT57-P1" not in held.to_text()
    assert "CDG55-P1" in held.to_text() and "Held as of lab time 09:00:" in held.to_text()
    assert "✕ unhealthy" not in healthy.to_text() and "✓ healthy" in healthy.to_text()
    assert "Held as of lab time 09:01:00" in _text(healthy.to_html())
    live.show_state(0)
    assert "NRT57-P1" not in live.to_text() and "(an earlier state" in live.to_text()
