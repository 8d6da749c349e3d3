"""CloudFront in the sandbox: what stock moto lacks (OAC, serving, caching, invalidations)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from edge_support import SITE, distribution_config, oac_policy, public_policy

import labkit
from labkit.lab import Lab
from labkit.services.cloudfront.patch import (
    REQUEST_LOG_SIZE,
    LoggedRequest,
    edge_caches,
    find_distribution,
    request_log,
)
from labkit.services.edge import patch as edge


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _site(lab: Lab, *, body: bytes = b"<h1>v1</h1>", **put: Any) -> Any:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket=SITE)
    s3.put_object(Bucket=SITE, Key="index.html", Body=body, ContentType="text/html", **put)
    return s3


def _oac(lab: Lab) -> str:
    cf = lab.client("cloudfront")
    control = cf.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": "site-oac",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )
    return str(control["OriginAccessControl"]["Id"])


def _oac_site(lab: Lab, **config: Any) -> dict[str, Any]:
    """A bucket readable only through one distribution (the OAC pattern)."""
    s3 = _site(lab)
    cf = lab.client("cloudfront")
    dist = cf.create_distribution(
        DistributionConfig=distribution_config(oac_id=_oac(lab), **config)
    )["Distribution"]
    s3.put_bucket_policy(Bucket=SITE, Policy=oac_policy(SITE, dist["ARN"]))
    return dict(dist)


def _public_site(lab: Lab, **config: Any) -> dict[str, Any]:
    s3 = _site(lab, **config.pop("put", {}))
    s3.put_bucket_policy(Bucket=SITE, Policy=public_policy(SITE))
    dist = lab.client("cloudfront").create_distribution(
        DistributionConfig=distribution_config(**config)
    )["Distribution"]
    return dict(dist)


# -- control plane ------------------------------------------------------------------------------
def test_origin_access_control_id_reads_back(lab: Lab) -> None:
    oac_id = _oac(lab)
    cf = lab.client("cloudfront")
    dist = cf.create_distribution(DistributionConfig=distribution_config(oac_id=oac_id))
    origin = cf.get_distribution(Id=dist["Distribution"]["Id"])["Distribution"][
        "DistributionConfig"
    ]["Origins"]["Items"][0]
    assert origin["OriginAccessControlId"] == oac_id  # stock moto drops it
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}


def test_an_unknown_cache_policy_is_refused(lab: Lab) -> None:
    behavior = {
        "TargetOriginId": "site",
        "ViewerProtocolPolicy": "allow-all",
        "CachePolicyId": "00000000-0000-0000-0000-000000000000",
    }
    with pytest.raises(ClientError) as caught:
        lab.client("cloudfront").create_distribution(
            DistributionConfig=distribution_config(behavior=behavior)
        )
    assert caught.value.response["Error"]["Code"] == "NoSuchCachePolicy"


def test_legacy_cache_settings_get_aws_default_ttls(lab: Lab) -> None:
    behavior = {
        "TargetOriginId": "site",
        "ViewerProtocolPolicy": "allow-all",
        "MinTTL": 0,
        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
    }
    cf = lab.client("cloudfront")
    dist = cf.create_distribution(DistributionConfig=distribution_config(behavior=behavior))
    got = cf.get_distribution(Id=dist["Distribution"]["Id"])["Distribution"]
    default = got["DistributionConfig"]["DefaultCacheBehavior"]
    assert (default["DefaultTTL"], default["MaxTTL"]) == (86400, 31536000)  # moto: 0 and 0


def test_invalidation_paths_are_validated(lab: Lab) -> None:
    dist = _public_site(lab)
    with pytest.raises(ClientError) as caught:
        lab.client("cloudfront").create_invalidation(
            DistributionId=dist["Id"],
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": ["images/*/cat.jpg"]},
                "CallerReference": "bad",
            },
        )
    assert caught.value.response["Error"]["Code"] == "InvalidArgument"


# -- serving and caching -------------------------------------------------------------------------
def test_first_request_misses_then_hits_with_age_on_the_lab_clock(lab: Lab) -> None:
    dist = _public_site(lab)
    url = f"https://{dist['DomainName']}/index.html"
    first = requests.get(url)
    assert first.status_code == 200 and first.text == "<h1>v1</h1>"
    assert first.headers["X-Cache"] == "Miss from cloudfront"
    assert "Age" not in first.headers
    lab.clock.advance(42)
    second = requests.get(url)
    assert second.headers["X-Cache"] == "Hit from cloudfront"
    assert second.headers["Age"] == "42"
    assert second.headers["X-Amz-Cf-Pop"] == first.headers["X-Amz-Cf-Pop"] == "IAD89-P1"
    assert second.headers["Via"].endswith(".cloudfront.net (CloudFront)")
    assert second.headers["X-Amz-Cf-Id"] != first.headers["X-Amz-Cf-Id"]
    assert second.headers["Content-Type"] == "text/html"


def test_head_has_the_length_and_no_body_and_fills_the_cache(lab: Lab) -> None:
    dist = _public_site(lab)
    url = f"https://{dist['DomainName']}/index.html"
    head = requests.head(url)
    assert (head.status_code, head.headers["Content-Length"], head.content) == (200, "11", b"")
    got = requests.get(url)
    assert got.headers["X-Cache"] == "Hit from cloudfront" and got.text == "<h1>v1</h1>"


def test_the_default_root_object_answers_for_slash(lab: Lab) -> None:
    dist = _public_site(lab)
    assert requests.get(f"https://{dist['DomainName']}/").text == "<h1>v1</h1>"


def test_max_age_expires_on_the_clock_and_the_origin_revalidates(lab: Lab) -> None:
    dist = _public_site(lab, put={"CacheControl": "max-age=60"})
    url = f"https://{dist['DomainName']}/index.html"
    requests.get(url)
    lab.clock.advance(59)
    assert requests.get(url).headers["X-Cache"] == "Hit from cloudfront"
    lab.clock.advance(2)
    refreshed = requests.get(url)  # unchanged at the origin: 304, served from cache
    assert refreshed.headers["X-Cache"] == "RefreshHit from cloudfront"
    lab.client("s3").put_object(
        Bucket=SITE, Key="index.html", Body=b"<h1>v2</h1>", CacheControl="max-age=60"
    )
    assert requests.get(url).text == "<h1>v1</h1>"  # still fresh at the edge
    lab.clock.advance(61)
    changed = requests.get(url)
    assert changed.text == "<h1>v2</h1>" and changed.headers["X-Cache"] == "Miss from cloudfront"


def test_an_invalidation_takes_effect_on_the_clock(lab: Lab) -> None:
    dist = _public_site(lab)
    url = f"https://{dist['DomainName']}/index.html"
    requests.get(url)
    lab.client("s3").put_object(Bucket=SITE, Key="index.html", Body=b"<h1>v2</h1>")
    cf = lab.client("cloudfront")
    created = cf.create_invalidation(
        DistributionId=dist["Id"],
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/index*"]}, "CallerReference": "1"},
    )["Invalidation"]
    assert created["Status"] == "InProgress"  # stock moto: COMPLETED at once
    assert requests.get(url).text == "<h1>v1</h1>"
    lab.clock.advance(10)
    status = cf.get_invalidation(DistributionId=dist["Id"], Id=created["Id"])["Invalidation"]
    assert status["Status"] == "Completed"
    after = requests.get(url)
    assert after.text == "<h1>v2</h1>" and after.headers["X-Cache"] == "Miss from cloudfront"


def test_each_edge_location_has_its_own_cache(lab: Lab) -> None:
    dist = _public_site(lab)
    url = f"https://{dist['DomainName']}/index.html"
    requests.get(url)
    with edge.viewer("Tokyo"):
        tokyo = requests.get(url)
    assert tokyo.headers["X-Cache"] == "Miss from cloudfront"
    assert tokyo.headers["X-Amz-Cf-Pop"] == "NRT57-P1"
    paris = requests.get(url, headers={"X-Labkit-Viewer": "FR-Paris"})
    assert paris.headers["X-Amz-Cf-Pop"].startswith("CDG")
    assert set(edge_caches(dist["Id"])) == {"IAD89-P1", "NRT57-P1", "CDG55-P1"}
    assert float(tokyo.headers["X-Labkit-Latency-Ms"]) > 100  # Tokyo edge to a Virginia bucket


def test_price_class_100_serves_tokyo_from_outside_japan(lab: Lab) -> None:
    dist = _public_site(lab, price_class="PriceClass_100")
    answer = requests.get(
        f"https://{dist['DomainName']}/index.html", headers={"X-Labkit-Viewer": "Tokyo"}
    )
    assert answer.status_code == 200
    assert not answer.headers["X-Amz-Cf-Pop"].startswith(("NRT", "KIX"))


def test_geo_restriction_answers_403_as_cloudfront_does(lab: Lab) -> None:
    geo = {"RestrictionType": "blacklist", "Quantity": 1, "Items": ["FR"]}
    dist = _public_site(lab, geo=geo)
    url = f"https://{dist['DomainName']}/index.html"
    with edge.viewer("Paris"):
        blocked = requests.get(url)
    assert blocked.status_code == 403
    assert blocked.headers["X-Cache"] == "Error from cloudfront"
    assert "configured to block access from your country" in blocked.text
    with edge.viewer("Berlin"):
        assert requests.get(url).status_code == 200


def test_an_allow_list_blocks_everyone_else(lab: Lab) -> None:
    geo = {"RestrictionType": "whitelist", "Quantity": 1, "Items": ["JP"]}
    dist = _public_site(lab, geo=geo)
    url = f"https://{dist['DomainName']}/index.html"
    assert requests.get(url, headers={"X-Labkit-Viewer": "Tokyo"}).status_code == 200
    assert requests.get(url, headers={"X-Labkit-Viewer": "New York"}).status_code == 403


def test_http_is_redirected_to_https(lab: Lab) -> None:
    dist = _public_site(lab)
    answer = requests.get(f"http://{dist['DomainName']}/index.html", allow_redirects=False)
    assert answer.status_code == 301
    assert answer.headers["Location"] == f"https://{dist['DomainName']}/index.html"


def test_a_method_the_behavior_does_not_allow_is_refused(lab: Lab) -> None:
    dist = _public_site(lab)
    answer = requests.post(f"https://{dist['DomainName']}/index.html", data=b"x")
    assert answer.status_code == 403
    assert "not configured to allow the HTTP request method" in answer.text


def test_urllib_reaches_the_edge_too(lab: Lab) -> None:
    dist = _public_site(lab)
    with urllib.request.urlopen(f"https://{dist['DomainName']}/index.html") as answer:
        assert answer.status == 200
        assert answer.headers["X-Cache"] == "Miss from cloudfront"
        assert answer.read() == b"<h1>v1</h1>"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"https://{dist['DomainName']}/missing.html")
    assert caught.value.code == 403  # no s3:ListBucket for anyone: S3 answers AccessDenied


def test_an_unknown_distribution_domain_does_not_resolve(lab: Lab) -> None:
    with pytest.raises(requests.ConnectionError, match="Failed to resolve"):
        requests.get("https://d111111abcdef8.cloudfront.net/index.html")


# -- origin access control -------------------------------------------------------------------
def test_oac_bucket_is_readable_only_through_its_distribution(lab: Lab) -> None:
    dist = _oac_site(lab)
    through_cloudfront = requests.get(f"https://{dist['DomainName']}/index.html")
    assert through_cloudfront.status_code == 200
    direct = requests.get(f"https://{SITE}.s3.amazonaws.com/index.html")
    assert direct.status_code == 403  # stock moto: 200, it ignores the policy's Principal
    assert "<Code>AccessDenied</Code>" in direct.text
    # The owner's signed requests still work, as IAM allows them on AWS.
    body = lab.client("s3").get_object(Bucket=SITE, Key="index.html")["Body"].read()
    assert body == b"<h1>v1</h1>"


def test_oac_policy_for_another_distribution_denies_this_one(lab: Lab) -> None:
    dist = _oac_site(lab)
    other = lab.client("cloudfront").create_distribution(
        DistributionConfig=distribution_config(oac_id=_oac(lab), reference="other")
    )["Distribution"]
    assert requests.get(f"https://{dist['DomainName']}/index.html").status_code == 200
    denied = requests.get(f"https://{other['DomainName']}/index.html")
    assert denied.status_code == 403
    assert denied.headers["X-Cache"] == "Error from cloudfront"


def test_without_oac_a_private_bucket_is_not_readable_through_cloudfront(lab: Lab) -> None:
    _site(lab)
    dist = lab.client("cloudfront").create_distribution(DistributionConfig=distribution_config())[
        "Distribution"
    ]
    assert requests.get(f"https://{dist['DomainName']}/index.html").status_code == 403


# -- HTTP origins, outages, traces, reset ---------------------------------------------------------
def test_an_http_origin_served_by_the_lesson(lab: Lab) -> None:
    calls: list[str] = []

    def app(request: edge.EdgeRequest) -> tuple[int, dict[str, str], str]:
        calls.append(request.path)
        return 200, {"Content-Type": "text/plain", "Cache-Control": "max-age=30"}, "from app"

    edge.serve("app.example.com", app)
    config = distribution_config()
    config["Origins"]["Items"] = [
        {
            "Id": "app",
            "DomainName": "app.example.com",
            "CustomOriginConfig": {
                "HTTPPort": 80,
                "HTTPSPort": 443,
                "OriginProtocolPolicy": "https-only",
            },
        }
    ]
    config["DefaultCacheBehavior"]["TargetOriginId"] = "app"
    dist = lab.client("cloudfront").create_distribution(DistributionConfig=config)["Distribution"]
    url = f"https://{dist['DomainName']}/hello"
    assert requests.get(url).text == "from app"
    assert requests.get(url).headers["X-Cache"] == "Hit from cloudfront"
    assert calls == ["/hello"]


def test_an_origin_in_a_failed_region_times_out(lab: Lab) -> None:
    dist = _public_site(lab)
    edge.fail_region("us-east-1")
    answer = requests.get(f"https://{dist['DomainName']}/index.html")
    assert answer.status_code == 504
    assert answer.headers["X-Cache"] == "Error from cloudfront"


def test_a_trace_runs_on_the_lab_clock(lab: Lab) -> None:
    dist = _public_site(lab, put={"CacheControl": "max-age=100"})
    url = f"https://{dist['DomainName']}/index.html"
    start = lab.clock.timestamp
    report = edge.replay([(t, url, "London") for t in range(0, 300, 10)])
    assert lab.clock.timestamp - start == 290
    assert report.by("cache") == {"Hit": 27, "Miss": 1, "RefreshHit": 2}
    assert report.hit_ratio == pytest.approx(29 / 30)
    assert set(report.by("served_by")) == {"LHR61-P1"}


def test_reset_forgets_distributions_caches_and_the_viewer(lab: Lab) -> None:
    dist = _public_site(lab)
    edge.set_viewer("Tokyo")
    requests.get(f"https://{dist['DomainName']}/index.html")
    lab.reset()
    assert edge.current_viewer().name == "Northern Virginia"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"https://{dist['DomainName']}/index.html")


def test_an_isolated_world_has_its_own_edge(lab: Lab) -> None:
    dist = _public_site(lab)
    url = f"https://{dist['DomainName']}/index.html"
    requests.get(url)
    with lab.sandbox.isolated():
        with pytest.raises(requests.ConnectionError):
            requests.get(url)
        edge.set_viewer("Sydney")
    assert edge.current_viewer().name == "Northern Virginia"
    assert requests.get(url).headers["X-Cache"] == "Hit from cloudfront"


# -- the request log ------------------------------------------------------------------------------
def _log(dist: dict[str, Any]) -> tuple[LoggedRequest, ...]:
    found = find_distribution(dist["DomainName"])
    assert found is not None
    return request_log(found[1])


def test_every_request_is_logged_whoever_sent_it(lab: Lab) -> None:
    dist = _public_site(lab, geo={"RestrictionType": "blacklist", "Quantity": 1, "Items": ["CU"]})
    domain = dist["DomainName"]
    start = lab.clock.timestamp
    first = requests.get(f"https://{domain}/index.html")
    lab.clock.advance(5)
    requests.get(f"https://{domain}/index.html?v=2")
    # urllib asks for no compression: another variant of the page in the cache, so a miss.
    with urllib.request.urlopen(f"https://{domain}/index.html") as answer:
        assert answer.headers["X-Cache"] == "Miss from cloudfront"
    edge.fetch(f"https://{domain}/index.html", viewer_at="Havana")
    requests.post(f"https://{domain}/index.html", data=b"new page")
    requests.get(f"http://{domain}/index.html", allow_redirects=False)
    log = _log(dist)
    assert [(r.method, r.path, r.status, r.cache, r.blocked) for r in log] == [
        ("GET", "/index.html", 200, "Miss", False),
        ("GET", "/index.html?v=2", 200, "Hit", False),
        ("GET", "/index.html", 200, "Miss", False),
        ("GET", "/index.html", 403, "Error", True),
        ("POST", "/index.html", 403, "Error", False),
        ("GET", "/index.html", 301, "Redirect", False),
    ]
    assert [r.at - start for r in log] == [0, 5, 5, 5, 5, 5]  # lab time
    assert (log[0].viewer, log[0].country) == ("Northern Virginia", "US")
    assert (log[3].viewer, log[3].country) == ("Havana", "CU")
    assert log[0].pop == first.headers["X-Amz-Cf-Pop"] == log[1].pop != log[3].pop
    assert round(log[0].latency_ms, 1) == float(first.headers["X-Labkit-Latency-Ms"])
    assert log[1].latency_ms < log[0].latency_ms  # a hit skips the trip to the origin


def test_the_request_log_keeps_only_the_latest_requests(lab: Lab) -> None:
    dist = _public_site(lab)
    url = f"https://{dist['DomainName']}/index.html"
    for n in range(REQUEST_LOG_SIZE + 5):
        edge.fetch(f"{url}?n={n}")
    log = _log(dist)
    assert len(log) == REQUEST_LOG_SIZE
    assert log[0].path == "/index.html?n=5"
    assert log[-1].path == f"/index.html?n={REQUEST_LOG_SIZE + 4}"


def test_a_request_that_gets_no_answer_is_logged_with_status_0(lab: Lab) -> None:
    def down(request: Any) -> Any:
        raise edge.EdgeUnreachableError("Connection to app.example.com refused.")

    edge.serve("app.example.com", down)
    config = distribution_config()
    config["Origins"]["Items"] = [
        {
            "Id": "app",
            "DomainName": "app.example.com",
            "CustomOriginConfig": {
                "HTTPPort": 80,
                "HTTPSPort": 443,
                "OriginProtocolPolicy": "https-only",
            },
        }
    ]
    config["DefaultCacheBehavior"]["TargetOriginId"] = "app"
    dist = lab.client("cloudfront").create_distribution(DistributionConfig=config)["Distribution"]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"https://{dist['DomainName']}/hello", headers={"X-Labkit-Viewer": "Paris"})
    (entry,) = _log(dist)
    assert (entry.path, entry.status, entry.cache, entry.viewer) == ("/hello", 0, "", "Paris")
    assert entry.pop.startswith("CDG")


def test_a_checks_isolated_world_keeps_its_own_request_log(lab: Lab) -> None:
    dist = _public_site(lab)
    requests.get(f"https://{dist['DomainName']}/index.html")
    with lab.sandbox.isolated():
        other = _public_site(lab)
        for _ in range(3):
            requests.get(f"https://{other['DomainName']}/index.html")
        assert [r.cache for r in _log(other)] == ["Miss", "Hit", "Hit"]
    assert [r.cache for r in _log(dist)] == ["Miss"]
    assert find_distribution(other["DomainName"]) is None
    lab.reset()
    assert find_distribution(dist["DomainName"]) is None
