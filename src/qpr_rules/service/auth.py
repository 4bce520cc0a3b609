"""Bearer tokens from a file, each named: the name is logged as the caller.

The file has one `NAME TOKEN` a line (`#` starts a comment). A token is compared with every
known token in constant time (hmac.compare_digest over SHA-256 digests, so neither the length
nor the first differing byte of a guess shows in the time taken), and every token is compared
whichever matches, so the time does not tell which name it was either.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

from qpr_rules.errors import QprRulesError

_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_TOKEN_LENGTH = 16


class TokenFileError(QprRulesError):
    """The tokens file cannot be used: says which line and why."""


class Tokens:
    def __init__(self, named: dict[str, str]) -> None:
        # kept as digests only: the tokens themselves are not held in memory after load
        self._digests = [(name, hashlib.sha256(token.encode()).digest()) for name, token in named.items()]

    def __len__(self) -> int:
        return len(self._digests)

    def caller(self, authorization: str | None) -> str | None:
        """The name of the token in an `Authorization: Bearer TOKEN` header, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        given = hashlib.sha256(token.strip().encode("utf-8", "surrogateescape")).digest()
        found = None
        for name, digest in self._digests:
            if hmac.compare_digest(given, digest) and found is None:
                found = name
        return found


def load_tokens(path: str | Path) -> Tokens:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenFileError(f"{path}: cannot read the tokens file: {exc}") from None
    named: dict[str, str] = {}
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise TokenFileError(f"{path}:{number}: expected `NAME TOKEN` (two words), got {len(parts)}")
        name, token = parts
        if not _NAME.match(name):
            raise TokenFileError(f"{path}:{number}: token name {name!r}: letters, digits and _ . @ - only")
        if name in named:
            raise TokenFileError(f"{path}:{number}: token name {name!r} is given twice")
        if len(token) < MIN_TOKEN_LENGTH:
            raise TokenFileError(
                f"{path}:{number}: the token of {name!r} is shorter than {MIN_TOKEN_LENGTH} characters"
            )
        if token in seen:
            raise TokenFileError(f"{path}:{number}: the token of {name!r} is another name's token too")
        seen.add(token)
        named[name] = token
    if not named:
        raise TokenFileError(f"{path}: no token in the tokens file")
    return Tokens(named)
