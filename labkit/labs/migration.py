"""The migration and transfer lab: Snowball or the network, DataSync, DMS and Transfer Family.

Every check runs in an empty world of its own, with its own clock:

- ``snowball_or_network``: the learner's decision on the check's data sets answers as the
  documented arithmetic does (:mod:`labkit.labs.migration_choice`);
- ``nightly_sync``: a DataSync task mirrors a folder into a bucket every 24 hours, moving only
  what changed (:mod:`labkit.labs.migration_sync`);
- ``cut_over``: a DMS task loads a PostgreSQL table into DynamoDB and applies every change
  made after the load (:mod:`labkit.labs.migration_dms`);
- ``drop_zone``: an SFTP server where each of two partners sees only their own folder, tried
  with a real SFTP client (:mod:`labkit.labs.migration_sftp`).
"""

from __future__ import annotations

from labkit.grading.checks import Check
from labkit.labs.migration_choice import check_snowball_or_network
from labkit.labs.migration_dms import check_cut_over
from labkit.labs.migration_sftp import check_drop_zone
from labkit.labs.migration_sync import check_nightly_sync
from labkit.labs.spec import LabSpec

LAB = LabSpec(
    id="migration",
    title="Migration and transfer: Snowball, DataSync, DMS, Transfer Family and FSx",
    lesson="notebooks/15_migration.ipynb",
    lesson_source="notebooks/15_migration.py",
    exercise="exercises/15_migration.ipynb",
    solution="solutions/15_migration.ipynb",
    source="solutions/15_migration.py",
    checks=(
        Check(
            name="snowball_or_network",
            title="choose_transfer answers 'network', 'snowball' or 'neither' for each data set "
            "as its size, bandwidth, utilisation and deadline imply",
            points=2,
            run=check_snowball_or_network,
            hint="Network days = size in bytes x 8 / (bits per second x utilisation) / 86,400; a "
            "Snowball job is its phases plus copying onto the device and into S3.",
            isolated=True,
        ),
        Check(
            name="nightly_sync",
            title="nightly_sync makes a DataSync task that mirrors the folder into the bucket "
            "every 24 hours, moving only the files that changed",
            points=2,
            run=check_nightly_sync,
            hint="An NFS (or SMB) location for the folder, an S3 location for the bucket, and a "
            "task with Schedule={'ScheduleExpression': 'rate(24 hours)'}.",
            isolated=True,
            timeout=60.0,
        ),
        Check(
            name="cut_over",
            title="migrate_orders moves public.orders into DynamoDB with DMS and keeps applying "
            "inserts, updates and deletes until the cut-over: nothing lost",
            points=2,
            run=check_cut_over,
            hint="A source endpoint (postgres), a DynamoDB target endpoint, a replication "
            "instance and a full-load-and-cdc task selecting public.orders, started.",
            isolated=True,
            timeout=90.0,
        ),
        Check(
            name="drop_zone",
            title="drop_zone serves SFTP where each partner signs in with their key and sees only "
            "their own folder; the other partner and unknown keys are refused",
            points=2,
            run=check_drop_zone,
            hint="One SFTP server; per partner a user with their key and a logical home "
            "directory mapping '/' to their folder; a role Transfer Family may assume.",
            isolated=True,
            timeout=60.0,
        ),
    ),
)
