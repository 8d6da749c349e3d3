"""OpenSearch benchmark: a domain's REST API in the sandbox against the engine called directly.

Prints, for ``--docs`` log documents (default 100,000) and ``--searches`` queries (default
1,000, a mix of match, bool with a range filter, and a terms aggregation):
- indexing through ``POST /_bulk`` (batches of 5,000) against ``Engine.put`` directly;
- the searches through ``requests`` against ``Engine.search`` directly: the mean per search is
  issue 19's figure (target: under 50 ms over 100,000 documents), the ratio what the REST layer
  and the access-policy check cost on top of SQLite FTS5.

Run: ``.venv/bin/python benchmarks/bench_opensearch.py [--docs N] [--searches N]``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

import requests

import labkit
from labkit.services.opensearch.sim_engine import Engine

WORDS = [
    "timeout",
    "error",
    "disk",
    "full",
    "login",
    "logout",
    "user",
    "payment",
    "order",
    "cart",
    "db",
    "retry",
    "cache",
    "miss",
]
LEVELS = ("INFO", "WARN", "ERROR")
MAPPINGS = {
    "settings": {"refresh_interval": "1s"},
    "mappings": {
        "properties": {
            "message": {"type": "text"},
            "level": {"type": "keyword"},
            "ms": {"type": "integer"},
        }
    },
}


def _docs(count: int) -> list[dict[str, Any]]:
    rng = random.Random(19)
    return [
        {
            "message": " ".join(rng.choice(WORDS) for _ in range(8)),
            "level": rng.choice(LEVELS),
            "ms": rng.randint(1, 2000),
        }
        for _ in range(count)
    ]


def _queries(count: int) -> list[dict[str, Any]]:
    rng = random.Random(20)
    out: list[dict[str, Any]] = []
    for n in range(count):
        word = rng.choice(WORDS)
        if n % 3 == 0:
            out.append({"query": {"match": {"message": word}}})
        elif n % 3 == 1:
            out.append(
                {
                    "query": {
                        "bool": {
                            "must": {"match": {"message": f"{word} {rng.choice(WORDS)}"}},
                            "filter": {"range": {"ms": {"gte": rng.randint(1, 1500)}}},
                        }
                    }
                }
            )
        else:
            out.append(
                {
                    "size": 0,
                    "query": {"term": {"level": rng.choice(LEVELS)}},
                    "aggs": {"avg_ms": {"avg": {"field": "ms"}}},
                }
            )
    return out


def direct(docs: list[dict[str, Any]], queries: list[dict[str, Any]]) -> tuple[float, float]:
    """The engine alone: seconds to index, mean seconds per search."""
    engine = Engine()
    engine.create_index("logs", MAPPINGS, now=0.0)
    started = time.perf_counter()
    for n, doc in enumerate(docs):
        engine.put("logs", str(n), doc, 0.0)
    indexed = time.perf_counter() - started
    engine.refresh("logs", 1.0)
    started = time.perf_counter()
    for body in queries:
        engine.search("logs", body, 1.0)
    return indexed, (time.perf_counter() - started) / len(queries)


def sandbox(docs: list[dict[str, Any]], queries: list[dict[str, Any]]) -> tuple[float, float]:
    """Through the domain's endpoint: seconds to index (bulk), mean seconds per search."""
    lab = labkit.start(quiet=True)
    try:
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:*", "Resource": "*"}
            ],
        }
        endpoint = lab.client("opensearch").create_domain(
            DomainName="logs", AccessPolicies=json.dumps(policy)
        )["DomainStatus"]["Endpoint"]
        base = f"https://{endpoint}"
        requests.put(f"{base}/logs", json=MAPPINGS, timeout=60)
        started = time.perf_counter()
        for first in range(0, len(docs), 5000):
            lines = []
            for n, doc in enumerate(docs[first : first + 5000], start=first):
                lines += [json.dumps({"index": {"_id": str(n)}}), json.dumps(doc)]
            answer = requests.post(
                f"{base}/logs/_bulk",
                data="\n".join(lines) + "\n",
                headers={"Content-Type": "application/x-ndjson"},
                timeout=600,
            )
            assert answer.status_code == 200, answer.text[:200]
        indexed = time.perf_counter() - started
        lab.clock.advance(1)
        started = time.perf_counter()
        for body in queries:
            answer = requests.post(f"{base}/logs/_search", json=body, timeout=60)
            assert answer.status_code == 200, answer.text[:200]
        per_search = (time.perf_counter() - started) / len(queries)
        print(lab.search_view())
        return indexed, per_search
    finally:
        lab.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=1_000)
    args = parser.parse_args()
    docs, queries = _docs(args.docs), _queries(args.searches)
    alone_index, alone_search = direct(docs, queries)
    ours_index, ours_search = sandbox(docs, queries)
    print(f"OpenSearch on SQLite FTS5, {args.docs:,} documents, {args.searches:,} searches")
    print(
        f"  index : sandbox (_bulk) {ours_index:.2f} s, engine alone {alone_index:.2f} s, "
        f"ratio {ours_index / alone_index:.2f}x"
    )
    print(
        f"  search: sandbox {ours_search * 1000:.2f} ms mean, engine alone "
        f"{alone_search * 1000:.2f} ms, ratio {ours_search / alone_search:.2f}x (target < 50 ms)"
    )


if __name__ == "__main__":
    main()
