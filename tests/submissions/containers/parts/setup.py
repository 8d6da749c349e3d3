# %%
import json

import labkit

lab = labkit.start("containers")
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def exec_role(iam):
    try:
        return iam.get_role(RoleName="exec")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName="exec", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        iam.attach_role_policy(
            RoleName="exec",
            PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
        )
        return arn


def vpc_config(network):
    return {
        "awsvpcConfiguration": {
            "subnets": network["subnets"],
            "securityGroups": [network["security_group"]],
        }
    }


def web(aws, image, network, *, count=2, path="/health", attach=True, launch="FARGATE"):
    ecs, elb = aws.client("ecs"), aws.client("elbv2")
    lb = elb.create_load_balancer(Name="web", Subnets=network["subnets"])["LoadBalancers"][0]
    tg = elb.create_target_group(
        Name="web",
        Protocol="HTTP",
        Port=8080,
        VpcId=network["vpc_id"],
        TargetType="ip",
        HealthCheckPath=path,
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )
    ecs.create_cluster(clusterName="web")
    td = ecs.register_task_definition(
        family="web",
        requiresCompatibilities=["FARGATE", "EC2"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn=exec_role(aws.client("iam")),
        containerDefinitions=[
            {"name": "app", "image": image, "portMappings": [{"containerPort": 8080}]}
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    extra = {}
    if attach:
        extra["loadBalancers"] = [
            {"targetGroupArn": tg, "containerName": "app", "containerPort": 8080}
        ]
    ecs.create_service(
        cluster="web",
        serviceName="web",
        taskDefinition=td,
        desiredCount=count,
        launchType=launch,
        networkConfiguration=vpc_config(network),
        **extra,
    )


def fargate_service(aws, cluster, name, image, network, *, volumes=(), mounts=()):
    ecs = aws.client("ecs")
    td = ecs.register_task_definition(
        family=name,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn=exec_role(aws.client("iam")),
        volumes=list(volumes),
        containerDefinitions=[{"name": name, "image": image, "mountPoints": list(mounts)}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=cluster,
        serviceName=name,
        taskDefinition=td,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=vpc_config(network),
    )


def step_scaling(aws, cluster, service, queue, *, high=5, scale_in=True, cpu=False):
    aas, cw = aws.client("application-autoscaling"), aws.client("cloudwatch")
    target = {
        "ServiceNamespace": "ecs",
        "ResourceId": f"service/{cluster}/{service}",
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    aas.register_scalable_target(MinCapacity=1, MaxCapacity=high, **target)
    if cpu:
        aas.put_scaling_policy(
            PolicyName="cpu",
            PolicyType="TargetTrackingScaling",
            **target,
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 60.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                },
            },
        )
        return
    metric = {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": queue}],
        "Statistic": "Average",
        "Period": 60,
    }
    for name, step, op, periods in (
        ("out", {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}, "GreaterThanThreshold", 1),
        (
            "in",
            {"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1},
            "LessThanOrEqualToThreshold",
            2,
        ),
    ):
        if name == "in" and not scale_in:
            continue
        arn = aas.put_scaling_policy(
            PolicyName=name,
            PolicyType="StepScaling",
            **target,
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity",
                "StepAdjustments": [step],
                "Cooldown": 60,
            },
        )["PolicyARN"]
        cw.put_metric_alarm(
            AlarmName=f"backlog-{name}",
            ComparisonOperator=op,
            Threshold=10 if name == "out" else 0,
            EvaluationPeriods=periods,
            AlarmActions=[arn],
            **metric,
        )


def roles_with(aws, task_policy, exec_policy_extra=None, *, task=True):
    iam = aws.client("iam")
    execution = exec_role(iam)
    if exec_policy_extra:
        iam.put_role_policy(
            RoleName="exec", PolicyName="extra", PolicyDocument=json.dumps(exec_policy_extra)
        )
    if not task:
        return None, execution
    arn = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName="reader", PolicyName="s3", PolicyDocument=json.dumps(task_policy))
    return arn, execution


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def lambda_job(aws, **extra):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return {}\n")
    iam = aws.client("iam")
    role = iam.create_role(
        RoleName="fn",
        AssumeRolePolicyDocument=json.dumps(
            policy(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            )
        ),
    )["Role"]["Arn"]
    return aws.client("lambda").create_function(
        FunctionName="index-job",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": buf.getvalue()},
        **extra,
    )["FunctionArn"]


def fargate_job(aws, image, cpu, memory, *, execution=True):
    extra = {"executionRoleArn": exec_role(aws.client("iam"))} if execution else {}
    return aws.client("ecs").register_task_definition(
        family="index-job",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu=cpu,
        memory=memory,
        containerDefinitions=[{"name": "job", "image": image}],
        **extra,
    )["taskDefinition"]["taskDefinitionArn"]


def runner(apprunner, image, port="8080", **extra):
    return apprunner.create_service(
        ServiceName="shop-api",
        SourceConfiguration={
            "ImageRepository": {
                "ImageIdentifier": image,
                "ImageRepositoryType": "ECR",
                "ImageConfiguration": {"Port": port},
            }
        },
        **extra,
    )["Service"]


EFS = "/mnt/shared"
