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
# Plausible mistakes: the subscription's Endpoint is the queue's URL (!Ref), which SNS refuses
# (the stack rolls back); only the billing mode changed (no index); two Regions of the three;
# and drift "fixed" by deleting and re-creating the stack, which loses the queue's orders.

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
            Principal: {Service: sns.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt OrderQueue.Arn
            Condition:
              ArnEquals:
                aws:SourceArn: !Ref OrdersTopic
""".replace("Endpoint: !GetAtt OrderQueue.Arn", "Endpoint: !Ref OrderQueue")


# %%
def update_orders_table(cloudformation, stack_name):
    text = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    text = text.replace("BillingMode: PROVISIONED", "BillingMode: PAY_PER_REQUEST")
    text = text.replace(
        "      ProvisionedThroughput:\n"
        "        ReadCapacityUnits: 5\n        WriteCapacityUnits: 5\n",
        "",
    )
    cloudformation.update_stack(StackName=stack_name, TemplateBody=text)


# %%
def deploy_everywhere(cloudformation, template_body, accounts, regions):
    cloudformation.create_stack_set(StackSetName="fleet", TemplateBody=template_body)
    cloudformation.create_stack_instances(
        StackSetName="fleet", Accounts=accounts, Regions=regions[:2]
    )


# %%
def bring_back(cloudformation, stack_name):
    text = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    cloudformation.delete_stack(StackName=stack_name)
    cloudformation.create_stack(StackName=stack_name, TemplateBody=text)
