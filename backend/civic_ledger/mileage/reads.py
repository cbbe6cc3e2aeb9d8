"""Mileage reads: balances, merchants and reports from the indexer's read models, never a log replay.

Every answer costs O(size of the answer): the per-citizen buckets, the statement lines, the
per-program and per-merchant totals are rows of :mod:`civic_ledger.mileage.projections`. The chain
is read only for O(1) values the events do not carry: the epoch policy and the current epoch
(block time), a program's yearly counter (``programOf``: calendar years of block timestamps), the
citizen id of an address (``CitizenRegistry.citizenIdOf``), and the bounded checks that reports
carry against the contract (see :class:`~civic_ledger.mileage.schemas.ChainCheckOut`).

Read-after-write: a read first waits until the index holds the chain's head as it was when the
read began (normally a few milliseconds: the indexer thread is woken), so a read never misses a
write acknowledged before it; an index that can not get there within :data:`FRESH_WAIT_S` (just
after a restart over a long history, or the node is down) answers 503 "retry shortly".
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

from pydantic import BaseModel

from civic_ledger.errors import NotFound
from civic_ledger.mileage import projections as q
from civic_ledger.mileage.messages import CONTRACT, chain_time, mileage, read
from civic_ledger.mileage.schemas import (
    BalanceOut,
    BucketOut,
    ChainCheckOut,
    LiabilityOut,
    LiabilityRow,
    MerchantOut,
    MerchantPeriodRow,
    MerchantReportOut,
    MerchantTotalRow,
    PolicyOut,
    ProgramOut,
    StatementEntry,
    StatementOut,
)
from civic_ledger.platform import csvsafe
from civic_ledger.platform.indexer import fresh_read
from civic_ledger.platform.runtime import Platform

#: Citizens (those whose points changed last) whose ``pointsOf`` the liability report compares.
CHECKED_CITIZENS = 8


@contextmanager
def snapshot(platform: Platform, *, block: int | None = None) -> Iterator[tuple[sqlite3.Connection, int]]:
    """One consistent read of the index, at least at ``block`` (default: the chain's head now)."""
    with fresh_read(platform, "mileage reads", block=block) as snap:
        yield snap


# -- policy and programs (contract state, O(1) calls) --------------------------------------------


class Epochs(NamedTuple):
    origin: int
    length: int
    validity: int
    current: int

    def expired_upto(self) -> int:
        """The newest epoch whose points have expired (``epoch + validity <= current``)."""
        return self.current - self.validity


#: deployment → (origin, length, validity) once the validity is locked (a merchant exists): none of
#: the three can change after that. Bounded (one entry per deployment, the oldest evicted).
_FIXED_POLICY: OrderedDict[tuple[str, int, str, int], tuple[int, int, int]] = OrderedDict()


def epochs(platform: Platform, conn: sqlite3.Connection) -> Epochs:
    """The epoch policy and the current epoch: one ``currentEpoch()`` call once the policy is fixed."""
    m = mileage(platform)
    deployed = int(platform.deployment.entries[CONTRACT].get("block", 0) or 0)
    key = (str(platform.settings.data_dir), platform.chain.chain_id, m.address, deployed)
    fixed = _FIXED_POLICY.get(key)
    if fixed is None:
        origin, length, validity = (int(x) for x in read(platform, m.functions.epochPolicy()))
        fixed = (origin, length, validity)
        if conn.execute("SELECT 1 FROM mileage_merchants LIMIT 1").fetchone():  # setValidityEpochs is closed
            _FIXED_POLICY[key] = fixed
            while len(_FIXED_POLICY) > 16:
                _FIXED_POLICY.popitem(last=False)
    return Epochs(*fixed, int(read(platform, m.functions.currentEpoch())))


def policy(platform: Platform) -> PolicyOut:
    m = mileage(platform)
    origin, length, validity = read(platform, m.functions.epochPolicy())
    epoch = int(read(platform, m.functions.currentEpoch()))
    return PolicyOut(
        epoch_origin=origin,
        epoch_length_s=length,
        validity_epochs=validity,
        current_epoch=epoch,
        current_epoch_start=origin + epoch * length,
        chain_time=chain_time(platform),
        contract=m.address,
    )


def program(platform: Platform, program_id: int) -> ProgramOut:
    """From the contract: ``awarded_in_year`` counts calendar years of block timestamps, which no event carries."""
    m = mileage(platform)
    if program_id <= 0 or program_id > int(read(platform, m.functions.programCount())):
        raise NotFound(f"no mileage program {program_id}", code="program_not_found")
    p = read(platform, m.functions.programOf(program_id))
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
    count = int(read(platform, mileage(platform).functions.programCount()))
    return [program(platform, i) for i in range(1, count + 1)]


def citizen_id(platform: Platform, account: str) -> int:
    return int(read(platform, platform.deployment.contract("CitizenRegistry").functions.citizenIdOf(account)))


# -- merchants (index) ------------------------------------------------------------------------


def _merchant_out(row: dict[str, object]) -> MerchantOut:
    return MerchantOut(**{k: v for k, v in row.items() if k != "settled"})  # type: ignore[arg-type]


def merchant(platform: Platform, merchant_id: int, *, block: int | None = None) -> MerchantOut:
    with snapshot(platform, block=block) as (conn, _):
        rows = q.merchant_rows(conn, merchant_id)
    if not rows:
        raise NotFound(f"no merchant {merchant_id}", code="merchant_not_found")
    return _merchant_out(rows[0])


def merchants(platform: Platform) -> list[MerchantOut]:
    with snapshot(platform) as (conn, _):
        return [_merchant_out(r) for r in q.merchant_rows(conn)]


# -- balances (index) -------------------------------------------------------------------------


def balance(platform: Platform, account: str) -> BalanceOut:
    cid = citizen_id(platform, account)
    if not cid:
        raise NotFound(f"{account} is not the current key of any citizen", code="citizen_not_found")
    return balance_of_citizen(platform, cid, account)


def balance_of_citizen(platform: Platform, citizen_id: int, account: str) -> BalanceOut:
    with snapshot(platform) as (conn, _):
        ep = epochs(platform, conn)
        held = q.buckets(conn, citizen_id)
        nonce = q.citizen_row(conn, citizen_id)["nonce"]
    bal, unrealised = q.split_expired(held, ep.current, ep.validity)
    out = []
    for epoch, amount in held:
        ends = epoch + ep.validity
        out.append(
            BucketOut(
                epoch=epoch,
                amount=amount,
                expires_at_epoch=ends,
                expires_at=ep.origin + ends * ep.length,
                expired=ends <= ep.current,
            )
        )
    return BalanceOut(
        account=account,
        citizen_id=citizen_id,
        balance=bal,
        expired_unrealised=unrealised,
        current_epoch=ep.current,
        nonce=nonce,
        buckets=out,
    )


# -- reports (index, checked against the chain) ---------------------------------------------------


def _chain_check(platform: Platform, conn: sqlite3.Connection, cursor: int, ep: Epochs) -> ChainCheckOut:
    """Compare the citizens changed last, and the program and merchant counts, with the contract."""
    m = mileage(platform)
    mismatched = []
    checked = q.recent_citizens(conn, CHECKED_CITIZENS)
    for cid in checked:
        expected = q.split_expired(q.buckets(conn, cid), ep.current, ep.validity)
        if tuple(int(x) for x in read(platform, m.functions.pointsOf(cid))) != expected:
            mismatched.append(cid)
    programs_index = int(conn.execute("SELECT COUNT(*) FROM mileage_programs").fetchone()[0])
    merchants_index = int(conn.execute("SELECT COUNT(*) FROM mileage_merchants").fetchone()[0])
    programs_chain = int(read(platform, m.functions.programCount()))
    merchants_chain = int(read(platform, m.functions.merchantCount()))
    return ChainCheckOut(
        block_number=cursor,
        citizens_checked=len(checked),
        citizens_mismatched=mismatched,
        programs_index=programs_index,
        programs_chain=programs_chain,
        merchants_index=merchants_index,
        merchants_chain=merchants_chain,
        ok=not mismatched and programs_index == programs_chain and merchants_index == merchants_chain,
    )


def _liability_at(platform: Platform) -> tuple[LiabilityOut, int]:
    with snapshot(platform) as (conn, cursor):
        ep = epochs(platform, conn)
        left = q.left_by_program(conn, expired_upto=ep.expired_upto())
        programs_ = q.program_rows(conn)
        check = _chain_check(platform, conn, cursor, ep)
    rows = []
    for p in programs_:
        unrealised, _live = left.get(int(p["program_id"]), (0, 0))
        expired = int(p["expired"]) + unrealised
        outstanding = int(p["awarded"]) + int(p["imported"]) - int(p["redeemed"]) - expired
        rows.append(LiabilityRow(**{**p, "expired": expired, "outstanding": outstanding}))
    total = LiabilityRow(
        program_id=0,
        name="TOTAL",
        awarded=sum(r.awarded for r in rows),
        imported=sum(r.imported for r in rows),
        redeemed=sum(r.redeemed for r in rows),
        expired=sum(r.expired for r in rows),
        outstanding=sum(r.outstanding for r in rows),
    )
    buckets_total = sum(live for _, live in left.values())
    report = LiabilityOut(
        block_number=cursor,
        current_epoch=ep.current,
        rows=rows,
        total=total,
        on_chain_balance_total=buckets_total,
        balanced=buckets_total == total.outstanding and check.ok,
        chain_check=check,
    )
    return report, cursor


def liability(platform: Platform) -> LiabilityOut:
    """Outstanding points per program (O(programs × epochs)), checked against the contract in O(1) calls."""
    report, cursor = _liability_at(platform)
    if not report.balanced and platform.chain.head() != cursor:  # the chain moved during the check: once more
        report, _ = _liability_at(platform)
    return report


def merchant_report(platform: Platform) -> MerchantReportOut:
    with snapshot(platform) as (conn, cursor):
        ep = epochs(platform, conn)
        known = {int(r["merchant_id"]): r for r in q.merchant_rows(conn)}
        periods = q.merchant_epochs(conn)
    rows = [
        MerchantPeriodRow(
            merchant_id=mid,
            name=str(known[mid]["name"]) if mid in known else "?",
            epoch=epoch,
            period_start=ep.origin + epoch * ep.length,
            period_end=ep.origin + (epoch + 1) * ep.length,
            redemptions=count,
            points=points,
        )
        for mid, epoch, count, points in periods
    ]
    totals = [
        MerchantTotalRow(
            merchant_id=mid, name=str(x["name"]), redeemed=x["redeemed"], settled=x["settled"], unsettled=x["unsettled"]
        )
        for mid, x in sorted(known.items())
    ]
    return MerchantReportOut(block_number=cursor, rows=rows, merchants=totals)


def _statement(platform: Platform, citizen_id: int, account: str) -> StatementOut:
    """A citizen's lines and totals: O(their lines), from the index (and the current epoch)."""
    with snapshot(platform) as (conn, cursor):
        ep = epochs(platform, conn)
        lines = q.statement_lines(conn, citizen_id)
        totals = q.citizen_row(conn, citizen_id)
        bal, unrealised = q.split_expired(q.buckets(conn, citizen_id), ep.current, ep.validity)
    expired = totals["expired"] + unrealised
    return StatementOut(
        citizen_id=citizen_id,
        account=account,
        current_epoch=ep.current,
        entries=[StatementEntry(block_number=x.pop("block"), **x) for x in lines],
        awarded=totals["awarded"],
        imported=totals["imported"],
        redeemed=totals["redeemed"],
        expired=expired,
        expired_unrealised=unrealised,
        balance=bal,
        conserved=totals["awarded"] + totals["imported"] == bal + totals["redeemed"] + expired,
        block_number=cursor,
    )


def statement(platform: Platform, citizen_id: int) -> StatementOut:
    if citizen_id <= 0:
        raise NotFound(f"no citizen {citizen_id}", code="citizen_not_found")
    registry = platform.deployment.contract("CitizenRegistry")
    account = read(platform, registry.functions.accountOf(citizen_id))
    if not int(account, 16):
        raise NotFound(f"no citizen {citizen_id}", code="citizen_not_found")
    return _statement(platform, citizen_id, account)


def statement_of(platform: Platform, account: str) -> StatementOut:
    """The statement of the citizen whose current key is ``account`` (so it is their account too)."""
    cid = citizen_id(platform, account)
    if not cid:
        raise NotFound(f"{account} is not the current key of any citizen", code="citizen_not_found")
    return _statement(platform, cid, account)


# -- CSV ----------------------------------------------------------------------------------------


def to_csv(rows: Sequence[BaseModel]) -> str:
    """Rows of one model as CSV with a header line (empty string for no rows); formula-safe cells."""
    if not rows:
        return ""
    return csvsafe.dicts_to_text(list(type(rows[0]).model_fields), (row.model_dump() for row in rows))
