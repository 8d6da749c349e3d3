"""What the serverless API lab's checks share: finding the learner's API, calling it over HTTP at
its invoke URL as an outsider would, signing requests, and the backends a check deploys.

Every check calls the learner's API with ``requests`` at its invoke URL, exactly as a browser or
a partner's program would (labkit serves invoke URLs inside the sandbox); nothing here looks at
how the API was built beyond what AWS's own API answers (``get_stages``, ``get_api_key``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from labkit.grading.checks import CheckContext, short

ACCOUNT = "123456789012"
#: Where the checks' learners build (the lab's Region).
REGION = "us-east-1"
#: A password every default (and every stricter, up to 20 characters) policy accepts.
PASSWORD = "Corr3ct-Horse-Battery-9!"

API_HINT = (
    "Return the REST API's id (`create_rest_api(...)['id']`); its name or invoke URL work too."
)


def invoke_url(api: str, stage: str, path: str = "") -> str:
    """The invoke URL of ``path`` on ``api``'s ``stage``."""
    return f"https://{api}.execute-api.{REGION}.amazonaws.com/{stage}{path}"


def lambda_uri(function_arn: str) -> str:
    """The integration URI of a Lambda function (what ``put_integration`` takes)."""
    return (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def resolve_api(ctx: CheckContext, value: Any, function: str) -> str:
    """The id of the REST API the learner's ``function`` returned: an id, a name, an invoke
    URL or ``create_rest_api``'s whole response all name it."""
    apig = ctx.client("apigateway")
    apis = apig.get_rest_apis(limit=500).get("items", [])
    if isinstance(value, Mapping):
        value = value.get("id", value.get("restApiId", value))
    text = str(value).strip() if isinstance(value, str) else ""
    if text.startswith("https://"):
        text = text.split("//", 1)[1].split(".", 1)[0]
    for api in apis:
        if text in (api["id"], api.get("name")):
            return str(api["id"])
    made = ", ".join(f"`{a.get('name')}` ({a['id']})" for a in apis) or "no REST API at all"
    ctx.fail(
        f"`{function}` returned {short(value)}, which names no REST API; the sandbox holds {made}.",
        hint=API_HINT,
    )


def stages(ctx: CheckContext, api: str) -> dict[str, dict[str, Any]]:
    """The API's stages by name."""
    found = ctx.client("apigateway").get_stages(restApiId=api).get("item", [])
    return {str(s["stageName"]): s for s in found}


def expect_stages(ctx: CheckContext, api: str, wanted: tuple[str, ...], function: str) -> None:
    """Fail unless every stage in ``wanted`` exists (a deployment reached it)."""
    have = stages(ctx, api)
    missing = [s for s in wanted if s not in have]
    if missing:
        now = ", ".join(f"`{s}`" for s in have) or "no stage at all"
        ctx.fail(
            f"After `{function}` ran, the API has {now}, not "
            + " and ".join(f"`{s}`" for s in missing)
            + ": requests to "
            + invoke_url(api, missing[0], "/...")
            + " find nothing.",
            hint="Methods reach callers only through a deployment to a stage: "
            "`create_deployment(restApiId=api, stageName='prod')` (and one per stage, or "
            "`create_stage` on the same deployment).",
        )


def http(method: str, url: str, **kwargs: Any) -> Any:
    """One HTTP request to the sandbox (``requests``, as any client would send it)."""
    import requests

    kwargs.setdefault("timeout", 10)
    return requests.request(method, url, **kwargs)


def signed(
    method: str,
    url: str,
    credentials: tuple[str, str, str | None],
    *,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """``method url`` signed with Signature Version 4 for ``execute-api`` with ``credentials``
    (access key id, secret, session token)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=b"", headers=dict(headers or {}))
    SigV4Auth(Credentials(*credentials), "execute-api", REGION).add_auth(request)
    return http(method, url, headers=dict(request.headers.items()))


def body_of(response: Any) -> str:
    """A response as a learner reads it in a message: status and (short) body."""
    return f"{response.status_code} {short(response.text, 90)}"


def json_of(response: Any) -> Any:
    """The response's JSON body, or ``None`` when it is not JSON."""
    try:
        return json.loads(response.text)
    except ValueError:
        return None


def deploy_backend(ctx: CheckContext, handler: Any, name: str) -> str:
    """Deploy one of the lab's own backend handlers (below) in the check's world, invocable by
    API Gateway."""
    from labkit.services.awslambda.deploy import deploy_function

    arn = deploy_function(ctx.sandbox, handler, name, imports=["import json"])
    allow_api_gateway(ctx, arn)
    return arn


def allow_api_gateway(ctx: CheckContext, function_arn: str) -> None:
    """Let API Gateway invoke the function for any API of the account, as the exercise says its
    functions do: on AWS a Lambda integration created through the API (not the console) needs
    this resource-policy statement, or every request answers 500."""
    ctx.client("lambda").add_permission(
        FunctionName=function_arn,
        StatementId="apigateway-invoke",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*",
    )


def catalog_handler(event: Any, context: Any) -> Any:
    """The shop's product catalog: the products of the asked ``category`` and an ``answer`` id
    that differs on every call (so a check can tell a cached answer from a fresh one)."""
    params = event.get("queryStringParameters") or {}
    category = params.get("category") or "all"
    body = {"category": category, "products": [f"{category}-1", f"{category}-2"]}
    body["answer"] = context.aws_request_id
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }


__all__ = [
    "ACCOUNT",
    "PASSWORD",
    "REGION",
    "allow_api_gateway",
    "body_of",
    "catalog_handler",
    "deploy_backend",
    "expect_stages",
    "http",
    "invoke_url",
    "json_of",
    "lambda_uri",
    "resolve_api",
    "signed",
    "stages",
]
