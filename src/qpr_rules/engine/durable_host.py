"""durable_rules behind guards, driven through its C engine (`durable_rules_engine`) directly.

durable_rules' Python host (`durable.engine.Host`) costs three times its C engine per case: it
JSON-decodes the state and the message of every action, wraps them in Closure objects, runs a
Python callback, JSON-encodes the state back and starts timer threads. Our rules have no Python
actions: all a case needs is *which* rules fired. So the message is encoded once, the C engine
matches it, and each action it starts is read by name (the first key of the action's JSON) and
completed; nothing is decoded, and no state is written back.

Every hazard measured in shared/notes/durable-rules.md is handled here, and each has a
regression test in tests/test_durable_guards.py:

- segfault on delete_state of a sid where no action ran: every ruleset has a guard rule
  matching the case marker, so an action always runs; if it did not, the state is left
  (counted as leaked) rather than deleted;
- at most 1,024 live sids per ruleset: one sid per case, deleted after the case, under a
  lock, so at most one is live; leaked sids are counted and the ruleset is rebuilt under a new
  name long before the limit;
- timer threads that run actions on other threads: no Host is made, so no timer thread is
  started; each action is taken by the thread that posted the case, and an action that is not
  the case's (another thread's, another sid's) is an error;
- swallowed errors: an error code, an action the ruleset does not have, a missing guard action
  are each raised to the caller, which fails closed;
- no thread safety in the C extension: one process-wide lock around every call;
- rulesets register once per name: names are versioned with a process-wide counter;
- rulesets are never freed by durable_rules' Python host (and at most 131,072 handles exist
  in a process): each ruleset is deleted in the C engine when its owner is closed or
  garbage-collected, so reloading policies does not grow the process.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from qpr_rules.engine.durable_compiler import MARKER
from qpr_rules.engine.durable_import import import_durable_c_engine
from qpr_rules.errors import EngineError

#: durable_rules' C engine (it ships no type hints). A module attribute, so a test can stand a
#: failing engine in its place.
_engine: ModuleType = import_durable_c_engine()

#: The C extension is process-global and has no locks: every call goes through this lock.
DURABLE_LOCK = threading.RLock()
_NAMES = itertools.count()
GUARD_RULE = "__case__"
#: Rebuild the ruleset when this many sids could not be deleted (durable allows 1,024 live).
LEAK_LIMIT = 256
#: assert_fact's result codes (durable_rules' rules.h): 0 matched and queued actions,
#: 1 no rule matched the fact (our guard rule always does, so this is an error here).
_OK = 0


#: Handles of rulesets no longer used, deleted at the next safe point: a finalizer may run during
#: garbage collection while another thread is inside a durable_rules call, and the C extension
#: must not be re-entered then. list.append and list.pop are atomic.
_RETIRED: list[int] = []


def _retire(handle: int) -> None:
    _RETIRED.append(handle)


def _delete_retired() -> None:
    """Delete retired rulesets in durable_rules; called under DURABLE_LOCK, outside any call."""
    while _RETIRED:
        _engine.delete_ruleset(_RETIRED.pop())


@dataclass(frozen=True)
class CompiledDurableRule:
    rule_id: str
    expression: dict[str, Any]
    priority: int


class _Case:
    """One posted case: what its actions said, and whether deleting its state is safe."""

    __slots__ = ("errors", "fired", "ran", "sid", "thread")

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.ran = False  # some action ran for this sid: deleting its state is then safe
        self.fired: list[str] = []
        self.errors: list[str] = []
        self.thread = threading.get_ident()


class DurableRuleset:
    """One decision's rules registered in durable_rules' C engine, evaluated one case at a time.

    Cases are posted one by one: durable_rules' batched posts (assert_facts, then start_action
    for each state) measured slower per case (13.7 us at 8 a batch, 15.7 us at 64) than single
    posts (11.2 us), so a batch gains nothing here (docs/benchmarks.md)."""

    def __init__(self, label: str, rules: Sequence[CompiledDurableRule]) -> None:
        self._label = re.sub(r"[^a-zA-Z0-9_]", "_", label)
        self._rules = list(rules)
        # action name in durable_rules -> rule id (short names: they lead every action's JSON)
        self._actions = {f"r{i}": rule.rule_id for i, rule in enumerate(self._rules)}
        self._actions[GUARD_RULE] = GUARD_RULE
        self.leaked = 0
        self._build()

    @property
    def definition(self) -> dict[str, Any]:
        """The ruleset as registered in durable_rules: one rule per policy rule, and the guard."""
        definition: dict[str, Any] = {f"r{i}": {"all": [{"m": rule.expression}], "pri": rule.priority}
                                      for i, rule in enumerate(self._rules)}
        definition[GUARD_RULE] = {"all": [{"m": {MARKER: 1}}], "pri": 1_000_000}
        return definition

    def _build(self) -> None:
        name = f"qpr_{self._label}_{next(_NAMES)}"
        text = json.dumps(self.definition, ensure_ascii=False)
        with DURABLE_LOCK:
            _delete_retired()
            try:
                handle = _engine.create_ruleset(name, text)
            except Exception as exc:
                raise EngineError(f"durable_rules refused the ruleset {name}: {exc}") from exc
        self.name, self._handle = name, handle
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

    def evaluate(self, message: dict[str, Any]) -> list[str]:
        """Ids of the rules that fired for message (with a fresh sid), the guard rule excluded."""
        return self.evaluate_json(json.dumps(message, ensure_ascii=False), message["sid"])

    def evaluate_json(self, text: str, sid: str) -> list[str]:
        """evaluate() of a message already encoded as JSON (its sid given alongside)."""
        case = _Case(sid)
        with DURABLE_LOCK:
            if _RETIRED:
                _delete_retired()
            try:
                code, state = _engine.assert_fact(self._handle, text)
            except BaseException as exc:
                self._leak()  # a state may exist where no action ran: never delete it
                raise EngineError(f"durable_rules failed: {exc}") from exc
            if code != _OK:
                self._leak()
                raise EngineError(f"durable_rules did not take the case (result code {code})")
            self._run_actions(_engine.start_action_for_state(self._handle, state), state, case)
            self._finish(case)
        return self._fired(case)

    def _run_actions(self, started: tuple[str, str] | None, state: int, case: _Case) -> None:
        """Take each action durable_rules starts for the case's state: note the rule by name, and
        complete it (our rules do nothing but be noted, so the state is never written back)."""
        if started is None:
            return
        state_json, action = started
        # every action of the loop is for this one state, taken by this one thread: whose case
        # the state is (its sid) and which thread takes its actions are checked once
        foreign = f'"sid":"{case.sid}"' not in state_json
        elsewhere = threading.get_ident() != case.thread
        actions, fired, handle = self._actions, case.fired, self._handle
        while action:
            name = action[2:action.find('"', 2)]  # '{"r3":{"m":...}}': the name is the first key
            rule = actions.get(name)
            if rule is None or foreign or elsewhere:
                self._refuse(case, name, rule, action, foreign)
            else:
                fired.append(rule)
            action = _engine.complete_and_start_action(handle, state)
        case.ran = bool(fired)  # an action of the case's own state ran: deleting it is safe

    @staticmethod
    def _refuse(case: _Case, name: str, rule: str | None, action: str, foreign: bool) -> None:
        """Record why an action is not the case's to take (a rule it names, on its own state but
        another thread, still counts as run)."""
        if foreign:
            case.errors.append(f"durable_rules started {name or action[:40]!r} for another case "
                               f"than {case.sid}")
        elif rule is None:
            case.errors.append(f"durable_rules started an action the ruleset does not have: {action[:80]}")
        else:
            case.errors.append(f"rule {rule} ran on another thread")
            case.fired.append(rule)

    def _finish(self, case: _Case) -> None:
        """Delete the case's state when that is safe; raise what went wrong with the case."""
        if not case.ran:
            self._leak()
            raise EngineError("; ".join([*case.errors, "durable_rules ran no action for the case"]))
        _engine.delete_state(self._handle, case.sid)
        if case.errors:
            raise EngineError("; ".join(case.errors))
        if GUARD_RULE not in case.fired:
            raise EngineError("the guard rule did not fire for the case")

    @staticmethod
    def _fired(case: _Case) -> list[str]:
        # the guard fires last (its priority is the lowest); a rule whose condition has
        # alternatives fires once per matching branch: dedupe
        fired = case.fired
        if fired[-1] == GUARD_RULE and GUARD_RULE not in fired[:-1]:
            fired = fired[:-1]
        else:
            fired = [r for r in fired if r != GUARD_RULE]
        return list(dict.fromkeys(fired)) if len(fired) > 1 else fired

    def _leak(self) -> None:
        self.leaked += 1
        if self.leaked >= LEAK_LIMIT:
            self.leaked = 0
            self._build()


