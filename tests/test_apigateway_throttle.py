"""Throttling and quotas: usage plans with API keys, stage method limits and the account's,
as token buckets on the lab clock; AWS's 429 bodies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from apigateway_support import ECHO, proxy, rest_api, trace, url
from lambda_support import create

import labkit
from labkit.lab import Lab
from labkit.services.apigateway.sim_throttle import (
    Buckets,
    Limit,
    TokenBucket,
    charge,
    period_end,
    period_start,
)


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _plans(lab: Lab, **free: Any) -> tuple[str, str, str]:
    """An API whose GET /orders needs a key; a free plan (``free``'s limits) and a paid plan
    with none. Returns ``(api, free key, paid key)``."""
    api, _ = rest_api(
        lab, ["orders"], integration=proxy(create(lab, "echo", ECHO)), apiKeyRequired=True
    )
    apig = lab.client("apigateway")
    keys = []
    for name, limits in (("free", free), ("paid", {})):
        plan = apig.create_usage_plan(
            name=name, apiStages=[{"apiId": api, "stage": "dev"}], **limits
        )
        key = apig.create_api_key(name=f"{name}-key", enabled=True)
        apig.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        keys.append(key["value"])
    return api, keys[0], keys[1]


def _get(api: str, key: str, path: str = "/orders") -> requests.Response:
    return requests.get(url(api, "dev", path), headers={"x-api-key": key})


def test_a_free_key_is_throttled_at_its_burst_and_refills_at_its_rate(lab: Lab) -> None:
    api, free, paid = _plans(lab, throttle={"rateLimit": 1.0, "burstLimit": 2})
    assert [_get(api, free).status_code for _ in range(3)] == [200, 200, 429]
    refused = _get(api, free)
    assert refused.json() == {"message": "Too Many Requests"}
    assert refused.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    assert all(_get(api, paid).status_code == 200 for _ in range(20))

    lab.clock.advance(1)
    assert [_get(api, free).status_code for _ in range(2)] == [200, 429]
    lab.clock.advance(10)  # refills to the burst, not beyond
    assert [_get(api, free).status_code for _ in range(3)] == [200, 200, 429]


def test_a_throttled_request_never_reaches_the_integration(lab: Lab) -> None:
    api, free, _ = _plans(lab, throttle={"rateLimit": 1.0, "burstLimit": 1})
    _get(api, free)
    _get(api, free)
    ok, refused = trace(api)
    assert [s.name for s in refused.steps] == ["resolve", "authorize", "throttle", "respond"]
    assert refused.integration == "" and refused.status == 429
    assert "out of tokens" in refused.steps[2].detail
    assert "plan free" in ok.bucket and "0.00/1" in ok.bucket


def test_the_quota_answers_limit_exceeded_until_the_next_day(lab: Lab) -> None:
    api, free, paid = _plans(lab, quota={"limit": 3, "period": "DAY"})
    assert [_get(api, free).status_code for _ in range(3)] == [200, 200, 200]
    over = _get(api, free)
    assert (over.status_code, over.json()) == (429, {"message": "Limit Exceeded"})
    assert _get(api, paid).status_code == 200
    assert "quota" in trace(api)[-2].auth_reason + trace(api)[-2].bucket

    lab.clock.advance(12 * 3600)  # 21:00 the same day (the lab starts at 09:00 UTC)
    assert _get(api, free).status_code == 429
    lab.clock.advance(3 * 3600 + 1)  # past midnight UTC
    assert _get(api, free).status_code == 200


def test_throttled_requests_do_not_use_up_the_quota(lab: Lab) -> None:
    api, free, _ = _plans(
        lab, throttle={"rateLimit": 1.0, "burstLimit": 1}, quota={"limit": 2, "period": "MONTH"}
    )
    assert [_get(api, free).status_code for _ in range(4)] == [200, 429, 429, 429]
    lab.clock.advance(1)
    assert _get(api, free).status_code == 200
    lab.clock.advance(1)
    assert _get(api, free).json() == {"message": "Limit Exceeded"}


def test_a_usage_plan_can_limit_one_method(lab: Lab) -> None:
    api, _ = rest_api(
        lab, ["orders"], integration=proxy(create(lab, "echo", ECHO)), apiKeyRequired=True
    )
    apig = lab.client("apigateway")
    stage = {
        "apiId": api,
        "stage": "dev",
        "throttle": {"/orders/GET": {"rateLimit": 1, "burstLimit": 1}},
    }
    plan = apig.create_usage_plan(name="tight-get", apiStages=[stage])
    key = apig.create_api_key(name="k", enabled=True)
    apig.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    assert [_get(api, key["value"]).status_code for _ in range(2)] == [200, 429]


def test_stage_method_limits_apply_per_method(lab: Lab) -> None:
    fn = create(lab, "echo", ECHO)
    api, _ = rest_api(lab, ["orders"], integration=proxy(fn))
    apig = lab.client("apigateway")
    root = next(r["id"] for r in apig.get_resources(restApiId=api)["items"] if r["path"] == "/")
    other = apig.create_resource(restApiId=api, parentId=root, pathPart="customers")["id"]
    apig.put_method(restApiId=api, resourceId=other, httpMethod="GET", authorizationType="NONE")
    apig.put_integration(restApiId=api, resourceId=other, httpMethod="GET", **proxy(fn))
    apig.create_deployment(restApiId=api, stageName="dev")
    apig.update_stage(
        restApiId=api,
        stageName="dev",
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "2"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2"},
        ],
    )
    orders = [requests.get(url(api, "dev", "/orders")).status_code for _ in range(3)]
    customers = [requests.get(url(api, "dev", "/customers")).status_code for _ in range(3)]
    assert orders == customers == [200, 200, 429]
    assert "stage dev /orders/GET" in trace(api)[2].steps[-2].detail

    # A method's own setting overrides the stage-wide one.
    apig.update_stage(
        restApiId=api,
        stageName="dev",
        patchOperations=[
            {"op": "replace", "path": "/~1customers/GET/throttling/burstLimit", "value": "5"}
        ],
    )
    lab.clock.advance(60)
    assert [requests.get(url(api, "dev", "/customers")).status_code for _ in range(6)] == (
        [200] * 5 + [429]
    )


def test_the_account_limit_covers_every_api(lab: Lab) -> None:
    fn = create(lab, "echo", ECHO)
    one, _ = rest_api(lab, ["a"], integration=proxy(fn), name="one")
    two, _ = rest_api(lab, ["b"], integration=proxy(fn), name="two")
    lab.sandbox.backend("apigateway").account.throttle_settings = {
        "rateLimit": 1.0,
        "burstLimit": 2,
    }
    assert requests.get(url(one, "dev", "/a")).status_code == 200
    assert requests.get(url(two, "dev", "/b")).status_code == 200
    r = requests.get(url(one, "dev", "/a"))
    assert (r.status_code, r.json()) == (429, {"message": "Too Many Requests"})
    assert "account" in trace(one)[-1].steps[-2].detail


# --- the simulator -------------------------------------------------------------------------------


def test_a_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    bucket = TokenBucket.full(rate=2, burst=4, now=100.0)
    bucket.tokens = 0
    assert bucket.refill(101.0) == 2
    assert bucket.refill(110.0) == 4
    assert bucket.refill(105.0) == 4  # time never runs backwards for a bucket


def test_charge_takes_from_every_bucket_or_from_none() -> None:
    owner = Buckets()
    wide, narrow = Limit(("wide",), "wide", 10, 10), Limit(("narrow",), "narrow", 1, 1)
    assert charge([(owner, wide), (owner, narrow)], 0.0).allowed
    refused = charge([(owner, wide), (owner, narrow)], 0.0)
    assert not refused.allowed and refused.bucket.startswith("narrow")
    assert owner.buckets[("wide",)].tokens == 9  # the refused request cost nothing


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    ("now", "period", "offset", "start", "end"),
    [
        ("2026-01-07T15:00:00", "DAY", 0, "2026-01-07T00:00:00", "2026-01-08T00:00:00"),
        # 7 January 2026 is a Wednesday: the week began on Sunday the 4th, or Monday the 5th.
        ("2026-01-07T15:00:00", "WEEK", 0, "2026-01-04T00:00:00", "2026-01-11T00:00:00"),
        ("2026-01-07T15:00:00", "WEEK", 1, "2026-01-05T00:00:00", "2026-01-12T00:00:00"),
        ("2026-01-04T15:00:00", "WEEK", 1, "2025-12-29T00:00:00", "2026-01-05T00:00:00"),
        ("2026-02-07T15:00:00", "MONTH", 0, "2026-02-01T00:00:00", "2026-03-01T00:00:00"),
        ("2026-02-07T15:00:00", "MONTH", 9, "2026-01-10T00:00:00", "2026-02-10T00:00:00"),
        ("2026-12-20T15:00:00", "MONTH", 0, "2026-12-01T00:00:00", "2027-01-01T00:00:00"),
    ],
)
def test_quota_periods(now: str, period: str, offset: int, start: str, end: str) -> None:
    began = period_start(_at(now), period, offset)
    assert began == _at(start)
    assert period_end(began, period) == _at(end)


def test_a_new_method_setting_defaults_to_the_account_limits(lab: Lab) -> None:
    api, _ = rest_api(lab, ["orders"], integration=proxy(create(lab, "echo", ECHO)))
    apig = lab.client("apigateway")
    apig.update_stage(
        restApiId=api,
        stageName="dev",
        patchOperations=[{"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"}],
    )
    settings = apig.get_stage(restApiId=api, stageName="dev")["methodSettings"]["*/*"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (10000.0, 5000)


def test_a_plan_quota_is_shared_by_every_api_stage_of_the_plan(lab: Lab) -> None:
    fn = create(lab, "echo", ECHO)
    one, _ = rest_api(lab, ["a"], integration=proxy(fn), name="one", apiKeyRequired=True)
    two, _ = rest_api(lab, ["b"], integration=proxy(fn), name="two", apiKeyRequired=True)
    apig = lab.client("apigateway")
    plan = apig.create_usage_plan(
        name="shared",
        apiStages=[{"apiId": one, "stage": "dev"}, {"apiId": two, "stage": "dev"}],
        quota={"limit": 3, "period": "WEEK"},
    )
    key = apig.create_api_key(name="k", enabled=True)
    apig.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    headers = {"x-api-key": key["value"]}
    statuses = [
        requests.get(url(one, "dev", "/a"), headers=headers).status_code,
        requests.get(url(two, "dev", "/b"), headers=headers).status_code,
        requests.get(url(one, "dev", "/a"), headers=headers).status_code,
        requests.get(url(two, "dev", "/b"), headers=headers).status_code,
    ]
    assert statuses == [200, 200, 200, 429]

    lab.clock.advance(86400)
    requests.get(url(one, "dev", "/a"), headers=headers)  # still this week: refused, not counted
    usage = apig.get_usage(usagePlanId=plan["id"], startDate="2026-01-04", endDate="2026-01-06")
    # 5 January 2026 (the lab's first day) is a Monday; the week began on Sunday the 4th.
    assert usage["items"] == {key["id"]: [[0, 3], [3, 0], [0, 0]]}
