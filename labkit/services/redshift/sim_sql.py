"""Redshift SQL that DuckDB lacks, parsed in one place: COPY, UNLOAD, table layout, Spectrum.

The sandbox's Redshift runs on DuckDB (:mod:`.sim_warehouse`); most Redshift SQL (SELECT, INSERT,
joins, window functions, CREATE TABLE's columns) is PostgreSQL that DuckDB runs as written. What is
Redshift's own is recognised here and turned into commands:

- ``COPY table [(cols)] FROM 's3://bucket/prefix' IAM_ROLE 'arn' FORMAT [AS] CSV|PARQUET|JSON
  'auto'`` (also ``CSV``/``PARQUET``/``JSON 'auto'`` without ``FORMAT``, ``CREDENTIALS
  'aws_iam_role=arn'``, ``IGNOREHEADER n``, ``DELIMITER 'c'``, ``REGION 'r'``): every object whose
  key begins with the prefix is loaded, as Redshift does
  (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-source-s3.html);
  without a format the file is pipe-delimited text.
- ``UNLOAD ('select ...') TO 's3://bucket/prefix' IAM_ROLE 'arn' [FORMAT [AS] PARQUET|CSV]
  [HEADER] [PARALLEL OFF]`` (https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html).
- ``CREATE TABLE``'s ``DISTSTYLE AUTO|EVEN|KEY|ALL``, ``DISTKEY (col)`` or a column's ``DISTKEY``,
  ``[COMPOUND|INTERLEAVED] SORTKEY (cols)`` or a column's ``SORTKEY``, ``ENCODE``, ``BACKUP``:
  accepted, removed from what DuckDB runs, and recorded as the table's :class:`Layout`
  (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html).
- ``CREATE EXTERNAL SCHEMA name FROM DATA CATALOG DATABASE 'db' IAM_ROLE 'arn'``: Spectrum's
  schema over a Glue Data Catalog database
  (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_EXTERNAL_SCHEMA.html).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from labkit.errors import LabkitError


class RedshiftSqlError(LabkitError):
    """A statement Redshift would refuse, worded as Redshift's ``ERROR:`` line."""

    code = "RedshiftSqlError"


DIST_STYLES = ("AUTO", "EVEN", "KEY", "ALL")


@dataclass(frozen=True)
class Layout:
    """How a table is stored: its distribution style and key, and its sort key.

    Attributes:
        diststyle: ``AUTO``, ``EVEN``, ``KEY`` or ``ALL``.
        distkey: The distribution key's column (``KEY`` only).
        sortkey: The sort key's columns, in order (empty: no sort key).
        interleaved: Whether the sort key is ``INTERLEAVED`` (recorded; modelled as compound).
    """

    diststyle: str = "AUTO"
    distkey: str | None = None
    sortkey: tuple[str, ...] = ()
    interleaved: bool = False


@dataclass(frozen=True)
class CreateTable:
    """A CREATE TABLE with Redshift's storage clauses removed (``sql`` is DuckDB's)."""

    table: str
    sql: str
    layout: Layout


@dataclass(frozen=True)
class Copy:
    """A COPY from S3."""

    table: str
    columns: tuple[str, ...]
    bucket: str
    prefix: str
    role: str
    format: str
    delimiter: str
    ignore_header: int
    empty_as_null: bool = False


@dataclass(frozen=True)
class Unload:
    """An UNLOAD to S3."""

    query: str
    bucket: str
    prefix: str
    role: str
    format: str
    header: bool
    parallel: bool


@dataclass(frozen=True)
class ExternalSchema:
    """Spectrum's schema over a Glue Data Catalog database."""

    schema: str
    database: str
    role: str
    if_not_exists: bool = False


@dataclass(frozen=True)
class Plain:
    """Any other statement: DuckDB runs it as written."""

    sql: str
    extra: dict[str, str] = field(default_factory=dict)


Command = CreateTable | Copy | Unload | ExternalSchema | Plain

_IDENT = r'(?:"[^"]+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QUALIFIED = rf"{_IDENT}(?:\.{_IDENT})?"
_STRING = r"'((?:[^']|'')*)'"


def _unquote(name: str) -> str:
    name = name.strip()
    return name[1:-1] if name.startswith('"') and name.endswith('"') else name.lower()


def _string(text: str) -> str:
    return text.replace("''", "'")


def _role(options: str, statement: str) -> str:
    found = re.search(rf"\bIAM_ROLE\s+{_STRING}", options, re.IGNORECASE)
    if found:
        return _string(found.group(1))
    credentials = re.search(rf"\bCREDENTIALS\s+{_STRING}", options, re.IGNORECASE)
    if credentials:
        role = re.search(r"aws_iam_role=([^;']+)", credentials.group(1))
        if role:
            return role.group(1).strip()
    if re.search(r"\bIAM_ROLE\s+default\b", options, re.IGNORECASE):
        return "default"
    raise RedshiftSqlError(
        f"ERROR: {statement} needs authorization: IAM_ROLE 'arn:aws:iam::<account>:role/<name>' "
        "(or CREDENTIALS 'aws_iam_role=<arn>')"
    )


def _s3(url: str, statement: str) -> tuple[str, str]:
    if not url.startswith("s3://") or ("/" not in url[5:] and not url[5:]):
        raise RedshiftSqlError(f"ERROR: {statement}: {url!r} is not an s3:// location")
    bucket, _, prefix = url[5:].partition("/")
    return bucket, prefix


def _format(options: str) -> str:
    found = re.search(
        r"\b(?:FORMAT\s+(?:AS\s+)?)?(PARQUET|CSV|JSON|ORC|AVRO)\b", options, re.IGNORECASE
    )
    return found.group(1).lower() if found else "text"


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql).strip().rstrip(";").strip()


def split_statements(sql: str) -> list[str]:
    """``sql`` split on the semicolons outside quotes (empty statements dropped)."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in sql:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == ";":
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if _strip_comments(p)]


def parse(sql: str) -> Command:
    """The command one statement stands for."""
    text = _strip_comments(sql)
    head = text[:40].upper()
    if head.startswith("COPY"):
        return _copy(text)
    if head.startswith("UNLOAD"):
        return _unload(text)
    if re.match(r"CREATE\s+EXTERNAL\s+SCHEMA", head):
        return _external_schema(text)
    if re.match(r"CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TABLE", head) and "(" in text:
        return _create_table(text)
    return Plain(_plain(text))


def _plain(text: str) -> str:
    # Redshift's GETDATE() and SYSDATE are DuckDB's now(); VARCHAR(MAX) is any VARCHAR.
    text = re.sub(r"\bGETDATE\s*\(\s*\)", "now()", text, flags=re.IGNORECASE)
    text = re.sub(r"\bSYSDATE\b", "now()", text, flags=re.IGNORECASE)
    return re.sub(r"\(\s*MAX\s*\)", "", text, flags=re.IGNORECASE)


def _copy(text: str) -> Copy:
    found = re.match(
        rf"COPY\s+({_QUALIFIED})\s*(\(([^)]*)\))?\s+FROM\s+{_STRING}(.*)$",
        text,
        re.IGNORECASE | re.DOTALL,
    )
    if not found:
        raise RedshiftSqlError(
            "ERROR: syntax error in COPY: write COPY table FROM 's3://bucket/prefix' "
            "IAM_ROLE 'arn' FORMAT AS CSV|PARQUET|JSON 'auto'"
        )
    options = found.group(5)
    bucket, prefix = _s3(_string(found.group(4)), "COPY")
    fmt = _format(options)
    if fmt in ("orc", "avro"):
        raise RedshiftSqlError(f"ERROR: the sandbox's COPY reads CSV, PARQUET and JSON, not {fmt}")
    delimiter = re.search(rf"\bDELIMITER\s+(?:AS\s+)?{_STRING}", options, re.IGNORECASE)
    header = re.search(r"\bIGNOREHEADER\s+(?:AS\s+)?(\d+)", options, re.IGNORECASE)
    return Copy(
        table=".".join(_unquote(p) for p in found.group(1).split(".")),
        columns=tuple(_unquote(c) for c in (found.group(3) or "").split(",") if c.strip()),
        bucket=bucket,
        prefix=prefix,
        role=_role(options, "COPY"),
        format=fmt,
        delimiter=_string(delimiter.group(1)) if delimiter else ("," if fmt == "csv" else "|"),
        ignore_header=int(header.group(1)) if header else 0,
        empty_as_null=bool(re.search(r"\b(EMPTYASNULL|BLANKSASNULL)\b", options, re.I)),
    )


def _unload(text: str) -> Unload:
    found = re.match(rf"UNLOAD\s*\(\s*{_STRING}\s*\)\s*TO\s+{_STRING}(.*)$", text, re.I | re.S)
    if not found:
        raise RedshiftSqlError(
            "ERROR: syntax error in UNLOAD: write UNLOAD ('select ...') TO 's3://bucket/prefix' "
            "IAM_ROLE 'arn' [FORMAT AS PARQUET]"
        )
    options = found.group(3)
    bucket, prefix = _s3(_string(found.group(2)), "UNLOAD")
    fmt = _format(options)
    return Unload(
        query=_plain(_string(found.group(1))),
        bucket=bucket,
        prefix=prefix,
        role=_role(options, "UNLOAD"),
        format=fmt if fmt in ("parquet", "csv", "json") else "text",
        header=bool(re.search(r"\bHEADER\b", options, re.IGNORECASE)),
        parallel=not re.search(r"\bPARALLEL\s+(?:OFF|FALSE)\b", options, re.IGNORECASE),
    )


def _external_schema(text: str) -> ExternalSchema:
    found = re.match(
        rf"CREATE\s+EXTERNAL\s+SCHEMA\s+(IF\s+NOT\s+EXISTS\s+)?({_IDENT})\s+FROM\s+DATA\s+CATALOG"
        rf"\s+DATABASE\s+{_STRING}(.*)$",
        text,
        re.IGNORECASE | re.DOTALL,
    )
    if not found:
        raise RedshiftSqlError(
            "ERROR: the sandbox's external schemas come FROM DATA CATALOG: write CREATE EXTERNAL "
            "SCHEMA name FROM DATA CATALOG DATABASE 'glue_db' IAM_ROLE 'arn'"
        )
    return ExternalSchema(
        schema=_unquote(found.group(2)),
        database=_string(found.group(3)).lower(),
        role=_role(found.group(4), "CREATE EXTERNAL SCHEMA"),
        if_not_exists=bool(found.group(1)),
    )


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _columns_of(text: str) -> list[str]:
    return [_unquote(c) for c in text.split(",") if c.strip()]


def _create_table(text: str) -> CreateTable:
    start = text.index("(")
    depth = 0
    end = -1
    for index in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            end = index
            break
    if end < 0:
        raise RedshiftSqlError("ERROR: syntax error in CREATE TABLE: unbalanced parentheses")
    head = text[:start]
    prefix = r"^CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    name = re.sub(prefix, "", head, flags=re.IGNORECASE).strip()
    table = ".".join(_unquote(p) for p in name.split("."))
    distkey: str | None = None
    sortkey: list[str] = []
    columns: list[str] = []
    names: list[str] = []
    for item in _split_top(text[start + 1 : end]):
        # A table constraint (PRIMARY KEY (...), UNIQUE, FOREIGN KEY): informational in Redshift.
        if re.match(r"(PRIMARY|UNIQUE|FOREIGN|CONSTRAINT)\b", item, re.IGNORECASE):
            continue
        column = _unquote(re.split(r"\s+", item, maxsplit=1)[0])
        names.append(column)
        if re.search(r"\bDISTKEY\b", item, re.IGNORECASE):
            distkey = column
        if re.search(r"\bSORTKEY\b", item, re.IGNORECASE):
            sortkey.append(column)
        cleaned = re.sub(r"\b(DISTKEY|SORTKEY)\b", "", item, flags=re.IGNORECASE)
        cleaned = re.sub(r"\bENCODE\s+\w+", "", cleaned, flags=re.IGNORECASE)
        cleaned = re.sub(r"\bIDENTITY\s*\([^)]*\)", "", cleaned, flags=re.IGNORECASE)
        columns.append(_plain(cleaned).strip())
    tail = text[end + 1 :]
    style = re.search(r"\bDISTSTYLE\s+(\w+)", tail, re.IGNORECASE)
    key = re.search(r"\bDISTKEY\s*\(\s*([^)]+?)\s*\)", tail, re.IGNORECASE)
    sort = re.search(r"\b(COMPOUND\s+|INTERLEAVED\s+)?SORTKEY\s*\(([^)]*)\)", tail, re.IGNORECASE)
    if key:
        distkey = _unquote(key.group(1))
    if sort:
        sortkey = _columns_of(sort.group(2))
    diststyle = style.group(1).upper() if style else ("KEY" if distkey else "AUTO")
    if diststyle not in DIST_STYLES:
        near = style.group(1) if style else ""
        raise RedshiftSqlError(f'ERROR: syntax error at or near "{near}"')
    if diststyle == "KEY" and not distkey:
        raise RedshiftSqlError("ERROR: DISTSTYLE KEY needs a DISTKEY column")
    if diststyle in ("EVEN", "ALL") and distkey:
        raise RedshiftSqlError(f"ERROR: DISTSTYLE {diststyle} cannot be used with a DISTKEY")
    for column in [*([distkey] if distkey else []), *sortkey]:
        if column not in names:
            raise RedshiftSqlError(f'ERROR: column "{column}" named in a key does not exist')
    rest = re.sub(
        r"\b(DISTSTYLE\s+\w+|DISTKEY\s*\([^)]*\)|(COMPOUND\s+|INTERLEAVED\s+)?SORTKEY\s*"
        r"(\([^)]*\)|AUTO)|BACKUP\s+(YES|NO))",
        "",
        tail,
        flags=re.IGNORECASE,
    )
    sql = f"{head}({', '.join(columns)}){rest}"
    layout = Layout(
        diststyle=diststyle,
        distkey=distkey,
        sortkey=tuple(sortkey),
        interleaved=bool(sort and (sort.group(1) or "").strip().upper() == "INTERLEAVED"),
    )
    return CreateTable(table=table, sql=sql, layout=layout)
