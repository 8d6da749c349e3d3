"""The edge lab's outsiders and AWS error hints (helpers of :mod:`labkit.labs.edge`).

The origin check proves "only your distribution can read the bucket" by trying as outsiders: an
anonymous caller, another distribution in the learner's account, and one in another account,
each with an origin access control of its own. When someone gets in (or the learner's own
distribution is refused), :func:`bucket_policy_says` asks the one policy engine
(:mod:`labkit.policy`) what the bucket policy says to that caller, so the message names the
statement that let it in or the part of the policy that kept CloudFront out.

:func:`call_with_aws_hints` calls a learner function and, when AWS answered with an error code
the lab expects learners to meet, replaces the generic "AWS answered with the error" hint with
one that says what the code means in this task.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from labkit.grading.checks import CheckContext, CheckFailed

#: The account the outside distribution belongs to (not the learner's).
OTHER_ACCOUNT = "111122223333"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"

# -- AWS error codes learners meet, and what they mean here ---------------------------------
UPDATE_HINTS: Mapping[str, str] = {
    "InvalidIfMatchVersion": (
        "update_distribution needs the current version: read it with "
        "`got = cf.get_distribution_config(Id=...)`, change `got['DistributionConfig']`, then "
        "pass `IfMatch=got['ETag']`."
    ),
    "PreconditionFailed": (
        "The ETag you passed as IfMatch is out of date: every update gives the distribution a "
        "new ETag. Read the configuration again (`got = cf.get_distribution_config(Id=...)`) "
        "right before each update_distribution and pass `IfMatch=got['ETag']` (or keep the "
        "`ETag` that update_distribution answered)."
    ),
    "IllegalUpdate": (
        "An update keeps the distribution's CallerReference: change the configuration that "
        "get_distribution_config returned instead of building a new one."
    ),
    "InconsistentQuantities": (
        "Every `Quantity` must equal the number of `Items` beside it (for the countries: "
        "`'Quantity': len(countries)`)."
    ),
    "InvalidLocationCode": (
        "Geo restriction takes two-letter, upper-case ISO 3166-1 country codes, such as 'CU' "
        "and 'IR': pass the codes you are given as they are."
    ),
    "InvalidGeoRestrictionParameter": (
        "A geo restriction that lists countries is a 'blacklist' (block list) or a 'whitelist' "
        "(allow list); 'none' lists nothing."
    ),
    "DistributionAlreadyExists": (
        "Each new distribution needs a CallerReference of its own (CloudFront takes a repeated "
        "one as a retry of the same request): use `unique(...)`."
    ),
    "NoSuchCachePolicy": (
        "CachePolicyId must name a cache policy that exists, such as the managed "
        f"CachingOptimized policy ({CACHING_OPTIMIZED})."
    ),
    "NoSuchOriginAccessControl": (
        "OriginAccessControlId must be the `Id` that create_origin_access_control answered "
        '(`["OriginAccessControl"]["Id"]`).'
    ),
}
INVALIDATION_HINT = (
    "Invalidation paths start with `/` (`/*`, `/index.html`, `/assets/*`), and `*` may only be "
    "the last character; `Quantity` is the number of paths."
)
ACCELERATOR_HINTS: Mapping[str, str] = {
    "EndpointGroupAlreadyExistsException": (
        "A listener has one endpoint group per Region: create each Region's group once (change "
        "a group later with `update_endpoint_group`)."
    ),
    "InvalidPortRangeException": (
        "Port ranges are 1-65535 with FromPort <= ToPort, and two TCP listeners of one "
        "accelerator may not overlap."
    ),
    "InvalidArgumentException": (
        "Read the message: TrafficDialPercentage is 0-100 (a percentage, so 25 for a quarter), "
        "HealthCheckIntervalSeconds is 10 or 30, and ThresholdCount is 1-10."
    ),
}


def error_code(failure: CheckFailed) -> str:
    """The AWS error code behind a failed learner call, or ``""``."""
    cause = failure.__cause__
    if isinstance(cause, ClientError):
        return str(cause.response.get("Error", {}).get("Code", ""))
    return ""


def call_with_aws_hints(
    ctx: CheckContext,
    func: Callable[..., Any],
    *args: Any,
    hints: Mapping[str, str] = UPDATE_HINTS,
) -> Any:
    """``ctx.call(func, *args)``, with a task-specific hint for the AWS errors in ``hints``."""
    try:
        return ctx.call(func, *args)
    except CheckFailed as failure:
        code = error_code(failure)
        hint = hints.get(code, "")
        if code == "InvalidArgument" and "invalidation path" in failure.message:
            hint = INVALIDATION_HINT
        if hint:
            raise CheckFailed(failure.message, hint=hint) from failure.__cause__
        raise


def _short(value: object, limit: int = 70) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def distribution_id(ctx: CheckContext, name: str, returned: Any) -> str:
    """The distribution id a learner function returned, failing with a hint otherwise."""
    if isinstance(returned, Mapping):
        inner = returned.get("Distribution", returned)
        if isinstance(inner, Mapping) and "Id" in inner:
            ctx.fail(
                f"`{name}` returned the whole create_distribution response, not the "
                "distribution's Id.",
                hint='create_distribution answers with a dict: return `["Distribution"]["Id"]`.',
            )
    if not isinstance(returned, str) or not returned:
        ctx.fail(
            f"`{name}` returned {_short(returned)}, not the distribution's Id (a string).",
            hint="Did you finish the function (replace the `...`) and `return` the Id?",
        )
    cf = ctx.client("cloudfront")
    items = cf.list_distributions().get("DistributionList", {}).get("Items") or []
    for item in items:
        if returned in (item["Id"], item["DomainName"], item["ARN"]):
            if returned != item["Id"]:
                ctx.fail(
                    f"`{name}` returned {returned!r}, the distribution's "
                    f"{'domain name' if returned == item['DomainName'] else 'ARN'}, not its Id.",
                    hint='Return `response["Distribution"]["Id"]` (like `E2QWRUHEXAMPLE`).',
                )
            return returned
    ctx.fail(
        f"`{name}` returned {returned!r}, but there is no distribution with that Id "
        f"(the sandbox has {len(items)}).",
        hint="Return the Id of the distribution your function created.",
    )


# -- outsiders -----------------------------------------------------------------------------
def other_account_client(ctx: CheckContext, service: str, account: str = OTHER_ACCOUNT) -> Any:
    """A client of the check's world that acts as ``account`` (a new client, never the cached
    one: the header it adds must not leak into the learner's calls)."""
    from labkit.sandbox.accounts import client_in_account

    return client_in_account(ctx.sandbox, service, account)


def intruder_distribution(cf: Any, bucket: str, reference: str) -> dict[str, Any]:
    """Another distribution with an origin access control of its own, in front of ``bucket``."""
    control = cf.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": f"{reference}-oac",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )["OriginAccessControl"]["Id"]
    created: dict[str, Any] = cf.create_distribution(
        DistributionConfig={
            "CallerReference": reference,
            "Comment": "another distribution",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "stolen",
                        "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                        "OriginAccessControlId": control,
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "stolen",
                "ViewerProtocolPolicy": "allow-all",
                "CachePolicyId": CACHING_OPTIMIZED,
            },
        }
    )["Distribution"]
    return created


def bucket_policy(s3: Any, bucket: str) -> str | None:
    """The bucket's policy document, or ``None`` when it has none."""
    try:
        return str(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError:
        return None


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def bucket_policy_says(policy: str | None, bucket: str, key: str, caller: str) -> str:
    """What the bucket policy says to ``caller`` reading ``key``: ``"anonymous"`` or a
    distribution's ARN (CloudFront's service principal with that ``AWS:SourceArn``), in the
    words of the S3 reader the sandbox itself decides with."""
    from labkit.services.s3 import patch_access as s3

    if policy is None:
        return "The bucket has no policy."
    if caller == "anonymous":
        principal, context = s3.ANONYMOUS, {"aws:SecureTransport": "true"}
    else:
        principal = s3.CLOUDFRONT_SERVICE
        context = {"aws:SourceArn": caller, "aws:SourceAccount": _account_of(caller)}
    decision = s3.explain(
        policy, "s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", principal, context
    )
    return str(decision.reason)


def prove_only_yours(ctx: CheckContext, bucket: str, key: str, policy: str | None) -> None:
    """Fail unless every other distribution is refused: one of the learner's account and one of
    another account, each with an origin access control of its own, ask for ``key``."""
    from labkit import edge

    outsiders = {
        "another distribution of your account": intruder_distribution(
            ctx.client("cloudfront"), bucket, "labkit-intruder"
        ),
        f"a distribution of another AWS account ({OTHER_ACCOUNT})": intruder_distribution(
            other_account_client(ctx, "cloudfront"), bucket, "labkit-outsider"
        ),
    }
    got_in = {
        who: intruder
        for who, intruder in outsiders.items()
        if edge.fetch(f"https://{intruder['DomainName']}/{key}", viewer_at="London").status == 200
    }
    if not got_in:
        return
    intruder = next(iter(got_in.values()))
    said = bucket_policy_says(policy, bucket, key, intruder["ARN"])
    scope = (
        "every CloudFront distribution, of any AWS account"
        if len(got_in) == len(outsiders)
        else "every distribution of your account (the other account's was refused)"
    )
    ctx.fail(
        f"Not only yours: {' and '.join(got_in)} read the bucket through its own origin access "
        f"control. Your policy lets in {scope}. For {intruder['ARN']}: {said}",
        hint='Add the condition that names your distribution: `"Condition": '
        '{"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::<account>:distribution/'
        '<id>"}}`, its full ARN, with no wildcard. The service principal alone means '
        '"CloudFront", not "my CloudFront"; `AWS:SourceAccount` means "any distribution of '
        'my account".',
    )


__all__ = [
    "ACCELERATOR_HINTS",
    "INVALIDATION_HINT",
    "OTHER_ACCOUNT",
    "UPDATE_HINTS",
    "bucket_policy",
    "bucket_policy_says",
    "call_with_aws_hints",
    "distribution_id",
    "error_code",
    "intruder_distribution",
    "other_account_client",
    "prove_only_yours",
]
