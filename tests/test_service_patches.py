"""labkit's service patches: installed when a service is first used, in place for its first call."""

from __future__ import annotations

import json

from lambda_support import create, invoke

import labkit
from labkit.lab import Lab

HANDLER = "def lambda_handler(event, context):\n    return {'doubled': event['n'] * 2}\n"


def _unprotected_queue_subscribed_to_a_topic(world: object) -> tuple[str, str]:
    """A topic with a queue subscribed whose policy does not let the topic send."""
    sqs = world.client("sqs")  # type: ignore[attr-defined]
    sns = world.client("sns")  # type: ignore[attr-defined]
    url = sqs.create_queue(QueueName="no-policy")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = sns.create_topic(Name="news")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return url, topic


def test_a_lab_that_never_uses_lambda_does_not_load_its_patches(lab: Lab) -> None:
    lab.client("sqs").create_queue(QueueName="only-sqs")
    assert "sqs" in lab.sandbox.patches
    assert "awslambda" not in lab.sandbox.patches
    assert "sns" not in lab.sandbox.patches


def test_lambdas_first_call_already_runs_the_handler(lab: Lab) -> None:
    create(lab, "double", HANDLER)
    assert "awslambda" in lab.sandbox.patches
    _, payload = invoke(lab, "double", {"n": 21})
    # Stock moto without Docker would echo the event back; labkit runs the handler.
    assert payload == {"doubled": 42}


def test_sns_first_used_in_a_checks_world_applies_queue_policies_there_and_after(
    lab: Lab,
) -> None:
    with lab.sandbox.isolated() as world:
        url, topic = _unprotected_queue_subscribed_to_a_topic(world)
        world.client("sns").publish(TopicArn=topic, Message="hello")
        received = world.client("sqs").receive_message(QueueUrl=url)
        assert received.get("Messages", []) == []
    url, topic = _unprotected_queue_subscribed_to_a_topic(lab)
    lab.client("sns").publish(TopicArn=topic, Message="hello")
    assert lab.client("sqs").receive_message(QueueUrl=url).get("Messages", []) == []


def test_patches_installed_late_are_undone_when_the_lab_stops() -> None:
    from moto.awslambda.models import LambdaBackend

    stock = LambdaBackend.create_function
    lab = labkit.start(quiet=True)
    try:
        create(lab, "double", HANDLER)
        assert LambdaBackend.create_function is not stock
    finally:
        lab.stop()
    assert LambdaBackend.create_function is stock


def test_a_second_lab_installs_the_patches_again_on_first_use() -> None:
    first = labkit.start(quiet=True)
    create(first, "double", HANDLER)
    second = labkit.start(quiet=True)
    try:
        assert "awslambda" not in second.sandbox.patches
        create(second, "double", HANDLER)
        _, payload = invoke(second, "double", {"n": 2})
        assert payload == {"doubled": 4}
        response = second.client("lambda").invoke(
            FunctionName="double", Payload=json.dumps({"n": None})
        )
        # The handler's TypeError comes back in AWS's error format, not moto's echo.
        assert response["FunctionError"] == "Unhandled"
    finally:
        second.stop()
