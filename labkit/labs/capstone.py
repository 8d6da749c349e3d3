"""The serverless capstone: the seed's serverless architectures built together and proved as one
system.

The learner writes ``build(aws)`` (the mobile back end with its welcome email, the website and the
uploads), two handlers (``orders_handler``, ``welcome_handler``) and three small paths
(``read_order``, ``get_order``, ``upload_photo``). Every check builds the system in an empty
world of its own and plays user journeys through it (:mod:`labkit.labs.capstone_journeys`), or
judges the design as AWS would bill and serve it (:mod:`labkit.labs.capstone_design`). Any
architecture that behaves passes: parts are found from what ``build`` returns, in any spelling
AWS accepts, or in the sandbox.
"""

from __future__ import annotations

from labkit.grading.checks import Check
from labkit.labs.capstone_design import (
    BUDGET,
    LATENCY_TARGET_MS,
    check_monthly_cost,
    check_no_weak_spots,
    check_slowest_user,
)
from labkit.labs.capstone_journeys import (
    UPLOADER,
    check_accelerated_upload,
    check_dax_reads,
    check_region_failure,
    check_sign_up_and_order,
    check_website,
    check_welcome_email,
)
from labkit.labs.spec import LabSpec

#: Each check builds the whole system and plays a journey: a few seconds here.
CHECK_TIMEOUT = 60.0

LAB = LabSpec(
    id="capstone",
    title="Serverless capstone: a mobile back end, welcome emails, a website and uploads, "
    "proved as one system",
    lesson="notebooks/09_capstone.ipynb",
    lesson_source="notebooks/09_capstone.py",
    exercise="exercises/09_capstone.ipynb",
    solution="solutions/09_capstone.ipynb",
    source="solutions/09_capstone.py",
    checks=(
        Check(
            name="sign_up_and_order",
            title="A user signs up, confirms with the mailed code, signs in and orders with "
            "the token (POST /orders, GET /orders/{id}); no token, another pool's token and "
            "another user get nothing",
            points=2,
            run=check_sign_up_and_order,
            hint="A user pool that mails codes, an app client with USER_PASSWORD_AUTH, a "
            "Cognito authorizer on both methods, and a handler that answers only the owner.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="welcome_email",
            title="A new user's profile in the users table sends them a welcome email: "
            "DynamoDB Streams → Lambda → SES, with a role that allows ses:SendEmail",
            points=2,
            run=check_welcome_email,
            hint="A stream on the users table, an event source mapping to welcome_handler, "
            "a role allowing ses:SendEmail, a verified sender and SES production access.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="dax_reads",
            title="read_order(dax, order_id) reads orders through DAX, answered from its cache",
            points=1,
            run=check_dax_reads,
            hint="A DAX cluster in front of the orders table; read with get_item through it.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="region_failure",
            title="With the home Region down, get_order(regions, order_id) reads every order "
            "from another Region of the global table",
            points=2,
            run=check_region_failure,
            hint="A replica of the orders table in another Region; try the Regions in order.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="accelerated_upload",
            title=f"upload_photo from {UPLOADER} goes through S3 Transfer Acceleration, faster "
            "than straight to the Region; the photo stays private",
            points=1,
            run=check_accelerated_upload,
            hint="Acceleration on for the bucket, and a client with use_accelerate_endpoint.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="website",
            title="The website is served through CloudFront from a bucket nobody else reads",
            points=1,
            run=check_website,
            hint="An S3 origin with an origin access control, and a bucket policy for "
            "cloudfront.amazonaws.com with AWS:SourceArn.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="monthly_cost",
            title=f"At the described traffic the design costs under ${BUDGET:,.0f} a month "
            "(the fact table's prices)",
            points=1,
            run=check_monthly_cost,
            hint="Pay per request where traffic is uneven; size the always-on parts (DAX "
            "nodes) to the traffic.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="slowest_user",
            title=f"Every described user gets the home page within {LATENCY_TARGET_MS:g} ms "
            "(the edge latency model)",
            points=1,
            run=check_slowest_user,
            hint="CloudFront with edge locations near every user (the price class).",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="no_weak_spots",
            title="No single point of failure (one Region, a one-node cache) and no public bucket",
            points=1,
            run=check_no_weak_spots,
            hint="A global table, a DAX cluster of three nodes, private buckets.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
    ),
)
