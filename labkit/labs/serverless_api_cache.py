"""The serverless API lab's ``products_cache`` check: ``GET /products`` answered from the stage
cache under load, per category, and refreshed only by an authorized caller.

The learner writes ``create_catalog_api(apig, function_arn)`` (``GET /products`` through the
catalog function on a ``prod`` stage with its cache; returns the API) and
``create_cache_admin(iam, api_id)`` (an IAM user allowed to invalidate the cache; returns its
access key: ``create_access_key``'s response, its ``AccessKey`` or ``(id, secret)``). The catalog
function answers each call with a new ``answer`` id, so the check tells a cached answer from a
fresh one by what comes back over HTTP:

- :data:`LOAD` requests over :data:`LOAD_SECONDS` s of lab time, in three categories: each
  category answered with its own products, by one call of the function (the cache key holds the
  category);
- the answers are at most :data:`TTL` s old: after that the next request calls the function;
- ``Cache-Control: max-age=0`` from an anonymous caller, and from a signed-in IAM user allowed
  only to invoke, changes nothing; signed by the learner's administrator it refreshes the entry
  (the next plain request gets the new answer).

API Gateway's stage cache: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-caching.html
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from labkit import facts
from labkit.grading.checks import CheckContext, short
from labkit.labs.serverless_api_support import (
    ACCOUNT,
    REGION,
    body_of,
    catalog_handler,
    deploy_backend,
    expect_stages,
    http,
    invoke_url,
    json_of,
    resolve_api,
    signed,
)

CATEGORIES = ("books", "garden", "toys")
LOAD = 150
LOAD_SECONDS = 75
#: How old a cached answer may be: API Gateway's default TTL (300 s).
TTL = int(facts.value("api_gateway.cache_ttl_default"))

CACHE_HINT = (
    "Create the stage with a cache (`cacheClusterEnabled=True, cacheClusterSize='0.5'`), turn "
    "caching on for the method (`update_stage` with `/*/*/caching/enabled` = `true`, or "
    "`/~1products/GET/caching/enabled`) and deploy."
)
KEY_HINT = (
    "Make the category part of the cache key: declare "
    "`method.request.querystring.category` in the method's `requestParameters` and list it in "
    "the integration's `cacheKeyParameters`."
)
TTL_HINT = (
    f"Keep the stage's cache TTL at {TTL} s (`/*/*/caching/ttlInSeconds`): the products may be "
    f"{TTL // 60} minutes old, no older."
)
ADMIN_HINT = (
    "Give the administrator `execute-api:InvalidateCache` on the method "
    f"(`arn:aws:execute-api:{REGION}:{ACCOUNT}:<api id>/prod/GET/products`) and return the "
    "access key `create_access_key` made."
)
OPEN_HINT = (
    "Leave `requireAuthorizationForCacheControl` on (its default): then API Gateway honours "
    "`Cache-Control: max-age=0` only from a signed caller allowed `execute-api:InvalidateCache`."
)


def _answer(ctx: CheckContext, url: str, category: str, **kwargs: Any) -> str:
    got = http("GET", f"{url}?category={category}", **kwargs)
    body = json_of(got)
    if got.status_code != 200 or not isinstance(body, dict) or "answer" not in body:
        ctx.fail(
            f"GET /products?category={category} on prod answered {body_of(got)}, not the "
            "catalog function's answer.",
            hint="Integrate GET /products with the catalog function (a Lambda proxy "
            "integration of `function_arn`), with no authorizer: the catalog is public.",
        )
    if body.get("category") != category:
        ctx.fail(
            f"GET /products?category={category} answered the products of "
            f"{body.get('category')!r}: one cached answer serves every category.",
            hint=KEY_HINT,
        )
    return str(body["answer"])


def _credentials(ctx: CheckContext, value: Any) -> tuple[str, str, str | None]:
    if isinstance(value, Mapping):
        value = value.get("AccessKey", value)
    if isinstance(value, Mapping) and "AccessKeyId" in value:
        secret = value.get("SecretAccessKey") or value.get("SecretKey")
        return str(value["AccessKeyId"]), str(secret), value.get("SessionToken")
    if isinstance(value, (tuple, list)) and len(value) in (2, 3):
        return str(value[0]), str(value[1]), (str(value[2]) if len(value) == 3 else None)
    ctx.fail(
        f"`create_cache_admin` returned {short(value)}, not an access key.",
        hint="Return what `iam.create_access_key(UserName=...)` returned (or its `AccessKey`).",
    )


def _intern(ctx: CheckContext) -> tuple[str, str, None]:
    """An IAM user of the account allowed to call every API, and nothing more."""
    iam = ctx.client("iam")
    iam.create_user(UserName="check-intern")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}],
    }
    iam.put_user_policy(
        UserName="check-intern", PolicyName="invoke", PolicyDocument=json.dumps(policy)
    )
    key = iam.create_access_key(UserName="check-intern")["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"]), None


def _expect_cached_under_load(ctx: CheckContext, url: str) -> dict[str, str]:
    seen: dict[str, set[str]] = {c: set() for c in CATEGORIES}
    first: dict[str, str] = {}
    step = LOAD_SECONDS / LOAD
    for sent in range(LOAD):
        category = CATEGORIES[sent % len(CATEGORIES)]
        answer = _answer(ctx, url, category)
        seen[category].add(answer)
        first.setdefault(category, answer)
        ctx.clock.advance(step)
    calls = sum(len(s) for s in seen.values())
    if calls > len(CATEGORIES):
        ttl_note = (
            f" (a category got a fresh answer within {LOAD_SECONDS} s: the TTL is shorter)"
            if calls < LOAD
            else ""
        )
        ctx.fail(
            f"{calls} of {LOAD} requests over {LOAD_SECONDS} s of lab time reached the catalog "
            f"function, {len(CATEGORIES)} would have (one per category){ttl_note}.",
            hint=CACHE_HINT if calls == LOAD else TTL_HINT,
        )
    return first


def check_products_cache(ctx: CheckContext) -> None:
    """Cached per category for the TTL; only the administrator's max-age=0 refreshes."""
    create_api = ctx.function("create_catalog_api")
    create_admin = ctx.function("create_cache_admin")
    apig = ctx.client("apigateway")
    backend = deploy_backend(ctx, catalog_handler, "catalog")
    api = resolve_api(ctx, ctx.call(create_api, apig, backend), "create_catalog_api")
    expect_stages(ctx, api, ("prod",), "create_catalog_api")
    admin = _credentials(ctx, ctx.call(create_admin, ctx.client("iam"), api))
    url = invoke_url(api, "prod", "/products")
    start = ctx.clock.timestamp
    first = _expect_cached_under_load(ctx, url)

    # The cached answer expires with the TTL, and not before.
    category = CATEGORIES[0]
    ctx.clock.advance_to(start + TTL - 5)
    if _answer(ctx, url, category) != first[category]:
        ctx.fail(
            f"{TTL - 5} s after the first request the answer was fresh: the cache kept it for "
            f"less than {TTL} s.",
            hint=TTL_HINT,
        )
    ctx.clock.advance_to(start + TTL + 1)
    current = _answer(ctx, url, category)
    if current == first[category]:
        ctx.fail(
            f"{TTL + 1} s after the first request the cache still answered it: products may be "
            f"at most {TTL // 60} minutes old.",
            hint=TTL_HINT,
        )

    # Outsiders cannot make API Gateway call the backend again.
    refresh = {"Cache-Control": "max-age=0"}
    target = f"{url}?category={category}"
    # The stage may refuse an unauthorized max-age=0 with 403 (FAIL_WITH_403), or ignore it.
    anonymous = http("GET", target, headers=refresh)
    answered = (json_of(anonymous) or {}).get("answer") if anonymous.status_code == 200 else None
    if anonymous.status_code != 403 and answered != current:
        ctx.fail(
            "An anonymous `Cache-Control: max-age=0` made API Gateway call the catalog function "
            f"again ({body_of(anonymous)}): anyone can empty the cache and put the whole load on "
            "the backend.",
            hint=OPEN_HINT,
        )
    intern = signed("GET", target, _intern(ctx), headers=refresh)
    if json_of(intern) and json_of(intern).get("answer") not in (None, current):
        ctx.fail(
            "`Cache-Control: max-age=0` signed by an IAM user allowed only `execute-api:Invoke` "
            "refreshed the cache: invalidating must need `execute-api:InvalidateCache`.",
            hint=OPEN_HINT,
        )
    by_admin = signed("GET", target, admin, headers=refresh)
    fresh = (json_of(by_admin) or {}).get("answer")
    if by_admin.status_code != 200 or fresh in (None, current):
        ctx.fail(
            "`Cache-Control: max-age=0` signed with the key `create_cache_admin` returned did "
            f"not refresh the cached answer ({body_of(by_admin)}"
            + (
                ", a Warning says the caller was unauthorized"
                if by_admin.headers.get("Warning")
                else ""
            )
            + ").",
            hint=ADMIN_HINT,
        )
    if _answer(ctx, url, category) != fresh:
        ctx.fail(
            "After the administrator's refresh, the next request did not get the "
            "refreshed answer: the refresh did not reach the cache.",
            hint=ADMIN_HINT,
        )
