"""Health states of instance and IP targets (the rules of the ALB's health checks) and routing."""

from __future__ import annotations

from labkit.services.elbv2.sim_targets import RoundRobin, TargetState, matches, routable


def _checks(target: TargetState, results: list[bool]) -> list[str]:
    states = []
    for passed in results:
        target.record(passed, 200 if passed else 500, healthy_after=5, unhealthy_after=2)
        states.append(target.state)
    return states


def test_a_new_target_needs_one_passed_check() -> None:
    target = TargetState("10.0.0.5", 8080)
    assert (target.state, target.reason) == ("initial", "Elb.InitialHealthChecking")
    assert _checks(target, [True]) == ["healthy"]
    assert target.reason is None


def test_unhealthy_after_the_threshold_and_back_after_healthy_threshold() -> None:
    target = TargetState("10.0.0.5", 8080, state="healthy", reason=None, description=None)
    assert _checks(target, [False]) == ["healthy"]  # one failure keeps it in service
    assert _checks(target, [False]) == ["unhealthy"]
    assert target.reason == "Target.ResponseCodeMismatch"
    assert target.description == "Health checks failed with these codes: [500]"
    assert _checks(target, [True] * 4) == ["unhealthy"] * 4
    assert _checks(target, [True]) == ["healthy"]


def test_an_initial_target_that_never_answers_turns_unhealthy() -> None:
    target = TargetState("10.0.0.6", 8080)
    target.record(False, None, healthy_after=5, unhealthy_after=2)
    assert target.state == "initial"
    target.record(False, None, healthy_after=5, unhealthy_after=2)
    assert (target.state, target.reason) == ("unhealthy", "Target.FailedHealthChecks")


def test_matcher_codes_lists_and_ranges() -> None:
    assert matches("200", 200) and not matches("200", 204)
    assert matches("200,202", 202) and not matches("200,202", 201)
    assert matches("200-299", 250) and not matches("200-299", 302)


def test_routing_prefers_healthy_and_fails_open() -> None:
    good = TargetState("a", 1, state="healthy")
    bad = TargetState("b", 1, state="unhealthy")
    assert routable([good, bad]) == [good]
    assert routable([bad]) == [bad]  # all unhealthy: the load balancer fails open
    picker = RoundRobin()
    both = [TargetState("a", 1, state="healthy"), TargetState("b", 1, state="healthy")]
    assert [picker.pick(both).target_id for _ in range(4)] == ["a", "b", "a", "b"]  # type: ignore[union-attr]
    assert picker.pick([]) is None
