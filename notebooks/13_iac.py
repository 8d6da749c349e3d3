# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Infrastructure as code: CloudFormation, change sets, StackSets and drift
#
# The earlier labs built queues, topics, tables and functions one API call at a time. That is
# how you learn a service, not how you run one: a production system is **written down** as a
# template, reviewed like code, and deployed the same way in every account and Region.
# **AWS CloudFormation** reads a template (YAML or JSON) and creates its resources as one
# **stack**: it works out the order from the references between them, and it undoes everything
# when one resource fails.
#
# This lesson turns the decoupling lab's order pipeline into a template. You will see:
#
# 1. a **template** and its **stack**, checked by `cfn-lint` before anything is created;
# 2. **change sets**: what an update would add, modify or **replace**;
# 3. **rollback**: a stack that cannot finish undoes itself;
# 4. **drift**: what someone changed by hand since the stack deployed;
# 5. **StackSets**: the same stack in several accounts and Regions.

# %%
from botocore.exceptions import ClientError

import labkit
from labkit.facts import fact
from labkit.services.cloudformation.sim_lint import lint

lab = labkit.start("iac")
cfn = lab.client("cloudformation")
sqs = lab.client("sqs")
sns = lab.client("sns")
dynamodb = lab.client("dynamodb")
# Reading the resource specification takes cfn-lint a few seconds, once: do it now.
print(len(lint("Resources:\n  Q: {Type: AWS::SQS::Queue}\n")), "findings in a one-queue template")

# %% [markdown]
# ## 1. A template and its stack
#
# A template's `Resources` section names each resource by a **logical id** (`OrderQueue`) and
# gives its `Type` and `Properties`. Intrinsic functions wire them together: `!Ref OrderQueue`
# is the queue's URL, `!GetAtt OrderQueue.Arn` its ARN. CloudFormation creates what a resource
# refers to first. Resources without a name property get one made from the stack's name, the
# logical id and a random suffix, so the same template deploys twice side by side.

# %%
SHOP = """
AWSTemplateFormatVersion: "2010-09-09"
Description: The shop's order queue and its dead-letter queue.
Parameters:
  Retries:
    Type: Number
    Default: 3
Resources:
  OrderDeadLetterQueue:
    Type: AWS::SQS::Queue
  OrderQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 60
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt OrderDeadLetterQueue.Arn
        maxReceiveCount: !Ref Retries
Outputs:
  QueueUrl:
    Value: !Ref OrderQueue
"""
cfn.create_stack(StackName="shop", TemplateBody=SHOP)
stack = cfn.describe_stacks(StackName="shop")["Stacks"][0]
print(stack["StackStatus"], stack["Outputs"][0]["OutputValue"])

# %% [markdown]
# The stack view shows the resources as a tree (what each refers to), their status, and the
# stack's events on the lab clock. This view stays **live**: it follows the stack as the
# lesson changes it.

# %%
lab.stack_view("shop")

# %% [markdown]
# Before creating anything, CloudFormation validates the template, and labkit also runs the
# real `cfn-lint`: a misspelt type or property is refused with the linter's finding (its rule,
# its line), not discovered half-way through a deployment.

# %%
try:
    cfn.create_stack(
        StackName="typo",
        TemplateBody="Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n"
        "      VisibilityTimeOut: 60\n",
    )
except ClientError as error:
    print(error.response["Error"]["Message"])

# %% [markdown]
# ## 2. Change sets: look before you update
#
# `update_stack` applies a new template at once. A **change set** first says what the update
# would do to each resource: `Add`, `Modify` or `Remove`, and for a modification whether it
# needs **replacement**. Some properties can change in place (a queue's visibility timeout);
# others cannot (a queue's name, a table's key): CloudFormation then creates a new resource and
# deletes the old one, and with it the messages or items it held.

# %%
renamed = SHOP.replace("VisibilityTimeout: 60", "VisibilityTimeout: 60\n      QueueName: orders")
cfn.create_change_set(StackName="shop", ChangeSetName="rename", TemplateBody=renamed)
for change in cfn.describe_change_set(StackName="shop", ChangeSetName="rename")["Changes"]:
    c = change["ResourceChange"]
    print(c["Action"], c["LogicalResourceId"], "replacement:", c.get("Replacement"))
    for detail in c["Details"]:
        print("   ", detail["Target"]["Name"], detail["Target"]["RequiresRecreation"])

# %% [markdown]
# Naming the queue would replace it. A longer visibility timeout would not: delete the first
# change set and execute that one instead.

# %%
cfn.delete_change_set(StackName="shop", ChangeSetName="rename")
longer = SHOP.replace("VisibilityTimeout: 60", "VisibilityTimeout: 120")
cfn.create_change_set(StackName="shop", ChangeSetName="longer", TemplateBody=longer)
change = cfn.describe_change_set(StackName="shop", ChangeSetName="longer")["Changes"][0]
print(change["ResourceChange"]["LogicalResourceId"], change["ResourceChange"]["Replacement"])
cfn.execute_change_set(StackName="shop", ChangeSetName="longer")
print(cfn.describe_stacks(StackName="shop")["Stacks"][0]["StackStatus"])

# %% [markdown]
# An update that changes nothing (the same template, the same parameter values) is refused
# rather than run; a change set for it is made, and ends `FAILED`, saying why.

# %%
try:
    cfn.update_stack(StackName="shop", TemplateBody=longer)
except ClientError as error:
    print(error.response["Error"]["Message"])

# %% [markdown]
# A table is replaced when its name, its key or its local indexes change, and the new table is
# empty; its billing mode, throughput and global indexes change in place and keep the items.
# A table with a custom name (`TableName`) cannot be replaced at all while it keeps that name:
# the update fails and rolls back.

# %%
print(fact("cloudformation.dynamodb_table_replacement_properties"))
print(fact("cloudformation.dynamodb_table_in_place_properties"))
print(fact("cloudformation.custom_name_replacement_reason"))

# %% [markdown]
# ## 3. Rollback
#
# When a resource fails to create, CloudFormation deletes what the stack had created so far
# and the stack ends `ROLLBACK_COMPLETE`: nothing is left half-built. Here the subscription's
# endpoint is the queue's URL (`!Ref`), which SNS refuses: it wants the ARN.

# %%
BROKEN = """
Resources:
  Orders:
    Type: AWS::SNS::Topic
  Queue:
    Type: AWS::SQS::Queue
  Subscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Orders
      Protocol: sqs
      Endpoint: !Ref Queue
"""
cfn.create_stack(StackName="broken", TemplateBody=BROKEN)
lab.stack_view("broken", hold=True)

# %% [markdown]
# ## 4. Drift
#
# A stack knows what its template says, not what happened since. Someone shortens the queue's
# visibility timeout by hand; **drift detection** compares each resource with the template and
# marks it `MODIFIED`, with the expected and the actual value.

# %%
queue_url = cfn.describe_stacks(StackName="shop")["Stacks"][0]["Outputs"][0]["OutputValue"]
sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "5"})
detection = cfn.detect_stack_drift(StackName="shop")["StackDriftDetectionId"]
print(
    cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)["StackDriftStatus"]
)
for drift in cfn.describe_stack_resource_drifts(
    StackName="shop", StackResourceDriftStatusFilters=["MODIFIED"]
)["StackResourceDrifts"]:
    for difference in drift["PropertyDifferences"]:
        print(
            drift["LogicalResourceId"],
            difference["PropertyPath"],
            difference["ExpectedValue"],
            "→",
            difference["ActualValue"],
        )
lab.stack_view("shop", hold=True)

# %% [markdown]
# An update with the same template would not repair it: CloudFormation only touches what the
# template changes. Put the expected value back with the service's API, and detect again.

# %%
sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "120"})
detection = cfn.detect_stack_drift(StackName="shop")["StackDriftDetectionId"]
print(
    cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)["StackDriftStatus"]
)

# %% [markdown]
# ## 5. StackSets: one template, many accounts and Regions
#
# A **StackSet** deploys the same template as a **stack instance** in each account and Region
# you give. An **operation** works Region by Region (in `RegionOrder`), on
# `MaxConcurrentCount` accounts at a time (default below), and stops once more than
# `FailureToleranceCount` accounts of a Region fail; it then attempts no later Region.
# Instances take time, and the lab clock runs them: the sandbox gives each one a minute of lab
# time (a model, not an AWS figure: a real instance takes as long as its stack).

# %%
print(fact("cloudformation.stackset_max_concurrent_default"))
print(fact("cloudformation.stackset_failure_tolerance_default"))
cfn.create_stack_set(StackSetName="shop-everywhere", TemplateBody=SHOP)
operation = cfn.create_stack_instances(
    StackSetName="shop-everywhere",
    Accounts=["111111111111", "222222222222"],
    Regions=["us-east-1", "eu-west-1"],
    OperationPreferences={"FailureToleranceCount": 0, "MaxConcurrentCount": 1},
)["OperationId"]
lab.clock.advance(60)
lab.stack_view("shop-everywhere", hold=True)

# %% [markdown]
# A minute in, one instance is done and the next is deploying. Let the clock run.

# %%
lab.clock.advance(600)
status = cfn.describe_stack_set_operation(StackSetName="shop-everywhere", OperationId=operation)
print(status["StackSetOperation"]["Status"])
lab.stack_view("shop-everywhere", hold=True)

# %% [markdown]
# ## Summary
#
# - A template describes resources by logical id; `!Ref` and `!GetAtt` wire them and set the
#   order of creation. A stack is one deployment of a template; `cfn-lint` catches typos first.
# - A change set says what an update would add, modify or replace. Replacement makes a new
#   resource and deletes the old one with its data; a custom name cannot be replaced in place.
#   An update that changes nothing is refused ("No updates are to be performed.").
# - A resource that fails rolls the whole stack back.
# - Drift detection compares resources with their template; CloudFormation does not repair
#   drift by itself: put the values back, or change the template and update.
# - A StackSet deploys one template to many accounts and Regions; its operation preferences
#   (Region order, concurrency, failure tolerance) decide how far a failure spreads.
