"""Evaluating formulas in a z3 model, and building conjunctions, through z3's C API directly.

z3py checks the sorts of every argument and wraps every result in Python objects; for the
thousands of small evaluations a partial decision makes (engine/partial.py), those checks cost
more than the evaluation itself. The callers pass well-sorted Boolean and integer formulas.
"""

from __future__ import annotations

import z3


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
