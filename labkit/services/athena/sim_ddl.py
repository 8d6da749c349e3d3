"""The Hive DDL statements the sandbox's Athena runs on the Glue Data Catalog (plain Python).

Athena runs DDL in its Hive metastore, the Glue Data Catalog
(https://docs.aws.amazon.com/athena/latest/ug/ddl-reference.html). The sandbox parses the
statements a lake lesson needs into commands the patch applies to moto's catalog:

- ``CREATE DATABASE|SCHEMA [IF NOT EXISTS] name``
- ``MSCK REPAIR TABLE [db.]name``: every ``key=value/...`` folder under the table's location
  that the catalog lacks becomes a partition
  (https://docs.aws.amazon.com/athena/latest/ug/msck-repair-table.html);
- ``ALTER TABLE [db.]name ADD [IF NOT EXISTS] PARTITION (k = 'v', ...) [LOCATION 's3://...']``
  (several ``PARTITION`` clauses allowed);
- ``SHOW DATABASES``, ``SHOW TABLES [IN db]``, ``SHOW PARTITIONS [db.]name``.

DDL is not billed. ``CREATE EXTERNAL TABLE`` is not parsed yet: define tables with Glue's
``CreateTable`` or a crawler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from labkit.services.athena.sim_engine import QueryError

_NAME = r"`?\"?([A-Za-z0-9_]+)`?\"?"
_QUALIFIED = rf"(?:{_NAME}\.)?{_NAME}"


@dataclass
class Ddl:
    """One parsed statement: what to do, to which database and table, with what."""

    action: str
    database: str = ""
    table: str = ""
    if_not_exists: bool = False
    partitions: list[tuple[dict[str, str], str]] = field(default_factory=list)


def is_ddl(sql: str) -> bool:
    """Whether ``sql`` starts with a DDL keyword (Athena's ``StatementType`` ``DDL``)."""
    first = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return first in ("CREATE", "MSCK", "ALTER", "SHOW", "DROP", "DESCRIBE")


def parse(sql: str, default_database: str) -> Ddl:
    """The command a DDL statement asks for; ``QueryError`` for what the sandbox does not run."""
    text = sql.strip().rstrip(";").strip()
    flags = re.IGNORECASE | re.DOTALL
    if m := re.fullmatch(
        rf"CREATE\s+(?:DATABASE|SCHEMA)\s+(IF\s+NOT\s+EXISTS\s+)?{_NAME}.*", text, flags
    ):
        return Ddl("create_database", database=m.group(2).lower(), if_not_exists=bool(m.group(1)))
    if m := re.fullmatch(rf"MSCK\s+REPAIR\s+TABLE\s+{_QUALIFIED}", text, flags):
        return Ddl(
            "repair", database=(m.group(1) or default_database).lower(), table=m.group(2).lower()
        )
    if m := re.fullmatch(r"SHOW\s+(?:DATABASES|SCHEMAS)(?:\s+LIKE\s+.*)?", text, flags):
        return Ddl("show_databases")
    if m := re.fullmatch(rf"SHOW\s+TABLES(?:\s+(?:IN|FROM)\s+{_NAME})?", text, flags):
        return Ddl("show_tables", database=(m.group(1) or default_database).lower())
    if m := re.fullmatch(rf"SHOW\s+PARTITIONS\s+{_QUALIFIED}", text, flags):
        return Ddl(
            "show_partitions",
            database=(m.group(1) or default_database).lower(),
            table=m.group(2).lower(),
        )
    if m := re.fullmatch(
        rf"ALTER\s+TABLE\s+{_QUALIFIED}\s+ADD\s+(IF\s+NOT\s+EXISTS\s+)?(.*)", text, flags
    ):
        command = Ddl(
            "add_partitions",
            database=(m.group(1) or default_database).lower(),
            table=m.group(2).lower(),
            if_not_exists=bool(m.group(3)),
        )
        clauses = re.findall(
            r"PARTITION\s*\(([^)]*)\)\s*(?:LOCATION\s+'([^']*)')?", m.group(4), flags
        )
        if not clauses:
            raise QueryError(
                "SYNTAX_ERROR",
                "line 1:1: ADD expects PARTITION (key = 'value', ...)",
                error_type=1004,
            )
        for spec, location in clauses:
            values = {}
            for pair in spec.split(","):
                key, _, value = pair.partition("=")
                values[key.strip().strip("`").lower()] = value.strip().strip("'\"")
            command.partitions.append((values, location))
        return command
    keyword = " ".join(text.split()[:2]).upper()
    raise QueryError(
        "NOT_SUPPORTED",
        f"{keyword} is not simulated by the sandbox's Athena (it runs CREATE DATABASE, MSCK REPAIR "
        "TABLE, ALTER TABLE ADD PARTITION and SHOW): define tables with Glue's CreateTable or a "
        "crawler",
    )


def hive_folders(
    keys: list[str], prefix: str, partition_keys: list[str]
) -> dict[tuple[str, ...], str]:
    """``values -> folder`` of every ``k1=v1/k2=v2/`` folder under ``prefix`` (keys in order)."""
    found: dict[tuple[str, ...], str] = {}
    for key in keys:
        folders = key[len(prefix) :].split("/")[:-1]
        if len(folders) < len(partition_keys):
            continue
        head = folders[: len(partition_keys)]
        pairs = [f.split("=", 1) for f in head]
        if all(
            len(p) == 2 and p[0].lower() == k for p, k in zip(pairs, partition_keys, strict=True)
        ):
            found.setdefault(tuple(p[1] for p in pairs), prefix + "/".join(head) + "/")
    return found
