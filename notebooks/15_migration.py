# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Migration and transfer: Snowball, DataSync, DMS, Transfer Family and FSx
#
# Sooner or later a shop moves what it has into AWS: terabytes of files, a database that never
# stops taking orders, partners who drop files over SFTP every night. AWS has a service for each
# kind of move, and choosing the wrong one costs weeks. This lesson moves the shop's data, one
# service at a time, in the sandbox:
#
# 1. **the network or a Snowball device**: arithmetic, then a Snowball job on the lab clock;
# 2. **DataSync**: a file share kept in step with S3, only changes moving;
# 3. **DMS**: a database table copied, then every change replicated until the cut-over;
# 4. **Transfer Family**: an SFTP server backed by S3, used with a real SFTP client;
# 5. **FSx**: a Lustre file system that loads from S3 on first access, and which FSx fits what.

# %%
import io
import json
import os
import tempfile
from pathlib import Path

import paramiko
import pg8000

import labkit
from labkit.facts import fact
from labkit.services.fsx.state import mount
from labkit.services.snowball.sim_calculator import TB, estimate
from labkit.services.snowball.sim_jobs import DEFAULT_PHASES, SnowballError, SnowballJobs

lab = labkit.start("migration")
s3 = lab.client("s3")

# %% [markdown]
# ## 1. The network or a Snowball device?
#
# Over the network a data set takes `bytes x 8 / (bits per second x utilisation)`: sizes are in
# bytes, links in bits, and the transfer never gets the whole link (the office still works).
# A Snowball Edge job takes the time to prepare and ship a device both ways, plus copying onto it
# at your site and again into S3 at AWS. AWS publishes no shipping times: the phases below are
# this course's assumptions.

# %%
print(DEFAULT_PHASES)
print(fact("snowball.storage_optimized_capacity_tb"))
print(fact("snowball.availability"))

# %% [markdown]
# The calculator puts both side by side. 50 TB over a 1 Gbit/s link at 80 %: under a week over
# the network. Over a 100 Mbit/s link the same data takes two months, and a device wins.

# %%
for size_tb, mbps in [(50, 1_000), (50, 100), (400, 100), (400, 10_000)]:
    print(f"{mbps:>6,} Mbit/s:", estimate(size_tb * TB, mbps * 1e6, utilisation=0.8).text())

# %% [markdown]
# A job's state follows the lab clock through AWS's `JobState` values. moto has no Snowball, so
# the course keeps jobs in plain Python with boto3's call names. A job goes **into** S3
# (`IMPORT`) or **out of** it (`EXPORT`): there is no Region-to-Region job.

# %%
snowball = SnowballJobs(lambda: lab.clock.timestamp)
s3.create_bucket(Bucket="shop-archive")
job = snowball.create_job(
    JobType="IMPORT",
    Resources={"S3Resources": [{"BucketArn": "arn:aws:s3:::shop-archive"}]},
    SnowballType="V3_5S",
    DataSizeBytes=80 * TB,
)["JobId"]
for day in range(0, 13, 2):
    state = snowball.describe_job(JobId=job)["JobMetadata"]["JobState"]
    print(f"day {day:>2}: {state}")
    lab.clock.advance(2 * 86_400)
try:
    snowball.create_job(JobType="REGION_TO_REGION", Resources={})
except SnowballError as error:
    print("refused:", error)

# %% [markdown]
# The seed also says an import cannot go straight into Glacier and that a lifecycle rule moves
# the objects there afterwards. The course found no current AWS page that states the first half,
# so it does not teach it as a rule; the second half is how an archive is made from an import:
# a lifecycle rule on the bucket whose transition to a Glacier storage class may take effect
# after as few days as the fact table says:

# %%
print(fact("s3.lifecycle_glacier_transition_min_days"))

# %% [markdown]
# The sandbox view lists what the lab holds and follows it after every cell: for now, one
# bucket (moto has no Snowball, so the job is kept beside the sandbox, not in it). Come back to
# it at the end: it then lists everything this lesson made, and its "◀ earlier" button steps
# back to this moment.

# %%
lab.view()

# %% [markdown]
# ## 2. DataSync: a share kept in step with S3
#
# DataSync copies between an on-premises share (NFS or SMB, through an agent), S3, EFS and FSx.
# In the sandbox the share is a folder on this machine. A **task** joins two locations; each run
# is an **execution** whose report says what moved and what was skipped as unchanged. With a
# **schedule** the task runs on its own; the seed's "every 24h" is one schedule among many
# (the shortest interval is an hour).

# %%
print(fact("datasync.transfer_mode_default"))
print(fact("datasync.schedule_min_interval"))

# %%
share = Path(tempfile.mkdtemp(prefix="office-share-"))
for i in range(20):
    (share / f"invoice-{i:02d}.pdf").write_bytes(b"%PDF" + bytes([i]) * 500)
s3.create_bucket(Bucket="office-mirror")
datasync = lab.client("datasync")
agents = ["arn:aws:datasync:us-east-1:123456789012:agent/agent-0b0addbeef44baca3"]
source = datasync.create_location_nfs(
    ServerHostname="nas.office.example", Subdirectory=str(share), OnPremConfig={"AgentArns": agents}
)["LocationArn"]
target = datasync.create_location_s3(
    S3BucketArn="arn:aws:s3:::office-mirror",
    S3Config={"BucketAccessRoleArn": "arn:aws:iam::123456789012:role/datasync"},
)["LocationArn"]
nightly = datasync.create_task(
    SourceLocationArn=source,
    DestinationLocationArn=target,
    Name="office-nightly",
    Schedule={"ScheduleExpression": "rate(24 hours)"},
)["TaskArn"]
_ = lab.clock.advance(86_400)  # the first night: everything is new

# %% [markdown]
# During the next day two invoices are corrected. The second night moves those two and skips
# the eighteen others: the view shows both nights.

# %%
for name in ("invoice-03.pdf", "invoice-11.pdf"):
    (share / name).write_bytes(b"%PDF corrected")
    os.utime(share / name, (lab.clock.timestamp, lab.clock.timestamp))
lab.clock.advance(86_400)
lab.sync_view("office-nightly")

# %% [markdown]
# ## 3. DMS: copy a table, then keep it in step until the cut-over
#
# The seed says "datasync: for synchronisation, dms: for migration". Both halves need
# correcting: DataSync moves **files and objects** (once or on a schedule), DMS moves **database
# rows**, and not only once: a `full-load-and-cdc` task copies the tables, then applies every
# change (change data capture) until you stop it at the cut-over.

# %%
print(fact("dms.role"))
print(fact("dms.sct_role"))

# %% [markdown]
# The seed's "transfer data between s3 and kinesis" is not DMS's job either: Kinesis Data Streams
# is only ever a DMS **target**, and streams go into S3 with Amazon Data Firehose.

# %%
print(fact("dms.s3_and_kinesis"))

# %% [markdown]
# The shop's orders live in RDS for PostgreSQL (the real engine, as in the databases lab). A
# task copies `public.orders` to S3 as CSV, then the shop keeps writing.

# %%
db = lab.client("rds").create_db_instance(
    DBInstanceIdentifier="shop-db",
    Engine="postgres",
    DBInstanceClass="db.t3.micro",
    AllocatedStorage=20,
    MasterUsername="shopadmin",
    MasterUserPassword="correct-horse-1",
    DBName="shop",
)["DBInstance"]["Endpoint"]
conn = pg8000.connect(
    host=db["Address"],
    port=db["Port"],
    user="shopadmin",
    password="correct-horse-1",
    database="shop",
)
conn.autocommit = True
cur = conn.cursor()
cur.execute("CREATE TABLE orders (id int PRIMARY KEY, item text, qty int)")
cur.execute("INSERT INTO orders SELECT g, 'item-' || g, 1 FROM generate_series(1, 500) g")

dms = lab.client("dms")
s3.create_bucket(Bucket="shop-lake")
instance = dms.create_replication_instance(
    ReplicationInstanceIdentifier="migration", ReplicationInstanceClass="dms.t3.medium"
)["ReplicationInstance"]["ReplicationInstanceArn"]
from_db = dms.create_endpoint(
    EndpointIdentifier="shop-postgres",
    EndpointType="source",
    EngineName="postgres",
    ServerName=db["Address"],
    Port=db["Port"],
    Username="shopadmin",
    Password="correct-horse-1",
    DatabaseName="shop",
)["Endpoint"]["EndpointArn"]
to_s3 = dms.create_endpoint(
    EndpointIdentifier="shop-lake",
    EndpointType="target",
    EngineName="s3",
    S3Settings={"BucketName": "shop-lake", "BucketFolder": "raw"},
)["Endpoint"]["EndpointArn"]
orders_only = {
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
    ReplicationTaskIdentifier="orders-to-lake",
    SourceEndpointArn=from_db,
    TargetEndpointArn=to_s3,
    ReplicationInstanceArn=instance,
    MigrationType="full-load-and-cdc",
    TableMappings=json.dumps(orders_only),
)["ReplicationTask"]["ReplicationTaskArn"]
_ = dms.start_replication_task(
    ReplicationTaskArn=task, StartReplicationTaskType="start-replication"
)

# %% [markdown]
# The full load has run. Now the shop takes a new order, changes one and cancels another. An S3
# target writes a file of changes every `CdcMaxBatchInterval`, so for a while the changes wait:
# the view shows them as replication lag.

# %%
cur.execute("INSERT INTO orders VALUES (501, 'item-501', 2)")
cur.execute("UPDATE orders SET qty = 5 WHERE id = 7")
cur.execute("DELETE FROM orders WHERE id = 9")
lab.clock.advance(30)
lab.dms_view("orders-to-lake")

# %% [markdown]
# A minute after the changes they are in S3, in a CDC file with the operation of each row
# (`I`nsert, `U`pdate, `D`elete) in its first column. Stopping the task is the cut-over.

# %%
lab.clock.advance(30)
for item in s3.list_objects_v2(Bucket="shop-lake", Prefix="raw/public/orders/")["Contents"]:
    print(item["Key"], item["Size"], "bytes")
cdc = [
    o["Key"] for o in s3.list_objects_v2(Bucket="shop-lake")["Contents"] if "LOAD" not in o["Key"]
]
print(s3.get_object(Bucket="shop-lake", Key=cdc[0])["Body"].read().decode())
lab.dms_view("orders-to-lake")

# %% [markdown]
# ## 4. Transfer Family: an SFTP drop zone backed by S3
#
# Partners upload over SFTP; the files land in S3. The server below really speaks SFTP, at the
# endpoint name AWS gives it, port 22. A service-managed user signs in with an SSH key, and
# Transfer Family assumes the user's **role** for every S3 call.

# %%
print(fact("transfer.service_managed_auth"))
print(fact("transfer.logical_chroot"))

# %%
s3.create_bucket(Bucket="partner-drop")
iam = lab.client("iam")
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
bucket_access = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::partner-drop"},
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": "arn:aws:s3:::partner-drop/*",
        },
    ],
}
role = iam.create_role(RoleName="sftp-partners", AssumeRolePolicyDocument=json.dumps(trust))
iam.put_role_policy(
    RoleName="sftp-partners", PolicyName="drop", PolicyDocument=json.dumps(bucket_access)
)
transfer = lab.client("transfer")
server = transfer.create_server(Protocols=["SFTP"])["ServerId"]
key = paramiko.ECDSAKey.generate()
_ = transfer.create_user(
    ServerId=server,
    UserName="ana",
    Role=role["Role"]["Arn"],
    HomeDirectoryType="LOGICAL",
    HomeDirectoryMappings=[{"Entry": "/", "Target": "/partner-drop/ana"}],
    SshPublicKeyBody=f"{key.get_name()} {key.get_base64()} ana@partner.example",
)

# %% [markdown]
# Ana connects with paramiko, an ordinary SFTP client, to the server's AWS host name. Her `/` is
# her folder: `..` cannot climb above it, so `/report.csv` lands in `s3://partner-drop/ana/`.

# %%
host, port = lab.sftp_endpoint(server)
print(host, port)
ssh = paramiko.SSHClient()
ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())
ssh.connect(host, port, username="ana", pkey=key, allow_agent=False, look_for_keys=False)
sftp = ssh.open_sftp()
sftp.putfo(io.BytesIO(b"order,total\n1,42\n"), "report.csv")
print("ana lists ../..:", sftp.listdir("../.."))
ssh.close()
print([o["Key"] for o in s3.list_objects_v2(Bucket="partner-drop")["Contents"]])

# %% [markdown]
# A key the server was never given is refused before anything reaches S3. The view lists every
# sign-in and operation, and where each path landed.

# %%
stranger = paramiko.SSHClient()
stranger.set_missing_host_key_policy(paramiko.AutoAddPolicy())
try:
    stranger.connect(
        host,
        port,
        username="ana",
        pkey=paramiko.ECDSAKey.generate(),
        allow_agent=False,
        look_for_keys=False,
    )
except paramiko.AuthenticationException as error:
    print("refused:", error)
finally:
    stranger.close()
lab.transfer_view(server)

# %% [markdown]
# FTP and FTPS are Transfer Family protocols too, but never on a public endpoint and never with
# service-managed users: the sandbox refuses what AWS refuses.

# %%
print(fact("transfer.ftp_endpoint_type"))
try:
    transfer.create_server(Protocols=["FTP"])
except transfer.exceptions.InvalidRequestException as error:
    print("refused:", error.response["Error"]["Message"])

# %% [markdown]
# ## 5. FSx for Lustre linked to S3, and which FSx for what
#
# The seed says Lustre is for "high performance only". It is for high performance, and it is
# cheap to point at S3: a file system linked to a bucket lists every object at once (metadata
# only) and loads a file's data on its **first read**; files changed on the file system go back
# to S3 with an **export** task. Throughput grows with storage: a **scratch** file system
# (temporary, its data not replicated) gives a fixed figure per TiB; a **persistent** one
# (replicated within its Availability Zone) lets you choose it.

# %%
print(fact("fsx.lustre_lazy_load"))
print(fact("fsx.lustre_scratch_throughput_per_tib"))
print(fact("fsx.lustre_persistent_2_throughput_per_tib"))

# %%
s3.create_bucket(Bucket="genomes")
for i in range(4):
    s3.put_object(Bucket="genomes", Key=f"runs/sample-{i}.fastq", Body=b"ACGT" * 2_000)
fsx = lab.client("fsx")
lustre = fsx.create_file_system(
    FileSystemType="LUSTRE",
    StorageCapacity=1200,
    SubnetIds=["subnet-0123456789abcdef0"],
    LustreConfiguration={"DeploymentType": "SCRATCH_2", "ImportPath": "s3://genomes/runs"},
)["FileSystem"]["FileSystemId"]
files = mount(lustre)
print(files.listdir("/"))
print(len(files.read_bytes("sample-1.fastq")), "bytes read: loaded from S3 on first access")
files.write_bytes("sample-1-aligned.bam", b"BAM" * 100)
exported = fsx.create_data_repository_task(
    FileSystemId=lustre, Type="EXPORT_TO_REPOSITORY", Report={"Enabled": False}
)["DataRepositoryTask"]
print(exported["Lifecycle"], exported["Status"]["SucceededCount"], "file(s) exported")

# %% [markdown]
# One file was read: it and the new file are on the file system, the three others are still
# metadata only (listed, their data in S3); the new file went back to S3 by the export.

# %%
lab.fsx_view(lustre)

# %% [markdown]
# Lustre is one of four FSx file systems. Each serves other clients; the choice is by protocol
# and by the software the workload came from (each row's source is the service's own guide):

# %%
for key in ("fsx.lustre_use", "fsx.windows_use", "fsx.ontap_use", "fsx.openzfs_use"):
    f = fact(key)
    print(f"{f.title.removeprefix('What ').removesuffix(' is for'):<32} {f.value}")
    print(f"{'':<32} {f.source}")

# %% [markdown]
# ## Summary
#
# - **Network or Snowball** is arithmetic: bytes x 8 over bits per second times the share of the
#   link you get, against a job's shipping both ways plus copying twice. Snowball Edge moves data
#   into or out of S3, never between Regions, and is no longer offered to new customers.
# - **DataSync** moves files and objects, once or on a schedule; `TransferMode` CHANGED moves
#   only what differs, and each execution's report says what was skipped as unchanged.
# - **DMS** moves database rows: `full-load-and-cdc` copies, then replicates every insert,
#   update and delete until the cut-over. It is not for streams: Kinesis is only a DMS target.
# - **Transfer Family** puts SFTP (and FTPS, FTP inside a VPC) in front of S3; a logical home
#   directory is what fences each user into their own folder, and the role decides what they may
#   do there.
# - **FSx for Lustre** links to S3 and loads lazily; Windows File Server, NetApp ONTAP and
#   OpenZFS serve SMB, multi-protocol and NFS workloads.
