"""The Transfer Acceleration view: the bucket's setting, upload times by city, recent uploads."""

from __future__ import annotations

import pytest
from botocore.config import Config

from labkit import edge
from labkit.lab import Lab
from labkit.services.edge.sim_locations import UnknownLocationError
from labkit.services.s3.state import BucketNotFoundError

BUCKET = "photo-uploads"


@pytest.fixture
def bucket(lab: Lab) -> str:
    lab.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


def test_the_setting_and_the_comparison_are_in_words_in_both_forms(lab: Lab, bucket: str) -> None:
    view = edge.acceleration_view(bucket, cities=["Sydney", "Ashburn"], hold=True)
    for form in (view.to_text(), view.to_html()):
        assert "✗ Transfer Acceleration never turned on" in form
        assert "not configured on this bucket" in form
        assert "⚡" in form and "faster accelerated" in form  # Sydney
        assert "≈ no real gain" in form  # next to us-east-1
        assert "SYD (Sydney)" in form and "IAD (Ashburn)" in form
        assert "No upload has reached this bucket yet." in form
    assert 'class="labkit-view labkit-acceleration"' in view.to_html()


def test_a_live_view_shows_the_setting_and_uploads_as_they_come(lab: Lab, bucket: str) -> None:
    live = edge.acceleration_view(bucket, cities=["Sydney"], size=1_000_000)
    held = edge.acceleration_view(bucket, cities=["Sydney"], hold=True)
    lab.client("s3").put_bucket_accelerate_configuration(
        Bucket=bucket, AccelerateConfiguration={"Status": "Enabled"}
    )
    fast = lab.client("s3", config=Config(s3={"use_accelerate_endpoint": True}))
    with edge.viewer("Sydney"):
        fast.put_object(Bucket=bucket, Key="beach.jpg", Body=b"p" * 2_000_000)
    live.refresh()
    held.refresh()
    text = live.to_text()
    assert "✓ Transfer Acceleration Enabled" in text and "Uploading 1.0 MB" in text
    assert "beach.jpg" in text and "⚡ accelerated via SYD" in text and "2.0 MB" in text
    assert "never turned on" in held.to_text() and "beach.jpg" not in held.to_text()


def test_an_unknown_bucket_or_city_is_named(lab: Lab, bucket: str) -> None:
    with pytest.raises(BucketNotFoundError, match="nope"):
        edge.acceleration_view("nope")
    with pytest.raises(UnknownLocationError, match="Atlantis"):
        edge.acceleration_view(bucket, cities=["Atlantis"])
