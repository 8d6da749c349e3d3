"""Template-deployed buckets, roles, topics, functions, mappings and parameters behave as by hand.

Two sandboxes per module: one deploys the ``shop`` stack and observes it by hand calls (each
under its own keys); the other deploys the stacks that fail or are updated, one stack each."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

import labkit
from labkit.lab import Lab

ACCOUNT = "123456789012"
BUCKET = "shop-props-bucket"
TRUST_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}
TRUST_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
RECORDER = "import json\\ndef handler(event, context):\\n    print(json.dumps(event))\\n"

STACK = f"""
Resources:
  Reader:
    Type: AWS::IAM::Role
    Properties:
      RoleName: props-reader
      AssumeRolePolicyDocument: {json.dumps(TRUST_ACCOUNT)}
      ManagedPolicyArns: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
  Runner:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {json.dumps(TRUST_LAMBDA)}
  Recorder:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: props-recorder
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Runner.Arn
      Code: {{ZipFile: "{RECORDER}"}}
      Tags: [{{Key: team, Value: shop}}]
  S3MayInvoke:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !GetAtt Recorder.Arn
      Action: lambda:InvokeFunction
      Principal: s3.amazonaws.com
      SourceArn: arn:aws:s3:::{BUCKET}
  Bucket:
    Type: AWS::S3::Bucket
    DependsOn: S3MayInvoke
    Properties:
      BucketName: {BUCKET}
      VersioningConfiguration: {{Status: Enabled}}
      PublicAccessBlockConfiguration:
        BlockPublicAcls: true
        BlockPublicPolicy: true
        IgnorePublicAcls: true
        RestrictPublicBuckets: true
      LifecycleConfiguration:
        Rules:
          - Id: old-logs
            Status: Enabled
            Prefix: logs/
            ExpirationInDays: 30
            Transitions: [{{StorageClass: GLACIER, TransitionInDays: 7}}]
      CorsConfiguration:
        CorsRules:
          - {{AllowedMethods: [GET], AllowedOrigins: ["https://shop.example.com"], MaxAge: 600}}
      OwnershipControls:
        Rules: [{{ObjectOwnership: BucketOwnerEnforced}}]
      AccelerateConfiguration: {{AccelerationStatus: Enabled}}
      NotificationConfiguration:
        LambdaConfigurations:
          - Event: s3:ObjectCreated:*
            Function: !GetAtt Recorder.Arn
            Filter: {{S3Key: {{Rules: [{{Name: prefix, Value: uploads/}}]}}}}
  Site:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: shop-props-site
      WebsiteConfiguration: {{IndexDocument: index.html, ErrorDocument: error.html}}
  Locked:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: shop-props-locked
      WebsiteConfiguration: {{IndexDocument: index.html}}
      PublicAccessBlockConfiguration: {{RestrictPublicBuckets: true}}
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: props-orders
      Tags: [{{Key: team, Value: shop}}]
  Queue:
    Type: AWS::SQS::Queue
    Properties: {{QueueName: props-orders}}
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref Recorder
      EventSourceArn: !GetAtt Queue.Arn
      Tags: [{{Key: team, Value: shop}}]
  Mode:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /props/mode
      Type: String
      Value: live
      Tags: {{team: shop}}
"""


def _deploy(lab: Lab, name: str, body: str) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", _failures(lab, name)


def _update(lab: Lab, name: str, body: str) -> None:
    cfn = lab.client("cloudformation")
    cfn.update_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE", _failures(lab, name)


def _failures(lab: Lab, name: str) -> list[str]:
    events = lab.client("cloudformation").describe_stack_events(StackName=name)["StackEvents"]
    return [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in events]


def _code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def _error_of(call: Callable[[], Any]) -> str | None:
    """The error code ``call`` fails with (``None``: it succeeds)."""
    try:
        call()
    except ClientError as error:
        return _code(error)
    return None


PUBLIC_READ = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::BUCKET/*",
        }
    ],
}


def _public_read(bucket: str) -> str:
    return json.dumps(PUBLIC_READ).replace("BUCKET", bucket)


# -- the deployed stack, and what hand calls find in it (read once) ------------------------------
def _observe(lab: Lab) -> dict[str, Any]:
    from lambda_support import events_of

    from labkit.services.s3 import patch_origin

    seen: dict[str, Any] = {}
    s3 = lab.client("s3")
    s3.put_object(Bucket=BUCKET, Key="notes/a.txt", Body=b"one")
    s3.put_object(Bucket=BUCKET, Key="notes/a.txt", Body=b"two")
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix="notes/a.txt")["Versions"]
    seen["versions"] = sorted(
        s3.get_object(Bucket=BUCKET, Key="notes/a.txt", VersionId=v["VersionId"])["Body"].read()
        for v in versions
    )
    seen["block"] = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    seen["lifecycle"] = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    seen["cors"] = s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"]
    seen["ownership"] = s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]
    seen["accelerate"] = s3.get_bucket_accelerate_configuration(Bucket=BUCKET).get("Status")
    notifications = s3.get_bucket_notification_configuration(Bucket=BUCKET)
    seen["notifications"] = notifications.get("LambdaFunctionConfigurations")
    s3.put_object(Bucket=BUCKET, Key="elsewhere/x.txt", Body=b"skip")  # outside the filter
    s3.put_object(Bucket=BUCKET, Key="uploads/cat.jpg", Body=b"meow")
    lab.clock.advance(0)
    seen["invoked_for"] = [
        record["s3"]["object"]["key"]
        for event in events_of(lab, "props-recorder")
        for record in event.get("Records", [])
        if record.get("eventSource") == "aws:s3"
    ]
    seen["website"] = s3.get_bucket_website(Bucket="shop-props-site")
    s3.put_object(Bucket="shop-props-site", Key="index.html", Body=b"<h1>shop</h1>")
    s3.put_bucket_policy(Bucket="shop-props-site", Policy=_public_read("shop-props-site"))
    reply = patch_origin.website_get("shop-props-site", "/", "GET", 0.0)
    seen["website_reply"] = (reply.status, reply.body)
    # The same public website behind RestrictPublicBuckets: the block wins over the policy.
    s3.put_object(Bucket="shop-props-locked", Key="index.html", Body=b"<h1>shop</h1>")
    s3.put_bucket_policy(Bucket="shop-props-locked", Policy=_public_read("shop-props-locked"))
    seen["locked_reply"] = patch_origin.website_get("shop-props-locked", "/", "GET", 0.0).status

    iam = lab.client("iam")
    seen["attached"] = iam.list_attached_role_policies(RoleName="props-reader")["AttachedPolicies"]
    s3.put_object(Bucket=BUCKET, Key="shared/r.txt", Body=b"read me")
    creds = lab.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/props-reader", RoleSessionName="reader"
    )["Credentials"]
    as_role = lab.client(
        "s3",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    seen["role_get"] = as_role.get_object(Bucket=BUCKET, Key="shared/r.txt")["Body"].read()
    seen["role_put"] = _error_of(
        lambda: as_role.put_object(Bucket=BUCKET, Key="shared/w.txt", Body=b"no")
    )

    sns = lab.client("sns")
    topic = sns.create_topic(Name="props-orders")["TopicArn"]  # idempotent: the stack's topic
    seen["topic_tags"] = sns.list_tags_for_resource(ResourceArn=topic)["Tags"]
    awslambda = lab.client("lambda")
    seen["function_tags"] = awslambda.get_function(FunctionName="props-recorder").get("Tags")
    (mapping,) = awslambda.list_event_source_mappings(FunctionName="props-recorder")[
        "EventSourceMappings"
    ]
    seen["mapping_tags"] = awslambda.list_tags(Resource=mapping["EventSourceMappingArn"])["Tags"]
    ssm = lab.client("ssm")
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/props/mode")
    seen["parameter_tags"] = tags["TagList"]
    return seen


@pytest.fixture(scope="module")
def seen() -> Iterator[dict[str, Any]]:
    lab = labkit.start(quiet=True)
    try:
        _deploy(lab, "shop", STACK)
        yield _observe(lab)
    finally:
        lab.stop()


def test_a_versioned_bucket_keeps_every_version(seen: dict[str, Any]) -> None:
    assert seen["versions"] == [b"one", b"two"]


def test_a_public_access_block_refuses_anonymous_reads_a_public_policy_grants(
    seen: dict[str, Any],
) -> None:
    assert seen["block"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert seen["website_reply"][0] == 200
    assert seen["locked_reply"] == 403


def test_lifecycle_cors_ownership_and_acceleration_read_back_in_the_api_shape(
    seen: dict[str, Any],
) -> None:
    (rule,) = seen["lifecycle"]
    assert rule["ID"] == "old-logs" and rule["Status"] == "Enabled"
    assert rule["Filter"] == {"Prefix": "logs/"}
    assert rule["Expiration"] == {"Days": 30}
    assert rule["Transitions"] == [{"Days": 7, "StorageClass": "GLACIER"}]
    (cors,) = seen["cors"]
    assert cors["AllowedMethods"] == ["GET"]
    assert cors["AllowedOrigins"] == ["https://shop.example.com"]
    assert cors["MaxAgeSeconds"] == 600
    assert seen["ownership"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert seen["accelerate"] == "Enabled"


def test_a_notification_to_a_function_invokes_it_on_put_object(seen: dict[str, Any]) -> None:
    (config,) = seen["notifications"]
    assert config["Events"] == ["s3:ObjectCreated:*"]
    assert seen["invoked_for"] == ["uploads/cat.jpg"]


def test_a_website_bucket_answers_on_its_website_endpoint(seen: dict[str, Any]) -> None:
    assert seen["website"]["IndexDocument"] == {"Suffix": "index.html"}
    assert seen["website"]["ErrorDocument"] == {"Key": "error.html"}
    assert seen["website_reply"] == (200, b"<h1>shop</h1>")


def test_a_role_with_a_managed_policy_is_allowed_what_it_grants_only(
    seen: dict[str, Any],
) -> None:
    assert [p["PolicyName"] for p in seen["attached"]] == ["AmazonS3ReadOnlyAccess"]
    assert seen["role_get"] == b"read me"
    assert seen["role_put"] == "AccessDenied"


def test_tags_are_readable_on_topic_function_mapping_and_parameter(seen: dict[str, Any]) -> None:
    # Subsets: AWS adds its own aws:cloudformation:* tags to some of these.
    assert {"Key": "team", "Value": "shop"} in seen["topic_tags"]
    assert seen["function_tags"]["team"] == "shop"
    assert seen["mapping_tags"]["team"] == "shop"
    assert {"Key": "team", "Value": "shop"} in seen["parameter_tags"]


# -- stacks that fail, and updates (one stack each, one sandbox for them all) --------------------
CLOSED = f"""
Resources:
  Runner:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {json.dumps(TRUST_LAMBDA)}
  Closed:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: props-closed
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Runner.Arn
      Code: {{ZipFile: "{RECORDER}"}}
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: props-closed-bucket
      NotificationConfiguration:
        LambdaConfigurations:
          - {{Event: "s3:ObjectCreated:*", Function: !GetAtt Closed.Arn}}
"""
FULL_BUCKET = """      VersioningConfiguration: {Status: Enabled}
      PublicAccessBlockConfiguration: {BlockPublicPolicy: true}
      WebsiteConfiguration: {IndexDocument: index.html}
      CorsConfiguration: {CorsRules: [{AllowedMethods: [GET], AllowedOrigins: ["*"]}]}
      AccelerateConfiguration: {AccelerationStatus: Enabled}
      Tags: [{Key: team, Value: shop}]"""
UNNAMED = "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n{}"


def _bucket_stack(name: str, properties: str) -> str:
    return f"""
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: {name}
{properties}"""


def _role_stack(managed: str) -> str:
    return f"""
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: props-changing
      AssumeRolePolicyDocument: {json.dumps(TRUST_ACCOUNT)}
      ManagedPolicyArns: [{managed}]
      MaxSessionDuration: 7200
"""


def _tagged_stack(version: int) -> str:
    """Each resource tagged ``v: version``; version 1 also has a permissions boundary and a
    function tag that version 2 drops."""
    boundary = "PermissionsBoundary: arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    extra = ", {Key: gone, Value: soon}" if version == 1 else ""
    return f"""
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {{QueueName: props-tagged}}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {json.dumps(TRUST_LAMBDA)}
      {boundary if version == 1 else "Description: second"}
      Tags: [{{Key: v, Value: "{version}"}}]
  Topic:
    Type: AWS::SNS::Topic
    Properties: {{TopicName: props-tagged, Tags: [{{Key: v, Value: "{version}"}}]}}
  Param:
    Type: AWS::SSM::Parameter
    Properties: {{Name: /props/tagged, Type: String, Value: "{version}", Tags: {{v: "{version}"}}}}
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: props-tagged
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code: {{ZipFile: "{RECORDER}"}}
      Tags: [{{Key: v, Value: "{version}"}}{extra}]
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref Fn
      EventSourceArn: !GetAtt Queue.Arn
      Tags: [{{Key: v, Value: "{version}"}}]
"""


def _tags_of(lab: Lab) -> dict[str, Any]:
    cfn = lab.client("cloudformation")
    ids = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName="tagged")["StackResources"]
    }
    role = lab.client("iam").get_role(RoleName=ids["Role"])["Role"]
    awslambda = lab.client("lambda")
    (mapping,) = awslambda.list_event_source_mappings(FunctionName="props-tagged")[
        "EventSourceMappings"
    ]
    ssm = lab.client("ssm")
    parameter = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/props/tagged")
    return {
        "role": role.get("Tags"),
        "boundary": role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
        "description": role.get("Description"),
        "topic": lab.client("sns").list_tags_for_resource(ResourceArn=ids["Topic"])["Tags"],
        "parameter": parameter["TagList"],
        "function": awslambda.get_function(FunctionName="props-tagged").get("Tags"),
        "mapping": awslambda.list_tags(Resource=mapping["EventSourceMappingArn"])["Tags"],
    }


def _changes(lab: Lab) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="closed", TemplateBody=CLOSED, Capabilities=["CAPABILITY_IAM"])
    seen["closed_status"] = cfn.describe_stacks(StackName="closed")["Stacks"][0]["StackStatus"]
    seen["closed_reasons"] = " ".join(_failures(lab, "closed"))

    s3 = lab.client("s3")
    _deploy(lab, "dropping", _bucket_stack("props-dropping", FULL_BUCKET))
    seen["versioning_before"] = s3.get_bucket_versioning(Bucket="props-dropping").get("Status")
    _update(lab, "dropping", _bucket_stack("props-dropping", "      Tags: []"))
    seen["versioning_after"] = s3.get_bucket_versioning(Bucket="props-dropping").get("Status")
    seen["accelerate_after"] = s3.get_bucket_accelerate_configuration(Bucket="props-dropping")
    seen["dropped"] = {
        name: _error_of(lambda read=read: read(Bucket="props-dropping"))  # type: ignore[misc]
        for name, read in [
            ("block", s3.get_public_access_block),
            ("website", s3.get_bucket_website),
            ("cors", s3.get_bucket_cors),
            ("tags", s3.get_bucket_tagging),
        ]
    }

    _deploy(lab, "unnamed", UNNAMED.format("      Tags: [{Key: team, Value: shop}]"))
    (resource,) = cfn.describe_stack_resources(StackName="unnamed")["StackResources"]
    name = resource["PhysicalResourceId"]
    _update(lab, "unnamed", UNNAMED.format("      VersioningConfiguration: {Status: Enabled}"))
    seen["unnamed_versioning"] = s3.get_bucket_versioning(Bucket=name).get("Status")
    seen["unnamed_tags"] = _error_of(lambda: s3.get_bucket_tagging(Bucket=name))

    iam = lab.client("iam")
    _deploy(lab, "changing", _role_stack("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"))
    _update(lab, "changing", _role_stack("arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"))
    seen["role_attached"] = iam.list_attached_role_policies(RoleName="props-changing")[
        "AttachedPolicies"
    ]
    seen["role_session"] = iam.get_role(RoleName="props-changing")["Role"]["MaxSessionDuration"]

    _deploy(lab, "tagged", _tagged_stack(1))
    seen["tagged_before"] = _tags_of(lab)
    _update(lab, "tagged", _tagged_stack(2))
    seen["tagged_after"] = _tags_of(lab)
    return seen


@pytest.fixture(scope="module")
def changed() -> Iterator[dict[str, Any]]:
    lab = labkit.start(quiet=True)
    try:
        yield _changes(lab)
    finally:
        lab.stop()


def test_a_notification_to_a_function_s3_may_not_invoke_fails_the_stack(
    changed: dict[str, Any],
) -> None:
    assert changed["closed_status"] == "ROLLBACK_COMPLETE"
    assert (
        "Unable to validate the following destination configurations" in (changed["closed_reasons"])
    )


def test_an_update_that_drops_properties_suspends_versioning_and_removes_the_rest(
    changed: dict[str, Any],
) -> None:
    assert changed["versioning_before"] == "Enabled"
    assert changed["versioning_after"] == "Suspended"
    assert changed["accelerate_after"].get("Status") == "Suspended"
    assert changed["dropped"] == {
        "block": "NoSuchPublicAccessBlockConfiguration",
        "website": "NoSuchWebsiteConfiguration",
        "cors": "NoSuchCORSConfiguration",
        "tags": "NoSuchTagSet",
    }


def test_an_update_of_a_bucket_without_a_name_applies_its_new_properties(
    changed: dict[str, Any],
) -> None:
    assert changed["unnamed_versioning"] == "Enabled"
    assert changed["unnamed_tags"] == "NoSuchTagSet"


def test_a_role_update_changes_its_managed_policies_in_place(changed: dict[str, Any]) -> None:
    assert [p["PolicyName"] for p in changed["role_attached"]] == ["AmazonSQSReadOnlyAccess"]
    assert changed["role_session"] == 7200


def test_an_update_retags_every_type_and_drops_a_removed_boundary(
    changed: dict[str, Any],
) -> None:
    before, after = changed["tagged_before"], changed["tagged_after"]
    assert before["boundary"] == "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    assert before["function"] == {"v": "1", "gone": "soon"}
    assert after["boundary"] is None and after["description"] == "second"
    assert {"Key": "v", "Value": "2"} in after["role"]
    assert {"Key": "v", "Value": "2"} in after["topic"]
    assert {"Key": "v", "Value": "2"} in after["parameter"]
    assert after["function"] == {"v": "2"}  # the tag the template dropped is gone
    assert after["mapping"]["v"] == "2"
