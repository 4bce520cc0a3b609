"""Evaluating formulas in a z3 model, and building conjunctions, through z3's C API directly.

z3py checks the sorts of every argument and wraps every result in Python objects; for the
thousands of small evaluations a partial decision makes (engine/partial.py), those checks cost
more than the evaluation itself. The callers pass well-sorted Boolean and integer formulas.
"""

from __future__ import annotations

from collections.abc import Iterable

import z3


def variables(formulas: Iterable[z3.ExprRef]) -> dict[str, z3.ExprRef]:
    """The free variables (uninterpreted constants) the formulas read, by name; each shared
    subterm walked once."""
    names: dict[str, z3.ExprRef] = {}
    seen: set[int] = set()
    stack = list(formulas)
    while stack:
        node = stack.pop()
        key = node.get_id()
        if key in seen:
            continue
        seen.add(key)
        if z3.is_const(node) and node.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            names[node.decl().name()] = node
        else:
            stack.extend(node.children())
    return names


def holds(model: z3.ModelRef, formula: z3.ExprRef) -> bool:
    """Whether the Boolean formula is true in the model (completed: absent variables take their
    default), as z3.is_true(model.eval(formula, model_completion=True))."""
    ctx = model.ctx.ref()
    out = (z3.Ast * 1)()
    if not z3.Z3_model_eval(ctx, model.model, formula.as_ast(), True, out):
        raise z3.Z3Exception("the formula could not be evaluated in the model")
    z3.Z3_inc_ref(ctx, out[0])
    try:
        return bool(z3.Z3_get_bool_value(ctx, out[0]) == z3.Z3_L_TRUE)
    finally:
        z3.Z3_dec_ref(ctx, out[0])


def int_value(model: z3.ModelRef, term: z3.ExprRef) -> int:
    """The value of an integer term in the model (completed)."""
    ctx = model.ctx.ref()
    out = (z3.Ast * 1)()
    if not z3.Z3_model_eval(ctx, model.model, term.as_ast(), True, out):
        raise z3.Z3Exception("the term could not be evaluated in the model")
    z3.Z3_inc_ref(ctx, out[0])
    try:
        return int(z3.Z3_get_numeral_string(ctx, out[0]))
    finally:
        z3.Z3_dec_ref(ctx, out[0])


def conjunction(formulas: list[z3.BoolRef]) -> z3.BoolRef:
    """z3.And(*formulas), without re-checking each formula's sort."""
    if not formulas:
        return z3.BoolVal(True)
    ctx = formulas[0].ctx
    args = (z3.Ast * len(formulas))()
    for i, f in enumerate(formulas):
        args[i] = f.as_ast()
    return z3.BoolRef(z3.Z3_mk_and(ctx.ref(), len(formulas), args), ctx)


def iff(a: z3.BoolRef, b: z3.BoolRef) -> z3.BoolRef:
    """a == b for Boolean formulas, without z3py's coercions."""
    ctx = a.ctx
    return z3.BoolRef(z3.Z3_mk_eq(ctx.ref(), a.as_ast(), b.as_ast()), ctx)


class Substitution:
    """z3.substitute(formula, *pairs) for many formulas with the same pairs, the pairs' arrays
    built once (z3py re-checks every pair's sorts on every call: most of the time of a large
    substitution)."""

    def __init__(self, pairs: list[tuple[z3.ExprRef, z3.ExprRef]]) -> None:
        self.pairs = pairs  # holds the terms (and their references) while the arrays point at them
        self.size = len(pairs)
        self.sources = (z3.Ast * self.size)()
        self.targets = (z3.Ast * self.size)()
        for i, (source, target) in enumerate(pairs):
            self.sources[i] = source.as_ast()
            self.targets[i] = target.as_ast()

    def __call__(self, formula: z3.ExprRef) -> z3.ExprRef:
        ctx = formula.ctx
        return z3.z3._to_expr_ref(z3.Z3_substitute(ctx.ref(), formula.as_ast(), self.size, self.sources,
                                                self.targets), ctx)


def assert_all(solver: z3.Solver, formulas: list[z3.BoolRef]) -> None:
    """solver.add(*formulas) for well-sorted Boolean formulas, without z3py's cast of each."""
    ctx = solver.ctx.ref()
    for f in formulas:
        z3.Z3_solver_assert(ctx, solver.solver, f.as_ast())


def int_or_none(model: z3.ModelRef, term: z3.ExprRef) -> int | None:
    """The value of an integer term in the model (completed), or None when the model does not
    reduce it to a number."""
    ctx = model.ctx.ref()
    out = (z3.Ast * 1)()
    if not z3.Z3_model_eval(ctx, model.model, term.as_ast(), True, out):
        return None
    z3.Z3_inc_ref(ctx, out[0])
    try:
        if z3.Z3_get_ast_kind(ctx, out[0]) != z3.Z3_NUMERAL_AST:
            return None
        return int(z3.Z3_get_numeral_string(ctx, out[0]))
    finally:
        z3.Z3_dec_ref(ctx, out[0])


#: packed(): the bits each term's value takes
PACKED_BITS = 8
_SHIFTS: list[z3.ArithRef] = []  # 2 ** (PACKED_BITS * i), in the main context


def packed(terms: list[z3.ArithRef]) -> z3.ArithRef:
    """The sum of terms[i] * 2**(PACKED_BITS * i): one term whose value holds every term's value
    (each in [0, 2**PACKED_BITS)), so that one evaluation in a model reads them all, their
    common parts evaluated once (the evaluator caches them within a call)."""
    ctx = terms[0].ctx
    assert ctx is z3.main_ctx(), "the shifts are built in the main context"
    while len(_SHIFTS) < len(terms):
        _SHIFTS.append(z3.IntVal(2 ** (PACKED_BITS * len(_SHIFTS))))
    parts = (z3.Ast * len(terms))()
    keep = []
    for i, term in enumerate(terms):
        pair = (z3.Ast * 2)()
        pair[0], pair[1] = term.as_ast(), _SHIFTS[i].as_ast()
        product = z3.ArithRef(z3.Z3_mk_mul(ctx.ref(), 2, pair), ctx)  # referenced while in use
        keep.append(product)
        parts[i] = product.as_ast()
    return z3.ArithRef(z3.Z3_mk_add(ctx.ref(), len(terms), parts), ctx)


def code_of(valid: z3.BoolRef, exact: z3.BoolRef, outcome: z3.ArithRef) -> z3.ArithRef:
    """If(valid, 1, 0) + 2 * If(exact, 1, 0) + 4 * outcome, built without z3py's coercions (one is
    built for each answer tried, many of them new in every call)."""
    ctx = outcome.ctx
    ref = ctx.ref()
    one, two, four, zero = (z3.IntVal(n, ctx) for n in (1, 2, 4, 0))
    keep = [z3.ArithRef(z3.Z3_mk_ite(ref, valid.as_ast(), one.as_ast(), zero.as_ast()), ctx),
            z3.ArithRef(z3.Z3_mk_ite(ref, exact.as_ast(), two.as_ast(), zero.as_ast()), ctx)]
    pair = (z3.Ast * 2)()
    pair[0], pair[1] = four.as_ast(), outcome.as_ast()
    keep.append(z3.ArithRef(z3.Z3_mk_mul(ref, 2, pair), ctx))
    parts = (z3.Ast * 3)()
    for i, term in enumerate(keep):
        parts[i] = term.as_ast()
    return z3.ArithRef(z3.Z3_mk_add(ref, 3, parts), ctx)
