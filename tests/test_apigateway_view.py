"""The API trace view: each request's stage, route, authorizer decision and why, throttle bucket,
cache hit or miss, integration, status and latency, as HTML and as text."""

from __future__ import annotations

import pytest
import requests
from apigateway_support import ECHO, proxy, rest_api, url
from lambda_support import create

from labkit.lab import Lab
from labkit.services.apigateway.state import UnknownApiError


def _traffic(lab: Lab) -> str:
    api, _ = rest_api(
        lab, ["orders", "{id}"], integration=proxy(create(lab, "echo", ECHO)), apiKeyRequired=True
    )
    apig = lab.client("apigateway")
    plan = apig.create_usage_plan(
        name="free",
        apiStages=[{"apiId": api, "stage": "dev"}],
        throttle={"rateLimit": 1.0, "burstLimit": 1},
    )
    key = apig.create_api_key(name="free-key", enabled=True)
    apig.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    apig.update_stage(
        restApiId=api,
        stageName="dev",
        patchOperations=[
            {"op": "replace", "path": "/cacheClusterEnabled", "value": "true"},
            {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
        ],
    )
    headers = {"x-api-key": key["value"]}
    requests.get(url(api, "dev", "/orders/1"), headers=headers)  # miss, integrated
    requests.get(url(api, "dev", "/orders/1"), headers=headers)  # throttled (burst 1)
    lab.clock.advance(1)
    requests.get(url(api, "dev", "/orders/1"), headers=headers)  # hit
    requests.get(url(api, "dev", "/orders/1"))  # no key
    requests.get(url(api, "dev", "/nowhere"))  # no route
    return api


def test_the_trace_view_tells_each_request_in_words(lab: Lab) -> None:
    api = _traffic(lab)
    view = lab.api_trace("shop", hold=True)
    text, page = view.to_text(), view.to_html()
    assert f"API trace: shop ({api})" in text
    assert "stage dev: 5 requests · 1 throttled · 4XX 3 · 5XX 0 · cache 1 hit, 1 miss" in text
    assert "○ miss" in text and "● hit" in text
    assert "✗ refused by API_KEY: apiKeyRequired and no API key in x-api-key" in text
    assert "✓ allowed by NONE" in text
    assert "out of tokens" in text and "✗ 429" in text
    assert "(no route)" in text and "✗ 403" in text
    assert "AWS_PROXY" in text and "integration" in text
    assert "Latest request" in text and "resolve: no route" in text
    assert "labkit-api-trace" in page and "● hit" in page and "&lt;" not in text


def test_a_live_view_follows_and_a_held_one_keeps_its_moment(lab: Lab) -> None:
    api, _ = rest_api(lab, ["orders"], integration=proxy(create(lab, "echo", ECHO)))
    live, held = lab.api_trace(), lab.api_trace(api, hold=True)
    assert "No requests yet" in held.to_text()
    requests.get(url(api, "dev", "/orders"))
    live.refresh()
    held.refresh()
    assert "✓ 200" in live.to_text()
    assert "No requests yet" in held.to_text()


def test_naming_an_api_that_is_not_there(lab: Lab) -> None:
    with pytest.raises(UnknownApiError, match="no REST API in the sandbox yet"):
        lab.api_trace()
    rest_api(lab, ["a"], integration=proxy(create(lab, "echo", ECHO)), name="one")
    rest_api(lab, ["b"], integration=proxy(create(lab, "echo2", ECHO)), name="two")
    with pytest.raises(UnknownApiError, match="several REST APIs"):
        lab.api_trace()
    with pytest.raises(UnknownApiError, match="no REST API 'three'"):
        lab.api_trace("three")
    assert "API trace: two" in lab.api_trace("two").to_text()
