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
# Plausible mistakes: a method that does not require its key, a handler that never looks at the
# groups, a role on the whole private/ folder, a cache cluster with caching never turned on for
# the method, and a record whose data is escaped JSON instead of base64.

# %%
# The setup and helpers these samples share (tests/grading_support.py puts them here).
# sample-include: parts/setup.py


# %%
def create_public_api(apig, function_arn):
    api_id = apig.create_rest_api(name="shop")["id"]
    proxy(apig, api_id, add(apig, api_id, "products"), "GET", function_arn)
    for stage in ("dev", "prod"):
        apig.create_deployment(restApiId=api_id, stageName=stage)
    return api_id


def create_keys(apig, api_id):
    limits = {
        "throttle": {"rateLimit": 2, "burstLimit": 5},
        "quota": {"limit": 100, "period": "DAY"},
    }
    return plans(apig, api_id, limits)


# %%
def create_user_pool(idp):
    return pool(idp)


def orders_handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"ok": True})}


def create_orders_api(apig, pool_arn, function_arn):
    return cognito_api(apig, pool_arn, function_arn)


# %%
def create_identity_pool(identity, iam, user_pool_id, client_id, bucket):
    everything = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/private/*"],
            }
        ],
    }
    return identity_pool(identity, iam, user_pool_id, client_id, everything)


# %%
def create_catalog_api(apig, function_arn):
    return catalog_api(apig, function_arn, {})


def create_cache_admin(iam, api_id):
    return cache_admin(iam, "execute-api:InvalidateCache")


# %%
def create_ingest_api(apig, iam, stream_name):
    template = GOOD_TEMPLATE.replace(
        "$util.base64Encode($input.body)", "$util.escapeJavaScript($input.body)"
    )
    return ingest_api(apig, iam, stream_name, template)
