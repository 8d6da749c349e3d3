"""Global Accelerator in the sandbox: the API (moto has none), health checks and routing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError, EndpointConnectionError

import labkit
from labkit import facts
from labkit.lab import Lab
from labkit.services.edge import patch as edge
from labkit.services.globalaccelerator.patch import route_for
from labkit.services.globalaccelerator.patch_models import observed_health

VIRGINIA = "i-0aaaaaaaaaaaaaaa1"
IRELAND = "i-0bbbbbbbbbbbbbbb2"
TOKYO = "i-0ccccccccccccccc3"


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


@pytest.fixture
def ga(lab: Lab) -> Any:
    return lab.client("globalaccelerator", region="us-west-2")


def _accelerator(ga: Any, **listener: Any) -> tuple[dict[str, Any], str]:
    accelerator = ga.create_accelerator(Name="web", IdempotencyToken="a1")["Accelerator"]
    created = ga.create_listener(
        AcceleratorArn=accelerator["AcceleratorArn"],
        PortRanges=[{"FromPort": 80, "ToPort": 80}],
        Protocol="TCP",
        IdempotencyToken="l1",
        **listener,
    )["Listener"]
    return accelerator, created["ListenerArn"]


def _group(ga: Any, listener: str, region: str, *endpoints: str, **settings: Any) -> str:
    group = ga.create_endpoint_group(
        ListenerArn=listener,
        EndpointGroupRegion=region,
        IdempotencyToken=f"g-{region}",
        EndpointConfigurations=[{"EndpointId": e} for e in endpoints],
        **settings,
    )["EndpointGroup"]
    return str(group["EndpointGroupArn"])


def _two_regions(lab: Lab, ga: Any, **listener: Any) -> tuple[dict[str, Any], str, str]:
    accelerator, listener_arn = _accelerator(ga, **listener)
    east = _group(ga, listener_arn, "us-east-1", VIRGINIA, HealthCheckIntervalSeconds=10)
    west = _group(ga, listener_arn, "eu-west-1", IRELAND, HealthCheckIntervalSeconds=10)
    lab.clock.advance(60)  # past the initial health checks
    return accelerator, east, west


def _health(ga: Any, group_arn: str) -> list[str]:
    group = ga.describe_endpoint_group(EndpointGroupArn=group_arn)["EndpointGroup"]
    return [d["HealthState"] for d in group["EndpointDescriptions"]]


# -- the API -------------------------------------------------------------------------------------
def test_the_api_answers_only_in_us_west_2(lab: Lab) -> None:
    with pytest.raises(EndpointConnectionError):
        lab.client("globalaccelerator", region="us-east-1").list_accelerators()
    ga = lab.client("globalaccelerator", region="us-west-2")
    assert ga.list_accelerators()["Accelerators"] == []  # stock moto: no such service


def test_an_accelerator_has_two_static_anycast_ips_and_deploys_on_the_clock(
    lab: Lab, ga: Any
) -> None:
    accelerator = ga.create_accelerator(Name="web", IdempotencyToken="t")["Accelerator"]
    ips = accelerator["IpSets"][0]["IpAddresses"]
    assert len(ips) == facts.value("global_accelerator.static_ipv4_addresses") == 2
    assert accelerator["DnsName"].endswith(".awsglobalaccelerator.com")
    assert accelerator["Status"] == "IN_PROGRESS" and accelerator["Enabled"] is True
    lab.clock.advance(60)
    described = ga.describe_accelerator(AcceleratorArn=accelerator["AcceleratorArn"])
    assert described["Accelerator"]["Status"] == "DEPLOYED"
    again = ga.create_accelerator(Name="web", IdempotencyToken="t")["Accelerator"]
    assert again["AcceleratorArn"] == accelerator["AcceleratorArn"]  # idempotent


def test_listener_port_ranges_are_validated(ga: Any) -> None:
    accelerator = ga.create_accelerator(Name="web", IdempotencyToken="t")["Accelerator"]
    with pytest.raises(ClientError) as caught:
        ga.create_listener(
            AcceleratorArn=accelerator["AcceleratorArn"],
            PortRanges=[{"FromPort": 443, "ToPort": 80}],
            Protocol="TCP",
            IdempotencyToken="x",
        )
    assert caught.value.response["Error"]["Code"] == "InvalidPortRangeException"
    udp = ga.create_listener(
        AcceleratorArn=accelerator["AcceleratorArn"],
        PortRanges=[{"FromPort": 5000, "ToPort": 5010}],
        Protocol="UDP",
        ClientAffinity="SOURCE_IP",
        IdempotencyToken="u",
    )["Listener"]
    assert (udp["Protocol"], udp["ClientAffinity"]) == ("UDP", "SOURCE_IP")


def test_endpoint_group_defaults_come_from_the_fact_table(ga: Any) -> None:
    _accel, listener = _accelerator(ga)
    group = ga.create_endpoint_group(
        ListenerArn=listener,
        EndpointGroupRegion="us-east-1",
        IdempotencyToken="g",
        EndpointConfigurations=[{"EndpointId": VIRGINIA}],
    )["EndpointGroup"]
    assert group["HealthCheckIntervalSeconds"] == 30
    assert group["HealthCheckIntervalSeconds"] == facts.value(
        "global_accelerator.health_check_interval_default"
    )
    assert group["ThresholdCount"] == facts.value("global_accelerator.threshold_count_default")
    assert group["TrafficDialPercentage"] == 100.0
    assert group["HealthCheckPort"] == 80 and group["HealthCheckProtocol"] == "TCP"
    assert group["EndpointDescriptions"][0]["Weight"] == facts.value(
        "global_accelerator.endpoint_weight_default"
    )
    assert group["EndpointDescriptions"][0]["HealthState"] == "INITIAL"


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        ({"HealthCheckIntervalSeconds": 15}, "InvalidArgumentException"),
        ({"ThresholdCount": 11}, "InvalidArgumentException"),
        ({"TrafficDialPercentage": 101.0}, "InvalidArgumentException"),
        ({"EndpointGroupRegion": "mars-north-1"}, "InvalidArgumentException"),
    ],
)
def test_endpoint_group_settings_are_validated(
    ga: Any, settings: dict[str, Any], code: str
) -> None:
    _accel, listener = _accelerator(ga)
    arguments = {
        "ListenerArn": listener,
        "EndpointGroupRegion": "us-east-1",
        "IdempotencyToken": "g",
    }
    arguments.update(settings)
    with pytest.raises(ClientError) as caught:
        ga.create_endpoint_group(**arguments)
    assert caught.value.response["Error"]["Code"] == code


def test_one_endpoint_group_per_region_per_listener(ga: Any) -> None:
    _accel, listener = _accelerator(ga)
    _group(ga, listener, "us-east-1", VIRGINIA)
    with pytest.raises(ClientError) as caught:
        _group(ga, listener, "us-east-1", VIRGINIA)
    assert caught.value.response["Error"]["Code"] == "EndpointGroupAlreadyExistsException"


def test_deleting_follows_aws_order(ga: Any) -> None:
    accelerator, listener = _accelerator(ga)
    group = _group(ga, listener, "us-east-1", VIRGINIA)
    arn = accelerator["AcceleratorArn"]
    with pytest.raises(ClientError) as enabled:
        ga.delete_accelerator(AcceleratorArn=arn)
    assert enabled.value.response["Error"]["Code"] == "AcceleratorNotDisabledException"
    ga.update_accelerator(AcceleratorArn=arn, Enabled=False)
    with pytest.raises(ClientError) as listeners:
        ga.delete_accelerator(AcceleratorArn=arn)
    assert listeners.value.response["Error"]["Code"] == "AssociatedListenerFoundException"
    with pytest.raises(ClientError) as groups:
        ga.delete_listener(ListenerArn=listener)
    assert groups.value.response["Error"]["Code"] == "AssociatedEndpointGroupFoundException"
    ga.delete_endpoint_group(EndpointGroupArn=group)
    ga.delete_listener(ListenerArn=listener)
    ga.delete_accelerator(AcceleratorArn=arn)
    with pytest.raises(ClientError) as gone:
        ga.describe_accelerator(AcceleratorArn=arn)
    assert gone.value.response["Error"]["Code"] == "AcceleratorNotFoundException"


def test_endpoints_are_added_updated_and_removed(ga: Any) -> None:
    _accel, listener = _accelerator(ga)
    group = _group(ga, listener, "us-east-1", VIRGINIA)
    added = ga.add_endpoints(
        EndpointGroupArn=group, EndpointConfigurations=[{"EndpointId": "i-0dddd", "Weight": 0}]
    )
    assert [d["EndpointId"] for d in added["EndpointDescriptions"]] == ["i-0dddd"]
    ga.remove_endpoints(EndpointGroupArn=group, EndpointIdentifiers=[{"EndpointId": VIRGINIA}])
    described = ga.describe_endpoint_group(EndpointGroupArn=group)["EndpointGroup"]
    assert [(d["EndpointId"], d["Weight"]) for d in described["EndpointDescriptions"]] == [
        ("i-0dddd", 0)
    ]


def test_tags(ga: Any) -> None:
    accelerator, _listener = _accelerator(ga)
    arn = accelerator["AcceleratorArn"]
    ga.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "edge"}])
    assert ga.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "edge"}]
    ga.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert ga.list_tags_for_resource(ResourceArn=arn)["Tags"] == []


# -- health checks on the clock ---------------------------------------------------------------
def test_health_needs_threshold_consecutive_checks() -> None:
    # probes every 10 s; 3 in a row decide; the endpoint fails at t=100 and comes back at t=200
    outage = [[(100.0, True), (200.0, False)]]
    assert observed_health(0, 10, 3, outage, 25) == "INITIAL"
    assert observed_health(0, 10, 3, outage, 30) == "HEALTHY"
    assert observed_health(0, 10, 3, outage, 119) == "HEALTHY"  # 2 failed probes: not yet
    assert observed_health(0, 10, 3, outage, 120) == "UNHEALTHY"
    assert observed_health(0, 10, 3, outage, 219) == "UNHEALTHY"
    assert observed_health(0, 10, 3, outage, 220) == "HEALTHY"
    blip = [[(100.0, True), (115.0, False)]]  # two failed probes only: never unhealthy
    assert all(observed_health(0, 10, 3, blip, t) == "HEALTHY" for t in range(30, 300, 5))


def test_a_failed_region_turns_unhealthy_after_interval_times_threshold(lab: Lab, ga: Any) -> None:
    _acc, east, _west = _two_regions(lab, ga)
    assert _health(ga, east) == ["HEALTHY"]
    edge.fail_region("us-east-1")
    # Probes every 10 s; 3 failed probes in a row: noticed after 20-30 s, depending on phase.
    lab.clock.advance(19)
    assert _health(ga, east) == ["HEALTHY"]
    lab.clock.advance(11)
    assert _health(ga, east) == ["UNHEALTHY"]
    reason = ga.describe_endpoint_group(EndpointGroupArn=east)["EndpointGroup"]
    assert reason["EndpointDescriptions"][0]["HealthReason"] == "Timeout"
    edge.restore_region("us-east-1")
    lab.clock.advance(30)
    assert _health(ga, east) == ["HEALTHY"]


# -- routing ------------------------------------------------------------------------------------
def test_each_viewer_goes_to_the_nearest_endpoint_group(lab: Lab, ga: Any) -> None:
    accelerator, _east, _west = _two_regions(lab, ga)
    arn = accelerator["AcceleratorArn"]
    assert route_for(arn, "New York").endpoint_id == VIRGINIA
    paris = route_for(arn, "Paris")
    assert (paris.endpoint_id, paris.edge.code) == (IRELAND, "CDG")
    assert paris.latency_ms < paris.direct_ms  # the AWS backbone beats the public internet


def test_traffic_moves_to_the_next_region_when_health_checks_notice(lab: Lab, ga: Any) -> None:
    accelerator, _east, _west = _two_regions(lab, ga)
    arn = accelerator["AcceleratorArn"]
    edge.fail_region("us-east-1")
    during = route_for(arn, "New York")
    assert (during.endpoint_id, during.healthy) == (VIRGINIA, False)  # not detected yet
    with pytest.raises(requests.ConnectionError, match="timed out"):
        requests.get(f"http://{accelerator['DnsName']}/", headers={"X-Labkit-Viewer": "New York"})
    lab.clock.advance(30)
    after = route_for(arn, "New York")
    assert (after.endpoint_id, after.reason, after.healthy) == (IRELAND, "failover", True)


def test_when_nothing_is_healthy_traffic_fails_open_to_the_nearest_group(lab: Lab, ga: Any) -> None:
    accelerator, _east, _west = _two_regions(lab, ga)
    edge.fail_region("us-east-1")
    edge.fail_region("eu-west-1")
    lab.clock.advance(30)
    chosen = route_for(accelerator["AcceleratorArn"], "New York")
    assert (chosen.reason, chosen.endpoint_id) == ("fail-open", VIRGINIA)


def test_a_traffic_dial_of_zero_sends_a_regions_traffic_elsewhere(lab: Lab, ga: Any) -> None:
    accelerator, east, _west = _two_regions(lab, ga)
    ga.update_endpoint_group(EndpointGroupArn=east, TrafficDialPercentage=0.0)
    chosen = route_for(accelerator["AcceleratorArn"], "New York")
    assert (chosen.endpoint_id, chosen.reason) == (IRELAND, "traffic-dial")


def test_a_traffic_dial_splits_a_trace(lab: Lab, ga: Any) -> None:
    accelerator, east, _west = _two_regions(lab, ga)
    ga.update_endpoint_group(EndpointGroupArn=east, TrafficDialPercentage=25.0)
    url = f"http://{accelerator['DnsName']}/"
    report = edge.replay([(i * 0.1, url, "New York") for i in range(2000)])
    regions = Counter(r.served_by.split(":")[0] for r in report.results)
    assert regions["us-east-1"] / 2000 == pytest.approx(0.25, abs=0.04)
    assert regions["eu-west-1"] / 2000 == pytest.approx(0.75, abs=0.04)


def test_weights_share_a_group_and_source_ip_affinity_sticks(lab: Lab, ga: Any) -> None:
    _accel, listener = _accelerator(ga)
    group = _group(ga, listener, "us-east-1", VIRGINIA, HealthCheckIntervalSeconds=10)
    ga.update_endpoint_group(
        EndpointGroupArn=group,
        EndpointConfigurations=[
            {"EndpointId": VIRGINIA, "Weight": 200},
            {"EndpointId": "i-0eeeeeeeeeeeeeee5", "Weight": 50},
        ],
    )
    lab.clock.advance(60)
    accelerator = ga.list_accelerators()["Accelerators"][0]
    url = f"http://{accelerator['IpSets'][0]['IpAddresses'][0]}/"
    report = edge.replay([(i * 0.1, url, "New York") for i in range(1000)])
    share = Counter(r.served_by for r in report.results)[f"us-east-1:{VIRGINIA}"] / 1000
    assert share == pytest.approx(0.8, abs=0.05)
    ga.update_listener(ListenerArn=listener, ClientAffinity="SOURCE_IP")
    sticky = edge.replay([(i * 0.1, url, "New York") for i in range(200)])
    assert len({r.served_by for r in sticky.results}) == 1


def test_http_through_the_accelerator_reaches_a_lesson_server(lab: Lab, ga: Any) -> None:
    accelerator, _east, _west = _two_regions(lab, ga)
    edge.serve(IRELAND, lambda request: (200, {"Content-Type": "text/plain"}, "eu app"))
    with edge.viewer("Paris"):
        answer = requests.get(f"http://{accelerator['IpSets'][0]['IpAddresses'][1]}/")
    assert answer.text == "eu app"
    assert answer.headers["X-Labkit-Endpoint-Region"] == "eu-west-1"
    default = requests.get(f"http://{accelerator['DnsName']}/")
    assert default.text == f"Hello from {VIRGINIA} in us-east-1\n"
    with pytest.raises(requests.ConnectionError, match="refused"):
        requests.get(f"http://{accelerator['DnsName']}:8080/")


def test_reset_and_isolated_worlds_cover_accelerators(lab: Lab, ga: Any) -> None:
    _accelerator(ga)
    with lab.sandbox.isolated():
        isolated = lab.client("globalaccelerator", region="us-west-2")
        assert isolated.list_accelerators()["Accelerators"] == []
        isolated.create_accelerator(Name="check", IdempotencyToken="c")
    names = [a["Name"] for a in ga.list_accelerators()["Accelerators"]]
    assert names == ["web"]
    lab.reset()
    assert ga.list_accelerators()["Accelerators"] == []
