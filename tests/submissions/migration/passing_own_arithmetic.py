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
# Correct, unlike the solution: task 1 in seconds and bits with devices counted; an NFS task
# at 02:00 UTC every night (cron) with a prefix, no verification and deletions removed; the
# table renamed by a transformation rule; partners chrooted under `partners/<name>` with keys
# imported after the users.

# %%
import json
import math

import labkit

lab = labkit.start("migration")


# %%
def choose_transfer(size_tb, bandwidth_mbps, utilisation, deadline_days):
    bits = size_tb * 8e12
    seconds_online = bits / (bandwidth_mbps * 1e6 * utilisation)
    devices = math.ceil(size_tb / 210)
    tb_per_device = size_tb / devices
    # ordering 0.5 + preparing 1 + shipment 0.5 + out 2 + back 2 + sorting 1 + at AWS 0.5 days,
    # copying at 40 TB a day onto the device and again into S3.
    days_offline = 7.5 + 2 * tb_per_device / 40
    if seconds_online <= deadline_days * 24 * 3600:
        return "network"
    return "snowball" if days_offline <= deadline_days else "neither"


# %%
def nightly_sync(datasync, folder, bucket):
    nas = datasync.create_location_nfs(
        ServerHostname="10.0.0.12",
        Subdirectory=folder,
        OnPremConfig={
            "AgentArns": ["arn:aws:datasync:us-east-1:123456789012:agent/agent-00000000000000001"]
        },
        MountOptions={"Version": "NFS4_1"},
    )["LocationArn"]
    lake = datasync.create_location_s3(
        S3BucketArn=f"arn:aws:s3:::{bucket}",
        Subdirectory="mirror",
        S3StorageClass="STANDARD",
        S3Config={"BucketAccessRoleArn": "arn:aws:iam::123456789012:role/datasync"},
    )["LocationArn"]
    datasync.create_task(
        SourceLocationArn=nas,
        DestinationLocationArn=lake,
        Options={"VerifyMode": "NONE", "PreserveDeletedFiles": "REMOVE"},
        Schedule={"ScheduleExpression": "cron(0 2 * * ? *)"},  # 02:00 UTC every night
    )


# %%
def migrate_orders(dms, source):
    instance = dms.create_replication_instance(
        ReplicationInstanceIdentifier="mover", ReplicationInstanceClass="dms.t3.micro"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    endpoint = dict(source)
    src = dms.create_endpoint(
        EndpointIdentifier="legacy", EndpointType="source", EngineName="postgres", **endpoint
    )["Endpoint"]["EndpointArn"]
    dst = dms.create_endpoint(
        EndpointIdentifier="new-home", EndpointType="target", EngineName="dynamodb"
    )["Endpoint"]["EndpointArn"]
    mappings = {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "1",
                "object-locator": {"schema-name": "public", "table-name": "orders"},
                "rule-action": "include",
            },
            {
                "rule-type": "transformation",
                "rule-id": "2",
                "rule-name": "2",
                "rule-target": "table",
                "object-locator": {"schema-name": "public", "table-name": "orders"},
                "rule-action": "add-prefix",
                "value": "shop_",
            },
        ]
    }
    task = dms.create_replication_task(
        ReplicationTaskIdentifier="orders-live",
        SourceEndpointArn=src,
        TargetEndpointArn=dst,
        ReplicationInstanceArn=instance,
        MigrationType="full-load-and-cdc",
        TableMappings=json.dumps(mappings),
    )
    dms.start_replication_task(
        ReplicationTaskArn=task["ReplicationTask"]["ReplicationTaskArn"],
        StartReplicationTaskType="start-replication",
    )
    return task


# %%
def drop_zone(transfer, iam, bucket, partners):
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["transfer.amazonaws.com"]},
                "Action": ["sts:AssumeRole"],
            }
        ],
    }
    role_arn = iam.create_role(RoleName="drop", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": f"arn:aws:s3:::{bucket}/partners/*",
            },
        ],
    }
    iam.put_role_policy(RoleName="drop", PolicyName="p", PolicyDocument=json.dumps(policy))
    server = transfer.create_server(
        Protocols=["SFTP"], EndpointType="PUBLIC", IdentityProviderType="SERVICE_MANAGED"
    )
    arn = server["ServerId"]
    for name in sorted(partners):
        transfer.create_user(
            ServerId=arn,
            UserName=name,
            Role=role_arn,
            HomeDirectoryType="LOGICAL",
            HomeDirectoryMappings=[{"Entry": "/", "Target": f"/{bucket}/partners/{name}"}],
        )
        transfer.import_ssh_public_key(ServerId=arn, UserName=name, SshPublicKeyBody=partners[name])
    return transfer.describe_server(ServerId=arn)["Server"]["Arn"]
