"""Imports durable_rules' engine on every supported Python.

durable_rules 2.0.28 is unmaintained; on Python 3.13 and later its C extension references
`PyEval_CallObject`, which CPython removed. The package ships a tiny C extension,
`qpr_rules._compat._pyeval_shim`, built at install time like durable_rules itself, that defines
the symbol. Loading it with RTLD_GLOBAL before durable_rules makes the missing symbol
resolvable when durable_rules' extension is loaded.
"""

from __future__ import annotations

import ctypes
import importlib.util
import sys
from types import ModuleType

#: First Python whose C API lacks PyEval_CallObject.
SHIM_NEEDED_FROM = (3, 13)


def load_pyeval_shim() -> str | None:
    """Load the shim into the global symbol table; its path, or None where not needed."""
    if sys.version_info[:2] < SHIM_NEEDED_FROM:
        return None
    spec = importlib.util.find_spec("qpr_rules._compat._pyeval_shim")
    if spec is None or spec.origin is None:
        raise ImportError(
            "qpr_rules._compat._pyeval_shim is not built, and durable_rules needs it on Python "
            f"{sys.version_info.major}.{sys.version_info.minor}; reinstall qpr-rules with a C "
            "compiler available (pip builds it at install)")
    ctypes.CDLL(spec.origin, mode=ctypes.RTLD_GLOBAL)
    return spec.origin


def import_durable_engine() -> ModuleType:
    """durable_rules' `durable.engine` module (its Python host), with the shim loaded first where
    needed. The library does not use it; the tests and bench/ do."""
    return _import_after_shim("durable.engine", "durable_rules")


def import_durable_c_engine() -> ModuleType:
    """durable_rules' C engine, `durable_rules_engine`, which engine/durable_host.py drives
    directly, without its Python host (the shim is loaded first where needed)."""
    return _import_after_shim("durable_rules_engine", "durable_rules' engine")


def _import_after_shim(module: str, what: str) -> ModuleType:
    load_pyeval_shim()
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the interpreter and the build
        raise ImportError(f"{what} could not be imported on Python {sys.version.split()[0]}: {exc}") from exc
