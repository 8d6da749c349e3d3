"""``lab.client`` / ``lab.resource`` take what ``boto3.client`` / ``boto3.resource`` take.

Each keyword boto3 documents keeps its meaning (audit finding 5: ``region_name=`` used to raise
``TypeError: got multiple values``, ``config=Config(region_name=...)`` was silently ignored).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config

from labkit.errors import ClientArgumentError, LabkitError
from labkit.grading.checks import Check, CheckContext
from labkit.lab import Lab


def _queues(client: Any) -> list[str]:
    return sorted(u.rsplit("/", 1)[-1] for u in client.list_queues().get("QueueUrls", []))


def _made_in(lab: Lab, client: Any) -> str:
    """The region whose SQS holds the queue ``client`` creates (found by asking each region)."""
    client.create_queue(QueueName="where-am-i")
    found = [r for r in ("us-east-1", "us-west-2", "eu-west-1") if _queues(lab.client("sqs", r))]
    assert len(found) == 1, found
    return found[0]


# -- the region, every way boto3 takes it ------------------------------------------------------


def test_region_name_keyword_is_boto3s_meaning(lab: Lab) -> None:
    client = lab.client("sqs", region_name="us-west-2")
    assert client.meta.region_name == "us-west-2"
    assert _made_in(lab, client) == "us-west-2"


def test_region_as_second_positional_argument(lab: Lab) -> None:
    assert _made_in(lab, lab.client("sqs", "eu-west-1")) == "eu-west-1"


def test_labkit_region_keyword_still_works(lab: Lab) -> None:
    assert _made_in(lab, lab.client("sqs", region="us-west-2")) == "us-west-2"


def test_region_from_config_is_honoured(lab: Lab) -> None:
    client = lab.client("sqs", config=Config(region_name="eu-west-1"))
    assert _made_in(lab, client) == "eu-west-1"


def test_no_region_means_the_sandboxs_region(lab: Lab) -> None:
    assert _made_in(lab, lab.client("sqs")) == lab.sandbox.region


def test_the_same_region_given_twice_is_fine(lab: Lab) -> None:
    client = lab.client(
        "sqs", "us-west-2", region="us-west-2", config=Config(region_name="us-west-2")
    )
    assert client.meta.region_name == "us-west-2"


@pytest.mark.parametrize(
    ("args", "kwargs", "named"),
    [
        (("sqs",), {"region": "us-east-1", "region_name": "us-west-2"}, "region_name="),
        (("sqs", "eu-west-1"), {"region_name": "us-west-2"}, "second argument"),
        (
            ("sqs",),
            {"region_name": "us-west-2", "config": Config(region_name="eu-west-1")},
            "config",
        ),
        (("sqs",), {"region": "us-west-2", "config": Config(region_name="eu-west-1")}, "region="),
    ],
)
def test_two_different_regions_are_a_clear_error(
    lab: Lab, args: tuple[Any, ...], kwargs: dict[str, Any], named: str
) -> None:
    with pytest.raises(ClientArgumentError) as caught:
        lab.client(*args, **kwargs)
    assert isinstance(caught.value, LabkitError)
    assert caught.value.code == "ClientArgument"
    assert "two different regions" in str(caught.value)
    assert named in str(caught.value)


# -- the service -------------------------------------------------------------------------------


def test_service_name_keyword(lab: Lab) -> None:
    assert lab.client(service_name="sqs").meta.service_model.service_name == "sqs"
    assert lab.client(service_name="sqs", region_name="us-west-2").meta.region_name == "us-west-2"


def test_no_service_is_a_clear_error(lab: Lab) -> None:
    with pytest.raises(ClientArgumentError, match="needs the service's name"):
        lab.client(region_name="us-west-2")


def test_two_different_services_are_a_clear_error(lab: Lab) -> None:
    with pytest.raises(ClientArgumentError, match="two different services"):
        lab.client("sqs", service_name="sns")


# -- boto3's other keywords --------------------------------------------------------------------


def test_api_version(lab: Lab) -> None:
    client = lab.client("sqs", api_version="2012-11-05")
    assert client.meta.service_model.api_version == "2012-11-05"
    client.create_queue(QueueName="versioned")
    assert _queues(lab.client("sqs")) == ["versioned"]


def test_use_ssl_false_is_served_over_http_by_the_sandbox(lab: Lab) -> None:
    client = lab.client("sqs", use_ssl=False)
    assert client.meta.endpoint_url.startswith("http://")
    client.create_queue(QueueName="plain-http")
    assert _queues(lab.client("sqs")) == ["plain-http"]


def test_verify(lab: Lab) -> None:
    lab.client("sqs", verify=False).create_queue(QueueName="unverified")
    assert _queues(lab.client("sqs")) == ["unverified"]


def test_an_aws_endpoint_url(lab: Lab) -> None:
    client = lab.client("sqs", endpoint_url="https://sqs.us-east-1.amazonaws.com")
    assert client.meta.endpoint_url == "https://sqs.us-east-1.amazonaws.com"
    client.create_queue(QueueName="by-endpoint")
    assert _queues(lab.client("sqs")) == ["by-endpoint"]


@pytest.mark.parametrize("url", ["http://localhost:4566", "http://127.0.0.1:4566"])
def test_a_local_endpoint_url_is_a_clear_error(lab: Lab, url: str) -> None:
    with pytest.raises(ClientArgumentError, match="leave endpoint_url out"):
        lab.client("sqs", endpoint_url=url)


def test_credential_keywords_are_accepted_and_stay_in_the_sandbox(lab: Lab) -> None:
    client = lab.client(
        "sqs",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="secret",
        aws_session_token="token",
    )
    assert client._request_signer._credentials.access_key == "AKIAEXAMPLE"
    client.create_queue(QueueName="with-keys")
    assert _queues(lab.client("sqs")) == ["with-keys"]


def test_aws_account_id(lab: Lab) -> None:
    lab.client("sqs", aws_account_id="123456789012").create_queue(QueueName="with-account")
    assert _queues(lab.client("sqs")) == ["with-account"]


def test_a_learners_config_is_honoured_but_cannot_turn_retries_back_on(lab: Lab) -> None:
    client = lab.client("sqs", config=Config(read_timeout=7, retries={"max_attempts": 5}))
    assert client.meta.config.read_timeout == 7
    assert client.meta.config.retries["total_max_attempts"] == 1


def test_plain_calls_share_one_client_and_custom_ones_do_not(lab: Lab) -> None:
    assert lab.client("sqs") is lab.client("sqs", region_name=lab.sandbox.region)
    assert lab.client("sqs", "us-west-2") is lab.client("sqs", region="us-west-2")
    assert lab.client("sqs", verify=False) is not lab.client("sqs")


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("sqs",), {"regoin": "us-west-2"}, "unexpected keyword regoin="),
        (("sqs",), {"config": {"region_name": "us-west-2"}}, "must be a botocore.config.Config"),
        (("sqs",), {"region_name": 2}, "non-empty string"),
        (("sqs", "us-west-2", "2012-11-05"), {"api_version": "2012-11-05"}, "api_version twice"),
        (tuple(["sqs"] * 12), {}, "at most 11 positional"),
    ],
)
def test_what_boto3_would_refuse_is_a_labkit_error(
    lab: Lab, args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClientArgumentError, match=message):
        lab.client(*args, **kwargs)


# -- resources, and the same arguments through a check's context -------------------------------


def test_resource_takes_boto3s_keywords(lab: Lab) -> None:
    for dynamodb in (
        lab.resource("dynamodb", region_name="us-west-2"),
        lab.resource("dynamodb", "us-west-2"),
        lab.resource(service_name="dynamodb", config=Config(region_name="us-west-2")),
    ):
        assert dynamodb.meta.client.meta.region_name == "us-west-2"
    with pytest.raises(ClientArgumentError, match="two different regions"):
        lab.resource("dynamodb", "us-west-2", region="eu-west-1")
    with pytest.raises(ClientArgumentError, match="aws_account_id"):
        lab.resource("dynamodb", aws_account_id="123456789012")


def test_a_checks_context_passes_the_same_keywords(lab: Lab) -> None:
    check = Check(name="x", title="x", points=1, run=lambda ctx: None)
    ctx = CheckContext({}, lab.sandbox, check)
    assert ctx.client("sqs", region_name="us-west-2").meta.region_name == "us-west-2"
    assert ctx.client(service_name="sqs").meta.region_name == lab.sandbox.region
    assert ctx.resource("dynamodb", "eu-west-1").meta.client.meta.region_name == "eu-west-1"
