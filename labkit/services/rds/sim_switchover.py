"""A planned switchover between two PostgreSQL servers, with no copy of either's data.

An Aurora global database switchover makes a secondary Region's cluster the writer and the
former primary one of its secondaries (:mod:`.patch_global`). PostgreSQL does that without
copying a volume when the switch is planned:

1. the old primary stops cleanly: its shutdown checkpoint is the last record of its log, and
   the target standby, already given every segment the primary archived, is given the segment
   holding that checkpoint (from the primary's ``pg_wal``: it is not full, so never archived)
   and replays it (:func:`hand_over`). The two then hold the same data, byte for byte;
2. the target is promoted: it starts a new timeline at the end of that checkpoint record and
   archives the new timeline's history file;
3. the old primary's own data folder restarts as a standby (:func:`rejoin`) with
   ``recovery_target_timeline = 'latest'``, given that history file and the new timeline's
   segments. Its last checkpoint is exactly where the new timeline branches off, so replay
   follows the new timeline from there: "a standby server ... set recovery_target_timeline to
   latest ... to make the standby server follow the timeline change that occurs at failover"
   (https://www.postgresql.org/docs/current/runtime-config-wal.html#GUC-RECOVERY-TARGET-TIMELINE,
   https://www.postgresql.org/docs/current/continuous-archiving.html#BACKUP-TIMELINES). Had the
   old primary written past the branch point it would need ``pg_rewind``, which the engine's
   ``full_page_writes=off`` rules out; a clean stop before the promotion means it never does.

Plain Python (no moto): :mod:`.patch_global` calls it.
"""

from __future__ import annotations

import time
from pathlib import Path

from labkit.services.rds.sim_engine import EngineError, PostgresServer


def _timeline(segment: str) -> str:
    """The timeline a WAL segment's name is on (its first eight hex digits)."""
    return segment[:8]


def hand_over(old: PostgresServer, target: PostgresServer, shipped: str) -> str:
    """Stop ``old`` cleanly and have the standby ``target`` replay all it wrote after the
    segment ``shipped`` (already replayed there), its shutdown checkpoint included; returns
    the segment holding that checkpoint."""
    checkpoint, segment = old.shut_down()
    # Segments archived after ``shipped`` (writes between the last cut and the stop), on the
    # checkpoint's timeline only: an archive also keeps the segments of older timelines.
    archived = [
        path
        for path in old.archive.iterdir()
        if len(path.name) == 24
        and _timeline(path.name) == _timeline(segment)
        and shipped < path.name < segment
    ]
    # The last segment is in use when the server stops, so never archived: ship it from pg_wal,
    # under its name. Past the checkpoint record it holds zeros or a recycled segment's old
    # pages, which replay recognises as the end of the log.
    target._copy_in([*sorted(archived), old.data / "pg_wal" / segment])
    target.wait_replayed(checkpoint + 1, f"{segment} (the shutdown checkpoint)")
    return segment


def _history(primary: PostgresServer, timeline: str) -> Path:
    """The new timeline's history file, from the primary's archive. The archiver sends history
    files before segments, so it is there once a segment of the timeline is; ``pg_wal`` holds
    it from the promotion on (the fallback if the archiver is slow)."""
    name = f"{timeline}.history"
    deadline = time.monotonic() + 5
    while not (primary.archive / name).exists():
        if time.monotonic() > deadline:
            local = primary.data / "pg_wal" / name
            if local.exists():
                return local
            raise EngineError(f"the history file {name} was not archived in 5 s")
        time.sleep(0.002)
    return primary.archive / name


def redirect(standby: PostgresServer, old: PostgresServer, shipped: str, last: str) -> None:
    """Stop ``standby``, another standby of ``old`` that has replayed up to segment
    ``shipped``, and give it the rest of ``old``'s archived log, before :func:`hand_over`'s
    ``last``: then :func:`rejoin` makes it follow the new primary. It is behind the branch
    point, so it follows the new timeline as ``old`` does (the new timeline's first segment
    holds the end of ``old``'s log up to that point)."""
    standby.stop()
    standby._copy_in(
        sorted(
            path
            for path in old.archive.iterdir()
            if len(path.name) == 24
            and _timeline(path.name) == _timeline(last)
            and shipped < path.name < last
        )
    )


def rejoin(old: PostgresServer, primary: PostgresServer, upto: str) -> None:
    """Restart the stopped ``old`` as a hot standby of ``primary``, promoted from a standby of
    it, and have it replay ``primary``'s new timeline up to segment ``upto``."""
    timeline = _timeline(upto)
    old._follow_shipped("standby.signal", timeline="latest")
    segments = sorted(
        path
        for path in primary.segments(upto)
        if _timeline(path.name) == timeline  # the new timeline's segments only
    )
    # Shipped before it starts, so its first look finds them.
    old._copy_in([_history(primary, timeline), *segments])
    old.standby = True
    old._last_cut = None
    old.start()
    old.ship(segments)
