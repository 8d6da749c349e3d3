"""The DAX cache view: what is stale, in words and symbols, in HTML and text; held moments."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from amazondax import AmazonDaxClient

import labkit
from labkit.lab import Lab
from labkit.services.dax.state import DaxClusterNotFoundError, cluster_snapshot

KEY = {"id": {"S": "u1"}}


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    ddb = lab.client("dynamodb")
    ddb.create_table(
        TableName="users",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="users", Item={**KEY, "name": {"S": "Ada"}})
    lab.client("dax").create_cluster(
        ClusterName="cache",
        NodeType="dax.t3.small",
        ReplicationFactor=1,
        IamRoleArn="arn:aws:iam::123456789012:role/dax",
    )
    yield lab
    lab.stop()


def client(lab: Lab) -> AmazonDaxClient:
    cluster = lab.client("dax").describe_clusters()["Clusters"][0]
    return AmazonDaxClient(endpoint_url=cluster["ClusterDiscoveryEndpoint"]["URL"])


def test_a_write_around_dax_makes_the_entry_stale_and_a_write_through_it_fresh(lab: Lab) -> None:
    dax = client(lab)
    dax.get_item(TableName="users", Key=KEY)
    assert [e.stale for e in cluster_snapshot().entries] == [False]
    lab.client("dynamodb").put_item(TableName="users", Item={**KEY, "name": {"S": "Bob"}})
    (entry,) = cluster_snapshot().entries
    assert entry.stale and "changed" in entry.why
    dax.put_item(TableName="users", Item={**KEY, "name": {"S": "Cy"}})
    (entry,) = cluster_snapshot().entries
    assert not entry.stale and entry.source == "write-through"


def test_ttl_left_follows_the_lab_clock(lab: Lab) -> None:
    client(lab).get_item(TableName="users", Key=KEY)
    lab.clock.advance(100)
    (entry,) = cluster_snapshot().entries
    assert entry.ttl_left == pytest.approx(200)
    lab.clock.advance(200)
    assert cluster_snapshot().entries == ()


def test_the_view_marks_staleness_in_words_and_symbols_in_both_forms(lab: Lab) -> None:
    dax = client(lab)
    dax.get_item(TableName="users", Key=KEY)
    dax.get_item(TableName="users", Key=KEY)
    lab.client("dynamodb").delete_item(TableName="users", Key=KEY)
    view = lab.dax_view("cache", hold=True)
    text, page = view.to_text(), view.to_html()
    for form in (text, page):
        assert "✗ STALE" in form and "no longer has this item" in form
        assert "● hit" in form and "○ miss" in form
        assert "1 hit, 1 miss" in form
    assert 'class="labkit-view labkit-dax"' in page
    assert "Held as of lab time" in text


def test_a_live_view_follows_and_a_held_one_keeps_its_moment(lab: Lab) -> None:
    live, held = lab.dax_view(), lab.dax_view(hold=True)
    assert "No request has reached this cluster yet." in held.to_text()
    client(lab).get_item(TableName="users", Key=KEY)
    live.refresh()
    held.refresh()
    assert "○ miss" in live.to_text()
    assert "No request has reached this cluster yet." in held.to_text()


def test_an_unknown_or_ambiguous_cluster_is_named(lab: Lab) -> None:
    with pytest.raises(DaxClusterNotFoundError, match="cache"):
        lab.dax_view("other")
    lab.client("dax").create_cluster(
        ClusterName="second",
        NodeType="dax.t3.small",
        ReplicationFactor=1,
        IamRoleArn="arn:aws:iam::123456789012:role/dax",
    )
    with pytest.raises(DaxClusterNotFoundError, match="2"):
        lab.dax_view()


def test_the_sandbox_inventory_lists_the_cluster(lab: Lab) -> None:
    (cluster,) = [r for r in lab.resources() if r.service == "dax"]
    assert (cluster.kind, cluster.name, cluster.detail) == (
        "cluster",
        "cache",
        "dax.t3.small, 1 node",
    )


def test_a_large_cache_lists_its_recent_entries_and_counts_the_rest(lab: Lab) -> None:
    from labkit.services.dax.view import ENTRIES_SHOWN

    dax = client(lab)
    for n in range(ENTRIES_SHOWN + 5):
        dax.get_item(TableName="users", Key={"id": {"S": f"k{n}"}})
    dax.get_item(TableName="users", Key=KEY)
    lab.client("dynamodb").put_item(TableName="users", Item={"id": {"S": "k0"}})
    text = lab.dax_view(hold=True).to_text()
    assert f"Item cache ({ENTRIES_SHOWN + 6} entries)" in text
    assert "6 less recently used entries not listed (1 of them ✗ STALE)" in text
    assert "users: id=u1" in text  # the most recently used is listed
