"""Deterministic compliance checks of a part-time labour contract (pure Python, no chain access).

The service reads the contract, the weekly logs (with their shifts) and the wage statements from
the chain and hands them here as plain dataclasses; :func:`check` returns the same findings for
the same input, always. What each week is worth under the law (straight time, overtime, holiday
and night work, breaks, weekly holiday pay) is :mod:`civic_ledger.labor.workweek`; this module
groups weeks into pay periods and compares them with the wage statements.

- **Pay periods.** Weekly pay cycle: one period per work week, Monday … Sunday. Monthly: one
  period per calendar month. A week belongs to the period that contains its Monday. A wage
  statement belongs to the period whose first day is its ``period_start``.
- **Due date.** Weekly: the first day on or after the period's Sunday whose ISO weekday is the
  contract's pay day (1 = Monday … 7 = Sunday). Monthly: the pay day of the following month
  (the month's last day when the month is shorter).
- **Hourly rate owed** = max(contracted hourly wage, minimum wage of the year of the day worked).
- **Pay for hours** is the statement's ``basePay + overtimePay``. It covers, in this order: the
  straight-time minutes at the minimum wage (short: ``below_minimum_wage``, Minimum Wage Act
  Art. 6(1)), the same at the contracted rate (``underpaid_wages``, LSA Art. 43), overtime at
  150 % (``overtime_pay_unpaid``), holiday work at 150 / 200 % (``holiday_work_pay_unpaid``), the
  night premium (``night_work_premium_unpaid``); what is left over offsets a weekly holiday pay
  shortfall (``weekly_holiday_pay_unpaid``, compared with ``holidayPay``). Premiums exist only in
  a workplace of five or more employees (the contract term both parties signed).
- **Breaks**: a shift, or the contract's daily terms, with less break than LSA Art. 54(1) requires
  is reported (``break_not_given``, ``contract_break_missing``; nothing is owed: breaks are unpaid).
- **Confirmed hours.** Weeks the worker confirmed count as recorded. A week that is only recorded
  (not yet confirmed) is counted as recorded and flagged ``unconfirmed_week``. A disputed week is
  counted with the employer's recorded shifts and flagged ``disputed_week`` with the straight pay
  for the extra minutes the worker claims (at the rate of the week's Monday).
- **Late payment**: the statement's payment date is after the due date.
- **Missing statement**: a period with logged work whose due date is before ``as_of`` and no
  statement; the whole amount owed for the period is owed.

Every finding names its legal basis (``legal_basis``) and, where money is owed, the hours, the
hourly rate, the percentage and the amount (``details["lines"]``).

Rounding: all arithmetic is exact (integers and fractions of a won). Each owed amount is
rounded to the won **once per pay period and component** (minimum-wage floor, straight time,
overtime, holiday work, night premium, weekly holiday pay), half up; shortfalls are differences
of those integers and the statement's integer amounts, so they are exact KRW.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from civic_ledger.labor import workweek as ww
from civic_ledger.labor.workweek import HOLIDAY_PAY_MIN_WEEKLY_MINUTES, Line, Shift

WEEKLY = 1
MONTHLY = 2

# Finding kinds, most serious first (the order findings are listed in).
BELOW_MINIMUM_WAGE = "below_minimum_wage"
UNDERPAID_WAGES = "underpaid_wages"
OVERTIME_UNPAID = "overtime_pay_unpaid"
HOLIDAY_WORK_UNPAID = "holiday_work_pay_unpaid"
NIGHT_UNPAID = "night_work_premium_unpaid"
WEEKLY_HOLIDAY_PAY = "weekly_holiday_pay_unpaid"
MISSING_STATEMENT = "missing_statement"
LATE_PAYMENT = "late_payment"
DISPUTED_WEEK = "disputed_week"
UNCONFIRMED_WEEK = "unconfirmed_week"
BREAK_NOT_GIVEN = "break_not_given"
CONTRACT_WAGE_BELOW_MINIMUM = "contract_wage_below_minimum"
CONTRACT_BREAK_MISSING = "contract_break_missing"

KIND_ORDER = [
    BELOW_MINIMUM_WAGE,
    UNDERPAID_WAGES,
    OVERTIME_UNPAID,
    HOLIDAY_WORK_UNPAID,
    NIGHT_UNPAID,
    WEEKLY_HOLIDAY_PAY,
    MISSING_STATEMENT,
    LATE_PAYMENT,
    DISPUTED_WEEK,
    UNCONFIRMED_WEEK,
    BREAK_NOT_GIVEN,
    CONTRACT_WAGE_BELOW_MINIMUM,
    CONTRACT_BREAK_MISSING,
]

BASIS = {
    BELOW_MINIMUM_WAGE: "Minimum Wage Act Art. 6(1)",
    UNDERPAID_WAGES: "Labour Standards Act Art. 43(1)",
    OVERTIME_UNPAID: ww.BASIS_OVERTIME,
    HOLIDAY_WORK_UNPAID: ww.BASIS_HOLIDAY_WORK,
    NIGHT_UNPAID: ww.BASIS_NIGHT,
    WEEKLY_HOLIDAY_PAY: ww.BASIS_HOLIDAY_PAY,
    MISSING_STATEMENT: "Labour Standards Act Art. 43 and Art. 48(2)",
    LATE_PAYMENT: "Labour Standards Act Art. 43(2)",
    DISPUTED_WEEK: "Labour Standards Act Art. 43(1) (hours claimed by the worker)",
    UNCONFIRMED_WEEK: "Labour Standards Act Art. 42 (record kept, not confirmed by the worker)",
    BREAK_NOT_GIVEN: ww.BASIS_BREAK,
    CONTRACT_WAGE_BELOW_MINIMUM: "Minimum Wage Act Art. 6(3)",
    CONTRACT_BREAK_MISSING: ww.BASIS_BREAK,
}


# ------------------------------------------------------------------------------ dates


def from_yyyymmdd(value: int) -> date:
    return date(value // 10000, value // 100 % 100, value % 100)


def to_yyyymmdd(value: date) -> int:
    return value.year * 10000 + value.month * 100 + value.day


OPEN_ENDED = date(9999, 12, 31)


def round_half_up(value: Fraction) -> int:
    """Round a non-negative exact amount to the nearest won, halves up."""
    return int((2 * value.numerator + value.denominator) // (2 * value.denominator))


# ------------------------------------------------------------------------------ input


@dataclass(frozen=True)
class Terms:
    hourly_wage: int
    daily_minutes: int
    weekly_minutes: int
    work_days: int
    start_date: date
    end_date: date
    pay_cycle: int
    pay_day: int
    break_minutes: int
    five_or_more: bool

    def hours(self) -> ww.ContractHours:
        return ww.ContractHours(
            self.hourly_wage,
            self.daily_minutes,
            self.weekly_minutes,
            self.work_days,
            self.start_date,
            self.end_date,
            self.five_or_more,
        )


@dataclass(frozen=True)
class WeekLog:
    week_start: date
    minutes_worked: int
    days_worked: int
    status: str  # "recorded" | "confirmed" | "disputed"
    revision: int = 0
    claimed_minutes: int | None = None
    claimed_days: int | None = None
    shifts: tuple[Shift, ...] = ()


@dataclass(frozen=True)
class Statement:
    period_start: date
    period_end: date
    payment_date: date
    gross_pay: int
    base_pay: int
    holiday_pay: int
    overtime_pay: int
    other_pay: int
    deductions: int
    revision: int = 0


# ------------------------------------------------------------------------------ output


@dataclass(frozen=True)
class Finding:
    kind: str
    period_start: date
    period_end: date
    amount_owed: int
    message: str
    weeks: tuple[date, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    legal_basis: str = ""


@dataclass(frozen=True)
class Rule:
    rule: str
    legal_basis: str
    applies: bool
    reason: str


@dataclass
class PeriodResult:
    period_start: date
    period_end: date
    due_date: date
    weeks: list[date]
    minutes_worked: int
    hourly_rate_owed: int  # of the period's first day worked (rates can only differ across a year change)
    base_owed: int  # straight time at 100 %
    overtime_owed: int  # overtime minutes at 150 %
    holiday_work_owed: int  # holiday-work minutes at 150 % / 200 %
    night_owed: int  # the +50 % night premium
    holiday_owed: int  # weekly holiday pay
    overtime_minutes: int
    holiday_work_minutes: int
    night_minutes: int
    holiday_weeks: list[date]
    statement: Statement | None
    findings: list[Finding]

    @property
    def hours_owed(self) -> int:
        return self.base_owed + self.overtime_owed + self.holiday_work_owed + self.night_owed

    @property
    def total_owed(self) -> int:
        return self.hours_owed + self.holiday_owed

    @property
    def shortfall(self) -> int:
        return sum(f.amount_owed for f in self.findings)


@dataclass
class Report:
    as_of: date
    periods: list[PeriodResult]
    findings: list[Finding]
    rules: list[Rule] = field(default_factory=list)

    @property
    def total_amount_owed(self) -> int:
        return sum(f.amount_owed for f in self.findings)


# ------------------------------------------------------------------------------ rules


def minimum_wage_for(year: int, table: dict[int, int]) -> int:
    """The table's value, or the latest year's for a later year (the contract does the same)."""
    if year in table:
        return table[year]
    earlier = [y for y in table if y <= year]
    if not earlier:
        raise ValueError(f"no minimum wage known for {year}")
    return table[max(earlier)]


def plus_days(day: date, days: int) -> date:
    """``day + days``, held at 9999-12-31: a week recorded in the last days there are must not crash a report."""
    return day + timedelta(days=days) if day <= date.max - timedelta(days=days) else date.max


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def period_of(day: date, pay_cycle: int) -> tuple[date, date]:
    """The pay period (first, last day) containing ``day``."""
    if pay_cycle == WEEKLY:
        start = week_start_of(day)
        return start, plus_days(start, 6)
    start = day.replace(day=1)
    return start, day.replace(day=calendar.monthrange(day.year, day.month)[1])


def due_date(period_end: date, terms: Terms) -> date:
    if terms.pay_cycle == WEEKLY:
        return plus_days(period_end, (terms.pay_day - period_end.isoweekday()) % 7)
    if (period_end.year, period_end.month) == (date.max.year, date.max.month):
        return date.max
    year, month = (period_end.year + 1, 1) if period_end.month == 12 else (period_end.year, period_end.month + 1)
    return date(year, month, min(terms.pay_day, calendar.monthrange(year, month)[1]))


def holiday_pay_owed(week: WeekLog, terms: Terms, rate: int) -> tuple[Fraction, str]:
    """Exact weekly holiday pay owed for a week at ``rate``, and why (or why not)."""
    return ww.holiday_pay_owed(week.week_start, week.days_worked, terms.hours(), rate)


def rules_applied(terms: Terms) -> list[Rule]:
    """Which rules the checks applied to this contract, and why."""
    five = terms.five_or_more
    size = (
        "the contract states the workplace has five or more employees"
        if five
        else f"the contract states the workplace has fewer than five employees ({ww.BASIS_SMALL_WORKPLACE})"
    )
    short = terms.weekly_minutes < ww.FULL_TIME_WEEKLY_MINUTES
    return [
        Rule("minimum wage by the date worked", BASIS[BELOW_MINIMUM_WAGE], True, "every workplace"),
        Rule(
            "weekly holiday pay: weekly hours ÷ 40 × 8, at most 8 h",
            ww.BASIS_HOLIDAY_PAY,
            terms.weekly_minutes >= HOLIDAY_PAY_MIN_WEEKLY_MINUTES,
            f"contracted {terms.weekly_minutes / 60:g} h a week "
            + ("≥ 15 h" if terms.weekly_minutes >= HOLIDAY_PAY_MIN_WEEKLY_MINUTES else "< 15 h: not owed"),
        ),
        Rule(
            "hours beyond the contract at 150 % (short-time worker)",
            ww.BASIS_OVERTIME_PART_TIME,
            five and short,
            size
            if not five
            else ("contracted under 40 h a week" if short else "not a short-time worker (40 h a week)"),
        ),
        Rule("hours beyond 8 h a day or 40 h a week at 150 %", ww.BASIS_OVERTIME, five, size),
        Rule("night work 22:00–06:00 +50 %", ww.BASIS_NIGHT, five, size),
        Rule("holiday work +50 % up to 8 h, +100 % beyond", ww.BASIS_HOLIDAY_WORK, five, size),
        Rule("breaks: 30 min per 4 h, 1 h per 8 h worked (unpaid)", ww.BASIS_BREAK, True, "every workplace"),
    ]


def krw_text(n: int) -> str:
    return f"₩{n:,}"


def exact_number(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


def lines_json(lines: list[Line]) -> list[dict[str, Any]]:
    return [
        {
            "hours": exact_number(Fraction(line.minutes) / 60),
            "hourly_rate": line.hourly_rate,
            "percent": line.percent,
            "rate_per_hour": exact_number(Fraction(line.hourly_rate * line.percent, 100)),
            "amount": round_half_up(line.amount),
        }
        for line in lines
    ]


def lines_text(lines: list[Line]) -> str:
    return " + ".join(
        f"{float(Fraction(line.minutes) / 60):g} h × ₩{exact_number(Fraction(line.hourly_rate * line.percent, 100)):,}/h "
        f"({line.percent} % of ₩{line.hourly_rate:,})"
        for line in lines
    )


def merge_lines(into: list[Line], lines: list[Line]) -> None:
    for line in lines:
        for have in into:
            if (have.hourly_rate, have.percent) == (line.hourly_rate, line.percent):
                have.minutes += line.minutes
                break
        else:
            into.append(Line(line.minutes, line.hourly_rate, line.percent))


def check(
    terms: Terms,
    weeks: list[WeekLog],
    statements: list[Statement],
    minimum_wages: dict[int, int],
    as_of: date,
) -> Report:
    """All findings for the contract, per pay period, in period order (contract findings first)."""
    by_period: dict[date, list[WeekLog]] = defaultdict(list)
    period_end: dict[date, date] = {}
    for w in sorted(weeks, key=lambda w: w.week_start):
        start, end = period_of(w.week_start, terms.pay_cycle)
        by_period[start].append(w)
        period_end[start] = end
    statement_of: dict[date, Statement] = {}
    for s in statements:
        current = statement_of.get(s.period_start)
        if current is None or s.revision > current.revision:
            statement_of[s.period_start] = s
        period_end.setdefault(s.period_start, s.period_end)

    from civic_ledger.labor.periods import check_period, contract_findings  # it builds on this module's types

    periods = [
        check_period(
            terms, start, period_end[start], by_period.get(start, []), statement_of.get(start), minimum_wages, as_of
        )
        for start in sorted(period_end)
    ]
    findings = contract_findings(terms) + [f for p in periods for f in p.findings]
    return Report(as_of=as_of, periods=periods, findings=findings, rules=rules_applied(terms))
