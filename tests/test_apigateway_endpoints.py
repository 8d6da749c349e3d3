"""REST API endpoint types: edge-optimized through the edge, regional, private only through an
interface VPC endpoint (with ``aws:SourceVpce`` in the resource policy).

Stock moto records ``endpointConfiguration`` and serves a PRIVATE API to anyone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from apigateway_support import ECHO, grant, proxy, rest_api, trace, url
from botocore.exceptions import ClientError
from lambda_support import create

import labkit
from labkit.lab import Lab
from labkit.services.apigateway.state import api_trace
from labkit.services.apigateway.view import render_text, trace_state
from labkit.services.edge.patch import viewer


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def vpc_endpoint(lab: Lab, service: str = "execute-api") -> str:
    ec2 = lab.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    return str(
        ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName=f"com.amazonaws.us-east-1.{service}",
            VpcEndpointType="Interface",
        )["VpcEndpoint"]["VpcEndpointId"]
    )


def only_from(vpce: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
                "Condition": {"StringEquals": {"aws:SourceVpce": vpce}},
            }
        ],
    }


def private_api(lab: Lab, vpce_ids: list[str], policy: dict[str, Any] | None) -> str:
    apig = lab.client("apigateway")
    args: dict[str, Any] = {
        "name": "internal",
        "endpointConfiguration": {"types": ["PRIVATE"], "vpcEndpointIds": vpce_ids},
    }
    if policy is not None:
        args["policy"] = json.dumps(policy)
    api = str(apig.create_rest_api(**args)["id"])
    root = apig.get_resources(restApiId=api)["items"][0]["id"]
    apig.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    fn = create(lab, "echo", ECHO)
    apig.put_integration(restApiId=api, resourceId=root, httpMethod="GET", **proxy(fn))
    grant(lab, api, proxy(fn))
    apig.create_deployment(restApiId=api, stageName="prod")
    return api


def vpce_url(vpce: str, path: str = "/prod/") -> str:
    return f"https://{vpce}-1a2b3c4d.execute-api.us-east-1.vpce.amazonaws.com{path}"


def test_an_edge_optimized_api_is_served_from_the_edge_nearest_the_viewer(lab: Lab) -> None:
    api, _ = rest_api(lab, ["items"], integration=proxy(create(lab, "echo", ECHO)))
    near = requests.get(url(api, "dev", "/items"))
    assert near.status_code == 200
    assert near.headers["X-Cache"] == "Miss from cloudfront"  # never cached at the edge
    assert "(CloudFront)" in near.headers["Via"]
    with viewer("Tokyo"):
        far = requests.get(url(api, "dev", "/items"))
    assert far.headers["X-Amz-Cf-Pop"].startswith("NRT")
    assert far.headers["X-Amz-Cf-Pop"] != near.headers["X-Amz-Cf-Pop"]
    endpoint = trace(api)[-1].endpoint
    assert endpoint.startswith("EDGE") and "Tokyo" in endpoint and "NRT" in endpoint
    shown = render_text(trace_state(api_trace(api), lab.clock.timestamp))
    assert f"1. endpoint: {endpoint}" in shown  # the trace view's latest request


def test_a_regional_api_is_reached_over_the_internet_without_the_edge(lab: Lab) -> None:
    fn = create(lab, "echo", ECHO)
    api, _ = rest_api(lab, ["items"], integration=proxy(fn))
    lab.client("apigateway").update_rest_api(
        restApiId=api,
        patchOperations=[
            {"op": "replace", "path": "/endpointConfiguration/types/EDGE", "value": "REGIONAL"}
        ],
    )
    with viewer("Tokyo"):
        regional = requests.get(url(api, "dev", "/items"), headers={"X-Labkit-Viewer": "Sydney"})
    assert regional.status_code == 200 and "X-Amz-Cf-Pop" not in regional.headers
    endpoint = trace(api)[-1].endpoint
    assert endpoint.startswith("REGIONAL") and "Sydney" in endpoint  # the header wins


def test_a_private_api_refuses_callers_from_outside(lab: Lab) -> None:
    vpce = vpc_endpoint(lab)
    api = private_api(lab, [vpce], only_from(vpce))
    outside = requests.get(url(api, "prod", "/"))
    assert (outside.status_code, outside.json()) == (403, {"message": "Forbidden"})
    assert "VPC endpoint" in trace(api)[-1].steps[0].detail


def test_a_private_api_answers_through_its_vpc_endpoint(lab: Lab) -> None:
    vpce = vpc_endpoint(lab)
    api = private_api(lab, [vpce], only_from(vpce))
    by_header = requests.get(vpce_url(vpce), headers={"x-apigw-api-id": api})
    assert by_header.status_code == 200, by_header.text
    assert by_header.json()["requestContext"]["identity"]["vpceId"] == vpce
    by_host = requests.get(
        vpce_url(vpce), headers={"Host": f"{api}.execute-api.us-east-1.amazonaws.com"}
    )
    assert by_host.status_code == 200
    alias = requests.get(f"https://{api}-{vpce}.execute-api.us-east-1.amazonaws.com/prod/")
    assert alias.status_code == 200
    assert trace(api)[-1].endpoint.startswith(f"PRIVATE: through VPC endpoint {vpce}")


def test_source_vpce_reaches_the_resource_policy(lab: Lab) -> None:
    allowed, other = vpc_endpoint(lab), vpc_endpoint(lab)
    api = private_api(lab, [allowed, other], only_from(allowed))
    assert requests.get(vpce_url(allowed), headers={"x-apigw-api-id": api}).status_code == 200
    refused = requests.get(vpce_url(other), headers={"x-apigw-api-id": api})
    assert refused.status_code == 403
    # The policy saw the endpoint the request came through, and it was not the allowed one.
    assert f"but it is {other}" in trace(api)[-1].auth_reason


def test_a_private_api_without_a_resource_policy_is_refused(lab: Lab) -> None:
    vpce = vpc_endpoint(lab)
    with pytest.raises(ClientError) as refused:
        private_api(lab, [vpce], None)
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    assert "resource policy" in refused.value.response["Error"]["Message"]
    # Made private after it was deployed without one: its callers are refused.
    api, _ = rest_api(lab, ["items"], integration=proxy(create(lab, "other", ECHO)))
    lab.client("apigateway").update_rest_api(
        restApiId=api,
        patchOperations=[
            {"op": "replace", "path": "/endpointConfiguration/types/EDGE", "value": "PRIVATE"}
        ],
    )
    r = requests.get(vpce_url(vpce, "/dev/items"), headers={"x-apigw-api-id": api})
    assert r.status_code == 403
    assert "resource policy" in trace(api)[-1].steps[0].detail


def test_what_a_vpc_endpoint_cannot_reach(lab: Lab) -> None:
    vpce = vpc_endpoint(lab)
    api = private_api(lab, [], only_from(vpce))
    echo = lab.client("lambda").get_function(FunctionName="echo")["Configuration"]["FunctionArn"]
    public, _ = rest_api(lab, ["items"], integration=proxy(echo))
    through = requests.get(vpce_url(vpce, "/dev/items"), headers={"x-apigw-api-id": public})
    assert through.status_code == 403  # a VPC endpoint reaches only private APIs
    with pytest.raises(requests.ConnectionError):  # no alias for an endpoint not associated
        requests.get(f"https://{api}-{vpce}.execute-api.us-east-1.amazonaws.com/prod/")
    with pytest.raises(requests.ConnectionError):  # no such VPC endpoint
        requests.get(vpce_url("vpce-0123456789abcdef0"), headers={"x-apigw-api-id": api})
    s3_endpoint = vpc_endpoint(lab, "s3")
    with pytest.raises(requests.ConnectionError):  # not an execute-api endpoint
        requests.get(vpce_url(s3_endpoint), headers={"x-apigw-api-id": api})
    no_id = requests.get(vpce_url(vpce))
    assert no_id.status_code == 403
