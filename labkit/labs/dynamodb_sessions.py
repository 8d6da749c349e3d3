"""The DynamoDB lab's ``sessions`` check: a web-session store whose sessions expire with TTL.

The learner writes three functions: ``create_sessions_table(dynamodb)`` (the table and its Time
to Live), ``save_session(dynamodb, session_id, user_id, clock)`` and ``load_session(dynamodb,
session_id, clock)``; ``dynamodb`` is a boto3 DynamoDB service resource (its ``meta.client``, a
client that takes plain Python values), ``clock`` the lab clock. In a world of its own, the check
saves sessions on the lab clock and asks:

- a session is returned while it is younger than :data:`SESSION_TTL`;
- once its TTL has passed, ``load_session`` returns None at once, although DynamoDB deletes
  expired items in the background, up to days later (until then reads still return them);
- the table's TTL is on, on the attribute the sessions carry, as a Number of epoch seconds at the
  session's expiry, so that DynamoDB deletes the item itself after the expiry, and not before.
"""

from __future__ import annotations

import importlib
from decimal import Decimal
from typing import Any

from labkit import facts
from labkit.grading.checks import CheckContext, short

SESSIONS_TABLE = "sessions"
#: How long a session lives, in seconds (30 minutes).
SESSION_TTL = 1_800
#: A session saved and read back this many seconds later must still be there.
SOON = 10
#: Sessions the check saves: (session id, user id, seconds after the start when it is saved).
SESSIONS = (("s-alpha", "ana", 0), ("s-bravo", "ben", 600), ("s-charlie", "cai", 1_500))


def sweep_bound() -> float:
    """How long after an item's TTL DynamoDB's background delete may take in the sandbox: the
    TTL simulator's bound when there is one, else the documented typical delay."""
    for fact_id in ("dynamodb.ttl_sweep_max_delay", "dynamodb.ttl_deletion_typical"):
        try:
            return float(facts.value(fact_id))
        except Exception:  # the first fact is the TTL simulator's; older trees lack it
            continue
    return 2 * 86_400.0


def _sweep_simulated() -> bool:
    """Whether the sandbox deletes expired items (the TTL simulator is installed)."""
    try:
        importlib.import_module("labkit.services.dynamodb.patch_ttl")
    except ImportError:
        return False
    return True


NO_TTL_HINT = (
    "Turn Time to Live on for the table, on the attribute that holds each session's expiry: "
    "`client.update_time_to_live(TableName='sessions', TimeToLiveSpecification={'Enabled': "
    "True, 'AttributeName': 'expires_at'})`. Without it DynamoDB never deletes expired items."
)
FILTER_HINT = (
    "DynamoDB deletes expired items in the background, typically within a few days of their "
    "expiry: until then GetItem and Query still return them. `load_session` must compare the "
    "session's expiry with the lab clock (`clock.timestamp`) and return None when it has "
    "passed (or read with a condition on the expiry attribute)."
)
SECONDS_HINT = (
    "TTL reads the attribute as a Number of seconds since the Unix epoch "
    "(`int(clock.timestamp) + 1800`). Milliseconds put the expiry thousands of years ahead, and "
    "DynamoDB ignores a TTL value more than five years in the past, so such items are never "
    "deleted."
)
TYPE_HINT = (
    "TTL only acts on an attribute of type Number holding epoch seconds: a string (an ISO date, "
    "or a number written as text) is ignored, and the item never expires. Store "
    "`int(clock.timestamp) + 1800` as a number (a Python int or Decimal)."
)


def _table_names(client: Any) -> list[str]:
    return list(client.list_tables().get("TableNames", []))


def _expect_table(ctx: CheckContext, client: Any) -> dict[str, Any]:
    names = _table_names(client)
    if SESSIONS_TABLE not in names:
        made = ", ".join(f"`{n}`" for n in names) or "no table at all"
        ctx.fail(
            f"After `create_sessions_table` ran, the sandbox has {made}, not `{SESSIONS_TABLE}`.",
            hint=f'Create it with `create_table(TableName="{SESSIONS_TABLE}", ...)`: the name '
            "must match exactly.",
        )
    table: dict[str, Any] = client.describe_table(TableName=SESSIONS_TABLE)["Table"]
    return table


def _ttl(client: Any) -> tuple[str, str]:
    """The table's TTL status and attribute (``("DISABLED", "")`` when off)."""
    described = client.describe_time_to_live(TableName=SESSIONS_TABLE)["TimeToLiveDescription"]
    return str(described.get("TimeToLiveStatus", "DISABLED")), str(
        described.get("AttributeName", "")
    )


def _raw(client: Any, table: dict[str, Any], session_id: str) -> dict[str, Any] | None:
    """The session's item as the table holds it (a strongly consistent read by the check, with
    a low-level client: attribute values as ``{"N": "..."}``)."""
    key_name = table["KeySchema"][0]["AttributeName"]
    got = client.get_item(
        TableName=SESSIONS_TABLE, Key={key_name: {"S": session_id}}, ConsistentRead=True
    )
    item = got.get("Item")
    return item if isinstance(item, dict) else None


def _load(ctx: CheckContext, load: Any, dynamodb: Any, session_id: str) -> Any:
    got = ctx.call(load, dynamodb, session_id, ctx.clock)
    if got is not None and not isinstance(got, dict):
        ctx.fail(
            f"`load_session` returned {short(got)}, not the session (a dict) or None.",
            hint="Return the session's item (`response.get('Item')` of `get_item`), or None.",
        )
    return got


def check_sessions(ctx: CheckContext) -> None:
    """The session store returns live sessions, never an expired one, and TTL deletes them."""
    create = ctx.function("create_sessions_table")
    save = ctx.function("save_session")
    load = ctx.function("load_session")
    dynamodb = ctx.resource("dynamodb")
    client = ctx.client("dynamodb")
    ctx.call(create, dynamodb)
    table = _expect_table(ctx, client)
    keys = table["KeySchema"]
    if len(keys) != 1 or table["AttributeDefinitions"][0].get("AttributeType") != "S":
        ctx.fail(
            f"`{SESSIONS_TABLE}` has the key schema {short(keys, 120)}, so a session cannot "
            "be read by its id alone.",
            hint="Make the session id (a string, type S) the table's only key: its partition "
            "key, with no sort key.",
        )
    start = ctx.clock.timestamp
    for session_id, user_id, offset in SESSIONS:
        ctx.clock.advance_to(start + offset)
        ctx.call(save, dynamodb, session_id, user_id, ctx.clock)

    # Ten seconds after the last save, the last session is live.
    last_id, last_user, last_at = SESSIONS[-1]
    ctx.clock.advance_to(start + last_at + SOON)
    got = _load(ctx, load, dynamodb, last_id)
    if got is None or got.get("user_id") != last_user:
        stored = _raw(client, table, last_id)
        status, attribute = _ttl(client)
        if stored and status in ("ENABLED", "ENABLING") and attribute in stored:
            # A reader that hides a live session is most often fed a wrong expiry: say which.
            _expect_ttl_attribute(ctx, client, table, last_id, start + last_at)
        ctx.fail(
            f"`load_session({last_id!r})` returned {short(got)} {SOON} s after the session was "
            f"saved for {last_user!r}; the table holds {short(stored, 120)}.",
            hint="Save the session with its `user_id` attribute and its expiry, and return the "
            "item while its expiry is still ahead of `clock.timestamp`."
            if stored
            else "`save_session` must put an item with the session id as key and the "
            "`user_id` attribute.",
        )
    first_id, _, first_at = SESSIONS[0]
    expires = start + first_at + SESSION_TTL
    ctx.clock.advance_to(expires - SOON)
    if _load(ctx, load, dynamodb, first_id) is None:
        ctx.fail(
            f"`load_session({first_id!r})` returned None {SESSION_TTL - SOON} s after the "
            f"session was saved; it should live for {SESSION_TTL} s.",
            hint=f"A session lives {SESSION_TTL} s from when it was saved: its expiry is "
            f"`int(clock.timestamp) + {SESSION_TTL}` at save time.",
        )
    _expect_ttl_attribute(ctx, client, table, first_id, start + first_at)

    # Just past its expiry the item is still in the table: the reader must say it is gone.
    ctx.clock.advance_to(expires + 1)
    stale = _load(ctx, load, dynamodb, first_id)
    if stale is not None:
        still = _raw(client, table, first_id) is not None
        ctx.fail(
            f"`load_session({first_id!r})` returned the session 1 s after it expired"
            + (
                " (DynamoDB has not deleted the item yet: TTL deletes in the background)."
                if still
                else "."
            ),
            hint=FILTER_HINT,
        )
    if not _sweep_simulated():
        return
    # After the background delete's bound the item has gone, and the later sessions have not.
    bound = sweep_bound()
    ctx.clock.advance_to(expires + bound + 1)
    if _raw(client, table, first_id) is not None:
        ctx.fail(
            f"{bound / 3600:g} hours after {first_id!r} expired, its item is still in the "
            "table: DynamoDB did not delete it.",
            hint=NO_TTL_HINT,
        )


def _expect_ttl_attribute(
    ctx: CheckContext, client: Any, table: dict[str, Any], session_id: str, saved_at: float
) -> None:
    """The table's TTL is on, and the session's item holds its expiry in epoch seconds."""
    status, attribute = _ttl(client)
    item = _raw(client, table, session_id) or {}
    if status not in ("ENABLED", "ENABLING"):
        numbers = [k for k, v in item.items() if "N" in v]
        ctx.fail(
            f"Time to Live is {status.lower()} on `{SESSIONS_TABLE}`"
            + (f" (the sessions carry {', '.join(numbers)})" if numbers else "")
            + ", so DynamoDB would never delete an expired session.",
            hint=NO_TTL_HINT,
        )
    if attribute not in item:
        ctx.fail(
            f"TTL is on for the attribute `{attribute}`, but the session's item has no "
            f"`{attribute}` (it holds {', '.join(sorted(item)) or 'nothing'}), so DynamoDB "
            "would never delete it.",
            hint=f"Write each session's expiry into `{attribute}`, the attribute TTL reads "
            "(or turn TTL on for the attribute you write).",
        )
    value = item[attribute]
    if "N" not in value:
        ctx.fail(
            f"The session's `{attribute}` is {short(value)}: of type "
            f"{next(iter(value), '?')}, not Number, so TTL ignores it.",
            hint=TYPE_HINT,
        )
    expiry = float(Decimal(value["N"]))
    wanted = saved_at + SESSION_TTL
    if expiry > wanted * 100:
        ctx.fail(
            f"The session's `{attribute}` is {value['N']}: milliseconds, not seconds, since the "
            "epoch.",
            hint=SECONDS_HINT,
        )
    if abs(expiry - wanted) > 1:
        ctx.fail(
            f"A session saved at {saved_at:.0f} (epoch seconds) has `{attribute}` = "
            f"{value['N']}, {expiry - saved_at:+.0f} s from then, not {SESSION_TTL} s: DynamoDB "
            "would delete it at the wrong time.",
            hint=f"Store the expiry, `int(clock.timestamp) + {SESSION_TTL}`, not the time the "
            "session was saved (TTL deletes items whose value has passed).",
        )
