"""Helpers for the architecture map's tests and benchmark: each wiring kind, built as a learner
would build it with boto3 (one function per kind, so that a test can leave one out)."""

from __future__ import annotations

import json
from typing import Any

from apigateway_support import lambda_uri
from edge_support import distribution_config, oac_policy
from lambda_support import create

RECEIVER = """
def lambda_handler(event, context):
    return {"statusCode": 200, "body": "ok"}
"""


def queue(lab: Any, name: str) -> tuple[str, str]:
    """A queue's ``(url, arn)``."""
    sqs = lab.client("sqs")
    url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, str(arn["QueueArn"])


def allow_sender(lab: Any, url: str, queue_arn: str, service: str, source_arn: str) -> None:
    """Let ``service`` send to the queue on behalf of ``source_arn`` (the queue's policy)."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
            }
        ],
    }
    lab.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})


def function(lab: Any, name: str, **kwargs: Any) -> str:
    """A function that answers 200; its ARN."""
    return create(lab, name, RECEIVER, **kwargs)


def topic_to_queue(lab: Any, topic: str = "orders", queue_name: str = "billing", *,
                   allow: bool = True) -> tuple[str, str]:  # fmt: skip
    """A topic with a queue subscribed (allowed by the queue's policy unless ``allow`` is
    false); ``(topic_arn, queue_url)``."""
    topic_arn = str(lab.client("sns").create_topic(Name=topic)["TopicArn"])
    url, arn = queue(lab, queue_name)
    if allow:
        allow_sender(lab, url, arn, "sns.amazonaws.com", topic_arn)
    lab.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return topic_arn, url


def queue_to_function(lab: Any, queue_name: str = "jobs", fn: str = "worker") -> str:
    """A queue read by a function through an event source mapping; the queue's URL."""
    url, arn = queue(lab, queue_name)
    function(lab, fn)
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName=fn, BatchSize=10
    )
    return url


def bucket_to_queue(lab: Any, bucket: str = "uploads", queue_name: str = "uploaded") -> str:
    """A bucket that notifies a queue of new objects; the queue's URL."""
    s3 = lab.client("s3")
    s3.create_bucket(Bucket=bucket)
    url, arn = queue(lab, queue_name)
    allow_sender(lab, url, arn, "s3.amazonaws.com", f"arn:aws:s3:::{bucket}")
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    return url


def site_behind_cloudfront(lab: Any, bucket: str = "site") -> str:
    """A bucket served by CloudFront with origin access control; the distribution's ARN."""
    lab.client("s3").create_bucket(Bucket=bucket)
    cf = lab.client("cloudfront")
    oac = cf.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": "site-oac",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )["OriginAccessControl"]["Id"]
    dist = cf.create_distribution(
        DistributionConfig=distribution_config(bucket=bucket, oac_id=oac)
    )["Distribution"]
    lab.client("s3").put_bucket_policy(Bucket=bucket, Policy=oac_policy(bucket, dist["ARN"]))
    return str(dist["ARN"])


def api_to_function(lab: Any, fn: str = "api-handler", *, permit: bool = True) -> str:
    """A REST API whose ``GET /orders`` proxies to a function (with the permission API Gateway
    needs unless ``permit`` is false), deployed to ``prod``; the API's id."""
    fn_arn = function(lab, fn)
    apig = lab.client("apigateway")
    api = str(apig.create_rest_api(name="shop")["id"])
    root = apig.get_resources(restApiId=api)["items"][0]["id"]
    res = apig.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
    apig.put_method(restApiId=api, resourceId=res, httpMethod="GET", authorizationType="NONE")
    apig.put_integration(
        restApiId=api,
        resourceId=res,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(fn_arn),
    )
    apig.create_deployment(restApiId=api, stageName="prod")
    if permit:
        lab.client("lambda").add_permission(
            FunctionName=fn,
            StatementId="apigateway",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api}/*",
        )
    return api
