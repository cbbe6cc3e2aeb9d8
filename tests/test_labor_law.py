"""What the Labour Standards Act says a part-time week is worth: the pure compliance engine,
table-driven (no chain). Each row is a contract, one week's shifts (in the CLI's `--day` form),
a wage statement, and the amounts owed and findings, computed by hand in the row's comment.

Minimum wage: 2025 ₩10,030, 2026 ₩10,320. 150 % of ₩10,320 = ₩15,480; 200 % = ₩20,640; the
night premium (+50 %) = ₩5,160 an hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest

from civic_ledger.labor import compliance as cx
from civic_ledger.labor import records
from civic_ledger.labor.cli import parse_days
from civic_ledger.labor.schemas import DailyEntry

TABLE = {2019: 8350, 2020: 8590, 2021: 8720, 2022: 9160, 2023: 9620, 2024: 9860, 2025: 10030, 2026: 10320}
MON = date(2026, 3, 2)
MON_WED_FRI = 0b10101
MON_TO_FRI = 0b11111
PREMIUMS = {cx.OVERTIME_UNPAID, cx.HOLIDAY_WORK_UNPAID, cx.NIGHT_UNPAID}


@dataclass
class Row:
    id: str
    terms: dict[str, Any]
    days: list[str]
    paid: tuple[int, int, int] | None  # (base pay, overtime pay, weekly holiday pay) of the statement
    owed: dict[str, int]  # base / overtime / holiday_work / night / holiday (weekly holiday pay)
    findings: dict[str, int]
    week: date = MON
    extra: dict[str, Any] = field(default_factory=dict)


def terms(**overrides: Any) -> cx.Terms:
    base: dict[str, Any] = dict(
        hourly_wage=10_320,
        daily_minutes=240,
        weekly_minutes=1200,
        work_days=MON_TO_FRI,
        start_date=date(2026, 1, 5),
        end_date=date(2026, 12, 31),
        pay_cycle=cx.WEEKLY,
        pay_day=5,
        break_minutes=30,
        five_or_more=True,
    )
    base.update(overrides)
    return cx.Terms(**base)


def week_log(week: date, days: list[str]) -> cx.WeekLog:
    entries = [DailyEntry(**e) for e in parse_days(week, days)]
    shifts = tuple(records.engine_shift(e) for e in sorted(entries, key=lambda e: (e.date, e.start)))
    mask = 0
    for s in shifts:
        mask |= 1 << (s.day - week).days
    return cx.WeekLog(week, sum(s.worked for s in shifts), mask, "confirmed", shifts=shifts)


def statement(week: date, base: int, overtime: int, holiday: int) -> cx.Statement:
    return cx.Statement(
        week,
        week + timedelta(days=6),
        week + timedelta(days=11),
        base + overtime + holiday,
        base,
        holiday,
        overtime,
        0,
        0,
    )


def four_h(days: str = "mon tue wed thu fri") -> list[str]:
    return [f"{d} 09:00-13:30 30" for d in days.split()]


ROWS = [
    # --- the worked examples (weekly holiday pay = weekly hours ÷ 40 × 8, at most 8 h)
    Row(
        # 6 h × 3 days (Mon, Wed, Fri) = 18 h: straight 18 h × 10,320 = 185,760;
        # holiday pay 18 ÷ 40 × 8 = 3.6 h × 10,320 = 37,152 (the old rule said 6 h = 61,920); paid none of it
        "6h-x-3-days",
        dict(daily_minutes=360, weekly_minutes=1080, work_days=MON_WED_FRI),
        ["mon 09:00-15:30 30", "wed 09:00-15:30 30", "fri 09:00-15:30 30"],
        (185_760, 0, 0),
        dict(base=185_760, holiday=37_152),
        {cx.WEEKLY_HOLIDAY_PAY: 37_152},
    ),
    Row(
        # 8 h × 2 days = 16 h: straight 16 × 10,320 = 165,120; holiday pay 16 ÷ 40 × 8 = 3.2 h = 33,024
        # (the old rule said 8 h = 82,560); paid 20,000 of it → 13,024 short
        "8h-x-2-days",
        dict(daily_minutes=480, weekly_minutes=960, work_days=0b11, break_minutes=60),
        ["mon 09:00-18:00 60", "tue 09:00-18:00 60"],
        (165_120, 0, 20_000),
        dict(base=165_120, holiday=33_024),
        {cx.WEEKLY_HOLIDAY_PAY: 13_024},
    ),
    Row(
        # 4 h × 5 days = 20 h: straight 206,400; holiday pay 20 ÷ 40 × 8 = 4 h = 41,280, paid in full
        "4h-x-5-days",
        {},
        four_h(),
        (206_400, 0, 41_280),
        dict(base=206_400, holiday=41_280),
        {},
    ),
    Row(
        # 9 h × 5 days = 45 h, five or more employees: straight 40 h × 10,320 = 412,800, overtime beyond
        # 8 h a day (1 h × 5) = 5 h × 15,480 = 77,400 (LSA 56(1)); holiday pay 45 ÷ 40 × 8 = 9 h → capped
        # at 8 h = 82,560. Paid 45 h straight (464,400) + 92,880 holiday pay: 464,400 − 412,800 = 51,600
        # covers part of the overtime → 77,400 − 51,600 = 25,800 short; holiday pay overpaid (no finding)
        "9h-x-5-days-capped",
        dict(daily_minutes=540, weekly_minutes=2700, break_minutes=60),
        [f"{d} 09:00-19:00 60" for d in ["mon", "tue", "wed", "thu", "fri"]],
        (464_400, 0, 92_880),
        dict(base=412_800, overtime=77_400, holiday=82_560),
        {cx.OVERTIME_UNPAID: 25_800},
    ),
    Row(
        # Contracted 4 h × 5 at 11,000, five or more employees; Friday worked 6 h: 2 h beyond the
        # contract at 150 % = 2 × 16,500 = 33,000 (Part-time Workers Act 6(3)); straight 20 h = 220,000;
        # holiday pay 4 h × 11,000 = 44,000. Paid 220,000 + 44,000 → the 33,000 is owed
        "beyond-contract-150pct",
        dict(hourly_wage=11_000),
        four_h("mon tue wed thu") + ["fri 09:00-15:30 30"],
        (220_000, 0, 44_000),
        dict(base=220_000, overtime=33_000, holiday=44_000),
        {cx.OVERTIME_UNPAID: 33_000},
        extra={"hours": 2, "rate_per_hour": 16_500, "basis": "Part-time Workers Act Art. 6(3)"},
    ),
    Row(
        # The same week in a workplace of fewer than five: no premium, the 2 extra hours are straight
        # time: 22 h × 11,000 = 242,000 owed, 220,000 paid → 22,000 short (not 33,000), of which
        # 22 h × 10,320 = 227,040 − 220,000 = 7,040 below the minimum wage and 14,960 contractual
        "beyond-contract-under-five",
        dict(hourly_wage=11_000, five_or_more=False),
        four_h("mon tue wed thu") + ["fri 09:00-15:30 30"],
        (220_000, 0, 44_000),
        dict(base=242_000, overtime=0, holiday=44_000),
        {cx.BELOW_MINIMUM_WAGE: 7_040, cx.UNDERPAID_WAGES: 14_960},
    ),
    Row(
        # Daily measure: contracted 4 h a day, Monday 6 h and Tuesday 2 h (20 h in the week): Monday's
        # 2 h beyond the day's contract are overtime: 2 × 15,480 = 30,960; straight 18 h = 185,760.
        # Paid 20 h straight (206,400): 20,640 covers part → 10,320 short
        "daily-measure-beyond-contract",
        {},
        ["mon 09:00-15:30 30", "tue 09:00-11:00"] + four_h("wed thu fri"),
        (206_400, 0, 41_280),
        dict(base=185_760, overtime=30_960, holiday=41_280),
        {cx.OVERTIME_UNPAID: 10_320},
    ),
    Row(
        # A short-time worker (Mon, Wed, Fri 6 h) called in on Tuesday for 4 h: every Tuesday hour is
        # beyond the contract: 4 × 15,480 = 61,920; straight 18 h = 185,760; holiday pay 3.6 h = 37,152.
        # Paid the 22 h straight (227,040) + 37,152: 227,040 − 185,760 = 41,280 covers part → 20,640 short
        "non-contracted-day",
        dict(daily_minutes=360, weekly_minutes=1080, work_days=MON_WED_FRI),
        ["mon 09:00-15:30 30", "tue 09:00-13:30 30", "wed 09:00-15:30 30", "fri 09:00-15:30 30"],
        (227_040, 0, 37_152),
        dict(base=185_760, overtime=61_920, holiday=37_152),
        {cx.OVERTIME_UNPAID: 20_640},
    ),
    # --- night work across midnight
    Row(
        # Fri and Sat nights, 8 h a day contracted (16 h): Fri 22:00–07:00 with 1 h break → 8 h worked, the
        # break in the 06:00–07:00 daytime part, so 8 h at night; Sat 20:00–05:00 with 1 h break → 8 h
        # worked, 22:00–05:00 = 7 h at night (the break in 20:00–22:00). Night 15 h × 5,160 = 77,400;
        # straight 16 h = 165,120; holiday pay 16 ÷ 40 × 8 = 3.2 h = 33,024. The premium was not paid
        "night-shift-across-midnight",
        dict(daily_minutes=480, weekly_minutes=960, work_days=0b110000, break_minutes=60),
        ["fri 22:00-07:00 60", "sat 20:00-05:00 60"],
        (165_120, 0, 33_024),
        dict(base=165_120, night=77_400, holiday=33_024),
        {cx.NIGHT_UNPAID: 77_400},
        extra={"night_minutes": 900},
    ),
    Row(
        # 22:00–06:00 with a 1 h break: the whole shift is at night, so the break is too: 7 h night work.
        # Under five employees no premium is owed (the 14 h of night work are reported, unpriced);
        # straight 2 × 7 h × 10,320 = 144,480 (and 14 h a week < 15 h: no holiday pay)
        "night-shift-under-five",
        dict(daily_minutes=420, weekly_minutes=840, work_days=0b110000, break_minutes=60, five_or_more=False),
        ["fri 22:00-06:00 60", "sat 22:00-06:00 60"],
        (144_480, 0, 0),
        dict(base=144_480, night=0, holiday=0),
        {},
        extra={"night_minutes": 840},
    ),
    # --- holiday work
    Row(
        # 4 h × 5 contracted, plus 10 h on Sunday, a holiday (09:00–20:00, 1 h break): 8 h × 15,480 =
        # 123,840 + 2 h × 20,640 = 41,280 → 165,120 holiday work; straight 20 h = 206,400; holiday pay
        # 41,280. Paid the 10 h straight as overtime (103,200): 165,120 − 103,200 = 61,920 short
        "holiday-10h",
        {},
        four_h() + ["sun 09:00-20:00 60 holiday"],
        (206_400, 103_200, 41_280),
        dict(base=206_400, holiday_work=165_120, holiday=41_280),
        {cx.HOLIDAY_WORK_UNPAID: 61_920},
    ),
    Row(
        # The same 10 h holiday in a workplace under five: straight 30 h = 309,600, paid → nothing owed
        "holiday-10h-under-five",
        dict(five_or_more=False),
        four_h() + ["sun 09:00-20:00 60 holiday"],
        (206_400, 103_200, 41_280),
        dict(base=309_600, holiday_work=0, holiday=41_280),
        {},
    ),
    # --- breaks (LSA Art. 54: 30 min per 4 h worked, 1 h per 8 h; unpaid)
    Row(
        # The contract gives no break for a 4 h day, and the log shows none on four 4 h shifts and
        # 30 min on an 8 h Friday (1 h is owed). Under five: no overtime; straight 24 h = 247,680,
        # paid; holiday pay 41,280, paid. Findings carry no amount: break time is unpaid
        "break-missing",
        dict(break_minutes=0, five_or_more=False),
        [f"{d} 09:00-13:00" for d in ["mon", "tue", "wed", "thu"]] + ["fri 09:00-17:30 30"],
        (247_680, 0, 41_280),
        dict(base=247_680, holiday=41_280),
        {cx.BREAK_NOT_GIVEN: 0, cx.CONTRACT_BREAK_MISSING: 0},
        extra={"shifts_without_break": 5},
    ),
    # --- minimum wage by the date worked
    Row(
        # A 2025 contract at 10,030 (the 2025 minimum) working 4 h Mon–Fri in the week of Mon 29 Dec 2025:
        # Mon–Wed at 10,030 = 3 × 4 × 10,030 = 120,360; Thu 1 and Fri 2 Jan 2026 at the 2026 minimum
        # 10,320 = 82,560 → 202,920 owed; holiday pay at Sunday 4 Jan's rate, 4 h × 10,320 = 41,280.
        # Paid 20 h × 10,030 = 200,600 + 40,120: 2,320 below the minimum wage, 1,160 holiday pay short
        "year-boundary-week",
        dict(hourly_wage=10_030, start_date=date(2025, 12, 1)),
        four_h(),
        (200_600, 0, 40_120),
        dict(base=202_920, holiday=41_280),
        {cx.BELOW_MINIMUM_WAGE: 2_320, cx.WEEKLY_HOLIDAY_PAY: 1_160, cx.CONTRACT_WAGE_BELOW_MINIMUM: 0},
        week=date(2025, 12, 29),
    ),
    Row(
        # A missed contracted day (Wednesday): no weekly holiday pay; 16 h straight = 165,120, no statement
        # yet after the pay day → the whole 165,120 is owed as a missing statement
        "missed-day-no-statement",
        {},
        four_h("mon tue thu fri"),
        None,
        dict(base=165_120, holiday=0),
        {cx.MISSING_STATEMENT: 165_120},
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_a_week_is_worth_what_the_law_says(row: Row) -> None:
    t = terms(**row.terms)
    paid = [statement(row.week, *row.paid)] if row.paid else []
    report = cx.check(t, [week_log(row.week, row.days)], paid, TABLE, row.week + timedelta(days=40))
    (period,) = report.periods
    owed = {
        "base": period.base_owed,
        "overtime": period.overtime_owed,
        "holiday_work": period.holiday_work_owed,
        "night": period.night_owed,
        "holiday": period.holiday_owed,
    }
    assert owed == {k: row.owed.get(k, 0) for k in owed}
    assert {f.kind: f.amount_owed for f in report.findings} == row.findings
    assert report.total_amount_owed == sum(row.findings.values())
    for f in report.findings:
        assert f.legal_basis and "Art." in f.legal_basis, f
        if f.amount_owed and f.kind not in (cx.MISSING_STATEMENT,):
            assert {"hours", "hourly_rate", "percent", "amount"} <= set(f.details), f
    if not t.five_or_more:
        assert not {f.kind for f in report.findings} & PREMIUMS
        assert period.overtime_owed == period.holiday_work_owed == period.night_owed == 0
        assert not [r for r in report.rules if r.applies and r.legal_basis.startswith("Labour Standards Act Art. 56")]
    if "hours" in row.extra:
        (f,) = [f for f in report.findings if f.kind == cx.OVERTIME_UNPAID]
        assert f.details["hours"] == row.extra["hours"] and f.legal_basis == row.extra["basis"]
        assert f.details["lines"] == [
            {"hours": 2, "hourly_rate": 11_000, "percent": 150, "rate_per_hour": 16_500, "amount": 33_000}
        ]
        assert "2 h" in f.message and "₩16,500/h" in f.message and "₩33,000" in f.message
    if "night_minutes" in row.extra:
        assert period.night_minutes == row.extra["night_minutes"]
    if "shifts_without_break" in row.extra:
        (f,) = [f for f in report.findings if f.kind == cx.BREAK_NOT_GIVEN]
        assert len(f.details["shifts"]) == row.extra["shifts_without_break"]
        assert f.details["shifts"][-1] == {
            "date": "2026-03-06",
            "shift": "2026-03-06 09:00–17:30",
            "hours_worked": 8,
            "break_minutes": 30,
            "break_required_minutes": 60,
        }


def test_weekly_holiday_pay_hours_are_weekly_hours_over_40_times_8_capped_at_8() -> None:
    # (contracted weekly minutes, holiday pay at ₩10,320) — worked examples of the issue and the edges
    for weekly, daily, mask, expected in [
        (1080, 360, MON_WED_FRI, 37_152),  # 18 h → 3.6 h
        (960, 480, 0b11, 33_024),  # 16 h → 3.2 h
        (1200, 240, MON_TO_FRI, 41_280),  # 20 h → 4 h
        (2700, 540, MON_TO_FRI, 82_560),  # 45 h → 9 h, capped at 8 h
        (900, 300, MON_WED_FRI, 30_960),  # exactly 15 h → 3 h
        (870, 290, MON_WED_FRI, 0),  # 14.5 h: under 15 h, none
    ]:
        t = terms(weekly_minutes=weekly, daily_minutes=daily, work_days=mask)
        owed, why = cx.holiday_pay_owed(cx.WeekLog(MON, weekly, mask, "confirmed"), t, 10_320)
        assert cx.round_half_up(owed) == expected, (weekly, why)


def test_the_report_says_which_rules_applied_and_why() -> None:
    five = {r.legal_basis: r for r in cx.rules_applied(terms())}
    small = {r.legal_basis: r for r in cx.rules_applied(terms(five_or_more=False))}
    for basis in (
        "Labour Standards Act Art. 56(3)",
        "Labour Standards Act Art. 56(2)",
        "Part-time Workers Act Art. 6(3)",
    ):
        assert five[basis].applies and not small[basis].applies
        assert "fewer than five employees" in small[basis].reason and "Art. 11(2)" in small[basis].reason
    for basis in ("Labour Standards Act Art. 54(1)", "Minimum Wage Act Art. 6(1)"):
        assert five[basis].applies and small[basis].applies


def test_a_week_logged_as_a_summary_only_is_straight_time() -> None:
    t = terms()
    report = cx.check(t, [cx.WeekLog(MON, 1200, MON_TO_FRI, "confirmed")], [], TABLE, MON + timedelta(days=40))
    (period,) = report.periods
    assert (period.base_owed, period.holiday_owed, period.overtime_owed) == (206_400, 41_280, 0)


def test_the_cli_day_form_carries_breaks_holidays_and_night_shifts_and_the_old_form_still_works() -> None:
    assert parse_days(MON, ["mon 09:00-13:00"]) == [
        {"date": "2026-03-02", "start": "09:00", "end": "13:00", "break_minutes": 0, "holiday": False}
    ]
    night, holiday = parse_days(MON, ["sat 22:00-06:00 60", "SUN 9:00-20:00 60 holiday"])
    assert night == {"date": "2026-03-07", "start": "22:00", "end": "06:00", "break_minutes": 60, "holiday": False}
    assert holiday["holiday"] is True and holiday["start"] == "09:00"
    shift = records.engine_shift(DailyEntry(**night))
    assert (shift.start_minute, shift.end_minute, shift.worked, shift.night_minutes) == (1320, 1800, 420, 420)


def test_a_monthly_pay_period_sums_the_premiums_of_its_weeks() -> None:
    # Monthly pay on the 10th, 4 h × 5 at ₩11,000, five or more employees; in the weeks of 2 and 9 March
    # Friday is 6 h: overtime 2 × 2 h × 16,500 = 66,000; straight 40 h × 11,000 = 440,000; weekly
    # holiday pay 2 × 4 h × 11,000 = 88,000. March is paid on 10 April: 440,000 + 88,000 → 66,000 short
    t = terms(hourly_wage=11_000, pay_cycle=cx.MONTHLY, pay_day=10)
    days = four_h("mon tue wed thu") + ["fri 09:00-15:30 30"]
    weeks = [week_log(MON, days), week_log(MON + timedelta(days=7), days)]
    paid = cx.Statement(date(2026, 3, 1), date(2026, 3, 31), date(2026, 4, 10), 528_000, 440_000, 88_000, 0, 0, 0)
    report = cx.check(t, weeks, [paid], TABLE, date(2026, 5, 1))
    (period,) = report.periods
    assert (period.base_owed, period.overtime_owed, period.holiday_owed) == (440_000, 66_000, 88_000)
    (finding,) = report.findings
    assert finding.kind == cx.OVERTIME_UNPAID and finding.amount_owed == 66_000 and finding.details["hours"] == 4
