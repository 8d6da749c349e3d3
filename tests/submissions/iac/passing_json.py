# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: iac
#     role: exercise
# ---

# %% [markdown]
# A correct submission written differently from the solution: the pipeline as a JSON-shaped
# dict with named resources and an ArnLike condition, with an order-intake REST API in front of
# the topic (a Lambda proxy that publishes, its permission, a deployment and a stage: types
# stock moto skipped or left behind), the table changed by update_stack with a
# template written from scratch (a KEYS_ONLY index), a StackSet with percentages (100 % at once,
# 0 % tolerated: strict mode runs one at a time), and drift put back through boto3 resources
# from each property difference.

# %%
import json

import labkit

lab = labkit.start("iac")
sqs_resource = lab.resource("sqs")
tables = lab.resource("dynamodb")

# %%
PIPELINE_TEMPLATE = {
    "Resources": {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "shop-orders"}},
        "Failed": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "shop-orders-dlq"}},
        "Work": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": "shop-orders-work",
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["Failed", "Arn"]},
                    "maxReceiveCount": 3,
                },
            },
        },
        "Wire": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "Topic"},
                "Protocol": "sqs",
                "Endpoint": {"Fn::GetAtt": ["Work", "Arn"]},
            },
        },
        "Allow": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "Work"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": ["sqs:SendMessage"],
                            "Resource": {"Fn::GetAtt": ["Work", "Arn"]},
                            "Condition": {"ArnLike": {"aws:SourceArn": {"Ref": "Topic"}}},
                        }
                    ],
                },
            },
        },
        # Orders come in through an API: POST /orders runs a function that publishes them.
        "IntakeRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "publish-orders",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "sns:Publish",
                                    "Resource": {"Ref": "Topic"},
                                }
                            ],
                        },
                    }
                ],
            },
        },
        "Intake": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["IntakeRole", "Arn"]},
                "Environment": {"Variables": {"TOPIC": {"Ref": "Topic"}}},
                "Code": {
                    "ZipFile": "import os, boto3\n"
                    "def handler(event, context):\n"
                    "    boto3.client('sns').publish(TopicArn=os.environ['TOPIC'],"
                    " Message=event['body'])\n"
                    "    return {'statusCode': 202, 'body': 'accepted'}\n"
                },
            },
        },
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "order-intake"}},
        "Orders": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "PathPart": "orders",
            },
        },
        "PostOrder": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ResourceId": {"Ref": "Orders"},
                "HttpMethod": "POST",
                "AuthorizationType": "NONE",
                "Integration": {
                    "Type": "AWS_PROXY",
                    "IntegrationHttpMethod": "POST",
                    "Uri": {
                        "Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
                        "functions/${Intake.Arn}/invocations"
                    },
                },
            },
        },
        "Release": {
            "Type": "AWS::ApiGateway::Deployment",
            "DependsOn": "PostOrder",
            "Properties": {"RestApiId": {"Ref": "Api"}},
        },
        "Live": {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "DeploymentId": {"Ref": "Release"},
                "StageName": "live",
            },
        },
        "ApiMayInvoke": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Ref": "Intake"},
                "Action": "lambda:InvokeFunction",
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {
                    "Fn::Sub": "arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*"
                },
            },
        },
    }
}


# %%
def update_orders_table(cloudformation, stack_name):
    template = {
        "Resources": {
            "OrdersTable": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": "orders",
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [
                        {"AttributeName": "order_id", "AttributeType": "S"},
                        {"AttributeName": "customer_id", "AttributeType": "S"},
                    ],
                    "KeySchema": [{"AttributeName": "order_id", "KeyType": "HASH"}],
                    "GlobalSecondaryIndexes": [
                        {
                            "IndexName": "by-customer",
                            "KeySchema": [{"AttributeName": "customer_id", "KeyType": "HASH"}],
                            "Projection": {"ProjectionType": "KEYS_ONLY"},
                        }
                    ],
                },
            }
        }
    }
    cloudformation.update_stack(StackName=stack_name, TemplateBody=json.dumps(template))


# %%
def deploy_everywhere(cloudformation, template_body, accounts, regions):
    cloudformation.create_stack_set(StackSetName="fleet", TemplateBody=template_body)
    cloudformation.create_stack_instances(
        StackSetName="fleet",
        Accounts=accounts,
        Regions=regions,
        OperationPreferences={"MaxConcurrentPercentage": 100, "FailureTolerancePercentage": 0},
    )


# %%
def bring_back(cloudformation, stack_name):
    cloudformation.detect_stack_drift(StackName=stack_name)
    found = cloudformation.describe_stack_resource_drifts(StackName=stack_name)
    for drift in found["StackResourceDrifts"]:
        if drift["StackResourceDriftStatus"] != "MODIFIED":
            continue
        expected = json.loads(drift["ExpectedProperties"])
        if drift["ResourceType"] == "AWS::SQS::Queue":
            queue = sqs_resource.Queue(drift["PhysicalResourceId"])
            for difference in drift["PropertyDifferences"]:
                name = difference["PropertyPath"].strip("/")
                queue.set_attributes(Attributes={name: difference["ExpectedValue"]})
        else:
            capacity = expected["ProvisionedThroughput"]
            tables.Table(drift["PhysicalResourceId"]).update(
                ProvisionedThroughput={
                    "ReadCapacityUnits": int(capacity["ReadCapacityUnits"]),
                    "WriteCapacityUnits": int(capacity["WriteCapacityUnits"]),
                }
            )
