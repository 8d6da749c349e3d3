"""Step Functions tasks reach other services through the sandbox's own boto3 clients.

A task's call is the call a learner's code would make: Lambda runs the handler in labkit's
in-process runtime (logs, concurrency, errors as Lambda reports them), SQS, SNS, DynamoDB and S3
answer from moto with labkit's patches, and every policy and every error is the service's own.
Optimized integrations take the API's parameters (``QueueUrl``, ``MessageBody``...), as boto3
does; a ``MessageBody``/``Message`` that is JSON rather than a string is sent as its JSON text,
as Step Functions does.
https://docs.aws.amazon.com/step-functions/latest/dg/connect-sqs.html
https://docs.aws.amazon.com/step-functions/latest/dg/connect-sns.html
https://docs.aws.amazon.com/step-functions/latest/dg/connect-ddb.html
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ParamValidationError

from labkit.services.stepfunctions.sim_engine import ServiceError

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: aws-sdk integration service names that boto3 spells otherwise.
_BOTO_NAMES = {"sfn": "stepfunctions", "eventbridge": "events", "cloudwatchlogs": "logs"}
_STRING_BODIES = {("sqs", "sendMessage"): "MessageBody", ("sns", "publish"): "Message"}


def _snake(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


def _plain(value: Any) -> Any:
    """A boto3 response as JSON data (dates as ISO text, bytes as base64)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


class SandboxIntegrations:
    """The engine's way out to other services: the sandbox's boto3 clients in one Region."""

    def __init__(self, sandbox: Sandbox, region: str) -> None:
        self._sandbox = sandbox
        self._region = region

    def _client(self, service: str) -> Any:
        return self._sandbox.client(service, region_name=self._region)

    def call(self, service: str, action: str, params: dict[str, Any]) -> Any:
        """Make one call; errors come back as :class:`ServiceError` with the API's code."""
        try:
            if service == "lambda" and action == "invoke":
                return self._invoke(params)
            if service == "s3" and action == "getObject":
                body = self._client("s3").get_object(**params)
                return {
                    **_plain({k: v for k, v in body.items() if k != "Body"}),
                    "Body": body["Body"].read().decode("utf-8", "replace"),
                }
            name = service.split(":", 1)[1] if service.startswith("aws-sdk:") else service
            field = _STRING_BODIES.get((name, action))
            if field and field in params and not isinstance(params[field], str):
                params = {**params, field: json.dumps(params[field], separators=(",", ":"))}
            client = self._client(_BOTO_NAMES.get(name, name))
            method = getattr(client, _snake(action), None)
            if method is None:
                raise ServiceError("UnknownOperationException", f"{name} has no action {action}")
            return _plain(method(**params))
        except ClientError as err:
            error = err.response.get("Error", {})
            raise ServiceError(
                str(error.get("Code", "ClientError")), str(error.get("Message", err))
            ) from None
        except ParamValidationError as err:
            raise ServiceError("ValidationException", str(err)) from None

    def _invoke(self, params: dict[str, Any]) -> dict[str, Any]:
        args: dict[str, Any] = {
            "FunctionName": params["FunctionName"],
            "Payload": json.dumps(params.get("Payload", {})),
        }
        for key in ("Qualifier", "InvocationType", "ClientContext", "LogType"):
            if key in params:
                args[key] = params[key]
        response = self._client("lambda").invoke(**args)
        raw = response["Payload"].read().decode("utf-8", "replace") if "Payload" in response else ""
        try:
            payload: Any = json.loads(raw) if raw else None
        except ValueError:
            payload = raw
        out: dict[str, Any] = {
            "ExecutedVersion": response.get("ExecutedVersion", "$LATEST"),
            "Payload": payload,
            "SdkHttpMetadata": {"HttpStatusCode": response.get("StatusCode", 200)},
            "SdkResponseMetadata": {
                "RequestId": response.get("ResponseMetadata", {}).get("RequestId", "")
            },
            "StatusCode": response.get("StatusCode", 200),
        }
        if response.get("FunctionError"):
            out["FunctionError"] = response["FunctionError"]
        return out
