"""Automatic subcontract payment: typed data to sign, relaying signed actions, settlement, reads.

Every state change that belongs to an actor (client department, prime, subcontractor,
inspector, payee) is an EIP-712 message signed by that actor; this module builds the message
(:func:`typed_data`), checks a signature against it and relays it (:func:`relay`). Settlement
and pushing a credit need no signature: anyone may trigger them once the chain allows it.
Operator actions (role grants, minting, blocking) use the operator key.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from web3.contract import Contract

from civic_ledger.errors import Forbidden, InvalidInput, NotFound
from civic_ledger.payments import projections as q
from civic_ledger.payments.actions import (
    ACTIONS,
    GROUND_CODES,
    PURPOSE_CODES,
    PURPOSES,
    ROLE_CODES,
    ROLES,
)
from civic_ledger.payments.schemas import (
    BalanceOut,
    BucketOut,
    ClaimOut,
    CreditOut,
    EventOut,
    LineOut,
    ParticipantOut,
    ProjectOut,
    TxOut,
    TypedDataOut,
)
from civic_ledger.platform import actions
from civic_ledger.platform.indexer import fresh_read
from civic_ledger.platform.indexer.decoder import args_with_ints
from civic_ledger.platform.runtime import Platform

ZERO = "0x0000000000000000000000000000000000000000"
DUE_PERIOD_S = 15 * 86400
#: Gas of a settlement: fixed part + per line (a push to a new payee is ~30-45k).
_SETTLE_GAS_BASE = 150_000
_SETTLE_GAS_PER_LINE = 70_000


def payments(platform: Platform) -> Contract:
    return platform.deployment.contract("SubcontractPayments")


def token(platform: Platform) -> Contract:
    return platform.deployment.contract("CivicWon")


# -- messages ----------------------------------------------------------------------------------


def message_from(platform: Platform, key: str, fields: dict[str, Any], **ids: int) -> dict[str, Any]:
    """The EIP-712 message of action ``key`` from API fields (snake_case, names for codes)."""
    f = dict(fields)
    if key in ("register_project", "add_participants"):
        f["participants"] = [
            {
                "account": p["account"],
                "role": ROLE_CODES[p["role"]],
                "employer": p.get("employer") or ZERO,
                "contractAmount": int(p.get("contract_amount", 0)),
            }
            for p in f.get("participants", [])
        ]
    if key == "fund":
        f["purpose"] = PURPOSE_CODES[f["purpose"]]
    if key == "submit_claim":
        f["lines"] = [
            {
                "payee": ln["payee"],
                "purpose": PURPOSE_CODES[ln["purpose"]],
                "amount": int(ln["amount"]),
                "evidence": ln["evidence"],
            }
            for ln in f["lines"]
        ]
    if key == "direct_payment":
        f["ground"] = GROUND_CODES[f["ground"]]
    if key == "permit":
        f["spender"] = payments(platform).address
    if key == "confirm_lines" and not isinstance(f.get("lines"), int):
        f["lines"] = _confirm_mask(platform, ids["claimId"], f["confirmer"], f.get("lines"))
    message = {_camel(k): v for k, v in f.items() if k != "signature"}
    message.update(ids)
    return message


def _require_client(platform: Platform, owner: str) -> None:
    """Only a client (``CLIENT_ROLE``) funds buckets, so only a client's permit is worth relaying:
    anyone else's would make the operator pay for an allowance the escrow never uses."""
    escrow = payments(platform)
    role = platform.relayer.call(escrow.functions.CLIENT_ROLE())
    if not platform.relayer.call(escrow.functions.hasRole(role, owner)):
        raise Forbidden(
            f"{owner} does not hold SubcontractPayments.CLIENT_ROLE: only a project client's permit is relayed "
            "(the operator pays for it)",
            code="missing_role",
            details={"required": "SubcontractPayments.CLIENT_ROLE", "account": owner},
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


def typed_data(platform: Platform, key: str, message: dict[str, Any]) -> TypedDataOut:
    """Typed data of action ``key`` with nonce and deadline filled in when missing."""
    signer = _signer_of(platform, key, message)
    typed = actions.prepare(platform, ACTIONS[key], message, signer=signer)
    return TypedDataOut(action=key, signer=signer, typed_data=typed.to_dict())


def _signer_of(platform: Platform, key: str, message: dict[str, Any]) -> str:
    """Who signs: the message's signer field; for a withdrawal, the contract says (a citizen whose
    key was rotated or recovered signs with the current key)."""
    if key == "withdraw":
        return to_checksum_address(
            platform.relayer.call(payments(platform).functions.withdrawSignerOf(message["payee"]))
        )
    return to_checksum_address(message[ACTIONS[key].signer])


def relay(platform: Platform, key: str, message: dict[str, Any], signature: str) -> TxOut:
    """Check ``signature`` over the message of action ``key``, simulate, relay; the events."""
    actions.typed_message(platform, ACTIONS[key], message)  # a missing field is a 422 before any call
    signer = _signer_of(platform, key, message)
    gas = None
    if key == "submit_claim":
        gas = 200_000 + 60_000 * len(message["lines"])
    elif key in ("register_project", "add_participants"):
        gas = 300_000 + 50_000 * len(message["participants"])
    elif key == "direct_payment":
        gas = 400_000
    check = (lambda _typed: _require_client(platform, signer)) if key == "permit" else None
    receipt = (
        actions.Signed(platform, ACTIONS[key], message, signature).verify(signer=signer, check=check).send(gas=gas)
    )
    return _tx_out(platform, key, receipt)


def _tx_out(platform: Platform, key: str, receipt: Any) -> TxOut:
    events = decode_events(platform, payments(platform), receipt.raw) + decode_events(
        platform, token(platform), receipt.raw, only=("Approval",)
    )
    out = TxOut(
        action=key, tx_hash=receipt.tx_hash, block_number=receipt.block_number, gas_used=receipt.gas_used, events=events
    )
    for e in events:
        if "projectId" in e.args and out.project_id is None:
            out.project_id = int(e.args["projectId"])
        if "claimId" in e.args and out.claim_id is None:
            out.claim_id = int(e.args["claimId"])
    return out


def decode_events(
    platform: Platform, contract: Contract, raw_receipt: Any, only: tuple[str, ...] | None = None
) -> list[EventOut]:
    """The receipt's logs emitted by ``contract``, decoded by the platform's one event decoder
    (``only``: these names); integers as numbers, as the API has always given them."""
    decoder = platform.indexer.decoder
    abis: dict[str, Any] = {str(item.get("name")): item for item in contract.abi if item.get("type") == "event"}
    found: list[EventOut] = []
    for log in raw_receipt["logs"]:
        if log["address"] != contract.address or not log["topics"]:
            continue
        topics = ["0x" + bytes(t).hex() if not isinstance(t, str) else t.lower() for t in log["topics"]]
        data = log["data"] if isinstance(log["data"], str) else "0x" + bytes(log["data"]).hex()
        ev = decoder.decode(contract.address, topics, data)
        if ev.event is None or (only is not None and ev.event not in only):
            continue
        # the decoder gives JSON values (hex bytes, lists); integers back as numbers
        args = args_with_ints(abis[ev.event], ev.args)
        found.append(EventOut(event=ev.event, args=args, log_index=int(log["logIndex"])))
    return found


# -- unsigned actions --------------------------------------------------------------------------


def settle(platform: Platform, claim_id: int) -> TxOut:
    """Pay every confirmed, unpaid line of an approved claim (anyone may trigger it)."""
    contract = payments(platform)
    lines = int(platform.relayer.call(contract.functions.claimOf(claim_id))[1])
    if lines == 0:
        raise NotFound(f"claim {claim_id} does not exist", code="SubcontractPaymentsUnknownClaim")
    fn = contract.functions.settle(claim_id)
    receipt = platform.relayer.transact(fn, simulate=True, gas=_SETTLE_GAS_BASE + _SETTLE_GAS_PER_LINE * lines)
    return _tx_out(platform, "settle", receipt)


def push_credit(platform: Platform, payee: str) -> TxOut:
    """Push a payee's credited amount to the payee itself (anyone may trigger it)."""
    receipt = platform.relayer.transact(payments(platform).functions.withdraw(payee), simulate=True)
    return _tx_out(platform, "withdraw", receipt)


# -- operator actions --------------------------------------------------------------------------


def grant_role(platform: Platform, role: str, account: str) -> TxOut:
    contract = payments(platform)
    role_id = platform.relayer.call(
        {"client": contract.functions.CLIENT_ROLE, "inspector": contract.functions.INSPECTOR_ROLE}[role]()
    )
    receipt = platform.relayer.transact(contract.functions.grantRole(role_id, account), simulate=True)
    return _tx_out(platform, f"grant_{role}", receipt)


def mint(platform: Platform, to: str, amount: int) -> TxOut:
    receipt = platform.relayer.transact(token(platform).functions.mint(to, amount), simulate=True)
    out = _tx_out(platform, "mint", receipt)
    out.events = decode_events(platform, token(platform), receipt.raw, only=("Minted",))
    return out


def set_blocked(platform: Platform, account: str, blocked: bool) -> TxOut:
    receipt = platform.relayer.transact(token(platform).functions.setBlocked(account, blocked), simulate=True)
    out = _tx_out(platform, "block" if blocked else "unblock", receipt)
    out.events = decode_events(platform, token(platform), receipt.raw, only=("AccountBlocked",))
    return out


# -- reads -------------------------------------------------------------------------------------


def get_project(platform: Platform, project_id: int) -> ProjectOut:
    contract = payments(platform)
    client, prime, registered_at, closed, claim_count = platform.relayer.call(contract.functions.projectOf(project_id))
    if int(client, 16) == 0:
        raise NotFound(f"project {project_id} does not exist", code="SubcontractPaymentsUnknownProject")
    with fresh_read(platform, "the project's buckets and participants") as (conn, _):
        flows = q.buckets(conn, project_id)
        logs = q.project_events(conn, project_id, "ParticipantRegistered")
    buckets = []
    for code, name in PURPOSES.items():
        funded, paid, refunded = flows.get(code, (0, 0, 0))
        buckets.append(
            BucketOut(purpose=name, funded=funded, paid=paid, refunded=refunded, balance=funded - paid - refunded)  # type: ignore[arg-type]
        )
    participants = [
        ParticipantOut(
            account=ev.args["account"],
            role=ROLES.get(int(ev.args["role"]), str(ev.args["role"])),
            employer=None if int(ev.args["employer"], 16) == 0 else ev.args["employer"],
            contract_amount=int(ev.args["contractAmount"]),
        )
        for ev in logs
    ]
    return ProjectOut(
        project_id=project_id,
        client=client,
        prime=prime,
        registered_at=registered_at,
        closed=closed,
        claim_count=claim_count,
        buckets=buckets,
        participants=participants,
    )


def _claim_raw(platform: Platform, claim_id: int) -> tuple[Any, ...]:
    raw = tuple(platform.relayer.call(payments(platform).functions.claimOf(claim_id)))
    if int(raw[1]) == 0:
        raise NotFound(f"claim {claim_id} does not exist", code="SubcontractPaymentsUnknownClaim")
    return raw


def _confirmer_of(prime: str, employers: dict[str, str], payee: str, purpose: int) -> str | None:
    """Who confirms a line: the prime for subcontract lines, the employing subcontractor for a
    labour line of a worker it employs (the prime's own workers need no confirmation)."""
    if purpose == PURPOSE_CODES["subcontract"]:
        return prime
    if purpose == PURPOSE_CODES["labour"]:
        employer = employers.get(payee)
        return None if employer is None or employer == prime else employer
    return None


def get_claim(platform: Platform, claim_id: int) -> ClaimOut:
    """The claim's state from ``claimOf`` (one call); its lines, the prime and the employers from the
    index (the claim's and the project's events); late interest from the contract for unpaid lines."""
    contract = payments(platform)
    project_id, n, submitted, approved, paid_at, due, confirmed, paid = _claim_raw(platform, claim_id)
    with fresh_read(platform, "the claim's lines") as (conn, _):
        added = {int(ev.args["line"]): ev.args for ev in q.claim_events(conn, claim_id, "ClaimLineAdded")}
        project = q.project_events(conn, int(project_id), "ProjectRegistered", "ParticipantRegistered")
    prime = next(str(e.args["prime"]) for e in project if e.event == "ProjectRegistered")
    employers = {str(e.args["account"]): str(e.args["employer"]) for e in project if e.event == "ParticipantRegistered"}
    now = platform.chain.now()
    lines = []
    total = 0
    for i in range(n):
        line = added[i]
        payee, purpose, amount = str(line["payee"]), int(line["purpose"]), int(line["amount"])
        total += amount
        is_paid = bool((paid >> i) & 1)
        lines.append(
            LineOut(
                index=i,
                payee=payee,
                purpose=PURPOSES[purpose],  # type: ignore[arg-type]
                amount=amount,
                evidence=str(line["evidence"]),
                confirmer=_confirmer_of(prime, employers, payee, purpose),
                confirmed=bool((confirmed >> i) & 1),
                paid=is_paid,
                interest_if_paid_now=0
                if is_paid
                else int(platform.relayer.call(contract.functions.lateInterest(claim_id, i, now))),
            )
        )
    return ClaimOut(
        claim_id=claim_id,
        project_id=project_id,
        submitted_at=submitted,
        approved_at=approved or None,
        paid_at=paid_at or None,
        subcontract_due=due or None,
        total=total,
        settled=paid == (1 << n) - 1,
        lines=lines,
    )


def _confirm_mask(platform: Platform, claim_id: int, confirmer: str, indexes: list[int] | None) -> int:
    claim = get_claim(platform, claim_id)
    if indexes is None:
        mask = 0
        for line in claim.lines:
            if line.confirmer == to_checksum_address(confirmer) and not line.confirmed:
                mask |= 1 << line.index
        if mask == 0:
            raise InvalidInput(
                f"claim {claim_id} has no unconfirmed line for {confirmer} to confirm", code="nothing_to_confirm"
            )
        return mask
    mask = 0
    for i in indexes:
        if not 0 <= i < len(claim.lines):
            raise InvalidInput(f"lines: claim {claim_id} has no line {i} (it has {len(claim.lines)})")
        mask |= 1 << i
    if mask == 0:
        raise InvalidInput("lines: give at least one line index")
    return mask


def get_credit(platform: Platform, payee: str) -> CreditOut:
    return CreditOut(
        payee=payee,
        withdrawable=int(platform.relayer.call(payments(platform).functions.withdrawableOf(payee))),
        balance=int(platform.relayer.call(token(platform).functions.balanceOf(payee))),
        blocked=bool(platform.relayer.call(token(platform).functions.isBlocked(payee))),
    )


def get_balance(platform: Platform, account: str) -> BalanceOut:
    t = token(platform)
    return BalanceOut(
        account=account,
        balance=int(platform.relayer.call(t.functions.balanceOf(account))),
        allowance_to_escrow=int(platform.relayer.call(t.functions.allowance(account, payments(platform).address))),
        blocked=bool(platform.relayer.call(t.functions.isBlocked(account))),
    )
