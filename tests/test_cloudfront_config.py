"""CloudFront's configuration rules in the sandbox (``patch_config``, ``sim_geo``): ETags and
IfMatch, CallerReference, Quantity against Items, geo restriction codes and types."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from edge_support import SITE, distribution_config, public_policy

import labkit
from labkit.lab import Lab
from labkit.services.cloudfront.sim_geo import ISO_3166_ALPHA2, blocks, location_problem


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _public_site(lab: Lab, **config: Any) -> tuple[Any, dict[str, Any]]:
    s3, cf = lab.client("s3"), lab.client("cloudfront")
    s3.create_bucket(Bucket=SITE)
    s3.put_bucket_policy(Bucket=SITE, Policy=public_policy(SITE))
    s3.put_object(Bucket=SITE, Key="index.html", Body=b"<h1>hi</h1>", ContentType="text/html")
    created = cf.create_distribution(DistributionConfig=distribution_config(**config))
    return cf, created


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def test_every_update_gives_a_new_etag_and_a_stale_one_is_refused(lab: Lab) -> None:
    cf, created = _public_site(lab)
    dist_id = created["Distribution"]["Id"]
    first = cf.get_distribution_config(Id=dist_id)
    assert first["ETag"] == created["ETag"] == cf.get_distribution(Id=dist_id)["ETag"]
    config = first["DistributionConfig"]
    config["Comment"] = "one"
    answered = cf.update_distribution(Id=dist_id, DistributionConfig=config, IfMatch=first["ETag"])
    assert answered["ETag"] != first["ETag"]
    assert cf.get_distribution_config(Id=dist_id)["ETag"] == answered["ETag"]
    config["Comment"] = "two"
    with pytest.raises(ClientError) as stale:
        cf.update_distribution(Id=dist_id, DistributionConfig=config, IfMatch=first["ETag"])
    assert _code(stale) == "PreconditionFailed"
    assert stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert cf.get_distribution_config(Id=dist_id)["DistributionConfig"]["Comment"] == "one"
    # The ETag update_distribution answered is the current one.
    cf.update_distribution(Id=dist_id, DistributionConfig=config, IfMatch=answered["ETag"])
    assert cf.get_distribution_config(Id=dist_id)["DistributionConfig"]["Comment"] == "two"


def test_a_missing_if_match_is_still_invalid_if_match_version(lab: Lab) -> None:
    cf, created = _public_site(lab)
    dist_id = created["Distribution"]["Id"]
    config = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]
    with pytest.raises(ClientError) as err:
        cf.update_distribution(Id=dist_id, DistributionConfig=config)
    assert _code(err) == "InvalidIfMatchVersion"


def test_an_unchanged_round_trip_is_accepted(lab: Lab) -> None:
    cf, created = _public_site(
        lab, geo={"RestrictionType": "whitelist", "Quantity": 1, "Items": ["FR"]}
    )
    dist_id = created["Distribution"]["Id"]
    got = cf.get_distribution_config(Id=dist_id)
    cf.update_distribution(
        Id=dist_id, DistributionConfig=got["DistributionConfig"], IfMatch=got["ETag"]
    )
    assert cf.get_distribution_config(Id=dist_id)["DistributionConfig"] == got["DistributionConfig"]


def test_the_caller_reference_cannot_change(lab: Lab) -> None:
    cf, created = _public_site(lab)
    dist_id = created["Distribution"]["Id"]
    got = cf.get_distribution_config(Id=dist_id)
    got["DistributionConfig"]["CallerReference"] = "another"
    with pytest.raises(ClientError) as err:
        cf.update_distribution(
            Id=dist_id, DistributionConfig=got["DistributionConfig"], IfMatch=got["ETag"]
        )
    assert _code(err) == "IllegalUpdate"


@pytest.mark.parametrize(
    ("geo", "code"),
    [
        (
            {"RestrictionType": "blacklist", "Quantity": 1, "Items": ["CU", "IR"]},
            "InconsistentQuantities",
        ),
        ({"RestrictionType": "blacklist", "Quantity": 1, "Items": ["cu"]}, "InvalidLocationCode"),
        ({"RestrictionType": "blacklist", "Quantity": 1, "Items": ["UK"]}, "InvalidLocationCode"),
        ({"RestrictionType": "blacklist", "Quantity": 1, "Items": ["Cuba"]}, "InvalidLocationCode"),
        ({"RestrictionType": "blocklist", "Quantity": 1, "Items": ["CU"]}, "InvalidArgument"),
        (
            {"RestrictionType": "none", "Quantity": 1, "Items": ["CU"]},
            "InvalidGeoRestrictionParameter",
        ),
    ],
)
def test_geo_restrictions_cloudfront_refuses_are_refused(
    lab: Lab, geo: dict[str, Any], code: str
) -> None:
    cf, created = _public_site(lab)
    dist_id = created["Distribution"]["Id"]
    got = cf.get_distribution_config(Id=dist_id)
    got["DistributionConfig"]["Restrictions"] = {"GeoRestriction": geo}
    with pytest.raises(ClientError) as err:
        cf.update_distribution(
            Id=dist_id, DistributionConfig=got["DistributionConfig"], IfMatch=got["ETag"]
        )
    assert _code(err) == code
    with pytest.raises(ClientError) as at_creation:
        cf.create_distribution(DistributionConfig=distribution_config(reference="other", geo=geo))
    assert _code(at_creation) == code


def test_quantities_are_checked_everywhere_at_creation(lab: Lab) -> None:
    cf = lab.client("cloudfront")
    config = distribution_config()
    config["Origins"]["Quantity"] = 2
    with pytest.raises(ClientError) as err:
        cf.create_distribution(DistributionConfig=config)
    assert _code(err) == "InconsistentQuantities"
    assert "DistributionConfig.Origins" in err.value.response["Error"]["Message"]


def test_a_block_list_of_upper_case_codes_blocks_exactly_those_countries(lab: Lab) -> None:
    _cf, created = _public_site(
        lab, geo={"RestrictionType": "blacklist", "Quantity": 2, "Items": ["CU", "IR"]}
    )
    url = f"https://{created['Distribution']['DomainName']}/index.html"
    got = {
        city: requests.get(url, headers={"X-Labkit-Viewer": city}).status_code
        for city in ("Havana", "Tehran", "Paris")
    }
    assert got == {"Havana": 403, "Tehran": 403, "Paris": 200}


def test_a_dual_stack_rest_endpoint_is_an_s3_origin(lab: Lab) -> None:
    s3, cf = lab.client("s3"), lab.client("cloudfront")
    s3.create_bucket(Bucket=SITE)
    s3.put_bucket_policy(Bucket=SITE, Policy=public_policy(SITE))
    s3.put_object(Bucket=SITE, Key="index.html", Body=b"dual", ContentType="text/html")
    config = distribution_config()
    config["Origins"]["Items"][0]["DomainName"] = f"{SITE}.s3.dualstack.us-east-1.amazonaws.com"
    dist = cf.create_distribution(DistributionConfig=config)["Distribution"]
    answer = requests.get(f"https://{dist['DomainName']}/index.html")
    assert (answer.status_code, answer.content) == (200, b"dual")


def test_location_codes() -> None:
    assert len(ISO_3166_ALPHA2) == 249
    assert location_problem("CU") is None
    assert "lower case" in str(location_problem("cu"))
    assert "not an ISO 3166-1" in str(location_problem("UK"))
    assert location_problem(None) is not None
    assert blocks("blacklist", {"CU"}, "CU") and not blocks("blacklist", {"CU"}, "FR")
    assert blocks("whitelist", {"FR"}, "CU") and not blocks("whitelist", {"FR"}, "FR")
    assert not blocks("none", set(), "CU")
