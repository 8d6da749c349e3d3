# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: serverless_api
#     role: exercise
# ---

# %% [markdown]
# Plausible mistakes: usage plans on the prod stage only, an app client without the password flow,
# a guest role that reads every private folder, a cache kept an hour, and an integration without a
# method response and an integration response.

# %%
# The setup and helpers these samples share (tests/grading_support.py puts them here).
# sample-include: parts/setup.py


# %%
def create_public_api(apig, function_arn):
    api_id = apig.create_rest_api(name="shop")["id"]
    proxy(apig, api_id, add(apig, api_id, "products"), "GET", function_arn, apiKeyRequired=True)
    for stage in ("dev", "prod"):
        apig.create_deployment(restApiId=api_id, stageName=stage)
    return api_id


def create_keys(apig, api_id):
    limits = {
        "throttle": {"rateLimit": 2, "burstLimit": 5},
        "quota": {"limit": 100, "period": "DAY"},
    }
    return plans(apig, api_id, limits, stages=("prod",))


# %%
def create_user_pool(idp):
    return pool(idp, ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])


def orders_handler(event, context):
    groups = event["requestContext"]["authorizer"]["claims"].get("cognito:groups", "")
    if event["httpMethod"] == "DELETE" and "admins" not in groups.split(","):
        return {"statusCode": 403, "body": json.dumps({"message": "admins only"})}
    return {"statusCode": 200, "body": json.dumps({"ok": True})}


def create_orders_api(apig, pool_arn, function_arn):
    return cognito_api(apig, pool_arn, function_arn)


# %%
def create_identity_pool(identity, iam, user_pool_id, client_id, bucket):
    browse = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
        ],
    }
    return identity_pool(
        identity, iam, user_pool_id, client_id, own_prefix(bucket), guest_policy=browse
    )


# %%
def create_catalog_api(apig, function_arn):
    settings = {"/*/*/caching/enabled": "true", "/*/*/caching/ttlInSeconds": "3600"}
    return catalog_api(apig, function_arn, settings)


def create_cache_admin(iam, api_id):
    return cache_admin(iam, "execute-api:InvalidateCache")


# %%
def create_ingest_api(apig, iam, stream_name):
    return ingest_api(apig, iam, stream_name, GOOD_TEMPLATE, responses=False)
