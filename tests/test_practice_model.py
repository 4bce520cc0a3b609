"""The Virginia practice model crosswalk: the YAML encodes exactly the source's mapping, covers
every QSR indicator, and its risk rules hold for any ratings."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from qpr_rules import Engine
from qpr_rules.facts.practice_model import ChildFamilyStatus, PracticePerformance
from qpr_rules.policy.conditions import fact_paths

ROOT = Path(__file__).resolve().parents[1]
ENGINE = Engine.load([ROOT / "policies" / "practice_model.yaml"])
INDEPENDENCE_AGE = 14  # parameters.independence_age (checked below)
STATUS = list(ChildFamilyStatus.model_fields)
PRACTICE = list(PracticePerformance.model_fields)

# The crosswalk as the source lists it (status indicators, practice indicators), with its two
# inconsistencies resolved as the clause note says: "4 – Teaming" is Teaming (2), and
# "Tracking and Adjusting" is indicator 11, Tracking and Adjustment.
SOURCE = {
    "safety": ({"1a", "1b"}, {"1a", "1b", "2", "4", "5", "6"}),
    "family-driven": (set(), {"1a", "1b", "2", "3", "10"}),
    "families": ({"2", "3", "4", "8", "9"}, {"1a", "1b", "2", "3", "4", "7", "8", "10"}),
    "permanency": ({"2", "3", "4"}, {"1a", "4", "5", "6", "7", "11"}),
    "partnering": ({"5", "6", "7a", "7b"}, {"1a", "2", "8", "9", "11"}),
    "how-we-work": (set(), {"1b", "2", "8"}),
}


def number(field: str) -> str:
    return field[1:].split("_", 1)[0]


def crosswalk() -> dict[str, set[str]]:
    """Which indicator fields each belief's at-risk rule reads, derived from the loaded policy."""
    spec = ENGINE.spec("practice_model.beliefs")
    return {r.id.split(".")[2]: fact_paths(r.condition) - {"child_age"}  # age: is 8 rated yet
            for r in spec.rules if r.id.endswith(".at-risk")}


def test_the_yaml_encodes_the_source_crosswalk() -> None:
    derived = crosswalk()
    assert set(derived) == set(SOURCE)
    for belief, (status, practice) in SOURCE.items():
        expected = {f"status.{f}" for f in STATUS if number(f) in status}
        expected |= {f"practice.{f}" for f in PRACTICE if number(f) in practice}
        assert derived[belief] == expected, belief


def test_every_indicator_maps_to_a_belief_and_every_belief_to_an_indicator() -> None:
    read = set().union(*crosswalk().values())
    unmapped = [f"status.{f}" for f in STATUS if f"status.{f}" not in read]
    unmapped += [f"practice.{f}" for f in PRACTICE if f"practice.{f}" not in read]
    assert unmapped == []
    assert all(paths for paths in crosswalk().values())


def test_every_principle_is_cited_by_its_belief_rules() -> None:
    policy = ENGINE.spec("practice_model.beliefs").file.policy
    principles = {c.id for c in policy.clauses if c.id.count(".") == 2}
    cited = {c for r in policy.rules if r.id.endswith(".at-risk") for c in r.clauses}
    assert len(principles) == 36 and principles <= cited


def test_the_source_inconsistencies_are_explained() -> None:
    note = next(c.note for c in ENGINE.spec("practice_model.beliefs").file.policy.clauses
                if c.id == "crosswalk.protocol-elements")
    assert note and "4 – Teaming" in note and "Tracking and Adjusting" in note


ratings = st.one_of(st.none(), st.integers(1, 6))


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({f: ratings for f in STATUS}), st.fixed_dictionaries({f: ratings for f in PRACTICE}),
       st.integers(0, 21))
def test_a_belief_is_at_risk_exactly_when_a_mapped_indicator_is_unacceptable(
    status: dict[str, int | None], practice: dict[str, int | None], age: int
) -> None:
    # "7a or 7b": a rating given counts, whichever it is; the pair is unrated only when neither is
    # rated (issue 19.3). "8 - Pathway to Independence" unrated is not rated only from the
    # parameter independence_age (14); a rating given counts at any age.
    facts = {"child_age": age, "status": {k: v for k, v in status.items() if v is not None},
             "practice": {k: v for k, v in practice.items() if v is not None}}
    decision = ENGINE.decide("practice_model.beliefs", facts)
    assert decision.status != "error", decision.errors
    fired = {r.id for r in decision.fired}
    by_number = {number(k): v for k, v in status.items()}
    for belief, (s, p) in SOURCE.items():
        mapped = [v for k, v in status.items() if number(k) in s] + [v for k, v in practice.items() if number(k) in p]
        at_risk = any(v is not None and v < 4 for v in mapped)
        assert (f"practice_model.beliefs.{belief}.at-risk" in fired) == at_risk
        unrated = [v is None for k, v in status.items() if number(k) in s - {"7a", "7b", "8"}]
        unrated += [v is None for k, v in practice.items() if number(k) in p]
        if {"7a", "7b"} <= s:
            unrated.append(by_number["7a"] is None and by_number["7b"] is None)
        if "8" in s:
            unrated.append(by_number["8"] is None and age >= INDEPENDENCE_AGE)
        assert (f"practice_model.beliefs.{belief}.not-rated" in fired) == any(unrated), belief
    if not any(r.id.endswith((".at-risk", ".not-rated")) for r in decision.fired):
        assert decision.outcome == "supported"


def test_the_independence_age_matches_the_policy_parameter() -> None:
    params = ENGINE.spec("practice_model.beliefs").file.policy.parameters
    assert params["independence_age"].value == INDEPENDENCE_AGE
    assert "school_age" not in params  # "7a or 7b" reads no age (issue 19.3)


def test_principles_no_indicator_checks_are_marked_as_cited_for_context() -> None:
    # Issue 19.3: "the first consideration for placement will be with kinship connections" and
    # "We separate caregivers who present a threat" are cited by their belief's at-risk rule, but
    # no QSR indicator measures them: the clause index must not make them look encoded.
    clauses = {c.id: c for c in ENGINE.spec("practice_model.beliefs").file.policy.clauses}
    for cid in ("belief.families.5", "belief.safety.5"):
        clause = clauses[cid]
        assert not clause.computable, cid
        assert clause.reason and "cited for context" in clause.reason.lower(), cid
