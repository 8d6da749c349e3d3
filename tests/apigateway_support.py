"""Helpers for the API Gateway tests: a REST API with one method, invoke URLs, the trace."""

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
    if stage is not None:
        apig.create_deployment(restApiId=api, stageName=stage)
    return api, str(parent)


def proxy(fn_arn: str) -> dict[str, Any]:
    """``put_integration`` arguments of a Lambda proxy integration."""
    return {"type": "AWS_PROXY", "integrationHttpMethod": "POST", "uri": lambda_uri(fn_arn)}


def url(api: str, stage: str, path: str = "") -> str:
    """The invoke URL of ``path`` on ``api``'s ``stage``."""
    return f"https://{api}.execute-api.us-east-1.amazonaws.com/{stage}{path}"


def trace(api: str) -> tuple[TraceEntry, ...]:
    """The API's trace, oldest request first."""
    return api_trace(api).entries
