"""``civic-ledger voting ...``: an HTTP client of the API plus a local signer (``--as``).

Agencies and voters sign on this machine with their own keystore (see :mod:`civic_ledger.clikit`);
the server never sees a key. ``recount`` talks to an Ethereum node directly (no API, no database).
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from civic_ledger.clikit import CliContext, Group, sign_typed_data
from civic_ledger.clikit.output import console, emit_json, err, fail, note, print_table, say, write_json
from civic_ledger.voting import ballots as enc
from civic_ledger.voting import server_receipts

app = Group(help="M-Voting: polls, signed ballots, results, receipts, recount.")


def _add_trustee_commands() -> None:
    from civic_ledger.voting.trustee_cli import app as trustee_app

    app.add_typer(trustee_app, name="trustee", help="Encrypted polls: trustees' key generation and decryption.")


_add_trustee_commands()
PollArg = Annotated[int, typer.Argument(help="Poll id.")]


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "-"


def _print_poll(p: dict[str, Any]) -> None:
    say(f"[bold]poll {p['poll_id']}[/]: {p['question']}")
    rules = f"{p['ballot_type']} (max {p['max_choices']}) · {p['secrecy']} · {p['eligibility']}"
    if p["districts"]:
        rules += f" districts {','.join(map(str, p['districts']))}"
    if p["min_birth_year"] or p["max_birth_year"]:
        rules += f" born {p['min_birth_year'] or '…'}..{p['max_birth_year'] or '…'}"
    say(f"{rules} · status [bold]{p['status']}[/] · {p['ballots']} ballots")
    window = f"opens {_when(p['opens_at'])} · closes {_when(p['closes_at'])}"
    if p["secrecy"] == "sealed":
        window += f" · reveal until {_when(p['reveal_ends_at'])}"
    say(window)
    table = Table()
    table.add_column("#", justify="right")
    table.add_column("option")
    for o in p["options"]:
        table.add_row(str(o["index"]), o["text"])
    console.print(table)


def _read_census(path: Path) -> list[str]:
    try:
        lines = [line.strip() for line in path.read_text().splitlines()]
    except OSError as exc:
        fail(f"census file {path} can not be read: {exc.strerror}")
    return [line for line in lines if line and not line.startswith("#")]


def _secrets_path(keystore: Path) -> Path:
    return keystore.with_name(keystore.name + ".ballots.json")


def _load_secrets(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return {}
    except ValueError:
        fail(f"{path} is not JSON")
        raise


# -- commands ------------------------------------------------------------------------------


@app.command(uses=("signer", "api", "json"))
def create(
    cli: CliContext,
    question: Annotated[str, typer.Argument(help="The question.")],
    option: Annotated[list[str], typer.Option("--option", "-o", help="An option text (repeat, 2..32).")],
    ballot_type: Annotated[str, typer.Option("--type", help="single, approval or ranked.")] = "single",
    max_choices: Annotated[int | None, typer.Option(help="Approval/ranked: most options per ballot.")] = None,
    sealed: Annotated[bool, typer.Option("--sealed", help="Commit-reveal: no tally until close.")] = False,
    encrypted: Annotated[
        bool,
        typer.Option(
            "--encrypted",
            help="Threshold-encrypted ballots: name trustees (`voting trustee name`) and run their DKG before it opens.",
        ),
    ] = False,
    dkg_window: Annotated[
        int, typer.Option(help="Encrypted, without --opens-at: seconds from now until it opens (the DKG window).")
    ] = 600,
    duration: Annotated[int, typer.Option(help="Voting length in seconds.")] = 86_400,
    opens_at: Annotated[int | None, typer.Option(help="Start (Unix seconds); default now.")] = None,
    reveal_window: Annotated[int, typer.Option(help="Sealed: reveal window in seconds.")] = 86_400,
    districts: Annotated[str | None, typer.Option(help="Comma-separated district codes 1..25.")] = None,
    min_birth_year: Annotated[int, typer.Option(help="Earliest birth year (0 = none).")] = 0,
    max_birth_year: Annotated[int, typer.Option(help="Latest birth year (0 = none).")] = 0,
    census: Annotated[Path | None, typer.Option(help="File of voter addresses (one a line): a census poll.")] = None,
    eligible_count: Annotated[int, typer.Option(help="Electorate size for turnout (0 = unknown).")] = 0,
) -> None:
    """Create a poll, signed (--as) with a POLL_ADMIN agency keystore."""
    signer = cli.signer()
    if sealed and encrypted:
        fail("--sealed and --encrypted exclude each other")
    if encrypted and opens_at is None:
        opens_at = int(datetime.now(tz=UTC).timestamp()) + dkg_window
    draft: dict[str, Any] = {
        "question": question,
        "options": option,
        "ballot_type": ballot_type,
        "max_choices": max_choices,
        "secrecy": "sealed" if sealed else ("encrypted" if encrypted else "public"),
        "duration_s": duration,
        "opens_at": opens_at,
        "reveal_window_s": reveal_window,
        "min_birth_year": min_birth_year,
        "max_birth_year": max_birth_year,
        "eligible_count": eligible_count,
        "creator": signer.address,
        "eligibility": "all_citizens",
    }
    if districts:
        try:
            draft["districts"] = [int(d) for d in districts.split(",") if d.strip()]
        except ValueError:
            fail(f"--districts must be comma-separated numbers, got {districts!r}")
        draft["eligibility"] = "districts"
    elif min_birth_year or max_birth_year:
        draft["eligibility"] = "age_band"
    if census is not None:
        members = _read_census(census)
        draft["census_root"] = "0x" + enc.census_root(members).hex()
        draft["eligibility"] = "census"
        draft["eligible_count"] = eligible_count or len(members)
    td = cli.client.post("/voting/polls/typed-data", draft)
    poll = cli.client.post("/voting/polls", {**td["fields"], "signature": sign_typed_data(signer, td["typed_data"])})
    if cli.as_json:
        return emit_json(poll)
    _print_poll(poll)
    say(f"created in block {poll['created_block']} · tx {poll['created_tx']}")


@app.command("list", uses=("api", "json"))
def list_cmd(
    cli: CliContext,
    status: Annotated[str | None, typer.Option(help="scheduled, open, revealing, closed or finalized.")] = None,
) -> None:
    """List polls, newest first."""
    cli.show(
        cli.client.get("/voting/polls", params={"status": status} if status else None),
        lambda polls: print_table(
            ("id", "question", "type", "secrecy", "status", "closes", "ballots"),
            (
                (
                    str(p["poll_id"]),
                    p["question"][:60],
                    p["ballot_type"],
                    p["secrecy"],
                    p["status"],
                    _when(p["closes_at"]),
                    str(p["ballots"]),
                )
                for p in polls
            ),
        ),
    )


@app.command(uses=("api", "json"))
def show(cli: CliContext, poll: PollArg) -> None:
    """Show a poll: question, options, rules, window."""
    cli.show(cli.client.get(f"/voting/polls/{poll}"), _print_poll)


@app.command(uses=("signer", "api", "node?", "json"))
def vote(
    cli: CliContext,
    poll: Annotated[int | None, typer.Argument(help="Poll id (not with --direct).")] = None,
    option: Annotated[
        list[int] | None, typer.Option("--option", "-o", help="0-based option (repeat: approval set or ranked order).")
    ] = None,
    census: Annotated[
        Path | None, typer.Option(help="Census file (census polls): the proof is computed locally.")
    ] = None,
    save: Annotated[
        Path | None,
        typer.Option(
            help="Where to keep the signed ballot and the server's receipt (default DATA_DIR/ballots/HASH.json)."
        ),
    ] = None,
    direct: Annotated[
        bool,
        typer.Option(
            "--direct",
            help="Send the ballot saved in --file to MVoting.cast yourself through --rpc-url, paying the gas "
            "(--as: the voter's or any funded key). For a ballot `receipt` reports DROPPED.",
        ),
    ] = False,
    file: Annotated[Path | None, typer.Option("--file", help="With --direct: the ballot file saved by `vote`.")] = None,
) -> None:
    """Sign a ballot with the citizen keystore and cast it. Voting again changes the vote (until close).

    The signed ballot and the server's signed receipt are saved (--save) so that `receipt --file`
    can check inclusion on chain and `vote --direct --file` can send the ballot without the API.
    Sealed polls: the choice and a random salt stay on this machine (next to the keystore, in
    KEYSTORE.ballots.json) and only the commitment is sent; `reveal` opens it after close."""
    if direct:
        return _vote_direct(cli, file)
    if poll is None or not option:
        fail("give the poll id and at least one --option (or --direct --file PATH to send a saved ballot)")
    keystore = cli.keystore()
    signer = cli.signer(str(keystore))
    p = cli.client.get(f"/voting/polls/{poll}")
    if p["secrecy"] == "encrypted":
        return _vote_encrypted(cli, poll, p, signer, option)
    draft: dict[str, Any] = {"voter": signer.address}
    secret = None
    if p["secrecy"] == "sealed":
        choice = enc.encode_choice(p["ballot_type"], option, len(p["options"]), p["max_choices"])
        salt = secrets.token_bytes(32)
        draft["commitment"] = "0x" + enc.commitment(poll, signer.address, choice, salt).hex()
        secret = {"choice": choice, "options": option, "salt": "0x" + salt.hex()}
    else:
        draft["options"] = option
    td = cli.client.post(f"/voting/polls/{poll}/ballots/typed-data", draft)
    body = {**td["fields"], "signature": sign_typed_data(signer, td["typed_data"])}
    if census is not None:
        body["proof"] = ["0x" + x.hex() for x in enc.census_proof(_read_census(census), signer.address)]
    if secret is not None:  # keep the opening before sending: a lost salt can never be revealed
        path = _secrets_path(keystore)
        stored = _load_secrets(path)
        stored[f"{cli.client.base_url}|{poll}"] = {**secret, "voter": signer.address, "version": body["version"]}
        path.write_text(json.dumps(stored, indent=2))
        os.chmod(path, 0o600)
    saved = save or cli.data / "ballots" / f"{td['digest']}.json"
    write_json(saved, server_receipts.ballot_file(poll, body, td["digest"], None))  # before sending
    rec = cli.client.post(f"/voting/polls/{poll}/ballots", body)
    write_json(saved, server_receipts.ballot_file(poll, body, td["digest"], rec.get("server_receipt")))
    if cli.as_json:
        return emit_json({**rec, "saved": str(saved)})
    chosen = ", ".join(p["options"][i]["text"] for i in option if 0 <= i < len(p["options"]))
    say(f"[green]ballot accepted[/] (version {rec['version']}): {chosen}")
    table = Table(show_header=False)
    for k in ("ballot_hash", "tx_hash", "block_number", "log_index", "citizen_id"):
        table.add_row(k, str(rec[k]))
    if rec.get("server_receipt"):
        table.add_row("include_by", _when(rec["server_receipt"]["include_by"]))
    console.print(table)
    say(f"ballot and server receipt saved to {saved}")
    say(f"check it any time: civic-ledger voting receipt {rec['ballot_hash']}  (or --file {saved} --rpc-url URL)")


def _vote_encrypted(cli: CliContext, poll: int, p: dict[str, Any], signer: Any, option: list[int]) -> None:
    """Encrypt each counted option and prove the ballot valid here; only ciphertexts and proofs are sent."""
    from civic_ledger.voting import elgamal
    from civic_ledger.voting.encrypted_client import encrypted_vote

    try:
        rec = encrypted_vote(cli.client, poll, signer, option)
    except elgamal.ProofError as exc:
        fail(str(exc))
    if cli.as_json:
        return emit_json(rec)
    chosen = ", ".join(p["options"][i]["text"] for i in option if 0 <= i < len(p["options"]))
    say(
        f"[green]encrypted ballot accepted[/] (version {rec['version']}{', replaces your previous ballot' if rec['replaced'] else ''}): "
        f"{chosen} — encrypted on this machine; nobody can read it alone"
    )
    table = Table(show_header=False)
    for k in ("ballot_hash", "tx_hash", "block_number", "citizen_id", "gas_used"):
        table.add_row(k, str(rec[k]))
    console.print(table)


def _vote_direct(cli: CliContext, file: Path | None) -> None:
    from civic_ledger.platform.trust import trusted_from_node

    if file is None:
        fail("--direct needs --file PATH: the ballot file `civic-ledger voting vote` saved")
    data = server_receipts.read_ballot_file(file)
    signer = cli.signer()
    trusted = trusted_from_node(cli.rpc, cli.manifest, cli.data)
    with err.status(f"sending ballot {data.get('ballot_hash')} to MVoting.cast…"):
        out = server_receipts.submit_direct(trusted, data, signer)
    if cli.as_json:
        return emit_json(out)
    say(
        f"[green]ballot sent directly[/] to {trusted.label('MVoting')}: tx {out['tx_hash']} · "
        f"block {out['block_number']} · gas {out['gas_used']} paid by {out['sender']}"
    )
    say(f"check it: civic-ledger voting receipt --file {file} --rpc-url {cli.rpc}")


@app.command(uses=("signer?", "api", "json"))
def reveal(
    cli: CliContext,
    poll: PollArg,
    voter: Annotated[str | None, typer.Option(help="Voter address (with --salt and --option instead of --as).")] = None,
    option: Annotated[list[int] | None, typer.Option("--option", "-o", help="0-based option(s) as voted.")] = None,
    salt: Annotated[str | None, typer.Option(help="The 32-byte salt, 0x-hex.")] = None,
) -> None:
    """Open a sealed ballot during the reveal window (no signature needed: the salt is the proof).

    With --as, the opening saved next to that keystore by `vote` is used."""
    if cli.as_ is not None:
        keystore = cli.keystore()
        stored = _load_secrets(_secrets_path(keystore)).get(f"{cli.client.base_url}|{poll}")
        if stored is None:
            fail(f"no saved sealed ballot for poll {poll} next to {keystore}")
        body = {"voter": stored["voter"], "choice": stored["choice"], "salt": stored["salt"]}
    else:
        if not (voter and salt and option):
            fail("give --as, or --voter, --option and --salt")
        body = {"voter": voter, "options": option, "salt": salt}
    out = cli.client.post(f"/voting/polls/{poll}/reveals", body)
    cli.show(
        out,
        lambda out: say(
            f"[green]revealed[/] ballot of {out['voter']} · tx {out['tx_hash']} · block {out['block_number']}"
        ),
    )


@app.command(uses=("api", "json"))
def close(cli: CliContext, poll: PollArg) -> None:
    """Finalize a poll that has ended: publish its result on chain (PollFinalized)."""
    cli.show(cli.client.post(f"/voting/polls/{poll}/finalize"), _print_results)


def _print_results(r: dict[str, Any]) -> None:
    say(f"[bold]poll {r['poll_id']}[/]: {r['question']}  [dim]({r['status']}, from {r['source']})[/]")
    table = Table()
    table.add_column("#", justify="right")
    table.add_column("option")
    table.add_column("points" if r["ballot_type"] == "ranked" else "votes", justify="right")
    table.add_column("share", justify="right")
    for o in r["options"]:
        mark = " ★" if o["index"] in r["winner"] else ""
        table.add_row(
            str(o["index"]), o["text"] + mark, str(o["count"]), f"{o['share']:.1%}" if o["share"] is not None else "-"
        )
    console.print(table)
    turnout = f" · turnout {r['turnout']:.1%} of {r['eligible_count']}" if r["turnout"] is not None else ""
    say(f"{r['ballots']} ballots, {r['counted']} counted{turnout}")


@app.command(uses=("api", "json"))
def results(
    cli: CliContext,
    poll: PollArg,
    svg: Annotated[Path | None, typer.Option(help="Also save the bar chart as SVG here.")] = None,
) -> None:
    """Counts per option and turnout (sealed polls: only after close)."""
    cli.show(cli.client.get(f"/voting/polls/{poll}/results"), _print_results)
    if svg is not None:
        svg.write_text(cli.client.get(f"/voting/polls/{poll}/results.svg"))
        note(f"chart written to {svg}")


@app.command(uses=("api", "node?", "json"))
def receipt(
    cli: CliContext,
    ballot_hash: Annotated[str | None, typer.Argument(help="The ballot hash from `vote` (asks the API).")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="A ballot file saved by `vote`: checked on chain only (--rpc-url), no API."),
    ] = None,
) -> None:
    """Check a receipt: where the ballot is on chain, and whether it is current and counted.

    With --file: verifies the server's signed receipt and looks for the ballot's BallotCast through
    the trusted deployment. Exit 0 when included or not yet due, 3 when DROPPED (the promised
    deadline passed and the ballot is not on chain: send it yourself with `vote --direct`)."""
    if file is not None:
        return _receipt_on_chain(cli, file)
    if ballot_hash is None:
        fail("give a ballot hash (asks the API) or --file PATH --rpc-url URL (asks the chain)")
    r = cli.client.get(f"/voting/receipts/{ballot_hash}")
    if cli.as_json:
        return emit_json(r)
    table = Table(show_header=False)
    for k in ("poll_id", "voter", "citizen_id", "version", "tx_hash", "block_number", "log_index", "current_version"):
        table.add_row(k, str(r[k]))
    table.add_row("current", "[green]yes[/]" if r["current"] else "[yellow]no (replaced by a later version)[/]")
    table.add_row("counted", "[green]yes[/]" if r["counted"] else "no")
    console.print(table)


def _receipt_on_chain(cli: CliContext, file: Path) -> None:
    from civic_ledger.platform.trust import trusted_from_node

    data = server_receipts.read_ballot_file(file)
    trusted = trusted_from_node(cli.rpc, cli.manifest, cli.data)
    out = server_receipts.check_inclusion(trusted, data)
    status = out["status"]
    if cli.as_json:
        emit_json(out)
        raise typer.Exit(3 if status == "dropped" else 0)
    say(f"ballot {out['ballot_hash']} · poll {out['poll_id']} · voter {out['voter']} · {trusted.label('MVoting')}")
    if "signer" in out:
        who = {
            True: "the deployment's operator",
            False: "[red]NOT the manifest's deployer[/]",
            None: "operator unknown",
        }
        say(
            f"server receipt: [green]signature valid[/], signed by {out['signer']} ({who[out['signer_is_operator']]}); "
            f"accepted {_when(out['accepted'])}, promised on chain by {_when(out['include_by'])}"
        )
    else:
        note("no server receipt in the file: only inclusion is checked")
    if status == "included":
        say(f"[bold green]included[/] in block {out['block_number']} · tx {out['tx_hash']} · log {out['log_index']}")
    elif status == "pending":
        left = out["include_by"] - out["chain_time"]
        say(f"[yellow]not on chain yet[/]: the server has {left} s left to include it")
    elif status == "not_included":
        say("[yellow]not on chain[/]")
    else:
        say(
            f"[bold red]DROPPED[/]: not on chain {out['chain_time'] - out['include_by']} s after the deadline the "
            "server signed. The receipt proves the server accepted it. Send it yourself (you pay the gas): "
            f"civic-ledger voting vote --direct --file {file} --rpc-url {cli.rpc} --as KEYSTORE"
        )
        raise typer.Exit(3)


@app.command(uses=("node", "json"))
def recount(
    cli: CliContext,
    poll: PollArg,
    address: Annotated[
        str | None,
        typer.Option(
            help="Expected MVoting address: only compared with the trusted manifest's (exit 2 if it differs)."
        ),
    ] = None,
) -> None:
    """Recompute a poll's result from chain logs and contract state alone (no API, no database).

    MVoting's address comes from the trusted manifest, never from elsewhere. Compares the result
    with the published one (PollFinalized, else the running tallyOf).
    Exit code 0 when it matches, 2 when it does not."""
    from civic_ledger.voting.recount import recount_rpc

    with err.status(f"reading MVoting logs of poll {poll}…"):
        result = recount_rpc(
            cli.rpc,
            poll,
            manifest=cli.manifest,
            data_dir=cli.data,
            expected_address=address,
        )
    if cli.as_json:
        emit_json(result.to_dict())
        raise typer.Exit(0 if result.matches else 2)
    d = result.deployment
    say(
        f"trusted deployment: chain id {d['chain_id']} · {d['manifest']} · sha256 {d['manifest_sha256']} · "
        f"MVoting {d['contracts']['MVoting']}"
    )
    say(
        f"[bold]poll {poll}[/]: {result.question}  [dim]({result.ballot_type}, {result.secrecy}, created in block {result.created.block_number})[/]"
    )
    table = Table()
    table.add_column("#", justify="right")
    table.add_column("option")
    table.add_column("recomputed", justify="right")
    table.add_column(f"published ({result.published_source})", justify="right")
    for i, text in enumerate(result.options):
        pub = str(result.published_counts[i]) if result.published_counts is not None else "-"
        table.add_row(str(i), text, str(result.recomputed_counts[i]), pub)
    console.print(table)
    say(
        f"{result.ballots_seen} BallotCast logs → {result.ballots} voters; {result.reveals_seen} reveals; {result.counted} counted"
    )
    if result.encrypted:
        x = result.encrypted
        say(
            f"encrypted: {x['ballot_proofs_checked']} ballot proofs checked ({x['ballot_proofs_failed']} failed) · "
            f"homomorphic sum {x['homomorphic_sum']} · {x['decryption_proofs_checked']} decryption proofs checked "
            f"({x['decryption_proofs_failed']} failed) · threshold {x['threshold']} of {x['trustees']}"
            + (f" · decrypted with trustees {x['decrypted_with_trustees']}" if "decrypted_with_trustees" in x else "")
        )
    if result.checks:
        say(
            f"checks of {result.counted} counted ballots (current version of each voter; "
            f"{result.transactions_read} transactions read):"
        )
        for name, check in result.checks.items():
            mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
            say(f"  {name:<12} {check.passed}/{check.checked} {mark}  [dim]{check.rule}[/]")
            for f in check.failures:
                note(
                    f"    [red]✗[/] {name} ballot {f.ballot_hash} · voter {f.voter} (citizen {f.citizen_id}) · "
                    f"block {f.block_number} · tx {f.tx_hash}: {f.reason}"
                )
    if result.verdict == "unpublished" and result.checks_pass:
        console.print("[bold]no published result yet[/]; every ballot check passes")
        return
    if result.matches:
        console.print("[bold green]recount matches the published result[/]")
        return
    for problem in result.problems:
        note(f"[red]•[/] {problem}")
    console.print("[bold red]recount DOES NOT MATCH the published result[/]")
    raise typer.Exit(2)
