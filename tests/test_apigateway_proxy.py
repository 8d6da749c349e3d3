"""API Gateway REST APIs with the Lambda proxy integration, called with ``requests``.

Stock moto raises ``NotImplementedError`` for ``AWS_PROXY`` and never matches ``/orders/42`` to
the resource ``/orders/{id}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from apigateway_support import lambda_uri, let_invoke, rest_api, trace, url
from lambda_support import create

import labkit
from labkit.lab import Lab

ECHO = """
import json
def lambda_handler(event, context):
    if event["path"].endswith("/boom"):
        raise RuntimeError("boom")
    if event["path"].endswith("/bad"):
        return {"statusCode": 200, "body": {"not": "a string"}}
    return {"statusCode": 201, "headers": {"X-Order": event["pathParameters"]["id"]},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": json.dumps(event)}
"""

#: The top-level fields of the proxy integration's input event (REST API).
EVENT_KEYS = {
    "resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
    "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext",
    "body", "isBase64Encoded",
}  # fmt: skip


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _api(lab: Lab, fn_arn: str, parts: list[str], method: str = "GET") -> str:
    apig = lab.client("apigateway")
    api = apig.create_rest_api(name="shop")["id"]
    parent = apig.get_resources(restApiId=api)["items"][0]["id"]
    for part in parts:
        parent = apig.create_resource(restApiId=api, parentId=parent, pathPart=part)["id"]
    apig.put_method(restApiId=api, resourceId=parent, httpMethod=method, authorizationType="NONE")
    apig.put_integration(
        restApiId=api,
        resourceId=parent,
        httpMethod=method,
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn_arn}/invocations",
    )
    let_invoke(lab, fn_arn, api)
    apig.create_deployment(restApiId=api, stageName="dev")
    return str(api)


def _event(response: requests.Response) -> dict[str, Any]:
    return dict(json.loads(response.text))


def test_get_builds_the_proxy_event_and_maps_the_response(lab: Lab) -> None:
    api = _api(lab, create(lab, "orders", ECHO), ["orders", "{id}"])
    r = requests.get(
        f"https://{api}.execute-api.us-east-1.amazonaws.com/dev/orders/42?expand=items&tag=a&tag=b",
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 201
    assert r.headers["X-Order"] == "42"
    assert r.headers["Set-Cookie"] == "a=1, b=2"
    event = _event(r)
    assert set(event) == EVENT_KEYS
    assert event["resource"] == "/orders/{id}"
    assert event["path"] == "/orders/42"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"expand": "items", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"expand": ["items"], "tag": ["a", "b"]}
    assert event["headers"]["Accept"] == "application/json"
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "dev" and context["apiId"] == api
    assert context["resourcePath"] == "/orders/{id}" and context["path"] == "/dev/orders/42"
    assert context["httpMethod"] == "GET"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["domainName"] == f"{api}.execute-api.us-east-1.amazonaws.com"
    assert context["requestTimeEpoch"] == 1767603600000


def test_post_body_reaches_the_function(lab: Lab) -> None:
    api = _api(lab, create(lab, "orders", ECHO), ["orders", "{id}"], method="POST")
    r = requests.post(
        f"https://{api}.execute-api.us-east-1.amazonaws.com/dev/orders/7", json={"qty": 2}
    )
    event = _event(r)
    assert event["httpMethod"] == "POST"
    assert json.loads(event["body"]) == {"qty": 2}


def test_function_error_and_malformed_result_are_502(lab: Lab) -> None:
    api = _api(lab, create(lab, "orders", ECHO), ["orders", "{id}"])
    base = f"https://{api}.execute-api.us-east-1.amazonaws.com/dev/orders"
    for path in ("boom", "bad"):
        r = requests.get(f"{base}/{path}")
        assert r.status_code == 502
        assert r.json() == {"message": "Internal server error"}


def test_unknown_route_is_missing_authentication_token(lab: Lab) -> None:
    api = _api(lab, create(lab, "orders", ECHO), ["orders", "{id}"])
    r = requests.get(f"https://{api}.execute-api.us-east-1.amazonaws.com/dev/customers/1")
    assert r.status_code == 403
    assert r.json() == {"message": "Missing Authentication Token"}
    r = requests.delete(f"https://{api}.execute-api.us-east-1.amazonaws.com/dev/orders/1")
    assert r.status_code == 403


def test_greedy_proxy_resource_with_any_method(lab: Lab) -> None:
    source = (
        "def lambda_handler(e, c):\n"
        "    body = e['pathParameters']['proxy'] + ' ' + e['httpMethod']\n"
        "    return {'statusCode': 200, 'body': body}\n"
    )
    api = _api(lab, create(lab, "proxy", source), ["{proxy+}"], method="ANY")
    r = requests.put(f"https://{api}.execute-api.us-east-1.amazonaws.com/dev/a/b/c")
    assert (r.status_code, r.text) == (200, "a/b/c PUT")


def test_a_streamed_or_file_body_reaches_the_function(lab: Lab) -> None:
    import io

    api = _api(lab, create(lab, "orders", ECHO), ["orders", "{id}"], method="POST")
    target = f"https://{api}.execute-api.us-east-1.amazonaws.com/dev/orders/7"
    assert _event(requests.post(target, data=io.BytesIO(b'{"a": 1}')))["body"] == '{"a": 1}'
    chunks = (part for part in [b'{"b": ', b"2}"])
    assert _event(requests.post(target, data=chunks))["body"] == '{"b": 2}'


def test_urllib_reaches_the_invoke_url_too(lab: Lab) -> None:
    import urllib.error
    import urllib.request

    api = _api(lab, create(lab, "orders", ECHO), ["orders", "{id}"], method="POST")
    target = f"https://{api}.execute-api.us-east-1.amazonaws.com/dev/orders/7"
    request = urllib.request.Request(target, data=b'{"qty": 2}', method="POST")
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 201 and answer.headers["X-Order"] == "7"
        assert json.loads(json.loads(answer.read())["body"]) == {"qty": 2}
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(target)  # GET has no method
    assert refused.value.code == 403
    assert json.loads(refused.value.read()) == {"message": "Missing Authentication Token"}
    with pytest.raises(urllib.error.URLError, match="Failed to resolve"):
        urllib.request.urlopen("https://nosuchapi.execute-api.us-east-1.amazonaws.com/dev/")


SIMPLE = """
def lambda_handler(event, context):
    return {"statusCode": 200, "body": "ok"}
"""


def _bare_api(lab: Lab, integration: dict[str, Any]) -> str:
    """``GET /items`` integrated as ``integration``, deployed to ``dev``, no permission granted."""
    apig = lab.client("apigateway")
    api = str(apig.create_rest_api(name="bare")["id"])
    root = apig.get_resources(restApiId=api)["items"][0]["id"]
    items = apig.create_resource(restApiId=api, parentId=root, pathPart="items")["id"]
    apig.put_method(restApiId=api, resourceId=items, httpMethod="GET", authorizationType="NONE")
    apig.put_integration(restApiId=api, resourceId=items, httpMethod="GET", **integration)
    apig.create_deployment(restApiId=api, stageName="dev")
    return api


def test_api_gateway_needs_the_functions_permission_to_invoke_it(lab: Lab) -> None:
    fn = create(lab, "simple", SIMPLE)
    proxy = {"type": "AWS_PROXY", "integrationHttpMethod": "POST", "uri": lambda_uri(fn)}
    api = _bare_api(lab, proxy)

    # No statement lets API Gateway invoke it: 500, the function never runs, the trace says why.
    r = requests.get(url(api, "dev", "/items"))
    assert (r.status_code, r.json()) == (500, {"message": "Internal server error"})
    assert "Invalid permissions on Lambda function simple" in " ".join(
        s.detail for s in trace(api)[-1].steps
    )

    # A permission for another API does not reach this one.
    other, _ = rest_api(lab, ["x"], integration=proxy, name="other")
    assert requests.get(url(other, "dev", "/x")).status_code == 200
    assert requests.get(url(api, "dev", "/items")).status_code == 500

    let_invoke(lab, fn, api)
    r = requests.get(url(api, "dev", "/items"))
    assert (r.status_code, r.text) == (200, "ok")


def test_a_credentials_role_invokes_the_function_by_its_own_policy(lab: Lab) -> None:
    fn = create(lab, "simple", SIMPLE)
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
    role = iam.create_role(RoleName="api-invoker", AssumeRolePolicyDocument=json.dumps(trust))
    integration = {
        "type": "AWS_PROXY",
        "integrationHttpMethod": "POST",
        "uri": lambda_uri(fn),
        "credentials": role["Role"]["Arn"],
    }
    api = _bare_api(lab, integration)
    assert requests.get(url(api, "dev", "/items")).status_code == 500
    assert "role" in " ".join(s.detail for s in trace(api)[-1].steps)

    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": fn}],
    }
    iam.put_role_policy(
        RoleName="api-invoker", PolicyName="invoke", PolicyDocument=json.dumps(allow)
    )
    assert requests.get(url(api, "dev", "/items")).text == "ok"
