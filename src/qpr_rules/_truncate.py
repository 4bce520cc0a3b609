"""Echoed input is cut short: a reason or an error message quotes what it was given, and hostile
input (a megabyte-long key or value) must not make every message a megabyte."""

from __future__ import annotations

import re

#: Characters of echoed input kept in a message.
MAX_ECHO = 200


def truncate(text: str, limit: int = MAX_ECHO) -> str:
    """text, or its first `limit` characters and how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


# C0 and C1 controls (ESC starts a terminal escape; U+009B is a one-byte CSI) and the bidirectional
# overrides and isolates that reorder what a terminal shows.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """text with every control character written as an escape (\\x1b, \\u202e), so that echoed
    input (a scenario's name) cannot move the cursor, retitle or clear the terminal."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                            else f"\\u{ord(m.group()):04x}", text)
