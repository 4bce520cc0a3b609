"""The fact schema in SMT: every valid fact of a decision as z3 variables and constraints.

Each field becomes a variable with its presence (optional fields may be absent, and a field
under an absent object is absent too): booleans as Bool, whole numbers as Int within the
model's ge/le/gt/lt bounds, numbers as Real, text as String with its length bounds, enum
values as Int (the index of the value in the sorted value list, so two enums with the same
values agree), dates as Int day ordinals between date.min and date.max.

Text that the conditions only compare with literals (`eq`, `ne`, `in`) may instead be encoded as
a code (`text_codes`): an Int naming one of the texts the rules name, or one more value for every
other text. Every condition then holds on the code exactly when it holds on the text, so each
question has the same answer; the string theory, slow on hundreds of `in` lists, is not needed.
Only the exact questions of static_parts use it (see coded_texts there); examples from it show
the text named, or for "any other text" a real text the field takes that no rule names.

Lists have an unbounded length (so `count` is exact for every length) and `bound` item slots.
Past the bound the items are either copies of the last slot (then every condition on items is
exact: the encoding stands for real facts, and counterexamples replay) or, when the list's
`arbitrary` flag holds, anything valid: conditions on those items are then read on a pool of
"ghost" items, one more for each condition read, and hold when some ghost satisfies them
(`every` as "no ghost fails"). Every real list is one of these: take as ghosts, per condition,
an item past the slots that witnesses it (the pool only ever holds real items, so the readings
agree with one another). A proof without the
`exact()` constraints covers every length; with them, only lists whose items past the bound
repeat the last one, so such a verdict names the bound.

Values beyond the engine's range (policy/limits.py: dates before 1800 or after 2399, whole
numbers past 2**63 - 1, text over 65,535 UTF-8 bytes) are in the encoding, collected in
`invalid`: the engine answers the decision's on_error outcome for them. Computed fields and
model validators are
Python code: each one the translation knows is listed in COMPUTED and VALIDATORS below; any
other one is recorded in `unmodelled`, and a proof that reads it is not claimed.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import annotated_types as at
import z3
from pydantic import AfterValidator, BaseModel, BeforeValidator, Strict
from pydantic_core import PydanticUndefined

from qpr_rules.analysis import smt_eval
from qpr_rules.facts import common
from qpr_rules.facts.paths import FieldType, computed_return_type, type_of
from qpr_rules.policy.limits import DURABLE_MAX_INT, DURABLE_MAX_STRING_BYTES, MAX_FACT_DATE, MIN_FACT_DATE

DATE_MIN = dt.date.min.toordinal()
DATE_MAX = dt.date.max.toordinal()
FACT_DATE_MIN = MIN_FACT_DATE.toordinal()
FACT_DATE_MAX = MAX_FACT_DATE.toordinal()
#: Text of at most this many characters is within DURABLE_MAX_STRING_BYTES whatever its
#: characters (4 UTF-8 bytes at most each); text of more than DURABLE_MAX_STRING_BYTES characters
#: is beyond it. In between, whether it is beyond depends on the characters: the encoding
#: leaves it open (a free flag), and exact() excludes that zone.
SURE_STRING_CHARS = DURABLE_MAX_STRING_BYTES // 4
DEFAULT_LIST_BOUND = 3
MAX_LIST_BOUND = 16


@dataclass
class ScalarEnc:
    ft: FieldType
    present: z3.BoolRef  # effective: false when any enclosing object is absent
    value: z3.ExprRef
    given: bool = True  # a field the caller gives (not computed), so it appears in examples
    # text encoded as a code (see the module docstring): value is an Int, codes[i] the text of
    # code i, and code len(codes) any other text (other: a real one, None when there is none)
    codes: tuple[str, ...] | None = None
    other: str | None = None
    code: dict[str, int] = field(default_factory=dict)  # codes[i] -> i


@dataclass
class ObjEnc:
    model: type[BaseModel] | None
    present: z3.BoolRef
    fields: dict[str, Enc] = field(default_factory=dict)


@dataclass
class ListEnc:
    ft: FieldType
    present: z3.BoolRef
    length: z3.ArithRef
    items: list[tuple[z3.BoolRef, Enc]]  # (the item exists, its encoding)
    given: bool = True
    # the items past the slots are anything valid (not copies of the last slot)
    arbitrary: z3.BoolRef = field(default_factory=lambda: z3.BoolVal(False))
    # past(key, test): "some item past the slots passes test(item, beyond_range)" on an
    # arbitrary list, read on the ghost pool (one reading per key)
    past: Callable[[object, Callable[[Enc, z3.BoolRef], z3.BoolRef]], z3.BoolRef] | None = None


Enc = ScalarEnc | ObjEnc | ListEnc


def enum_index(ft: FieldType, value: str) -> int:
    return sorted(ft.enum_values).index(value)


def enum_value(ft: FieldType, index: int) -> str:
    return sorted(ft.enum_values)[index]


def _metadata(annotation: Any) -> list[Any]:
    """Constraint objects declared on a scalar annotation (through Optional and Annotated),
    not those of a list's items."""
    out: list[Any] = []
    stack = [annotation]
    while stack:
        current = stack.pop()
        if typing.get_origin(current) is typing.Annotated:
            out.extend(current.__metadata__)
            stack.append(typing.get_args(current)[0])
        elif typing.get_origin(current) in (typing.Union, types.UnionType):
            stack.extend(typing.get_args(current))
    return out


def _flatten(meta: list[Any]) -> list[Any]:
    out = []
    for m in meta:
        inner = getattr(m, "metadata", None)
        if isinstance(inner, list) and not isinstance(m, (at.BaseMetadata, Strict)):
            out.extend(inner)  # a pydantic FieldInfo inside Annotated
        else:
            out.append(m)
    return out


class FactEncoder:
    """Builds the encoding of one fact model under a name prefix (one per decision side)."""

    def __init__(self, prefix: str, list_bound: int = DEFAULT_LIST_BOUND, ghosts: bool = True,
                 text_codes: dict[str, tuple[str, ...]] | None = None) -> None:
        self.prefix = prefix
        # text fields (by path below the prefix) encoded as codes over the texts named
        self.text_codes = {f"{prefix}.{p}": texts for p, texts in (text_codes or {}).items()}
        # ids of the constraints that read one text field alone (its length, a code's range)
        self.code_domain: set[int] = set()
        self.list_bound = list_bound
        # without ghosts, every list's items past the slots repeat the last one: the exact encoding
        # alone, built without the ghost pools (static_parts asks only exact questions of it)
        self.ghosts = ghosts
        self.constraints: list[z3.BoolRef] = []
        self.unmodelled: list[str] = []
        self.bounded_lists: list[str] = []
        # a value beyond the engine's range: the decision answers on_error (see the docstring)
        self.invalid: list[z3.BoolRef] = []
        # what makes the encoding exact: no arbitrary list items, no text of undecided size
        self.exactness: list[z3.BoolRef] = []
        self._fresh = 0
        # the ghost pools' readings, defined over the whole pool once everything is translated
        self._readings: list[Callable[[], list[z3.BoolRef]]] = []
        self._ghost_count = 0  # ghosts added so far: the readings' definitions change with it
        self._built: tuple[tuple[int, int, int], list[z3.BoolRef]] | None = None

    def all_constraints(self) -> list[z3.BoolRef]:
        """The constraints, with each ghost reading defined over its list's whole pool (call it
        after every condition is translated: a later reading adds a ghost). Built once until a
        constraint or ghost is added (each reading is translated on every ghost of its list)."""
        state = (len(self.constraints), len(self._readings), self._ghost_count)
        if self._built is not None and self._built[0] == state:
            return list(self._built[1])
        defined: list[z3.BoolRef] = []
        done = 0
        while done < len(self._readings):  # a reading may read a nested list's pool in turn
            done = len(self._readings)
            defined = [c for define in list(self._readings) for c in define()]
        out = [*self.constraints, *defined]
        self._built = ((len(self.constraints), len(self._readings), self._ghost_count), out)
        return list(out)

    def fresh(self, kind: str = "b") -> Any:
        """A fresh variable with a short name (names never carry policy text)."""
        self._fresh += 1
        name = f"{self.prefix}!{kind}{self._fresh}"
        return z3.Int(name) if kind == "i" else z3.Bool(name)

    def exact(self) -> z3.BoolRef:
        return z3.And(*self.exactness)

    def encode(self, model: type[BaseModel]) -> ObjEnc:
        return self._object(model, self.prefix, z3.BoolVal(True))

    # ------------------------------------------------------------------ objects

    def _object(self, model: type[BaseModel], path: str, present: z3.BoolRef) -> ObjEnc:
        obj = ObjEnc(model, present)
        for name, info in model.model_fields.items():
            ft = type_of(info.annotation)
            may_be_absent = ft.optional or (not info.is_required() and info.default is None)
            fpath = f"{path}.{name}"
            own = z3.Bool(f"{fpath}?") if may_be_absent else z3.BoolVal(True)
            meta = _flatten([*info.metadata, *_metadata(info.annotation)])
            obj.fields[name] = self._field(ft, fpath, z3.And(present, own), meta, info.annotation)
        for name, computed in model.model_computed_fields.items():
            key = f"{model.__qualname__}.{name}"
            build = COMPUTED.get(key)
            if build is None:
                self.unmodelled.append(f"computed field {key}")
                ft = type_of(computed_return_type(computed))
                obj.fields[name] = self._field(ft, f"{path}.{name}", z3.BoolVal(False), [], None)
            else:
                obj.fields[name] = build(self, obj, f"{path}.{name}")
        for vname, dec in model.__pydantic_decorators__.model_validators.items():
            # keyed by the class that defines it: a validator of the FactModel base applies to all
            key = getattr(dec.func, "__qualname__", f"{model.__qualname__}.{vname}")
            rule = VALIDATORS.get(key)
            if rule is None:
                self.unmodelled.append(f"model validator {key}")
            else:
                self.constraints.append(rule(obj))
        if model.__pydantic_decorators__.field_validators:
            self.unmodelled.append(f"field validators of {model.__qualname__}")
        return obj

    def _field(self, ft: FieldType, path: str, present: z3.BoolRef, meta: list[Any],
               annotation: Any) -> Enc:
        if ft.kind == "object" and ft.model is not None:
            return self._object(ft.model, path, present)
        if ft.kind == "list" and ft.item is not None:
            return self._list(ft, path, present, meta, annotation)
        return self._scalar(ft, path, present, meta)

    def _list(self, ft: FieldType, path: str, present: z3.BoolRef, meta: list[Any],
              annotation: Any) -> ListEnc:
        assert ft.item is not None
        length = z3.Int(f"{path}#len")
        # A list of enum values needs a slot per value to hold all of them at once (a team with
        # every member); repeats add nothing that contains/count rules on a set could need.
        bound = max(self.list_bound, len(ft.item.enum_values))
        arbitrary = z3.Bool(f"{path}#any") if self.ghosts else z3.BoolVal(False)
        self.constraints.append(length >= 0)
        if self.ghosts:
            self.constraints.append(z3.Implies(arbitrary, z3.And(present, length > bound)))
            self.exactness.append(z3.Not(arbitrary))
        self.bounded_lists.append(path)
        for m in meta:
            if isinstance(m, at.MinLen):
                self.constraints.append(length >= m.min_length)
            elif isinstance(m, at.MaxLen):
                self.constraints.append(length <= m.max_length)
            elif not isinstance(m, Strict):
                self.unmodelled.append(f"constraint {m!r} on {path}")
        item_annotation = _list_item(annotation)
        item_meta = _flatten(_metadata(item_annotation)) if item_annotation is not None else []
        items: list[tuple[z3.BoolRef, Enc]] = []
        for i in range(bound):
            guard = z3.And(present, length > i)
            items.append((guard, self._field(ft.item, f"{path}[{i}]", guard, item_meta, item_annotation)))
        pool: list[tuple[Enc, z3.BoolRef, z3.BoolRef]] = []  # (ghost, it exists, beyond range)
        readings: dict[object, tuple[z3.BoolRef, Callable[[Enc, z3.BoolRef], z3.BoolRef]]] = {}

        def add_ghost() -> None:
            assert ft.item is not None
            self._ghost_count += 1
            exists = z3.Bool(f"{path}[+{len(pool)}]?")
            marks = len(self.constraints), len(self.invalid)
            enc = self._field(ft.item, f"{path}[+{len(pool)}]", z3.And(arbitrary, exists), item_meta,
                              item_annotation)
            built, bad = self.constraints[marks[0]:], self.invalid[marks[1]:]
            del self.constraints[marks[0]:], self.invalid[marks[1]:]
            self.constraints.append(z3.Implies(z3.And(arbitrary, exists), z3.And(*built)))
            pool.append((enc, exists, z3.Or(*bad) if bad else z3.BoolVal(False)))

        def past(key: object, test: Callable[[Enc, z3.BoolRef], z3.BoolRef]) -> z3.BoolRef:
            if key not in readings:
                add_ghost()  # a witness of its own for each reading keeps the pool sound
                readings[key] = (self.fresh(), test)
            return readings[key][0]

        def define() -> list[z3.BoolRef]:
            out = [z3.Implies(arbitrary, z3.Or(*[e for _, e, _ in pool]))] if pool else []
            for var, test in list(readings.values()):
                out.append(var == z3.Or(*[z3.And(arbitrary, exists, test(enc, bad))
                                          for enc, exists, bad in pool]))
            return out

        if not self.ghosts:  # no item past the slots but copies: nothing is read there
            return ListEnc(ft, present, length, items, arbitrary=arbitrary, past=_nothing_past)
        self._readings.append(define)
        # an arbitrary item past the slots may itself be beyond the engine's range
        self.invalid.append(past("beyond-range", lambda _enc, bad: bad))
        return ListEnc(ft, present, length, items, arbitrary=arbitrary, past=past)

    def _scalar(self, ft: FieldType, path: str, present: z3.BoolRef, meta: list[Any]) -> ScalarEnc:
        value: z3.ExprRef
        match ft.kind:
            case "bool":
                value = z3.Bool(path)
            case "int":
                value = z3.Int(path)
                self.invalid.append(z3.And(present, z3.Or(value > DURABLE_MAX_INT, value < -DURABLE_MAX_INT)))
            case "number":
                value = z3.Real(path)
            case "string" if path in self.text_codes:
                return self._coded(ft, path, present, meta, self.text_codes[path])
            case "string":
                value = z3.String(path)
                size = z3.Length(value)
                undecided = z3.And(size > SURE_STRING_CHARS, size <= DURABLE_MAX_STRING_BYTES)
                self.invalid.append(z3.And(present, z3.Or(size > DURABLE_MAX_STRING_BYTES,
                                                          z3.And(undecided, self.fresh()))))
                self.exactness.append(z3.Not(undecided))
            case "enum":
                value = z3.Int(path)
                self.constraints += [value >= 0, value < len(ft.enum_values)]
            case "date":
                value = z3.Int(path)
                self.constraints += [value >= DATE_MIN, value <= DATE_MAX]
                self.invalid.append(z3.And(present, z3.Or(value < FACT_DATE_MIN, value > FACT_DATE_MAX)))
            case _:
                raise AssertionError(f"not a scalar: {ft.kind}")
        mark = len(self.constraints)
        for m in meta:
            self._bound(m, ft, path, value)
        if ft.kind == "string":  # its length bounds read the text alone
            self.code_domain.update(c.get_id() for c in self.constraints[mark:])
        return ScalarEnc(ft, present, value)

    def _coded(self, ft: FieldType, path: str, present: z3.BoolRef, meta: list[Any],
               codes: tuple[str, ...]) -> ScalarEnc:
        """Text as a code: the texts named the field can hold, and any other (when one can)."""
        value = z3.Int(path)
        low, high = 0, DURABLE_MAX_STRING_BYTES  # length in characters; bytes checked per text
        for m in meta:
            match m:
                case at.MinLen(min_length=n):
                    low = max(low, n)
                case at.MaxLen(max_length=n):
                    high = min(high, n)
                case Strict() | AfterValidator(func=common._within_text_limit):
                    pass
                case _:
                    self.unmodelled.append(f"constraint {m!r} on {path}")
        other = _other_text(codes, low, high)
        domain = [value >= 0, value <= len(codes)]
        domain += [value != i for i, text in enumerate(codes)
                   if not low <= len(text) <= high or len(text.encode("utf-8", "surrogatepass"))
                   > DURABLE_MAX_STRING_BYTES]
        if other is None:
            domain.append(value != len(codes))
        self.code_domain.update(c.get_id() for c in domain)
        self.constraints += domain
        return ScalarEnc(ft, present, value, codes=codes, other=other,
                         code={text: i for i, text in enumerate(codes)})

    def _bound(self, m: Any, ft: FieldType, path: str, value: Any) -> None:
        size = z3.Length(value) if ft.kind == "string" else value
        match m:
            case Strict():
                pass  # strictness is about input types, not the values allowed
            case BeforeValidator(func=common._iso_date):
                pass  # accepts YYYY-MM-DD text or a date: every date stays possible
            case AfterValidator(func=common._in_date_range) | AfterValidator(func=common._within_text_limit):
                pass  # the engine's range: modelled above, as `invalid` (the model refuses it)
            case at.Ge(ge=b) if ft.kind in ("int", "number"):
                self.constraints.append(value >= b)
            case at.Gt(gt=b) if ft.kind in ("int", "number"):
                self.constraints.append(value > b)
            case at.Le(le=b) if ft.kind in ("int", "number"):
                self.constraints.append(value <= b)
            case at.Lt(lt=b) if ft.kind in ("int", "number"):
                self.constraints.append(value < b)
            case at.MinLen(min_length=n) if ft.kind == "string":
                self.constraints.append(size >= n)
            case at.MaxLen(max_length=n) if ft.kind == "string":
                self.constraints.append(size <= n)
            case _:
                self.unmodelled.append(f"constraint {m!r} on {path}")


def _other_text(codes: tuple[str, ...], low: int, high: int) -> str | None:
    """A text of low to high characters that is none of codes (readable: capital letters, as
    the solver's examples are), or None when there is none."""
    named = set(codes)
    for size in range(low, min(high, low + 8) + 1):
        for letter in "XYZABCDEFGHIJKLMNOPQRSTUVW":
            text = letter * size
            if text not in named:
                return text
            if size == 0:
                break
    return None


def code_of(enc: ScalarEnc, text: str) -> int:
    """The code of a text in a coded field's encoding."""
    assert enc.codes is not None
    return enc.code.get(text, len(enc.codes))


def _nothing_past(key: object, test: Callable[[Enc, z3.BoolRef], z3.BoolRef]) -> z3.BoolRef:
    return z3.BoolVal(False)


def _list_item(annotation: Any) -> Any:
    """The item annotation of a list annotation (through Optional and Annotated)."""
    stack = [annotation]
    while stack:
        current = stack.pop()
        origin = typing.get_origin(current)
        if origin in (list, tuple):
            return typing.get_args(current)[0]
        if origin is typing.Annotated or origin in (typing.Union, types.UnionType):
            stack.extend(typing.get_args(current))
    return None


def lookup(scope: ObjEnc, path: str) -> Enc:
    """The encoding at a dotted path below scope (paths were type-checked at load)."""
    enc: Enc = scope
    for part in path.split("."):
        assert isinstance(enc, ObjEnc), path
        enc = enc.fields[part]
    return enc


def default_of(info: Any) -> Any:
    """A field's default value, or PydanticUndefined (for the fact-default check)."""
    if info.default_factory is not None:
        return info.default_factory()
    return info.default if info.default is not PydanticUndefined else PydanticUndefined


# --------------------------------------------------------- computed fields and validators
# The Python code of a fact model that the translation must mirror, one entry per piece.
# A fact model that gains a computed field or a validator without an entry here makes every
# proof over it "not claimed", naming the piece: the list is the translation's contract.


def _placed_children(obj: ObjEnc, field: str = "children_placed"
                     ) -> tuple[ListEnc, list[tuple[z3.BoolRef, ObjEnc]]]:
    placed = obj.fields[field]
    assert isinstance(placed, ListEnc)
    items = [(g, e) for g, e in placed.items if isinstance(e, ObjEnc)]
    return placed, items


def _extreme_age(youngest: bool, field: str = "children_placed") -> Callable[[FactEncoder, ObjEnc, str], Enc]:
    """Home.youngest/oldest_placed_age over children_placed, Placement.youngest/oldest_sibling_age
    over siblings, exactly: the least (greatest) age of the list's items, absent when it is empty."""

    def build(enc: FactEncoder, obj: ObjEnc, path: str) -> Enc:
        placed, items = _placed_children(obj, field)
        value = z3.Int(path)
        ages = [(g, typing.cast(ScalarEnc, e.fields["age"]).value) for g, e in items]
        beyond = [z3.Implies(g, value <= a if youngest else value >= a) for g, a in ages]
        # past the slots: copies of the last one (nothing new), or arbitrary items, one of
        # which (a ghost) may hold the extreme age
        assert placed.past is not None

        def age(item: Enc) -> z3.ArithRef:
            return typing.cast(ScalarEnc, typing.cast(ObjEnc, item).fields["age"]).value

        other = placed.past(("age-is", path), lambda item, _: age(item) == value)
        outside = placed.past(("age-beyond", path), lambda item, _: age(item) < value if youngest
                              else age(item) > value)
        enc.constraints.append(z3.Implies(placed.length > 0, z3.And(
            *beyond, z3.Not(outside), z3.Or(*[z3.And(g, value == a) for g, a in ages], other))))
        return ScalarEnc(FieldType("int", optional=True), z3.And(obj.present, placed.length > 0), value,
                         given=False)

    return build


def _genders_of(field: str) -> Callable[[FactEncoder, ObjEnc, str], Enc]:
    """Home.genders_placed over children_placed, Placement.sibling_genders over siblings."""
    return lambda enc, obj, path: _genders_placed(enc, obj, path, field)


def _genders_placed(enc: FactEncoder, obj: ObjEnc, path: str, field: str = "children_placed") -> Enc:
    placed, items = _placed_children(obj, field)
    gender_ft = typing.cast(ScalarEnc, items[0][1].fields["gender"]).ft if items else FieldType("enum")
    slots: list[tuple[z3.BoolRef, Enc]] = []
    for k in range(len(gender_ft.enum_values)):
        # arbitrary items past the slots may hold any gender (read on a ghost per gender)
        assert placed.past is not None
        other = placed.past(("gender", k), lambda item, _, k=k: typing.cast(  # type: ignore[misc]
            ScalarEnc, typing.cast(ObjEnc, item).fields["gender"]).value == k)
        has = z3.Or(*[z3.And(g, typing.cast(ScalarEnc, e.fields["gender"]).value == k) for g, e in items],
                    other)
        slots.append((has, ScalarEnc(gender_ft, has, z3.IntVal(k), given=False)))
    length = z3.Sum(*[z3.If(g, 1, 0) for g, _ in slots]) if slots else z3.IntVal(0)
    return ListEnc(FieldType("list", item=gender_ft), obj.present, length, slots, given=False)


def _scalar_at(obj: ObjEnc, path: str) -> ScalarEnc:
    enc = lookup(obj, path)
    assert isinstance(enc, ScalarEnc), path
    return enc


def _is(obj: ObjEnc, path: str, value: str) -> z3.BoolRef:
    """The enum field at path is present and equals value."""
    f = _scalar_at(obj, path)
    return z3.And(f.present, f.value == enum_index(f.ft, value))


def _hold_state(hold_path: str, date_path: str) -> Callable[[FactEncoder, ObjEnc, str], Enc]:
    """facts/hold.py hold_state_on(hold, on), exactly: none when there is no hold or the date is
    before it was placed; reinstated from the day privileges were reinstated; in force between."""

    def build(enc: FactEncoder, obj: ObjEnc, path: str) -> Enc:
        assert obj.model is not None
        ft = type_of(computed_return_type(obj.model.model_computed_fields[path.rsplit(".", 1)[1]]))
        hold = lookup(obj, hold_path)
        on = _scalar_at(obj, date_path)
        placed = _scalar_at(obj, f"{hold_path}.placed_on")
        reinstated = _scalar_at(obj, f"{hold_path}.reinstated_on")
        value = z3.Int(path)
        enc.constraints.append(value == z3.If(
            z3.Or(z3.Not(hold.present), on.value < placed.value), enum_index(ft, "none"),
            z3.If(z3.And(reinstated.present, on.value >= reinstated.value), enum_index(ft, "reinstated"),
                  enum_index(ft, "in_force"))))
        enc.constraints += [value >= 0, value < len(ft.enum_values)]
        return ScalarEnc(ft, obj.present, value, given=False)

    return build


def _regions_to_notify(enc: FactEncoder, obj: ObjEnc, path: str) -> Enc:
    """HoldPlaced.regions_to_notify: the children's regions, each once (the order, sorted in
    Python, is not observable by any condition: contains, count, some and every ignore it)."""
    children = obj.fields["children_in_home"]
    assert isinstance(children, ListEnc)
    regions = [(g, _scalar_at(typing.cast(ObjEnc, e), "region")) for g, e in children.items]
    slots: list[tuple[z3.BoolRef, Enc]] = []
    for i, (g, r) in enumerate(regions):
        first = z3.And(g, *[z3.Not(z3.And(gj, rj.value == r.value)) for gj, rj in regions[:i]])
        slots.append((first, ScalarEnc(r.ft, first, r.value, given=False)))
    distinct = z3.Sum(*[z3.If(g, 1, 0) for g, _ in slots]) if slots else z3.IntVal(0)
    # arbitrary children past the slots add regions the slots do not show: any number more, and
    # any region (a ghost text per condition)
    more = enc.fresh("i")
    enc.constraints.append(more >= 0)
    length = z3.If(children.arbitrary, distinct + more, distinct)
    ft = FieldType("list", item=FieldType("string"))
    readings: dict[object, z3.BoolRef] = {}

    def past(key: object, test: Callable[[Enc, z3.BoolRef], z3.BoolRef]) -> z3.BoolRef:
        """A region of a child past the slots: read on a text of its own (any region)."""
        if key not in readings:
            region = ScalarEnc(ft.item or FieldType("string"), children.arbitrary,
                               z3.String(f"{path}[+{len(readings)}]"), given=False)
            readings[key] = z3.And(children.arbitrary, test(region, z3.BoolVal(False)))
        return readings[key]

    return ListEnc(ft, obj.present, length, slots, given=False, arbitrary=children.arbitrary, past=past)


def _focus_area_is_topic_chosen(enc: FactEncoder, obj: ObjEnc, path: str) -> Enc:
    """InterviewPlan.focus_area_is_topic_chosen, exactly: the template names a topic and every
    focus area is that text (an arbitrary list's items past the slots read on a ghost)."""
    areas = obj.fields["focus_areas"]
    assert isinstance(areas, ListEnc)
    chosen = _scalar_at(obj, "template.focus_area")
    slots = [z3.Implies(g, typing.cast(ScalarEnc, item).value == chosen.value) for g, item in areas.items]
    differs: z3.BoolRef = z3.BoolVal(False)
    if areas.past is not None and not z3.is_false(z3.simplify(areas.arbitrary)):
        differs = areas.past(("differs-from-chosen-topic",), lambda item, _: z3.Not(
            typing.cast(ScalarEnc, item).value == chosen.value))
    value = z3.And(chosen.present, *slots, z3.Not(differs))
    return ScalarEnc(FieldType("bool"), obj.present, value, given=False)


def _children_after_placement(enc: FactEncoder, obj: ObjEnc, path: str) -> Enc:
    """PlacementRequest.children_after_placement, exactly: the children living in the home now,
    the child and every sibling placed together with the child."""
    placed = lookup(obj, "home.children_placed")
    siblings = lookup(obj, "placement.siblings")
    assert isinstance(placed, ListEnc) and isinstance(siblings, ListEnc)
    return ScalarEnc(FieldType("int"), obj.present, placed.length + 1 + siblings.length, given=False)


COMPUTED: dict[str, Callable[[FactEncoder, ObjEnc, str], Enc]] = {
    "PlacementRequest.children_after_placement": _children_after_placement,
    "InterviewPlan.focus_area_is_topic_chosen": _focus_area_is_topic_chosen,
    "Home.youngest_placed_age": _extreme_age(youngest=True),
    "Home.oldest_placed_age": _extreme_age(youngest=False),
    "Home.genders_placed": _genders_placed,
    "Placement.youngest_sibling_age": _extreme_age(youngest=True, field="siblings"),
    "Placement.oldest_sibling_age": _extreme_age(youngest=False, field="siblings"),
    "Placement.sibling_genders": _genders_of("siblings"),
    "PlacementRequest.hold_state": _hold_state("home.hold", "placement.date"),
    "Reinstatement.hold_state": _hold_state("hold", "request.date"),
    "HoldPlaced.regions_to_notify": _regions_to_notify,
}


def _has(obj: ObjEnc, name: str) -> z3.BoolRef:
    return obj.fields[name].present


def _not_after(obj: ObjEnc, low: str, high: str) -> z3.BoolRef:
    """Both present implies low <= high (an age range, a date not before another)."""
    lo, hi = _scalar_at(obj, low), _scalar_at(obj, high)
    return z3.Implies(z3.And(lo.present, hi.present), lo.value <= hi.value)


def _before(obj: ObjEnc, low: str, high: str) -> z3.BoolRef:
    """Both present implies low < high."""
    lo, hi = _scalar_at(obj, low), _scalar_at(obj, high)
    return z3.Implies(z3.And(lo.present, hi.present), lo.value < hi.value)


def _hold_coherent(obj: ObjEnc) -> z3.BoolRef:
    """facts/hold.py Hold._coherent."""
    permanent, pending = _is(obj, "kind", "permanent"), _is(obj, "kind", "pending_qpr")
    return z3.Implies(obj.present, z3.And(
        z3.Implies(permanent, z3.Not(_has(obj, "reinstated_on"))),
        z3.Implies(permanent, z3.Not(_has(obj, "review_after"))),
        z3.Implies(pending, z3.Not(_has(obj, "review_after"))),
        z3.Implies(pending, z3.Not(_has(obj, "reinstated_on"))),
        _before(obj, "review_after", "reinstated_on"),
        _not_after(obj, "placed_on", "review_after"),
        _not_after(obj, "placed_on", "reinstated_on")))


def _restrictions_coherent(obj: ObjEnc) -> z3.BoolRef:
    """facts/placement.py Restrictions._coherent."""
    return z3.Implies(obj.present, _not_after(obj, "min_child_age", "max_child_age"))


def _proposed_action_coherent(obj: ObjEnc) -> z3.BoolRef:
    """facts/qpr_process.py ProposedAction._coherent (and _HOLD_OF_ACTION)."""
    genders = obj.fields["genders"]
    assert isinstance(genders, ListEnc)
    bounds = z3.Or(*[_has(obj, n) for n in ("min_child_age", "max_child_age", "max_children", "genders")])
    hold = obj.fields["hold"]
    places = {"restrict_period": "time_limited", "permanent_hold": "permanent"}
    return z3.Implies(obj.present, z3.And(
        z3.Implies(bounds, _is(obj, "kind", "restrict_children")),
        _not_after(obj, "min_child_age", "max_child_age"),
        z3.Implies(genders.present, genders.length >= 1),
        z3.Implies(_has(obj, "refer_to"), _is(obj, "kind", "refer_for_investigation")),
        z3.Implies(hold.present, z3.And(
            z3.Or(*[z3.And(_is(obj, "kind", k), _is(obj, "hold.kind", h)) for k, h in places.items()]),
            z3.Not(_scalar_at(obj, "hold.reinstated_on").present)))))


def _sw_judgment_is_a_sws(obj: ObjEnc) -> z3.BoolRef:
    """facts/qpr_process.py Concern._sw_judgment_is_a_sws."""
    return z3.Implies(z3.And(obj.present, _has(obj, "sw_concern")), _is(obj, "raised_by", "social_worker"))


def _home_standing_coherent(obj: ObjEnc) -> z3.BoolRef:
    """facts/qpr_process.py HomeStanding._coherent: a state decision exactly when sent."""
    not_sent = _is(obj, "sent_to_state_for", "none")
    return z3.Implies(obj.present, not_sent == z3.Not(_has(obj, "state_decision")))


def _referral_steps_in_order(obj: ObjEnc) -> z3.BoolRef:
    """facts/qpr_process.py Referral._steps_in_order."""
    def flag(name: str) -> z3.BoolRef:
        f = _scalar_at(obj, name)
        return z3.And(f.present, typing.cast(z3.BoolRef, f.value))

    return z3.Implies(obj.present, z3.And(
        z3.Implies(_has(obj, "referral_warranted"), flag("consulted_pco")),
        z3.Implies(flag("form_04_233_submitted"), flag("referral_warranted")),
        z3.Implies(flag("form_emailed_to_pco"), flag("form_04_233_submitted")),
        z3.Implies(_has(obj, "appropriate_for_qpr"),
                   z3.And(flag("form_04_233_submitted"), flag("form_emailed_to_pco"))),
        z3.Implies(flag("accepted"), flag("appropriate_for_qpr"))))


def _notice_has_an_addressee(obj: ObjEnc) -> z3.BoolRef:
    """facts/placement.py PlacementRequest._notice_has_an_addressee: a placement made into a
    home whose hold is in force on the placement date names the child's region."""
    state = _scalar_at(obj, "hold_state")
    in_force = z3.And(state.present, state.value == enum_index(state.ft, "in_force"))
    return z3.Implies(obj.present, z3.Not(z3.And(
        _is(obj, "placement.status", "made"), in_force, z3.Not(_scalar_at(obj, "child.region").present))))


VALIDATORS: dict[str, Callable[[ObjEnc], z3.BoolRef]] = {
    "PlacementRequest._notice_has_an_addressee": _notice_has_an_addressee,
    "Hold._coherent": _hold_coherent,
    "Restrictions._coherent": _restrictions_coherent,
    "ProposedAction._coherent": _proposed_action_coherent,
    "Concern._sw_judgment_is_a_sws": _sw_judgment_is_a_sws,
    "HomeStanding._coherent": _home_standing_coherent,
    "Referral._steps_in_order": _referral_steps_in_order,
}


# ------------------------------------------------------------------ model -> facts

NICE_FROM, NICE_TO = dt.date(2020, 1, 1).toordinal(), dt.date(2030, 12, 31).toordinal()


def niceness(enc: Enc) -> list[z3.BoolRef]:
    """Constraints for readable examples: dates in 2020-2030, short capital-letter text."""
    match enc:
        case ObjEnc(fields=fields):
            return [c for e in fields.values() for c in niceness(e)]
        case ListEnc(items=items, length=length, given=given):
            # a readable length (a count against a small number needs no more)
            return [*([length <= 64] if given else []), *(c for _, e in items for c in niceness(e))]
        case ScalarEnc(ft=ft, value=value):
            if ft.kind == "date":
                return [value >= NICE_FROM, value <= NICE_TO]
            if ft.kind == "string" and enc.codes is None:
                return [z3.Length(value) <= 4, z3.InRe(value, z3.Star(z3.Range("A", "Z")))]
            return []
        case _:
            typing.assert_never(enc)


def _small(enc: Enc) -> list[z3.BoolRef]:
    """Preferences for a short example: optional parts absent, lists empty."""
    match enc:
        case ObjEnc(fields=fields):
            return [c for e in fields.values() for c in _small(e)]
        case ListEnc(length=length, items=items, given=True):
            return [length == 0, *(c for _, e in items for c in _small(e))]
        case ListEnc():
            return []
        case ScalarEnc(present=present, given=True) if not z3.is_true(z3.simplify(present)):
            return [z3.Not(present)]
        case ScalarEnc():
            return []
        case _:
            typing.assert_never(enc)


def nice_model(solver: z3.Solver, encs: list[ObjEnc], minimal: bool = True,
               timeout_s: float = 5.0) -> z3.ModelRef:
    """A model of solver's constraints (its last check was sat) that reads well: dates in
    2020-2030, short capital-letter text, and (minimal) as few optional parts and list items as
    the solver finds quickly; minimal=False skips that search, for examples produced by the
    hundred. Each search is bounded by timeout_s; the solver's own model is the fallback."""
    fallback = solver.model()
    budget = max(1, int(min(timeout_s, 5.0) * 1000))
    if not minimal:
        solver.push()
        try:
            solver.add(*[c for e in encs for c in niceness(e)])
            if solver.check() == z3.sat:
                return solver.model()
        finally:
            solver.pop()
        return fallback
    opt = z3.Optimize()
    opt.set("timeout", budget)
    opt.add(*solver.assertions())
    opt.add(*[c for e in encs for c in niceness(e)])
    for e in encs:
        for pref in _small(e):
            opt.add_soft(pref)
    if opt.check() == z3.sat:
        return opt.model()
    return fallback  # the readable ranges cannot hold (a date near year 9999), or no time


def facts_from_model(obj: ObjEnc, model: z3.ModelRef, computed: bool = False) -> dict[str, Any]:
    """The facts a z3 model stands for, as a scenario's `facts:` mapping (given fields only; with
    computed, the computed fields too, as a model_dump would hold them)."""
    assert obj.model is not None
    out: dict[str, Any] = {}
    for name, enc in obj.fields.items():
        is_computed = name in obj.model.model_computed_fields
        if is_computed and not computed:
            continue
        if not smt_eval.holds(model, enc.present):
            if is_computed or obj.model.model_fields[name].is_required():
                out[name] = None
            continue
        out[name] = _value(enc, model, computed)
    return out


def field_value(enc: Enc, model: z3.ModelRef) -> Any:
    """One present field's given value in a model (as facts_from_model writes it)."""
    return _value(enc, model)


def _value(enc: Enc, model: z3.ModelRef, computed: bool = False) -> Any:
    match enc:
        case ObjEnc():
            return facts_from_model(enc, model, computed)
        case ListEnc(given=False):  # computed: its slots say which items exist
            return [_value(e, model) for g, e in enc.items if smt_eval.holds(model, g)]
        case ListEnc():
            # past the slots, items repeat the last slot (the exact encoding's reading of them)
            n = smt_eval.int_value(model, enc.length)
            shown = [_value(e, model, computed) for _, e in enc.items[:n]]
            return shown + shown[-1:] * (n - len(shown)) if shown else shown
        case ScalarEnc(codes=tuple() as codes, other=other, value=value):
            code = smt_eval.int_value(model, value)
            return codes[code] if code < len(codes) else other
        case ScalarEnc(ft=ft, value=value):
            # through z3's C API for the common kinds (smt_eval: z3py's wrapping costs more)
            match ft.kind:
                case "bool":
                    return smt_eval.holds(model, value)
                case "int":
                    return smt_eval.int_value(model, value)
                case "number":
                    return float(model.eval(value, model_completion=True).as_fraction())
                case "string":
                    return model.eval(value, model_completion=True).as_string()
                case "enum":
                    return enum_value(ft, smt_eval.int_value(model, value))
                case "date":
                    return dt.date.fromordinal(smt_eval.int_value(model, value))
            raise AssertionError(ft.kind)
        case _:
            typing.assert_never(enc)


def pin_to_facts(obj: ObjEnc, facts: Any) -> list[z3.BoolRef]:
    """Constraints fixing the encoding to given facts (a model_dump): for the differential test."""
    out: list[z3.BoolRef] = []
    assert obj.model is not None
    for name, enc in obj.fields.items():
        if name in obj.model.model_computed_fields:
            continue  # follows from the given fields through its own constraints
        value = facts.get(name) if isinstance(facts, dict) else None
        if value is None:
            out.append(z3.Not(enc.present))
            continue
        out.append(enc.present)
        out += _pin(enc, value)
    return out


def pin_value(enc: Enc, value: Any) -> list[z3.BoolRef]:
    """Constraints fixing one present field's encoding to a given value (as pin_to_facts does)."""
    return _pin(enc, value)


def _pin(enc: Enc, value: Any) -> list[z3.BoolRef]:
    match enc:
        case ObjEnc():
            return pin_to_facts(enc, value)
        case ListEnc():
            if not enc.given:  # computed: follows from the given fields
                return []
            out = [enc.length == len(value)]
            if len(value) <= len(enc.items):
                out.append(z3.Not(enc.arbitrary))
            for (_, item), v in zip(enc.items, value, strict=False):
                out += [item.present, *_pin(item, v)] if not isinstance(item, ObjEnc) else _pin(item, v)
            return out
        case ScalarEnc(ft=ft, value=var):
            if not enc.given:
                return []
            if enc.codes is not None:
                return [var == code_of(enc, value)]
            match ft.kind:
                case "enum":
                    return [var == enum_index(ft, str(getattr(value, "value", value)))]
                case "date":
                    return [var == value.toordinal()]
                case "string":
                    return [var == z3.StringVal(value)]
                case _:
                    return [var == value]
        case _:
            typing.assert_never(enc)
