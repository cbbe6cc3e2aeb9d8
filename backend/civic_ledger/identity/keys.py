"""Local keystores: the actor's key never leaves their machine.

eth-account (Web3 Secret Storage, scrypt) files, by name in ``<data_dir>/keystores/NAME.json`` or
anywhere by path: :func:`create_keystore` / :func:`create_keystore_file`, :func:`resolve_keystore`,
:func:`load_account`, :func:`list_keystores`. The command-line side (``--as``, passwords, the API
client, sign-in) is :mod:`civic_ledger.clikit`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from civic_ledger.errors import Conflict, InvalidInput, NotFound
from civic_ledger.platform.runtime import load_keystore

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


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


def create_keystore_file(
    path: Path, password: str, *, private_key: str | bytes | None = None, scrypt_n: int | None = None
) -> LocalAccount:
    """Encrypt a new key (or ``private_key``) into ``path``, mode 0600; an existing file is a Conflict.

    ``scrypt_n`` is the scrypt work factor (default eth-account's 2**18, about a second); a lower
    one is only for throwaway keys.
    """
    path = Path(path)
    if path.exists():
        raise Conflict(f"keystore {path} already exists; not overwriting a key", code="keystore_exists")
    if scrypt_n is not None and (scrypt_n < 2 or scrypt_n & (scrypt_n - 1)):
        raise InvalidInput(f"scrypt work factor {scrypt_n} must be a power of two")
    try:
        account = Account.from_key(private_key) if private_key is not None else Account.create()
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"not a private key: {exc}") from None
    blob = Account.encrypt(account.key, password, kdf="scrypt", iterations=scrypt_n)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(blob, fh)
    os.replace(tmp, path)
    return account


def create_keystore(
    data_dir: Path,
    name: str,
    password: str,
    *,
    private_key: str | bytes | None = None,
    scrypt_n: int | None = None,
) -> tuple[LocalAccount, Path]:
    """Create (or import ``private_key`` into) ``<data_dir>/keystores/NAME.json``; an existing NAME is a Conflict."""
    path = keystore_path(data_dir, name)
    if path.exists():
        raise Conflict(f"keystore {name!r} already exists at {path}", code="keystore_exists")
    return create_keystore_file(path, password, private_key=private_key, scrypt_n=scrypt_n), path


def resolve_keystore(data_dir: Path, name_or_path: str) -> Path:
    """A keystore file (an existing file, or anything ending in .json or holding a /), else a NAME in
    the data directory's keystores."""
    candidate = Path(name_or_path).expanduser()
    if candidate.is_file():
        return candidate
    if candidate.suffix == ".json" or os.sep in name_or_path:
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
