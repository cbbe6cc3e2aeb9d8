"""RFC 8785 JSON Canonicalization Scheme (JCS): the one canonical JSON of the platform.

Whatever is hashed as JSON (a credential claim's value, see ``credentials/document.py``) is
serialised here, so that any JCS implementation — the npm ``canonicalize`` package, Go's or Java's
reference code — produces the same bytes from the same JSON text:

- no whitespace; object members sorted by their keys' **UTF-16 code units** (so ``"\\ue000"``
  sorts after ``"\\U0001f600"``, whose first unit is the surrogate ``0xd83d``); arrays keep order;
- strings as ECMAScript's ``JSON.stringify`` writes them: ``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t``,
  other controls below U+0020 as ``\\u00xx`` (lower-case hex), everything else (non-ASCII, emoji)
  as raw UTF-8; a lone surrogate is not Unicode text and is refused;
- numbers as ECMAScript's ``Number.prototype.toString`` (RFC 8785 §3.2.2.3): the shortest digits
  that round-trip the IEEE-754 double, ``40.0`` → ``40``, ``-0`` → ``0``, ``1e21`` → ``1e+21``,
  ``1e-7`` → ``1e-7``, ``0.1 + 0.2`` → ``0.30000000000000004``; NaN and ±Infinity are refused.

**Integers.** JSON numbers are IEEE-754 doubles to every JavaScript reader, so an integer beyond
±(2^53 − 1) (``Number.MAX_SAFE_INTEGER``) would reach such a verifier as a different number and hash
differently. They are refused (``InvalidInput``, HTTP 422) with the advice to send the value as a
string (``"12345678901234567890"``), which every reader keeps exactly. Floats of any magnitude are
doubles already and are accepted (``1e300``). Booleans are ``true``/``false``, ``None`` is ``null``.

The serialiser is the ``rfc8785`` package (Trail of Bits, pure Python); :func:`check` walks the value
first so that every refusal names the offending place (``claim 'score'.marks[2]``), and the test
suite compares the bytes with npm's ``canonicalize`` over a table of cases (tests/js/jcs_table.mjs).
"""

from __future__ import annotations

import math
from typing import Any

import rfc8785

from civic_ledger.errors import InvalidInput

MAX_SAFE_INTEGER = 2**53 - 1
#: Deeper values are refused (the API refuses bodies nested deeper than 64 levels before this).
MAX_DEPTH = 200


def _reason(value: Any) -> str | None:
    """Why a scalar can not be canonicalised, or ``None``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return None
        shown = str(value) if len(str(value)) <= 40 else str(value)[:40] + "…"
        return (
            f"the integer {shown} is outside ±(2^53−1) = ±{MAX_SAFE_INTEGER}: JSON numbers are IEEE-754 doubles "
            f'(RFC 8785 §3.2.2.3) and a JavaScript verifier would read another number; give it as a string ("{shown}")'
        )
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return f"{value} is not a JSON number: NaN and Infinity are not JSON numbers; give a finite number"
    if isinstance(value, str):
        return _text_reason(value)
    return f"a {type(value).__name__} is not a JSON value (give a string, number, boolean, null, list or object)"


def _text_reason(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        return (
            f"the text holds a lone UTF-16 surrogate ({bad!r}) at position {exc.start}: not valid Unicode text "
            "(no unpaired surrogates such as \\ud800)"
        )
    return None


def check(value: Any, where: str = "value") -> None:
    """Raise :class:`InvalidInput` naming ``where`` and the path inside it if ``value`` has no JCS form."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidInput(f"{where}{path}: JSON nested deeper than {MAX_DEPTH} levels is not accepted")
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise InvalidInput(f"{where}{path}: object keys must be strings, got {key!r:.40}")
                why = _text_reason(key)
                if why:
                    raise InvalidInput(f"{where}{path}: a key is not valid Unicode text — {why}")
                stack.append((child, f"{path}.{key}", depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        else:
            why = _reason(item)
            if why:
                raise InvalidInput(f"{where}{path}: {why}")


def canonicalize(value: Any, where: str = "value") -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value`` (a JSON value as ``json.loads`` returns it)."""
    check(value, where)
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, UnicodeError, RecursionError) as exc:  # check() refuses these first
        raise InvalidInput(f"{where}: no RFC 8785 form: {str(exc)[:160]}") from None


def canonical_text(value: Any, where: str = "value") -> str:
    """:func:`canonicalize` as text."""
    return canonicalize(value, where).decode("utf-8")
