"""The client side of encrypted polls: what a voter's device and a trustee's machine do.

Everything secret stays here: a voter's choice and randomness are never sent (only ciphertexts
and proofs), a trustee's polynomial, encryption key and secret share live in the trustee's own
file. ``api`` is any client with ``get(path)`` / ``post(path, body)`` returning decoded JSON and
raising on an error answer (the CLI's :class:`civic_ledger.clikit` client, or a test adapter).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from eth_account.signers.local import LocalAccount

from civic_ledger.platform import eip712
from civic_ledger.voting import dkg, elgamal


class Api(Protocol):
    def get(self, path: str) -> Any: ...

    def post(self, path: str, body: Any) -> Any: ...


def _sign(signer: LocalAccount, typed: dict[str, Any]) -> str:
    return "0x" + eip712.TypedMessage.from_dict(typed).sign(signer).hex()


def _ints(values: list[Any]) -> list[int]:
    return [int(v) for v in values]


def _point(values: list[Any]) -> elgamal.Point:
    return (int(values[0]), int(values[1]))


# -- voters --------------------------------------------------------------------------------


def encrypt_for_poll(
    api: Api, poll_id: int, voter: str, options: list[int], *, bits: list[int] | None = None
) -> elgamal.EncryptedBallot:
    """Encrypt and prove ``options`` (0-based) for ``voter`` under the poll's election key.
    ``bits`` (tests only) overrides the plaintexts to build an invalid ballot."""
    p = api.get(f"/voting/polls/{poll_id}")
    e = api.get(f"/voting/polls/{poll_id}/election")
    if not e["key_fixed"]:
        raise elgamal.ProofError(f"poll {poll_id} has no election key yet: the trustees' DKG has not finished")
    ballot_type, n, k = p["ballot_type"], len(p["options"]), int(p["max_choices"])
    ctx = elgamal.BallotContext(e["tally_contract"], poll_id, voter, _point(e["election_key"]))
    plain = bits if bits is not None else elgamal.bits_of(ballot_type, options, n, k)
    return elgamal.encrypt_ballot(ctx, ballot_type, n, k, plain)


def encrypted_vote(
    api: Api, poll_id: int, signer: LocalAccount, options: list[int], *, bits: list[int] | None = None
) -> dict[str, Any]:
    """Encrypt, prove, sign and cast; the answer is the receipt (ballot hash, transaction)."""
    b = encrypt_for_poll(api, poll_id, signer.address, options, bits=bits)
    draft = {"voter": signer.address, "ciphertexts": b.ciphertexts, "proofs": b.proofs}
    td = api.post(f"/voting/polls/{poll_id}/encrypted-ballots/typed-data", draft)
    f = td["fields"]
    body = {
        "voter": signer.address,
        "version": f["version"],
        "deadline": f["deadline"],
        "ciphertexts": b.ciphertexts,
        "proofs": b.proofs,
        "signature": _sign(signer, td["typed_data"]),
    }
    return dict(api.post(f"/voting/polls/{poll_id}/encrypted-ballots", body))


# -- the poll admin ------------------------------------------------------------------------


def name_trustees(api: Api, poll_id: int, admin: LocalAccount, trustees: list[str], threshold: int) -> dict[str, Any]:
    td = api.post(f"/voting/polls/{poll_id}/trustees/typed-data", {"trustees": trustees, "threshold": threshold})
    f = td["fields"]
    body = {"trustees": f["trustees"], "threshold": f["threshold"], "deadline": f["deadline"]}
    return dict(api.post(f"/voting/polls/{poll_id}/trustees", {**body, "signature": _sign(admin, td["typed_data"])}))


# -- trustees ------------------------------------------------------------------------------


def _load(path: Path, poll_id: int, tally: str) -> dkg.TrusteeSecrets:
    s = dkg.TrusteeSecrets.load(path)
    if s.poll_id != poll_id or s.tally.lower() != tally.lower():
        raise elgamal.ProofError(f"{path} holds the secrets of poll {s.poll_id} at {s.tally}, not of poll {poll_id}")
    return s


def _step(api: Api, poll_id: int, signer: LocalAccount, step: str, payload: dict[str, list[int]]) -> dict[str, Any]:
    td = api.post(f"/voting/polls/{poll_id}/trustees/{step}/typed-data", {"trustee": signer.address, **payload})
    body = {
        "trustee": signer.address,
        "deadline": td["fields"]["deadline"],
        "signature": _sign(signer, td["typed_data"]),
        **payload,
    }
    return dict(api.post(f"/voting/polls/{poll_id}/trustees/{step}", body))


def trustee_commit(api: Api, poll_id: int, signer: LocalAccount, secrets_path: Path) -> dict[str, Any]:
    """DKG step 1: make (and save first) the polynomial and encryption key, post the commitments."""
    e = api.get(f"/voting/polls/{poll_id}/election")
    if signer.address not in e["trustees"]:
        raise elgamal.ProofError(f"{signer.address} is not a trustee of poll {poll_id}")
    index = e["trustees"].index(signer.address) + 1
    if secrets_path.exists():
        s = _load(secrets_path, poll_id, e["tally_contract"])
    else:
        s = dkg.new_trustee(e["tally_contract"], poll_id, index, signer.address, int(e["threshold"]))
        s.save(secrets_path)  # before anything is posted: a lost polynomial can not be dealt
    return _step(api, poll_id, signer, "commit", {"commitments": s.commitments(), "encryption_key": s.encryption_key()})


def trustee_deal(api: Api, poll_id: int, signer: LocalAccount, secrets_path: Path) -> dict[str, Any]:
    """DKG step 2: encrypt f(j) to every trustee j's encryption key (all must have committed)."""
    e = api.get(f"/voting/polls/{poll_id}/election")
    s = _load(secrets_path, poll_id, e["tally_contract"])
    keys = e["encryption_keys"]
    n = len(e["trustees"])
    if len(keys) != n:
        raise elgamal.ProofError(f"only {len(keys)} of {n} trustees have committed: deal once all have")
    ephemeral, shares = dkg.deal(s, [_point(keys[str(j)]) for j in range(1, n + 1)])
    s.save(secrets_path)
    return _step(api, poll_id, signer, "deal", {"ephemeral": ephemeral, "encrypted_shares": shares})


def trustee_secret_share(api: Api, poll_id: int, secrets_path: Path) -> tuple[dkg.TrusteeSecrets, int, dict[str, Any]]:
    """Recover and check every share sent to us; returns (secrets, x_i, election)."""
    e = api.get(f"/voting/polls/{poll_id}/election")
    s = _load(secrets_path, poll_id, e["tally_contract"])
    commitments = {int(i): _ints(c) for i, c in e["commitments"].items()}
    dealt = {int(i): (_point(d["ephemeral"]), _ints(d["encrypted_shares"])) for i, d in e["dealt_shares"].items()}
    x = dkg.secret_share(s, dealt, commitments)
    if elgamal.mul(elgamal.GENERATOR, x) != dkg.verification_key(commitments, s.index):
        raise elgamal.ProofError("the recovered share does not match this trustee's verification key")
    return s, x, e


def trustee_verify(api: Api, poll_id: int, secrets_path: Path) -> dict[str, Any]:
    """Check every share received against the dealers' commitments (raises on a bad one)."""
    s, _x, e = trustee_secret_share(api, poll_id, secrets_path)
    return {"poll_id": poll_id, "index": s.index, "shares_checked": len(e["dealt_shares"]), "ok": True}


def trustee_decrypt(
    api: Api, poll_id: int, signer: LocalAccount, secrets_path: Path, *, tamper: bool = False
) -> dict[str, Any]:
    """After close: the partial decryption of the encrypted tally with its proofs.
    ``tamper`` (tests only) posts a wrong share to show that the contract refuses it."""
    s, x, e = trustee_secret_share(api, poll_id, secrets_path)
    tally = _ints(e["encrypted_tally"])
    shares, proofs = elgamal.partial_decrypt(e["tally_contract"], poll_id, s.index, x, tally)
    if tamper:
        wrong = elgamal.padd((shares[0], shares[1]), elgamal.GENERATOR)
        shares = [*wrong, *shares[2:]]
    return _step(api, poll_id, signer, "decrypt", {"shares": shares, "proofs": proofs})
