"""OpenSearch in the sandbox: a domain (moto) answers the REST API at its endpoint for
``requests``, from tantivy, refreshing on the lab clock, behind its access policy."""

from __future__ import annotations

import json
from typing import Any

import requests

from labkit.lab import Lab

ACCOUNT = "123456789012"
ARN = f"arn:aws:es:us-east-1:{ACCOUNT}:domain/logs/*"


def _domain(lab: Lab, principal: Any = "*") -> str:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": principal},
                "Action": "es:ESHttp*",
                "Resource": ARN,
            }
        ],
    }
    status = lab.client("opensearch").create_domain(
        DomainName="logs", AccessPolicies=json.dumps(policy)
    )["DomainStatus"]
    return "https://" + str(status["Endpoint"])


def _signed(key: str) -> dict[str, str]:
    # The sandbox reads who signed from the credential scope (it does not verify signatures).
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20260105/us-east-1/es/aws4_request, "
        "SignedHeaders=host, Signature=0"
    }


def test_index_search_aggregate_and_refresh_on_the_lab_clock(lab: Lab) -> None:
    base = _domain(lab)
    created = requests.put(
        f"{base}/app",
        json={
            "settings": {"refresh_interval": "30s"},
            "mappings": {
                "properties": {
                    "message": {"type": "text"},
                    "level": {"type": "keyword"},
                    "ms": {"type": "integer"},
                }
            },
        },
        timeout=5,
    )
    assert created.json()["acknowledged"] is True
    lines = []
    for n, (message, level, ms) in enumerate(
        [("db timeout", "ERROR", 900), ("login ok", "INFO", 20), ("timeout again", "ERROR", 300)]
    ):
        lines += [
            json.dumps({"index": {"_index": "app", "_id": str(n)}}),
            json.dumps({"message": message, "level": level, "ms": ms}),
        ]
    bulk = requests.post(
        f"{base}/_bulk",
        data="\n".join(lines) + "\n",
        headers={"Content-Type": "application/x-ndjson"},
        timeout=5,
    ).json()
    assert bulk["errors"] is False and len(bulk["items"]) == 3
    search = {
        "query": {
            "bool": {
                "must": {"match": {"message": "timeout"}},
                "filter": {"range": {"ms": {"gte": 500}}},
            }
        },
        "aggs": {"levels": {"terms": {"field": "level"}}},
    }
    # Not refreshed yet: nothing is searchable, though a GET by id finds the document.
    assert (
        requests.get(f"{base}/app/_search", json=search, timeout=5).json()["hits"]["total"]["value"]
        == 0
    )
    assert requests.get(f"{base}/app/_doc/0", timeout=5).json()["found"] is True
    lab.clock.advance(30)
    found = requests.get(f"{base}/app/_search", json=search, timeout=5).json()
    assert [h["_id"] for h in found["hits"]["hits"]] == ["0"]
    assert found["hits"]["hits"][0]["_score"] > 0
    assert found["aggregations"]["levels"]["buckets"] == [{"key": "ERROR", "doc_count": 1}]
    assert requests.get(f"{base}/app/_count", timeout=5).json() == {"count": 3}
    requests.post(
        f"{base}/app/_doc/3?refresh=true", json={"message": "timeout", "level": "WARN"}, timeout=5
    )
    assert requests.get(f"{base}/app/_count", timeout=5).json() == {"count": 4}


def test_errors_come_back_as_opensearch_words_them(lab: Lab) -> None:
    base = _domain(lab)
    missing = requests.get(f"{base}/nope/_search", timeout=5)
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "index_not_found_exception"
    requests.put(f"{base}/app", json={}, timeout=5)
    again = requests.put(f"{base}/app", json={}, timeout=5)
    assert again.status_code == 400
    assert again.json()["error"]["type"] == "resource_already_exists_exception"


def test_the_access_policy_refuses_anonymous_and_other_callers(lab: Lab) -> None:
    iam = lab.client("iam")
    keys = {}
    for name in ("reader", "intruder"):
        iam.create_user(UserName=name)
        keys[name] = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    base = _domain(lab, principal=f"arn:aws:iam::{ACCOUNT}:user/reader")
    anonymous = requests.put(f"{base}/app", json={}, timeout=5)
    assert anonymous.status_code == 403
    assert (
        "User: anonymous is not authorized to perform: es:ESHttpPut" in anonymous.json()["Message"]
    )
    intruder = requests.get(f"{base}/", headers=_signed(keys["intruder"]), timeout=5)
    assert intruder.status_code == 403 and "user/intruder" in intruder.json()["Message"]
    reader = requests.put(f"{base}/app", json={}, headers=_signed(keys["reader"]), timeout=5)
    assert reader.status_code == 200
    # A domain without an access policy refuses everyone.
    lab.client("opensearch").create_domain(DomainName="closed")
    closed = requests.get("https://closed.us-east-1.es.amazonaws.com/", timeout=5)
    assert closed.status_code == 403


def test_the_view_shows_documents_waiting_for_refresh_and_the_last_hits(lab: Lab) -> None:
    from labkit.services.opensearch.state import UnknownIndexError

    base = _domain(lab)
    try:
        lab.search_view()
    except UnknownIndexError as err:
        assert "none yet" in str(err)
    else:  # pragma: no cover - the assertion below names the failure
        raise AssertionError("a view of no index")
    requests.put(
        f"{base}/app",
        json={
            "settings": {"refresh_interval": "10s"},
            "mappings": {"properties": {"m": {"type": "text"}}},
        },
        timeout=5,
    )
    requests.post(f"{base}/app/_doc/a", json={"m": "disk full"}, timeout=5)
    text = str(lab.search_view())
    assert "1 documents, 0 searchable · ⏳ 1 waiting for the next refresh" in text
    assert "next in 10.0 s" in text and "No search yet." in text
    lab.clock.advance(10)
    requests.get(f"{base}/app/_search", json={"query": {"match": {"m": "disk"}}}, timeout=5)
    view = lab.search_view("logs/app")
    assert "✓ all searchable" in str(view) and "top 1 of 1" in str(view)
    assert "labkit-opensearch-index" in view._repr_html_()
