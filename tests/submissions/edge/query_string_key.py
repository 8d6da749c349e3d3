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
# Mostly right, with two mistakes: the shop forwards query strings (so every newsletter link is
# a new object for the cache), and the accelerator listens on UDP. Origin access control, geo
# restriction and the price class are right.

# %%
import json

import labkit
from labkit import edge

lab = labkit.start("edge")
OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def _distribution(cf, origin, reference, behavior, **extra):
    config = {
        "CallerReference": reference,
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": origin["Id"],
            "ViewerProtocolPolicy": "allow-all",
            **behavior,
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
    origin = {
        "Id": "s3",
        "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
        "OriginAccessControlId": oac,
    }
    dist = _distribution(cf, origin, "site", {"CachePolicyId": OPTIMIZED})
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": dist["ARN"]}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return dist["Id"]


# %%
def shop_distribution(cf, origin_domain):
    origin = {
        "Id": "shop",
        "DomainName": origin_domain,
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    behavior = {
        "MinTTL": 0,
        "DefaultTTL": 86400,
        "MaxTTL": 31536000,
        "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "none"}},
    }
    return _distribution(cf, origin, "shop", behavior)["Id"]


def deploy(s3, cf, distribution_id, bucket, files):
    for key, file in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=file.body, ContentType=file.content_type)
    cf.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": str(id(files)),
        },
    )


# %%
def block_countries(cf, distribution_id, countries):
    got = cf.get_distribution_config(Id=distribution_id)
    got["DistributionConfig"]["Restrictions"] = {
        "GeoRestriction": {
            "RestrictionType": "blacklist",
            "Quantity": len(countries),
            "Items": countries,
        }
    }
    cf.update_distribution(
        Id=distribution_id, DistributionConfig=got["DistributionConfig"], IfMatch=got["ETag"]
    )


# %%
def choose_price_class(cf, origin_domain, audience, target_ms):
    origin = {
        "Id": "o",
        "DomainName": origin_domain,
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    for price_class in ["PriceClass_100", "PriceClass_200", "PriceClass_All"]:
        dist = _distribution(
            cf,
            origin,
            f"{price_class}{audience}{target_ms}",
            {"CachePolicyId": OPTIMIZED},
            PriceClass=price_class,
        )
        url = f"https://{dist['DomainName']}/"
        slowest = 0.0
        for city in audience:
            edge.fetch(url, viewer_at=city)
            slowest = max(slowest, edge.fetch(url, viewer_at=city).latency_ms)
        if slowest <= target_ms:
            return price_class
    return None


# %%
def build_accelerator(ga, endpoints):
    arn = ga.create_accelerator(Name="web", IdempotencyToken="web")["Accelerator"]["AcceleratorArn"]
    listener = ga.create_listener(
        AcceleratorArn=arn,
        Protocol="UDP",
        PortRanges=[{"FromPort": 80, "ToPort": 80}],
        IdempotencyToken="l",
    )["Listener"]["ListenerArn"]
    for region, instance in endpoints.items():
        ga.create_endpoint_group(
            ListenerArn=listener,
            EndpointGroupRegion=region,
            EndpointConfigurations=[{"EndpointId": instance}],
            TrafficDialPercentage=25 if region == "ap-northeast-1" else 100,
            HealthCheckIntervalSeconds=10,
            ThresholdCount=2,
            IdempotencyToken=region,
        )
    return arn
