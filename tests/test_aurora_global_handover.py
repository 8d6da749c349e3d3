"""The engine side of a planned global switchover: no copy, the old primary follows the new one.

:mod:`labkit.services.rds.sim_switchover` stops the old primary cleanly, gives the target the
segment holding its shutdown checkpoint, promotes the target and restarts the old primary's own
data folder as a standby on the new timeline. These tests drive it on two bare engines, writing
between the last shipped segment and the stop (more than a segment's worth, so some of it is
archived and the rest is only in ``pg_wal``), and switch three times so each server is promoted
from a standby that had itself been a primary.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labkit.services.rds import sim_switchover
from labkit.services.rds.sim_engine import WAL_SEGMENT, PostgresServer

#: Rows of about 1 kB each: enough log to fill more than two WAL segments.
BIG = 3 * WAL_SEGMENT // 1000


@pytest.fixture
def pair() -> Iterator[tuple[PostgresServer, PostgresServer]]:
    """A primary with a table, and a hot standby copied from it."""
    primary = PostgresServer.create()
    standby: PostgresServer | None = None
    try:
        primary.query("CREATE TABLE orders (id INT PRIMARY KEY, note TEXT)")
        primary.query("INSERT INTO orders VALUES (1, 'before')")
        standby = PostgresServer.copy_of(primary, standby=True)
        yield primary, standby
    finally:
        primary.destroy()
        if standby is not None:
            standby.destroy()


def ids(server: PostgresServer) -> list[int]:
    """The ids of the small rows (the bulk rows' ids start at 1000000)."""
    rows = server.query("SELECT id FROM orders WHERE id < 1000000 ORDER BY id")
    return [int(row[0]) for row in rows]


def count(server: PostgresServer) -> int:
    return int(server.query("SELECT count(*) FROM orders")[0][0])


def switch(old: PostgresServer, target: PostgresServer, shipped: str) -> str:
    """A planned switchover from ``old`` to ``target``; returns the new primary's first cut."""
    sim_switchover.hand_over(old, target, shipped)
    target.promote()
    cut = target.cut()
    sim_switchover.rejoin(old, target, cut)
    return cut


def test_the_old_primary_follows_the_new_timeline_without_a_copy(
    pair: tuple[PostgresServer, PostgresServer],
) -> None:
    primary, standby = pair
    data, port = primary.data, primary.port
    # Committed after the standby's copy and never cut: some of it is archived as segments fill
    # up, the rest (and the shutdown checkpoint) only in pg_wal.
    primary.query(
        f"INSERT INTO orders SELECT 1000000 + g, repeat('x', 1000) FROM generate_series(1, {BIG}) g"
    )
    primary.query("INSERT INTO orders VALUES (2, 'last commit before the switch')")
    expected = count(primary)

    cut = switch(primary, standby, shipped="")

    assert count(standby) == expected  # nothing the old primary committed was lost
    assert ids(standby) == [1, 2]
    assert cut.startswith("00000002")  # the promotion started timeline 2
    # The old primary is its own data folder again, on its port, a standby of timeline 2.
    assert (primary.data, primary.port, primary.standby) == (data, port, True)
    assert primary.query("SELECT pg_is_in_recovery()")[0][0] is True
    assert (primary.shipped / "00000002.history").exists()
    assert count(primary) == expected
    with pytest.raises(Exception, match="read-only transaction"):
        primary.query("INSERT INTO orders VALUES (3, 'refused')")

    standby.query("INSERT INTO orders VALUES (3, 'written on the new primary')")
    primary.ship(standby.segments(standby.cut()))
    assert ids(primary) == [1, 2, 3]


def test_switching_back_and_forth_loses_nothing(
    pair: tuple[PostgresServer, PostgresServer],
) -> None:
    primary, standby = pair
    first = switch(primary, standby, shipped="")
    standby.query("INSERT INTO orders VALUES (2, 'on timeline 2')")
    shipped = standby.cut()
    primary.ship(standby.segments(shipped))
    standby.query("INSERT INTO orders VALUES (3, 'not yet shipped when it stops')")

    second = switch(standby, primary, shipped=shipped)
    assert first.startswith("00000002") and second.startswith("00000003")
    primary.query("INSERT INTO orders VALUES (4, 'on timeline 3')")
    assert ids(primary) == [1, 2, 3, 4]

    third = switch(primary, standby, shipped=second)
    assert third.startswith("00000004")
    standby.query("INSERT INTO orders VALUES (5, 'on timeline 4')")
    primary.ship(standby.segments(standby.cut()))
    assert ids(primary) == [1, 2, 3, 4, 5]
    assert ids(standby) == [1, 2, 3, 4, 5]
