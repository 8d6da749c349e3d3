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
# Plausible mistakes: bytes divided by bits per second (no x 8), one DataSync run started by
# hand and no schedule, a full-load task (no CDC), and PATH home directories alone with a role
# that reaches the whole bucket.

# %%
import json

import labkit
from labkit.services.snowball.sim_calculator import TB, snowball_seconds

lab = labkit.start("migration")


# %%
def choose_transfer(size_tb, bandwidth_mbps, utilisation, deadline_days):
    network_days = size_tb * TB / (bandwidth_mbps * 1e6 * utilisation) / 86_400
    if network_days <= deadline_days:
        return "network"
    if snowball_seconds(size_tb * TB) / 86_400 <= deadline_days:
        return "snowball"
    return "neither"


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
    task = datasync.create_task(SourceLocationArn=source, DestinationLocationArn=target)
    datasync.start_task_execution(TaskArn=task["TaskArn"])


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
    selection = {
        "rule-type": "selection",
        "rule-id": "1",
        "rule-name": "orders",
        "object-locator": {"schema-name": "public", "table-name": "orders"},
        "rule-action": "include",
    }
    task = dms.create_replication_task(
        ReplicationTaskIdentifier="orders",
        SourceEndpointArn=src,
        TargetEndpointArn=dst,
        ReplicationInstanceArn=ri,
        MigrationType="full-load",
        TableMappings=json.dumps({"rules": [selection]}),
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
    access = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetObject", "s3:PutObject"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
    arn = iam.create_role(RoleName="sftp", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    iam.put_role_policy(RoleName="sftp", PolicyName="s3", PolicyDocument=json.dumps(access))
    server = transfer.create_server(Protocols=["SFTP"])["ServerId"]
    for name, key in partners.items():
        transfer.create_user(
            ServerId=server,
            UserName=name,
            Role=arn,
            HomeDirectory=f"/{bucket}/{name}",
            SshPublicKeyBody=key,
        )
    return server
