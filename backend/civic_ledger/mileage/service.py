"""ZeroPay-linked mileage (제로페이 연계 마일리지): the CivicMileage contract as domain operations.

Who signs what:
- a program's awarder key signs awards, award batches and legacy imports (EIP-712 ``Award``,
  ``AwardBatch``, ``ImportLegacy``; no nonce: the award reference is single-use, and a legacy
  import is once per (program, citizen));
- a citizen signs each redemption (``Redeem``, with the citizen's redemption nonce);
- the operator relays all of them and performs the city's own actions (programs, merchants,
  settlements), which the API only allows to a signed-in holder of the matching role.

This module holds the actions (each relays one contract call and answers from its receipt);
the messages and typed data are in :mod:`.messages`, and every read (balances, merchants,
reports) in :mod:`.reads`, which answers from the indexer's read models
(:mod:`.projections`), never by replaying logs. The reads are re-exported here, so
``service.liability`` etc. keep working for the router, the CLI and the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web3.logs import DISCARD

from civic_ledger.errors import Forbidden, InvalidInput
from civic_ledger.mileage.actions import ACTIONS
from civic_ledger.mileage.messages import (
    BUCKETS,
    CONTRACT,
    EPOCH_LENGTH,
    M32,
    M64,
    MAX_BATCH,
    SKIP_REASONS,
    TYPEHASH_CONSTANTS,
    TYPES,
    business_number_hash,
    chain_time,
    deadline_in,
    mileage,
    order_ref_of,
    pack_award,
    pack_legacy,
    typed_message,
)
from civic_ledger.mileage.messages import read as _read
from civic_ledger.mileage.messages import sig_bytes as _sig
from civic_ledger.mileage.messages import typed_out as _typed_out
from civic_ledger.mileage.reads import (
    balance,
    balance_of_citizen,
    liability,
    merchant,
    merchant_report,
    merchants,
    policy,
    program,
    programs,
    snapshot,
    statement,
    statement_of,
    to_csv,
)
from civic_ledger.mileage.reads import citizen_id as _citizen_id
from civic_ledger.mileage.schemas import (
    AwardBatchCreate,
    AwardBatchOut,
    AwardCreate,
    AwardItem,
    AwardOut,
    CreditedOut,
    ExpiryOut,
    LegacyImportCreate,
    LegacyImportOut,
    LegacyItem,
    MerchantCreate,
    MerchantOut,
    PolicyOut,
    ProgramCreate,
    ProgramOut,
    ProgramUpdate,
    RedemptionCreate,
    RedemptionOut,
    SettlementCreate,
    SettlementOut,
    SkippedOut,
    TypedDataOut,
)
from civic_ledger.platform import actions
from civic_ledger.platform.actions import Action
from civic_ledger.platform.relayer import Receipt
from civic_ledger.platform.runtime import Platform

__all__ = [
    "BUCKETS",
    "CONTRACT",
    "EPOCH_LENGTH",
    "MAX_BATCH",
    "SKIP_REASONS",
    "TYPEHASH_CONSTANTS",
    "TYPES",
    "balance",
    "balance_of_citizen",
    "business_number_hash",
    "chain_time",
    "deadline_in",
    "liability",
    "merchant",
    "merchant_report",
    "merchants",
    "order_ref_of",
    "pack_award",
    "pack_legacy",
    "policy",
    "program",
    "programs",
    "statement",
    "statement_of",
    "to_csv",
    "typed_message",
]

# -- relaying ------------------------------------------------------------------------------


def _relay(platform: Platform, fn: Any) -> Receipt:
    return platform.relayer.transact(fn, simulate=True)


def _call(platform: Platform, fn: Any) -> Any:
    return platform.relayer.call(fn)


def _events(platform: Platform, name: str, receipt: Receipt) -> list[dict[str, Any]]:
    return [
        dict(e["args"]) for e in getattr(mileage(platform).events, name)().process_receipt(receipt.raw, errors=DISCARD)
    ]


def _tx(receipt: Receipt) -> dict[str, Any]:
    return {"tx_hash": receipt.tx_hash, "block_number": receipt.block_number, "gas_used": receipt.gas_used}


# -- policy --------------------------------------------------------------------------------


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
        raise platform.decoder.error(
            "CivicMileageUnauthorizedAwarder", {"programId": program_id, "caller": "0x" + "00" * 20}, CONTRACT
        )
    return p.awarder


# -- awards --------------------------------------------------------------------------------


def _awarder_typed(platform: Platform, key: str, program_id: int, message: dict[str, Any], ttl_s: int) -> TypedDataOut:
    awarder = _awarder(platform, program_id)
    return _typed_out(actions.prepare(platform, ACTIONS[key], message, signer=awarder, ttl_s=ttl_s), awarder)


def _verify_awarder(
    platform: Platform, action: Action, program_id: int, message: dict[str, Any], signature: str
) -> actions.Signed:
    """The program's awarder must have signed (403 naming the program's awarder otherwise)."""
    awarder = _awarder(platform, program_id)
    signed = actions.Signed(platform, action, message, signature)
    return signed.verify(signer=awarder, role=f"awarder of program {program_id}")


def _award_message(program_id: int, item: AwardItem, deadline: int | None) -> dict[str, Any]:
    return {
        "programId": program_id,
        "account": item.account,
        "amount": item.amount,
        "ref": item.ref,
        "deadline": deadline,
    }


def award_typed_data(platform: Platform, program_id: int, item: AwardItem, ttl_s: int) -> TypedDataOut:
    return _awarder_typed(platform, "award", program_id, _award_message(program_id, item, None), ttl_s)


def award(platform: Platform, program_id: int, body: AwardCreate) -> AwardOut:
    """Relay an awarder-signed award; a reference used before returns ``awarded=False`` without a transaction."""
    action = ACTIONS["award"]
    message = _award_message(program_id, body, body.deadline)
    fn = _verify_awarder(platform, action, program_id, message, body.signature).call()
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


def _batch_message(program_id: int, items: Sequence[AwardItem], deadline: int | None) -> dict[str, Any]:
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
    return _awarder_typed(platform, "award_batch", program_id, _batch_message(program_id, items, None), ttl_s)


def award_batch(platform: Platform, program_id: int, body: AwardBatchCreate) -> AwardBatchOut:
    message = _batch_message(program_id, body.awards, body.deadline)
    signed = _verify_awarder(platform, ACTIONS["award_batch"], program_id, message, body.signature)
    contract = mileage(platform)
    done = [_read(platform, contract.functions.isAwarded(program_id, item.ref)) for item in body.awards]
    credited: list[CreditedOut] = []
    epoch = None
    if body.awards and all(done):  # a re-run: nothing to credit, so no transaction and no gas
        skipped = [SkippedOut(account=i.account, ref=i.ref, reason="Duplicate") for i in body.awards]
        tx: dict[str, Any] = {}
    else:
        receipt = signed.send()
        for e in _events(platform, "PointsAwardedBatch", receipt):
            epoch = int(e["epoch"])
            credited += [CreditedOut(citizen_id=w >> 96, amount=(w >> 64) & M32, ref=w & M64) for w in e["awards"]]
        skipped = [
            SkippedOut(account=e["account"], ref=int(e["ref"]), reason=SKIP_REASONS[int(e["reason"])])
            for e in _events(platform, "AwardSkipped", receipt)
        ]
        tx = _tx(receipt)
    return AwardBatchOut(
        program_id=program_id, awarded_count=len(credited), credited=credited, skipped=skipped, epoch=epoch, **tx
    )


def _legacy_message(program_id: int, items: Sequence[LegacyItem], deadline: int | None) -> dict[str, Any]:
    _check_batch(items)
    return {"programId": program_id, "entries": [pack_legacy(i.account, i.amount) for i in items], "deadline": deadline}


def legacy_typed_data(platform: Platform, program_id: int, items: Sequence[LegacyItem], ttl_s: int) -> TypedDataOut:
    return _awarder_typed(platform, "import_legacy", program_id, _legacy_message(program_id, items, None), ttl_s)


def import_legacy(platform: Platform, program_id: int, body: LegacyImportCreate) -> LegacyImportOut:
    """Relay a signed legacy import; citizens imported before are skipped (``AlreadyImported``)."""
    message = _legacy_message(program_id, body.entries, body.deadline)
    receipt = _verify_awarder(platform, ACTIONS["import_legacy"], program_id, message, body.signature).send()
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


def register_merchant(platform: Platform, body: MerchantCreate) -> MerchantOut:
    fn = mileage(platform).functions.registerMerchant(body.name, _sig(body.business_number_hash), body.district)
    receipt = _relay(platform, fn)
    (event,) = _events(platform, "MerchantRegistered", receipt)
    return merchant(platform, int(event["merchantId"]), block=receipt.block_number).model_copy(update=_tx(receipt))


def deactivate_merchant(platform: Platform, merchant_id: int) -> MerchantOut:
    receipt = _relay(platform, mileage(platform).functions.deactivateMerchant(merchant_id))
    return merchant(platform, merchant_id, block=receipt.block_number).model_copy(update=_tx(receipt))


def month_of(period: int) -> tuple[int, int] | None:
    """``202611`` → (2026, 11); any other label → None."""
    year, month = divmod(period, 100)
    return (year, month) if 1900 <= year <= 9999 and 1 <= month <= 12 else None


def redeemed_in_month(platform: Platform, merchant_id: int, year: int, month: int) -> int:
    """Points redeemed at the merchant in that calendar month, Seoul time (from the index and
    the blocks' timestamps), less what was settled for that period before."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    seoul = ZoneInfo("Asia/Seoul")
    start = int(datetime(year, month, 1, tzinfo=seoul).timestamp())
    end = int(datetime(year + month // 12, month % 12 + 1, 1, tzinfo=seoul).timestamp())
    with snapshot(platform) as (conn, _):
        rows = conn.execute(
            "SELECT block, -SUM(amount) FROM mileage_statement_lines WHERE merchant_id = ? AND kind = 'redemption' "
            "GROUP BY block",
            (merchant_id,),
        ).fetchall()
        settled = conn.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM mileage_settlements WHERE merchant_id = ? AND period = ?",
            (merchant_id, year * 100 + month),
        ).fetchone()[0]
    total = 0
    for block, points in rows:
        at = int(platform.chain.w3.eth.get_block(int(block))["timestamp"])
        if start <= at < end:
            total += int(points)
    return max(0, total - int(settled))


def settle(platform: Platform, merchant_id: int, body: SettlementCreate) -> SettlementOut:
    """Without an amount: ``month`` settles what was redeemed in that month (Seoul time) and not
    settled for it yet; a bare period label settles everything unsettled."""
    current = merchant(platform, merchant_id)
    month = month_of(int(body.period or 0)) if body.month is not None else None
    if body.amount is not None:
        amount = body.amount
    elif month is not None:
        amount = min(current.unsettled, redeemed_in_month(platform, merchant_id, *month))
        if amount == 0:
            raise InvalidInput(
                f"merchant {merchant_id} has nothing to settle for {month[0]}-{month[1]:02d}: no unsettled "
                "redemptions in that month (Seoul time)",
                code="nothing_to_settle",
            )
    else:
        amount = current.unsettled
    if amount == 0:
        raise InvalidInput(f"merchant {merchant_id} has nothing to settle", code="nothing_to_settle")
    receipt = _relay(platform, mileage(platform).functions.settleMerchant(merchant_id, int(body.period or 0), amount))
    (e,) = _events(platform, "MerchantSettled", receipt)
    return SettlementOut(
        merchant_id=merchant_id,
        period=int(e["period"]),
        amount=int(e["amount"]),
        unsettled_after=int(e["unsettledAfter"]),
        **_tx(receipt),
    )


# -- redemptions ---------------------------------------------------------------------------


def redemption_typed_data(
    platform: Platform, citizen: str, merchant_id: int, amount: int, order_ref: str, ttl_s: int
) -> TypedDataOut:
    if not _citizen_id(platform, citizen):
        raise platform.decoder.error("CivicMileageNotCitizen", {"account": citizen}, CONTRACT)
    message: dict[str, Any] = {
        "citizen": citizen,
        "merchantId": merchant_id,
        "amount": amount,
        "orderRef": _sig(order_ref),
    }
    typed = actions.prepare(platform, ACTIONS["redeem"], message, ttl_s=ttl_s)
    return _typed_out(typed, citizen, int(message["nonce"]))


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
    m = mileage(platform)
    receipt = actions.Signed(platform, ACTIONS["redeem"], message, body.signature).verify().send()
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
