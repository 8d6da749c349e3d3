"""The databases lab's ``pitr`` check: restore an RDS database to the second before a bad
migration.

The learner writes ``protect(rds, instance_id)`` (what the instance needs before anything goes
wrong) and ``recover(rds, instance_id, bad_at)``: restore the database as it was just before the
migration that ran at ``bad_at`` (a UTC ``datetime``) into a new instance, and return it (its
identifier, its ARN, or ``restore_db_instance_to_point_in_time``'s answer). ``rds`` is a boto3
RDS client. In a world of its own the check creates ``ledger`` with automated backups off, calls
``protect``, writes an entry every :data:`EVERY` seconds of lab time, runs the bad migration (it
zeroes every amount and deletes a third of the entries) at ``bad_at``, lets a quarter of an hour
pass, calls ``recover`` and reads the restored database: it must hold every entry, with its
amount, and nothing of the migration (PostgreSQL's WAL replayed to the second,
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIT.html).
"""

from __future__ import annotations

from typing import Any

from labkit.grading.checks import CheckContext, short
from labkit.labs.databases_support import Opened, create_postgres, execute, raw_connect, rows

INSTANCE = "ledger"
ENTRIES = 24
EVERY = 15
NOTICED_AFTER = 900


def _identifier(returned: Any) -> str | None:
    """The instance ``recover`` returned, whichever way AWS spells one."""
    if isinstance(returned, dict):
        described = returned.get("DBInstance", returned)
        if isinstance(described, dict) and described.get("DBInstanceIdentifier"):
            return str(described["DBInstanceIdentifier"])
        return None
    if isinstance(returned, str) and returned:
        return returned.rsplit(":db:", 1)[-1]
    return None


def check_pitr(ctx: CheckContext) -> None:
    """The restored instance holds the ledger as it was the second before the migration."""
    with Opened() as opened:
        _check(ctx, opened)


def _check(ctx: CheckContext, opened: Opened) -> None:
    protect = ctx.function("protect")
    recover = ctx.function("recover")
    rds = ctx.client("rds")
    instance = create_postgres(ctx, INSTANCE, BackupRetentionPeriod=0)
    conn = opened.add(raw_connect(instance))
    execute(conn, "CREATE TABLE entries (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL)")
    ctx.call(protect, rds, INSTANCE)
    expected: dict[int, int] = {}
    for n in range(1, ENTRIES + 1):
        ctx.clock.advance(EVERY)
        execute(conn, f"INSERT INTO entries VALUES ({n}, {100 + 7 * n})")
        expected[n] = 100 + 7 * n
    ctx.clock.advance(1)
    bad_at = ctx.clock.now
    execute(conn, "UPDATE entries SET amount = 0", "DELETE FROM entries WHERE id % 3 = 0")
    conn.close()
    ctx.clock.advance(NOTICED_AFTER)

    returned = ctx.call(
        recover,
        rds,
        INSTANCE,
        bad_at,
        hints={
            Exception: "Restore with `restore_db_instance_to_point_in_time`, from the instance, "
            "into a new one (`TargetDBInstanceIdentifier`), to `RestoreTime=bad_at - "
            "timedelta(seconds=1)`: automated backups (`BackupRetentionPeriod` of 1 to 35 days) "
            "must have been on since before the migration."
        },
    )
    target = _identifier(returned)
    known = {d["DBInstanceIdentifier"]: d for d in rds.describe_db_instances()["DBInstances"]}
    if target is None or target not in known:
        ctx.fail(
            f"`recover` returned {short(returned)}, which names no DB instance in the sandbox "
            f"(there are {sorted(known)}).",
            hint="Return the restored instance's identifier (`TargetDBInstanceIdentifier`), "
            "or the answer of `restore_db_instance_to_point_in_time`.",
        )
    if target == INSTANCE:
        ctx.fail(
            f"`recover` returned `{INSTANCE}` itself, which still holds the migration's damage.",
            hint="A point-in-time restore creates a new instance: return that one.",
        )
    restored = opened.add(raw_connect(known[target]))
    try:
        found = dict(rows(restored, "SELECT id, amount FROM entries"))
    except Exception as error:  # the table may be missing: PostgreSQL's own error
        ctx.fail(
            f"The restored instance `{target}` has no readable `entries` table: {error}",
            hint="Restore to a time after the table was created and before the migration.",
        )
    finally:
        restored.close()
    if found == expected:
        return
    zeroed = sum(1 for v in found.values() if v == 0)
    missing = sorted(set(expected) - set(found))
    if zeroed or (missing and all(n % 3 == 0 for n in missing)):
        ctx.fail(
            f"The restored `{target}` holds the migration's damage ({zeroed} zeroed amounts, "
            f"{len(missing)} entries deleted): it was restored to the migration's second "
            f"({bad_at:%H:%M:%S}) or later.",
            hint="Writes made during the second of `RestoreTime` are in the restore: go back "
            "one second, `RestoreTime=bad_at - timedelta(seconds=1)` (not "
            "`UseLatestRestorableTime`).",
        )
    ctx.fail(
        f"The restored `{target}` holds {len(found)} entries, not {len(expected)}: entries "
        f"{missing[:6]} (written before the migration) are missing.",
        hint="Restore to the second before the migration, not to an older snapshot or time: "
        "`RestoreTime=bad_at - timedelta(seconds=1)`.",
    )
