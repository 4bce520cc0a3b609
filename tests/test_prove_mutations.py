"""The invariants are not restatements of their rules: break any rule that cites an invariant's
clause (delete it, or negate its condition) and `prove` must find a counterexample.

A rule whose deletion changes no answer for any valid fact (proved by the semantic diff) cannot
be caught by an invariant on outcomes; such rules are listed below with the reason, so a new
redundancy shows up as a failure here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from qpr_rules.analysis.prove import prove_invariant
from qpr_rules.analysis.semantic_diff import compare_decision
from qpr_rules.engine.engine import Engine
from qpr_rules.policy.condition_nodes import All, AnyOf, Condition, Not, Quantified
from qpr_rules.policy.condition_parser import has_disjunction
from qpr_rules.policy.loader import CompiledRule, PolicySet, load_policy_set

ROOT = Path(__file__).resolve().parents[1]
POLICIES: PolicySet = load_policy_set([ROOT / "policies"])

# rule id -> why no outcome invariant can catch its deletion (checked: deleting it changes no answer)
OUTCOME_REDUNDANT = {
    "qpr.placement.not-cleared-with-pco":
        "the decision's default is deny and the only allow rule needs the clearance; the rule adds "
        "the obligation to clear the home",
    "practice_model.beliefs.permanency.at-risk":
        "every indicator it reads is also read by another belief's at-risk rule; it adds the "
        "belief-specific obligation",
    "qpr.hold-placed.children-in-home":
        "its outcome is the decision's default (notify-regional-managers, the safe answer); the rule "
        "adds one notification duty per region of the children in the home",
}

# rule id -> why neither deleting nor negating it can change an answer (checked, both ways, by the
# semantic diff): its outcome is the default and the last in precedence, so it only carries duties
OUTCOME_INERT = {
    "qpr.actions.restrict-period":
        "allowed is qpr.actions' default and its weakest outcome; the rule adds the PCO's duty to "
        "place the hold and record the review date",
    "qpr.actions.none-proposed":
        "allowed is qpr.actions' default and its weakest outcome; the rule names the reading in the "
        "answer to an empty set of actions (\"may be taken\" permits, it does not oblige; issue 19.6)",
}


def _targets() -> list[tuple[str, CompiledRule]]:
    out: dict[str, tuple[str, CompiledRule]] = {}
    for inv in POLICIES.invariants:
        for did in inv.decisions.values():
            for rule in POLICIES.decisions[did].rules:
                if inv.invariant.clause in rule.rule.clauses:
                    out.setdefault(rule.id, (did, rule))
    return [out[k] for k in sorted(out)]


TARGETS = _targets()


def _durable_refuses(cond: Condition, negated: bool = False) -> bool:
    """Whether the loader would refuse cond for durable_rules (condition_parser: an item condition
    with alternatives checked for every item, `every` or `some` under `not`). Negating a rule
    whose `some` holds an `all` of several tests makes such a condition: a mutant no policy file
    can state, which durable_rules would answer wrongly: such a mutant is replayed on the compiled
    evaluator, which answers it exactly."""
    match cond:
        case Not(item=item):
            return _durable_refuses(item, not negated)
        case All(items=items) | AnyOf(items=items):
            return any(_durable_refuses(c, negated) for c in items)
        case Quantified(every=every, cond=inner):
            return (every != negated) and has_disjunction(inner, negated)
        case _:
            return False


def _mutated(did: str, rule: CompiledRule, kind: str) -> Engine:
    spec = POLICIES.decisions[did]
    if kind == "delete":
        rules = tuple(r for r in spec.rules if r is not rule)
    else:
        negated = dataclasses.replace(rule, condition=Not(rule.condition.loc, rule.condition))
        rules = tuple(negated if r is rule else r for r in spec.rules)
    decisions = {**POLICIES.decisions, did: dataclasses.replace(spec, rules=rules)}
    if kind == "negate" and _durable_refuses(Not(rule.condition.loc, rule.condition)):
        # a negation no policy file could state for durable_rules: replayed on the compiled path
        return Engine(dataclasses.replace(POLICIES, decisions=decisions), evaluator="compiled")
    return Engine(dataclasses.replace(POLICIES, decisions=decisions))


def _counterexamples(engine: Engine, did: str) -> list[str]:
    found = []
    for inv in POLICIES.invariants:
        if did not in inv.decisions.values():
            continue
        result = prove_invariant(engine, inv)
        # a mutation may also leave an invariant vacuous (no fact meets `when`): prove fails then too
        vacuous = result.status == "error" and result.message.startswith("vacuous")
        assert result.status in ("proved", "counterexample") or vacuous, (inv.id, result.status,
                                                                          result.message)
        if result.status == "counterexample":
            # a counterexample was replayed through Engine.decide: the mutated engine breaks it
            assert result.sides and all(s.outcome for s in result.sides)
            found.append(inv.id)
    return found


def test_every_invariant_clause_is_cited_by_a_rule() -> None:
    cited = {c for r in POLICIES.rules() for c in r.rule.clauses}
    assert POLICIES.invariants
    assert {inv.invariant.clause for inv in POLICIES.invariants} <= cited


def test_the_bundled_invariants_are_proved() -> None:
    engine = Engine(POLICIES)
    for inv in POLICIES.invariants:
        result = prove_invariant(engine, inv)
        assert result.status == "proved", (inv.id, result.status, result.message)


@pytest.mark.parametrize(("did", "rule"), TARGETS, ids=[r.id for _, r in TARGETS])
def test_breaking_a_cited_rule_is_caught(did: str, rule: CompiledRule) -> None:
    if rule.id in OUTCOME_INERT:
        for kind in ("delete", "negate"):
            changed = compare_decision(POLICIES.decisions[did], _mutated(did, rule, kind).spec(did))
            assert changed.verdict == "same", (rule.id, kind, changed.message, changed.example)
        return
    caught = {kind: _counterexamples(_mutated(did, rule, kind), did) for kind in ("delete", "negate")}
    if rule.id in OUTCOME_REDUNDANT:
        deleted = compare_decision(POLICIES.decisions[did], _mutated(did, rule, "delete").spec(did))
        assert deleted.verdict == "same", (rule.id, deleted.message, deleted.example)
        assert caught["negate"], f"negating {rule.id} is not caught by any invariant"
        return
    assert caught["delete"] or caught["negate"], (
        f"neither deleting nor negating {rule.id} breaks an invariant of {did}: the invariants citing "
        "its clauses restate it, or the rule is redundant (then list it in OUTCOME_REDUNDANT)")


def test_the_invariants_that_replaced_property_tests_exist() -> None:
    """Property tests that used to assert only in a rare branch now name the invariants that prove
    their property; each name must be a bundled invariant (proved by the test above)."""
    import re

    ids = {inv.id for inv in POLICIES.invariants}
    named: set[str] = set()
    for path in (ROOT / "tests").glob("test_*properties.py"):
        named |= set(re.findall(r"\b[a-z_]+\.inv\.[a-z0-9-]+[a-z0-9]", path.read_text(encoding="utf-8")))
    assert len(named) >= 15
    assert named <= ids, sorted(named - ids)


# computable clauses that say "not" without a prohibition an answer could break, with the reason
NO_INVARIANT = {
    ("practice_model", "belief.families.4"):
        "descriptive ('the past does not necessarily limit their potential'); the belief's ratings "
        "are covered by practice_model.inv.all-acceptable-supported",
    # the procedure's steps: the "not"/"only" is in the recorded reading, and what it guarantees is a
    # transition of procedure qpr.home (checked by `procedure check` and tests/test_procedure*.py),
    # not an answer of a decision an invariant could state
    ("qpr", "step2.assess-hold"):
        "reading of when a hold pending QPR ends: the QPR's outcome replaces it in procedure qpr.home",
    ("qpr", "step3.rfa-fhl-history"):
        "reading of 'RFA and/or FHL': the step-3 event names the units whose history was gathered",
    ("qpr", "step4.coordinate"):
        "reading of the meeting list: the step-4 event names who was invited",
    ("qpi_commitment", "caregiver.needs.example"):
        "examples read as duties a record shows; 'a record that does not say is missing, never done' "
        "is the partnership decision's treatment of an absent fact, checked by its scenarios",
}


def test_every_never_not_only_sentence_has_an_invariant() -> None:
    """Every computable clause whose text or reading says never, not, only or "under any
    circumstances" is guaranteed by an invariant of its policy (or listed above with a reason)."""
    import re

    guaranteed = {(inv.file.policy.id, inv.invariant.clause) for inv in POLICIES.invariants}
    missing = []
    for f in POLICIES.files:
        for c in f.policy.clauses:
            words = re.search(r"\b(never|not|only|under any circumstances)\b", f"{c.text} {c.note or ''}", re.I)
            key = (f.policy.id, c.id)
            if c.computable and words and key not in guaranteed and key not in NO_INVARIANT:
                missing.append(key)
    assert not missing
    assert len(guaranteed) >= 30
