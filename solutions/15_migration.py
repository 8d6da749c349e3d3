# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Migration and transfer exercise: moving the shop to AWS
#
# The shop leaves its data centre. You decide how each data set travels (the network or a
# **Snowball Edge** device), keep a file share in step with S3 every night with **DataSync**,
# move the orders database with **DMS** while the shop keeps writing to it, and open an **SFTP
# drop zone** with **Transfer Family** where each partner sees only their own folder.
#
# Write your code where it says `# YOUR CODE HERE` (replace the `...`), run the cell, then run
# the check below it. Each check runs your work in an empty sandbox of its own, with a lab clock
# of its own, and tells you what it found.

# %%
import json

import labkit
from labkit import facts
from labkit.services.snowball.sim_jobs import DEFAULT_PHASES

lab = labkit.start("migration")

# %% [markdown]
# ## Task 1: Snowball or the network?
#
# Write `choose_transfer(size_tb, bandwidth_mbps, utilisation, deadline_days)` for one data set:
# `size_tb` in decimal terabytes (1 TB = 10^12 bytes), the site's link in megabits per second
# (1 Mbit/s = 10^6 bits per second), `utilisation` the share of the link the transfer gets
# (0.8 = 80 %), and the deadline in days. Return:
#
# - `"network"` when the transfer over the link finishes by the deadline (nothing to order,
#   ship and return);
# - otherwise `"snowball"` when a Snowball Edge job finishes by the deadline;
# - otherwise `"neither"`.
#
# A Snowball Edge job, in this course (AWS publishes no shipping times): the fixed phases of
# `DEFAULT_PHASES` (ordering, preparing, shipping out and back, sorting), plus copying onto the
# device at the site and again into S3 at AWS at `DEFAULT_PHASES.copy_tb_per_day`. A device
# holds 210 TB (`labkit.facts.fact("snowball.storage_optimized_capacity_tb")`); a larger data
# set takes several devices, copied in parallel.

# %%
print(DEFAULT_PHASES)


# %%
def choose_transfer(size_tb, bandwidth_mbps, utilisation, deadline_days):
    """'network', 'snowball' or 'neither' for one data set."""
    ### BEGIN SOLUTION
    day = 86_400
    network_days = size_tb * 1e12 * 8 / (bandwidth_mbps * 1e6 * utilisation) / day
    if network_days <= deadline_days:
        return "network"
    per_device_tb = min(size_tb, facts.value("snowball.storage_optimized_capacity_tb"))
    p = DEFAULT_PHASES
    fixed_days = 2 * p.order_days + p.prepare_days + 2 * p.ship_days + p.sort_days + p.order_days
    snowball_days = fixed_days + 2 * per_device_tb / p.copy_tb_per_day
    if snowball_days <= deadline_days:
        return "snowball"
    return "neither"
    ### END SOLUTION


# %%
lab.check("snowball_or_network")

# %% [markdown]
# ## Task 2: a nightly sync that moves only what changed
#
# Write `nightly_sync(datasync, folder, bucket)`. `folder` is the office's file share (a folder
# on this machine: use it as the `Subdirectory` of an NFS location, any server name and agent),
# `bucket` an S3 bucket that exists. Make a DataSync task that copies the share into the bucket
# **every 24 hours on its own**, and each night moves **only the files that changed**.
#
# The check lets a day of lab time pass, changes two files and adds one, lets another day pass,
# and reads the night's execution report.

# %%
AGENTS = ["arn:aws:datasync:us-east-1:123456789012:agent/agent-0b0addbeef44baca3"]
ROLE = "arn:aws:iam::123456789012:role/datasync-s3"


def nightly_sync(datasync, folder, bucket):
    """A DataSync task from the share to the bucket, every 24 hours."""
    ### BEGIN SOLUTION
    source = datasync.create_location_nfs(
        ServerHostname="nas.office.example",
        Subdirectory=folder,
        OnPremConfig={"AgentArns": AGENTS},
    )["LocationArn"]
    target = datasync.create_location_s3(
        S3BucketArn=f"arn:aws:s3:::{bucket}", S3Config={"BucketAccessRoleArn": ROLE}
    )["LocationArn"]
    return datasync.create_task(
        SourceLocationArn=source,
        DestinationLocationArn=target,
        Name="nightly-share",
        Options={"TransferMode": "CHANGED", "VerifyMode": "ONLY_FILES_TRANSFERRED"},
        Schedule={"ScheduleExpression": "rate(24 hours)"},
    )["TaskArn"]
    ### END SOLUTION


# %%
lab.check("nightly_sync")

# %% [markdown]
# ## Task 3: move the orders table, and keep it moving until the cut-over
#
# The shop's orders live in an RDS for PostgreSQL database, table `public.orders` (primary key
# `id`), and the shop keeps writing to it while you migrate. Write `migrate_orders(dms,
# source)`: `source` is a dict with the database's `ServerName`, `Port`, `Username`, `Password`
# and `DatabaseName`. Move the table into **DynamoDB** with DMS so that every order already
# there, and every insert, update and delete made after the copy, reaches DynamoDB until you
# switch the shop over. Nothing may be lost.
#
# The check makes the database, calls your function, writes to the source (new orders, refunds,
# cancellations), lets a minute of lab time pass, then compares DynamoDB with PostgreSQL.


# %%
def migrate_orders(dms, source):
    """A DMS task from the PostgreSQL source to DynamoDB: full load, then every change."""
    ### BEGIN SOLUTION
    instance = dms.create_replication_instance(
        ReplicationInstanceIdentifier="migration", ReplicationInstanceClass="dms.t3.medium"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    from_db = dms.create_endpoint(
        EndpointIdentifier="shop-postgres",
        EndpointType="source",
        EngineName="postgres",
        **source,
    )["Endpoint"]["EndpointArn"]
    to_dynamodb = dms.create_endpoint(
        EndpointIdentifier="shop-dynamodb", EndpointType="target", EngineName="dynamodb"
    )["Endpoint"]["EndpointArn"]
    mappings = {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "orders",
                "object-locator": {"schema-name": "public", "table-name": "orders"},
                "rule-action": "include",
            }
        ]
    }
    task = dms.create_replication_task(
        ReplicationTaskIdentifier="orders-to-dynamodb",
        SourceEndpointArn=from_db,
        TargetEndpointArn=to_dynamodb,
        ReplicationInstanceArn=instance,
        MigrationType="full-load-and-cdc",
        TableMappings=json.dumps(mappings),
    )["ReplicationTask"]["ReplicationTaskArn"]
    dms.start_replication_task(
        ReplicationTaskArn=task, StartReplicationTaskType="start-replication"
    )
    return task
    ### END SOLUTION


# %%
lab.check("cut_over")

# %% [markdown]
# ## Task 4: an SFTP drop zone, one folder per partner
#
# Write `drop_zone(transfer, iam, bucket, partners)`: `partners` maps each partner's name to
# their SSH public key (`"ecdsa-sha2-nistp256 AAAA... ana@partner.example"`), `bucket` is an S3
# bucket that exists. Make a Transfer Family SFTP server where each partner signs in with their
# key, uploads into a folder of their own in the bucket (named after them: `s3://bucket/ana/`),
# and can neither see nor touch another partner's files. Return the server's id.
#
# The check signs in as each partner with a real SFTP client, uploads, then tries the other
# partner's folder by every path it can think of, and signs in with a key nobody was given.


# %%
def drop_zone(transfer, iam, bucket, partners):
    """An SFTP server: each partner chrooted to their own folder in the bucket."""
    ### BEGIN SOLUTION
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "transfer.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    access = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            },
        ],
    }
    role = iam.create_role(RoleName="sftp-partners", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName="sftp-partners", PolicyName="drop-zone", PolicyDocument=json.dumps(access)
    )
    server = transfer.create_server(Protocols=["SFTP"], IdentityProviderType="SERVICE_MANAGED")
    for name, key in partners.items():
        transfer.create_user(
            ServerId=server["ServerId"],
            UserName=name,
            Role=role["Role"]["Arn"],
            HomeDirectoryType="LOGICAL",
            HomeDirectoryMappings=[{"Entry": "/", "Target": f"/{bucket}/{name}"}],
            SshPublicKeyBody=key,
        )
    return server["ServerId"]
    ### END SOLUTION


# %%
lab.check("drop_zone")

# %% [markdown]
# ## Your score

# %%
lab.score()

# %% [markdown]
# ## Summary
#
# - Network or Snowball is arithmetic: bytes x 8 over bits per second times the share of the
#   link you really get, against a Snowball job's ordering, shipping both ways and copying
#   twice. The network wins far more often than intuition says.
# - A DataSync task with a schedule keeps a share and a bucket in step; `TransferMode` CHANGED
#   moves only what differs, and each execution's report says what moved and what was skipped.
# - DMS is not one-off: `full-load-and-cdc` copies a table, then applies every change until
#   you stop the task at cut-over, so the database stays in use while it moves.
# - On Transfer Family a home directory is where a user starts; a logical mapping (or a session
#   policy) is what keeps each partner in their own folder.
