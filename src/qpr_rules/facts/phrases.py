"""How a fact reads inside a sentence, from the description its fact model already gives it.

Explanations say "the kind of hold is time_limited", not "hold.kind = permanent is false": the
words come from each field's pydantic `description`, trimmed to the phrase that names the fact:

1. Parenthesised asides go ("(absent: not said)", "(derived, never given)"), then whatever follows
   the first `;`, `. `, `, if `, `, when ` or `, as ` (a note on absence, or on where or how the
   value is recorded), then a final `.`.
2. A colon either labels the phrase or explains it. A label before it, of one or two words or
   naming fields ("Step 4: the internal review", "restrict_children: youngest age allowed"), is
   dropped; a longer phrase before it ("The kind of hold: pending QPR, time-limited or
   permanent", "Status 2, stability: its QSR rating") is kept, what follows dropped.
3. The first letter is lower-cased unless the first word is an acronym ("RF", "QPI", "PCO").

A field without a description reads as its name with spaces ("staff champions").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from pydantic import BaseModel

from qpr_rules.facts.paths import FieldType, PathError, field_types, resolve

_ASIDE = re.compile(r"\s*\([^()]*\)", re.DOTALL)
_NOTE = re.compile(r";|\.\s|, (?:if|when|as) ", re.DOTALL)
_LABEL_MAX_WORDS = 2  # "Step 4", "Staff": a label, not a phrase ("Status 2, stability" is one)
# a phrase starting with one of these has its own subject, so it reads as a statement
# ("the RF agrees"); any other ("Supports the three core QPI principles") is a checklist item
_SUBJECTS = frozenset({"the", "a", "an", "it", "they", "this", "these", "every", "each",
                       "results", "staff", "leadership"})
# ... and so does one with a verb of its own after its subject ("support is available",
# "04-233 is accepted", "PCO and PCO PSS found the referral appropriate")
_VERBS = frozenset({"is", "are", "was", "were", "can", "should", "found", "has", "have"})


def phrase_of(description: str | None, name: str) -> str:
    """The phrase naming a field in a sentence (module docstring), lower-cased where it may be."""
    text = " ".join((description or "").split())
    previous = None
    while previous != text:  # nested asides go from the inside out
        previous, text = text, _ASIDE.sub("", text)
    text = _NOTE.split(text, maxsplit=1)[0].strip().rstrip(".").strip()
    if ":" in text:
        before, after = (part.strip() for part in text.split(":", 1))
        short_label = len(before.split()) <= _LABEL_MAX_WORDS or "_" in before
        text = after if short_label and after else before
    if not text:
        return name.replace("_", " ")
    first = text.split()[0]
    if not (len(first) > 1 and first[1:2].isupper()):  # "RF", "QPI", "04-233" stay as written
        text = text[0].lower() + text[1:]
    return text


@dataclass(frozen=True)
class Fact:
    """One fact as a sentence names it."""

    path: str
    phrase: str
    type: FieldType | None  # None when the path is not in the model (an explanation never fails)

    @property
    def is_statement(self) -> bool:
        """A true/false fact whose phrase has its own subject ("the RF agrees ...")."""
        first, *rest = self.phrase.split(" ")
        return first in _SUBJECTS or not _VERBS.isdisjoint(rest)

    @property
    def is_question(self) -> bool:
        """A phrase that asks rather than names ("whether the placement is proposed or already
        made"): its value is its answer, so it reads "...: proposed", never "... is proposed"."""
        return self.phrase.startswith("whether ")

    def valued(self, shown: str) -> str:
        """The fact said to have the value shown: "the kind of hold is permanent"."""
        return f"{self.phrase}: {shown}" if self.is_question else f"{self.phrase} is {shown}"

    @property
    def is_date(self) -> bool:
        return self.type is not None and self.type.kind == "date"

    @property
    def is_bool(self) -> bool:
        return self.type is not None and self.type.kind == "bool"


class Glossary:
    """The phrases of one fact model's paths (for the items of a list: the item's model)."""

    def __init__(self, model: type[BaseModel] | None) -> None:
        self.model = model

    def fact(self, path: str) -> Fact:
        return _fact(self.model, path)

    def items(self, path: str) -> Glossary:
        """The glossary of the items of the list at path (their fields, for `some`/`every`)."""
        item = self.fact(path).type
        return glossary(item.item.model if item is not None and item.item is not None else None)


@functools.cache  # one per model class: models are fixed once defined
def glossary(model: type[BaseModel] | None) -> Glossary:
    return Glossary(model)


@functools.cache
def _fact(model: type[BaseModel] | None, path: str) -> Fact:
    name = path.rsplit(".", 1)[-1]
    if model is None:
        return Fact(path, name.replace("_", " "), None)
    try:
        ftype = resolve(model, path)
        owner = resolve(model, path.rsplit(".", 1)[0]).model if "." in path else model
    except PathError:
        return Fact(path, name.replace("_", " "), None)
    description = None
    if owner is not None and name in field_types(owner):
        info = owner.model_fields.get(name) or owner.model_computed_fields.get(name)
        description = info.description if info is not None else None
    return Fact(path, phrase_of(description, name), ftype)
