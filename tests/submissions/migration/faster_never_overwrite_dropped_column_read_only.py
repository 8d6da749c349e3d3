# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: migration
#     role: exercise
# ---

# %% [markdown]
# Plausible mistakes: the faster of the two whatever the deadline (never 'neither'),
# OverwriteMode NEVER (changed files never replace their old copies), a transformation rule
# that drops a column thought unneeded, and a role that may read the bucket but not write.

# %%
import json

import labkit

lab = labkit.start("migration")


# %%
def choose_transfer(size_tb, bandwidth_mbps, utilisation, deadline_days):
    network_days = size_tb * 8e12 / (bandwidth_mbps * 1e6 * utilisation) / 86_400
    snowball_days = 7.5 + 2 * min(size_tb, 210) / 40
    return "network" if network_days < snowball_days else "snowball"


# %%
def nightly_sync(datasync, folder, bucket):
    source = datasync.create_location_nfs(
        ServerHostname="nas",
        Subdirectory=folder,
        OnPremConfig={
            "AgentArns": ["arn:aws:datasync:us-east-1:123456789012:agent/agent-0b0addbeef44baca3"]
        },
    )["LocationArn"]
    target = datasync.create_location_s3(
        S3BucketArn=f"arn:aws:s3:::{bucket}",
        S3Config={"BucketAccessRoleArn": "arn:aws:iam::123456789012:role/datasync"},
    )["LocationArn"]
    datasync.create_task(
        SourceLocationArn=source,
        DestinationLocationArn=target,
        Options={"OverwriteMode": "NEVER"},
        Schedule={"ScheduleExpression": "rate(24 hours)"},
    )


# %%
def migrate_orders(dms, source):
    ri = dms.create_replication_instance(
        ReplicationInstanceIdentifier="ri", ReplicationInstanceClass="dms.t3.medium"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    src = dms.create_endpoint(
        EndpointIdentifier="src", EndpointType="source", EngineName="postgres", **source
    )["Endpoint"]["EndpointArn"]
    dst = dms.create_endpoint(
        EndpointIdentifier="dst", EndpointType="target", EngineName="dynamodb"
    )["Endpoint"]["EndpointArn"]
    rules = [
        {
            "rule-type": "selection",
            "rule-id": "1",
            "rule-name": "orders",
            "object-locator": {"schema-name": "public", "table-name": "orders"},
            "rule-action": "include",
        },
        {
            "rule-type": "transformation",
            "rule-id": "2",
            "rule-name": "no-status",
            "rule-target": "column",
            "object-locator": {
                "schema-name": "public",
                "table-name": "orders",
                "column-name": "status",
            },
            "rule-action": "remove-column",
        },
    ]
    task = dms.create_replication_task(
        ReplicationTaskIdentifier="orders",
        SourceEndpointArn=src,
        TargetEndpointArn=dst,
        ReplicationInstanceArn=ri,
        MigrationType="full-load-and-cdc",
        TableMappings=json.dumps({"rules": rules}),
    )["ReplicationTask"]["ReplicationTaskArn"]
    dms.start_replication_task(
        ReplicationTaskArn=task, StartReplicationTaskType="start-replication"
    )


# %%
def drop_zone(transfer, iam, bucket, partners):
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
    read_only = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
        ],
    }
    arn = iam.create_role(RoleName="sftp", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    iam.put_role_policy(RoleName="sftp", PolicyName="s3", PolicyDocument=json.dumps(read_only))
    server = transfer.create_server(Protocols=["SFTP"])["ServerId"]
    for name, key in partners.items():
        transfer.create_user(
            ServerId=server,
            UserName=name,
            Role=arn,
            HomeDirectoryType="LOGICAL",
            HomeDirectoryMappings=[{"Entry": "/", "Target": f"/{bucket}/{name}"}],
            SshPublicKeyBody=key,
        )
    return server
