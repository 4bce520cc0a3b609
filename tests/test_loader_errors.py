"""Each class of policy error: the file, line and column, and a message saying what to write instead.

Every test breaks one thing in tests/fixtures/tiny/tiny.yaml (a small valid policy) and writes the
result to tmp_path. Expected lines are found in the broken text itself (`line_of`), so the
assertions stay exact and readable.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qpr_rules import Engine, PolicyError, Problem
from qpr_rules.policy.loader import load_policy_set
from qpr_rules.yaml_source import MAX_BYTES

BASE = (Path(__file__).parent / "fixtures" / "tiny" / "tiny.yaml").read_text(encoding="utf-8")


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line of text that contains needle."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= nth, f"{needle!r} not in the policy text"
    return hits[nth - 1]


def broken(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once in the policy text"
    return text.replace(old, new)


def write(tmp_path: Path, text: str, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[Problem]:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        load_policy_set([path])
    assert all(p.file == str(path) for p in info.value.problems)
    return info.value.problems


def only(tmp_path: Path, text: str) -> Problem:
    found = problems(tmp_path, text)
    assert len(found) == 1, found
    return found[0]


def test_the_fixture_policy_loads(tmp_path: Path) -> None:
    ps = load_policy_set([write(tmp_path, BASE)])
    assert [r.id for r in ps.rules()] == ["tiny.placement.hold", "tiny.placement.cleared"]


def test_malformed_yaml(tmp_path: Path) -> None:
    text = broken("title: Tiny policy", "title: [Tiny policy")
    p = only(tmp_path, text)
    # PyYAML notices the unclosed flow sequence at the next key
    assert (p.line, p.column) == (line_of(text, "source: {document"), 7)
    assert p.message == "invalid YAML: while parsing a flow sequence expected ',' or ']', but got ':'"


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    text = broken("    title: A home on hold", "    titel: A home on hold")
    missing, unknown = problems(tmp_path, text)
    assert (unknown.line, unknown.column) == (line_of(text, "titel:"), 5)
    assert unknown.message == ("unknown key 'titel' (did you mean 'title'?); allowed here: id, decision, title, "
                               "clauses, priority, when, outcome, obligations, consequences, note")
    assert unknown.code == "unknown-key"
    # the rule now also lacks its title: reported at the rule's mapping
    assert (missing.line, missing.column) == (line_of(text, "- id: tiny.placement.hold"), 5)
    assert missing.message == "missing required key 'title' in rules #1"


def test_unknown_top_level_key(tmp_path: Path) -> None:
    text = broken("jurisdiction: Test", "jurisdiction: Test\njurisdicton: Other")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "jurisdicton:"), 1)
    assert p.message.startswith("unknown key 'jurisdicton' (did you mean 'jurisdiction'?); allowed here: "
                                "format, id, title, source, jurisdiction, revision, effective_from, roles,")


@pytest.mark.parametrize("old, new, needle, column, message", [
    ("revision: 2024-01-01", "revision: soon", "revision:", 11,
     "revision: Input should be a valid date (got str 'soon'); write a date as YYYY-MM-DD, unquoted"),
    ("    outcome: deny\n", "    priority: high\n    outcome: deny\n", "priority:", 15,
     "rules #1.priority: Input should be a valid integer (got str 'high'); write a whole number, unquoted"),
    ("    placement: true", "    placement: yes please", "placement: yes", 16,
     "decisions #1.placement: Input should be a valid boolean (got str 'yes please'); write true or false, "
     "unquoted"),
    ("jurisdiction: Test", "jurisdiction: 12", "jurisdiction:", 15,
     "jurisdiction: Input should be a valid string (got int 12); write text; quote it if it would read as a "
     "number, a date or true/false"),
    ("clauses: [cleared]", "clauses: cleared", "clauses: cleared", 14,
     "rules #2.clauses: Input should be a valid list (got str 'cleared'); write a list: [a, b] or one "
     "'- item' per line"),
    ("id: tiny\n", "id: Tiny Policy\n", "id: Tiny Policy", 5,
     "id: String should match pattern '^[a-z0-9][a-z0-9_.-]*$' (got str 'Tiny Policy'); ids use lower-case "
     "letters, digits, '_', '.' and '-', and start with a letter or digit"),
])
def test_wrong_type_says_what_to_write(tmp_path: Path, old: str, new: str, needle: str, column: int,
                                       message: str) -> None:
    text = broken(old, new)
    p = only(tmp_path, text)
    assert (p.line, p.column, p.message, p.code) == (line_of(text, needle), column, message, "wrong-type")


def test_duplicate_mapping_key(tmp_path: Path) -> None:
    text = broken("jurisdiction: Test", "jurisdiction: Test\njurisdiction: Other")
    p = only(tmp_path, text)
    first = line_of(text, "jurisdiction:")
    assert (p.line, p.column) == (first + 1, 1)
    assert p.message == (f"duplicate key 'jurisdiction' (first defined at line {first}, column 1); each key "
                         "may appear once in a mapping: merge the two or rename one")


def test_duplicate_rule_id_across_two_files(tmp_path: Path) -> None:
    # another policy whose first rule reuses the id tiny.placement.hold
    other = BASE.replace("id: tiny\n", "id: other\n").replace("tiny.placement", "other.placement")
    other = other.replace("id: other.placement.hold", "id: tiny.placement.hold")
    first = write(tmp_path, other, "a_other.yaml")
    second = write(tmp_path, BASE, "b_tiny.yaml")
    with pytest.raises(PolicyError) as info:
        load_policy_set([tmp_path])
    (p,) = info.value.problems
    assert (p.file, p.line, p.column) == (str(second), line_of(BASE, "- id: tiny.placement.hold"), 9)
    assert p.message == f"duplicate rule id 'tiny.placement.hold' (also in {first}); rule ids are unique"


def test_duplicate_clause_id(tmp_path: Path) -> None:
    text = broken("  - id: cleared\n", "  - {id: hold, section: Again, text: Again.}\n  - id: cleared\n")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "{id: hold, section: Again"), 10)
    assert p.message == (f"duplicate clause id 'hold' (first at line {line_of(text, '- id: hold')}); ids "
                         "within a file are unique")


def test_rule_citing_a_missing_clause(tmp_path: Path) -> None:
    text = broken("clauses: [cleared]", "clauses: [clear]")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "clauses: [clear]"), 15)
    assert p.message == "unknown clause 'clear' (did you mean 'cleared'?); known: cleared, hold"


def test_obligation_citing_a_missing_clause(tmp_path: Path) -> None:
    text = broken("is on hold., clause: hold}", "is on hold., clause: holds}")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "clause: holds"), 85)
    assert p.message == "unknown clause 'holds' (did you mean 'hold'?); known: cleared, hold"


def test_unknown_fact_path_with_suggestion(tmp_path: Path) -> None:
    text = broken("{fact: home.approval_status, eq: active}", "{fact: home.aproval_status, eq: active}")
    p = only(tmp_path, text)
    assert (p.line, p.column, p.code) == (line_of(text, "home.aproval_status"), 18, "condition")
    assert p.message == (
        "unknown fact path 'home.aproval_status': home has no field 'aproval_status' (did you mean "
        "'approval_status'?); fields are: id, approval, approval_status, hold, restrictions, children_placed, "
        "youngest_placed_age, oldest_placed_age, genders_placed")


@pytest.mark.parametrize("old, new, column, message", [
    # a text fact compared with a number
    ("{fact: home.approval_status, eq: active}", "{fact: child.region, eq: 3}", 36,
     "type mismatch: value 3 (a whole number) does not match the fact, which is text"),
    # a number fact compared with text that looks like a number
    ("{fact: home.approval_status, eq: active}", "{fact: child.age, gte: '7'}", 34,
     "type mismatch: value 7 (text '7') does not match the fact, which is a whole number"),
    # a boolean fact compared with 1
    ("{fact: placement.cleared_with_pco, eq: true}", "{fact: placement.cleared_with_pco, eq: 1}", 50,
     "type mismatch: value 1 (a whole number) does not match the fact, which is true or false"),
    # a date fact compared with a number fact
    ("{fact: home.approval_status, eq: active}", "{fact: child.age, lt: {fact: placement.date}}", 33,
     "type mismatch: cannot compare a whole number with placement.date (a date (YYYY-MM-DD))"),
    # ordering a text fact
    ("{fact: home.approval_status, eq: active}", "{fact: home.id, gt: H}", 31,
     "`gt` needs a number or a date, but home.id is text; use eq, ne or in"),
])
def test_comparison_of_mismatched_types(tmp_path: Path, old: str, new: str, column: int, message: str) -> None:
    text = broken(old, new)
    p = only(tmp_path, text)
    assert (p.line, p.column, p.message) == (line_of(text, new), column, message)


def test_enum_value_not_in_the_enum(tmp_path: Path) -> None:
    text = broken("in: [pending_qpr, permanent]", "in: [pending_qpr, permanant]")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "permanant"), 52)
    assert p.message == ("type mismatch: value permanant (text 'permanant') is not allowed here (did you mean "
                         "'permanent'?); expected one of pending_qpr, time_limited, permanent")


def test_unknown_operator(tmp_path: Path) -> None:
    text = broken("cleared_with_pco, eq: true", "cleared_with_pco, equals: true")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "equals:"), 46)
    assert p.message == ("unknown operator 'equals'; operators are: eq, ne, lt, lte, gt, gte, before, after, "
                         "on_or_before, on_or_after, in, not_in, present, contains, count, some, every, "
                         "within_days")


def test_unknown_operator_with_suggestion(tmp_path: Path) -> None:
    text = broken("cleared_with_pco, eq: true", "cleared_with_pco, eqq: true")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "eqq:"), 46)
    assert p.message.startswith("unknown operator 'eqq' (did you mean 'eq'?); operators are: eq, ne,")


def test_yaml_bomb_aliases_are_refused(tmp_path: Path) -> None:
    bomb = 'a: &a ["lol","lol","lol"]\nb: &b [*a,*a,*a]\nc: &c [*b,*b,*b]\nd: [*c,*c,*c]\n'
    p = only(tmp_path, bomb)
    assert (p.line, p.column) == (2, 8)  # the first alias, refused before anything is expanded
    assert p.message == ("invalid YAML: YAML aliases (*name) are not allowed in policy files; write the "
                         "value out")


def test_alias_inside_a_policy_is_refused(tmp_path: Path) -> None:
    text = broken("jurisdiction: Test", "jurisdiction: &j Test\ntitle2: *j")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "title2:"), 9)
    assert "YAML aliases (*name) are not allowed in policy files; write the value out" in p.message


def test_anchor_alone_is_refused(tmp_path: Path) -> None:
    text = broken("jurisdiction: Test", "jurisdiction: &j Test")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "jurisdiction:"), 15)
    assert p.message == "YAML anchors (&name) are not allowed in policy files; write the value out"


def test_file_too_large_is_refused_before_parsing(tmp_path: Path) -> None:
    p = only(tmp_path, BASE + "#" * MAX_BYTES)
    assert (p.line, p.column) == (0, 0)
    assert p.message.startswith(f"the file is larger than {MAX_BYTES} bytes (it is ")
    assert MAX_BYTES == 5 * 1024 * 1024


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system [echo hi]", "!!python/name:os.system ''",
                                 "!!python/object:collections.OrderedDict {}", "!custom Test"])
def test_tags_are_refused(tmp_path: Path, tag: str) -> None:
    text = broken("jurisdiction: Test", f"jurisdiction: {tag}")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "jurisdiction:"), 15)
    assert p.message.endswith("is not allowed; only plain YAML values (no tags) are allowed in policy files")
    assert p.message.startswith("the tag '")


def test_several_errors_in_one_file_are_reported_at_once(tmp_path: Path) -> None:
    text = broken("in: [pending_qpr, permanent]", "in: [pending_qpr, permanant]")
    text = broken("{who: pco,", "{who: pcoo,", text)
    text = broken("clauses: [cleared]", "clauses: [clear]", text)
    text = broken("{fact: home.approval_status, eq: active}", "{fact: home.aproval_status, eq: active}", text)
    found = problems(tmp_path, text)
    assert [(p.line, p.column) for p in found] == [
        (line_of(text, "permanant"), 52), (line_of(text, "pcoo"), 15), (line_of(text, "[clear]"), 15),
        (line_of(text, "aproval_status"), 18)]
    assert [p.message.split(" (")[0] for p in found] == [
        "type mismatch: value permanant", "unknown role 'pcoo'", "unknown clause 'clear'",
        "unknown fact path 'home.aproval_status': home has no field 'aproval_status'"]
    with pytest.raises(PolicyError) as info:
        load_policy_set([tmp_path])
    assert str(info.value).startswith("4 problem(s):\n")


def test_errors_in_several_files_are_reported_together(tmp_path: Path) -> None:
    write(tmp_path, broken("revision: 2024-01-01", "revision: soon"), "a.yaml")
    write(tmp_path, broken("{who: pco,", "{who: pcoo,").replace("id: tiny\n", "id: tiny2\n")
          .replace("tiny.placement", "tiny2.placement"), "b.yaml")
    with pytest.raises(PolicyError) as info:
        load_policy_set([tmp_path])
    assert [(Path(p.file).name, p.message.split(";")[0]) for p in info.value.problems] == [
        ("a.yaml", "revision: Input should be a valid date (got str 'soon')"),
        ("b.yaml", "unknown role 'pcoo' (did you mean 'pco'?)")]


def test_unknown_role_in_an_obligation(tmp_path: Path) -> None:
    text = broken("{who: pco,", "{who: pcoo,")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "pcoo"), 15)
    assert p.message == "unknown role 'pcoo' (did you mean 'pco'?); declare it under `roles:`; known: pco"


def test_unknown_decision_on_a_rule(tmp_path: Path) -> None:
    text = broken("    decision: tiny.placement\n    title: An active",
                  "    decision: tiny.placment\n    title: An active")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "decision: tiny.placment"), 15)
    assert p.message == ("unknown decision 'tiny.placment' (did you mean 'tiny.placement'?); known: "
                         "tiny.placement")


def test_unknown_outcome_on_a_rule(tmp_path: Path) -> None:
    text = broken("    outcome: allow", "    outcome: alow")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "outcome: alow"), 14)
    assert p.message == ("outcome 'alow' is not an outcome of tiny.placement (did you mean 'allow'?); "
                         "allowed: deny, allow")


def test_unknown_fact_type_on_a_decision(tmp_path: Path) -> None:
    text = broken("facts: placement_request", "facts: placement_requests")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "facts: placement_requests"), 12)
    assert p.message.startswith("unknown fact type 'placement_requests' (did you mean 'placement_request'?); "
                                "known: ")
    assert "placement_request," in p.message


def test_placement_decision_must_fail_closed(tmp_path: Path) -> None:
    text = broken("    on_error: deny", "    on_error: allow")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "- id: tiny.placement"), 5)  # the decision's mapping
    assert p.message == "decisions #1: a placement decision must fail closed: set on_error: deny"


def test_on_error_must_be_an_outcome(tmp_path: Path) -> None:
    text = broken("    on_error: deny", "    on_error: refuse")
    p = only(tmp_path, text)
    assert (p.line, p.column) == (line_of(text, "- id: tiny.placement"), 5)
    assert p.message == "decisions #1: on_error 'refuse' is not one of the outcomes ['deny', 'allow']"


def test_engine_load_raises_the_same_policy_error(tmp_path: Path) -> None:
    path = write(tmp_path, broken("{who: pco,", "{who: pcoo,"))
    with pytest.raises(PolicyError) as info:
        Engine.load(path)
    assert [p.message.split(";")[0] for p in info.value.problems] == [
        "unknown role 'pcoo' (did you mean 'pco'?)"]


def test_empty_file_and_empty_directory(tmp_path: Path) -> None:
    assert only(tmp_path, "").message == "the file is empty; expected a mapping"
    empty = tmp_path / "none"
    empty.mkdir()
    with pytest.raises(PolicyError) as info:
        load_policy_set([empty])
    assert [(p.file, p.message) for p in info.value.problems] == [
        (str(empty), "no policy files (*.yaml) found here")]


def test_a_key_indented_one_level_too_deep_is_explained(tmp_path: Path) -> None:
    text = BASE.replace("    when: {fact: home.hold.kind, in: [pending_qpr, permanent]}\n    outcome: deny\n",
                        "    when:\n      fact: home.hold.kind\n      in: [pending_qpr, permanent]\n      outcome: deny\n")
    assert text != BASE
    found = problems(tmp_path, text)
    line = text.splitlines().index("      outcome: deny") + 1
    assert any(f"check the indentation of line {line}: `outcome` is inside `when`, but belongs one level up"
               in p.message for p in found), [p.message for p in found]
