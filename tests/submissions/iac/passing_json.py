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
# dict with named resources and an ArnLike condition, the table changed by update_stack with a
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
