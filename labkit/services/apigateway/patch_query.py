"""AWS service integrations to query-protocol services (SNS, SQS's query form): the call made.

:mod:`labkit.services.apigateway.sim_query` says what the service reads and how it answers; this
module makes the call as API Gateway does:

1. the service refuses what it cannot read (no ``Action``, an unknown one, a required parameter
   missing: SNS's ``InvalidParameter`` "TopicArn or TargetArn ...") before anything else;
2. the integration's ``credentials`` role is asked about the real resource (the topic ARN from
   the query string or the form body; the queue from the path or ``QueueUrl``), with the
   resource's own policy (the topic's or the queue's): a role allowed ``sns:Publish`` on another
   topic, or a topic in another account whose policy does not let this one in, is refused with
   the service's own error (SNS: 403 ``AuthorizationError``) and the trace says why;
3. the request reaches moto in the service's wire form (the parameters as a form body; moto's
   JSON rendering asked for, as API Gateway's ``Accept: application/json`` gets from AWS).

moto answers ``Publish`` to a topic it does not hold with "Endpoint does not exist"; SNS says
``NotFound`` "Topic does not exist", so that answer is given here first.
https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
"""

from __future__ import annotations

import json
from typing import Any

from labkit import policy as engine
from labkit.services.apigateway import sim_query
from labkit.services.apigateway.sim_mapping import map_response
from labkit.services.apigateway.sim_model import IntegrationSpec
from labkit.services.apigateway.sim_query import QueryCall
from labkit.services.apigateway.sim_request import ApiRequest, IntegrationResult, Response


def call(
    request: ApiRequest,
    integration: IntegrationSpec,
    target: tuple[str, str, str],
    query: dict[str, str],
    headers: dict[str, str],
    body: str,
) -> IntegrationResult:
    """Call the query-protocol service ``target`` = ``(service, region, path)``."""
    from labkit.services.apigateway.patch_backends import send_raw

    service, region, path = target
    wire = sim_query.read(service, query, headers, body)
    label = f"{service}:{wire.action or '?'}"
    ignored = f" ({wire.ignored})" if wire.ignored else ""
    refused = sim_query.invalid(wire, path=path)
    if refused is not None:
        status, code, message = refused
        return _answer(request, integration, status, code, message, f"{label}{ignored}")
    account = engine.arn_account(integration.credentials or "") or request.account_id
    resource = sim_query.resource_arn(wire, region, account, path)
    denied = _refusal(integration.credentials, wire, resource, account)
    if denied is not None:
        message, why = denied
        code, status = sim_query.denied(service)
        return _answer(request, integration, status, code, message, f"{label} denied: {why}")
    missing = _missing_topic(wire, resource)
    if missing is not None:
        return _answer(request, integration, 404, "NotFound", missing, label)
    send_headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    send_headers["Content-Type"] = sim_query.FORM
    send_headers["Accept"] = "application/json"
    try:
        status, answer_headers, answer = send_raw(
            integration.http_method or "POST",
            f"https://{service}.{region}.amazonaws.com{path}",
            # ContentType=JSON: moto's switch for the JSON rendering AWS gives to
            # Accept: application/json (moto reads it where it reads the parameters: the form
            # body when there is one, else the query string).
            {**wire.query, "ContentType": "JSON"},
            send_headers,
            _form({**wire.form, "ContentType": "JSON"} if wire.form else {}),
            signer=(integration.credentials, service, region),
        )
    except Exception as failed:  # an action moto lacks (NotSimulatedError), a malformed request
        return IntegrationResult(
            Response.message(500, "Internal server error"),
            0,
            f"{label} could not be called in the sandbox: {failed}",
        )
    response, note = map_response(request, integration, str(status), answer, answer_headers)
    # An ignored body is worth saying only when the call failed: with the parameters in the
    # query string, a body passed through is ignored harmlessly.
    said = ignored if status >= 400 else ""
    return IntegrationResult(response, 0, f"{label} answered {status}{said}; {note}")


def _answer(
    request: ApiRequest,
    integration: IntegrationSpec,
    status: int,
    code: str,
    message: str,
    label: str,
) -> IntegrationResult:
    """The service's error answer, through the integration responses (a default response
    passes it on as 200, as AWS does)."""
    body = sim_query.error_body(code, message, status)
    response, note = map_response(request, integration, str(status), body, {})
    return IntegrationResult(response, 0, f"{label} answered {status} {code}: {message}; {note}")


def _form(params: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def _refusal(
    role_arn: str | None, wire: QueryCall, resource: str, account: str
) -> tuple[str, str] | None:
    """``(the service's message, the engine's reason)`` when the integration's role may not
    make the call, else ``None``."""
    from labkit.sandbox.signers import role_policies

    action = f"{wire.service}:{wire.action}"
    if not role_arn:
        message = (
            "The integration has no credentials role, so API Gateway's call is not authorized "
            f"to perform: {action}"
        )
        return message, "the integration has no credentials role"
    role_name = role_arn.rsplit("/", 1)[-1]
    principal = engine.Principal.role_session(account, role_name, "BackplaneAssumeRoleSession")
    owner = engine.arn_account(resource) if resource != "*" else ""
    document = _resource_policy(wire.service, resource) if owner else None
    decision = engine.evaluate(
        engine.Request(principal, action, resource, resource_account=owner or account),
        identity_policies=role_policies(role_arn),
        resource_policy=engine.load_policy(document, name="the resource's policy")
        if document
        else None,
    )
    if decision.allowed:
        return None
    why = (
        "with an explicit deny"
        if decision.kind == "explicit-deny"
        else f"because no identity-based policy allows the {action} action"
    )
    if owner and owner != account and decision.kind != "explicit-deny":
        why = f"because the resource's policy does not let account {account} in"
    message = (
        f"User: {principal.arn} is not authorized to perform: {action} on resource: "
        f"{resource} {why}"
    )
    return message, f"{role_arn} may not perform {action} on {resource}: {decision.reason}"


def _resource_policy(service: str, arn: str) -> Any:
    """The topic's or queue's own policy document (``None`` when it has none or is unknown)."""
    found = _resource(service, arn)
    if found is None:
        return None
    policy = getattr(found, "policy", None)
    if isinstance(policy, str):
        try:
            return json.loads(policy) if policy else None
        except ValueError:
            return None
    return policy


def _resource(service: str, arn: str) -> Any:
    """moto's topic or queue named by ``arn`` (``None`` when there is none; nothing created)."""
    from labkit.sandbox.backends import existing_in

    parts = arn.split(":")
    if len(parts) < 6:
        return None
    region, account, name = parts[3], parts[4], parts[5]
    for backend in existing_in(service, account, region):
        if service == "sns":
            return backend.topics.get(arn)
        if service == "sqs":
            return backend.queues.get(name)
    return None


def _missing_topic(wire: QueryCall, resource: str) -> str | None:
    """SNS's message for a ``Publish`` to a topic that does not exist (``None`` when it does,
    or the call is another)."""
    if wire.service != "sns" or wire.action != "Publish" or not wire.params.get("TopicArn"):
        return None
    if resource == "*" or _resource("sns", resource) is not None:
        return None
    return "Topic does not exist"
