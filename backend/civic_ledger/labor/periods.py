"""One pay period against its wage statement: the amounts owed per component and the findings.

See :mod:`civic_ledger.labor.compliance` for the rules (this module is its second half: the
period arithmetic and the findings' texts and figures).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from civic_ledger.labor import workweek as ww
from civic_ledger.labor.compliance import (
    BASIS,
    BELOW_MINIMUM_WAGE,
    BREAK_NOT_GIVEN,
    CONTRACT_BREAK_MISSING,
    CONTRACT_WAGE_BELOW_MINIMUM,
    DISPUTED_WEEK,
    HOLIDAY_WORK_UNPAID,
    KIND_ORDER,
    LATE_PAYMENT,
    MISSING_STATEMENT,
    NIGHT_UNPAID,
    OVERTIME_UNPAID,
    UNCONFIRMED_WEEK,
    UNDERPAID_WAGES,
    WEEKLY_HOLIDAY_PAY,
    Finding,
    PeriodResult,
    Statement,
    Terms,
    WeekLog,
    due_date,
    exact_number,
    krw_text,
    lines_json,
    lines_text,
    merge_lines,
    minimum_wage_for,
    plus_days,
    round_half_up,
)
from civic_ledger.labor.workweek import Line, day_bits, days_text


def contract_findings(terms: Terms) -> list[Finding]:
    """Findings about the signed terms themselves (listed once, for the contract's whole period)."""
    required = ww.Shift(terms.start_date, 0, terms.daily_minutes + terms.break_minutes, terms.break_minutes)
    if terms.break_minutes >= required.break_required:
        return []
    return [
        Finding(
            CONTRACT_BREAK_MISSING,
            terms.start_date,
            terms.end_date,
            0,
            f"the contract gives {terms.break_minutes} min of break for {terms.daily_minutes / 60:g} h of work a day; "
            f"{BASIS[CONTRACT_BREAK_MISSING]} requires {required.break_required} min",
            (),
            {
                "daily_hours": terms.daily_minutes / 60,
                "break_minutes": terms.break_minutes,
                "break_required_minutes": required.break_required,
            },
            BASIS[CONTRACT_BREAK_MISSING],
        )
    ]


@dataclass
class _Sums:
    """Exact sums of a pay period's weeks."""

    straight: list[Line] = field(default_factory=list)
    overtime: list[Line] = field(default_factory=list)
    holiday_work: list[Line] = field(default_factory=list)
    night: list[Line] = field(default_factory=list)
    holiday_pay: list[tuple[date, Line]] = field(default_factory=list)
    minimum: list[Line] = field(default_factory=list)
    beyond_contract: int = 0
    beyond_statutory: int = 0
    overtime_minutes: int = 0
    night_minutes: int = 0
    holiday_work_minutes: int = 0
    missing_breaks: list[ww.Shift] = field(default_factory=list)

    @staticmethod
    def owed(lines: list[Line]) -> int:
        return round_half_up(sum((line.amount for line in lines), Fraction(0)))

    @staticmethod
    def minutes(lines: list[Line]) -> int:
        return int(sum(Fraction(line.minutes) for line in lines))


def check_period(
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
    sums = _Sums()
    holiday_reasons: dict[str, str] = {}
    minutes = 0
    flagged_years: set[int] = set()
    hours = terms.hours()

    def minimum_of(year: int) -> int:
        return minimum_wage_for(year, minimum_wages)

    def finding(kind: str, amount: int, message: str, weeks_: tuple[date, ...], details: dict[str, Any]) -> None:
        findings.append(Finding(kind, start, end, amount, message, weeks_, details, BASIS[kind]))

    for w in weeks:
        fig = ww.week_figures(w.week_start, list(w.shifts), w.days_worked, hours, minimum_of, w.minutes_worked)
        minutes += fig.minutes_worked
        merge_lines(sums.straight, fig.straight)
        merge_lines(sums.overtime, fig.overtime)
        merge_lines(sums.holiday_work, fig.holiday_work)
        merge_lines(sums.night, fig.night)
        merge_lines(sums.minimum, fig.straight_minimum)
        sums.beyond_contract += fig.overtime_beyond_contract
        sums.beyond_statutory += fig.overtime_beyond_statutory
        sums.overtime_minutes += fig.overtime_minutes
        sums.night_minutes += fig.night_minutes
        sums.holiday_work_minutes += fig.holiday_work_minutes
        sums.missing_breaks += fig.missing_breaks
        holiday_reasons[w.week_start.isoformat()] = fig.holiday_pay_reason
        if fig.holiday_pay is not None:
            sums.holiday_pay.append((w.week_start, fig.holiday_pay))
        worked_days = [s.day for s in w.shifts] or [plus_days(w.week_start, i) for i in day_bits(w.days_worked)]
        for day in sorted(set(worked_days)):
            minimum = minimum_of(day.year)
            if terms.hourly_wage < minimum and day.year not in flagged_years:
                flagged_years.add(day.year)
                finding(
                    CONTRACT_WAGE_BELOW_MINIMUM,
                    0,
                    f"the contracted wage {krw_text(terms.hourly_wage)}/h is below the {day.year} minimum wage "
                    f"{krw_text(minimum)}/h; the minimum applies from {max(day, date(day.year, 1, 1))}",
                    (w.week_start,),
                    {"contract_hourly_wage": terms.hourly_wage, "minimum_wage": minimum, "year": day.year},
                )
        rate = max(terms.hourly_wage, minimum_of(w.week_start.year))
        if w.status == "disputed":
            claimed = w.claimed_minutes if w.claimed_minutes is not None else w.minutes_worked
            extra = max(0, claimed - w.minutes_worked)
            amount = round_half_up(Fraction(extra * rate, 60))
            finding(
                DISPUTED_WEEK,
                amount,
                f"the worker disputes the week of {w.week_start}: recorded {w.minutes_worked} min, "
                f"claimed {claimed} min; the extra {extra} min at {krw_text(rate)}/h are worth {krw_text(amount)}",
                (w.week_start,),
                {
                    "recorded_minutes": w.minutes_worked,
                    "claimed_minutes": claimed,
                    "recorded_days": days_text(w.days_worked),
                    "claimed_days": days_text(w.claimed_days if w.claimed_days is not None else w.days_worked),
                    "revision": w.revision,
                    "hours": extra / 60,
                    "hourly_rate": rate,
                    "percent": 100,
                    "amount": amount,
                },
            )
        elif w.status == "recorded":
            finding(
                UNCONFIRMED_WEEK,
                0,
                f"the week of {w.week_start} is recorded by the employer but not yet confirmed by the worker",
                (w.week_start,),
                {"revision": w.revision},
            )

    if sums.missing_breaks:
        shifts = sums.missing_breaks
        finding(
            BREAK_NOT_GIVEN,
            0,
            f"{len(shifts)} shift(s) without the break the law requires (30 min per 4 h, 1 h per 8 h worked): "
            + "; ".join(
                f"{s.label()} worked {s.worked / 60:g} h with {s.break_minutes} min of break, {s.break_required} required"
                for s in shifts
            ),
            tuple(sorted({s.day - timedelta(days=s.day.weekday()) for s in shifts})),
            {
                "shifts": [
                    {
                        "date": s.day.isoformat(),
                        "shift": s.label(),
                        "hours_worked": s.worked / 60,
                        "break_minutes": s.break_minutes,
                        "break_required_minutes": s.break_required,
                    }
                    for s in shifts
                ]
            },
        )

    base_owed = _Sums.owed(sums.straight)
    minimum_owed = _Sums.owed(sums.minimum)
    overtime_owed = _Sums.owed(sums.overtime)
    holiday_work_owed = _Sums.owed(sums.holiday_work)
    night_owed = _Sums.owed(sums.night)
    holiday_owed = _Sums.owed([line for _, line in sums.holiday_pay])
    hours_owed = base_owed + overtime_owed + holiday_work_owed + night_owed
    week_tuple = tuple(w.week_start for w in weeks)
    first_rate = (sums.straight or sums.overtime or sums.holiday_work or [Line(0, terms.hourly_wage, 100)])[
        0
    ].hourly_rate
    holiday_weeks = [week for week, _ in sums.holiday_pay]
    holiday_lines = [
        {
            "week": week.isoformat(),
            "hours": exact_number(Fraction(line.minutes) / 60),
            "hourly_rate": line.hourly_rate,
            "percent": 100,
            "amount": round_half_up(line.amount),
        }
        for week, line in sums.holiday_pay
    ]
    components = {
        "base_owed": base_owed,
        "overtime_owed": overtime_owed,
        "holiday_work_owed": holiday_work_owed,
        "night_owed": night_owed,
        "holiday_owed": holiday_owed,
    }

    if statement is None:
        if weeks and due < as_of and hours_owed + holiday_owed > 0:
            finding(
                MISSING_STATEMENT,
                hours_owed + holiday_owed,
                f"no wage statement for {start} – {end} (due {due}); {krw_text(hours_owed + holiday_owed)} owed "
                f"({krw_text(base_owed)} for {minutes} min"
                + "".join(
                    f" + {krw_text(v)} {label}"
                    for v, label in (
                        (overtime_owed, "overtime"),
                        (holiday_work_owed, "holiday work"),
                        (night_owed, "night premium"),
                        (holiday_owed, "weekly holiday pay"),
                    )
                    if v
                )
                + ")",
                week_tuple,
                {
                    "due_date": due.isoformat(),
                    "hours": minutes / 60,
                    "hourly_rate": first_rate,
                    "percent": 100,
                    "amount": hours_owed + holiday_owed,
                    **components,
                },
            )
    else:
        paid_hours = statement.base_pay + statement.overtime_pay
        below_min = max(0, minimum_owed - paid_hours)
        under = max(0, base_owed - paid_hours) - below_min
        if below_min:
            finding(
                BELOW_MINIMUM_WAGE,
                below_min,
                f"{krw_text(paid_hours)} paid for {minutes} min is below the minimum wage for the straight time: "
                f"{lines_text(sums.minimum)} = {krw_text(minimum_owed)}; {krw_text(below_min)} short",
                week_tuple,
                {
                    "minutes_worked": minutes,
                    "paid_for_hours": paid_hours,
                    "minimum_wage_pay": minimum_owed,
                    "hours": _Sums.minutes(sums.minimum) / 60,
                    "hourly_rate": sums.minimum[0].hourly_rate,
                    "percent": 100,
                    "amount": minimum_owed,
                    "lines": lines_json(sums.minimum),
                },
            )
        if under:
            finding(
                UNDERPAID_WAGES,
                under,
                f"{krw_text(paid_hours)} paid for {minutes} min; straight time {lines_text(sums.straight)} = "
                f"{krw_text(base_owed)} owed; {krw_text(under)} short",
                week_tuple,
                {
                    "minutes_worked": minutes,
                    "hours": _Sums.minutes(sums.straight) / 60,
                    "hourly_rate": first_rate,
                    "percent": 100,
                    "amount": base_owed,
                    "base_owed": base_owed,
                    "paid_for_hours": paid_hours,
                    "lines": lines_json(sums.straight),
                },
            )
        left = max(0, paid_hours - base_owed)
        for kind, lines, owed, what, more in (
            (
                OVERTIME_UNPAID,
                sums.overtime,
                overtime_owed,
                "beyond the contracted hours"
                if sums.beyond_contract > sums.beyond_statutory
                else "beyond 8 h a day / 40 h a week",
                {
                    "minutes_beyond_contract": sums.beyond_contract,
                    "minutes_beyond_8h_day_or_40h_week": sums.beyond_statutory,
                },
            ),
            (HOLIDAY_WORK_UNPAID, sums.holiday_work, holiday_work_owed, "of holiday work", {}),
            (NIGHT_UNPAID, sums.night, night_owed, "of night work (22:00–06:00), premium", {}),
        ):
            short = max(0, owed - left)
            left = max(0, left - owed)
            if not short:
                continue
            basis = BASIS[kind]
            if kind == OVERTIME_UNPAID and sums.beyond_contract > sums.beyond_statutory:
                basis = ww.BASIS_OVERTIME_PART_TIME + (f"; {ww.BASIS_OVERTIME}" if sums.beyond_statutory else "")
            hours_text = f"{_Sums.minutes(lines) / 60:g} h {what}"
            findings.append(
                Finding(
                    kind,
                    start,
                    end,
                    short,
                    f"{hours_text} ({basis}): {lines_text(lines)} = {krw_text(owed)} owed; "
                    f"{krw_text(owed - short)} of it covered by the pay for hours; {krw_text(short)} short",
                    week_tuple,
                    {
                        "hours": _Sums.minutes(lines) / 60,
                        "hourly_rate": lines[0].hourly_rate,
                        "percent": lines[0].percent,
                        "amount": owed,
                        "lines": lines_json(lines),
                        "paid_for_hours": paid_hours,
                        **more,
                    },
                    basis,
                )
            )
        holiday_short = max(0, holiday_owed - statement.holiday_pay - left)
        if holiday_short:
            finding(
                WEEKLY_HOLIDAY_PAY,
                holiday_short,
                f"weekly holiday pay of {krw_text(holiday_owed)} owed for the week(s) of "
                + ", ".join(f"{x['week']} ({x['hours']:g} h × ₩{x['hourly_rate']:,})" for x in holiday_lines)
                + f", {krw_text(statement.holiday_pay)} paid; {krw_text(holiday_short)} short",
                tuple(holiday_weeks),
                {
                    "holiday_owed": holiday_owed,
                    "holiday_paid": statement.holiday_pay,
                    "offset_by_excess_pay": min(left, max(0, holiday_owed - statement.holiday_pay)),
                    "weekly_hours": terms.weekly_minutes / 60,
                    "hours": exact_number(
                        sum((Fraction(line.minutes) for _, line in sums.holiday_pay), Fraction(0)) / 60
                    ),
                    "hourly_rate": holiday_lines[0]["hourly_rate"],
                    "percent": 100,
                    "amount": holiday_owed,
                    "lines": holiday_lines,
                    "reasons": holiday_reasons,
                },
            )
        if statement.payment_date > due:
            days = (statement.payment_date - due).days
            finding(
                LATE_PAYMENT,
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

    findings.sort(key=lambda f: KIND_ORDER.index(f.kind))
    return PeriodResult(
        period_start=start,
        period_end=end,
        due_date=due,
        weeks=list(week_tuple),
        minutes_worked=minutes,
        hourly_rate_owed=first_rate,
        **components,
        overtime_minutes=sums.overtime_minutes,
        holiday_work_minutes=sums.holiday_work_minutes,
        night_minutes=sums.night_minutes,
        holiday_weeks=holiday_weeks,
        statement=statement,
        findings=findings,
    )
