# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Edge: CloudFront and Global Accelerator
#
# AWS runs many **edge locations** (points of presence, POPs) in cities all over the
# world, outside its Regions and close to your users. Two services use them:
#
# - **CloudFront**, a content delivery network (CDN): an edge location **keeps copies** of your
#   content (a cache) and answers viewers from there, asking your **origin** only when it has no
#   fresh copy.
# - **Global Accelerator**: two **static anycast IP addresses** that take a user's connection
#   at the nearest edge location and carry it over AWS's own network to your application in one
#   of several Regions. It caches nothing.
#
# This lesson builds both in the sandbox, sends requests from viewers in different cities, and
# looks inside the caches. You will see: origins and **origin access control** (OAC), HTTP
# origins, **TTLs and invalidations**, **geo restriction**, **price classes**, CloudFront
# versus **S3 cross-Region replication**, **anycast**, Global Accelerator's **health checks,
# failover and traffic dials**, and how the two services differ.
#
# Latencies in this lesson come from labkit's latency **model** (distance over fibre, with a
# detour factor), not from measurements: they show orders of magnitude and which choice is
# faster, which is what the comparisons need.

# %%
import json
import re

import requests

import labkit
from labkit import edge
from labkit.facts import fact
from labkit.services.edge import sim_locations as places
from labkit.services.edge.sim_costs import cloudfront_bill, nearest_copy, replication_bill
from labkit.services.edge.view import latency_plot, latency_table, lines_plot

lab = labkit.start("edge")
s3 = lab.client("s3")
cf = lab.client("cloudfront")

# %% [markdown]
# ## 1. Where the edge is
#
# labkit knows the large edge metros (CloudFront's own list is a map on its website) and the
# **pricing region** each bills in, which matters for price classes (section 7):

# %%
by_region = {}
for location in places.CLOUDFRONT_EDGES:
    by_region.setdefault(location.pricing_region, []).append(location.code)
for region_name, codes in by_region.items():
    more = " ..." if len(codes) > 10 else ""
    print(f"{region_name:58s} {len(codes):2d}  {' '.join(codes[:10])}{more}")

# %% [markdown]
# ## 2. An S3 origin that only CloudFront can read
#
# A distribution serves content from one or more **origins**. The most common one is an S3
# bucket. The notes say origin access control exists "to guarantee that only CloudFront
# accesses your bucket". More precisely: **only your distribution**. It works in two halves:
#
# 1. **Origin access control** (OAC) makes CloudFront **sign** its requests to S3 as the
#    service principal `cloudfront.amazonaws.com`, naming the distribution that asks.
# 2. The **bucket policy** allows `s3:GetObject` to that service principal **only when**
#    `AWS:SourceArn` is your distribution's ARN. Without the condition, every CloudFront
#    distribution of every AWS account could read your bucket.
#
# The bucket stays private: a direct, anonymous request is refused.

# %%
SITE = "edge-lesson-site"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # a managed cache policy

s3.create_bucket(Bucket=SITE)
s3.put_object(
    Bucket=SITE, Key="index.html", Body="<h1>Hello from the origin</h1>", ContentType="text/html"
)

control = cf.create_origin_access_control(
    OriginAccessControlConfig={
        "Name": "site-oac",
        "SigningProtocol": "sigv4",
        "SigningBehavior": "always",
        "OriginAccessControlOriginType": "s3",
    }
)["OriginAccessControl"]["Id"]

site = cf.create_distribution(
    DistributionConfig={
        "CallerReference": "lesson-site",
        "Comment": "the lesson's site",
        "Enabled": True,
        "DefaultRootObject": "index.html",
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "bucket",
                    "DomainName": f"{SITE}.s3.us-east-1.amazonaws.com",  # the REST endpoint
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                    "OriginAccessControlId": control,
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "bucket",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": CACHING_OPTIMIZED,
        },
    }
)["Distribution"]

only_my_distribution = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{SITE}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": site["ARN"]}},
        }
    ],
}
s3.put_bucket_policy(Bucket=SITE, Policy=json.dumps(only_my_distribution))
domain = site["DomainName"]
print(domain)

# %% [markdown]
# Now read the page the two ways. Through CloudFront the edge answers; straight from S3 the
# anonymous request is refused (`AccessDenied`):

# %%
through = requests.get(f"https://{domain}/index.html")
direct = requests.get(f"https://{SITE}.s3.amazonaws.com/index.html")
print("through CloudFront:", through.status_code, through.text)
print("straight from S3:  ", direct.status_code, direct.text[:70], "...")

# %% [markdown]
# CloudFront's answer carries headers that tell what happened: `X-Cache` (**Miss**: the edge
# had no copy and asked the origin; **Hit**: answered from its cache), `X-Amz-Cf-Pop` (which
# edge location answered), `Age` (seconds since the edge fetched its copy) and `Via`. labkit
# adds `X-Labkit-Latency-Ms`, the modelled time to the first byte.
#
# The viewer is in the sandbox's Region (Northern Virginia) unless you say otherwise. Ask again
# ten lab seconds later: a **Hit** this time, much faster, with an `Age`.


# %%
def show(answer):
    """The headers that tell the story of one CloudFront answer."""
    keys = ("X-Cache", "X-Amz-Cf-Pop", "Age", "X-Labkit-Latency-Ms")
    return f"{answer.status_code}  " + "  ".join(f"{k}: {answer.headers.get(k, '-')}" for k in keys)


print(show(through))
lab.clock.advance(10)
print(show(requests.get(f"https://{domain}/index.html")))

# %% [markdown]
# The notes add that "CloudFront can send data to the S3 bucket (ingress)". A cache behavior can
# allow `PUT`, `POST` and `DELETE` too, and CloudFront then forwards them to the origin (an
# upload through the edge); the bucket policy must then allow `s3:PutObject` as well. By
# default a behavior allows only `GET` and `HEAD`, and CloudFront refuses the rest:

# %%
upload = requests.post(f"https://{domain}/index.html", data=b"new page")
reason = re.search(r'size="1px">\s*(.*?)\s*<BR', upload.text, re.S)
print(
    upload.status_code,
    upload.headers["X-Cache"],
    "·",
    reason.group(1) if reason else upload.text[:80],
)

# %% [markdown]
# ## 3. Viewers around the world, and the cache view
#
# `edge.viewer("Tokyo")` sends the requests of a `with` block from Tokyo. Each edge location
# has **its own cache**: Tokyo's first request is a miss even though Virginia's edge holds a
# copy, and the miss pays for the trip from Tokyo's edge to the bucket in Virginia.

# %%
with edge.viewer("Tokyo"):
    print("Tokyo, first: ", show(requests.get(f"https://{domain}/index.html")))
    print("Tokyo, second:", show(requests.get(f"https://{domain}/index.html")))

# %% [markdown]
# `edge.replay` plays a **traffic trace** on the lab clock: `(seconds, url, city)` tuples. The
# **cache view** shows each edge location's cache, grouped by pricing region, with what each
# holds and how much **TTL** is left by the lab clock, which viewer went where, and the share
# of requests answered from the cache. It updates after every cell, and keeps each state it
# showed: its step control (`◀ earlier`, `later ▶`) goes back through them. Later views are
# **held** (`hold=True`): they keep the moment their cell ran, as the text around them says.

# %%
cities = ["New York", "London", "Frankfurt", "Tokyo", "Sao Paulo", "Sydney"]
trace = [
    (second, f"https://{domain}/index.html", city)
    for second in range(0, 120, 20)
    for city in cities
]
report = edge.replay(trace)
print(report.summary())
edge.cache_view(site["Id"], traces=[report])

# %% [markdown]
# How much does the edge save? For each viewer: a request straight to the bucket in Virginia
# over the internet (labkit's model for the direct path), CloudFront's first answer (a miss:
# viewer to edge, then edge to origin over AWS's backbone) and a hit.

# %%
origin_place = places.region("us-east-1")
rows = []
for city in cities:
    viewer_place = places.place(city)
    direct_ms = places.rtt_ms(viewer_place, origin_place) + places.ORIGIN_PROCESSING_MS
    page = f"first-visit-{city.replace(' ', '-')}.html"  # a page no edge holds yet
    s3.put_object(Bucket=SITE, Key=page, Body="<p>hello</p>", ContentType="text/html")
    miss = edge.fetch(f"https://{domain}/{page}", viewer_at=city)
    hit = edge.fetch(f"https://{domain}/{page}", viewer_at=city)  # the same page again
    rows.append(
        (
            city,
            {
                "S3 direct (internet)": direct_ms,
                "CloudFront miss": miss.latency_ms,
                "CloudFront hit": hit.latency_ms,
            },
        )
    )
figure = latency_plot(rows, title="Time to first byte per viewer: bucket in us-east-1")
print(latency_table(rows))

# %% [markdown]
# A hit costs only the trip to the nearest edge, wherever the origin is. A miss can be a little
# slower than going direct for a viewer next to the origin, and it is faster for a far viewer,
# because the long stretch runs on AWS's backbone instead of the public internet.

# %% [markdown]
# ## 4. HTTP origins: load balancers, EC2, S3 websites
#
# Anything that speaks HTTP can be an origin (a *custom origin*):
#
# - an **Application Load Balancer** or an **EC2 instance**: CloudFront reaches it over the
#   internet, so it must be **public**. Lock it down with a security group that admits only
#   CloudFront: the notes' "allow the range of CloudFront IPs" is the AWS-managed **prefix
#   list** below, kept up to date by AWS. Behind a public ALB, the instances themselves can stay
#   in **private** subnets.
# - an **S3 website endpoint** (`bucket.s3-website-region.amazonaws.com`): HTTP only, serves
#   only public objects, so origin access control does not apply;
# - any other HTTP server (API Gateway, a server outside AWS).
#
# The notes say there is "no private VPC connectivity". That is out of date: **VPC origins**
# let CloudFront reach private load balancers and instances directly.

# %%
print(fact("cloudfront.origin_facing_prefix_list"))
print(fact("cloudfront.vpc_origins"))

# %% [markdown]
# With EC2's API, the rule on the load balancer's (or instance's) security group names that
# prefix list instead of addresses: `ec2.authorize_security_group_ingress(GroupId=...,
# IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds":
# [{"PrefixListId": <the list's id>}]}])`, where `ec2.describe_managed_prefix_lists(...)` finds
# the id by the name above.

# %% [markdown]
# Let us put an application behind CloudFront: a load balancer in Ireland (stood up with
# `edge.serve`) that serves a static page and a **dynamic** shopping-cart API. Two **cache
# behaviors** split the paths: the default one caches (CachingOptimized), `/api/*` uses the
# managed **CachingDisabled** policy (TTL 0), so every request goes to the origin. The origin
# counts the requests it sees.

# %%
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALB = "shop-alb-1234567890.eu-west-1.elb.amazonaws.com"
origin_hits = []


def shop_app(request):
    origin_hits.append(request.path)
    if request.path.startswith("/api/"):
        body = json.dumps({"cart": len(origin_hits), "served_at": lab.clock.now.isoformat()})
        return 200, {"Content-Type": "application/json", "Cache-Control": "no-store"}, body
    return 200, {"Content-Type": "text/html"}, "<h1>Static shop page</h1>"


edge.serve(ALB, shop_app)
app = cf.create_distribution(
    DistributionConfig={
        "CallerReference": "lesson-app",
        "Comment": "an ALB origin",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "alb",
                    "DomainName": ALB,
                    "CustomOriginConfig": {
                        "HTTPPort": 80,
                        "HTTPSPort": 443,
                        "OriginProtocolPolicy": "https-only",
                    },
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "alb",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": CACHING_OPTIMIZED,
        },
        "CacheBehaviors": {
            "Quantity": 1,
            "Items": [
                {
                    "PathPattern": "/api/*",
                    "TargetOriginId": "alb",
                    "ViewerProtocolPolicy": "https-only",
                    "CachePolicyId": CACHING_DISABLED,
                }
            ],
        },
    }
)["Distribution"]
for path in ["/shop.html", "/shop.html", "/api/cart", "/api/cart"]:
    answer = requests.get(
        f"https://{app['DomainName']}{path}", headers={"X-Labkit-Viewer": "Paris"}
    )
    print(f"{path:11s} {answer.headers['X-Cache']:22s} {answer.text[:60]}")
print("requests the origin saw:", origin_hits)

# %% [markdown]
# ## 5. TTL, Cache-Control and invalidation
#
# How long an edge keeps a copy is its **TTL**. A cache behavior sets a minimum, a default and
# a maximum; the origin's `Cache-Control: max-age=...` (or `s-maxage`, or `Expires`) picks a
# value between the minimum and the maximum, and without one the default applies. The notes'
# "for a day" is the default TTL:

# %%
for fact_id in (
    "cloudfront.default_ttl",
    "cloudfront.max_ttl",
    "cloudfront.min_ttl",
    "cloudfront.caching_optimized_min_ttl",
):
    print(fact(fact_id))

# %% [markdown]
# A page with `Cache-Control: max-age=60` is a **Hit** for 60 s. After that the edge asks the
# origin whether its copy is still current (a conditional request with the `ETag`): unchanged,
# the origin answers `304 Not Modified` and the edge serves its copy again, a **RefreshHit**. It
# saved sending the body, not the trip to the origin.

# %%
s3.put_object(
    Bucket=SITE,
    Key="news.html",
    Body="<p>news v1</p>",
    ContentType="text/html",
    CacheControl="max-age=60",
)
news = f"https://{domain}/news.html"
print("t=0   ", show(requests.get(news)))
lab.clock.advance(30)
print("t=30  ", show(requests.get(news)))
lab.clock.advance(31)
print("t=61  ", show(requests.get(news)))

# %% [markdown]
# Now a **deploy**: a new `index.html`, which has the default TTL (a day). Every edge that holds
# the old copy keeps serving it: viewers see a **stale** page. To make the change visible now,
# create an **invalidation**: the edges drop the paths it names, within seconds (`InProgress`,
# then `Completed`, on the lab clock), and the next request fetches the new copy.

# %%
s3.put_object(Bucket=SITE, Key="index.html", Body="<h1>Version 2</h1>", ContentType="text/html")
print("after the upload:     ", requests.get(f"https://{domain}/index.html").text, "(stale)")

invalidation = cf.create_invalidation(
    DistributionId=site["Id"],
    InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "deploy-2"},
)["Invalidation"]
print("invalidation:         ", invalidation["Status"])
lab.clock.advance(10)
status = cf.get_invalidation(DistributionId=site["Id"], Id=invalidation["Id"])["Invalidation"][
    "Status"
]
print("10 s later:           ", status)
after = requests.get(f"https://{domain}/index.html")
print("after the invalidation:", after.text, " ", show(after))

# %% [markdown]
# Invalidations are paid per path beyond a free allowance each month, and a wildcard path such
# as `/*` counts as one path:

# %%
print(fact("cloudfront.invalidation_free_paths_per_month"))
print(fact("cloudfront.invalidation_price_per_path"))

# %% [markdown]
# The other way to make deploys visible is **versioned names**: each build uploads its assets
# under new names (`app.3f2a1c.js`), so a name never changes content and can stay at the edge
# for a year; only the HTML that names them needs a short TTL (or an invalidation). What you
# should not do is make every TTL short: each expiry costs a trip to the origin.
#
# Here is that trade-off on the lab clock with a small web shop (two pages, each loading four
# assets) and 20 minutes of seeded traffic from six cities, with a new build deployed after 10
# minutes. Two distributions: one with TTLs of 60 s and plain uploads, one with the default
# (long) TTL and an invalidation of `/*` at each deploy.

# %%
from labkit.services.edge.sim_traces import browse, site_build, visits


def public_read(bucket):
    """A bucket policy that lets anyone read the bucket's objects."""
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def shop(name, behavior):
    s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(Bucket=name, Policy=public_read(name))
    created = cf.create_distribution(
        DistributionConfig={
            "CallerReference": name,
            "Comment": name,
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "s3",
                        "DomainName": f"{name}.s3.us-east-1.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "s3",
                "ViewerProtocolPolicy": "allow-all",
                **behavior,
            },
        }
    )["Distribution"]
    return created["Id"], "https://" + created["DomainName"]


def upload(bucket, files):
    for key, file in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=file.body, ContentType=file.content_type)


def legacy_ttl(seconds):
    """Legacy cache settings with every TTL set to `seconds`, query strings left out."""
    return {
        "MinTTL": 0,
        "DefaultTTL": seconds,
        "MaxTTL": seconds,
        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
    }


strategies = {
    "TTL 60 s, no invalidation": ("shop-short", legacy_ttl(60), False),
    "TTL 1 day + invalidation": ("shop-long", {"CachePolicyId": CACHING_OPTIMIZED}, True),
}
traffic = visits(cities, duration=1200, seed=4)
fetch = lambda url, city: edge.fetch(url, viewer_at=city)  # noqa: E731
results = {}
for label, (bucket, behavior, invalidate) in strategies.items():
    dist_id, url = shop(bucket, behavior)
    t0 = lab.clock.timestamp
    upload(bucket, site_build(1))
    shop_report = browse([v for v in traffic if v.at < 600], url, fetch, lab.clock, origin=t0)
    lab.clock.advance_to(t0 + 600)
    upload(bucket, site_build(2))
    if invalidate:
        cf.create_invalidation(
            DistributionId=dist_id,
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": ["/*"]},
                "CallerReference": bucket,
            },
        )
    browse(
        [v for v in traffic if v.at >= 600], url, fetch, lab.clock, origin=t0, report=shop_report
    )
    results[label] = shop_report
    late = len(shop_report.stale("2", 720))
    print(f"{label:26s} {shop_report.summary()}; stale visits 120 s after the deploy: {late}")

figure = lines_plot(
    {label: r.hit_ratio_over_time(60) for label, r in results.items()},
    title="Share of requests answered from the edge cache (Hit), per minute",
    xlabel="seconds of traffic",
    ylabel="hits",
    percent=True,
    marks=[(600, "deploy of build 2")],
)
# %% [markdown]
# Both stay fresh, but the short TTL sends a request to the origin every minute per file and
# per edge location (the `RefreshHit`s), while the long TTL plus one invalidation per deploy
# keeps almost everything at the edge. The dip after the deploy is the edges fetching the new
# build once.

# %% [markdown]
# ## 6. Geo restriction
#
# A distribution can refuse viewers by **country** (CloudFront finds the country from the
# viewer's IP address). Two modes: an **allow list** (the API calls it `whitelist`) lets in
# **only** the countries listed; a **block list** (`blacklist`) keeps out **only** those.
# Refused viewers get a `403` from CloudFront.

# %%
print(fact("cloudfront.geo_restriction_types"))


def set_geo(distribution_id, kind, countries):
    current = cf.get_distribution_config(Id=distribution_id)
    config = current["DistributionConfig"]
    config["Restrictions"] = {
        "GeoRestriction": {"RestrictionType": kind, "Quantity": len(countries), "Items": countries}
    }
    cf.update_distribution(Id=distribution_id, DistributionConfig=config, IfMatch=current["ETag"])


for kind, countries in (("whitelist", ["FR", "DE"]), ("blacklist", ["CU"])):
    set_geo(site["Id"], kind, countries)
    verdicts = []
    for city in ["Paris", "Berlin", "Tokyo", "Havana"]:
        answer = requests.get(f"https://{domain}/index.html", headers={"X-Labkit-Viewer": city})
        verdicts.append(f"{city} {answer.status_code}")
    print(f"{kind:9s} {countries}: {', '.join(verdicts)}")

# %% [markdown]
# The cache view marks refused requests **blocked**; here is a short trace with the block list
# in place:

# %%
geo_report = edge.replay(
    [
        (s, f"https://{domain}/index.html", city)
        for s in range(0, 60, 15)
        for city in ["Havana", "Paris", "Mexico City"]
    ]
)
edge.cache_view(site["Id"], traces=[geo_report], viewers=["Havana", "Paris"], hold=True)

# %% [markdown]
# ## 7. Price classes
#
# CloudFront charges more per GB in some parts of the world. A **price class** limits which
# edge locations serve your distribution: **PriceClass_100** (the cheapest), **PriceClass_200**
# and **PriceClass_All**. The notes call them "100 regions" and "200 regions": they are names
# of tiers, not counts, as the fact table says:

# %%
for fact_id in (
    "cloudfront.price_class_100",
    "cloudfront.price_class_200",
    "cloudfront.price_class_all",
):
    print(fact(fact_id))
    print()

# %% [markdown]
# A price class does not refuse anyone: a viewer far from the included edges is served from
# the nearest **included** one, farther away. Here is where each viewer goes and what a cache
# hit costs in time under each class:

# %%
audience = ["London", "Mexico City", "Cairo", "Mumbai", "Tokyo", "Sydney", "Sao Paulo"]
classes = ["PriceClass_100", "PriceClass_200", "PriceClass_All"]
class_rows = []
print(f"{'viewer':12s} " + "  ".join(f"{c:26s}" for c in classes))
for city in audience:
    viewer_place = places.place(city)
    timings, served_from = {}, []
    for price_class in classes:
        pop = places.nearest_cloudfront_edge(viewer_place, price_class)
        timings[price_class] = places.rtt_ms(viewer_place, pop.place) + places.EDGE_PROCESSING_MS
        served_from.append(f"{pop.code} ({pop.place.name})")
    print(f"{city:12s} " + "  ".join(f"{where:26s}" for where in served_from))
    class_rows.append((city, timings))
figure = latency_plot(class_rows, title="Latency of a cache hit per viewer, by price class")
print(latency_table(class_rows))

# %% [markdown]
# And what it costs: CloudFront bills each GB at the price of the edge location that served it,
# so a narrower class changes both how long far viewers wait and what their GBs cost. Prices
# per GB by pricing region:

# %%
from labkit.services.edge.sim_costs import PRICE_FACT_OF_REGION

for fact_id in PRICE_FACT_OF_REGION.values():
    print(fact(fact_id))

monthly_gb = {city: 1000 for city in audience}
for price_class in classes:
    print(f"\n{price_class}, {sum(monthly_gb.values()):,} GB a month:")
    print(cloudfront_bill(monthly_gb, price_class))

# %% [markdown]
# Look at PriceClass_200: for this audience it costs **more** than PriceClass_All. Sydney and
# Sao Paulo are then served from Jakarta and Cape Town, whose price per GB is higher than
# Australia's and South America's. A price class removes edge locations; it does not cap what a
# GB costs. Check where your viewers are before you pick one.

# %% [markdown]
# ## 8. CloudFront or S3 cross-Region replication?
#
# Another way to bring content closer to readers is to **copy the bucket** to other Regions
# with S3 **cross-Region replication** (CRR) and send each reader to the nearest copy. The
# notes compare the two; let us measure. First, replication on the lab clock: a rule copies
# **new** objects to a bucket in another Region, asynchronously, after a lag.

# %%
s3_eu = lab.client("s3", region="eu-west-1")
s3_ap = lab.client("s3", region="ap-northeast-1")
s3.create_bucket(Bucket="catalog-us")
s3_eu.create_bucket(
    Bucket="catalog-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
)
s3_ap.create_bucket(
    Bucket="catalog-ap", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
)
s3.put_object(Bucket="catalog-us", Key="old.json", Body=b"{}")  # before the rules
for client, bucket in ((s3, "catalog-us"), (s3_eu, "catalog-eu"), (s3_ap, "catalog-ap")):
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
s3.put_bucket_replication(
    Bucket="catalog-us",
    ReplicationConfiguration={
        "Role": "arn:aws:iam::123456789012:role/replication",
        "Rules": [
            {
                "ID": f"to-{dest}",
                "Priority": n,
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "Destination": {"Bucket": f"arn:aws:s3:::{dest}"},
            }
            for n, dest in enumerate(["catalog-eu", "catalog-ap"], start=1)
        ],
    },
)
s3.put_object(Bucket="catalog-us", Key="prices.json", Body=b'{"price": 10}')
print(
    "right after the write:",
    s3.head_object(Bucket="catalog-us", Key="prices.json").get("ReplicationStatus"),
)
lab.clock.advance(60)
print(
    "a minute later:       ",
    s3.head_object(Bucket="catalog-us", Key="prices.json").get("ReplicationStatus"),
)
print(
    "replica in Ireland:   ",
    s3_eu.head_object(Bucket="catalog-eu", Key="prices.json").get("ReplicationStatus"),
)
print(
    "old.json in Ireland:  ",
    [o["Key"] for o in s3_eu.list_objects_v2(Bucket="catalog-eu").get("Contents", [])],
)

# %% [markdown]
# Note the last line: `old.json`, written before the rules, was **not** copied. The notes say
# replication copies "the entire bucket"; it copies objects written **after** the rule exists
# (existing ones need S3 Batch Replication). S3 documents no typical lag; with **Replication
# Time Control** it promises a target:

# %%
print(fact("s3.rtc_replication_time"))
print(fact("s3.rtc_replication_percent"))

# %% [markdown]
# **Latency**: with three copies, each reader goes to the nearest copy over the internet; with
# CloudFront (one bucket), a reader gets a hit from the nearest edge, or a miss.

# %%
copies = ["us-east-1", "eu-west-1", "ap-northeast-1"]
readers = ["New York", "London", "Tokyo", "Mumbai", "Sydney", "Sao Paulo", "Lagos"]
compare_rows = []
for city in readers:
    viewer_place = places.place(city)
    nearest = nearest_copy(city, copies)
    fresh_page = f"catalog-{city.replace(' ', '-')}.html"  # no edge holds it yet: a miss
    s3.put_object(Bucket=SITE, Key=fresh_page, Body="<p>catalog</p>", ContentType="text/html")
    compare_rows.append(
        (
            city,
            {
                "one bucket (us-east-1)": places.rtt_ms(viewer_place, places.region("us-east-1"))
                + places.ORIGIN_PROCESSING_MS,
                "nearest of 3 copies": places.rtt_ms(viewer_place, places.region(nearest))
                + places.ORIGIN_PROCESSING_MS,
                "CloudFront miss": edge.fetch(
                    f"https://{domain}/{fresh_page}", viewer_at=city
                ).latency_ms,
                "CloudFront hit": edge.fetch(
                    f"https://{domain}/{fresh_page}", viewer_at=city
                ).latency_ms,
            },
        )
    )
figure = latency_plot(
    compare_rows, title="Latency per viewer: replicas or CloudFront (bucket in us-east-1)"
)
print(latency_table(compare_rows))

# %% [markdown]
# **Freshness**: a replica lags behind the source by the replication lag (seconds to minutes);
# an edge copy stays until its TTL ends or an invalidation removes it. Watch both after an
# update, on the lab clock:

# %%
s3.put_object(Bucket="catalog-us", Key="prices.json", Body=b'{"price": 12}')
for seconds in (0, 5, 40):
    lab.clock.advance(seconds)
    replica = s3_eu.get_object(Bucket="catalog-eu", Key="prices.json")["Body"].read().decode()
    print(f"{seconds:3d} s after the write, the Irish replica says {replica}")

# %% [markdown]
# **Cost**: each copy stores the whole bucket and receives every write once, and readers
# still download over the internet from S3; CloudFront keeps one bucket, origin fetches are
# free, and each GB is billed at the price of the edge that served it. For a month with 100 GB
# stored, 20 GB written and 1,000 GB read by each reader (S3's transfer out is priced at
# us-east-1's rate for every copy; other Regions have their own rates; free tiers left out):

# %%
for fact_id in (
    "s3.storage_price_standard",
    "s3.inter_region_transfer_price",
    "s3.transfer_out_internet_price",
    "cloudfront.origin_fetch_price_aws_origin",
):
    print(fact(fact_id))
reads = {city: 1000 for city in readers}
print("\nS3 with cross-Region replication to 3 Regions:")
print(replication_bill(reads, copies, stored_gb=100, written_gb=20))
print("\nCloudFront (PriceClass_All) in front of one bucket:")
print(cloudfront_bill(reads, "PriceClass_All"))

# %% [markdown]
# Per GB out, the two cost about the same; the difference is everything around it: with
# replication you pay storage for every copy and a transfer for every write, and you choose
# Regions once and for all; with CloudFront the origin is fetched for free and the edge nearest
# each viewer answers.
#
# Side by side:
#
# - **Where copies live.** CloudFront: at each edge location that served a viewer, for as long
#   as the TTL. Replication: in the Regions you choose, for good.
# - **Latency.** CloudFront: a hit is close to every viewer. Replication: close only to readers
#   near one of the chosen Regions.
# - **Freshness.** CloudFront: stale until the TTL ends or an invalidation. Replication: a lag
#   after each write (with RTC, a target).
# - **What is copied.** CloudFront: what viewers ask for. Replication: every new object that
#   matches the rules.
# - **Good for.** CloudFront: serving static and cacheable content worldwide (dynamic requests
#   pass through it). Replication: data next to compute in other Regions, disaster recovery,
#   data residency.
#
# The notes call CRR the choice for "dynamic content". Replication copies objects; it does not
# make anything dynamic. Dynamic responses come from an application, which CloudFront can
# front too (TTL 0, section 4), and which Global Accelerator is made for.

# %% [markdown]
# ## 9. Anycast
#
# The notes ask: *"what do you mean about anycast?"* and answer "two servers have got the same
# IP, the server go to the closest server". Close, but it is **the network** that chooses, not
# a server:
#
# - **Unicast**: one IP address belongs to one place. Packets to it travel there, however far.
# - **Anycast**: the **same** IP address is **announced** (with the internet's routing
#   protocol, BGP) from **many places** at once. Each router on the way forwards a packet
#   towards the nearest place that announces it, so every client reaches the closest site,
#   without knowing there are several, and without DNS tricks.
#
# Global Accelerator gives each accelerator static IPv4 addresses that every one of its edge
# locations announces:

# %%
print(fact("global_accelerator.static_ipv4_addresses"))

ga = lab.client("globalaccelerator", region="us-west-2")  # the API answers only in us-west-2
accelerator = ga.create_accelerator(
    Name="shop", IpAddressType="IPV4", Enabled=True, IdempotencyToken="lesson"
)["Accelerator"]
ips = accelerator["IpSets"][0]["IpAddresses"]
print("static IPs:", ips, "  DNS name:", accelerator["DnsName"])

# %% [markdown]
# An accelerator needs a **listener** (protocol and ports: **TCP or UDP**, so it carries
# anything, not only HTTP) and one **endpoint group per Region**, each with endpoints (load
# balancers, EC2 instances, Elastic IPs). Here: a web application on port 80 in Virginia and
# in Ireland, each instance stood up with `edge.serve`.

# %%
listener = ga.create_listener(
    AcceleratorArn=accelerator["AcceleratorArn"],
    Protocol="TCP",
    PortRanges=[{"FromPort": 80, "ToPort": 80}],
    IdempotencyToken="web",
)["Listener"]
instances = {"us-east-1": "i-0aaaaaaaaaaaaaaa1", "eu-west-1": "i-0bbbbbbbbbbbbbbb2"}
groups = {}
for region_name, instance in instances.items():
    groups[region_name] = ga.create_endpoint_group(
        ListenerArn=listener["ListenerArn"],
        EndpointGroupRegion=region_name,
        EndpointConfigurations=[{"EndpointId": instance}],
        IdempotencyToken=region_name,
    )["EndpointGroup"]["EndpointGroupArn"]
    edge.serve(
        instance,
        lambda request, where=region_name: (
            200,
            {"Content-Type": "text/plain"},
            f"hello from {where}",
        ),
    )
now = lab.clock.advance(120)  # past the first health checks

# %% [markdown]
# Now the **same IP address**, asked from five cities: each enters the AWS network at a
# different edge location (`X-Labkit-Edge`) and reaches the nearest Region.

# %%
for city in ["New York", "Paris", "Tokyo", "Sydney", "Sao Paulo"]:
    answer = requests.get(f"http://{ips[0]}/", headers={"X-Labkit-Viewer": city})
    entered = answer.headers["X-Labkit-Edge"]
    print(f"{city:10s} -> {ips[0]} entered at {entered}, answered: {answer.text}")

# %% [markdown]
# ## 10. Global Accelerator: health checks, failover and traffic dials
#
# The accelerator view shows each endpoint group, its **health checks** and its endpoints'
# health now (held at this moment, before the failover below), and where viewers go. Endpoint
# groups check their endpoints on a fixed interval; an endpoint changes state after a
# **threshold** of checks in a row agree:

# %%
for fact_id in (
    "global_accelerator.health_check_interval_default",
    "global_accelerator.health_check_interval_options",
    "global_accelerator.threshold_count_default",
):
    print(fact(fact_id))
viewers = ["New York", "Paris", "Tokyo", "Sydney"]
edge.accelerator_view(accelerator["AcceleratorArn"], viewers=viewers, hold=True)

# %% [markdown]
# The path matters too: through the accelerator, a viewer's packets ride the public internet
# only to the nearest edge, then AWS's backbone. Compare with going to the same Region directly
# over the internet:

# %%
ga_rows = []
for city in ["New York", "London", "Tokyo", "Sydney", "Sao Paulo", "Mumbai"]:
    route = edge.route_for(accelerator["AcceleratorArn"], city)
    ga_rows.append(
        (
            f"{city} -> {route.region}",
            {"direct internet": route.direct_ms, "via Global Accelerator": route.latency_ms},
        )
    )
figure = latency_plot(
    ga_rows, title="Round trip to the nearest Region: direct or through the accelerator"
)
print(latency_table(ga_rows))

# %% [markdown]
# **Failover.** When Ireland fails, its endpoint stops answering at once, but the accelerator
# keeps sending traffic there until its health checks have failed `threshold` times in a row:
# up to interval × threshold seconds after the failure. We fail Ireland and follow where
# Paris's connections go, second by second, once with the default settings and once with
# checks at the shorter interval.


# %%
def follow_failover(interval, threshold, seconds=120):
    ga.update_endpoint_group(
        EndpointGroupArn=groups["eu-west-1"],
        HealthCheckIntervalSeconds=interval,
        ThresholdCount=threshold,
    )
    edge.restore_region("eu-west-1")
    lab.clock.advance(300)  # healthy again, whatever the settings
    edge.fail_region("eu-west-1")
    timeline = []
    for second in range(seconds + 1):
        route = edge.route_for(accelerator["AcceleratorArn"], "Paris")
        timeline.append((second, 1.0 if route.healthy else 0.0))
        lab.clock.advance(1)
    answered_again = next(t for t, ok in timeline if ok)
    return timeline, answered_again


default_interval = fact("global_accelerator.health_check_interval_default").value
default_threshold = fact("global_accelerator.threshold_count_default").value
options = fact("global_accelerator.health_check_interval_options").value  # "10 or 30"
short_interval = min(int(n) for n in re.findall(r"\d+", options))

failover = {}
for interval, threshold in (
    (default_interval, default_threshold),
    (short_interval, default_threshold),
):
    timeline, answered_again = follow_failover(interval, threshold)
    failover[f"checks every {interval} s, threshold {threshold}"] = timeline
    worst = interval * threshold
    setting = f"every {interval} s x {threshold}"
    print(f"{setting}: Paris answered again after {answered_again} s (at most {worst} s)")
edge.restore_region("eu-west-1")
figure = lines_plot(
    failover,
    title="Are Paris's connections answered? Ireland fails at 0 s",
    xlabel="seconds after the failure",
    ylabel="answered (1) or timing out (0)",
)
# %% [markdown]
# **Traffic dials.** Each endpoint group has a dial: the share of the traffic that reaches it
# first that it **keeps**; the rest goes on to the next nearest group. Use it to bring a new
# Region in slowly, or to drain one for maintenance. Here Ireland keeps 20 %:

# %%
print(fact("global_accelerator.traffic_dial_max"))
lab.clock.advance(120)
ga.update_endpoint_group(EndpointGroupArn=groups["eu-west-1"], TrafficDialPercentage=20)
dial_report = edge.replay([(i * 0.01, f"http://{ips[1]}/", "Paris") for i in range(500)])
print("Paris's connections by endpoint:", dial_report.by("served_by"))
back_to_full = ga.update_endpoint_group(
    EndpointGroupArn=groups["eu-west-1"], TrafficDialPercentage=100
)

# %% [markdown]
# **DNS caching.** The notes say "DNS caching is good with Global Accelerator". The reason: the
# accelerator's IP addresses **never change**, and failover happens **behind** them, as you
# just saw. Clients, resolvers and firewalls can cache them for as long as they like (or
# allow-list just these addresses: the notes' "2 external IPs to whitelist"). With DNS-based
# failover instead (a DNS name that starts answering with another Region's address), every
# client keeps using the old address until its cached DNS answer expires, and some clients
# cache longer than the TTL says. The accelerator's static IPs also sit behind AWS Shield's
# DDoS protection, like CloudFront's edges.
#
# It also does what a load balancer cannot: an ALB lives in one Region, an accelerator spreads
# traffic over several.

# %% [markdown]
# In numbers, with a DNS record TTL of five minutes (a value you would choose, not an AWS
# limit) and the health checks of the faster setting above:

# %%
dns_ttl = 300  # seconds that resolvers and clients may keep a DNS answer (your choice)
detection = short_interval * default_threshold  # the faster setting above
print(f"Global Accelerator: traffic moves within {detection} s; the IPs clients hold stay valid")
print(f"DNS failover:       up to {detection + dns_ttl} s for clients that cached the old answer")

# %% [markdown]
# ## 11. Global Accelerator or CloudFront?
#
# Both use AWS's edge locations and backbone, and both are protected by Shield. They do
# different jobs:
#
# - **What it does.** CloudFront **caches** content at the edge and answers hits there. Global
#   Accelerator **proxies** each connection to your endpoints and caches nothing.
# - **Protocols.** CloudFront: HTTP and HTTPS (and WebSocket). Global Accelerator: any **TCP
#   or UDP** traffic (games, voice, IoT such as MQTT, your own protocols).
# - **Addresses.** CloudFront: a DNS name whose IP addresses change. Global Accelerator: two
#   **static anycast IPs**.
# - **What gets faster.** CloudFront: cacheable content, and dynamic HTTP over the backbone.
#   Global Accelerator: every connection, by entering AWS's network at the nearest edge.
# - **Failover.** CloudFront: origin groups per behavior, and cached copies keep serving.
#   Global Accelerator: health checks move traffic between Regions in seconds, with no DNS
#   change.
# - **Price.** CloudFront: per GB out and per request, by the edge's region. Global
#   Accelerator: a fixed fee per accelerator-hour, plus a premium per GB.
#
# The notes end with "CloudFront better than Global Accelerator for application resiliency".
# That does not hold in general: for an application running in several Regions, Global
# Accelerator's health-checked, static-IP failover is the resilient front door; CloudFront is
# resilient for content it can cache. Many architectures use both.

# %%
print(fact("global_accelerator.fixed_fee_per_hour"))

# %% [markdown]
# ## Summary
#
# - **Edge locations** sit close to viewers; CloudFront **caches** there, Global Accelerator
#   **enters AWS's network** there.
# - An S3 origin stays private with **origin access control** plus a bucket policy for
#   `cloudfront.amazonaws.com` **limited by `AWS:SourceArn` to your distribution**. HTTP origins
#   (ALB, EC2, S3 website) must be reachable: allow only CloudFront's **origin-facing prefix
#   list**, or use **VPC origins** for private ones.
# - Each edge location has its **own cache**. `X-Cache` says Hit, Miss or RefreshHit; `Age`
#   how old a copy is. TTLs come from the cache behavior (default, minimum, maximum) and the
#   origin's `Cache-Control`; dynamic paths use TTL 0.
# - Deploys become visible through an **invalidation** (one path `/*` covers all) or **new
#   names** for assets; short TTLs everywhere cost trips to the origin.
# - **Geo restriction**: an allow list lets in only its countries, a block list keeps out only
#   its countries; refused viewers get 403.
# - **Price classes** (100, 200, All) are tiers of edge locations, not counts of regions: a
#   cheaper class serves far viewers from farther edges.
# - **S3 cross-Region replication** copies new objects to chosen Regions after a lag; it is no
#   CDN, and it does not copy what existed before the rule.
# - **Anycast**: one IP address announced from many places; the network delivers each client
#   to the nearest. Global Accelerator's two static IPs are anycast from every edge.
# - Global Accelerator moves traffic away from a failed Region after at most **interval ×
#   threshold** seconds; a **traffic dial** is the share a Region keeps; static IPs make DNS
#   caching harmless.
#
# Next: the **edge exercise** (`exercises/04_edge.ipynb`).
