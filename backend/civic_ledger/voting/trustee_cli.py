"""``civic-ledger voting trustee ...``: the poll admin names trustees; each trustee runs the DKG
(commit, deal), checks its shares and, after close, posts its partial decryption.

A trustee's secrets (its polynomial, share-encryption key and dealer randomness) stay in a file
next to its keystore (``KEYSTORE.trustee-poll<N>.json``, mode 0600, or ``--secrets``); only
commitments, encrypted shares and proven partial decryptions leave the machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from civic_ledger.clikit import CliContext, Group, emit_json, fail, say
from civic_ledger.voting import elgamal
from civic_ledger.voting import encrypted_client as client

app = Group(help="Encrypted polls: trustees' key generation (commit, deal, verify) and decryption.")
PollArg = Annotated[int, typer.Argument(help="Poll id.")]
SecretsOpt = Annotated[
    Path | None, typer.Option("--secrets", help="The trustee's secrets file (default: next to the keystore).")
]


def _secrets(cli: CliContext, poll: int, path: Path | None) -> Path:
    if path is not None:
        return path
    keystore = cli.keystore()
    return keystore.with_name(f"{keystore.name}.trustee-poll{poll}.json")


def _done(cli: CliContext, what: str, out: dict[str, Any]) -> None:
    if cli.as_json:
        emit_json(out)
        return
    say(f"[green]{what}[/] · tx {out.get('tx_hash', '-')} · gas {out.get('gas_used', '-')}")


def _run(fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return fn(*args, **kw)
    except (elgamal.ProofError, OSError) as exc:
        fail(str(exc))


@app.command("name", uses=("signer", "api", "json"))
def name_cmd(
    cli: CliContext,
    poll: PollArg,
    trustee: Annotated[
        list[str], typer.Option("--trustee", "-t", help="Trustee address or keystore (repeat, in order).")
    ],
    threshold: Annotated[int, typer.Option(help="Partial decryptions needed (t of n).")],
) -> None:
    """The poll's creator (--as) names the trustees and the threshold, before the poll opens."""
    addresses = [cli.address(t) for t in trustee]
    out = client.name_trustees(cli.client, poll, cli.signer(), addresses, threshold)
    _done(cli, f"{len(addresses)} trustees named, threshold {threshold}", out)


@app.command(uses=("signer", "api", "json"))
def commit(cli: CliContext, poll: PollArg, secrets: SecretsOpt = None) -> None:
    """DKG step 1: make the polynomial (saved first), post its Feldman commitments and an encryption key."""
    path = _secrets(cli, poll, secrets)
    out = _run(client.trustee_commit, cli.client, poll, cli.signer(), path)
    _done(cli, f"commitments posted (secrets in {path})", out)


@app.command(uses=("signer", "api", "json"))
def deal(cli: CliContext, poll: PollArg, secrets: SecretsOpt = None) -> None:
    """DKG step 2 (once every trustee committed): post the shares, encrypted to each trustee."""
    out = _run(client.trustee_deal, cli.client, poll, cli.signer(), _secrets(cli, poll, secrets))
    _done(cli, "encrypted shares posted", out)


@app.command(uses=("signer", "api", "json"))
def verify(cli: CliContext, poll: PollArg, secrets: SecretsOpt = None) -> None:
    """Decrypt the shares sent to this trustee and check each against its dealer's commitments."""
    cli.signer()
    out = _run(client.trustee_verify, cli.client, poll, _secrets(cli, poll, secrets))
    if cli.as_json:
        return emit_json(out)
    say(f"[green]all {out['shares_checked']} shares match the dealers' commitments[/] (trustee {out['index']})")


@app.command(uses=("signer", "api", "json"))
def decrypt(cli: CliContext, poll: PollArg, secrets: SecretsOpt = None) -> None:
    """After close: post the partial decryption of the encrypted tally with its Chaum–Pedersen proofs."""
    out = _run(client.trustee_decrypt, cli.client, poll, cli.signer(), _secrets(cli, poll, secrets))
    _done(cli, "partial decryption posted (proof verified on chain)", out)


@app.command(uses=("api", "json"))
def status(cli: CliContext, poll: PollArg) -> None:
    """Trustees, DKG progress, the election key and the partial decryptions posted."""
    e = cli.client.get(f"/voting/polls/{poll}/election")
    if cli.as_json:
        return emit_json(e)
    n = len(e["trustees"])
    say(f"[bold]poll {poll}[/]: {n} trustees, threshold {e['threshold']} · tally contract {e['tally_contract']}")
    for i, t in enumerate(e["trustees"], start=1):
        steps = [s for s, done in (("committed", i in e["committed"]), ("dealt", i in e["dealt"])) if done]
        if i in e["decrypted"]:
            steps.append("decrypted")
        say(f"  {i}. {t}  {', '.join(steps) or '-'}")
    say(f"election key: {'fixed' if e['key_fixed'] else 'not fixed yet'}")
