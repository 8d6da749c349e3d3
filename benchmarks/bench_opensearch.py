"""OpenSearch benchmark: a domain's REST API in the sandbox against the engine called directly.

Two corpora of ``--docs`` log documents (default 100,000), ``--searches`` queries each (default
1,000: a third each of ``match`` on one word, ``bool`` with a two-word ``match`` and a ``range``
filter, and ``term`` + ``avg`` aggregation):
- adversarial: 14 words, every one in ~45 % of the documents (every match scores ~45,000
  documents; block-max WAND can skip little);
- realistic: a log vocabulary of ~360 words of skewed frequencies, each query word in 0.1-10 %
  of the documents (the measured range is printed).

For each it prints indexing through ``POST /_bulk`` (batches of 5,000) against ``Engine.put``
directly, and per query kind the mean search through ``requests`` against ``Engine.search``
directly, the overall means and their ratio (what the REST layer and the access-policy check
cost on top of tantivy), against issue 19's target: a mean under 50 ms over 100,000 documents.
Both corpora are reported; neither is tuned to pass.

Run: ``.venv/bin/python benchmarks/bench_opensearch.py [--docs N] [--searches N]``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections.abc import Callable
from typing import Any

import requests

import labkit
from labkit.services.opensearch.sim_engine import Engine

TARGET_MS = 50.0
ADVERSARIAL_WORDS = [
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
KINDS = ("match", "bool+range", "term+avg")


class Corpus:
    """Documents and the searches over them."""

    def __init__(self, name: str, words: list[str], weights: list[float] | None) -> None:
        self.name = name
        self.words = words
        self.weights = weights

    def docs(self, count: int) -> list[dict[str, Any]]:
        rng = random.Random(19)
        levels = rng.choices(LEVELS, weights=(80, 15, 5) if self.weights else None, k=count)
        return [
            {
                "message": " ".join(rng.choices(self.words, weights=self.weights, k=8)),
                "level": levels[n],
                "ms": rng.randint(1, 2000),
            }
            for n in range(count)
        ]

    def queries(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        rng = random.Random(20)
        out: list[tuple[str, dict[str, Any]]] = []
        for n in range(count):
            word = rng.choice(self.words)
            if n % 3 == 0:
                out.append((KINDS[0], {"query": {"match": {"message": word}}}))
            elif n % 3 == 1:
                must = {"match": {"message": f"{word} {rng.choice(self.words)}"}}
                ranged = {"range": {"ms": {"gte": rng.randint(1, 1500)}}}
                out.append((KINDS[1], {"query": {"bool": {"must": must, "filter": ranged}}}))
            else:
                query = {"term": {"level": rng.choice(LEVELS)}}
                aggs = {"avg_ms": {"avg": {"field": "ms"}}}
                out.append((KINDS[2], {"size": 0, "query": query, "aggs": aggs}))
        return out


def realistic() -> Corpus:
    """~360 words whose per-draw probabilities are spread evenly on a log scale, so that with
    8 words a message a word is in ~0.1 % (rarest) to ~10 % (commonest) of the documents."""
    rng = random.Random(7)
    count = 360
    low, high = math.log(1.25e-4), math.log(1.3e-2)
    weights = [math.exp(low + (high - low) * i / (count - 1)) for i in range(count)]
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pu", "da", "fe"]
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return Corpus("realistic", sorted(words), weights)


def _timed(
    queries: list[tuple[str, dict[str, Any]]], run: Callable[[dict[str, Any]], None]
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    for kind, body in queries:
        started = time.perf_counter()
        run(body)
        times[kind].append(time.perf_counter() - started)
    return times


def direct(
    docs: list[dict[str, Any]], queries: list[tuple[str, dict[str, Any]]]
) -> tuple[float, dict[str, list[float]], list[float]]:
    """The engine alone: seconds to index (and refresh), search times by kind, query words'
    document frequencies."""
    engine = Engine()
    engine.create_index("logs", MAPPINGS, now=0.0)
    started = time.perf_counter()
    for n, doc in enumerate(docs):
        engine.put("logs", str(n), doc, 0.0)
    engine.refresh("logs", 1.0)
    engine.count("logs", {}, 1.0)  # the refresh is applied at the first search
    indexed = time.perf_counter() - started
    times = _timed(queries, lambda body: engine.search("logs", body, 1.0))
    words = {
        word
        for kind, body in queries
        if kind == KINDS[0]
        for word in [body["query"]["match"]["message"]]
    }
    shares = [
        engine.count("logs", {"query": {"match": {"message": w}}}, 1.0) / len(docs) for w in words
    ]
    return indexed, times, shares


def sandbox(
    docs: list[dict[str, Any]], queries: list[tuple[str, dict[str, Any]]]
) -> tuple[float, dict[str, list[float]]]:
    """Through the domain's endpoint: seconds to index (bulk), search times by kind."""
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
        lab.clock.advance(1)
        requests.get(f"{base}/logs/_count", timeout=600)  # the refresh is applied here
        indexed = time.perf_counter() - started

        def search(body: dict[str, Any]) -> None:
            answer = requests.post(f"{base}/logs/_search", json=body, timeout=60)
            assert answer.status_code == 200, answer.text[:200]

        times = _timed(queries, search)
        return indexed, times
    finally:
        lab.stop()


def _mean_ms(values: list[float]) -> float:
    return 1000 * sum(values) / len(values) if values else 0.0


def report(corpus: Corpus, docs: int, searches: int) -> None:
    """Index and search one corpus both ways and print the figures."""
    documents, queries = corpus.docs(docs), corpus.queries(searches)
    alone_index, alone, shares = direct(documents, queries)
    ours_index, ours = sandbox(documents, queries)
    print(
        f"\nOpenSearch on tantivy, {corpus.name} corpus: {docs:,} documents, {searches:,} searches"
    )
    print(
        f"  match words in {100 * min(shares):.2f}-{100 * max(shares):.2f} % of the documents "
        f"(median {100 * sorted(shares)[len(shares) // 2]:.2f} %)"
    )
    print(
        f"  index : sandbox (_bulk + refresh) {ours_index:.2f} s, engine alone "
        f"{alone_index:.2f} s, ratio {ours_index / alone_index:.2f}x"
    )
    for kind in KINDS:
        print(
            f"  {kind:<11}: sandbox {_mean_ms(ours[kind]):7.2f} ms mean, engine alone "
            f"{_mean_ms(alone[kind]):7.2f} ms"
        )
    overall = _mean_ms([t for k in KINDS for t in ours[k]])
    engine = _mean_ms([t for k in KINDS for t in alone[k]])
    verdict = "meets" if overall < TARGET_MS else "misses"
    print(
        f"  all        : sandbox {overall:7.2f} ms mean, engine alone {engine:7.2f} ms, ratio "
        f"{overall / engine:.2f}x; target < {TARGET_MS:.0f} ms: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=1_000)
    args = parser.parse_args()
    for corpus in (Corpus("adversarial", ADVERSARIAL_WORDS, None), realistic()):
        report(corpus, args.docs, args.searches)


if __name__ == "__main__":
    main()
