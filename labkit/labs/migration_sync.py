"""The migration lab's ``nightly_sync`` check: a DataSync task that mirrors a folder every night.

The learner writes ``nightly_sync(datasync, folder, bucket)``: a DataSync task from the
on-premises share (``folder``, a folder on this machine, as an NFS or SMB location) to the S3
bucket ``bucket`` (it exists), run every 24 hours on its own, moving only what changed.

The check makes the share (:data:`FILES` files, one in a sub-folder), calls the function, and lets
a day of lab time pass: the bucket must then hold every file. It changes two files and adds one,
lets the next day pass and asks the executions DataSync made in that day (their reports,
:mod:`labkit.services.datasync.state`): exactly one ran (a schedule of 24 hours; more than one is
a shorter interval, none a longer one or none at all), it moved exactly the three changed files
and skipped the rest as unchanged, and the bucket holds the new contents. Any spelling of the
schedule AWS accepts for "every day" passes (``rate(24 hours)``, ``rate(1 day)``, a daily
``cron(0 2 * * ? *)``), with NFS or
SMB, at the bucket's top or under a prefix, verifying or not.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from labkit.grading.checks import CheckContext
from labkit.views.base import plural

DAY = 86_400
FILES = 12
BUCKET = "nightly-mirror"
CHANGED = ("sales-03.csv", "deep/ledger.txt")
ADDED = "sales-new.csv"

SCHEDULE_HINT = (
    "Give the task a schedule when you create it: Schedule={'ScheduleExpression': "
    "'rate(24 hours)'} (or 'rate(1 day)', or 'cron(0 2 * * ? *)' for 02:00 UTC); DataSync then "
    "starts an execution every 24 hours on its own. One start_task_execution runs it once."
)
CHANGED_HINT = (
    "Leave Options' TransferMode at its default, CHANGED: DataSync then compares each file's "
    "size and modification time with the destination's and moves only what differs. ALL "
    "moves every file every night."
)
OVERWRITE_HINT = (
    "OverwriteMode NEVER leaves files that already exist at the destination as they are, "
    "changed or not: keep the default, ALWAYS, so a changed file replaces its old copy."
)


def _write(path: Path, text: str, when: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (when, when))


def _share(root: Path, when: float) -> None:
    for i in range(FILES - 1):
        _write(root / f"sales-{i:02d}.csv", f"day,amount\n1,{i * 10}\n", when)
    _write(root / "deep" / "ledger.txt", "opening balance 100\n", when)


def _files(root: Path) -> dict[str, str]:
    """Each file of the share by relative path, with the MD5 of its bytes."""
    return {
        p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _executions(now: float) -> list[dict[str, Any]]:
    from labkit.services.datasync.state import snapshot

    return [
        {**e, "task": t["name"], "schedule": t["schedule"]}
        for t in snapshot(now)["tasks"]
        for e in t["executions"]
    ]


def _objects(ctx: CheckContext) -> dict[str, str]:
    """Each object of the bucket by key, with its ETag: the MD5 of its bytes (a single-part
    upload's, as every DataSync write here is), so one listing compares every file."""
    s3 = ctx.client("s3")
    return {
        o["Key"]: o["ETag"].strip('"')
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for o in page.get("Contents", [])
    }


def _mirror(files: dict[str, str], objects: dict[str, str]) -> list[str]:
    """The share's files missing or stale in the bucket (under the prefix the share landed at)."""
    probe = "sales-00.csv"
    landed = [k for k in objects if k == probe or k.endswith("/" + probe)]
    prefix = landed[0][: -len(probe)] if landed else ""
    return [rel for rel, digest in files.items() if objects.get(prefix + rel) != digest]


def check_nightly_sync(ctx: CheckContext) -> None:
    """A day after ``nightly_sync``, the bucket mirrors the share; the next night moves only
    the three files that changed, in exactly one execution."""
    sync = ctx.function("nightly_sync")
    root = Path(tempfile.mkdtemp(prefix="labkit-share-"))
    try:
        _share(root, ctx.clock.timestamp)
        ctx.client("s3").create_bucket(Bucket=BUCKET)
        ctx.call(sync, ctx.client("datasync"), str(root), BUCKET)
        ctx.clock.advance(DAY)
        first = _executions(ctx.clock.timestamp)
        off = _mirror(_files(root), _objects(ctx))
        if not first:
            ctx.fail(
                "A day after `nightly_sync`, DataSync has run no execution: the bucket is "
                + ("empty." if len(off) == FILES else "not filled by DataSync."),
                hint=SCHEDULE_HINT,
            )
        if off:
            ctx.fail(
                f"A day after `nightly_sync` ({len(first)} execution(s)), the bucket lacks "
                f"{len(off)} of the share's {FILES} files ({', '.join(off[:3])}).",
                hint="The source location's Subdirectory is the share's folder (the `folder` "
                "argument); the destination is the bucket `bucket`.",
            )
        for rel in CHANGED:
            _write(root / rel, (root / rel).read_text() + "late correction\n", ctx.clock.timestamp)
        _write(root / ADDED, "day,amount\n2,5\n", ctx.clock.timestamp)
        changed_at = ctx.clock.timestamp
        ctx.clock.advance(DAY)
        night = [e for e in _executions(ctx.clock.timestamp) if e["started"] > changed_at]
        if not night:
            ctx.fail(
                "In the 24 hours after two files changed and one was added, DataSync ran no "
                f"execution (it ran {len(first)} on the first day): the task does not run every "
                "night.",
                hint=SCHEDULE_HINT,
            )
        if len(night) > 1:
            every = night[0]["schedule"] or "started by hand"
            ctx.fail(
                f"In one day DataSync ran {len(night)} executions ({every}): the task runs more "
                "often than every 24 hours.",
                hint=SCHEDULE_HINT,
            )
        run = night[0]
        expect = len(CHANGED) + 1
        if run["transferred"] != expect:
            ctx.fail(
                f"The night after two files changed and one was added, the execution moved "
                f"{plural(run['transferred'], 'file')} and skipped {run['skipped']}: it should "
                "move the "
                f"{expect} that changed and skip the {FILES - len(CHANGED)} others as unchanged.",
                hint=CHANGED_HINT if run["transferred"] > expect else OVERWRITE_HINT,
            )
        off = _mirror(_files(root), _objects(ctx))
        if off:
            ctx.fail(
                f"After the second night, {len(off)} file(s) in the bucket differ from the "
                f"share: {', '.join(off[:3])}.",
                hint=OVERWRITE_HINT,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
