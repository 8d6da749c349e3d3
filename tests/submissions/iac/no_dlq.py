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
# Plausible mistakes: no RedrivePolicy (the dead-letter queue is there but nothing points to
# it), the table changed by hand with the DynamoDB API instead of through its stack, two
# accounts at once in SOFT_FAILURE_TOLERANCE mode, and only the queue put back.

# %%
import labkit

lab = labkit.start("iac")
dynamodb = lab.client("dynamodb")
sqs = lab.client("sqs")

# %%
PIPELINE_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  OrdersTopic:
    Type: AWS::SNS::Topic
  OrderDeadLetterQueue:
    Type: AWS::SQS::Queue
  OrderQueue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt OrderDeadLetterQueue.Arn
        maxReceiveCount: 5
  OrderSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref OrdersTopic
      Protocol: sqs
      Endpoint: !GetAtt OrderQueue.Arn
  OrderQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref OrderQueue]
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: sns.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt OrderQueue.Arn
            Condition:
              ArnEquals:
                aws:SourceArn: !Ref OrdersTopic
""".replace(
    "      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt OrderDeadLetterQueue.Arn\n"
    "        maxReceiveCount: 5\n",
    "      VisibilityTimeout: 30\n",
)


# %%
def update_orders_table(cloudformation, stack_name):
    dynamodb.update_table(
        TableName="orders",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "customer_id", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by-customer",
                    "KeySchema": [{"AttributeName": "customer_id", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            }
        ],
    )


# %%
def deploy_everywhere(cloudformation, template_body, accounts, regions):
    cloudformation.create_stack_set(StackSetName="fleet", TemplateBody=template_body)
    cloudformation.create_stack_instances(
        StackSetName="fleet",
        Accounts=accounts,
        Regions=regions,
        OperationPreferences={
            "MaxConcurrentCount": 2,
            "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
        },
    )


# %%
def bring_back(cloudformation, stack_name):
    cloudformation.detect_stack_drift(StackName=stack_name)
    for drift in cloudformation.describe_stack_resource_drifts(StackName=stack_name)[
        "StackResourceDrifts"
    ]:
        if drift["ResourceType"] == "AWS::SQS::Queue":
            sqs.set_queue_attributes(
                QueueUrl=drift["PhysicalResourceId"], Attributes={"VisibilityTimeout": "60"}
            )
