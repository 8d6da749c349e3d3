# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Containers: ECS on Fargate, load balancing, scaling, task roles, EFS and App Runner
#
# Lambda runs a function for at most 15 minutes. Much of a shop's software is not like that:
# a web API that keeps connections open, workers that wait on a queue all day, a job that
# works for half an hour. Those run as **containers**. On AWS, **Amazon ECS** runs them, on
# servers you manage (the **EC2** launch type) or on **Fargate**, where each task gets its own
# right-sized slice of a server and you pay for it per second. **App Runner** goes one step
# further: give it an image, get an HTTPS URL.
#
# In the sandbox there is no Docker: an **image** is a Python callable (a WSGI web app, or a
# command) pushed to a sandbox ECR repository, and a task runs it in the notebook on the lab
# clock. Everything around it (task definitions, services, the load balancer, roles, scaling,
# EFS) is the real API. You will see:
#
# 1. an image, a task definition and a task, with its **execution role**;
# 2. a **service** behind an **Application Load Balancer**, and a task that crashes;
# 3. **auto scaling** a worker service on a queue's backlog, and EC2 instances that scale with
#    the tasks (**capacity providers**);
# 4. the **task role**: what the app's own calls may do;
# 5. **EFS** shared by tasks (and why S3 is not a mount);
# 6. **App Runner**, and **Lambda or Fargate** for a long job.

# %%
import json

import requests

import labkit
from labkit.facts import fact
from labkit.labs import containers_apps as apps
from labkit.labs.containers_support import execution_role, make_network, push
from labkit.services.ecs.sim_fargate import fargate_size, task_cost

lab = labkit.start("containers")
ecs = lab.client("ecs")
elb = lab.client("elbv2")
network = make_network(lab)
print(network)

# %% [markdown]
# ## 1. An image, a task definition, a task
#
# The product API is a WSGI app: `GET /products` lists products, `GET /health` says ok. Pushing
# it to ECR gives an image URI, which a **task definition** names. On Fargate a task definition
# asks for a task size from Fargate's table (`cpu` 256 is a quarter vCPU, with 512 MiB to
# 2 GiB of memory) and uses `awsvpc` networking: each task gets its own network interface in
# your subnets. The **execution role** is what ECS itself uses to pull the image and send the
# logs: without it, the task never starts.

# %%
image = push(lab, apps.shop_api, "shop-api")
print(image)
print(fact("fargate.cpu_memory_combinations"))

ecs.create_cluster(clusterName="shop")
definition = ecs.register_task_definition(
    family="shop-api",
    requiresCompatibilities=["FARGATE"],
    networkMode="awsvpc",
    cpu="256",
    memory="512",
    executionRoleArn=execution_role(lab),
    containerDefinitions=[
        {"name": "api", "image": image, "portMappings": [{"containerPort": apps.APP_PORT}]}
    ],
)["taskDefinition"]["taskDefinitionArn"]
awsvpc = {
    "awsvpcConfiguration": {
        "subnets": network["subnets"],
        "securityGroups": [network["security_group"]],
    }
}

# %% [markdown]
# A size that is not in Fargate's table is refused, with AWS's message:

# %%
try:
    ecs.register_task_definition(
        family="too-big",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="4096",
        containerDefinitions=[{"name": "api", "image": image}],
    )
except ecs.exceptions.ClientException as refused:
    print(refused.response["Error"]["Message"])

# %% [markdown]
# ## 2. A service behind a load balancer
#
# A **service** keeps a number of tasks running: when one stops, the scheduler starts another.
# An **Application Load Balancer** spreads requests over the tasks through a **target group**:
# tasks on Fargate are registered by their IP address (`TargetType="ip"`), and the target
# group's **health check** (`HealthCheckPath`) decides which ones get traffic. The load
# balancer's DNS name really answers in the sandbox.

# %%
balancer = elb.create_load_balancer(
    Name="shop", Subnets=network["subnets"], SecurityGroups=[network["security_group"]]
)["LoadBalancers"][0]
group = elb.create_target_group(
    Name="shop-api",
    Protocol="HTTP",
    Port=apps.APP_PORT,
    VpcId=network["vpc_id"],
    TargetType="ip",
    HealthCheckPath=apps.HEALTH_PATH,
)["TargetGroups"][0]["TargetGroupArn"]
elb.create_listener(
    LoadBalancerArn=balancer["LoadBalancerArn"],
    Protocol="HTTP",
    Port=80,
    DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
)
ecs.create_service(
    cluster="shop",
    serviceName="shop-api",
    taskDefinition=definition,
    desiredCount=2,
    launchType="FARGATE",
    networkConfiguration=awsvpc,
    loadBalancers=[{"targetGroupArn": group, "containerName": "api", "containerPort": 8080}],
)
url = f"http://{balancer['DNSName']}/products"
lab.clock.advance(60)  # two rounds of health checks
for _ in range(2):
    print(requests.get(url, timeout=5).json())

# %% [markdown]
# Now one task crashes (its process exits, as a bug would end it). The request it was
# answering is lost (502); the other task answers everything after it, and the scheduler
# starts a replacement. With **one** task, nothing would be left to answer.

# %%
apps.CRASH.add("next")
codes = [requests.get(url, timeout=5).status_code for _ in range(6)]
lab.clock.advance(30)
print(codes)
service = ecs.describe_services(cluster="shop", services=["shop-api"])["services"][0]
for event in service["events"][:3]:
    print(event["message"])

# %% [markdown]
# The **cluster view** shows the tasks and their state, the targets and their health, and
# scaling over lab time; it tells states apart by words and symbols. This one is **held** at
# this moment: the crashed task stopped (its exit code and AWS's reason), its replacement and
# the other task running.

# %%
lab.cluster_view("shop", hold=True)

# %% [markdown]
# ## 3. Workers that scale on the backlog
#
# Order workers wait on a queue; their CPU is low whether ten orders wait or ten thousand. So
# they scale on the **backlog**: a CloudWatch alarm on the queue's
# `ApproximateNumberOfMessagesVisible` runs a **step scaling** policy of Application Auto
# Scaling, which changes the service's desired count. A second alarm, for an empty queue,
# scales back in. (Target tracking on CPU suits web services whose requests use CPU; it
# waits for three minutes above the target before scaling out:
# `ecs.autoscaling_scale_out_minutes`.)

# %%
worker = ecs.register_task_definition(
    family="worker",
    requiresCompatibilities=["FARGATE"],
    networkMode="awsvpc",
    cpu="256",
    memory="512",
    executionRoleArn=execution_role(lab),
    containerDefinitions=[{"name": "worker", "image": push(lab, apps.queue_worker, "worker")}],
)["taskDefinition"]["taskDefinitionArn"]
ecs.create_service(
    cluster="shop",
    serviceName="worker",
    taskDefinition=worker,
    desiredCount=1,
    launchType="FARGATE",
    networkConfiguration=awsvpc,
)
sqs = lab.client("sqs")
queue = sqs.create_queue(QueueName="orders")["QueueUrl"]
scaling = lab.client("application-autoscaling")
target = {
    "ServiceNamespace": "ecs",
    "ResourceId": "service/shop/worker",
    "ScalableDimension": "ecs:service:DesiredCount",
}
scaling.register_scalable_target(MinCapacity=1, MaxCapacity=4, **target)
out = scaling.put_scaling_policy(
    PolicyName="backlog-out",
    PolicyType="StepScaling",
    StepScalingPolicyConfiguration={
        "AdjustmentType": "ChangeInCapacity",
        "Cooldown": 60,
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    },
    **target,
)["PolicyARN"]
lab.client("cloudwatch").put_metric_alarm(
    AlarmName="orders-backlog",
    Namespace="AWS/SQS",
    MetricName="ApproximateNumberOfMessagesVisible",
    Dimensions=[{"Name": "QueueName", "Value": "orders"}],
    Statistic="Average",
    Period=60,
    EvaluationPeriods=1,
    Threshold=20,
    ComparisonOperator="GreaterThanThreshold",
    AlarmActions=[out],
)
for start in range(0, 100, 10):
    sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": str(i), "MessageBody": f"order {start + i}"} for i in range(10)],
    )
for _ in range(3):
    lab.clock.advance(60)
    print(ecs.describe_services(cluster="shop", services=["worker"])["services"][0]["desiredCount"])

# %% [markdown]
# A **live** cluster view follows the lab: after each cell it reads the cluster again (its
# step control goes back to earlier states). Here it lists the scaling changes the alarm made;
# the tasks the next sections run appear in it as they start.

# %%
cluster = lab.cluster_view("shop")
cluster

# %% [markdown]
# ### EC2 instances that scale with the tasks: capacity providers
#
# On the **EC2** launch type the tasks need instances, and someone has to scale those. A
# **capacity provider** ties an Auto Scaling group to the cluster: a task that finds no room
# does not fail but waits in `PROVISIONING`; with **managed scaling** ECS publishes the
# `CapacityProviderReservation` metric (instances needed over instances running, x 100) and
# scales the group toward `targetCapacity`. New instances boot, register with the cluster and
# take the waiting tasks. Empty instances go only after a quarter of an hour below the target
# (`ecs_capacity.scale_in_minutes`), and **managed termination protection** keeps every
# instance that still runs a task (the group must protect new instances from scale in).

# %%
ec2 = lab.client("ec2")
autoscaling = lab.client("autoscaling")
ec2.create_launch_template(
    LaunchTemplateName="ecs-nodes",
    LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.medium"},  # 2 vCPUs
)
autoscaling.create_auto_scaling_group(
    AutoScalingGroupName="nodes",
    LaunchTemplate={"LaunchTemplateName": "ecs-nodes"},
    MinSize=0,
    MaxSize=6,
    DesiredCapacity=0,
    VPCZoneIdentifier=",".join(network["subnets"]),
    NewInstancesProtectedFromScaleIn=True,
)
group_arn = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["nodes"])[
    "AutoScalingGroups"
][0]["AutoScalingGroupARN"]
ecs.create_cluster(clusterName="nodes")
ecs.create_capacity_provider(
    name="nodes",
    autoScalingGroupProvider={
        "autoScalingGroupArn": group_arn,
        "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
        "managedTerminationProtection": "ENABLED",
    },
)
ecs.put_cluster_capacity_providers(
    cluster="nodes",
    capacityProviders=["nodes"],
    defaultCapacityProviderStrategy=[{"capacityProvider": "nodes", "weight": 1}],
)
batch = ecs.register_task_definition(
    family="batch",
    containerDefinitions=[{"name": "batch", "image": image, "cpu": 1024, "memory": 512}],
)["taskDefinition"]["taskDefinitionArn"]


def nodes() -> str:
    """The group's size and the tasks' states, in one line."""
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["nodes"])
    arns = ecs.list_tasks(cluster="nodes")["taskArns"]
    states = [t["lastStatus"] for t in ecs.describe_tasks(cluster="nodes", tasks=arns)["tasks"]]
    size = group["AutoScalingGroups"][0]["DesiredCapacity"]
    return f"{lab.clock.now:%H:%M} group desired capacity {size}; tasks {sorted(states)}"


started = ecs.run_task(cluster="nodes", taskDefinition=batch, count=4)["tasks"]  # no launch type
print(nodes())
lab.clock.advance(60)  # managed scaling's first look: 200 % (no instance yet)
print(nodes())
lab.clock.advance(60)  # the instances have booted and registered: the tasks are placed
print(nodes())
ecs.stop_task(cluster="nodes", task=started[0]["taskArn"])
ecs.stop_task(cluster="nodes", task=started[1]["taskArn"])
print(fact("ecs_capacity.scale_in_minutes"))
lab.clock.advance(20 * 60)
print(nodes())

# %% [markdown]
# The cluster view shows the provider's group, its instances (which provider launched each),
# the tasks and every scaling change with the reservation that caused it.

# %%
lab.cluster_view("nodes", hold=True)

# %% [markdown]
# ## 4. The task role: what the app may do
#
# Code in a container calls AWS with the **task role**'s credentials (`taskRoleArn`): ECS
# hands them to the container, and `boto3.client("s3")` in the app uses them. The execution
# role is ECS's, not the app's. Here the report reader runs with a task role that may read
# one bucket; its attempt to write is refused by the policy engine.

# %%
s3 = lab.client("s3")
s3.create_bucket(Bucket="shop-reports")
s3.put_object(Bucket="shop-reports", Key="latest.csv", Body=b"day,total\n1,100\n")
iam = lab.client("iam")
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
reader_role = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(TRUST))
iam.put_role_policy(
    RoleName="reader",
    PolicyName="read",
    PolicyDocument=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": "arn:aws:s3:::shop-reports",
                },
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::shop-reports/*",
                },
            ],
        }
    ),
)
reader = ecs.register_task_definition(
    family="reader",
    requiresCompatibilities=["FARGATE"],
    networkMode="awsvpc",
    cpu="256",
    memory="512",
    executionRoleArn=execution_role(lab),
    taskRoleArn=reader_role["Role"]["Arn"],
    containerDefinitions=[
        {
            "name": "reader",
            "image": push(lab, apps.report_reader, "reader"),
            "environment": [
                {"name": "REPORTS_BUCKET", "value": "shop-reports"},
                {"name": "OTHER_BUCKET", "value": "shop-reports"},
            ],
        }
    ],
)["taskDefinition"]["taskDefinitionArn"]
ecs.run_task(
    cluster="shop", taskDefinition=reader, launchType="FARGATE", networkConfiguration=awsvpc
)
for _task, what in apps.SEEN["report_reader"]:
    print(what)

# %% [markdown]
# ## 5. EFS: a folder tasks share
#
# A task's own disk is gone when it stops, and no other task sees it. An **EFS** file system
# is a network file system that tasks mount: a task definition's `volumes` names it
# (`efsVolumeConfiguration`) and each container's `mountPoints` say where it appears. Two
# tasks mounting it see each other's files. **A bucket is not a volume**: S3 is an API of
# objects (`get_object`, `put_object`). (AWS's newer **S3 Files** puts a file system in front
# of a bucket, and ECS can mount that file system with `s3filesVolumeConfiguration`; it is a
# separate resource, not the bucket, and the sandbox does not simulate it.)

# %%
efs = lab.client("efs")
fs = efs.create_file_system(CreationToken="notes")["FileSystemId"]
for subnet in network["subnets"]:
    efs.create_mount_target(FileSystemId=fs, SubnetId=subnet)
for name, app in (("note-writer", apps.note_writer), ("note-reader", apps.note_reader)):
    family = ecs.register_task_definition(
        family=name,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn=execution_role(lab),
        volumes=[{"name": "notes", "efsVolumeConfiguration": {"fileSystemId": fs}}],
        containerDefinitions=[
            {
                "name": name,
                "image": push(lab, app, name),
                "mountPoints": [{"sourceVolume": "notes", "containerPath": apps.SHARED_PATH}],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.run_task(
        cluster="shop", taskDefinition=family, launchType="FARGATE", networkConfiguration=awsvpc
    )
lab.clock.advance(60)
print(apps.SEEN["note_writer"][-1][1], "|", apps.SEEN["note_reader"][-1][1])

# %% [markdown]
# ## 6. App Runner, and Lambda or Fargate for a long job
#
# **App Runner** builds the load balancer, the scaling and the HTTPS certificate for you: give
# it the image and the port the app listens on, get a URL. It scales by concurrent requests
# per instance (`apprunner.default_max_concurrency` by default).

# %%
runner = lab.client("apprunner")
api = runner.create_service(
    ServiceName="shop-api",
    SourceConfiguration={
        "ImageRepository": {
            "ImageIdentifier": image,
            "ImageRepositoryType": "ECR",
            "ImageConfiguration": {"Port": str(apps.APP_PORT)},
        }
    },
)["Service"]
print(api["ServiceUrl"], requests.get(f"https://{api['ServiceUrl']}/products", timeout=5).json())
print(fact("apprunner.default_max_concurrency"))

# %% [markdown]
# A job that works for 20 minutes cannot run on Lambda: an invocation stops at its timeout,
# at most `lambda.timeout_max`. On Fargate it runs until it exits, billed per second for the
# size it asked for (with a one-minute minimum). Here is what one hourly run of 20 minutes
# costs a month at two sizes:

# %%
print(fact("lambda.timeout_max"))
for cpu, memory in (("1024", "2048"), ("4096", "8192")):
    size = fargate_size(cpu, memory)
    monthly = 24 * 30 * task_cost(size, 20 * 60)
    print(f"{size.vcpu:g} vCPU, {size.memory_gb:g} GB: ${monthly:.2f} a month")
print(fact("fargate.price_per_vcpu_hour"))

# %% [markdown]
# ## Summary
#
# - An image, a task definition (size, networking, roles) and a task or a service: Fargate
#   takes sizes from its table and bills them per second.
# - A service behind an Application Load Balancer keeps answering through a crash only with
#   more than one task; the target group's health check must use the app's real health path.
# - Queue workers scale on the queue's backlog (a CloudWatch alarm driving step scaling), not
#   on CPU.
# - On EC2, a capacity provider scales the instances: tasks wait in `PROVISIONING`, the
#   `CapacityProviderReservation` metric grows the group, and empty instances go after 15
#   minutes (managed termination protection keeps the busy ones).
# - The task role is what the app's own calls may do; the execution role is ECS's (pull,
#   logs, secrets).
# - EFS is a folder tasks share; a bucket is an API of objects, not a mount.
# - App Runner runs an image behind an HTTPS URL with less to build; Lambda stops at 15
#   minutes, so long jobs run as Fargate tasks.
