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
# Correct, unlike the solution: the course's calculator for task 1 (answers capitalised, None
# for neither); an SMB location, `rate(1 day)`, a prefix and a first run started by hand; all
# tables selected with a wildcard and the other one excluded; PATH home directories fenced by
# one session policy with Transfer Family's variables.

# %%
import json

import labkit
from labkit.services.snowball.sim_calculator import TB, network_seconds, snowball_seconds

lab = labkit.start("migration")


# %%
def choose_transfer(size_tb, bandwidth_mbps, utilisation, deadline_days):
    deadline = deadline_days * 86_400
    if network_seconds(size_tb * TB, bandwidth_mbps * 1_000_000, utilisation) <= deadline:
        return "Network"
    if snowball_seconds(size_tb * TB) <= deadline:
        return "Snowball"
    return None


# %%
def nightly_sync(datasync, folder, bucket):
    smb = datasync.create_location_smb(
        ServerHostname="files.office.example",
        Subdirectory=folder,
        User="backup",
        Password="not-a-real-password",
        AgentArns=["arn:aws:datasync:us-east-1:123456789012:agent/agent-0b0addbeef44baca3"],
    )
    s3 = datasync.create_location_s3(
        S3BucketArn="arn:aws:s3:::" + bucket,
        Subdirectory="/office",
        S3Config={"BucketAccessRoleArn": "arn:aws:iam::123456789012:role/sync"},
    )
    task = datasync.create_task(
        SourceLocationArn=smb["LocationArn"],
        DestinationLocationArn=s3["LocationArn"],
        Schedule={"ScheduleExpression": "rate(1 day)"},
    )
    datasync.start_task_execution(TaskArn=task["TaskArn"])


# %%
def migrate_orders(dms, source):
    ri = dms.create_replication_instance(
        ReplicationInstanceIdentifier="ri-1",
        ReplicationInstanceClass="dms.c5.large",
        AllocatedStorage=50,
    )["ReplicationInstance"]
    src = dms.create_endpoint(
        EndpointIdentifier="pg",
        EndpointType="source",
        EngineName="postgres",
        ServerName=source["ServerName"],
        Port=int(source["Port"]),
        Username=source["Username"],
        Password=source["Password"],
        DatabaseName=source["DatabaseName"],
    )["Endpoint"]
    dst = dms.create_endpoint(
        EndpointIdentifier="ddb",
        EndpointType="target",
        EngineName="dynamodb",
        DynamoDbSettings={"ServiceAccessRoleArn": "arn:aws:iam::123456789012:role/dms-dynamodb"},
    )["Endpoint"]
    rules = [
        {
            "rule-type": "selection",
            "rule-id": "10",
            "rule-name": "everything",
            "object-locator": {"schema-name": "public", "table-name": "%"},
            "rule-action": "include",
        },
        {
            "rule-type": "selection",
            "rule-id": "20",
            "rule-name": "not-carts",
            "object-locator": {"schema-name": "public", "table-name": "carts"},
            "rule-action": "exclude",
        },
    ]
    arn = dms.create_replication_task(
        ReplicationTaskIdentifier="cutover",
        SourceEndpointArn=src["EndpointArn"],
        TargetEndpointArn=dst["EndpointArn"],
        ReplicationInstanceArn=ri["ReplicationInstanceArn"],
        MigrationType="full-load-and-cdc",
        TableMappings=json.dumps({"rules": rules}),
    )["ReplicationTask"]["ReplicationTaskArn"]
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")


# %%
SCOPE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::${transfer:HomeBucket}",
            "Condition": {"StringLike": {"s3:prefix": ["${transfer:HomeFolder}/*"]}},
        },
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": "arn:aws:s3:::${transfer:HomeDirectory}/*",
        },
    ],
}


def drop_zone(transfer, iam, bucket, partners):
    role = iam.create_role(
        RoleName="transfer-users",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "transfer.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]
    iam.put_role_policy(
        RoleName="transfer-users",
        PolicyName="bucket",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:*", "Resource": f"arn:aws:s3:::{bucket}"},
                    {"Effect": "Allow", "Action": "s3:*", "Resource": f"arn:aws:s3:::{bucket}/*"},
                ],
            }
        ),
    )
    server_id = transfer.create_server()["ServerId"]
    for name, key in partners.items():
        transfer.create_user(
            ServerId=server_id,
            UserName=name,
            Role=role["Arn"],
            HomeDirectory=f"/{bucket}/{name}",
            Policy=json.dumps(SCOPE),
            SshPublicKeyBody=key,
        )
    return server_id
