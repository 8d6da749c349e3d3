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
# Plausible mistakes: a pipeline without a queue policy (SNS may not deliver), the table renamed
# while it changes (replacement: a new empty table), one failure tolerated per Region, and drift
# only detected, never repaired.

# %%
import labkit

lab = labkit.start("iac")

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
"""


# %%
def update_orders_table(cloudformation, stack_name):
    text = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    text = text.replace("TableName: orders", "TableName: orders-v2")
    text = text.replace("BillingMode: PROVISIONED", "BillingMode: PAY_PER_REQUEST")
    text = text.replace(
        "      ProvisionedThroughput:\n"
        "        ReadCapacityUnits: 5\n        WriteCapacityUnits: 5\n",
        "",
    )
    text = text.replace(
        "      AttributeDefinitions:\n",
        "      AttributeDefinitions:\n        - AttributeName: customer_id\n"
        "          AttributeType: S\n",
    )
    text += """      GlobalSecondaryIndexes:
        - IndexName: by-customer
          KeySchema: [{AttributeName: customer_id, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
"""
    cloudformation.update_stack(StackName=stack_name, TemplateBody=text)


# %%
def deploy_everywhere(cloudformation, template_body, accounts, regions):
    cloudformation.create_stack_set(StackSetName="fleet", TemplateBody=template_body)
    cloudformation.create_stack_instances(
        StackSetName="fleet",
        Accounts=accounts,
        Regions=regions,
        OperationPreferences={"FailureToleranceCount": 1},
    )


# %%
def bring_back(cloudformation, stack_name):
    detection = cloudformation.detect_stack_drift(StackName=stack_name)
    print(
        cloudformation.describe_stack_drift_detection_status(
            StackDriftDetectionId=detection["StackDriftDetectionId"]
        )["StackDriftStatus"]
    )
