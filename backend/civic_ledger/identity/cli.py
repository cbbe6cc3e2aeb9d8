"""``civic-ledger identity``: keystores, registration, key rotation, sign-in — an HTTP client of the API.

Keys stay local: every command loads the signer's keystore (``--as NAME|PATH``), fetches typed
data from the API, signs it here and posts the signature (see :mod:`civic_ledger.clikit`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_account.signers.local import LocalAccount
from rich.table import Table

from civic_ledger import clikit as kit
from civic_ledger.clikit import CliContext, console, note
from civic_ledger.errors import InvalidInput
from civic_ledger.identity import keys

app = kit.Group(help="Citizen Card identity: keystores, registration, key rotation, sign-in.")
keystore_app = app.group("keystore", help="Local encrypted keys (eth-account keystores in DATA_DIR/keystores).")

TtlOpt = Annotated[int, typer.Option("--ttl", help="Seconds the signed message stays valid.", min=1)]
CitizenArg = Annotated[str, typer.Argument(help="Citizen: address, keystore name or id (#12).")]
ScryptOpt = Annotated[
    int | None,
    typer.Option("--scrypt-n", help="scrypt work factor (default 262144); lower only for throwaway keys."),
]


def _citizen_id(cli: CliContext, ref: str) -> int:
    """ADDRESS, keystore NAME, or citizen id (``12`` or ``#12``) → citizen id."""
    text = ref.removeprefix("#")
    if text.isdigit():
        return int(text)
    return int(cli.client.get(f"/identity/citizens/{cli.address(ref)}")["citizen_id"])


def _record(pairs: list[str] | None) -> dict[str, str]:
    record: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--record {pair!r}: use KEY=VALUE")
        record[key] = value
    return record


def _registrar_action(
    cli: CliContext, path: str, fields: dict[str, Any], ttl: int, *, carry: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The registrar (--as) signs PATH's typed data locally; POST PATH (with ``carry`` keys of the typed data)."""
    registrar = cli.signer()
    typed = cli.client.post(f"{path}/typed-data", {**fields, "registrar": registrar.address, "ttl_s": ttl})
    if typed.get("signer", registrar.address) != registrar.address:
        raise InvalidInput(f"the API asks {typed['signer']} to sign, but the keystore holds {registrar.address}")
    body = {
        **fields,
        **{k: typed[k] for k in carry},
        "registrar": registrar.address,
        "nonce": typed["nonce"],
        "deadline": typed["deadline"],
        "signature": kit.sign_typed_data(registrar, typed["typed_data"]),
    }
    return dict(cli.client.post(path, body))


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


def _report(cli: CliContext, result: dict[str, Any], what: str) -> None:
    def render(r: dict[str, Any]) -> None:
        note(f"[green]{what}[/]: {r['event']} in block {r['block_number']} · tx {r['tx_hash']} · gas {r['gas_used']:,}")
        console.print(_citizen_table(r["citizen"]))

    cli.show(result, render)


def _created(cli: CliContext, account: LocalAccount, path: Path, what: str) -> None:
    def render(_: Any) -> None:
        note(f"{what} at {path}")
        typer.echo(account.address)

    cli.show({"address": account.address, "path": str(path)}, render)


# -- keystores -----------------------------------------------------------------------------


@keystore_app.command("create", uses=("password", "data", "json"))
def keystore_create(
    cli: CliContext,
    name: Annotated[str, typer.Argument(help="Name of the keystore (file DATA_DIR/keystores/NAME.json).")],
    scrypt_n: ScryptOpt = None,
) -> None:
    """Create a new key (citizen or agency) in an encrypted keystore and print its address."""
    pw = kit.resolve_password(cli.password, what=f"new keystore {name!r}", new=True)
    account, path = keys.create_keystore(cli.data, name, pw, scrypt_n=scrypt_n)
    _created(cli, account, path, f"created keystore [bold]{name}[/]")


@keystore_app.command("import", uses=("password", "data", "json"))
def keystore_import(
    cli: CliContext,
    name: Annotated[str, typer.Argument(help="Name of the keystore.")],
    private_key: Annotated[
        str | None,
        typer.Option(
            "--private-key", envvar="CIVIC_PRIVATE_KEY", help="0x-hex key. Env: CIVIC_PRIVATE_KEY; else asked."
        ),
    ] = None,
    scrypt_n: ScryptOpt = None,
) -> None:
    """Import an existing private key (e.g. an agency's) into an encrypted keystore."""
    if private_key is None:
        if not sys.stdin.isatty():
            raise InvalidInput("no private key: pass --private-key or set CIVIC_PRIVATE_KEY")
        private_key = str(typer.prompt("private key (0x-hex)", hide_input=True, err=True))
    pw = kit.resolve_password(cli.password, what=f"new keystore {name!r}", new=True)
    account, path = keys.create_keystore(cli.data, name, pw, private_key=private_key, scrypt_n=scrypt_n)
    _created(cli, account, path, f"imported into keystore [bold]{name}[/]")


@keystore_app.command("list", uses=("data", "json"))
def keystore_list(cli: CliContext) -> None:
    """List the keystores of the data directory with their addresses (no password needed)."""
    folder = keys.keystore_dir(cli.data)
    found = [{"name": k.name, "address": k.address, "path": str(k.path)} for k in keys.list_keystores(cli.data)]

    def render(rows: list[dict[str, Any]]) -> None:
        if not rows:
            return note(f"no keystores in {folder}")
        table = Table(title=f"keystores in {folder}")
        table.add_column("name", style="bold")
        table.add_column("address")
        for info in rows:
            table.add_row(info["name"], info["address"])
        console.print(table)

    cli.show(found, render)


# -- registrar actions -----------------------------------------------------------------------


@app.command(uses=("signer", "api", "json"))
def register(
    cli: CliContext,
    address: Annotated[str, typer.Argument(help="The citizen's address, or the name of a local keystore.")],
    district: Annotated[str, typer.Option("--district", "-d", help="Code 1..25 or name (Mapo, 마포구).")],
    birth_year: Annotated[int, typer.Option("--birth-year", "-y", help="Four-digit year of birth.")],
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
) -> None:
    """Register a citizen: the registrar (--as) signs the RegisterCitizen message locally; the API relays it.

    Examples:

      civic-ledger identity register minji --district Mapo --birth-year 1998 --as mapo-office

      civic-ledger identity register 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 -d 14 -y 2001 --as mapo-office
    """
    from civic_ledger.identity.service import record_hash

    salt, rhash = record_hash(_record(record))
    fields = {
        "account": cli.address(address),
        "district": district,
        "birth_year": birth_year,
        "residency": residency,
        "record_hash": "0x" + rhash.hex(),
    }
    result = {**_registrar_action(cli, "/identity/citizens", fields, ttl), "record_salt": "0x" + salt.hex()}
    _report(cli, result, "registered")
    if not cli.as_json:
        note(f"record salt (keep it with the off-chain record): 0x{salt.hex()}")


@app.command(uses=("signer", "api", "json"))
def update(
    cli: CliContext,
    citizen: CitizenArg,
    district: Annotated[
        str | None, typer.Option("--district", "-d", help="Code 1..25 or name. Default: unchanged.")
    ] = None,
    birth_year: Annotated[int | None, typer.Option("--birth-year", "-y", help="Default: unchanged.")] = None,
    residency: Annotated[
        str | None, typer.Option(help="resident, registered_foreigner or overseas_korean. Default: unchanged.")
    ] = None,
    ttl: TtlOpt = 3600,
) -> None:
    """Change a citizen's attributes (registrar --as); those not given stay as they are (the record hash is kept)."""
    cid = _citizen_id(cli, citizen)
    current = cli.client.get(f"/identity/citizens/by-id/{cid}")
    fields = {
        "district": district if district is not None else current["district"]["code"],
        "birth_year": birth_year if birth_year is not None else current["birth_year"],
        "residency": residency if residency is not None else current["residency_code"],
    }
    path = f"/identity/citizens/by-id/{cid}/update"
    _report(cli, _registrar_action(cli, path, fields, ttl, carry=("record_hash",)), "updated")


def _citizen_action(cli: CliContext, action: str, citizen: str, fields: dict[str, Any], ttl: int, what: str) -> None:
    path = f"/identity/citizens/by-id/{_citizen_id(cli, citizen)}/{action}"
    _report(cli, _registrar_action(cli, path, fields, ttl), what)


@app.command(uses=("signer", "api", "json"))
def suspend(
    cli: CliContext,
    citizen: CitizenArg,
    reason: Annotated[str, typer.Option(help="lost_device, deceased, moved_away or other.")] = "lost_device",
    ttl: TtlOpt = 3600,
) -> None:
    """Suspend a citizen (registrar --as): the key stops signing in at once."""
    _citizen_action(cli, "suspend", citizen, {"reason": reason}, ttl, "suspended")


@app.command(uses=("signer", "api", "json"))
def reinstate(cli: CliContext, citizen: CitizenArg, ttl: TtlOpt = 3600) -> None:
    """Reinstate a suspended citizen (registrar --as)."""
    _citizen_action(cli, "reinstate", citizen, {}, ttl, "reinstated")


@app.command(uses=("signer", "api", "json"))
def recover(
    cli: CliContext,
    citizen: CitizenArg,
    new_address: Annotated[str, typer.Option("--new-address", help="New address or keystore name of the citizen.")],
    ttl: TtlOpt = 3600,
) -> None:
    """Move a citizen to a new key after an in-person check (the old key was lost; registrar --as)."""
    _citizen_action(cli, "recover", citizen, {"new_account": cli.address(new_address)}, ttl, "recovered")


# -- citizen actions -----------------------------------------------------------------------


@app.command(uses=("signer", "api", "json"))
def rotate(
    cli: CliContext,
    new: Annotated[str, typer.Option("--new", metavar="NAME|PATH", help="Keystore of the new key.")],
    ttl: TtlOpt = 3600,
    new_password: Annotated[
        str | None, typer.Option("--new-password", help="Password of the new keystore (default: as --password).")
    ] = None,
) -> None:
    """Move your identity (--as, the current key) to a new key; both keys sign. The old key stops working at once."""
    old, new_key = cli.signer(), cli.signer(new, new_password)
    body = {"old_account": old.address, "new_account": new_key.address}
    typed = cli.client.post("/identity/rotations/typed-data", {**body, "ttl_s": ttl})
    signed = {
        **body,
        "nonce": typed["nonce"],
        "deadline": typed["deadline"],
        "old_signature": kit.sign_typed_data(old, typed["typed_data"]),
        "new_signature": kit.sign_typed_data(new_key, typed["typed_data"]),
    }
    _report(cli, cli.client.post("/identity/rotations", signed), "rotated")


@app.command(uses=("signer", "api", "json"))
def login(cli: CliContext) -> None:
    """Sign in with Ethereum (EIP-4361) and print the session token (only the token goes to stdout)."""

    def render(s: dict[str, Any]) -> None:
        who = f"citizen #{s['citizen_id']}" if s.get("citizen_id") else "agency"
        roles = f" · roles {', '.join(s['roles'])}" if s.get("roles") else ""
        note(f"[green]signed in[/] as {s['address']} ({who}){roles}")
        typer.echo(s["token"])

    cli.show(kit.sign_in(cli.client, cli.signer()), render)


@app.command(uses=("token", "api", "json"))
def whoami(cli: CliContext) -> None:
    """Show who a session token belongs to, checked on chain now."""
    if not cli.token:
        raise InvalidInput("no token: pass --token or set CIVIC_TOKEN (from `identity login`)")

    def render(me: dict[str, Any]) -> None:
        note(f"signed in as {me['address']} · roles {', '.join(me['roles']) or 'none'}")
        if me.get("citizen"):
            console.print(_citizen_table(me["citizen"]))

    cli.show(cli.client.get("/auth/me"), render)


# -- lookups -------------------------------------------------------------------------------


@app.command("show", uses=("api", "data", "json"))
def show_cmd(cli: CliContext, citizen: CitizenArg) -> None:
    """Show a citizen: status, district, age band, residency, since."""
    text = citizen.removeprefix("#")
    path = f"by-id/{int(text)}" if text.isdigit() else cli.address(citizen)
    cli.show(cli.client.get(f"/identity/citizens/{path}"), lambda c: console.print(_citizen_table(c)))


@app.command(uses=("json",))
def districts(cli: CliContext) -> None:
    """The 25 autonomous districts of Seoul and their codes."""
    from civic_ledger.identity.districts import DISTRICTS

    def render(rows: list[dict[str, Any]]) -> None:
        table = Table(title="Seoul autonomous districts")
        for col in ("code", "name", "이름"):
            table.add_column(col)
        for d in rows:
            table.add_row(str(d["code"]), d["name"], d["name_ko"])
        console.print(table)

    cli.show([{"code": d.code, "name": f"{d.name}-gu", "name_ko": d.name_ko} for d in DISTRICTS.values()], render)


# -- registrars ----------------------------------------------------------------------------


@app.command("grant-registrar", uses=("admin", "api", "json"))
def grant_registrar(
    cli: CliContext,
    address: Annotated[str, typer.Argument(help="Address (or keystore name) of the district office's key.")],
) -> None:
    """Grant REGISTRAR_ROLE (city admin action; the operator relays it)."""
    target = cli.address(address)
    result = cli.client.post("/identity/registrars", {"address": target}, token=cli.session())
    cli.show(result, lambda r: note(f"[green]granted[/] REGISTRAR_ROLE to {r['address']} in block {r['block_number']}"))


@app.command("revoke-registrar", uses=("admin", "api", "json"))
def revoke_registrar(
    cli: CliContext,
    address: Annotated[str, typer.Argument(help="Address (or keystore name) of the registrar.")],
) -> None:
    """Revoke REGISTRAR_ROLE: the registrar's signed messages not yet relayed stop working."""
    target = cli.address(address)
    result = cli.client.delete(f"/identity/registrars/{target}", token=cli.session())
    cli.show(
        result, lambda r: note(f"[yellow]revoked[/] REGISTRAR_ROLE of {r['address']} in block {r['block_number']}")
    )
