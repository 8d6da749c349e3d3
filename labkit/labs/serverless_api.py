"""The serverless API lab: API Gateway and Cognito, called over HTTP and secured for real.

Every check builds the learner's API in an empty world of its own, with its own clock, and calls
it with ``requests`` at its invoke URL, as a browser or a partner's program would; it also tries
as outsiders (no key, a guessed key, a forged or expired token, another user, a guest, another
identity pool, an IAM user allowed only to invoke):

- ``public_api``: dev and prod stages; API keys required; a free key throttled and metered, a
  paid key not (:mod:`labkit.labs.serverless_api_keys`);
- ``orders_auth``: users sign up and in with a user pool; ``POST /orders`` for signed-in users,
  ``DELETE`` for ``admins``; edited, foreign and expired tokens get 401
  (:mod:`labkit.labs.serverless_api_users`);
- ``own_files``: an identity pool gives each user only their own S3 prefix
  (:mod:`labkit.labs.serverless_api_users`);
- ``products_cache``: ``GET /products`` from the stage cache under load, refreshed only by an
  authorized caller (:mod:`labkit.labs.serverless_api_cache`);
- ``ingest``: ``POST /events`` straight into Kinesis, no Lambda
  (:mod:`labkit.labs.serverless_api_ingest`).
"""

from __future__ import annotations

from labkit.grading.checks import Check
from labkit.labs.serverless_api_cache import TTL, check_products_cache
from labkit.labs.serverless_api_ingest import STREAM, check_ingest
from labkit.labs.serverless_api_keys import (
    FREE_BURST,
    FREE_QUOTA,
    FREE_RATE,
    check_public_api,
)
from labkit.labs.serverless_api_users import FILES_BUCKET, check_orders_auth, check_own_files
from labkit.labs.spec import LabSpec

#: Checks that deploy functions and send a few hundred HTTP requests (a few seconds here).
CHECK_TIMEOUT = 60.0

LAB = LabSpec(
    id="serverless_api",
    title="Serverless API: API Gateway stages, keys, Cognito sign-in, caching and Kinesis",
    lesson="notebooks/08_serverless_api.ipynb",
    lesson_source="notebooks/08_serverless_api.py",
    exercise="exercises/08_serverless_api.ipynb",
    solution="solutions/08_serverless_api.ipynb",
    source="solutions/08_serverless_api.py",
    checks=(
        Check(
            name="public_api",
            title=f"create_public_api/create_keys: GET /products on dev and prod needs an API "
            f"key; the free key gets {FREE_BURST} at once, {FREE_RATE} a second and "
            f"{FREE_QUOTA} a day (then 429), the paid key is never limited",
            points=2,
            run=check_public_api,
            hint="apiKeyRequired on the method; two usage plans on both stages, the free one "
            "with a throttle and a daily quota, the paid one with neither; one key in each.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="orders_auth",
            title="create_user_pool/orders_handler/create_orders_api: users sign up and in; "
            "POST /orders for signed-in users, DELETE for the `admins` group; edited, "
            "foreign and expired tokens get 401",
            points=2,
            run=check_orders_auth,
            hint="A pool that mails codes, a client with USER_PASSWORD_AUTH and an `admins` "
            "group; a Cognito authorizer on both methods; the handler reads cognito:groups.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="own_files",
            title=f"create_identity_pool: each signed-in user reads, writes and lists only "
            f"`private/<their identity id>/` in `{FILES_BUCKET}`; guests and other identity "
            "pools reach no user's files",
            points=2,
            run=check_own_files,
            hint="An authenticated role trusted by your identity pool only, whose policy uses "
            "${cognito-identity.amazonaws.com:sub} in the resource and the s3:prefix "
            "condition.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="products_cache",
            title=f"create_catalog_api/create_cache_admin: GET /products answered from the "
            f"stage cache per category for {TTL} s under load; only the administrator's "
            "Cache-Control: max-age=0 refreshes it",
            points=2,
            run=check_products_cache,
            hint="A cache cluster on prod, caching on for the method, the category in the "
            "cache key, and an IAM user allowed execute-api:InvalidateCache.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="ingest",
            title=f"create_ingest_api: POST /events puts each event into `{STREAM}` (Kinesis) "
            "keyed by its user, with no Lambda function, through a role that may write only "
            "there",
            points=2,
            run=check_ingest,
            hint="An AWS integration with kinesis:action/PutRecord, a mapping template that "
            "base64-encodes the body and keys by user, and a narrow role.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
    ),
)
