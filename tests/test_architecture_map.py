"""The architecture map's graph (``lab.map()``): each wiring kind makes its edge, a missing
permission or resource shows as broken or missing with its reason, and counts grow as traffic
flows. Every sandbox here is built with boto3 as a learner would build it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from amazondax import AmazonDaxClient
from architecture_support import (
    api_to_function,
    bucket_to_queue,
    function,
    queue,
    queue_to_function,
    site_behind_cloudfront,
    topic_to_queue,
)

from labkit.lab import Lab
from labkit.sandbox import architecture_wiring as wiring
from labkit.sandbox.architecture import (
    BROKEN,
    DENIED_ON_AWS,
    DISABLED,
    MISSING,
    OK,
    ArchitectureMap,
    Edge,
    build_map,
)
from labkit.sandbox.backends import existing_services

ACCOUNT = "123456789012"


def the_map(lab: Lab) -> ArchitectureMap:
    built = build_map(now=lab.clock.timestamp)
    assert built.problems == ()
    return built


def edge(lab: Lab, source: str, target: str) -> Edge:
    found = the_map(lab).edges_between(source, target)
    assert len(found) == 1, found
    return found[0]


def table(lab: Lab, name: str, **extra: Any) -> str:
    ddb = lab.client("dynamodb")
    answer = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    return str(answer["TableDescription"]["TableArn"])


def grant(lab: Lab, role: str, actions: list[str]) -> None:
    """An inline policy on ``role`` allowing ``actions`` on everything."""
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    }
    lab.client("iam").put_role_policy(
        RoleName=role, PolicyName="wiring", PolicyDocument=json.dumps(document)
    )


# -- nodes ----------------------------------------------------------------------------------------
def test_an_empty_sandbox_draws_nothing(lab: Lab) -> None:
    built = the_map(lab)
    assert (built.nodes, built.edges) == ((), ())


def test_nodes_come_from_the_sandbox_with_their_tier_and_region(lab: Lab) -> None:
    queue(lab, "jobs")
    function(lab, "worker")
    lab.client("s3").create_bucket(
        Bucket="eu-photos", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    built = the_map(lab)
    found = {n.name: (n.service, n.tier, n.region) for n in built.nodes}
    assert found == {
        "jobs": ("SQS", "integration", "us-east-1"),
        "worker": ("Lambda", "compute", "us-east-1"),
        "eu-photos": ("S3", "data", "eu-west-1"),
    }
    assert built.regions == ["eu-west-1", "us-east-1"]


# -- SNS ------------------------------------------------------------------------------------------
def test_a_subscription_the_queue_allows_is_an_ok_edge_whose_count_grows(lab: Lab) -> None:
    topic, _ = topic_to_queue(lab)
    first = edge(lab, "orders", "billing")
    assert (first.kind, first.status, first.count) == ("SNS subscription", OK, 0)
    for n in range(3):
        lab.client("sns").publish(TopicArn=topic, Message=f"order {n}")
    later = edge(lab, "orders", "billing")
    assert (later.count, later.flow) == (3, "3 delivered")


def test_a_subscription_without_the_queue_policy_is_broken_with_the_reason(lab: Lab) -> None:
    topic, _ = topic_to_queue(lab, allow=False)
    lab.client("sns").publish(TopicArn=topic, Message="lost")
    broken = edge(lab, "orders", "billing")
    assert broken.status == BROKEN
    assert "no access policy" in broken.reason
    assert broken.count == 0 and "1 failed" in broken.flow


def test_a_subscription_to_a_deleted_queue_shows_the_queue_as_missing(lab: Lab) -> None:
    _, url = topic_to_queue(lab)
    lab.client("sqs").delete_queue(QueueUrl=url)
    built = the_map(lab)
    placeholder = built.named("billing")
    assert placeholder is not None and placeholder.missing
    assert built.edges_between("orders", "billing")[0].status == MISSING


def test_a_lambda_subscription_needs_the_functions_permission(lab: Lab) -> None:
    topic = str(lab.client("sns").create_topic(Name="signups")["TopicArn"])
    fn = function(lab, "welcome")
    lab.client("sns").subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn)
    assert edge(lab, "signups", "welcome").status == BROKEN
    lab.client("lambda").add_permission(
        FunctionName="welcome",
        StatementId="sns",
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
        SourceArn=topic,
    )
    assert edge(lab, "signups", "welcome").status == OK


def test_an_email_subscription_goes_outside_aws(lab: Lab) -> None:
    topic = str(lab.client("sns").create_topic(Name="alerts")["TopicArn"])
    lab.client("sns").subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    outside = the_map(lab).named("ops@example.com")
    assert outside is not None and outside.service == "Outside AWS"
    assert edge(lab, "alerts", "ops@example.com").label == "email"


# -- Lambda ---------------------------------------------------------------------------------------
def test_an_event_source_mapping_counts_its_invocations(lab: Lab) -> None:
    url = queue_to_function(lab)
    grant(lab, "lambda-role", ["sqs:*"])
    assert edge(lab, "jobs", "worker").count == 0
    lab.client("sqs").send_message(QueueUrl=url, MessageBody="job")
    lab.clock.advance(1)
    mapped = edge(lab, "jobs", "worker")
    assert (mapped.kind, mapped.status) == ("event source mapping", OK)
    assert mapped.count is not None and mapped.count >= 1


def test_a_role_without_the_poll_permissions_is_denied_on_aws(lab: Lab) -> None:
    queue_to_function(lab)
    denied = edge(lab, "jobs", "worker")
    assert denied.status == DENIED_ON_AWS
    assert "sqs:ReceiveMessage" in denied.reason and "AWS would refuse" in denied.reason


def test_a_disabled_mapping_is_drawn_disabled(lab: Lab) -> None:
    queue_to_function(lab)
    grant(lab, "lambda-role", ["sqs:*"])
    lam = lab.client("lambda")
    uuid = lam.list_event_source_mappings()["EventSourceMappings"][0]["UUID"]
    lam.update_event_source_mapping(UUID=uuid, Enabled=False)
    assert edge(lab, "jobs", "worker").status == DISABLED


def test_kinesis_and_dynamodb_streams_feed_functions(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    stream = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"]
    table(lab, "users", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    users_stream = lab.client("dynamodb").describe_table(TableName="users")["Table"][
        "LatestStreamArn"
    ]
    function(lab, "counter")
    function(lab, "welcome")
    lam = lab.client("lambda")
    lam.create_event_source_mapping(
        EventSourceArn=stream, FunctionName="counter", StartingPosition="LATEST"
    )
    lam.create_event_source_mapping(
        EventSourceArn=users_stream, FunctionName="welcome", StartingPosition="LATEST"
    )
    built = the_map(lab)
    assert built.edges_between("clicks", "counter")[0].kind == "event source mapping"
    changes = built.edges_between("users", "users stream")[0]
    assert (changes.kind, changes.count) == ("DynamoDB stream", 0)
    lab.client("dynamodb").put_item(TableName="users", Item={"id": {"S": "u1"}})
    assert edge(lab, "users", "users stream").count == 1
    assert built.edges_between("users stream", "welcome")[0].kind == "event source mapping"


def test_destinations_and_dead_letter_queues_are_edges_from_the_function(lab: Lab) -> None:
    _, failed = queue(lab, "failed")
    _, dead = queue(lab, "dead")
    fn = function(lab, "sender")
    lam = lab.client("lambda")
    lam.put_function_event_invoke_config(
        FunctionName="sender", DestinationConfig={"OnFailure": {"Destination": failed}}
    )
    lam.update_function_configuration(FunctionName=fn, DeadLetterConfig={"TargetArn": dead})
    built = the_map(lab)
    assert built.edges_between("sender", "failed")[0].label == "on-failure"
    assert built.edges_between("sender", "dead")[0].kind == "Lambda dead-letter queue"


# -- S3 -------------------------------------------------------------------------------------------
def test_a_bucket_notification_to_a_queue_is_an_ok_edge(lab: Lab) -> None:
    bucket_to_queue(lab)
    notified = edge(lab, "uploads", "uploaded")
    assert (notified.kind, notified.status, notified.label) == (
        "S3 event notification",
        OK,
        "s3:ObjectCreated:*",
    )


def test_a_queue_policy_removed_after_the_notification_breaks_the_edge(lab: Lab) -> None:
    url = bucket_to_queue(lab)
    lab.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    assert edge(lab, "uploads", "uploaded").status == BROKEN


def test_a_bucket_notifying_a_function_counts_its_invocations(lab: Lab) -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="photos")
    fn = function(lab, "thumbnail")
    lab.client("lambda").add_permission(
        FunctionName="thumbnail",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::photos",
    )
    s3.put_bucket_notification_configuration(
        Bucket="photos",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": fn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    assert edge(lab, "photos", "thumbnail").count == 0
    s3.put_object(Bucket="photos", Key="a.jpg", Body=b"x")
    lab.clock.advance(1)
    assert edge(lab, "photos", "thumbnail").count == 1


# -- CloudFront, API Gateway, Cognito ------------------------------------------------------------
def test_a_cloudfront_origin_with_oac_is_allowed_by_the_bucket_policy(lab: Lab) -> None:
    site_behind_cloudfront(lab)
    built = the_map(lab)
    dist = next(n for n in built.nodes if n.service == "CloudFront")
    assert dist.tier == "edge" and dist.region == "global"
    origin = built.edges_between(dist.id, "site")[0]
    assert (origin.label, origin.status) == ("S3 (OAC)", OK)


def test_a_cloudfront_origin_without_the_bucket_policy_is_broken(lab: Lab) -> None:
    site_behind_cloudfront(lab)
    lab.client("s3").delete_bucket_policy(Bucket="site")
    built = the_map(lab)
    dist = next(n for n in built.nodes if n.service == "CloudFront")
    origin = built.edges_between(dist.id, "site")[0]
    assert origin.status == BROKEN and origin.reason


def test_an_api_integration_counts_requests_and_checks_the_permission(lab: Lab) -> None:
    api = api_to_function(lab)
    assert edge(lab, "shop", "api-handler").status == OK
    for _ in range(2):
        requests.get(f"https://{api}.execute-api.us-east-1.amazonaws.com/prod/orders")
    integration = edge(lab, "shop", "api-handler")
    assert (integration.label, integration.count) == ("GET /orders", 2)


def test_an_api_integration_without_the_permission_is_denied_on_aws(lab: Lab) -> None:
    api_to_function(lab, permit=False)
    assert edge(lab, "shop", "api-handler").status == DENIED_ON_AWS


def test_a_cognito_authorizer_is_an_edge_to_its_user_pool(lab: Lab) -> None:
    api = api_to_function(lab)
    pool = lab.client("cognito-idp").create_user_pool(PoolName="customers")["UserPool"]["Arn"]
    lab.client("apigateway").create_authorizer(
        restApiId=api,
        name="users",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool],
        identitySource="method.request.header.Authorization",
    )
    authorizer = edge(lab, "shop", "customers")
    assert (authorizer.kind, authorizer.status) == ("API Gateway authorizer", OK)


# -- Step Functions, DynamoDB, DAX, Firehose ----------------------------------------------------
def test_step_functions_tasks_point_at_their_resources(lab: Lab) -> None:
    fn = function(lab, "charge")
    role = lab.client("iam").get_role(RoleName="lambda-role")["Role"]["Arn"]
    definition = {
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": fn},
                "Next": "Ship",
            },
            "Ship": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "ship"},
                "End": True,
            },
        },
    }
    lab.client("stepfunctions").create_state_machine(
        name="checkout", roleArn=role, definition=json.dumps(definition)
    )
    built = the_map(lab)
    charge = built.edges_between("checkout", "charge")[0]
    assert (charge.label, charge.status) == ("Charge", DENIED_ON_AWS)
    assert built.edges_between("checkout", "ship")[0].status == MISSING
    grant(lab, "lambda-role", ["lambda:InvokeFunction"])
    assert edge(lab, "checkout", "charge").status == OK


def test_a_global_table_replica_counts_replicated_writes(lab: Lab) -> None:
    table(
        lab,
        "carts",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb = lab.client("dynamodb")
    ddb.update_table(TableName="carts", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
    built = the_map(lab)
    east = next(n for n in built.nodes if n.name == "carts" and n.region == "us-east-1")
    west = next(n for n in built.nodes if n.name == "carts" and n.region == "eu-west-1")
    replica = built.edges_between(east.id, west.id)[0]
    assert replica.kind == "global table replica" and replica.count == 0
    ddb.put_item(TableName="carts", Item={"id": {"S": "c1"}})
    lab.clock.advance(10)
    again = the_map(lab).edges_between(east.id, west.id)[0]
    assert again.count == 1


def test_a_dax_cluster_points_at_the_tables_it_served(lab: Lab) -> None:
    table(lab, "profiles")
    dax = lab.client("dax")
    dax.create_cluster(
        ClusterName="cache",
        NodeType="dax.t3.small",
        ReplicationFactor=1,
        IamRoleArn=f"arn:aws:iam::{ACCOUNT}:role/dax",
    )
    url = dax.describe_clusters(ClusterNames=["cache"])["Clusters"][0]
    client = AmazonDaxClient(endpoint_url=url["ClusterDiscoveryEndpoint"]["URL"])
    for _ in range(2):
        client.get_item(TableName="profiles", Key={"id": {"S": "p1"}})
    served = edge(lab, "cache", "profiles")
    assert (served.kind, served.count) == ("DAX cache", 2)


def test_firehose_reads_its_stream_and_writes_its_bucket(lab: Lab) -> None:
    lab.client("s3").create_bucket(Bucket="archive")
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="events", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="events")["StreamDescription"]["StreamARN"]
    role = f"arn:aws:iam::{ACCOUNT}:role/firehose"
    lab.client("firehose").create_delivery_stream(
        DeliveryStreamName="to-archive",
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": role},
        ExtendedS3DestinationConfiguration={"BucketARN": "arn:aws:s3:::archive", "RoleARN": role},
    )
    built = the_map(lab)
    assert built.edges_between("events", "to-archive")[0].kind == "Firehose source"
    kinesis.put_record(StreamName="events", Data=b"click", PartitionKey="k")
    lab.clock.advance(1)
    assert edge(lab, "events", "to-archive").count == 1
    assert built.edges_between("to-archive", "archive")[0].status == OK


def test_the_map_reads_the_same_twice(lab: Lab) -> None:
    topic_to_queue(lab)
    queue_to_function(lab)
    assert the_map(lab) == the_map(lab)


def test_step_functions_task_counts_grow_with_executions(lab: Lab) -> None:
    fn = function(lab, "charge")
    grant(lab, "lambda-role", ["lambda:InvokeFunction"])
    role = lab.client("iam").get_role(RoleName="lambda-role")["Role"]["Arn"]
    definition = {
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": fn},
                "End": True,
            }
        },
    }
    sfn = lab.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="checkout", roleArn=role, definition=json.dumps(definition)
    )["stateMachineArn"]
    assert edge(lab, "checkout", "charge").count == 0
    for _ in range(2):
        sfn.start_execution(stateMachineArn=machine, input="{}")
    lab.clock.advance(5)
    assert edge(lab, "checkout", "charge").count == 2


def test_an_identity_pool_trusts_its_user_pool(lab: Lab) -> None:
    pool = lab.client("cognito-idp").create_user_pool(PoolName="customers")["UserPool"]
    client = lab.client("cognito-idp").create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="app"
    )["UserPoolClient"]
    lab.client("cognito-identity").create_identity_pool(
        IdentityPoolName="app_identities",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[
            {
                "ProviderName": f"cognito-idp.us-east-1.amazonaws.com/{pool['Id']}",
                "ClientId": client["ClientId"],
            }
        ],
    )
    trusted = edge(lab, "app_identities", "customers")
    assert (trusted.kind, trusted.status) == ("identity provider", OK)


def test_an_ses_identity_points_at_its_notification_topic(lab: Lab) -> None:
    ses = lab.client("ses")
    ses.verify_email_identity(EmailAddress="shop@example.com")
    topic = str(lab.client("sns").create_topic(Name="bounces")["TopicArn"])
    ses.set_identity_notification_topic(
        Identity="shop@example.com", NotificationType="Bounce", SnsTopic=topic
    )
    built = the_map(lab)
    identity = built.named("shop@example.com")
    assert identity is not None and identity.service == "SES"
    notified = built.edges_between("shop@example.com", "bounces")
    assert [(e.kind, e.label) for e in notified] == [("SES notification", "Bounce")]


def test_an_api_integration_to_sqs_is_an_edge_to_the_queue(lab: Lab) -> None:
    queue(lab, "orders")
    apig = lab.client("apigateway")
    api = str(apig.create_rest_api(name="intake")["id"])
    root = apig.get_resources(restApiId=api)["items"][0]["id"]
    apig.put_method(restApiId=api, resourceId=root, httpMethod="POST", authorizationType="NONE")
    apig.put_integration(
        restApiId=api,
        resourceId=root,
        httpMethod="POST",
        type="AWS",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:sqs:path/{ACCOUNT}/orders",
        credentials=f"arn:aws:iam::{ACCOUNT}:role/apigateway-sqs",
    )
    integration = edge(lab, "intake", "orders")
    assert (integration.kind, integration.label) == ("API Gateway integration", "POST /")
    assert integration.status == BROKEN and "apigateway-sqs" in integration.reason
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "apigateway.amazonaws.com"},
            }
        ],
    }
    iam = lab.client("iam")
    iam.create_role(RoleName="apigateway-sqs", AssumeRolePolicyDocument=json.dumps(trust))
    policy = iam.create_policy(
        PolicyName="send-orders",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="apigateway-sqs", PolicyArn=policy)
    assert edge(lab, "intake", "orders").status == OK


def test_an_accelerator_points_at_its_endpoints_in_their_regions(lab: Lab) -> None:
    ga = lab.client("globalaccelerator", region="us-west-2")
    accelerator = ga.create_accelerator(Name="web", IdempotencyToken="a")["Accelerator"]
    listener = ga.create_listener(
        AcceleratorArn=accelerator["AcceleratorArn"],
        PortRanges=[{"FromPort": 80, "ToPort": 80}],
        Protocol="TCP",
        IdempotencyToken="l",
    )["Listener"]["ListenerArn"]
    for region, instance, dial in (("us-east-1", "i-0aaaa", 100.0), ("eu-west-1", "i-0bbbb", 0.0)):
        ga.create_endpoint_group(
            ListenerArn=listener,
            EndpointGroupRegion=region,
            IdempotencyToken=region,
            TrafficDialPercentage=dial,
            EndpointConfigurations=[{"EndpointId": instance}],
        )
    built = the_map(lab)
    web = built.named("web")
    assert web is not None and web.tier == "edge"
    east, west = built.named("i-0aaaa"), built.named("i-0bbbb")
    assert east is not None and west is not None
    assert (east.region, west.region) == ("us-east-1", "eu-west-1")
    assert built.edges_between("web", "i-0aaaa")[0].status == OK
    assert built.edges_between("web", "i-0bbbb")[0].status == DISABLED


def test_a_queue_of_another_account_is_not_drawn_as_missing(lab: Lab) -> None:
    topic = str(lab.client("sns").create_topic(Name="orders")["TopicArn"])
    lab.client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:111122223333:partner"
    )
    partner = the_map(lab).named("partner")
    assert partner is not None and not partner.missing
    assert "111122223333" in partner.detail


def test_reading_the_map_creates_no_backend(lab: Lab) -> None:
    topic_to_queue(lab)
    api_to_function(lab)
    before = sorted((s, r) for s, r, _ in existing_services())
    the_map(lab)
    assert sorted((s, r) for s, r, _ in existing_services()) == before


def test_wiring_labkit_cannot_read_is_reported_and_the_rest_drawn(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic_to_queue(lab)
    queue_to_function(lab)

    def broken_reader(_: Any) -> None:
        raise AttributeError("moto moved it")

    monkeypatch.setattr(wiring, "READERS", (broken_reader, *wiring.READERS[1:]))
    built = build_map()
    assert built.problems == ("broken reader: AttributeError('moto moved it')",)
    assert built.edges_between("jobs", "worker") and not built.edges_between("orders", "billing")


def test_a_count_from_a_full_log_says_how_much_the_log_keeps(lab: Lab) -> None:
    from labkit.services.sns.patch_log import LOG_SIZE

    topic, _ = topic_to_queue(lab)
    for n in range(LOG_SIZE + 5):
        lab.client("sns").publish(TopicArn=topic, Message=str(n))
    counted = edge(lab, "orders", "billing")
    assert counted.count == LOG_SIZE
    assert f"in the last {LOG_SIZE} of {LOG_SIZE + 5} messages" in counted.flow
