"""Encrypted polls on chain: trustees, the DKG steps, encrypted ballots, decryption and the
published result (the service side; the cryptography is in :mod:`elgamal` and :mod:`dkg`).

The server never sees a plaintext choice: voters encrypt and prove on their device (the CLI, or
any client following docs/encrypted-ballots.md) and post ciphertexts and proofs; trustees keep
their secrets in their own files and post only commitments, encrypted shares and partial
decryptions. Every step is an EIP-712 message relayed by the operator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3.contract import Contract

from civic_ledger.errors import CivicLedgerError, Conflict, Forbidden, InvalidInput
from civic_ledger.platform import actions, eip712
from civic_ledger.platform.relayer import Receipt
from civic_ledger.platform.runtime import Platform
from civic_ledger.voting import ballots as enc
from civic_ledger.voting import elgamal
from civic_ledger.voting.actions import ACTIONS, TALLY, TRUSTEE_STEPS, trustee_step
from civic_ledger.voting.casting import _rejection, ballot_digest, ballot_typed_message, voter_key
from civic_ledger.voting.polls import _poll_state, results
from civic_ledger.voting.recount import VotingLogs
from civic_ledger.voting.schemas import ResultsOut, TypedDataOut
from civic_ledger.voting.state import BallotRejected, chain_now, state

CONTRACT = TALLY
ZERO_ADDRESS = "0x" + "00" * 20
STEPS = {step: number for step, (number, _words) in TRUSTEE_STEPS.items()}


def tally_contract(platform: Platform) -> Contract:
    state(platform)  # wires MVoting to the tally on first use
    return platform.deployment.contract(CONTRACT)


def packed_hash(words: list[int]) -> bytes:
    """keccak256 of 32-byte big-endian words (``abi.encodePacked`` of uint256 arrays)."""
    return keccak(b"".join(int(w).to_bytes(32, "big") for w in words))


def step_words(step: str, payload: dict[str, list[int]]) -> list[int]:
    """The words a step's ``dataHash`` covers, in the contract's order."""
    if step not in TRUSTEE_STEPS:
        raise InvalidInput(f"unknown trustee step {step!r}: commit, deal or decrypt")
    try:
        return [w for name in TRUSTEE_STEPS[step][1] for w in payload[name]]
    except KeyError as exc:
        raise InvalidInput(f"the {step} step needs {exc.args[0]}") from None


def _check_words(**named: list[int]) -> None:
    for name, words in named.items():
        if any(not 0 <= int(w) < 2**256 for w in words):
            raise InvalidInput(f"{name}: every word must be a uint256 (0 <= w < 2**256)", details={"field": name})


def _encrypted_poll(platform: Platform, poll_id: int) -> dict[str, Any]:
    p = _poll_state(platform, poll_id)
    if p["secrecy"] != 2:
        raise Conflict(f"poll {poll_id} is not an encrypted poll", code="EncryptedTallyNotEncrypted")
    return p


# -- trustees and the DKG ------------------------------------------------------------------


def trustees_typed_data(
    platform: Platform, poll_id: int, trustees: list[str], threshold: int, ttl_s: int = 600
) -> TypedDataOut:
    """NameTrustees typed data for the poll's creator to sign."""
    _encrypted_poll(platform, poll_id)
    trustees = [to_checksum_address(t) for t in trustees]
    if not 1 <= threshold <= len(trustees) <= 16 or len(set(trustees)) != len(trustees):
        raise InvalidInput(
            f"need 1 <= threshold <= trustees <= 16 distinct trustees, got {len(trustees)} trustees, threshold {threshold}",
            code="EncryptedTallyInvalidTrustees",
        )
    message: dict[str, Any] = {"pollId": poll_id, "trustees": trustees, "threshold": threshold}
    typed = actions.prepare(platform, ACTIONS["name_trustees"], message, ttl_s=ttl_s)
    return TypedDataOut(typed_data=typed.to_dict(), fields=dict(message), digest=enc.hex0x(typed.digest()))


def _creator_of(platform: Platform, poll_id: int) -> str:
    """The poll's creator, who signs NameTrustees (the zero address for a poll that can not be read:
    the refusal is then the contract's own answer, e.g. ``MVotingUnknownPoll``)."""
    try:
        return str(_poll_state(platform, poll_id)["creator"])
    except CivicLedgerError:
        return ZERO_ADDRESS


def _relay(signed: actions.Signed, signer: str | None = None) -> Receipt:
    """The pipeline: the off-chain check, answered as the contract answers (its first failing check:
    deadline, window, trustee, signature), then the call simulated and sent."""
    tally_contract(signed.platform)  # wires MVoting to the tally on first use
    return signed.verify(signer=signer, refuse=signed.contract_answer).send()


def name_trustees(
    platform: Platform, poll_id: int, trustees: list[str], threshold: int, deadline: int, signature: bytes | str
) -> dict[str, Any]:
    """Relay the poll creator's NameTrustees; a refusal is the contract's error (``EncryptedTally*``)."""
    message = {
        "pollId": poll_id,
        "trustees": [to_checksum_address(t) for t in trustees],
        "threshold": threshold,
        "deadline": deadline,
    }
    signed = actions.Signed(platform, ACTIONS["name_trustees"], message, _hex(signature))
    tx = _relay(signed, signer=_creator_of(platform, poll_id))
    return {"poll_id": poll_id, "tx_hash": tx.tx_hash, "block_number": tx.block_number, "gas_used": tx.gas_used}


def _step_message(poll_id: int, trustee: str, step: str, payload: dict[str, list[int]]) -> dict[str, Any]:
    return {
        "pollId": poll_id,
        "trustee": to_checksum_address(trustee),
        "step": STEPS[step],
        "dataHash": packed_hash(step_words(step, payload)),
    }


def action_typed_data(
    platform: Platform, poll_id: int, trustee: str, step: str, payload: dict[str, list[int]], ttl_s: int = 600
) -> TypedDataOut:
    """TrusteeAction typed data over the step's data hash, for the trustee to sign."""
    _encrypted_poll(platform, poll_id)
    message = _step_message(poll_id, trustee, step, payload)
    typed = actions.prepare(platform, trustee_step(step), message, ttl_s=ttl_s)
    fields = {**message, "step": step, "dataHash": enc.hex0x(message["dataHash"]), **payload}
    return TypedDataOut(typed_data=typed.to_dict(), fields=fields, digest=enc.hex0x(typed.digest()))


def submit_action(
    platform: Platform,
    poll_id: int,
    trustee: str,
    step: str,
    payload: dict[str, list[int]],
    deadline: int,
    signature: bytes | str,
) -> dict[str, Any]:
    """Relay a signed trustee step; the contract's error (e.g. an invalid decryption proof) is raised."""
    message = {**_step_message(poll_id, trustee, step, payload), "deadline": deadline, **payload}
    tx = _relay(actions.Signed(platform, trustee_step(step), message, _hex(signature)))
    return {
        "poll_id": poll_id,
        "step": step,
        "tx_hash": tx.tx_hash,
        "block_number": tx.block_number,
        "gas_used": tx.gas_used,
    }


def _hex(signature: bytes | str) -> str:
    return signature if isinstance(signature, str) else "0x" + bytes(signature).hex()


@dataclass
class Election:
    """An encrypted poll's election as read from the tally contract and its logs."""

    poll_id: int
    tally: str
    trustees: list[str]
    threshold: int
    key_fixed: bool
    key: elgamal.Point
    counted_options: int
    encrypted_tally: list[int]
    commitments: dict[int, list[int]] = field(default_factory=dict)
    encryption_keys: dict[int, elgamal.Point] = field(default_factory=dict)
    dealt: dict[int, tuple[elgamal.Point, list[int]]] = field(default_factory=dict)
    decryptions: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict)  # in posting order

    def index_of(self, trustee: str) -> int:
        try:
            return self.trustees.index(to_checksum_address(trustee)) + 1
        except ValueError:
            raise Forbidden(
                f"{trustee} is not a trustee of poll {self.poll_id}", code="EncryptedTallyNotTrustee"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "poll_id": self.poll_id,
            "tally_contract": self.tally,
            "trustees": self.trustees,
            "threshold": self.threshold,
            "committed": sorted(self.commitments),
            "dealt": sorted(self.dealt),
            "decrypted": list(self.decryptions),
            "key_fixed": self.key_fixed,
            "election_key": [str(c) for c in self.key] if self.key_fixed else None,
            "counted_options": self.counted_options,
            "encrypted_tally": [str(w) for w in self.encrypted_tally],
        }


def read_election(tally: Contract, poll_id: int, *, from_block: int = 0) -> Election:
    """The election from contract state and the DKG / decryption logs (chain data only)."""
    f = tally.functions
    e = f.electionOf(poll_id).call()
    threshold, _n, _c, _d, _dec, key_fixed, counted, key = e
    out = Election(
        poll_id=poll_id,
        tally=tally.address,
        trustees=[to_checksum_address(t) for t in f.trusteesOf(poll_id).call()],
        threshold=int(threshold),
        key_fixed=bool(key_fixed),
        key=(int(key[0]), int(key[1])),
        counted_options=int(counted),
        encrypted_tally=[int(w) for w in f.encryptedTallyOf(poll_id).call()],
    )
    logs = VotingLogs(tally.w3, tally)
    for a, _ in logs.fetch("DkgCommitted", poll_id=poll_id, from_block=from_block):
        out.commitments[int(a["index"])] = [int(w) for w in a["commitments"]]
        out.encryption_keys[int(a["index"])] = (int(a["encryptionKey"][0]), int(a["encryptionKey"][1]))
    for a, _ in logs.fetch("DkgDealt", poll_id=poll_id, from_block=from_block):
        out.dealt[int(a["index"])] = (
            (int(a["ephemeral"][0]), int(a["ephemeral"][1])),
            [int(w) for w in a["encryptedShares"]],
        )
    for a, _ in logs.fetch("DecryptionShared", poll_id=poll_id, from_block=from_block):
        out.decryptions[int(a["index"])] = ([int(w) for w in a["shares"]], [int(w) for w in a["proofs"]])
    return out


def election(platform: Platform, poll_id: int) -> Election:
    _encrypted_poll(platform, poll_id)
    return read_election(tally_contract(platform), poll_id, from_block=state(platform).deploy_block)


def ballot_context(platform: Platform, poll_id: int, voter: str, key: elgamal.Point) -> elgamal.BallotContext:
    return elgamal.BallotContext(tally_contract(platform).address, poll_id, to_checksum_address(voter), key)


# -- encrypted ballots ---------------------------------------------------------------------


def encrypted_ballot_typed_data(
    platform: Platform,
    poll_id: int,
    voter: str,
    ciphertexts: list[int],
    proofs: list[int],
    *,
    version: int | None = None,
    ttl_s: int = 3600,
) -> TypedDataOut:
    """The Ballot typed data of an encrypted ballot: choice 0, commitment = hash of ciphertexts ‖ proofs."""
    _encrypted_poll(platform, poll_id)
    _check_words(ciphertexts=ciphertexts, proofs=proofs)
    voter = to_checksum_address(voter)
    if version is None:
        key = voter_key(platform, poll_id, voter)
        current = int(state(platform).contract.functions.ballotOf(poll_id, key).call()[0]) if key else 0
        version = current + 1
    commitment = elgamal.ballot_commitment(ciphertexts, proofs)
    deadline = chain_now(platform) + ttl_s
    typed = ballot_typed_message(platform, poll_id, voter, 0, commitment, version, deadline)
    fields = {
        "voter": voter,
        "choice": 0,
        "commitment": enc.hex0x(commitment),
        "version": version,
        "deadline": deadline,
        "ciphertexts": [str(w) for w in ciphertexts],
        "proofs": [str(w) for w in proofs],
    }
    return TypedDataOut(typed_data=typed.to_dict(), fields=fields, digest=enc.hex0x(typed.digest()))


def current_ciphertexts(platform: Platform, poll_id: int, key: int) -> list[int]:
    """The voter key's ballot now in the tally (its last EncryptedBallotAdded), [] when none."""
    tally = tally_contract(platform)
    if int.from_bytes(bytes(tally.functions.ballotHashOf(poll_id, key).call()), "big") == 0:
        return []
    logs = VotingLogs(tally.w3, tally)
    topics = [
        logs.topic("EncryptedBallotAdded"),
        "0x" + poll_id.to_bytes(32, "big").hex(),
        "0x" + key.to_bytes(32, "big").hex(),
    ]
    raw = tally.w3.eth.get_logs(
        {"address": tally.address, "topics": topics, "fromBlock": state(platform).deploy_block, "toBlock": "latest"}  # type: ignore[typeddict-item]
    )
    if not raw:
        return []
    decoded = tally.events.EncryptedBallotAdded().process_log(raw[-1])
    return [int(w) for w in decoded["args"]["ciphertexts"]]


def cast_encrypted(
    platform: Platform,
    poll_id: int,
    *,
    voter: str,
    version: int,
    deadline: int,
    ciphertexts: list[int],
    proofs: list[int],
    signature: bytes,
    proof: list[bytes] | None = None,
) -> dict[str, Any]:
    """Check (signature locally, then ``checkEncryptedBallot``) and relay an encrypted ballot;
    the predecessor's ciphertexts of a vote change are looked up here."""
    st = state(platform)
    _encrypted_poll(platform, poll_id)
    _check_words(ciphertexts=ciphertexts, proofs=proofs)
    voter = to_checksum_address(voter)
    commitment = elgamal.ballot_commitment(ciphertexts, proofs)
    digest = ballot_digest(platform, poll_id, voter, 0, commitment, version, deadline)
    try:
        signer = eip712.recover_digest(digest, signature)
    except Exception:  # noqa: BLE001 - malformed r/s/v
        signer = None
    if signer != voter:
        raise BallotRejected(
            5,
            f"ballot rejected: the signature is not {voter}'s signature of this encrypted ballot "
            f"(the signed commitment must be keccak256 of the packed ciphertexts and proofs) "
            f"[poll {poll_id}, MVotingInvalidSignature]",
            ballot_hash=digest,
            poll_id=poll_id,
            voter=voter,
        )
    key = voter_key(platform, poll_id, voter)
    if key == 0 and enc.ELIGIBILITY[_poll_state(platform, poll_id)["eligibility"]] == "census":
        key = int(voter, 16)
    previous = current_ciphertexts(platform, poll_id, key) if key else []
    ballot = (poll_id, voter, 0, commitment, version, deadline, signature, proof or [])
    encrypted = (ciphertexts, proofs, previous)
    code, ckey, _digest = platform.relayer.call(st.contract.functions.checkEncryptedBallot(ballot, encrypted))
    if int(code) != 0:
        raise _rejection(platform, int(code), poll_id, voter, digest, key=int(ckey), version=version)
    assert st.encrypted_relay is not None
    outcome = st.encrypted_relay.cast((ballot, encrypted))  # batched with other voters' ballots
    if not outcome.accepted:
        raise _rejection(platform, outcome.reason, poll_id, voter, digest, key=int(ckey), version=version)
    return {
        "poll_id": poll_id,
        "voter": voter,
        "citizen_id": str(outcome.citizen_id),
        "ballot_hash": enc.hex0x(digest),
        "version": version,
        "tx_hash": outcome.tx_hash,
        "block_number": outcome.block_number,
        "log_index": outcome.log_index,
        "batch_size": outcome.batch_size,
        "gas_used": outcome.gas_used,
        "replaced": bool(previous),
    }


# -- the result ----------------------------------------------------------------------------


def combine_counts(e: Election, num_options: int, ballots: int, ballot_type: str) -> tuple[list[int], list[int]]:
    """(counts for every option, trustee indices used): the first t partial decryptions posted,
    combined by Lagrange, each count found by a small discrete log."""
    used = list(e.decryptions)[: e.threshold]
    if len(used) < e.threshold:
        raise Conflict(
            f"only {len(e.decryptions)} of the {e.threshold} partial decryptions needed are posted",
            code="EncryptedTallyNotEnoughShares",
        )
    try:
        counted = elgamal.combine(e.encrypted_tally, {i: e.decryptions[i][0] for i in used}, ballots)
    except elgamal.ProofError as exc:
        raise Conflict(
            f"the partial decryptions do not combine to counts: {exc}", code="decryption_does_not_combine"
        ) from None
    if ballot_type == "single":
        counted.append(ballots - sum(counted))
    if len(counted) != num_options:
        raise InvalidInput(f"{len(counted)} counts for {num_options} options")
    return counted, used


def publish_result(platform: Platform, poll_id: int) -> ResultsOut:
    """Anyone's step after t trustees decrypted: combine off chain, let the contract check
    ``count·G`` against the combination and publish ``PollFinalized``."""
    p = _encrypted_poll(platform, poll_id)
    now = chain_now(platform)
    if now < p["closesAt"]:
        raise Conflict(
            f"poll {poll_id} closes at {p['closesAt']} (chain time {now}): trustees decrypt only after close",
            code="EncryptedTallyNotClosed",
        )
    e = election(platform, poll_id)
    counts, _used = combine_counts(e, int(p["numOptions"]), int(p["ballots"]), enc.BALLOT_TYPES[p["ballotType"]])
    platform.relayer.transact(tally_contract(platform).functions.publishResult(poll_id, counts), simulate=True)
    return results(platform, poll_id)
