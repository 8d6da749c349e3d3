"""Every spelling of ``FunctionName`` that Lambda accepts names the same function.

A function can be given as its name, its ARN or a partial ARN (``123456789012:function:fn``),
and most operations take a version or alias appended (``fn:live``, ``<arn>:live``, ``<arn>:1``).
Each operation the course uses is called with every spelling and must answer as it does for the
short spelling (``fn`` or ``fn:live``); operations that take no qualifier refuse a qualified
spelling (https://docs.aws.amazon.com/lambda/latest/api/ "Name formats" per operation), and an
unknown function is Lambda's ``ResourceNotFoundException`` ("Function not found: <ARN>").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import pytest
from botocore.exceptions import ClientError
from lambda_support import create, zip_of

import labkit
from labkit.services.awslambda.state import function_name_in, split_function

ACCOUNT = "123456789012"
ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn"
PARTIAL = f"{ACCOUNT}:function:fn"
SOURCE = "def lambda_handler(event, context):\n    return {'arn': context.invoked_function_arn}\n"

#: Unqualified spellings and the short spelling each must answer like.
UNQUALIFIED = {"name": "fn", "arn": ARN, "partial arn": PARTIAL}
#: Qualified spellings (an alias, a version) and their short spelling.
QUALIFIED = {
    "name:alias": "fn:live",
    "arn:alias": f"{ARN}:live",
    "partial:alias": f"{PARTIAL}:live",
    "arn:version": f"{ARN}:1",
}
SHORT = {**{k: "fn" for k in UNQUALIFIED}, "arn:version": "fn:1"} | {
    k: "fn:live" for k in ("name:alias", "arn:alias", "partial:alias")
}
ALL = {**UNQUALIFIED, **QUALIFIED}
ids = count()


@pytest.fixture
def lab() -> Iterator[Any]:
    """A sandbox with the function ``fn``, its version 1 and the alias ``live`` on it (a fresh
    one per test: the suite stops any sandbox a test leaves running)."""
    lab = labkit.start(quiet=True)
    try:
        create(lab, "fn", SOURCE)
        lam = lab.client("lambda")
        lam.publish_version(FunctionName="fn")
        lam.create_alias(FunctionName="fn", Name="live", FunctionVersion="1")
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def queue_arn(lab: Any) -> str:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="spellings")["QueueUrl"]
    return str(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    )


def error_of(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def arn_of(short: str) -> str:
    name, _, qualifier = short.partition(":")
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}" + (
        f":{qualifier}" if qualifier else ""
    )


# -- the parser ------------------------------------------------------------------------------
@pytest.mark.parametrize("label", list(ALL))
def test_every_spelling_parses_to_the_function(label: str) -> None:
    ref = split_function(ALL[label])
    assert ref is not None and ref.short == SHORT[label]
    assert function_name_in(ALL[label]) == "fn"


@pytest.mark.parametrize("spelling", ["", "function:fn", "a b", "fn:live:extra", "arn:aws:s3:::b"])
def test_spellings_lambda_refuses_do_not_parse(spelling: str) -> None:
    assert split_function(spelling) is None


# -- operations that take every spelling ---------------------------------------------------------
@pytest.mark.parametrize("label", list(ALL))
def test_invoke_runs_the_function_it_names(lab: Any, label: str) -> None:
    reply = lab.client("lambda").invoke(FunctionName=ALL[label], Payload=b"{}")
    assert json.loads(reply["Payload"].read())["arn"] == arn_of(SHORT[label])


@pytest.mark.parametrize("label", list(ALL))
def test_get_function_and_its_configuration(lab: Any, label: str) -> None:
    lam = lab.client("lambda")
    want = lam.get_function(FunctionName=SHORT[label])["Configuration"]
    got = lam.get_function(FunctionName=ALL[label])["Configuration"]
    assert (got["FunctionArn"], got["Version"]) == (want["FunctionArn"], want["Version"])
    config = lam.get_function_configuration(FunctionName=ALL[label])
    assert (config["FunctionArn"], config["Version"]) == (want["FunctionArn"], want["Version"])


@pytest.mark.parametrize("label", list(ALL))
def test_permissions_are_added_read_and_removed(lab: Any, label: str) -> None:
    lam = lab.client("lambda")
    sid = f"s{next(ids)}"
    added = lam.add_permission(
        FunctionName=ALL[label],
        StatementId=sid,
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
    )
    assert json.loads(added["Statement"])["Resource"] == arn_of(SHORT[label])
    for spelling in (ALL[label], SHORT[label]):
        policy = json.loads(lam.get_policy(FunctionName=spelling)["Policy"])
        assert sid in [s["Sid"] for s in policy["Statement"]]
    lam.remove_permission(FunctionName=ALL[label], StatementId=sid)
    try:
        left = json.loads(lam.get_policy(FunctionName=SHORT[label])["Policy"])["Statement"]
    except lam.exceptions.ResourceNotFoundException:
        left = []
    assert sid not in [s["Sid"] for s in left]


@pytest.mark.parametrize("label", list(ALL))
def test_event_source_mappings_by_any_spelling(lab: Any, queue_arn: str, label: str) -> None:
    lam = lab.client("lambda")
    uuid = lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=ALL[label])[
        "UUID"
    ]
    try:
        # Through an alias the mapping reports the alias ARN, as Lambda does.
        assert lam.get_event_source_mapping(UUID=uuid)["FunctionArn"] == arn_of(SHORT[label])
        family = UNQUALIFIED if label in UNQUALIFIED else {label: ALL[label]}
        if label.endswith("alias"):
            family = {k: QUALIFIED[k] for k in ("name:alias", "arn:alias", "partial:alias")}
        for spelling in family.values():
            listed = lam.list_event_source_mappings(FunctionName=spelling)["EventSourceMappings"]
            assert [m["UUID"] for m in listed] == [uuid], spelling
        updated = lam.update_event_source_mapping(UUID=uuid, FunctionName=ALL[label], BatchSize=5)
        assert (updated["FunctionArn"], updated["BatchSize"]) == (arn_of(SHORT[label]), 5)
    finally:
        lam.delete_event_source_mapping(UUID=uuid)


@pytest.mark.parametrize("label", list(ALL))
def test_event_invoke_config_by_any_spelling(lab: Any, label: str) -> None:
    lam = lab.client("lambda")
    put = lam.put_function_event_invoke_config(FunctionName=ALL[label], MaximumRetryAttempts=1)
    want = lam.get_function_event_invoke_config(FunctionName=SHORT[label])
    assert put["FunctionArn"] == want["FunctionArn"]
    assert (
        lam.get_function_event_invoke_config(FunctionName=ALL[label])["FunctionArn"]
        == (want["FunctionArn"])
    )
    lam.update_function_event_invoke_config(FunctionName=ALL[label], MaximumRetryAttempts=0)
    got = lam.get_function_event_invoke_config(FunctionName=SHORT[label])
    assert got["MaximumRetryAttempts"] == 0
    lam.delete_function_event_invoke_config(FunctionName=ALL[label])
    code, _ = error_of(lambda: lam.get_function_event_invoke_config(FunctionName=SHORT[label]))
    assert code == "ResourceNotFoundException"


# -- operations that take the function unqualified ----------------------------------------------
@pytest.mark.parametrize("label", list(UNQUALIFIED))
def test_unqualified_operations_take_name_arn_and_partial_arn(lab: Any, label: str) -> None:
    lam = lab.client("lambda")
    spelling = ALL[label]
    text = f"set through {label}"
    lam.update_function_configuration(FunctionName=spelling, Description=text)
    assert lam.get_function_configuration(FunctionName="fn")["Description"] == text
    code = lam.update_function_code(FunctionName=spelling, ZipFile=zip_of(SOURCE))
    assert code["FunctionName"] == "fn"
    lam.put_function_concurrency(FunctionName=spelling, ReservedConcurrentExecutions=7)
    assert lam.get_function_concurrency(FunctionName=spelling)["ReservedConcurrentExecutions"] == 7
    assert lam.get_function_concurrency(FunctionName="fn")["ReservedConcurrentExecutions"] == 7
    lam.delete_function_concurrency(FunctionName=spelling)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="fn")
    version = lam.publish_version(FunctionName=spelling)["Version"]
    versions = [
        v["Version"] for v in lam.list_versions_by_function(FunctionName=spelling)["Versions"]
    ]
    assert versions == [
        v["Version"] for v in lam.list_versions_by_function(FunctionName="fn")["Versions"]
    ]
    assert version in versions and "$LATEST" in versions
    alias = f"a{next(ids)}"
    made = lam.create_alias(FunctionName=spelling, Name=alias, FunctionVersion="1")
    assert made["AliasArn"] == f"{ARN}:{alias}"
    assert lam.get_alias(FunctionName=spelling, Name=alias)["FunctionVersion"] == "1"
    names = [a["Name"] for a in lam.list_aliases(FunctionName=spelling)["Aliases"]]
    assert names == [a["Name"] for a in lam.list_aliases(FunctionName="fn")["Aliases"]]
    assert alias in names
    lam.update_alias(FunctionName=spelling, Name=alias, FunctionVersion=version)
    assert lam.get_alias(FunctionName="fn", Name=alias)["FunctionVersion"] == version
    lam.delete_alias(FunctionName=spelling, Name=alias)
    assert alias not in [a["Name"] for a in lam.list_aliases(FunctionName="fn")["Aliases"]]


UNQUALIFIED_ONLY: dict[str, Callable[[Any, str], Any]] = {
    "PublishVersion": lambda lam, f: lam.publish_version(FunctionName=f),
    "ListVersionsByFunction": lambda lam, f: lam.list_versions_by_function(FunctionName=f),
    "ListAliases": lambda lam, f: lam.list_aliases(FunctionName=f),
    "GetAlias": lambda lam, f: lam.get_alias(FunctionName=f, Name="live"),
    "PutFunctionConcurrency": lambda lam, f: lam.put_function_concurrency(
        FunctionName=f, ReservedConcurrentExecutions=1
    ),
    "UpdateFunctionConfiguration": lambda lam, f: lam.update_function_configuration(
        FunctionName=f, Description="qualified"
    ),
}


@pytest.mark.parametrize("operation", list(UNQUALIFIED_ONLY))
@pytest.mark.parametrize("label", list(QUALIFIED))
def test_unqualified_operations_refuse_a_qualifier(lab: Any, label: str, operation: str) -> None:
    lam = lab.client("lambda")
    code, _ = error_of(lambda: UNQUALIFIED_ONLY[operation](lam, ALL[label]))
    assert code == "InvalidParameterValueException"
    assert lam.get_function_configuration(FunctionName="fn").get("Description") != "qualified"


@pytest.mark.parametrize("label", list(ALL))
def test_list_tags_takes_the_full_arn_only(lab: Any, label: str) -> None:
    lam = lab.client("lambda")
    if ALL[label].startswith("arn:"):
        assert lam.list_tags(Resource=ALL[label])["Tags"] == lam.list_tags(Resource=ARN)["Tags"]
    else:
        code, _ = error_of(lambda: lam.list_tags(Resource=ALL[label]))
        assert code == "ValidationException"


def test_a_qualifier_that_disagrees_with_the_name_is_refused(lab: Any) -> None:
    lam = lab.client("lambda")
    code, message = error_of(lambda: lam.get_function(FunctionName="fn:live", Qualifier="1"))
    assert code == "InvalidParameterValueException" and "qualifier" in message
    same = lam.get_function(FunctionName="fn:live", Qualifier="live")["Configuration"]
    assert same["Version"] == "1"


# -- unknown functions -----------------------------------------------------------------------------
UNKNOWN = {
    "name": "nope",
    "arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:nope",
    "partial arn": f"{ACCOUNT}:function:nope",
}
OPERATIONS: dict[str, Callable[[Any, str], Any]] = {
    "Invoke": lambda lam, f: lam.invoke(FunctionName=f),
    "GetFunction": lambda lam, f: lam.get_function(FunctionName=f),
    "GetFunctionConfiguration": lambda lam, f: lam.get_function_configuration(FunctionName=f),
    "UpdateFunctionConfiguration": lambda lam, f: lam.update_function_configuration(
        FunctionName=f, Description="x"
    ),
    "AddPermission": lambda lam, f: lam.add_permission(
        FunctionName=f,
        StatementId="x",
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
    ),
    "GetPolicy": lambda lam, f: lam.get_policy(FunctionName=f),
    "PutFunctionEventInvokeConfig": lambda lam, f: lam.put_function_event_invoke_config(
        FunctionName=f, MaximumRetryAttempts=1
    ),
    "PutFunctionConcurrency": lambda lam, f: lam.put_function_concurrency(
        FunctionName=f, ReservedConcurrentExecutions=1
    ),
    "PublishVersion": lambda lam, f: lam.publish_version(FunctionName=f),
    "ListVersionsByFunction": lambda lam, f: lam.list_versions_by_function(FunctionName=f),
    "ListAliases": lambda lam, f: lam.list_aliases(FunctionName=f),
    "CreateAlias": lambda lam, f: lam.create_alias(FunctionName=f, Name="x", FunctionVersion="1"),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("label", list(UNKNOWN))
def test_an_unknown_function_is_resource_not_found(lab: Any, label: str, operation: str) -> None:
    code, message = error_of(lambda: OPERATIONS[operation](lab.client("lambda"), UNKNOWN[label]))
    assert code == "ResourceNotFoundException", message
    assert message == f"Function not found: {UNKNOWN['arn']}"


def test_an_arn_of_another_region_names_no_function_here(lab: Any) -> None:
    other = ARN.replace("us-east-1", "eu-west-1")
    code, message = error_of(lambda: lab.client("lambda").get_function(FunctionName=other))
    assert code == "ResourceNotFoundException" and other in message


def test_a_malformed_spelling_is_a_validation_error(lab: Any) -> None:
    code, message = error_of(lambda: lab.client("lambda").get_function(FunctionName="fn:a:b"))
    assert code == "ValidationException" and "functionName" in message
