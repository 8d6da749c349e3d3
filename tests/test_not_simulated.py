"""Operations moto does not implement: a ``NotSimulatedError`` naming them, never moto's traceback.

Audit finding 6: a missing query/JSON action raised ``NotImplementedError`` through ~19 moto
frames, a missing REST route answered ``ClientError (404) Not yet implemented`` / ``Not Found``,
and inside a check the hint said "The function is not written yet".
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.auth import BaseSigner
from botocore.exceptions import ClientError
from moto.core.botocore_stubber import BotocoreStubber
from moto.core.responses import BaseResponse

import labkit
from labkit.errors import LabkitError, NotSimulatedError
from labkit.grading import Check, CheckContext, run_check
from labkit.lab import Lab
from labkit.sandbox.unsimulated import client_name, detail_of

ARN = "arn:aws:sqs:us-east-1:123456789012:q"

# (service, operation, how a learner calls it with a client of that service)
UNSIMULATED: list[tuple[str, str, Callable[[Any], Any]]] = [
    # query protocol: moto's call_action raises NotImplementedError
    ("sqs", "ListMessageMoveTasks", lambda c: c.list_message_move_tasks(SourceArn=ARN)),
    ("sns", "GetDataProtectionPolicy", lambda c: c.get_data_protection_policy(ResourceArn=ARN)),
    # REST: no moto route, moto's fallback "404 Not yet implemented"
    ("lambda", "GetAccountSettings", lambda c: c.get_account_settings()),
    ("cloudfront", "ListCachePolicies", lambda c: c.list_cache_policies()),
]


def _no_moto_frames(exc: BaseException) -> None:
    files = [f.filename for f in traceback.extract_tb(exc.__traceback__)]
    assert not [f for f in files if "/moto/" in f], files
    assert exc.__suppress_context__ or exc.__context__ is None


@pytest.mark.parametrize(("service", "operation", "call"), UNSIMULATED)
def test_a_lab_client_gets_a_not_simulated_error(
    lab: Lab, service: str, operation: str, call: Callable[[Any], Any]
) -> None:
    with pytest.raises(NotSimulatedError) as caught:
        call(lab.client(service))
    error = caught.value
    assert isinstance(error, LabkitError)
    assert error.code == "NotSimulated"
    assert (error.service, error.operation) == (service, operation)
    assert operation in str(error)
    assert "not simulated in the lab sandbox" in str(error)
    _no_moto_frames(error)


@pytest.mark.parametrize(("service", "operation", "call"), UNSIMULATED)
def test_a_plain_boto3_client_gets_it_too(
    lab: Lab, service: str, operation: str, call: Callable[[Any], Any]
) -> None:
    with pytest.raises(NotSimulatedError) as caught:
        call(boto3.client(service, region_name="us-east-1"))
    assert (caught.value.service, caught.value.operation) == (service, operation)


def test_services_are_named_as_boto3_names_them(lab: Lab) -> None:
    client = lab.client("globalaccelerator", region_name="us-west-2")
    with pytest.raises(NotSimulatedError) as caught:
        client.list_custom_routing_accelerators()
    assert caught.value.service == "globalaccelerator"
    assert "`globalaccelerator.list_custom_routing_accelerators`" in str(caught.value)
    assert client_name("api-gateway") == "apigateway"
    assert client_name("sqs") == "sqs"


def test_a_genuine_404_from_aws_stays_an_aws_error(lab: Lab) -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="notes")
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket="notes", Key="missing.txt")
    assert caught.value.response["Error"]["Code"] == "404"


def test_moto_detail_beyond_not_implemented_is_kept() -> None:
    assert detail_of(NotImplementedError("The foo_bar action has not been implemented")) == ""
    detail = detail_of(NotImplementedError("Filter by Name is not yet implemented"))
    assert "Filter by Name" in detail


def test_a_learners_handler_raising_not_implemented_is_a_function_error(lab: Lab) -> None:
    def handler(event: Any, context: Any) -> Any:
        raise NotImplementedError("TODO")

    lab.deploy_function(handler, "todo")
    answer = lab.client("lambda").invoke(FunctionName="todo", Payload=b"{}")
    assert answer.get("FunctionError") == "Unhandled"
    assert b"NotImplementedError" in answer["Payload"].read()


def test_ipython_shows_the_message_and_the_learners_line_only(lab: Lab) -> None:
    try:
        lab.client("sqs").list_message_move_tasks(SourceArn=ARN)  # the learner's line
    except NotSimulatedError as exc:
        shown = "\n".join(exc._render_traceback_())
    assert shown.startswith("NotSimulatedError: `sqs.list_message_move_tasks`")
    assert "the learner's line" in shown
    assert "botocore" not in shown and "moto" not in shown.replace("moto:", "")


def test_stopping_the_sandbox_takes_the_patches_away() -> None:
    before = (BaseResponse.call_action, BotocoreStubber.__call__)
    lab = labkit.start(quiet=True)
    assert (BaseResponse.call_action, BotocoreStubber.__call__) != before
    lab.stop()
    assert (BaseResponse.call_action, BotocoreStubber.__call__) == before


# -- in a check: the hint names the operation, and "not written yet" only for the learner's own --

GENERAL = "Create the queue and return its URL."


def _run(lab: Lab, solve: Callable[[Any], Any]) -> Any:
    def run(ctx: CheckContext) -> None:
        ctx.call(ctx.function("solve"), ctx.client("sqs"), returns=str)

    check = Check(name="solve", title="solve() works", points=1, run=run, hint=GENERAL)
    return run_check(check, lab_id="welcome", namespace={"solve": solve}, sandbox=lab.sandbox)


def test_a_check_names_the_unsimulated_operation(lab: Lab) -> None:
    def solve(sqs: Any) -> str:
        sqs.list_message_move_tasks(SourceArn=ARN)
        return "done"

    result = _run(lab, solve)
    assert not result.passed
    assert "NotSimulatedError" in result.message
    assert "ListMessageMoveTasks" in result.hint
    assert "not written yet" not in result.hint


def test_a_rest_404_is_not_blamed_on_the_learners_parameters(lab: Lab) -> None:
    def solve(sqs: Any) -> str:
        boto3.client("lambda").get_account_settings()
        return "done"

    result = _run(lab, solve)
    assert "GetAccountSettings" in result.hint
    assert "parameter" not in result.hint


def test_the_learners_own_placeholder_gets_the_placeholder_hint(lab: Lab) -> None:
    def solve(sqs: Any) -> str:
        raise NotImplementedError

    assert "not written yet" in _run(lab, solve).hint


def test_a_librarys_not_implemented_error_is_not_called_a_placeholder(lab: Lab) -> None:
    def solve(sqs: Any) -> str:
        BaseSigner().add_auth(None)  # botocore raises NotImplementedError
        return "done"

    result = _run(lab, solve)
    assert "NotImplementedError" in result.message
    assert "not written yet" not in result.hint
    assert result.hint == GENERAL
