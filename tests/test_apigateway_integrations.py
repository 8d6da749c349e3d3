"""Integrations other than the Lambda proxy: MOCK, Lambda (non-proxy), AWS services (Kinesis,
SQS, DynamoDB) with VTL mapping templates, HTTP and HTTP_PROXY to sandbox endpoints."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from apigateway_support import lambda_uri, rest_api, trace, url
from lambda_support import create

import labkit
from labkit.lab import Lab
from labkit.services.apigateway.sim_vtl import TemplateError, json_path, render


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _responses(lab: Lab, api: str, resource: str, method: str, *answers: dict[str, Any]) -> None:
    apig = lab.client("apigateway")
    for answer in answers:
        apig.put_method_response(
            restApiId=api, resourceId=resource, httpMethod=method, statusCode=answer["statusCode"]
        )
        apig.put_integration_response(
            restApiId=api, resourceId=resource, httpMethod=method, **answer
        )


def _deploy(lab: Lab, api: str, stage: str = "dev", **variables: str) -> None:
    lab.client("apigateway").create_deployment(restApiId=api, stageName=stage, variables=variables)


def _role(lab: Lab, name: str, action: str, resource: str = "*") -> str:
    iam = lab.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}],
    }
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    return str(arn)


# --- MOCK ----------------------------------------------------------------------------------------

MOCK_IN = "#if($input.params('fail') == 'yes'){\"statusCode\": 503}#else{\"statusCode\": 200}#end"


def test_mock_answers_from_its_templates_and_selects_by_status(lab: Lab) -> None:
    api, resource = rest_api(
        lab,
        ["health"],
        integration={"type": "MOCK", "requestTemplates": {"application/json": MOCK_IN}},
        stage=None,
    )
    _responses(
        lab, api, resource, "GET",
        {"statusCode": "200", "responseTemplates": {
            "application/json": '{"ok": true, "stage": "$context.stage", "v": "$stageVariables.v"}'
        }, "responseParameters": {"method.response.header.X-Mode": "'mock'"}},
        {"statusCode": "503", "selectionPattern": "5\\d{2}",
         "responseTemplates": {"application/json": '{"ok": false}'}},
    )  # fmt: skip
    _deploy(lab, api, v="7")
    ok = requests.get(url(api, "dev", "/health"))
    assert (ok.status_code, ok.json()) == (200, {"ok": True, "stage": "dev", "v": "7"})
    assert ok.headers["X-Mode"] == "mock"
    down = requests.get(url(api, "dev", "/health?fail=yes"))
    assert (down.status_code, down.json()) == (503, {"ok": False})
    assert trace(api)[-1].integration == "MOCK"
    assert "pattern" in trace(api)[-1].steps[-2].detail


def test_no_matching_integration_response_is_a_500(lab: Lab) -> None:
    api, _ = rest_api(
        lab,
        ["health"],
        integration={
            "type": "MOCK",
            "requestTemplates": {"application/json": '{"statusCode": 200}'},
        },
    )
    r = requests.get(url(api, "dev", "/health"))
    assert (r.status_code, r.json()) == (500, {"message": "Internal server error"})
    assert "no integration response" in trace(api)[-1].steps[-2].detail


def test_passthrough_never_refuses_an_unmapped_content_type(lab: Lab) -> None:
    api, resource = rest_api(
        lab,
        ["health"],
        method="POST",
        integration={
            "type": "MOCK",
            "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "passthroughBehavior": "NEVER",
        },
        stage=None,
    )
    _responses(lab, api, resource, "POST", {"statusCode": "200"})
    _deploy(lab, api)
    ok = requests.post(url(api, "dev", "/health"), json={})
    assert ok.status_code == 200
    refused = requests.post(
        url(api, "dev", "/health"), data="x", headers={"Content-Type": "text/plain"}
    )
    assert (refused.status_code, refused.json()) == (415, {"message": "Unsupported Media Type"})


def test_a_broken_template_is_a_500_named_in_the_trace(lab: Lab) -> None:
    api, resource = rest_api(
        lab,
        ["health"],
        integration={"type": "MOCK", "requestTemplates": {"application/json": "#if($x"}},
        stage=None,
    )
    _responses(lab, api, resource, "GET", {"statusCode": "200"})
    _deploy(lab, api)
    assert requests.get(url(api, "dev", "/health")).status_code == 500
    assert "mapping template" in trace(api)[-1].steps[-2].detail


# --- Lambda (non-proxy) --------------------------------------------------------------------------

ORDERS = """
def lambda_handler(event, context):
    if event.get("id") == "0":
        raise KeyError("order not found")
    if event.get("id") == "9":
        raise RuntimeError("database on fire")
    return {"id": event["id"], "stage": event["stage"]}
"""


def test_lambda_non_proxy_maps_the_event_and_selects_errors(lab: Lab) -> None:
    fn = create(lab, "orders", ORDERS)
    template = '{"id": "$input.params(\'id\')", "stage": "$context.stage"}'
    api, resource = rest_api(
        lab,
        ["orders", "{id}"],
        integration={
            "type": "AWS",
            "integrationHttpMethod": "POST",
            "uri": lambda_uri(fn),
            "requestTemplates": {"application/json": template},
        },
        stage=None,
    )
    _responses(
        lab, api, resource, "GET",
        {"statusCode": "200"},
        {"statusCode": "404", "selectionPattern": ".*not found.*",
         "responseTemplates": {"application/json": '{"error": "no such order"}'}},
    )  # fmt: skip
    _deploy(lab, api)
    found = requests.get(url(api, "dev", "/orders/42"))
    assert (found.status_code, found.json()) == (200, {"id": "42", "stage": "dev"})
    missing = requests.get(url(api, "dev", "/orders/0"))
    assert (missing.status_code, missing.json()) == (404, {"error": "no such order"})
    # An error no pattern matches goes to the default response: a 200 carrying the error.
    fire = requests.get(url(api, "dev", "/orders/9"))
    assert fire.status_code == 200 and fire.json()["errorMessage"] == "database on fire"
    assert "failed" in trace(api)[-1].steps[-2].detail


# --- AWS service integrations --------------------------------------------------------------------

KINESIS_IN = """{
  "StreamName": "$stageVariables.stream",
  "Data": "$util.base64Encode($input.json('$'))",
  "PartitionKey": "$input.path('$.user')"
}"""


def _kinesis_api(lab: Lab, credentials: str | None) -> tuple[str, str]:
    integration: dict[str, Any] = {
        "type": "AWS",
        "integrationHttpMethod": "POST",
        "uri": "arn:aws:apigateway:us-east-1:kinesis:action/PutRecord",
        "requestTemplates": {"application/json": KINESIS_IN},
    }
    if credentials:
        integration["credentials"] = credentials
    api, resource = rest_api(lab, ["events"], method="POST", integration=integration, stage=None)
    _responses(
        lab, api, resource, "POST",
        {"statusCode": "200"},
        {"statusCode": "400", "selectionPattern": "4\\d{2}"},
    )  # fmt: skip
    _deploy(lab, api, stream="clicks")
    return api, resource


def _records(lab: Lab) -> list[dict[str, Any]]:
    kinesis = lab.client("kinesis")
    shard = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["Shards"][0]
    iterator = kinesis.get_shard_iterator(
        StreamName="clicks", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return [json.loads(r["Data"]) for r in kinesis.get_records(ShardIterator=iterator)["Records"]]


def test_kinesis_put_record_without_a_lambda(lab: Lab) -> None:
    lab.client("kinesis").create_stream(StreamName="clicks", ShardCount=1)
    role = _role(lab, "apigw-kinesis", "kinesis:PutRecord")
    api, _ = _kinesis_api(lab, role)
    r = requests.post(url(api, "dev", "/events"), json={"user": "ana", "page": "/home"})
    assert r.status_code == 200, r.text
    assert set(r.json()) >= {"SequenceNumber", "ShardId"}
    assert _records(lab) == [{"user": "ana", "page": "/home"}]
    assert "kinesis:PutRecord answered 200" in trace(api)[-1].steps[-2].detail


def test_kinesis_without_permission_is_refused_by_the_role(lab: Lab) -> None:
    lab.client("kinesis").create_stream(StreamName="clicks", ShardCount=1)
    role = _role(lab, "apigw-wrong", "kinesis:DescribeStream")
    for credentials in (role, None):
        api, _ = _kinesis_api(lab, credentials)
        r = requests.post(url(api, "dev", "/events"), json={"user": "ana"})
        assert r.status_code == 400
        assert r.json()["__type"] == "AccessDeniedException"
        assert "not authorized to perform kinesis:PutRecord" in trace(api)[-1].steps[-2].detail
    assert _records(lab) == []


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ("$input.body", "not JSON"),  # the body pasted in unquoted: the template's output breaks
        ("$util.escapeJavaScript($input.body)", "is not base64"),
    ],
)
def test_kinesis_refuses_a_body_it_cannot_read(lab: Lab, data: str, said: str) -> None:
    lab.client("kinesis").create_stream(StreamName="clicks", ShardCount=1)
    role = _role(lab, "apigw-kinesis", "kinesis:PutRecord")
    template = KINESIS_IN.replace("$util.base64Encode($input.json('$'))", data)
    api, resource = rest_api(
        lab,
        ["events"],
        method="POST",
        integration={
            "type": "AWS",
            "integrationHttpMethod": "POST",
            "uri": "arn:aws:apigateway:us-east-1:kinesis:action/PutRecord",
            "credentials": role,
            "requestTemplates": {"application/json": template},
        },
        stage=None,
    )
    _responses(lab, api, resource, "POST", {"statusCode": "200"})
    _deploy(lab, api, stream="clicks")
    r = requests.post(url(api, "dev", "/events"), json={"user": "ana", "page": "/home"})
    # No selection pattern: the service's 400 reaches the caller as the default 200.
    assert r.status_code == 200 and r.json()["__type"] == "SerializationException"
    assert said in r.json()["Message"]
    assert "kinesis:PutRecord answered 400" in trace(api)[-1].steps[-2].detail
    assert _records(lab) == []  # nothing stored that a reader would choke on


def test_sqs_send_message_by_path(lab: Lab) -> None:
    queue = lab.client("sqs").create_queue(QueueName="orders")["QueueUrl"]
    role = _role(lab, "apigw-sqs", "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:orders")
    api, resource = rest_api(
        lab,
        ["orders"],
        method="POST",
        integration={
            "type": "AWS",
            "integrationHttpMethod": "POST",
            "uri": "arn:aws:apigateway:us-east-1:sqs:path/123456789012/orders",
            "credentials": role,
            "requestParameters": {
                "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
            },
            "requestTemplates": {
                "application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
            },
        },
        stage=None,
    )
    _responses(lab, api, resource, "POST", {"statusCode": "200"})
    _deploy(lab, api)
    r = requests.post(url(api, "dev", "/orders"), json={"sku": "A-1", "qty": 2})
    assert r.status_code == 200, r.text
    messages = lab.client("sqs").receive_message(QueueUrl=queue)["Messages"]
    assert json.loads(messages[0]["Body"]) == {"sku": "A-1", "qty": 2}


def test_dynamodb_put_item_from_a_template(lab: Lab) -> None:
    ddb = lab.client("dynamodb")
    ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    role = _role(lab, "apigw-ddb", "dynamodb:PutItem")
    template = (
        '{"TableName": "orders", "Item": {"id": {"S": "$context.requestId"},'
        ' "sku": {"S": "$input.path(\'$.sku\')"}}}'
    )
    api, resource = rest_api(
        lab,
        ["orders"],
        method="POST",
        integration={
            "type": "AWS",
            "integrationHttpMethod": "POST",
            "uri": "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem",
            "credentials": role,
            "requestTemplates": {"application/json": template},
        },
        stage=None,
    )
    _responses(
        lab, api, resource, "POST",
        {"statusCode": "200",
         "responseTemplates": {"application/json": '{"id": "$context.requestId"}'}},
    )  # fmt: skip
    _deploy(lab, api)
    r = requests.post(url(api, "dev", "/orders"), json={"sku": "A-1"})
    assert r.status_code == 200, r.text
    item = ddb.get_item(TableName="orders", Key={"id": {"S": r.json()["id"]}})["Item"]
    assert item["sku"] == {"S": "A-1"}


# --- HTTP ----------------------------------------------------------------------------------------


def _backend(lab: Lab) -> str:
    """A MOCK API that echoes the path it was called on, as an HTTP backend in the sandbox."""
    api, resource = rest_api(
        lab,
        ["items", "{id}"],
        method="ANY",
        integration={
            "type": "MOCK",
            "requestTemplates": {"application/json": '{"statusCode": 200}'},
        },
        stage=None,
        name="backend",
    )
    _responses(
        lab, api, resource, "ANY",
        {"statusCode": "200", "responseTemplates": {
            "application/json": '{"id": "$input.params(\'id\')", "q": "$input.params(\'q\')", '
            '"method": "$context.httpMethod"}'
        }},
    )  # fmt: skip
    _deploy(lab, api, "live")
    return url(api, "live")


def test_http_proxy_passes_the_request_through_with_a_stage_variable_uri(lab: Lab) -> None:
    backend = _backend(lab)
    api, _ = rest_api(
        lab,
        ["shop", "{id}"],
        method="ANY",
        integration={
            "type": "HTTP_PROXY",
            "integrationHttpMethod": "ANY",
            "uri": "https://${stageVariables.host}/live/items/{id}",
            "requestParameters": {"integration.request.path.id": "method.request.path.id"},
        },
        stage=None,
    )
    _deploy(lab, api, host=backend.split("/")[2])
    r = requests.put(url(api, "dev", "/shop/5?q=blue"))
    assert (r.status_code, r.json()) == (200, {"id": "5", "q": "blue", "method": "PUT"})
    assert trace(api)[-1].integration == "HTTP_PROXY"


def test_http_integration_maps_its_response(lab: Lab) -> None:
    backend = _backend(lab)
    api, resource = rest_api(
        lab,
        ["shop", "{id}"],
        integration={
            "type": "HTTP",
            "integrationHttpMethod": "GET",
            "uri": backend + "/items/{id}",
            "requestParameters": {"integration.request.path.id": "method.request.path.id"},
        },
        stage=None,
    )
    _responses(
        lab, api, resource, "GET",
        {"statusCode": "200",
         "responseTemplates": {"application/json": '{"item": $input.json(\'$.id\')}'}},
    )  # fmt: skip
    _deploy(lab, api)
    r = requests.get(url(api, "dev", "/shop/8"))
    assert (r.status_code, r.json()) == (200, {"item": "8"})


def test_an_http_backend_outside_the_sandbox_is_a_500(lab: Lab) -> None:
    api, _ = rest_api(
        lab,
        ["out"],
        integration={
            "type": "HTTP_PROXY",
            "integrationHttpMethod": "GET",
            "uri": "https://example.com/",
        },
    )
    r = requests.get(url(api, "dev", "/out"))
    assert (r.status_code, r.json()) == (500, {"message": "Internal server error"})
    assert "failed" in trace(api)[-1].steps[-2].detail


# --- VTL -----------------------------------------------------------------------------------------


def test_vtl_variables_as_api_gateway_gives_them() -> None:
    body = json.dumps({"user": "ana", "items": [{"sku": "a"}, {"sku": "b"}]})
    template = (
        "#set($items = $input.path('$.items'))"
        "#foreach($i in $items)$i.sku#if($foreach.hasNext),#end#end|$items.size()"
        "|$util.base64Encode('hi')|$util.escapeJavaScript('say \"x\"')|$input.params('h')"
        "|$util.urlEncode('a b&c')|$util.parseJson('{\"k\": 3}').k"
    )
    out = render(
        template,
        body=body,
        params={"path": {}, "querystring": {}, "header": {"H": "head"}},
        context={},
        stage_variables={},
    )
    assert out == "a,b|2|" + base64.b64encode(b"hi").decode() + '|say \\"x\\"|head|a+b%26c|3'
    assert json_path(json.loads(body), "$.items[*].sku") == ["a", "b"]
    with pytest.raises(TemplateError):
        json_path({}, "items")


def test_an_aws_action_the_sandbox_lacks_is_a_500_that_says_so(lab: Lab) -> None:
    role = _role(lab, "apigw-any", "kinesis:*")
    api, resource = rest_api(
        lab,
        ["x"],
        method="POST",
        integration={
            "type": "AWS",
            "integrationHttpMethod": "POST",
            "uri": "arn:aws:apigateway:us-east-1:kinesis:action/NoSuchAction",
            "credentials": role,
        },
        stage=None,
    )
    _responses(lab, api, resource, "POST", {"statusCode": "200"})
    _deploy(lab, api)
    r = requests.post(url(api, "dev", "/x"), json={})
    assert (r.status_code, r.json()) == (500, {"message": "Internal server error"})
    assert "NoSuchAction) is not simulated" in trace(api)[-1].steps[-2].detail


def test_s3_object_by_path_with_the_role_checked_per_object(lab: Lab) -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="docs/a.txt", Body=b"hello")
    role = _role(lab, "apigw-s3", "s3:GetObject", "arn:aws:s3:::site/docs/*")
    api, resource = rest_api(
        lab,
        ["files", "{name}"],
        integration={
            "type": "AWS",
            "integrationHttpMethod": "GET",
            "uri": "arn:aws:apigateway:us-east-1:s3:path/site/{folder}/{name}",
            "credentials": role,
            "requestParameters": {
                "integration.request.path.folder": "stageVariables.folder",
                "integration.request.path.name": "method.request.path.name",
            },
        },
        stage=None,
    )
    _responses(
        lab, api, resource, "GET",
        {"statusCode": "200"},
        {"statusCode": "403", "selectionPattern": "4\\d{2}"},
    )  # fmt: skip
    _deploy(lab, api, folder="docs")
    r = requests.get(url(api, "dev", "/files/a.txt"))
    assert (r.status_code, r.text) == (200, "hello")
    _deploy(lab, api, "other", folder="private")
    assert requests.get(url(api, "other", "/files/a.txt")).status_code == 403
    assert "not authorized to perform s3:GetObject" in trace(api)[-1].steps[-2].detail
