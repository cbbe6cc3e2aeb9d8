"""ZeroPay-linked mileage (제로페이 연계 마일리지): the CivicMileage contract as domain operations.

Who signs what:
- a program's awarder key signs awards, award batches and legacy imports (EIP-712 ``Award``,
  ``AwardBatch``, ``ImportLegacy``; no nonce: the award reference is single-use, and a legacy
  import is once per (program, citizen));
- a citizen signs each redemption (``Redeem``, with the citizen's redemption nonce);
- the operator relays all of them and performs the city's own actions (programs, merchants,
  settlements), which the API only allows to a signed-in holder of the matching role.

Reports are replays of the contract's logs (the chain is the source of truth). Redemptions and
expiries are attributed to programs first-in-first-out within an epoch, oldest epoch first,
exactly as the contract spends buckets, so per-program liability adds up to the sum of the
citizens' on-chain balances; :func:`liability` checks that.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils import event_abi_to_log_topic, keccak, to_checksum_address
from pydantic import BaseModel
from web3.contract import Contract
from web3.logs import DISCARD

from civic_ledger.errors import ContractError, Forbidden, InvalidInput, NotFound
from civic_ledger.mileage.schemas import (
    AwardBatchCreate,
    AwardBatchOut,
    AwardCreate,
    AwardItem,
    AwardOut,
    BalanceOut,
    BucketOut,
    CreditedOut,
    ExpiryOut,
    LegacyImportCreate,
    LegacyImportOut,
    LegacyItem,
    LiabilityOut,
    LiabilityRow,
    MerchantCreate,
    MerchantOut,
    MerchantPeriodRow,
    MerchantReportOut,
    MerchantTotalRow,
    PolicyOut,
    ProgramCreate,
    ProgramOut,
    ProgramUpdate,
    RedemptionCreate,
    RedemptionOut,
    SettlementCreate,
    SettlementOut,
    SkippedOut,
    StatementEntry,
    StatementOut,
    TypedDataOut,
)
from civic_ledger.platform import csvsafe, eip712
from civic_ledger.platform.relayer import Receipt
from civic_ledger.platform.runtime import Platform

CONTRACT = "CivicMileage"
BUCKETS = 7
EPOCH_LENGTH = 30 * 86400
MAX_BATCH = 256
SKIP_REASONS = {0: "None", 1: "Duplicate", 2: "NotActiveCitizen", 3: "AlreadyImported", 4: "ZeroAmount"}

_M32 = 2**32 - 1
_M64 = 2**64 - 1


def _fields(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": n, "type": t} for n, t in pairs]


#: EIP-712 types of every CivicMileage message (checked against the contract's *_TYPEHASH).
TYPES: dict[str, dict[str, list[dict[str, str]]]] = {
    "Award": {
        "Award": _fields(
            ("programId", "uint32"),
            ("account", "address"),
            ("amount", "uint32"),
            ("ref", "uint64"),
            ("deadline", "uint256"),
        )
    },
    "AwardBatch": {"AwardBatch": _fields(("programId", "uint32"), ("awards", "uint256[]"), ("deadline", "uint256"))},
    "ImportLegacy": {
        "ImportLegacy": _fields(("programId", "uint32"), ("entries", "uint256[]"), ("deadline", "uint256"))
    },
    "Redeem": {
        "Redeem": _fields(
            ("citizen", "address"),
            ("merchantId", "uint32"),
            ("amount", "uint256"),
            ("orderRef", "bytes32"),
            ("nonce", "uint256"),
            ("deadline", "uint256"),
        )
    },
}
TYPEHASH_CONSTANTS = {
    "Award": "AWARD_TYPEHASH",
    "AwardBatch": "AWARD_BATCH_TYPEHASH",
    "ImportLegacy": "IMPORT_LEGACY_TYPEHASH",
    "Redeem": "REDEEM_TYPEHASH",
}

#: HTTP statuses for contract errors the platform's name rule does not classify well, and hints.
_STATUS = {
    "CivicMileageNotCitizen": 422,
    "CivicMileageCitizenNotActive": 409,
    "CivicMileageCapExceeded": 409,
    "CivicMileageInsufficientBalance": 409,
    "CivicMileagePolicyLocked": 409,
    "CivicMileageSettlementExceedsUnsettled": 409,
}
_HINT = {
    "CivicMileageNotCitizen": "the address is not the current key of any citizen",
    "CivicMileageCitizenNotActive": "the citizen is suspended",
    "CivicMileageCapExceeded": "the program's annual cap would be exceeded",
    "CivicMileageInsufficientBalance": "not enough unexpired points",
    "CivicMileageUnknownMerchant": "no such merchant, or it no longer accepts redemptions",
    "CivicMileageUnknownProgram": "no such program",
    "CivicMileageUnauthorizedAwarder": "the program is closed, or the sender is not its awarder",
    "CivicMileageSignatureExpired": "the message's deadline has passed: fetch fresh typed data and sign again",
    "CivicMileageInvalidAccountNonce": "the nonce was used or is not the next one: fetch fresh typed data",
    "CivicMileageInvalidSignature": "the signature is not by the expected signer",
    "CivicMileagePolicyLocked": "the validity is fixed once a merchant is registered",
}


# -- helpers -------------------------------------------------------------------------------


def mileage(platform: Platform) -> Contract:
    return platform.deployment.contract(CONTRACT)


def _read(platform: Platform, fn: Any) -> Any:
    return fn.call({"from": platform.operator.address})


def chain_time(platform: Platform) -> int:
    """The chain's clock: the later of the head block's time and the wall clock."""
    return platform.chain.now()


def deadline_in(platform: Platform, ttl_s: int) -> int:
    """A deadline ``ttl_s`` after the chain's clock (not the wall clock: a dev chain may run ahead)."""
    return max(chain_time(platform), eip712.deadline(0)) + ttl_s


def typed_message(platform: Platform, primary: str, message: dict[str, Any]) -> eip712.TypedMessage:
    domain = eip712.domain(CONTRACT, platform.chain.chain_id, platform.deployment.address(CONTRACT))
    return eip712.TypedMessage(domain, primary, TYPES[primary], message)


def pack_award(account: str, amount: int, ref: int) -> int:
    """One ``awardBatch`` word: ``account << 96 | amount << 64 | ref``."""
    return (int(account, 16) << 96) | (amount << 64) | ref


def pack_legacy(account: str, amount: int) -> int:
    return (int(account, 16) << 96) | (amount << 64)


def order_ref_of(order_id: str) -> str:
    """The on-chain order reference of a merchant's order id: keccak256 of its UTF-8 text."""
    return "0x" + keccak(text=order_id).hex()


def business_number_hash(business_number: str, salt: bytes) -> str:
    """keccak256(salt || digits) of a business registration number (e.g. 123-45-67890)."""
    digits = "".join(ch for ch in business_number if ch.isdigit())
    if len(digits) != 10:
        raise InvalidInput(f"business number {business_number!r} must have 10 digits (e.g. 123-45-67890)")
    if len(salt) != 32:
        raise InvalidInput("business number salt must be 32 bytes")
    return "0x" + keccak(salt + digits.encode()).hex()


def refine(exc: ContractError) -> ContractError:
    if exc.error_name in _STATUS:
        exc.status = _STATUS[exc.error_name]
    hint = _HINT.get(exc.error_name)
    if hint and hint not in exc.message:
        exc.message = f"{exc.message}: {hint}"
    return exc


def _relay(platform: Platform, fn: Any) -> Receipt:
    try:
        return platform.relayer.transact(fn, simulate=True)
    except ContractError as exc:
        raise refine(exc) from None


def _call(platform: Platform, fn: Any) -> Any:
    try:
        return platform.relayer.call(fn)
    except ContractError as exc:
        raise refine(exc) from None


def _events(platform: Platform, name: str, receipt: Receipt) -> list[dict[str, Any]]:
    return [
        dict(e["args"]) for e in getattr(mileage(platform).events, name)().process_receipt(receipt.raw, errors=DISCARD)
    ]


def _tx(receipt: Receipt) -> dict[str, Any]:
    return {"tx_hash": receipt.tx_hash, "block_number": receipt.block_number, "gas_used": receipt.gas_used}


def require_signer(typed: eip712.TypedMessage, signature: str, expected: str, role: str) -> None:
    recovered = typed.recover(signature)
    if recovered != to_checksum_address(expected):
        raise Forbidden(
            f"the signature does not recover to the {role} {to_checksum_address(expected)} (it recovers to "
            f"{recovered}): sign exactly the typed data of the matching typed-data endpoint with that key",
            code="invalid_signature",
            details={"expected_signer": to_checksum_address(expected), "recovered": recovered},
        )


def _typed_out(typed: eip712.TypedMessage, signer: str, nonce: int | None = None) -> TypedDataOut:
    return TypedDataOut(
        typed_data=typed.to_dict(),
        signer=signer,
        deadline=int(typed.message["deadline"]),
        nonce=nonce,
        digest="0x" + typed.digest().hex(),
    )


def _sig(signature: str) -> bytes:
    return bytes.fromhex(signature[2:])


# -- policy --------------------------------------------------------------------------------


def policy(platform: Platform) -> PolicyOut:
    m = mileage(platform)
    origin, length, validity = _read(platform, m.functions.epochPolicy())
    epoch = int(_read(platform, m.functions.currentEpoch()))
    return PolicyOut(
        epoch_origin=origin,
        epoch_length_s=length,
        validity_epochs=validity,
        current_epoch=epoch,
        current_epoch_start=origin + epoch * length,
        chain_time=chain_time(platform),
        contract=m.address,
    )


def set_validity(platform: Platform, validity_epochs: int) -> PolicyOut:
    _relay(platform, mileage(platform).functions.setValidityEpochs(validity_epochs))
    return policy(platform)


def advance_time(platform: Platform, seconds: int) -> PolicyOut:
    """Development chains only: move the chain's clock ``seconds`` ahead and mine a block.

    For demonstrations of expiry (embedded: eth-tester ``time_travel``; anvil/hardhat:
    ``evm_increaseTime`` + ``evm_mine``). Refused on any other chain.
    """
    chain = platform.chain
    if not chain.is_development:
        raise Forbidden(
            f"chain id {chain.chain_id} is not a development chain: its clock can not be moved",
            code="not_a_development_chain",
        )
    if seconds <= 0:
        raise InvalidInput(f"seconds must be positive, got {seconds}")
    if chain.tester is not None:
        with chain.lock:
            now = int(chain.tester.get_block_by_number("pending")["timestamp"])
            chain.tester.time_travel(now + seconds)
    else:
        try:
            chain.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
            chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - a node without the dev methods
            raise InvalidInput(f"the node refused evm_increaseTime/evm_mine: {exc}") from None
    return policy(platform)


# -- programs ------------------------------------------------------------------------------


def program(platform: Platform, program_id: int) -> ProgramOut:
    m = mileage(platform)
    if program_id <= 0 or program_id > int(_read(platform, m.functions.programCount())):
        raise NotFound(f"no mileage program {program_id}", code="program_not_found")
    p = _read(platform, m.functions.programOf(program_id))
    awarder = p[0] if int(p[0], 16) else None
    return ProgramOut(
        program_id=program_id,
        name=p[4],
        awarder=awarder,
        annual_cap=p[1],
        awarded_in_year=p[2],
        year=p[3],
        open=awarder is not None,
    )


def programs(platform: Platform) -> list[ProgramOut]:
    count = int(_read(platform, mileage(platform).functions.programCount()))
    return [program(platform, i) for i in range(1, count + 1)]


def register_program(platform: Platform, body: ProgramCreate) -> ProgramOut:
    receipt = _relay(platform, mileage(platform).functions.registerProgram(body.name, body.awarder, body.annual_cap))
    (event,) = _events(platform, "ProgramRegistered", receipt)
    return program(platform, int(event["programId"])).model_copy(update=_tx(receipt))


def update_program(platform: Platform, program_id: int, body: ProgramUpdate) -> ProgramOut:
    awarder = body.awarder or "0x" + "00" * 20
    receipt = _relay(platform, mileage(platform).functions.updateProgram(program_id, awarder, body.annual_cap))
    return program(platform, program_id).model_copy(update=_tx(receipt))


def _awarder(platform: Platform, program_id: int) -> str:
    p = program(platform, program_id)
    if p.awarder is None:
        raise refine(
            ContractError(
                "CivicMileageUnauthorizedAwarder", {"programId": program_id, "caller": "0x" + "00" * 20}, CONTRACT
            )
        )
    return p.awarder


# -- awards --------------------------------------------------------------------------------


def _award_message(program_id: int, item: AwardItem, deadline: int) -> dict[str, Any]:
    return {
        "programId": program_id,
        "account": item.account,
        "amount": item.amount,
        "ref": item.ref,
        "deadline": deadline,
    }


def award_typed_data(platform: Platform, program_id: int, item: AwardItem, ttl_s: int) -> TypedDataOut:
    awarder = _awarder(platform, program_id)
    typed = typed_message(platform, "Award", _award_message(program_id, item, deadline_in(platform, ttl_s)))
    return _typed_out(typed, awarder)


def award(platform: Platform, program_id: int, body: AwardCreate) -> AwardOut:
    """Relay an awarder-signed award; a reference used before returns ``awarded=False`` without a transaction."""
    awarder = _awarder(platform, program_id)
    typed = typed_message(platform, "Award", _award_message(program_id, body, body.deadline))
    require_signer(typed, body.signature, awarder, f"awarder of program {program_id}")
    m = mileage(platform)
    fn = m.functions.award(program_id, body.account, body.amount, body.ref, body.deadline, _sig(body.signature))
    base = {"program_id": program_id, "account": body.account, "amount": body.amount, "ref": body.ref}
    if not _call(platform, fn):  # simulation says duplicate: idempotent, nothing to send
        cid = int(_read(platform, platform.deployment.contract("CitizenRegistry").functions.citizenIdOf(body.account)))
        return AwardOut(**base, citizen_id=cid or None, awarded=False)
    receipt = _relay(platform, fn)
    awarded = _events(platform, "PointsAwarded", receipt)
    if not awarded:  # a concurrent request used the reference between simulation and mining
        return AwardOut(**base, citizen_id=None, awarded=False, **_tx(receipt))
    e = awarded[0]
    return AwardOut(**base, citizen_id=int(e["citizenId"]), awarded=True, epoch=int(e["epoch"]), **_tx(receipt))


def _batch_message(program_id: int, items: Sequence[AwardItem], deadline: int) -> dict[str, Any]:
    _check_batch(items)
    return {
        "programId": program_id,
        "awards": [pack_award(i.account, i.amount, i.ref) for i in items],
        "deadline": deadline,
    }


def _check_batch(items: Sequence[Any]) -> None:
    if not 1 <= len(items) <= MAX_BATCH:
        raise InvalidInput(f"a batch holds 1..{MAX_BATCH} entries, not {len(items)}")


def award_batch_typed_data(platform: Platform, program_id: int, items: Sequence[AwardItem], ttl_s: int) -> TypedDataOut:
    awarder = _awarder(platform, program_id)
    return _typed_out(
        typed_message(platform, "AwardBatch", _batch_message(program_id, items, deadline_in(platform, ttl_s))), awarder
    )


def award_batch(platform: Platform, program_id: int, body: AwardBatchCreate) -> AwardBatchOut:
    awarder = _awarder(platform, program_id)
    message = _batch_message(program_id, body.awards, body.deadline)
    typed = typed_message(platform, "AwardBatch", message)
    require_signer(typed, body.signature, awarder, f"awarder of program {program_id}")
    fn = mileage(platform).functions.awardBatch(program_id, message["awards"], body.deadline, _sig(body.signature))
    receipt = _relay(platform, fn)
    credited: list[CreditedOut] = []
    epoch = None
    for e in _events(platform, "PointsAwardedBatch", receipt):
        epoch = int(e["epoch"])
        credited += [CreditedOut(citizen_id=w >> 96, amount=(w >> 64) & _M32, ref=w & _M64) for w in e["awards"]]
    skipped = [
        SkippedOut(account=e["account"], ref=int(e["ref"]), reason=SKIP_REASONS[int(e["reason"])])
        for e in _events(platform, "AwardSkipped", receipt)
    ]
    return AwardBatchOut(
        program_id=program_id,
        awarded_count=len(credited),
        credited=credited,
        skipped=skipped,
        epoch=epoch,
        **_tx(receipt),
    )


def _legacy_message(program_id: int, items: Sequence[LegacyItem], deadline: int) -> dict[str, Any]:
    _check_batch(items)
    return {"programId": program_id, "entries": [pack_legacy(i.account, i.amount) for i in items], "deadline": deadline}


def legacy_typed_data(platform: Platform, program_id: int, items: Sequence[LegacyItem], ttl_s: int) -> TypedDataOut:
    awarder = _awarder(platform, program_id)
    return _typed_out(
        typed_message(platform, "ImportLegacy", _legacy_message(program_id, items, deadline_in(platform, ttl_s))),
        awarder,
    )


def import_legacy(platform: Platform, program_id: int, body: LegacyImportCreate) -> LegacyImportOut:
    """Relay a signed legacy import; citizens imported before are skipped (``AlreadyImported``)."""
    awarder = _awarder(platform, program_id)
    message = _legacy_message(program_id, body.entries, body.deadline)
    typed = typed_message(platform, "ImportLegacy", message)
    require_signer(typed, body.signature, awarder, f"awarder of program {program_id}")
    fn = mileage(platform).functions.importLegacy(program_id, message["entries"], body.deadline, _sig(body.signature))
    receipt = _relay(platform, fn)
    credited = [
        CreditedOut(citizen_id=int(e["citizenId"]), amount=int(e["amount"]))
        for e in _events(platform, "LegacyPointsImported", receipt)
    ]
    skipped = [
        SkippedOut(account=e["account"], reason=SKIP_REASONS[int(e["reason"])])
        for e in _events(platform, "LegacyImportSkipped", receipt)
    ]
    return LegacyImportOut(
        program_id=program_id, imported_count=len(credited), credited=credited, skipped=skipped, **_tx(receipt)
    )


# -- merchants -----------------------------------------------------------------------------


def merchant(platform: Platform, merchant_id: int) -> MerchantOut:
    m = mileage(platform)
    if merchant_id <= 0 or merchant_id > int(_read(platform, m.functions.merchantCount())):
        raise NotFound(f"no merchant {merchant_id}", code="merchant_not_found")
    active, district, unsettled, redeemed, biz, name = _read(platform, m.functions.merchantOf(merchant_id))
    return MerchantOut(
        merchant_id=merchant_id,
        name=name,
        district=district,
        active=active,
        business_number_hash="0x" + bytes(biz).hex(),
        unsettled=unsettled,
        redeemed=redeemed,
    )


def merchants(platform: Platform) -> list[MerchantOut]:
    count = int(_read(platform, mileage(platform).functions.merchantCount()))
    return [merchant(platform, i) for i in range(1, count + 1)]


def register_merchant(platform: Platform, body: MerchantCreate) -> MerchantOut:
    fn = mileage(platform).functions.registerMerchant(body.name, _sig(body.business_number_hash), body.district)
    receipt = _relay(platform, fn)
    (event,) = _events(platform, "MerchantRegistered", receipt)
    return merchant(platform, int(event["merchantId"])).model_copy(update=_tx(receipt))


def deactivate_merchant(platform: Platform, merchant_id: int) -> MerchantOut:
    receipt = _relay(platform, mileage(platform).functions.deactivateMerchant(merchant_id))
    return merchant(platform, merchant_id).model_copy(update=_tx(receipt))


def settle(platform: Platform, merchant_id: int, body: SettlementCreate) -> SettlementOut:
    current = merchant(platform, merchant_id)
    amount = body.amount if body.amount is not None else current.unsettled
    if amount == 0:
        raise InvalidInput(f"merchant {merchant_id} has nothing to settle", code="nothing_to_settle")
    receipt = _relay(platform, mileage(platform).functions.settleMerchant(merchant_id, body.period, amount))
    (e,) = _events(platform, "MerchantSettled", receipt)
    return SettlementOut(
        merchant_id=merchant_id,
        period=int(e["period"]),
        amount=int(e["amount"]),
        unsettled_after=int(e["unsettledAfter"]),
        **_tx(receipt),
    )


# -- redemptions ---------------------------------------------------------------------------


def _citizen_id(platform: Platform, account: str) -> int:
    return int(_read(platform, platform.deployment.contract("CitizenRegistry").functions.citizenIdOf(account)))


def redemption_typed_data(
    platform: Platform, citizen: str, merchant_id: int, amount: int, order_ref: str, ttl_s: int
) -> TypedDataOut:
    m = mileage(platform)
    if not _citizen_id(platform, citizen):
        raise refine(ContractError("CivicMileageNotCitizen", {"account": citizen}, CONTRACT))
    nonce = int(_read(platform, m.functions.nonces(citizen)))
    message = {
        "citizen": citizen,
        "merchantId": merchant_id,
        "amount": amount,
        "orderRef": _sig(order_ref),
        "nonce": nonce,
        "deadline": deadline_in(platform, ttl_s),
    }
    return _typed_out(typed_message(platform, "Redeem", message), citizen, nonce)


def redeem(platform: Platform, body: RedemptionCreate) -> RedemptionOut:
    """Check the citizen's signature, simulate, relay; report expired buckets written off on the way."""
    message = {
        "citizen": body.citizen,
        "merchantId": body.merchant_id,
        "amount": body.amount,
        "orderRef": _sig(body.order_ref),
        "nonce": body.nonce,
        "deadline": body.deadline,
    }
    typed = typed_message(platform, "Redeem", message)
    require_signer(typed, body.signature, body.citizen, "citizen")
    m = mileage(platform)
    receipt = _relay(
        platform,
        m.functions.redeem(
            body.citizen,
            body.merchant_id,
            body.amount,
            _sig(body.order_ref),
            body.nonce,
            body.deadline,
            _sig(body.signature),
        ),
    )
    (e,) = _events(platform, "PointsRedeemed", receipt)
    cid = int(e["citizenId"])
    expired = [
        ExpiryOut(epoch=int(x["epoch"]), amount=int(x["amount"])) for x in _events(platform, "PointsExpired", receipt)
    ]
    balance_after = int(_read(platform, m.functions.pointsOf(cid))[0])
    return RedemptionOut(
        citizen=body.citizen,
        citizen_id=cid,
        merchant_id=body.merchant_id,
        amount=body.amount,
        order_ref=body.order_ref,
        epoch=int(e["epoch"]),
        expired=expired,
        balance_after=balance_after,
        **_tx(receipt),
    )


# -- balances ------------------------------------------------------------------------------


def balance(platform: Platform, account: str) -> BalanceOut:
    cid = _citizen_id(platform, account)
    if not cid:
        raise NotFound(f"{account} is not the current key of any citizen", code="citizen_not_found")
    return balance_of_citizen(platform, cid, account)


def balance_of_citizen(platform: Platform, citizen_id: int, account: str) -> BalanceOut:
    m = mileage(platform)
    pol = policy(platform)
    bal, unrealised = _read(platform, m.functions.pointsOf(citizen_id))
    head, amounts = _read(platform, m.functions.bucketsOf(citizen_id))
    buckets = []
    for i, amount in enumerate(amounts):
        if amount:
            epoch = head - i
            ends = epoch + pol.validity_epochs
            buckets.append(
                BucketOut(
                    epoch=epoch,
                    amount=amount,
                    expires_at_epoch=ends,
                    expires_at=pol.epoch_origin + ends * pol.epoch_length_s,
                    expired=ends <= pol.current_epoch,
                )
            )
    buckets.sort(key=lambda b: b.epoch)
    nonce = int(_read(platform, m.functions.nonces(account)))
    return BalanceOut(
        account=account,
        citizen_id=citizen_id,
        balance=bal,
        expired_unrealised=unrealised,
        current_epoch=pol.current_epoch,
        nonce=nonce,
        buckets=buckets,
    )


# -- replay of the logs (reports) ----------------------------------------------------------


@dataclass
class _Totals:
    awarded: int = 0
    imported: int = 0
    redeemed: int = 0
    expired: int = 0

    @property
    def outstanding(self) -> int:
        return self.awarded + self.imported - self.redeemed - self.expired


@dataclass
class _Citizen:
    lots: dict[int, deque[list[int]]] = field(default_factory=lambda: defaultdict(deque))  # epoch -> [[program, left]]
    totals: _Totals = field(default_factory=_Totals)
    unrealised: int = 0
    entries: list[StatementEntry] = field(default_factory=list)


@dataclass
class Replay:
    """Every CivicMileage log up to ``block_number``, folded into per-program and per-citizen books."""

    block_number: int
    current_epoch: int
    validity: int
    programs: dict[int, _Totals] = field(default_factory=lambda: defaultdict(_Totals))
    citizens: dict[int, _Citizen] = field(default_factory=lambda: defaultdict(_Citizen))
    merchant_periods: dict[tuple[int, int], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    settled: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def _credit(self, cid: int, pid: int, epoch: int, amount: int, kind: str, entry: StatementEntry) -> None:
        c = self.citizens[cid]
        c.lots[epoch].append([pid, amount])
        if kind == "award":
            self.programs[pid].awarded += amount
            c.totals.awarded += amount
        else:
            self.programs[pid].imported += amount
            c.totals.imported += amount
        c.entries.append(entry)

    def _consume(self, cid: int, epochs: Iterable[int], amount: int, what: str) -> None:
        c = self.citizens[cid]
        left = amount
        for epoch in epochs:
            lots = c.lots.get(epoch)
            while lots and left:
                lot = lots[0]
                take = min(lot[1], left)
                lot[1] -= take
                left -= take
                setattr(self.programs[lot[0]], what, getattr(self.programs[lot[0]], what) + take)
                if lot[1] == 0:
                    lots.popleft()
            if not left:
                break
        if left:  # pragma: no cover - the contract never spends points it does not have
            raise InvalidInput(f"log replay: citizen {cid} {what} {amount} points the books do not hold")

    def apply(self, name: str, a: dict[str, Any], block: int, tx: str) -> None:
        if name == "PointsAwarded":
            self._credit(
                int(a["citizenId"]),
                int(a["programId"]),
                int(a["epoch"]),
                int(a["amount"]),
                "award",
                StatementEntry(
                    block_number=block,
                    tx_hash=tx,
                    kind="award",
                    epoch=int(a["epoch"]),
                    amount=int(a["amount"]),
                    program_id=int(a["programId"]),
                    ref=int(a["ref"]),
                ),
            )
        elif name == "PointsAwardedBatch":
            pid, epoch = int(a["programId"]), int(a["epoch"])
            for w in a["awards"]:
                cid, amount, ref = w >> 96, (w >> 64) & _M32, w & _M64
                self._credit(
                    cid,
                    pid,
                    epoch,
                    amount,
                    "award",
                    StatementEntry(
                        block_number=block,
                        tx_hash=tx,
                        kind="award",
                        epoch=epoch,
                        amount=amount,
                        program_id=pid,
                        ref=ref,
                    ),
                )
        elif name == "LegacyPointsImported":
            self._credit(
                int(a["citizenId"]),
                int(a["programId"]),
                int(a["epoch"]),
                int(a["amount"]),
                "legacy",
                StatementEntry(
                    block_number=block,
                    tx_hash=tx,
                    kind="legacy",
                    epoch=int(a["epoch"]),
                    amount=int(a["amount"]),
                    program_id=int(a["programId"]),
                ),
            )
        elif name == "PointsExpired":
            cid, epoch, amount = int(a["citizenId"]), int(a["epoch"]), int(a["amount"])
            self._consume(cid, [epoch], amount, "expired")
            self.citizens[cid].totals.expired += amount
            self.citizens[cid].entries.append(
                StatementEntry(block_number=block, tx_hash=tx, kind="expiry", epoch=epoch, amount=-amount)
            )
        elif name == "PointsRedeemed":
            cid, mid, amount, epoch = int(a["citizenId"]), int(a["merchantId"]), int(a["amount"]), int(a["epoch"])
            c = self.citizens[cid]
            self._consume(cid, sorted(e for e, lots in c.lots.items() if lots), amount, "redeemed")
            c.totals.redeemed += amount
            c.entries.append(
                StatementEntry(
                    block_number=block,
                    tx_hash=tx,
                    kind="redemption",
                    epoch=epoch,
                    amount=-amount,
                    merchant_id=mid,
                    order_ref="0x" + bytes(a["orderRef"]).hex(),
                )
            )
            row = self.merchant_periods[(mid, epoch)]
            row[0] += 1
            row[1] += amount
        elif name == "MerchantSettled":
            self.settled[int(a["merchantId"])] += int(a["amount"])

    def finish(self) -> None:
        """Write off, in the books only, what has expired on chain without a log yet."""
        for cid, c in self.citizens.items():
            for epoch in sorted(c.lots):
                if epoch + self.validity <= self.current_epoch:
                    left = sum(lot[1] for lot in c.lots[epoch])
                    if left:
                        self._consume(cid, [epoch], left, "expired")
                        c.unrealised += left
                        c.totals.expired += left


def replay(platform: Platform) -> Replay:
    m = mileage(platform)
    w3 = platform.chain.w3
    head = int(w3.eth.block_number)
    pol = policy(platform)
    book = Replay(block_number=head, current_epoch=pol.current_epoch, validity=pol.validity_epochs)
    start = int(platform.deployment.entries[CONTRACT]["block"])
    event_abis: list[Any] = [e for e in m.abi if e.get("type") == "event"]
    by_topic = {bytes(event_abi_to_log_topic(e)): str(e["name"]) for e in event_abis}
    logs = w3.eth.get_logs({"address": m.address, "fromBlock": start, "toBlock": head})
    for log in sorted(logs, key=lambda lg: (int(lg["blockNumber"]), int(lg["logIndex"]))):
        topics = log["topics"]
        name = by_topic.get(bytes(topics[0])) if topics else None
        if name is None:
            continue
        decoded = getattr(m.events, name)().process_log(log)
        book.apply(name, dict(decoded["args"]), int(log["blockNumber"]), "0x" + bytes(log["transactionHash"]).hex())
    book.finish()
    return book


def liability(platform: Platform) -> LiabilityOut:
    """Outstanding points per program, and the check that they add up to the citizens' balances."""
    book = replay(platform)
    names = {p.program_id: p.name for p in programs(platform)}
    rows = [
        LiabilityRow(
            program_id=pid,
            name=names.get(pid, "?"),
            awarded=t.awarded,
            imported=t.imported,
            redeemed=t.redeemed,
            expired=t.expired,
            outstanding=t.outstanding,
        )
        for pid, t in sorted(book.programs.items())
    ]
    for pid, name in names.items():
        if pid not in book.programs:
            rows.append(
                LiabilityRow(program_id=pid, name=name, awarded=0, imported=0, redeemed=0, expired=0, outstanding=0)
            )
    rows.sort(key=lambda r: r.program_id)
    total = LiabilityRow(
        program_id=0,
        name="TOTAL",
        awarded=sum(r.awarded for r in rows),
        imported=sum(r.imported for r in rows),
        redeemed=sum(r.redeemed for r in rows),
        expired=sum(r.expired for r in rows),
        outstanding=sum(r.outstanding for r in rows),
    )
    m = mileage(platform)
    on_chain = sum(int(_read(platform, m.functions.pointsOf(cid))[0]) for cid in book.citizens)
    return LiabilityOut(
        block_number=book.block_number,
        current_epoch=book.current_epoch,
        rows=rows,
        total=total,
        on_chain_balance_total=on_chain,
        balanced=on_chain == total.outstanding,
    )


def merchant_report(platform: Platform) -> MerchantReportOut:
    book = replay(platform)
    pol = policy(platform)
    known = {x.merchant_id: x for x in merchants(platform)}
    rows = [
        MerchantPeriodRow(
            merchant_id=mid,
            name=known[mid].name if mid in known else "?",
            epoch=epoch,
            period_start=pol.epoch_origin + epoch * pol.epoch_length_s,
            period_end=pol.epoch_origin + (epoch + 1) * pol.epoch_length_s,
            redemptions=count,
            points=points,
        )
        for (mid, epoch), (count, points) in sorted(book.merchant_periods.items())
    ]
    totals = [
        MerchantTotalRow(
            merchant_id=mid, name=x.name, redeemed=x.redeemed, settled=book.settled.get(mid, 0), unsettled=x.unsettled
        )
        for mid, x in sorted(known.items())
    ]
    return MerchantReportOut(block_number=book.block_number, rows=rows, merchants=totals)


def statement(platform: Platform, citizen_id: int) -> StatementOut:
    if citizen_id <= 0:
        raise NotFound(f"no citizen {citizen_id}", code="citizen_not_found")
    registry = platform.deployment.contract("CitizenRegistry")
    account = _read(platform, registry.functions.accountOf(citizen_id))
    if not int(account, 16):
        raise NotFound(f"no citizen {citizen_id}", code="citizen_not_found")
    book = replay(platform)
    c = book.citizens.get(citizen_id) or _Citizen()
    bal = int(_read(platform, mileage(platform).functions.pointsOf(citizen_id))[0])
    t = c.totals
    return StatementOut(
        citizen_id=citizen_id,
        account=account,
        current_epoch=book.current_epoch,
        entries=c.entries,
        awarded=t.awarded,
        imported=t.imported,
        redeemed=t.redeemed,
        expired=t.expired,
        expired_unrealised=c.unrealised,
        balance=bal,
        conserved=t.awarded + t.imported == bal + t.redeemed + t.expired,
    )


def statement_of(platform: Platform, account: str) -> StatementOut:
    cid = _citizen_id(platform, account)
    if not cid:
        raise NotFound(f"{account} is not the current key of any citizen", code="citizen_not_found")
    return statement(platform, cid)


# -- CSV -----------------------------------------------------------------------------------


def to_csv(rows: Sequence[BaseModel]) -> str:
    """Rows of one model as CSV with a header line (empty string for no rows); formula-safe cells."""
    if not rows:
        return ""
    return csvsafe.dicts_to_text(list(type(rows[0]).model_fields), (row.model_dump() for row in rows))
