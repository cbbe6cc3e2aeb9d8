"""Mileage reads from the indexer (issue 12): the read models reproduce the contract's state exactly.

A mixed history on the embedded chain — single, batch and legacy credits, redemptions spending
several epochs, expiry written off by a redemption and by a ring move, unrealised expiry, a
rotated citizen key, a settlement — then every read endpoint is compared with the contract's own
views (``pointsOf``, ``bucketsOf``, ``nonces``, ``merchantOf``). After a restart the same answers
come without any log query; ``index verify`` passes, and detects a tampered mileage row.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from civic_ledger.mileage import service
from civic_ledger.platform import eip712
from civic_ledger.platform.indexer.maintenance import rebuild_index, verify_index
from civic_ledger.platform.runtime import Platform
from tests.conftest import LiveServer, started_platform
from tests.helpers import Counter, make_registrar, recover_key, register_citizen, travel

EPOCH = 30 * 86400


@dataclass
class History:
    """What the test did, to compare the reports with (besides the contract's own views)."""

    platform: Platform
    people: dict[str, LocalAccount] = field(default_factory=dict)  # name -> current key
    ids: dict[str, int] = field(default_factory=dict)
    awarded: dict[int, int] = field(default_factory=dict)  # program -> points awarded
    imported: dict[int, int] = field(default_factory=dict)
    redeemed: int = 0
    ref: int = 0
    order: int = 0

    @property
    def m(self) -> Any:
        return self.platform.deployment.contract("CivicMileage")

    def award(self, program: int, who: str, amount: int) -> None:
        self.ref += 1
        self.platform.relayer.transact(
            self.m.functions.award(program, self.people[who].address, amount, self.ref, 0, b"")
        )
        self.awarded[program] = self.awarded.get(program, 0) + amount

    def batch(self, program: int, entries: list[tuple[str, int]]) -> None:
        words = []
        for who, amount in entries:
            self.ref += 1
            words.append(service.pack_award(self.people[who].address, amount, self.ref))
            self.awarded[program] = self.awarded.get(program, 0) + amount
        self.platform.relayer.transact(self.m.functions.awardBatch(program, words, 0, b""))

    def legacy(self, program: int, who: str, amount: int) -> None:
        entry = service.pack_legacy(self.people[who].address, amount)
        self.platform.relayer.transact(self.m.functions.importLegacy(program, [entry], 0, b""))
        self.imported[program] = self.imported.get(program, 0) + amount

    def redeem(self, who: str, merchant: int, amount: int) -> Any:
        self.order += 1
        key = self.people[who]
        t = service.redemption_typed_data(
            self.platform, key.address, merchant, amount, service.order_ref_of(f"idx-{self.order}"), 3600
        )
        msg = t.typed_data["message"]
        receipt = self.platform.relayer.transact(
            self.m.functions.redeem(
                key.address,
                merchant,
                amount,
                bytes.fromhex(msg["orderRef"][2:]),
                msg["nonce"],
                msg["deadline"],
                eip712.TypedMessage.from_dict(t.typed_data).sign(key),
            ),
            simulate=True,
        )
        self.redeemed += amount
        return receipt


def build(platform: Platform) -> History:
    """Two programs, one merchant, four citizens; every kind of credit, spend and expiry."""
    h = History(platform)
    m, relayer, op = h.m, platform.relayer, platform.operator.address
    relayer.transact(m.functions.registerProgram("=Eco mileage", op, 2**40 - 1))  # a CSV-hostile name
    relayer.transact(m.functions.registerProgram("Poll participation", op, 2**40 - 1))
    relayer.transact(m.functions.registerMerchant("Mangwon bakery", b"\x07" * 32, 14))
    eco, poll, shop = 1, 2, 1
    registrar = make_registrar(platform)
    for name in ("ana", "ben", "cho", "dan"):
        h.people[name] = Account.create()
        h.ids[name] = register_citizen(platform, registrar, h.people[name].address)
    # epoch e: credits of every kind
    h.award(eco, "ana", 300)
    h.award(poll, "ana", 200)
    h.batch(eco, [("ben", 50), ("cho", 70), ("ben", 25), ("dan", 10)])
    h.legacy(poll, "cho", 400)
    h.redeem("ana", shop, 350)  # 300 eco + 50 poll: FIFO within the epoch
    travel(platform, EPOCH)  # e+1
    h.award(poll, "ben", 40)
    h.batch(poll, [("ana", 5), ("cho", 6)])
    h.redeem("ben", shop, 90)  # 75 (e) + 15 (e+1): oldest epoch first
    # a key rotation: the points belong to the citizen id, the new key earns and spends them
    rotated = Account.create()
    recover_key(platform, registrar, h.people["cho"].address, rotated.address)
    h.people["cho"] = rotated
    h.award(eco, "cho", 30)
    travel(platform, 5 * EPOCH)  # e+6: everything of epoch e has expired (validity 6), unrealised
    h.redeem("cho", shop, 20)  # writes off cho's epoch-e points (470), then spends e+1 first
    h.award(eco, "ana", 1)
    travel(platform, 8 * EPOCH)  # e+14
    h.award(poll, "dan", 3)  # the ring moves past dan's epoch-e bucket: written off by the credit
    relayer.transact(m.functions.settleMerchant(shop, 202611, 100))
    return h


def caught_up(platform: Platform) -> int:
    head = platform.chain.head()
    assert platform.indexer.wait_for(head, 60), platform.indexer.status()
    return head


def ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def read_all(api: httpx.Client, h: History) -> dict[str, Any]:
    out: dict[str, Any] = {
        "liability": ok(api.get("/mileage/reports/liability")),
        "liability_csv": api.get("/mileage/reports/liability", params={"format": "csv"}).text,
        "merchants_report": ok(api.get("/mileage/reports/merchants")),
        "merchants_csv": api.get("/mileage/reports/merchants", params={"format": "csv"}).text,
        "merchants": ok(api.get("/mileage/merchants")),
        "merchant": ok(api.get("/mileage/merchants/1")),
    }
    for name, key in h.people.items():
        out[f"balance {name}"] = ok(api.get(f"/mileage/balances/{key.address}"))
        out[f"statement {name}"] = ok(api.get(f"/mileage/reports/statements/{key.address}"))
        out[f"statement_csv {name}"] = api.get(
            f"/mileage/reports/statements/{key.address}", params={"format": "csv"}
        ).text
    return out


def contract_state(h: History) -> dict[str, Any]:
    """The contract's own views of every citizen and the merchant."""
    m = h.m
    out: dict[str, Any] = {"merchant": m.functions.merchantOf(1).call()}
    for name, key in h.people.items():
        cid = h.ids[name]
        out[name] = {
            "points": m.functions.pointsOf(cid).call(),
            "ring": m.functions.bucketsOf(cid).call(),
            "nonce": m.functions.nonces(key.address).call(),
        }
    return out


@dataclass
class Built:
    data: Path
    history: History
    answers: dict[str, Any]
    chain: dict[str, Any]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    data = tmp_path_factory.mktemp("mileage-index") / "data"
    with started_platform("embedded", data) as platform:
        h = build(platform)
        caught_up(platform)
        with LiveServer(platform) as server, server.client() as api:
            answers = read_all(api, h)
        return Built(data, h, answers, contract_state(h))


def test_every_read_equals_the_contract_state_after_a_mixed_history(built: Built) -> None:
    h, answers, chain = built.history, built.answers, built.chain
    balances = 0
    for name, key in h.people.items():
        cid = h.ids[name]
        chain_balance, chain_unrealised = chain[name]["points"]
        head, ring = chain[name]["ring"]
        b = answers[f"balance {name}"]
        assert (b["citizen_id"], b["balance"], b["expired_unrealised"]) == (cid, chain_balance, chain_unrealised), name
        assert b["nonce"] == chain[name]["nonce"]
        assert [(x["epoch"], x["amount"]) for x in b["buckets"]] == sorted(
            (head - i, amount) for i, amount in enumerate(ring) if amount
        ), name
        s = answers[f"statement {name}"]
        assert s["balance"] == chain_balance and s["conserved"], name
        assert s["account"] == key.address and s["expired_unrealised"] == chain_unrealised
        assert s["awarded"] + s["imported"] == s["balance"] + s["redeemed"] + s["expired"]
        balances += chain_balance
    # the rotated citizen's statement carries the lines of both keys, with the ring expiry in order
    cho = answers["statement cho"]
    assert [(e["kind"], e["amount"]) for e in cho["entries"]] == [
        ("award", 70),
        ("legacy", 400),
        ("award", 6),
        ("award", 30),
        ("expiry", -470),
        ("redemption", -20),
    ]
    assert [(e["kind"], e["amount"]) for e in answers["statement dan"]["entries"]] == [
        ("award", 10),
        ("expiry", -10),
        ("award", 3),
    ]
    ana = answers["balance ana"]
    assert ana["expired_unrealised"] > 0 and ana["buckets"][0]["expired"] is True  # not written off yet
    # the liability report: exactly the contract's balances, per program what was done
    report = answers["liability"]
    assert report["balanced"] is True and report["chain_check"]["ok"] is True
    assert report["chain_check"]["citizens_checked"] == 4 and report["chain_check"]["citizens_mismatched"] == []
    total = report["total"]
    assert total["outstanding"] == report["on_chain_balance_total"] == balances
    rows = {r["program_id"]: r for r in report["rows"]}
    for program in (1, 2):
        assert rows[program]["awarded"] == h.awarded[program]
        assert rows[program]["imported"] == h.imported.get(program, 0)
    assert rows[1]["name"] == "=Eco mileage"
    assert total["redeemed"] == h.redeemed == 460
    unrealised = sum(answers[f"balance {n}"]["expired_unrealised"] for n in h.people)
    written_off = sum(
        -e["amount"] for n in h.people for e in answers[f"statement {n}"]["entries"] if e["kind"] == "expiry"
    )
    assert total["expired"] == written_off + unrealised
    # FIFO within an epoch, oldest epoch first: ana 300 eco + 50 poll; ben 75 eco (e) + 15 poll (e+1);
    # cho (epoch e written off) 6 poll then 14 of the 30 eco credited after the rotation (e+1)
    assert (rows[1]["redeemed"], rows[2]["redeemed"]) == (300 + 75 + 14, 50 + 15 + 6)
    # merchants: the contract's counters
    active, district, unsettled, redeemed, biz, name = chain["merchant"]
    assert {k: answers["merchant"][k] for k in ("active", "district", "unsettled", "redeemed", "name")} == {
        "active": active,
        "district": district,
        "unsettled": unsettled,
        "redeemed": redeemed,
        "name": name,
    }
    assert answers["merchant"]["business_number_hash"] == "0x" + bytes(biz).hex()
    assert answers["merchants"] == [answers["merchant"]]
    assert (unsettled, redeemed) == (360, 460)
    (shop,) = answers["merchants_report"]["merchants"]
    assert (shop["redeemed"], shop["settled"], shop["unsettled"]) == (460, 100, 360)
    assert sum(r["points"] for r in answers["merchants_report"]["rows"]) == 460
    assert [r["redemptions"] for r in answers["merchants_report"]["rows"]] == [1, 1, 1]
    # CSV exports: the same rows, formula-safe
    csv_lines = answers["liability_csv"].splitlines()
    assert csv_lines[0] == "program_id,name,awarded,imported,redeemed,expired,outstanding"
    assert csv_lines[1].startswith("1,'=Eco mileage,") and csv_lines[-1].startswith("0,TOTAL,")
    assert len(answers["statement_csv cho"].splitlines()) == 1 + len(cho["entries"])


def test_after_a_restart_every_read_answers_from_the_index_without_a_log_query(built: Built) -> None:
    h = built.history
    with started_platform("embedded", built.data) as platform:
        head = caught_up(platform)
        assert platform.indexer.blocks_written == 0 and platform.indexer.cursor == head  # nothing re-read
        assert platform.chain.tester is not None
        chain_logs = Counter(platform.chain.tester, "get_logs")  # eth_getLogs under the chain lock
        index_logs = Counter(platform.indexer.source, "logs")
        h.platform = platform
        with LiveServer(platform) as server, server.client() as api:
            after = read_all(api, h)
        assert chain_logs.calls == [] and index_logs.calls == []
    assert after == built.answers


def test_index_verify_passes_and_catches_a_tampered_mileage_row(tmp_path: Path) -> None:
    with started_platform("embedded", tmp_path / "data") as platform:
        h = build(platform)
        caught_up(platform)
        report = verify_index(platform.settings)
        assert report.ok, report.as_dict()
        checked = {t.table: t.rows_chain for t in report.tables}
        assert checked["mileage_lots"] > 0 and checked["mileage_statement_lines"] > 0
        assert checked["mileage_merchant_epochs"] == 3
        # a lot of the citizen who changed last: the report's chain check sees it too
        cid = h.ids["dan"]
        conn = sqlite3.connect(str(platform.indexer.path))
        with conn:
            conn.execute("UPDATE mileage_lots SET amount = amount + 1 WHERE citizen_id = ?", (cid,))
        conn.close()
        bad = verify_index(platform.settings)
        assert bad.mismatched == ["mileage_lots"] and not bad.ok
        liability = service.liability(platform)
        assert liability.balanced is False and liability.chain_check is not None
        assert cid in liability.chain_check.citizens_mismatched
        assert rebuild_index(platform.settings)["mileage_books"] > 0
        assert verify_index(platform.settings).ok
        assert service.liability(platform).balanced is True


def test_an_anvil_reorg_takes_a_redemption_out_of_every_read(tmp_path: Path) -> None:
    """``anvil_reorg`` drops the block of a redemption: balances, statement, merchants and liability follow."""
    from web3 import HTTPProvider, Web3

    from tests.conftest import Anvil

    node = Anvil()
    try:
        with started_platform(node.url, tmp_path / "data", index_poll_s=0.05) as platform:
            w3 = Web3(HTTPProvider(node.url))
            sender = w3.eth.accounts[1]  # not the platform relayer, whose nonce would not survive the reorg
            m = platform.deployment.contract("CivicMileage")
            mine = w3.eth.contract(address=m.address, abi=m.abi)
            platform.relayer.transact(m.functions.registerProgram("Eco", sender, 10**9))
            platform.relayer.transact(m.functions.registerMerchant("Shop", b"\x02" * 32, 3))
            ana = Account.create()
            cid = register_citizen(platform, make_registrar(platform), ana.address)

            def send(fn: Any) -> None:
                w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender, "gas": 1_000_000}))

            send(mine.functions.award(1, ana.address, 100, 1, 0, b""))
            t = service.redemption_typed_data(platform, ana.address, 1, 30, service.order_ref_of("r"), 3600)
            msg = t.typed_data["message"]
            signature = eip712.TypedMessage.from_dict(t.typed_data).sign(ana)
            ref = bytes.fromhex(msg["orderRef"][2:])
            send(mine.functions.redeem(ana.address, 1, 30, ref, msg["nonce"], msg["deadline"], signature))
            caught_up(platform)
            assert service.balance(platform, ana.address).balance == 70
            assert service.liability(platform).total.redeemed == 30
            head = platform.chain.head()
            w3.provider.make_request("anvil_reorg", [1, []])  # type: ignore[arg-type]  # the redemption's block, empty
            assert platform.chain.head() == head
            assert platform.indexer.wait_fresh(30) and platform.indexer.reorgs >= 1
            b = service.balance(platform, ana.address)
            assert (b.balance, b.nonce) == (100, 0) == (m.functions.pointsOf(cid).call()[0], 0)
            assert [e.kind for e in service.statement_of(platform, ana.address).entries] == ["award"]
            assert (service.merchant(platform, 1).redeemed, service.merchant_report(platform).rows) == (0, [])
            report = service.liability(platform)
            assert (report.total.redeemed, report.total.outstanding, report.balanced) == (0, 100, True)
            assert verify_index(platform.settings).ok
    finally:
        node.stop()
