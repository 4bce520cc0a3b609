"""Prototype for issue 12 item 3 (bench only, not used by the library): durable_rules driven
through its C extension (`durable_rules_engine`) directly instead of its Python host.

What the host does per case, and what this prototype keeps or drops:

- host: `assert_fact` json.dumps the message, the C engine matches, then for each action
  the host json.loads the state and the message, builds a Closure, runs the Python action,
  json.dumps the state back (`update_state`) and calls `complete_and_start_action`;
- here: the message is dumped once; for each action only its *name* is read (the first key of
  the message JSON; the state is never decoded or written back, since our actions do not change
  it); `complete_and_start_action` continues; then `delete_state`. The guard rule (an action
  always runs, so deleting the state is safe) and the case marker are kept; the process lock,
  leak counter and thread check would be the same few lines as in durable_host.py.

`CApiRuleset.evaluate(message)` returns the ids of the rules that fired, like
`DurableRuleset.evaluate`; the benchmark checks it against the hand-written rules on every case
before timing it.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Sequence
from typing import Any

from qpr_rules.engine.durable_compiler import MARKER
from qpr_rules.engine.durable_import import import_durable_engine

import_durable_engine()  # the same import path (and Python 3.13 shim) as the library
import durable_rules_engine as capi  # noqa: E402

GUARD = "__case__"
_NAMES = itertools.count()
LOCK = threading.Lock()


class CApiRuleset:
    def __init__(self, label: str, rules: Sequence[tuple[str, dict[str, Any], int]]) -> None:
        """rules: (rule id, durable `m` expression, priority), as engine.durable_compiler makes them."""
        self._names = {f"r{i}": rid for i, (rid, _, _) in enumerate(rules)}
        definition: dict[str, Any] = {f"r{i}": {"all": [{"m": expr}], "pri": pri}
                                      for i, (_, expr, pri) in enumerate(rules)}
        definition[GUARD] = {"all": [{"m": {MARKER: 1}}], "pri": 1_000_000}
        self.name = f"capi_{label}_{next(_NAMES)}"
        self._handle = capi.create_ruleset(self.name, json.dumps(definition))

    def evaluate(self, message_json: str, sid: str) -> list[str]:
        """The rules that fired for one case (message_json: the message with its sid)."""
        fired: list[str] = []
        with LOCK:
            code, state = capi.assert_fact(self._handle, message_json)
            if code not in (0,):
                raise RuntimeError(f"durable_rules refused the fact (code {code})")
            result = capi.start_action_for_state(self._handle, state)
            ran = False
            while result:
                ran = True
                text = result[1]  # '{"r3": {...}}': the action's name is the first key
                fired.append(text[2:text.index('"', 2)])
                more = capi.complete_and_start_action(self._handle, state)
                result = (None, more) if more else None
            if not ran:
                raise RuntimeError("no action ran: the state is left, never deleted")
            capi.delete_state(self._handle, sid)
        return [self._names[n] for n in dict.fromkeys(fired) if n != GUARD]
