"""Payment trail and reconciliation of a project, derived from chain data alone.

The same functions serve the API (reading through the platform's node) and the auditor's
command line (reading any JSON-RPC node with only the addresses of a deployment manifest the
auditor trusts, see :mod:`civic_ledger.platform.trust`), so the two report the same rows, totals
and CSV hash for the same chain state, and both say which deployment they read.

Inputs are the ``SubcontractPayments`` event logs (``eth_getLogs``), block timestamps, and a few
views at the head block (bucket balances, credits, the escrow's token balance) that the event
totals are checked against. Every row carries its inclusion reference (block hash, tx hash,
log index): any node can confirm it with ``eth_getTransactionReceipt``.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import event_abi_to_log_topic, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

from civic_ledger.errors import NotFound
from civic_ledger.payments.actions import GROUNDS, PURPOSES, ROLES
from civic_ledger.platform import csvsafe
from civic_ledger.platform.trust import TrustedDeployment, trusted_from_node

CSV_COLUMNS = [
    "block",
    "time",
    "tx",
    "log_index",
    "event",
    "payer",
    "payee",
    "purpose",
    "amount",
    "claim",
    "evidence",
    "due",
    "late",
]
_LOG_CHUNK = 50_000


@dataclass
class ChainSource:
    """Where the trail comes from: a trusted deployment's node, its two contracts and their ABIs.

    Addresses, the deploy block and ABIs are a :class:`TrustedDeployment`'s (the server's, or a
    manifest the auditor trusts, checked against the node), and ``deployment`` says which."""

    w3: Web3
    chain_id: int
    payments_address: str
    token_address: str
    payments_abi: list[dict[str, Any]]
    token_abi: list[dict[str, Any]]
    from_block: int = 0
    deployment: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_trusted(cls, trusted: TrustedDeployment) -> ChainSource:
        return cls(
            w3=trusted.w3,
            chain_id=trusted.chain_id,
            payments_address=trusted.address("SubcontractPayments"),
            token_address=trusted.address("CivicWon"),
            payments_abi=trusted.abi("SubcontractPayments"),
            token_abi=trusted.abi("CivicWon"),
            from_block=trusted.deploy_block("SubcontractPayments"),
            deployment=trusted.describe("SubcontractPayments", "CivicWon").model_dump(),
        )

    @classmethod
    def from_platform(cls, platform: Any) -> ChainSource:
        return cls.from_trusted(TrustedDeployment.from_platform(platform))

    @classmethod
    def from_rpc(cls, rpc_url: str, manifest_path: Path | None, data_dir: Path) -> ChainSource:
        """A node URL plus the manifest the auditor trusts (default: the data dir's for the node's chain id)."""
        return cls.from_trusted(trusted_from_node(rpc_url, manifest_path, data_dir))

    def payments(self) -> Any:
        return self.w3.eth.contract(address=self.payments_address, abi=self.payments_abi)  # type: ignore[call-overload]

    def token(self) -> Any:
        return self.w3.eth.contract(address=self.token_address, abi=self.token_abi)  # type: ignore[call-overload]


@dataclass
class Event:
    name: str
    args: dict[str, Any]
    block: int
    block_hash: str
    tx: str
    log_index: int


class _EventDecoder:
    """Decodes logs of one ABI by topic with eth-abi directly (web3's per-log decoder is slow)."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self.by_topic: dict[bytes, tuple[str, list[tuple[str, str]], list[str], list[str]]] = {}
        for item in abi:
            if item.get("type") != "event":
                continue
            indexed = [(i["name"], i["type"]) for i in item["inputs"] if i.get("indexed")]
            plain = [i for i in item["inputs"] if not i.get("indexed")]
            topic = bytes(event_abi_to_log_topic(item))  # type: ignore[arg-type]
            self.by_topic[topic] = (item["name"], indexed, [i["name"] for i in plain], [i["type"] for i in plain])

    def decode(self, topics: list[Any], data: Any) -> tuple[str, dict[str, Any]] | None:
        if not topics:
            return None
        known = self.by_topic.get(bytes(HexBytes(topics[0])))
        if known is None:
            return None
        name, indexed, names, types = known
        args: dict[str, Any] = {}
        for (arg, kind), topic in zip(indexed, topics[1:], strict=False):
            (args[arg],) = abi_decode([kind], bytes(HexBytes(topic)))
        if types:
            args.update(zip(names, abi_decode(types, bytes(HexBytes(data))), strict=True))
        for key, value in args.items():
            if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
                args[key] = to_checksum_address(value)
        return name, args


#: Events naming their project in the first indexed topic; the others (a claim's) name it in the second.
_PROJECT_FIRST = (
    "ProjectRegistered",
    "ParticipantRegistered",
    "BucketFunded",
    "LinePaid",
    "LineCredited",
    "CreditWithdrawn",
    "BucketRefunded",
    "ProjectClosed",
)
_PROJECT_SECOND = (
    "ClaimSubmitted",
    "ClaimLineAdded",
    "LinesConfirmed",
    "ClaimApproved",
    "ClaimSettled",
    "DirectPaymentMade",
)
#: The flows in and out of the escrow the reconciliation totals.
ESCROW_FLOWS = ("BucketFunded", "LinePaid", "LineCredited", "CreditWithdrawn", "BucketRefunded")


def _topic(value: int) -> str:
    return "0x" + int(value).to_bytes(32, "big").hex()


def fetch_events(source: ChainSource, to_block: int, topics: list[Any] | None = None) -> list[Event]:
    """``SubcontractPayments`` events from its deploy block to ``to_block`` matching ``topics``
    (an ``eth_getLogs`` topic filter; None: all), in chain order."""
    decoder = _EventDecoder(source.payments_abi)
    events: list[Event] = []
    start = source.from_block
    while start <= to_block:
        end = min(start + _LOG_CHUNK - 1, to_block)
        query: dict[str, Any] = {"address": source.payments_address, "fromBlock": start, "toBlock": end}
        if topics is not None:
            query["topics"] = topics
        for log in source.w3.eth.get_logs(query):  # type: ignore[arg-type]
            decoded = decoder.decode(list(log["topics"]), log["data"])
            if decoded is None:
                continue
            events.append(
                Event(
                    name=decoded[0],
                    args=decoded[1],
                    block=int(log["blockNumber"]),
                    block_hash=HexBytes(log["blockHash"]).to_0x_hex(),
                    tx=HexBytes(log["transactionHash"]).to_0x_hex(),
                    log_index=int(log["logIndex"]),
                )
            )
        start = end + 1
    events.sort(key=lambda e: (e.block, e.log_index))
    return events


class ChainReads:
    """What the trail and the reconciliation read, straight from the node: the project's own events
    (filtered by its id in the indexed topics, so the cost follows the project, not the chain),
    the escrow-wide flows, block times. :class:`civic_ledger.audit.service.IndexReads` answers the
    same questions from the server's index."""

    def __init__(self, source: ChainSource) -> None:
        self.source = source
        self._times: dict[int, int] = {}
        self._topics = {name: topic for topic, (name, *_rest) in _EventDecoder(source.payments_abi).by_topic.items()}

    def _sigs(self, names: tuple[str, ...]) -> list[str]:
        return ["0x" + self._topics[n].hex() for n in names if n in self._topics]

    def head(self) -> int:
        return int(self.source.w3.eth.block_number)

    def project_events(self, project_id: int, to_block: int) -> list[Event]:
        first = fetch_events(self.source, to_block, [self._sigs(_PROJECT_FIRST), _topic(project_id)])
        second = fetch_events(self.source, to_block, [self._sigs(_PROJECT_SECOND), None, _topic(project_id)])
        return sorted(first + second, key=lambda e: (e.block, e.log_index))

    def escrow_flows(self, to_block: int) -> dict[str, int]:
        totals = dict.fromkeys(ESCROW_FLOWS, 0)
        for e in fetch_events(self.source, to_block, [self._sigs(ESCROW_FLOWS)]):
            totals[e.name] += int(e.args["amount"])
        return totals

    def block_time(self, block: int) -> int:
        if block not in self._times:
            self._times[block] = int(self.source.w3.eth.get_block(block)["timestamp"])
        return self._times[block]


@dataclass
class TrailRow:
    block: int
    time: str
    tx: str
    log_index: int
    event: str
    payer: str
    payee: str
    purpose: str
    amount: int | None
    claim: int | None
    evidence: str
    due: str
    late: str
    block_hash: str
    interest: int | None = None
    line: int | None = None
    detail: str = ""

    def csv_values(self) -> list[Any]:
        return [
            self.block,
            self.time,
            self.tx,
            self.log_index,
            self.event,
            self.payer,
            self.payee,
            self.purpose,
            "" if self.amount is None else self.amount,
            "" if self.claim is None else self.claim,
            self.evidence,
            self.due,
            self.late,
        ]


@dataclass
class Trail:
    project_id: int
    manifest: dict[str, Any]
    rows: list[TrailRow]

    def csv_text(self) -> str:
        return rows_to_csv(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"manifest": self.manifest, "rows": [asdict(r) for r in self.rows]}


def rows_to_csv(rows: list[TrailRow]) -> str:
    """The CSV form (formula-safe cells: a purpose such as ``=HYPERLINK(...)`` is written as text)."""
    return csvsafe.to_text(CSV_COLUMNS, (row.csv_values() for row in rows))


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex() if isinstance(value, (bytes, bytearray)) else str(value)


def _project_events(events: list[Event], project_id: int) -> tuple[list[Event], set[int], set[str]]:
    """The events of one project: every SubcontractPayments event names its project (confirmations
    and per-project credit withdrawals included)."""
    mine = [e for e in events if "projectId" in e.args and int(e.args["projectId"]) == project_id]
    claims = {int(e.args["claimId"]) for e in mine if e.name == "ClaimSubmitted"}
    credited = {e.args["payee"] for e in mine if e.name == "LineCredited"}
    return mine, claims, credited


def build_trail(
    source: ChainSource, project_id: int, *, to_block: int | None = None, reads: ChainReads | None = None
) -> Trail:
    reads = reads if reads is not None else ChainReads(source)
    head = reads.head() if to_block is None else to_block
    mine, claims, _credited = _project_events(reads.project_events(project_id, head), project_id)
    if not any(e.name == "ProjectRegistered" for e in mine):
        raise NotFound(f"project {project_id} is not registered on chain {source.chain_id}", code="project_not_found")
    evidence = {
        (int(e.args["claimId"]), int(e.args["line"])): _hex(e.args["evidence"])
        for e in mine
        if e.name == "ClaimLineAdded"
    }

    def when(block: int) -> str:
        return _iso(reads.block_time(block))

    escrow = source.payments_address
    rows: list[TrailRow] = []
    for e in mine:
        a = e.args
        row = TrailRow(
            block=e.block,
            time=when(e.block),
            tx=e.tx,
            log_index=e.log_index,
            event=e.name,
            payer="",
            payee="",
            purpose="",
            amount=None,
            claim=int(a["claimId"]) if "claimId" in a else None,
            evidence="",
            due="",
            late="",
            block_hash=e.block_hash,
        )
        if "purpose" in a:
            row.purpose = PURPOSES.get(int(a["purpose"]), str(a["purpose"]))
        if e.name == "ProjectRegistered":
            row.payer, row.payee, row.amount = a["client"], a["prime"], int(a["contractAmount"])
            row.evidence = _hex(a["projectRef"])
        elif e.name == "ParticipantRegistered":
            row.payee, row.amount = a["account"], int(a["contractAmount"])
            row.detail = ROLES.get(int(a["role"]), str(a["role"]))
        elif e.name == "BucketFunded":
            row.payer, row.payee, row.amount = a["funder"], escrow, int(a["amount"])
        elif e.name == "ClaimSubmitted":
            row.payer, row.amount = a["prime"], int(a["total"])
        elif e.name == "ClaimLineAdded":
            row.payee, row.amount, row.line = a["payee"], int(a["amount"]), int(a["line"])
            row.evidence = _hex(a["evidence"])
        elif e.name == "LinesConfirmed":
            row.payer, row.detail = a["confirmer"], f"lines mask {int(a['lines'])}"
        elif e.name == "ClaimApproved":
            row.payer = a["inspector"]
        elif e.name in ("LinePaid", "LineCredited"):
            row.payer, row.payee, row.amount, row.line = escrow, a["payee"], int(a["amount"]), int(a["line"])
            row.evidence = evidence.get((int(a["claimId"]), int(a["line"])), "")
            if int(a["due"]):
                row.due = _iso(int(a["due"]))
                row.late = "true" if int(a["interest"]) > 0 or reads.block_time(e.block) > int(a["due"]) else "false"
            row.interest = int(a["interest"])
            if e.name == "LineCredited":
                row.detail = "credited to withdraw later"
        elif e.name == "ClaimSettled":
            row.amount, row.detail = int(a["total"]), f"lines mask {int(a['lines'])}"
        elif e.name == "DirectPaymentMade":
            row.payer, row.line = a["client"], int(a["line"])
            row.evidence = evidence.get((int(a["claimId"]), int(a["line"])), "")
            row.detail = GROUNDS.get(int(a["ground"]), str(a["ground"]))
        elif e.name == "CreditWithdrawn":
            row.payer, row.payee, row.amount = escrow, a["to"], int(a["amount"])
            row.detail = f"credit of {a['payee']}"
        elif e.name == "BucketRefunded":
            row.payer, row.payee, row.amount = escrow, a["client"], int(a["amount"])
        elif e.name == "ProjectClosed":
            row.payee, row.amount = a["client"], int(a["refunded"])
        rows.append(row)
    text = rows_to_csv(rows)
    manifest = {
        "chain_id": source.chain_id,
        "contracts": {"SubcontractPayments": source.payments_address, "CivicWon": source.token_address},
        "project_id": project_id,
        "from_block": source.from_block,
        "to_block": head,
        "to_block_hash": HexBytes(source.w3.eth.get_block(head)["hash"]).to_0x_hex(),
        "rows": len(rows),
        "claims": sorted(claims),
        "csv_columns": CSV_COLUMNS,
        "csv_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "deployment": source.deployment,
    }
    return Trail(project_id=project_id, manifest=manifest, rows=rows)


def reconcile(
    source: ChainSource, project_id: int, *, to_block: int | None = None, reads: ChainReads | None = None
) -> dict[str, Any]:
    """Per bucket: funded = paid + refunded + balance (events vs the contract's view); per payee:
    claimed vs paid vs credited; late lines with interest. The project is judged on its own events.

    The escrow as a whole is reported beside it: its token balance against what every project's
    events leave in it (bucket balances plus open credits). Tokens sent to the escrow outside any
    project (a plain ``transfer``) are ``unattributed``: information, not a mismatch. Only an escrow
    holding *less* than the projects' events say (or credits that disagree with the contract's
    view) fails the reconciliation."""

    reads = reads if reads is not None else ChainReads(source)
    head = reads.head() if to_block is None else to_block
    mine, claims, _credited = _project_events(reads.project_events(project_id, head), project_id)
    if not any(e.name == "ProjectRegistered" for e in mine):
        raise NotFound(f"project {project_id} is not registered on chain {source.chain_id}", code="project_not_found")
    contract = source.payments()
    funded: dict[int, int] = defaultdict(int)
    paid: dict[int, int] = defaultdict(int)
    refunded: dict[int, int] = defaultdict(int)
    payees: dict[str, dict[str, int]] = defaultdict(lambda: {"claimed": 0, "paid": 0, "credited": 0})
    late: list[dict[str, Any]] = []
    for e in mine:
        a = e.args
        if e.name == "BucketFunded":
            funded[int(a["purpose"])] += int(a["amount"])
        elif e.name in ("LinePaid", "LineCredited"):
            paid[int(a["purpose"])] += int(a["amount"])
            payees[a["payee"]]["paid" if e.name == "LinePaid" else "credited"] += int(a["amount"])
            if int(a["interest"]) > 0:
                late.append(
                    {
                        "claim": int(a["claimId"]),
                        "line": int(a["line"]),
                        "payee": a["payee"],
                        "amount": int(a["amount"]),
                        "due": int(a["due"]),
                        "interest": int(a["interest"]),
                        "tx": e.tx,
                    }
                )
        elif e.name == "BucketRefunded":
            refunded[int(a["purpose"])] += int(a["amount"])
        elif e.name == "ClaimLineAdded":
            payees[a["payee"]]["claimed"] += int(a["amount"])
    buckets = []
    ok = True
    for code, name in PURPOSES.items():
        view = contract.functions.bucketOf(project_id, code).call(block_identifier=head)
        balance_events = funded[code] - paid[code] - refunded[code]
        matches = (funded[code], paid[code], refunded[code], balance_events) == tuple(int(v) for v in view)
        ok &= matches
        buckets.append(
            {
                "purpose": name,
                "funded": funded[code],
                "paid": paid[code],
                "refunded": refunded[code],
                "balance": balance_events,
                "balance_on_chain": int(view[3]),
                "matches": matches,
            }
        )
    payee_rows = []
    for payee, t in sorted(payees.items()):
        payee_rows.append(
            {
                "payee": payee,
                **t,
                "outstanding": t["claimed"] - t["paid"] - t["credited"],
                "withdrawable_now": int(contract.functions.withdrawableOf(payee).call(block_identifier=head)),
            }
        )
    # The escrow as a whole: every project's bucket balances plus credits not yet withdrawn.
    flows = reads.escrow_flows(head)
    escrow_events = flows["BucketFunded"] - flows["LinePaid"] - flows["BucketRefunded"] - flows["CreditWithdrawn"]
    escrow_chain = int(source.token().functions.balanceOf(source.payments_address).call(block_identifier=head))
    credits_events = flows["LineCredited"] - flows["CreditWithdrawn"]
    credits_chain = int(contract.functions.totalWithdrawable().call(block_identifier=head))
    unattributed = escrow_chain - escrow_events
    escrow_ok = unattributed >= 0 and credits_events == credits_chain
    ok &= escrow_ok
    totals = {
        "funded": sum(funded.values()),
        "paid": sum(paid.values()),
        "refunded": sum(refunded.values()),
        "balance": sum(funded.values()) - sum(paid.values()) - sum(refunded.values()),
        "claimed": sum(t["claimed"] for t in payees.values()),
        "late_interest": sum(x["interest"] for x in late),
    }
    return {
        "chain_id": source.chain_id,
        "project_id": project_id,
        "block": head,
        "contracts": {"SubcontractPayments": source.payments_address, "CivicWon": source.token_address},
        "claims": sorted(claims),
        "buckets": buckets,
        "totals": totals,
        "payees": payee_rows,
        "late": late,
        "escrow": {
            "balance_from_events": escrow_events,
            "balance_on_chain": escrow_chain,
            "unattributed": unattributed,
            "credits_from_events": credits_events,
            "credits_on_chain": credits_chain,
            "matches": escrow_ok,
            "note": _escrow_note(unattributed, credits_events == credits_chain),
        },
        "deployment": source.deployment,
        "matches": bool(ok),
    }


def _escrow_note(unattributed: int, credits_agree: bool) -> str:
    if not credits_agree:
        return "open credits from events differ from the contract's totalWithdrawable: mismatch"
    if unattributed < 0:
        return f"the escrow holds {-unattributed:,} won less than the projects' events leave in it: mismatch"
    if unattributed > 0:
        return (
            f"{unattributed:,} won in the escrow belong to no project (sent outside any project's events): "
            "information, not a mismatch"
        )
    return "every won in the escrow is attributed to a project's balance or an open credit"
