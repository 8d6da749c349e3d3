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
# A correct submission that sets things up later and elsewhere: the origin access control is
# created after the distribution and attached with a get_distribution_config round trip; the
# bucket policy, with StringLike on a lower-case `aws:sourcearn` and an explicit Deny for every
# other caller, goes through a client of its own; the origin is the dash-Region endpoint; each
# deploy invalidates every key it uploaded; geo updates reuse the ETag that update_distribution
# answered; the price class is measured with requests; the accelerator is built with its own
# boto3 client, endpoints added later and health checks set with update_endpoint_group.

# %%
import json
import uuid

import boto3
import requests

import labkit

lab = labkit.start("edge")
UNCOMPRESSED = "b2884449-e4de-46a7-ac36-70bc7f1ddd6d"  # CachingOptimizedForUncompressedObjects


def ref(prefix):
    return f"{prefix}-{uuid.uuid4().hex}"


def site_config(origin_domain, reference):
    return {
        "CallerReference": reference,
        "Comment": "",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "site",
                    "DomainName": origin_domain,
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "site",
            "ViewerProtocolPolicy": "allow-all",
            "CachePolicyId": UNCOMPRESSED,
        },
    }


# %%
def lock_origin(s3, cf, bucket):
    created = cf.create_distribution(
        DistributionConfig=site_config(f"{bucket}.s3-us-east-1.amazonaws.com", ref("locked"))
    )["Distribution"]
    control = cf.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": ref("oac"),
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )["OriginAccessControl"]
    current = cf.get_distribution_config(Id=created["Id"])
    config = current["DistributionConfig"]
    config["Origins"]["Items"][0]["OriginAccessControlId"] = control["Id"]
    cf.update_distribution(Id=created["Id"], DistributionConfig=config, IfMatch=current["ETag"])
    objects = f"arn:aws:s3:::{bucket}/*"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyMyDistribution",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": objects,
                "Condition": {"StringLike": {"aws:sourcearn": created["ARN"]}},
            },
            {
                "Sid": "NobodyElse",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": objects,
                "Condition": {"StringNotEquals": {"AWS:SourceArn": created["ARN"]}},
            },
        ],
    }
    boto3.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return created["Id"]


# %%
def shop_distribution(cf, origin_domain):
    return cf.create_distribution(DistributionConfig=site_config(origin_domain, ref("shop")))[
        "Distribution"
    ]["Id"]


def deploy(s3, cf, distribution_id, bucket, files):
    bucket_resource = boto3.resource("s3").Bucket(bucket)
    for key in sorted(files, key=lambda k: k.endswith(".html")):  # assets first, pages last
        bucket_resource.put_object(
            Key=key, Body=files[key].body.encode(), ContentType=files[key].content_type
        )
    paths = ["/" + key for key in files]
    cf.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": ref("deploy"),
        },
    )


# %%
LATEST_ETAG = {}


def block_countries(cf, distribution_id, countries):
    if distribution_id in LATEST_ETAG:
        etag = LATEST_ETAG[distribution_id]
        config = cf.get_distribution(Id=distribution_id)["Distribution"]["DistributionConfig"]
    else:
        got = cf.get_distribution(Id=distribution_id)
        etag, config = got["ETag"], got["Distribution"]["DistributionConfig"]
    codes = tuple(sorted(set(countries)))
    config["Restrictions"] = {
        "GeoRestriction": {
            "RestrictionType": "blacklist",
            "Quantity": len(codes),
            "Items": list(codes),
        }
    }
    answered = cf.update_distribution(Id=distribution_id, DistributionConfig=config, IfMatch=etag)
    LATEST_ETAG[distribution_id] = answered["ETag"]  # the version after this update


# %%
def choose_price_class(cf, origin_domain, audience, target_ms):
    for price_class in ("PriceClass_100", "PriceClass_200", "PriceClass_All"):
        config = site_config(origin_domain, ref(price_class))
        config["PriceClass"] = price_class
        created = cf.create_distribution_with_tags(
            DistributionConfigWithTags={
                "DistributionConfig": config,
                "Tags": {"Items": [{"Key": "purpose", "Value": "measure"}]},
            }
        )["Distribution"]
        url = f"http://{created['DomainName']}/index.html"
        worst = 0.0
        for city in audience:
            for _ in range(3):  # until the edge answers from its cache
                answer = requests.get(url, headers={"X-Labkit-Viewer": city})
                if answer.headers["X-Cache"].startswith("Hit"):
                    break
            worst = max(worst, float(answer.headers["X-Labkit-Latency-Ms"]))
        if worst <= target_ms:
            return price_class
    return None


# %%
def build_accelerator(ga, endpoints):
    own = boto3.client("globalaccelerator", region_name="us-west-2")
    accelerator = own.create_accelerator(Name="shop-later", IdempotencyToken=ref("acc"))[
        "Accelerator"
    ]
    listener = own.create_listener(
        AcceleratorArn=accelerator["AcceleratorArn"],
        Protocol="TCP",
        PortRanges=[{"FromPort": 80, "ToPort": 80}],
        ClientAffinity="SOURCE_IP",
        IdempotencyToken=ref("lis"),
    )["Listener"]
    for region, instance in endpoints.items():
        group = own.create_endpoint_group(
            ListenerArn=listener["ListenerArn"],
            EndpointGroupRegion=region,
            IdempotencyToken=ref(region),
        )["EndpointGroup"]
        own.add_endpoints(
            EndpointGroupArn=group["EndpointGroupArn"],
            EndpointConfigurations=[{"EndpointId": instance, "Weight": 200}],
        )
        settings = {"HealthCheckIntervalSeconds": 10, "ThresholdCount": 2}
        if region == "ap-northeast-1":
            settings["TrafficDialPercentage"] = 25  # an int is a number too
        own.update_endpoint_group(EndpointGroupArn=group["EndpointGroupArn"], **settings)
    return accelerator["AcceleratorArn"]
