"""Per-ballot checks of a recount: each counted ballot's signature, eligibility and time, from chain data.

The recount (:mod:`civic_ledger.voting.recount`) takes each voter's current ``BallotCast`` (the
ballot that is, or can be, counted) and re-checks here what the contract claims it checked, with
nothing but a node and the trusted deployment:

``signature``
    The ballot is read from its transaction's calldata (``eth_getTransactionByHash``; the input of
    ``cast`` / ``castBatch`` decoded with the trusted MVoting ABI; the transaction must call the
    trusted MVoting). Its fields must be the ones ``BallotCast`` names, its EIP-712 digest —
    recomputed off-chain with the domain ``("MVoting", "1", chain id, trusted MVoting address)`` —
    must be the event's ``ballotHash``, and the signature must recover (OpenZeppelin
    ``ECDSA.tryRecover`` rules: 65 bytes, ``v`` 27/28, low ``s``) to the voter the event names.
``eligibility``
    Census polls: the calldata's Merkle proof must lead from the voter's leaf to the poll's census
    root (:mod:`civic_ledger.platform.merkle`) and the voter key must be the address. Registry
    polls: ``CitizenRegistry.eligibilityOf(voter)`` as it was when the ballot's transaction ran
    must name the event's citizen id, active, inside the district mask and the birth-year band
    (the contract's rule: birth years compared with the poll's ``minBirthYear``/``maxBirthYear``,
    no reference date).
``window``
    The including block's timestamp must be in the voting window ``[opensAt, closesAt)`` and not
    after the ballot's ``deadline``.

Which state "when the ballot's transaction ran" is: ``eth_call`` can only read the state *after*
a block, and a block may hold registry transactions before and after the ballot's. So the
registry is read at block ``N - 1`` (the state block ``N`` started from, exact when no
transaction of block ``N`` before the ballot's touched this citizen), or at block ``N`` when the
citizen's record changed earlier in block ``N`` and not later in it (a ballot transaction never
changes the registry). When it changed both before and after the ballot within block ``N`` the
state at the ballot can not be read with ``eth_call`` and the check fails saying so. Reading
history, not today's state, is the point: a citizen suspended after voting was eligible when
voting, and one eligible today may not have been. Both anvil and the embedded chain (also through
the server's ``/rpc``) serve ``eth_call`` at past blocks.

Cost: one ``eth_getTransactionByHash`` per distinct transaction (a ``castBatch`` carries many
ballots), one ``eth_getBlockByNumber`` and one registry ``eth_getLogs`` per distinct block, one
``eth_call`` per registry-poll ballot: O(ballots of the poll).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from eth_keys import keys
from eth_utils import event_abi_to_log_topic, to_checksum_address
from web3 import Web3
from web3.contract import Contract

from civic_ledger.platform import eip712
from civic_ledger.voting import ballots as enc

if TYPE_CHECKING:
    from civic_ledger.voting.recount import VoterBallot

CHECKS = ("signature", "eligibility", "window")

#: secp256k1 order and OpenZeppelin's upper bound on ``s`` (EIP-2: the lower half only).
_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_MAX_S = _N // 2

#: ``from`` of the eligibility calls (a view needs none; giving one spares a provider's guess).
_NO_SENDER = "0x" + "00" * 20

#: Minimal ABI of the registry view the contract's eligibility check reads (used only when no
#: trusted CitizenRegistry ABI is at hand).
ELIGIBILITY_OF_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "eligibilityOf",
        "stateMutability": "view",
        "inputs": [{"name": "account", "type": "address"}],
        "outputs": [
            {"name": "citizenId", "type": "uint256"},
            {"name": "active", "type": "bool"},
            {"name": "district", "type": "uint8"},
            {"name": "birthYear", "type": "uint16"},
        ],
    }
]

#: Registry events that change what ``eligibilityOf`` answers; each has the citizen id as topic 1.
REGISTRY_EVENTS = ("CitizenRegistered", "CitizenUpdated", "CitizenSuspended", "CitizenReinstated", "CitizenKeyRotated")


# -- results ------------------------------------------------------------------------------------


@dataclass
class CheckFailure:
    """One counted ballot that failed one check."""

    ballot_hash: str
    voter: str
    citizen_id: int
    block_number: int
    tx_hash: str
    reason: str


@dataclass
class CheckReport:
    """One check over every current ballot of the poll."""

    name: str
    rule: str
    checked: int = 0
    passed: int = 0
    failures: list[CheckFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.passed == self.checked and not self.failures

    def record(self, cast: VoterBallot, failure: str | None) -> None:
        self.checked += 1
        if failure is None:
            self.passed += 1
            return
        self.failures.append(
            CheckFailure(
                "0x" + cast.ballot_hash.hex(),
                cast.voter,
                cast.citizen_id,
                cast.where.block_number,
                cast.where.tx_hash,
                failure,
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "failed": len(self.failures), "ok": self.ok}


# -- pure checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalldataBallot:
    """An ``IMVoting.BallotInput`` as decoded from a transaction's input."""

    poll_id: int
    voter: str
    choice: int
    commitment: bytes
    version: int
    deadline: int
    signature: bytes
    proof: tuple[bytes, ...]

    @classmethod
    def from_abi(cls, value: Any) -> CalldataBallot:
        v = value if isinstance(value, dict) else dict(zip(_BALLOT_FIELDS, value, strict=True))
        return cls(
            int(v["pollId"]),
            to_checksum_address(v["voter"]),
            int(v["choice"]),
            bytes(v["commitment"]),
            int(v["version"]),
            int(v["deadline"]),
            bytes(v["signature"]),
            tuple(bytes(p) for p in v["proof"]),
        )


_BALLOT_FIELDS = ("pollId", "voter", "choice", "commitment", "version", "deadline", "signature", "proof")


@dataclass(frozen=True)
class PollRules:
    """What a ballot of the poll had to satisfy (from ``getPoll``)."""

    poll_id: int
    eligibility: str
    district_mask: int
    min_birth_year: int
    max_birth_year: int
    census_root: bytes
    opens_at: int
    closes_at: int

    @classmethod
    def from_poll(cls, poll_id: int, poll: dict[str, Any]) -> PollRules:
        return cls(
            poll_id,
            enc.ELIGIBILITY[int(poll["eligibility"])],
            int(poll["districtMask"]),
            int(poll["minBirthYear"]),
            int(poll["maxBirthYear"]),
            bytes(poll["censusRoot"]),
            int(poll["opensAt"]),
            int(poll["closesAt"]),
        )


@dataclass(frozen=True)
class Standing:
    """``CitizenRegistry.eligibilityOf(voter)`` at one block."""

    citizen_id: int
    active: bool
    district: int
    birth_year: int
    block: int


def ballot_domain(chain_id: int, voting_address: str) -> dict[str, Any]:
    return eip712.domain(enc.CONTRACT, chain_id, voting_address)


def ballot_digest(domain: dict[str, Any], b: CalldataBallot) -> bytes:
    """The EIP-712 digest of the ballot (``MVoting.ballotDigest``), computed off-chain."""
    message = {
        "pollId": b.poll_id,
        "voter": b.voter,
        "choice": b.choice,
        "commitment": b.commitment,
        "version": b.version,
        "deadline": b.deadline,
    }
    return eip712.TypedMessage(domain, "Ballot", enc.BALLOT_EIP712_TYPES, message).digest()


def recover_signer(digest: bytes, signature: bytes) -> str | None:
    """The signer of ``digest`` under OpenZeppelin ``ECDSA.tryRecover`` rules; None when invalid."""
    if len(signature) != 65:
        return None
    r, s, v = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]
    if v not in (27, 28) or not 0 < r < _N or not 0 < s <= _MAX_S:
        return None
    try:
        key = keys.Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except Exception:  # noqa: BLE001 - no point on the curve for r
        return None
    return str(key.to_checksum_address())


def signature_failure(domain: dict[str, Any], b: CalldataBallot, cast: VoterBallot) -> str | None:
    """What is wrong with calldata ballot ``b`` as the signed origin of ``cast`` (None: nothing)."""
    wrong = []
    if b.voter != cast.voter or b.version != cast.version:
        wrong.append(
            f"the calldata ballot is voter {b.voter} version {b.version}, BallotCast says {cast.voter} v{cast.version}"
        )
    if b.choice != cast.choice:
        wrong.append(f"choice {b.choice} in the calldata, {cast.choice} in BallotCast")
    if b.commitment != cast.commitment:
        wrong.append(f"commitment 0x{b.commitment.hex()} in the calldata, 0x{cast.commitment.hex()} in BallotCast")
    digest = ballot_digest(domain, b)
    if digest != cast.ballot_hash:
        wrong.append(f"its EIP-712 digest is 0x{digest.hex()}, BallotCast's ballotHash is 0x{cast.ballot_hash.hex()}")
    signer = recover_signer(digest, b.signature)
    if signer is None:
        wrong.append("its signature is not a valid 65-byte low-s ECDSA signature")
    elif signer != cast.voter:
        wrong.append(f"its signature recovers to {signer}, not to the voter {cast.voter}")
    return "; ".join(wrong) or None


def eligibility_failure(
    rules: PollRules, b: CalldataBallot, cast: VoterBallot, standing: Standing | None
) -> str | None:
    """Whether ``cast`` met the poll's eligibility rule, mirroring ``MVoting._eligibility``.

    ``standing`` is the registry's answer for the voter when the ballot ran (unused for census)."""
    if rules.eligibility == "census":
        key = int(cast.voter, 16)
        if cast.citizen_id != key:
            return f"census ballots are keyed by the voter address ({key}), BallotCast says {cast.citizen_id}"
        if not enc.verify_census_proof(rules.census_root, cast.voter, b.proof):
            return (
                f"the Merkle proof in the calldata does not lead from {cast.voter} to the census root "
                f"0x{rules.census_root.hex()}"
            )
        return None
    if standing is None:
        return "no registry state was read"
    at = f"at block {standing.block}"
    if standing.citizen_id == 0:
        return f"{cast.voter} was not the current key of a citizen {at}"
    if standing.citizen_id != cast.citizen_id:
        return f"{cast.voter} was citizen {standing.citizen_id} {at}, BallotCast says {cast.citizen_id}"
    if not standing.active:
        return f"citizen {standing.citizen_id} was suspended {at}"
    d = standing.district
    if rules.district_mask != 0 and (d > 31 or (rules.district_mask >> d) & 1 == 0):
        return f"citizen {standing.citizen_id} was in district {d} {at}, outside the poll's districts"
    y = standing.birth_year
    if rules.min_birth_year != 0 and y < rules.min_birth_year:
        return (
            f"citizen {standing.citizen_id} was born in {y} ({at}), before the poll's band ({rules.min_birth_year}..)"
        )
    if rules.max_birth_year != 0 and y > rules.max_birth_year:
        return f"citizen {standing.citizen_id} was born in {y} ({at}), after the poll's band (..{rules.max_birth_year})"
    return None


def window_failure(rules: PollRules, b: CalldataBallot, timestamp: int) -> str | None:
    """Whether the including block's time was in the voting window and within the signature's deadline."""
    if timestamp < rules.opens_at:
        return f"included at time {timestamp}, before the poll opened ({rules.opens_at})"
    if timestamp >= rules.closes_at:
        return f"included at time {timestamp}, after the poll closed ({rules.closes_at})"
    if timestamp > b.deadline:
        return f"included at time {timestamp}, after the ballot's deadline ({b.deadline})"
    return None


# -- reading the chain ---------------------------------------------------------------------------


@dataclass
class _Tx:
    index: int
    ballots: list[CalldataBallot] | None  # None: not a call of MVoting.cast / castBatch
    why: str = ""


class BallotVerifier:
    """Runs every check on the current ballots of one poll, reading each transaction and block once."""

    def __init__(self, w3: Web3, voting: Contract, registry: Contract | None, chain_id: int, rules: PollRules) -> None:
        self.w3 = w3
        self.voting = voting
        self.registry = registry
        self.rules = rules
        self.domain = ballot_domain(chain_id, voting.address)
        self._txs: dict[str, _Tx] = {}
        self._times: dict[int, int] = {}
        self._changes: dict[int, list[tuple[int, int]]] = {}  # block -> (tx index, citizen id)
        self._topics: set[str] = set()
        if registry is not None:
            for e in registry.abi:
                if e.get("type") == "event" and e.get("name") in REGISTRY_EVENTS:
                    self._topics.add("0x" + event_abi_to_log_topic(e).hex())  # type: ignore[arg-type]

    @property
    def transactions_read(self) -> int:
        return len(self._txs)

    def reports(self) -> dict[str, CheckReport]:
        census = self.rules.eligibility == "census"
        where = f"{self.registry.address}" if self.registry is not None else "(no registry)"
        return {
            "signature": CheckReport(
                "signature",
                "the ballot in its transaction's calldata has the BallotCast fields, its EIP-712 digest "
                "(domain MVoting/1, this chain, the trusted MVoting) is the ballotHash and it recovers to the voter",
            ),
            "eligibility": CheckReport(
                "eligibility",
                "the calldata's census proof leads to the poll's census root"
                if census
                else f"CitizenRegistry {where}.eligibilityOf(voter) when the ballot ran: the event's citizen, "
                "active, in the poll's districts and birth-year band",
            ),
            "window": CheckReport(
                "window", "the including block's time is in [opensAt, closesAt) and not after the ballot's deadline"
            ),
        }

    def run(self, casts: Iterable[VoterBallot]) -> dict[str, CheckReport]:
        reports = self.reports()
        for cast in sorted(casts, key=lambda c: (c.where.block_number, c.where.log_index)):
            tx = self._tx(cast.where.tx_hash)
            b, failure = self._find(tx, cast)
            reports["signature"].record(cast, failure)
            if b is None:
                missing = "the ballot could not be read from its transaction's calldata"
                reports["eligibility"].record(cast, missing)
                reports["window"].record(cast, missing)
                continue
            reports["eligibility"].record(cast, self._eligibility(b, cast, tx.index))
            reports["window"].record(cast, window_failure(self.rules, b, self._time(cast.where.block_number)))
        return reports

    # -- the pieces ------------------------------------------------------------------------------

    def _tx(self, tx_hash: str) -> _Tx:
        if tx_hash not in self._txs:
            tx = self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
            index = int(tx.get("transactionIndex") or 0)
            to = tx.get("to")
            if not to or to_checksum_address(to) != self.voting.address:
                self._txs[tx_hash] = _Tx(index, None, f"the transaction calls {to}, not MVoting {self.voting.address}")
            else:
                self._txs[tx_hash] = _Tx(index, *self._decode(bytes(tx["input"])))
        return self._txs[tx_hash]

    def _decode(self, data: bytes) -> tuple[list[CalldataBallot] | None, str]:
        try:
            fn, params = self.voting.decode_function_input(data)
        except Exception:  # noqa: BLE001 - unknown selector or malformed input
            return None, f"its input (selector 0x{data[:4].hex()}) does not decode with the MVoting ABI"
        if fn.fn_name in ("cast", "castEncrypted"):
            return [CalldataBallot.from_abi(params["ballot"])], ""
        if fn.fn_name in ("castBatch", "castEncryptedBatch"):
            return [CalldataBallot.from_abi(v) for v in params["ballots"]], ""
        return None, f"it calls MVoting.{fn.fn_name}, not cast or castBatch"

    def _find(self, tx: _Tx, cast: VoterBallot) -> tuple[CalldataBallot | None, str | None]:
        """The calldata ballot that produced ``cast`` and the signature check's verdict on it."""
        if tx.ballots is None:
            return None, f"transaction {cast.where.tx_hash}: {tx.why}"
        mine = [b for b in tx.ballots if b.poll_id == self.rules.poll_id and b.voter == cast.voter]
        candidates = [b for b in mine if b.version == cast.version] or mine
        if not candidates:
            return (
                None,
                f"no ballot of {cast.voter} for poll {self.rules.poll_id} in the calldata of {cast.where.tx_hash}",
            )
        verdicts = [(b, signature_failure(self.domain, b, cast)) for b in candidates]
        for b, failure in verdicts:
            if failure is None:
                return b, None
        return verdicts[0]

    def _eligibility(self, b: CalldataBallot, cast: VoterBallot, tx_index: int) -> str | None:
        if self.rules.eligibility == "census":
            return eligibility_failure(self.rules, b, cast, None)
        if self.registry is None:
            return "no CitizenRegistry to read eligibility from"
        block = cast.where.block_number
        changes = [i for i, citizen in self._registry_changes(block) if citizen == cast.citizen_id and i != tx_index]
        before, after = any(i < tx_index for i in changes), any(i > tx_index for i in changes)
        if before and after:
            return (
                f"citizen {cast.citizen_id}'s registry record changed both before and after the ballot within "
                f"block {block}: its state at the ballot can not be read with eth_call"
            )
        at = block if before else block - 1
        try:
            view = self.registry.functions.eligibilityOf(cast.voter)
            cid, active, district, year = view.call({"from": _NO_SENDER}, block_identifier=at)
        except Exception as exc:  # noqa: BLE001 - pruned state, no code there yet, node error
            text = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            return f"CitizenRegistry.eligibilityOf could not be read at block {at} ({text}): an archive node is needed"
        return eligibility_failure(self.rules, b, cast, Standing(int(cid), bool(active), int(district), int(year), at))

    def _registry_changes(self, block: int) -> list[tuple[int, int]]:
        if block not in self._changes:
            assert self.registry is not None
            query: dict[str, Any] = {"address": self.registry.address, "fromBlock": block, "toBlock": block}
            if self._topics:  # else (only the eligibilityOf ABI): every registry log, role events are harmless
                query["topics"] = [sorted(self._topics)]
            logs = self.w3.eth.get_logs(query)  # type: ignore[arg-type]
            self._changes[block] = [
                (int(log["transactionIndex"]), int.from_bytes(bytes(log["topics"][1]), "big"))
                for log in logs
                if len(log["topics"]) > 1
            ]
        return self._changes[block]

    def _time(self, block: int) -> int:
        if block not in self._times:
            self._times[block] = int(self.w3.eth.get_block(block)["timestamp"])
        return self._times[block]


def summary(report: CheckReport) -> str:
    """One problem line for a failed check: counts and the first failure."""
    first = report.failures[0]
    more = f" (and {len(report.failures) - 1} more)" if len(report.failures) > 1 else ""
    return (
        f"{report.name} check: {len(report.failures)} of {report.checked} ballots failed — "
        f"ballot {first.ballot_hash} (voter key {first.citizen_id}, block {first.block_number}): {first.reason}{more}"
    )


def failed_checks(reports: Sequence[CheckReport]) -> list[str]:
    return [summary(r) for r in reports if not r.ok and r.failures]
