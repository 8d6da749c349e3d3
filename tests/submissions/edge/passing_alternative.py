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
# A correct submission that takes other roads than the worked solution: a boto3 resource for
# the bucket policy with an ArnLike condition, legacy cache settings with versioned asset names
# instead of invalidations, get_distribution for the ETag, one distribution whose price class
# is changed and measured with edge.fetch, and health checks every 30 s with a threshold of 1.

# %%
import json

import boto3

import labkit
from labkit import edge

lab = labkit.start("edge")


# %%
def lock_origin(s3, cf, bucket):
    oac = cf.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": "locked",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )
    config = {
        "CallerReference": "locked-site",
        "Comment": "",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "s3",
                    "DomainName": f"{bucket}.s3.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                    "OriginAccessControlId": oac["OriginAccessControl"]["Id"],
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "s3",
            "ViewerProtocolPolicy": "https-only",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
        },
    }
    created = cf.create_distribution(DistributionConfig=config)["Distribution"]
    account = created["ARN"].split(":")[4]
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": ["cloudfront.amazonaws.com"]},
        "Action": ["s3:GetObject"],
        "Resource": [f"arn:aws:s3:::{bucket}/*"],
        "Condition": {
            "ArnLike": {
                "aws:SourceArn": f"arn:aws:cloudfront::{account}:distribution/{created['Id']}"
            }
        },
    }
    boto3.resource("s3").BucketPolicy(bucket).put(
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    return created["Id"]


# %%
def shop_distribution(cf, origin_domain):
    config = {
        "CallerReference": "shop",
        "Comment": "",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "bucket",
                    "DomainName": origin_domain,
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "bucket",
            "ViewerProtocolPolicy": "allow-all",
            "MinTTL": 0,
            "DefaultTTL": 86400,
            "MaxTTL": 31536000,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
        },
    }
    return cf.create_distribution(DistributionConfig=config)["Distribution"]["Id"]


def deploy(s3, cf, distribution_id, bucket, files):
    # Versioned names: assets never change under a name, so they can live at the edge for a
    # year; only the HTML (which names them) keeps a short TTL.
    version = files["index.html"].body.rsplit("build ", 1)[1].split(" ")[0]
    renamed = {}
    for key, file in files.items():
        if key.endswith(".html"):
            continue
        stem, ext = key.rsplit(".", 1)
        new_key = f"{stem}.{version}.{ext}"
        renamed["/" + key] = "/" + new_key
        s3.put_object(
            Bucket=bucket,
            Key=new_key,
            Body=file.body,
            ContentType=file.content_type,
            CacheControl="public, max-age=31536000, immutable",
        )
    for key, file in files.items():
        if not key.endswith(".html"):
            continue
        body = file.body
        for old, new in renamed.items():
            body = body.replace(f'"{old}"', f'"{new}"')
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=file.content_type,
            CacheControl="max-age=100",
        )


# %%
def block_countries(cf, distribution_id, countries):
    got = cf.get_distribution(Id=distribution_id)
    config = got["Distribution"]["DistributionConfig"]
    config["Restrictions"]["GeoRestriction"] = {
        "RestrictionType": "blacklist",
        "Quantity": len(countries),
        "Items": sorted(countries),
    }
    cf.update_distribution(DistributionConfig=config, Id=distribution_id, IfMatch=got["ETag"])


# %%
def choose_price_class(cf, origin_domain, audience, target_ms):
    created = cf.create_distribution(
        DistributionConfig={
            "CallerReference": f"measure-{origin_domain}-{len(audience)}-{target_ms}-{audience[0]}",
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
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )["Distribution"]
    url = f"https://{created['DomainName']}/index.html"
    for price_class in ("PriceClass_100", "PriceClass_200", "PriceClass_All"):
        current = cf.get_distribution_config(Id=created["Id"])
        config = current["DistributionConfig"]
        config["PriceClass"] = price_class
        cf.update_distribution(Id=created["Id"], DistributionConfig=config, IfMatch=current["ETag"])
        times = []
        for city in audience:
            edge.fetch(url, viewer_at=city)
            times.append(edge.fetch(url, viewer_at=city).latency_ms)
        if max(times) <= target_ms:
            return price_class
    return None


# %%
def build_accelerator(ga, endpoints):
    arn = ga.create_accelerator(Name="alt", IdempotencyToken="alt")["Accelerator"]["AcceleratorArn"]
    listener = ga.create_listener(
        AcceleratorArn=arn,
        PortRanges=[{"FromPort": 80, "ToPort": 443}],
        Protocol="TCP",
        IdempotencyToken="l",
    )["Listener"]["ListenerArn"]
    for region, instance in endpoints.items():
        group = ga.create_endpoint_group(
            ListenerArn=listener,
            EndpointGroupRegion=region,
            EndpointConfigurations=[{"EndpointId": instance}],
            HealthCheckIntervalSeconds=30,
            ThresholdCount=1,
            IdempotencyToken=region,
        )["EndpointGroup"]
        if region == "ap-northeast-1":
            ga.update_endpoint_group(
                EndpointGroupArn=group["EndpointGroupArn"], TrafficDialPercentage=25
            )
    return arn
