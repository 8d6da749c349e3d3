"""Snowball Edge: job lifecycles on a clock, AWS's refusals, and network-or-device sizing."""

from __future__ import annotations

from typing import Any

import pytest

from labkit import facts
from labkit.clock import Clock
from labkit.services.snowball.sim_calculator import (
    CalculatorInputError,
    devices_needed,
    estimate,
    network_seconds,
)
from labkit.services.snowball.sim_jobs import (
    DAY,
    EXPORT_STATES,
    IMPORT_STATES,
    TB,
    JobNotFoundError,
    SnowballError,
    SnowballJobs,
)

BUCKET = {"S3Resources": [{"BucketArn": "arn:aws:s3:::archive"}]}


def jobs_on(clock: Clock) -> SnowballJobs:
    return SnowballJobs(lambda: clock.timestamp)


def states_seen(clock: Clock, jobs: SnowballJobs, job_id: str) -> list[str]:
    seen: list[str] = []
    for _ in range(60):
        state = jobs.describe_job(JobId=job_id)["JobMetadata"]["JobState"]
        if not seen or seen[-1] != state:
            seen.append(state)
        clock.advance(6 * 3600)
    return seen


@pytest.mark.parametrize(
    ("job_type", "order"), [("IMPORT", IMPORT_STATES), ("EXPORT", EXPORT_STATES)]
)
def test_a_job_walks_awss_states_in_order_on_the_clock(
    job_type: str, order: tuple[str, ...]
) -> None:
    clock = Clock()
    jobs = jobs_on(clock)
    job_id = jobs.create_job(JobType=job_type, Resources=BUCKET, DataSizeBytes=50 * TB)["JobId"]
    assert states_seen(clock, jobs, job_id) == list(order)


def test_a_bigger_data_set_takes_longer_to_copy() -> None:
    clock = Clock()
    jobs = jobs_on(clock)
    small = jobs.create_job(JobType="IMPORT", Resources=BUCKET, DataSizeBytes=1 * TB)["JobId"]
    large = jobs.create_job(JobType="IMPORT", Resources=BUCKET, DataSizeBytes=200 * TB)["JobId"]
    clock.advance(12 * DAY)
    state = {e["JobId"]: e["JobState"] for e in jobs.list_jobs()["JobListEntries"]}
    assert state[small] == "Complete" and state[large] != "Complete"


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"JobType": "TRANSFER", "Resources": BUCKET}, "no Region-to-Region job"),
        ({"JobType": "IMPORT", "Resources": {}}, "names its S3 bucket"),
        ({"JobType": "IMPORT", "Resources": BUCKET, "SnowballType": "EDGE_S"}, "not offered"),
        (
            {"JobType": "IMPORT", "Resources": BUCKET, "DataSizeBytes": 300 * TB},
            "one job per device",
        ),
    ],
)
def test_requests_aws_refuses_are_refused_with_the_reason(
    arguments: dict[str, Any], words: str
) -> None:
    with pytest.raises(SnowballError) as raised:
        jobs_on(Clock()).create_job(**arguments)
    assert words in str(raised.value)


def test_a_job_can_be_cancelled_only_while_new() -> None:
    clock = Clock()
    jobs = jobs_on(clock)
    first = jobs.create_job(JobType="IMPORT", Resources=BUCKET)["JobId"]
    jobs.cancel_job(JobId=first)
    assert jobs.describe_job(JobId=first)["JobMetadata"]["JobState"] == "Cancelled"
    second = jobs.create_job(JobType="IMPORT", Resources=BUCKET)["JobId"]
    clock.advance(DAY)
    with pytest.raises(SnowballError, match="only while it is New"):
        jobs.cancel_job(JobId=second)
    with pytest.raises(JobNotFoundError):
        jobs.describe_job(JobId="JID-nope")
    assert jobs.get_snowball_usage() == {
        "SnowballLimit": facts.value("snowball.default_device_limit"),
        "SnowballsInUse": 1,
    }


def test_network_time_follows_size_bandwidth_and_utilisation() -> None:
    one_tb_at_1gbps = network_seconds(TB, 1e9, utilisation=1.0)
    assert one_tb_at_1gbps == pytest.approx(8000)
    assert network_seconds(TB, 1e9, utilisation=0.5) == pytest.approx(2 * one_tb_at_1gbps)
    assert network_seconds(2 * TB, 1e9, utilisation=1.0) == pytest.approx(2 * one_tb_at_1gbps)
    with pytest.raises(CalculatorInputError, match=r"0\.8"):
        network_seconds(TB, 1e9, utilisation=80)
    with pytest.raises(CalculatorInputError):
        network_seconds(TB, 0)


def test_the_calculator_picks_snowball_only_when_the_network_is_slower() -> None:
    small = estimate(5 * TB, 1e9)
    assert small.choice == "network" and small.network_seconds < small.snowball_seconds
    huge = estimate(500 * TB, 100e6)
    assert huge.choice == "snowball" and huge.devices == devices_needed(500 * TB) == 3
    assert not estimate(500 * TB, 100e6, deadline_seconds=DAY).meets_deadline
    assert "choose snowball" in huge.text()
