"""Where the bundled policies are: inside the installed wheel, or policies/ of a checkout."""

from __future__ import annotations

from pathlib import Path


def bundled_policy_dir() -> Path:
    """The directory of the policies shipped with the package."""
    installed = Path(__file__).parent / "_bundled_policies"
    if installed.is_dir():
        return installed
    checkout = Path(__file__).resolve().parents[2] / "policies"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"no bundled policies: neither {installed} nor {checkout} exists; reinstall qpr-rules"
    )
