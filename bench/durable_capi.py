"""The raw durable_rules baseline of bench_placement.py (bench only): the same rules registered
in durable_rules' C extension (`durable_rules_engine`) and driven with the least work a case can
take: its message dumped to JSON once, asserted into a fresh state, each action read by name (the
first key of its JSON) and completed, the state deleted. The guard rule and case marker are kept
(deleting a state where no action ran crashes durable_rules); nothing else of the library's host
(engine/durable_host.py) is: no leak counter, no thread or case checks, no limits.

`CApiRuleset.evaluate(message_json, sid)` returns the ids of the rules that fired; the benchmark
checks it against the hand-written rules on every case before timing it.
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
