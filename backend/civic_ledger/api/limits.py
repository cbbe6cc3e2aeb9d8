"""Request body limits, checked before anything parses the body.

py-evm raises the interpreter's recursion limit to 100,000 when it is imported; the JSON
parser then recurses on deeply nested input until the C stack overflows and the whole server
dies, instead of raising an error. This middleware refuses bodies nested deeper than
``MAX_DEPTH`` (422) or larger than ``MAX_BYTES`` (413) with the usual error JSON.
"""

from __future__ import annotations

import json
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
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reject(send: Any, status: int, code: str, message: str) -> None:
    payload = json.dumps({"error": code, "message": message, "details": None}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
