# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: containers
#     role: exercise
# ---

# %%
# The setup and helpers every sample shares (tests/grading_support.py puts them here).
# sample-include: parts/setup.py

# %% [markdown]
# Correct, unlike the solution: three tasks, sizes written "0.25 vCPU"/"0.5 GB", the health
# path set after creating the target group and a listener on port 8080; exact-capacity steps;
# a managed policy on object latest.csv, roles returned by name; an access point with
# encryption in transit and a read-only reader; App Runner on its default port; the job's task
# definition returned by family.


# %%
def deploy_web(aws, image, network):
    ecs, elb = aws.client("ecs"), aws.client("elbv2")
    lb = elb.create_load_balancer(
        Name="front", Subnets=network["subnets"], Scheme="internet-facing"
    )
    lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elb.create_target_group(
        Name="api", Protocol="HTTP", Port=8080, VpcId=network["vpc_id"], TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.modify_target_group(TargetGroupArn=tg, HealthCheckPath="/health")
    elb.create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTP",
        Port=8080,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )
    cluster = ecs.create_cluster(clusterName="front")["cluster"]["clusterArn"]
    ecs.register_task_definition(
        family="api",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="0.25 vCPU",
        memory="0.5 GB",
        executionRoleArn=exec_role(aws.client("iam")),
        containerDefinitions=[
            {
                "name": "api",
                "image": image,
                "portMappings": [{"containerPort": 8080, "hostPort": 8080}],
            }
        ],
    )
    ecs.create_service(
        cluster=cluster,
        serviceName="api",
        taskDefinition="api",
        desiredCount=3,
        launchType="FARGATE",
        networkConfiguration=vpc_config(network),
        loadBalancers=[{"targetGroupArn": tg, "containerName": "api", "containerPort": 8080}],
    )


def scale_workers(aws, cluster, service, queue_url):
    aas, cw = aws.client("application-autoscaling"), aws.client("cloudwatch")
    target = {
        "ServiceNamespace": "ecs",
        "ResourceId": f"service/{cluster}/{service}",
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    aas.register_scalable_target(MinCapacity=1, MaxCapacity=4, **target)
    queue = aws.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    name = queue["Attributes"]["QueueArn"].rsplit(":", 1)[-1]
    for label, capacity, op in (
        ("busy", 4, "GreaterThanOrEqualToThreshold"),
        ("idle", 1, "LessThanThreshold"),
    ):
        arn = aas.put_scaling_policy(
            PolicyName=label,
            PolicyType="StepScaling",
            **target,
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ExactCapacity",
                "StepAdjustments": [
                    {"MetricIntervalLowerBound": 0, "ScalingAdjustment": capacity}
                    if label == "busy"
                    else {"MetricIntervalUpperBound": 0, "ScalingAdjustment": capacity}
                ],
            },
        )["PolicyARN"]
        cw.put_metric_alarm(
            AlarmName=f"orders-{label}",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": name}],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=2,
            Threshold=100 if label == "busy" else 1,
            ComparisonOperator=op,
            AlarmActions=[arn],
        )


def reader_roles(aws, bucket):
    iam = aws.client("iam")
    exec_role(iam)
    managed = iam.create_policy(
        PolicyName="reports-read",
        PolicyDocument=json.dumps(
            policy(
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{bucket}/latest.csv"],
                },
                {
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket"],
                    "Resource": [f"arn:aws:s3:::{bucket}"],
                },
            )
        ),
    )["Policy"]["Arn"]
    iam.create_role(RoleName="reports-app", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="reports-app", PolicyArn=managed)
    return ("reports-app", "exec")


def share_notes(aws, cluster, file_system_id, writer_image, reader_image, network):
    point = aws.client("efs").create_access_point(
        FileSystemId=file_system_id, RootDirectory={"Path": "/team"}, ClientToken="notes"
    )["AccessPointId"]
    volume = {
        "name": "shared",
        "efsVolumeConfiguration": {
            "fileSystemId": file_system_id,
            "transitEncryption": "ENABLED",
            "authorizationConfig": {"accessPointId": point, "iam": "DISABLED"},
        },
    }
    fargate_service(
        aws,
        cluster,
        "writer",
        writer_image,
        network,
        volumes=[volume],
        mounts=[{"sourceVolume": "shared", "containerPath": EFS}],
    )
    fargate_service(
        aws,
        cluster,
        "reader",
        reader_image,
        network,
        volumes=[volume],
        mounts=[{"sourceVolume": "shared", "containerPath": EFS, "readOnly": True}],
    )


def deploy_api(apprunner, image):
    return apprunner.create_service(
        ServiceName="products",
        SourceConfiguration={
            "ImageRepository": {"ImageIdentifier": image, "ImageRepositoryType": "ECR"}
        },
    )["Service"]["ServiceArn"]


def deploy_index_job(aws, image, network):
    fargate_job(aws, image, "1 vCPU", "2 GB")
    return "index-job"
