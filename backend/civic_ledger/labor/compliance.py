"""Deterministic compliance checks of a part-time labour contract (pure Python, no chain access).

The service reads the contract, the weekly logs and the wage statements from the chain and hands
them here as plain dataclasses; :func:`check` returns the same findings for the same input, always.

Rules (Korean Labour Standards Act / Minimum Wage Act, as summarised in DESIGN.md):

- **Pay periods.** Weekly pay cycle: one period per work week, Monday … Sunday. Monthly: one
  period per calendar month. A week belongs to the period that contains its Monday. A wage
  statement belongs to the period whose first day is its ``period_start``.
- **Due date.** Weekly: the first day on or after the period's Sunday whose ISO weekday is the
  contract's pay day (1 = Monday … 7 = Sunday). Monthly: the pay day of the following month
  (the month's last day when the month is shorter).
- **Hourly rate owed** = max(contracted hourly wage, minimum wage of the week's year).
- **Base pay owed** = minutes worked × rate / 60 over the period's weeks. Pay for hours is the
  statement's ``basePay + overtimePay``.
- **Weekly holiday pay (주휴수당)** is owed for a week when the contracted weekly time is at least
  15 h (900 minutes) and every contracted working day of that week that falls inside the contract
  dates was worked; it is contracted daily minutes × rate / 60. Compared with ``holidayPay``;
  pay for hours above the base owed offsets a holiday-pay shortfall.
- **Confirmed hours.** Weeks the worker confirmed count as recorded. A week that is only recorded
  (not yet confirmed) is counted as recorded and flagged ``unconfirmed_week``. A disputed week is
  counted with the employer's recorded minutes and flagged ``disputed_week`` with the pay for the
  extra minutes the worker claims.
- **Late payment**: the statement's payment date is after the due date.
- **Missing statement**: a period with logged work whose due date is before ``as_of`` and no
  statement; the whole amount owed for the period is owed.

Rounding: all arithmetic is exact (integers and fractions of a won). Each owed amount is
rounded to the won **once per pay period and component** (base, holiday), half up; shortfalls
are differences of those integers and the statement's integer amounts, so they are exact KRW.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

HOLIDAY_PAY_MIN_WEEKLY_MINUTES = 15 * 60

WEEKLY = 1
MONTHLY = 2

# Finding kinds, most serious first (the order findings are listed in).
BELOW_MINIMUM_WAGE = "below_minimum_wage"
UNDERPAID_WAGES = "underpaid_wages"
WEEKLY_HOLIDAY_PAY = "weekly_holiday_pay_unpaid"
MISSING_STATEMENT = "missing_statement"
LATE_PAYMENT = "late_payment"
DISPUTED_WEEK = "disputed_week"
UNCONFIRMED_WEEK = "unconfirmed_week"
CONTRACT_WAGE_BELOW_MINIMUM = "contract_wage_below_minimum"

KIND_ORDER = [
    BELOW_MINIMUM_WAGE,
    UNDERPAID_WAGES,
    WEEKLY_HOLIDAY_PAY,
    MISSING_STATEMENT,
    LATE_PAYMENT,
    DISPUTED_WEEK,
    UNCONFIRMED_WEEK,
    CONTRACT_WAGE_BELOW_MINIMUM,
]


# ------------------------------------------------------------------------------ dates


def from_yyyymmdd(value: int) -> date:
    return date(value // 10000, value // 100 % 100, value % 100)


def to_yyyymmdd(value: date) -> int:
    return value.year * 10000 + value.month * 100 + value.day


OPEN_ENDED = date(9999, 12, 31)


def round_half_up(value: Fraction) -> int:
    """Round a non-negative exact amount to the nearest won, halves up."""
    return int((2 * value.numerator + value.denominator) // (2 * value.denominator))


def day_bits(mask: int) -> list[int]:
    """Weekday offsets (0 = Monday) set in a 7-bit mask."""
    return [i for i in range(7) if mask >> i & 1]


WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def days_text(mask: int) -> str:
    return ",".join(WEEKDAYS[i] for i in day_bits(mask)) or "none"


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


@dataclass(frozen=True)
class WeekLog:
    week_start: date
    minutes_worked: int
    days_worked: int
    status: str  # "recorded" | "confirmed" | "disputed"
    revision: int = 0
    claimed_minutes: int | None = None
    claimed_days: int | None = None


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


@dataclass
class PeriodResult:
    period_start: date
    period_end: date
    due_date: date
    weeks: list[date]
    minutes_worked: int
    hourly_rate_owed: int  # of the period's first week (rates can only differ across a year change)
    base_owed: int
    holiday_owed: int
    holiday_weeks: list[date]
    statement: Statement | None
    findings: list[Finding]

    @property
    def total_owed(self) -> int:
        return self.base_owed + self.holiday_owed

    @property
    def shortfall(self) -> int:
        return sum(f.amount_owed for f in self.findings)


@dataclass
class Report:
    as_of: date
    periods: list[PeriodResult]
    findings: list[Finding]

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


def _plus_days(day: date, days: int) -> date:
    """``day + days``, held at 9999-12-31: a week recorded in the last days there are must not crash a report."""
    return day + timedelta(days=days) if day <= date.max - timedelta(days=days) else date.max


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def period_of(day: date, pay_cycle: int) -> tuple[date, date]:
    """The pay period (first, last day) containing ``day``."""
    if pay_cycle == WEEKLY:
        start = week_start_of(day)
        return start, _plus_days(start, 6)
    start = day.replace(day=1)
    return start, day.replace(day=calendar.monthrange(day.year, day.month)[1])


def due_date(period_end: date, terms: Terms) -> date:
    if terms.pay_cycle == WEEKLY:
        return _plus_days(period_end, (terms.pay_day - period_end.isoweekday()) % 7)
    if (period_end.year, period_end.month) == (date.max.year, date.max.month):
        return date.max
    year, month = (period_end.year + 1, 1) if period_end.month == 12 else (period_end.year, period_end.month + 1)
    return date(year, month, min(terms.pay_day, calendar.monthrange(year, month)[1]))


def contracted_days_in_week(week_start: date, terms: Terms) -> int:
    """The contracted working days of the week that fall within the contract's dates (mask)."""
    mask = 0
    for i in day_bits(terms.work_days):
        if week_start > date.max - timedelta(days=i):
            break  # past 9999-12-31: no such day
        day = week_start + timedelta(days=i)
        if terms.start_date <= day <= terms.end_date:
            mask |= 1 << i
    return mask


def holiday_pay_owed(week: WeekLog, terms: Terms, rate: int) -> tuple[Fraction, str]:
    """Exact weekly holiday pay owed for a week, and why (or why not)."""
    if terms.weekly_minutes < HOLIDAY_PAY_MIN_WEEKLY_MINUTES:
        return Fraction(0), f"contracted {terms.weekly_minutes / 60:g} h a week is under 15 h"
    required = contracted_days_in_week(week.week_start, terms)
    if required == 0:
        return Fraction(0), "no contracted day in this week"
    missed = required & ~week.days_worked
    if missed:
        return Fraction(0), f"contracted day(s) not worked: {days_text(missed)}"
    return Fraction(terms.daily_minutes * rate, 60), "weekly hours ≥ 15 h and every contracted day worked"


def _krw(n: int) -> str:
    return f"₩{n:,}"


def check(
    terms: Terms,
    weeks: list[WeekLog],
    statements: list[Statement],
    minimum_wages: dict[int, int],
    as_of: date,
) -> Report:
    """All findings for the contract, per pay period, in period order."""
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

    periods: list[PeriodResult] = []
    for start in sorted(period_end):
        periods.append(
            _check_period(
                terms, start, period_end[start], by_period.get(start, []), statement_of.get(start), minimum_wages, as_of
            )
        )
    findings = [f for p in periods for f in p.findings]
    return Report(as_of=as_of, periods=periods, findings=findings)


def _check_period(
    terms: Terms,
    start: date,
    end: date,
    weeks: list[WeekLog],
    statement: Statement | None,
    minimum_wages: dict[int, int],
    as_of: date,
) -> PeriodResult:
    findings: list[Finding] = []
    due = due_date(end, terms)
    base = Fraction(0)
    minimum_base = Fraction(0)
    holiday = Fraction(0)
    holiday_weeks: list[date] = []
    holiday_reasons: dict[str, str] = {}
    minutes = 0
    first_rate = 0
    flagged_years: set[int] = set()

    for w in weeks:
        minimum = minimum_wage_for(w.week_start.year, minimum_wages)
        rate = max(terms.hourly_wage, minimum)
        first_rate = first_rate or rate
        minutes += w.minutes_worked
        base += Fraction(w.minutes_worked * rate, 60)
        minimum_base += Fraction(w.minutes_worked * minimum, 60)
        owed, why = holiday_pay_owed(w, terms, rate)
        holiday_reasons[w.week_start.isoformat()] = why
        if owed:
            holiday += owed
            holiday_weeks.append(w.week_start)
        if terms.hourly_wage < minimum and w.week_start.year not in flagged_years:
            flagged_years.add(w.week_start.year)
            findings.append(
                Finding(
                    CONTRACT_WAGE_BELOW_MINIMUM,
                    start,
                    end,
                    0,
                    f"the contracted wage {_krw(terms.hourly_wage)}/h is below the {w.week_start.year} minimum wage "
                    f"{_krw(minimum)}/h; the minimum applies",
                    (w.week_start,),
                    {"contract_hourly_wage": terms.hourly_wage, "minimum_wage": minimum, "year": w.week_start.year},
                )
            )
        if w.status == "disputed":
            claimed = w.claimed_minutes if w.claimed_minutes is not None else w.minutes_worked
            extra = max(0, claimed - w.minutes_worked)
            amount = round_half_up(Fraction(extra * rate, 60))
            findings.append(
                Finding(
                    DISPUTED_WEEK,
                    start,
                    end,
                    amount,
                    f"the worker disputes the week of {w.week_start}: recorded {w.minutes_worked} min, "
                    f"claimed {claimed} min; the extra {extra} min are worth {_krw(amount)}",
                    (w.week_start,),
                    {
                        "recorded_minutes": w.minutes_worked,
                        "claimed_minutes": claimed,
                        "recorded_days": days_text(w.days_worked),
                        "claimed_days": days_text(w.claimed_days if w.claimed_days is not None else w.days_worked),
                        "revision": w.revision,
                    },
                )
            )
        elif w.status == "recorded":
            findings.append(
                Finding(
                    UNCONFIRMED_WEEK,
                    start,
                    end,
                    0,
                    f"the week of {w.week_start} is recorded by the employer but not yet confirmed by the worker",
                    (w.week_start,),
                    {"revision": w.revision},
                )
            )

    base_owed = round_half_up(base)
    minimum_owed = round_half_up(minimum_base)
    holiday_owed = round_half_up(holiday)
    week_tuple = tuple(w.week_start for w in weeks)

    if statement is None:
        if weeks and due < as_of and base_owed + holiday_owed > 0:
            findings.append(
                Finding(
                    MISSING_STATEMENT,
                    start,
                    end,
                    base_owed + holiday_owed,
                    f"no wage statement for {start} – {end} (due {due}); {_krw(base_owed + holiday_owed)} owed "
                    f"({_krw(base_owed)} for {minutes} min + {_krw(holiday_owed)} weekly holiday pay)",
                    week_tuple,
                    {"due_date": due.isoformat(), "base_owed": base_owed, "holiday_owed": holiday_owed},
                )
            )
    else:
        paid_hours = statement.base_pay + statement.overtime_pay
        below_min = max(0, minimum_owed - paid_hours)
        under = max(0, base_owed - paid_hours) - below_min
        if below_min:
            findings.append(
                Finding(
                    BELOW_MINIMUM_WAGE,
                    start,
                    end,
                    below_min,
                    f"{_krw(paid_hours)} paid for {minutes} min is below the minimum wage "
                    f"({_krw(minimum_owed)}); {_krw(below_min)} short",
                    week_tuple,
                    {"minutes_worked": minutes, "paid_for_hours": paid_hours, "minimum_wage_pay": minimum_owed},
                )
            )
        if under:
            findings.append(
                Finding(
                    UNDERPAID_WAGES,
                    start,
                    end,
                    under,
                    f"{_krw(paid_hours)} paid for {minutes} min at {_krw(first_rate)}/h, {_krw(base_owed)} owed; "
                    f"{_krw(under)} short",
                    week_tuple,
                    {
                        "minutes_worked": minutes,
                        "hourly_rate": first_rate,
                        "base_owed": base_owed,
                        "paid_for_hours": paid_hours,
                    },
                )
            )
        excess = max(0, paid_hours - base_owed)
        holiday_short = max(0, holiday_owed - statement.holiday_pay - excess)
        if holiday_short:
            findings.append(
                Finding(
                    WEEKLY_HOLIDAY_PAY,
                    start,
                    end,
                    holiday_short,
                    f"weekly holiday pay of {_krw(holiday_owed)} owed for the week(s) of "
                    f"{', '.join(str(d) for d in holiday_weeks)}, {_krw(statement.holiday_pay)} paid; "
                    f"{_krw(holiday_short)} short",
                    tuple(holiday_weeks),
                    {
                        "holiday_owed": holiday_owed,
                        "holiday_paid": statement.holiday_pay,
                        "offset_by_excess_base": min(excess, max(0, holiday_owed - statement.holiday_pay)),
                        "daily_minutes": terms.daily_minutes,
                        "reasons": holiday_reasons,
                    },
                )
            )
        if statement.payment_date > due:
            days = (statement.payment_date - due).days
            findings.append(
                Finding(
                    LATE_PAYMENT,
                    start,
                    end,
                    0,
                    f"paid on {statement.payment_date}, {days} day(s) after the pay day {due}",
                    week_tuple,
                    {
                        "due_date": due.isoformat(),
                        "payment_date": statement.payment_date.isoformat(),
                        "days_late": days,
                        "gross_paid_late": statement.gross_pay,
                    },
                )
            )

    findings.sort(key=lambda f: KIND_ORDER.index(f.kind))
    return PeriodResult(
        period_start=start,
        period_end=end,
        due_date=due,
        weeks=list(week_tuple),
        minutes_worked=minutes,
        hourly_rate_owed=first_rate or terms.hourly_wage,
        base_owed=base_owed,
        holiday_owed=holiday_owed,
        holiday_weeks=holiday_weeks,
        statement=statement,
        findings=findings,
    )
