"""AWS service integrations to query-protocol services (SNS, SQS's query form, STS, ...): what
the service reads from API Gateway's integration request, and how it answers.

A query-protocol service reads its parameters (``Action``, ``TopicArn``, ``Message``, ...) from
the URL's query string and from a body of type ``application/x-www-form-urlencoded``; nothing
else. So an integration either names the action in its URI
(``arn:aws:apigateway:{region}:sns:action/Publish``: API Gateway calls
``https://sns.{region}.amazonaws.com/?Action=Publish``) and maps the other parameters with
``integration.request.querystring.X``, or overrides the path (``sns:path//``) and builds a form
body in a mapping template (``Action=Publish&TopicArn=$util.urlEncode(...)&Message=...``) with
the ``integration.request.header.Content-Type`` mapped to ``'application/x-www-form-urlencoded'``.
Unmapped, the integration request keeps the method request's content type, ``application/json``
for a JSON client: the service ignores such a body, and answers as if those parameters were
missing (SNS: 400 ``InvalidParameter`` "TopicArn or TargetArn Reason: no value for required
parameter", the answer people meet when a template posts JSON or the header mapping is
forgotten).
https://repost.aws/knowledge-center/api-gateway-proxy-integrate-service,
https://serverlessland.com/snippets/apigateway-sns-integration-mapping-template,
https://docs.aws.amazon.com/apigateway/latest/developerguide/getting-started-aws-proxy.html

API Gateway asks for JSON (``Accept: application/json``), so the service answers in the query
protocol's JSON form: ``{"PublishResponse": {"PublishResult": {"MessageId": ...},
"ResponseMetadata": {...}}}``, and errors as ``{"Error": {"Code", "Message", "Type"},
"RequestId"}`` (the getting-started tutorial above shows SNS's ``ListTopicsResponse`` so).

Plain Python: no moto, no Jupyter (botocore's service models say which parameters are required).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FORM = "application/x-www-form-urlencoded"

#: The error code and HTTP status each service answers a refused call with (SNS's
#: ``AuthorizationError``, 403: https://docs.aws.amazon.com/sns/latest/api/API_Publish.html;
#: SQS's ``AccessDenied``, 403, its query API's common error).
DENIED = {"sns": ("AuthorizationError", 403), "sqs": ("AccessDenied", 403)}

#: SNS ``Publish`` names its target one of three ways; with none, SNS answers this
#: (the message real SNS gives an integration that sent no ``TopicArn``).
_NO_TARGET = "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"


@dataclass
class QueryCall:
    """The request a query-protocol service reads from an integration request.

    Attributes:
        service: The service's endpoint prefix (``sns``, ``sqs``).
        params: Every parameter it reads (query string, then a form body's).
        query: The query string parameters (sent as they came).
        form: The form body's parameters (empty when the body is not a form).
        ignored: Why the body was not read (empty when it was, or there was none).
    """

    service: str
    params: dict[str, str]
    query: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    ignored: str = ""

    @property
    def action(self) -> str:
        """The ``Action`` parameter ("" when none)."""
        return self.params.get("Action", "")


def is_query_service(service: str, headers: dict[str, str]) -> bool:
    """Whether ``service`` is called in the query protocol: SNS and the other query services,
    and SQS unless the integration sends its JSON protocol's ``X-Amz-Target``."""
    if service == "sqs":
        return not any(k.lower() == "x-amz-target" for k in headers)
    model = _model(service)
    return model is not None and model.protocol == "query"


def read(service: str, query: dict[str, str], headers: dict[str, str], body: str) -> QueryCall:
    """What ``service`` reads from the integration request (``query`` already holds the URI's
    own query string and the mapped ``integration.request.querystring`` values)."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    content_type = content_type or "application/json"
    call = QueryCall(service, dict(query), dict(query))
    if not body.strip():
        return call
    if content_type.split(";")[0].strip().lower() == FORM:
        call.form = dict(parse_qsl(body.strip(), keep_blank_values=True))
        call.params.update(call.form)
    else:
        call.ignored = (
            f"the body was sent as {content_type}, which {service.upper()} does not read "
            "(it reads the query string and an application/x-www-form-urlencoded body): map "
            "integration.request.header.Content-Type to 'application/x-www-form-urlencoded' "
            "and build Action=...&Name=$util.urlEncode(...) in the template"
        )
    return call


def invalid(call: QueryCall, *, path: str = "/") -> tuple[int, str, str] | None:
    """``(status, code, message)`` when the service refuses the request before it reads any
    resource (no action, an unknown one, a required parameter missing), else ``None``."""
    action = call.action
    if not action:
        return 400, "MissingAction", "The request must contain the parameter Action."
    model = _model(call.service)
    if model is None:
        return None
    if action not in model.operation_names:
        return (
            400,
            "InvalidAction",
            f"Could not find operation {action} for version {model.api_version}",
        )
    targets = ("TopicArn", "TargetArn", "PhoneNumber")
    if (call.service, action) == ("sns", "Publish") and not any(
        call.params.get(k) for k in targets
    ):
        return 400, "InvalidParameter", _NO_TARGET
    shape = model.operation_model(action).input_shape
    for name in getattr(shape, "required_members", ()) if shape is not None else ():
        if name == "QueueUrl" and call.service == "sqs" and len(_parts(path)) >= 2:
            continue  # a path-style SQS call names its queue in the path
        if not any(k == name or k.startswith(f"{name}.") for k in call.params):
            field_name = name[0].lower() + name[1:]
            return (
                400,
                "ValidationError",
                f"1 validation error detected: Value null at '{field_name}' failed to satisfy "
                "constraint: Member must not be null",
            )
    return None


def resource_arn(call: QueryCall, region: str, account: str, path: str) -> str:
    """The ARN of the resource the call acts on, as IAM reads it (``*`` when it names none)."""
    if call.service == "sns":
        target = call.params.get("TopicArn") or call.params.get("TargetArn") or ""
        return target if target.startswith("arn:") else "*"
    if call.service == "sqs":
        parts = _parts(path)
        if len(parts) >= 2:
            return f"arn:aws:sqs:{region}:{parts[0]}:{parts[1]}"
        bits = _parts(urlsplit(call.params.get("QueueUrl", "")).path)
        if len(bits) >= 2:
            return f"arn:aws:sqs:{region}:{bits[0]}:{bits[1]}"
    return "*"


def error_body(code: str, message: str, status: int) -> str:
    """The query protocol's JSON error (what the service sends to ``Accept: application/json``)."""
    kind = "Receiver" if status >= 500 else "Sender"
    return json.dumps(
        {"Error": {"Code": code, "Message": message, "Type": kind}, "RequestId": str(uuid.uuid4())}
    )


def denied(service: str) -> tuple[str, int]:
    """The error code and status ``service`` answers a refused call with."""
    return DENIED.get(service, ("AccessDenied", 403))


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


@cache
def _model(service: str) -> Any:
    """botocore's model of ``service`` (``None`` when botocore has none by that name)."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    try:
        return botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:
        return None
