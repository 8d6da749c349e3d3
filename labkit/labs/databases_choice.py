"""The databases lab's ``db_choice`` check: each workload on a database that serves it.

The learner sets ``assignment``: a dict from each workload's name (the keys of
:data:`labkit.services.dbchoice.sim_workloads.WORKLOADS`) to a service, written as AWS or the
course names it (``"aurora"``, ``"Amazon DynamoDB"``, ``"S3 Glacier Deep Archive"``), or with a
configuration (``("dynamodb", {"consistent_reads": True})`` or ``{"service": "rds",
"reads_from": "primary"}``). The check runs every workload's operations against the model of the
service chosen for it (:mod:`labkit.services.dbchoice`) and reports what broke: a join on
DynamoDB, an ad-hoc scan of terabytes on a transactional database, a three-hop traversal in SQL,
a service past its end of support. It never compares the answer with a list: any service whose
model meets a workload's requirements passes.
"""

from __future__ import annotations

from labkit.errors import LabkitError
from labkit.grading.checks import CheckContext
from labkit.services.dbchoice.sim_workloads import WORKLOADS, evaluate

#: How many broken workloads a failure lists.
SHOWN = 4


def check_db_choice(ctx: CheckContext) -> None:
    """Every workload works on the service the learner gave it."""
    assignment = ctx.value("assignment", types=dict)
    unknown = sorted(str(k) for k in assignment if k not in WORKLOADS)
    if unknown:
        ctx.fail(
            f"`assignment` names workloads there are not: {', '.join(unknown)}.",
            hint=f"The workloads are: {', '.join(WORKLOADS)}.",
        )
    missing = [name for name in WORKLOADS if name not in assignment]
    if missing:
        ctx.fail(
            f"`assignment` gives no service to {', '.join(missing)}.",
            hint="Give every workload a service: `assignment[name] = 'service'`.",
        )
    try:
        verdicts = evaluate(WORKLOADS, assignment)
    except LabkitError as error:
        ctx.fail(
            f"`assignment` has a choice the models cannot read: {error.message}",
            hint="Name a service as AWS does (`'aurora'`, `'dynamodb'`, `'neptune'`, ...), "
            "optionally with a dict of its options: `('dynamodb', {'consistent_reads': True})`.",
        )
    broken = [v for v in verdicts if not v.ok]
    if not broken:
        return
    lines = [
        f"{v.workload} on {v.service}: {v.broke[0]}"
        + (f" (and {len(v.broke) - 1} more)" if len(v.broke) > 1 else "")
        for v in broken[:SHOWN]
    ]
    more = f" …and {len(broken) - SHOWN} more workloads." if len(broken) > SHOWN else ""
    ctx.fail(
        f"{len(broken)} of {len(verdicts)} workloads broke on the service chosen for them: "
        + " | ".join(lines)
        + more,
        hint="Match each workload's operations to a data model that has them: joins and "
        "transactions to a relational database, ad-hoc scans of terabytes to a warehouse or "
        "Athena, deep traversals to a graph database, ranks to Redis sorted sets, time windows "
        "to a time-series database, archives to Glacier. "
        "`which_db(assignment)` (from `labkit.services.dbchoice.view`) shows every "
        "workload's report.",
    )
