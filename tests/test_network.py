"""`civic-ledger network qbft` writes a Besu QBFT network: the genesis extraData is Besu's
documented RLP, the validators are the node keys' addresses, the allowlist names every node."""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account
from eth_keys import keys
from typer.testing import CliRunner

from civic_ledger.cli import app
from civic_ledger.network.qbft import BESU_IMAGE, QBFT_MIX_HASH, decode_extra_data, extra_data

#: The example genesis of Besu's QBFT documentation (block-header validator selection), with its
#: four validators in order.
BESU_DOC_VALIDATORS = [
    "0x64a702e6263b7297a96638cac6ae65e6541f4169",
    "0x3923390ad55e90c237593b3b0e401f3b08a03185",
    "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692",
    "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78",
]
BESU_DOC_EXTRA_DATA = (
    "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f85494"
    "64a702e6263b7297a96638cac6ae65e6541f416994"
    "3923390ad55e90c237593b3b0e401f3b08a0318594"
    "aefdb9a738c9f433e5b6b212a6d62f6370c2f69294"
    "c7eeb9a4e00ce683cf93039b212648e01c6c6b78c080c0"
)


def test_extra_data_is_byte_for_byte_besus_documented_example() -> None:
    assert extra_data(BESU_DOC_VALIDATORS) == BESU_DOC_EXTRA_DATA
    fields = decode_extra_data(BESU_DOC_EXTRA_DATA)
    assert fields == {"vanity": b"\0" * 32, "validators": BESU_DOC_VALIDATORS, "vote": [], "round": 0, "seals": []}


def test_network_qbft_writes_a_consistent_network(tmp_path: Path) -> None:
    out = tmp_path / "city-net"
    extra = Account.create().address
    r = CliRunner().invoke(
        app,
        ["network", "qbft", "--validators", "4", "--out", str(out), "--password", "pw", "--fund", extra, "--json"],
    )
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    genesis = json.loads((out / "genesis.json").read_text())
    cfg = genesis["config"]
    assert cfg["chainId"] == report["chain_id"] == 202_612 and cfg["zeroBaseFee"] is True
    assert cfg["qbft"]["blockperiodseconds"] == 2 and cfg["londonBlock"] == 0 and cfg["cancunTime"] == 0
    assert genesis["mixHash"] == QBFT_MIX_HASH and genesis["difficulty"] == "0x1"
    # the validators of the extraData are the addresses of the written node keys, in order
    fields = decode_extra_data(genesis["extraData"])
    assert fields["vanity"] == b"\0" * 32 and fields["vote"] == [] and fields["round"] == 0 and fields["seals"] == []
    from_keys = []
    for i in range(1, 5):
        key = bytes.fromhex((out / "nodes" / f"validator{i}" / "key").read_text().removeprefix("0x"))
        public = keys.PrivateKey(key).public_key
        assert (out / "nodes" / f"validator{i}" / "key.pub").read_text() == public.to_hex()
        from_keys.append(public.to_checksum_address().lower())
    assert fields["validators"] == from_keys == [v["address"].lower() for v in report["validators"]]
    assert len(set(from_keys)) == 4
    # every node is in the allowlist by its enode; the operators and --fund are funded
    allowlist = (out / "permissions_config.toml").read_text()
    for node in [*report["validators"], report["rpc"]]:
        assert f'"{node["enode"]}"' in allowlist
    funded = {a.lower() for a in genesis["alloc"]}
    assert {o[2:].lower() for o in report["operators"]} | {extra[2:].lower()} == funded
    for i, address in enumerate(report["operators"], start=1):
        keystore = json.loads((out / "operators" / f"operator-{i}.json").read_text())
        assert Account.from_key(Account.decrypt(keystore, "pw")).address == address
    # docker compose: 4 validators + 1 RPC node, one pinned image, RPC published on loopback only
    compose = json.loads((out / "docker-compose.yml").read_text().split("\n", 1)[1])
    assert set(compose["services"]) == {"validator1", "validator2", "validator3", "validator4", "rpc"}
    assert {s["image"] for s in compose["services"].values()} == {BESU_IMAGE} and "latest" not in BESU_IMAGE
    assert compose["services"]["rpc"]["ports"] == ["127.0.0.1:8545:8545"]
    assert all("ports" not in s for n, s in compose["services"].items() if n != "rpc")
    env = (out / "civic-ledger.env").read_text()
    assert "CIVIC_CHAIN=http://127.0.0.1:8545" in env and "operator-1.json" in env


def test_network_qbft_refuses_bad_input_with_one_clear_line(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["network", "qbft", "--validators", "3", "--out", str(tmp_path / "a"), "--password", "p"])
    assert r.exit_code == 2 and "greater than or equal to 4" in r.output  # QBFT tolerates one fault from 4
    r = runner.invoke(app, ["network", "qbft", "--out", str(tmp_path / "b")], env={"CIVIC_KEYSTORE_PASSWORD": ""})
    assert r.exit_code == 1 and "--password" in r.output
    r = runner.invoke(app, ["network", "qbft", "--out", str(tmp_path / "c"), "--password", "p", "--fund", "0x12"])
    assert r.exit_code == 1 and "0x12" in r.output
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep").write_text("x")
    r = runner.invoke(app, ["network", "qbft", "--out", str(used), "--password", "p"])
    assert r.exit_code == 1 and "not empty" in r.output and (used / "keep").read_text() == "x"
    assert "Traceback" not in r.output
