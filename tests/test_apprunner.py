"""App Runner in the sandbox: a service from a pushed ECR image answers at its HTTPS URL,
pause and resume, the API's shapes and errors, and instances following concurrent requests."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from ecs_support import image, role

import labkit
from labkit.lab import Lab
from labkit.services.apprunner import patch as apprunner
from labkit.services.apprunner.sim_scaling import instances_needed


def api(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A small JSON API that says where it runs."""
    import os

    start_response("200 OK", [("Content-Type", "application/json")])
    body = {
        "path": environ["PATH_INFO"],
        "scheme": environ["wsgi.url_scheme"],
        "greeting": os.environ.get("GREETING", ""),
    }
    return [json.dumps(body).encode()]


def slow(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """An app whose requests take two seconds each."""
    start_response("200 OK", [])
    return [b"done"]


slow.seconds_per_request = 2.0  # type: ignore[attr-defined]


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _create(lab: Lab, app: Any, **extra: Any) -> dict[str, Any]:
    uri = image(lab, app, repository="api")
    found = lab.client("apprunner").create_service(
        ServiceName="orders-api",
        SourceConfiguration={
            "ImageRepository": {
                "ImageIdentifier": uri,
                "ImageRepositoryType": "ECR",
                "ImageConfiguration": {
                    "Port": "8080",
                    "RuntimeEnvironmentVariables": {"GREETING": "hello"},
                },
            },
            "AutoDeploymentsEnabled": False,
        },
        **extra,
    )
    return dict(found["Service"])


def test_a_service_from_an_image_answers_at_its_https_url(lab: Lab) -> None:
    service = _create(lab, api)
    assert service["Status"] == "RUNNING"
    assert service["ServiceUrl"].endswith(".us-east-1.awsapprunner.com")
    assert service["ServiceArn"].startswith("arn:aws:apprunner:us-east-1:")
    answer = requests.get(f"https://{service['ServiceUrl']}/orders/7", timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"path": "/orders/7", "scheme": "https", "greeting": "hello"}
    with urllib.request.urlopen(f"https://{service['ServiceUrl']}/x") as reply:
        assert json.loads(reply.read())["path"] == "/x"
    listed = lab.client("apprunner").list_services()["ServiceSummaryList"]
    assert [s["ServiceName"] for s in listed] == ["orders-api"]


def test_pause_stops_answering_and_resume_brings_it_back(lab: Lab) -> None:
    service = _create(lab, api)
    client = lab.client("apprunner")
    url = f"https://{service['ServiceUrl']}/"
    assert client.pause_service(ServiceArn=service["ServiceArn"])["Service"]["Status"] == "PAUSED"
    assert requests.get(url, timeout=5).status_code == 503
    with pytest.raises(client.exceptions.InvalidStateException):
        client.pause_service(ServiceArn=service["ServiceArn"])
    client.resume_service(ServiceArn=service["ServiceArn"])
    assert requests.get(url, timeout=5).status_code == 200
    client.delete_service(ServiceArn=service["ServiceArn"])
    with pytest.raises(requests.exceptions.ConnectionError, match="no App Runner service"):
        requests.get(url, timeout=5)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_service(ServiceArn=service["ServiceArn"])


def test_what_app_runner_refuses(lab: Lab) -> None:
    client = lab.client("apprunner")
    with pytest.raises(client.exceptions.InvalidRequestException, match="publish_source"):
        client.create_service(
            ServiceName="from-source",
            SourceConfiguration={
                "CodeRepository": {
                    "RepositoryUrl": "https://github.com/example/app",
                    "SourceCodeVersion": {"Type": "BRANCH", "Value": "main"},
                }
            },
        )
    lab.client("ecr").create_repository(repositoryName="empty")
    with pytest.raises(client.exceptions.InvalidRequestException, match="CannotPull"):
        client.create_service(
            ServiceName="missing",
            SourceConfiguration={
                "ImageRepository": {
                    "ImageIdentifier": "123456789012.dkr.ecr.us-east-1.amazonaws.com/empty:v9",
                    "ImageRepositoryType": "ECR",
                }
            },
        )
    _create(lab, api)
    with pytest.raises(client.exceptions.InvalidRequestException, match="already exists"):
        _create(lab, api)


def test_instances_follow_concurrent_requests(lab: Lab) -> None:
    client = lab.client("apprunner")
    scaling = client.create_auto_scaling_configuration(
        AutoScalingConfigurationName="small", MaxConcurrency=2, MinSize=1, MaxSize=3
    )["AutoScalingConfiguration"]
    assert (scaling["MaxConcurrency"], scaling["MinSize"], scaling["MaxSize"]) == (2, 1, 3)
    service = _create(lab, slow, AutoScalingConfigurationArn=scaling["AutoScalingConfigurationArn"])
    assert service["AutoScalingConfigurationSummary"]["AutoScalingConfigurationName"] == "small"
    url = f"https://{service['ServiceUrl']}/"
    for _ in range(90):  # 90 x 2 s in a minute: 3 requests in flight on average
        requests.get(url, timeout=5)
    lab.clock.advance(60)
    for _ in range(300):  # 10 in flight: more than 3 instances x 2, capped at MaxSize
        requests.get(url, timeout=5)
    lab.clock.advance(60)
    lab.clock.advance(60)  # idle: back to MinSize
    points = apprunner.instances(service["ServiceArn"])
    assert [(p.concurrency, p.instances) for p in points] == [(3.0, 2), (10.0, 3), (0.0, 1)]


def test_default_scaling_configuration_uses_aws_defaults(lab: Lab) -> None:
    service = _create(lab, api)
    arn = service["AutoScalingConfigurationSummary"]["AutoScalingConfigurationArn"]
    found = lab.client("apprunner").describe_auto_scaling_configuration(
        AutoScalingConfigurationArn=arn
    )["AutoScalingConfiguration"]
    assert (found["MaxConcurrency"], found["MinSize"], found["MaxSize"]) == (100, 1, 25)


def test_instances_needed_rounds_up_within_the_sizes() -> None:
    assert instances_needed(120.0, 60, 2, 1, 10) == 1
    assert instances_needed(121.0, 60, 2, 1, 10) == 2
    assert instances_needed(6000.0, 60, 2, 1, 10) == 10


def test_reset_removes_the_services(lab: Lab) -> None:
    service = _create(lab, api)
    lab.reset()
    assert lab.client("apprunner").list_services()["ServiceSummaryList"] == []
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"https://{service['ServiceUrl']}/", timeout=5)


def test_a_service_from_source(lab: Lab) -> None:
    url = apprunner.publish_source(api, "orders")
    client = lab.client("apprunner")
    service = client.create_service(
        ServiceName="from-source",
        SourceConfiguration={
            "CodeRepository": {
                "RepositoryUrl": url,
                "SourceCodeVersion": {"Type": "BRANCH", "Value": "main"},
                "CodeConfiguration": {
                    "ConfigurationSource": "API",
                    "CodeConfigurationValues": {
                        "Runtime": "PYTHON_3",
                        "BuildCommand": "pip install -r requirements.txt",
                        "StartCommand": "python app.py",
                        "Port": "8000",
                        "RuntimeEnvironmentVariables": {"GREETING": "from source"},
                    },
                },
            },
            "AutoDeploymentsEnabled": False,
        },
    )["Service"]
    answer = requests.get(f"https://{service['ServiceUrl']}/", timeout=5).json()
    assert answer["greeting"] == "from source"
    with pytest.raises(client.exceptions.InvalidRequestException, match="exactly one"):
        client.create_service(ServiceName="neither", SourceConfiguration={})


def test_a_bad_repository_name_is_a_clear_error() -> None:
    with pytest.raises(apprunner.SourceNameError, match="cannot name a repository"):
        apprunner.publish_source(api, "no spaces")


def lister(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Lists the account's buckets with the instance role's credentials."""
    import boto3
    import botocore.exceptions

    try:
        names = [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    except botocore.exceptions.ClientError as refused:
        start_response("403 Forbidden", [])
        return [refused.response["Error"]["Code"].encode()]
    start_response("200 OK", [])
    return [",".join(names).encode()]


def test_the_app_acts_as_the_instance_role(lab: Lab) -> None:
    lab.client("s3").create_bucket(Bucket="reports")
    allowed = role(
        lab,
        "may-list",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
        },
    )
    nothing = role(lab, "may-nothing")
    client = lab.client("apprunner")
    urls = {}
    for name, arn in (("lister-yes", allowed), ("lister-no", nothing)):
        urls[name] = client.create_service(
            ServiceName=name,
            SourceConfiguration={
                "ImageRepository": {
                    "ImageIdentifier": image(lab, lister, repository=name),
                    "ImageRepositoryType": "ECR",
                }
            },
            InstanceConfiguration={"InstanceRoleArn": arn},
        )["Service"]["ServiceUrl"]
    yes = requests.get(f"https://{urls['lister-yes']}/", timeout=5)
    assert (yes.status_code, yes.text) == (200, "reports")
    no = requests.get(f"https://{urls['lister-no']}/", timeout=5)
    assert (no.status_code, no.text) == (403, "AccessDenied")
