"""The condition language, one import away: nodes (condition_nodes), parsing and type
checking (condition_parser), formatting (condition_format). Kept so existing imports work."""

from __future__ import annotations

from qpr_rules.policy.condition_format import OP_SYMBOL, kind_of, render, show
from qpr_rules.policy.condition_nodes import (
    ATOM_OPS,
    ATOMS,
    COMBINATORS,
    COMPARE_OPS,
    DATE_ONLY_OPS,
    NEGATED_OP,
    All,
    AnyOf,
    CmpOp,
    Compare,
    Condition,
    Contains,
    Count,
    FactRef,
    InSet,
    Literal_,
    Loc,
    Node,
    Not,
    Operand,
    Present,
    Quantified,
    Scalar,
    atoms,
    fact_paths,
)
from qpr_rules.policy.condition_parser import (
    ParseContext,
    has_disjunction,
    literal_problem,
    parse_condition,
    raw_mappings,
)

_show = show  # the names before the split, still imported by other branches
_kind = kind_of

__all__ = [
    "ATOMS", "ATOM_OPS", "COMBINATORS", "COMPARE_OPS", "DATE_ONLY_OPS", "NEGATED_OP", "OP_SYMBOL",
    "All", "AnyOf", "CmpOp", "Compare", "Condition", "Contains", "Count", "FactRef", "InSet",
    "Literal_", "Loc", "Node", "Not", "Operand", "ParseContext", "Present", "Quantified", "Scalar",
    "atoms", "fact_paths", "has_disjunction", "kind_of", "literal_problem", "parse_condition",
    "raw_mappings", "render", "show",
]
