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
# Plausible mistakes: a weekly quota, a DELETE left open with the handler reading the groups from
# the token itself (without checking its signature), a role that trusts any identity pool, a cache
# anyone may refresh, and a role that may write into every stream.

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
        "quota": {"limit": 100, "period": "WEEK"},
    }
    return plans(apig, api_id, limits)


# %%
def create_user_pool(idp):
    return pool(idp)


def orders_handler(event, context):
    import base64

    token = (event.get("headers") or {}).get("Authorization") or ""
    if token.count(".") != 2:
        return {"statusCode": 401, "body": json.dumps({"message": "Unauthorized"})}
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if event["httpMethod"] == "DELETE" and "admins" not in claims.get("cognito:groups", []):
        return {"statusCode": 403, "body": json.dumps({"message": "admins only"})}
    return {"statusCode": 200, "body": json.dumps({"ok": True})}


def create_orders_api(apig, pool_arn, function_arn):
    return cognito_api(apig, pool_arn, function_arn, secure_delete=False)


# %%
def create_identity_pool(identity, iam, user_pool_id, client_id, bucket):
    return identity_pool(identity, iam, user_pool_id, client_id, own_prefix(bucket), aud=False)


# %%
def create_catalog_api(apig, function_arn):
    settings = {
        "/*/*/caching/enabled": "true",
        "/*/*/caching/requireAuthorizationForCacheControl": "false",
    }
    return catalog_api(apig, function_arn, settings)


def create_cache_admin(iam, api_id):
    return cache_admin(iam, "execute-api:InvalidateCache")


# %%
def create_ingest_api(apig, iam, stream_name):
    return ingest_api(apig, iam, stream_name, GOOD_TEMPLATE, resource="*")
