"""Terminal output that fits its ecosystem: colour only on a terminal, never when NO_COLOR is
set (https://no-color.org) or `--no-color` is given, and tables as wide as the terminal."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported by the commands that draw with it, not by every command
    from rich.console import Console

_no_color = False


def disable_color() -> None:
    """`--no-color`: for this process, as NO_COLOR would."""
    global _no_color
    _no_color = True


def color_enabled() -> bool:
    return not _no_color and not os.environ.get("NO_COLOR") and is_terminal()


def is_terminal() -> bool:
    return sys.stdout.isatty()


def console() -> Console:
    """A rich Console writing to stdout; no escape codes when piped or colour is off."""
    from rich.console import Console

    enabled = color_enabled()
    return Console(no_color=not enabled, force_terminal=enabled, highlight=False,
                   width=None if is_terminal() else 120)
