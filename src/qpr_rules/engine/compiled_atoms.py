"""What a decision log line reads from the facts, read straight from the validated fact model
by generated functions: every atomic condition's result for one decision's rules, and the
values of the facts it logs.

The log line of a decision holds, per rule, each atom's result in `atoms(cond)` order ("1", "0",
or "x" for an atom that cannot be evaluated on these facts: date arithmetic out of range in an
atom the decision never needed). `atoms.compile_traced` gives the same from the reference
evaluator's closures over the model's dump; this is the same walk written as straight-line code
by the compiled evaluator's `Writer` (each stored value read once for every rule, each atom one
expression in its own `try`), because a logged decision pays it on every call (issue 21: a
logged decision at most 3x an unlogged one). tests/test_decision_log.py compares the recorded
atoms with the reference evaluator's, atom by atom.

Each rule's value is recombined from its atoms (no short-circuit: every atom is evaluated) and
returned beside the bits, so the caller can check it against the decision that was answered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, assert_never

from pydantic import BaseModel

from qpr_rules.engine.compiled import Writer, build_function, resolve
from qpr_rules.policy.conditions import (
    All,
    AnyOf,
    Compare,
    Condition,
    Contains,
    Count,
    InSet,
    Not,
    Present,
    Quantified,
    atoms,
)

#: per rule, in the order given: its atoms as the log writes them, and the rule's value from
#: those atoms (None when an atom could not be evaluated)
RuleAtoms = tuple[str, bool | None]
AtomsOf = Callable[[Any], tuple[RuleAtoms, ...]]

_BIT = {True: "1", False: "0", None: "x"}


def compile_atoms(model: type[BaseModel], conditions: Sequence[Condition],
                  label: str = "decision") -> AtomsOf:
    """One function over a validated model giving, per condition, (its atoms' bits, its value
    recombined from them)."""
    writer = Writer(model)
    body: list[str] = []
    results: list[str] = []
    n = 0
    for cond in conditions:
        names = []
        position: dict[int, str] = {}
        for atom in atoms(cond):
            name = f"_a{n}"
            n += 1
            names.append(name)
            position[id(atom)] = name
            # an atom's own expression, never the rule's: the rule is recombined below
            # every expression Writer.cond writes is a bool (comparisons, `in`, `is not None`,
            # and/or/not of those, a quantifier helper's True or False): no bool() call
            body += ["try:", f"    {name} = {writer.cond(atom)}", "except Exception:",
                     f"    {name} = None"]
        bits = " + ".join(f"_B[{name}]" for name in names) or "''"
        known = " and ".join(f"{name} is not None" for name in names) or "True"
        results.append(f"({bits}, ({_combined(cond, position)}) if {known} else None)")
    body.append("return (" + "".join(f"{r}, " for r in results) + ")")
    fn, _ = build_function(writer, body, "atoms", f"atoms of {label}", {"_B": _BIT})
    return fn


def _combined(cond: Condition, position: dict[int, str]) -> str:
    """The tree's value as an expression over its atoms' variables."""
    match cond:
        case All(items=items):
            return "(" + " and ".join(_combined(c, position) for c in items) + ")" if items else "True"
        case AnyOf(items=items):
            return "(" + " or ".join(_combined(c, position) for c in items) + ")" if items else "False"
        case Not(item=item):
            return f"(not {_combined(item, position)})"
        case Compare() | InSet() | Present() | Contains() | Count() | Quantified():
            return position[id(cond)]
        case _:
            assert_never(cond)


#: the logged facts' values by path, as the log writes them (dates as ISO text)
LogFactsOf = Callable[[Any], dict[str, Any]]


def compile_log_facts(model: type[BaseModel], paths: Sequence[str]) -> LogFactsOf:
    """One function over a validated model giving {path: value} for paths (None where a step is
    absent), as `get_path` over the model's dump gives them; `log_facts:` holds only yes/no,
    numbers, dates and enum values (policy/loader.py), so no value is an object."""
    writer = Writer(model)
    items = []
    for p in paths:
        var, optional = writer.path(p)
        if resolve(model, p).kind == "date":  # JSON has no dates: ISO text, as the reader expects
            var = f"(None if {var} is None else {var}.isoformat())" if optional else f"{var}.isoformat()"
        items.append(f"{p!r}: {var}")
    fn, _ = build_function(writer, ["return {" + ", ".join(items) + "}"], "log_facts", "logged facts")
    return fn
