"""The databases lab's ``cache`` check: a cache in front of RDS that cuts the database's reads
under a target and serves nothing staler than a bound.

The learner writes ``get_price(db, cache, sku)`` (a product's price in cents) and
``set_price(db, cache, sku, cents)`` (a merchant changes a price). ``db`` is a DB-API connection
to a real PostgreSQL behind an RDS endpoint, holding ``products (sku TEXT PRIMARY KEY,
price_cents INTEGER)``; ``cache`` a real ``redis.Redis`` client connected to an ElastiCache
cluster's endpoint. Prices also change **in the database alone**: a pricing job writes them
straight to the table, bypassing the learner's code.

In a world of its own the check runs :data:`SECONDS` seconds of lab time: every second
:data:`READS_PER_SECOND` reads of a skewed mix of :data:`PRODUCTS` products, every
:data:`SET_EVERY` s a ``set_price``, every :data:`JOB_EVERY` s the pricing job. It asks:

- every price ``get_price`` returned was the database's price at some moment in the last
  :data:`STALE_BOUND` seconds (and after ``set_price`` returned, that change counts at once);
- at most :data:`MAX_DB_READ_SHARE` of the reads reached the database (statements that read on
  ``db``, counted as they run).
"""

from __future__ import annotations

import random
from typing import Any

from labkit.grading.checks import CheckContext, short
from labkit.labs.databases_support import (
    CountingConnection,
    Opened,
    create_postgres,
    execute,
    raw_connect,
)

INSTANCE = "catalog"
CLUSTER = "prices"
PRODUCTS = 20
SECONDS = 600
READS_PER_SECOND = 5
SET_EVERY = 45
JOB_EVERY = 70
STALE_BOUND = 60
MAX_DB_READ_SHARE = 0.15

TTL_HINT = (
    "Prices change in the database without your code knowing (the pricing job): only an "
    f"expiry bounds how stale a cached price gets. Cache each price with a TTL of at most "
    f"{STALE_BOUND} s (`cache.set(key, cents, ex={STALE_BOUND})`), and in `set_price` update "
    "the database, then delete (or overwrite) the cached entry."
)
READS_HINT = (
    "Cache-aside (lazy loading): `get_price` first asks the cache; only on a miss it reads "
    "the database and stores the price in the cache with a TTL. The longer the TTL (up to the "
    f"{STALE_BOUND} s staleness bound), the fewer reads reach the database."
)


def _sku(n: int) -> str:
    return f"sku-{n:02d}"


def _cents(value: Any) -> int | None:
    if isinstance(value, bytes):
        value = value.decode()
    try:
        return int(str(value).split(".")[0])
    except ValueError:
        return None


def _allowed(history: list[tuple[float, int]], now: float) -> set[int]:
    """The prices a product had at some moment of the last :data:`STALE_BOUND` seconds."""
    allowed = set()
    for i, (since, cents) in enumerate(history):
        until = history[i + 1][0] if i + 1 < len(history) else float("inf")
        if since <= now and until > now - STALE_BOUND:
            allowed.add(cents)
    return allowed


def check_cache(ctx: CheckContext) -> None:
    """Fresh enough, and the database spared."""
    with Opened() as opened:
        _check(ctx, opened)


def _check(ctx: CheckContext, opened: Opened) -> None:
    import redis

    get_price = ctx.function("get_price")
    set_price = ctx.function("set_price")
    instance = create_postgres(ctx, INSTANCE)
    admin = opened.add(raw_connect(instance))
    price = {_sku(n): 1000 + 50 * n for n in range(PRODUCTS)}
    execute(
        admin,
        "CREATE TABLE products (sku TEXT PRIMARY KEY, price_cents INTEGER NOT NULL)",
        *(f"INSERT INTO products VALUES ('{sku}', {cents})" for sku, cents in price.items()),
    )
    ec = ctx.client("elasticache")
    ec.create_cache_cluster(
        CacheClusterId=CLUSTER, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1
    )
    node = ec.describe_cache_clusters(CacheClusterId=CLUSTER, ShowCacheNodeInfo=True)
    endpoint = node["CacheClusters"][0]["CacheNodes"][0]["Endpoint"]
    cache = opened.add(redis.Redis(host=endpoint["Address"], port=endpoint["Port"]))
    db = CountingConnection(opened.add(raw_connect(instance)), "primary")

    rng = random.Random(18)
    # (sku) -> [(since, cents)]: every price each product has had, for the staleness bound.
    history = {sku: [(ctx.clock.timestamp, cents)] for sku, cents in price.items()}
    weights = [1 / (n + 1) for n in range(PRODUCTS)]
    reads = 0
    reads_before = db.reads
    for second in range(1, SECONDS + 1):
        ctx.clock.advance(1)
        now = ctx.clock.timestamp
        if second % JOB_EVERY == 0:
            sku = _sku(rng.randrange(4))  # the job reprices the best sellers
            price[sku] += 7
            execute(admin, f"UPDATE products SET price_cents = {price[sku]} WHERE sku = '{sku}'")
            history[sku].append((now, price[sku]))
        if second % SET_EVERY == 0:
            sku = _sku(rng.randrange(3))
            price[sku] += 11
            ctx.call(set_price, db, cache, sku, price[sku])
            history[sku].append((now, price[sku]))
        for _ in range(READS_PER_SECOND):
            sku = rng.choices([_sku(n) for n in range(PRODUCTS)], weights)[0]
            got = _cents(ctx.call(get_price, db, cache, sku))
            reads += 1
            allowed = _allowed(history[sku], now)
            if got not in allowed:
                current = price[sku]
                ctx.fail(
                    f"At second {second}, `get_price({sku!r})` returned {short(got)}; the "
                    f"database's price is {current}, and in the last {STALE_BOUND} s it was "
                    f"{sorted(allowed)}.",
                    hint=TTL_HINT if got is not None else "Return the price in cents (an int).",
                )
    db_reads = db.reads - reads_before
    if db_reads > MAX_DB_READ_SHARE * reads:
        ctx.fail(
            f"{db_reads:,} of {reads:,} price reads ({db_reads / reads:.0%}) reached the "
            f"database; the target is at most {MAX_DB_READ_SHARE:.0%}.",
            hint=READS_HINT,
        )
