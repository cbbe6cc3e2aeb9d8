"""Operations: /metrics in Prometheus format, JSON request and transaction logs with a request id."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from prometheus_client.parser import text_string_to_metric_families

from civic_ledger.api.observability import JsonFormatter
from tests.conftest import LiveServer, started_platform
from tests.helpers import bearer, grant_role, sign_in


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, object]]:
    with started_platform("embedded", tmp_path_factory.mktemp("ops") / "data") as platform, LiveServer(platform) as s:
        yield s, platform


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What the JSON handler writes, for the access and transaction loggers."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger("civic_ledger.access"), logging.getLogger("civic_ledger.tx")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)  # what `serve` sets from CIVIC_LOG_LEVEL (default INFO)
    yield buffer
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def scrape(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_counters_move_after_writes(server: tuple[LiveServer, object]) -> None:
    live, platform = server
    notary = Account.create()
    grant_role(platform, "Notary", "NOTARY_ROLE", notary.address)  # type: ignore[arg-type]
    with live.client() as client:
        token = sign_in(client, notary)
        before = scrape(client)
        for i in range(3):
            r = client.post(
                "/notary/anchors", json={"document_hash": "0x" + f"{i + 1:064x}", "kind": "ops"}, headers=bearer(token)
            )
            assert r.status_code == 201, r.text
        r = client.post("/notary/anchors", json={"document_hash": "0x12"}, headers=bearer(token))
        assert r.status_code == 422
        after = scrape(client)

    route = "/notary/anchors"
    assert (
        value(after, "civic_http_requests_total", method="POST", route=route, status="201")
        - value(before, "civic_http_requests_total", method="POST", route=route, status="201")
        == 3
    )
    assert value(after, "civic_http_requests_total", method="POST", route=route, status="422") >= 1
    assert value(after, "civic_http_request_duration_seconds_count", method="POST", route=route) >= 4
    mined = value(after, "civic_relayed_transactions_total", area="notary", action="anchor", outcome="mined")
    assert (
        mined - value(before, "civic_relayed_transactions_total", area="notary", action="anchor", outcome="mined") == 3
    )
    gas = value(after, "civic_relayed_gas_total", area="notary", action="anchor")
    assert gas - value(before, "civic_relayed_gas_total", area="notary", action="anchor") > 3 * 21_000
    # the grant went through the relayer too: its area and action are named from the ABI
    assert value(after, "civic_relayed_transactions_total", area="notary", action="grantRole", outcome="mined") >= 1
    head = value(after, "civic_chain_head_block")
    assert head >= value(before, "civic_chain_head_block") + 1
    assert value(after, "civic_operator_balance_wei") > 0
    assert ("civic_indexer_cursor_block", ()) in after
    assert ("civic_relayer_queue_depth", ()) in after
    # the raw path is never a label: templates only
    assert not any("0x" in dict(labels).get("route", "") for _, labels in after)


def test_batch_size_is_the_length_of_the_first_list_argument() -> None:
    """A call whose first list argument has N items (a castBatch of N ballots) is a batch of N."""
    from civic_ledger.api.observability import _batch_size

    data = "0x12345678" + f"{32:064x}" + f"{3:064x}" + "".join(f"{i:064x}" for i in range(3))
    assert _batch_size({"inputs": [{"type": "uint256[]"}]}, {"data": data}) == 3
    assert _batch_size({"inputs": [{"type": "uint256"}]}, {"data": data}) is None


def test_request_log_is_json_with_request_id(server: tuple[LiveServer, object], lines: io.StringIO) -> None:
    live, _ = server
    with live.client() as client:
        r = client.get("/health", headers={"X-Request-ID": "probe-42"})
        assert r.headers["x-request-id"] == "probe-42"
        r = client.get("/identity/districts")
        generated = r.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated)
        r = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 200})
        assert r.headers["x-request-id"] != "bad id\twith spaces"  # insane ids are replaced
        r = client.get("/identity/citizens/0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
    deadline = time.monotonic() + 5  # the line is written once the answer is sent: the client may be first
    while True:
        records = [json.loads(line) for line in lines.getvalue().splitlines() if line.strip()]
        requests = [rec for rec in records if rec["logger"] == "civic_ledger.access"]
        if len(requests) >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(requests) >= 4
    first = next(rec for rec in requests if rec["request_id"] == "probe-42")
    assert first["event"] == "request" and first["route"] == "/health" and first["method"] == "GET"
    assert first["status"] in (200, 503) and first["duration_ms"] >= 0 and first["level"] == "info"
    assert any(rec["request_id"] == generated and rec["route"] == "/identity/districts" for rec in requests)
    # no address (personal data) and no raw path in any line
    assert "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" not in lines.getvalue().lower()


def test_transaction_log_has_hash_and_gas(server: tuple[LiveServer, object], lines: io.StringIO) -> None:
    live, platform = server
    notary = Account.create()
    grant_role(platform, "Notary", "NOTARY_ROLE", notary.address)  # type: ignore[arg-type]
    with live.client() as client:
        token = sign_in(client, notary)
        r = client.post(
            "/notary/anchors",
            json={"document_hash": "0x" + "ab" * 32},
            headers={**bearer(token), "X-Request-ID": "anchor-1"},
        )
        assert r.status_code == 201, r.text
    records = [json.loads(line) for line in lines.getvalue().splitlines() if line.strip()]
    txs = [rec for rec in records if rec["logger"] == "civic_ledger.tx" and rec.get("action") == "anchor"]
    assert len(txs) == 1
    tx = txs[0]
    assert re.fullmatch(r"0x[0-9a-f]{64}", tx["tx_hash"]) and tx["gas_used"] > 21_000 and tx["outcome"] == "mined"
    assert tx["area"] == "notary" and tx["request_id"] == "anchor-1" and tx["block"] >= 1


def test_log_level_and_time_zone_are_validated(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from civic_ledger.config import Settings

    assert Settings(log_level="debug").log_level == "DEBUG"
    with pytest.raises(ValidationError, match="unknown log level"):
        Settings(log_level="loud")
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings(timezone="Mars/Olympus")


def test_dropped_connection_says_whether_the_write_landed(server: tuple[LiveServer, object]) -> None:
    """The client gives up before the answer (a read timeout): it asks the server what became of
    its request id and says the write landed, with the transaction."""
    from civic_ledger.clikit.client import ApiClient, WriteOutcome, _outcome

    live, platform = server
    notary = Account.create()
    grant_role(platform, "Notary", "NOTARY_ROLE", notary.address)  # type: ignore[arg-type]
    with live.client() as client:
        token = sign_in(client, notary)
    impatient = ApiClient(live.url, timeout=0.0005)
    with pytest.raises(WriteOutcome) as caught:
        impatient.post("/notary/anchors", {"document_hash": "0x" + "cd" * 32}, token=token)
    impatient.close()
    message = caught.value.message
    assert "connection dropped" in message and "LANDED" in message, message
    assert re.search(r"0x[0-9a-f]{64} \(block \d+\)", message)
    with live.client() as client:
        assert client.get(f"/notary/anchors/0x{'cd' * 32}").status_code == 200
    assert "did NOT land" in _outcome(ApiClient(live.url), "never-sent-1")


def test_times_are_iso_8601_in_seoul_and_accept_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    from civic_ledger.clikit.times import parse_duration, parse_time, show_time
    from civic_ledger.errors import InvalidInput

    monkeypatch.delenv("CIVIC_TIMEZONE", raising=False)
    assert show_time(1_796_000_000) == "2026-11-30T09:53:20+09:00"
    assert parse_time("2026-11-30T09:53:20+09:00") == 1_796_000_000
    assert parse_time("2026-11-30T09:53:20") == 1_796_000_000  # no offset: the configured zone
    assert parse_time("2026-11-30T00:53:20Z") == 1_796_000_000
    assert parse_time("2h", now=1000) == 1000 + 7200
    assert parse_duration("1d12h") == 129_600 and parse_duration("90s") == 90
    monkeypatch.setenv("CIVIC_TIMEZONE", "UTC")
    assert show_time(1_796_000_000) == "2026-11-30T00:53:20+00:00"
    for bad in ("tomorrow", "2h30", "2026-13-01", ""):
        with pytest.raises(InvalidInput, match="ISO 8601|duration"):
            parse_time(bad, what="--closes-in")


def test_the_npm_lock_lists_every_optional_platform_package() -> None:
    """`npm ci` (make install) accepts the lock and never rewrites it only if every optional
    dependency (anvil's and cast's other-platform binaries) has its own entry: a fresh clone then
    stays clean after `make test`."""
    from civic_ledger.platform.compiler import PROJECT_ROOT

    lock = json.loads((PROJECT_ROOT / "package-lock.json").read_text())
    packages = lock["packages"]
    missing = [
        f"{name} → {dep}"
        for name, entry in packages.items()
        for dep in entry.get("optionalDependencies", {})
        if f"node_modules/{dep}" not in packages
    ]
    assert not missing, missing
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "npm ci " in makefile and "npm install --no" not in makefile


def test_openapi_has_short_schema_names_and_described_tags() -> None:
    """Issue 16 item 7: no `civic_ledger__area__schemas__Name` components, every tag described,
    every `$ref` resolves."""
    from civic_ledger.config import Settings
    from civic_ledger.main import create_app

    schema = create_app(Settings()).openapi()
    names = set(schema["components"]["schemas"])
    assert not [n for n in names if "__" in n]
    assert {"LaborContractOut", "SystemContractOut", "PaymentsTxOut"} <= names
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schema)))
    assert refs <= names, refs - names
    used = {t for item in schema["paths"].values() for op in item.values() if isinstance(op, dict) for t in op["tags"]}
    described = {t["name"]: t.get("description") for t in schema["tags"]}
    assert used <= set(described) and all(described[t] for t in used)
    assert "/metrics" in schema["paths"] and "/requests/{request_id}" in schema["paths"]


def test_status_and_deploy_work_beside_a_running_server(server: tuple[LiveServer, object]) -> None:
    """The data directory is locked by the server: both commands ask the server instead of failing."""
    from typer.testing import CliRunner

    from civic_ledger.cli import app

    live, platform = server
    data_dir = str(platform.settings.data_dir)  # type: ignore[attr-defined]
    runner = CliRunner()
    status = runner.invoke(app, ["status", "--data-dir", data_dir, "--api", live.url, "--json"])
    assert status.exit_code == 0, status.output
    found = json.loads(status.stdout)
    assert found["source"] == live.url and "MVoting" in found["contracts"] and found["development"]
    deploy = runner.invoke(app, ["deploy", "--data-dir", data_dir, "--api", live.url])
    assert deploy.exit_code == 0, deploy.output
    assert "MVoting" in deploy.stdout and "from the server at" in deploy.stdout
    refused = runner.invoke(app, ["deploy", "--data-dir", data_dir, "--api", live.url, "--redeploy-changed"])
    assert refused.exit_code == 1 and "stop the server" in refused.output


def test_cli_version_and_completion() -> None:
    from typer.testing import CliRunner

    from civic_ledger import __version__
    from civic_ledger.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["--version"]).stdout.strip() == f"civic-ledger {__version__}"
    shown = runner.invoke(app, ["--show-completion", "bash"], env={"SHELL": "/bin/bash"})
    assert shown.exit_code == 0 and "complete" in shown.stdout
    assert "Examples:" in runner.invoke(app, ["payments", "submit-claim", "--help"]).stdout


def test_cli_reads_dotenv_without_overriding_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from civic_ledger.clikit.settings import load_dotenv

    (tmp_path / ".env").write_text('# comment\nCIVIC_API_URL="http://10.0.0.5:8000"\nCIVIC_TOKEN=abc\nOTHER=1\n')
    monkeypatch.delenv("CIVIC_API_URL", raising=False)
    monkeypatch.setenv("CIVIC_TOKEN", "from-env")
    monkeypatch.delenv("OTHER", raising=False)
    assert load_dotenv(tmp_path / ".env") == ["CIVIC_API_URL"]
    import os

    assert os.environ["CIVIC_API_URL"] == "http://10.0.0.5:8000" and os.environ["CIVIC_TOKEN"] == "from-env"
    assert "OTHER" not in os.environ
    monkeypatch.delenv("CIVIC_API_URL")


def test_one_port_setting_drives_the_siwe_domain() -> None:
    from civic_ledger.config import Settings

    assert Settings(port=8123).public_url == "http://127.0.0.1:8123"
    assert Settings(host="0.0.0.0", port=9000).public_url == "http://127.0.0.1:9000"
    assert Settings(port=8123, public_url="https://city.example").public_url == "https://city.example"
