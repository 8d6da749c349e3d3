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
# Other plausible mistakes: the origin access control is created but never attached to the
# origin; freshness from TTLs of one minute (fresh, but every expiry goes to the origin); the
# price classes named as the notes name them; a health-check threshold of 10. The geo
# restriction is right.

# %%
import json

import labkit

lab = labkit.start("edge")


def _config(origin, reference, **behavior):
    return {
        "CallerReference": reference,
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": origin["Id"],
            "ViewerProtocolPolicy": "allow-all",
            **behavior,
        },
    }


# %%
def lock_origin(s3, cf, bucket):
    cf.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": "oac",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )
    origin = {
        "Id": "s3",
        "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    dist = cf.create_distribution(
        DistributionConfig=_config(
            origin, "site", CachePolicyId="658327ea-f89d-4fab-a63d-7e88639e58f6"
        )
    )["Distribution"]
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
    config = _config(
        origin,
        "shop",
        MinTTL=0,
        DefaultTTL=60,
        MaxTTL=60,
        ForwardedValues={"QueryString": False, "Cookies": {"Forward": "none"}},
    )
    return cf.create_distribution(DistributionConfig=config)["Distribution"]["Id"]


def deploy(s3, cf, distribution_id, bucket, files):
    for key, file in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=file.body, ContentType=file.content_type)


# %%
def block_countries(cf, distribution_id, countries):
    got = cf.get_distribution_config(Id=distribution_id)
    config = got["DistributionConfig"]
    config["Restrictions"] = {
        "GeoRestriction": {
            "RestrictionType": "blacklist",
            "Quantity": len(countries),
            "Items": countries,
        }
    }
    cf.update_distribution(Id=distribution_id, DistributionConfig=config, IfMatch=got["ETag"])


# %%
def choose_price_class(cf, origin_domain, audience, target_ms):
    # "100 regions, 200 regions, all": the notes' names.
    return {1: "100", 2: "200"}.get(len(audience), "All")


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
            HealthCheckIntervalSeconds=10,
            ThresholdCount=10,
            IdempotencyToken=region,
        )
    return arn
