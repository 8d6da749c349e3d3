"""Operations moto does not implement become a :class:`NotSimulatedError`, never a moto traceback.

moto answers an operation it lacks in one of two ways, and neither teaches anything:

- a query/JSON operation of a service moto knows raises ``NotImplementedError("The x action has
  not been implemented")`` from ``BaseResponse.call_action``, and the learner gets a traceback
  through some twenty moto and botocore frames;
- a REST operation with no route (Lambda's ``GetAccountSettings``, CloudFront's
  ``ListCachePolicies``) gets moto's fallback answer ``404 "Not yet implemented"``, which botocore
  turns into ``ClientError (404) ... Not yet implemented`` or ``... Not Found``: it reads like an
  AWS error about the learner's parameters.

Two patches, installed with the sandbox, turn both into one error that names the service and the
operation. ``call_action`` is where moto gives up on an action, whatever reached it. moto's
``BotocoreStubber`` is the ``before-send`` handler that answers *every* botocore client while moto
runs: ``lab.client(...)``, a plain ``boto3.client(...)`` and resources alike. It sees the event name
(``before-send.<service>.<Operation>``), so it names the operation as botocore does, and it is
the one place that knows a 404 is moto's fallback rather than AWS's answer (S3's ``HeadObject``
on a missing key is a genuine ``404 Not Found``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.core.botocore_stubber import BotocoreStubber
from moto.core.responses import BaseResponse

from labkit.errors import NotSimulatedError

# moto's own words when it has no method for an action: nothing to add to our message.
_GENERIC = re.compile(r"^The \w+ action has not been implemented$")

# botocore's hyphenated service ids (in event names) that differ from boto3's client names.
_CLIENT_NAMES = {
    "api-gateway": "apigateway",
    "global-accelerator": "globalaccelerator",
    "dynamodb-streams": "dynamodbstreams",
    "eventbridge": "events",
    "sfn": "stepfunctions",
    "cloudwatch-logs": "logs",
    "cloudwatch-events": "events",
    "elastic-load-balancing-v2": "elbv2",
    "elastic-load-balancing": "elb",
    "cognito-identity-provider": "cognito-idp",
}


def client_name(service_id: str) -> str:
    """boto3's name for a service, from the hyphenated id in botocore's event names."""
    return _CLIENT_NAMES.get(service_id, service_id)


def detail_of(exc: NotImplementedError) -> str:
    """What moto said beyond "not implemented" (empty for its generic message)."""
    text = str(exc).strip()
    return "" if not text or _GENERIC.match(text) else f"moto: {text}"


@contextmanager
def not_simulated_errors() -> Iterator[None]:
    """Turn moto's unimplemented operations into :class:`NotSimulatedError` inside the block."""
    real_call_action = BaseResponse.call_action
    real_stub_call = BotocoreStubber.__call__

    def call_action(self: BaseResponse) -> Any:
        try:
            return real_call_action(self)
        except NotImplementedError as exc:
            try:
                operation = str(self._get_action())
            except Exception:  # an action moto cannot even name
                operation = "?"
            raise NotSimulatedError(self.boto3_service_name, operation, detail_of(exc)) from None

    def stub_call(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        _, _, rest = event_name.partition(".")
        service_id, _, operation = rest.partition(".")
        service = client_name(service_id)
        try:
            response = real_stub_call(self, event_name, request, **kwargs)
        except NotSimulatedError as exc:
            # Named again as botocore names it: what the learner called.
            raise NotSimulatedError(service, operation or exc.operation, exc.detail) from None
        except NotImplementedError as exc:  # raised by a moto model outside call_action
            raise NotSimulatedError(service, operation, detail_of(exc)) from None
        if _is_moto_fallback(response):
            raise NotSimulatedError(service, operation)
        return response

    BaseResponse.call_action = call_action  # type: ignore[method-assign]
    BotocoreStubber.__call__ = stub_call  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseResponse.call_action = real_call_action  # type: ignore[method-assign]
        BotocoreStubber.__call__ = real_stub_call  # type: ignore[method-assign]


def _is_moto_fallback(response: Any) -> bool:
    """Whether ``response`` is moto's "no route for this URL" answer (404, no headers)."""
    if response is None or getattr(response, "status_code", None) != 404:
        return False
    if response.headers:
        return False
    return bool(response.content == b"Not yet implemented")
