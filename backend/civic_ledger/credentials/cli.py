"""``civic-ledger credentials``: issuers, types, issuance (single and CSV batch), status, verify, present, QR.

Issuer actions are signed locally with the issuer's keystore and posted to the API (the server
never sees the key). ``verify`` and ``verify-presentation`` talk to an Ethereum node only.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from civic_ledger.cli_support import console, err, fail
from civic_ledger.errors import CivicLedgerError

app = typer.Typer(help="Online credentials: issuers, types, issue, revoke, verify, present.", no_args_is_help=True)

ApiOpt = Annotated[str, typer.Option("--api", envvar="CIVIC_API_URL", help="API base URL. Env: CIVIC_API_URL.")]
KeystoreOpt = Annotated[Path, typer.Option("--keystore", help="The issuer key's eth-account keystore (JSON).")]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--password", envvar="CIVIC_KEYSTORE_PASSWORD", help="Keystore password. Env: CIVIC_KEYSTORE_PASSWORD."
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="CIVIC_TOKEN",
        help="Session token of the city admin (from `civic-ledger identity login`). Env: CIVIC_TOKEN.",
    ),
]
DEFAULT_API = "http://127.0.0.1:8000"


# -- helpers: keystores, API, files ------------------------------------------------------------


def load_key(path: Path, password: str | None) -> Any:
    from civic_ledger.platform.runtime import load_keystore

    try:
        return load_keystore(path, password or "")
    except CivicLedgerError as exc:
        fail(exc.message)


class Api:
    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=self.base, timeout=300, headers=headers)

    def __call__(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        try:
            r = self.client.request(method, "/credentials" + path, json=body, params=params or None)
        except httpx.HTTPError as exc:
            fail(f"cannot reach the API at {self.base}: {exc} (start it with `civic-ledger serve`, or set --api)")
        if r.status_code >= 400:
            try:
                data = r.json()
                detail = data.get("message") or data.get("detail")
            except ValueError:
                detail = r.text[:300]
            fail(f"{r.status_code}: {detail}")
        if r.headers.get("content-type", "").startswith("application/json"):
            return r.json()
        return r.content


def read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except OSError as exc:
        fail(f"{path} can not be read: {exc.strerror}")
    except (ValueError, TypeError) as exc:
        fail(f"{path} is not a JSON object: {exc}")


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _sign(account: Any, typed_data: dict[str, Any]) -> str:
    from eth_account.messages import encode_typed_data

    return "0x" + bytes(account.sign_message(encode_typed_data(full_message=typed_data)).signature).hex()


def _time(value: str | None, field: str) -> int | None:
    from civic_ledger.credentials.document import parse_time

    if value is None or value == "":
        return None
    try:
        return parse_time(value, field)
    except CivicLedgerError as exc:
        fail(exc.message)


def _parse_value(text: str) -> Any:
    """Claim values: JSON when it parses (numbers, true, lists), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


# -- keys and governance ----------------------------------------------------------------------


@app.command("new-key")
def new_key(
    out: Annotated[Path, typer.Option("--out", help="Where to write the new keystore.")],
    password: PasswordOpt = None,
) -> None:
    """Create an issuer signing key as an encrypted keystore (the API never sees it)."""
    from eth_account import Account

    if out.exists():
        fail(f"{out} exists; not overwriting a key")
    if not password:
        fail("a password is required (--password or CIVIC_KEYSTORE_PASSWORD)")
    account = Account.create()
    write_json(out, Account.encrypt(account.key, password))
    os.chmod(out, 0o600)
    console.print(f"issuer key [bold]{account.address}[/] → {out}", highlight=False)


@app.command("register-issuer")
def register_issuer(code: str, name: str, api: ApiOpt = DEFAULT_API, token: TokenOpt = None) -> None:
    """(operator) Register an agency as an issuer; its id is keccak256(CODE)."""
    out = Api(api, token)("POST", "/issuers", {"code": code, "name": name})
    console.print(f"issuer [bold]{name}[/] id {out['issuer_id']} (tx {out['tx_hash']})", highlight=False)


@app.command("add-key")
def add_key(
    issuer_id: str,
    key: Annotated[str, typer.Argument(help="Address of the issuer key.")],
    valid_from: Annotated[str | None, typer.Option(help="ISO time or Unix seconds; default now.")] = None,
    valid_until: Annotated[str | None, typer.Option(help="ISO time or Unix seconds; default open-ended.")] = None,
    api: ApiOpt = DEFAULT_API,
    token: TokenOpt = None,
) -> None:
    """(operator) Add a signing key, with its validity window, to an issuer."""
    body = {
        "key": key,
        "valid_from": _time(valid_from, "--valid-from"),
        "valid_until": _time(valid_until, "--valid-until"),
    }
    _print_issuer(Api(api, token)("POST", f"/issuers/{issuer_id}/keys", body))


@app.command("retire-key")
def retire_key(
    issuer_id: str,
    key: str,
    valid_until: Annotated[
        str | None, typer.Option(help="New end of validity; default now. A past time is retroactive.")
    ] = None,
    api: ApiOpt = DEFAULT_API,
    token: TokenOpt = None,
) -> None:
    """(operator) Retire an issuer key; credentials anchored while it was valid keep verifying."""
    _print_issuer(
        Api(api, token)(
            "POST", f"/issuers/{issuer_id}/keys/{key}/retire", {"valid_until": _time(valid_until, "--valid-until")}
        )
    )


@app.command("issuer")
def show_issuer(issuer_id: str, api: ApiOpt = DEFAULT_API) -> None:
    """Show an issuer and its keys."""
    _print_issuer(Api(api)("GET", f"/issuers/{issuer_id}"))


def _print_issuer(out: dict[str, Any]) -> None:
    from civic_ledger.credentials.document import iso

    table = Table(title=f"issuer {out.get('name') or ''} {out['issuer_id']}")
    for col in ("key", "valid from", "valid until", "valid now"):
        table.add_column(col)
    for k in out["keys"]:
        until = iso(k["valid_until"]) if k["valid_until"] else "open"
        table.add_row(k["key"], iso(k["valid_from"]), until, "[green]yes[/]" if k["valid_now"] else "[red]no[/]")
    console.print(table)


@app.command("register-type")
def register_type(
    code: str,
    name: str,
    schema_hash: Annotated[str | None, typer.Option(help="0x-hex bytes32")] = None,
    api: ApiOpt = DEFAULT_API,
    token: TokenOpt = None,
) -> None:
    """(operator) Register a credential type; its id is keccak256(CODE)."""
    out = Api(api, token)("POST", "/types", {"code": code, "name": name, "schema_hash": schema_hash})
    console.print(f"type [bold]{name}[/] id {out['type_id']} (tx {out['tx_hash']})", highlight=False)


@app.command("allow")
def allow(type_id: str, issuer_id: str, api: ApiOpt = DEFAULT_API, token: TokenOpt = None) -> None:
    """(operator) Allow an issuer to issue a credential type."""
    out = Api(api, token)("POST", f"/types/{type_id}/issuers", {"issuer_id": issuer_id})
    console.print(f"allowed (tx {out['tx_hash']})", highlight=False)


# -- issuance ---------------------------------------------------------------------------------


@app.command("issue")
def issue(
    issuer: Annotated[str, typer.Option("--issuer", help="Issuer id (0x…32 bytes).")],
    type_id: Annotated[str, typer.Option("--type", help="Credential type id (0x…32 bytes).")],
    keystore: KeystoreOpt,
    out: Annotated[Path, typer.Option("--out", help="Where to write the credential document.")],
    claim: Annotated[list[str], typer.Option("--claim", help="name=value (repeat); JSON values allowed.")],
    subject: Annotated[str | None, typer.Option(help="Holder address.")] = None,
    citizen_id: Annotated[int | None, typer.Option(help="Or the holder's citizen id.")] = None,
    valid_until: Annotated[str | None, typer.Option(help="ISO time or Unix seconds.")] = None,
    require_citizen: Annotated[bool, typer.Option(help="Refuse subjects that are not active citizens.")] = True,
    qr: Annotated[Path | None, typer.Option(help="Also write a QR code (PNG) of the document.")] = None,
    password: PasswordOpt = None,
    api: ApiOpt = DEFAULT_API,
) -> None:
    """Issue one credential: fetch typed data, sign both messages locally, post, save the document."""
    claims = {}
    for item in claim:
        name, sep, value = item.partition("=")
        if not sep or not name:
            fail(f"--claim {item!r}: use name=value")
        claims[name] = _parse_value(value)
    account = load_key(keystore, password)
    call = Api(api)
    body = {
        "issuer_id": issuer,
        "type_id": type_id,
        "key": account.address,
        "subject": subject,
        "citizen_id": citizen_id,
        "claims": claims,
        "valid_until": _time(valid_until, "--valid-until"),
        "require_citizen": require_citizen,
    }
    td = call("POST", "/issue/typed-data", body)
    result = call(
        "POST",
        "/issue",
        {
            "draft": td["draft"],
            "credential_signature": _sign(account, td["credential_typed_data"]),
            "issue_signature": _sign(account, td["issue_typed_data"]),
        },
    )
    write_json(out, result["document"])
    console.print(
        f"credential {result['credential_hash']} anchored in block {result['block_number']} "
        f"(gas {result['gas_used']:,}) → {out}",
        highlight=False,
    )
    if qr is not None:
        _write_qr(result["document"], None, qr)


@app.command("issue-batch")
def issue_batch(
    csv_file: Annotated[
        Path,
        typer.Argument(
            help="CSV: a `subject` (or `citizen_id`) column, optional `valid_until`, every other column is a claim."
        ),
    ],
    issuer: Annotated[str, typer.Option("--issuer")],
    type_id: Annotated[str, typer.Option("--type")],
    keystore: KeystoreOpt,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="One <n>-<holder>.json document per row.")],
    require_citizen: Annotated[bool, typer.Option(help="Refuse subjects that are not active citizens.")] = True,
    password: PasswordOpt = None,
    api: ApiOpt = DEFAULT_API,
) -> None:
    """Issue a batch from a CSV under one anchored Merkle root; each document carries its proof."""
    try:
        with csv_file.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        fail(f"{csv_file} can not be read: {exc.strerror}")
    if not rows:
        fail(f"{csv_file} has no rows")
    if "subject" not in rows[0] and "citizen_id" not in rows[0]:
        fail(f"{csv_file} needs a `subject` or `citizen_id` column")
    credentials = []
    for i, row in enumerate(rows, start=2):
        item: dict[str, Any] = {"claims": {}}
        for col, value in row.items():
            if col == "subject":
                item["subject"] = value
            elif col == "citizen_id":
                item["citizen_id"] = int(value) if value else None
            elif col == "valid_until":
                item["valid_until"] = _time(value, f"line {i} valid_until")
            elif col:
                item["claims"][col] = _parse_value(value)
        credentials.append(item)
    account = load_key(keystore, password)
    call = Api(api)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as progress:
        t = progress.add_task("drafting (salting claims)", total=1)
        td = call(
            "POST",
            "/batches/typed-data",
            {
                "issuer_id": issuer,
                "type_id": type_id,
                "key": account.address,
                "credentials": credentials,
                "require_citizen": require_citizen,
            },
        )
        progress.update(t, completed=1)
        t = progress.add_task("signing credentials", total=len(rows))
        sigs = []
        for typed in td["credential_typed_data"]:
            sigs.append(_sign(account, typed))
            progress.advance(t)
        t = progress.add_task(f"anchoring root {td['root'][:12]}…", total=1)
        result = call(
            "POST",
            "/batches",
            {
                "issuer_id": issuer,
                "type_id": type_id,
                "key": account.address,
                "deadline": td["deadline"],
                "drafts": td["drafts"],
                "credential_signatures": sigs,
                "batch_signature": _sign(account, td["batch_typed_data"]),
            },
        )
        progress.update(t, completed=1)
        t = progress.add_task("writing documents", total=len(rows))
        for i, doc in enumerate(result["documents"]):
            holder = doc["credentialSubject"]["id"].rsplit(":", 1)[-1]
            write_json(out_dir / f"{i:05d}-{holder}.json", doc)
            progress.advance(t)
    console.print(
        f"{result['count']} credentials under root {result['root']} (block {result['block_number']}, "
        f"gas {result['gas_used']:,} = {result['gas_used'] / result['count']:,.0f}/credential) → {out_dir}",
        highlight=False,
    )


# -- status -----------------------------------------------------------------------------------


def _refs(files: list[Path], anchor: str | None, position: int) -> tuple[list[dict[str, Any]], str | None]:
    from civic_ledger.credentials.document import hx, issuer_id_of

    refs, issuer = [], None
    for f in files:
        doc = read_json(f)
        st = doc.get("credentialStatus") or {}
        refs.append({"anchor_id": st.get("anchorId"), "position": int(st.get("position", 0))})
        try:
            issuer = hx(issuer_id_of(doc))
        except CivicLedgerError as exc:
            fail(f"{f}: {exc.message}")
    if anchor:
        refs.append({"anchor_id": anchor, "position": position})
    if not refs:
        fail("name credentials: document FILEs and/or --anchor [--position]")
    return refs, issuer


def _status_change(
    action: str,
    files: list[Path],
    anchor: str | None,
    position: int,
    issuer: str | None,
    keystore: Path,
    password: str | None,
    api: str,
) -> None:
    refs, doc_issuer = _refs(files, anchor, position)
    issuer = issuer or doc_issuer
    if issuer is None:
        fail("--issuer is required when no document is given")
    account = load_key(keystore, password)
    call = Api(api)
    body = {"issuer_id": issuer, "key": account.address, "credentials": refs}
    typed = call("POST", f"/status/{action}/typed-data", body)
    out = call(
        "POST",
        f"/status/{action}",
        {
            **body,
            "deadline": typed["message"]["deadline"],
            "nonce": typed["message"].get("nonce"),
            "signature": _sign(account, typed),
        },
    )
    console.print(
        f"{action}: {len(refs)} credential(s), block {out['block_number']}, gas {out['gas_used']:,}", highlight=False
    )


FilesArg = Annotated[list[Path] | None, typer.Argument(help="Credential documents.")]
AnchorOpt = Annotated[str | None, typer.Option("--anchor", help="Anchor id (credential hash or batch root).")]
PositionOpt = Annotated[int, typer.Option("--position", help="Position in the batch.")]
IssuerOpt = Annotated[str | None, typer.Option("--issuer", help="Issuer id; default: the documents' issuer.")]


@app.command("revoke")
def revoke(
    keystore: KeystoreOpt,
    files: FilesArg = None,
    anchor: AnchorOpt = None,
    position: PositionOpt = 0,
    issuer: IssuerOpt = None,
    password: PasswordOpt = None,
    api: ApiOpt = DEFAULT_API,
) -> None:
    """Revoke credentials permanently (signed by an issuer key)."""
    _status_change("revoke", files or [], anchor, position, issuer, keystore, password, api)


@app.command("suspend")
def suspend(
    keystore: KeystoreOpt,
    files: FilesArg = None,
    anchor: AnchorOpt = None,
    position: PositionOpt = 0,
    issuer: IssuerOpt = None,
    password: PasswordOpt = None,
    api: ApiOpt = DEFAULT_API,
) -> None:
    """Suspend credentials (reversible with `reinstate`)."""
    _status_change("suspend", files or [], anchor, position, issuer, keystore, password, api)


@app.command("reinstate")
def reinstate(
    keystore: KeystoreOpt,
    files: FilesArg = None,
    anchor: AnchorOpt = None,
    position: PositionOpt = 0,
    issuer: IssuerOpt = None,
    password: PasswordOpt = None,
    api: ApiOpt = DEFAULT_API,
) -> None:
    """Lift a suspension."""
    _status_change("reinstate", files or [], anchor, position, issuer, keystore, password, api)


@app.command("status")
def status(
    files: FilesArg = None, anchor: AnchorOpt = None, position: PositionOpt = 0, api: ApiOpt = DEFAULT_API
) -> None:
    """Show the on-chain status of credentials (documents or --anchor/--position)."""
    refs, _ = _refs(files or [], anchor, position)
    call = Api(api)
    table = Table()
    for col in ("anchor", "pos", "kind", "issuer", "anchored", "revoked", "suspended"):
        table.add_column(col)
    from civic_ledger.credentials.document import iso

    for r in refs:
        s = call("GET", f"/status/{r['anchor_id']}", position=r["position"])
        table.add_row(
            s["anchor_id"][:18] + "…",
            str(s["position"]),
            "batch" if s["batch"] else "single",
            s["issuer_id"][:18] + "…",
            iso(s["anchored_at"]),
            "[red]yes[/]" if s["revoked"] else "no",
            "[yellow]yes[/]" if s["suspended"] else "no",
        )
    console.print(table)


@app.command("disclose")
def disclose(
    file: Path,
    keep: Annotated[str, typer.Option("--keep", help="Comma-separated claim names to disclose; others are withheld.")],
    out: Annotated[Path, typer.Option("--out")],
) -> None:
    """Selective disclosure: write a copy that reveals only some claims (the rest keep their digests)."""
    from civic_ledger.credentials.document import withhold

    try:
        doc = withhold(read_json(file), [k.strip() for k in keep.split(",") if k.strip()])
    except CivicLedgerError as exc:
        fail(exc.message)
    write_json(out, doc)
    console.print(f"disclosing {keep} → {out}", highlight=False)


@app.command("present")
def present(
    file: Path,
    keystore: Annotated[Path, typer.Option("--keystore", help="The holder's keystore (the credential subject).")],
    audience: Annotated[str, typer.Option(help="The verifier (e.g. its URL).")],
    nonce: Annotated[str, typer.Option(help="The verifier's challenge.")],
    out: Annotated[Path, typer.Option("--out")],
    password: PasswordOpt = None,
) -> None:
    """Sign the verifier's nonce as the holder and write a VerifiablePresentation (offline)."""
    from civic_ledger.credentials import document as D
    from civic_ledger.credentials.verify import build_presentation, presentation_typed

    doc = read_json(file)
    account = load_key(keystore, password)
    try:
        typed = D.typed_of_document(doc)
    except CivicLedgerError as exc:
        fail(exc.message)
    if account.address != typed.message["subject"]:
        err.print(f"[yellow]warning:[/] {account.address} is not the credential subject {typed.message['subject']}")
    ptyped = presentation_typed(
        int(typed.domain["chainId"]), typed.domain["verifyingContract"], D.credential_hash(typed), audience, nonce
    )
    write_json(out, build_presentation(doc, audience, nonce, "0x" + ptyped.sign(account).hex()))
    console.print(f"presentation for {audience} → {out}", highlight=False)


@app.command("qr")
def qr(
    out: Annotated[Path, typer.Option("--out", help="PNG file to write.")],
    file: Annotated[Path | None, typer.Argument(help="Credential document to encode.")] = None,
    url: Annotated[str | None, typer.Option(help="Encode this link instead of the document.")] = None,
) -> None:
    """Export a credential (compressed) or a link to it as a QR code (PNG)."""
    if (file is None) == (url is None):
        fail("give a document FILE or --url")
    _write_qr(read_json(file) if file else None, url, out)


def _write_qr(doc: dict[str, Any] | None, url: str | None, out: Path) -> None:
    from civic_ledger.credentials.service import qr_payload, qr_png

    try:
        png = qr_png(qr_payload(doc, url))
    except CivicLedgerError as exc:
        fail(exc.message)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    console.print(f"QR code → {out}", highlight=False)


# The node-only verification commands live beside the verifier, in verify_cli.py.
from civic_ledger.credentials import verify_cli  # noqa: E402 - registered after this module's helpers exist

app.command("verify")(verify_cli.verify)
app.command("verify-presentation")(verify_cli.verify_presentation)
