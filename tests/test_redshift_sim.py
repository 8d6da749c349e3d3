"""Redshift's SQL and its storage model on the engine alone (no sandbox): parsing, layouts,
rows a join redistributes and blocks zone maps skip, computed from the rows."""

from __future__ import annotations

import duckdb
import pytest

from labkit.services.redshift import sim_sql
from labkit.services.redshift.sim_layout import BLOCK_BYTES
from labkit.services.redshift.sim_sql import Layout, RedshiftSqlError
from labkit.services.redshift.sim_warehouse import Context, Outcome, Warehouse

ROLE = "arn:aws:iam::123456789012:role/loader"


class Store:
    """S3 objects in a dict (the engine's ObjectStore protocol)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def size(self, bucket: str, key: str) -> int:
        return len(self.objects[(bucket, key)])

    def read(self, bucket: str, key: str, start: int, end: int) -> bytes:
        return self.objects[(bucket, key)][start:end]

    def list(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        return sorted(
            (k, len(v))
            for (b, k), v in self.objects.items()
            if b == bucket and k.startswith(prefix)
        )

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.objects[(bucket, key)] = body


def _context(store: Store, slices: int = 4, per_node: int = 2) -> Context:
    return Context(
        store=store,
        put=store.put,
        allow=lambda role, action, bucket, key: None if role == ROLE else "denied",
        cluster_roles=(ROLE,),
        catalog=lambda database, table: None,
        slices=slices,
        slices_per_node=per_node,
    )


def _ok(warehouse: Warehouse, sql: str, ctx: Context) -> Outcome:
    outcome = warehouse.run(sql, ctx)
    assert outcome.error is None, outcome.error
    return outcome


@pytest.mark.parametrize(
    ("ddl", "layout"),
    [
        (
            "CREATE TABLE s (id BIGINT, cust INT DISTKEY, day DATE SORTKEY ENCODE az64)",
            Layout("KEY", "cust", ("day",)),
        ),
        (
            "create table s (id bigint, cust int, day date) diststyle key distkey(cust) "
            "compound sortkey(day, id)",
            Layout("KEY", "cust", ("day", "id")),
        ),
        ("CREATE TABLE s (id BIGINT, cust INT, day DATE) DISTSTYLE ALL", Layout("ALL")),
        (
            "CREATE TABLE s (id BIGINT, cust INT, day DATE) DISTSTYLE EVEN "
            "INTERLEAVED SORTKEY (day)",
            Layout("EVEN", None, ("day",), interleaved=True),
        ),
        ("CREATE TABLE s (id BIGINT, cust VARCHAR(MAX), day DATE)", Layout()),
    ],
)
def test_create_table_records_every_spelling_of_the_layout(ddl: str, layout: Layout) -> None:
    command = sim_sql.parse(ddl)
    assert isinstance(command, sim_sql.CreateTable)
    assert command.layout == layout
    # What DuckDB runs has no Redshift storage clause left, and creates the table.
    con = duckdb.connect()
    con.execute(command.sql)
    assert [r[0] for r in con.execute("DESCRIBE s").fetchall()] == ["id", "cust", "day"]


@pytest.mark.parametrize(
    ("ddl", "words"),
    [
        ("CREATE TABLE s (id INT) DISTSTYLE KEY", "needs a DISTKEY"),
        ("CREATE TABLE s (id INT) DISTKEY (nope)", '"nope"'),
        ("CREATE TABLE s (id INT) DISTSTYLE EVEN DISTKEY (id)", "cannot be used"),
        ("CREATE TABLE s (id INT) DISTSTYLE ROUND", "syntax error"),
    ],
)
def test_a_layout_redshift_refuses_is_refused(ddl: str, words: str) -> None:
    with pytest.raises(RedshiftSqlError, match=words):
        sim_sql.parse(ddl)


@pytest.mark.parametrize(
    "sql",
    [
        f"COPY sales FROM 's3://lake/in/' IAM_ROLE '{ROLE}' FORMAT AS PARQUET",
        f"copy sales from 's3://lake/in/' credentials 'aws_iam_role={ROLE}' parquet",
        f"COPY public.sales FROM 's3://lake/in/' IAM_ROLE '{ROLE}' FORMAT PARQUET;",
    ],
)
def test_copy_reads_every_spelling(sql: str) -> None:
    command = sim_sql.parse(sql)
    assert isinstance(command, sim_sql.Copy)
    assert (command.bucket, command.prefix, command.role, command.format) == (
        "lake",
        "in/",
        ROLE,
        "parquet",
    )


def test_copy_without_a_role_says_what_authorizes_it() -> None:
    with pytest.raises(RedshiftSqlError, match="IAM_ROLE"):
        sim_sql.parse("COPY sales FROM 's3://lake/in/' FORMAT AS CSV")


def _sales(warehouse: Warehouse, ctx: Context, layout: str, rows: int, order: str) -> None:
    _ok(warehouse, f"CREATE TABLE sales (id BIGINT, cust INT, amount DOUBLE) {layout}", ctx)
    warehouse.con.execute(
        f"INSERT INTO sales SELECT i, (i * 7919) % 1000, i * 0.5 FROM range({rows}) t(i) "
        f"ORDER BY {order}"
    )
    _ok(warehouse, "CREATE TABLE cust (id INT, name VARCHAR) DISTSTYLE KEY DISTKEY (id)", ctx)
    warehouse.con.execute("INSERT INTO cust SELECT i, 'c' || i FROM range(1000) t(i)")


JOIN = "SELECT c.name, sum(s.amount) FROM sales s JOIN cust c ON s.cust = c.id GROUP BY 1"


def test_a_join_on_both_distribution_keys_moves_nothing() -> None:
    warehouse, ctx = Warehouse(), _context(Store())
    _sales(warehouse, ctx, "DISTKEY (cust)", 20_000, "i")
    outcome = _ok(warehouse, JOIN, ctx)
    (move,) = outcome.joins
    assert (move.strategy, move.rows_moved, move.rows_between_nodes) == ("DS_DIST_NONE", 0, 0)


def test_a_join_off_the_distribution_key_moves_the_rows_on_the_wrong_slice() -> None:
    warehouse, ctx = Warehouse(), _context(Store())
    _sales(warehouse, ctx, "DISTSTYLE EVEN", 20_000, "i")
    outcome = _ok(warehouse, JOIN, ctx)
    (move,) = outcome.joins
    assert move.strategy == "DS_DIST_OUTER"  # sales (the outer side) moves; cust stays put
    # The rows a round-robin placement puts on the slice their key hashes to stay: about one
    # in four with four slices; the rest move, and of those the ones to the other node cross.
    assert 0.6 * 20_000 < move.rows_moved < 0.9 * 20_000
    assert 0 < move.rows_between_nodes < move.rows_moved
    assert move.rows_total == 21_000


def test_a_replicated_table_joins_without_moving() -> None:
    warehouse, ctx = Warehouse(), _context(Store())
    _sales(warehouse, ctx, "DISTSTYLE EVEN", 5_000, "i")
    _ok(warehouse, "CREATE TABLE dims (id INT, label VARCHAR) DISTSTYLE ALL", ctx)
    warehouse.con.execute("INSERT INTO dims SELECT i, 'd' || i FROM range(1000) t(i)")
    outcome = _ok(warehouse, "SELECT count(*) FROM sales JOIN dims ON sales.cust = dims.id", ctx)
    assert [(m.strategy, m.rows_moved) for m in outcome.joins] == [("DS_DIST_ALL_NONE", 0)]


def test_zone_maps_skip_blocks_when_the_rows_are_sorted_on_the_column() -> None:
    # 8-byte ids: a 1 MB block holds 131,072 of them; two slices of 300,000 rows: 3 blocks each.
    rows, per_block = 600_000, BLOCK_BYTES // 8
    query = "SELECT count(*) FROM sales WHERE id < 60000"
    sorted_wh, ctx = Warehouse(), _context(Store(), slices=2, per_node=2)
    _sales(sorted_wh, ctx, "DISTSTYLE EVEN SORTKEY (id)", rows, "i")
    (scan,) = _ok(sorted_wh, query, ctx).blocks
    blocks_per_slice = -(-(rows // 2) // per_block)
    assert scan.blocks_total == 2 * blocks_per_slice
    assert scan.sorted_on and scan.blocks_skipped == scan.blocks_total - 2
    # The same rows loaded in a shuffled order without a sort key: every block spans the range.
    loose, ctx = Warehouse(), _context(Store(), slices=2, per_node=2)
    _sales(loose, ctx, "DISTSTYLE EVEN", rows, "hash(i)")
    (scan,) = _ok(loose, query, ctx).blocks
    assert not scan.sorted_on and scan.blocks_skipped == 0
    assert _ok(loose, query, ctx).rows == _ok(sorted_wh, query, ctx).rows == [(60000,)]


def test_range_predicates_are_read_whichever_side_the_constant_is_on() -> None:
    warehouse, ctx = Warehouse(), _context(Store())
    _sales(warehouse, ctx, "SORTKEY (id)", 1000, "i")
    outcome = _ok(
        warehouse, "SELECT * FROM sales WHERE 10 < id AND id BETWEEN 5 AND 20 AND cust <= 3", ctx
    )
    assert sorted(b.predicate for b in outcome.blocks) == [
        "cust <= 3",
        "id > 10",
        "id BETWEEN 5 AND 20",
    ]


def test_unload_then_copy_round_trips_through_s3() -> None:
    store = Store()
    warehouse, ctx = Warehouse(), _context(store)
    _sales(warehouse, ctx, "", 1000, "i")
    out = _ok(
        warehouse,
        f"UNLOAD ('select * from sales where id < 100') TO 's3://lake/out/s_' "
        f"IAM_ROLE '{ROLE}' FORMAT AS PARQUET",
        ctx,
    )
    assert out.rows_affected == 100
    keys = [k for (_, k) in store.objects]
    assert keys == [f"out/s_{n:04d}_part_00.parquet" for n in range(4)]
    _ok(warehouse, "CREATE TABLE back (id BIGINT, cust INT, amount DOUBLE)", ctx)
    copied = _ok(warehouse, f"COPY back FROM 's3://lake/out/' IAM_ROLE '{ROLE}' PARQUET", ctx)
    assert copied.rows_affected == 100
    assert _ok(warehouse, "SELECT sum(id) FROM back", ctx).rows == [(sum(range(100)),)]


def test_copy_csv_with_a_header_and_a_bad_value_fails_as_a_load_error() -> None:
    store = Store()
    store.put("lake", "p/a.csv", b"id|name\n1|ana\n2|bo\n")
    store.put("lake", "q/b.csv", b"1,ana\nx,bo\n")
    warehouse, ctx = Warehouse(), _context(store)
    _ok(warehouse, "CREATE TABLE p (id INT, name VARCHAR(10))", ctx)
    loaded = _ok(
        warehouse, f"COPY p FROM 's3://lake/p/' IAM_ROLE '{ROLE}' DELIMITER '|' IGNOREHEADER 1", ctx
    )
    assert loaded.rows_affected == 2
    bad = warehouse.run(f"COPY p FROM 's3://lake/q/' IAM_ROLE '{ROLE}' CSV", ctx)
    assert bad.error and "Load into table 'p' failed" in bad.error


def test_the_learners_sql_cannot_read_the_local_disk() -> None:
    warehouse, ctx = Warehouse(), _context(Store())
    outcome = warehouse.run("SELECT * FROM read_csv('/etc/hostname')", ctx)
    assert outcome.error and "disabled" in outcome.error


def test_a_clone_has_the_data_and_layouts_and_is_independent() -> None:
    warehouse, ctx = Warehouse(), _context(Store())
    _sales(warehouse, ctx, "DISTKEY (cust) SORTKEY (id)", 100, "i")
    copy = warehouse.clone()
    _ok(warehouse, "DELETE FROM sales", ctx)
    assert copy.tables() == [("cust", 1000), ("sales", 100)]
    assert copy.layout("sales") == Layout("KEY", "cust", ("id",))


def test_an_empty_text_field_loads_as_empty_unless_emptyasnull() -> None:
    store = Store()
    store.put("lake", "p/a.csv", b"1,\n2,\\N\n,x\n")
    warehouse, ctx = Warehouse(), _context(store)
    _ok(warehouse, "CREATE TABLE p (id INT, name VARCHAR(10))", ctx)
    _ok(warehouse, f"COPY p FROM 's3://lake/p/' IAM_ROLE '{ROLE}' CSV", ctx)
    rows = _ok(warehouse, "SELECT id, name FROM p ORDER BY id NULLS LAST", ctx).rows
    assert rows == [(1, ""), (2, None), (None, "x")]
    _ok(warehouse, "DELETE FROM p", ctx)
    _ok(warehouse, f"COPY p FROM 's3://lake/p/' IAM_ROLE '{ROLE}' CSV EMPTYASNULL", ctx)
    rows = _ok(warehouse, "SELECT id, name FROM p ORDER BY id NULLS LAST", ctx).rows
    assert rows == [(1, None), (2, None), (None, "x")]
