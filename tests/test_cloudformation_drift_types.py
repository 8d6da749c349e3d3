"""Drift detection on the resource types of the earlier labs (roles, buckets, subscriptions,
event source mappings, streams, parameters), and the types AWS never checks.

One stack is deployed and detected twice: as deployed, then after one change by hand to each
resource (and an equivalent re-serialisation of a second role's policies). A second stack holds
the bucket, role and mapping properties ``patch_properties`` deploys, detected the same way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import labkit
from labkit.lab import Lab
from labkit.services.cloudformation.patch_drift import same_document

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::shop-drift-bucket/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}
WIDER = {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}
READ_QUEUES = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}],
}


def _role(name: str) -> str:
    return f"""
  {name}:
    Type: AWS::IAM::Role
    Properties:
      RoleName: {name.lower()}
      Description: runs orders
      MaxSessionDuration: 3600
      AssumeRolePolicyDocument: {json.dumps(TRUST)}
      Policies:
        - PolicyName: read
          PolicyDocument: {json.dumps(READ_QUEUES)}
      Tags: [{{Key: team, Value: shop}}]"""


STACK = f"""
Resources:{_role("Worker")}{_role("Steady")}
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: shop-drift-bucket
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {{SSEAlgorithm: AES256}}
      Tags: [{{Key: team, Value: shop}}]
  BucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument: {json.dumps(TLS_ONLY)}
  Queue:
    Type: AWS::SQS::Queue
    Properties: {{QueueName: orders, Tags: [{{Key: team, Value: shop}}]}}
  Topic:
    Type: AWS::SNS::Topic
    Properties: {{TopicName: orders}}
  Subscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt Queue.Arn
      RawMessageDelivery: 'true'
      FilterPolicy: '{{"kind": ["paid"]}}'
  QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Queue]
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - {{Effect: Allow, Principal: {{Service: sns.amazonaws.com}}, Action: sqs:SendMessage,
             Resource: !GetAtt Queue.Arn}}
  Site:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        Comment: shop site
        DefaultRootObject: index.html
        Origins:
          - Id: site
            DomainName: !Sub "${{Bucket}}.s3.${{AWS::Region}}.amazonaws.com"
            S3OriginConfig: {{OriginAccessIdentity: ""}}
        DefaultCacheBehavior:
          TargetOriginId: site
          ViewerProtocolPolicy: redirect-to-https
          CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6
          AllowedMethods: [GET, HEAD]
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {{Name: orders-api, Description: orders}}
  HttpApi:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: orders-http
      ProtocolType: HTTP
      CorsConfiguration: {{AllowOrigins: ["https://shop.example.com"], AllowMethods: [GET]}}
  Stream:
    Type: AWS::Kinesis::Stream
    Properties: {{Name: clicks, ShardCount: 2, RetentionPeriodHours: 48}}
  Mode:
    Type: AWS::SSM::Parameter
    Properties: {{Name: /shop/mode, Type: String, Value: live}}
  Gone:
    Type: AWS::SSM::Parameter
    Properties: {{Name: /shop/gone, Type: String, Value: kept}}
  Function:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: worker
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Worker.Arn
      Code: {{ZipFile: "def handler(event, context): return 1"}}
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !GetAtt Function.Arn
      EventSourceArn: !GetAtt Queue.Arn
      BatchSize: 5
      Enabled: true
      MaximumBatchingWindowInSeconds: 2
"""


@dataclass
class Detections:
    before: dict[str, dict[str, Any]]
    after: dict[str, dict[str, Any]]


def _detect(lab: Lab) -> dict[str, dict[str, Any]]:
    cfn = lab.client("cloudformation")
    cfn.detect_stack_drift(StackName="shop")
    drifts = cfn.describe_stack_resource_drifts(StackName="shop")["StackResourceDrifts"]
    return {d["LogicalResourceId"]: d for d in drifts}


def _change_by_hand(lab: Lab) -> None:
    iam = lab.client("iam")
    iam.update_role(RoleName="worker", Description="changed", MaxSessionDuration=7200)
    ec2_trust = json.loads(json.dumps(TRUST))
    ec2_trust["Statement"][0]["Principal"]["Service"] = "ec2.amazonaws.com"
    iam.update_assume_role_policy(RoleName="worker", PolicyDocument=json.dumps(ec2_trust))
    iam.put_role_policy(
        RoleName="worker",
        PolicyName="read",
        PolicyDocument=json.dumps({**READ_QUEUES, "Statement": [WIDER]}),
    )
    iam.tag_role(RoleName="worker", Tags=[{"Key": "team", "Value": "other"}])
    # The same documents, written with other whitespace and key order: no drift.
    iam.update_assume_role_policy(
        RoleName="steady", PolicyDocument=json.dumps(TRUST, indent=4, sort_keys=True)
    )
    iam.put_role_policy(
        RoleName="steady",
        PolicyName="read",
        PolicyDocument=json.dumps(dict(reversed(list(READ_QUEUES.items())))),
    )
    lab.client("s3").put_bucket_encryption(
        Bucket="shop-drift-bucket",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    open_policy = {**TLS_ONLY, "Statement": [{**TLS_ONLY["Statement"][0], "Effect": "Allow"}]}
    lab.client("s3").put_bucket_policy(Bucket="shop-drift-bucket", Policy=json.dumps(open_policy))
    sqs = lab.client("sqs")
    sqs.tag_queue(QueueUrl=sqs.get_queue_url(QueueName="orders")["QueueUrl"], Tags={"team": "x"})
    sns = lab.client("sns")
    (subscription,) = sns.list_subscriptions()["Subscriptions"]
    arn = subscription["SubscriptionArn"]
    sns.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="false"
    )
    sns.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue='{"kind":["free"]}'
    )
    lam = lab.client("lambda")
    (mapping,) = lam.list_event_source_mappings()["EventSourceMappings"]
    lam.update_event_source_mapping(UUID=mapping["UUID"], BatchSize=10, Enabled=False)
    api = lab.client("apigateway")
    (rest_api,) = api.get_rest_apis()["items"]
    api.update_rest_api(
        restApiId=rest_api["id"],
        patchOperations=[{"op": "replace", "path": "/description", "value": "changed"}],
    )
    v2 = lab.client("apigatewayv2")
    (http_api,) = v2.get_apis()["Items"]
    v2.update_api(
        ApiId=http_api["ApiId"],
        CorsConfiguration={"AllowOrigins": ["*"], "AllowMethods": ["GET"]},
    )
    cloudfront = lab.client("cloudfront")
    (site,) = cloudfront.list_distributions()["DistributionList"]["Items"]
    current = cloudfront.get_distribution_config(Id=site["Id"])
    config = current["DistributionConfig"]
    config["DefaultRootObject"] = "home.html"
    config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] = "allow-all"
    cloudfront.update_distribution(
        Id=site["Id"], IfMatch=current["ETag"], DistributionConfig=config
    )
    kinesis = lab.client("kinesis")
    kinesis.increase_stream_retention_period(StreamName="clicks", RetentionPeriodHours=72)
    ssm = lab.client("ssm")
    ssm.put_parameter(Name="/shop/mode", Value="maintenance", Type="String", Overwrite=True)
    # Deleted and made again by hand under the same name: not the stack's parameter.
    ssm.delete_parameter(Name="/shop/gone")
    ssm.put_parameter(Name="/shop/gone", Value="kept", Type="String")


@pytest.fixture(scope="module")
def detections() -> Iterator[Detections]:
    lab = labkit.start(quiet=True)
    try:
        cfn = lab.client("cloudformation")
        cfn.create_stack(
            StackName="shop", TemplateBody=STACK, Capabilities=["CAPABILITY_NAMED_IAM"]
        )
        status = cfn.describe_stacks(StackName="shop")["Stacks"][0]["StackStatus"]
        assert status == "CREATE_COMPLETE"
        before = _detect(lab)
        _change_by_hand(lab)
        yield Detections(before, _detect(lab))
    finally:
        lab.stop()


def _differences(drift: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        d["PropertyPath"]: (d["ExpectedValue"], d["ActualValue"])
        for d in drift["PropertyDifferences"]
    }


def test_a_fresh_stack_is_in_sync_and_policy_resources_are_not_checked(
    detections: Detections,
) -> None:
    statuses = {k: d["StackResourceDriftStatus"] for k, d in detections.before.items()}
    assert statuses.pop("QueuePolicy") == "NOT_CHECKED"
    assert set(statuses.values()) == {"IN_SYNC"}
    assert "ExpectedProperties" not in detections.before["QueuePolicy"]


def test_a_role_changed_by_hand_shows_each_property(detections: Detections) -> None:
    drift = detections.after["Worker"]
    assert drift["StackResourceDriftStatus"] == "MODIFIED"
    found = _differences(drift)
    assert found["/Description"] == ("runs orders", "changed")
    assert found["/MaxSessionDuration"] == ("3600", "7200")
    expected, actual = found["/AssumeRolePolicyDocument"]
    assert json.loads(expected) == TRUST
    assert json.loads(actual)["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    expected, actual = found["/Policies"]
    assert json.loads(expected)[0]["PolicyDocument"] == READ_QUEUES
    assert json.loads(actual)[0]["PolicyDocument"]["Statement"] == [WIDER]
    assert found["/Tags"] == (
        '[{"Key": "team", "Value": "shop"}]',
        '[{"Key": "team", "Value": "other"}]',
    )


def test_policies_rewritten_with_other_whitespace_and_order_are_in_sync(
    detections: Detections,
) -> None:
    assert detections.after["Steady"]["StackResourceDriftStatus"] == "IN_SYNC"


def test_bucket_encryption_changed_by_hand(detections: Detections) -> None:
    drift = detections.after["Bucket"]
    assert drift["StackResourceDriftStatus"] == "MODIFIED"
    path = "/BucketEncryption/ServerSideEncryptionConfiguration/0/ServerSideEncryptionByDefault"
    assert _differences(drift) == {f"{path}/SSEAlgorithm": ("AES256", "aws:kms")}


def test_subscription_attributes_changed_by_hand(detections: Detections) -> None:
    found = _differences(detections.after["Subscription"])
    assert found == {
        "/RawMessageDelivery": ("true", "false"),
        "/FilterPolicy": ('{"kind": ["paid"]}', '{"kind": ["free"]}'),
    }


def test_mapping_stream_and_parameter_changed_by_hand(detections: Detections) -> None:
    assert _differences(detections.after["Mapping"]) == {
        "/BatchSize": ("5", "10"),
        "/Enabled": ("true", "false"),
    }
    assert _differences(detections.after["Stream"]) == {"/RetentionPeriodHours": ("48", "72")}
    assert _differences(detections.after["Mode"]) == {"/Value": ("live", "maintenance")}
    assert _differences(detections.after["Api"]) == {"/Description": ("orders", "changed")}
    assert _differences(detections.after["HttpApi"]) == {
        "/CorsConfiguration/AllowOrigins/0": ("https://shop.example.com", "*")
    }


def test_distribution_changed_by_hand(detections: Detections) -> None:
    assert _differences(detections.after["Site"]) == {
        "/DistributionConfig/DefaultRootObject": ("index.html", "home.html"),
        "/DistributionConfig/DefaultCacheBehavior/ViewerProtocolPolicy": (
            "redirect-to-https",
            "allow-all",
        ),
    }


def test_a_parameter_deleted_and_made_again_by_hand_is_deleted(detections: Detections) -> None:
    drift = detections.after["Gone"]
    assert drift["StackResourceDriftStatus"] == "DELETED"
    assert drift["PropertyDifferences"] == []


def test_bucket_policy_and_queue_tags_changed_by_hand(detections: Detections) -> None:
    (difference,) = detections.after["BucketPolicy"]["PropertyDifferences"]
    assert difference["PropertyPath"] == "/PolicyDocument"
    assert json.loads(difference["ExpectedValue"]) == TLS_ONLY
    assert json.loads(difference["ActualValue"])["Statement"][0]["Effect"] == "Allow"
    assert _differences(detections.after["Queue"]) == {
        "/Tags": ('[{"Key": "team", "Value": "shop"}]', '[{"Key": "team", "Value": "x"}]')
    }


def test_untouched_resources_stay_in_sync(detections: Detections) -> None:
    for name in ("Topic", "Function"):
        assert detections.after[name]["StackResourceDriftStatus"] == "IN_SYNC"


def test_documents_compare_as_json_values_not_spellings() -> None:
    assert same_document({"A": 1, "B": ["x"]}, {"B": ["x"], "A": "1"})
    # No propertyTransform makes a string and a one-element list the same value.
    assert not same_document({"Action": "s3:GetObject"}, {"Action": ["s3:GetObject"]})
    assert not same_document({"A": 1}, {"A": 1, "Condition": {}})


# -- properties deployed by patch_properties: read, so a change by hand is drift ------------------
CONFIGURED = f"""
Resources:
  Reader:
    Type: AWS::IAM::Role
    Properties:
      RoleName: configured-reader
      AssumeRolePolicyDocument: {json.dumps(TRUST)}
      ManagedPolicyArns:
        - arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess
        - arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: configured-bucket
      VersioningConfiguration: {{Status: Enabled}}
      PublicAccessBlockConfiguration: {{BlockPublicPolicy: true, RestrictPublicBuckets: true}}
      OwnershipControls: {{Rules: [{{ObjectOwnership: BucketOwnerEnforced}}]}}
      CorsConfiguration:
        CorsRules: [{{AllowedMethods: [GET], AllowedOrigins: ["*"], MaxAge: 600}}]
      WebsiteConfiguration:
        IndexDocument: index.html
        RoutingRules:
          - RoutingRuleCondition: {{KeyPrefixEquals: old/}}
            RedirectRule: {{ReplaceKeyPrefixWith: new/}}
      LifecycleConfiguration:
        Rules: [{{Status: Enabled, ExpirationInDays: 30}}]
  Queue:
    Type: AWS::SQS::Queue
    Properties: {{QueueName: configured}}
  Function:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: configured
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Reader.Arn
      Code: {{ZipFile: "def handler(event, context): return 1"}}
      Tags: [{{Key: team, Value: shop}}]
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: configured
      Tags: [{{Key: team, Value: shop}}]
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref Function
      EventSourceArn: !GetAtt Queue.Arn
      Tags: [{{Key: team, Value: shop}}]
"""


@pytest.fixture(scope="module")
def configured() -> Iterator[Detections]:
    lab = labkit.start(quiet=True)
    try:
        cfn = lab.client("cloudformation")
        cfn.create_stack(
            StackName="shop", TemplateBody=CONFIGURED, Capabilities=["CAPABILITY_NAMED_IAM"]
        )
        status = cfn.describe_stacks(StackName="shop")["Stacks"][0]["StackStatus"]
        assert status == "CREATE_COMPLETE"
        before = _detect(lab)
        s3 = lab.client("s3")
        s3.put_bucket_versioning(
            Bucket="configured-bucket", VersioningConfiguration={"Status": "Suspended"}
        )
        s3.delete_public_access_block(Bucket="configured-bucket")
        lab.client("iam").detach_role_policy(
            RoleName="configured-reader",
            PolicyArn="arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess",
        )
        awslambda = lab.client("lambda")
        (mapping,) = awslambda.list_event_source_mappings(FunctionName="configured")[
            "EventSourceMappings"
        ]
        awslambda.tag_resource(Resource=mapping["EventSourceMappingArn"], Tags={"team": "x"})
        awslambda.tag_resource(Resource=mapping["FunctionArn"], Tags={"cost": "high"})
        sns = lab.client("sns")
        (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
        sns.untag_resource(ResourceArn=topic, TagKeys=["team"])
        yield Detections(before, _detect(lab))
    finally:
        lab.stop()


def test_deployed_configurations_are_in_sync_as_deployed(configured: Detections) -> None:
    for name in ("Reader", "Bucket", "Mapping", "Function", "Topic"):
        drift = configured.before[name]
        assert drift["StackResourceDriftStatus"] == "IN_SYNC", drift["PropertyDifferences"]


def test_deployed_configurations_changed_by_hand_are_drift(configured: Detections) -> None:
    found = {
        d["PropertyPath"]: d["DifferenceType"]
        for d in configured.after["Bucket"]["PropertyDifferences"]
    }
    assert found == {
        "/VersioningConfiguration/Status": "NOT_EQUAL",
        "/PublicAccessBlockConfiguration": "REMOVE",
    }
    (managed,) = configured.after["Reader"]["PropertyDifferences"]
    assert managed["PropertyPath"].startswith("/ManagedPolicyArns")
    assert _differences(configured.after["Mapping"]) == {
        "/Tags": ('[{"Key": "team", "Value": "shop"}]', '[{"Key": "team", "Value": "x"}]')
    }
    # Tags of a function and a topic: one added by hand, one taken away.
    assert "cost" in _differences(configured.after["Function"])["/Tags"][1]
    assert _differences(configured.after["Topic"])["/Tags"] == (
        '[{"Key": "team", "Value": "shop"}]',
        "[]",
    )
