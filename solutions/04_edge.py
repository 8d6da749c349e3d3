# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Edge exercise: CloudFront and Global Accelerator
#
# Five tasks, each a function that a check calls in an empty sandbox of its own. Write your code
# where it says `# YOUR CODE HERE` (replace the `...`), run the cell, try it in the cell below,
# then run the check. Any correct way passes: the checks judge what viewers get (status codes,
# cache verdicts, builds, latencies, where traffic goes), never how you wrote it.
#
# The lesson (`notebooks/04_edge.ipynb`) shows every call you need.

# %%
import json
import uuid

import requests
from IPython.display import display

import labkit
from labkit import edge

lab = labkit.start("edge")
s3 = lab.client("s3")
cf = lab.client("cloudfront")
ga = lab.client("globalaccelerator", region="us-west-2")  # its API answers only in us-west-2

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # the managed cache policy's id


def unique(prefix):
    """A fresh `CallerReference` or `IdempotencyToken`: AWS treats a repeated one as a retry."""
    return f"{prefix}-{uuid.uuid4()}"


# %% [markdown]
# ## Task 1: a bucket only CloudFront can read
#
# Write `lock_origin(s3, cf, bucket)`. The bucket exists (in `us-east-1`) and holds
# `index.html`. Create a distribution that serves the bucket, so that:
#
# - a request through the distribution gets the page (200);
# - an anonymous request straight to the bucket is refused (403);
# - **no other distribution** can read the bucket, even one with an origin access control of
#   its own.
#
# Return the distribution's `Id`. (Origin access control, and a bucket policy for the
# `cloudfront.amazonaws.com` service principal limited to your distribution.)


# %%
def lock_origin(s3, cf, bucket):
    """Serve `bucket` through a new distribution that alone may read it; return its Id."""
    ### BEGIN SOLUTION
    control = cf.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": f"{bucket}-oac",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )["OriginAccessControl"]["Id"]
    distribution = cf.create_distribution(
        DistributionConfig={
            "CallerReference": unique(bucket),
            "Comment": "origin locked with OAC",
            "Enabled": True,
            "DefaultRootObject": "index.html",
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "bucket",
                        "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
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
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowOnlyMyDistribution",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution["ARN"]}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return distribution["Id"]
    ### END SOLUTION


# %% [markdown]
# Try it on a bucket of your own:

# %%
s3.create_bucket(Bucket="my-private-site")
s3.put_object(
    Bucket="my-private-site", Key="index.html", Body="<h1>hello</h1>", ContentType="text/html"
)
site_id = lock_origin(s3, cf, "my-private-site")
if site_id:
    site_domain = cf.get_distribution(Id=site_id)["Distribution"]["DomainName"]
    through = requests.get(f"https://{site_domain}/index.html")
    direct = requests.get("https://my-private-site.s3.amazonaws.com/index.html")
    print("through CloudFront:", through.status_code, through.headers.get("X-Cache"))
    print("straight from S3:  ", direct.status_code)
else:
    print("lock_origin returned None: finish it above, then run this cell again.")

# %%
lab.check("oac_origin")

# %% [markdown]
# ## Task 2: a fast shop that never shows an old build
#
# The shop has two pages (`/index.html`, `/products.html`) and the assets they load
# (`/assets/...`). Write two functions:
#
# - `shop_distribution(cf, origin_domain)`: create the shop's distribution, with
#   `origin_domain` (the shop bucket's REST endpoint, which anyone may read) as its origin;
#   return its `Id`.
# - `deploy(s3, cf, distribution_id, bucket, files)`: publish a build. `files` maps each S3 key
#   (`"index.html"`, `"assets/app.js"`, ...) to a file with `.body` (text) and `.content_type`.
#
# The check deploys build 1, plays 20 minutes of seeded traffic from six cities (some visitors
# arrive from a newsletter link that adds `?ref=...` to the page), deploys build 2 halfway, and
# asks for both:
#
# - at least **93 %** of all requests answered from the edge cache (`X-Cache: Hit`: a
#   `RefreshHit` went to the origin too);
# - **no visitor** who comes **120 s or more after a deploy** gets any file of the old build.
#
# Short TTLs keep pages fresh but send every expiry to the origin; long TTLs need something
# else to make a deploy visible.

# %%
from labkit.services.edge.sim_traces import site_build, visits

print(sorted(site_build(1)))


# %%
def shop_distribution(cf, origin_domain):
    """Create the shop's distribution in front of `origin_domain`; return its Id."""
    ### BEGIN SOLUTION
    distribution = cf.create_distribution(
        DistributionConfig={
            "CallerReference": unique("shop"),
            "Comment": "the edge shop",
            "Enabled": True,
            "DefaultRootObject": "index.html",
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "shop",
                        "DomainName": origin_domain,
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            # CachingOptimized: TTL one day by default, query strings and cookies left out of
            # the cache key (the newsletter's ?ref=... does not split the cache).
            "DefaultCacheBehavior": {
                "TargetOriginId": "shop",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": CACHING_OPTIMIZED,
            },
        }
    )["Distribution"]
    return distribution["Id"]
    ### END SOLUTION


def deploy(s3, cf, distribution_id, bucket, files):
    """Upload every file of a build and make the edge serve it."""
    ### BEGIN SOLUTION
    for key, file in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=file.body, ContentType=file.content_type)
    # Long TTLs at the edge, so tell every edge location to drop its copies: one path, /*.
    cf.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": unique("deploy"),
        },
    )
    ### END SOLUTION


# %% [markdown]
# Try it: deploy two builds to a bucket of your own and browse a little in between (a few
# minutes of traffic from two cities, played on the lab clock).

# %%
from labkit.services.edge.sim_traces import browse

s3.create_bucket(Bucket="my-shop")
s3.put_bucket_policy(
    Bucket="my-shop",
    Policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::my-shop/*",
                }
            ],
        }
    ),
)
shop_id = shop_distribution(cf, "my-shop.s3.us-east-1.amazonaws.com")
if shop_id:
    shop_url = "https://" + cf.get_distribution(Id=shop_id)["Distribution"]["DomainName"]
    deploy(s3, cf, shop_id, "my-shop", site_build(1))
    fetch = lambda url, city: edge.fetch(url, viewer_at=city)  # noqa: E731
    t0 = lab.clock.timestamp
    plan = visits(["London", "Tokyo"], duration=600, seed=7)
    trial = browse([v for v in plan if v.at < 300], shop_url, fetch, lab.clock, origin=t0)
    lab.clock.advance_to(t0 + 300)
    deploy(s3, cf, shop_id, "my-shop", site_build(2))
    browse([v for v in plan if v.at >= 300], shop_url, fetch, lab.clock, origin=t0, report=trial)
    print(trial.summary())
    print("visits 120 s or more after the deploy that saw build 1:", len(trial.stale("2", 420)))
else:
    print("shop_distribution returned None: finish it above, then run this cell again.")

# %%
lab.check("fresh_deploys")

# %% [markdown]
# ## Task 3: keep two countries out
#
# The shop may not sell in some countries. Write `block_countries(cf, distribution_id,
# countries)`: after it runs, viewers in exactly those countries (ISO codes such as `"CU"`) get
# CloudFront's 403 and **everyone else** gets the page. A second call replaces the list.
# (`get_distribution_config` gives the configuration and its `ETag`; `update_distribution`
# takes the changed configuration and `IfMatch`.)


# %%
def block_countries(cf, distribution_id, countries):
    """Refuse viewers in `countries` (ISO 3166 codes), and only them."""
    ### BEGIN SOLUTION
    current = cf.get_distribution_config(Id=distribution_id)
    config = current["DistributionConfig"]
    config["Restrictions"] = {
        "GeoRestriction": {
            "RestrictionType": "blacklist",  # a block list; "whitelist" is an allow list
            "Quantity": len(countries),
            "Items": list(countries),
        }
    }
    cf.update_distribution(Id=distribution_id, DistributionConfig=config, IfMatch=current["ETag"])
    ### END SOLUTION


# %%
if site_id:
    block_countries(cf, site_id, ["CU"])
    for city in ["Havana", "Paris"]:
        answer = requests.get(
            f"https://{site_domain}/index.html", headers={"X-Labkit-Viewer": city}
        )
        print(f"{city:8s} {answer.status_code} {answer.headers.get('X-Cache')}")
else:
    print("Finish lock_origin (task 1) first: this tries the geo restriction on its site.")

# %%
lab.check("geo_block")

# %% [markdown]
# ## Task 4: the cheapest price class that is fast enough
#
# Write `choose_price_class(cf, origin_domain, audience, target_ms)`. `audience` is a list of
# cities; return the **cheapest** price class (`"PriceClass_100"` is the cheapest, then
# `"PriceClass_200"`, then `"PriceClass_All"`) under which a **cache hit** reaches every viewer
# of the audience within `target_ms` milliseconds, or `None` if no class does. Measure it:
# create distributions in front of `origin_domain` (anyone may read it) and time answers from
# each city (the `X-Labkit-Latency-Ms` header, or `.latency_ms` of `edge.fetch`).


# %%
def choose_price_class(cf, origin_domain, audience, target_ms):
    """The cheapest price class whose cache hits reach all of `audience` within `target_ms`."""
    ### BEGIN SOLUTION
    for price_class in ["PriceClass_100", "PriceClass_200", "PriceClass_All"]:
        distribution = cf.create_distribution(
            DistributionConfig={
                "CallerReference": unique(price_class),
                "Comment": f"measuring {price_class}",
                "Enabled": True,
                "PriceClass": price_class,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "origin",
                            "DomainName": origin_domain,
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "origin",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "CachePolicyId": CACHING_OPTIMIZED,
                },
            }
        )["Distribution"]
        url = f"https://{distribution['DomainName']}/index.html"
        slowest = 0.0
        for city in audience:
            requests.get(url, headers={"X-Labkit-Viewer": city})  # a miss fills that edge
            hit = requests.get(url, headers={"X-Labkit-Viewer": city})
            slowest = max(slowest, float(hit.headers["X-Labkit-Latency-Ms"]))
        if slowest <= target_ms:
            return price_class
    return None
    ### END SOLUTION


# %%
s3.create_bucket(Bucket="my-public-site")
s3.put_bucket_policy(
    Bucket="my-public-site",
    Policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::my-public-site/*",
                }
            ],
        }
    ),
)
s3.put_object(Bucket="my-public-site", Key="index.html", Body="hi", ContentType="text/html")
for audience in (["London", "Toronto"], ["London", "Tokyo"], ["London", "Sydney"]):
    picked = choose_price_class(cf, "my-public-site.s3.us-east-1.amazonaws.com", audience, 30)
    print(f"{', '.join(audience):18s} -> {picked}")

# %%
lab.check("price_class")

# %% [markdown]
# ## Task 5: an accelerator that fails over in time
#
# Write `build_accelerator(ga, endpoints)`. `endpoints` maps three Regions to an instance each
# (`{"us-east-1": "i-...", "eu-west-1": "i-...", "ap-northeast-1": "i-..."}`). Build a Global
# Accelerator with a **TCP listener on port 80** and one endpoint group per Region, so that:
#
# - each viewer reaches the nearest Region (New York: us-east-1, Paris: eu-west-1);
# - `ap-northeast-1` is a new Region on trial: it keeps only **25 %** of the traffic that
#   reaches it first, the rest goes on to the next Region;
# - when a Region fails, its viewers reach another Region within **30 seconds**, whenever the
#   failure happens.
#
# Return the accelerator's ARN.


# %%
def build_accelerator(ga, endpoints):
    """An accelerator with one endpoint group per Region; return its ARN."""
    ### BEGIN SOLUTION
    accelerator = ga.create_accelerator(
        Name="shop", IpAddressType="IPV4", Enabled=True, IdempotencyToken=unique("shop")
    )["Accelerator"]
    listener = ga.create_listener(
        AcceleratorArn=accelerator["AcceleratorArn"],
        Protocol="TCP",
        PortRanges=[{"FromPort": 80, "ToPort": 80}],
        IdempotencyToken=unique("shop"),
    )["Listener"]
    for region, instance in endpoints.items():
        ga.create_endpoint_group(
            ListenerArn=listener["ListenerArn"],
            EndpointGroupRegion=region,
            EndpointConfigurations=[{"EndpointId": instance, "Weight": 128}],
            # The dial is the share a group keeps: 25 % for the Region on trial.
            TrafficDialPercentage=25.0 if region == "ap-northeast-1" else 100.0,
            # A failure is noticed within interval x threshold = 10 s x 3 = 30 s.
            HealthCheckIntervalSeconds=10,
            ThresholdCount=3,
            IdempotencyToken=unique("shop"),
        )
    return accelerator["AcceleratorArn"]
    ### END SOLUTION


# %%
shop_endpoints = {
    "us-east-1": "i-0aaaaaaaaaaaaaaa1",
    "eu-west-1": "i-0bbbbbbbbbbbbbbb2",
    "ap-northeast-1": "i-0ccccccccccccccc3",
}
accelerator_arn = build_accelerator(ga, shop_endpoints)
if accelerator_arn:
    lab.clock.advance(60)  # past the first health checks
    display(edge.accelerator_view(accelerator_arn, viewers=["New York", "Paris", "Tokyo"]))
else:
    print("build_accelerator returned None: finish it above, then run this cell again.")

# %%
lab.check("failover")

# %% [markdown]
# ## Your score

# %%
lab.score()

# %% [markdown]
# ## Summary
#
# - **Origin access control** signs CloudFront's requests to S3; the bucket policy must name the
#   service principal **and** your distribution (`AWS:SourceArn`), or any distribution can read.
# - A high hit ratio needs **long TTLs** and a cache key without needless parts (query strings);
#   freshness after a deploy then comes from an **invalidation** (`/*` is one path) or from
#   **new names** for assets, not from short TTLs.
# - Geo restriction: an **allow list** lets in only the countries listed, a **block list** keeps
#   out only those.
# - A price class limits **which edge locations** serve, not which viewers may come: measure
#   the slowest viewer, cheapest class first.
# - Global Accelerator notices a failure after at most **interval × threshold** seconds, and a
#   **traffic dial** is the share of its traffic a Region keeps.
