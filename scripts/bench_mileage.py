"""Mileage benchmark: gas of awards and redemptions of CivicMileage (issue 7 targets).

Figures (gasUsed of mined transactions on anvil; gas does not depend on the node):
- gas_award: one ``award`` signed by the program's awarder (EIP-712) and relayed — the path the
  API uses — to a citizen who already holds points of the current epoch, with a reference in a
  bitmap word already in use (references numbered densely). Target ≤ 60,000.
- gas_award_direct: the same, sent by the awarder itself (empty signature).
- gas_award_first_credit: a signed award to a citizen whose points slot is still empty
  (a zero-to-non-zero storage write the first time a citizen ever earns).
- gas_redeem: a citizen-signed, relayed ``redeem`` that spends from three epochs (and writes off
  nothing), at a merchant that has had redemptions before. Target ≤ 60,000.
- gas_redeem_one_epoch: the same spending from one epoch.
- gas_per_award_batch_100: one signed ``awardBatch`` of 100 awards to 100 distinct citizens who
  already hold points of the current epoch, divided by 100. Target ≤ 15,000.
- gas_per_award_batch_100_first_credit: the same for citizens' first points ever.

Reads from the indexer (:func:`index_reads`, embedded chain, N = 1,000 and 10,000 awards to N
distinct citizens with ``awardBatch`` of 256, plus a control citizen with a fixed 4-line
statement; ``BENCH_MILEAGE_SIZES`` overrides N), median latency through HTTP of 15 calls each,
after a restart: ``liability_ms_N`` (``GET /mileage/reports/liability``), ``statement_ms_N``
(the control citizen's statement), ``balance_ms_N``, ``merchant_report_ms_N``, and
``first_liability_ms_N`` (the first request after the restart), ``statement_index_us_N`` (the
read-model queries of a statement alone, without HTTP and the O(1) contract calls); ``build_s_N`` is the history's
build time (not a read figure). Before the indexer the liability report was 4.3 s at 1,000 awards
and 76.6 s at 20,000, a statement 0.12 → 2.3 s (issue 12).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from eth_account.signers.local import LocalAccount  # noqa: E402
from eth_utils import keccak  # noqa: E402

from civic_ledger.mileage import projections, service  # noqa: E402
from civic_ledger.platform import eip712  # noqa: E402
from civic_ledger.platform.runtime import Platform  # noqa: E402
from tests.conftest import Anvil, LiveServer, make_settings  # noqa: E402
from tests.helpers import REGISTER_TYPES, make_registrar  # noqa: E402

EPOCH = 30 * 86400


def _say(msg: str) -> None:
    print(f"[bench mileage] {msg}", file=sys.stderr, flush=True)


def _register_many(platform: Platform, registrar: LocalAccount, accounts: list[LocalAccount]) -> None:
    registry = platform.deployment.contract("CitizenRegistry")
    nonce = int(registry.functions.nonces(registrar.address).call())
    domain = eip712.domain("CitizenRegistry", platform.chain.chain_id, registry.address)
    deadline = service.deadline_in(platform, 3600)
    fns = []
    for i, acct in enumerate(accounts):
        record = keccak(text=f"bench {acct.address}")
        msg = {
            "account": acct.address,
            "district": 1,
            "birthYear": 1990,
            "residency": 1,
            "recordHash": record,
            "registrar": registrar.address,
            "nonce": nonce + i,
            "deadline": deadline,
        }
        sig = eip712.TypedMessage(domain, "RegisterCitizen", REGISTER_TYPES, msg).sign(registrar)
        fns.append(
            registry.functions.registerCitizen(
                acct.address, 1, 1990, 1, record, registrar.address, nonce + i, deadline, sig
            )
        )
    for start in range(0, len(fns), 50):
        platform.relayer.transact_many(fns[start : start + 50])


class _Bench:
    def __init__(self, platform: Platform) -> None:
        self.p = platform
        self.m = platform.deployment.contract("CivicMileage")
        self.awarder = Account.create()
        self.ref = 0
        self.order = 0

    def signed_award(self, program: int, account: str, amount: int) -> int:
        self.ref += 1
        deadline = service.deadline_in(self.p, 3600)
        typed = service.typed_message(
            self.p,
            "Award",
            {"programId": program, "account": account, "amount": amount, "ref": self.ref, "deadline": deadline},
        )
        fn = self.m.functions.award(program, account, amount, self.ref, deadline, typed.sign(self.awarder))
        return self.p.relayer.transact(fn).gas_used

    def batch(self, program: int, accounts: list[LocalAccount], amount: int) -> int:
        words = []
        for a in accounts:
            self.ref += 1
            words.append(service.pack_award(a.address, amount, self.ref))
        deadline = service.deadline_in(self.p, 3600)
        typed = service.typed_message(
            self.p, "AwardBatch", {"programId": program, "awards": words, "deadline": deadline}
        )
        fn = self.m.functions.awardBatch(program, words, deadline, typed.sign(self.awarder))
        return self.p.relayer.transact(fn).gas_used

    def redeem(self, who: LocalAccount, merchant: int, amount: int) -> int:
        self.order += 1
        t = service.redemption_typed_data(
            self.p, who.address, merchant, amount, service.order_ref_of(f"bench-{self.order}"), 3600
        )
        msg = t.typed_data["message"]
        sig = eip712.TypedMessage.from_dict(t.typed_data).sign(who)
        fn = self.m.functions.redeem(
            who.address, merchant, amount, bytes.fromhex(msg["orderRef"][2:]), msg["nonce"], msg["deadline"], sig
        )
        return self.p.relayer.transact(fn).gas_used

    def travel(self, seconds: int) -> None:
        self.p.chain.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.p.chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def run(json_out: bool) -> dict[str, Any]:
    node = Anvil()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            platform = Platform.start(make_settings(node.url, Path(tmp) / "data"))
            try:
                gas = _measure(platform)
            finally:
                platform.close()
    finally:
        node.stop()
    return {**gas, **index_reads()}


SIZES = [int(x) for x in os.environ.get("BENCH_MILEAGE_SIZES", "1000,10000").split(",")]


def _median_ms(call: Any, times: int = 15) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        spent.append(time.perf_counter() - started)
    return round(statistics.median(spent) * 1000, 2)


def _history(platform: Platform, n: int) -> LocalAccount:
    """N awards to N citizens (batches of 256, unsigned: the operator is the awarder); a control citizen."""
    b = _Bench(platform)
    m, relayer, op = b.m, platform.relayer, platform.operator.address
    relayer.transact(m.functions.registerProgram("Bench", op, 2**40 - 1))
    relayer.transact(m.functions.registerProgram("Bench 2", op, 2**40 - 1))
    relayer.transact(m.functions.registerMerchant("Bench shop", b"\x01" * 32, 1))
    people = [Account.from_key(keccak(text=f"bench mileage {n} {i}")) for i in range(n)]
    control = Account.create()
    registrar = make_registrar(platform)
    for start in range(0, n, 1000):
        _register_many(platform, registrar, people[start : start + 1000])
        _say(f"N={n}: {min(n, start + 1000)} citizens registered")
    _register_many(platform, registrar, [control])
    for start in range(0, n, 256):
        words = [service.pack_award(a.address, 10, start + i + 1) for i, a in enumerate(people[start : start + 256])]
        relayer.transact(
            m.functions.awardBatch(1 + (start // 256) % 2, words, 0, b""), gas=100_000 + 60_000 * len(words)
        )
    for ref in (1, 2, 3):
        relayer.transact(m.functions.award(2, control.address, 100, 10**9 + ref, 0, b""))
    b.redeem(control, 1, 150)
    return control


def index_reads(sizes: list[int] | None = None) -> dict[str, Any]:
    """Liability report, statement, balance, merchant report through HTTP at each N (embedded chain)."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-mileage-") as tmp:
        for n in sizes or SIZES:
            settings = make_settings("embedded", Path(tmp) / f"n{n}", rate_limits=False)
            platform = Platform.start(settings)
            try:
                started = time.perf_counter()
                control = _history(platform, n)
                assert platform.indexer.wait_for(platform.chain.head(), 600)
                out[f"build_s_{n}"] = round(time.perf_counter() - started, 1)
            finally:
                platform.close()
            platform = Platform.start(settings)  # the restart: reads come from the persisted index
            try:
                assert platform.indexer.wait_for(platform.chain.head(), 60)
                with LiveServer(platform) as server, server.client() as api:
                    started = time.perf_counter()
                    first = api.get("/mileage/reports/liability")
                    out[f"first_liability_ms_{n}"] = round((time.perf_counter() - started) * 1000, 2)
                    assert first.status_code == 200 and first.json()["balanced"], first.text
                    assert first.json()["total"]["awarded"] == 10 * n + 300, first.text
                    paths = {
                        "liability": "/mileage/reports/liability",
                        "statement": f"/mileage/reports/statements/{control.address}",
                        "balance": f"/mileage/balances/{control.address}",
                        "merchant_report": "/mileage/reports/merchants",
                    }
                    statement = api.get(paths["statement"]).json()
                    assert len(statement["entries"]) == 4 and statement["conserved"], statement
                    for name, path in paths.items():
                        out[f"{name}_ms_{n}"] = _median_ms(lambda path=path: api.get(path).raise_for_status())
                cid = int(statement["citizen_id"])
                started = time.perf_counter()
                for _ in range(1000):  # the read-model part of a statement alone: one snapshot, three queries
                    with platform.indexer.read() as conn:
                        conn.execute("BEGIN")
                        projections.statement_lines(conn, cid), projections.buckets(conn, cid)
                        projections.citizen_row(conn, cid)
                out[f"statement_index_us_{n}"] = round((time.perf_counter() - started) * 1000, 1)  # per read, µs
            finally:
                platform.close()
            _say(f"N={n}: {out}")
    if len(sizes or SIZES) >= 2:
        lo, hi = (sizes or SIZES)[0], (sizes or SIZES)[-1]
        for name in ("liability", "statement"):
            out[f"{name}_ratio_{hi}_vs_{lo}"] = round(out[f"{name}_ms_{hi}"] / out[f"{name}_ms_{lo}"], 2)
    return out


def _measure(platform: Platform) -> dict[str, Any]:
    b = _Bench(platform)
    relayer, m = platform.relayer, b.m
    _say("registering 203 citizens")
    registrar = make_registrar(platform)
    batch_a = [Account.create() for _ in range(100)]
    batch_b = [Account.create() for _ in range(100)]
    alice, bob, carol = Account.create(), Account.create(), Account.create()
    _register_many(platform, registrar, [*batch_a, *batch_b, alice, bob, carol])
    relayer.transact(m.functions.registerProgram("Bench", b.awarder.address, 2**40 - 1))
    relayer.transact(m.functions.registerProgram("Bench direct", platform.operator.address, 2**40 - 1))
    relayer.transact(m.functions.registerMerchant("Bench shop", b"\x01" * 32, 1))
    program, direct, shop = 1, 2, 1

    _say("awards")
    first_batch = b.batch(program, batch_a, 10) / 100
    warm_batch = b.batch(program, batch_a, 10) / 100
    first_credit = b.signed_award(program, alice.address, 100)
    award = b.signed_award(program, alice.address, 100)
    award_again = b.signed_award(program, alice.address, 100)
    relayer.transact(m.functions.award(direct, alice.address, 1, 1, 0, b""))  # warm the direct program's words
    direct_gas = relayer.transact(m.functions.award(direct, alice.address, 1, 2, 0, b"")).gas_used

    _say("redemptions over three epochs")
    b.signed_award(program, bob.address, 100)
    b.redeem(bob, shop, 10)  # the merchant's first redemption (zero-to-non-zero counters)
    b.signed_award(program, carol.address, 100)
    b.travel(EPOCH)
    b.signed_award(program, carol.address, 100)
    b.travel(EPOCH)
    b.signed_award(program, carol.address, 100)
    redeem_three = b.redeem(carol, shop, 250)  # 100 + 100 + 50: three buckets
    redeem_one = b.redeem(carol, shop, 10)
    cid = platform.deployment.contract("CitizenRegistry").functions.citizenIdOf(carol.address).call()
    _, buckets = m.functions.bucketsOf(cid).call()
    assert sum(buckets) == 40, buckets  # 300 awarded − 260 redeemed, nothing expired
    return {
        "gas_award": max(award, award_again),
        "gas_award_direct": direct_gas,
        "gas_award_first_credit": first_credit,
        "gas_redeem": redeem_three,
        "gas_redeem_one_epoch": redeem_one,
        "gas_per_award_batch_100": round(warm_batch),
        "gas_per_award_batch_100_first_credit": round(first_batch),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(True), indent=2))
