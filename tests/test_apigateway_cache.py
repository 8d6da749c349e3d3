"""The stage cache: TTL on the lab clock, cache keys, GET-only by default, and
``Cache-Control: max-age=0`` honoured only for callers allowed to invalidate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from apigateway_support import ECHO, proxy, rest_api, trace, url
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lambda_support import create

import labkit
from labkit.lab import Lab
from labkit.services.apigateway.sim_cache import ttl_of


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _cached_api(
    lab: Lab, *, settings: dict[str, str] | None = None, method: str = "GET", **integration: Any
) -> str:
    """GET (or ``method``) /products/{id} through the echo function, on a stage with a cache."""
    api, _ = rest_api(
        lab,
        ["products", "{id}"],
        method=method,
        integration={**proxy(create(lab, "echo", ECHO)), **integration},
        stage=None,
    )
    apig = lab.client("apigateway")
    apig.create_deployment(
        restApiId=api, stageName="prod", cacheClusterEnabled=True, cacheClusterSize="0.5"
    )
    operations = [{"op": "replace", "path": "/*/*/caching/enabled", "value": "true"}]
    for path, value in (settings or {}).items():
        operations.append({"op": "replace", "path": path, "value": value})
    apig.update_stage(restApiId=api, stageName="prod", patchOperations=operations)
    return api


def _request_id(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    return str(json.loads(response.text)["requestContext"]["requestId"])


def _get(api: str, path: str = "/products/1", **headers: str) -> requests.Response:
    return requests.get(url(api, "prod", path), headers=headers)


def test_a_get_is_answered_from_the_cache_until_its_ttl(lab: Lab) -> None:
    api = _cached_api(lab)
    first = _request_id(_get(api))
    assert _request_id(_get(api)) == first
    lab.clock.advance(299)
    assert _request_id(_get(api)) == first
    lab.clock.advance(1)
    assert _request_id(_get(api)) != first
    caches = [e.cache for e in trace(api)]
    assert caches == ["miss", "hit", "hit", "miss"]
    assert [s.name for s in trace(api)[1].steps] == [
        "resolve", "authorize", "throttle", "cache", "respond"
    ]  # fmt: skip
    apig = lab.client("apigateway")
    assert apig.get_stage(restApiId=api, stageName="prod")["cacheClusterEnabled"] is True


def test_the_ttl_setting_and_its_bounds(lab: Lab) -> None:
    api = _cached_api(lab, settings={"/*/*/caching/ttlInSeconds": "30"})
    first = _request_id(_get(api))
    lab.clock.advance(30)
    assert _request_id(_get(api)) != first
    assert (ttl_of(None), ttl_of(0), ttl_of(7200), ttl_of(60)) == (300, 0, 3600, 60)


def test_a_ttl_of_zero_caches_nothing(lab: Lab) -> None:
    api = _cached_api(lab, settings={"/*/*/caching/ttlInSeconds": "0"})
    assert _request_id(_get(api)) != _request_id(_get(api))
    assert {e.cache for e in trace(api)} == {"off"}


def test_without_cache_key_parameters_every_id_shares_one_entry(lab: Lab) -> None:
    api = _cached_api(lab)
    one = _get(api, "/products/1")
    two = _get(api, "/products/2")
    assert json.loads(two.text)["pathParameters"] == {"id": "1"}  # the cached answer for 1
    assert _request_id(one) == _request_id(two)


def test_cache_key_parameters_vary_the_entry(lab: Lab) -> None:
    api = _cached_api(
        lab, cacheKeyParameters=["method.request.path.id", "method.request.querystring.lang"]
    )
    a = _request_id(_get(api, "/products/1?lang=en"))
    b = _request_id(_get(api, "/products/2?lang=en"))
    c = _request_id(_get(api, "/products/1?lang=fr"))
    assert len({a, b, c}) == 3
    assert _request_id(_get(api, "/products/1?lang=en&page=3")) == a  # not a key parameter
    integration = lab.client("apigateway").get_integration(
        restApiId=api,
        resourceId=next(
            r["id"]
            for r in lab.client("apigateway").get_resources(restApiId=api)["items"]
            if r["path"] == "/products/{id}"
        ),
        httpMethod="GET",
    )
    assert "method.request.path.id" in integration["cacheKeyParameters"]


def test_the_stage_default_caches_get_only(lab: Lab) -> None:
    api = _cached_api(lab, method="POST")
    post = requests.post(url(api, "prod", "/products/1"))
    again = requests.post(url(api, "prod", "/products/1"))
    assert _request_id(post) != _request_id(again)
    lab.client("apigateway").update_stage(
        restApiId=api,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/~1products~1{id}/POST/caching/enabled", "value": "true"}
        ],
    )
    post = requests.post(url(api, "prod", "/products/1"))
    assert _request_id(requests.post(url(api, "prod", "/products/1"))) == _request_id(post)


def test_a_stage_without_a_cache_cluster_caches_nothing(lab: Lab) -> None:
    api = _cached_api(lab)
    first = _request_id(_get(api))
    lab.client("apigateway").update_stage(
        restApiId=api,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/cacheClusterEnabled", "value": "false"}],
    )
    assert _request_id(_get(api)) != first


# --- invalidation ------------------------------------------------------------------------------


def _signed(lab: Lab, target: str, credentials: Credentials) -> dict[str, str]:
    request = AWSRequest(method="GET", url=target, headers={"Cache-Control": "max-age=0"})
    SigV4Auth(credentials, "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def _role_credentials(lab: Lab, actions: list[str]) -> Credentials:
    iam, sts = lab.client("iam"), lab.client("sts")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}
        ],
    }
    name = "caller-" + "-".join(a.split(":")[-1].lower() for a in actions)
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": "arn:aws:execute-api:*:*:*/prod/*"}
        ],
    }
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    found = sts.assume_role(RoleArn=arn, RoleSessionName="caller")["Credentials"]
    return Credentials(found["AccessKeyId"], found["SecretAccessKey"], found["SessionToken"])


def test_max_age_zero_from_an_anonymous_caller_is_ignored_with_a_warning(lab: Lab) -> None:
    api = _cached_api(lab)
    first = _request_id(_get(api))
    ignored = _get(api, **{"Cache-Control": "max-age=0"})
    assert _request_id(ignored) == first
    assert ignored.headers["Warning"] == (
        "199 Cache-control headers were ignored because the caller was unauthorized."
    )
    assert trace(api)[-1].cache == "hit"
    assert "not signed" in trace(api)[-1].steps[3].detail


def test_max_age_zero_can_fail_with_403_or_be_ignored_silently(lab: Lab) -> None:
    api = _cached_api(
        lab,
        settings={"/*/*/caching/unauthorizedCacheControlHeaderStrategy": "FAIL_WITH_403"},
    )
    _get(api)
    refused = _get(api, **{"Cache-Control": "max-age=0"})
    assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"})
    lab.client("apigateway").update_stage(
        restApiId=api,
        stageName="prod",
        patchOperations=[
            {
                "op": "replace",
                "path": "/*/*/caching/unauthorizedCacheControlHeaderStrategy",
                "value": "SUCCEED_WITHOUT_RESPONSE_HEADER",
            }
        ],
    )
    silent = _get(api, **{"Cache-Control": "max-age=0"})
    assert silent.status_code == 200 and "Warning" not in silent.headers


def test_max_age_zero_refreshes_for_a_caller_allowed_to_invalidate(lab: Lab) -> None:
    api = _cached_api(lab)
    target = url(api, "prod", "/products/1")
    first = _request_id(_get(api))
    allowed = _role_credentials(lab, ["execute-api:Invoke", "execute-api:InvalidateCache"])
    refreshed = requests.get(target, headers=_signed(lab, target, allowed))
    assert _request_id(refreshed) != first and "Warning" not in refreshed.headers
    assert trace(api)[-1].cache == "refresh"
    # The refreshed answer is what the cache holds now.
    assert _request_id(_get(api)) == _request_id(refreshed)

    invoke_only = _role_credentials(lab, ["execute-api:Invoke"])
    ignored = requests.get(target, headers=_signed(lab, target, invoke_only))
    assert _request_id(ignored) == _request_id(refreshed)
    assert "caller-invoke" in trace(api)[-1].steps[3].detail


def test_max_age_zero_needs_no_permission_when_the_stage_does_not_require_it(lab: Lab) -> None:
    api = _cached_api(lab, settings={"/*/*/caching/requireAuthorizationForCacheControl": "false"})
    first = _request_id(_get(api))
    assert _request_id(_get(api, **{"Cache-Control": "max-age=0"})) != first


def test_hits_and_misses_are_counted_per_stage(lab: Lab) -> None:
    api = _cached_api(lab)
    for _ in range(3):
        _get(api)
    state = lab.sandbox.backend("apigateway").apis[api].labkit_state
    metrics = state.metrics["prod"]
    assert (metrics.count, metrics.cache_hits, metrics.cache_misses) == (3, 2, 1)
    assert state.caches["prod"].entries and state.caches["prod"].hit_count == 2


def test_a_registered_permission_check_decides_invalidation(lab: Lab) -> None:
    from labkit.services.apigateway.sim_pipeline import ApiRequest, register_permission_check

    asked: list[str] = []

    def check(request: ApiRequest, action: str) -> tuple[bool, str]:
        asked.append(action)
        return request.header("X-Caller") == "ops", "ops may invalidate"

    api = _cached_api(lab)
    first = _request_id(_get(api))
    undo = register_permission_check(check)
    try:
        assert _request_id(_get(api, **{"Cache-Control": "max-age=0"})) == first
        assert _request_id(_get(api, **{"Cache-Control": "max-age=0", "X-Caller": "ops"})) != first
    finally:
        undo()
    assert asked == ["execute-api:InvalidateCache"] * 2


def test_flush_stage_cache_empties_the_stage_cache(lab: Lab) -> None:
    api = _cached_api(lab)
    first = _request_id(_get(api))
    apig = lab.client("apigateway")
    apig.flush_stage_cache(restApiId=api, stageName="prod")
    assert _request_id(_get(api)) != first
    with pytest.raises(apig.exceptions.NotFoundException):
        apig.flush_stage_cache(restApiId=api, stageName="nope")


def test_hits_and_misses_reach_cloudwatch(lab: Lab) -> None:
    from datetime import timedelta

    api = _cached_api(lab)
    for _ in range(3):
        _get(api)
    requests.get(url(api, "prod", "/nowhere"))
    cloudwatch = lab.client("cloudwatch")

    def total(metric: str, stage: bool = True) -> float:
        dimensions = [{"Name": "ApiName", "Value": "shop"}]
        if stage:
            dimensions.append({"Name": "Stage", "Value": "prod"})
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/ApiGateway",
            MetricName=metric,
            Dimensions=dimensions,
            StartTime=lab.clock.now - timedelta(minutes=5),
            EndTime=lab.clock.now + timedelta(minutes=5),
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        return sum(p["Sum"] for p in points)

    assert (total("CacheHitCount"), total("CacheMissCount")) == (2, 1)
    assert (total("Count"), total("4XXError"), total("Count", stage=False)) == (4, 1, 4)
