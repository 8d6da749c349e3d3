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
# Another correct submission, in other words again: an ArnEquals condition whose ARN is built
# from the account and the Id, on a dual-stack REST endpoint, with `no-override` signing; legacy
# cache settings that keep only a `v` query string in the key, and one invalidation naming the
# pages and `/assets/*`; the geo restriction changed in place inside the configuration
# get_distribution_config returned; the price class chosen after warming every city; and an
# accelerator whose groups get their dial and health checks at creation (30 s × 1), with
# explicit weights.

# %%
import json

import labkit
from labkit import edge

lab = labkit.start("edge")
COUNTER = iter(range(10**6))


def reference(prefix):
    return f"{prefix}-{next(COUNTER)}"


def legacy_behavior(origin_id):
    return {
        "TargetOriginId": origin_id,
        "ViewerProtocolPolicy": "redirect-to-https",
        "MinTTL": 0,
        "DefaultTTL": 86400,
        "MaxTTL": 31536000,
        "ForwardedValues": {
            "QueryString": True,
            "QueryStringCacheKeys": {"Quantity": 1, "Items": ["v"]},
            "Cookies": {"Forward": "none"},
        },
    }


# %%
def lock_origin(s3, cf, bucket):
    control_id = cf.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": reference("signer"),
            "Description": "signs unless the viewer already did",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "no-override",
            "OriginAccessControlOriginType": "s3",
        }
    )["OriginAccessControl"]["Id"]
    response = cf.create_distribution(
        DistributionConfig={
            "CallerReference": reference("locked"),
            "Comment": "dual-stack origin",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "bucket-origin",
                        "DomainName": f"{bucket}.s3.dualstack.us-east-1.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                        "OriginAccessControlId": control_id,
                    }
                ],
            },
            "DefaultCacheBehavior": legacy_behavior("bucket-origin"),
        }
    )
    distribution_id = response["Distribution"]["Id"]
    account = response["Distribution"]["ARN"].split(":")[4]
    arn = f"arn:aws:cloudfront::{account}:distribution/{distribution_id}"
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Id": "oac",
                "Statement": {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"ArnEquals": {"AWS:SourceArn": [arn]}},
                },
            }
        ),
    )
    return distribution_id


# %%
def shop_distribution(cf, origin_domain):
    created = cf.create_distribution(
        DistributionConfig={
            "CallerReference": reference("shop"),
            "Comment": "",
            "Enabled": True,
            "DefaultRootObject": "index.html",
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "shop-bucket",
                        "DomainName": origin_domain,
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": legacy_behavior("shop-bucket"),
        }
    )
    return created["Distribution"]["Id"]


def deploy(s3, cf, distribution_id, bucket, files):
    import io

    for key, file in files.items():
        s3.upload_fileobj(
            io.BytesIO(file.body.encode()),
            bucket,
            key,
            ExtraArgs={"ContentType": file.content_type},
        )
    paths = ["/index.html", "/products.html", "/assets/*"]
    cf.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": reference("deploy"),
        },
    )


# %%
def block_countries(cf, distribution_id, countries):
    response = cf.get_distribution_config(Id=distribution_id)
    geo = response["DistributionConfig"]["Restrictions"]["GeoRestriction"]
    geo["RestrictionType"] = "blacklist"
    geo["Items"] = [code.upper() for code in countries]
    geo["Quantity"] = len(geo["Items"])
    cf.update_distribution(
        Id=distribution_id,
        IfMatch=response["ETag"],
        DistributionConfig=response["DistributionConfig"],
    )


# %%
def choose_price_class(cf, origin_domain, audience, target_ms):
    fastest_enough = None
    for price_class in reversed(("PriceClass_100", "PriceClass_200", "PriceClass_All")):
        created = cf.create_distribution(
            DistributionConfig={
                "CallerReference": reference(price_class),
                "Comment": "",
                "Enabled": True,
                "PriceClass": price_class,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "o",
                            "DomainName": origin_domain,
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": legacy_behavior("o"),
            }
        )["Distribution"]
        url = f"https://{created['DomainName']}/index.html"
        for city in audience:  # warm every edge first
            edge.fetch(url, viewer_at=city)
        slowest = max(edge.fetch(url, viewer_at=city).latency_ms for city in audience)
        if slowest <= target_ms:
            fastest_enough = price_class  # a cheaper one may still do
    return fastest_enough


# %%
def build_accelerator(ga, endpoints):
    accelerator_arn = ga.create_accelerator(
        Name="shop-two", IpAddressType="IPV4", Enabled=True, IdempotencyToken=reference("a")
    )["Accelerator"]["AcceleratorArn"]
    listener_arn = ga.create_listener(
        AcceleratorArn=accelerator_arn,
        Protocol="TCP",
        PortRanges=[{"FromPort": 80, "ToPort": 443}],
        IdempotencyToken=reference("l"),
    )["Listener"]["ListenerArn"]
    for region in sorted(endpoints):
        ga.create_endpoint_group(
            ListenerArn=listener_arn,
            EndpointGroupRegion=region,
            EndpointConfigurations=[{"EndpointId": endpoints[region], "Weight": 255}],
            TrafficDialPercentage=25 if region == "ap-northeast-1" else 100,
            HealthCheckIntervalSeconds=30,
            ThresholdCount=1,
            IdempotencyToken=reference(region),
        )
    return accelerator_arn
