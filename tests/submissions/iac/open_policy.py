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
# Plausible mistakes: a queue policy open to any principal without a source condition, a new
# key for the table under the same name (a replacement CloudFormation refuses for a custom
# name: the update rolls back), Regions in parallel, and an update_stack with the same template
# to "reset" drift.

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
  OrderQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref OrderQueue]
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: "*"
            Action: sqs:SendMessage
            Resource: !GetAtt OrderQueue.Arn
"""


# %%
def update_orders_table(cloudformation, stack_name):
    text = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
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
    text = text.replace(
        "        - AttributeName: order_id\n          KeyType: HASH\n",
        "        - AttributeName: customer_id\n          KeyType: HASH\n"
        "        - AttributeName: order_id\n          KeyType: RANGE\n",
    )
    cloudformation.update_stack(StackName=stack_name, TemplateBody=text)


# %%
def deploy_everywhere(cloudformation, template_body, accounts, regions):
    cloudformation.create_stack_set(StackSetName="fleet", TemplateBody=template_body)
    cloudformation.create_stack_instances(
        StackSetName="fleet",
        Accounts=accounts,
        Regions=regions,
        OperationPreferences={"RegionConcurrencyType": "PARALLEL"},
    )


# %%
def bring_back(cloudformation, stack_name):
    text = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    cloudformation.update_stack(StackName=stack_name, TemplateBody=text)
