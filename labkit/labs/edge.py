"""The edge lab: CloudFront (origin access control, caching and deploys, geo restriction, price
classes) and Global Accelerator (health checks, traffic dials, failover).

Every check calls the learner's functions in an empty world of its own and judges what viewers
get: it reads the bucket directly and through CloudFront, plays seeded traffic on the lab clock
around a deploy, asks from several countries, measures latency from several cities, and fails a
Region to time how long traffic takes to leave it. Any way of getting there passes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from labkit.grading.checks import Check, CheckContext
from labkit.labs import edge_access as access
from labkit.labs.spec import LabSpec
from labkit.services.edge import sim_traces as edge_traces
from labkit.services.edge.sim_locations import (
    EDGE_PROCESSING_MS,
    PRICE_CLASSES,
    nearest_cloudfront_edge,
    place,
    rtt_ms,
)

# -- the lab's fixed settings -------------------------------------------------------------------
ORIGIN_BUCKET = "edge-lab-origin"
ORIGIN_PAGE = "<h1>Served through CloudFront only</h1>"
SHOP_BUCKET = "edge-lab-shop"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"

#: Deploy check: traffic lasts this long, the second build is deployed halfway.
TRACE_SECONDS = 1200.0
DEPLOY_AT = 600.0
#: No visit this long after a deploy may see the previous build.
STALE_LIMIT = 120.0
#: Share of files that must be answered ``Hit`` (from the edge cache, no trip to the origin).
HIT_TARGET = 0.93
TRACE_SEED = 4
TRACE_GAP = 10.0
NEWSLETTER_SHARE = 0.3

#: Price class check: (audience, latency target of a cache hit in ms).
PRICE_CASES: tuple[tuple[tuple[str, ...], float], ...] = (
    (("New York", "London", "Berlin", "Mexico City"), 30.0),
    (("London", "Tokyo", "Mumbai", "Dubai"), 30.0),
    (("London", "Sydney", "Sao Paulo"), 30.0),
    (("Cairo", "Frankfurt"), 20.0),
    (("Honolulu", "London"), 30.0),
)
#: Cheapest first.
PRICE_ORDER = ("PriceClass_100", "PriceClass_200", "PriceClass_All")

#: Failover check: one instance per Region, a canary Region and its dial, the time limit.
ENDPOINTS: Mapping[str, str] = {
    "us-east-1": "i-0e1a2b3c4d5e6f701",
    "eu-west-1": "i-0e1a2b3c4d5e6f702",
    "ap-northeast-1": "i-0e1a2b3c4d5e6f703",
}
CANARY_REGION = "ap-northeast-1"
CANARY_DIAL = 25.0
FAILOVER_LIMIT = 30
LISTENER_PORT = 80
GA_REGION = "us-west-2"


def _short(value: object, limit: int = 70) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _edge() -> Any:
    from labkit import edge

    return edge


def _public_policy(bucket: str) -> str:
    return json.dumps(
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
    )


def _site_domain(ctx: CheckContext, dist_id: str) -> str:
    return str(ctx.client("cloudfront").get_distribution(Id=dist_id)["Distribution"]["DomainName"])


# -- 1. origin access control -------------------------------------------------------------------
NO_OAC_HINT = (
    "Create an origin access control (`cf.create_origin_access_control(...)` with "
    '`SigningBehavior="always"`, `SigningProtocol="sigv4"`, `OriginAccessControlOriginType="s3"`) '
    "and put its Id in the origin as `OriginAccessControlId`, with "
    '`S3OriginConfig={"OriginAccessIdentity": ""}`.'
)


def _oac_origin_of(cf: Any, dist_id: str, bucket: str) -> Mapping[str, Any] | None:
    config = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]
    for origin in config["Origins"].get("Items") or []:
        if str(origin.get("DomainName", "")).startswith(f"{bucket}."):
            return dict(origin)
    return None


def check_oac_origin(ctx: CheckContext) -> None:
    """``lock_origin(s3, cf, bucket)``: a distribution serves the bucket, and only it can read.

    Outsiders try too: an anonymous GET straight to the bucket, another distribution of the
    learner's account and one of another account, each with an origin access control of its
    own. Whoever gets in is named, with the statement of the bucket policy that let them in.
    """
    lock_origin = ctx.function("lock_origin")
    s3, cf = ctx.client("s3"), ctx.client("cloudfront")
    s3.create_bucket(Bucket=ORIGIN_BUCKET)
    s3.put_object(Bucket=ORIGIN_BUCKET, Key="index.html", Body=ORIGIN_PAGE, ContentType="text/html")
    returned = access.call_with_aws_hints(ctx, lock_origin, s3, cf, ORIGIN_BUCKET)
    dist_id = access.distribution_id(ctx, "lock_origin", returned)
    dist = cf.get_distribution(Id=dist_id)["Distribution"]
    origin = _oac_origin_of(cf, dist_id, ORIGIN_BUCKET)
    if origin is None:
        ctx.fail(
            f"The distribution has no origin for the bucket `{ORIGIN_BUCKET}`.",
            hint=f"Use the bucket's REST endpoint as the origin's DomainName: \"{ORIGIN_BUCKET}"
            '.s3.us-east-1.amazonaws.com" (or without the Region).',
        )
    if "s3-website" in str(origin.get("DomainName")):
        ctx.fail(
            "The origin is the bucket's website endpoint, which serves only public objects: "
            "origin access control cannot sign requests to it.",
            hint="Use the REST endpoint (`<bucket>.s3.<region>.amazonaws.com`) with an OAC.",
        )
    edge = _edge()
    policy = access.bucket_policy(s3, ORIGIN_BUCKET)
    through = edge.fetch(f"https://{dist['DomainName']}/index.html", viewer_at="London")
    direct = edge_direct_read(ORIGIN_BUCKET, "index.html")
    if direct == 200:
        said = access.bucket_policy_says(policy, ORIGIN_BUCKET, "index.html", "anonymous")
        why = said if "allows it" in said else "The object's ACL grants public read."
        ctx.fail(
            "Anyone can read the bucket directly: an anonymous GET of "
            f"https://{ORIGIN_BUCKET}.s3.amazonaws.com/index.html answered 200. {why}",
            hint="The bucket policy (or the object's ACL) lets everyone read. Allow only the "
            'service principal `{"Service": "cloudfront.amazonaws.com"}`, with a condition on '
            '`AWS:SourceArn` naming your distribution\'s ARN; no `Principal: "*"`, no '
            "public-read ACL.",
        )
    if through.status != 200:
        if not origin.get("OriginAccessControlId"):
            ctx.fail(
                f"Through CloudFront, /index.html answered {through.status}: the origin has no "
                "origin access control, so CloudFront reads the bucket anonymously.",
                hint=NO_OAC_HINT,
            )
        said = access.bucket_policy_says(policy, ORIGIN_BUCKET, "index.html", dist["ARN"])
        ctx.fail(
            f"Through CloudFront, /index.html answered {through.status}: S3 refused your "
            f"distribution ({dist['ARN']}). {said}",
            hint="The bucket policy must allow `s3:GetObject` on "
            f'`arn:aws:s3:::{ORIGIN_BUCKET}/*` to `{{"Service": "cloudfront.amazonaws.com"}}` '
            'with `"Condition": {"StringEquals": {"AWS:SourceArn": <the distribution\'s ARN>}}`'
            f" (this distribution's ARN is {dist['ARN']}; the Id alone is not an ARN).",
        )
    if ORIGIN_PAGE.encode() not in through.body:
        ctx.fail(
            f"Through CloudFront, /index.html answered {through.body[:60]!r}, not the page.",
            hint="Point the default cache behavior at the bucket's origin.",
        )
    # Other distributions, each with an OAC of its own: one in this account, one in another.
    access.prove_only_yours(ctx, ORIGIN_BUCKET, "index.html", policy)


def edge_direct_read(bucket: str, key: str) -> int:
    """The status of an anonymous ``GET`` of ``key`` straight from the bucket (no CloudFront)."""
    import requests

    return int(requests.get(f"https://{bucket}.s3.amazonaws.com/{key}", timeout=5).status_code)


# -- 2. caching and deploys --------------------------------------------------------------------
def _fetcher() -> Callable[[str, str], Any]:
    edge = _edge()

    def fetch(url: str, city: str) -> Any:
        return edge.fetch(url, viewer_at=city)

    return fetch


def _cached_ttls(dist_id: str) -> dict[str, float]:
    """The longest TTL any edge gave each path (query strings dropped)."""
    ttls: dict[str, float] = {}
    for cache in _edge().edge_caches(dist_id).values():
        for key, entry in cache.entries.items():
            path = key[0]
            ttls[path] = max(ttls.get(path, 0.0), float(entry.ttl))
    return ttls


def _keys_with_query(dist_id: str) -> int:
    return sum(
        1 for cache in _edge().edge_caches(dist_id).values() for key in cache.entries if key[1]
    )


def _invalidated_paths(cf: Any, dist_id: str) -> list[str]:
    paths: list[str] = []
    for item in (
        cf.list_invalidations(DistributionId=dist_id)["InvalidationList"].get("Items") or []
    ):
        got = cf.get_invalidation(DistributionId=dist_id, Id=item["Id"])["Invalidation"]
        paths.extend(got["InvalidationBatch"]["Paths"].get("Items") or [])
    return paths


def _seconds(ttl: float) -> str:
    from labkit.services.cloudfront.view import duration

    return f"{ttl:,.0f} s ({duration(ttl)})" if ttl >= 120 else f"{ttl:,.0f} s"


def check_fresh_deploys(ctx: CheckContext) -> None:
    """``shop_distribution`` and ``deploy``: a high hit ratio, and no stale page after a deploy."""
    shop_distribution = ctx.function("shop_distribution")
    deploy = ctx.function("deploy")
    s3, cf = ctx.client("s3"), ctx.client("cloudfront")
    s3.create_bucket(Bucket=SHOP_BUCKET)
    s3.put_bucket_policy(Bucket=SHOP_BUCKET, Policy=_public_policy(SHOP_BUCKET))
    returned = access.call_with_aws_hints(
        ctx, shop_distribution, cf, f"{SHOP_BUCKET}.s3.us-east-1.amazonaws.com"
    )
    dist_id = access.distribution_id(ctx, "shop_distribution", returned)
    base = f"https://{_site_domain(ctx, dist_id)}"
    clock = ctx.clock
    start = clock.timestamp
    access.call_with_aws_hints(ctx, deploy, s3, cf, dist_id, SHOP_BUCKET, edge_traces.site_build(1))
    plan = edge_traces.visits(
        duration=TRACE_SECONDS,
        mean_gap=TRACE_GAP,
        seed=TRACE_SEED,
        tagged_share=NEWSLETTER_SHARE,
    )
    fetch = _fetcher()
    report = edge_traces.browse(
        [v for v in plan if v.at < DEPLOY_AT], base, fetch, clock, origin=start
    )
    broken = report.failed()
    if broken:
        first = broken[0]
        bad = next(f for f in first.files if f.status != 200)
        ctx.fail(
            f"Before any redeploy, a visitor in {first.visit.viewer} opening {first.visit.page} "
            f"got {bad.status or 'no answer'} for {bad.path} ({len(broken)} visits were broken).",
            hint="`deploy` must upload every file of the build under its key (`files` maps "
            "keys like `index.html` and `assets/app.js` to files with `.body` and "
            "`.content_type`), and the distribution's origin must be the bucket.",
        )
    clock.advance_to(start + DEPLOY_AT)
    access.call_with_aws_hints(ctx, deploy, s3, cf, dist_id, SHOP_BUCKET, edge_traces.site_build(2))
    edge_traces.browse(
        [v for v in plan if v.at >= DEPLOY_AT], base, fetch, clock, origin=start, report=report
    )
    broken = report.failed()
    if broken:
        first = broken[0]
        bad = next(f for f in first.files if f.status != 200)
        ctx.fail(
            f"After the redeploy, a visitor in {first.visit.viewer} opening {first.visit.page} got "
            f"{bad.status or 'no answer'} for {bad.path}.",
            hint="Upload every file a page names; with versioned names, upload the new assets "
            "before the HTML that points to them.",
        )
    stale = report.stale("2", DEPLOY_AT + STALE_LIMIT)
    if stale:
        first = stale[0]
        old = next(f for f in first.files if f.build not in ("2", None))
        late = first.visit.at - DEPLOY_AT
        ttls = _cached_ttls(dist_id)
        ttl = ttls.get(old.path.split("?")[0], 0.0)
        invalidated = _invalidated_paths(cf, dist_id)
        if invalidated:
            hint = (
                f"Your invalidations named {', '.join(sorted(set(invalidated)))}, which do not "
                f"cover {old.path}. Invalidate every path that changed (`/*` covers all of "
                "them, and counts as one path), or give changing files new names."
            )
        else:
            hint = (
                f"CloudFront keeps {old.path} for {_seconds(ttl)}: after a deploy it serves "
                "the old copy until that runs out. Either invalidate in `deploy` "
                "(`cf.create_invalidation(DistributionId=..., InvalidationBatch={'Paths': "
                "{'Quantity': 1, 'Items': ['/*']}, 'CallerReference': ...})`), or give assets "
                f"new names per build and keep the HTML's TTL at most {STALE_LIMIT:.0f} s."
            )
        ctx.fail(
            f"{len(stale)} visits more than {STALE_LIMIT:.0f} s after the deploy still got "
            f"build 1: the first, {late:.0f} s after it, in {first.visit.viewer}, got "
            f"{old.path} of build 1.",
            hint=hint,
        )
    ratio = report.hit_ratio()
    if ratio < HIT_TARGET:
        verdicts = ", ".join(f"{n} {v}" for v, n in report.verdicts().items())
        ttls = _cached_ttls(dist_id)
        if not ttls:
            hint = (
                "Nothing was cached at all: the cache behavior uses CachingDisabled, TTLs of 0, "
                "or a policy that caches only what the origin's Cache-Control allows. Use the "
                "managed CachingOptimized policy (or legacy TTLs above 0)."
            )
        elif _keys_with_query(dist_id):
            hint = (
                "Visitors from the newsletter add `?ref=...` to the page, and your cache key "
                "includes the query string, so each link is a new object for CloudFront. Leave "
                "query strings out of the cache key (CachingOptimized does; legacy "
                "`ForwardedValues` with `QueryString: False`)."
            )
        else:
            shortest = min(ttls.values())
            hint = (
                f"Files expire after as little as {_seconds(shortest)}; each expiry costs a trip "
                "to the origin (a RefreshHit or a Miss). Keep TTLs long and make deploys "
                "visible with an invalidation, or with new names for assets (then only the "
                f"HTML needs a short TTL, up to {STALE_LIMIT:.0f} s)."
            )
        ctx.fail(
            f"{ratio:.1%} of the {len(report.files)} files were answered from the edge cache "
            f"(Hit), below the {HIT_TARGET:.0%} target ({verdicts}).",
            hint=hint,
        )


# -- 3. geo restriction -----------------------------------------------------------------------
GEO_ALLOWED = ("Paris", "Tokyo", "New York", "Mexico City")


def _plain_distribution(ctx: CheckContext, bucket: str, reference: str) -> str:
    s3, cf = ctx.client("s3"), ctx.client("cloudfront")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=_public_policy(bucket))
    s3.put_object(Bucket=bucket, Key="index.html", Body="<h1>shop</h1>", ContentType="text/html")
    dist = cf.create_distribution(
        DistributionConfig={
            "CallerReference": reference,
            "Comment": "checked by labkit",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "site",
                        "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "site",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": CACHING_OPTIMIZED,
            },
        }
    )["Distribution"]
    return str(dist["Id"])


def _distribution_count(cf: Any) -> int:
    return len(cf.list_distributions().get("DistributionList", {}).get("Items") or [])


def _geo_statuses(url: str, cities: Sequence[str]) -> dict[str, int]:
    edge = _edge()
    return {city: int(edge.fetch(url, viewer_at=city).status) for city in cities}


def _geo_round(
    ctx: CheckContext, block_countries: Any, dist_id: str, url: str, countries: list[str]
) -> None:
    blocked_cities = {"CU": "Havana", "IR": "Tehran", "RU": "Moscow"}
    cf = ctx.client("cloudfront")
    before = _distribution_count(cf)
    access.call_with_aws_hints(ctx, block_countries, cf, dist_id, list(countries))
    must_block = [blocked_cities[c] for c in countries]
    must_allow = list(GEO_ALLOWED) + [
        city for code, city in blocked_cities.items() if code not in countries
    ]
    got = _geo_statuses(url, must_block + must_allow)
    let_in = [c for c in must_block if got[c] != 403]
    shut_out = [c for c in must_allow if got[c] == 403]
    config = ctx.client("cloudfront").get_distribution_config(Id=dist_id)["DistributionConfig"]
    kind = (config.get("Restrictions") or {}).get("GeoRestriction", {}).get("RestrictionType")
    if shut_out and (let_in or kind == "whitelist"):
        ctx.fail(
            f"After block_countries(..., {countries}), viewers in {', '.join(shut_out)} got 403"
            + (f" while {', '.join(let_in)} got in." if let_in else "."),
            hint="That is an allow list (`RestrictionType: 'whitelist'`): it lets in ONLY the "
            "countries listed. To keep listed countries out and everyone else in, use a block "
            "list: `RestrictionType: 'blacklist'`.",
        )
    if shut_out:
        ctx.fail(
            f"After block_countries(..., {countries}), viewers in {', '.join(shut_out)} got 403, "
            "but their countries are not in the list.",
            hint="The list you pass replaces the previous one: block exactly the countries "
            "given, with `RestrictionType: 'blacklist'`, `Quantity` and `Items`.",
        )
    if let_in and _distribution_count(cf) > before:
        ctx.fail(
            f"After block_countries(..., {countries}), viewers in {', '.join(let_in)} still got "
            f"{', '.join(str(got[c]) for c in let_in)}: `block_countries` created a new "
            "distribution instead of changing the one it was given.",
            hint="Change the distribution named by `distribution_id`: "
            "`got = cf.get_distribution_config(Id=distribution_id)`, set its Restrictions, then "
            "`cf.update_distribution(Id=distribution_id, DistributionConfig=..., "
            "IfMatch=got['ETag'])`.",
        )
    if let_in:
        ctx.fail(
            f"After block_countries(..., {countries}), viewers in {', '.join(let_in)} still got "
            f"{', '.join(str(got[c]) for c in let_in)}.",
            hint="Set `DistributionConfig['Restrictions'] = {'GeoRestriction': "
            "{'RestrictionType': 'blacklist', 'Quantity': len(countries), 'Items': countries}}` "
            "and update the distribution.",
        )


def check_geo_block(ctx: CheckContext) -> None:
    """``block_countries(cf, distribution_id, countries)`` keeps exactly those countries out."""
    block_countries = ctx.function("block_countries")
    dist_id = _plain_distribution(ctx, "edge-lab-geo", "labkit-geo")
    url = f"https://{_site_domain(ctx, dist_id)}/index.html"
    _geo_round(ctx, block_countries, dist_id, url, ["CU", "IR"])
    _geo_round(ctx, block_countries, dist_id, url, ["RU"])


# -- 4. price classes ----------------------------------------------------------------------------
def hit_latency(city: str, price_class: str) -> float:
    """Modelled latency of a cache hit for a viewer in ``city`` under ``price_class``, ms."""
    viewer = place(city)
    pop = nearest_cloudfront_edge(viewer, price_class)
    return rtt_ms(viewer, pop.place) + EDGE_PROCESSING_MS


def cheapest_class(audience: Sequence[str], target_ms: float) -> str | None:
    """The cheapest price class whose cache hits reach every viewer within ``target_ms``."""
    for price_class in PRICE_ORDER:
        if all(hit_latency(city, price_class) <= target_ms for city in audience):
            return price_class
    return None


def _latency_table(audience: Sequence[str]) -> str:
    rows = []
    for price_class in PRICE_ORDER:
        worst = max(audience, key=lambda c: hit_latency(c, price_class))
        rows.append(f"{price_class}: worst {worst} {hit_latency(worst, price_class):.0f} ms")
    return "; ".join(rows)


def check_price_class(ctx: CheckContext) -> None:
    """``choose_price_class(cf, origin_domain, audience, target_ms)`` picks the cheapest class."""
    choose = ctx.function("choose_price_class")
    s3 = ctx.client("s3")
    bucket = "edge-lab-prices"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=_public_policy(bucket))
    s3.put_object(Bucket=bucket, Key="index.html", Body="<h1>hello</h1>", ContentType="text/html")
    origin = f"{bucket}.s3.us-east-1.amazonaws.com"
    for audience, target in PRICE_CASES:
        expected = cheapest_class(audience, target)
        got = access.call_with_aws_hints(
            ctx, choose, ctx.client("cloudfront"), origin, list(audience), target
        )
        if got == expected:
            continue
        case = f"for viewers in {', '.join(audience)} and a target of {target:g} ms"
        facts_line = f"Cache hits there: {_latency_table(audience)}."
        if got is not None and got not in PRICE_CLASSES:
            ctx.fail(
                f"`choose_price_class` returned {_short(got)} {case}.",
                hint="Return one of the API's names, `PriceClass_100`, `PriceClass_200`, "
                "`PriceClass_All`, or None when none is fast enough.",
            )
        if expected is None:
            ctx.fail(
                f"`choose_price_class` returned {got!r} {case}, but no price class gets every "
                f"viewer under the target. {facts_line}",
                hint="Return None when even PriceClass_All misses the target for some viewer.",
            )
        if got is None:
            ctx.fail(
                f"`choose_price_class` returned None {case}, but {expected} meets it. {facts_line}",
                hint="Measure a cache hit: the first request from a city is a Miss and includes "
                "the trip from the edge to the origin; ask twice and time the second answer "
                "(its `X-Labkit-Latency-Ms` header, or `.latency_ms` of edge.fetch).",
            )
        if PRICE_ORDER.index(got) > PRICE_ORDER.index(expected):
            ctx.fail(
                f"`choose_price_class` returned {got} {case}, but the cheaper {expected} meets "
                f"it. {facts_line}",
                hint="Try the price classes from the cheapest (PriceClass_100: North America, "
                "Europe, Israel) up, and stop at the first that is fast enough for every viewer. "
                "A price class limits where the edges are, not where viewers may be.",
            )
        ctx.fail(
            f"`choose_price_class` returned {got} {case}, but with it some viewer misses the "
            f"target. {facts_line}",
            hint="Check every viewer of the audience: the slowest decides. Under a cheaper "
            "price class a far viewer is served from an edge outside its region.",
        )


# -- 5. Global Accelerator failover -------------------------------------------------------------
def _share(report: Any, region: str) -> float:
    results = report.results
    hits = sum(1 for r in results if r.served_by.split(":")[0] == region)
    return hits / len(results) if results else 0.0


def _accelerator_arn(ctx: CheckContext, returned: Any, ga: Any) -> tuple[str, Any]:
    if isinstance(returned, Mapping):
        ctx.fail(
            "`build_accelerator` returned a dict, not the accelerator's ARN.",
            hint='Return `ga.create_accelerator(...)["Accelerator"]["AcceleratorArn"]`.',
        )
    if not isinstance(returned, str) or not returned:
        ctx.fail(
            f"`build_accelerator` returned {_short(returned)}, not the accelerator's ARN.",
            hint="Did you finish the function (replace the `...`) and `return` the ARN?",
        )
    try:
        accelerator = ga.describe_accelerator(AcceleratorArn=returned)["Accelerator"]
    except ClientError:
        what = "which is not an accelerator's ARN"
        for known in ga.list_accelerators()["Accelerators"]:
            addresses = [ip for ip_set in known["IpSets"] for ip in ip_set["IpAddresses"]]
            if returned == known["DnsName"] or returned in addresses:
                what = "the accelerator's DNS name or static IP address, not its ARN"
            elif returned.startswith(known["AcceleratorArn"] + "/"):
                what = (
                    "the ARN of an endpoint group"
                    if "/endpoint-group/" in returned
                    else "the ARN of a listener"
                ) + ", not of the accelerator"
        ctx.fail(
            f"`build_accelerator` returned {returned!r}, {what}.",
            hint='Return `ga.create_accelerator(...)["Accelerator"]["AcceleratorArn"]` of the '
            "accelerator you created.",
        )
    return returned, accelerator


def _groups(ga: Any, arn: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    listeners = ga.list_listeners(AcceleratorArn=arn)["Listeners"]
    groups: list[dict[str, Any]] = []
    for listener in listeners:
        groups += ga.list_endpoint_groups(ListenerArn=listener["ListenerArn"])["EndpointGroups"]
    return listeners, groups


def check_failover(ctx: CheckContext) -> None:
    """``build_accelerator(ga, endpoints)``: nearest Region, a canary dial, fast failover."""
    build = ctx.function("build_accelerator")
    ga = ctx.client("globalaccelerator", region=GA_REGION)
    returned = access.call_with_aws_hints(
        ctx, build, ga, dict(ENDPOINTS), hints=access.ACCELERATOR_HINTS
    )
    arn, accelerator = _accelerator_arn(ctx, returned, ga)
    listeners, groups = _groups(ga, arn)
    tcp = [
        lis
        for lis in listeners
        if lis["Protocol"] == "TCP"
        and any(r["FromPort"] <= LISTENER_PORT <= r["ToPort"] for r in lis["PortRanges"])
    ]
    if not tcp:
        have = ", ".join(
            f"{lis['Protocol']} {[(r['FromPort'], r['ToPort']) for r in lis['PortRanges']]}"
            for lis in listeners
        )
        ctx.fail(
            f"No TCP listener takes port {LISTENER_PORT} (listeners: {have or 'none'}).",
            hint="`ga.create_listener(AcceleratorArn=..., Protocol='TCP', PortRanges="
            f"[{{'FromPort': {LISTENER_PORT}, 'ToPort': {LISTENER_PORT}}}], "
            "IdempotencyToken=...)`: the web shop speaks HTTP over TCP.",
        )
    regions = {g["EndpointGroupRegion"]: g for g in groups}
    missing = [r for r in ENDPOINTS if r not in regions]
    if missing:
        ctx.fail(
            f"There is no endpoint group for {', '.join(missing)} (groups: "
            f"{', '.join(regions) or 'none'}).",
            hint="Create one endpoint group per Region of `endpoints`, with "
            "`EndpointGroupRegion=region` and `EndpointConfigurations=[{'EndpointId': id}]`.",
        )
    for region, endpoint in ENDPOINTS.items():
        ids = [d["EndpointId"] for d in regions[region]["EndpointDescriptions"]]
        if endpoint not in ids:
            ctx.fail(
                f"The {region} endpoint group holds {ids or 'no endpoint'}, not {endpoint}.",
                hint="Put each Region's instance id from `endpoints` in that Region's group.",
            )
    clock = ctx.clock
    start = clock.timestamp
    # Past every possible initial health check: all endpoints healthy.
    clock.advance_to(start + 300)
    edge = _edge()
    url = f"http://{accelerator['DnsName']}:{LISTENER_PORT}/"
    now = clock.timestamp
    shares = {}
    for city, region, count in (
        ("New York", "us-east-1", 100),
        ("Paris", "eu-west-1", 100),
        ("Tokyo", CANARY_REGION, 400),
    ):
        # Many viewers in each city, each from an address of its own: with client affinity
        # (SOURCE_IP) one address always lands on one endpoint, so one address would be all
        # or nothing.
        report = edge.replay(
            [
                (i * 0.001, url, city, "GET", {"x-labkit-client": f"{city}/198.51.100.{i}"})
                for i in range(count)
            ]
        )
        shares[city] = _share(report, region)
    clock.advance_to(now + 1)
    for city, region in (("New York", "us-east-1"), ("Paris", "eu-west-1")):
        if shares[city] < 0.99:
            dial = regions[region]["TrafficDialPercentage"]
            ctx.fail(
                f"Only {shares[city]:.0%} of the traffic from {city} went to {region}, the "
                f"nearest Region (its traffic dial is {dial:g} %).",
                hint=f"Leave {region}'s traffic dial at 100 %: only the canary Region "
                f"{CANARY_REGION} takes part of its traffic.",
            )
    canary = shares["Tokyo"]
    dial = regions[CANARY_REGION]["TrafficDialPercentage"]
    if abs(canary - CANARY_DIAL / 100) > 0.08:
        hint = (
            f"The traffic dial is the share of its traffic the group KEEPS: set "
            f"TrafficDialPercentage={CANARY_DIAL:g} on the {CANARY_REGION} group (with "
            "`update_endpoint_group`, or when you create it)."
        )
        if 0 < dial < 1:
            hint = (
                f"TrafficDialPercentage is a percentage from 0 to 100: {dial:g} keeps "
                f"{dial:g} % (not {dial:.0%}). " + hint
            )
        elif abs(dial - (100 - CANARY_DIAL)) < 1:
            hint = (
                f"A dial of {dial:g} % keeps {dial:g} % of the traffic; the canary should keep "
                f"{CANARY_DIAL:g} % and send the rest on. " + hint
            )
        ctx.fail(
            f"{canary:.0%} of Tokyo's traffic went to {CANARY_REGION}, not about "
            f"{CANARY_DIAL:g} % (its traffic dial is {dial:g} %).",
            hint=hint,
        )
    # Fail Europe right after a probe (the worst moment): traffic must leave within the limit.
    group = regions["eu-west-1"]
    worst = group["HealthCheckIntervalSeconds"] * group["ThresholdCount"]
    # Checks run every interval from when the endpoint was added (``start``); 600 s is a whole
    # number of intervals, so failing half a second later is just after a check.
    clock.advance_to(start + 600.5)
    edge.fail_region("eu-west-1")
    failed_at = clock.timestamp
    left_after = None
    for second in range(1, 4 * 90 + 1):
        clock.advance_to(failed_at + second)
        route = edge.route_for(arn, "Paris", port=LISTENER_PORT)
        if route.healthy and route.region != "eu-west-1":
            left_after = second
            break
    if left_after is None or left_after > FAILOVER_LIMIT:
        when = f"after {left_after} s" if left_after else "at all within 6 minutes"
        ctx.fail(
            f"When eu-west-1 failed, traffic from Paris left it {when}; the limit is "
            f"{FAILOVER_LIMIT} s. The group checks every {group['HealthCheckIntervalSeconds']} s "
            f"and needs {group['ThresholdCount']} failed checks in a row: up to {worst} s.",
            hint="Health checks notice a failure after at most interval × threshold seconds. "
            f"Use `HealthCheckIntervalSeconds=10` and a `ThresholdCount` of at most "
            f"{FAILOVER_LIMIT // 10} (the defaults, 30 s × 3, take up to 90 s).",
        )


LAB = LabSpec(
    id="edge",
    title="Edge: CloudFront and Global Accelerator",
    lesson="notebooks/04_edge.ipynb",
    lesson_source="notebooks/04_edge.py",
    exercise="exercises/04_edge.ipynb",
    solution="solutions/04_edge.ipynb",
    source="solutions/04_edge.py",
    checks=(
        Check(
            name="oac_origin",
            title="lock_origin(s3, cf, bucket) serves the bucket through a new distribution, "
            "which only that distribution can read (origin access control)",
            points=2,
            run=check_oac_origin,
            hint="Origin access control on the origin, and a bucket policy for "
            "cloudfront.amazonaws.com limited to your distribution's ARN.",
            isolated=True,
        ),
        Check(
            name="fresh_deploys",
            title=f"shop_distribution + deploy: at least {HIT_TARGET:.0%} of requests answered "
            f"from the edge cache, and no visitor sees the old build {STALE_LIMIT:.0f} s after "
            "a deploy",
            points=3,
            run=check_fresh_deploys,
            hint="Long TTLs for hits, plus an invalidation (or new asset names) in every deploy.",
            isolated=True,
        ),
        Check(
            name="geo_block",
            title="block_countries(cf, distribution_id, countries) keeps exactly those countries "
            "out and lets everyone else in",
            points=1,
            run=check_geo_block,
            hint="Geo restriction with a block list, set with update_distribution and IfMatch.",
            isolated=True,
        ),
        Check(
            name="price_class",
            title="choose_price_class(cf, origin_domain, audience, target_ms) returns the "
            "cheapest price class whose cache hits meet the target for every viewer",
            points=2,
            run=check_price_class,
            hint="Measure a cache hit from each city under each price class, cheapest first.",
            isolated=True,
        ),
        Check(
            name="failover",
            title=f"build_accelerator(ga, endpoints): each viewer to the nearest Region, "
            f"{CANARY_REGION} as a {CANARY_DIAL:g} % canary, and traffic out of a failed Region "
            f"within {FAILOVER_LIMIT} s",
            points=2,
            run=check_failover,
            hint="One endpoint group per Region, a traffic dial on the canary, and health checks "
            "fast enough.",
            isolated=True,
        ),
    ),
)

__all__ = [
    "CANARY_DIAL",
    "CANARY_REGION",
    "ENDPOINTS",
    "FAILOVER_LIMIT",
    "HIT_TARGET",
    "LAB",
    "PRICE_CASES",
    "STALE_LIMIT",
    "cheapest_class",
    "hit_latency",
]
