"""The serverless API lab's ``public_api`` check: dev and prod stages, a free key that is
throttled and metered, a paid key that is not.

The learner writes ``create_public_api(apig, function_arn)`` (a REST API whose ``GET /products``
calls the catalog function, deployed to ``dev`` and ``prod``; returns the API) and
``create_keys(apig, api_id)`` (usage plans and API keys; returns ``{"free": key, "paid": key}``,
each key as its value, its id or ``create_api_key``'s response). In a world of its own the check
deploys the catalog function, then calls the API over HTTP at its invoke URL:

- without a key, and with a guessed one: API Gateway answers 403 (the key is required);
- the paid key on both stages, and a flood of :data:`PAID_FLOOD` requests at one moment on
  prod: every one answered;
- the free key: :data:`FREE_BURST` requests at one moment, and the next gets ``429 Too Many
  Requests``; a second later :data:`FREE_RATE` more; :data:`FREE_QUOTA` in a day, and the next
  gets ``429 Limit Exceeded`` until midnight UTC, when the quota starts again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from labkit.grading.checks import CheckContext, short
from labkit.labs.serverless_api_support import (
    body_of,
    catalog_handler,
    deploy_backend,
    expect_stages,
    http,
    invoke_url,
    json_of,
    resolve_api,
)

#: The free plan: requests a second, burst, and requests a day.
FREE_RATE = 2
FREE_BURST = 5
FREE_QUOTA = 100
#: Requests the check sends with the paid key at one moment.
PAID_FLOOD = 50
STAGES = ("dev", "prod")
#: A key nobody issued (API keys are at least 20 characters).
GUESSED_KEY = "guessed-0123456789abcdefghij"

PLAN_HINT = (
    f"Two usage plans, each listing both stages in `apiStages`: `free` with "
    f"`throttle={{'rateLimit': {FREE_RATE}, 'burstLimit': {FREE_BURST}}}` and "
    f"`quota={{'limit': {FREE_QUOTA}, 'period': 'DAY'}}`, `paid` with neither; one API key "
    "in each (`create_usage_plan_key`)."
)
KEY_REQUIRED_HINT = (
    "Put the method with `apiKeyRequired=True`, then deploy again: without it API Gateway "
    "ignores the `x-api-key` header and no usage plan applies."
)


def _key_value(ctx: CheckContext, apig: Any, key: Any, which: str) -> str:
    """The value of the learner's ``which`` key, given as its value, id or response."""
    if isinstance(key, Mapping):
        key = key.get("value") or key.get("id") or key
    if not isinstance(key, str):
        ctx.fail(
            f"`create_keys` returned {short(key)} as the {which} key, not an API key.",
            hint="Return `{'free': free_key['value'], 'paid': paid_key['value']}` (the values "
            "or ids `create_api_key` returned).",
        )
    known = apig.get_api_keys(includeValues=True, limit=500).get("items", [])
    for item in known:
        if key in (item["id"], item.get("value")):
            if not item.get("enabled", False):
                ctx.fail(
                    f"The {which} key `{item.get('name')}` is disabled: API Gateway refuses it.",
                    hint="Create the keys with `enabled=True`.",
                )
            return str(item["value"])
    ctx.fail(
        f"`create_keys` returned {short(key)} as the {which} key, but the sandbox holds no such "
        "API key (neither an id nor a value).",
        hint="Return the keys `create_api_key` made: `{'free': ..., 'paid': ...}`.",
    )


def _keys(ctx: CheckContext, apig: Any, keys: Any) -> tuple[str, str]:
    if isinstance(keys, Mapping) and {"free", "paid"} <= set(keys):
        pair: Sequence[Any] = (keys["free"], keys["paid"])
    elif isinstance(keys, (tuple, list)) and len(keys) == 2:
        pair = keys
    else:
        ctx.fail(
            f"`create_keys` returned {short(keys)}, not the two keys.",
            hint="Return `{'free': free_key, 'paid': paid_key}`.",
        )
    free, paid = (_key_value(ctx, apig, k, w) for k, w in zip(pair, ("free", "paid"), strict=True))
    if free == paid:
        ctx.fail(
            "The free and the paid key are the same key.",
            hint="Create one key per customer tier, each in its own usage plan.",
        )
    return free, paid


def _get(url: str, key: str | None) -> Any:
    return http("GET", url, headers={"x-api-key": key} if key else {})


def _message(response: Any) -> str:
    body = json_of(response)
    return str(body.get("message")) if isinstance(body, dict) else response.text


def _expect_outsiders_refused(ctx: CheckContext, url: str) -> None:
    for key, who in ((None, "without an API key"), (GUESSED_KEY, "with a guessed API key")):
        got = _get(url, key)
        if got.status_code != 403:
            ctx.fail(
                f"GET /products on prod {who} answered {body_of(got)}: anyone can call the API "
                "without a plan, so no limit applies to them.",
                hint=KEY_REQUIRED_HINT,
            )


def _expect_paid(ctx: CheckContext, api: str, paid: str) -> None:
    for stage in STAGES:
        got = _get(invoke_url(api, stage, "/products"), paid)
        if got.status_code == 403:
            ctx.fail(
                f"The paid key was refused on the {stage} stage ({body_of(got)}): no usage "
                f"plan of the key lists the {stage} stage of this API.",
                hint=PLAN_HINT,
            )
        if got.status_code != 200:
            ctx.fail(
                f"GET /products on {stage} with the paid key answered {body_of(got)}.",
                hint="Integrate GET /products with the catalog function (a Lambda proxy "
                "integration of `function_arn`).",
            )
    url = invoke_url(api, "prod", "/products")
    for sent in range(1, PAID_FLOOD + 1):
        got = _get(url, paid)
        if got.status_code != 200:
            ctx.fail(
                f"The paid key was refused at request {sent} of {PAID_FLOOD} sent at one moment "
                f"({body_of(got)}): paid customers are limited too.",
                hint="The paid plan has no throttle and no quota, and the paid key is only in "
                "the paid plan (a stage-wide throttle in `methodSettings` limits every key).",
            )


def _burst(ctx: CheckContext, url: str, free: str, limit: int) -> tuple[int, Any]:
    """Requests with the free key at one moment: how many were answered before the first
    refusal (at most ``limit`` are sent), and that refusal (or ``None``)."""
    for sent in range(limit):
        got = _get(url, free)
        if got.status_code != 200:
            return sent, got
    return limit, None


def _expect_free_throttled(ctx: CheckContext, url: str, free: str) -> None:
    ctx.clock.advance(60)  # whatever the paid flood did, the free bucket is full again
    answered, refusal = _burst(ctx, url, free, FREE_BURST + 20)
    if refusal is not None and refusal.status_code == 403:
        ctx.fail(
            f"The free key was refused on prod ({body_of(refusal)}): no usage plan of the key "
            "lists the prod stage of this API.",
            hint=PLAN_HINT,
        )
    if refusal is None or answered > FREE_BURST:
        ctx.fail(
            f"The free key got {answered} requests answered at one moment "
            + ("without a single 429" if refusal is None else f"before a {refusal.status_code}")
            + f": free customers may burst to {FREE_BURST}.",
            hint=PLAN_HINT,
        )
    if refusal.status_code != 429 or answered < FREE_BURST:
        ctx.fail(
            f"The free key was refused after {answered} requests at one moment "
            f"({body_of(refusal)}); it may burst to {FREE_BURST}.",
            hint=PLAN_HINT,
        )
    ctx.clock.advance(1)
    answered, refusal = _burst(ctx, url, free, FREE_RATE + 10)
    if answered != FREE_RATE:
        ctx.fail(
            f"One second after its burst ran out, the free key got {answered} requests "
            f"answered, not {FREE_RATE}: its bucket refills at {answered or 'less than 1'} a "
            "second.",
            hint=PLAN_HINT,
        )


def _next_midnight(moment: datetime) -> float:
    day = moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).timestamp()


def _expect_free_quota(ctx: CheckContext, url: str, free: str) -> None:
    used = FREE_BURST + FREE_RATE  # answered so far today
    limit = FREE_QUOTA + 20
    refusal = None
    while used < limit and refusal is None:
        ctx.clock.advance(1)
        for _ in range(FREE_RATE):
            got = _get(url, free)
            if got.status_code != 200:
                refusal = got
                break
            used += 1
    if refusal is None:
        ctx.fail(
            f"The free key got {used} requests answered in one day (two a second), and the "
            f"plan allows {FREE_QUOTA} a day.",
            hint=PLAN_HINT,
        )
    if used != FREE_QUOTA or _message(refusal) != "Limit Exceeded":
        ctx.fail(
            f"The free key was refused after {used} requests that day ({body_of(refusal)}); "
            f"the plan allows {FREE_QUOTA} a day, then `429 Limit Exceeded`.",
            hint=PLAN_HINT,
        )
    ctx.clock.advance_to(_next_midnight(ctx.clock.now) + 1)
    got = _get(url, free)
    if got.status_code != 200:
        ctx.fail(
            f"Just after midnight UTC the free key is still refused ({body_of(got)}): its "
            "quota is not per day.",
            hint=PLAN_HINT,
        )


def check_public_api(ctx: CheckContext) -> None:
    """Keys are required; the paid key is never limited; the free key is, by rate and quota."""
    create_api = ctx.function("create_public_api")
    create_keys = ctx.function("create_keys")
    apig = ctx.client("apigateway")
    backend = deploy_backend(ctx, catalog_handler, "catalog")
    api = resolve_api(ctx, ctx.call(create_api, apig, backend), "create_public_api")
    expect_stages(ctx, api, STAGES, "create_public_api")
    free, paid = _keys(ctx, apig, ctx.call(create_keys, apig, api))
    url = invoke_url(api, "prod", "/products")
    _expect_outsiders_refused(ctx, url)
    _expect_paid(ctx, api, paid)
    _expect_free_throttled(ctx, url, free)
    _expect_free_quota(ctx, url, free)
