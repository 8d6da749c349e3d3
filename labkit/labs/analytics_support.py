"""The analytics lab's data: a shop's order lake, its warehouse extract and its application logs.

Everything is generated from a seed, so the lesson, the solution and each check build the same
shapes with different values: a check asks the learner's code about data of its own, never about
the numbers the notebook showed.

- **Raw orders** (``s3://shop-lake/raw/orders/dt=YYYY-MM-DD/part-N.json``): newline-delimited
  JSON as the shop's ingest delivers it, at least once: ``part-1.json`` of a day redelivers some
  orders of ``part-0.json`` (the same order twice, every field equal) besides new ones. Beside
  them, ``raw/customers/customers.csv`` and ``raw/orders_rejected/`` (orders the ingest
  refused: not orders to count) share the ``raw/`` prefix.
- **Curated orders** (``s3://shop-lake/curated/orders/dt=.../*.parquet``): the same rows as
  Snappy Parquet, as a Glue job writes them (built here with DuckDB for the checks that need
  them without running the learner's job).
- **Warehouse extract** (``s3://shop-lake/warehouse/orders/``): each order once, as Parquet, and
  the customers CSV (with a header line) for Redshift's ``COPY``.
- **Application logs** for OpenSearch, with one incident in them.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb

LAKE = "shop-lake"
RESULTS = "shop-athena-results"
CODE = "shop-code"
RAW_PREFIX = "raw/orders/"
RAW_URL = f"s3://{LAKE}/{RAW_PREFIX}"
CURATED_PREFIX = "curated/orders/"
CURATED_URL = f"s3://{LAKE}/{CURATED_PREFIX}"
WAREHOUSE_ORDERS_URL = f"s3://{LAKE}/warehouse/orders/"
CUSTOMERS_URL = f"s3://{LAKE}/raw/customers/"
RESULTS_URL = f"s3://{RESULTS}/"
RAW_DB = "raw"
CURATED_DB = "curated"
TABLE = "orders"
REGIONS = ("north", "south", "east", "west")
STATUSES = ("paid", "refunded")
#: The Redshift cluster of the warehouse task (two ra3.xlplus nodes: four slices).
CLUSTER = "shop-dw"
#: The OpenSearch domain and index of the logs task.
DOMAIN = "logs"
LOG_INDEX = "app-logs"
INCIDENT_SERVICE = "checkout"

#: The notebook's lake (the lesson and the solution); each check uses seeds and days of its own.
NOTEBOOK_SEED = 12
NOTEBOOK_DAYS = ("2026-03-01", "2026-03-02", "2026-03-03")

_NOTE_WORDS = (
    "gift wrap",
    "leave at the door",
    "call before delivery",
    "fragile",
    "second floor",
    "no invoice",
    "express",
    "weekend delivery",
)


@dataclass(frozen=True)
class Order:
    """One order as the ingest delivers it."""

    order_id: str
    customer_id: str
    amount: float
    status: str
    ts: str
    note: str

    def as_json(self) -> str:
        """The order as one line of the raw JSON files."""
        return json.dumps(
            {
                "order_id": self.order_id,
                "customer_id": self.customer_id,
                "amount": self.amount,
                "status": self.status,
                "ts": self.ts,
                "note": self.note,
            }
        )


@dataclass
class Lake:
    """What was generated: orders by day (duplicates included, in delivery order), customers."""

    seed: int
    days: list[str]
    deliveries: dict[str, list[list[Order]]] = field(default_factory=dict)
    customers: list[tuple[str, str, str]] = field(default_factory=list)

    def rows(self, day: str) -> list[Order]:
        """Every row delivered for ``day``, duplicates included."""
        return [order for part in self.deliveries[day] for order in part]

    def unique(self, day: str) -> dict[str, Order]:
        """The day's orders, each once, by id."""
        return {order.order_id: order for order in self.rows(day)}

    def orders_per_day(self) -> dict[str, int]:
        """Distinct orders per day (every status)."""
        return {day: len(self.unique(day)) for day in self.days}

    def revenue(self, day: str) -> float:
        """Revenue of the day's distinct paid orders, rounded to cents."""
        return round(sum(o.amount for o in self.unique(day).values() if o.status == "paid"), 2)

    def paid(self, day: str) -> int:
        """Distinct paid orders of the day."""
        return sum(1 for o in self.unique(day).values() if o.status == "paid")

    def daily_metrics(self) -> dict[str, tuple[int, float]]:
        """Per day: distinct paid orders and their revenue."""
        return {day: (self.paid(day), self.revenue(day)) for day in self.days}

    def region_revenue(self) -> dict[str, float]:
        """Revenue of distinct paid orders by customer region, over every day."""
        region = {cid: reg for cid, _, reg in self.customers}
        totals: dict[str, float] = {}
        for day in self.days:
            for order in self.unique(day).values():
                if order.status == "paid":
                    where = region[order.customer_id]
                    totals[where] = totals.get(where, 0.0) + order.amount
        return {k: round(v, 2) for k, v in sorted(totals.items())}


def _customers(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    names = ("ana", "bo", "cy", "dee", "eli", "fay", "gus", "hal", "ivy", "jo")
    return [(f"c-{n:03d}", f"{rng.choice(names)}-{n}", rng.choice(REGIONS)) for n in range(count)]


def _day_orders(rng: random.Random, day: str, count: int, customers: int) -> list[Order]:
    orders = []
    for n in range(count):
        second = rng.randrange(86400)
        # A wide free-text column: what a query that names its columns does not read.
        refs = " ".join(f"{rng.getrandbits(64):016x}" for _ in range(8))
        note = ", ".join(rng.sample(_NOTE_WORDS, 3)) + f" (refs {refs})"
        orders.append(
            Order(
                order_id=f"o-{day.replace('-', '')}-{n:05d}",
                customer_id=f"c-{rng.randrange(customers):03d}",
                amount=round(rng.uniform(5, 250), 2),
                status="paid" if rng.random() < 0.85 else "refunded",
                ts=f"{day}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z",
                note=note,
            )
        )
    return orders


def make_lake(seed: int, days: list[str] | tuple[str, ...], per_day: int = 600) -> Lake:
    """A lake of ``per_day`` orders a day (about 5 % of them delivered twice)."""
    rng = random.Random(seed)
    customers = _customers(rng, 40)
    lake = Lake(seed=seed, days=list(days), customers=customers)
    for day in days:
        lake.deliveries[day] = deliveries(rng, day, per_day, len(customers))
    return lake


def deliveries(rng: random.Random, day: str, count: int, customers: int) -> list[list[Order]]:
    """A day's two deliveries: the first, then a redelivery of ~5 % of it with the rest."""
    orders = _day_orders(rng, day, count, customers)
    cut = int(count * 0.8)
    first, rest = orders[:cut], orders[cut:]
    again = rng.sample(first, max(1, count // 20))
    second = again + rest
    rng.shuffle(second)
    return [first, second]


def add_day(lake: Lake, day: str, per_day: int = 600) -> None:
    """One more day of orders in ``lake`` (what arrives after a first run)."""
    rng = random.Random(f"{lake.seed}-{day}")
    lake.days.append(day)
    lake.deliveries[day] = deliveries(rng, day, per_day, len(lake.customers))


def next_day(day: str) -> str:
    """The day after ``day`` (``YYYY-MM-DD``)."""
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


# -- writing the lake ---------------------------------------------------------------------------
def _bucket(s3: Any, name: str) -> None:
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=name)


def write_raw_day(s3: Any, lake: Lake, day: str) -> list[str]:
    """The raw JSON files of ``day``; returns their keys."""
    keys = []
    for n, part in enumerate(lake.deliveries[day]):
        key = f"{RAW_PREFIX}dt={day}/part-{n}.json"
        body = "\n".join(order.as_json() for order in part) + "\n"
        s3.put_object(Bucket=LAKE, Key=key, Body=body.encode())
        keys.append(key)
    return keys


def customers_csv(lake: Lake) -> bytes:
    """The customers as CSV with a header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("customer_id", "name", "region"))
    writer.writerows(lake.customers)
    return out.getvalue().encode()


def write_raw(s3: Any, lake: Lake) -> None:
    """Buckets, the raw orders of every day, the customers and the rejected orders."""
    for name in (LAKE, RESULTS, CODE):
        _bucket(s3, name)
    for day in lake.days:
        write_raw_day(s3, lake, day)
    s3.put_object(Bucket=LAKE, Key="raw/customers/customers.csv", Body=customers_csv(lake))
    rejected = "\n".join(
        json.dumps({"order_id": f"x-{n}", "reason": "card declined", "amount": 10.0 + n})
        for n in range(50)
    )
    s3.put_object(
        Bucket=LAKE,
        Key=f"raw/orders_rejected/dt={lake.days[0]}/part-0.json",
        Body=rejected.encode(),
    )


def parquet_bytes(sql: str, con: duckdb.DuckDBPyConnection | None = None) -> bytes:
    """The result of ``sql`` as one Snappy Parquet file."""
    con = con or duckdb.connect()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "part.parquet")
        con.execute(f"COPY ({sql}) TO '{path}' (FORMAT PARQUET, COMPRESSION SNAPPY)")
        with open(path, "rb") as handle:
            return handle.read()


def _orders_relation(con: duckdb.DuckDBPyConnection, orders: list[Order]) -> None:
    """The table ``o`` of ``orders`` (read from JSON lines: far faster than row inserts)."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "orders.json")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(order.as_json() for order in orders) + "\n")
        con.execute(
            f"CREATE OR REPLACE TABLE o AS SELECT * FROM read_json('{path}', "
            "format = 'newline_delimited', columns = {'order_id': 'VARCHAR', "
            "'customer_id': 'VARCHAR', 'amount': 'DOUBLE', 'status': 'VARCHAR', "
            "'ts': 'VARCHAR', 'note': 'VARCHAR'})"
        )


def write_curated_day(s3: Any, lake: Lake, day: str) -> int:
    """The day's rows (duplicates kept, as the raw files hold them) as curated Parquet."""
    con = duckdb.connect()
    _orders_relation(con, lake.rows(day))
    body = parquet_bytes("SELECT * FROM o", con)
    s3.put_object(Bucket=LAKE, Key=f"{CURATED_PREFIX}dt={day}/part-0.snappy.parquet", Body=body)
    return len(body)


ORDER_COLUMNS = (
    ("order_id", "string"),
    ("customer_id", "string"),
    ("amount", "double"),
    ("status", "string"),
    ("ts", "string"),
    ("note", "string"),
)


def catalog_table(glue: Any, database: str, location: str, fmt: str, days: list[str]) -> None:
    """``database.orders`` over ``location`` (``json`` or ``parquet``), one partition a day."""
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": database})
    serde = {
        "json": "org.openx.data.jsonserde.JsonSerDe",
        "parquet": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    }[fmt]
    glue.create_table(
        DatabaseName=database,
        TableInput={
            "Name": TABLE,
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": t} for n, t in ORDER_COLUMNS],
                "Location": location,
                "SerdeInfo": {"SerializationLibrary": serde},
            },
            "PartitionKeys": [{"Name": "dt", "Type": "string"}],
            "Parameters": {"classification": fmt},
        },
    )
    for day in days:
        add_partition(glue, database, location, day)


def add_partition(glue: Any, database: str, location: str, day: str) -> None:
    """The partition ``dt=day`` of ``database.orders``."""
    glue.create_partition(
        DatabaseName=database,
        TableName=TABLE,
        PartitionInput={
            "Values": [day],
            "StorageDescriptor": {"Location": f"{location}dt={day}/"},
        },
    )


def write_warehouse(s3: Any, lake: Lake) -> int:
    """The warehouse extract: every order once, as two Parquet files; returns the row count."""
    con = duckdb.connect()
    orders = [o for day in lake.days for o in lake.unique(day).values()]
    _orders_relation(con, orders)
    half = len(orders) // 2
    for n, (low, high) in enumerate(((0, half), (half, len(orders)))):
        body = parquet_bytes(
            "SELECT order_id, customer_id, amount, status, ts FROM o "
            f"ORDER BY order_id LIMIT {high - low} OFFSET {low}",
            con,
        )
        s3.put_object(Bucket=LAKE, Key=f"warehouse/orders/part-{n:03d}.parquet", Body=body)
    s3.put_object(Bucket=LAKE, Key="raw/customers/customers.csv", Body=customers_csv(lake))
    return len(orders)


# -- the logs -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogDay:
    """A day of application logs with one incident: what was indexed, and the incident's ids."""

    documents: dict[str, dict[str, Any]]
    incident: list[str]
    start: str
    end: str


SERVICES = ("checkout", "search", "payments", "catalog")
_INFO = ("request served", "cache hit", "user signed in", "cart updated")
_ERRORS = ("payment provider timeout", "connection reset by peer", "upstream error 502")


def make_logs(seed: int, day: str = "2026-03-03", errors: int = 23) -> LogDay:
    """Logs of ``day``: the incident is ``errors`` ERROR logs of checkout between 14:00 and
    14:15 UTC; around it, checkout errors before and after, other services' errors, and INFO and
    WARN lines whose message says "error"."""
    rng = random.Random(seed)
    start, end = f"{day}T14:00:00Z", f"{day}T14:15:00Z"
    docs: dict[str, dict[str, Any]] = {}
    incident: list[str] = []

    def add(minute: int, second: int, service: str, level: str, message: str) -> str:
        doc_id = f"log-{len(docs):05d}"
        docs[doc_id] = {
            "ts": f"{day}T{minute // 60:02d}:{minute % 60:02d}:{second:02d}Z",
            "service": service,
            "level": level,
            "message": message,
            "request_id": f"req-{rng.getrandbits(40):010x}",
        }
        return doc_id

    for _ in range(errors):
        minute = 14 * 60 + rng.randrange(15)
        incident.append(
            add(minute, rng.randrange(60), INCIDENT_SERVICE, "ERROR", rng.choice(_ERRORS))
        )
    for hour in (9, 13, 15, 20):  # checkout errors before and after the incident
        add(
            hour * 60 + rng.randrange(60),
            rng.randrange(60),
            INCIDENT_SERVICE,
            "ERROR",
            "payment provider timeout",
        )
    add(13 * 60 + 59, 59, INCIDENT_SERVICE, "ERROR", "payment provider timeout")  # just before
    add(14 * 60 + 15, 1, INCIDENT_SERVICE, "ERROR", "payment provider timeout")  # just after
    for _ in range(6):  # other services fail in the same window
        add(
            14 * 60 + rng.randrange(15),
            rng.randrange(60),
            rng.choice(SERVICES[1:]),
            "ERROR",
            "upstream error 502",
        )
    for _ in range(8):  # checkout warns and logs about errors without being one
        add(
            14 * 60 + rng.randrange(15),
            rng.randrange(60),
            INCIDENT_SERVICE,
            rng.choice(("WARN", "INFO")),
            "retrying after payment error",
        )
    for _ in range(120):
        add(
            rng.randrange(24 * 60),
            rng.randrange(60),
            rng.choice(SERVICES),
            "INFO",
            rng.choice(_INFO),
        )
    return LogDay(documents=docs, incident=sorted(incident), start=start, end=end)


LOG_MAPPINGS = {
    "properties": {
        "ts": {"type": "date"},
        "service": {"type": "keyword"},
        "level": {"type": "keyword"},
        "message": {"type": "text"},
        "request_id": {"type": "keyword"},
    }
}


def bulk_body(index: str, documents: dict[str, dict[str, Any]]) -> str:
    """The ``_bulk`` request that indexes ``documents`` under their ids."""
    lines = []
    for doc_id, doc in documents.items():
        lines.append(json.dumps({"index": {"_index": index, "_id": doc_id}}))
        lines.append(json.dumps(doc))
    return "\n".join(lines) + "\n"


# -- the warehouse and the log domain, as the lesson and the checks set them up ------------------
LOADER_ROLE = "redshift-loader"
SPECTRUM_DB = "lake"
_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "redshift.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
_READ_LAKE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{LAKE}", f"arn:aws:s3:::{LAKE}/*"],
        },
        {"Effect": "Allow", "Action": ["glue:Get*"], "Resource": "*"},
    ],
}


def make_warehouse(client: Any, lake: Lake) -> str:
    """The extract in S3, ``lake.orders`` over it in the catalog (for Spectrum), a role Redshift
    may assume to read them, and the two-node cluster :data:`CLUSTER`; returns the role's ARN."""
    s3, glue, iam = client("s3"), client("glue"), client("iam")
    for name in (LAKE, RESULTS):
        _bucket(s3, name)
    write_warehouse(s3, lake)
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": SPECTRUM_DB})
    glue.create_table(
        DatabaseName=SPECTRUM_DB,
        TableInput={
            "Name": TABLE,
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": t} for n, t in ORDER_COLUMNS[:5]],
                "Location": WAREHOUSE_ORDERS_URL,
                "SerdeInfo": {
                    "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde."
                    "ParquetHiveSerDe"
                },
            },
            "Parameters": {"classification": "parquet"},
        },
    )
    role = iam.create_role(RoleName=LOADER_ROLE, AssumeRolePolicyDocument=json.dumps(_TRUST))
    iam.put_role_policy(
        RoleName=LOADER_ROLE, PolicyName="read-lake", PolicyDocument=json.dumps(_READ_LAKE)
    )
    arn = str(role["Role"]["Arn"])
    client("redshift").create_cluster(
        ClusterIdentifier=CLUSTER,
        NodeType="ra3.xlplus",
        NumberOfNodes=2,
        MasterUsername="admin",
        MasterUserPassword="Passw0rd-lab12",
        DBName="dev",
        IamRoles=[arn],
    )
    return arn


def make_log_domain(client: Any, logs: LogDay) -> str:
    """The domain :data:`DOMAIN` (open to this account), the index with ``logs`` in it, refreshed;
    returns the endpoint as ``https://...``."""
    import requests

    account = client("sts").get_caller_identity()["Account"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "es:ESHttp*",
                "Resource": f"arn:aws:es:us-east-1:{account}:domain/{DOMAIN}/*",
            }
        ],
    }
    status = client("opensearch").create_domain(
        DomainName=DOMAIN, AccessPolicies=json.dumps(policy)
    )["DomainStatus"]
    endpoint = "https://" + str(status["Endpoint"])
    requests.put(f"{endpoint}/{LOG_INDEX}", json={"mappings": LOG_MAPPINGS}, timeout=10)
    requests.post(
        f"{endpoint}/_bulk?refresh=true",
        data=bulk_body(LOG_INDEX, logs.documents),
        headers={"Content-Type": "application/x-ndjson"},
        timeout=10,
    )
    return endpoint
