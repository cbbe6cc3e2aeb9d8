"""``civic-ledger demo`` fills a running server; a second run adds nothing; read commands show data."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from civic_ledger.cli import app
from tests.conftest import LiveServer, started_platform

runner = CliRunner()
#: The embedded chain registers about 3 citizens a second (each registration reads 27 roles to refuse
#: agency keys): the test city is smaller than `civic-ledger demo`'s 300 to stay within a minute.
CITIZENS = 60


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict]]:
    base = tmp_path_factory.mktemp("demo")
    with started_platform("embedded", base / "server") as platform, LiveServer(platform) as server:
        cli_dir = base / "cli"
        started = time.monotonic()
        result = runner.invoke(
            app, ["demo", "--api", server.url, "--data-dir", str(cli_dir), "--citizens", str(CITIZENS), "--json"]
        )
        elapsed = time.monotonic() - started
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        summary["elapsed"] = elapsed
        yield server.url, cli_dir, summary


def cli(api: str, data_dir: Path, *args: str) -> str:
    result = runner.invoke(app, [*args, "--api", api], env={"CIVIC_DATA_DIR": str(data_dir)})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_demo_builds_a_city_in_well_under_a_minute(city: tuple[str, Path, dict]) -> None:
    _, data_dir, summary = city
    made = summary["made"]
    assert made["citizens"] >= CITIZENS
    assert made["role grants"] >= 25 + 6
    assert {"payments", "mileage", "closed polls", "open polls", "credentials", "labour", "used cars"} <= set(
        summary["sections"]
    )
    assert "demo-minji" in summary["keystores"] and "demo-city-admin" in summary["keystores"]
    assert summary["elapsed"] < 60, summary["elapsed"]


def test_demo_second_run_adds_nothing(city: tuple[str, Path, dict]) -> None:
    api, data_dir, first = city
    result = runner.invoke(
        app, ["demo", "--api", api, "--data-dir", str(data_dir), "--citizens", str(CITIZENS), "--json"]
    )
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    assert not any(again["made"].values()), again["made"]
    assert again["existed"]["citizens"] == CITIZENS  # the labour worker is checked with its section
    assert again["sections"] == first["sections"]


def test_walk_through_reads_show_demo_data(city: tuple[str, Path, dict]) -> None:
    api, data_dir, summary = city
    s = summary["sections"]
    assert "citizen #" in cli(api, data_dir, "identity", "show", "demo-minji")
    polls = json.loads(cli(api, data_dir, "voting", "list", "--json"))
    assert len(polls) >= 4
    closed = json.loads(cli(api, data_dir, "voting", "results", str(s["closed polls"]["public"]), "--json"))
    assert closed["ballots"] == s["closed polls"]["ballots"] and closed["status"] in ("finalized", "closed")
    sealed = json.loads(cli(api, data_dir, "voting", "results", str(s["closed polls"]["sealed"]), "--json"))
    assert sealed["counted"] == s["closed polls"]["revealed"]
    project = json.loads(cli(api, data_dir, "payments", "project", str(s["payments"]["project"]), "--json"))
    assert project
    claim = json.loads(cli(api, data_dir, "payments", "claim", str(s["payments"]["late_claim"]), "--json"))
    assert all(line["paid"] for line in claim["lines"])
    reconciled = httpx.get(f"{api}/audit/projects/{s['payments']['project']}/reconcile", timeout=60).json()
    late = [x for x in reconciled["late"] if x["claim"] == s["payments"]["late_claim"]]
    assert late and late[0]["interest"] > 0  # paid a month after the prime was paid: 15.5 %/year
    statement = json.loads(cli(api, data_dir, "mileage", "report", "statement", "demo-alice", "--json"))
    assert statement["expired"] > 0 and statement["redeemed"] == 1500
    findings = cli(api, data_dir, "labor", "check", s["labour"]["contract"], "--as-of", "2026-04-30")
    assert "underpaid_wages" in findings and "weekly_holiday_pay_unpaid" in findings
    history = cli(api, data_dir, "vehicles", "history", s["used cars"]["vin"])
    assert "rollback_refused" in history


def test_demo_refuses_non_development_chains(tmp_path: Path) -> None:
    """Without a server it says so clearly (the chain check needs GET /chain first)."""
    result = runner.invoke(app, ["demo", "--api", "http://127.0.0.1:9", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "does not answer" in result.output and "Traceback" not in result.output


def test_merchant_settles_by_calendar_month_and_award_rerun_sends_nothing(city: tuple[str, Path, dict]) -> None:
    """Issue 16 item 6: a month settles only that month's redemptions (Seoul time); an all-duplicate
    award batch sends no transaction and says so in one line."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    api, data_dir, summary = city
    merchant = summary["sections"]["mileage"]["merchant"]
    statement = json.loads(cli(api, data_dir, "mileage", "report", "statement", "demo-alice", "--json"))
    redemptions = [e for e in statement["entries"] if e["kind"] == "redemption"]
    assert [e["amount"] for e in redemptions] == [-1000, -500]
    # the epochs the points came from (eco epoch 0, then e-tax epoch 1), not the redemptions' epochs (1 and 6)
    assert [e["epoch"] for e in redemptions] == [0, 1]
    months = []
    for e in redemptions:
        block = httpx.post(
            f"{api}/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber",
                                "params": [hex(e["block_number"]), False]}, timeout=30
        ).json()["result"]  # fmt: skip
        months.append(datetime.fromtimestamp(int(block["timestamp"], 16), ZoneInfo("Asia/Seoul")).strftime("%Y-%m"))
    assert months[0] != months[1]  # five epochs apart
    env = {"CIVIC_DATA_DIR": str(data_dir), "CIVIC_KEYSTORE_PASSWORD": "demo"}
    admin = ["--as", "demo-city-admin", "--api", api, "--json"]
    empty = runner.invoke(app, ["mileage", "merchant", "settle", str(merchant), "--month", "2020-01", *admin], env=env)
    assert empty.exit_code == 1 and "nothing to settle for 2020-01" in empty.output
    first = runner.invoke(app, ["mileage", "merchant", "settle", str(merchant), "--month", months[1], *admin], env=env)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["amount"] == 500  # not the 1,000 redeemed five epochs earlier
    again = runner.invoke(app, ["mileage", "merchant", "settle", str(merchant), "--month", months[1], *admin], env=env)
    assert again.exit_code == 1 and "nothing to settle" in again.output
    rerun = runner.invoke(
        app,
        ["mileage", "award-batch", str(summary["sections"]["mileage"]["tax"]), str(data_dir / "demo" / "tax-awards.csv"),
         "--as", "demo-tax", "--api", api],
        env=env,
    )  # fmt: skip
    assert rerun.exit_code == 0, rerun.output
    assert "in 0 transaction(s)" in rerun.output and "Duplicate" in rerun.output
    assert rerun.output.count("skipped 0x") <= 5


def test_exports_are_csv_with_csvsafe_or_json(city: tuple[str, Path, dict], tmp_path: Path) -> None:
    """Issue 16 item 4: payments projects and claims, labour findings: --out FILE.csv / FILE.json."""
    import csv

    api, data_dir, summary = city
    s = summary["sections"]
    cli(api, data_dir, "labor", "check", s["labour"]["contract"], "--as-of", "2026-04-30", "--out",
        str(tmp_path / "findings.csv"))  # fmt: skip
    rows = list(csv.DictReader((tmp_path / "findings.csv").open()))
    assert {r["kind"] for r in rows} >= {"underpaid_wages", "weekly_holiday_pay_unpaid"}
    assert sum(int(r["amount_owed"]) for r in rows) == 54_000
    cli(api, data_dir, "payments", "claim", "1", "--out", str(tmp_path / "claim.csv"))
    lines = list(csv.DictReader((tmp_path / "claim.csv").open()))
    assert len(lines) == 5 and all(r["paid"] == "True" for r in lines)
    cli(api, data_dir, "payments", "project", str(s["payments"]["project"]), "--out", str(tmp_path / "p.json"))
    assert json.loads((tmp_path / "p.json").read_text())["buckets"]
    bad = runner.invoke(app, ["payments", "claim", "1", "--api", api, "--out", str(tmp_path / "claim.xlsx")])
    assert bad.exit_code == 1 and "name a .csv or a .json file" in bad.output
