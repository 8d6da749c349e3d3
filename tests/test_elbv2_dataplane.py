"""Application Load Balancers answering HTTP at their DNS names (stock moto answers nothing)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from elbv2_support import ECHO, forward, lambda_group, listener, load_balancer, url

import labkit
from labkit.lab import Lab
from labkit.services.elbv2.sim_rules import AlbRequest, condition_matches, redirect_location


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


@pytest.fixture
def lb(lab: Lab) -> dict[str, Any]:
    return load_balancer(lab)


def _rule(lab: Lab, listener_arn: str, priority: int, conditions: Any, actions: Any) -> None:
    lab.client("elbv2").create_rule(
        ListenerArn=listener_arn, Priority=priority, Conditions=conditions, Actions=actions
    )


def _fixed(text: str, status: str = "200") -> list[dict[str, Any]]:
    return [
        {
            "Type": "fixed-response",
            "FixedResponseConfig": {
                "StatusCode": status,
                "ContentType": "text/plain",
                "MessageBody": text,
            },
        }
    ]


def test_lambda_target_gets_the_alb_event_and_its_answer_is_mapped(lab: Lab, lb: Any) -> None:
    arn = lambda_group(lab, "echo")
    listener(lab, lb, forward(arn))
    reply = requests.post(
        url(lb, "/orders/42?size=L&size=XL&q=a%20b"),
        data="hello",
        headers={"Content-Type": "text/plain", "X-Custom": "1"},
        timeout=5,
    )
    assert reply.status_code == 200
    assert reply.headers["X-Fn"] == "echo"
    assert "X-Multi" not in reply.headers  # multiValueHeaders are read only when enabled
    event = reply.json()
    assert event["requestContext"] == {"elb": {"targetGroupArn": arn}}
    assert event["httpMethod"] == "POST" and event["path"] == "/orders/42"
    # Not decoded, and a repeated parameter passes its last value.
    assert event["queryStringParameters"] == {"size": "XL", "q": "a%20b"}
    assert event["headers"]["x-custom"] == "1"
    assert event["headers"]["host"] == lb["DNSName"].lower()
    assert event["headers"]["x-forwarded-proto"] == "http"
    assert event["headers"]["x-forwarded-port"] == "80"
    assert event["body"] == "hello" and event["isBase64Encoded"] is False
    assert "multiValueHeaders" not in event


def test_multi_value_headers_when_the_target_group_enables_them(lab: Lab, lb: Any) -> None:
    arn = lambda_group(lab, "echo", multi_value=True)
    listener(lab, lb, forward(arn))
    reply = requests.get(url(lb, "/?size=L&size=XL"), timeout=5)
    event = reply.json()
    assert event["multiValueQueryStringParameters"] == {"size": ["L", "XL"]}
    assert "headers" not in event and "queryStringParameters" not in event
    assert reply.headers["X-Multi"] == "a, b"
    assert "X-Fn" not in reply.headers  # ``headers`` is ignored when multi-value is on


def test_binary_body_is_base64_encoded(lab: Lab, lb: Any) -> None:
    listener(lab, lb, forward(lambda_group(lab, "echo")))
    event = requests.post(
        url(lb),
        data=b"\x00\x01",
        headers={"Content-Type": "application/octet-stream"},
        timeout=5,
    ).json()
    assert event["isBase64Encoded"] is True and event["body"] == "AAE="


def test_rules_by_priority_then_default(lab: Lab, lb: Any) -> None:
    arn = listener(lab, lb, _fixed("default"))
    _rule(lab, arn, 20, [{"Field": "path-pattern", "Values": ["/api/*"]}], _fixed("api"))
    _rule(
        lab,
        arn,
        10,
        [
            {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/admin*"]}},
            {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST"]}},
        ],
        _fixed("admin-post"),
    )
    _rule(
        lab,
        arn,
        5,
        [
            {
                "Field": "http-header",
                "HttpHeaderConfig": {"HttpHeaderName": "X-Beta", "Values": ["y*"]},
            }
        ],
        _fixed("beta", "202"),
    )
    _rule(
        lab,
        arn,
        30,
        [{"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}]}}],
        _fixed("v2"),
    )
    _rule(
        lab,
        arn,
        40,
        [{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}],
        _fixed("from-vpc"),
    )
    get = lambda path, **kw: requests.request(  # noqa: E731
        kw.pop("method", "GET"), url(lb, path), timeout=5, **kw
    )
    assert get("/api/admin", method="POST").text == "admin-post"
    assert get("/api/admin").text == "api"  # the method condition fails: next rule
    assert get("/API/x").text == "default"  # path patterns are case-sensitive
    beta = get("/api/x", headers={"x-beta": "YES"})
    assert (beta.status_code, beta.text) == (202, "beta")  # header values ignore case
    assert get("/x?v=2").text == "v2"
    assert get("/x").text == "default"  # the notebook is not inside 10.0.0.0/8


def test_host_header_condition(lab: Lab, lb: Any) -> None:
    arn = listener(lab, lb, _fixed("default"))
    _rule(lab, arn, 1, [{"Field": "host-header", "Values": ["*.elb.AMAZONAWS.com"]}], _fixed("h"))
    assert requests.get(url(lb), timeout=5).text == "h"
    other = requests.get(url(lb), headers={"Host": "shop.example.com"}, timeout=5)
    assert other.text == "default"


def test_redirect_and_fixed_response(lab: Lab, lb: Any) -> None:
    arn = listener(lab, lb, _fixed("not here", "404"))
    _rule(
        lab,
        arn,
        1,
        [{"Field": "path-pattern", "Values": ["/old/*"]}],
        [
            {
                "Type": "redirect",
                "RedirectConfig": {
                    "Protocol": "HTTPS",
                    "Path": "/new/#{path}",
                    "StatusCode": "HTTP_301",
                },
            }
        ],
    )
    moved = requests.get(url(lb, "/old/a?x=1"), allow_redirects=False, timeout=5)
    assert moved.status_code == 301
    assert moved.headers["Location"] == f"https://{lb['DNSName'].lower()}:80/new/old/a?x=1"
    missing = requests.get(url(lb, "/nope"), timeout=5)
    assert (missing.status_code, missing.text) == (404, "not here")
    assert missing.headers["Server"] == "awselb/2.0"


def test_weighted_target_groups_share_requests_by_weight(lab: Lab, lb: Any) -> None:
    blue = lambda_group(lab, "blue")
    green = lambda_group(lab, "green")
    listener(
        lab,
        lb,
        [
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": blue, "Weight": 3},
                        {"TargetGroupArn": green, "Weight": 1},
                    ]
                },
            }
        ],
    )
    seen = Counter(requests.get(url(lb), timeout=5).headers["X-Fn"] for _ in range(8))
    assert seen == {"blue": 6, "green": 2}


def test_no_registered_target_is_503(lab: Lab, lb: Any) -> None:
    listener(lab, lb, forward(lambda_group(lab, "echo", register=False)))
    reply = requests.get(url(lb), timeout=5)
    assert reply.status_code == 503 and "503 Service Temporarily Unavailable" in reply.text


def test_function_without_elb_permission(lab: Lab, lb: Any) -> None:
    elb = lab.client("elbv2")
    arn = lambda_group(lab, "echo", permit=False, register=False)
    fn = lab.client("lambda").get_function(FunctionName="echo")["Configuration"]["FunctionArn"]
    with pytest.raises(elb.exceptions.ClientError) as refused:
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": fn}])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert "elasticloadbalancing principal does not have permission" in str(refused.value)
    # Registered while allowed, then the permission removed: the load balancer answers 502.
    lab.client("lambda").add_permission(
        FunctionName="echo",
        StatementId="elb",
        Action="lambda:InvokeFunction",
        Principal="elasticloadbalancing.amazonaws.com",
        SourceArn=arn,
    )
    elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": fn}])
    listener(lab, lb, forward(arn))
    assert requests.get(url(lb), timeout=5).status_code == 200
    lab.client("lambda").remove_permission(FunctionName="echo", StatementId="elb")
    reply = requests.get(url(lb), timeout=5)
    assert reply.status_code == 502 and "502 Bad Gateway" in reply.text


def test_permission_for_another_target_group_does_not_count(lab: Lab, lb: Any) -> None:
    arn = lambda_group(lab, "echo", permit=False, register=False)
    other = lab.client("elbv2").create_target_group(Name="other", TargetType="lambda")
    lab.client("lambda").add_permission(
        FunctionName="echo",
        StatementId="elb",
        Action="lambda:InvokeFunction",
        Principal="elasticloadbalancing.amazonaws.com",
        SourceArn=other["TargetGroups"][0]["TargetGroupArn"],
    )
    fn = lab.client("lambda").get_function(FunctionName="echo")["Configuration"]["FunctionArn"]
    with pytest.raises(Exception, match="AccessDenied"):
        lab.client("elbv2").register_targets(TargetGroupArn=arn, Targets=[{"Id": fn}])


@pytest.mark.parametrize(
    "source",
    [
        "def lambda_handler(e, c):\n    raise RuntimeError('boom')\n",
        "def lambda_handler(e, c):\n    return {'body': 'no status'}\n",
        "def lambda_handler(e, c):\n    return {'statusCode': 200, 'body': {'not': 'text'}}\n",
        "def lambda_handler(e, c):\n    return 'plain'\n",
    ],
)
def test_function_error_or_unreadable_answer_is_502(lab: Lab, lb: Any, source: str) -> None:
    listener(lab, lb, forward(lambda_group(lab, "bad", source)))
    assert requests.get(url(lb), timeout=5).status_code == 502


def test_urllib_and_unknown_hosts(lab: Lab, lb: Any) -> None:
    listener(lab, lb, forward(lambda_group(lab, "echo", ECHO)))
    with urllib.request.urlopen(url(lb, "/u?a=1"), timeout=5) as reply:
        assert json.loads(reply.read())["queryStringParameters"] == {"a": "1"}
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url(lb, "/", https=True), timeout=5)  # no 443 listener
    with pytest.raises(requests.exceptions.ConnectionError, match="no load balancer"):
        requests.get("http://nope-1.us-east-1.elb.amazonaws.com/", timeout=5)


def test_https_listener(lab: Lab, lb: Any) -> None:
    listener(lab, lb, forward(lambda_group(lab, "echo")), https=True)
    event = requests.get(url(lb, "/s", https=True), timeout=5).json()
    assert event["headers"]["x-forwarded-proto"] == "https"
    assert event["headers"]["x-forwarded-port"] == "443"
    with pytest.raises(requests.exceptions.ConnectionError, match="no HTTP listener on port 80"):
        requests.get(url(lb), timeout=5)


# -- the rule simulator on its own ------------------------------------------------------------


def _request(**kw: Any) -> AlbRequest:
    base: dict[str, Any] = {
        "method": "GET",
        "scheme": "http",
        "host": "shop.example.com",
        "port": 80,
        "path": "/a/b",
    }
    base.update(kw)
    return AlbRequest(**base)


@pytest.mark.parametrize(
    ("condition", "request_args", "expected"),
    [
        ({"Field": "path-pattern", "Values": ["/a/?"]}, {}, True),
        ({"Field": "path-pattern", "Values": ["/a/??"]}, {}, False),
        ({"Field": "host-header", "HostHeaderConfig": {"Values": ["*.EXAMPLE.com"]}}, {}, True),
        (
            {"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}},
            {"source_ip": "10.1.2.3"},
            True,
        ),
        ({"Field": "source-ip", "SourceIpConfig": {"Values": ["not-an-ip"]}}, {}, False),
        (
            {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["get"]}},
            {},
            False,
        ),
        (
            {"Field": "query-string", "QueryStringConfig": {"Values": [{"Value": "x*"}]}},
            {"query": (("k", "XY"),)},
            True,
        ),
    ],
)
def test_conditions(condition: Any, request_args: Any, expected: bool) -> None:
    assert condition_matches(condition, _request(**request_args)) is expected


def test_redirect_keeps_what_the_config_leaves_out() -> None:
    request = _request(query=(("a", "1"),))
    assert redirect_location({"Protocol": "HTTPS", "Port": "443"}, request) == (
        "https://shop.example.com/a/b?a=1"
    )
    assert redirect_location({"Host": "new.example.com", "Query": ""}, request) == (
        "http://new.example.com/a/b"
    )


def test_other_hosts_are_still_refused_by_the_network_guard(lab: Lab, lb: Any) -> None:
    listener(lab, lb, forward(lambda_group(lab, "echo")))
    for attempt in (
        lambda: requests.get("http://example.com", timeout=5),
        lambda: urllib.request.urlopen("http://example.com", timeout=5),
        lambda: requests.get(f"http://{lb['DNSName']}.evil.example/", timeout=5),
        lambda: requests.get(
            "https://public-keys.auth.elb.us-east-1.amazonaws.com.evil/k", timeout=5
        ),
    ):
        with pytest.raises(labkit.NetworkBlockedError):
            attempt()


def test_lambda_bodies_are_limited_to_1_mb(lab: Lab, lb: Any) -> None:
    big = """
def lambda_handler(event, context):
    return {"statusCode": 200, "body": "x" * (1024 * 1024 + 1)}
"""
    size = """
def lambda_handler(event, context):
    return {"statusCode": 200, "body": str(len(event["body"]))}
"""
    arn = listener(lab, lb, forward(lambda_group(lab, "size", size)))
    _rule(
        lab,
        arn,
        1,
        [{"Field": "path-pattern", "Values": ["/big"]}],
        forward(lambda_group(lab, "big", big)),
    )
    limit = 1024 * 1024
    assert requests.post(url(lb), data=b"x" * limit, timeout=5).text == str(limit)
    assert requests.post(url(lb), data=b"x" * (limit + 1), timeout=5).status_code == 413
    assert requests.get(url(lb, "/big"), timeout=5).status_code == 502


def test_redirect_keeps_the_query_string_as_sent(lab: Lab, lb: Any) -> None:
    listener(
        lab,
        lb,
        [
            {
                "Type": "redirect",
                "RedirectConfig": {"Host": "new.example.com", "StatusCode": "HTTP_302"},
            }
        ],
    )
    moved = requests.get(url(lb, "/p?flag&a=%20b"), allow_redirects=False, timeout=5)
    assert moved.headers["Location"] == "http://new.example.com/p?flag&a=%20b"
