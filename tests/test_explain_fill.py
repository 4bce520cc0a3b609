"""`explain` wraps its sentences itself where textwrap would break only at spaces
(engine/explain.py, `_fill`): the lines must be textwrap's, exactly, for every text."""

from __future__ import annotations

import random
import textwrap
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qpr_rules.engine.explain import WIDTH, _fill

# the characters that decide where textwrap breaks: spaces and other whitespace, hyphens before
# letters and digits, em-dashes, punctuation, letters beyond ASCII, and long runs without a space
ALPHABET = [" ", " ", " ", "  ", "-", "--", "a", "b", "é", "Z", "1", "7", "_", ",", ".", "[", "]", "(",
            "\t", "\n", "\u00a0", "“", "”", "RH-881", "pending-qpr", "x" * 40, "y" * 95]


def _wrapped(text: str, indent: str) -> str:
    return textwrap.fill(text, width=WIDTH, initial_indent=indent, subsequent_indent=indent)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=120), st.sampled_from(["", "  ", "      ", "        "]))
def test_fill_gives_textwraps_lines(parts: list[str], indent: str) -> None:
    text = "".join(parts)
    _fill.cache_clear()
    assert _fill(text, indent) == _wrapped(text, indent)


def test_fill_takes_its_own_path_for_sentences_of_words_and_spaces(monkeypatch: pytest.MonkeyPatch) -> None:
    """The texts explanations are made of (words and single spaces, hyphens before digits),
    over many widths of word: the same lines as textwrap's, most of them not on one line, and
    most wrapped without textwrap (a word longer than the line is left to it)."""
    from qpr_rules.engine import explain

    fallbacks = [0]
    original = textwrap.fill

    def counted(*args: Any, **kwargs: Any) -> str:
        fallbacks[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(explain.textwrap, "fill", counted)
    rng = random.Random(7)
    words = ["the", "home's", "hold", "is", "time_limited,", "not", "permanent", "[home.hold.kind", "=",
             "permanent]", "RH-881", "2026-01-10", "“Homes", "on", "hold”", "a" * 30, "b" * 86]
    several = texts = 0
    for _ in range(800):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 60)))
        for indent in ("      ", "        "):
            _fill.cache_clear()
            ours = _fill(text, indent)
            assert ours == original(text, width=WIDTH, initial_indent=indent, subsequent_indent=indent), text
            several += "\n" in ours
            texts += 1
    assert several > texts // 2 and fallbacks[0] < texts // 2
