"""API Gateway benchmarks: labkit's request pipeline against stock moto's, same run.

Prints (median ms per request over batches, wall seconds for bulk runs):
- a warm request through API Gateway to a Lambda proxy integration with ``requests`` (stock moto
  cannot answer: ``AWS_PROXY`` raises ``NotImplementedError``), and a MOCK integration request;
  stock moto's figure is its one working route, an HTTP integration to a mocked endpoint;
- a request refused by throttling (a usage plan's empty bucket: 429), which stock moto never
  refuses;
- 10,000 requests through a usage plan's token bucket (API key, rate high enough that none is
  refused), with ``requests`` and straight into the gateway's handler (no HTTP client); stock moto
  answers the same 10,000 over its HTTP route without looking at the key.

- an HTTP API (API Gateway v2) request to a Lambda proxy integration (payload format 2.0) beside
  the REST API's, and an HTTP API request refused by its stage's route throttling; stock moto
  answers 404 at an HTTP API's invoke URL.

Targets (issue 14): a warm Lambda-proxy request under 3 ms; a throttled request under 0.5 ms;
10,000 requests through a usage plan in under 2 s.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from typing import Any

import support

ECHO = "def lambda_handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"

STOCK = r"""
import json, statistics, time
import boto3, requests, responses
from moto import mock_aws
from moto.core.models import responses_mock
with mock_aws():
    responses_mock.add(responses.GET, "http://backend.internal/items", body="ok")
    apig = boto3.client("apigateway", region_name="us-east-1")
    api = apig.create_rest_api(name="shop")["id"]
    root = apig.get_resources(restApiId=api)["items"][0]["id"]
    res = apig.create_resource(restApiId=api, parentId=root, pathPart="items")["id"]
    apig.put_method(restApiId=api, resourceId=res, httpMethod="GET", authorizationType="NONE")
    apig.put_integration(restApiId=api, resourceId=res, httpMethod="GET", type="HTTP",
                         integrationHttpMethod="GET", uri="http://backend.internal/items")
    apig.create_deployment(restApiId=api, stageName="dev")
    url = f"https://{api}.execute-api.us-east-1.amazonaws.com/dev/items"
    assert requests.get(url).status_code == 200
    times = []
    for _ in range(10):
        t = time.perf_counter()
        for _ in range(100):
            requests.get(url)
        times.append((time.perf_counter() - t) / 100 * 1000)
    t = time.perf_counter()
    for _ in range(10000):
        requests.get(url, headers={"x-api-key": "k" * 20})
    bulk = time.perf_counter() - t
    print(json.dumps({"warm_ms": statistics.median(times), "bulk_s": bulk}))
"""


def _batches(call: Any, batches: int = 10, per: int = 100) -> float:
    return statistics.median(support.timed(lambda _i: call(), per, batches))


def labkit_figures() -> dict[str, float]:
    """Warm requests, a throttled request and 10,000 requests through a usage plan."""
    import io
    import zipfile

    import requests

    import labkit
    from labkit.services.apigateway import patch

    lab = labkit.start(quiet=True)
    try:
        iam = lab.client("iam")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("lambda_function.py", ECHO)
        fn = lab.client("lambda").create_function(
            FunctionName="f",
            Runtime="python3.12",
            Role=role,
            Handler="lambda_function.lambda_handler",
            Code={"ZipFile": buf.getvalue()},
        )["FunctionArn"]
        apig = lab.client("apigateway")
        api = apig.create_rest_api(name="shop")["id"]
        root = apig.get_resources(restApiId=api)["items"][0]["id"]

        def method(part: str, integration: dict[str, Any], key: bool = False) -> str:
            res = apig.create_resource(restApiId=api, parentId=root, pathPart=part)["id"]
            apig.put_method(
                restApiId=api,
                resourceId=res,
                httpMethod="GET",
                authorizationType="NONE",
                apiKeyRequired=key,
            )
            apig.put_integration(restApiId=api, resourceId=res, httpMethod="GET", **integration)
            return str(res)

        proxy = {
            "type": "AWS_PROXY",
            "integrationHttpMethod": "POST",
            "uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn}"
            "/invocations",
        }
        mock = {"type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'}}
        lab.client("lambda").add_permission(  # as AWS requires of a Lambda integration
            FunctionName=fn,
            StatementId="bench-api",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
        )
        method("proxy", proxy)
        mocked = method("mock", mock)
        apig.put_integration_response(
            restApiId=api, resourceId=mocked, httpMethod="GET", statusCode="200"
        )
        method("free", proxy, key=True)
        method("paid", mock, key=True)
        paid_res = apig.get_resources(restApiId=api)["items"]
        paid_id = next(r["id"] for r in paid_res if r["path"] == "/paid")
        apig.put_integration_response(
            restApiId=api, resourceId=paid_id, httpMethod="GET", statusCode="200"
        )
        apig.create_deployment(restApiId=api, stageName="dev")
        keys = {}
        for name, throttle in (("free", {"rateLimit": 0.001, "burstLimit": 1}), ("paid", {})):
            plan = apig.create_usage_plan(
                name=name,
                apiStages=[{"apiId": api, "stage": "dev"}],
                throttle=throttle or {"rateLimit": 100000.0, "burstLimit": 100000},
            )
            key = apig.create_api_key(name=name, enabled=True)
            apig.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
            keys[name] = key["value"]
        base = f"https://{api}.execute-api.us-east-1.amazonaws.com/dev"
        assert requests.get(f"{base}/proxy").status_code == 200
        assert requests.get(f"{base}/mock").status_code == 200
        warm = _batches(lambda: requests.get(f"{base}/proxy"))
        warm_mock = _batches(lambda: requests.get(f"{base}/mock"))

        free = {"x-api-key": keys["free"]}
        requests.get(f"{base}/free", headers=free)
        assert requests.get(f"{base}/free", headers=free).status_code == 429
        throttled = _batches(lambda: requests.get(f"{base}/free", headers=free))

        paid = {"x-api-key": keys["paid"]}
        # The lab clock moves a second every 1,000 requests: 10,000 in the same instant would
        # empty the account's bucket (burst 5,000), as on AWS.
        statuses = set()
        t = time.perf_counter()
        for i in range(10000):
            if i % 1000 == 0:
                lab.clock.advance(1)
            statuses.add(requests.get(f"{base}/paid", headers=paid).status_code)
        bulk = time.perf_counter() - t
        assert statuses == {200}, statuses

        # The gateway alone: the same requests handed to its handler, no HTTP client in front.
        class Http:
            method = "GET"
            url = f"{base}/paid"
            headers = paid
            body = None

        t = time.perf_counter()
        for i in range(10000):
            if i % 1000 == 0:
                lab.clock.advance(1)
            assert patch.handle(Http())[0] == 200
        direct = time.perf_counter() - t

        class Refused(Http):
            url = f"{base}/free"
            headers = free

        t = time.perf_counter()
        for _ in range(1000):
            assert patch.handle(Refused())[0] == 429
        refused_direct = (time.perf_counter() - t) / 1000 * 1000
        return {
            "warm_ms": warm,
            "warm_mock_ms": warm_mock,
            "throttled_ms": throttled,
            "throttled_direct_ms": refused_direct,
            "bulk_s": bulk,
            "direct_s": direct,
        }
    finally:
        lab.stop()


def http_api_figures() -> dict[str, float]:
    """An HTTP API's warm Lambda-proxy request and its throttled request (route settings)."""
    import io
    import zipfile

    import requests

    import labkit
    from labkit.services.apigatewayv2 import patch as v2

    lab = labkit.start(quiet=True)
    try:
        iam = lab.client("iam")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("lambda_function.py", ECHO)
        fn = lab.client("lambda").create_function(
            FunctionName="f",
            Runtime="python3.12",
            Role=role,
            Handler="lambda_function.lambda_handler",
            Code={"ZipFile": buf.getvalue()},
        )["FunctionArn"]
        lab.client("lambda").add_permission(  # as AWS requires of a Lambda integration
            FunctionName=fn,
            StatementId="bench-http-api",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
        )
        c = lab.client("apigatewayv2")
        created = c.create_api(Name="shop", ProtocolType="HTTP")
        api = created["ApiId"]
        integration = c.create_integration(
            ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=fn, PayloadFormatVersion="2.0"
        )["IntegrationId"]
        for key in ("GET /items", "GET /limited"):
            c.create_route(ApiId=api, RouteKey=key, Target=f"integrations/{integration}")
        c.create_stage(
            ApiId=api,
            StageName="$default",
            AutoDeploy=True,
            RouteSettings={
                "GET /limited": {"ThrottlingRateLimit": 0.001, "ThrottlingBurstLimit": 1}
            },
        )
        base = created["ApiEndpoint"]
        assert requests.get(f"{base}/items").status_code == 200
        warm = _batches(lambda: requests.get(f"{base}/items"))
        requests.get(f"{base}/limited")
        assert requests.get(f"{base}/limited").status_code == 429
        throttled = _batches(lambda: requests.get(f"{base}/limited"))

        class Limited:
            method = "GET"
            url = f"{base}/limited"
            headers = None
            body = None

        t = time.perf_counter()
        for _ in range(1000):
            answer = v2.handle(Limited())
            assert answer is not None and answer[0] == 429
        direct = (time.perf_counter() - t) / 1000 * 1000
        return {"warm_ms": warm, "throttled_ms": throttled, "throttled_direct_ms": direct}
    finally:
        lab.stop()


def main() -> None:
    stock = json.loads(
        subprocess.run([sys.executable, "-c", STOCK], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    ours = labkit_figures()
    http = http_api_figures()
    print("API Gateway (labkit's pipeline; stock moto answers only its HTTP integration route)")
    print(
        f"  warm request, Lambda proxy   labkit {ours['warm_ms']:.2f} ms"
        f"   stock cannot answer (NotImplementedError)   (target < 3 ms)"
    )
    print(
        f"  warm request, MOCK   labkit {ours['warm_mock_ms']:.2f} ms"
        f"   stock HTTP route {stock['warm_ms']:.2f} ms"
        f"   ratio {ours['warm_mock_ms'] / stock['warm_ms']:.2f}x"
    )
    print(
        f"  throttled request (429)   labkit {ours['throttled_ms']:.2f} ms with requests,"
        f" {ours['throttled_direct_ms']:.3f} ms in the gateway's handler"
        f"   stock never throttles   (target < 0.5 ms)"
    )
    print(
        f"  10,000 requests through a usage plan   labkit {ours['bulk_s']:.2f} s with requests,"
        f" {ours['direct_s']:.2f} s in the gateway's handler   stock {stock['bulk_s']:.2f} s"
        f" (keys ignored)   ratio {ours['bulk_s'] / stock['bulk_s']:.2f}x   (target < 2 s)"
    )
    print("HTTP API (API Gateway v2; stock moto answers 404 at its invoke URL)")
    print(
        f"  warm request, Lambda proxy (payload 2.0)   labkit {http['warm_ms']:.2f} ms"
        f"   REST API's {ours['warm_ms']:.2f} ms   ratio {http['warm_ms'] / ours['warm_ms']:.2f}x"
        "   (target < 3 ms)"
    )
    print(
        f"  throttled request (429, route settings)   labkit {http['throttled_ms']:.2f} ms with"
        f" requests, {http['throttled_direct_ms']:.3f} ms in the gateway's handler"
        "   (target < 0.5 ms)"
    )


if __name__ == "__main__":
    main()
