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
# Plausible mistakes: the whole link taken as the transfer's (utilisation ignored), TransferMode
# ALL (every file every night), a DMS task created and never started, and a role whose trust
# policy names EC2 instead of Transfer Family.

# %%
import json

import labkit

lab = labkit.start("migration")


# %%
def choose_transfer(size_tb, bandwidth_mbps, utilisation, deadline_days):
    network_days = size_tb * 8e12 / (bandwidth_mbps * 1e6) / 86_400
    snowball_days = 7.5 + 2 * min(size_tb, 210) / 40
    if network_days <= deadline_days:
        return "network"
    if snowball_days <= deadline_days:
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
    datasync.create_task(
        SourceLocationArn=source,
        DestinationLocationArn=target,
        Options={"TransferMode": "ALL"},
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
    selection = {
        "rule-type": "selection",
        "rule-id": "1",
        "rule-name": "orders",
        "object-locator": {"schema-name": "public", "table-name": "orders"},
        "rule-action": "include",
    }
    dms.create_replication_task(
        ReplicationTaskIdentifier="orders",
        SourceEndpointArn=src,
        TargetEndpointArn=dst,
        ReplicationInstanceArn=ri,
        MigrationType="full-load-and-cdc",
        TableMappings=json.dumps({"rules": [selection]}),
    )


# %%
def drop_zone(transfer, iam, bucket, partners):
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
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
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            },
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
            HomeDirectoryType="LOGICAL",
            HomeDirectoryMappings=[{"Entry": "/", "Target": f"/{bucket}/{name}"}],
            SshPublicKeyBody=key,
        )
    return server
