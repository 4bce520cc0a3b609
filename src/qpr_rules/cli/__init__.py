"""The qpr-rules command line. Each command group lives in its own module."""

from __future__ import annotations

from qpr_rules.cli.app import main

__all__ = ["main"]
