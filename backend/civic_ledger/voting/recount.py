"""Recount a poll from chain data alone: MVoting logs and contract state, no API, no database.

Given a trusted deployment (:mod:`civic_ledger.platform.trust`: a manifest the verifier trusts,
checked against the node, or the server's deployment) for MVoting's address, deploy block and ABI
(never an address from elsewhere), this reads ``PollCreated``, ``BallotCast``, ``BallotRevealed`` and ``PollFinalized`` with filters on
the contract address and the event topics (plus the indexed poll id), starting at the poll's
creation block, and recomputes the tally:

- each voter key counts once, with its last ``BallotCast`` (the highest version);
- public polls: the choice of that ballot; sealed polls: the ``BallotRevealed`` opening, checked
  against the commitment of that ballot (``keccak256(abi.encode(pollId, voter, choice, salt))``);
- single / approval: one point per chosen option; ranked: Borda (``maxChoices - rank``).

It then compares with the published result: ``PollFinalized`` when the poll was finalized,
else the contract's running ``tallyOf`` (when it is readable).

It does not take the contract's word that the counted ballots were valid: every current ballot
is re-checked from its transaction's calldata and the registry's history
(:mod:`civic_ledger.voting.recount_checks`: EIP-712 signature, eligibility when the ballot ran,
voting window). Each check's counts and failures are in :attr:`Recount.checks`; a failure makes
the recount not match.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import event_abi_to_log_topic, keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from civic_ledger.errors import NotFound
from civic_ledger.platform.trust import TrustedDeployment, trusted_from_node
from civic_ledger.voting import ballots as enc
from civic_ledger.voting.recount_checks import (
    ELIGIBILITY_OF_ABI,
    BallotVerifier,
    CheckReport,
    PollRules,
    failed_checks,
)

CONTRACT = "MVoting"
REGISTRY = "CitizenRegistry"

#: Largest block range of one eth_getLogs request (public nodes refuse very wide ranges).
LOG_RANGE = 50_000


def struct_dict(outputs: list[dict[str, Any]], value: Any) -> dict[str, Any]:
    """A decoded ABI tuple as a dict keyed by component name."""
    if isinstance(value, dict):
        return dict(value)
    return {c["name"]: v for c, v in zip(outputs, value, strict=True)}


@dataclass(frozen=True)
class LogRef:
    block_number: int
    tx_hash: str
    log_index: int


class VotingLogs:
    """Filtered, decoded MVoting logs."""

    def __init__(self, w3: Web3, contract: Contract) -> None:
        self.w3 = w3
        self.contract = contract
        self.events: dict[str, Any] = {e["name"]: e for e in contract.abi if e.get("type") == "event"}  # type: ignore[typeddict-item]

    def topic(self, event: str) -> str:
        return "0x" + event_abi_to_log_topic(self.events[event]).hex()  # type: ignore[arg-type]

    def fetch(
        self, event: str, *, poll_id: int | None = None, from_block: int = 0, to_block: int | None = None
    ) -> Iterator[tuple[dict[str, Any], LogRef]]:
        """Decoded ``event`` logs (args, where), oldest first, optionally of one poll (topic 1)."""
        topics: list[Any] = [self.topic(event)]
        if poll_id is not None:
            topics.append("0x" + poll_id.to_bytes(32, "big").hex())
        head = int(self.w3.eth.block_number) if to_block is None else to_block
        decoder = getattr(self.contract.events, event)()
        start = max(0, from_block)
        while start <= head:
            end = min(head, start + LOG_RANGE - 1)
            raw = self.w3.eth.get_logs(
                {"address": self.contract.address, "topics": topics, "fromBlock": start, "toBlock": end}  # type: ignore[typeddict-item]
            )
            for log in raw:
                decoded = decoder.process_log(log)
                ref = LogRef(int(log["blockNumber"]), "0x" + bytes(log["transactionHash"]).hex(), int(log["logIndex"]))
                yield dict(decoded["args"]), ref
            start = end + 1


@dataclass
class VoterBallot:
    voter: str
    citizen_id: int
    version: int
    choice: int
    commitment: bytes
    ballot_hash: bytes
    where: LogRef


@dataclass
class Recount:
    """The result of a recount and how it compares with the published result."""

    poll_id: int
    ballot_type: str
    secrecy: str
    question: str
    options: list[str]
    created: LogRef
    recomputed_counts: list[int]
    ballots: int
    counted: int
    published_source: str  # "PollFinalized", "tallyOf" or "none (sealed until close)"
    published_counts: list[int] | None
    published_ballots: int | None
    published_counted: int | None
    ballots_seen: int  # BallotCast logs read (replacements included)
    reveals_seen: int
    problems: list[str] = field(default_factory=list)
    deployment: dict[str, Any] = field(default_factory=dict)  # what it was checked against (DeploymentRef)
    #: Per-ballot checks of the current ballots, by name (signature, eligibility, window).
    checks: dict[str, CheckReport] = field(default_factory=dict)
    transactions_read: int = 0  # distinct ballot transactions fetched for the checks
    #: Encrypted polls: what was re-checked (ballot proofs, homomorphic sum, decryption proofs).
    encrypted: dict[str, Any] = field(default_factory=dict)

    @property
    def checks_pass(self) -> bool:
        return all(c.ok for c in self.checks.values())

    @property
    def matches(self) -> bool:
        """The recomputed result is the published one and every counted ballot passed every check."""
        return self.published_counts is not None and not self.problems and self.checks_pass

    @property
    def verdict(self) -> str:
        """``matches``; ``unpublished`` (nothing to compare with yet); ``mismatch``."""
        if self.matches:
            return "matches"
        return "unpublished" if self.published_counts is None else "mismatch"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, each check with its ``failed`` count and ``ok``, ``matches`` and ``verdict``."""
        out = asdict(self)
        out["checks"] = {name: c.to_dict() for name, c in self.checks.items()}
        return {**out, "checks_pass": self.checks_pass, "matches": self.matches, "verdict": self.verdict}


def _poll_state(contract: Contract, poll_id: int) -> dict[str, Any]:
    fn = contract.get_function_by_name("getPoll")
    try:
        value = fn(poll_id).call()
    except ContractLogicError:
        raise NotFound(
            f"poll {poll_id} does not exist on MVoting at {contract.address}", code="poll_not_found"
        ) from None
    return struct_dict(fn.abi["outputs"][0]["components"], value)


def recount(
    w3: Web3,
    contract: Contract,
    poll_id: int,
    *,
    from_block: int = 0,
    registry: Contract | None = None,
    chain_id: int | None = None,
    tally_contract: Contract | None = None,
) -> Recount:
    """Recompute poll ``poll_id`` from logs; ``from_block``: where to look for its creation.

    ``registry``: the CitizenRegistry to check eligibility against (default: the one MVoting
    names, read with the ``eligibilityOf`` ABI); ``chain_id``: of the ballots' EIP-712 domain
    (default: the node's)."""
    logs = VotingLogs(w3, contract)
    poll = _poll_state(contract, poll_id)
    ballot_type = enc.BALLOT_TYPES[int(poll["ballotType"])]
    secrecy = enc.SECRECY[int(poll["secrecy"])]
    num_options, max_choices = int(poll["numOptions"]), int(poll["maxChoices"])
    problems: list[str] = []

    created = next(iter(logs.fetch("PollCreated", poll_id=poll_id, from_block=from_block)), None)
    if created is None:
        raise NotFound(f"no PollCreated log for poll {poll_id} from block {from_block}", code="poll_not_found")
    args, created_at = created
    question, options = str(args["question"]), [str(o) for o in args["options"]]
    if keccak(text=question) != bytes(poll["questionHash"]):
        problems.append("the question text in PollCreated does not hash to the stored questionHash")
    if keccak(b"".join(keccak(text=o) for o in options)) != bytes(poll["optionsHash"]):
        problems.append("the option texts in PollCreated do not hash to the stored optionsHash")

    start = created_at.block_number
    last: dict[int, VoterBallot] = {}
    seen = 0
    for a, where in logs.fetch("BallotCast", poll_id=poll_id, from_block=start):
        seen += 1
        key = int(a["citizenId"])
        b = VoterBallot(
            to_checksum_address(a["voter"]),
            key,
            int(a["version"]),
            int(a["choice"]),
            bytes(a["commitment"]),
            bytes(a["ballotHash"]),
            where,
        )
        prior = last.get(key)
        if prior is not None and b.version <= prior.version:
            problems.append(f"voter key {key}: BallotCast version {b.version} does not exceed {prior.version}")
            continue
        last[key] = b

    counts = [0] * num_options
    counted = 0
    reveals = 0
    encrypted: dict[str, Any] = {}
    if secrecy == "encrypted":
        from civic_ledger.voting.recount_encrypted import recount_encrypted

        if tally_contract is None:
            problems.append("an encrypted poll needs the EncryptedTally contract of the trusted deployment")
        else:
            if to_checksum_address(contract.functions.encryptedTally().call()) != tally_contract.address:
                problems.append(f"MVoting.encryptedTally() is not the trusted EncryptedTally {tally_contract.address}")
            counts, encrypted = recount_encrypted(tally_contract, poll_id, poll, last, start, problems)
        counted = len(last)
    elif secrecy == "public":
        for b in last.values():
            if not enc.valid_choice(ballot_type, b.choice, num_options, max_choices):
                problems.append(f"voter key {b.citizen_id}: invalid choice {b.choice} was accepted")
                continue
            enc.add_to_tally(counts, ballot_type, b.choice, max_choices)
            counted += 1
    else:
        opened: set[int] = set()
        for a, where in logs.fetch("BallotRevealed", poll_id=poll_id, from_block=start):
            reveals += 1
            key, voter, choice, salt = (
                int(a["citizenId"]),
                to_checksum_address(a["voter"]),
                int(a["choice"]),
                bytes(a["salt"]),
            )
            found = last.get(key)
            if found is None:
                problems.append(f"voter key {key}: revealed in block {where.block_number} without a ballot")
                continue
            if key in opened:
                problems.append(f"voter key {key}: revealed twice")
                continue
            if found.voter != voter or enc.commitment(poll_id, voter, choice, salt) != found.commitment:
                problems.append(f"voter key {key}: the reveal does not open the last ballot's commitment")
                continue
            if not enc.valid_choice(ballot_type, choice, num_options, max_choices):
                problems.append(f"voter key {key}: invalid revealed choice {choice}")
                continue
            opened.add(key)
            enc.add_to_tally(counts, ballot_type, choice, max_choices)
            counted += 1

    if len(last) != int(poll["ballots"]):
        problems.append(f"{len(last)} voters hold a ballot in the logs, the contract says {poll['ballots']}")
    if counted != int(poll["counted"]):
        problems.append(f"{counted} ballots counted from the logs, the contract says {poll['counted']}")

    published_counts: list[int] | None = None
    published_ballots: int | None = None
    published_counted: int | None = None
    source = "none"
    finalized = next(iter(logs.fetch("PollFinalized", poll_id=poll_id, from_block=start)), None)
    if finalized is not None:
        f = finalized[0]
        source = "PollFinalized"
        published_counts = [int(c) for c in f["counts"]]
        published_ballots, published_counted = int(f["ballots"]), int(f["counted"])
    else:
        try:
            tally, tally_counted = contract.functions.tallyOf(poll_id).call()
            source = "tallyOf"
            published_counts, published_counted = [int(c) for c in tally], int(tally_counted)
            published_ballots = int(poll["ballots"])
        except ContractLogicError:
            source = "none (sealed until close)"
            problems.append("no published result yet: the poll is sealed until close")

    if published_counts is not None:
        if published_counts != counts:
            problems.append(f"counts differ: published {published_counts}, recomputed {counts}")
        if published_ballots is not None and published_ballots != len(last):
            problems.append(f"ballots differ: published {published_ballots}, recomputed {len(last)}")
        if published_counted is not None and published_counted != counted:
            problems.append(f"counted differ: published {published_counted}, recomputed {counted}")

    if registry is None and enc.ELIGIBILITY[int(poll["eligibility"])] != "census":
        registry = w3.eth.contract(address=contract.functions.registry().call(), abi=ELIGIBILITY_OF_ABI)
    verifier = BallotVerifier(
        w3,
        contract,
        registry,
        int(w3.eth.chain_id) if chain_id is None else chain_id,
        PollRules.from_poll(poll_id, poll),
    )
    checks = verifier.run(last.values())
    problems.extend(failed_checks(list(checks.values())))

    return Recount(
        poll_id=poll_id,
        ballot_type=ballot_type,
        secrecy=secrecy,
        question=question,
        options=options,
        created=created_at,
        recomputed_counts=counts,
        ballots=len(last),
        counted=counted,
        published_source=source,
        published_counts=published_counts,
        published_ballots=published_ballots,
        published_counted=published_counted,
        ballots_seen=seen,
        reveals_seen=reveals,
        problems=problems,
        checks=checks,
        transactions_read=verifier.transactions_read,
        encrypted=encrypted,
    )


def recount_trusted(trusted: TrustedDeployment, poll_id: int, *, expected_address: str | None = None) -> Recount:
    """Recount poll ``poll_id`` of the trusted deployment's MVoting (address, deploy block, ABI).

    ``expected_address`` (e.g. an address someone gave you) is only compared: a different address
    is a problem of the recount, never the contract that is read."""
    voting = trusted.contract(CONTRACT)
    registry = trusted.contract(REGISTRY) if trusted.has(REGISTRY) else None
    result = recount(
        trusted.w3,
        voting,
        poll_id,
        from_block=trusted.deploy_block(CONTRACT),
        registry=registry,
        chain_id=trusted.chain_id,
        tally_contract=trusted.contract("EncryptedTally") if trusted.has("EncryptedTally") else None,
    )
    # The registry's trusted address is named in the eligibility check's rule (``checks``).
    result.deployment = trusted.describe(CONTRACT).model_dump()
    if registry is not None:
        wrong = trusted.compare_address(REGISTRY, voting.functions.registry().call(), "MVoting.registry()")
        if wrong:
            result.problems.insert(0, wrong)
    if expected_address is not None:
        wrong = trusted.compare_address(CONTRACT, expected_address, "--address")
        if wrong:
            result.problems.insert(0, wrong)
    return result


def recount_rpc(
    rpc_url: str | Web3,
    poll_id: int,
    *,
    manifest: Path | None = None,
    data_dir: Path | None = None,
    expected_address: str | None = None,
) -> Recount:
    """Recount against a node: ``rpc_url`` (or a Web3) plus the trusted manifest (default: the one
    for the node's chain id in ``data_dir``, else the configured data directory)."""
    if data_dir is None and manifest is None:
        from civic_ledger.config import Settings

        data_dir = Settings().data_dir
    trusted = trusted_from_node(rpc_url, manifest, data_dir or Path("."))
    return recount_trusted(trusted, poll_id, expected_address=expected_address)
