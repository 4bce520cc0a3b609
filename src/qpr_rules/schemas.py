"""JSON Schemas of the policy and scenario formats, generated from the pydantic models.

Committed under schemas/ so that an editor's YAML language server completes keys and flags
mistakes (`# yaml-language-server: $schema=../schemas/policy.schema.json`); a test keeps the
committed files in sync with the models.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from qpr_rules.policy.conditions import ATOM_OPS, COMBINATORS
from qpr_rules.policy.model import PolicyFile
from qpr_rules.scenarios.case_model import CaseScenarioFile
from qpr_rules.scenarios.model import ScenarioFile

_REF = {"$ref": "#/$defs/Condition"}
_VALUE = {
    "description": "A value, {param: NAME}, or {fact: PATH, plus_days: N}",
    "anyOf": [
        {"type": ["string", "number", "boolean"]},
        {"type": "object", "properties": {"param": {"type": "string"}}, "required": ["param"],
         "additionalProperties": False},
        {"type": "object", "properties": {"fact": {"type": "string"},
                                          "plus_days": {"anyOf": [{"type": "integer"}, {
                                              "type": "object", "required": ["param"],
                                              "properties": {"param": {"type": "string"}}}]}},
         "required": ["fact"], "additionalProperties": False},
    ],
}
_OPERATOR_VALUES: dict[str, Any] = {
    **{op: _VALUE for op in ("eq", "ne", "lt", "lte", "gt", "gte", "before", "after", "on_or_before",
                             "on_or_after", "contains")},
    "in": {"type": "array", "minItems": 1, "items": _VALUE},
    "not_in": {"type": "array", "minItems": 1, "items": _VALUE},
    "present": {"type": "boolean"},
    "count": {"type": "object", "minProperties": 1, "maxProperties": 1,
              "propertyNames": {"enum": ["eq", "ne", "lt", "lte", "gt", "gte"]},
              "additionalProperties": _VALUE},
    "some": _REF,
    "every": _REF,
    "within_days": {"type": "object", "required": ["days", "of"], "additionalProperties": False,
                    "properties": {"days": {"type": "integer", "minimum": 0}, "of": _VALUE}},
}
assert set(_OPERATOR_VALUES) == set(ATOM_OPS)


def _condition_schema() -> dict[str, Any]:
    atom = {
        "type": "object",
        "description": "{fact: PATH, OPERATOR: VALUE} with exactly one operator",
        "required": ["fact"],
        "properties": {"fact": {"type": "string", "description": "Dotted fact path"}, **_OPERATOR_VALUES},
        "additionalProperties": False,
        "minProperties": 2,
        "maxProperties": 2,
    }
    use = {"type": "object", "required": ["use"], "additionalProperties": False,
           "properties": {"use": {"type": "string", "description": "A condition under `conditions:`"}}}
    combinators = [
        {"type": "object", "required": [key], "additionalProperties": False,
         "properties": {key: _REF if key == "not" else {"type": "array", "minItems": 1, "items": _REF}}}
        for key in COMBINATORS
    ]
    return {"description": "A condition: all / any / not, {use: NAME}, or a fact with one operator",
            "anyOf": [atom, use, *combinators]}


def policy_schema() -> dict[str, Any]:
    schema = PolicyFile.model_json_schema()
    schema["$defs"]["Condition"] = _condition_schema()
    schema["$defs"]["Rule"]["properties"]["when"] = {**_REF, "description": "The condition"}
    schema["properties"]["conditions"]["additionalProperties"] = _REF
    schema["$defs"]["Transition"]["properties"]["when"] = {
        **_REF, "description": "Guard over event.PATH and case.PATH (absent: always)"}
    return _with_header(schema, "qpr-rules policy file")


def scenario_schema(decision_facts: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The scenario format, with `facts:` typed by the decision each scenario asks (its own
    `decision:` or the file's), so that an editor completes fact fields. decision_facts maps
    decision ids to fact types (default: the bundled policies'). The fact schemas are referenced
    as `facts/TYPE.schema.json`, relative to this schema, as committed under schemas/."""
    schema = ScenarioFile.model_json_schema()
    mapping = _bundled_decision_facts() if decision_facts is None else dict(decision_facts)

    def when_decision(decision: str, then: dict[str, Any]) -> dict[str, Any]:
        return {"if": {"required": ["decision"], "properties": {"decision": {"const": decision}}},
                "then": then}

    def typed_facts(fact_type: str) -> dict[str, Any]:
        # a scenario that expects `status: error` gives invalid facts on purpose: left untyped
        expects_error = {"required": ["expect"], "properties": {"expect": {
            "required": ["status"], "properties": {"status": {"const": "error"}}}}}
        return {"if": {"not": expects_error},
                "then": {"properties": {"facts": {"$ref": f"facts/{fact_type}.schema.json"}}}}

    pairs = sorted(mapping.items())
    schema["$defs"]["Scenario"]["allOf"] = [when_decision(d, typed_facts(t)) for d, t in pairs]
    schema["allOf"] = [  # the file's decision types the scenarios that do not name their own
        when_decision(d, {"properties": {"scenarios": {"items": {
            "if": {"not": {"required": ["decision"]}}, "then": typed_facts(t)}}}})
        for d, t in pairs]
    return _with_header(schema, "qpr-rules scenario file")


def case_scenario_schema() -> dict[str, Any]:
    """The case scenario format, with each event typed by its `type` (the registered event types),
    so that an editor completes event fields. The event schemas are referenced as
    `events/TYPE.schema.json`, relative to this schema, as committed under schemas/."""
    from qpr_rules.facts.events import registered_event_types

    schema = CaseScenarioFile.model_json_schema()
    names = sorted(registered_event_types())
    schema["$defs"]["CaseScenario"]["properties"]["events"]["items"] = {
        "type": "object", "required": ["type"],
        "properties": {"type": {"enum": names, "description": "The event type"}},
        "allOf": [{"if": {"properties": {"type": {"const": name}}},
                   "then": {"$ref": f"events/{name}.schema.json"}} for name in names]}
    return _with_header(schema, "qpr-rules case scenario file")


def _bundled_decision_facts() -> dict[str, str]:
    from qpr_rules.bundled import bundled_policy_dir
    from qpr_rules.policy.loader import load_policy_set

    policies = load_policy_set([bundled_policy_dir()])
    return {did: spec.decision.facts for did, spec in policies.decisions.items()}


def _with_header(schema: dict[str, Any], title: str) -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title,
            **{k: v for k, v in schema.items() if k != "title"}}


def fact_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of every registered fact type (committed as schemas/facts/NAME.schema.json)."""
    from qpr_rules.facts.base import registered_fact_types

    return {name: _with_header(model.model_json_schema(), f"{name} facts")
            for name, model in registered_fact_types().items()}


def event_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of every registered event type, as one line of an events file (JSONL):
    the event's fields, with `type` naming it and `case` the case it belongs to (committed as
    schemas/events/NAME.schema.json)."""
    from qpr_rules.facts.events import registered_event_types

    out = {}
    for name, model in registered_event_types().items():
        schema = model.model_json_schema()
        schema["properties"] = {"type": {"const": name, "description": "The event type"},
                                "case": {"type": "string", "description": "The case id"},
                                **schema["properties"]}
        schema["required"] = ["type", *schema.get("required", [])]
        out[name] = _with_header(schema, f"{name} event")
    return out


def render(schema: dict[str, Any]) -> str:
    """The committed text form: sorted keys, two-space indent, final newline."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
