"""APIs, distributions and Lambda permissions deploy from templates and behave as when made by
hand: the deployed API answers at its invoke URL with the function's answer (500 without the
permission), the distribution serves the bucket through origin access control, each shows in
the stack's resources and events and goes with the stack; a type the sandbox lacks fails."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from labkit.lab import Lab

ANSWER = """
import json
def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"got": event.get("routeKey") or event["path"]})}
"""

FUNCTION: dict[str, Any] = {
    "Role": {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        },
    },
    "Fn": {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": ANSWER},
        },
    },
}


def _permission(api: str, condition: str | None = None) -> dict[str, Any]:
    permission: dict[str, Any] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]},
            "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {
                "Fn::Sub": f"arn:aws:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api}}}/*"
            },
        },
    }
    if condition:
        permission["Condition"] = condition
    return permission


def rest_template() -> str:
    """A REST API as lesson 05 builds it: /orders GET → Lambda proxy, a deployment, a Stage of
    its own with a throttle, and the permission unless ``Grant`` is ``no``."""
    return json.dumps(
        {
            "Parameters": {"Grant": {"Type": "String", "AllowedValues": ["yes", "no"]}},
            "Conditions": {"Granted": {"Fn::Equals": [{"Ref": "Grant"}, "yes"]}},
            "Resources": {
                **FUNCTION,
                "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "shop"}},
                "Orders": {
                    "Type": "AWS::ApiGateway::Resource",
                    "Properties": {
                        "RestApiId": {"Ref": "Api"},
                        "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                        "PathPart": "orders",
                    },
                },
                "Get": {
                    "Type": "AWS::ApiGateway::Method",
                    "Properties": {
                        "RestApiId": {"Ref": "Api"},
                        "ResourceId": {"Ref": "Orders"},
                        "HttpMethod": "GET",
                        "AuthorizationType": "NONE",
                        "Integration": {
                            "Type": "AWS_PROXY",
                            "IntegrationHttpMethod": "POST",
                            "Uri": {
                                "Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/"
                                "2015-03-31/functions/${Fn.Arn}/invocations"
                            },
                        },
                    },
                },
                "Deployment": {
                    "Type": "AWS::ApiGateway::Deployment",
                    "DependsOn": "Get",
                    "Properties": {"RestApiId": {"Ref": "Api"}},
                },
                "Prod": {
                    "Type": "AWS::ApiGateway::Stage",
                    "Properties": {
                        "RestApiId": {"Ref": "Api"},
                        "DeploymentId": {"Ref": "Deployment"},
                        "StageName": "prod",
                        "MethodSettings": [
                            {
                                "ResourcePath": "/*",
                                "HttpMethod": "*",
                                "ThrottlingRateLimit": 50,
                                "ThrottlingBurstLimit": 20,
                            }
                        ],
                    },
                },
                "Invoke": _permission("Api", "Granted"),
            },
            "Outputs": {
                "Url": {
                    "Value": {
                        "Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/"
                        "${Prod}/orders"
                    }
                }
            },
        }
    )


def http_template() -> str:
    """An HTTP API (integration, route, auto-deployed stage, permission) and a quick-created
    one without a permission."""
    return json.dumps(
        {
            "Resources": {
                **FUNCTION,
                "Api": {
                    "Type": "AWS::ApiGatewayV2::Api",
                    "Properties": {"Name": "orders", "ProtocolType": "HTTP"},
                },
                "Proxy": {
                    "Type": "AWS::ApiGatewayV2::Integration",
                    "Properties": {
                        "ApiId": {"Ref": "Api"},
                        "IntegrationType": "AWS_PROXY",
                        "IntegrationUri": {"Fn::GetAtt": ["Fn", "Arn"]},
                        "PayloadFormatVersion": "2.0",
                    },
                },
                "Route": {
                    "Type": "AWS::ApiGatewayV2::Route",
                    "Properties": {
                        "ApiId": {"Ref": "Api"},
                        "RouteKey": "GET /orders",
                        "Target": {"Fn::Sub": "integrations/${Proxy}"},
                    },
                },
                "Default": {
                    "Type": "AWS::ApiGatewayV2::Stage",
                    "Properties": {
                        "ApiId": {"Ref": "Api"},
                        "StageName": "$default",
                        "AutoDeploy": True,
                    },
                },
                "Invoke": _permission("Api"),
                "Quick": {
                    "Type": "AWS::ApiGatewayV2::Api",
                    "Properties": {
                        "Name": "quick",
                        "ProtocolType": "HTTP",
                        "Target": {"Fn::GetAtt": ["Fn", "Arn"]},
                    },
                },
            },
            "Outputs": {
                "Url": {"Value": {"Fn::GetAtt": ["Api", "ApiEndpoint"]}},
                "Quick": {"Value": {"Fn::GetAtt": ["Quick", "ApiEndpoint"]}},
            },
        }
    )


SITE = """
Parameters:
  Bucket: {Type: String}
Resources:
  Control:
    Type: AWS::CloudFront::OriginAccessControl
    Properties:
      OriginAccessControlConfig:
        Name: site-oac
        SigningProtocol: sigv4
        SigningBehavior: always
        OriginAccessControlOriginType: s3
  Site:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        DefaultRootObject: index.html
        Origins:
          - Id: site
            DomainName: !Sub "${Bucket}.s3.${AWS::Region}.amazonaws.com"
            S3OriginConfig: {OriginAccessIdentity: ""}
            OriginAccessControlId: !GetAtt Control.Id
        DefaultCacheBehavior:
          TargetOriginId: site
          ViewerProtocolPolicy: redirect-to-https
          CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6
          AllowedMethods: [GET, HEAD]
  ReadThroughSite:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: cloudfront.amazonaws.com}
            Action: s3:GetObject
            Resource: !Sub "arn:aws:s3:::${Bucket}/*"
            Condition:
              StringEquals:
                AWS:SourceArn: !Sub "arn:aws:cloudfront::${AWS::AccountId}:distribution/${Site}"
Outputs:
  Domain: {Value: !GetAtt Site.DomainName}
"""


def _deploy(lab: Lab, name: str, template: str, **params: str) -> dict[str, Any]:
    cfn = lab.client("cloudformation")
    cfn.create_stack(
        StackName=name,
        TemplateBody=template,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return dict(stack)


def _outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _resources(lab: Lab, name: str) -> dict[str, dict[str, Any]]:
    found = lab.client("cloudformation").describe_stack_resources(StackName=name)
    return {r["LogicalResourceId"]: r for r in found["StackResources"]}


def test_a_rest_api_from_a_template_answers_with_the_function(lab: Lab) -> None:
    stack = _deploy(lab, "rest", rest_template(), Grant="yes")
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    answer = requests.get(_outputs(stack)["Url"])
    assert (answer.status_code, answer.json()) == (200, {"got": "/orders"})
    resources = _resources(lab, "rest")
    # The stage moto skipped is a resource of the stack, named as Ref names it.
    assert resources["Prod"]["PhysicalResourceId"] == "prod"
    assert {r["ResourceStatus"] for r in resources.values()} == {"CREATE_COMPLETE"}
    events = lab.client("cloudformation").describe_stack_events(StackName="rest")["StackEvents"]
    assert ("Prod", "CREATE_COMPLETE") in {
        (e["LogicalResourceId"], e["ResourceStatus"]) for e in events
    }
    api_id = answer.url.split("//")[1].split(".")[0]
    stage = lab.client("apigateway").get_stage(restApiId=api_id, stageName="prod")
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 50.0
    # Drift detection finds the function where the stack made it (it said DELETED before).
    cfn = lab.client("cloudformation")
    detection = cfn.detect_stack_drift(StackName="rest")["StackDriftDetectionId"]
    drift = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
    assert drift["StackDriftStatus"] == "IN_SYNC"
    function = resources["Fn"]["PhysicalResourceId"]
    policy = json.loads(lab.client("lambda").get_policy(FunctionName=function)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == [resources["Invoke"]["PhysicalResourceId"]]
    # Deleting the stack removes the API with its stage (its host no longer resolves).
    lab.client("cloudformation").delete_stack(StackName="rest")
    assert api_id not in [a["id"] for a in lab.client("apigateway").get_rest_apis()["items"]]
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(answer.url)


def test_without_the_permission_the_deployed_api_answers_500(lab: Lab) -> None:
    stack = _deploy(lab, "rest-closed", rest_template(), Grant="no")
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert "Invoke" not in _resources(lab, "rest-closed")
    assert requests.get(_outputs(stack)["Url"]).status_code == 500


def test_an_http_api_from_a_template_answers_and_quick_create_needs_a_permission(
    lab: Lab,
) -> None:
    stack = _deploy(lab, "http", http_template())
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    urls = _outputs(stack)
    answer = requests.get(urls["Url"] + "/orders")
    assert (answer.status_code, answer.json()) == (200, {"got": "GET /orders"})
    assert requests.get(urls["Url"] + "/other").status_code == 404  # no such route
    # Quick create made an integration, a $default route and stage, but no permission.
    assert requests.get(urls["Quick"] + "/anything").status_code == 500
    assert _resources(lab, "http")["Default"]["PhysicalResourceId"] == "$default"
    lab.client("cloudformation").delete_stack(StackName="http")
    assert lab.client("apigatewayv2").get_apis()["Items"] == []


def test_a_distribution_from_a_template_serves_the_bucket_through_origin_access(
    lab: Lab,
) -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="cfn-site")
    s3.put_object(Bucket="cfn-site", Key="index.html", Body=b"<h1>shop</h1>")
    stack = _deploy(lab, "site", SITE, Bucket="cfn-site")
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    domain = _outputs(stack)["Domain"]
    served = requests.get(f"https://{domain}/")
    assert (served.status_code, served.text) == (200, "<h1>shop</h1>")
    # Only the distribution may read the bucket: an anonymous read of S3 is refused.
    assert requests.get("https://cfn-site.s3.us-east-1.amazonaws.com/index.html").status_code == 403
    cf = lab.client("cloudfront")
    (dist,) = cf.list_distributions()["DistributionList"]["Items"]
    origin = dist["Origins"]["Items"][0]
    assert (
        origin["OriginAccessControlId"] == _resources(lab, "site")["Control"]["PhysicalResourceId"]
    )
    # An update changes the distribution in place: the same domain (and ARN) keeps serving.
    cfn = lab.client("cloudformation")
    commented = SITE.replace(
        "DefaultRootObject: index.html", "DefaultRootObject: index.html\n        Comment: shop"
    )
    cfn.update_stack(
        StackName="site",
        TemplateBody=commented,
        Parameters=[{"ParameterKey": "Bucket", "UsePreviousValue": True}],
    )
    assert _outputs(cfn.describe_stacks(StackName="site")["Stacks"][0])["Domain"] == domain
    assert (
        cf.get_distribution(Id=dist["Id"])["Distribution"]["DistributionConfig"]["Comment"]
        == "shop"
    )
    assert requests.get(f"https://{domain}/").status_code == 200
    cfn.delete_stack(StackName="site")
    assert cf.list_distributions()["DistributionList"]["Quantity"] == 0
    assert cf.list_origin_access_controls()["OriginAccessControlList"]["Quantity"] == 0


def test_a_type_the_sandbox_lacks_fails_the_stack_with_its_reason(lab: Lab) -> None:
    template = """
Resources:
  Kept: {Type: AWS::SQS::Queue, Properties: {QueueName: before-the-url}}
  Url:
    Type: AWS::Lambda::Url
    DependsOn: Kept
    Properties:
      TargetFunctionArn: arn:aws:lambda:us-east-1:123456789012:function:f
      AuthType: NONE
"""
    stack = _deploy(lab, "lacking", template)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"  # moto said CREATE_COMPLETE
    events = lab.client("cloudformation").describe_stack_events(StackName="lacking")["StackEvents"]
    (failed,) = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "Url"
    assert "AWS::Lambda::Url is not supported by the sandbox" in failed["ResourceStatusReason"]
    # Rolled back as AWS rolls back: what was created before the failure is gone.
    assert "before-the-url" not in str(lab.client("sqs").list_queues().get("QueueUrls", []))
