"""Build steps pyproject.toml cannot declare: the C shim and the bundled policies.

- `qpr_rules._compat._pyeval_shim`: a small C extension that lets durable_rules 2.0.28 load on
  Python 3.13+ (see src/qpr_rules/engine/durable_import.py). It is compiled at install, the
  same way durable_rules itself is, so every interpreter gets a matching build.
- `policies/` is copied into the package as `qpr_rules/_bundled_policies`, so
  `Engine.from_bundled()` works from an installed wheel (editable installs read the checkout).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithPolicies(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "qpr_rules" / "_bundled_policies"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(ROOT / "policies", target,
                        ignore=shutil.ignore_patterns("__pycache__", "*.py", "*.pyc", ".*"))


setup(
    cmdclass={"build_py": BuildPyWithPolicies},
    ext_modules=[Extension("qpr_rules._compat._pyeval_shim",
                           sources=["src/qpr_rules/_compat/pyeval_shim.c"])],
)
