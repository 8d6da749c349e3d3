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
# Correct, unlike the solution: four tasks; percentage steps with a minimum adjustment; one
# statement with both actions and both resources, and an execution role with exactly the
# actions ECS needs; EFS mounted by root directory; App Runner with its own scaling
# configuration, its URL returned without a scheme; a task of 1 vCPU and 3 GB.


# %%
def deploy_web(aws, image, network):
    web(aws, image, network, count=4)


def scale_workers(aws, cluster, service, queue_url):
    aas, cw = aws.client("application-autoscaling"), aws.client("cloudwatch")
    resource = f"service/{cluster}/{service}"
    aas.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=resource,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1,
        MaxCapacity=8,
    )
    arns = {}
    for name, steps in (
        (
            "grow",
            [
                {
                    "MetricIntervalLowerBound": 0,
                    "MetricIntervalUpperBound": 200,
                    "ScalingAdjustment": 50,
                },
                {"MetricIntervalLowerBound": 200, "ScalingAdjustment": 100},
            ],
        ),
        ("shrink", [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -50}]),
    ):
        arns[name] = aas.put_scaling_policy(
            PolicyName=name,
            ServiceNamespace="ecs",
            ResourceId=resource,
            ScalableDimension="ecs:service:DesiredCount",
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "PercentChangeInCapacity",
                "MinAdjustmentMagnitude": 1,
                "StepAdjustments": steps,
                "Cooldown": 120,
            },
        )["PolicyARN"]
    common = {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": queue_url.split("/")[-1]}],
        "Statistic": "Sum",
        "Period": 60,
    }
    cw.put_metric_alarm(
        AlarmName="grow",
        ComparisonOperator="GreaterThanThreshold",
        Threshold=25,
        EvaluationPeriods=1,
        AlarmActions=[arns["grow"]],
        **common,
    )
    cw.put_metric_alarm(
        AlarmName="shrink",
        ComparisonOperator="LessThanOrEqualToThreshold",
        Threshold=0,
        EvaluationPeriods=5,
        AlarmActions=[arns["shrink"]],
        **common,
    )


def reader_roles(aws, bucket):
    iam = aws.client("iam")
    execution = iam.create_role(RoleName="ecs-exec", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="ecs-exec",
        PolicyName="pull-and-log",
        PolicyDocument=json.dumps(
            policy(
                {
                    "Effect": "Allow",
                    "Action": [
                        "ecr:GetAuthorizationToken",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                    ],
                    "Resource": "*",
                }
            )
        ),
    )
    task, _ = roles_with(
        aws,
        policy(
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ),
    )
    return [task, execution]


def share_notes(aws, cluster, file_system_id, writer_image, reader_image, network):
    volume = {
        "name": "v",
        "efsVolumeConfiguration": {"fileSystemId": file_system_id, "rootDirectory": "/notes"},
    }
    for name, image in (("notes-in", writer_image), ("notes-out", reader_image)):
        fargate_service(
            aws,
            cluster,
            name,
            image,
            network,
            volumes=[volume],
            mounts=[{"sourceVolume": "v", "containerPath": "/mnt/shared/"}],
        )


def deploy_api(apprunner, image):
    scaling = apprunner.create_auto_scaling_configuration(
        AutoScalingConfigurationName="shop-api", MaxConcurrency=50, MinSize=1, MaxSize=4
    )["AutoScalingConfiguration"]["AutoScalingConfigurationArn"]
    return runner(apprunner, image, AutoScalingConfigurationArn=scaling)["ServiceUrl"]


def deploy_index_job(aws, image, network):
    return fargate_job(aws, image, "1024", "3072")
