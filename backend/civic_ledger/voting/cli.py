"""``civic-ledger voting ...``: an HTTP client of the API plus a local signer (keystores).

Agencies and voters sign on this machine with their own keystore; the server never sees a
key. ``recount`` talks to an Ethereum node directly (no API, no database).
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from eth_account.signers.local import LocalAccount
from rich.table import Table

from civic_ledger.cli_support import cli_errors, console, err, fail
from civic_ledger.errors import CivicLedgerError
from civic_ledger.platform import eip712
from civic_ledger.voting import ballots as enc

app = typer.Typer(help="M-Voting: polls, signed ballots, results, receipts, recount.", no_args_is_help=True)


ApiOpt = Annotated[
    str, typer.Option("--api", envvar="CIVIC_API_URL", help="Base URL of the civic-ledger API. Env: CIVIC_API_URL.")
]


def _resolve_keystore(value: Path | None) -> Path | None:
    """A keystore file path, or the name of a keystore in DATA_DIR/keystores (as `identity keystore`)."""
    if value is None or value.exists():
        return value
    from civic_ledger.config import Settings
    from civic_ledger.identity.keys import resolve_keystore

    try:
        return resolve_keystore(Settings().data_dir, str(value))
    except CivicLedgerError:
        return value  # loading it reports the missing file


KeystoreOpt = Annotated[
    Path,
    typer.Option(
        "--keystore",
        "-k",
        help="Keystore of the signer: a file, or a name in DATA_DIR/keystores.",
        exists=False,
        callback=_resolve_keystore,
    ),
]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--password", envvar="CIVIC_KEYSTORE_PASSWORD", help="Keystore password. Env: CIVIC_KEYSTORE_PASSWORD."
    ),
]
DEFAULT_API = "http://127.0.0.1:8000"


_errors = cli_errors


def load_signer(path: Path, password: str | None) -> LocalAccount:
    """Decrypt the keystore (identity's loader when present, else the platform's)."""
    try:
        from civic_ledger.identity.keys import load_keystore  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from civic_ledger.platform.runtime import load_keystore
    with _errors():
        return load_keystore(path, password or "")  # type: ignore[no-any-return]
    raise AssertionError("unreachable")


class Api:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.client = httpx.Client(base_url=self.base, timeout=120)

    def request(self, method: str, path: str, **kw: Any) -> Any:
        try:
            r = self.client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            fail(f"cannot reach the API at {self.base}: {exc} (start it with `civic-ledger serve` or set --api)")
        if r.status_code >= 400:
            try:
                body = r.json()
                message = f"{body.get('message')} ({r.status_code} {body.get('error')})"
            except ValueError:
                message = f"{r.status_code} {r.text[:300]}"
            fail(message)
        return r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body)


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "-"


def _print_poll(p: dict[str, Any]) -> None:
    console.print(f"[bold]poll {p['poll_id']}[/]: {p['question']}", highlight=False)
    rules = f"{p['ballot_type']} (max {p['max_choices']}) · {p['secrecy']} · {p['eligibility']}"
    if p["districts"]:
        rules += f" districts {','.join(map(str, p['districts']))}"
    if p["min_birth_year"] or p["max_birth_year"]:
        rules += f" born {p['min_birth_year'] or '…'}..{p['max_birth_year'] or '…'}"
    console.print(f"{rules} · status [bold]{p['status']}[/] · {p['ballots']} ballots", highlight=False)
    window = f"opens {_when(p['opens_at'])} · closes {_when(p['closes_at'])}"
    if p["secrecy"] == "sealed":
        window += f" · reveal until {_when(p['reveal_ends_at'])}"
    console.print(window, highlight=False)
    table = Table()
    table.add_column("#", justify="right")
    table.add_column("option")
    for o in p["options"]:
        table.add_row(str(o["index"]), o["text"])
    console.print(table)


def _sign(typed_data: dict[str, Any], signer: LocalAccount) -> str:
    return "0x" + eip712.TypedMessage.from_dict(typed_data).sign(signer).hex()


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


@app.command()
def create(
    question: Annotated[str, typer.Argument(help="The question.")],
    option: Annotated[list[str], typer.Option("--option", "-o", help="An option text (repeat, 2..32).")],
    keystore: KeystoreOpt,
    password: PasswordOpt = None,
    api: ApiOpt = DEFAULT_API,
    ballot_type: Annotated[str, typer.Option("--type", help="single, approval or ranked.")] = "single",
    max_choices: Annotated[int | None, typer.Option(help="Approval/ranked: most options per ballot.")] = None,
    sealed: Annotated[bool, typer.Option("--sealed", help="Commit-reveal: no tally until close.")] = False,
    duration: Annotated[int, typer.Option(help="Voting length in seconds.")] = 86_400,
    opens_at: Annotated[int | None, typer.Option(help="Start (Unix seconds); default now.")] = None,
    reveal_window: Annotated[int, typer.Option(help="Sealed: reveal window in seconds.")] = 86_400,
    districts: Annotated[str | None, typer.Option(help="Comma-separated district codes 1..25.")] = None,
    min_birth_year: Annotated[int, typer.Option(help="Earliest birth year (0 = none).")] = 0,
    max_birth_year: Annotated[int, typer.Option(help="Latest birth year (0 = none).")] = 0,
    census: Annotated[Path | None, typer.Option(help="File of voter addresses (one a line): a census poll.")] = None,
    eligible_count: Annotated[int, typer.Option(help="Electorate size for turnout (0 = unknown).")] = 0,
) -> None:
    """Create a poll, signed with a POLL_ADMIN agency keystore."""
    signer = load_signer(keystore, password)
    client = Api(api)
    draft: dict[str, Any] = {
        "question": question,
        "options": option,
        "ballot_type": ballot_type,
        "max_choices": max_choices,
        "secrecy": "sealed" if sealed else "public",
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
        with _errors():
            draft["census_root"] = "0x" + enc.census_root(members).hex()
        draft["eligibility"] = "census"
        draft["eligible_count"] = eligible_count or len(members)
    td = client.post("/voting/polls/typed-data", draft)
    poll = client.post("/voting/polls", {**td["fields"], "signature": _sign(td["typed_data"], signer)})
    _print_poll(poll)
    console.print(f"created in block {poll['created_block']} · tx {poll['created_tx']}", highlight=False)


@app.command("list")
def list_cmd(
    api: ApiOpt = DEFAULT_API,
    status: Annotated[str | None, typer.Option(help="scheduled, open, revealing, closed or finalized.")] = None,
) -> None:
    """List polls, newest first."""
    polls = Api(api).get("/voting/polls", params={"status": status} if status else None)
    table = Table()
    for col in ("id", "question", "type", "secrecy", "status", "closes", "ballots"):
        table.add_column(col)
    for p in polls:
        table.add_row(
            str(p["poll_id"]),
            p["question"][:60],
            p["ballot_type"],
            p["secrecy"],
            p["status"],
            _when(p["closes_at"]),
            str(p["ballots"]),
        )
    console.print(table)


@app.command()
def show(poll: Annotated[int, typer.Argument(help="Poll id.")], api: ApiOpt = DEFAULT_API) -> None:
    """Show a poll: question, options, rules, window."""
    _print_poll(Api(api).get(f"/voting/polls/{poll}"))


@app.command()
def vote(
    poll: Annotated[int, typer.Argument(help="Poll id.")],
    option: Annotated[
        list[int], typer.Option("--option", "-o", help="0-based option (repeat: approval set or ranked order).")
    ],
    keystore: KeystoreOpt,
    password: PasswordOpt = None,
    api: ApiOpt = DEFAULT_API,
    census: Annotated[
        Path | None, typer.Option(help="Census file (census polls): the proof is computed locally.")
    ] = None,
) -> None:
    """Sign a ballot with the citizen keystore and cast it. Voting again changes the vote (until close).

    Sealed polls: the choice and a random salt stay on this machine (next to the keystore, in
    KEYSTORE.ballots.json) and only the commitment is sent; `reveal` opens it after close."""
    signer = load_signer(keystore, password)
    client = Api(api)
    p = client.get(f"/voting/polls/{poll}")
    draft: dict[str, Any] = {"voter": signer.address}
    secret = None
    if p["secrecy"] == "sealed":
        with _errors():
            choice = enc.encode_choice(p["ballot_type"], option, len(p["options"]), p["max_choices"])
        salt = secrets.token_bytes(32)
        draft["commitment"] = "0x" + enc.commitment(poll, signer.address, choice, salt).hex()
        secret = {"choice": choice, "options": option, "salt": "0x" + salt.hex()}
    else:
        draft["options"] = option
    td = client.post(f"/voting/polls/{poll}/ballots/typed-data", draft)
    body = {**td["fields"], "signature": _sign(td["typed_data"], signer)}
    if census is not None:
        with _errors():
            body["proof"] = ["0x" + x.hex() for x in enc.census_proof(_read_census(census), signer.address)]
    if secret is not None:  # keep the opening before sending: a lost salt can never be revealed
        path = _secrets_path(keystore)
        stored = _load_secrets(path)
        stored[f"{client.base}|{poll}"] = {**secret, "voter": signer.address, "version": body["version"]}
        path.write_text(json.dumps(stored, indent=2))
        os.chmod(path, 0o600)
    rec = client.post(f"/voting/polls/{poll}/ballots", body)
    chosen = ", ".join(p["options"][i]["text"] for i in option if 0 <= i < len(p["options"]))
    console.print(f"[green]ballot accepted[/] (version {rec['version']}): {chosen}", highlight=False)
    table = Table(show_header=False)
    for k in ("ballot_hash", "tx_hash", "block_number", "log_index", "citizen_id"):
        table.add_row(k, str(rec[k]))
    console.print(table)
    console.print(f"check it any time: civic-ledger voting receipt {rec['ballot_hash']}", highlight=False)


@app.command()
def reveal(
    poll: Annotated[int, typer.Argument(help="Poll id.")],
    keystore: Annotated[
        Path | None,
        typer.Option(
            "--keystore", "-k", help="Keystore used to vote (its saved opening is used).", callback=_resolve_keystore
        ),
    ] = None,
    voter: Annotated[
        str | None, typer.Option(help="Voter address (with --salt and --option instead of --keystore).")
    ] = None,
    option: Annotated[list[int] | None, typer.Option("--option", "-o", help="0-based option(s) as voted.")] = None,
    salt: Annotated[str | None, typer.Option(help="The 32-byte salt, 0x-hex.")] = None,
    api: ApiOpt = DEFAULT_API,
) -> None:
    """Open a sealed ballot during the reveal window (no signature needed: the salt is the proof)."""
    client = Api(api)
    if keystore is not None:
        stored = _load_secrets(_secrets_path(keystore)).get(f"{client.base}|{poll}")
        if stored is None:
            fail(f"no saved sealed ballot for poll {poll} next to {keystore}")
        body = {"voter": stored["voter"], "choice": stored["choice"], "salt": stored["salt"]}
    else:
        if not (voter and salt and option):
            fail("give --keystore, or --voter, --option and --salt")
        body = {"voter": voter, "options": option, "salt": salt}
    out = client.post(f"/voting/polls/{poll}/reveals", body)
    console.print(
        f"[green]revealed[/] ballot of {out['voter']} · tx {out['tx_hash']} · block {out['block_number']}",
        highlight=False,
    )


@app.command()
def close(poll: Annotated[int, typer.Argument(help="Poll id.")], api: ApiOpt = DEFAULT_API) -> None:
    """Finalize a poll that has ended: publish its result on chain (PollFinalized)."""
    _print_results(Api(api).post(f"/voting/polls/{poll}/finalize"))


def _print_results(r: dict[str, Any]) -> None:
    console.print(
        f"[bold]poll {r['poll_id']}[/]: {r['question']}  [dim]({r['status']}, from {r['source']})[/]", highlight=False
    )
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
    console.print(f"{r['ballots']} ballots, {r['counted']} counted{turnout}", highlight=False)


@app.command()
def results(
    poll: Annotated[int, typer.Argument(help="Poll id.")],
    api: ApiOpt = DEFAULT_API,
    svg: Annotated[Path | None, typer.Option(help="Also save the bar chart as SVG here.")] = None,
) -> None:
    """Counts per option and turnout (sealed polls: only after close)."""
    client = Api(api)
    _print_results(client.get(f"/voting/polls/{poll}/results"))
    if svg is not None:
        svg.write_text(client.get(f"/voting/polls/{poll}/results.svg"))
        console.print(f"chart written to {svg}", highlight=False)


@app.command()
def receipt(
    ballot_hash: Annotated[str, typer.Argument(help="The ballot hash from `vote`.")], api: ApiOpt = DEFAULT_API
) -> None:
    """Check a receipt: where the ballot is on chain, and whether it is current and counted."""
    r = Api(api).get(f"/voting/receipts/{ballot_hash}")
    table = Table(show_header=False)
    for k in ("poll_id", "voter", "citizen_id", "version", "tx_hash", "block_number", "log_index", "current_version"):
        table.add_row(k, str(r[k]))
    table.add_row("current", "[green]yes[/]" if r["current"] else "[yellow]no (replaced by a later version)[/]")
    table.add_row("counted", "[green]yes[/]" if r["counted"] else "no")
    console.print(table)


@app.command()
def recount(
    poll: Annotated[int, typer.Argument(help="Poll id.")],
    rpc_url: Annotated[str, typer.Option("--rpc-url", help="JSON-RPC URL of any Ethereum node of the chain.")],
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="Deployment manifest you trust (deployment-<chainId>.json): MVoting's address and start block. "
            "Default: the one for the node's chain id in the data directory (CIVIC_DATA_DIR)."
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(
            help="Expected MVoting address: only compared with the trusted manifest's (exit 2 if it differs)."
        ),
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Where the default manifest is.")] = None,
) -> None:
    """Recompute a poll's result from chain logs and contract state alone (no API, no database).

    MVoting's address comes from the trusted manifest, never from elsewhere. Compares the result
    with the published one (PollFinalized, else the running tallyOf).
    Exit code 0 when it matches, 2 when it does not."""
    from civic_ledger.cli_support import data_dir_or_default
    from civic_ledger.voting.recount import recount_rpc

    with _errors(), err.status(f"reading MVoting logs of poll {poll}…"):
        result = recount_rpc(
            rpc_url, poll, manifest=manifest, data_dir=data_dir_or_default(data_dir), expected_address=address
        )
    d = result.deployment
    console.print(
        f"trusted deployment: chain id {d['chain_id']} · {d['manifest']} · sha256 {d['manifest_sha256']} · "
        f"MVoting {d['contracts']['MVoting']}",
        highlight=False,
    )
    console.print(
        f"[bold]poll {poll}[/]: {result.question}  [dim]({result.ballot_type}, {result.secrecy}, created in block {result.created.block_number})[/]",
        highlight=False,
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
    console.print(
        f"{result.ballots_seen} BallotCast logs → {result.ballots} voters; {result.reveals_seen} reveals; {result.counted} counted",
        highlight=False,
    )
    if result.matches:
        console.print("[bold green]recount matches the published result[/]")
        return
    for problem in result.problems:
        err.print(f"[red]•[/] {problem}", highlight=False)
    console.print("[bold red]recount DOES NOT MATCH the published result[/]")
    raise typer.Exit(2)
