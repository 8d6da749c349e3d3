"""S3 Transfer Acceleration: turning it on, the accelerate endpoint and its refusals, and upload
times from the uploader's city through the nearest edge location against straight to the Region."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from labkit import edge
from labkit.facts import value
from labkit.lab import Lab
from labkit.services.edge.sim_locations import UnknownLocationError
from labkit.services.s3.patch_accelerate import DOTTED, NOT_CONFIGURED
from labkit.services.s3.sim_acceleration import upload_estimate

BUCKET = "photo-uploads"
PHOTO = b"\xff\xd8" + b"p" * 4_000_000  # a 4 MB photo


def _accelerated(lab: Lab, **s3: Any) -> Any:
    return lab.client("s3", config=Config(s3={"use_accelerate_endpoint": True, **s3}))


def _enable(lab: Lab, bucket: str = BUCKET, status: str = "Enabled") -> None:
    lab.client("s3").put_bucket_accelerate_configuration(
        Bucket=bucket, AccelerateConfiguration={"Status": status}
    )


@pytest.fixture
def bucket(lab: Lab) -> str:
    lab.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


def test_the_accelerate_endpoint_is_refused_until_acceleration_is_on(lab: Lab, bucket: str) -> None:
    with pytest.raises(ClientError) as refused:
        _accelerated(lab).put_object(Bucket=bucket, Key="a.jpg", Body=PHOTO)
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("InvalidRequest", NOT_CONFIGURED)
    assert lab.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    _enable(lab)
    assert lab.client("s3").get_bucket_accelerate_configuration(Bucket=bucket)["Status"] == (
        "Enabled"
    )
    _accelerated(lab).put_object(Bucket=bucket, Key="a.jpg", Body=PHOTO)
    stored = lab.client("s3").get_object(Bucket=bucket, Key="a.jpg")["Body"].read()
    assert stored == PHOTO


def test_suspended_acceleration_refuses_the_endpoint_again(lab: Lab, bucket: str) -> None:
    _enable(lab)
    _accelerated(lab).put_object(Bucket=bucket, Key="a.jpg", Body=b"x")
    _enable(lab, status="Suspended")
    with pytest.raises(ClientError) as refused:
        _accelerated(lab).get_object(Bucket=bucket, Key="a.jpg")
    assert refused.value.response["Error"]["Message"] == NOT_CONFIGURED
    # The ordinary endpoint still serves the bucket.
    assert lab.client("s3").get_object(Bucket=bucket, Key="a.jpg")["Body"].read() == b"x"


def test_the_dualstack_and_a_plain_http_request_reach_the_endpoint_too(
    lab: Lab, bucket: str
) -> None:
    _enable(lab)
    _accelerated(lab, use_dualstack_endpoint=True).put_object(Bucket=bucket, Key="d", Body=b"d")
    answer = requests.put(f"https://{bucket}.s3-accelerate.amazonaws.com/h.txt", data=b"hi")
    assert answer.status_code == 200
    assert lab.client("s3").get_object(Bucket=bucket, Key="h.txt")["Body"].read() == b"hi"


def test_a_bucket_name_with_periods_cannot_be_accelerated(lab: Lab) -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="photos.example.com")
    with pytest.raises(ClientError) as refused:
        _enable(lab, "photos.example.com")
    assert refused.value.response["Error"] == {"Code": "InvalidRequest", "Message": DOTTED}
    with pytest.raises(ClientError) as missing:
        _enable(lab, "no.such.bucket")
    assert missing.value.response["Error"]["Code"] == "NoSuchBucket"
    # boto3 will not even send it; a hand-made request is refused by the endpoint.
    with pytest.raises(BotoCoreError):
        _accelerated(lab).put_object(Bucket="photos.example.com", Key="a", Body=b"a")
    answer = requests.put("https://photos.example.com.s3-accelerate.amazonaws.com/a", data=b"a")
    assert answer.status_code == 400 and DOTTED in answer.text


def test_an_upload_from_sydney_is_faster_accelerated_and_says_through_which_edge(
    lab: Lab, bucket: str
) -> None:
    _enable(lab)
    with edge.viewer("Sydney"):
        _accelerated(lab).put_object(Bucket=bucket, Key="fast.jpg", Body=PHOTO)
        lab.client("s3").put_object(Bucket=bucket, Key="slow.jpg", Body=PHOTO)
    fast, slow = edge.uploads(bucket)
    assert (fast.key, fast.accelerated, slow.key, slow.accelerated) == (
        "fast.jpg",
        True,
        "slow.jpg",
        False,
    )
    assert fast.uploader == slow.uploader == "Sydney"
    assert fast.size == len(PHOTO)
    assert fast.estimate.edge.code == "SYD"
    assert fast.seconds < slow.seconds
    assert fast.other_seconds == pytest.approx(slow.seconds)
    assert "through SYD (accelerated)" in str(fast)


def test_uploads_from_next_to_the_region_gain_little(lab: Lab, bucket: str) -> None:
    _enable(lab)
    _accelerated(lab).put_object(Bucket=bucket, Key="local.jpg", Body=PHOTO)  # no viewer set
    [local] = edge.uploads(bucket)
    assert local.uploader == "Northern Virginia"
    assert local.estimate.speedup < 1.1
    with edge.viewer("Sydney"):
        _accelerated(lab).put_object(Bucket=bucket, Key="far.jpg", Body=PHOTO)
    assert edge.uploads(bucket)[-1].estimate.speedup > 2


def test_a_check_world_keeps_its_uploads_to_itself(lab: Lab, bucket: str) -> None:
    lab.client("s3").put_object(Bucket=bucket, Key="mine", Body=b"m")
    with lab.sandbox.isolated():
        lab.client("s3").create_bucket(Bucket="checked")
        lab.client("s3").put_object(Bucket="checked", Key="theirs", Body=b"t")
        assert [u.key for u in edge.uploads()] == ["theirs"]
    assert [u.key for u in edge.uploads()] == ["mine"]


def test_copies_and_reads_are_not_uploads(lab: Lab, bucket: str) -> None:
    s3 = lab.client("s3")
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    s3.copy_object(Bucket=bucket, Key="b", CopySource={"Bucket": bucket, "Key": "a"})
    s3.get_object(Bucket=bucket, Key="a")
    assert [u.key for u in edge.uploads(bucket)] == ["a"]


# -- the model ------------------------------------------------------------------------------------
@pytest.mark.parametrize("city", ["Sydney", "Tokyo", "London", "Sao Paulo"])
def test_far_from_the_region_acceleration_wins_by_several_times(city: str) -> None:
    far = upload_estimate(10_000_000, city, "us-east-1")
    assert far.faster and 2 < far.speedup < 10
    assert far.edge.place.name == city  # each of these cities has an edge location


def test_the_gain_grows_with_distance_and_the_price_depends_on_the_edge() -> None:
    sydney = upload_estimate(10_000_000, "Sydney", "eu-west-1")
    dublin = upload_estimate(10_000_000, "Dublin", "eu-west-1")
    assert sydney.speedup > dublin.speedup
    assert sydney.direct_ms - sydney.accelerated_ms > dublin.direct_ms - dublin.accelerated_ms
    assert sydney.price_per_gb == value("s3.transfer_acceleration_price_other")
    assert dublin.price_per_gb == value("s3.transfer_acceleration_price_us_eu_jp")
    assert "faster accelerated" in sydney.summary()


def test_an_unknown_city_is_named() -> None:
    with pytest.raises(UnknownLocationError, match="Atlantis"):
        upload_estimate(1, "Atlantis", "us-east-1")


def test_each_part_of_a_multipart_upload_is_an_upload(lab: Lab, bucket: str) -> None:
    s3 = lab.client("s3")
    started = s3.create_multipart_upload(Bucket=bucket, Key="video.mp4")
    s3.upload_part(
        Bucket=bucket, Key="video.mp4", UploadId=started["UploadId"], PartNumber=1, Body=PHOTO
    )
    assert [(u.key, u.size) for u in edge.uploads(bucket)] == [("video.mp4", len(PHOTO))]
