"""Labour benchmark: gas of the two hot transactions and the cost of a worker-year of checks.

Figures:
- gas_register_contract: `registerContract` with both signatures, a fresh employer and a
  fresh citizen worker (the first contract of both: worst case). Target ≤ 150,000.
- gas_confirm_week: the worker's `confirmWeek` of a recorded week. Target ≤ 60,000.
- gas_record_week, gas_record_wage_statement: the employer's side, for reference.
- gas_record_week: the employer's `recordWeek` of five 4 h shifts (the shifts are in the event
  and the contract derives the week's summary and Merkle root from them).
- compliance_check_ms_per_worker_year: the pure compliance engine over 52 confirmed weeks of five
  shifts each (every rule: straight time, overtime, night, holiday work, breaks, weekly holiday
  pay) and 52 weekly statements (median of 20 runs).
- compliance_service_ms_per_worker_year: the same through the service, reading the 52 weeks and
  statements from the embedded chain's events first (what `GET …/compliance` costs).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "backend"))

from eth_account import Account  # noqa: E402
from eth_utils import keccak  # noqa: E402

from civic_ledger.labor import compliance as cx  # noqa: E402
from civic_ledger.labor import service as svc  # noqa: E402
from civic_ledger.labor.schemas import (  # noqa: E402
    ContractCreate,
    DailyEntry,
    StatementRecord,
    TermsCreate,
    WeekCreate,
    WeekRecord,
)
from civic_ledger.platform import eip712  # noqa: E402
from civic_ledger.platform.runtime import Platform  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.helpers import make_registrar, register_citizen  # noqa: E402

START = date(2026, 1, 5)  # a Monday
TABLE = {2019: 8350, 2020: 8590, 2021: 8720, 2022: 9160, 2023: 9620, 2024: 9860, 2025: 10030, 2026: 10320}


def _sign(typed: dict, key) -> str:  # type: ignore[no-untyped-def]
    return "0x" + eip712.TypedMessage.from_dict(typed).sign(key).hex()


def _gas(platform: Platform, tx_hash: str) -> int:
    return int(platform.chain.w3.eth.get_transaction_receipt(tx_hash)["gasUsed"])


def _engine_ms() -> float:
    terms = cx.Terms(
        hourly_wage=10_320,
        daily_minutes=240,
        weekly_minutes=1200,
        work_days=0b11111,
        start_date=START,
        end_date=date(2027, 1, 31),
        pay_cycle=cx.WEEKLY,
        pay_day=5,
        break_minutes=30,
        five_or_more=True,
    )

    def shifts(monday: date, missed: int | None) -> tuple[cx.Shift, ...]:
        return tuple(cx.Shift(monday + timedelta(days=d), 540, 810, 30) for d in range(5) if d != missed)

    weeks = [
        cx.WeekLog(
            START + timedelta(weeks=i),
            1200 - (240 if i % 7 == 3 else 0),
            0b11111 if i % 7 != 3 else 0b11011,
            "confirmed",
            shifts=shifts(START + timedelta(weeks=i), 2 if i % 7 == 3 else None),
        )
        for i in range(52)
    ]
    statements = [
        cx.Statement(
            w.week_start,
            w.week_start + timedelta(days=6),
            w.week_start + timedelta(days=11 + (i % 9 == 0)),
            206_400 + 41_280,
            206_400,
            41_280 if i % 5 else 0,
            0,
            0,
            0,
        )
        for i, w in enumerate(weeks)
    ]
    runs = []
    for _ in range(20):
        started = time.perf_counter()
        cx.check(terms, weeks, statements, TABLE, date(2027, 2, 1))
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def run(json_out: bool) -> dict:  # type: ignore[type-arg]
    say = (lambda _m: None) if json_out else (lambda m: print(f"… {m}", file=sys.stderr))
    figures: dict[str, float | int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform.start(make_settings("embedded", Path(tmp) / "data"))
        try:
            employer, worker = Account.create(), Account.create()
            register_citizen(platform, make_registrar(platform), worker.address)
            terms = TermsCreate(
                employer=employer.address,
                worker=worker.address,
                document_hash="0x" + keccak(text="bench contract").hex(),
                workplace_id="0x" + keccak(text="bench workplace").hex(),
                hourly_wage=10_320,
                daily_minutes=240,
                weekly_minutes=1200,
                work_days=["mon", "tue", "wed", "thu", "fri"],
                start_date=START,
                end_date=date(2027, 1, 31),
                pay_cycle="weekly",
                pay_day=5,
                break_minutes=30,
                five_or_more_employees=True,
            )
            say("registering a contract")
            td = svc.contract_typed_data(platform, terms, None)
            contract = svc.register_contract(
                platform,
                ContractCreate(
                    terms=terms,
                    deadline=td.deadline,
                    employer_signature=_sign(td.typed_data, employer),
                    worker_signature=_sign(td.typed_data, worker),
                ),
            )
            cid = contract.contract_id
            figures["gas_register_contract"] = _gas(platform, contract.registered.tx_hash)

            say("recording, confirming and paying 52 weeks")
            confirm_gas: list[int] = []
            record_gas: list[int] = []
            statement_gas: list[int] = []
            for i in range(52):
                monday = START + timedelta(weeks=i)
                week = WeekCreate(
                    week_start=monday,
                    entries=[
                        DailyEntry(date=monday + timedelta(days=d), start="09:00", end="13:30", break_minutes=30)
                        for d in range(5)
                    ],
                )  # type: ignore[arg-type]
                wtd = svc.week_typed_data(platform, cid, week, None)
                recorded = svc.record_week(
                    platform,
                    cid,
                    WeekRecord(**week.model_dump(), deadline=wtd.deadline, signature=_sign(wtd.typed_data, employer)),
                )
                record_gas.append(_gas(platform, recorded.history[-1].ref.tx_hash))
                ctd = svc.confirm_typed_data(platform, cid, monday, None)
                confirmed = svc.confirm_week(platform, cid, monday, ctd.deadline, _sign(ctd.typed_data, worker))
                confirm_gas.append(_gas(platform, confirmed.history[-1].ref.tx_hash))
                body = dict(
                    period_start=monday,
                    period_end=monday + timedelta(days=6),
                    payment_date=monday + timedelta(days=11),
                    statement_hash="0x" + keccak(text=f"bench statement {i}").hex(),
                    base_pay=206_400,
                    holiday_pay=41_280,
                )
                std = svc.statement_typed_data(
                    platform, cid, StatementRecord(**body, deadline=0, signature="0x" + "00" * 65), None
                )
                st = svc.record_statement(
                    platform,
                    cid,
                    StatementRecord(**body, deadline=std.deadline, signature=_sign(std.typed_data, employer)),
                )
                statement_gas.append(_gas(platform, st.ref.tx_hash))
            figures["gas_confirm_week"] = max(confirm_gas)
            figures["gas_record_week"] = max(record_gas)
            figures["gas_record_wage_statement"] = max(statement_gas)

            say("timing the compliance check")
            runs = []
            for _ in range(5):
                started = time.perf_counter()
                report = svc.compliance(platform, cid, date(2027, 2, 1))
                runs.append((time.perf_counter() - started) * 1000)
            assert report.total_amount_owed == 0, report.findings
            figures["compliance_service_ms_per_worker_year"] = round(statistics.median(runs), 1)
        finally:
            platform.close()
    figures["compliance_check_ms_per_worker_year"] = round(_engine_ms(), 3)
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(True), indent=2))
