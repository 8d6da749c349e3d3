# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Containers exercise: the shop on ECS, Fargate and App Runner
#
# The shop's product API, its order workers, its report reader and its search index job are
# container images now. You run the API on **Fargate behind a load balancer** so that a crash
# goes unnoticed, make the workers **scale on the queue's backlog**, give the report reader a
# **task role** that reads one bucket and nothing else, let two services **share files
# through EFS**, run the API on **App Runner**, and pick **Lambda or Fargate** for a
# 20-minute job.
#
# Write your code where it says `# YOUR CODE HERE` (replace the `...`), run the cell, then run
# the check below it. Each check calls your function in an empty sandbox of its own, with a lab
# clock of its own, and tells you what it found. The functions receive `aws`: anything with a
# `.client(name)` method (the check passes its sandbox; you can try yours with `lab`).

# %%
import json

import labkit
from labkit.labs.containers_support import make_network

lab = labkit.start("containers")
network = make_network(lab)  # a VPC, two subnets in two Availability Zones, a security group
print(network)

# %% [markdown]
# Every task needs an **execution role**: the role ECS itself uses to pull the image from ECR
# and send the container's output to CloudWatch Logs. This helper makes one (or finds it).

# %%
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
EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def execution_role(iam, name="shop-task-execution"):
    """The ARN of a task execution role that may pull images and write logs."""
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
        iam.attach_role_policy(RoleName=name, PolicyArn=EXECUTION_POLICY)
        return role["Role"]["Arn"]


def awsvpc(network):
    """The networkConfiguration of a Fargate task in the network's subnets."""
    return {
        "awsvpcConfiguration": {
            "subnets": network["subnets"],
            "securityGroups": [network["security_group"]],
        }
    }


# %% [markdown]
# ## Task 1: a web service that survives a crash
#
# Write `deploy_web(aws, image, network)`: run the product API `image` (it listens on port
# **8080** and answers its health check at **`/health`**) as an ECS **service on Fargate**
# behind an **Application Load Balancer** in the network's subnets, with a listener on port 80.
#
# The check calls it, waits for the health checks, then sends requests through the load
# balancer's DNS name the whole time while **one task crashes**: every request but the one the
# crashing task was answering must succeed.


# %%
def deploy_web(aws, image, network):
    """The product API on Fargate behind an Application Load Balancer."""
    ### BEGIN SOLUTION
    ecs, elb = aws.client("ecs"), aws.client("elbv2")
    balancer = elb.create_load_balancer(
        Name="shop", Subnets=network["subnets"], SecurityGroups=[network["security_group"]]
    )["LoadBalancers"][0]
    group = elb.create_target_group(
        Name="shop-api",
        Protocol="HTTP",
        Port=8080,
        VpcId=network["vpc_id"],
        TargetType="ip",  # Fargate tasks are registered by their IP address
        HealthCheckPath="/health",
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    ecs.create_cluster(clusterName="shop")
    definition = ecs.register_task_definition(
        family="shop-api",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn=execution_role(aws.client("iam")),
        containerDefinitions=[
            {
                "name": "api",
                "image": image,
                "essential": True,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="shop",
        serviceName="shop-api",
        taskDefinition=definition,
        desiredCount=2,  # one task can crash while the other answers
        launchType="FARGATE",
        networkConfiguration=awsvpc(network),
        loadBalancers=[{"targetGroupArn": group, "containerName": "api", "containerPort": 8080}],
    )
    ### END SOLUTION


# %%
lab.check("web_service")

# %% [markdown]
# ## Task 2: workers that follow the backlog
#
# The service `service` of cluster `cluster` runs the order workers (one task); orders wait in
# the queue `queue_url`. Write `scale_workers(aws, cluster, service, queue_url)` so that the
# service **scales out when orders pile up** in that queue and **back in when it is empty**.
# The workers wait on the queue, so their CPU says nothing about the backlog.
#
# The check first fills **another** queue (the service must not move), then sends 500 orders
# to yours (it must scale out within ten minutes of lab time), then drains the queue (it must
# come back to its minimum).


# %%
def scale_workers(aws, cluster, service, queue_url):
    """Step scaling on the queue's backlog, out and back in."""
    ### BEGIN SOLUTION
    scaling, cloudwatch = aws.client("application-autoscaling"), aws.client("cloudwatch")
    target = {
        "ServiceNamespace": "ecs",
        "ResourceId": f"service/{cluster}/{service}",
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    scaling.register_scalable_target(MinCapacity=1, MaxCapacity=5, **target)

    def step_policy(name, step):
        config = {"AdjustmentType": "ChangeInCapacity", "Cooldown": 60, "StepAdjustments": [step]}
        return scaling.put_scaling_policy(
            PolicyName=name,
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration=config,
            **target,
        )["PolicyARN"]

    out = step_policy("backlog-out", {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2})
    back = step_policy("backlog-in", {"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1})
    backlog = {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": queue_url.rsplit("/", 1)[-1]}],
        "Statistic": "Average",
        "Period": 60,
    }
    cloudwatch.put_metric_alarm(
        AlarmName="orders-backlog-high",
        ComparisonOperator="GreaterThanThreshold",
        Threshold=50,
        EvaluationPeriods=1,
        AlarmActions=[out],
        **backlog,
    )
    cloudwatch.put_metric_alarm(
        AlarmName="orders-backlog-empty",
        ComparisonOperator="LessThanOrEqualToThreshold",
        Threshold=0,
        EvaluationPeriods=3,
        AlarmActions=[back],
        **backlog,
    )
    ### END SOLUTION


# %%
lab.check("queue_workers")

# %% [markdown]
# ## Task 3: a task role that reads one bucket
#
# The report reader lists the bucket `bucket` and reads its `latest.csv` with
# `boto3.client("s3")`. Write `reader_roles(aws, bucket)`: create a **task role** that lets
# the app do exactly that, and an **execution role** for ECS, and return the pair
# `(task_role, execution_role)` (names or ARNs).
#
# The check runs the reader on Fargate with your roles. The app's own calls must list and read
# the bucket, and fail to read another bucket or to write to this one; and the execution role
# must not be able to do the app's work.


# %%
def reader_roles(aws, bucket):
    """(task role, execution role) for the report reader."""
    ### BEGIN SOLUTION
    iam = aws.client("iam")
    task_role = iam.create_role(
        RoleName="report-reader", AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    read_one_bucket = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
        ],
    }
    iam.put_role_policy(
        RoleName="report-reader",
        PolicyName="read-reports",
        PolicyDocument=json.dumps(read_one_bucket),
    )
    return task_role, execution_role(iam)
    ### END SOLUTION


# %%
lab.check("task_role")

# %% [markdown]
# ## Task 4: two services, one folder
#
# The note writer writes `/mnt/shared/notes.txt` every minute; the note reader reads it. Write
# `share_notes(aws, cluster, file_system_id, writer_image, reader_image, network)`: run each
# image as a **service** on Fargate in `cluster`, both mounting the EFS file system
# `file_system_id` at **`/mnt/shared`**. (A bucket is not an option: S3 is an API of objects,
# not a volume a task definition can name.)


# %%
def share_notes(aws, cluster, file_system_id, writer_image, reader_image, network):
    """The writer's and the reader's services, sharing the EFS file system."""
    ### BEGIN SOLUTION
    ecs = aws.client("ecs")
    volume = {"name": "notes", "efsVolumeConfiguration": {"fileSystemId": file_system_id}}
    for name, image in (("note-writer", writer_image), ("note-reader", reader_image)):
        definition = ecs.register_task_definition(
            family=name,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            executionRoleArn=execution_role(aws.client("iam")),
            volumes=[volume],
            containerDefinitions=[
                {
                    "name": name,
                    "image": image,
                    "essential": True,
                    "mountPoints": [{"sourceVolume": "notes", "containerPath": "/mnt/shared"}],
                }
            ],
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(
            cluster=cluster,
            serviceName=name,
            taskDefinition=definition,
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration=awsvpc(network),
        )
    ### END SOLUTION


# %%
lab.check("shared_files")

# %% [markdown]
# ## Task 5: the same API on App Runner, and Lambda or Fargate
#
# Write `deploy_api(apprunner, image)`: run the product API `image` (port 8080) as an App
# Runner service; return its URL. The check sends requests to it.


# %%
def deploy_api(apprunner, image):
    """The product API on App Runner; its URL."""
    ### BEGIN SOLUTION
    service = apprunner.create_service(
        ServiceName="shop-api",
        SourceConfiguration={
            "ImageRepository": {
                "ImageIdentifier": image,
                "ImageRepositoryType": "ECR",
                "ImageConfiguration": {"Port": "8080"},
            },
            "AutoDeploymentsEnabled": False,
        },
    )["Service"]
    return f"https://{service['ServiceUrl']}"
    ### END SOLUTION


# %%
lab.check("app_runner")

# %% [markdown]
# The search index job works for **20 minutes**, needs **1 vCPU and 2 GB**,
# and runs **every hour**; the team may spend **$20 a month** on it. Write
# `deploy_index_job(aws, image, network)`: create what should run it (a Lambda function or an
# ECS task definition) and return its name or ARN. The check runs your choice for a full job
# and prices a month of runs.


# %%
def deploy_index_job(aws, image, network):
    """What runs the 20-minute job: its name or ARN."""
    ### BEGIN SOLUTION
    # Lambda stops at 15 minutes; a Fargate task runs until the job exits, billed per second.
    return aws.client("ecs").register_task_definition(
        family="index-job",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="1024",
        memory="2048",
        executionRoleArn=execution_role(aws.client("iam")),
        containerDefinitions=[{"name": "job", "image": image, "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    ### END SOLUTION


# %%
lab.check("long_job")

# %% [markdown]
# ## Your score

# %%
lab.score()

# %% [markdown]
# ## Summary
#
# - A service behind a load balancer survives a crash only with a second task to answer: the
#   target group's health check (the app's real health path) decides who gets traffic.
# - Queue workers scale on the backlog (a CloudWatch alarm on the queue driving step
#   scaling), not on CPU, and come back in when the queue is empty.
# - The task role is what the app's calls may do; the execution role is what ECS does for it
#   (pull, logs, secrets). Least privilege: the actions the app needs on the one bucket.
# - EFS is a file system both services mount; a bucket is an API of objects.
# - App Runner runs the same image with less to build; Lambda stops at 15 minutes, so long
#   jobs run as Fargate tasks, sized to what they need because Fargate bills per second.
