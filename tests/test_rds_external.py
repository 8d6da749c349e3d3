"""An instructor's own PostgreSQL behind the sandbox's RDS endpoints (``LABKIT_POSTGRES_URL``).

The "instructor's server" here is a PostgreSQL labkit starts outside any lab, reached by its URL
only, exactly as a server on another machine would be; the network guard's allowance for a
non-local server is tested on its own at the end.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pg8000
import pytest
from botocore.exceptions import ClientError

import labkit
from labkit.errors import NetworkBlockedError
from labkit.lab import Lab
from labkit.sandbox import netguard
from labkit.services.rds import sim_engine
from labkit.services.rds.sim_external import URL_VARIABLE, ExternalServer, ExternalServerError

USER, PASSWORD = "shopadmin", "correct-horse-1"


@pytest.fixture(scope="module")
def instructor() -> Iterator[sim_engine.PostgresServer]:
    server = sim_engine.PostgresServer.create(max_connections=40)
    server.admin_sql("CREATE ROLE teacher WITH LOGIN SUPERUSER PASSWORD 'chalk';")
    yield server
    server.destroy()


@pytest.fixture
def lab(instructor: sim_engine.PostgresServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    monkeypatch.setenv(URL_VARIABLE, f"postgresql://teacher:chalk@127.0.0.1:{instructor.port}/")
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def databases(server: sim_engine.PostgresServer) -> set[str]:
    return {row[0] for row in server.query("SELECT datname FROM pg_database")}


def test_an_instance_runs_on_the_instructors_server(
    lab: Lab, instructor: sim_engine.PostgresServer
) -> None:
    rds = lab.client("rds")
    instance = rds.create_db_instance(
        DBInstanceIdentifier="shop",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername=USER,
        MasterUserPassword=PASSWORD,
        DBName="orders",
    )["DBInstance"]
    assert "orders" in databases(instructor)
    endpoint = instance["Endpoint"]
    conn = pg8000.connect(
        host=endpoint["Address"],
        port=endpoint["Port"],
        user=USER,
        password=PASSWORD,
        database="orders",
    )
    cur = conn.cursor()
    cur.execute("CREATE TABLE orders (id SERIAL PRIMARY KEY, item TEXT)")
    cur.execute("INSERT INTO orders (item) VALUES ('book')")
    conn.commit()
    cur.execute("SELECT inet_server_port()")
    assert cur.fetchone()[0] == instructor.port  # the learner's session is on that server
    conn.close()
    with pytest.raises(pg8000.DatabaseError, match="password authentication failed"):
        pg8000.connect(host=endpoint["Address"], port=endpoint["Port"], user=USER, password="guess")
    # What replays the write-ahead log is refused with the reason, never faked.
    for refused in (
        lambda: rds.create_db_instance_read_replica(
            DBInstanceIdentifier="reports", SourceDBInstanceIdentifier="shop"
        ),
        lambda: rds.restore_db_instance_to_point_in_time(
            SourceDBInstanceIdentifier="shop",
            TargetDBInstanceIdentifier="shop-restored",
            UseLatestRestorableTime=True,
        ),
    ):
        with pytest.raises(ClientError, match=URL_VARIABLE):
            refused()
    rds.delete_db_instance(DBInstanceIdentifier="shop", SkipFinalSnapshot=True)
    assert "orders" not in databases(instructor)  # the instance's data goes with it


def test_a_malformed_url_is_named() -> None:
    with pytest.raises(ExternalServerError, match="postgresql://USER:PASSWORD@HOST"):
        ExternalServer.from_url("mysql:/nowhere")
    server = ExternalServer.from_url("postgresql://t%40x:p%2Fw@db.example:6543/course")
    assert (server.host, server.port, server.admin_user, server.admin_database) == (
        "db.example",
        6543,
        "t@x",
        "course",
    )
    assert server.admin_password == "p/w"


def test_only_the_named_remote_server_gets_through_the_guard(lab: Lab) -> None:
    # 192.0.2.0/24 is TEST-NET-1: never routed, so nothing is reached either way.
    probe = socket.socket()
    probe.settimeout(0.2)
    try:
        with pytest.raises(NetworkBlockedError):
            probe.connect_ex(("192.0.2.7", 5432))
        withdraw = netguard.allow_remote("192.0.2.7", 5432)
        try:
            assert probe.connect_ex(("192.0.2.7", 5432)) != 0  # allowed, and unreachable
            with pytest.raises(NetworkBlockedError):
                probe.connect_ex(("192.0.2.7", 5433))  # another port stays blocked
        finally:
            withdraw()
    finally:
        probe.close()
