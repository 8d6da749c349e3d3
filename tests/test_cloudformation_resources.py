"""Resource types of the earlier labs deploy from templates and behave as when made by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labkit.lab import Lab

PIPELINE = """
Parameters:
  WithPolicy: {Type: String, Default: "yes", AllowedValues: ["yes", "no"]}
Conditions:
  Allow: !Equals [!Ref WithPolicy, "yes"]
Resources:
  Topic: {Type: AWS::SNS::Topic, Properties: {TopicName: orders}}
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: billing}}
  Sub:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt Queue.Arn
      RawMessageDelivery: true
  Policy:
    Type: AWS::SQS::QueuePolicy
    Condition: Allow
    Properties:
      Queues: [!Ref Queue]
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: sns.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt Queue.Arn
            Condition: {ArnEquals: {aws:SourceArn: !Ref Topic}}
Outputs:
  Subscription: {Value: !Ref Sub}
"""


def deliver(lab: Lab, with_policy: str) -> list[str]:
    cfn = lab.client("cloudformation")
    cfn.create_stack(
        StackName="pipeline",
        TemplateBody=PIPELINE,
        Parameters=[{"ParameterKey": "WithPolicy", "ParameterValue": with_policy}],
    )
    assert (
        cfn.describe_stacks(StackName="pipeline")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    )
    sns, sqs = lab.client("sns"), lab.client("sqs")
    (topic,) = sns.list_topics()["Topics"]
    sns.publish(TopicArn=topic["TopicArn"], Message="order 1")
    url = sqs.get_queue_url(QueueName="billing")["QueueUrl"]
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url).get("Messages", [])]


def test_a_subscription_and_queue_policy_from_a_template_deliver(lab: Lab) -> None:
    # Raw delivery: the body is the message itself, not SNS's JSON envelope.
    assert deliver(lab, "yes") == ["order 1"]
    outputs = lab.client("cloudformation").describe_stacks(StackName="pipeline")["Stacks"][0]
    (subscription,) = lab.client("sns").list_subscriptions()["Subscriptions"]
    assert outputs["Outputs"][0]["OutputValue"] == subscription["SubscriptionArn"]


def test_without_the_queue_policy_sns_may_not_send(lab: Lab) -> None:
    # As by hand: the queue's policy decides, and the stack made no policy.
    assert deliver(lab, "no") == []


def test_deleting_the_stack_removes_subscription_and_policy(lab: Lab) -> None:
    deliver(lab, "yes")
    lab.client("cloudformation").delete_stack(StackName="pipeline")
    assert lab.client("sns").list_subscriptions()["Subscriptions"] == []
    assert lab.client("sqs").list_queues().get("QueueUrls", []) == []


def policy(principal: str, resource: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": principal},
                "Action": "*",
                "Resource": resource,
            }
        ],
    }


@pytest.mark.parametrize("document_as_text", [False, True])
def test_topic_and_bucket_policies_are_set(lab: Lab, document_as_text: bool) -> None:
    outsider = "arn:aws:iam::111122223333:root"
    topic_doc: Any = policy(outsider, "*")
    bucket_doc: Any = policy(outsider, "arn:aws:s3:::site-bucket/*")
    if document_as_text:
        topic_doc, bucket_doc = json.dumps(topic_doc), json.dumps(bucket_doc)
    body = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "site-bucket"}},
            "TopicPolicy": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {"Topics": [{"Ref": "Topic"}], "PolicyDocument": topic_doc},
            },
            "BucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": bucket_doc},
            },
        }
    }
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="p", TemplateBody=json.dumps(body))
    sns, s3 = lab.client("sns"), lab.client("s3")
    (topic,) = sns.list_topics()["Topics"]
    attributes = sns.get_topic_attributes(TopicArn=topic["TopicArn"])["Attributes"]
    assert "111122223333" in attributes["Policy"]
    assert "111122223333" in s3.get_bucket_policy(Bucket="site-bucket")["Policy"]


WORKER = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
      ManagedPolicyArns: [arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole]
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: jobs}}
  Done:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: done
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  Worker:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code:
        ZipFile: |
          import boto3
          def handler(event, context):
              table = boto3.resource("dynamodb").Table("done")
              for record in event["Records"]:
                  table.put_item(Item={"id": record["body"]})
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties: {FunctionName: !Ref Worker, EventSourceArn: !GetAtt Queue.Arn, BatchSize: 5}
  Clicks: {Type: AWS::Kinesis::Stream, Properties: {Name: clicks, ShardCount: 2}}
"""


def test_a_function_and_its_queue_mapping_from_a_template_work_as_by_hand(lab: Lab) -> None:
    # The stack is the first to touch Lambda: its patch must be in place before the mapping.
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="worker", TemplateBody=WORKER, Capabilities=["CAPABILITY_IAM"])
    assert cfn.describe_stacks(StackName="worker")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    sqs = lab.client("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="jobs")["QueueUrl"], MessageBody="job-1")
    lab.clock.advance(5)
    assert lab.client("dynamodb").scan(TableName="done")["Items"] == [{"id": {"S": "job-1"}}]
    summary = lab.client("kinesis").describe_stream_summary(StreamName="clicks")
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 2


ARCHIVE = """
Resources:
  Bucket: {Type: AWS::S3::Bucket, Properties: {BucketName: click-archive}}
  Clicks: {Type: AWS::Kinesis::Stream, Properties: {Name: clicks, ShardCount: 1}}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - {Effect: Allow, Principal: {Service: firehose.amazonaws.com}, Action: sts:AssumeRole}
  Hose:
    Type: AWS::KinesisFirehose::DeliveryStream
    Properties:
      DeliveryStreamName: archive
      DeliveryStreamType: KinesisStreamAsSource
      KinesisStreamSourceConfiguration:
        KinesisStreamARN: !GetAtt Clicks.Arn
        RoleARN: !GetAtt Role.Arn
      ExtendedS3DestinationConfiguration:
        BucketARN: !GetAtt Bucket.Arn
        RoleARN: !GetAtt Role.Arn
        BufferingHints: {IntervalInSeconds: 60, SizeInMBs: 1}
        CompressionFormat: GZIP
Outputs:
  HoseArn: {Value: !GetAtt Hose.Arn}
"""


def test_a_firehose_from_a_template_buffers_a_stream_into_s3(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="archive", TemplateBody=ARCHIVE, Capabilities=["CAPABILITY_IAM"])
    stack = cfn.describe_stacks(StackName="archive")["Stacks"][0]
    assert stack["Outputs"][0]["OutputValue"].endswith(":deliverystream/archive")
    lab.client("kinesis").put_record(StreamName="clicks", Data=b"click-1\n", PartitionKey="u")
    s3 = lab.client("s3")
    assert s3.list_objects_v2(Bucket="click-archive").get("Contents", []) == []
    lab.clock.advance(61)  # the buffer's interval, on the lab clock
    (obj,) = s3.list_objects_v2(Bucket="click-archive")["Contents"]
    assert obj["Key"].endswith(".gz")
    cfn.delete_stack(StackName="archive")
    assert lab.client("firehose").list_delivery_streams()["DeliveryStreamNames"] == []


def test_a_rolled_back_stack_has_no_outputs_instead_of_failing(lab: Lab) -> None:
    lab.client("kinesis").create_stream(StreamName="clicks", ShardCount=1)
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="archive", TemplateBody=ARCHIVE, Capabilities=["CAPABILITY_IAM"])
    stack = cfn.describe_stacks(StackName="archive")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "Outputs" not in stack
