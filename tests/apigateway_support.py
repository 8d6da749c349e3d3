"""Helpers for the API Gateway tests: a REST API with one method (its Lambda function's
permission granted), invoke URLs, the trace."""

from __future__ import annotations

from typing import Any

from labkit.services.apigateway.sim_pipeline import TraceEntry
from labkit.services.apigateway.state import api_trace

ECHO = """
import json
def lambda_handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event)}
"""


def lambda_uri(fn_arn: str, region: str = "us-east-1") -> str:
    """The integration URI of a Lambda function."""
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{fn_arn}/invocations"


def rest_api(
    lab: Any,
    parts: list[str],
    *,
    method: str = "GET",
    integration: dict[str, Any],
    stage: str | None = "dev",
    name: str = "shop",
    **method_args: Any,
) -> tuple[str, str]:
    """A REST API with one method on ``/{parts...}`` integrated as ``integration`` (the
    ``put_integration`` arguments), deployed to ``stage``; returns ``(api_id, resource_id)``."""
    apig = lab.client("apigateway")
    api = str(apig.create_rest_api(name=name)["id"])
    parent = apig.get_resources(restApiId=api)["items"][0]["id"]
    for part in parts:
        parent = apig.create_resource(restApiId=api, parentId=parent, pathPart=part)["id"]
    method_args.setdefault("authorizationType", "NONE")
    apig.put_method(restApiId=api, resourceId=parent, httpMethod=method, **method_args)
    apig.put_integration(restApiId=api, resourceId=parent, httpMethod=method, **integration)
    grant(lab, api, integration)
    if stage is not None:
        apig.create_deployment(restApiId=api, stageName=stage)
    return api, str(parent)


def grant(lab: Any, api: str, integration: dict[str, Any]) -> None:
    """What the console does when it wires a Lambda integration without a credentials role:
    let API Gateway invoke the function for ``api`` (a URI naming it by stage variable is left
    to the test)."""
    uri = str(integration.get("uri", ""))
    if ":lambda:path/" in uri and "${" not in uri and not integration.get("credentials"):
        let_invoke(lab, uri.split("/functions/")[1].split("/invocations")[0], api)


def let_invoke(lab: Any, fn_arn: str, api: str) -> None:
    """Let API Gateway invoke ``fn_arn`` for every method of ``api`` (as AWS requires)."""
    account = lab.client("sts").get_caller_identity()["Account"]
    lab.client("lambda").add_permission(
        FunctionName=fn_arn,
        StatementId=f"apigateway-{api}-{len(fn_arn)}-{fn_arn[-12:]}",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:{account}:{api}/*",
    )


def proxy(fn_arn: str) -> dict[str, Any]:
    """``put_integration`` arguments of a Lambda proxy integration."""
    return {"type": "AWS_PROXY", "integrationHttpMethod": "POST", "uri": lambda_uri(fn_arn)}


def url(api: str, stage: str, path: str = "") -> str:
    """The invoke URL of ``path`` on ``api``'s ``stage``."""
    return f"https://{api}.execute-api.us-east-1.amazonaws.com/{stage}{path}"


def trace(api: str) -> tuple[TraceEntry, ...]:
    """The API's trace, oldest request first."""
    return api_trace(api).entries
