"""The history report as one self-contained HTML page with a mileage-over-time chart (inline SVG)."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

_W, _H, _PAD = 640, 220, 40


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def mileage_chart(readings: list[dict[str, Any]]) -> str:
    """An SVG polyline of the readings (km over time); implausible readings are red dots."""
    if not readings:
        return "<p>No odometer readings on record.</p>"
    t0, t1 = readings[0]["at"], max(readings[-1]["at"], readings[0]["at"] + 1)
    top = max(max(r["km"] for r in readings), 1)

    def xy(r: dict[str, Any]) -> tuple[float, float]:
        x = _PAD + (r["at"] - t0) / (t1 - t0) * (_W - 2 * _PAD)
        y = _H - _PAD - r["km"] / top * (_H - 2 * _PAD)
        return round(x, 1), round(y, 1)

    points = " ".join(f"{x},{y}" for x, y in map(xy, readings))
    dots = "".join(
        f'<circle cx="{x}" cy="{y}" r="4" fill="{"#c0392b" if r.get("implausible") else "#2c7be5"}">'
        f"<title>{r['km']:,} km · {escape(r['source'])} · {_day(r['at'])}</title></circle>"
        for r, (x, y) in ((r, xy(r)) for r in readings)
    )
    axes = (
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" stroke="#999"/>'
        f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_H - _PAD}" stroke="#999"/>'
        f'<text x="{_PAD}" y="{_PAD - 8}" font-size="11">{top:,} km</text>'
        f'<text x="{_PAD}" y="{_H - 12}" font-size="11">{_day(t0)}</text>'
        f'<text x="{_W - _PAD}" y="{_H - 12}" font-size="11" text-anchor="end">{_day(t1)}</text>'
    )
    return (
        f'<svg id="mileage-chart" xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'role="img" aria-label="Odometer readings over time">{axes}'
        f'<polyline fill="none" stroke="#2c7be5" stroke-width="2" points="{points}"/>{dots}</svg>'
    )


def _table(title: str, rows: list[dict[str, Any]], cols: list[str]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(_day(r[c]) if c == 'at' else (', '.join(r[c]) if isinstance(r[c], list) else str(r[c])))}</td>"
            for c in cols
        )
        + "</tr>"
        for r in rows
    )
    return f"<h2>{escape(title)}</h2><table><tr>{head}</tr>{body}</table>"


def render(report: dict[str, Any]) -> str:
    veh = report["vehicle"] or {}
    flags = "".join(
        f'<li class="flag"><b>{escape(f["code"])}</b>: {escape(f["message"])}</li>' for f in report["flags"]
    )
    title = f"{veh.get('make', '')} {veh.get('model', '')} {veh.get('model_year', '')}".strip()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vehicle history {escape(report["vin"])}</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2rem .5rem;font-size:.9rem}}.flag b{{color:#c0392b}}</style></head>
<body><h1>Vehicle history · {escape(report["vin"])}</h1>
<p>{escape(title)} · first registered {escape(str(veh.get("first_registered", "?")))} · owners {report["owners_count"]}
· highest reading {report["highest_km"]:,} km · chain id {report["chain_id"]}, contract {escape(report["contract"])},
block {report["block_number"]} ({_day(report["as_of"])})</p>
<h2>Flags</h2><ul>{flags or "<li>none</li>"}</ul>
<h2>Mileage over time</h2>{mileage_chart(report["readings"])}
{_table("Timeline", report["timeline"], ["at", "event", "summary"])}
{_table("Inspections", report["inspections"], ["inspection_id", "at", "km", "accident_repair", "panels", "flood", "tuning", "emissions_pass"])}
{_table("Trades", report["trades"], ["at", "kind", "from", "to", "price", "inspection_id"])}
{_table("Claims", report["claims"], ["at", "kind", "insurer"])}
{_table("Liens and seizures", report["encumbrances"], ["at", "kind", "active", "remaining"])}
{_table("Maintenance", report["maintenance"], ["at", "km", "shop"])}
<p>Check it yourself: <code>civic-ledger vehicles verify REPORT.json --rpc-url URL --manifest FILE</code></p>
</body></html>
"""
