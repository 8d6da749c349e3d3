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
# Mistakes of a different kind: the policy's AWS:SourceArn holds the distribution's Id, not its
# ARN; the shop uses the CachingDisabled policy "to be safe"; country codes are lower-cased
# before they go into the geo restriction; the price class is judged by the first viewer of the
# audience only; and the canary's traffic dial is written as a fraction (0.25) instead of a
# percentage.

# %%
import json
import uuid

import labkit
from labkit import edge

lab = labkit.start("edge")
DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def make(cf, origin_domain, policy_id=OPTIMIZED, oac="", price_class="PriceClass_All"):
    origin = {
        "Id": "o",
        "DomainName": origin_domain,
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    if oac:
        origin["OriginAccessControlId"] = oac
    return cf.create_distribution(
        DistributionConfig={
            "CallerReference": str(uuid.uuid4()),
            "Comment": "",
            "Enabled": True,
            "PriceClass": price_class,
            "Origins": {"Quantity": 1, "Items": [origin]},
            "DefaultCacheBehavior": {
                "TargetOriginId": "o",
                "ViewerProtocolPolicy": "allow-all",
                "CachePolicyId": policy_id,
            },
        }
    )["Distribution"]


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
    dist = make(cf, f"{bucket}.s3.amazonaws.com", oac=oac)
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": dist["Id"]}},
    }
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    return dist["Id"]


# %%
def shop_distribution(cf, origin_domain):
    return make(cf, origin_domain, policy_id=DISABLED)["Id"]


def deploy(s3, cf, distribution_id, bucket, files):
    for key, file in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=file.body, ContentType=file.content_type)


# %%
def block_countries(cf, distribution_id, countries):
    got = cf.get_distribution_config(Id=distribution_id)
    codes = [c.lower() for c in countries]
    got["DistributionConfig"]["Restrictions"] = {
        "GeoRestriction": {"RestrictionType": "blacklist", "Quantity": len(codes), "Items": codes}
    }
    cf.update_distribution(
        Id=distribution_id, DistributionConfig=got["DistributionConfig"], IfMatch=got["ETag"]
    )


# %%
def choose_price_class(cf, origin_domain, audience, target_ms):
    for price_class in ("PriceClass_100", "PriceClass_200", "PriceClass_All"):
        dist = make(cf, origin_domain, price_class=price_class)
        url = f"https://{dist['DomainName']}/index.html"
        first = audience[0]
        edge.fetch(url, viewer_at=first)
        if edge.fetch(url, viewer_at=first).latency_ms <= target_ms:
            return price_class
    return None


# %%
def build_accelerator(ga, endpoints):
    arn = ga.create_accelerator(Name="shop", IdempotencyToken=str(uuid.uuid4()))["Accelerator"][
        "AcceleratorArn"
    ]
    listener = ga.create_listener(
        AcceleratorArn=arn,
        Protocol="TCP",
        PortRanges=[{"FromPort": 80, "ToPort": 80}],
        IdempotencyToken=str(uuid.uuid4()),
    )["Listener"]["ListenerArn"]
    for region, instance in endpoints.items():
        ga.create_endpoint_group(
            ListenerArn=listener,
            EndpointGroupRegion=region,
            EndpointConfigurations=[{"EndpointId": instance}],
            TrafficDialPercentage=0.25 if region == "ap-northeast-1" else 1.0 * 100,
            HealthCheckIntervalSeconds=10,
            ThresholdCount=3,
            IdempotencyToken=str(uuid.uuid4()),
        )
    return arn
