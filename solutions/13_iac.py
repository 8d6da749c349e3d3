# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Infrastructure as code exercise: the order pipeline as templates
#
# The shop's order pipeline (a topic, a queue, a dead-letter queue) and its orders table were
# built by hand in earlier labs. You write the pipeline as a **template**, change the table
# through its stack **without replacing it**, deploy one stack to **two accounts in three
# Regions** with a StackSet that stops at the first failure, and put back what someone
# **changed by hand**.
#
# Write your code where it says `# YOUR CODE HERE` (replace the `...`), run the cell, then run
# the check below it. Each check deploys your work in an empty sandbox of its own, with a lab
# clock of its own, and tells you what it found.

# %%
import json

import yaml

import labkit
from labkit.labs.iac_fleet import FLEET_TEMPLATE, RUNTIME_TEMPLATE
from labkit.labs.iac_pipeline import ORDERS_TABLE_TEMPLATE
from labkit.services.cloudformation.sim_lint import lint

lab = labkit.start("iac")
cfn = lab.client("cloudformation")
sqs = lab.client("sqs")
dynamodb = lab.client("dynamodb")
# cfn-lint reads its resource specification once per process (a few seconds): do it now.
print(len(lint("Resources:\n  Q: {Type: AWS::SQS::Queue}\n")), "findings")

# %% [markdown]
# ## Task 1: the order pipeline as a template
#
# Set `PIPELINE_TEMPLATE` to a template (YAML or JSON text, a dict, or the path of a template
# file) that deploys:
#
# - an SNS **topic** for orders, and an SQS **queue** subscribed to it;
# - a **dead-letter queue** behind the order queue (its `RedrivePolicy`);
# - a **queue policy** that lets that topic, and only that topic, send to the queue.
#
# Names and logical ids are yours. The check deploys the template, publishes an order to the
# topic and expects it in the queue; then a second topic of your account and a topic of another
# account try to send (nothing may arrive), and an anonymous caller asks to send directly.

# %%
PIPELINE_TEMPLATE = ...  # YAML or JSON text, a dict, or the path of a template file
### BEGIN SOLUTION
PIPELINE_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Description: The order pipeline of the decoupling lab.
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
      RawMessageDelivery: true
  OrderQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref OrderQueue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: sns.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt OrderQueue.Arn
            Condition:
              ArnEquals:
                aws:SourceArn: !Ref OrdersTopic
"""
### END SOLUTION

# %%
lab.check("pipeline")

# %% [markdown]
# ## Task 2: change the table, keep the table
#
# The stack `orders-db` was deployed from this template; its table holds the shop's orders:

# %%
print(ORDERS_TABLE_TEMPLATE)

# %% [markdown]
# Write `update_orders_table(cloudformation, stack_name)`: update the stack so that the table
# is **on-demand** (`PAY_PER_REQUEST`) and has a global secondary index **`by-customer`** whose
# partition key is `customer_id` (a string). Change it **through the stack** (an update or a
# change set), and do not replace the table: every order must still be there. A change set's
# `Replacement` says, before anything happens, whether a change would replace it.


# %%
def update_orders_table(cloudformation, stack_name):
    """Make the stack's table on-demand with the `by-customer` index, in place."""
    ### BEGIN SOLUTION
    body = yaml.safe_load(cloudformation.get_template(StackName=stack_name)["TemplateBody"])
    table = body["Resources"]["OrdersTable"]["Properties"]
    table["BillingMode"] = "PAY_PER_REQUEST"
    table.pop("ProvisionedThroughput", None)
    table["AttributeDefinitions"].append({"AttributeName": "customer_id", "AttributeType": "S"})
    table["GlobalSecondaryIndexes"] = [
        {
            "IndexName": "by-customer",
            "KeySchema": [{"AttributeName": "customer_id", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    cloudformation.create_change_set(
        StackName=stack_name, ChangeSetName="on-demand", TemplateBody=json.dumps(body)
    )
    changes = cloudformation.describe_change_set(StackName=stack_name, ChangeSetName="on-demand")
    replaced = [
        c["ResourceChange"]["LogicalResourceId"]
        for c in changes["Changes"]
        if c["ResourceChange"].get("Replacement") == "True"
    ]
    if replaced:
        raise RuntimeError(f"this change set would replace {replaced}")
    cloudformation.execute_change_set(StackName=stack_name, ChangeSetName="on-demand")
    ### END SOLUTION


# %%
lab.check("keep_table")

# %% [markdown]
# ## Task 3: one stack, two accounts, three Regions
#
# Write `deploy_everywhere(cloudformation, template_body, accounts, regions)`: deploy the
# template to **every account in every Region** given, with one StackSet whose operation
# **stops after one failure**: once one stack instance fails, no other instance may start. The
# check gives two accounts and three Regions (the template below) and makes the instance of the
# first account in the second Region fail.

# %%
print(FLEET_TEMPLATE)


# %%
def deploy_everywhere(cloudformation, template_body, accounts, regions):
    """One StackSet with an instance in each account and Region; stop at the first failure."""
    ### BEGIN SOLUTION
    cloudformation.create_stack_set(StackSetName="orders-everywhere", TemplateBody=template_body)
    return cloudformation.create_stack_instances(
        StackSetName="orders-everywhere",
        Accounts=accounts,
        Regions=regions,
        OperationPreferences={
            "RegionConcurrencyType": "SEQUENTIAL",
            "RegionOrder": regions,
            "MaxConcurrentCount": 1,
            "FailureToleranceCount": 0,
        },
    )["OperationId"]
    ### END SOLUTION


# %%
lab.check("stack_set")

# %% [markdown]
# ## Task 4: drift
#
# The stack `orders-runtime` was deployed from the template below. Someone then changed some of
# its resources by hand. Write `bring_back(cloudformation, stack_name)`: find what drifted and
# put the template's values back, so that drift detection says `IN_SYNC`. Keep the resources:
# the queue holds orders. (Your `sqs` and `dynamodb` clients above work inside the check.)

# %%
print(RUNTIME_TEMPLATE)


# %%
def bring_back(cloudformation, stack_name):
    """Put every drifted property of the stack's resources back to the template's value."""
    ### BEGIN SOLUTION
    cloudformation.detect_stack_drift(StackName=stack_name)
    drifts = cloudformation.describe_stack_resource_drifts(
        StackName=stack_name, StackResourceDriftStatusFilters=["MODIFIED"]
    )["StackResourceDrifts"]
    for drift in drifts:
        expected = json.loads(drift["ExpectedProperties"])
        if drift["ResourceType"] == "AWS::SQS::Queue":
            attributes = {k: str(v) for k, v in expected.items() if k != "QueueName"}
            sqs.set_queue_attributes(QueueUrl=drift["PhysicalResourceId"], Attributes=attributes)
        elif drift["ResourceType"] == "AWS::DynamoDB::Table":
            throughput = expected["ProvisionedThroughput"]
            dynamodb.update_table(
                TableName=drift["PhysicalResourceId"],
                ProvisionedThroughput={k: int(v) for k, v in throughput.items()},
            )
    ### END SOLUTION


# %%
lab.check("drift")

# %% [markdown]
# ## Your score

# %%
lab.score()

# %% [markdown]
# ## Summary
#
# - A template is the architecture written down: `!Ref`/`!GetAtt` wire the topic, the queue,
#   its dead-letter queue and the policy that lets only that topic send.
# - Some properties update in place (billing mode, throughput, global indexes); others (a
#   table's name, key or local indexes) replace the resource and lose its data: read the change
#   set's `Replacement` first.
# - A StackSet operation's preferences decide how far a failure goes: Regions one after
#   another, no failure tolerated, and the first failure stops everything after it.
# - Drift detection says what changed by hand and what the template expects; CloudFormation
#   does not repair it: set the expected values back (an update with the same template changes
#   nothing).
