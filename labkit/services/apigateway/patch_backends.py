"""What non-proxy and HTTP integrations call: Lambda, AWS services, HTTP endpoints, MOCK.

See :mod:`labkit.services.apigateway.patch_integrations` for the rules; this module makes the
calls. An AWS service integration sends the mapped body as the service's own wire request to
moto (the same path a boto3 call takes), after the policy engine has checked that the
integration's ``credentials`` role may make it.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from labkit import facts
from labkit import policy as engine
from labkit.services.apigateway import sim_query
from labkit.services.apigateway.sim_mapping import Outbound, map_request, map_response
from labkit.services.apigateway.sim_model import IntegrationSpec
from labkit.services.apigateway.sim_request import ApiRequest, IntegrationResult, Response
from labkit.services.awslambda.patch import (
    TooManyRequestsException,
    lambda_backend,
    run_invocation,
)

_LAMBDA_URI = re.compile(
    r"arn:aws[a-z-]*:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<fn>.+)/invocations"
)
_SERVICE_URI = re.compile(
    r"arn:aws[a-z-]*:apigateway:(?P<region>[^:]+):(?P<service>[^:]+):"
    r"(?P<kind>action|path)/(?P<rest>.*)"
)

#: AWS JSON-protocol services: ``X-Amz-Target`` prefix and JSON version.
JSON_SERVICES = {
    "kinesis": ("Kinesis_20131202", "1.1"),
    "dynamodb": ("DynamoDB_20120810", "1.0"),
    "firehose": ("Firehose_20150804", "1.1"),
    "events": ("AWSEvents", "1.1"),
    "states": ("AWSStepFunctions", "1.0"),
}

#: S3 path-style integrations: the action each integration verb performs on an object.
_S3_ACTIONS = {
    "GET": "GetObject",
    "HEAD": "GetObject",
    "PUT": "PutObject",
    "DELETE": "DeleteObject",
}

#: The HTTP headers API Gateway drops on the way to an HTTP backend (hop-by-hop and its own).
_DROPPED = {"host", "content-length", "connection", "x-api-key", "accept-encoding"}


def lambda_function(uri: str) -> tuple[Any, Any] | None:
    """The Lambda backend and function a ``.../functions/{arn}/invocations`` URI names."""
    fn_arn = _LAMBDA_URI.match(uri or "")
    if fn_arn is None:
        return None
    arn = fn_arn["fn"]
    parts = arn.split(":")
    if len(parts) < 7:
        return None
    lam = lambda_backend(parts[4], parts[3])
    try:
        return lam, lam.get_function(arn)
    except Exception:
        return None


def timeout_ms(integration: IntegrationSpec) -> float:
    """The integration's timeout (``timeoutInMillis``, at most 29 s by default)."""
    return float(
        integration.timeout_ms or facts.value("api_gateway.integration_timeout_max") * 1000
    )


def _error(detail: str, latency: float = 0.0) -> IntegrationResult:
    return IntegrationResult(Response.message(500, "Internal server error"), latency, detail)


def non_proxy(request: ApiRequest, integration: IntegrationSpec) -> IntegrationResult:
    """``AWS``, ``HTTP`` and ``MOCK``: map the request, call the backend, map the response."""
    outbound = map_request(request, integration)
    if outbound.refused is not None:
        return IntegrationResult(outbound.refused, 0, "no request template for the content type")
    if integration.type == "MOCK":
        return _mock(request, integration, outbound)
    if integration.type == "HTTP":
        status, headers, body, latency = _http_call(
            integration.http_method or request.http_method, outbound, request
        )
        if status is None:
            return _error(body, latency)
        response, note = map_response(request, integration, str(status), body, headers)
        return IntegrationResult(response, latency, f"HTTP {status} from {outbound.uri}; {note}")
    if _LAMBDA_URI.match(outbound.uri or ""):
        return _lambda(request, integration, outbound)
    return _service(request, integration, outbound)


def _mock(
    request: ApiRequest, integration: IntegrationSpec, outbound: Outbound
) -> IntegrationResult:
    status = "200"
    try:
        mapped = json.loads(outbound.body) if outbound.body.strip() else {}
        if isinstance(mapped, dict) and "statusCode" in mapped:
            status = str(int(mapped["statusCode"]))
    except (ValueError, TypeError):
        return _error("MOCK: the request template's output is not JSON with a statusCode")
    response, note = map_response(request, integration, status, "", {})
    return IntegrationResult(response, 0, f"MOCK statusCode {status}; {note}")


def _lambda(
    request: ApiRequest, integration: IntegrationSpec, outbound: Outbound
) -> IntegrationResult:
    found = lambda_function(outbound.uri)
    if found is None:
        return _error("no such function")
    lam, fn = found
    refused = invoke_refused(request, integration.credentials, fn)
    if refused is not None:
        return _error(refused)
    try:
        event: Any = json.loads(outbound.body) if outbound.body.strip() else {}
    except ValueError:
        event = outbound.body
    detail = f"lambda:{fn.function_name}"
    try:
        result = run_invocation(lam, fn, event, source=f"apigateway:{request.api_id}")
    except TooManyRequestsException:
        return _error(f"{detail} throttled")
    latency = float(result.duration_ms)
    if result.duration_ms > timeout_ms(integration):
        return IntegrationResult(
            Response.message(504, "Endpoint request timed out"), latency, f"{detail} timed out"
        )
    payload = (result.payload or b"null").decode("utf-8", errors="replace")
    subject = ""
    if result.function_error:
        try:
            subject = str(json.loads(payload).get("errorMessage", ""))
        except (ValueError, AttributeError):
            subject = payload
    response, note = map_response(request, integration, subject, payload, {})
    failed = f" failed ({subject!r})" if result.function_error else ""
    return IntegrationResult(response, latency, f"{detail}{failed}; {note}")


def _http_call(
    method: str, outbound: Outbound, request: ApiRequest, *, passthrough: bool = False
) -> tuple[int | None, dict[str, str], str, float]:
    """Send an HTTP integration request inside the sandbox; ``None`` status when it fails."""
    import time

    import requests

    headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED}
    if not passthrough:
        headers = {"Content-Type": request.header("Content-Type") or "application/json"}
    headers.update(outbound.headers)
    url = outbound.uri
    query = dict(parse_qsl(urlsplit(url).query))
    query.update(outbound.query)
    if passthrough:
        for k, v in request.query:
            query.setdefault(k, v)
    base = url.split("?", 1)[0]
    started = time.perf_counter()
    try:
        answer = requests.request(
            method,
            base + (f"?{urlencode(query)}" if query else ""),
            headers=headers,
            data=outbound.body.encode("utf-8") if outbound.body else None,
            timeout=timeout_ms_of(request),
        )
    except Exception as failed:  # the network guard, a refused connection, a bad URL
        return None, {}, f"HTTP call to {base} failed: {failed}", 0.0
    latency = (time.perf_counter() - started) * 1000
    return answer.status_code, dict(answer.headers), answer.text, latency


def timeout_ms_of(request: ApiRequest) -> float:
    """The request's integration timeout in seconds (for ``requests``)."""
    assert request.method is not None and request.method.integration is not None
    return timeout_ms(request.method.integration) / 1000


def http_proxy(request: ApiRequest) -> IntegrationResult:
    """``HTTP_PROXY``: the request passed through (path parameters filled into the URI), the
    backend's response passed back."""
    assert request.method is not None and request.method.integration is not None
    integration = request.method.integration
    outbound = map_request(request, integration)
    outbound.body = (
        request.body.decode("utf-8", errors="replace")
        if isinstance(request.body, bytes)
        else (request.body or "")
    )
    method = (
        request.http_method if integration.http_method in (None, "ANY") else integration.http_method
    )
    status, headers, body, latency = _http_call(method, outbound, request, passthrough=True)
    if status is None:
        return _error(body, latency)
    kept = {
        k: v
        for k, v in headers.items()
        if k.lower()
        not in ("content-length", "content-encoding", "transfer-encoding", "connection")
    }
    return IntegrationResult(
        Response(status, kept, body), latency, f"HTTP_PROXY {status} from {outbound.uri}"
    )


# --- AWS service integrations --------------------------------------------------------------------


def _service(
    request: ApiRequest, integration: IntegrationSpec, outbound: Outbound
) -> IntegrationResult:
    parsed = _SERVICE_URI.match(outbound.uri or "")
    if parsed is None:
        return _error(f"cannot read the AWS integration URI {outbound.uri!r}")
    if integration.credentials:
        untrusted = trust_refusal(integration.credentials, request.account_id)
        if untrusted is not None:
            return _error(untrusted)
    region = parsed["region"]
    service = parsed["service"].split(".")[-1]
    kind, rest = parsed["kind"], parsed["rest"]
    # A URI may carry its own query string (``sns:path//?Action=Publish``, ``action/X?...``);
    # the mapped ``integration.request.querystring`` values come on top.
    rest, _, uri_query = rest.partition("?")
    query = {**dict(parse_qsl(uri_query, keep_blank_values=True)), **outbound.query}
    body = outbound.body
    headers = dict(outbound.headers)
    path = "/"
    if sim_query.is_query_service(service, headers):
        from labkit.services.apigateway import patch_query

        if not any(k.lower() == "content-type" for k in headers):
            # Unmapped, the integration request carries the method request's content type
            # (as an HTTP integration's does): a client's form post reaches SNS as a form.
            headers["Content-Type"] = request.header("Content-Type") or "application/json"
        if kind == "action":
            query = {"Action": rest, **query}
        else:
            path = "/" + rest.lstrip("/")
        return patch_query.call(request, integration, (service, region, path), query, headers, body)
    if kind == "action":
        action = rest
        if service in JSON_SERVICES:
            target, version = JSON_SERVICES[service]
            headers.setdefault("X-Amz-Target", f"{target}.{action}")
            headers.setdefault("Content-Type", f"application/x-amz-json-{version}")
        else:
            query = {"Action": action, **query}
    else:
        path = "/" + rest.lstrip("/")
        action = dict(parse_qsl(body)).get("Action") or query.get("Action") or ""
        if not action and service == "s3":
            verb = (integration.http_method or "GET").upper()
            action = _S3_ACTIONS.get(verb, "")
    headers.setdefault("Content-Type", "application/json")
    malformed = _malformed(service, action, body) if kind == "action" else None
    if malformed is not None:
        answer = json.dumps({"__type": "SerializationException", "Message": malformed})
        response, note = map_response(request, integration, "400", answer, {})
        return IntegrationResult(
            response, 0, f"{service}:{action} answered 400: {malformed}; {note}"
        )
    denied = _role_denies(
        integration.credentials, service, action, (region, path, query), request, body
    )
    if denied is not None:
        status, answer = 400, json.dumps({"__type": "AccessDeniedException", "message": denied})
        response, note = map_response(request, integration, str(status), answer, {})
        return IntegrationResult(response, 0, f"{service}:{action} denied: {denied}; {note}")
    try:
        status, answer_headers, answer = send_raw(
            integration.http_method or "POST",
            f"https://{service}.{region}.amazonaws.com{path}",
            query,
            headers,
            body,
            signer=(integration.credentials, service, region),
        )
    except Exception as failed:  # an action moto lacks (NotSimulatedError), a malformed request
        return _error(f"{service}:{action} could not be called in the sandbox: {failed}")
    response, note = map_response(request, integration, str(status), answer, answer_headers)
    return IntegrationResult(response, 0, f"{service}:{action} answered {status}; {note}")


def _role_credentials(role_arn: str, region: str) -> Any:
    """Temporary credentials of ``role_arn``'s session for API Gateway (issued by the sandbox, so
    services that check who signed, such as S3, decide with the role's policies); one session
    per role, renewed when it expires or is gone (after a reset)."""
    from botocore.credentials import Credentials

    from labkit.sandbox import signers

    held = _SESSIONS.get(role_arn)
    if held is not None:
        probe = {"Authorization": f"AWS4-HMAC-SHA256 Credential={held.access_key_id}/"}
        found = signers.signer_of(probe)
        if found is None or found.expired:
            held = None
    if held is None:
        held = signers.issue(role_arn, "BackplaneAssumeRoleSession", 3600, {}, region=region)
        _SESSIONS[role_arn] = held
    return Credentials(held.access_key_id, held.secret_access_key, held.session_token)


#: The session API Gateway holds for each integration role (moto's session objects).
_SESSIONS: dict[str, Any] = {}


def _malformed(service: str, action: str, body: str) -> str | None:
    """Why a JSON-protocol service cannot read the mapped body (``None`` when it can).

    The service reads the body before it authorizes the call against a resource (the resource is
    named in the body), so a template whose output is not JSON, or whose Kinesis ``Data`` is not
    base64 (the API reference types it "Base64-encoded binary data object":
    https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html), is answered
    400 SerializationException. moto would store such data as it came, and a reader of the
    stream would fail later; boto3 itself can never send it, as it encodes blobs.
    """
    if service not in JSON_SERVICES:
        return None
    try:
        document = json.loads(body) if body.strip() else {}
    except ValueError as exc:
        return f"the request body is not JSON ({exc}): check the mapping template's output"
    if service != "kinesis" or not isinstance(document, dict):
        return None
    records = document.get("Records") if action == "PutRecords" else [document]
    for record in records if isinstance(records, list) else []:
        data = record.get("Data") if isinstance(record, dict) else None
        if isinstance(data, str) and not _is_base64(data):
            return (
                f"Data {data[:40]!r} is not base64: Kinesis wants the record's bytes "
                "base64-encoded ($util.base64Encode(...) in the mapping template)"
            )
    return None


def _is_base64(text: str) -> bool:
    import base64
    import binascii

    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def send_raw(
    method: str,
    url: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: str,
    *,
    signer: tuple[str | None, str, str] = (None, "", ""),
) -> tuple[int, dict[str, str], str]:
    """The service's answer to a raw wire request, from moto (as a boto3 call reaches it),
    signed as the integration's role when it has one."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from moto.core.models import botocore_stubber

    full = url + (f"?{urlencode(query)}" if query else "")
    request = AWSRequest(method=method, url=full, headers=headers, data=body.encode())
    role_arn, service, region = signer
    if role_arn:
        SigV4Auth(_role_credentials(role_arn, region), service, region).add_auth(request)
    prepared = request.prepare()
    answer = botocore_stubber.process_request(prepared)
    if answer is None:
        return 500, {}, json.dumps({"message": f"labkit does not serve {url}"})
    status, answer_headers, content = answer
    text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else str(content)
    return int(status), {str(k): str(v) for k, v in dict(answer_headers).items()}, text


def _resource_arn(
    service: str, region: str, account: str, body: str, path: str, query: dict[str, str]
) -> str:
    try:
        document = json.loads(body) if body.strip().startswith("{") else {}
    except ValueError:
        document = {}
    if service == "kinesis":
        if document.get("StreamARN"):
            return str(document["StreamARN"])
        return f"arn:aws:kinesis:{region}:{account}:stream/{document.get('StreamName', '*')}"
    if service == "dynamodb":
        return f"arn:aws:dynamodb:{region}:{account}:table/{document.get('TableName', '*')}"
    if service == "s3":
        return f"arn:aws:s3:::{path.lstrip('/')}"
    if service == "sqs":
        parts = [p for p in path.split("/") if p]
        queue_url = (
            query.get("QueueUrl")
            or str(document.get("QueueUrl") or "")
            or dict(parse_qsl(body)).get("QueueUrl", "")
        )
        if len(parts) >= 2:
            return f"arn:aws:sqs:{region}:{parts[0]}:{parts[1]}"
        if queue_url:
            bits = [p for p in urlsplit(queue_url).path.split("/") if p]
            if len(bits) >= 2:
                return f"arn:aws:sqs:{region}:{bits[0]}:{bits[1]}"
    return "*"


def trust_refusal(role_arn: str, account_id: str) -> str | None:
    """Why API Gateway cannot assume the integration's credentials role (``None`` when it can).

    The role must exist and its trust policy must let ``apigateway.amazonaws.com`` call
    ``sts:AssumeRole``; a role made for Lambda (trusting ``lambda.amazonaws.com``) is the usual
    mistake. AWS then answers the caller 500 ``Internal server error`` and logs "Execution failed
    due to configuration error: API Gateway does not have permission to assume the provided role
    {arn}" (the execution role's trust relationship: step 3 of
    https://docs.aws.amazon.com/apigateway/latest/developerguide/getting-started-aws-proxy.html).
    """
    from moto.iam.models import iam_backends

    said = (
        "Execution failed due to configuration error: API Gateway does not have permission to "
        f"assume the provided role {role_arn}"
    )
    owner = engine.arn_account(role_arn)
    role = None
    if owner in iam_backends:
        try:
            role = iam_backends[owner]["aws"].get_role_by_arn(role_arn)
        except Exception:
            role = None
    if role is None:
        return f"{said} (there is no such role)"
    request = engine.Request(
        engine.Principal.service("apigateway.amazonaws.com"),
        "sts:AssumeRole",
        role_arn,
        resource_account=owner,
        context={"aws:SourceAccount": account_id},
    )
    try:
        trust = engine.load_policy(
            role.assume_role_policy_document, name=f"trust policy of {role.name}"
        )
    except engine.PolicyError as bad:
        return f"{said} (its trust policy cannot be read: {bad})"
    decision = engine.evaluate(request, resource_policy=trust)
    if decision.allowed:
        return None
    return (
        f"{said}: its trust policy does not let apigateway.amazonaws.com assume it "
        f"({decision.reason.rstrip('.')}); add a statement with Principal "
        '{"Service": "apigateway.amazonaws.com"} and Action sts:AssumeRole'
    )


def invoke_refused(request: ApiRequest, credentials: str | None, fn: Any) -> str | None:
    """Why API Gateway may not invoke ``fn`` for ``request`` (``None`` when it may): see
    :func:`invoke_refusal`."""
    return invoke_refusal(
        fn, source_arn=request.method_arn, account_id=request.account_id, credentials=credentials
    )


def invoke_refusal(
    fn: Any, *, source_arn: str, account_id: str, credentials: str | None
) -> str | None:
    """Why API Gateway (REST, HTTP or WebSocket API) may not invoke ``fn`` for the method or
    route ``source_arn`` (``None`` when it may).

    Without ``credentials`` the function's resource policy must let ``apigateway.amazonaws.com``
    invoke it for the method's ARN (``lambda add-permission``); with a credentials role, API
    Gateway must be able to assume it (:func:`trust_refusal`) and the role's identity policies
    must allow ``lambda:InvokeFunction``. Either way AWS answers 500
    and logs "Execution failed due to configuration error: Invalid permissions on Lambda
    function".
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-integrations.html
    """
    from labkit.sandbox.signers import role_policies
    from labkit.services.awslambda.access import function_arn, invoke_decision

    if credentials:
        untrusted = trust_refusal(credentials, account_id)
        if untrusted is not None:
            return untrusted
        account = engine.arn_account(credentials) or account_id
        principal = engine.Principal.role_session(
            account, credentials.rsplit("/", 1)[-1], "BackplaneAssumeRoleSession"
        )
        decision = engine.evaluate(
            engine.Request(principal, "lambda:InvokeFunction", function_arn(fn)),
            identity_policies=role_policies(credentials),
        )
        whose = f"the integration's role {credentials}"
    else:
        decision = invoke_decision(
            fn,
            service="apigateway.amazonaws.com",
            source_arn=source_arn,
            account_id=account_id,
        )
        whose = "the function's resource policy"
    if decision.allowed:
        return None
    fix = (
        "allow lambda:InvokeFunction in its policy"
        if credentials
        else "lambda add-permission with principal apigateway.amazonaws.com and a source ARN "
        f"matching {source_arn}"
    )
    reason = decision.reason.rstrip(".")
    return (
        "Execution failed due to configuration error: Invalid permissions on Lambda function "
        f"{fn.function_name}: {whose} does not let API Gateway invoke it ({reason}; {fix})"
    )


def _role_denies(
    role_arn: str | None,
    service: str,
    action: str,
    where: tuple[str, str, dict[str, str]],
    request: ApiRequest,
    body: str,
) -> str | None:
    """Why the integration's role may not call ``service:action`` (``None`` when it may)."""
    from labkit.sandbox.signers import role_policies

    if not action:
        # A path-style call whose action labkit cannot name: the service itself decides.
        return None
    if not role_arn:
        return (
            "the integration has no credentials role, so API Gateway's call is not authorized "
            f"to perform {service}:{action}"
        )
    region, path, query = where
    account = engine.arn_account(role_arn) or request.account_id
    resource = _resource_arn(service, region, account, body, path, query)
    role_name = role_arn.rsplit("/", 1)[-1]
    principal = engine.Principal.role_session(account, role_name, "BackplaneAssumeRoleSession")
    policies = role_policies(role_arn)
    decision = engine.evaluate(
        engine.Request(principal, f"{service}:{action}", resource), identity_policies=policies
    )
    if decision.allowed:
        return None
    return (
        f"{role_arn} is not authorized to perform {service}:{action} on {resource}: "
        f"{decision.reason}"
    )
