"""Experiments: stable keyed assignment, weights, rotation, and event records."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from typing import Any

import pytest

from safespace.deter import OUTCOMES, DecisionRequest, Deterrer, load_data
from safespace.deter._experiments import Arm, Assigner, Experiment
from safespace.errors import InvalidInput

SECRET = b"test-secret-0123456789abcdef"
DAY = 86_400.0


def _experiment(weights: tuple[float, ...] = (1, 1, 1), days: float = 30) -> Experiment:
    arms = tuple(Arm(f"arm{i}", "neutral", False, w) for i, w in enumerate(weights))
    return Experiment("exp", ("search",), "arm0", arms, days, None, True)


def test_assignment_is_stable_within_a_period() -> None:
    a = Assigner(SECRET)
    exp = _experiment()
    t0 = 30 * DAY * 1000  # the start of a period
    for i in range(200):
        first, epoch = a.assign(exp, f"user-{i}", t0 + 1)
        again, epoch2 = Assigner(SECRET).assign(exp, f"user-{i}", t0 + 29 * DAY)
        assert (first, epoch) == (again, epoch2)


def test_assignment_changes_with_period_and_secret() -> None:
    exp = _experiment(weights=(1,) * 8)
    t0 = 30 * DAY * 1000 + 1
    now = [Assigner(SECRET).assign(exp, f"u{i}", t0)[0].id for i in range(400)]
    later = [Assigner(SECRET).assign(exp, f"u{i}", t0 + 30 * DAY)[0].id for i in range(400)]
    other = [Assigner(b"another-secret-0123456789")
             .assign(exp, f"u{i}", t0)[0].id for i in range(400)]  # fmt: skip
    # With 8 arms, about 1 in 8 stays the same by chance; far from all of them.
    assert sum(x == y for x, y in zip(now, later, strict=True)) < 100
    assert sum(x == y for x, y in zip(now, other, strict=True)) < 100
    assert Assigner(SECRET).assign(exp, "u", t0 + 30 * DAY)[1] == 1001


def test_weights_are_respected() -> None:
    exp = _experiment(weights=(2, 1, 1))
    a = Assigner(SECRET)
    n = 20_000
    counts = Counter(a.assign(exp, f"pseudonym-{i}", 5.0)[0].id for i in range(n))
    expected = {"arm0": n / 2, "arm1": n / 4, "arm2": n / 4}
    chi2 = sum((counts[k] - e) ** 2 / e for k, e in expected.items())
    assert chi2 < 13.8  # chi-square, 2 degrees of freedom, p = 0.001


def test_zero_weight_arm_is_never_assigned() -> None:
    exp = _experiment(weights=(1, 0, 1))
    a = Assigner(SECRET)
    assert not any(a.assign(exp, f"p{i}", 5.0)[0].id == "arm1" for i in range(2000))


def test_empty_pseudonym_is_random() -> None:
    exp = _experiment(weights=(1,) * 4)
    arms = {Assigner(SECRET).assign(exp, "", 5.0)[0].id for _ in range(200)}
    assert len(arms) > 1


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Assigner(b"short")


def _enabled(make_dir: Any) -> Any:
    from safespace.deter import DEFAULT_DATA_DIR

    text = (DEFAULT_DATA_DIR / "experiments.yaml").read_text().replace("enabled: false", "")
    return make_dir({"experiments.yaml": text})


def test_decisions_carry_experiment_arm_and_matching_variant(make_dir: Any) -> None:
    d = Deterrer(load_data(_enabled(make_dir)), SECRET, clock=lambda: 1_800_000_000.0)
    seen: dict[str, str] = {}
    for i in range(300):
        decision = d.decide(DecisionRequest("search", "teen sex", session=f"s{i}"))
        assert decision.experiment == "search-messages-example"
        assert decision.epoch == int(1_800_000_000 // (30 * DAY))
        arm = d.data.experiments.experiments[0].arm(decision.arm or "")
        assert decision.intervention.variant == arm.variant
        assert decision.intervention.kind == ("chatbot" if arm.chatbot else "warning")
        seen[arm.id] = decision.intervention.title
    assert len(seen) == 6
    assert seen["neutral"] == "No results"
    again = d.decide(DecisionRequest("search", "k1ds n00ds nude", session="s7"))
    first = d.decide(DecisionRequest("search", "teen sex", session="s7"))
    assert again.arm == first.arm  # one person, one arm
    upload = d.decide(DecisionRequest("upload", session="s7", upload_matched=True))
    assert upload.experiment is None  # the example experiment does not cover uploads


# --- events and privacy -----------------------------------------------------------------------


def test_events_hold_no_query_text_by_default(deterrer: Deterrer) -> None:
    decision = deterrer.decide(DecisionRequest("search", "teen sex", session="pseud-1"))
    assert decision.query_text is None
    event = decision.event()
    assert event.type == "shown"
    assert event.pseudonym == "pseud-1"
    assert event.rule_id == "builtin-minor-sexual"
    assert event.query_text is None
    assert "teen" not in str(event.to_dict())
    assert "teen" not in str(decision.to_dict())
    fields = {f.name for f in dataclasses.fields(event)}
    assert fields >= {"event_id", "pseudonym", "rule_id", "arm", "type"}


def test_outcome_events_link_to_the_decision(deterrer: Deterrer) -> None:
    decision = deterrer.decide(DecisionRequest("search", "teen sex", session="p"))
    at = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    for outcome in OUTCOMES:
        event = decision.event(outcome, at=at)
        assert (event.event_id, event.type, event.occurred_at) == (decision.event_id, outcome, at)
    with pytest.raises(InvalidInput, match="unknown outcome"):
        decision.event("clicked")


def test_operator_may_store_query_text(build: Any) -> None:
    d = build(None, store_query_text=True)
    decision = d.decide(DecisionRequest("search", "teen sex", session="p"))
    assert decision.event().query_text == "teen sex"


def test_event_ids_are_unique(deterrer: Deterrer) -> None:
    ids = {deterrer.decide(DecisionRequest("search", "teen sex")).event_id for _ in range(100)}
    assert len(ids) == 100


def test_plan_sample_size(data: Any) -> None:
    from safespace.deter._experiments import Plan
    from safespace.deter._stats import sample_size_two_proportions

    assert Plan(0.27, 0.40).per_arm() == sample_size_two_proportions(0.27, 0.40) == 206
    plan = data.experiments.experiments[0].plan
    assert plan.looks == 4
    fixed = sample_size_two_proportions(plan.baseline, plan.target)
    assert fixed < plan.per_arm() < fixed * 1.05
