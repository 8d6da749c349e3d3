"""The DynamoDB lab: keys, capacity, TTL, DAX, point-in-time recovery and global tables.

Every check calls the learner's functions in an empty world of its own, with its own clock:

- ``event_key``: a skewed workload of order events (one flagship store, one reseller, one day)
  written into a provisioned table with the learner's key; every event must be its own item,
  one Query must return an order's events in time order, and no write may throttle
  (:mod:`labkit.labs.dynamodb_keys`);
- ``capacity``: the learner creates ``catalog`` with the capacity they choose; a steady load and
  a promotion that quadruples the reads run on the lab clock without a throttle, for no more
  than on-demand would cost (:mod:`labkit.labs.dynamodb_capacity`);
- ``sessions``: a web-session store whose sessions live 30 minutes: the reader never returns an
  expired session, even before DynamoDB's background TTL delete, and TTL deletes them
  (:mod:`labkit.labs.dynamodb_sessions`);
- ``dax_reads``: a read-heavy mix of profile views and edits through a DAX cluster; a user who
  saved their profile always sees that save, and DAX's cache answers most loads
  (:mod:`labkit.labs.dynamodb_dax`);
- ``pitr_restore``: the learner protects ``ledger``, a bad batch write lands, and their restore
  must hold exactly the items of the moment before it, in a table with PITR on
  (:mod:`labkit.labs.dynamodb_recovery`);
- ``global_table``: the learner makes ``orders`` a global table and writes orders through their
  read/write path; with the home Region failed (:func:`labkit.edge.fail_region`) the path reads
  every order written before the failure, and writes, from the replica
  (:mod:`labkit.labs.dynamodb_global`).
"""

from __future__ import annotations

from labkit.grading.checks import Check
from labkit.labs.dynamodb_capacity import CATALOG_TABLE, check_capacity, run_seconds
from labkit.labs.dynamodb_dax import MIN_HIT_SHARE, PROFILES_TABLE, check_dax_reads
from labkit.labs.dynamodb_global import (
    GLOBAL_TABLE,
    HOME_REGION,
    REPLICA_REGION,
    check_global_table,
)
from labkit.labs.dynamodb_keys import EVENTS_RATE, EVENTS_TABLE, EVENTS_WCU, check_event_key
from labkit.labs.dynamodb_recovery import LEDGER_TABLE, check_pitr_restore
from labkit.labs.dynamodb_sessions import SESSION_TTL, SESSIONS_TABLE, check_sessions
from labkit.labs.spec import LabSpec

#: Wall seconds a check that writes thousands of items may take (about 4 s here; laptops are
#: slower, and a learner's key function runs for every event).
HEAVY_CHECK_TIMEOUT = 30.0
#: The capacity check runs eleven minutes of lab time second by second (about 20 s here).
CAPACITY_CHECK_TIMEOUT = 90.0

LAB = LabSpec(
    id="dynamodb",
    title="DynamoDB: keys, capacity, TTL, DAX, recovery and global tables",
    lesson="notebooks/06_dynamodb.ipynb",
    lesson_source="notebooks/06_dynamodb.py",
    exercise="exercises/06_dynamodb.ipynb",
    solution="solutions/06_dynamodb.ipynb",
    source="solutions/06_dynamodb.py",
    checks=(
        Check(
            name="event_key",
            title=f"event_key(event) keeps every order event in `{EVENTS_TABLE}`, lets one "
            f"Query read an order's events in time order, and writes {EVENTS_RATE:,} events a "
            f"second of a skewed workload into {EVENTS_WCU:,} WCU without a throttle",
            points=2,
            run=check_event_key,
            hint="A partition key with many evenly used values that groups an order's events "
            "(the order id), and a sort key that orders them in time and is unique per event.",
            isolated=True,
            timeout=HEAVY_CHECK_TIMEOUT,
        ),
        Check(
            name="capacity",
            title=f"create_catalog gives `{CATALOG_TABLE}` the capacity for a steady load and a "
            f"promotion that quadruples its reads ({run_seconds() // 60} minutes of lab time): "
            "no request throttled, for no more than on-demand would cost",
            points=2,
            run=check_capacity,
            hint="On-demand, or provisioned capacity above the steady load with target tracking "
            "auto scaling (around 70 %) on reads and writes and room above the peak.",
            isolated=True,
            timeout=CAPACITY_CHECK_TIMEOUT,
        ),
        Check(
            name="sessions",
            title=f"`{SESSIONS_TABLE}`: a session lives {SESSION_TTL // 60} minutes, "
            "load_session never returns an expired one (even before TTL deletes it), and TTL "
            "deletes it",
            points=2,
            run=check_sessions,
            hint="TTL on a Number attribute holding the expiry in epoch seconds, and a reader "
            "that compares it with the lab clock.",
            isolated=True,
        ),
        Check(
            name="dax_reads",
            title=f"save_profile/load_profile through DAX: a user always sees their own save of "
            f"their `{PROFILES_TABLE}` item, and DAX's cache answers at least "
            f"{MIN_HIT_SHARE:.0%} of a read-heavy mix",
            points=2,
            run=check_dax_reads,
            hint="Write through DAX (its item cache is updated), or read strongly consistent "
            "after your own write; read everything else eventually consistent through DAX.",
            isolated=True,
            timeout=HEAVY_CHECK_TIMEOUT,
        ),
        Check(
            name="pitr_restore",
            title=f"protect/recover: after a bad batch write to `{LEDGER_TABLE}`, the restored "
            "table holds exactly the items of the moment before it, with point-in-time "
            "recovery on",
            points=2,
            run=check_pitr_restore,
            hint="PITR on before the accident; restore_table_to_point_in_time into a new table "
            "at a second before the bad batch; PITR on for the restored table.",
            isolated=True,
        ),
        Check(
            name="global_table",
            title=f"make_global makes `{GLOBAL_TABLE}` a global table with a replica in "
            f"{REPLICA_REGION}; with {HOME_REGION} down, put_order/get_order keep serving, "
            "orders written before the failure included",
            points=2,
            run=check_global_table,
            hint="A replica added with update_table(ReplicaUpdates=...), and a path that tries "
            "the next Region when one does not answer (EndpointConnectionError).",
            isolated=True,
        ),
    ),
)
