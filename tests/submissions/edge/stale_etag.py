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
# Plausible mistakes of someone who read the docs quickly: the bucket policy trusts every
# distribution of the account (AWS:SourceAccount); invalidation paths without the leading `/`;
# an ETag read once and reused for every later update; a fixed CallerReference per price class,
# so measuring a second audience repeats it; and the accelerator's DNS name returned instead of
# its ARN.

# %%
import json

import labkit
from labkit import edge

lab = labkit.start("edge")
OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def config(origin_domain, reference, oac=""):
    origin = {
        "Id": "o",
        "DomainName": origin_domain,
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    if oac:
        origin["OriginAccessControlId"] = oac
    return {
        "CallerReference": reference,
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "o",
            "ViewerProtocolPolicy": "allow-all",
            "CachePolicyId": OPTIMIZED,
        },
    }


# %%
def lock_origin(s3, cf, bucket):
    oac = cf.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": "mine",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )["OriginAccessControl"]["Id"]
    dist = cf.create_distribution(
        DistributionConfig=config(f"{bucket}.s3.us-east-1.amazonaws.com", "locked", oac)
    )["Distribution"]
    account = dist["ARN"].split(":")[4]
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"StringEquals": {"AWS:SourceAccount": account}},
    }
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    return dist["Id"]


# %%
def shop_distribution(cf, origin_domain):
    return cf.create_distribution(DistributionConfig=config(origin_domain, "shop"))["Distribution"][
        "Id"
    ]


def deploy(s3, cf, distribution_id, bucket, files):
    for key, file in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=file.body, ContentType=file.content_type)
    cf.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["*"]},
            "CallerReference": f"deploy-{files['index.html'].body[-20:]}",
        },
    )


# %%
VERSIONS = {}


def block_countries(cf, distribution_id, countries):
    if distribution_id not in VERSIONS:
        VERSIONS[distribution_id] = cf.get_distribution_config(Id=distribution_id)["ETag"]
    current = cf.get_distribution_config(Id=distribution_id)["DistributionConfig"]
    current["Restrictions"] = {
        "GeoRestriction": {
            "RestrictionType": "blacklist",
            "Quantity": len(countries),
            "Items": countries,
        }
    }
    cf.update_distribution(
        Id=distribution_id, DistributionConfig=current, IfMatch=VERSIONS[distribution_id]
    )


# %%
def choose_price_class(cf, origin_domain, audience, target_ms):
    for price_class in ("PriceClass_100", "PriceClass_200", "PriceClass_All"):
        cfg = config(origin_domain, f"measure-{price_class}")
        cfg["PriceClass"] = price_class
        dist = cf.create_distribution(DistributionConfig=cfg)["Distribution"]
        url = f"https://{dist['DomainName']}/index.html"
        times = []
        for city in audience:
            edge.fetch(url, viewer_at=city)
            times.append(edge.fetch(url, viewer_at=city).latency_ms)
        if max(times) <= target_ms:
            return price_class
    return None


# %%
def build_accelerator(ga, endpoints):
    accelerator = ga.create_accelerator(Name="shop", IdempotencyToken="shop")["Accelerator"]
    listener = ga.create_listener(
        AcceleratorArn=accelerator["AcceleratorArn"],
        Protocol="TCP",
        PortRanges=[{"FromPort": 80, "ToPort": 80}],
        IdempotencyToken="listener",
    )["Listener"]
    for region, instance in endpoints.items():
        ga.create_endpoint_group(
            ListenerArn=listener["ListenerArn"],
            EndpointGroupRegion=region,
            EndpointConfigurations=[{"EndpointId": instance}],
            TrafficDialPercentage=25.0 if region == "ap-northeast-1" else 100.0,
            HealthCheckIntervalSeconds=10,
            ThresholdCount=3,
            IdempotencyToken=region,
        )
    return accelerator["DnsName"]
