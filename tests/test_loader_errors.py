"""Each class of policy error: file, line, column, and a message saying what to write instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from qpr_rules import Engine, PolicyError, Problem
from qpr_rules.policy.loader import load_policy_set
from tests.policy_text import BASE, write_policy


def problems(tmp_path: Path, text: str) -> list[Problem]:
    path = write_policy(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        load_policy_set([path])
    return info.value.problems


def only(tmp_path: Path, text: str) -> Problem:
    found = problems(tmp_path, text)
    assert len(found) == 1, found
    return found[0]


def test_the_base_policy_loads(tmp_path: Path) -> None:
    ps = load_policy_set([write_policy(tmp_path)])
    assert [r.id for r in ps.rules()] == ["tiny.hold", "tiny.allow"]


def test_malformed_yaml_is_positioned(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("title: Tiny policy", "title: [Tiny policy"))
    assert (p.line, p.file.endswith("tiny.yaml")) == (4, True)
    assert p.message.startswith("invalid YAML:")


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("    title: On hold", "    titel: On hold\n    title: On hold"))
    assert (p.line, p.column) == (26, 5)
    assert p.message.startswith("unknown key 'titel' (did you mean 'title'?); allowed here: id, decision,")


def test_wrong_type_names_field_and_value(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("revision: 2024-01-01", "revision: soon"))
    assert (p.line, p.column) == (6, 11)
    assert p.message == ("revision: Input should be a valid date (got str 'soon'); write a date as YYYY-MM-DD, "
                         "unquoted")


@pytest.mark.parametrize("old, new, message", [
    ("    placement: true", "    placement: yes please",
     "decisions.0.placement: Input should be a valid boolean (got str 'yes please'); write true or false, unquoted"),
    ("id: tiny\n", "id: Tiny Policy\n",
     "id: String should match pattern '^[a-z0-9][a-z0-9_.-]*$' (got str 'Tiny Policy'); ids use lower-case "
     "letters, digits, '_', '.' and '-', and start with a letter or digit"),
    ("    clauses: [hold]\n    when: {fact: placement", "    clauses: hold\n    when: {fact: placement",
     "rules.1.clauses: Input should be a valid list (got str 'hold'); write a list: [a, b] or one '- item' per line"),
    ("title: Tiny policy", "title: ''",
     "title: String should have at least 1 character (got str ''); it must not be empty"),
    ("jurisdiction: Test", "jurisdiction: 12",
     "jurisdiction: Input should be a valid string (got int 12); write text; quote it if it would read as a "
     "number, a date or true/false"),
    ("    on_error: deny", "    on_error: [deny]",
     "decisions.0.on_error: Input should be a valid string (got a list); write text; quote it if it would read "
     "as a number, a date or true/false"),
])
def test_wrong_types_say_what_to_write(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in BASE
    assert only(tmp_path, BASE.replace(old, new, 1)).message == message


def test_missing_key_is_named(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("jurisdiction: Test\n", ""))
    assert p.message.startswith("missing required key 'jurisdiction' in the top level")


def test_duplicate_mapping_key_is_refused(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("jurisdiction: Test", "jurisdiction: Test\njurisdiction: Other"))
    assert (p.line, p.column) == (6, 1)
    assert p.message == ("duplicate key 'jurisdiction' (first defined at line 5, column 1); each key may "
                         "appear once in a mapping: merge the two or rename one")


def test_duplicate_rule_id_across_files(tmp_path: Path) -> None:
    write_policy(tmp_path)
    other = BASE.replace("id: tiny\n", "id: tiny2\n").replace("id: tiny.placement", "id: tiny2.placement")
    other = other.replace("id: tiny.allow", "id: tiny2.allow").replace("decision: tiny.placement",
                                                                      "decision: tiny2.placement")
    write_policy(tmp_path, other, "tiny2.yaml")
    with pytest.raises(PolicyError) as info:
        load_policy_set([tmp_path])
    (p,) = info.value.problems
    assert p.file.endswith("tiny2.yaml") and (p.line, p.column) == (24, 9)
    assert p.message.startswith("duplicate rule id 'tiny.hold' (also in ")


def test_duplicate_clause_id(tmp_path: Path) -> None:
    text = BASE.replace("clauses:\n  - id: hold\n", "clauses:\n  - {id: hold, section: S, text: T}\n  - id: hold\n")
    p = only(tmp_path, text)
    assert p.line == 12
    assert p.message == "duplicate clause id 'hold' (first at line 11); ids within a file are unique"


def test_rule_citing_a_missing_clause(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("    clauses: [hold]\n    when: {fact: home", "    clauses: [hols]\n    when: {fact: home"))
    assert (p.line, p.column) == (27, 15)
    assert p.message.startswith("unknown clause 'hols' (did you mean 'hold'?); known: hold")


def test_unknown_fact_path_with_suggestion(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("home.hold.kind", "home.hold.knd"))
    assert (p.line, p.column) == (28, 18)
    assert "unknown fact path 'home.hold.knd'" in p.message and "(did you mean 'kind'?)" in p.message


def test_string_fact_compared_with_number(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("{fact: home.hold.kind, eq: pending_qpr}", "{fact: home.id, gt: 3}"))
    assert "`gt` needs a number or a date, but home.id is text" in p.message


def test_enum_value_not_in_enum(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("eq: pending_qpr", "eq: pending"))
    assert p.message == ("type mismatch: value pending (text 'pending') is not allowed here (did you mean "
                         "'pending_qpr'?); expected one of pending_qpr, time_limited, permanent")


def test_bool_is_not_one(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("cleared_with_pco, eq: true", "cleared_with_pco, eq: 1"))
    assert "does not match the fact, which is true or false" in p.message


def test_fact_to_fact_type_mismatch(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("{fact: home.hold.kind, eq: pending_qpr}",
                                    "{fact: child.age, lt: {fact: placement.date}}"))
    assert p.message == ("type mismatch: cannot compare a whole number with placement.date "
                         "(a date (YYYY-MM-DD))")


def test_unknown_operator(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("eq: pending_qpr", "equals: pending_qpr"))
    assert p.message.startswith("unknown operator 'equals'")


def test_anchors_and_aliases_are_refused(tmp_path: Path) -> None:
    bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\n'
    p = problems(tmp_path, bomb)[0]
    assert "aliases (*name) are not allowed" in p.message or "anchors (&name) are not allowed" in p.message


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    p = only(tmp_path, BASE + "#" * (6 * 1024 * 1024))
    assert p.message == f"file is larger than {5 * 1024 * 1024} bytes"


def test_python_tags_are_refused(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("jurisdiction: Test", "jurisdiction: !!python/object/apply:os.system [ls]"))
    assert "only plain YAML values (no tags) are allowed" in p.message


def test_all_errors_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    text = BASE.replace("eq: pending_qpr", "eq: pending").replace("clauses: [hold]\n    when: {fact: placement",
                                                                  "clauses: [nope]\n    when: {fact: placement")
    text = text.replace("{who: pco,", "{who: pcoo,")
    found = problems(tmp_path, text)
    assert len(found) == 3
    assert [p.line for p in found] == sorted(p.line for p in found)


def test_unknown_role_in_an_obligation(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("{who: pco,", "{who: pcoo,"))
    assert p.message.startswith("unknown role 'pcoo' (did you mean 'pco'?); declare it under `roles:`")


def test_unknown_decision_on_a_rule(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("    decision: tiny.placement\n    title: Cleared",
                                    "    decision: tiny.placment\n    title: Cleared"))
    assert p.message.startswith("unknown decision 'tiny.placment' (did you mean 'tiny.placement'?)")


def test_unknown_fact_type_on_a_decision(tmp_path: Path) -> None:
    found = problems(tmp_path, BASE.replace("facts: placement_request", "facts: placement_requests"))
    assert found[0].message.startswith("unknown fact type 'placement_requests' (did you mean 'placement_request'?)")


def test_a_placement_decision_must_fail_closed(tmp_path: Path) -> None:
    text = BASE.replace("    on_error: deny", "    on_error: allow")
    p = only(tmp_path, text)
    assert "a placement decision must fail closed: set on_error: deny" in p.message


def test_outcome_not_declared(tmp_path: Path) -> None:
    p = only(tmp_path, BASE.replace("    outcome: allow", "    outcome: permit"))
    assert p.message.startswith("outcome 'permit' is not an outcome of tiny.placement")


def test_alternatives_under_every_are_refused(tmp_path: Path) -> None:
    cond = "{fact: home.children_placed, every: {any: [{fact: age, lt: 3}, {fact: gender, eq: male}]}}"
    p = only(tmp_path, BASE.replace("{fact: home.hold.kind, eq: pending_qpr}", cond))
    assert "holds an alternative" in p.message and "Split it into separate rules" in p.message


def test_engine_load_raises_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError):
        Engine.load([write_policy(tmp_path, BASE.replace("eq: pending_qpr", "eq: pending"))])


def test_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy_set([tmp_path])
    assert "no policy files (*.yaml) found here" in info.value.problems[0].message


@pytest.mark.parametrize("text", ["a: " + "[" * 3000 + "]" * 3000, "- " * 3000 + "x", "a: " + "[" * 70 + "]" * 70])
def test_deep_nesting_is_refused_not_crashed(tmp_path: Path, text: str) -> None:
    p = only(tmp_path, text)
    assert "nesting deeper than 64 levels; flatten the structure" in p.message


NAMED = BASE.replace("clauses:\n  - id: hold\n", """conditions:
  on-hold: {fact: home.hold.kind, in: [pending_qpr, permanent]}
  loop-a: {use: loop-b}
  loop-b: {any: [{use: loop-a}]}
clauses:
  - id: hold
""")


def test_named_conditions_are_reused(tmp_path: Path) -> None:
    text = NAMED.replace("{fact: home.hold.kind, eq: pending_qpr}", "{use: on-hold}")
    ps = load_policy_set([write_policy(tmp_path, text)])
    assert ps.decisions["tiny.placement"].rules[0].condition.values == ("pending_qpr", "permanent")  # type: ignore[union-attr]


def test_unknown_named_condition(tmp_path: Path) -> None:
    p = only(tmp_path, NAMED.replace("{fact: home.hold.kind, eq: pending_qpr}", "{use: on-hlod}"))
    assert p.message == "unknown condition 'on-hlod' (did you mean 'on-hold'?); declare it under `conditions:`"


def test_named_condition_cycle(tmp_path: Path) -> None:
    p = only(tmp_path, NAMED.replace("{fact: home.hold.kind, eq: pending_qpr}", "{use: loop-a}"))
    assert p.message == "condition 'loop-a' uses itself (loop-a -> loop-b -> loop-a)"


def test_errors_inside_a_named_condition_point_at_its_definition(tmp_path: Path) -> None:
    text = NAMED.replace("in: [pending_qpr, permanent]", "in: [pending_qpr, forever]").replace(
        "{fact: home.hold.kind, eq: pending_qpr}", "{use: on-hold}")
    p = only(tmp_path, text)
    assert p.line == 11 and "'forever'" in p.message


def test_a_scenario_file_given_as_a_policy(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("format: qpr-rules/scenarios-v1\ndecision: x\nscenarios: []\n")
    with pytest.raises(PolicyError) as info:
        load_policy_set([path])
    assert info.value.problems[0].message == (
        f"this is a scenario file, not a policy; run it with `qpr-rules test {path}`, and keep it under tests/")
