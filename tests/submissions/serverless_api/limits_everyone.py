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
# Plausible mistakes: the free tier's limit put on the stages (so it limits every key), a pool
# that sends no confirmation code, a role that cannot list its own prefix, a cache key without the
# category, and one partition key for every event.

# %%
# The setup and helpers these samples share (tests/grading_support.py puts them here).
# sample-include: parts/setup.py


# %%
def create_public_api(apig, function_arn):
    api_id = apig.create_rest_api(name="shop")["id"]
    proxy(apig, api_id, add(apig, api_id, "products"), "GET", function_arn, apiKeyRequired=True)
    for stage in ("dev", "prod"):
        apig.create_deployment(restApiId=api_id, stageName=stage)
        apig.update_stage(
            restApiId=api_id,
            stageName=stage,
            patchOperations=[
                {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "2"},
                {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "5"},
            ],
        )
    return api_id


def create_keys(apig, api_id):
    return plans(apig, api_id, {"quota": {"limit": 100, "period": "DAY"}})


# %%
def create_user_pool(idp):
    pool_id = idp.create_user_pool(PoolName="shop", UsernameAttributes=["email"])["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pool_id, GroupName="admins")
    return pool_id, client_id


def orders_handler(event, context):
    groups = event["requestContext"]["authorizer"]["claims"].get("cognito:groups", "")
    if event["httpMethod"] == "DELETE" and "admins" not in groups.split(","):
        return {"statusCode": 403, "body": json.dumps({"message": "admins only"})}
    return {"statusCode": 200, "body": json.dumps({"ok": True})}


def create_orders_api(apig, pool_arn, function_arn):
    return cognito_api(apig, pool_arn, function_arn)


# %%
def create_identity_pool(identity, iam, user_pool_id, client_id, bucket):
    return identity_pool(identity, iam, user_pool_id, client_id, own_prefix(bucket, False))


# %%
def create_catalog_api(apig, function_arn):
    return catalog_api(apig, function_arn, {"/*/*/caching/enabled": "true"}, cache_key=False)


def create_cache_admin(iam, api_id):
    return cache_admin(iam, "execute-api:InvalidateCache")


# %%
def create_ingest_api(apig, iam, stream_name):
    template = GOOD_TEMPLATE.replace("$input.path('$.user')", "clickstream")
    return ingest_api(apig, iam, stream_name, template)
