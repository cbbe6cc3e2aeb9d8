"""``civic-ledger identity``: keystores, registration, key rotation, sign-in — an HTTP client of the API.

Keys stay local: every command loads the actor's keystore, fetches typed data from the API,
signs it here and posts the signature. Passwords come from ``--password`` or the environment
(``CIVIC_KEYSTORE_PASSWORD``), else a prompt.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_account.signers.local import LocalAccount
from rich.table import Table

from civic_ledger.cli_support import (
    address_or_keystore,
    cli_errors,
    console,
    data_dir_or_default,
    err,
    load_signer,
)
from civic_ledger.errors import InvalidInput
from civic_ledger.identity import keys
from civic_ledger.identity.keys import DEFAULT_API_URL, ApiClient, ApiOpt, DataDirOpt, PasswordOpt

app = typer.Typer(help="Citizen Card identity: keystores, registration, key rotation, sign-in.", no_args_is_help=True)
keystore_app = typer.Typer(
    help="Local encrypted keys (eth-account keystores in DATA_DIR/keystores).", no_args_is_help=True
)
app.add_typer(keystore_app, name="keystore")


RegistrarKeystoreOpt = Annotated[
    str, typer.Option("--registrar-keystore", "-r", help="Keystore (name or path) of the registrar who signs.")
]
TokenOpt = Annotated[
    str | None,
    typer.Option("--token", envvar="CIVIC_TOKEN", help="Session token (from `identity login`). Env: CIVIC_TOKEN."),
]
TtlOpt = Annotated[int, typer.Option("--ttl", help="Seconds the signed message stays valid.", min=1)]


_errors = cli_errors


_data_dir = data_dir_or_default


_load = load_signer


_address_or_keystore = address_or_keystore


def _citizen_id(client: ApiClient, ref: str, data_dir: Path | None) -> int:
    """ADDRESS, keystore NAME, or citizen id (``12`` or ``#12``) → citizen id."""
    text = ref.removeprefix("#")
    if text.isdigit():
        return int(text)
    return int(client.get(f"/identity/citizens/{_address_or_keystore(ref, data_dir)}")["citizen_id"])


def _record(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    record: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--record {pair!r}: use KEY=VALUE")
        record[key] = value
    return record


def _sign_and_post(
    client: ApiClient, account: LocalAccount, path: str, request: dict[str, Any], fields: dict[str, Any]
) -> dict[str, Any]:
    """POST path/typed-data, check it names our key, sign locally, POST path."""
    typed = client.post(f"{path}/typed-data", request)
    if typed["signer"] != account.address:
        raise InvalidInput(f"the API asks {typed['signer']} to sign, but the keystore holds {account.address}")
    signature = keys.sign_typed_data(account, typed["typed_data"])
    body = {
        **fields,
        "registrar": account.address,
        "nonce": typed["nonce"],
        "deadline": typed["deadline"],
        "signature": signature,
    }
    return dict(client.post(path, body))


def _citizen_table(c: dict[str, Any], title: str | None = None) -> Table:
    table = Table(title=title or f"citizen #{c['citizen_id']}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    status = "[green]active[/]" if c["active"] else f"[red]{c['status']}[/]"
    if c.get("suspension_reason"):
        status += f" ({c['suspension_reason']})"
    d = c["district"]
    rows = [
        ("citizen id", str(c["citizen_id"])),
        ("address", c["account"]),
        ("status", status),
        ("district", f"{d['code']} · {d['name']}-gu · {d['name_ko']}"),
        ("birth year", f"{c['birth_year']} (age band {c['age_band']})"),
        ("residency", f"{c['residency']} ({c['residency_code']})"),
        ("since", c["since"]),
        ("record hash", c["record_hash"]),
    ]
    for k, v in rows:
        table.add_row(k, v)
    return table


def _report(result: dict[str, Any], what: str) -> None:
    err.print(
        f"[green]{what}[/]: {result['event']} in block {result['block_number']} · tx {result['tx_hash']} "
        f"· gas {result['gas_used']:,}",
        highlight=False,
    )
    console.print(_citizen_table(result["citizen"]))


# -- keystores -----------------------------------------------------------------------------


@keystore_app.command("create")
def keystore_create(
    name: Annotated[str, typer.Argument(help="Name of the keystore (file DATA_DIR/keystores/NAME.json).")],
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
    scrypt_n: Annotated[
        int | None,
        typer.Option("--scrypt-n", help="scrypt work factor (default 262144); lower only for throwaway keys."),
    ] = None,
) -> None:
    """Create a new key (citizen or agency) in an encrypted keystore and print its address."""
    with _errors():
        pw = keys.resolve_password(password, what=f"new keystore {name!r}")
        account, path = keys.create_keystore(_data_dir(data_dir), name, pw, scrypt_n=scrypt_n)
        err.print(f"created keystore [bold]{name}[/] at {path}", highlight=False)
        typer.echo(account.address)


@keystore_app.command("import")
def keystore_import(
    name: Annotated[str, typer.Argument(help="Name of the keystore.")],
    private_key: Annotated[
        str | None,
        typer.Option(
            "--private-key", envvar="CIVIC_PRIVATE_KEY", help="0x-hex key. Env: CIVIC_PRIVATE_KEY; else asked."
        ),
    ] = None,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
    scrypt_n: Annotated[int | None, typer.Option("--scrypt-n", help="scrypt work factor (default 262144).")] = None,
) -> None:
    """Import an existing private key (e.g. an agency's) into an encrypted keystore."""
    with _errors():
        if private_key is None:
            if not sys.stdin.isatty():
                raise InvalidInput("no private key: pass --private-key or set CIVIC_PRIVATE_KEY")
            private_key = str(typer.prompt("private key (0x-hex)", hide_input=True))
        pw = keys.resolve_password(password, what=f"new keystore {name!r}")
        account, path = keys.create_keystore(_data_dir(data_dir), name, pw, private_key=private_key, scrypt_n=scrypt_n)
        err.print(f"imported into keystore [bold]{name}[/] at {path}", highlight=False)
        typer.echo(account.address)


@keystore_app.command("list")
def keystore_list(data_dir: DataDirOpt = None) -> None:
    """List the keystores of the data directory with their addresses (no password needed)."""
    with _errors():
        folder = _data_dir(data_dir)
        found = keys.list_keystores(folder)
        if not found:
            err.print(f"no keystores in {keys.keystore_dir(folder)}", highlight=False)
            return
        table = Table(title=f"keystores in {keys.keystore_dir(folder)}")
        table.add_column("name", style="bold")
        table.add_column("address")
        for info in found:
            table.add_row(info.name, info.address)
        console.print(table)


# -- registrar actions -----------------------------------------------------------------------


@app.command()
def register(
    address: Annotated[str, typer.Argument(help="The citizen's address, or the name of a local keystore.")],
    district: Annotated[str, typer.Option("--district", "-d", help="Code 1..25 or name (Mapo, 마포구).")],
    birth_year: Annotated[int, typer.Option("--birth-year", "-y", help="Four-digit year of birth.")],
    registrar_keystore: RegistrarKeystoreOpt,
    residency: Annotated[
        str, typer.Option(help="resident, registered_foreigner or overseas_korean (or 1..3).")
    ] = "resident",
    record: Annotated[
        list[str] | None,
        typer.Option(
            "--record",
            help="Off-chain record field KEY=VALUE (repeatable). Hashed HERE with a random salt; "
            "only the hash is sent. Keep the printed salt with the record.",
        ),
    ] = None,
    ttl: TtlOpt = 3600,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Register a citizen: the registrar signs the RegisterCitizen message locally; the API relays it."""
    with _errors():
        from civic_ledger.identity.service import record_hash

        citizen = _address_or_keystore(address, data_dir)
        registrar = _load(data_dir, registrar_keystore, password)
        salt, rhash = record_hash(_record(record) or {})
        fields = {
            "account": citizen,
            "district": district,
            "birth_year": birth_year,
            "residency": residency,
            "record_hash": "0x" + rhash.hex(),
        }
        with ApiClient(api) as client:
            result = _sign_and_post(
                client,
                registrar,
                "/identity/citizens",
                {**fields, "registrar": registrar.address, "ttl_s": ttl},
                fields,
            )
        _report(result, "registered")
        err.print(f"record salt (keep it with the off-chain record): 0x{salt.hex()}", highlight=False)


@app.command()
def update(
    citizen: Annotated[str, typer.Argument(help="Citizen: address, keystore name or id (#12).")],
    registrar_keystore: RegistrarKeystoreOpt,
    district: Annotated[
        str | None, typer.Option("--district", "-d", help="Code 1..25 or name. Default: unchanged.")
    ] = None,
    birth_year: Annotated[int | None, typer.Option("--birth-year", "-y", help="Default: unchanged.")] = None,
    residency: Annotated[
        str | None, typer.Option(help="resident, registered_foreigner or overseas_korean. Default: unchanged.")
    ] = None,
    ttl: TtlOpt = 3600,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Change a citizen's attributes; those not given stay as they are (the record hash is kept)."""
    with _errors(), ApiClient(api) as client:
        registrar = _load(data_dir, registrar_keystore, password)
        cid = _citizen_id(client, citizen, data_dir)
        current = client.get(f"/identity/citizens/by-id/{cid}")
        fields = {
            "district": district if district is not None else current["district"]["code"],
            "birth_year": birth_year if birth_year is not None else current["birth_year"],
            "residency": residency if residency is not None else current["residency_code"],
        }
        typed = client.post(
            f"/identity/citizens/by-id/{cid}/update/typed-data",
            {**fields, "registrar": registrar.address, "ttl_s": ttl},
        )
        signature = keys.sign_typed_data(registrar, typed["typed_data"])
        result = client.post(
            f"/identity/citizens/by-id/{cid}/update",
            {
                **fields,
                "record_hash": typed["record_hash"],
                "registrar": registrar.address,
                "nonce": typed["nonce"],
                "deadline": typed["deadline"],
                "signature": signature,
            },
        )
        _report(result, "updated")


@app.command()
def suspend(
    citizen: Annotated[str, typer.Argument(help="Citizen: address, keystore name or id (#12).")],
    registrar_keystore: RegistrarKeystoreOpt,
    reason: Annotated[str, typer.Option(help="lost_device, deceased, moved_away or other.")] = "lost_device",
    ttl: TtlOpt = 3600,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Suspend a citizen: the key stops signing in at once."""
    with _errors(), ApiClient(api) as client:
        registrar = _load(data_dir, registrar_keystore, password)
        cid = _citizen_id(client, citizen, data_dir)
        path = f"/identity/citizens/by-id/{cid}/suspend"
        result = _sign_and_post(
            client,
            registrar,
            path,
            {"reason": reason, "registrar": registrar.address, "ttl_s": ttl},
            {"reason": reason},
        )
        _report(result, "suspended")


@app.command()
def reinstate(
    citizen: Annotated[str, typer.Argument(help="Citizen: address, keystore name or id (#12).")],
    registrar_keystore: RegistrarKeystoreOpt,
    ttl: TtlOpt = 3600,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Reinstate a suspended citizen."""
    with _errors(), ApiClient(api) as client:
        registrar = _load(data_dir, registrar_keystore, password)
        cid = _citizen_id(client, citizen, data_dir)
        path = f"/identity/citizens/by-id/{cid}/reinstate"
        result = _sign_and_post(client, registrar, path, {"registrar": registrar.address, "ttl_s": ttl}, {})
        _report(result, "reinstated")


@app.command()
def recover(
    citizen: Annotated[str, typer.Argument(help="Citizen: address, keystore name or id (#12).")],
    new_address: Annotated[str, typer.Option("--new-address", help="New address or keystore name of the citizen.")],
    registrar_keystore: RegistrarKeystoreOpt,
    ttl: TtlOpt = 3600,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Move a citizen to a new key after an in-person check (the old key was lost)."""
    with _errors(), ApiClient(api) as client:
        registrar = _load(data_dir, registrar_keystore, password)
        cid = _citizen_id(client, citizen, data_dir)
        new = _address_or_keystore(new_address, data_dir)
        path = f"/identity/citizens/by-id/{cid}/recover"
        result = _sign_and_post(
            client,
            registrar,
            path,
            {"new_account": new, "registrar": registrar.address, "ttl_s": ttl},
            {"new_account": new},
        )
        _report(result, "recovered")


# -- citizen actions -----------------------------------------------------------------------


@app.command()
def rotate(
    keystore: Annotated[str, typer.Option("--keystore", help="Keystore of the current (old) key.")],
    new_keystore: Annotated[str, typer.Option("--new-keystore", help="Keystore of the new key.")],
    ttl: TtlOpt = 3600,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    new_password: Annotated[
        str | None, typer.Option("--new-password", help="Password of the new keystore (default: as --password).")
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Move your identity to a new key; both keys sign. The old key stops working at once, for good."""
    with _errors(), ApiClient(api) as client:
        old = _load(data_dir, keystore, password)
        new = _load(data_dir, new_keystore, new_password if new_password is not None else password)
        typed = client.post(
            "/identity/rotations/typed-data", {"old_account": old.address, "new_account": new.address, "ttl_s": ttl}
        )
        result = client.post(
            "/identity/rotations",
            {
                "old_account": old.address,
                "new_account": new.address,
                "nonce": typed["nonce"],
                "deadline": typed["deadline"],
                "old_signature": keys.sign_typed_data(old, typed["typed_data"]),
                "new_signature": keys.sign_typed_data(new, typed["typed_data"]),
            },
        )
        _report(result, "rotated")


@app.command()
def login(
    keystore: Annotated[str, typer.Option("--keystore", help="Keystore (name or path) to sign in with.")],
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Sign in with Ethereum (EIP-4361) and print the session token (only the token goes to stdout)."""
    with _errors(), ApiClient(api) as client:
        account = _load(data_dir, keystore, password)
        session = keys.sign_in(client, account)
        who = f"citizen #{session['citizen_id']}" if session.get("citizen_id") else "agency"
        roles = f" · roles {', '.join(session['roles'])}" if session.get("roles") else ""
        err.print(f"[green]signed in[/] as {session['address']} ({who}){roles}", highlight=False)
        typer.echo(session["token"])


@app.command()
def whoami(token: TokenOpt = None, api: ApiOpt = DEFAULT_API_URL) -> None:
    """Show who a session token belongs to, checked on chain now."""
    with _errors(), ApiClient(api, token=token) as client:
        if not token:
            raise InvalidInput("no token: pass --token or set CIVIC_TOKEN (from `identity login`)")
        me = client.get("/auth/me")
        err.print(f"signed in as {me['address']} · roles {', '.join(me['roles']) or 'none'}", highlight=False)
        if me.get("citizen"):
            console.print(_citizen_table(me["citizen"]))


# -- lookups -------------------------------------------------------------------------------


@app.command()
def show(
    citizen: Annotated[str, typer.Argument(help="Citizen: address, keystore name or id (#12).")],
    api: ApiOpt = DEFAULT_API_URL,
    data_dir: DataDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON.")] = False,
) -> None:
    """Show a citizen: status, district, age band, residency, since."""
    with _errors(), ApiClient(api) as client:
        text = citizen.removeprefix("#")
        if text.isdigit():
            found = client.get(f"/identity/citizens/by-id/{int(text)}")
        else:
            found = client.get(f"/identity/citizens/{_address_or_keystore(citizen, data_dir)}")
        if as_json:
            typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        else:
            console.print(_citizen_table(found))


@app.command()
def districts() -> None:
    """The 25 autonomous districts of Seoul and their codes."""
    from civic_ledger.identity.districts import DISTRICTS

    table = Table(title="Seoul autonomous districts")
    for col in ("code", "name", "이름"):
        table.add_column(col)
    for d in DISTRICTS.values():
        table.add_row(str(d.code), f"{d.name}-gu", d.name_ko)
    console.print(table)


# -- registrars ----------------------------------------------------------------------------


def _admin_token(
    client: ApiClient, token: str | None, admin_keystore: str | None, password: str | None, data_dir: Path | None
) -> str:
    return keys.admin_session(client, token=token, admin_keystore=admin_keystore, password=password, data_dir=data_dir)


AdminKeystoreOpt = Annotated[
    str | None,
    typer.Option("--admin-keystore", help="Keystore of a city admin (DEFAULT_ADMIN_ROLE) to sign in with."),
]


@app.command("grant-registrar")
def grant_registrar(
    address: Annotated[str, typer.Argument(help="Address (or keystore name) of the district office's key.")],
    admin_keystore: AdminKeystoreOpt = None,
    token: TokenOpt = None,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Grant REGISTRAR_ROLE (city admin action; the operator relays it)."""
    with _errors(), ApiClient(api) as client:
        target = _address_or_keystore(address, data_dir)
        session = _admin_token(client, token, admin_keystore, password, data_dir)
        result = client.post("/identity/registrars", {"address": target}, token=session)
        err.print(
            f"[green]granted[/] REGISTRAR_ROLE to {result['address']} in block {result['block_number']}",
            highlight=False,
        )


@app.command("revoke-registrar")
def revoke_registrar(
    address: Annotated[str, typer.Argument(help="Address (or keystore name) of the registrar.")],
    admin_keystore: AdminKeystoreOpt = None,
    token: TokenOpt = None,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke REGISTRAR_ROLE: the registrar's signed messages not yet relayed stop working."""
    with _errors(), ApiClient(api) as client:
        target = _address_or_keystore(address, data_dir)
        session = _admin_token(client, token, admin_keystore, password, data_dir)
        result = client.delete(f"/identity/registrars/{target}", token=session)
        err.print(
            f"[yellow]revoked[/] REGISTRAR_ROLE of {result['address']} in block {result['block_number']}",
            highlight=False,
        )
