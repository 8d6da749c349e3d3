"""labkit grade on the capstone: sample submissions, and the checks fed directly.

Each sample in tests/submissions/capstone/ is a jupytext percent file of a notebook a learner
might hand in, graded in a fresh kernel as `labkit grade` does. Many more alternatives and
mistakes are fed to the checks directly (the solution's functions, some replaced, in a namespace
without a kernel), which is quicker: every correct alternative must pass every check, and every
plausible mistake must fail with a hint that names what happened.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import FunctionType
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from grading_support import grade_samples, said, statuses

import labkit
from labkit.grading.notebook import Submission
from labkit.lab import Lab
from labkit.labs import catalog

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "09_capstone.py"
SAMPLES = Path(__file__).resolve().parent / "submissions" / "capstone"
CHECKS = [
    "sign_up_and_order",
    "welcome_email",
    "dax_reads",
    "region_failure",
    "accelerated_upload",
    "website",
    "monthly_cost",
    "slowest_user",
    "no_weak_spots",
]
REGION, ACCOUNT = "us-east-1", "123456789012"


def reference() -> dict[str, Any]:
    """The solution's functions, defined from its source (the lab start and the "Try it" cells
    left out), with their source lines intact so that they can be deployed."""
    source = SOLUTION.read_text(encoding="utf-8")
    head = source.split("# %% [markdown]\n# Try it: build the shop here", 1)[0]
    head = head.replace('lab = labkit.start("capstone")', "lab = None")
    namespace: dict[str, Any] = {"__name__": "capstone_reference"}
    exec(compile(head, str(SOLUTION), "exec"), namespace)
    return namespace


GOOD = reference()


@pytest.fixture
def capstone() -> Iterator[Lab]:
    lab = labkit.start("capstone", quiet=True)
    yield lab
    lab.stop()


def run(lab: Lab, check: str, **changes: Any) -> tuple[str, str]:
    """The check's status and what it said, on the reference answers with ``changes``."""
    namespace = {**GOOD, **changes}
    result = lab.check(check, namespace)
    return result.status, f"{result.message} Hint: {result.hint}"


def test_the_capstone_comes_after_the_serverless_api_lab() -> None:
    labs = list(catalog())
    assert labs.index("capstone") == labs.index("serverless_api") + 1
    assert [c.name for c in catalog()["capstone"].checks] == CHECKS


def test_the_reference_answers_pass_every_check(capstone: Lab) -> None:
    for check in CHECKS:
        status, text = run(capstone, check)
        assert status == "passed", (check, text)


# -- the sample notebooks -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


@pytest.mark.parametrize("sample", ["passing_alternative", "passing_found"])
def test_correct_samples_pass_every_check(graded: dict[str, Submission], sample: str) -> None:
    sub = graded[sample]
    assert sub.error is None and not sub.notes, sub.text()
    assert statuses(sub) == dict.fromkeys(CHECKS, "passed"), sub.text()
    assert sub.score == sub.max_score == 12


def test_an_open_single_region_shop_fails_every_check_with_its_hint(
    graded: dict[str, Submission],
) -> None:
    sub = graded["open_single_region"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), sub.text()
    assert "with no token at all answered 201" in said(sub, "sign_up_and_order")
    assert "ProductionAccessEnabled=True" in said(sub, "welcome_email")
    assert "DAX served none of them" in said(sub, "dax_reads")
    assert "lives in us-east-1 only" in said(sub, "region_failure")
    assert "went straight to the bucket's Region" in said(sub, "accelerated_upload")
    assert "is public" in said(sub, "website")
    assert "the largest line is DAX" in said(sub, "monthly_cost")
    assert "PriceClass_100" in said(sub, "slowest_user")
    assert "Single point of failure: the orders table" in said(sub, "no_weak_spots")


# -- alternatives written unlike the solution ---------------------------------------------------
def users_by_username(aws: Any) -> tuple[str, str]:
    """Usernames that are not emails (the email only an attribute), the pool named by ARN."""
    idp = aws.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="people", AutoVerifiedAttributes=["email"])["UserPool"]
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="phones", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]
    return pool["Arn"], client["ClientId"]


def orders_by_resource(aws: Any) -> str:
    """The table made through the resource API, its replica in us-west-2 added later with
    the client, returned as an ARN."""
    made = aws.resource("dynamodb").create_table(
        TableName="shop-orders",
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws.client("dynamodb").update_table(
        TableName="shop-orders", ReplicaUpdates=[{"Create": {"RegionName": "us-west-2"}}]
    )
    return str(made.table_arn)


def orders_handler_low_level(event: Any, context: Any) -> Any:
    """The client API with typed attributes; the owner kept as the user's `sub`."""
    client = boto3.client("dynamodb")
    table = os.environ["ORDERS_TABLE"].rsplit("/", 1)[-1]
    claims = event["requestContext"]["authorizer"]["claims"]
    if event["httpMethod"] == "POST":
        order_id = "o-" + context.aws_request_id[:8]
        client.put_item(
            TableName=table,
            Item={"order_id": {"S": order_id}, "owner": {"S": claims["sub"]}},
        )
        return {"statusCode": 201, "body": json.dumps({"order_id": order_id})}
    found = client.get_item(TableName=table, Key={"order_id": {"S": event["pathParameters"]["id"]}})
    item = found.get("Item")
    if not item or item["owner"]["S"] != claims["sub"]:
        return {"statusCode": 403, "body": "{}"}
    return {"statusCode": 200, "body": json.dumps({"order_id": item["order_id"]["S"]})}


def api_on_v1_returning_url(aws: Any, pool: str, table_name: str) -> str:
    """One stage, `v1`; the function deployed by name; the API returned as its invoke URL."""
    pool_arn = (
        pool
        if pool.startswith("arn:")
        else f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool}"
    )
    function = aws.deploy_function(
        orders_handler_low_level, "shop-orders-api", environment={"ORDERS_TABLE": table_name}
    )
    aws.client("lambda").add_permission(
        FunctionName="shop-orders-api",
        StatementId="api",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    apig = aws.client("apigateway")
    api = apig.create_rest_api(name="orders-api", endpointConfiguration={"types": ["REGIONAL"]})
    authorizer = apig.create_authorizer(
        restApiId=api["id"],
        name="pool",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool_arn],
        identitySource="method.request.header.Authorization",
    )["id"]
    root = api["rootResourceId"]
    orders = apig.create_resource(restApiId=api["id"], parentId=root, pathPart="orders")["id"]
    one = apig.create_resource(restApiId=api["id"], parentId=orders, pathPart="{id}")["id"]
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function}/invocations"
    for resource, verb in ((one, "GET"), (orders, "POST")):
        apig.put_method(
            restApiId=api["id"],
            resourceId=resource,
            httpMethod=verb,
            authorizationType="COGNITO_USER_POOLS",
            authorizerId=authorizer,
        )
        apig.put_integration(
            restApiId=api["id"],
            resourceId=resource,
            httpMethod=verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=uri,
        )
    apig.create_deployment(restApiId=api["id"], stageName="v1")
    return f"https://{api['id']}.execute-api.{REGION}.amazonaws.com/v1"


def welcome_v2(event: Any, context: Any) -> None:
    """SES's v2 API, HTML and text."""
    mail = boto3.client("sesv2")
    for record in event["Records"]:
        image = record["dynamodb"].get("NewImage")
        if record["eventName"] == "INSERT" and image:
            mail.send_email(
                FromEmailAddress="Shop <hello@shop.example>",
                Destination={"ToAddresses": [image["email"]["S"]]},
                Content={
                    "Simple": {
                        "Subject": {"Data": "Welcome!"},
                        "Body": {"Html": {"Data": "<p>Welcome</p>"}, "Text": {"Data": "Welcome"}},
                    }
                },
            )


def welcome_keyed_by_email(aws: Any) -> str:
    """The users table keyed by email, a managed policy for the role, SES set up with v2."""
    table = aws.client("dynamodb").create_table(
        TableName="profiles",
        KeySchema=[{"AttributeName": "email", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "email", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    iam = aws.client("iam")
    role = iam.create_role(
        RoleName="mailer",
        AssumeRolePolicyDocument=GOOD["trust"]("lambda.amazonaws.com"),
    )["Role"]
    policy = iam.create_policy(
        PolicyName="mailer",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["ses:SendEmail"], "Resource": "*"},
                    {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
                ],
            }
        ),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="mailer", PolicyArn=policy)
    ses = aws.client("sesv2")
    ses.create_email_identity(EmailIdentity="hello@shop.example")
    ses.put_account_details(
        MailType="TRANSACTIONAL",
        WebsiteURL="https://shop.example",
        UseCaseDescription="welcome",
        ProductionAccessEnabled=True,
    )
    function = aws.deploy_function(welcome_v2, "mailer")
    aws.client("lambda").update_function_configuration(FunctionName="mailer", Role=role["Arn"])
    aws.client("lambda").create_event_source_mapping(
        EventSourceArn=table["LatestStreamArn"],
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        BatchSize=1,
    )
    return str(table["LatestStreamArn"])


def read_order_batched(dax: Any, order_id: str) -> Any:
    """BatchGetItem through DAX (its item cache answers batches too)."""
    found = dax.batch_get_item(RequestItems={"shop-orders": {"Keys": [{"order_id": order_id}]}})
    items = found["Responses"].get("shop-orders", [])
    return items[0] if items else None


def get_order_connection_errors(regions: Any, order_id: str) -> Any:
    """Only connection failures move on; the table named by the Region's own ARN."""
    for region, resource in regions.items():
        try:
            return resource.Table("shop-orders").get_item(Key={"order_id": order_id})["Item"]
        except EndpointConnectionError:
            print(region, "is down")
    raise RuntimeError("no Region answered")


def upload_fileobj_accelerated(aws: Any, bucket: str, key: str, body: bytes) -> None:
    """The managed transfer, through an accelerated client."""
    s3 = aws.client("s3", config=Config(s3={"use_accelerate_endpoint": True}))
    s3.upload_fileobj(io.BytesIO(body), bucket, key)


def build_alternative(aws: Any) -> dict[str, Any]:
    pool, client = users_by_username(aws)
    orders = orders_by_resource(aws)
    uploads = GOOD["create_uploads"](aws)
    website = GOOD["create_website"](aws)
    dax = aws.client("dax").create_cluster(
        ClusterName="shop-cache",
        NodeType="dax.t3.small",
        ReplicationFactor=3,
        IamRoleArn=f"arn:aws:iam::{ACCOUNT}:role/DAXServiceRole",
    )["Cluster"]
    distribution = aws.client("cloudfront").get_distribution(Id=website)["Distribution"]
    return {
        "user_pool": pool,
        "client": {"ClientId": client},
        "orders": orders,
        "api": api_on_v1_returning_url(aws, pool, orders),
        "users": welcome_keyed_by_email(aws),
        "dax": dax["ClusterArn"],
        "website": distribution["DomainName"],
        "uploads": f"arn:aws:s3:::{uploads}",
    }


ALTERNATIVE = {
    "build": build_alternative,
    "read_order": read_order_batched,
    "get_order": get_order_connection_errors,
    "upload_photo": upload_fileobj_accelerated,
}


def build_saying_little(aws: Any) -> dict[str, Any]:
    """Only the two tables named (both have streams): the rest is found in the sandbox."""
    built = GOOD["build"](aws)
    return {"orders": built["orders"], "users": built["users"]}


@pytest.mark.parametrize("check", CHECKS)
def test_an_alternative_in_other_spellings_passes(capstone: Lab, check: str) -> None:
    status, text = run(capstone, check, **ALTERNATIVE)
    assert status == "passed", text


@pytest.mark.parametrize("check", ["sign_up_and_order", "dax_reads", "website", "monthly_cost"])
def test_parts_left_out_are_found_in_the_sandbox(capstone: Lab, check: str) -> None:
    status, text = run(capstone, check, build=build_saying_little)
    assert status == "passed", text


# -- mistakes -------------------------------------------------------------------------------------
def swap(**changes: Any) -> dict[str, Any]:
    """The reference answers with ``changes``: every reference function is re-made on the new
    namespace, so that ``build`` (and ``create_api``...) call the replaced tasks and handlers."""
    namespace = dict(GOOD)
    namespace.update(changes)
    for name, value in GOOD.items():
        if name in changes or not isinstance(value, FunctionType) or value.__globals__ is not GOOD:
            continue
        remade = FunctionType(value.__code__, namespace, value.__name__, value.__defaults__)
        remade.__doc__ = value.__doc__
        namespace[name] = remade
    return namespace


def check_with(lab: Lab, check: str, namespace: dict[str, Any]) -> tuple[str, str]:
    result = lab.check(check, namespace)
    return result.status, f"{result.message} Hint: {result.hint}"


def open_orders_handler(event: Any, context: Any) -> Any:
    """Reads claims if there are any: with no authorizer, anyone orders as a guest."""
    claims = (event["requestContext"].get("authorizer") or {}).get("claims") or {}
    order = {"order_id": context.aws_request_id, "user": claims.get("email", "guest")}
    boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"]).put_item(Item=order)
    return {"statusCode": 201, "body": json.dumps(order)}


def open_api(aws: Any, pool_id: str, table_name: str) -> str:
    function = aws.deploy_function(
        open_orders_handler, "orders", environment={"ORDERS_TABLE": table_name}
    )
    aws.client("lambda").add_permission(
        FunctionName=function,
        StatementId="api",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    apig = aws.client("apigateway")
    api = apig.create_rest_api(name="shop")
    orders = apig.create_resource(
        restApiId=api["id"], parentId=api["rootResourceId"], pathPart="orders"
    )["id"]
    apig.put_method(
        restApiId=api["id"], resourceId=orders, httpMethod="POST", authorizationType="NONE"
    )
    apig.put_integration(
        restApiId=api["id"],
        resourceId=orders,
        httpMethod="POST",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=GOOD["lambda_uri"](function),
    )
    apig.create_deployment(restApiId=api["id"], stageName="prod")
    return str(api["id"])


def everyones_orders_handler(event: Any, context: Any) -> Any:
    """Any signed-in user reads any order."""
    orders = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])
    if event["httpMethod"] == "POST":
        order = {"order_id": context.aws_request_id, "user": "someone"}
        orders.put_item(Item=order)
        return {"statusCode": 201, "body": json.dumps(order)}
    order = orders.get_item(Key={"order_id": event["pathParameters"]["id"]}).get("Item")
    return {"statusCode": 200, "body": json.dumps(order)}


def pool_without_codes(aws: Any) -> tuple[str, str]:
    idp = aws.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="shop", UsernameAttributes=["email"])["UserPool"]
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]
    return pool["Id"], client["ClientId"]


def pool_without_password_flow(aws: Any) -> tuple[str, str]:
    idp = aws.client("cognito-idp")
    pool = idp.create_user_pool(
        PoolName="shop", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="app", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"]
    )["UserPoolClient"]
    return pool["Id"], client["ClientId"]


def test_no_authorizer_lets_anyone_order(capstone: Lab) -> None:
    status, text = check_with(capstone, "sign_up_and_order", swap(create_api=open_api))
    assert status == "failed"
    assert "with no token at all answered 201" in text
    assert "COGNITO_USER_POOLS" in text


def test_a_handler_that_answers_every_user_shows_ana_s_order_to_ben(capstone: Lab) -> None:
    status, text = check_with(
        capstone, "sign_up_and_order", swap(orders_handler=everyones_orders_handler)
    )
    assert status == "failed"
    assert "ben@example.com, signed in, read ana@example.com's order" in text
    assert "answer 404" in text


def test_a_pool_that_mails_no_code_leaves_users_unconfirmed(capstone: Lab) -> None:
    status, text = check_with(capstone, "sign_up_and_order", swap(create_users=pool_without_codes))
    assert status == "failed"
    assert "sent no confirmation code" in text
    assert "AutoVerifiedAttributes" in text


def test_a_client_without_the_password_flow_cannot_sign_users_in(capstone: Lab) -> None:
    status, text = check_with(
        capstone, "sign_up_and_order", swap(create_users=pool_without_password_flow)
    )
    assert status == "failed"
    assert "could not sign in with a password" in text
    assert "ALLOW_USER_PASSWORD_AUTH" in text


# -- welcome email mistakes -----------------------------------------------------------------------
def welcome_setup(
    aws: Any, *, production: bool = True, send: bool = True, mapping: bool = True
) -> str:
    """The reference's welcome wiring, with one piece left out."""
    users = aws.client("dynamodb").create_table(
        TableName="users",
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    iam = aws.client("iam")
    role = iam.create_role(
        RoleName="welcome", AssumeRolePolicyDocument=GOOD["trust"]("lambda.amazonaws.com")
    )["Role"]["Arn"]
    actions = ["dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream"]
    actions += ["dynamodb:ListStreams"] + (["ses:SendEmail"] if send else [])
    iam.put_role_policy(
        RoleName="welcome",
        PolicyName="welcome",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
            }
        ),
    )
    aws.client("ses").verify_email_identity(EmailAddress=GOOD["SENDER"])
    if production:
        aws.client("sesv2").put_account_details(
            MailType="TRANSACTIONAL",
            WebsiteURL="https://shop.example",
            UseCaseDescription="welcome",
            ProductionAccessEnabled=True,
        )
    function = aws.deploy_function(
        GOOD["welcome_handler"], "welcome", constants={"SENDER": GOOD["SENDER"]}
    )
    aws.client("lambda").update_function_configuration(FunctionName=function, Role=role)
    if mapping:
        aws.client("lambda").create_event_source_mapping(
            EventSourceArn=users["LatestStreamArn"],
            FunctionName=function,
            StartingPosition="LATEST",
        )
    return "users"


def test_still_in_the_ses_sandbox_mail_to_new_users_is_refused(capstone: Lab) -> None:
    status, text = check_with(
        capstone,
        "welcome_email",
        swap(create_welcome=lambda aws: welcome_setup(aws, production=False)),
    )
    assert status == "failed"
    assert "failed: MessageRejected" in text
    assert "ProductionAccessEnabled=True" in text


def test_a_role_without_ses_send_email_would_be_refused_on_aws(capstone: Lab) -> None:
    status, text = check_with(
        capstone, "welcome_email", swap(create_welcome=lambda aws: welcome_setup(aws, send=False))
    )
    assert status == "failed"
    assert "the function's role may not send it" in text
    assert "not allowed ses:SendEmail" in text


def test_no_event_source_mapping_means_no_function_hears_of_new_users(capstone: Lab) -> None:
    status, text = check_with(
        capstone,
        "welcome_email",
        swap(create_welcome=lambda aws: welcome_setup(aws, mapping=False)),
    )
    assert status == "failed"
    assert "No event source mapping reads the stream of `users`" in text
    assert "create_event_source_mapping" in text


def welcome_on_modify(event: Any, context: Any) -> None:
    """Sends only when a profile changes: a new user never hears."""
    ses = boto3.client("ses")
    for record in event["Records"]:
        if record["eventName"] == "MODIFY":
            ses.send_email(
                Source="welcome@shop.example",
                Destination={"ToAddresses": [record["dynamodb"]["NewImage"]["email"]["S"]]},
                Message={"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hi"}}},
            )


def test_a_handler_that_skips_inserts_sends_nothing(capstone: Lab) -> None:
    status, text = check_with(capstone, "welcome_email", swap(welcome_handler=welcome_on_modify))
    assert status == "failed"
    assert "no welcome email had reached her" in text
    assert "Send on `INSERT` records" in text


# -- DAX, Regions, uploads --------------------------------------------------------------------
def read_order_straight(dax: Any, order_id: str) -> Any:
    """DynamoDB itself, past the cache."""
    found = boto3.resource("dynamodb", region_name=REGION).Table("orders")
    return found.get_item(Key={"order_id": order_id}).get("Item")


def read_order_response(dax: Any, order_id: str) -> Any:
    return dax.Table("orders").get_item(Key={"order_id": order_id})


def test_reads_straight_to_dynamodb_get_no_help_from_dax(capstone: Lab) -> None:
    status, text = check_with(capstone, "dax_reads", swap(read_order=read_order_straight))
    assert status == "failed"
    assert "DAX served none of them" in text
    assert "not a DynamoDB client" in text


def test_the_whole_response_is_not_the_order(capstone: Lab) -> None:
    status, text = check_with(capstone, "dax_reads", swap(read_order=read_order_response))
    assert status == "failed"
    assert "the whole `get_item` response" in text


def orders_in_one_region(aws: Any) -> str:
    aws.client("dynamodb").create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return "orders"


def get_order_home_only(regions: Any, order_id: str) -> Any:
    return next(iter(regions.values())).Table("orders").get_item(Key={"order_id": order_id})["Item"]


def test_one_region_only_has_nowhere_to_fail_over(capstone: Lab) -> None:
    namespace = swap(create_orders_table=orders_in_one_region)
    status, text = check_with(capstone, "region_failure", namespace)
    assert status == "failed"
    assert "lives in us-east-1 only" in text and "ReplicaUpdates" in text
    status, text = check_with(capstone, "no_weak_spots", namespace)
    assert status == "failed"
    assert "Single point of failure: the orders table" in text


def test_reading_the_home_region_only_fails_with_it(capstone: Lab) -> None:
    status, text = check_with(capstone, "region_failure", swap(get_order=get_order_home_only))
    assert status == "failed"
    assert "raised EndpointConnectionError" in text
    assert "Try the Regions in the order given" in text


def upload_straight(aws: Any, bucket: str, key: str, body: bytes) -> None:
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def uploads_not_accelerated(aws: Any) -> str:
    aws.client("s3").create_bucket(Bucket="shop-photo-uploads")
    return "shop-photo-uploads"


def public_uploads(aws: Any) -> str:
    bucket = GOOD["create_uploads"](aws)
    aws.client("s3").put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ],
            }
        ),
    )
    return str(bucket)


def test_an_upload_straight_to_the_region_is_not_accelerated(capstone: Lab) -> None:
    status, text = check_with(capstone, "accelerated_upload", swap(upload_photo=upload_straight))
    assert status == "failed"
    assert "went straight to the bucket's Region" in text
    assert "use_accelerate_endpoint" in text


def test_the_accelerate_endpoint_refuses_a_bucket_without_acceleration(capstone: Lab) -> None:
    status, text = check_with(
        capstone, "accelerated_upload", swap(create_uploads=uploads_not_accelerated)
    )
    assert status == "failed"
    assert "Transfer Acceleration is not configured on this bucket" in text
    assert "put_bucket_accelerate_configuration" in text


def test_public_uploads_are_anyones_photos(capstone: Lab) -> None:
    namespace = swap(create_uploads=public_uploads)
    status, text = check_with(capstone, "accelerated_upload", namespace)
    assert status == "failed"
    assert "Anyone can read Ana's photo" in text
    status, text = check_with(capstone, "no_weak_spots", namespace)
    assert status == "failed"
    assert "The bucket `shop-photo-uploads` is public" in text


# -- the website and the design --------------------------------------------------------------
def website_with(
    aws: Any, *, public: bool = False, policy: bool = True, oac: bool = True, **config: Any
) -> str:
    """The reference website, its bucket also public, or without CloudFront's statement, or
    with other distribution settings."""
    s3, cf = aws.client("s3"), aws.client("cloudfront")
    s3.create_bucket(Bucket="site-files")
    control = cf.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": "site",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )["OriginAccessControl"]["Id"]
    site = cf.create_distribution(
        DistributionConfig={
            "CallerReference": "site",
            "Comment": "",
            "Enabled": True,
            "DefaultRootObject": "index.html",
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "files",
                        "DomainName": f"site-files.s3.{REGION}.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                        "OriginAccessControlId": control if oac else "",
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "files",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
            **config,
        }
    )["Distribution"]
    statements = []
    if policy:
        statements.append(
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::site-files/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": site["ARN"]}},
            }
        )
    if public:
        statements.append(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::site-files/*",
            }
        )
    if statements:
        s3.put_bucket_policy(
            Bucket="site-files",
            Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
    return str(site["Id"])


def test_a_public_website_bucket_is_read_past_cloudfront(capstone: Lab) -> None:
    namespace = swap(create_website=lambda aws: website_with(aws, public=True))
    status, text = check_with(capstone, "website", namespace)
    assert status == "failed"
    assert "The website's bucket `site-files` is public" in text
    assert "origin access control" in text


def test_no_statement_for_cloudfront_leaves_the_site_unreadable(capstone: Lab) -> None:
    namespace = swap(create_website=lambda aws: website_with(aws, policy=False))
    status, text = check_with(capstone, "website", namespace)
    assert status == "failed"
    assert "CloudFront could not read the page" in text
    assert "cloudfront.amazonaws.com" in text


def test_the_cheapest_price_class_leaves_sydney_far_from_its_edge(capstone: Lab) -> None:
    namespace = swap(create_website=lambda aws: website_with(aws, PriceClass="PriceClass_100"))
    status, text = check_with(capstone, "slowest_user", namespace)
    assert status == "failed"
    assert "The slowest user, in" in text
    assert "PriceClass_100" in text and "PriceClass_All" in text


def cache_of(node_type: str, nodes: int) -> Any:
    def create_cache(aws: Any, table_name: str) -> str:
        aws.client("dax").create_cluster(
            ClusterName="orders-cache",
            NodeType=node_type,
            ReplicationFactor=nodes,
            IamRoleArn=f"arn:aws:iam::{ACCOUNT}:role/DAXServiceRole",
        )
        return "orders-cache"

    return create_cache


def provisioned_orders(aws: Any) -> str:
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 1000, "WriteCapacityUnits": 1000},
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    # (A replica would need write auto scaling: the sandbox, as DynamoDB, refuses it without.)
    return "orders"


def test_large_dax_nodes_break_the_budget(capstone: Lab) -> None:
    status, text = check_with(
        capstone, "monthly_cost", swap(create_cache=cache_of("dax.r5.large", 3))
    )
    assert status == "failed"
    assert "over the budget of $200" in text
    assert "the largest line is DAX" in text
    assert "dax.t3.small nodes serve this traffic" in text


def test_provisioned_capacity_for_the_peak_breaks_the_budget(capstone: Lab) -> None:
    status, text = check_with(
        capstone, "monthly_cost", swap(create_orders_table=provisioned_orders)
    )
    assert status == "failed"
    assert "provisioned 1000 RCU + 1000 WCU × 1 Region(s)" in text
    assert "PAY_PER_REQUEST" in text


def test_a_one_node_cache_is_a_single_point_of_failure(capstone: Lab) -> None:
    status, text = check_with(
        capstone, "no_weak_spots", swap(create_cache=cache_of("dax.t3.small", 1))
    )
    assert status == "failed"
    assert "has 1 node; when it fails" in text
    assert "ReplicationFactor=3" in text


def read_order_consistent(dax: Any, order_id: str) -> Any:
    """Strongly consistent: DAX passes every read to DynamoDB."""
    found = dax.Table("orders").get_item(Key={"order_id": order_id}, ConsistentRead=True)
    return found.get("Item")


def get_order_response(regions: Any, order_id: str) -> Any:
    for resource in regions.values():
        try:
            return resource.Table("orders").get_item(Key={"order_id": order_id})
        except EndpointConnectionError:
            continue
    return None


def test_strongly_consistent_reads_pass_dax_by(capstone: Lab) -> None:
    status, text = check_with(capstone, "dax_reads", swap(read_order=read_order_consistent))
    assert status == "failed"
    assert "DAX served none of them" in text
    assert "ConsistentRead=True" in text


def test_the_whole_get_item_response_is_not_the_order_after_failover(capstone: Lab) -> None:
    status, text = check_with(capstone, "region_failure", swap(get_order=get_order_response))
    assert status == "failed"
    assert "not the order placed before the failure" in text


def test_without_an_origin_access_control_cloudfront_asks_s3_unsigned(capstone: Lab) -> None:
    namespace = swap(create_website=lambda aws: website_with(aws, oac=False))
    status, text = check_with(capstone, "website", namespace)
    assert status == "failed"
    assert "CloudFront could not read the page" in text
    assert "origin access control" in text


def test_a_shop_that_trusts_too_much_fails_every_check_with_its_hint(
    graded: dict[str, Submission],
) -> None:
    sub = graded["trusts_too_much"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), sub.text()
    assert "signed in, read ana@example.com's order" in said(sub, "sign_up_and_order")
    assert "not allowed ses:SendEmail" in said(sub, "welcome_email")
    assert "the whole `get_item` response" in said(sub, "dax_reads")
    assert "raised EndpointConnectionError" in said(sub, "region_failure")
    assert "not configured on this bucket" in said(sub, "accelerated_upload")
    assert "CloudFront could not read the page" in said(sub, "website")
    assert "PAY_PER_REQUEST" in said(sub, "monthly_cost")
    assert "got 403" in said(sub, "slowest_user")
    assert "has 1 node; when it fails" in said(sub, "no_weak_spots")


def test_a_distribution_that_caches_nothing_sends_sydney_to_virginia(capstone: Lab) -> None:
    # The managed CachingDisabled policy: every request goes back to the bucket's Region.
    uncached = {
        "DefaultCacheBehavior": {
            "TargetOriginId": "files",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
        }
    }
    namespace = swap(create_website=lambda aws: website_with(aws, **uncached))
    status, text = check_with(capstone, "slowest_user", namespace)
    assert status == "failed", text
    assert "The slowest user, in" in text and "CloudFront said Miss" in text
    assert "CachingDisabled" in text


def test_a_public_website_bucket_is_a_weak_spot(capstone: Lab) -> None:
    namespace = swap(create_website=lambda aws: website_with(aws, public=True))
    status, text = check_with(capstone, "no_weak_spots", namespace)
    assert status == "failed", text
    assert "site-files" in text and "public" in text
