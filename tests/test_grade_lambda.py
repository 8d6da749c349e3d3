"""labkit grade on the Lambda lab: sample submissions, the solution and the exercise.

Each sample in tests/submissions/lambda/ is a jupytext percent file of a notebook a learner
might hand in; it is graded in a fresh kernel, as `labkit grade` does. The checks deploy the
learner's handlers through labkit's Lambda runtime and trigger them (an SQS mapping, an S3
upload, an HTTP request to API Gateway), so these tests also show that correct alternatives pass
and plausible mistakes fail with the hint that names them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from grading_support import grade_samples, said, statuses

from labkit.grading.notebook import Submission
from labkit.labs import catalog
from labkit.labs.lambda_lab import BAD_BODIES, batch_response_problem
from labkit.services.awslambda.deploy import notebook_dependencies

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).resolve().parent / "submissions" / "lambda"
CHECKS = ["order_processor", "queue_trigger", "upload_metadata", "orders_api"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


def test_the_lab_is_registered_after_the_labs_before_it() -> None:
    labs = list(catalog())
    before = [lab for lab in ("welcome", "decoupling", "streaming", "edge") if lab in labs]
    assert all(labs.index("lambda") > labs.index(lab) for lab in before)
    assert [c.name for c in catalog()["lambda"].checks] == CHECKS


def test_a_correct_alternative_passes_every_check(graded: dict[str, Submission]) -> None:
    sub = graded["passing_alternative"]
    assert sub.error is None and not sub.notes, sub.text()
    assert statuses(sub) == dict.fromkeys(CHECKS, "passed"), sub.text()
    assert sub.score == sub.max_score == 9


@pytest.mark.parametrize("sample", ["alias_and_client", "arn_and_resource"])
def test_more_correct_alternatives_pass_every_check(
    graded: dict[str, Submission], sample: str
) -> None:
    """Low-level DynamoDB types or the Table resource and its batch writer; the mapping made on
    an alias through a partial ARN, or with the full ARN and its response types set afterwards;
    other batch sizes and a batching window."""
    sub = graded[sample]
    assert sub.error is None and not sub.notes, sub.text()
    assert statuses(sub) == dict.fromkeys(CHECKS, "passed"), sub.text()


def test_conversions_and_arns_where_names_are_asked(graded: dict[str, Submission]) -> None:
    sub = graded["converts_and_arns"]
    assert sub.error is None and not sub.notes, sub.text()
    assert set(statuses(sub).values()) == {"failed"}, sub.text()
    processor = said(sub, "order_processor")
    assert "did not report" in processor and "`qty` a string" in processor
    assert "`id` a number" in processor and "whole-number `qty`" in processor
    trigger = said(sub, "queue_trigger")
    assert "the mapping's ARN, not its UUID" in trigger and 'response["UUID"]' in trigger
    upload = said(sub, "upload_metadata")
    assert "bucket's ARN" in upload and "['name']" in upload
    api = said(sub, "orders_api")
    assert "404" in api and "not a JSON object" in api


def test_raising_no_response_types_encoded_keys_and_dict_bodies(
    graded: dict[str, Submission],
) -> None:
    sub = graded["raises_on_bad"]
    assert sub.error is None and not sub.notes, sub.text()
    assert set(statuses(sub).values()) == {"failed"}
    processor = said(sub, "order_processor")
    assert "JSONDecodeError" in processor and "WHOLE batch" in processor
    assert "batchItemFailures" in processor
    assert "FunctionResponseTypes=['ReportBatchItemFailures']" in said(sub, "queue_trigger")
    upload = said(sub, "upload_metadata")
    assert "'holiday+photos/beach+day.jpg'" in upload and "unquote_plus" in upload
    api = said(sub, "orders_api")
    assert "502" in api and "body" in api and "json.dumps" in api


def test_wrong_shapes_are_named(graded: dict[str, Submission]) -> None:
    sub = graded["wrong_shapes"]
    assert set(statuses(sub).values()) == {"failed"}
    processor = said(sub, "order_processor")
    assert "str values" in processor and '{"itemIdentifier": record["messageId"]}' in processor
    assert 'response["UUID"]' in said(sub, "queue_trigger")
    upload = said(sub, "upload_metadata")
    assert "`unquote`" in upload and "unquote_plus" in upload
    api = said(sub, "orders_api")
    assert "o-404" in api and "answered 200" in api and "404" in api


def test_identifiers_and_types(graded: dict[str, Submission]) -> None:
    sub = graded["ids_and_types"]
    assert statuses(sub) == {
        "order_processor": "failed",
        "queue_trigger": "passed",
        "upload_metadata": "failed",
        "orders_api": "failed",
    }
    assert "receiptHandle" in said(sub, "order_processor")
    assert "not a number" in said(sub, "upload_metadata")
    api = said(sub, "orders_api")
    assert "Decimal" in api and "default=" in api
    assert sub.score == 1


def test_handlers_that_lean_on_the_notebook(graded: dict[str, Submission]) -> None:
    sub = graded["notebook_state"]
    assert set(statuses(sub).values()) == {"failed"}
    processor = said(sub, "order_processor")
    assert '"qty": 0' in processor and "at least 1" in processor
    assert "Disabled" in said(sub, "queue_trigger")
    upload = said(sub, "upload_metadata")
    assert "`uploads_table`" in upload and "cannot be packaged" in upload
    assert "pathParameters" in said(sub, "orders_api")


# -- the pieces, without a kernel --------------------------------------------------------------
IDS = {"m-1": '{"id": "o-1", "qty": 1}', "m-2": "this is not JSON", "m-3": '{"qty": 1}'}
BAD = {"m-2", "m-3"}


@pytest.mark.parametrize(
    ("response", "says"),
    [
        (None, "Without `batchItemFailures`"),
        ({"batchitemfailures": []}, "`batchitemfailures`"),
        ({"batchItemFailures": []}, "reported no failure"),
        ({"batchItemFailures": "m-2"}, "not a list"),
        ({"batchItemFailures": ["m-2", "m-3"]}, "str values"),
        ({"batchItemFailures": [{"messageId": "m-2"}]}, "without the key `itemIdentifier`"),
        ({"batchItemFailures": [{"itemIdentifier": "this is not JSON"}]}, "message's body"),
        ({"batchItemFailures": [{"itemIdentifier": "AQEB" + "x" * 80}]}, "receiptHandle"),
        ({"batchItemFailures": [{"itemIdentifier": "m-2"}]}, "did not report"),
        (
            {"batchItemFailures": [{"itemIdentifier": i} for i in ("m-1", "m-2", "m-3")]},
            "reported good orders as failed",
        ),
    ],
)
def test_each_wrong_partial_batch_response_is_named(response: object, says: str) -> None:
    problem = batch_response_problem(response, IDS, BAD)
    assert problem is not None and says in problem[0], problem


def test_a_right_partial_batch_response_has_no_problem() -> None:
    right = {"batchItemFailures": [{"itemIdentifier": "m-3"}, {"itemIdentifier": "m-2"}]}
    assert batch_response_problem(right, IDS, BAD) is None
    assert len(set(BAD_BODIES.values())) == len(BAD_BODIES)  # each bad body has its own reason


LIMIT = 3
SETTINGS = {"retries": 2}


def _helper(value):  # type: ignore[no-untyped-def]
    return value * LIMIT


def _handler(event, context):  # type: ignore[no-untyped-def]
    return json.dumps([_helper(event["n"]), SETTINGS, Path("x").name])


def test_dependencies_become_helpers_constants_and_imports() -> None:
    imports, helpers, constants = notebook_dependencies(_handler)
    assert imports == ["from pathlib import Path as Path"]
    assert helpers == [_helper]
    assert constants == {"LIMIT": 3, "SETTINGS": {"retries": 2}}


# -- a check run directly, without a kernel ----------------------------------------------------
def spinning_get_order(event, context):  # type: ignore[no-untyped-def]
    while True:
        pass


def test_a_handler_that_never_returns_fails_with_a_hint() -> None:
    import labkit

    lab = labkit.start("lambda", quiet=True)
    try:
        result = lab.check("orders_api", namespace={"get_order": spinning_get_order})
    finally:
        lab.stop()
    assert result.status == "failed", result.text()
    assert "timed out" in result.message and "loop" in result.hint


def compares_a_string_qty(event, context):  # type: ignore[no-untyped-def]
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    failures = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"])
            if order["qty"] < 1:
                raise ValueError("qty")
            table.put_item(Item={"id": order["id"], "item": order["item"], "qty": order["qty"]})
        except (ValueError, KeyError):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def writes_a_numeric_id(event, context):  # type: ignore[no-untyped-def]
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    failures = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"])
            if not isinstance(order["qty"], int) or order["qty"] < 1:
                raise ValueError("qty")
            table.put_item(Item={"id": order["id"], "item": order["item"], "qty": order["qty"]})
        except (ValueError, KeyError):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


@pytest.mark.parametrize(
    ("handler", "says", "hint"),
    [
        (compares_a_string_qty, "TypeError", '`"qty": "2"` (a string)'),
        (writes_a_numeric_id, "Type mismatch", "`id` is not a string"),
    ],
)
def test_a_handler_that_raises_on_a_wrong_type_is_told_which(
    handler: Any, says: str, hint: str
) -> None:
    import labkit

    lab = labkit.start("lambda", quiet=True)
    try:
        result = lab.check("order_processor", namespace={"process_orders": handler})
    finally:
        lab.stop()
    assert result.status == "failed", result.text()
    assert "WHOLE batch" in result.message and says in result.message
    assert hint in result.hint
