"""Sign-In with Ethereum (EIP-4361) and session tokens (the FastAPI dependencies are in ``identity/deps.py``).

Flow: ``GET /auth/nonce`` → the client builds an EIP-4361 message with that nonce and the
domain, URI and chain id the server names, signs it (EIP-191 ``personal_sign``) → ``POST
/auth/login`` → a bearer token.

Login checks, in order: the message parses; its nonce was issued here, is unexpired and unused
(it is burnt now, even if a later check fails); the signature recovers to the message's address;
domain, URI (origin of ``settings.public_url``) and scheme; chain id; issued-at not in the future,
not-before reached, expiration not passed; and the address is an active citizen or holds an
agency role (any ``*_ROLE`` constant, or ``DEFAULT_ADMIN_ROLE``, of a deployed contract).

Tokens are ``cl1.<payload>.<hmac>``: base64url JSON payload (address, citizen id, roles, issue and
expiry time, chain id, audience) MACed with HMAC-SHA256 under ``settings.session_secret`` — or, when unset, a random key made
once and kept in the data directory's state store.

``POST /auth/logout`` revokes a token before its expiry. Nonces, revoked token ids and (when
``session_secret`` is unset) the token key live in the platform's SQLite state store under the
data directory: a restart forgets none of them, and several server processes on one data
directory agree.

The dependencies re-check the chain on every request: a key that was rotated away, a suspended
citizen, or a revoked agency role loses access at once, whatever the token says.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
import threading
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address

from civic_ledger.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from civic_ledger.identity import agency, service
from civic_ledger.identity.districts import District
from civic_ledger.identity.schemas import MeOut, NonceOut, SessionOut
from civic_ledger.platform.runtime import Platform
from civic_ledger.platform.store import StateStore

with warnings.catch_warnings():  # abnf (used by siwe) warns about its own core rules, once, on import
    warnings.simplefilter("ignore")
    from siwe import ISO8601Datetime, SiweMessage

NONCE_TTL_S = 300
SESSION_TTL_S = 3600
CLOCK_SKEW_S = 30
MAX_LIVE_NONCES = 100_000
STATEMENT = "Sign in to civic-ledger (Seoul Citizen Card integrated authentication)."
TOKEN_PREFIX = "cl1"
ADMIN_ROLE = "DEFAULT_ADMIN_ROLE"

_ALNUM = string.ascii_letters + string.digits


def _now() -> float:
    return time.time()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- nonces --------------------------------------------------------------------------------


class NonceStore:
    """Single-use nonces with a lifetime, kept in the platform's :class:`StateStore`.

    Persisted (a restart forgets no issued or burnt nonce) and shared by every server process
    on the data directory: burning is one atomic ``UPDATE``, so a nonce signs in once, anywhere.
    """

    def __init__(self, store: StateStore, ttl_s: int = NONCE_TTL_S, max_live: int = MAX_LIVE_NONCES) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.max_live = max_live
        self._issued = 0
        self._lock = threading.Lock()

    def issue(self) -> tuple[str, int]:
        nonce = "".join(secrets.choice(_ALNUM) for _ in range(17))
        now = _now()
        with self._lock:
            self._issued += 1
            check = self._issued % max(1, min(1000, self.max_live // 10)) == 0
        if check and self.store.live_nonces(now) >= self.max_live:
            self.store.drop_oldest_nonces(keep=self.max_live - 1)
        self.store.add_nonce(nonce, now + self.ttl_s)
        return nonce, int(now + self.ttl_s)

    def burn(self, nonce: str) -> None:
        """Consume ``nonce``; raise when it is unknown, expired or already used."""
        now = _now()
        outcome, expiry = self.store.burn_nonce(nonce, now)
        if outcome == "used":
            raise Conflict(
                f"nonce {nonce!r} was already used: a SIWE message signs in once; get a new nonce from GET /auth/nonce",
                code="siwe_nonce_used",
            )
        if outcome == "unknown" or expiry is None:
            raise Unauthorized(
                f"nonce {nonce!r} was not issued by this server (or was forgotten): get one from GET /auth/nonce",
                code="siwe_nonce_unknown",
            )
        if expiry < now:
            raise Unauthorized(
                f"nonce {nonce!r} expired {int(now - expiry)} s ago (nonces live {self.ttl_s} s): get a new one",
                code="siwe_nonce_expired",
            )


# -- tokens --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """A verified session token."""

    address: str
    citizen_id: int | None
    roles: tuple[str, ...]
    issued_at: int
    expires_at: int
    token_id: str = ""


class TokenSigner:
    def __init__(self, secret: bytes, audience: str, chain_id: int) -> None:
        self._secret = secret
        self.audience = audience
        self.chain_id = chain_id

    def _mac(self, signed_part: str) -> str:
        return _b64(hmac.new(self._secret, signed_part.encode(), hashlib.sha256).digest())

    def issue(self, address: str, citizen_id: int | None, roles: list[str], ttl_s: int = SESSION_TTL_S) -> Session:
        now = int(_now())
        return Session(address, citizen_id, tuple(roles), now, now + ttl_s, secrets.token_hex(12))

    def encode(self, session: Session) -> str:
        payload = {
            "sub": session.address,
            "cid": session.citizen_id,
            "roles": list(session.roles),
            "iat": session.issued_at,
            "exp": session.expires_at,
            "aud": self.audience,
            "chain": self.chain_id,
            "jti": session.token_id or secrets.token_hex(12),
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signed_part = f"{TOKEN_PREFIX}.{body}"
        return f"{signed_part}.{self._mac(signed_part)}"

    def decode(self, token: str) -> Session:
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not token.isascii():
            raise Unauthorized("the bearer token is not a civic-ledger session token", code="invalid_token")
        signed_part = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._mac(signed_part), parts[2]):
            raise Unauthorized(
                "the session token's signature is not valid (tampered with, or issued by another server "
                "or before a restart): sign in again",
                code="invalid_token",
            )
        try:
            payload = json.loads(_unb64(parts[1]))
            session = Session(
                address=to_checksum_address(payload["sub"]),
                citizen_id=payload.get("cid"),
                roles=tuple(payload.get("roles", ())),
                issued_at=int(payload["iat"]),
                expires_at=int(payload["exp"]),
                token_id=str(payload.get("jti", "")),
            )
            audience, chain_id = payload.get("aud"), payload.get("chain")
        except (ValueError, KeyError, TypeError):
            raise Unauthorized("the session token's payload is malformed", code="invalid_token") from None
        if audience != self.audience or chain_id != self.chain_id:
            raise Unauthorized(
                f"the session token was issued for {audience} on chain {chain_id}, not {self.audience} on chain "
                f"{self.chain_id}",
                code="invalid_token",
            )
        if session.expires_at <= _now():
            raise Unauthorized(
                f"the session expired at {_iso(session.expires_at)}: sign in again", code="session_expired"
            )
        return session


class RevokedTokens:
    """Ids of tokens signed out before they expired, kept (persisted) until they would have expired."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def revoke(self, session: Session) -> None:
        self.store.revoke_token(session.token_id, session.expires_at)

    def is_revoked(self, session: Session) -> bool:
        return self.store.is_revoked(session.token_id)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the auth state of one app -------------------------------------------------------------


@dataclass
class AuthService:
    """Per-application sign-in state: expected origin, nonces, token key, role cache."""

    platform: Platform
    scheme: str
    domain: str
    origin: str
    nonces: NonceStore
    tokens: TokenSigner
    revoked: RevokedTokens

    @classmethod
    def create(cls, platform: Platform) -> AuthService:
        settings = platform.settings
        url = urlsplit(settings.public_url)
        if not url.scheme or not url.netloc:
            raise InvalidInput(f"settings.public_url {settings.public_url!r} is not an absolute URL")
        origin = f"{url.scheme}://{url.netloc}"
        secret = (
            settings.session_secret.get_secret_value().encode()
            if settings.session_secret is not None and settings.session_secret.get_secret_value()
            else platform.store.secret("session-token-key")  # made once per data directory
        )
        return cls(
            platform=platform,
            scheme=url.scheme,
            domain=url.netloc,
            origin=origin,
            nonces=NonceStore(platform.store),
            tokens=TokenSigner(secret, origin, platform.chain.chain_id),
            revoked=RevokedTokens(platform.store),
        )

    # -- roles ------------------------------------------------------------------------

    def agency_roles(self) -> list[tuple[str, str, bytes]]:
        """Every (contract, role name, role id) of the deployed contracts with AccessControl."""
        return agency.agency_roles(self.platform)

    def roles_held(self, address: str, only: set[str] | None = None) -> list[str]:
        """Labels ``Contract.ROLE`` of the roles ``address`` holds now (restricted to ``only``)."""
        return agency.agency_roles_of(self.platform, address, only)

    # -- nonce ------------------------------------------------------------------------

    def new_nonce(self, address: str | None = None) -> NonceOut:
        nonce, expires_at = self.nonces.issue()
        out = NonceOut(
            nonce=nonce,
            expires_at=expires_at,
            domain=self.domain,
            uri=self.origin,
            chain_id=self.platform.chain.chain_id,
            statement=STATEMENT,
        )
        if address is not None:
            out.message = build_message(out, address)
        return out

    # -- login ------------------------------------------------------------------------

    def login(self, message: str, signature: str) -> SessionOut:
        siwe = parse_message(message)
        self.nonces.burn(siwe.nonce)  # first: a nonce is spent even when a later check fails
        address = siwe.address
        try:
            recovered = Account.recover_message(encode_defunct(text=message), signature=signature)
        except Exception:  # noqa: BLE001 - malformed signature bytes
            recovered = None
        if recovered != address:
            raise Unauthorized(
                f"the signature does not recover to {address}, the address of the message"
                + (f" (it recovers to {recovered})" if recovered else "")
                + ": sign the exact message text with that key (EIP-191 personal_sign)",
                code="siwe_bad_signature",
            )
        if siwe.domain.lower() != self.domain.lower():
            raise Unauthorized(
                f"the message is for domain {siwe.domain!r}, not {self.domain!r}: it was made for another site",
                code="siwe_wrong_domain",
            )
        if siwe.scheme is not None and siwe.scheme != self.scheme:
            raise Unauthorized(f"the message's scheme {siwe.scheme!r} is not {self.scheme!r}", code="siwe_wrong_domain")
        uri = urlsplit(str(siwe.uri))
        if f"{uri.scheme}://{uri.netloc}".lower() != self.origin.lower():
            raise Unauthorized(f"the message's URI {siwe.uri!r} is not under {self.origin!r}", code="siwe_wrong_uri")
        chain_id = self.platform.chain.chain_id
        if int(siwe.chain_id) != chain_id:
            raise Unauthorized(
                f"the message is for chain id {siwe.chain_id}, but this server runs on chain id {chain_id}",
                code="siwe_wrong_chain",
            )
        now = _now()
        issued_at = _ts(siwe.issued_at)
        if issued_at > now + CLOCK_SKEW_S:
            raise Unauthorized(
                f"the message was issued at {siwe.issued_at}, in the future (now {_iso(now)})",
                code="siwe_issued_in_future",
            )
        if siwe.not_before is not None and _ts(siwe.not_before) > now + CLOCK_SKEW_S:
            raise Unauthorized(
                f"the message is not valid before {siwe.not_before} (now {_iso(now)})", code="siwe_not_yet_valid"
            )
        if siwe.expiration_time is not None and _ts(siwe.expiration_time) <= now:
            raise Unauthorized(
                f"the message expired at {siwe.expiration_time} (now {_iso(now)}): sign a new one",
                code="siwe_expired",
            )
        # Who is it? An active citizen, or an agency role holder.
        eligibility = service.eligibility(self.platform, address)
        roles = self.roles_held(address)
        if not eligibility.active and not roles:
            code, reason = service.why_not_active(self.platform, address)
            if code == "not_a_citizen":
                reason = f"{address} is neither a registered citizen nor the holder of an agency role"
            raise Forbidden(f"sign-in refused: {reason}", code=code)
        session = self.tokens.issue(address, eligibility.citizen_id if eligibility.active else None, roles)
        return SessionOut(
            token=self.tokens.encode(session),
            address=address,
            citizen_id=session.citizen_id,
            roles=list(session.roles),
            expires_at=session.expires_at,
        )


def _ts(value: Any) -> float:
    dt = ISO8601Datetime(str(value))._datetime
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def parse_message(message: str) -> SiweMessage:
    """Parse an EIP-4361 message; 422 ``siwe_malformed`` if it is not one."""
    try:
        return SiweMessage.from_message(message)
    except Exception as exc:  # noqa: BLE001 - abnf ParseError, ValueError, pydantic ValidationError
        detail = _siwe_problem(exc)
        raise InvalidInput(
            f"message: not an EIP-4361 (Sign-In with Ethereum) message: {detail}", code="siwe_malformed"
        ) from None


def _siwe_problem(exc: Exception) -> str:
    """What is wrong with a message siwe refused: the field and the reason, not just "1 validation error"."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            found = [f"{'.'.join(str(p) for p in e.get('loc', ())) or 'message'}: {e.get('msg')}" for e in errors()]
        except Exception:  # noqa: BLE001 - not a pydantic error after all
            found = []
        if found:
            return "; ".join(found)[:300]
    text = str(exc)
    return text.splitlines()[0][:200] if text else "it does not follow the EIP-4361 grammar"


def build_message(
    nonce: NonceOut,
    address: str,
    *,
    issued_at: datetime | None = None,
    expiration_time: datetime | None = None,
    chain_id: int | None = None,
    domain: str | None = None,
) -> str:
    """An EIP-4361 message for ``address`` with the fields of a ``GET /auth/nonce`` answer.

    Clients (the CLI, tests) use it; the keyword overrides exist to build wrong messages in tests.
    """
    issued = issued_at or datetime.now(UTC)
    expires = expiration_time or datetime.fromtimestamp(nonce.expires_at, UTC)
    msg = SiweMessage(
        domain=domain or nonce.domain,
        address=to_checksum_address(address),
        statement=nonce.statement,
        uri=nonce.uri,
        version="1",
        chain_id=chain_id if chain_id is not None else nonce.chain_id,
        nonce=nonce.nonce,
        issued_at=ISO8601Datetime.from_datetime(issued),
        expiration_time=ISO8601Datetime.from_datetime(expires),
    )
    return msg.prepare_message()


_create_lock = threading.Lock()


def auth_service(state: Any, platform: Platform) -> AuthService:
    """The :class:`AuthService` kept in ``state`` (an app's state) for ``platform``."""
    auth: AuthService | None = getattr(state, "identity_auth", None)
    if auth is None or auth.platform is not platform:
        with _create_lock:
            auth = getattr(state, "identity_auth", None)
            if auth is None or auth.platform is not platform:
                auth = AuthService.create(platform)
                state.identity_auth = auth
    return auth


@dataclass(frozen=True)
class CitizenPrincipal:
    """An active citizen, checked on chain for this request."""

    address: str
    citizen_id: int
    district: District
    birth_year: int
    session: Session


@dataclass(frozen=True)
class AgencyPrincipal:
    """An agency key holding at least one role right now (checked on chain for this request)."""

    address: str
    roles: tuple[str, ...]
    session: Session

    def has(self, contract: str, role: str) -> bool:
        return f"{contract}.{role}" in self.roles


def me(session: Session, auth: AuthService) -> MeOut:
    """Who is signed in, checked on chain now; 403 when the key lost all its access."""
    platform = auth.platform
    e = service.eligibility(platform, session.address)
    roles = auth.roles_held(session.address, only=set(session.roles)) if session.roles else []
    citizen = service.citizen_by_id(platform, e.citizen_id) if e.active else None
    if citizen is None and not roles:
        code, reason = service.why_not_active(platform, session.address)
        raise Forbidden(f"the session lost its access: {reason}", code=code)
    return MeOut(address=session.address, citizen=citizen, roles=roles, expires_at=session.expires_at)
