"""The DynamoDB lab's ``dax_reads`` check: a read path through DAX that never shows a user their
own stale write.

The learner writes ``save_profile(dax, dynamodb, profile)`` and ``load_profile(dax, dynamodb,
user_id, viewer)``: ``dax`` is the real DAX client's resource (``AmazonDaxClient.resource(
endpoint_url=...)``, served by the sandbox's DAX), ``dynamodb`` boto3's DynamoDB resource; both
have ``.Table(name)`` and ``.meta.client``. In a world of its own the check creates the table
``profiles`` and a DAX cluster in front of it, then runs a read-heavy mix on the lab clock:
viewers read popular profiles, and now and then a user edits their own profile and looks at it.
It asks:

- a user who saved their profile always sees that save (or a later one) when they look at it:
  write through DAX (its item cache is updated) or read strongly consistent after your own
  write (DAX passes such reads to DynamoDB) both do;
- the reads go through DAX: most loads are answered from its cache, not by DynamoDB.
"""

from __future__ import annotations

import importlib
import random
from typing import Any

from labkit.grading.checks import CheckContext, short

PROFILES_TABLE = "profiles"
CLUSTER = "profiles-cache"
CLUSTER_ROLE = "arn:aws:iam::123456789012:role/DAXServiceRole"
USERS = 40
#: Operations of the mix, one every :data:`STEP` seconds of lab time.
OPERATIONS = 360
STEP = 0.5
#: Share of the operations that are a user editing (then viewing) their own profile.
EDIT_SHARE = 0.12
#: At least this share of the loads must be answered from DAX's caches.
MIN_HIT_SHARE = 0.5
CITIES = ("Lisbon", "Oslo", "Paris", "Tokyo", "Lima", "Accra", "Hanoi", "Quito", "Perth", "Cork")


def dax_resource(endpoint: str) -> Any:
    """The DAX client's resource for ``endpoint`` (the real ``amazondax`` package, which the
    sandbox serves)."""
    amazondax = importlib.import_module("amazondax")
    return amazondax.AmazonDaxClient.resource(endpoint_url=endpoint)


def create_profiles(ctx: CheckContext) -> str:
    """The table with one profile per user and a DAX cluster in front of it; its endpoint."""
    client = ctx.client("dynamodb")
    client.create_table(
        TableName=PROFILES_TABLE,
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for number in range(USERS):
        client.put_item(
            TableName=PROFILES_TABLE,
            Item={
                "user_id": {"S": f"user-{number:02d}"},
                "city": {"S": CITIES[number % len(CITIES)]},
                "version": {"N": "0"},
            },
        )
    control = ctx.client("dax")
    control.create_cluster(
        ClusterName=CLUSTER, NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=CLUSTER_ROLE
    )
    cluster = control.describe_clusters(ClusterNames=[CLUSTER])["Clusters"][0]
    return str(cluster["ClusterDiscoveryEndpoint"]["URL"])


def _hits() -> tuple[int, int]:
    """Hits and misses of the check's cluster so far (item and query caches together)."""
    state = importlib.import_module("labkit.services.dax.state")
    snap = state.cluster_snapshot(CLUSTER)
    return snap.item_hits + snap.query_hits, snap.item_misses + snap.query_misses


def _mix(seed: int = 6) -> list[tuple[str, str, str]]:
    """``(what, user_id, viewer)``: ``read`` of a popular profile by some viewer, or ``edit``
    of a user's own profile (followed by the user viewing it)."""
    rng = random.Random(seed)
    users = [f"user-{n:02d}" for n in range(USERS)]
    # Popularity falls off as 1/rank: a few profiles take most reads, as on any social site.
    weights = [1 / (rank + 1) for rank in range(USERS)]
    out: list[tuple[str, str, str]] = []
    for _ in range(OPERATIONS):
        if out and rng.random() < EDIT_SHARE:
            # Users who edit are among those whose profiles were read lately: cached ones.
            user = rng.choice([u for what, u, _ in out[-20:] if what == "read"] or users)
            out.append(("edit", user, user))
        else:
            out.append(("read", rng.choices(users, weights)[0], rng.choice(users)))
    return out


def _describe(profile: Any) -> str:
    if not isinstance(profile, dict):
        return short(profile)
    return f"city={profile.get('city')!s}, version={profile.get('version')!s}"


STALE_OWN_HINT = (
    "DAX's item cache does not see a write made straight to DynamoDB: it keeps the old item "
    "until its TTL (5 minutes by default) runs out. Either write through DAX (`dax.Table("
    "'profiles').put_item(...)`: DAX writes to DynamoDB, then updates its item cache), or read "
    "with `ConsistentRead=True` when the viewer is the user who wrote (DAX passes strongly "
    "consistent reads to DynamoDB)."
)
QUERY_CACHE_HINT = (
    "A write through DAX updates the item cache only: a Query (or Scan) result stays in the "
    "query cache, unchanged, until its TTL runs out. Read a profile with `get_item` by its key "
    "(the item cache), or read the writer's own profile with `ConsistentRead=True`."
)
NO_DAX_HINT = (
    "Read through DAX: `dax.Table('profiles').get_item(Key={'user_id': user_id})`. The "
    "`dynamodb` resource goes straight to DynamoDB, every read in milliseconds and consuming "
    "read capacity; DAX answers repeated reads of popular profiles from memory in microseconds."
)
ALWAYS_CONSISTENT_HINT = (
    "DAX passes strongly consistent reads (`ConsistentRead=True`) straight to DynamoDB and never "
    "caches them, so a read path that always asks for them gains nothing from DAX. Read "
    "eventually consistent through DAX, and strongly consistent only where freshness matters: "
    "a user looking at the profile they just saved (or write through DAX, and you need neither)."
)


def check_dax_reads(ctx: CheckContext) -> None:
    """A user always sees their own saves, and DAX answers most loads from its cache."""
    save = ctx.function("save_profile")
    load = ctx.function("load_profile")
    endpoint = create_profiles(ctx)
    dax = dax_resource(endpoint)
    dynamodb = ctx.resource("dynamodb")
    saved: dict[str, dict[str, Any]] = {}
    versions: dict[str, int] = {}
    loads = 0
    consistent = {"reads": 0, "queries": 0}

    def count(params: Any = None, **_: Any) -> None:
        if isinstance(params, dict) and params.get("ConsistentRead"):
            consistent["reads"] += 1

    def count_query(**_: Any) -> None:
        consistent["queries"] += 1

    for client in (dax.meta.client, dynamodb.meta.client):
        client.meta.events.register("before-parameter-build.*.GetItem", count)
        client.meta.events.register("before-parameter-build.*.Query", count_query)
    hits_before, misses_before = _hits()
    start = ctx.clock.timestamp
    for step, (what, user, viewer) in enumerate(_mix()):
        ctx.clock.advance_to(start + step * STEP)
        if what == "edit":
            versions[user] = versions.get(user, 0) + 1
            profile = {
                "user_id": user,
                "city": CITIES[(versions[user] * 3 + len(user)) % len(CITIES)],
                "version": versions[user],
            }
            ctx.call(save, dax, dynamodb, dict(profile))
            saved[user] = profile
        got = ctx.call(load, dax, dynamodb, user, viewer)
        loads += 1
        response_keys = {"Item", "ResponseMetadata"}
        if isinstance(got, dict) and "user_id" not in got and response_keys & set(got):
            ctx.fail(
                f"`load_profile({user!r}, viewer={viewer!r})` returned the whole `get_item` "
                f"response (keys {', '.join(sorted(got))}), not the profile.",
                hint="Return the item (`response.get('Item')`), not the whole response.",
            )
        if got is not None and not isinstance(got, dict):
            ctx.fail(
                f"`load_profile({user!r}, viewer={viewer!r})` returned {short(got)}, not the "
                "profile (a dict) or None.",
                hint="Return the item (`response.get('Item')`), not the whole response.",
            )
        if got is None:
            ctx.fail(
                f"`load_profile({user!r}, viewer={viewer!r})` returned None, but the table has "
                f"{user}'s profile.",
                hint="Read the item by its key, `{'user_id': user_id}`, from the `profiles` "
                "table, and return it.",
            )
        mine = saved.get(user)
        if viewer == user and mine is not None:
            version = int(got.get("version", -1))
            if version < int(mine["version"]):
                queried = consistent["queries"] > 0
                ctx.fail(
                    f"{user} saved their profile ({_describe(mine)}) at "
                    f"{ctx.clock.timestamp - start:g} s and looked at it: `load_profile` showed "
                    f"them {_describe(got)}, an older version"
                    + (" (from DAX's query cache)." if queried else " (from DAX's cache)."),
                    hint=QUERY_CACHE_HINT if queried else STALE_OWN_HINT,
                )
    hits = _hits()[0] - hits_before
    misses = _hits()[1] - misses_before
    if hits < MIN_HIT_SHARE * loads:
        if hits + misses == 0 and not consistent["reads"]:
            ctx.fail(
                f"DAX answered none of the {loads} loads: they all went straight to DynamoDB.",
                hint=NO_DAX_HINT,
            )
        if consistent["reads"] >= loads * (1 - MIN_HIT_SHARE):
            ctx.fail(
                f"{consistent['reads']} of the {loads} loads asked for a strongly consistent "
                f"read, which DAX passes to DynamoDB: its cache answered only {hits}.",
                hint=ALWAYS_CONSISTENT_HINT,
            )
        ctx.fail(
            f"DAX's cache answered {hits} of the {loads} loads ({hits / loads:.0%}); at least "
            f"{MIN_HIT_SHARE:.0%} of a read-heavy mix of popular profiles should be hits.",
            hint=NO_DAX_HINT,
        )
