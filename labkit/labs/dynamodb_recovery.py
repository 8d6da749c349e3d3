"""The DynamoDB lab's ``pitr_restore`` check: undo a bad batch write with point-in-time recovery.

The learner writes ``protect(dynamodb, table_name)`` (what the table needs before anything goes
wrong) and ``recover(dynamodb, table_name, bad_at)`` (restore the table as it was just before the
bad batch that started at ``bad_at``, a UTC ``datetime``, and return the restored table: its
name, its ARN or a ``Table`` resource). ``dynamodb`` is a boto3 DynamoDB resource. In a world of
its own the check creates the table ``ledger``, calls ``protect``, writes good entries for ten
minutes on the lab clock, then a bad batch (zeroed totals and junk entries), lets a quarter of an
hour pass (the time it takes to notice), calls ``recover`` and asks:

- the restored table holds exactly the items of the moment before the bad batch: every good
  write (the last one two seconds before ``bad_at``), nothing of the bad batch;
- point-in-time recovery is on for the restored table too (a restore does not carry it over).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from labkit.grading.checks import CheckContext, CheckFailed, short

LEDGER_TABLE = "ledger"
#: Good entries, one every :data:`GOOD_EVERY` seconds, then the bad batch two seconds later.
GOOD_ENTRIES = 60
GOOD_EVERY = 10
#: Entries the bad batch zeroes, and junk entries it adds.
BAD_OVERWRITES = 15
BAD_JUNK = 10
#: Lab seconds between the bad batch and the call to ``recover``: the time it takes to notice.
NOTICED_AFTER = 900


def _entry(number: int) -> dict[str, Any]:
    return {"entry_id": {"S": f"entry-{number:03d}"}, "amount": {"N": str(10 + number)}}


def _batch(client: Any, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        chunk = items[start : start + 25]
        client.batch_write_item(
            RequestItems={LEDGER_TABLE: [{"PutRequest": {"Item": i}} for i in chunk]}
        )


def _name_of(returned: Any) -> str | None:
    """The table name ``recover`` returned, whichever way AWS spells a table."""
    name = getattr(returned, "name", None) or getattr(returned, "table_name", None)
    if isinstance(name, str):
        return name
    if isinstance(returned, dict):
        described = returned.get("TableDescription") or returned.get("Table") or {}
        found = described.get("TableName") if isinstance(described, dict) else None
        return str(found) if found else None
    if isinstance(returned, str) and returned:
        # An ARN (arn:aws:dynamodb:region:account:table/name) or a name.
        return (
            returned.rsplit("table/", 1)[-1].split("/", 1)[0]
            if ":table/" in returned
            else (returned)
        )
    return None


def _items(client: Any, table: str) -> dict[str, int]:
    """Each entry's amount in ``table`` (a strongly consistent scan by the check)."""
    out: dict[str, int] = {}
    page: dict[str, Any] = {}
    while True:
        response = client.scan(TableName=table, ConsistentRead=True, **page)
        for item in response["Items"]:
            out[item["entry_id"]["S"]] = int(Decimal(item.get("amount", {}).get("N", "-1")))
        if "LastEvaluatedKey" not in response:
            return out
        page = {"ExclusiveStartKey": response["LastEvaluatedKey"]}


NO_PITR_HINT = (
    "Point-in-time recovery must be on before anything goes wrong: `protect` should call "
    "`update_continuous_backups(TableName=table_name, PointInTimeRecoverySpecification="
    "{'PointInTimeRecoveryEnabled': True})`. A restore can only go back to when it was enabled."
)
TOO_LATE_HINT = (
    "RestoreDateTime restores the items as they were at that instant, writes made at it "
    "included. Restore to a moment before the bad batch started: `bad_at - timedelta("
    "seconds=1)`. UseLatestRestorableTime (about five minutes ago) is after the bad batch here."
)
TOO_EARLY_HINT = (
    "PITR restores to any second of its window: pick the last moment before the bad batch "
    "(`bad_at - timedelta(seconds=1)`), not an earlier one, or the good writes made since are "
    "lost. An on-demand backup (`create_backup`) only holds the table as it was when it was "
    "taken."
)
RESTORED_PITR_HINT = (
    "A restored table does not inherit the source's point-in-time recovery (nor its TTL, "
    "streams, auto scaling or tags): turn PITR on for it with `update_continuous_backups` once "
    "it is created, so the next accident can be undone too."
)


def check_pitr_restore(ctx: CheckContext) -> None:
    """``recover`` restores exactly the items of the moment before the bad batch, into a table
    with PITR on."""
    protect = ctx.function("protect")
    recover = ctx.function("recover")
    dynamodb = ctx.resource("dynamodb")
    client = ctx.client("dynamodb")
    client.create_table(
        TableName=LEDGER_TABLE,
        KeySchema=[{"AttributeName": "entry_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "entry_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ctx.call(protect, dynamodb, LEDGER_TABLE)
    start = float(int(ctx.clock.timestamp)) + 60
    good: dict[str, int] = {}
    for number in range(GOOD_ENTRIES):
        ctx.clock.advance_to(start + number * GOOD_EVERY)
        item = _entry(number)
        client.put_item(TableName=LEDGER_TABLE, Item=item)
        good[item["entry_id"]["S"]] = int(item["amount"]["N"])
    bad_second = start + (GOOD_ENTRIES - 1) * GOOD_EVERY + 2
    ctx.clock.advance_to(bad_second)
    bad = [
        {"entry_id": {"S": f"entry-{n:03d}"}, "amount": {"N": "0"}}
        for n in range(0, BAD_OVERWRITES * 3, 3)
    ] + [{"entry_id": {"S": f"junk-{n:02d}"}, "amount": {"N": "0"}} for n in range(BAD_JUNK)]
    _batch(client, bad)
    ctx.clock.advance(NOTICED_AFTER)
    bad_at = datetime.fromtimestamp(bad_second, tz=timezone.utc)
    try:
        returned = ctx.call(recover, dynamodb, LEDGER_TABLE, bad_at)
    except CheckFailed as failure:
        cause = failure.__cause__
        code = cause.response.get("Error", {}).get("Code") if isinstance(cause, ClientError) else ""
        if code in ("PointInTimeRecoveryUnavailableException", "ContinuousBackupsUnavailable"):
            ctx.fail(failure.message, hint=NO_PITR_HINT)
        if code == "InvalidRestoreTimeException":
            ctx.fail(
                failure.message,
                hint="A restore time must lie inside the table's window: after PITR was "
                "enabled (EarliestRestorableDateTime) and before LatestRestorableDateTime. "
                + TOO_LATE_HINT,
            )
        if code in ("TableAlreadyExistsException", "TableInUseException", "ResourceInUseException"):
            ctx.fail(
                failure.message,
                hint="PITR restores into a NEW table (TargetTableName): it never overwrites the "
                "source. Restore into another name, such as `ledger-restored`, and return it.",
            )
        raise
    name = _name_of(returned)
    tables = client.list_tables()["TableNames"]
    if name is None or name not in tables:
        others = [t for t in tables if t != LEDGER_TABLE]
        ctx.fail(
            f"`recover` returned {short(returned)}, which names no table of the sandbox "
            f"(it has {', '.join(others) or 'no table besides the source'}).",
            hint="Return the restored table: its name (TargetTableName), its ARN, or the "
            "`Table` resource.",
        )
    if name == LEDGER_TABLE:
        ctx.fail(
            f"`recover` returned the source table `{LEDGER_TABLE}`, which still holds the bad "
            "batch.",
            hint="Return the table the restore created (TargetTableName).",
        )
    restored = _items(client, name)
    junk = sorted(k for k in restored if k.startswith("junk-"))
    zeroed = sorted(k for k, v in restored.items() if v == 0 and k in good)
    if junk or zeroed:
        ctx.fail(
            f"`{name}` holds {len(junk)} junk entries and {len(zeroed)} zeroed amounts of the "
            f"bad batch that started at {bad_at:%H:%M:%S} ("
            + (junk or zeroed)[0]
            + " for one): it was restored to the bad batch's time or later.",
            hint=TOO_LATE_HINT,
        )
    missing = sorted(set(good) - set(restored))
    if missing:
        before = (GOOD_ENTRIES - 1 - int(missing[-1][-3:])) * GOOD_EVERY + 2
        ctx.fail(
            f"`{name}` lacks {len(missing)} of the {GOOD_ENTRIES} good entries (the last, "
            f"{missing[-1]}, was written {before} s before the bad batch): it was restored to a "
            "moment too early.",
            hint=TOO_EARLY_HINT,
        )
    wrong = sorted(k for k, v in restored.items() if good.get(k) != v)
    if wrong:
        ctx.fail(
            f"`{name}` has entries that were never written as they are ({wrong[0]}: "
            f"{restored[wrong[0]]}).",
            hint=TOO_EARLY_HINT,
        )
    status = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    pitr = status.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
    if pitr != "ENABLED":
        ctx.fail(
            f"`{name}` holds the right items, but its point-in-time recovery is "
            f"{str(pitr or 'DISABLED').lower()}.",
            hint=RESTORED_PITR_HINT,
        )
