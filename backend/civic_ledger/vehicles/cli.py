"""``civic-ledger vehicles``: used-car history for dealers, inspectors, insurers, shops, the registry and buyers.

An HTTP client of the API plus a local signer: every record is signed with ``--as`` (a keystore)
and relayed by the server. ``history`` prints the buyer's report (table, ``--json``, ``--html``);
``verify`` re-derives a saved report from a node alone (``--rpc-url`` + ``--manifest``, no API).
Documents (inspection records, claim files, work orders) stay local: only their keccak-256 is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from civic_ledger.clikit import CliContext, Group, console, emit_json, note, read_json, say, sign_typed_data
from civic_ledger.errors import InvalidInput
from civic_ledger.vehicles import vin as v

app = Group(help="Used-car history (장안평): registration, odometer, inspections, claims, liens, trades, reports.")

VinArg = Annotated[str, typer.Argument(help="The VIN (17 characters, ISO 3779).")]
KmOpt = Annotated[int, typer.Option("--km", min=0)]


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _tx(r: dict[str, Any]) -> str:
    return f" · tx {r['tx_hash']} (block {r['block_number']}, gas {r['gas_used']:,})" if r.get("tx_hash") else ""


def _doc_hash(file: Path | None, text: str | None, what: str) -> str:
    if file is not None:
        try:
            return v.document_hash(file.read_bytes())
        except OSError as exc:
            raise InvalidInput(f"{what} {file}: {exc.strerror}") from None
    if text:
        return v.document_hash(text)
    raise InvalidInput(f"give the {what}: a file (--record/--file) or a reference (--ref)")


def _at(vin: str, records: str) -> str:
    return f"/vehicles/{v.normalise(vin)}/{records}"


def _record(
    cli: CliContext,
    key: str,
    path: str,
    fields: dict[str, Any],
    done: str | Callable[[dict[str, Any]], str],
    co_signer: str | None = None,
) -> None:
    """typed-data → sign with --as (and the co-signer) → relay → ``done`` (or ``done(answer)``) with the events;
    ``--json`` prints the answer."""
    signer = cli.signer()
    typed = cli.client.post(f"{path}/typed-data", {**fields, "signer": signer.address})
    message = typed["typed_data"]["message"]
    body = {
        **fields,
        "signer": signer.address,
        "nonce": typed["nonce"] or 0,
        "deadline": typed["deadline"],
        "signature": sign_typed_data(signer, typed["typed_data"]),
    }
    if key == "offer":
        body["offer_id"] = message["offerId"]
    if key == "accept":
        body["seller"] = message["seller"]
    if co_signer is not None:
        body["seller_signature"] = sign_typed_data(cli.signer(co_signer), typed["typed_data"])
    r = cli.client.post(path, body)
    what = done(r) if callable(done) else done
    cli.show(r, lambda r: note(f"[green]{what}[/] ({', '.join(r['events'])}){_tx(r)}"))


@app.command(uses=("signer", "api", "json"))
def register(
    cli: CliContext,
    vin: VinArg,
    make: Annotated[str, typer.Option("--make")],
    model: Annotated[str, typer.Option("--model")],
    year: Annotated[int, typer.Option("--year", help="Model year.")],
    first_registered: Annotated[str, typer.Option("--first-registered", help="YYYY-MM-DD.")],
    owner: Annotated[str, typer.Option("--owner", help="First owner: address or keystore name.")],
) -> None:
    """Register a vehicle (the registration office signs with --as)."""
    fields = {
        "vin": v.normalise(vin),
        "make": make,
        "model": model,
        "model_year": year,
        "first_registered": first_registered,
        "owner": cli.address(owner),
    }
    _record(cli, "register", "/vehicles", fields, f"registered {fields['vin']}")


@app.command(uses=("signer", "api", "json"))
def odometer(
    cli: CliContext,
    vin: VinArg,
    km: Annotated[int, typer.Argument(min=0, help="The reading in km.")],
    source: Annotated[str, typer.Option("--source", help=f"One of {', '.join(v.SOURCES)}.")] = "dealer",
) -> None:
    """Record an odometer reading; one lower than the highest is refused (and put on record)."""
    _record(cli, "reading", _at(vin, "readings"), {"km": km, "source": source}, f"{km:,} km recorded")


@app.command(uses=("signer", "api", "json"))
def inspect(
    cli: CliContext,
    vin: VinArg,
    km: KmOpt,
    record: Annotated[Path, typer.Option("--record", help="The full inspection record (only its hash is sent).")],
    accident_repair: Annotated[bool, typer.Option("--accident-repair/--no-accident-repair")] = False,
    panels: Annotated[str, typer.Option("--panels", help=f"Comma-separated: {', '.join(v.PANELS)}.")] = "",
    flood: Annotated[bool, typer.Option("--flood/--no-flood")] = False,
    tuning: Annotated[bool, typer.Option("--tuning/--no-tuning")] = False,
    emissions_pass: Annotated[bool, typer.Option("--emissions-pass/--emissions-fail")] = True,
) -> None:
    """Record a performance/condition inspection (성능·상태점검); prints its id."""
    fields = {
        "km": km,
        "accident_repair": accident_repair,
        "panels": [p for p in panels.split(",") if p.strip()],
        "flood": flood,
        "tuning": tuning,
        "emissions_pass": emissions_pass,
        "record_hash": _doc_hash(record, None, "inspection record"),
    }
    _record(cli, "inspection", _at(vin, "inspections"), fields, lambda r: f"inspection {r['inspection_id']} recorded")


@app.command(uses=("signer", "api", "json"))
def claim(
    cli: CliContext,
    vin: VinArg,
    kind: Annotated[str, typer.Argument(help="accident, flood or total_loss.")],
    file: Annotated[Path | None, typer.Option("--file", help="The claim file (only its hash is sent).")] = None,
    ref: Annotated[str | None, typer.Option("--ref", help="The claim number (only its hash is sent).")] = None,
) -> None:
    """Record an insurer's accident / flood / total-loss claim."""
    fields = {"kind": kind, "claim_hash": _doc_hash(file, ref, "claim")}
    _record(cli, "claim", _at(vin, "claims"), fields, f"{kind} claim recorded")


@app.command(uses=("signer", "api", "json"))
def encumbrance(
    cli: CliContext,
    vin: VinArg,
    kind: Annotated[str, typer.Argument(help="lien (저당) or seizure (압류).")],
    action: Annotated[str, typer.Argument(help="set or lift.")],
    ref: Annotated[str, typer.Option("--ref", help="The registry's reference (only its hash is sent).")],
) -> None:
    """Set or lift a lien or seizure (the registry signs)."""
    if action not in ("set", "lift"):
        raise InvalidInput(f"action must be set or lift, not {action!r}")
    fields = {"kind": kind, "active": action == "set", "ref_hash": v.document_hash(ref)}
    _record(cli, "encumbrance", _at(vin, "encumbrances"), fields, f"{kind} {'set' if action == 'set' else 'lifted'}")


@app.command(uses=("signer", "api", "json"))
def maintain(
    cli: CliContext,
    vin: VinArg,
    km: KmOpt,
    work: Annotated[str, typer.Option("--work", help="The work order (only its hash is sent).")],
) -> None:
    """Record maintenance with the odometer reading at it (a shop signs)."""
    fields = {"km": km, "work_hash": v.document_hash(work)}
    _record(cli, "maintenance", _at(vin, "maintenance"), fields, "maintenance recorded")


@app.command(uses=("signer", "api", "json"))
def purchase(
    cli: CliContext,
    vin: VinArg,
    seller: Annotated[str, typer.Option("--seller", help="The owner's keystore: the seller signs too.")],
    price: Annotated[int, typer.Option("--price", min=0, help="KRW.")],
) -> None:
    """Purchase registration (매입): the dealer (--as) buys the car from its owner (--seller)."""
    fields = {"seller": cli.address(seller), "price": price}
    _record(cli, "purchase", _at(vin, "purchases"), fields, "purchase registered", co_signer=seller)


@app.command(uses=("signer", "api", "json"))
def offer(
    cli: CliContext,
    vin: VinArg,
    buyer: Annotated[str, typer.Option("--buyer", help="Address or keystore name.")],
    price: Annotated[int, typer.Option("--price", min=0, help="KRW.")],
    inspection: Annotated[int, typer.Option("--inspection", min=1, help="The current inspection's id.")],
) -> None:
    """Offer the car to a buyer with its current inspection (the owner signs); prints the offer id."""
    fields = {"buyer": cli.address(buyer), "price": price, "inspection_id": inspection}
    _record(cli, "offer", _at(vin, "offers"), fields, lambda r: f"offer {r['offer_id']} made")


@app.command(uses=("signer", "api", "json"))
def accept(
    cli: CliContext,
    vin: VinArg,
    offer_id: Annotated[int, typer.Argument(min=1, help="The offer id.")],
    price: Annotated[int, typer.Option("--price", min=0, help="The price you agree to (KRW).")],
    inspection: Annotated[int, typer.Option("--inspection", min=1, help="The inspection you were shown.")],
) -> None:
    """Accept an offer as the buyer (--as): binds you to exactly that inspection."""
    fields = {"offer_id": offer_id, "price": price, "inspection_id": inspection}
    _record(cli, "accept", _at(vin, "acceptances"), fields, "bought")


def _print_report(r: dict[str, Any]) -> None:
    veh = r["vehicle"] or {}
    say(
        f"[bold]{r['vin']}[/] {veh.get('make', '')} {veh.get('model', '')} {veh.get('model_year', '')} · first "
        f"registered {veh.get('first_registered')} · owners {r['owners_count']} · highest {r['highest_km']:,} km · "
        f"block {r['block_number']}"
    )
    table = Table(title="Timeline")
    for col in ("date", "block", "event", "what"):
        table.add_column(col)
    for e in r["timeline"]:
        table.add_row(_day(e["at"]), str(e["block_number"]), e["event"], e["summary"])
    console.print(table)
    if r["flags"]:
        for f in r["flags"]:
            say(f"[bold red]flag[/] {f['code']}: {f['message']}")
    else:
        say("[green]no flags[/]")


@app.command(uses=("api", "json"))
def history(
    cli: CliContext,
    vin: VinArg,
    html: Annotated[Path | None, typer.Option("--html", help="Also write the HTML report (with a chart) here.")] = None,
) -> None:
    """The buyer's history report: timeline and flags (save it with --json to verify it later)."""
    text = v.normalise(vin)
    report = cli.client.get(f"/vehicles/{text}/history")
    if html is not None:
        html.write_text(str(cli.client.get(f"/vehicles/{text}/history", params={"format": "html"})))
        note(f"wrote {html}")
    emit_json(report) if cli.as_json else _print_report(report)


@app.command("inspection", uses=("api", "json"))
def inspection_show(cli: CliContext, inspection_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """Look up one inspection record by id."""
    i = cli.client.get(f"/vehicles/inspections/{inspection_id}")
    cli.show(
        i,
        lambda i: say(
            f"inspection {i['inspection_id']} · {_day(i['at'])} (valid until {_day(i['valid_until'])}) · "
            f"{i['km']:,} km · accident repair {'yes' if i['accident_repair'] else 'no'} "
            f"{', '.join(i['panels'])} · flood {'yes' if i['flood'] else 'no'} · record {i['record_hash']}"
        ),
    )


@app.command(uses=("node?", "json"))
def verify(
    cli: CliContext, report: Annotated[Path, typer.Argument(help="A report saved with `history --json`.")]
) -> None:
    """Re-derive a report from a node alone (no API) and say whether it matches; exit 1 if not."""
    from civic_ledger.platform.trust import trusted_from_node
    from civic_ledger.vehicles.verify import verify_report

    doc = read_json(report)
    trusted = trusted_from_node(cli.rpc, cli.manifest, cli.data)
    out = verify_report(trusted, doc).model_dump()

    def render(o: dict[str, Any]) -> None:
        d = o["deployment"]
        say(f"checked against {d['manifest']} (sha256 {d['manifest_sha256'][:16]}…), chain id {d['chain_id']}")
        for line in o["differences"] + o["chain_state"]:
            say(f"[red]difference[/] {line}")
        say(
            f"[bold green]MATCHES[/] the chain at block {o['block_number']}"
            if o["matches"]
            else "[bold red]DOES NOT MATCH[/] the chain"
        )

    cli.show(out, render)
    if not out["matches"]:
        raise typer.Exit(1)
