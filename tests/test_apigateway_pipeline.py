"""The request pipeline: deployments and stages, stage variables, API keys, the trace, and the
authorize step that authorizers plug into."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from apigateway_support import ECHO, grant, let_invoke, proxy, rest_api, trace, url
from lambda_support import create

import labkit
from labkit.lab import Lab
from labkit.services.apigateway import sim_pipeline
from labkit.services.apigateway.sim_model import (
    DeploymentSnapshot,
    IntegrationSpec,
    MethodSpec,
    ResourceSpec,
    StageConfig,
)
from labkit.services.apigateway.sim_pipeline import (
    ApiKeyInfo,
    ApiRequest,
    AuthOutcome,
    UsagePlanInfo,
    authorize,
    register_authorizer,
)


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _event(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(json.loads(response.text))


# --- deployments and stages --------------------------------------------------------------------


def test_a_change_reaches_a_stage_only_when_deployed(lab: Lab) -> None:
    fn = create(lab, "echo", ECHO)
    api, _ = rest_api(lab, ["orders"], integration=proxy(fn))
    apig = lab.client("apigateway")
    root = apig.get_resources(restApiId=api)["items"]
    root_id = next(r["id"] for r in root if r["path"] == "/")
    customers = apig.create_resource(restApiId=api, parentId=root_id, pathPart="customers")["id"]
    apig.put_method(restApiId=api, resourceId=customers, httpMethod="GET", authorizationType="NONE")
    apig.put_integration(restApiId=api, resourceId=customers, httpMethod="GET", **proxy(fn))

    r = requests.get(url(api, "dev", "/customers"))
    assert (r.status_code, r.json()) == (403, {"message": "Missing Authentication Token"})
    assert r.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert requests.get(url(api, "dev", "/orders")).status_code == 200

    apig.create_deployment(restApiId=api, stageName="dev")
    assert _event(requests.get(url(api, "dev", "/customers")))["resource"] == "/customers"


def test_a_deleted_method_is_served_until_the_next_deployment(lab: Lab) -> None:
    api, resource = rest_api(lab, ["orders"], integration=proxy(create(lab, "echo", ECHO)))
    apig = lab.client("apigateway")
    apig.delete_method(restApiId=api, resourceId=resource, httpMethod="GET")
    assert requests.get(url(api, "dev", "/orders")).status_code == 200


def test_an_unknown_stage_is_forbidden_and_an_unknown_api_unreachable(lab: Lab) -> None:
    api, _ = rest_api(lab, ["orders"], integration=proxy(create(lab, "echo", ECHO)))
    r = requests.get(url(api, "prod", "/orders"))
    assert (r.status_code, r.json()) == (403, {"message": "Forbidden"})
    # A REST API that does not exist has no host name: the client cannot connect at all.
    with pytest.raises(requests.exceptions.ConnectionError, match="no REST API 'nosuchapi'"):
        requests.get(url("nosuchapi", "dev", "/orders"))


def test_a_stage_on_an_older_deployment_serves_that_deployment(lab: Lab) -> None:
    fn = create(lab, "echo", ECHO)
    api, resource = rest_api(lab, ["orders"], integration=proxy(fn))
    apig = lab.client("apigateway")
    first = apig.get_stage(restApiId=api, stageName="dev")["deploymentId"]
    apig.put_method(restApiId=api, resourceId=resource, httpMethod="POST", authorizationType="NONE")
    apig.put_integration(restApiId=api, resourceId=resource, httpMethod="POST", **proxy(fn))
    apig.create_deployment(restApiId=api, stageName="dev")
    apig.create_stage(restApiId=api, stageName="prod", deploymentId=first)

    assert requests.post(url(api, "dev", "/orders")).status_code == 200
    assert requests.post(url(api, "prod", "/orders")).status_code == 403
    assert requests.get(url(api, "prod", "/orders")).status_code == 200


def test_stage_variables_reach_the_proxy_event_per_stage(lab: Lab) -> None:
    api, _ = rest_api(lab, ["orders"], integration=proxy(create(lab, "echo", ECHO)), stage=None)
    apig = lab.client("apigateway")
    apig.create_deployment(restApiId=api, stageName="dev", variables={"table": "orders-dev"})
    deployment = apig.get_stage(restApiId=api, stageName="dev")["deploymentId"]
    apig.create_stage(
        restApiId=api, stageName="prod", deploymentId=deployment, variables={"table": "orders"}
    )
    dev = _event(requests.get(url(api, "dev", "/orders")))
    prod = _event(requests.get(url(api, "prod", "/orders")))
    assert dev["stageVariables"] == {"table": "orders-dev"}
    assert prod["stageVariables"] == {"table": "orders"}
    assert prod["requestContext"]["stage"] == "prod"

    # A stage variable is a stage setting: it applies at once, with no redeployment.
    apig.update_stage(
        restApiId=api,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/variables/table", "value": "orders-v2"}],
    )
    assert _event(requests.get(url(api, "prod", "/orders")))["stageVariables"] == {
        "table": "orders-v2"
    }


def test_redeploying_a_stage_keeps_its_settings(lab: Lab) -> None:
    api, _ = rest_api(lab, ["orders"], integration=proxy(create(lab, "echo", ECHO)))
    apig = lab.client("apigateway")
    apig.update_stage(
        restApiId=api,
        stageName="dev",
        patchOperations=[{"op": "replace", "path": "/variables/color", "value": "blue"}],
    )
    deployment = apig.create_deployment(restApiId=api, stageName="dev")["id"]
    stage = apig.get_stage(restApiId=api, stageName="dev")
    assert stage["deploymentId"] == deployment
    assert stage["variables"] == {"color": "blue"}
    assert _event(requests.get(url(api, "dev", "/orders")))["stageVariables"] == {"color": "blue"}


# --- API keys ------------------------------------------------------------------------------------


def _keyed_api(lab: Lab) -> tuple[str, dict[str, str]]:
    api, _ = rest_api(
        lab, ["orders"], integration=proxy(create(lab, "echo", ECHO)), apiKeyRequired=True
    )
    apig = lab.client("apigateway")
    apig.create_deployment(restApiId=api, stageName="prod")
    keys = {}
    for name in ("dev-key", "prod-key", "loose-key", "off-key"):
        key = apig.create_api_key(name=name, enabled=name != "off-key")
        keys[name] = key["value"]
        keys[name + "-id"] = key["id"]
    for stage, key in (("dev", "dev-key"), ("prod", "prod-key"), ("dev", "off-key")):
        plan = apig.create_usage_plan(
            name=f"{stage}-plan", apiStages=[{"apiId": api, "stage": stage}]
        )
        apig.create_usage_plan_key(
            usagePlanId=plan["id"], keyId=keys[key + "-id"], keyType="API_KEY"
        )
    return api, keys


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (None, "no API key"),
        ("not-a-key-at-all-123456", "is not an API key"),
        ("loose-key", "in no usage plan of stage dev"),
        ("prod-key", "in no usage plan of stage dev"),
        ("off-key", "is disabled"),
    ],
)
def test_a_missing_or_wrong_api_key_is_forbidden(lab: Lab, key: str | None, why: str) -> None:
    api, keys = _keyed_api(lab)
    headers = {"x-api-key": keys.get(key, key)} if key else {}
    r = requests.get(url(api, "dev", "/orders"), headers=headers)
    assert (r.status_code, r.json()) == (403, {"message": "Forbidden"})
    assert r.headers["x-amzn-ErrorType"] == "ForbiddenException"
    last = trace(api)[-1]
    assert last.authorizer == "API_KEY" and why in last.auth_reason
    assert [s.name for s in last.steps] == ["resolve", "authorize", "respond"]


def test_a_key_in_the_stage_usage_plan_gets_in(lab: Lab) -> None:
    api, keys = _keyed_api(lab)
    event = _event(requests.get(url(api, "dev", "/orders"), headers={"X-API-Key": keys["dev-key"]}))
    assert event["requestContext"]["identity"]["apiKeyId"] == keys["dev-key-id"]
    assert event["requestContext"]["identity"]["apiKey"] == keys["dev-key"]
    assert requests.get(url(api, "prod", "/orders"), headers={"x-api-key": keys["prod-key"]}).ok
    last = trace(api)[-1]
    assert last.stage == "prod" and last.status == 200 and last.route == "/orders"
    assert "prod-plan" in last.auth_reason


# --- the trace ---------------------------------------------------------------------------------


def test_the_trace_records_each_step(lab: Lab) -> None:
    api, _ = rest_api(lab, ["orders", "{id}"], integration=proxy(create(lab, "echo", ECHO)))
    requests.get(url(api, "dev", "/orders/7"))
    requests.get(url(api, "dev", "/nowhere"))
    ok, missing = trace(api)
    steps = ["resolve", "authorize", "throttle", "integrate", "respond"]
    assert [s.name for s in ok.steps] == steps
    assert (ok.route, ok.status, ok.authorizer, ok.integration) == (
        "/orders/{id}",
        200,
        "NONE",
        "AWS_PROXY",
    )
    assert ok.integration_latency_ms > 0 and ok.latency_ms >= ok.integration_latency_ms
    assert "lambda:echo" in ok.steps[3].detail
    assert (missing.route, missing.status) == (None, 403)
    assert [s.name for s in missing.steps] == ["resolve", "respond"]
    assert trace("shop")[0].request_id == ok.request_id


# --- the authorize step ------------------------------------------------------------------------


class _Keys:
    def api_key(self, value: str) -> ApiKeyInfo | None:
        return ApiKeyInfo("k1", value, True, "k") if value == "good-key" else None

    def usage_plan(self, key_id: str, api_id: str, stage: str) -> UsagePlanInfo | None:
        return UsagePlanInfo("p1", "plan") if stage == "dev" else None


def _request(kind: str, *, key_required: bool = False, **headers: str) -> ApiRequest:
    method = MethodSpec(
        "GET", kind, api_key_required=key_required, integration=IntegrationSpec("MOCK")
    )
    resource = ResourceSpec("r1", "/orders", {"GET": method})
    snapshot = DeploymentSnapshot("d1", "a1", "123456789012", "us-east-1", 0.0, (resource,))
    request = ApiRequest(
        "GET", "https://a1/dev/orders", "/orders", dict(headers), [], None, "127.0.0.1",
        "a1", "us-east-1", "123456789012", StageConfig("dev", "d1"), snapshot, 0.0, "req-1",
    )  # fmt: skip
    request.resource, request.method = resource, method
    return request


def test_an_authorizer_type_with_no_decider_fails_closed() -> None:
    outcome = authorize(_request("MADE_UP"))
    assert not outcome.allowed and outcome.status == 500
    assert "not simulated" in outcome.reason


def test_a_registered_decider_decides_and_the_key_is_checked_after_it() -> None:
    seen: list[str] = []

    def decide(request: ApiRequest) -> AuthOutcome:
        seen.append(request.method_arn)
        if request.header("authorization") == "let-me-in":
            return AuthOutcome.allow("CUSTOM", "token accepted", principal_id="u1")
        return AuthOutcome.deny("CUSTOM", 401, "Unauthorized", "no token")

    undo = register_authorizer("CUSTOM", decide)
    try:
        refused = authorize(
            _request("CUSTOM", key_required=True, **{"x-api-key": "good-key"}), _Keys()
        )
        assert (refused.allowed, refused.status, refused.decider) == (False, 401, "CUSTOM")
        in_but_no_key = authorize(
            _request("CUSTOM", key_required=True, Authorization="let-me-in"), _Keys()
        )
        assert (in_but_no_key.status, in_but_no_key.decider) == (403, "API_KEY")
        both = authorize(
            _request(
                "CUSTOM", key_required=True, Authorization="let-me-in", **{"X-Api-Key": "good-key"}
            ),
            _Keys(),
        )
        assert both.allowed and both.principal_id == "u1" and both.api_key_id == "k1"
        assert seen[0] == "arn:aws:execute-api:us-east-1:123456789012:a1/dev/GET/orders"
    finally:
        undo()
    assert "CUSTOM" not in sim_pipeline._DECIDERS


def test_api_keys_without_a_gateway_are_refused() -> None:
    outcome = authorize(_request("NONE", key_required=True, **{"x-api-key": "good-key"}))
    assert (outcome.allowed, outcome.status) == (False, 403)
    assert authorize(
        _request("NONE", key_required=True, **{"x-api-key": "good-key"}), _Keys()
    ).allowed


# --- canary releases -----------------------------------------------------------------------------

VERSION = (
    "def lambda_handler(e, c):\n"
    "    return {'statusCode': 200, 'body': '%s ' + str(e['stageVariables'])}\n"
)
V1, V2 = VERSION % "v1", VERSION % "v2"


def test_a_canary_takes_its_share_and_can_be_promoted(lab: Lab) -> None:
    api, resource = rest_api(lab, ["v"], integration=proxy(create(lab, "v1", V1)), stage=None)
    apig = lab.client("apigateway")
    apig.create_deployment(restApiId=api, stageName="prod", variables={"color": "blue"})
    v2 = proxy(create(lab, "v2", V2))
    apig.put_integration(restApiId=api, resourceId=resource, httpMethod="GET", **v2)
    grant(lab, api, v2)
    apig.create_deployment(
        restApiId=api,
        stageName="prod",
        canarySettings={"percentTraffic": 25.0, "stageVariableOverrides": {"color": "green"}},
    )
    stage = apig.get_stage(restApiId=api, stageName="prod")
    assert stage["canarySettings"]["percentTraffic"] == 25.0
    assert stage["deploymentId"] != stage["canarySettings"]["deploymentId"]

    answers = [requests.get(url(api, "prod", "/v")).text for _ in range(200)]
    canary = [a for a in answers if a.startswith("v2")]
    assert 25 <= len(canary) <= 75  # a quarter of 200, give or take chance
    assert all("green" in a for a in canary)
    assert all("blue" in a for a in answers if a.startswith("v1"))
    stages = {e.stage for e in trace(api)}
    assert stages == {"prod", "prod/Canary"}

    apig.update_stage(
        restApiId=api,
        stageName="prod",
        patchOperations=[
            {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
            {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"},
            {"op": "remove", "path": "/canarySettings"},
        ],
    )
    assert "canarySettings" not in apig.get_stage(restApiId=api, stageName="prod")
    assert {requests.get(url(api, "prod", "/v")).text for _ in range(20)} == {
        "v2 {'color': 'green'}"
    }


def test_a_canary_at_zero_percent_gets_nothing(lab: Lab) -> None:
    api, resource = rest_api(lab, ["v"], integration=proxy(create(lab, "v1", V1)), stage="prod")
    apig = lab.client("apigateway")
    v2 = proxy(create(lab, "v2", V2))
    apig.put_integration(restApiId=api, resourceId=resource, httpMethod="GET", **v2)
    grant(lab, api, v2)
    apig.create_deployment(restApiId=api, stageName="prod", canarySettings={"percentTraffic": 0.0})
    assert {requests.get(url(api, "prod", "/v")).text[:2] for _ in range(30)} == {"v1"}
    apig.update_stage(
        restApiId=api,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "100"}
        ],
    )
    assert {requests.get(url(api, "prod", "/v")).text[:2] for _ in range(30)} == {"v2"}


def test_a_cache_ttl_beyond_an_hour_is_refused(lab: Lab) -> None:
    api, _ = rest_api(lab, ["orders"], integration=proxy(create(lab, "echo", ECHO)))
    apig = lab.client("apigateway")
    with pytest.raises(apig.exceptions.BadRequestException, match="between 0 and 3600"):
        apig.update_stage(
            restApiId=api,
            stageName="dev",
            patchOperations=[
                {"op": "replace", "path": "/*/*/caching/ttlInSeconds", "value": "7200"}
            ],
        )


def test_a_payload_over_10_mb_is_refused_first(lab: Lab) -> None:
    api, _ = rest_api(lab, ["orders"], method="POST", integration=proxy(create(lab, "echo", ECHO)))
    r = requests.post(url(api, "dev", "/orders"), data=b"x" * (10 * 1024 * 1024 + 1))
    assert (r.status_code, r.json()) == (413, {"message": "Request Too Long"})
    assert [s.name for s in trace(api)[-1].steps] == ["receive", "respond"]
    assert requests.post(url(api, "dev", "/orders"), data=b"x" * 1024).status_code == 200


def test_a_deployment_can_be_deleted_only_when_no_stage_serves_it(lab: Lab) -> None:
    api, _ = rest_api(lab, ["orders"], integration=proxy(create(lab, "echo", ECHO)))
    apig = lab.client("apigateway")
    first = apig.get_stage(restApiId=api, stageName="dev")["deploymentId"]
    loose = apig.create_deployment(restApiId=api)["id"]
    apig.create_stage(restApiId=api, stageName="prod", deploymentId=loose)
    with pytest.raises(apig.exceptions.BadRequestException, match="Active stages"):
        apig.delete_deployment(restApiId=api, deploymentId=first)
    with pytest.raises(apig.exceptions.BadRequestException, match="Active stages"):
        apig.delete_deployment(restApiId=api, deploymentId=loose)
    apig.create_deployment(restApiId=api, stageName="dev")  # dev moves on from the first
    apig.delete_deployment(restApiId=api, deploymentId=first)
    ids = {d["id"] for d in apig.get_deployments(restApiId=api)["items"]}
    assert first not in ids and loose in ids


def test_a_stage_variable_in_the_lambda_uri_picks_the_function_per_stage(lab: Lab) -> None:
    create(lab, "shop-dev", VERSION % "dev")
    create(lab, "shop-prod", VERSION % "prod")
    uri = (
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
        "arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}/invocations"
    )
    integration = {"type": "AWS_PROXY", "integrationHttpMethod": "POST", "uri": uri}
    api, _ = rest_api(lab, ["v"], integration=integration, stage=None)
    apig = lab.client("apigateway")
    for name in ("shop-dev", "shop-prod"):
        let_invoke(lab, name, api)
    apig.create_deployment(restApiId=api, stageName="dev", variables={"fn": "shop-dev"})
    apig.create_deployment(restApiId=api, stageName="prod", variables={"fn": "shop-prod"})
    assert requests.get(url(api, "dev", "/v")).text.startswith("dev ")
    assert requests.get(url(api, "prod", "/v")).text.startswith("prod ")
