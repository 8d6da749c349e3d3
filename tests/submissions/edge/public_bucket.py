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
# A first try with plausible mistakes everywhere: the bucket is made public instead of locked
# with OAC; deploys only upload (the day-long TTL keeps the old build at the edge); the geo
# restriction is an allow list of the countries to keep out; the price class is always the
# most expensive; the accelerator keeps the default health checks (30 s x 3).

# %%
import json

import labkit

lab = labkit.start("edge")
OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def _distribution(cf, origin_domain, reference, **extra):
    config = {
        "CallerReference": reference,
        "Comment": "",
        "Enabled": True,
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
        "DefaultCacheBehavior": {
            "TargetOriginId": "o",
            "ViewerProtocolPolicy": "allow-all",
            "CachePolicyId": OPTIMIZED,
        },
        **extra,
    }
    return cf.create_distribution(DistributionConfig=config)["Distribution"]


# %%
def lock_origin(s3, cf, bucket):
    public = {
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
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))
    return _distribution(cf, f"{bucket}.s3.amazonaws.com", "public")["Id"]


# %%
def shop_distribution(cf, origin_domain):
    return _distribution(cf, origin_domain, "shop")["Id"]


def deploy(s3, cf, distribution_id, bucket, files):
    for key, file in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=file.body, ContentType=file.content_type)


# %%
def block_countries(cf, distribution_id, countries):
    got = cf.get_distribution_config(Id=distribution_id)
    config = got["DistributionConfig"]
    config["Restrictions"] = {
        "GeoRestriction": {
            "RestrictionType": "whitelist",
            "Quantity": len(countries),
            "Items": countries,
        }
    }
    cf.update_distribution(Id=distribution_id, DistributionConfig=config, IfMatch=got["ETag"])


# %%
def choose_price_class(cf, origin_domain, audience, target_ms):
    return "PriceClass_All"


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
            TrafficDialPercentage=25 if region == "ap-northeast-1" else 100,
            IdempotencyToken=region,
        )
    return arn
