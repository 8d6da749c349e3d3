"""labkit grade on the edge lab: sample submissions (the solution and the exercise are graded once,
in tests/test_labs.py).

Each sample in tests/submissions/edge/ is a jupytext percent file of a notebook a learner might
hand in: one correct submission that takes other roads than the worked solution, and four with
plausible mistakes. They are graded in fresh kernels, as ``labkit grade`` does.

Correct submissions unlike the worked solution: ``passing_alternative``, ``passing_later_updates``
and ``passing_legacy_keys``; every other sample fails each check it gets wrong with the hint that
names its mistake.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from grading_support import grade_samples, said, statuses

from labkit.grading.notebook import Submission

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).resolve().parent / "submissions" / "edge"
CHECKS = ("oac_origin", "fresh_deploys", "geo_block", "price_class", "failover")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


def test_every_sample_is_graded_against_every_check(graded: dict[str, Submission]) -> None:
    assert set(graded) == {
        "passing_alternative",
        "passing_later_updates",
        "passing_legacy_keys",
        "public_bucket",
        "stale_etag",
        "country_names",
        "no_source_arn",
        "short_ttls",
        "query_string_key",
    }
    for sub in graded.values():
        assert sub.error is None, sub.text()
        assert tuple(statuses(sub)) == CHECKS


def test_a_correct_alternative_passes_the_cloudfront_checks(
    graded: dict[str, Submission],
) -> None:
    # Resource API for the bucket policy with ArnLike, legacy TTLs with versioned asset names,
    # get_distribution for the ETag, one distribution whose price class changes.
    got = statuses(graded["passing_alternative"])
    assert {k: got[k] for k in CHECKS[:4]} == dict.fromkeys(CHECKS[:4], "passed")


def test_a_public_bucket_and_a_day_long_ttl_fail_with_hints(
    graded: dict[str, Submission],
) -> None:
    sub = graded["public_bucket"]
    got = statuses(sub)
    assert {k: got[k] for k in CHECKS[:4]} == dict.fromkeys(CHECKS[:4], "failed")
    assert "Anyone can read the bucket directly" in said(sub, "oac_origin")
    assert 'no `Principal: "*"`' in said(sub, "oac_origin")
    assert "of the bucket's policy allows it" in said(sub, "oac_origin")  # the engine's reason
    assert "86,400 s" in said(sub, "fresh_deploys")
    assert "create_invalidation" in said(sub, "fresh_deploys")
    assert "allow list" in said(sub, "geo_block") and "'blacklist'" in said(sub, "geo_block")
    assert "the cheaper PriceClass_100 meets it" in said(sub, "price_class")


def test_a_policy_without_source_arn_and_narrow_invalidations_fail_with_hints(
    graded: dict[str, Submission],
) -> None:
    sub = graded["no_source_arn"]
    got = statuses(sub)
    assert {k: got[k] for k in CHECKS[:4]} == dict.fromkeys(CHECKS[:4], "failed")
    assert "Not only yours: another distribution of your account and a distribution of another" in (
        said(sub, "oac_origin")
    )
    assert "of any AWS account" in said(sub, "oac_origin")
    assert "AWS:SourceArn" in said(sub, "oac_origin")
    assert "do not cover /assets/" in said(sub, "fresh_deploys")
    assert "IfMatch=got['ETag']" in said(sub, "geo_block")
    assert "Measure a cache hit" in said(sub, "price_class")


def test_an_unattached_oac_short_ttls_and_the_notes_names_fail_with_hints(
    graded: dict[str, Submission],
) -> None:
    sub = graded["short_ttls"]
    got = statuses(sub)
    assert {k: got[k] for k in CHECKS[:4]} == {
        "oac_origin": "failed",
        "fresh_deploys": "failed",
        "geo_block": "passed",
        "price_class": "failed",
    }
    assert "the origin has no origin access control" in said(sub, "oac_origin")
    assert "OriginAccessControlId" in said(sub, "oac_origin")
    assert "expire after as little as 60 s" in said(sub, "fresh_deploys")
    assert "RefreshHit" in said(sub, "fresh_deploys")
    assert "`PriceClass_100`, `PriceClass_200`, `PriceClass_All`" in said(sub, "price_class")


def test_a_query_string_in_the_cache_key_fails_only_the_hit_ratio(
    graded: dict[str, Submission],
) -> None:
    sub = graded["query_string_key"]
    got = statuses(sub)
    assert {k: got[k] for k in CHECKS[:4]} == {
        "oac_origin": "passed",
        "fresh_deploys": "failed",
        "geo_block": "passed",
        "price_class": "passed",
    }
    assert "below the 93% target" in said(sub, "fresh_deploys")
    assert "query string" in said(sub, "fresh_deploys")


def test_failover_is_graded_in_a_grading_kernel(graded: dict[str, Submission]) -> None:
    assert statuses(graded["passing_alternative"])["failover"] == "passed"
    assert "ThresholdCount" in said(graded["public_bucket"], "failover")
    assert "KEEPS" in said(graded["no_source_arn"], "failover")
    assert "10 failed checks in a row" in said(graded["short_ttls"], "failover")
    assert "No TCP listener" in said(graded["query_string_key"], "failover")
    assert all(statuses(s)["failover"] != "error" for s in graded.values())


@pytest.mark.parametrize("name", ["passing_later_updates", "passing_legacy_keys"])
def test_more_correct_alternatives_pass_every_check(
    graded: dict[str, Submission], name: str
) -> None:
    # passing_later_updates: OAC attached after creation, StringLike + Deny policy through an own
    # client, dash-Region origin, per-key invalidations, the ETag update_distribution answered,
    # requests, SOURCE_IP affinity, endpoints and health checks added with later calls.
    # passing_legacy_keys: ArnEquals on a built ARN, dual-stack origin, no-override signing,
    # legacy query-string keys, geo changed in place, dials and 30 s x 1 health checks at creation.
    assert statuses(graded[name]) == dict.fromkeys(CHECKS, "passed"), graded[name].text()


def test_an_account_wide_policy_and_a_stale_etag_fail_with_hints(
    graded: dict[str, Submission],
) -> None:
    sub = graded["stale_etag"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    oac = said(sub, "oac_origin")
    assert "another distribution of your account" in oac and "was refused" in oac
    assert "AWS:SourceAccount" in oac
    assert "start with `/`" in said(sub, "fresh_deploys")
    assert "PreconditionFailed" in said(sub, "geo_block")
    assert "out of date" in said(sub, "geo_block")
    assert "CallerReference of its own" in said(sub, "price_class")
    assert "DNS name" in said(sub, "failover") and "AcceleratorArn" in said(sub, "failover")


def test_an_id_for_an_arn_and_lower_case_codes_fail_with_hints(
    graded: dict[str, Submission],
) -> None:
    sub = graded["country_names"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    oac = said(sub, "oac_origin")
    assert "S3 refused your distribution" in oac and "the Id alone is not an ARN" in oac
    assert "it needs AWS:SourceArn to equal" in oac
    assert "Nothing was cached at all" in said(sub, "fresh_deploys")
    assert "InvalidLocationCode" in said(sub, "geo_block")
    assert "upper-case" in said(sub, "geo_block")
    assert "the slowest decides" in said(sub, "price_class")
    assert "percentage from 0 to 100" in said(sub, "failover")


GUARDED_CALL = """
import labkit
from labkit.grading.tamper import Guard, preload_labkit
from labkit.labs import catalog

preload_labkit()
guard = Guard("test-key", dict(catalog()))  # as a grading kernel records labkit
lab = labkit.start(quiet=True)
lab.client("globalaccelerator", region="us-west-2").list_accelerators()
print(guard.verify())
lab.stop()
"""


def test_a_global_accelerator_call_is_not_tampering() -> None:
    # A fresh interpreter, as a grading kernel is: no earlier test has touched the class.
    out = subprocess.run(
        [sys.executable, "-c", GUARDED_CALL], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
