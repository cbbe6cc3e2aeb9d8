"""Local keys and the HTTP client for command lines: the actor's key never leaves their machine.

Reusable by every area's CLI:

- keystores: eth-account (Web3 Secret Storage, scrypt) files ``<data_dir>/keystores/NAME.json``;
  :func:`create_keystore`, :func:`load_account` (by name or path), :func:`list_keystores`;
- :func:`resolve_password`: ``--password``, else ``CIVIC_KEYSTORE_PASSWORD``, else a prompt on
  a terminal;
- :class:`ApiClient`: a small httpx client for the civic-ledger API whose failures are
  :class:`ApiError` carrying the API's ``{"error", "message"}``;
- :func:`sign_typed_data`: sign the EIP-712 JSON an API ``.../typed-data`` endpoint returned;
- typer option aliases :data:`ApiOpt`, :data:`PasswordOpt`, :data:`DataDirOpt`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from civic_ledger.errors import CivicLedgerError, Conflict, InvalidInput, NotFound
from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import load_keystore

DEFAULT_API_URL = "http://127.0.0.1:8000"
PASSWORD_ENV = "CIVIC_KEYSTORE_PASSWORD"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

ApiOpt = Annotated[
    str,
    typer.Option("--api", envvar="CIVIC_API_URL", help="Base URL of the civic-ledger API. Env: CIVIC_API_URL."),
]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--password",
        help=f"Keystore password. Default: env {PASSWORD_ENV}, else asked on the terminal.",
        show_default=False,
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory; keystores live in DATA_DIR/keystores. Env: CIVIC_DATA_DIR."),
]


# -- keystores -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KeystoreInfo:
    name: str
    address: str
    path: Path


def keystore_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "keystores"


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput(
            f"keystore name {name!r} is not valid: use letters, digits, '.', '_' or '-' (at most 64, "
            "starting with a letter or digit)"
        )
    return name


def keystore_path(data_dir: Path, name: str) -> Path:
    return keystore_dir(data_dir) / f"{_check_name(name)}.json"


def create_keystore(
    data_dir: Path,
    name: str,
    password: str,
    *,
    private_key: str | bytes | None = None,
    scrypt_n: int | None = None,
) -> tuple[LocalAccount, Path]:
    """Create (or import ``private_key`` into) ``<data_dir>/keystores/NAME.json``, mode 0600.

    ``scrypt_n`` is the scrypt work factor (default eth-account's 2**18, about a second); a
    lower one is only for throwaway keys. An existing NAME is a :class:`Conflict`.
    """
    path = keystore_path(data_dir, name)
    if path.exists():
        raise Conflict(f"keystore {name!r} already exists at {path}", code="keystore_exists")
    if scrypt_n is not None and (scrypt_n < 2 or scrypt_n & (scrypt_n - 1)):
        raise InvalidInput(f"scrypt work factor {scrypt_n} must be a power of two")
    try:
        account = Account.from_key(private_key) if private_key is not None else Account.create()
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"not a private key: {exc}") from None
    blob = Account.encrypt(account.key, password, kdf="scrypt", iterations=scrypt_n)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(blob, fh)
    os.replace(tmp, path)
    return account, path


def resolve_keystore(data_dir: Path, name_or_path: str) -> Path:
    """NAME in the data directory's keystores, or a path to a keystore file."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix == ".json" or os.sep in name_or_path:
        if candidate.is_file():
            return candidate
        raise NotFound(f"keystore file {candidate} does not exist", code="keystore_not_found")
    path = keystore_path(data_dir, name_or_path)
    if not path.is_file():
        known = ", ".join(k.name for k in list_keystores(data_dir)) or "none"
        raise NotFound(
            f"no keystore named {name_or_path!r} in {keystore_dir(data_dir)} (known: {known}); "
            "create one with `civic-ledger identity keystore create NAME`",
            code="keystore_not_found",
        )
    return path


def load_account(data_dir: Path, name_or_path: str, password: str) -> LocalAccount:
    """Decrypt a keystore by name or path; a wrong password is a one-line error."""
    return load_keystore(resolve_keystore(data_dir, name_or_path), password)


def list_keystores(data_dir: Path) -> list[KeystoreInfo]:
    """Keystores of the data directory with their addresses (read without decrypting)."""
    found: list[KeystoreInfo] = []
    folder = keystore_dir(data_dir)
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        address: str
        try:
            address = to_checksum_address("0x" + str(json.loads(path.read_text())["address"]).removeprefix("0x"))
        except (OSError, ValueError, KeyError, TypeError):
            address = "(unreadable)"
        found.append(KeystoreInfo(path.stem, address, path))
    return found


def resolve_password(password: str | None, *, what: str = "keystore") -> str:
    """``--password``, else env ``CIVIC_KEYSTORE_PASSWORD``, else a hidden prompt on a terminal."""
    if password is not None:
        return password
    env = os.environ.get(PASSWORD_ENV)
    if env is not None:
        return env
    if sys.stdin.isatty():
        return str(typer.prompt(f"password of {what}", hide_input=True))
    raise InvalidInput(f"no password for {what}: pass --password or set {PASSWORD_ENV}")


# -- signing -------------------------------------------------------------------------------


def sign_typed_data(account: LocalAccount, typed_data: dict[str, Any]) -> str:
    """Sign the standard EIP-712 JSON (as returned by a ``.../typed-data`` endpoint); 0x-hex."""
    return "0x" + eip712.TypedMessage.from_dict(typed_data).sign(account).hex()


# -- HTTP ----------------------------------------------------------------------------------


class ApiError(CivicLedgerError):
    """The API answered with an error: its status, code and message are kept."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message, details=details, code=code)
        self.status = status


class ApiClient:
    """Thin JSON client of the civic-ledger API (bearer token optional)."""

    def __init__(
        self, base_url: str, *, token: str | None = None, timeout: float = 120.0, client: httpx.Client | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def request(
        self, method: str, path: str, *, json_body: Any = None, params: Any = None, token: str | None = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        try:
            response = self._client.request(method, path, json=json_body, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise ApiError(
                503,
                "api_unreachable",
                f"cannot reach the API at {self.base_url} ({exc.__class__.__name__}: {exc}); "
                "start it with `civic-ledger serve` or pass --api",
            ) from None
        if response.is_success:
            return response.json() if response.content else None
        try:
            body = response.json()
            code, message, details = (
                body.get("error", "http_error"),
                body.get("message", response.text),
                body.get("details"),
            )
        except ValueError:
            code, message, details = "http_error", response.text[:300], None
        raise ApiError(response.status_code, str(code), f"{message} (HTTP {response.status_code})", details)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, json_body=body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)


# -- sign-in -------------------------------------------------------------------------------


def sign_in(client: ApiClient, account: LocalAccount) -> dict[str, Any]:
    """Sign in with Ethereum through the API: nonce → EIP-4361 message → signature → session.

    Returns the ``POST /auth/login`` answer (``token``, ``address``, ``citizen_id``, ``roles``...).
    """
    from eth_account.messages import encode_defunct

    nonce = client.get("/auth/nonce", params={"address": account.address})
    message = nonce["message"]
    signature = account.sign_message(encode_defunct(text=message)).signature
    return dict(client.post("/auth/login", {"message": message, "signature": "0x" + bytes(signature).hex()}))


def admin_session(
    client: ApiClient,
    *,
    token: str | None,
    admin_keystore: str | None,
    password: str | None,
    data_dir: Path | None,
) -> str:
    """The session token of an admin, for CLI commands that need one.

    An explicit ``--admin-keystore`` wins over a token (``--token`` or env ``CIVIC_TOKEN``): an
    exported token may have expired, the keystore signs in afresh.
    """
    if admin_keystore:
        from civic_ledger.config import Settings

        folder = data_dir or Settings().data_dir
        resolve_keystore(folder, admin_keystore)  # a clear "no such keystore" before asking a password
        account = load_account(folder, admin_keystore, resolve_password(password, what=f"keystore {admin_keystore!r}"))
        return str(sign_in(client, account)["token"])
    if token:
        return token
    raise InvalidInput("an admin must be signed in: pass --admin-keystore NAME or --token (env CIVIC_TOKEN)")
