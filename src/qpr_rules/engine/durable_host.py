"""durable_rules behind guards. Every hazard measured in shared/notes/durable-rules.md is
handled here, and each has a regression test in tests/test_durable_guards.py:

- segfault on delete_state of a sid where no action ran: every ruleset has a guard rule
  matching the case marker, so an action always runs; if it did not, the state is left
  (counted as leaked) rather than deleted;
- at most 1,024 live sids per ruleset: one sid per case, deleted after the case, under a
  lock, so at most one is live; leaked sids are counted and the ruleset is rebuilt under a
  new name long before the limit;
- timer threads that run actions on other threads: the Host's `_run` is disabled, and an
  action that runs on another thread is an error;
- swallowed action exceptions: actions catch and record their own errors, which the
  caller then raises;
- no thread safety in the C extension: one process-wide lock around every call;
- rulesets register once per name: names are versioned with a process-wide counter;
- rulesets are never freed by durable_rules' Python host (and at most 131,072 handles exist
  in a process): each ruleset is deleted in the C engine when its owner is closed or
  garbage-collected, so reloading policies does not grow the process.
"""

from __future__ import annotations

import copy
import itertools
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from qpr_rules.engine.durable_compiler import MARKER
from qpr_rules.engine.durable_import import import_durable_engine
from qpr_rules.errors import EngineError

_durable: Any = import_durable_engine()  # durable_rules ships no type hints
_Host: Any = _durable.Host

#: The C extension is process-global and has no locks: every call goes through this lock.
DURABLE_LOCK = threading.RLock()
_NAMES = itertools.count()
GUARD_RULE = "__case__"
#: Rebuild the ruleset when this many sids could not be deleted (durable allows 1,024 live).
LEAK_LIMIT = 256


#: Handles of rulesets no longer used, deleted at the next safe point: a finalizer may run during
#: garbage collection inside another durable_rules call (an action allocates), and the C
#: extension must not be re-entered then. list.append and list.pop are atomic.
_RETIRED: list[int] = []


def _retire(handle: int) -> None:
    _RETIRED.append(handle)


def _delete_retired() -> None:
    """Delete retired rulesets in durable_rules; called under DURABLE_LOCK, outside any call."""
    while _RETIRED:
        _durable.durable_rules_engine.delete_ruleset(_RETIRED.pop())


class _QuietHost(_Host):
    """A Host without its timer threads, which would run actions on other threads."""

    def _run(self) -> None:
        return None


@dataclass(frozen=True)
class CompiledDurableRule:
    rule_id: str
    expression: dict[str, Any]
    priority: int


class _Case:
    __slots__ = ("errors", "fired", "ran", "thread")

    def __init__(self) -> None:
        self.ran = False  # some action ran for this sid: deleting its state is then safe
        self.fired: list[str] = []
        self.errors: list[str] = []
        self.thread = threading.get_ident()


class DurableRuleset:
    """One decision's rules registered in durable_rules, evaluated one case at a time."""

    def __init__(self, label: str, rules: Sequence[CompiledDurableRule]) -> None:
        self._label = re.sub(r"[^a-zA-Z0-9_]", "_", label)
        self._rules = list(rules)
        self._cases: dict[str, _Case] = {}
        self.leaked = 0
        self._build()

    def _build(self) -> None:
        self.name = f"qpr_{self._label}_{next(_NAMES)}"
        definition: dict[str, Any] = {}
        for i, rule in enumerate(self._rules):
            definition[f"r{i}"] = {
                "all": [{"m": rule.expression}],
                "pri": rule.priority,
                "run": self._action(rule.rule_id),
            }
        definition[GUARD_RULE] = {
            "all": [{"m": {MARKER: 1}}],
            "pri": 1_000_000,
            "run": self._action(GUARD_RULE),
        }
        self._host = _QuietHost()
        # registration mutates the dict it is given (it removes `run`): give it a copy
        with DURABLE_LOCK:
            _delete_retired()
            self._host.set_rulesets({self.name: copy.deepcopy(definition)})
            handle = self._host.get_ruleset(self.name)._handle
        old = getattr(self, "_finalizer", None)
        # the callback holds the handle only, never self (which would keep self alive)
        self._finalizer = weakref.finalize(self, _retire, handle)
        if old is not None:
            old()

    def close(self) -> None:
        """Free the ruleset in durable_rules now (it is also freed when garbage-collected)."""
        self._finalizer()
        with DURABLE_LOCK:
            _delete_retired()

    def _action(self, rule_id: str) -> Callable[[Any], None]:
        def run(c: Any) -> None:
            try:
                case = self._cases[c.m["sid"]]
            except Exception:
                return
            case.ran = True
            try:
                if threading.get_ident() != case.thread:
                    case.errors.append(f"rule {rule_id} ran on another thread")
                case.fired.append(rule_id)
            except Exception as exc:
                case.errors.append(f"rule {rule_id} action failed: {exc!r}")

        return run

    def evaluate(self, message: dict[str, Any]) -> list[str]:
        """Ids of the rules that fired for message (a fresh sid), the guard rule excluded."""
        sid = message["sid"]
        with DURABLE_LOCK:
            _delete_retired()
            case = self._cases[sid] = _Case()
            try:
                try:
                    result = self._host.assert_fact(self.name, message)
                except BaseException as exc:
                    self._leak()  # a state may exist where no action ran: never delete it
                    raise EngineError(f"durable_rules failed: {exc}") from exc
                if not case.ran:
                    self._leak()
                    raise EngineError("durable_rules ran no action for the case")
                self._host.delete_state(self.name, sid)
                if case.errors:
                    raise EngineError("; ".join(case.errors))
                if result is None:
                    raise EngineError("durable_rules deferred the case to another thread")
                if isinstance(result, dict) and result.get("exception"):
                    raise EngineError(f"durable_rules action failed: {result['exception']}")
                if GUARD_RULE not in case.fired:
                    raise EngineError("the guard rule did not fire for the case")
            finally:
                self._cases.pop(sid, None)
        # a rule whose condition has alternatives fires once per matching branch: dedupe
        return [r for r in dict.fromkeys(case.fired) if r != GUARD_RULE]

    def _leak(self) -> None:
        self.leaked += 1
        if self.leaked >= LEAK_LIMIT:
            self.leaked = 0
            self._build()
