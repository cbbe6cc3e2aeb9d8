"""``civic-ledger credentials``: issuers, types, issuance (single and CSV batch), status, verify, present, QR.

Issuer actions are signed locally with the issuer's keystore and posted to the API (the server
never sees the key). ``verify`` and ``verify-presentation`` talk to an Ethereum node only.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from civic_ledger.clikit import (
    DEFAULT_API_URL,
    CliContext,
    Group,
    console,
    emit_json,
    err,
    fail,
    print_table,
    read_json,
    resolve_password,
    say,
    sign_typed_data,
    write_json,
)
from civic_ledger.clikit.times import parse_time
from civic_ledger.errors import CivicLedgerError, InvalidInput

app = Group(help="Online credentials: issuers, types, issue, revoke, verify, present.")
DEFAULT_API = DEFAULT_API_URL

__all__ = ["app", "read_json", "write_json"]


def _time(value: str | None, field: str) -> int | None:
    """ISO 8601 (a time without an offset is in CIVIC_TIMEZONE) or a duration from now (``365d``)."""
    if value is None or value == "":
        return None
    return parse_time(value, what=field)


def _parse_value(text: str) -> Any:
    """Claim values: JSON when it parses (numbers, true, lists), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _operator(cli: CliContext, path: str, body: dict[str, Any], render: Any) -> None:
    """An operator action: the city admin (--as signs in, or --token) posts PATH; show the answer."""
    cli.show(cli.client.post(path, body, token=cli.session()), render)


# -- keys and governance ----------------------------------------------------------------------


@app.command("new-key", uses=("password", "json"))
def new_key(
    cli: CliContext,
    out: Annotated[Path, typer.Option("--out", help="Where to write the new keystore.")],
) -> None:
    """Create an issuer signing key as an encrypted keystore (the API never sees it)."""
    from civic_ledger.identity.keys import create_keystore_file

    account = create_keystore_file(out, resolve_password(cli.password, what=f"new keystore {out}", new=True))
    if cli.as_json:
        return emit_json({"address": account.address, "path": str(out)})
    say(f"issuer key [bold]{account.address}[/] → {out}")


@app.command("register-issuer", uses=("admin", "api", "json"))
def register_issuer(
    cli: CliContext,
    code: str,
    name: str,
) -> None:
    """(operator) Register an agency as an issuer; its id is keccak256(CODE)."""
    _operator(
        cli,
        "/credentials/issuers",
        {"code": code, "name": name},
        lambda out: say(f"issuer [bold]{name}[/] id {out['issuer_id']} (tx {out['tx_hash']})"),
    )


@app.command("add-key", uses=("admin", "api", "json"))
def add_key(
    cli: CliContext,
    issuer_id: str,
    key: Annotated[str, typer.Argument(help="Address of the issuer key.")],
    valid_from: Annotated[str | None, typer.Option(help="ISO time or Unix seconds; default now.")] = None,
    valid_until: Annotated[
        str | None, typer.Option(help="ISO 8601 or a duration from now (365d); default open-ended.")
    ] = None,
) -> None:
    """(operator) Add a signing key, with its validity window, to an issuer."""
    body = {
        "key": key,
        "valid_from": _time(valid_from, "--valid-from"),
        "valid_until": _time(valid_until, "--valid-until"),
    }
    _operator(cli, f"/credentials/issuers/{issuer_id}/keys", body, _print_issuer)


@app.command("retire-key", uses=("admin", "api", "json"))
def retire_key(
    cli: CliContext,
    issuer_id: str,
    key: str,
    valid_until: Annotated[
        str | None, typer.Option(help="New end of validity; default now. A past time is retroactive.")
    ] = None,
) -> None:
    """(operator) Retire an issuer key; credentials anchored while it was valid keep verifying."""
    body = {"valid_until": _time(valid_until, "--valid-until")}
    _operator(cli, f"/credentials/issuers/{issuer_id}/keys/{key}/retire", body, _print_issuer)


@app.command("issuer", uses=("api", "json"))
def show_issuer(
    cli: CliContext,
    issuer_id: str,
) -> None:
    """Show an issuer and its keys."""
    cli.show(cli.client.get(f"/credentials/issuers/{issuer_id}"), _print_issuer)


def _print_issuer(out: dict[str, Any]) -> None:
    from civic_ledger.credentials.document import iso

    table = Table(title=f"issuer {out.get('name') or ''} {out['issuer_id']}")
    for col in ("key", "valid from", "valid until", "valid now"):
        table.add_column(col)
    for k in out["keys"]:
        until = iso(k["valid_until"]) if k["valid_until"] else "open"
        table.add_row(k["key"], iso(k["valid_from"]), until, "[green]yes[/]" if k["valid_now"] else "[red]no[/]")
    console.print(table)


@app.command("register-type", uses=("admin", "api", "json"))
def register_type(
    cli: CliContext,
    code: str,
    name: str,
    schema_hash: Annotated[str | None, typer.Option(help="0x-hex bytes32")] = None,
) -> None:
    """(operator) Register a credential type; its id is keccak256(CODE)."""
    _operator(
        cli,
        "/credentials/types",
        {"code": code, "name": name, "schema_hash": schema_hash},
        lambda out: say(f"type [bold]{name}[/] id {out['type_id']} (tx {out['tx_hash']})"),
    )


@app.command("allow", uses=("admin", "api", "json"))
def allow(
    cli: CliContext,
    type_id: str,
    issuer_id: str,
) -> None:
    """(operator) Allow an issuer to issue a credential type."""
    _operator(
        cli,
        f"/credentials/types/{type_id}/issuers",
        {"issuer_id": issuer_id},
        lambda out: say(f"allowed (tx {out['tx_hash']})"),
    )


# -- issuance ---------------------------------------------------------------------------------


@app.command("issue", uses=("signer", "api", "json"))
def issue(
    cli: CliContext,
    issuer: Annotated[str, typer.Option("--issuer", help="Issuer id (0x…32 bytes).")],
    type_id: Annotated[str, typer.Option("--type", help="Credential type id (0x…32 bytes).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the credential document.")],
    claim: Annotated[list[str], typer.Option("--claim", help="name=value (repeat); JSON values allowed.")],
    subject: Annotated[str | None, typer.Option(help="Holder address.")] = None,
    citizen_id: Annotated[int | None, typer.Option(help="Or the holder's citizen id.")] = None,
    valid_until: Annotated[
        str | None, typer.Option(help="ISO 8601 (2027-03-01, 2027-03-01T18:00+09:00) or a duration from now (365d).")
    ] = None,
    require_citizen: Annotated[bool, typer.Option(help="Refuse subjects that are not active citizens.")] = True,
    qr: Annotated[Path | None, typer.Option(help="Also write a QR code (PNG) of the document.")] = None,
) -> None:
    """Issue one credential: fetch typed data, sign both messages locally, post, save the document.

    Examples:

      civic-ledger credentials issue --issuer $I --type $T --as issuer.json --citizen-id 1 \\
          --claim course="AI basics" --claim hours=40 --valid-until 365d --out minji-cert.json
    """
    claims = {}
    for item in claim:
        name, sep, value = item.partition("=")
        if not sep or not name:
            fail(f"--claim {item!r}: use name=value")
        claims[name] = _parse_value(value)
    account = cli.signer()
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
    td = cli.client.post("/credentials/issue/typed-data", body)
    signed = {
        "draft": td["draft"],
        "credential_signature": sign_typed_data(account, td["credential_typed_data"]),
        "issue_signature": sign_typed_data(account, td["issue_typed_data"]),
    }
    result = cli.client.post("/credentials/issue", signed)
    write_json(out, result["document"])
    if qr is not None:
        _write_qr(result["document"], None, qr, quiet=cli.as_json)
    cli.show(
        result,
        lambda result: say(
            f"credential {result['credential_hash']} anchored in block {result['block_number']} "
            f"(gas {result['gas_used']:,}) → {out}"
        ),
    )


@app.command("issue-batch", uses=("signer", "api", "json"))
def issue_batch(
    cli: CliContext,
    csv_file: Annotated[
        Path,
        typer.Argument(
            help="CSV: a `subject` (or `citizen_id`) column, optional `valid_until`, every other column is a claim."
        ),
    ],
    issuer: Annotated[str, typer.Option("--issuer")],
    type_id: Annotated[str, typer.Option("--type")],
    out_dir: Annotated[Path, typer.Option("--out-dir", help="One <n>-<holder>.json document per row.")],
    require_citizen: Annotated[bool, typer.Option(help="Refuse subjects that are not active citizens.")] = True,
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
    account = cli.signer()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as progress:
        t = progress.add_task("drafting (salting claims)", total=1)
        td = cli.client.post(
            "/credentials/batches/typed-data",
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
            sigs.append(sign_typed_data(account, typed))
            progress.advance(t)
        t = progress.add_task(f"anchoring root {td['root'][:12]}…", total=1)
        result = cli.client.post(
            "/credentials/batches",
            {
                "issuer_id": issuer,
                "type_id": type_id,
                "key": account.address,
                "deadline": td["deadline"],
                "drafts": td["drafts"],
                "credential_signatures": sigs,
                "batch_signature": sign_typed_data(account, td["batch_typed_data"]),
            },
        )
        progress.update(t, completed=1)
        t = progress.add_task("writing documents", total=len(rows))
        for i, doc in enumerate(result["documents"]):
            holder = doc["credentialSubject"]["id"].rsplit(":", 1)[-1]
            write_json(out_dir / f"{i:05d}-{holder}.json", doc)
            progress.advance(t)
    if cli.as_json:
        return emit_json({k: v for k, v in result.items() if k != "documents"} | {"out_dir": str(out_dir)})
    say(
        f"{result['count']} credentials under root {result['root']} (block {result['block_number']}, "
        f"gas {result['gas_used']:,} = {result['gas_used'] / result['count']:,.0f}/credential) → {out_dir}"
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
            raise InvalidInput(f"{f}: {exc.message}") from None
    if anchor:
        refs.append({"anchor_id": anchor, "position": position})
    if not refs:
        fail("name credentials: document FILEs and/or --anchor [--position]")
    return refs, issuer


def _status_change(
    cli: CliContext, action: str, files: list[Path], anchor: str | None, position: int, issuer: str | None
) -> None:
    refs, doc_issuer = _refs(files, anchor, position)
    issuer = issuer or doc_issuer
    if issuer is None:
        fail("--issuer is required when no document is given")
    account = cli.signer()
    body = {"issuer_id": issuer, "key": account.address, "credentials": refs}
    typed = cli.client.post(f"/credentials/status/{action}/typed-data", body)
    signed = {
        **body,
        "deadline": typed["message"]["deadline"],
        "nonce": typed["message"].get("nonce"),
        "signature": sign_typed_data(account, typed),
    }
    out = cli.client.post(f"/credentials/status/{action}", signed)
    cli.show(
        out,
        lambda o: say(f"{action}: {len(refs)} credential(s), block {o['block_number']}, gas {o['gas_used']:,}"),
    )


FilesArg = Annotated[list[Path] | None, typer.Argument(help="Credential documents.")]
AnchorOpt = Annotated[str | None, typer.Option("--anchor", help="Anchor id (credential hash or batch root).")]
PositionOpt = Annotated[int, typer.Option("--position", help="Position in the batch.")]
IssuerOpt = Annotated[str | None, typer.Option("--issuer", help="Issuer id; default: the documents' issuer.")]


def _status_command(action: str, summary: str) -> None:
    @app.command(action, help=summary, uses=("signer", "api", "json"))
    def command(
        cli: CliContext,
        files: FilesArg = None,
        anchor: AnchorOpt = None,
        position: PositionOpt = 0,
        issuer: IssuerOpt = None,
    ) -> None:
        _status_change(cli, action, files or [], anchor, position, issuer)


for _action, _summary in (
    ("revoke", "Revoke credentials permanently (signed by an issuer key, --as)."),
    ("suspend", "Suspend credentials (reversible with `reinstate`; signed by an issuer key, --as)."),
    ("reinstate", "Lift a suspension (signed by an issuer key, --as)."),
):
    _status_command(_action, _summary)


@app.command("status", uses=("api", "json"))
def status(
    cli: CliContext,
    files: FilesArg = None,
    anchor: AnchorOpt = None,
    position: PositionOpt = 0,
) -> None:
    """Show the on-chain status of credentials (documents or --anchor/--position)."""
    refs, _ = _refs(files or [], anchor, position)
    found = [cli.client.get(f"/credentials/status/{r['anchor_id']}", params={"position": r["position"]}) for r in refs]
    from civic_ledger.credentials.document import iso

    cli.show(
        found,
        lambda found: print_table(
            ("anchor", "pos", "kind", "issuer", "anchored", "revoked", "suspended"),
            (
                (
                    s["anchor_id"][:18] + "…",
                    str(s["position"]),
                    "batch" if s["batch"] else "single",
                    s["issuer_id"][:18] + "…",
                    iso(s["anchored_at"]),
                    "[red]yes[/]" if s["revoked"] else "no",
                    "[yellow]yes[/]" if s["suspended"] else "no",
                )
                for s in found
            ),
        ),
    )


@app.command("disclose")
def disclose(
    file: Path,
    keep: Annotated[str, typer.Option("--keep", help="Comma-separated claim names to disclose; others are withheld.")],
    out: Annotated[Path, typer.Option("--out")],
) -> None:
    """Selective disclosure: write a copy that reveals only some claims (the rest keep their digests)."""
    from civic_ledger.credentials.document import withhold

    doc = withhold(read_json(file), [k.strip() for k in keep.split(",") if k.strip()])
    write_json(out, doc)
    say(f"disclosing {keep} → {out}")


@app.command("present", uses=("signer",))
def present(
    cli: CliContext,
    file: Path,
    audience: Annotated[str, typer.Option(help="The verifier (e.g. its URL).")],
    nonce: Annotated[str, typer.Option(help="The verifier's challenge.")],
    out: Annotated[Path, typer.Option("--out")],
) -> None:
    """Sign the verifier's nonce as the holder (--as, the credential subject) and write a VerifiablePresentation (offline)."""
    from civic_ledger.credentials import document as D
    from civic_ledger.credentials.verify import build_presentation, presentation_typed

    doc = read_json(file)
    account = cli.signer()
    typed = D.typed_of_document(doc)
    if account.address != typed.message["subject"]:
        err.print(f"[yellow]warning:[/] {account.address} is not the credential subject {typed.message['subject']}")
    ptyped = presentation_typed(
        int(typed.domain["chainId"]), typed.domain["verifyingContract"], D.credential_hash(typed), audience, nonce
    )
    write_json(out, build_presentation(doc, audience, nonce, "0x" + ptyped.sign(account).hex()))
    say(f"presentation for {audience} → {out}")


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


def _write_qr(doc: dict[str, Any] | None, url: str | None, out: Path, *, quiet: bool = False) -> None:
    from civic_ledger.credentials.service import qr_payload, qr_png

    png = qr_png(qr_payload(doc, url))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    if not quiet:
        say(f"QR code → {out}")


# The node-only verification commands live beside the verifier, in verify_cli.py.
from civic_ledger.credentials import verify_cli  # noqa: E402 - registered after this module's helpers exist

app.command("verify")(verify_cli.verify)
app.command("verify-presentation")(verify_cli.verify_presentation)
