"""Rate limits: a flood is refused with 429 before any body is read, any check runs or gas is spent.

Token buckets (a sustained rate per second and a burst), one per key and kind of request:

| kind | which requests | keyed by |
|---|---|---|
| ``write`` | ``POST``/``PUT``/``PATCH``/``DELETE`` except ``/rpc`` | client IP, and (when it relays) the signed-in actor |
| ``nonce`` | ``GET /auth/nonce`` | client IP |
| ``rpc`` | ``/rpc`` | client IP |

The actor is the address of a valid session token (its MAC is checked: a forged token can not
spend someone else's allowance). Relayed signed actions without a session are bounded per IP
here and per signer by the contracts' nonces. Buckets live in memory, at most ``MAX_KEYS`` per
kind (least recently used dropped first), so memory is bounded whatever the traffic. Limits
are settings (``rate_*``); ``rate_limits=false`` turns them off (benchmarks).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from typing import Any

MAX_KEYS = 100_000
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Last path segments of POST routes that compute an answer and relay nothing (drafts of typed
#: data, verifications, QR codes, sign-in): bounded per IP, not charged to the actor's allowance.
_NOTHING_RELAYED = frozenset({"typed-data", "verify", "qr", "login", "logout", "nonce"})


class TokenBuckets:
    """Buckets of ``burst`` tokens refilled at ``rate`` per second, one per key (thread-safe)."""

    def __init__(self, rate: float, burst: int, max_keys: int = MAX_KEYS) -> None:
        self.rate = float(rate)
        self.burst = int(burst)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Take a token for ``key``: 0.0 when allowed, else the seconds until one is free."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate if self.rate > 0 else math.inf
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait


def _describe(rate: float, burst: int) -> str:
    return f"{rate:g} per second, bursts of {burst}"


class RateLimits:
    """Pure ASGI middleware applying the buckets above; settings are read from the running platform."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._kinds: dict[str, TokenBuckets] | None = None
        self._lock = threading.Lock()

    def _buckets(self, settings: Any) -> dict[str, TokenBuckets]:
        with self._lock:
            if self._kinds is None:
                self._kinds = {
                    "write": TokenBuckets(*settings.rate_write_ip),
                    "actor": TokenBuckets(*settings.rate_write_actor),
                    "nonce": TokenBuckets(*settings.rate_nonce_ip),
                    "rpc": TokenBuckets(*settings.rate_rpc_ip),
                }
            return self._kinds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        app_state = scope["app"].state if "app" in scope else None
        platform = getattr(app_state, "platform", None)
        if platform is None or not platform.settings.rate_limits:
            await self.app(scope, receive, send)
            return
        refusal = self._check(scope, app_state, platform)
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await _reject(send, *refusal)

    def _check(self, scope: Any, app_state: Any, platform: Any) -> tuple[float, str] | None:
        settings = platform.settings
        buckets = self._buckets(settings)
        method, path = scope["method"], scope["path"]
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        if path == "/rpc":
            checks = [("rpc", ip, "/rpc requests from " + ip, settings.rate_rpc_ip)]
        elif method == "GET" and path == "/auth/nonce":
            checks = [("nonce", ip, "sign-in nonces for " + ip, settings.rate_nonce_ip)]
        elif method in _WRITES:
            checks = [("write", ip, "write requests from " + ip, settings.rate_write_ip)]
            relays = path.rstrip("/").rsplit("/", 1)[-1] not in _NOTHING_RELAYED
            actor = _actor(scope, app_state, platform) if relays else None
            if actor is not None:
                checks.append(("actor", actor, "write requests by " + actor, settings.rate_write_actor))
        else:
            return None
        for kind, key, what, (rate, burst) in checks:
            wait = buckets[kind].take(key)
            if wait > 0:
                return wait, f"too many {what}: the limit is {_describe(rate, burst)}; retry in {wait:.1f} s"
        return None


def _actor(scope: Any, app_state: Any, platform: Any) -> str | None:
    """The address of the request's session token when its MAC is valid (else None)."""
    token = None
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text = value.decode("latin-1")
            if text[:7].lower() == "bearer ":
                token = text[7:].strip()
            break
    if not token:
        return None
    from civic_ledger.identity.auth import auth_service

    try:
        return auth_service(app_state, platform).tokens.decode(token).address
    except Exception:  # noqa: BLE001 - an invalid token is refused by the route itself
        return None


async def _reject(send: Any, wait: float, message: str) -> None:
    retry = max(1, math.ceil(wait)) if math.isfinite(wait) else 3600
    payload = json.dumps(
        {"error": "rate_limited", "message": message, "details": {"retry_after_s": round(wait, 3)}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"retry-after", str(retry).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
