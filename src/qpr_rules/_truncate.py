"""Echoed input is cut short: a reason or an error message quotes what it was given, and hostile
input (a megabyte-long key or value) must not make every message a megabyte."""

from __future__ import annotations

#: Characters of echoed input kept in a message.
MAX_ECHO = 200


def truncate(text: str, limit: int = MAX_ECHO) -> str:
    """text, or its first `limit` characters and how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"
