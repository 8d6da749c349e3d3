"""HTTP APIs (API Gateway v2) served at their invoke URLs, called with ``requests``.

Stock moto answers 404 at an HTTP API's invoke URL and has no ``CreateDeployment``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from lambda_support import create

import labkit
from labkit.lab import Lab
from labkit.services.apigatewayv2.state import http_api_trace
from labkit.services.cognitoidp.sim_tokens import b64url, unb64url

ECHO = """
import json
def lambda_handler(event, context):
    if event.get("rawPath", event.get("path", "")).endswith("/boom"):
        raise RuntimeError("boom")
    return {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"},
            "cookies": ["seen=1"], "body": json.dumps(event)}
"""
PLAIN = """
def lambda_handler(event, context):
    return {"plain": True}
"""
PASSWORD = "Passw0rd!Passw0rd"


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def http_api(
    lab: Lab,
    routes: dict[str, dict[str, Any]],
    *,
    fn: str = "echo",
    source: str = ECHO,
    version: str = "2.0",
    stage: str = "$default",
    auto: bool = True,
    permit: bool = True,
    **api: Any,
) -> tuple[str, str]:
    """An HTTP API whose routes all call one Lambda proxy integration, which API Gateway may
    invoke unless ``permit`` is false; ``(id, endpoint)``."""
    c = lab.client("apigatewayv2")
    created = c.create_api(Name="shop", ProtocolType="HTTP", **api)
    api_id = created["ApiId"]
    arn = create(lab, fn, source)
    integration = c.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion=version
    )["IntegrationId"]
    for key, extra in routes.items():
        c.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integration}", **extra)
    c.create_stage(ApiId=api_id, StageName=stage, AutoDeploy=auto)
    if permit:
        lab.client("lambda").add_permission(
            FunctionName=arn,
            StatementId=f"http-api-{api_id}",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*",
        )
    return api_id, created["ApiEndpoint"]


def test_an_integration_api_gateway_may_not_invoke_answers_500(lab: Lab) -> None:
    api_id, base = http_api(lab, {"GET /items": {}}, permit=False)
    r = requests.get(f"{base}/items")
    assert (r.status_code, r.json()) == (500, {"message": "Internal Server Error"})
    lab.client("lambda").add_permission(
        FunctionName="echo",
        StatementId="other-api-only",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn="arn:aws:execute-api:us-east-1:123456789012:otherapi/*",
    )
    assert requests.get(f"{base}/items").status_code == 500
    lab.client("lambda").add_permission(
        FunctionName="echo",
        StatementId="this-api",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/GET/items",
    )
    assert requests.get(f"{base}/items").status_code == 200


def test_payload_2_0_event_and_response(lab: Lab) -> None:
    _, base = http_api(lab, {"GET /items/{id}": {}})
    r = requests.get(f"{base}/items/42?tag=a&tag=b", headers={"X-Trace": "1", "Cookie": "k=v; m=n"})
    assert r.status_code == 200
    assert r.headers["set-cookie"] == "seen=1"
    event = r.json()
    assert event["version"] == "2.0" and event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/42" and event["rawQueryString"] == "tag=a&tag=b"
    assert event["queryStringParameters"] == {"tag": "a,b"}
    assert event["pathParameters"] == {"id": "42"}
    assert event["cookies"] == ["k=v", "m=n"] and "cookie" not in event["headers"]
    assert event["headers"]["x-trace"] == "1"  # names in lower case
    assert "multiValueHeaders" not in event and "body" not in event
    context = event["requestContext"]
    assert context["http"]["method"] == "GET" and context["stage"] == "$default"
    assert context["timeEpoch"] == int(lab.clock.timestamp * 1000)


def test_payload_1_0_and_a_named_stage_under_its_prefix(lab: Lab) -> None:
    _, base = http_api(lab, {"POST /orders": {}}, version="1.0", stage="dev")
    r = requests.post(f"{base}/dev/orders?x=1&x=2", json={"n": 1})
    assert r.status_code == 200, r.text
    event = r.json()
    assert event["version"] == "1.0" and event["httpMethod"] == "POST"
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert json.loads(event["body"]) == {"n": 1}
    assert event["requestContext"]["routeKey"] == "POST /orders"
    # A named stage answers only under its prefix; without a $default stage the root is 404.
    assert requests.post(f"{base}/orders").status_code == 404


def test_routes_most_specific_first_then_any_then_default(lab: Lab) -> None:
    api_id, base = http_api(
        lab,
        {"GET /items/{id}": {}, "GET /items/new": {}, "ANY /{proxy+}": {}, "$default": {}},
    )
    assert requests.get(f"{base}/items/new").json()["routeKey"] == "GET /items/new"
    assert requests.get(f"{base}/items/7").json()["routeKey"] == "GET /items/{id}"
    greedy = requests.delete(f"{base}/items/7").json()
    assert greedy["routeKey"] == "ANY /{proxy+}" and greedy["pathParameters"] == {
        "proxy": "items/7"
    }
    assert requests.get(f"{base}/").json()["routeKey"] == "$default"
    assert [e.route for e in http_api_trace(api_id).entries] == [
        "GET /items/new",
        "GET /items/{id}",
        "ANY /{proxy+}",
        "$default",
    ]


def test_no_route_is_404_and_a_function_error_is_500(lab: Lab) -> None:
    _, base = http_api(lab, {"GET /items/{id}": {}})
    missing = requests.get(f"{base}/orders")
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
    boom = requests.get(f"{base}/items/boom")
    assert (boom.status_code, boom.json()) == (500, {"message": "Internal Server Error"})


def test_a_result_without_status_code_is_the_body_of_a_200(lab: Lab) -> None:
    _, base = http_api(lab, {"GET /plain": {}}, fn="plain", source=PLAIN)
    r = requests.get(f"{base}/plain")
    assert (r.status_code, r.json()) == (200, {"plain": True})
    assert r.headers["content-type"] == "application/json"


def test_a_stage_without_auto_deploy_serves_its_deployment(lab: Lab) -> None:
    api_id, base = http_api(lab, {"GET /a": {}}, stage="prod", auto=False)
    c = lab.client("apigatewayv2")
    assert requests.get(f"{base}/prod/a").status_code == 404  # nothing deployed yet
    deployment = c.create_deployment(ApiId=api_id, StageName="prod")["DeploymentId"]
    assert c.get_stage(ApiId=api_id, StageName="prod")["DeploymentId"] == deployment
    assert requests.get(f"{base}/prod/a").status_code == 200
    integration = c.get_integrations(ApiId=api_id)["Items"][0]["IntegrationId"]
    c.create_route(ApiId=api_id, RouteKey="GET /b", Target=f"integrations/{integration}")
    assert requests.get(f"{base}/prod/b").status_code == 404  # not deployed yet
    c.create_deployment(ApiId=api_id, StageName="prod")
    assert requests.get(f"{base}/prod/b").status_code == 200
    assert len(c.get_deployments(ApiId=api_id)["Items"]) == 2


def test_route_throttling_from_stage_settings_on_the_lab_clock(lab: Lab) -> None:
    api_id, base = http_api(lab, {"GET /slow": {}, "GET /fast": {}})
    lab.client("apigatewayv2").update_stage(
        ApiId=api_id,
        StageName="$default",
        RouteSettings={"GET /slow": {"ThrottlingRateLimit": 1, "ThrottlingBurstLimit": 2}},
    )
    codes = [requests.get(f"{base}/slow").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    refused = requests.get(f"{base}/slow")
    assert refused.json() == {"message": "Too Many Requests"}
    assert requests.get(f"{base}/fast").status_code == 200  # another route, another bucket
    lab.clock.advance(1)
    assert requests.get(f"{base}/slow").status_code == 200
    assert http_api_trace(api_id).metrics["$default"].throttled == 2


def test_the_account_limit_is_shared_with_rest_apis(lab: Lab) -> None:
    from apigateway_support import proxy, rest_api, url
    from moto.apigateway.models import apigateway_backends

    api_id, base = http_api(lab, {"GET /a": {}})
    echo = lab.client("lambda").get_function(FunctionName="echo")["Configuration"]["FunctionArn"]
    rest, _ = rest_api(lab, ["a"], integration=proxy(echo))
    # GetAccount's throttle settings (UpdateAccount cannot set them in moto): rate 1, burst 2.
    account = apigateway_backends["123456789012"]["us-east-1"].account
    account.throttle_settings = {"rateLimit": 1.0, "burstLimit": 2}
    assert requests.get(f"{base}/a").status_code == 200
    assert requests.get(url(rest, "dev", "/a")).status_code == 200
    assert requests.get(f"{base}/a").status_code == 429  # the REST request took the token
    assert "account 123456789012" in http_api_trace(api_id).entries[-1].steps[-2].detail


CORS = {
    "AllowOrigins": ["https://shop.example"],
    "AllowMethods": ["GET", "POST"],
    "AllowHeaders": ["authorization", "content-type"],
    "MaxAge": 600,
}


def test_cors_preflight_is_answered_by_api_gateway(lab: Lab) -> None:
    _, base = http_api(lab, {"GET /items/{id}": {}}, CorsConfiguration=CORS)
    asked = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    ok = requests.options(f"{base}/items/1", headers=asked)
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == "https://shop.example"
    assert ok.headers["access-control-allow-methods"] == "GET,POST"
    assert ok.headers["access-control-max-age"] == "600"
    other = requests.options(f"{base}/items/1", headers=dict(asked, Origin="https://evil.example"))
    assert other.status_code == 204 and "access-control-allow-origin" not in other.headers
    # The actual request: API Gateway's CORS headers replace the function's "*".
    got = requests.get(f"{base}/items/1", headers={"Origin": "https://shop.example"})
    assert got.headers["access-control-allow-origin"] == "https://shop.example"
    evil = requests.get(f"{base}/items/1", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers


# -- JWT authorizers against a Cognito user pool --------------------------------------------------


def user_pool(lab: Lab) -> tuple[str, str, str]:
    idp = lab.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="shop")["UserPool"]["Id"]
    web, other = (
        idp.create_user_pool_client(
            UserPoolId=pool, ClientName=name, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        for name in ("web", "other")
    )
    idp.create_group(UserPoolId=pool, GroupName="admins")
    idp.admin_create_user(UserPoolId=pool, Username="ana", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="ana", Password=PASSWORD, Permanent=True)
    idp.admin_add_user_to_group(UserPoolId=pool, Username="ana", GroupName="admins")
    return pool, web, other


def sign_in(lab: Lab, client: str, kind: str = "IdToken") -> str:
    result = lab.client("cognito-idp").initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ana", "PASSWORD": PASSWORD},
    )
    return str(result["AuthenticationResult"][kind])


def jwt_api(lab: Lab, pool: str, audience: list[str]) -> tuple[str, str]:
    c = lab.client("apigatewayv2")
    api_id, base = http_api(lab, {})
    authorizer = c.create_authorizer(
        ApiId=api_id,
        AuthorizerType="JWT",
        Name="users",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={
            "Issuer": f"https://cognito-idp.us-east-1.amazonaws.com/{pool}",
            "Audience": audience,
        },
    )["AuthorizerId"]
    integration = c.get_integrations(ApiId=api_id)["Items"][0]["IntegrationId"]
    for key, scopes in (("GET /me", []), ("POST /admin", ["aws.cognito.signin.user.admin"])):
        c.create_route(
            ApiId=api_id,
            RouteKey=key,
            Target=f"integrations/{integration}",
            AuthorizationType="JWT",
            AuthorizerId=authorizer,
            AuthorizationScopes=scopes,
        )
    return api_id, base


def test_jwt_authorizer_accepts_the_pools_tokens_for_its_audience(lab: Lab) -> None:
    pool, web, _ = user_pool(lab)
    api_id, base = jwt_api(lab, pool, [web])
    id_token = sign_in(lab, web)
    r = requests.get(f"{base}/me", headers={"Authorization": f"Bearer {id_token}"})
    assert r.status_code == 200, r.text
    jwt = r.json()["requestContext"]["authorizer"]["jwt"]
    assert jwt["claims"]["cognito:username"] == "ana"
    assert jwt["claims"]["cognito:groups"] == "[admins]"
    # An access token has no aud: its client_id is matched against the audience.
    access = sign_in(lab, web, "AccessToken")
    assert requests.get(f"{base}/me", headers={"Authorization": access}).status_code == 200
    scoped = requests.post(f"{base}/admin", headers={"Authorization": access})
    assert scoped.status_code == 200
    assert scoped.json()["requestContext"]["authorizer"]["jwt"]["scopes"] == [
        "aws.cognito.signin.user.admin"
    ]
    assert "ana" in http_api_trace(api_id).entries[-1].auth_reason
    # The same trace view as REST APIs', found by the HTTP API's id or name.
    shown = lab.api_trace("shop", hold=True).to_text()
    assert "POST /admin" in shown and "JWT" in shown and api_id in shown


def test_jwt_authorizer_refusals_as_aws_answers_them(lab: Lab) -> None:
    pool, web, other = user_pool(lab)
    _, base = jwt_api(lab, pool, [web])

    def get(token: str | None, path: str = "/me", method: str = "GET") -> requests.Response:
        headers = {"Authorization": token} if token is not None else {}
        return requests.request(method, f"{base}{path}", headers=headers)

    missing = get(None)
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    wrong_client = get(sign_in(lab, other))
    assert wrong_client.status_code == 401
    assert "valid audience" in wrong_client.headers["www-authenticate"]

    token = sign_in(lab, web)
    head, payload, signature = token.split(".")
    claims = json.loads(unb64url(payload))
    claims["cognito:username"] = "root"
    forged = get(f"{head}.{b64url(json.dumps(claims).encode())}.{signature}")
    assert forged.status_code == 401 and "invalid signature" in forged.headers["www-authenticate"]

    # The ID token carries no scope: a route with scopes refuses it with 403.
    unscoped = get(token, "/admin", "POST")
    assert (unscoped.status_code, unscoped.json()) == (403, {"message": "Forbidden"})
    assert 'error="insufficient_scope"' in unscoped.headers["www-authenticate"]

    lab.clock.advance(3600)  # ID tokens live an hour by default
    expired = get(token)
    assert expired.status_code == 401 and "expired" in expired.headers["www-authenticate"]


def test_jwt_authorizer_of_another_issuer_refuses(lab: Lab) -> None:
    pool, web, _ = user_pool(lab)
    _, base = jwt_api(lab, "us-east-1_nothere", [web])
    r = requests.get(f"{base}/me", headers={"Authorization": sign_in(lab, web)})
    assert (r.status_code, r.json()) == (401, {"message": "Unauthorized"})
    assert "invalid issuer" in r.headers["www-authenticate"]
    del pool


def test_a_disabled_default_endpoint_answers_403(lab: Lab) -> None:
    api_id, base = http_api(lab, {"GET /a": {}})
    assert requests.get(f"{base}/a").status_code == 200
    lab.client("apigatewayv2").update_api(ApiId=api_id, DisableExecuteApiEndpoint=True)
    r = requests.get(f"{base}/a")
    assert (r.status_code, r.json()) == (403, {"message": "Forbidden"})


def test_the_rest_gateway_hands_an_http_api_on(lab: Lab) -> None:
    """Whichever patch claims an execute-api URL first, an HTTP API's id reaches its pipeline."""
    from labkit.services.apigateway import patch as rest

    api_id, base = http_api(lab, {"GET /a": {}})

    class Request:
        method = "GET"
        url = f"{base}/a"
        headers: dict[str, str] | None = None
        body = None

    status, _, body = rest.handle(Request())
    assert status == 200 and json.loads(body)["routeKey"] == "GET /a"
    # Neither a REST nor an HTTP API: on AWS the host does not resolve.
    Request.url = "https://nosuchapi.execute-api.us-east-1.amazonaws.com/dev/a"
    with pytest.raises(rest.UnknownApiHostError):
        rest.handle(Request())
    del api_id
