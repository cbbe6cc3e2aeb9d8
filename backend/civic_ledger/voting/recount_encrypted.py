"""Recount of an encrypted poll from chain data alone (EncryptedTally logs and state).

Re-checks, without trusting the contract's word:

- the election key and every trustee's verification key, recomputed from the ``DkgCommitted``
  commitments (``H = Σ_i C_{i,0}``, ``X_j = Σ_i Σ_k j^k C_{i,k}``);
- every ``EncryptedBallotAdded``: its commitment equals the ``BallotCast`` commitment of the same
  voter key in the same transaction, and every 0/1 proof and the sum proof verify;
- the homomorphic sum of each voter key's last ballot equals the contract's encrypted tally;
- every ``DecryptionShared`` proof against the recomputed tally and verification keys;
- the counts: the first t partial decryptions combined by Lagrange, each count a small discrete
  log (single choice: the last option is ballots − the others), compared with ``PollFinalized``
  by :func:`civic_ledger.voting.recount.recount`.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from web3.contract import Contract

from civic_ledger.voting import ballots as enc
from civic_ledger.voting import dkg, elgamal


def recount_encrypted(
    tally: Contract,
    poll_id: int,
    poll: dict[str, Any],
    last: dict[int, Any],
    start: int,
    problems: list[str],
) -> tuple[list[int], dict[str, Any]]:
    """(recomputed counts — zeros when not decrypted yet —, a summary of the checks)."""
    from civic_ledger.voting.encrypted import read_election
    from civic_ledger.voting.recount import VotingLogs

    ballot_type = enc.BALLOT_TYPES[int(poll["ballotType"])]
    n, k = int(poll["numOptions"]), int(poll["maxChoices"])
    e = read_election(tally, poll_id, from_block=start)
    summary: dict[str, Any] = {
        "trustees": len(e.trustees),
        "threshold": e.threshold,
        "ballot_proofs_checked": 0,
        "ballot_proofs_failed": 0,
        "decryption_proofs_checked": 0,
        "decryption_proofs_failed": 0,
        "homomorphic_sum": "not checked",
    }
    if not e.key_fixed:
        problems.append("the election key was never fixed (the DKG did not finish)")
        return [0] * n, summary
    if sorted(e.commitments) != list(range(1, len(e.trustees) + 1)):
        problems.append(f"DkgCommitted logs of trustees {sorted(e.commitments)} for {len(e.trustees)} trustees")
        return [0] * n, summary
    key = dkg.election_key(e.commitments)
    if key != e.key:
        problems.append("the stored election key is not the sum of the trustees' constant commitments")
    vks = {j: dkg.verification_key(e.commitments, j) for j in range(1, len(e.trustees) + 1)}

    logs = VotingLogs(tally.w3, tally)
    current: dict[int, list[int]] = {}
    for a, where in logs.fetch("EncryptedBallotAdded", poll_id=poll_id, from_block=start):
        voter_key, voter = int(a["voterKey"]), to_checksum_address(a["voter"])
        cts, proofs = [int(w) for w in a["ciphertexts"]], [int(w) for w in a["proofs"]]
        ctx = elgamal.BallotContext(tally.address, poll_id, voter, key)
        summary["ballot_proofs_checked"] += 1
        if not elgamal.verify_ballot(ctx, ballot_type, n, k, cts, proofs):
            summary["ballot_proofs_failed"] += 1
            problems.append(f"voter key {voter_key}: the encrypted ballot in {where.tx_hash} has an invalid proof")
            continue
        current[voter_key] = cts
        cast = last.get(voter_key)
        if (
            cast is not None
            and cast.where.tx_hash == where.tx_hash
            and elgamal.ballot_commitment(cts, proofs) != cast.commitment
        ):
            problems.append(f"voter key {voter_key}: the ciphertexts do not match the signed ballot's commitment")
    if set(current) != set(last):
        problems.append(f"{len(current)} voter keys hold an encrypted ballot, {len(last)} hold a BallotCast")

    m = e.counted_options
    total = [0] * (4 * m)
    for cts in current.values():
        total = elgamal.add_ciphertexts(total, cts)
    if total == e.encrypted_tally:
        summary["homomorphic_sum"] = "matches the contract's encrypted tally"
    else:
        summary["homomorphic_sum"] = "differs"
        problems.append("the sum of the current encrypted ballots differs from the contract's encrypted tally")

    valid: dict[int, list[int]] = {}
    for index, (shares, proofs) in e.decryptions.items():
        summary["decryption_proofs_checked"] += 1
        bad = elgamal.verify_decryption(tally.address, poll_id, index, vks[index], total, shares, proofs)
        if bad is not None:
            summary["decryption_proofs_failed"] += 1
            problems.append(f"trustee {index}: the partial decryption of option {bad} does not verify")
            continue
        valid[index] = shares
    if len(valid) < e.threshold:
        problems.append(f"only {len(valid)} valid partial decryptions of the {e.threshold} needed: not decrypted yet")
        return [0] * n, summary
    used = list(valid)[: e.threshold]
    counts = elgamal.combine(total, {i: valid[i] for i in used}, len(current))
    if ballot_type == "single":
        counts.append(len(current) - sum(counts))
    summary["decrypted_with_trustees"] = used
    return counts, summary
