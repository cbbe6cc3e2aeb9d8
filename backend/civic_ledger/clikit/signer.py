"""The signer of a command: ``--as NAME|PATH``, one password rule, local EIP-712 signatures, SIWE.

- ``--as`` names a keystore in ``DATA_DIR/keystores`` (``civic-ledger identity keystore create``)
  or a keystore file;
- the password is ``--password``, else env ``CIVIC_KEYSTORE_PASSWORD``, else asked (hidden) when
  stdin is a terminal, else a clear error;
- an admin command signs in with SIWE as ``--as`` (or takes ``--token``, env ``CIVIC_TOKEN``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address

from civic_ledger.clikit.client import ApiClient
from civic_ledger.clikit.settings import data_dir_or_default
from civic_ledger.errors import InvalidInput, NotFound
from civic_ledger.identity import keys
from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import load_keystore

PASSWORD_ENV = "CIVIC_KEYSTORE_PASSWORD"


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def resolve_password(password: str | None, *, what: str, new: bool = False) -> str:
    """``--password``, else env ``CIVIC_KEYSTORE_PASSWORD``, else a hidden prompt on a terminal."""
    if password is not None:
        return password
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    if stdin_is_terminal():
        return str(typer.prompt(f"password of {what}", hide_input=True, confirmation_prompt=new, err=True))
    raise InvalidInput(
        f"no password for {what}: pass --password or set {PASSWORD_ENV} (stdin is not a terminal to ask it)"
    )


def keystore_of(signer: str, data_dir: Path | None) -> Path:
    """``--as`` → the keystore file (a name in DATA_DIR/keystores, or a path)."""
    return keys.resolve_keystore(data_dir_or_default(data_dir), signer)


def load_signer(signer: str, password: str | None, data_dir: Path | None) -> LocalAccount:
    """Decrypt the ``--as`` keystore; a missing one is reported before any password is asked."""
    path = keystore_of(signer, data_dir)
    return load_keystore(path, resolve_password(password, what=f"keystore {signer!r}"))


def address_or_keystore(value: str, data_dir: Path | None) -> str:
    """ADDRESS, or a keystore NAME or file → checksummed address (read without its password)."""
    if is_address(value):
        return to_checksum_address(value)
    try:
        path = keystore_of(value, data_dir)
    except NotFound:
        raise InvalidInput(
            f"{value!r} is neither an address (0x + 40 hex digits) nor a keystore (a name in "
            f"{keys.keystore_dir(data_dir_or_default(data_dir))}, or a file)"
        ) from None
    try:
        return to_checksum_address("0x" + str(json.loads(path.read_text())["address"]).removeprefix("0x"))
    except (OSError, ValueError, KeyError, TypeError):
        raise InvalidInput(f"keystore {path} holds no readable address") from None


def sign_typed_data(account: LocalAccount, typed_data: dict[str, Any]) -> str:
    """Sign the standard EIP-712 JSON an API ``.../typed-data`` endpoint returned; 0x-hex."""
    return "0x" + eip712.TypedMessage.from_dict(typed_data).sign(account).hex()


def sign_in(client: ApiClient, account: LocalAccount) -> dict[str, Any]:
    """Sign in with Ethereum (EIP-4361): nonce → message → signature → ``POST /auth/login`` answer."""
    nonce = client.get("/auth/nonce", params={"address": account.address})
    message = nonce["message"]
    signature = account.sign_message(encode_defunct(text=message)).signature
    return dict(client.post("/auth/login", {"message": message, "signature": "0x" + bytes(signature).hex()}))


def admin_session(
    client: ApiClient, *, token: str | None, signer: str | None, password: str | None, data_dir: Path | None
) -> str:
    """The session token of an admin command.

    ``--as`` signs in afresh with that keystore (an exported token may have expired or be someone
    else's); without it, ``--token`` (env ``CIVIC_TOKEN``); neither is a clear error.
    """
    if signer:
        return str(sign_in(client, load_signer(signer, password, data_dir))["token"])
    if token:
        return token
    raise InvalidInput(
        "an admin must be signed in: pass --as NAME|PATH (the admin's keystore, signs in with SIWE) "
        "or --token (env CIVIC_TOKEN, from `civic-ledger identity login`)"
    )
