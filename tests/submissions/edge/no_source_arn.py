# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: edge
#     role: exercise
# ---

# %% [markdown]
# Closer, with subtler mistakes: the bucket policy names the CloudFront service principal but
# not the distribution (no AWS:SourceArn condition); deploys invalidate only the HTML pages, so
# assets stay stale; update_distribution without IfMatch; the price class is measured on the
# first request (a miss, which includes the trip to the origin); the canary's dial is set to
# the share it should give away.

# %%
import json

import requests

import labkit

lab = labkit.start("edge")
OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def _distribution(cf, origin_domain, reference, oac="", **extra):
    origin = {
        "Id": "o",
        "DomainName": origin_domain,
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    if oac:
        origin["OriginAccessControlId"] = oac
    config = {
        "CallerReference": reference,
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "o",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": OPTIMIZED,
        },
        **extra,
    }
    return cf.create_distribution(DistributionConfig=config)["Distribution"]


# %%
def lock_origin(s3, cf, bucket):
    oac = cf.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": "oac",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )["OriginAccessControl"]["Id"]
    dist = _distribution(cf, f"{bucket}.s3.us-east-1.amazonaws.com", "site", oac=oac)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return dist["Id"]


# %%
def shop_distribution(cf, origin_domain):
    return _distribution(cf, origin_domain, "shop")["Id"]


def deploy(s3, cf, distribution_id, bucket, files):
    for key, file in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=file.body, ContentType=file.content_type)
    pages = ["/" + key for key in files if key.endswith(".html")]
    cf.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": len(pages), "Items": pages},
            "CallerReference": str(id(files)),
        },
    )


# %%
def block_countries(cf, distribution_id, countries):
    config = cf.get_distribution_config(Id=distribution_id)["DistributionConfig"]
    config["Restrictions"] = {
        "GeoRestriction": {
            "RestrictionType": "blacklist",
            "Quantity": len(countries),
            "Items": countries,
        }
    }
    cf.update_distribution(Id=distribution_id, DistributionConfig=config)


# %%
def choose_price_class(cf, origin_domain, audience, target_ms):
    for n, price_class in enumerate(["PriceClass_100", "PriceClass_200", "PriceClass_All"]):
        dist = _distribution(
            cf, origin_domain, f"{price_class}-{audience}-{target_ms}", PriceClass=price_class
        )
        url = f"https://{dist['DomainName']}/index.html"
        worst = max(
            float(
                requests.get(url, headers={"X-Labkit-Viewer": city}).headers["X-Labkit-Latency-Ms"]
            )
            for city in audience
        )
        if worst <= target_ms:
            return price_class
    return None


# %%
def build_accelerator(ga, endpoints):
    arn = ga.create_accelerator(Name="web", IdempotencyToken="web")["Accelerator"]["AcceleratorArn"]
    listener = ga.create_listener(
        AcceleratorArn=arn,
        Protocol="TCP",
        PortRanges=[{"FromPort": 80, "ToPort": 80}],
        IdempotencyToken="l",
    )["Listener"]["ListenerArn"]
    for region, instance in endpoints.items():
        ga.create_endpoint_group(
            ListenerArn=listener,
            EndpointGroupRegion=region,
            EndpointConfigurations=[{"EndpointId": instance}],
            TrafficDialPercentage=75 if region == "ap-northeast-1" else 100,
            HealthCheckIntervalSeconds=10,
            ThresholdCount=3,
            IdempotencyToken=region,
        )
    return arn
