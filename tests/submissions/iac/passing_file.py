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
# A correct submission written differently from the solution: the pipeline written to a YAML
# file and given by its path (other logical ids, maxReceiveCount 3, the policy's Resource a
# Sub), the table changed with update_stack on the deployed template's text, a StackSet asking
# for two accounts at once with no failure tolerated (strict mode keeps it to one), and drift
# put back from the differences alone, through the client APIs.

# %%
import labkit

lab = labkit.start("iac")
sqs = lab.client("sqs")
dynamodb = lab.client("dynamodb")

# %%
with open("pipeline.yaml", "w") as out:
    out.write(
        """
Resources:
  Inbox:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy:
        maxReceiveCount: 3
        deadLetterTargetArn: !GetAtt Graveyard.Arn
  Graveyard:
    Type: AWS::SQS::Queue
  News:
    Type: AWS::SNS::Topic
  InboxFeed:
    Type: AWS::SNS::Subscription
    Properties:
      Protocol: sqs
      TopicArn: !Ref News
      Endpoint: !GetAtt Inbox.Arn
      RawMessageDelivery: "true"
  InboxAccess:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues:
        - !Ref Inbox
      PolicyDocument:
        Statement:
          - Sid: OnlyNews
            Effect: Allow
            Principal:
              Service: sns.amazonaws.com
            Action: sqs:SendMessage
            Resource: !Sub "${Inbox.Arn}"
            Condition:
              ArnEquals:
                aws:SourceArn: !Ref News
"""
    )
PIPELINE_TEMPLATE = "pipeline.yaml"


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
    text += (
        "      GlobalSecondaryIndexes:\n"
        "        - IndexName: by-customer\n"
        "          KeySchema:\n"
        "            - AttributeName: customer_id\n"
        "              KeyType: HASH\n"
        "          Projection:\n"
        "            ProjectionType: INCLUDE\n"
        "            NonKeyAttributes: [order_id]\n"
    )
    cloudformation.update_stack(StackName=stack_name, TemplateBody=text)


# %%
def deploy_everywhere(cloudformation, template_body, accounts, regions):
    name = "orders-fleet"
    cloudformation.create_stack_set(StackSetName=name, TemplateBody=template_body)
    cloudformation.create_stack_instances(
        StackSetName=name,
        Accounts=accounts,
        Regions=regions,
        OperationPreferences={
            "MaxConcurrentCount": 2,
            "FailureToleranceCount": 0,
            "ConcurrencyMode": "STRICT_FAILURE_TOLERANCE",
        },
    )


# %%
def bring_back(cloudformation, stack_name):
    cloudformation.detect_stack_drift(StackName=stack_name)
    drifts = cloudformation.describe_stack_resource_drifts(
        StackName=stack_name, StackResourceDriftStatusFilters=["MODIFIED"]
    )["StackResourceDrifts"]
    for drift in drifts:
        wanted = {d["PropertyPath"]: d["ExpectedValue"] for d in drift["PropertyDifferences"]}
        name = drift["PhysicalResourceId"]
        if drift["ResourceType"] == "AWS::SQS::Queue":
            attributes = {path.lstrip("/"): value for path, value in wanted.items()}
            sqs.set_queue_attributes(QueueUrl=name, Attributes=attributes)
        elif drift["ResourceType"] == "AWS::DynamoDB::Table":
            now = dynamodb.describe_table(TableName=name)["Table"]["ProvisionedThroughput"]
            capacity = {
                "ReadCapacityUnits": now["ReadCapacityUnits"],
                "WriteCapacityUnits": now["WriteCapacityUnits"],
            }
            for path, value in wanted.items():
                capacity[path.rsplit("/", 1)[-1]] = int(value)
            dynamodb.update_table(TableName=name, ProvisionedThroughput=capacity)
