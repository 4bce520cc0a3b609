"""Whatever bytes an analyst saves, loading gives a positioned PolicyError or a policy set,
never another exception (a traceback in the CLI)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qpr_rules import Engine, PolicyError
from qpr_rules.policy.loader import load_policy_set
from tests.policy_text import BASE


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = BASE
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = min(len(text), i + draw(st.integers(0, 12)))
        text = text[:i] + draw(st.text(alphabet=" :-[]{}&*!#'\"\n\tabcxyz019,.|>", max_size=6)) + text[j:]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(mutated(), st.text(max_size=200)))
def test_any_text_loads_or_fails_with_positioned_problems(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_policy_set([path])
    except PolicyError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.file == str(path) and p.line >= 1 and p.column >= 1 and p.message
    except Exception as exc:  # pragma: no cover - the failure this test exists to catch
        pytest.fail(f"{type(exc).__name__}: {exc}\n--- input ---\n{text}")


@functools.cache
def _engine() -> Engine:
    return Engine.from_bundled()


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.data(), json_values)
def test_any_facts_give_a_decision_never_an_exception(data: st.DataObject, facts: object) -> None:
    engine = _engine()
    decision_id = data.draw(st.sampled_from(engine.decision_ids))
    decision = engine.decide(decision_id, facts)  # type: ignore[arg-type]  (any JSON, on purpose)
    spec = engine.spec(decision_id).decision
    if decision.status == "error":
        assert decision.outcome == spec.on_error and decision.errors
    else:
        assert decision.outcome in spec.outcomes
