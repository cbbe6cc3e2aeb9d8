"""Request body limits, checked before anything parses the body.

py-evm raises the interpreter's recursion limit to 100,000 when it is imported; the JSON
parser then recurses on deeply nested input until the C stack overflows and the whole server
dies, instead of raising an error. This middleware refuses bodies nested deeper than
``MAX_DEPTH`` (422) or larger than ``MAX_BYTES`` (413) with the usual error JSON.

It also refuses, for every route at once, JSON whose strings or keys hold a lone UTF-16
surrogate (``"\\ud800"``): Python parses it, but the text can not be encoded as UTF-8 to be
hashed, signed, stored or even echoed back, and every free-form field (credential documents,
evidence bundles, records) failed later with a 500. The answer is 422 ``invalid_input`` naming
each field path as the validation errors do (``credentialSubject.name``); ``/rpc`` gets a JSON-RPC error instead.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64

_OPEN = {ord("["), ord("{")}
_CLOSE = {ord("]"), ord("}")}
_QUOTE = ord('"')
_BACKSLASH = ord("\\")


def nesting_depth(body: bytes, limit: int) -> int:
    """Deepest bracket nesting outside strings; stops counting once past ``limit``."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif byte in _CLOSE:
            depth -= 1
    return deepest


# -- lone UTF-16 surrogates -------------------------------------------------------------------

#: A JSON escape of a UTF-16 surrogate (``\\ud800``…``\\udfff``), or one encoded as (invalid) UTF-8
#: bytes, which Python's ``json.loads`` also accepts (it decodes bytes with ``surrogatepass``).
_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
MAX_REPORTED = 10


def _has_surrogate(text: str) -> int | None:
    """Index of the first lone surrogate in ``text`` (a valid pair never survives ``json.loads``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def _segment(key: str) -> str:
    """A path segment that is safe to print (a surrogate itself can not be sent as UTF-8)."""
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def lone_surrogates(body: bytes) -> list[dict[str, Any]]:
    """Every string or key of the JSON ``body`` that holds a lone UTF-16 surrogate (at most
    ``MAX_REPORTED``), as ``{field, message, type}``; ``[]`` when there is none or the body is not
    JSON (the route reports that in its own words)."""
    if not body or (b"\x00" not in body and not _SURROGATE_HINT.search(body)):
        return []  # fast path: the common body can not hold one
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return []
    found: list[dict[str, Any]] = []
    stack: list[tuple[tuple[str, ...], Any]] = [((), document)]
    while stack and len(found) < MAX_REPORTED:
        path, value = stack.pop()
        if isinstance(value, str):
            at = _has_surrogate(value)
            if at is not None:
                found.append(_problem(path, f"the text holds a lone UTF-16 surrogate ({value[at]!r}) at position {at}"))
        elif isinstance(value, dict):
            for key in value:
                at = _has_surrogate(key)
                if at is not None:
                    found.append(
                        _problem(path, f'the key "{_segment(key)}" holds a lone UTF-16 surrogate at position {at}')
                    )
            stack.extend(((*path, _segment(k)), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend(((*path, str(i)), item) for i, item in reversed(list(enumerate(value))))
    return found[:MAX_REPORTED]


def _problem(path: tuple[str, ...], what: str) -> dict[str, Any]:
    """One problem in the shape of the validation errors (``api/errors.py``): the field path without
    a ``body.`` prefix (``claims.name``, ``options.0``), ``body`` for the body itself."""
    field = ".".join(path) or "body"
    message = (
        f"{what}: that is not valid Unicode text (an unpaired surrogate can not be encoded as UTF-8); "
        "send well-formed text (a surrogate pair such as \\ud83d\\ude00 is fine)"
    )
    return {"field": field, "message": message, "type": "lone_surrogate"}


def _surrogate_message(problems: list[dict[str, Any]]) -> str:
    return "; ".join(f"{p['field']}: {p['message']}" for p in problems)


def _rpc_error(body: bytes, problems: list[dict[str, Any]]) -> dict[str, Any]:
    """One JSON-RPC error for the request, with its id when that is a plain one (else null)."""
    try:
        call = json.loads(body)
    except (ValueError, RecursionError):  # pragma: no cover - it parsed a moment ago
        call = None
    request_id = call.get("id") if isinstance(call, dict) else None
    if isinstance(request_id, (dict, list)) or (isinstance(request_id, str) and _has_surrogate(request_id) is not None):
        request_id = None
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {"code": -32600, "message": f"invalid request: {_surrogate_message(problems)}", "data": problems},
    }


def _header(scope: Any, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _is_rpc(scope: Any) -> bool:
    return str(scope.get("path", "")).rstrip("/").endswith("/rpc")


def _parsed_as_json(scope: Any) -> bool:
    """Whether the app will read this body as JSON: FastAPI does for a JSON content type or none,
    and ``/rpc`` reads any body as JSON."""
    content_type = _header(scope, b"content-type")
    if content_type is None or _is_rpc(scope):
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


class BodyLimits:
    """Pure ASGI middleware: buffer the body, check size and depth, then replay it."""

    def __init__(self, app: Any, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _reject(send, 413, "body_too_large", f"the request body is larger than {self.max_bytes} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if nesting_depth(body, self.max_depth) > self.max_depth:
            await _reject(
                send, 422, "invalid_input", f"body: JSON nested deeper than {self.max_depth} levels is not accepted"
            )
            return
        if _parsed_as_json(scope) and (problems := lone_surrogates(body)):
            if _is_rpc(scope):
                await _send_json(send, 200, _rpc_error(body, problems))
            else:
                await _reject(send, 422, "invalid_input", _surrogate_message(problems), problems)
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reject(send: Any, status: int, code: str, message: str, details: Any = None) -> None:
    await _send_json(send, status, {"error": code, "message": message, "details": details})


async def _send_json(send: Any, status: int, content: Any) -> None:
    payload = json.dumps(content).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
