"""What one work week is worth under the law (pure Python, no chain access).

:func:`week_figures` splits a week's shifts into the minutes each rule of the Labour Standards
Act (LSA) and the Act on the Protection of Fixed-term and Part-time Workers prices differently,
each at the hourly rate of the **day worked** (a week across 31 December / 1 January uses each
day's minimum wage):

- **Shifts.** A shift belongs to the day it starts; ``end_minute`` above 1440 ends it the next day
  (22:00–06:00 is 1320–1800). Break time is not working time: worked = end − start − break.
- **Overtime** (only in a workplace of five or more employees): minutes beyond the contract for a
  short-time worker (contracted < 40 h a week; Part-time Workers Act Art. 6(3)) — per day beyond
  the contracted daily minutes (a day that is not a contracted day has none), or per week beyond
  the contracted weekly minutes, whichever is more — and for every worker beyond 8 h a day or
  40 h a week (LSA Art. 56(1)). Paid at 150 %. Minutes beyond the weekly measure that the daily
  one did not already count are the week's last minutes. Holiday shifts are priced by the holiday
  rule instead (no double premium).
- **Holiday work** (five or more, LSA Art. 56(2)): a shift flagged ``holiday`` is paid 150 % for
  the day's first 8 h and 200 % beyond.
- **Night work** (five or more, LSA Art. 56(3)): +50 % for the minutes between 22:00 and 06:00, on
  top of any overtime or holiday rate. A shift's break is taken to fall in its daytime part first
  (the part the log can not place is counted as night work).
- **Breaks** (LSA Art. 54(1), every workplace): a shift of 4 h worked needs 30 min of break, of 8 h
  1 h; a shift with less is reported (break time is unpaid, so nothing is owed for it).
- **Weekly holiday pay** (LSA Art. 55(1), Enforcement Decree annex 2, every workplace): owed when the
  contracted weekly time is at least 15 h and every contracted day of the week inside the contract
  dates was worked; hours = contracted weekly hours ÷ 40 × 8, at most 8, at the rate of the week's
  Sunday.

In a workplace of fewer than five employees (LSA Art. 11(2), Enforcement Decree Art. 7 and annex
1; Part-time Workers Act Art. 3(1)) none of the premiums apply: every minute is straight time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction

DAY = 1440
HOLIDAY_PAY_MIN_WEEKLY_MINUTES = 15 * 60
FULL_TIME_WEEKLY_MINUTES = 40 * 60
STATUTORY_DAILY_MINUTES = 8 * 60
HOLIDAY_PAY_MAX_MINUTES = 8 * 60
HOLIDAY_WORK_BASE_MINUTES = 8 * 60
NIGHT_WINDOWS = ((0, 6 * 60), (22 * 60, DAY + 6 * 60), (DAY + 22 * 60, 2 * DAY))

BASIS_OVERTIME_PART_TIME = "Part-time Workers Act Art. 6(3)"
BASIS_OVERTIME = "Labour Standards Act Art. 56(1)"
BASIS_HOLIDAY_WORK = "Labour Standards Act Art. 56(2)"
BASIS_NIGHT = "Labour Standards Act Art. 56(3)"
BASIS_BREAK = "Labour Standards Act Art. 54(1)"
BASIS_HOLIDAY_PAY = "Labour Standards Act Art. 55(1); Enforcement Decree annex 2"
BASIS_SMALL_WORKPLACE = (
    "Labour Standards Act Art. 11(2), Enforcement Decree Art. 7 and annex 1; Part-time Workers Act Art. 3(1)"
)


@dataclass(frozen=True)
class Shift:
    day: date
    start_minute: int
    end_minute: int  # above 1440: ends the next day
    break_minutes: int = 0
    holiday: bool = False

    @property
    def worked(self) -> int:
        return self.end_minute - self.start_minute - self.break_minutes

    @property
    def night_minutes(self) -> int:
        """Minutes worked between 22:00 and 06:00 (the break taken in the daytime part first)."""
        span = sum(max(0, min(self.end_minute, hi) - max(self.start_minute, lo)) for lo, hi in NIGHT_WINDOWS)
        daytime = self.end_minute - self.start_minute - span
        return max(0, span - max(0, self.break_minutes - daytime))

    @property
    def break_required(self) -> int:
        if self.worked >= 8 * 60:
            return 60
        return 30 if self.worked >= 4 * 60 else 0

    def label(self) -> str:
        end = self.end_minute % DAY
        next_day = " (+1 day)" if self.end_minute > DAY else ""
        return (
            f"{self.day} {self.start_minute // 60:02d}:{self.start_minute % 60:02d}–{end // 60:02d}:{end % 60:02d}"
            f"{next_day}"
        )


@dataclass(frozen=True)
class ContractHours:
    """The terms the week rules need."""

    hourly_wage: int
    daily_minutes: int
    weekly_minutes: int
    work_days: int  # bit 0 = Monday
    start_date: date
    end_date: date
    five_or_more: bool


@dataclass
class Line:
    """Minutes priced at one hourly rate and percentage (exact amount)."""

    minutes: int | Fraction  # weekly holiday pay can be a fraction of a minute (14.4 h a week: 172.8 min)
    hourly_rate: int
    percent: int

    @property
    def amount(self) -> Fraction:
        return Fraction(self.minutes * self.hourly_rate * self.percent, 60 * 100)


@dataclass
class WeekFigures:
    week_start: date
    minutes_worked: int = 0
    straight: list[Line] = field(default_factory=list)  # 100 % (every minute not in a premium line)
    straight_minimum: list[Line] = field(default_factory=list)  # the same minutes at the minimum wage
    overtime: list[Line] = field(default_factory=list)  # 150 %
    overtime_beyond_contract: int = 0  # minutes (short-time workers)
    overtime_beyond_statutory: int = 0  # minutes beyond 8 h/day or 40 h/week
    holiday_work: list[Line] = field(default_factory=list)  # 150 % / 200 %
    night: list[Line] = field(default_factory=list)  # +50 %
    overtime_minutes: int = 0  # worked beyond the contract or the statutory limits (premium or not)
    night_minutes: int = 0  # worked 22:00–06:00 (premium or not)
    holiday_work_minutes: int = 0  # worked on holidays (premium or not)
    missing_breaks: list[Shift] = field(default_factory=list)
    holiday_pay: Line | None = None
    holiday_pay_reason: str = ""


def _plus_days(day: date, days: int) -> date:
    return day + timedelta(days=days) if day <= date.max - timedelta(days=days) else date.max


def day_bits(mask: int) -> list[int]:
    return [i for i in range(7) if mask >> i & 1]


WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def days_text(mask: int) -> str:
    return ",".join(WEEKDAYS[i] for i in day_bits(mask)) or "none"


def contracted_days_in_week(week_start: date, terms: ContractHours) -> int:
    """The contracted working days of the week that fall within the contract's dates (mask)."""
    mask = 0
    for i in day_bits(terms.work_days):
        if week_start > date.max - timedelta(days=i):
            break  # past 9999-12-31: no such day
        day = week_start + timedelta(days=i)
        if terms.start_date <= day <= terms.end_date:
            mask |= 1 << i
    return mask


def holiday_pay_minutes(weekly_minutes: int) -> Fraction:
    """Contracted weekly hours ÷ 40 × 8, at most 8 h (in minutes, exact)."""
    return min(Fraction(weekly_minutes * 8, 40), Fraction(HOLIDAY_PAY_MAX_MINUTES))


def holiday_pay_owed(week_start: date, days_worked: int, terms: ContractHours, rate: int) -> tuple[Fraction, str]:
    """Exact weekly holiday pay owed for a week, and why (or why not)."""
    if terms.weekly_minutes < HOLIDAY_PAY_MIN_WEEKLY_MINUTES:
        return Fraction(0), f"contracted {terms.weekly_minutes / 60:g} h a week is under 15 h"
    required = contracted_days_in_week(week_start, terms)
    if required == 0:
        return Fraction(0), "no contracted day in this week"
    missed = required & ~days_worked
    if missed:
        return Fraction(0), f"contracted day(s) not worked: {days_text(missed)}"
    minutes = holiday_pay_minutes(terms.weekly_minutes)
    return minutes * rate / 60, (
        f"contracted {terms.weekly_minutes / 60:g} h a week ≥ 15 h and every contracted day worked: "
        f"{terms.weekly_minutes / 60:g} h ÷ 40 × 8 = {float(minutes / 60):g} h"
    )


def _add(lines: list[Line], minutes: int, rate: int, percent: int) -> None:
    if minutes <= 0:
        return
    for line in lines:
        if line.hourly_rate == rate and line.percent == percent:
            line.minutes += minutes
            return
    lines.append(Line(minutes, rate, percent))


def week_figures(
    week_start: date,
    shifts: list[Shift],
    days_worked: int,
    terms: ContractHours,
    minimum_of: Callable[[int], int],
    summary_minutes: int = 0,
) -> WeekFigures:
    """Every priced part of one week. ``minimum_of`` gives a year's minimum wage.

    A week logged as a summary only (no shifts, ``summary_minutes``) is straight time on its first
    worked day: nothing else can be checked without the shifts."""

    def rate(day: date) -> tuple[int, int]:
        minimum = minimum_of(day.year)
        return max(terms.hourly_wage, minimum), minimum

    out = WeekFigures(week_start=week_start)
    if not shifts and summary_minutes:
        r, m = rate(_plus_days(week_start, day_bits(days_worked)[0] if days_worked else 0))
        out.minutes_worked = summary_minutes
        _add(out.straight, summary_minutes, r, 100)
        _add(out.straight_minimum, summary_minutes, m, 100)
        return _with_holiday_pay(out, week_start, days_worked, terms, rate)
    premiums = terms.five_or_more
    short_time = terms.weekly_minutes < FULL_TIME_WEEKLY_MINUTES
    contracted = contracted_days_in_week(week_start, terms)

    # minutes of ordinary (non-holiday) shifts per weekday offset, holiday shifts per day
    ordinary = [0] * 7
    holiday_by_day: dict[int, int] = {}
    for s in shifts:
        offset = (s.day - week_start).days
        if not 0 <= offset <= 6:
            raise ValueError(f"the shift {s.label()} is not in the week starting {week_start}")
        out.minutes_worked += s.worked
        if s.break_minutes < s.break_required:
            out.missing_breaks.append(s)
        out.night_minutes += s.night_minutes
        if premiums and s.night_minutes:
            _add(out.night, s.night_minutes, rate(s.day)[0], 50)
        if s.holiday:
            holiday_by_day[offset] = holiday_by_day.get(offset, 0) + s.worked
        else:
            ordinary[offset] += s.worked

    # overtime minutes per day: the daily measure first, then the rest of the weekly measure from the week's end
    def excess_by_day(daily_limit: list[int], weekly_limit: int) -> list[int]:
        daily = [max(0, ordinary[d] - daily_limit[d]) for d in range(7)]
        rest = max(0, sum(ordinary) - weekly_limit) - sum(daily)
        for d in range(6, -1, -1):
            if rest <= 0:
                break
            take = min(rest, ordinary[d] - daily[d])
            daily[d] += take
            rest -= take
        return daily

    statutory = excess_by_day([STATUTORY_DAILY_MINUTES] * 7, FULL_TIME_WEEKLY_MINUTES)
    out.overtime_beyond_statutory = sum(statutory)
    over = statutory
    if short_time:
        contract_daily = [
            min(terms.daily_minutes, STATUTORY_DAILY_MINUTES) if contracted >> d & 1 else 0 for d in range(7)
        ]
        beyond_contract = excess_by_day(contract_daily, terms.weekly_minutes)
        out.overtime_beyond_contract = sum(beyond_contract)
        if sum(beyond_contract) > sum(statutory):
            over = beyond_contract
    out.overtime_minutes = sum(over)

    for d in range(7):
        if not ordinary[d]:
            continue
        day = _plus_days(week_start, d)
        r, m = rate(day)
        premium_minutes = over[d] if premiums else 0
        _add(out.straight, ordinary[d] - premium_minutes, r, 100)
        _add(out.straight_minimum, ordinary[d] - premium_minutes, m, 100)
        _add(out.overtime, premium_minutes, r, 150)
    for d, minutes in sorted(holiday_by_day.items()):
        day = _plus_days(week_start, d)
        r, m = rate(day)
        out.holiday_work_minutes += minutes
        if premiums:
            _add(out.holiday_work, min(minutes, HOLIDAY_WORK_BASE_MINUTES), r, 150)
            _add(out.holiday_work, minutes - HOLIDAY_WORK_BASE_MINUTES, r, 200)
        else:
            _add(out.straight, minutes, r, 100)
            _add(out.straight_minimum, minutes, m, 100)
    return _with_holiday_pay(out, week_start, days_worked, terms, rate)


def _with_holiday_pay(
    out: WeekFigures,
    week_start: date,
    days_worked: int,
    terms: ContractHours,
    rate: Callable[[date], tuple[int, int]],
) -> WeekFigures:
    sunday_rate = rate(_plus_days(week_start, 6))[0]
    owed, why = holiday_pay_owed(week_start, days_worked, terms, sunday_rate)
    out.holiday_pay_reason = why
    if owed:
        out.holiday_pay = Line(holiday_pay_minutes(terms.weekly_minutes), sunday_rate, 100)
    return out
