"""The databases lab: RDS on a real PostgreSQL, ElastiCache on a real Redis engine, and choosing
a database for each workload.

Every check calls the learner's functions in an empty world of its own, with its own clock:

- ``orders_replica``: an order schema on RDS; the user's own orders read fresh, the sales report
  from a read replica that lags (:mod:`labkit.labs.databases_orders`);
- ``failover``: an order writer that survives two Multi-AZ failovers without losing or doubling
  an order (:mod:`labkit.labs.databases_failover`);
- ``pitr``: backups on, then a restore to the second before a bad migration
  (:mod:`labkit.labs.databases_recovery`);
- ``cache``: ElastiCache in front of RDS, cutting the database's reads while no price is staler
  than a bound (:mod:`labkit.labs.databases_cache`);
- ``proxy``: a Lambda function at more concurrent invocations than the database's
  ``max_connections``, every one working through RDS Proxy with IAM authentication; outsiders
  refused (:mod:`labkit.labs.databases_proxy`);
- ``db_choice``: each of ten workloads run against the model of the service the learner chose
  (:mod:`labkit.labs.databases_choice`).
"""

from __future__ import annotations

from labkit.grading.checks import Check
from labkit.labs.databases_cache import MAX_DB_READ_SHARE, STALE_BOUND, check_cache
from labkit.labs.databases_choice import check_db_choice
from labkit.labs.databases_failover import check_failover
from labkit.labs.databases_orders import check_orders_replica
from labkit.labs.databases_proxy import BURST, MAX_CONNECTIONS, check_proxy
from labkit.labs.databases_recovery import check_pitr
from labkit.labs.spec import LabSpec

#: Wall seconds a check that starts PostgreSQL servers may take (10-20 s here on a loaded
#: two-core machine; a laptop starting its first server also builds the template, about 4 s).
ENGINE_CHECK_TIMEOUT = 240.0

LAB = LabSpec(
    id="databases",
    title="Databases: RDS, read replicas, failover, PITR, ElastiCache and choosing a database",
    lesson="notebooks/10_databases.ipynb",
    lesson_source="notebooks/10_databases.py",
    exercise="exercises/10_databases.ipynb",
    solution="solutions/10_databases.ipynb",
    source="solutions/10_databases.py",
    checks=(
        Check(
            name="orders_replica",
            title="create_schema/place_order/my_orders/sales_report: a customer sees the order "
            "they just placed; the sales report is right and runs on the read replica only",
            points=2,
            run=check_orders_replica,
            hint="Write on the primary and commit; read a user's own orders from the primary; "
            "run reports on the replica.",
            isolated=True,
            timeout=ENGINE_CHECK_TIMEOUT,
        ),
        Check(
            name="failover",
            title="save_order commits every order exactly once through two Multi-AZ failovers",
            points=2,
            run=check_failover,
            hint="Retry the whole transaction on a new connection after waiting on the lab "
            "clock, and make the insert idempotent (ON CONFLICT DO NOTHING).",
            isolated=True,
            timeout=ENGINE_CHECK_TIMEOUT,
        ),
        Check(
            name="pitr",
            title="protect/recover: a new instance holds the database as it was the second "
            "before a bad migration",
            points=2,
            run=check_pitr,
            hint="Automated backups on (BackupRetentionPeriod 1-35), then "
            "restore_db_instance_to_point_in_time to bad_at minus one second.",
            isolated=True,
            timeout=ENGINE_CHECK_TIMEOUT,
        ),
        Check(
            name="cache",
            title=f"get_price/set_price with ElastiCache: no price staler than {STALE_BOUND} s, "
            f"at most {MAX_DB_READ_SHARE:.0%} of reads reach the database",
            points=2,
            run=check_cache,
            hint=f"Cache-aside with a TTL of at most {STALE_BOUND} s, and set_price deletes "
            "the cached entry after updating the database.",
            isolated=True,
            timeout=ENGINE_CHECK_TIMEOUT,
        ),
        Check(
            name="proxy",
            title=f"build_proxy: {BURST} concurrent invocations of a Lambda function (the "
            f"database takes {MAX_CONNECTIONS} connections) all work through RDS Proxy with IAM "
            "authentication; outsiders are refused",
            points=2,
            run=check_proxy,
            hint="A proxy with IAMAuth 'REQUIRED' in front of the instance, a function in the "
            "VPC that logs in to the proxy's endpoint with generate_db_auth_token, one "
            "connection per execution environment.",
            isolated=True,
            timeout=ENGINE_CHECK_TIMEOUT,
        ),
        Check(
            name="db_choice",
            title="assignment: every workload runs on a service whose model serves it",
            points=2,
            run=check_db_choice,
            hint="Match each workload's operations to a data model that has them.",
        ),
    ),
)
