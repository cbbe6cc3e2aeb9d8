"""Issue 19's last acceptance point: every figure docs/verification.md lists, recomputed by an outside
verifier (tests/js/verify_figures.mjs: ethers v6 from npm, reading only the server's ``/rpc`` and the
deployment manifest) and read with Foundry's ``cast call`` (npm ``@foundry-rs/cast``), equals what the
API reports.

One small city is built through the real HTTP API on the embedded chain — citizens (one suspended, one
recovered onto a new key), notary anchors, credentials (single and batch; revoked, suspended), a labour
contract (confirmed and disputed weeks, a wage statement), two payment projects (a late subcontract
line, a credited and withdrawn line, a refund on close), four polls (public single choice with a
replaced ballot, approval, ranked, sealed with reveals) and mileage (two programs, a redemption across
both, a settlement, expiry realised for one citizen and unrealised for another) — then the verifier
runs once and each figure it prints is compared with the API's answer, never with a constant.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from civic_ledger.mileage import service as mileage_service
from civic_ledger.platform import eip712
from civic_ledger.platform.compiler import NODE_MODULES
from civic_ledger.platform.deploy import manifest_path
from civic_ledger.platform.runtime import Platform
from civic_ledger.voting import ballots as enc
from civic_ledger.voting import service as voting_service
from tests import test_credentials as TC
from tests import test_labor as TL
from tests import test_payments as TP
from tests.conftest import LiveServer, foundry_binary, started_platform
from tests.helpers import bearer, grant_role, make_registrar, ok, sign_in, sign_typed, travel
from tests.test_identity import register_via_api, registrar_action

JS = Path(__file__).parent / "js"
DAY = 86400
EPOCH = 30 * DAY
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PURPOSE_CODES = {"labour": 1, "subcontract": 2, "material": 3, "equipment": 4, "prime": 5}


@dataclass
class City:
    platform: Platform
    api: httpx.Client
    rpc: str
    manifest: Path
    admin: dict[str, str]
    accounts: dict[int, str] = field(default_factory=dict)  # citizen id → current account
    mileage_accounts: list[str] = field(default_factory=list)
    anchors: dict[str, dict[str, Any]] = field(default_factory=dict)  # notary document hash → POST answer
    projects: list[int] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)
    labour: list[str] = field(default_factory=list)
    programs: list[int] = field(default_factory=list)
    merchants: list[int] = field(default_factory=list)


# -- building the city through the API ----------------------------------------------------------------


def build_identity(city: City, registrar: LocalAccount) -> None:
    env = SimpleNamespace(api=city.api, registrar=registrar)
    made = []
    for district, year in (("Mapo", 1990), ("Jongno", 1960), ("Gangnam", 2001), ("Mapo", 1985)):
        account = Account.create()
        out = ok(register_via_api(env, account.address, district=district, birth_year=year, record={"n": year}), 201)
        made.append((account, out["citizen"]["citizen_id"]))
    (_, suspended), (old, recovered) = made[2], made[3]
    ok(registrar_action(env, suspended, "suspend", {"reason": "moved_away"}))
    new = Account.create()
    ok(registrar_action(env, recovered, "recover", {"new_account": new.address}))
    assert old.address != new.address


def build_notary(city: City) -> None:
    for i in range(2):
        doc = "0x" + keccak(text=f"audit export {i}").hex()
        city.anchors[doc] = ok(city.api.post("/notary/anchors", json={"document_hash": doc}, headers=city.admin), 201)


def build_credentials(city: City, holders: list[LocalAccount]) -> None:
    type_id = ok(city.api.post("/credentials/types", json={"code": "forklift", "name": "Forklift"}), 201)["type_id"]
    env = TC.Env(city.platform, city.api, "", type_id, Account.create(), holders, None)
    env.issuer_id, _ = TC.new_issuer(env, "seoul-skills", key=env.key)
    docs = [TC.issue(env, claims={"course": f"Forklift {i}", "hours": 40.0})["document"] for i in range(3)]
    body = {
        "issuer_id": env.issuer_id,
        "type_id": env.type_id,
        "key": env.key.address,
        "credentials": [{"subject": h.address, "claims": {"seat": i + 0.5}} for i, h in enumerate(holders[:2])],
    }
    td = ok(city.api.post("/credentials/batches/typed-data", json=body))
    create = {
        **{k: body[k] for k in ("issuer_id", "type_id", "key")},
        "deadline": td["deadline"],
        "drafts": td["drafts"],
        "credential_signatures": [TC.sign(env.key, t) for t in td["credential_typed_data"]],
        "batch_signature": TC.sign(env.key, td["batch_typed_data"]),
    }
    batch = ok(city.api.post("/credentials/batches", json=create), 201)["documents"]
    ok(TC.status_change(env, "revoke", [TC.ref(docs[1]), TC.ref(batch[1])])[1])
    ok(TC.status_change(env, "suspend", [TC.ref(docs[2])])[1])


def build_labour(city: City, registrar: LocalAccount) -> None:
    lab = TL.Lab(city.platform, city.api, registrar)
    employer, worker = Account.create(), lab.citizen()
    cid = TL.register(city.api, TL.terms(employer.address, worker.address), employer, worker)["contract_id"]
    TL.record_week(city.api, cid, employer, TL.MON, [0, 1, 2, 3, 4])
    ok(TL.confirm_week(city.api, cid, worker, TL.MON))
    second = date(2026, 3, 9)
    TL.record_week(city.api, cid, employer, second, [0, 1, 2])
    dispute = {"claimed_minutes": 1200, "claimed_days": WEEKDAYS[:5], "reason": "I worked Thursday and Friday"}
    td = ok(city.api.post(f"/labor/contracts/{cid}/weeks/{second}/dispute/typed-data", json=dispute))
    ok(
        city.api.post(
            f"/labor/contracts/{cid}/weeks/{second}/dispute",
            json={**dispute, "deadline": td["deadline"], "signature": sign_typed(worker, td["typed_data"])},
        )
    )
    TL.record_statement(city.api, cid, employer, TL.MON, base=206_400, holiday=41_280)
    city.labour.append(cid)


def build_payments(city: City) -> None:
    pc = TP.City(city.platform, city.api)
    p = pc.project()
    lines = [
        (p.workers[0], "labour", 2_000_000),
        (p.workers[1], "labour", 1_500_000),
        (p.sub, "subcontract", 20_000_000),
        (p.supplier, "material", 5_000_000),
        (p.prime, "prime", 10_000_000),
    ]
    cid = p.claim(lines)["claim_id"]
    p.confirm(cid, p.sub)
    p.approve(cid)
    p.settle(cid)  # the subcontract line waits for the prime's confirmation: its clock starts here
    travel(city.platform, 20 * DAY)
    p.confirm(cid, p.prime)
    p.settle(cid)  # paid five days late: interest
    # a second project: a blocked supplier's line is credited, then withdrawn; the project closes (refunds)
    q = pc.project(funding={"material": 9_000, "prime": 4_000})
    ok(city.api.post("/payments/treasury/blocked", json={"account": q.supplier.address}, headers=pc.admin))
    cid = q.claim([(q.supplier, "material", 7_000), (q.prime, "prime", 1_000)])["claim_id"]
    q.approve(cid)
    q.settle(cid)
    TP.signed(
        city.api, f"/payments/credits/{q.supplier.address}/withdrawals", {"to": Account.create().address}, q.supplier
    )
    TP.signed(city.api, f"/payments/projects/{q.id}/close", {"client": pc.client.address}, pc.client)
    city.projects += [p.id, q.id]


@dataclass
class Voting:
    city: City
    admin: LocalAccount

    def poll(self, **draft: Any) -> int:
        body = {"question": "Q?", "options": ["A", "B", "C"], "duration_s": 120, "creator": self.admin.address, **draft}
        td = ok(self.city.api.post("/voting/polls/typed-data", json=body))
        signature = eip712.TypedMessage.from_dict(td["typed_data"]).sign(self.admin)
        return int(
            ok(self.city.api.post("/voting/polls", json={**td["fields"], "signature": "0x" + signature.hex()}), 201)[
                "poll_id"
            ]
        )

    def vote(self, poll_id: int, voter: LocalAccount, **draft: Any) -> dict[str, Any]:
        td = ok(
            self.city.api.post(f"/voting/polls/{poll_id}/ballots/typed-data", json={"voter": voter.address, **draft})
        )
        signature = eip712.TypedMessage.from_dict(td["typed_data"]).sign(voter)
        return dict(
            ok(
                self.city.api.post(
                    f"/voting/polls/{poll_id}/ballots", json={**td["fields"], "signature": "0x" + signature.hex()}
                ),
                201,
            )
        )


def build_voting(city: City, voters: list[LocalAccount]) -> None:
    admin = Account.create()
    grant_role(city.platform, "MVoting", "POLL_ADMIN_ROLE", admin.address)
    v = Voting(city, admin)
    single = v.poll(question="Build the tram?", options=["Yes", "No"])
    approval = v.poll(question="Which parks?", options=["A", "B", "C", "D"], ballot_type="approval", max_choices=2)
    ranked = v.poll(question="Rank the plans", ballot_type="ranked", max_choices=3)
    sealed = v.poll(question="Sealed?", secrecy="sealed", reveal_window_s=120)
    for i, (voter, choice) in enumerate(zip(voters, [0, 1, 0, 0], strict=True)):
        v.vote(single, voter, options=[choice])
        v.vote(approval, voter, options=[[0, 3], [3], [1, 2], [0]][i])
        v.vote(ranked, voter, options=[[2, 0, 1], [0], [1, 2], [2]][i])
    v.vote(single, voters[1], options=[0])  # replaced: version 2 counts
    salts = {}
    for voter, choice in zip(voters[:3], [2, 2, 0], strict=True):
        salts[voter.address] = (choice, secrets.token_bytes(32))
        v.vote(
            sealed,
            voter,
            commitment="0x" + enc.commitment(sealed, voter.address, choice, salts[voter.address][1]).hex(),
        )
    travel(city.platform, 125)
    for voter in voters[:2]:  # the third never reveals
        choice, salt = salts[voter.address]
        ok(
            city.api.post(
                f"/voting/polls/{sealed}/reveals",
                json={"voter": voter.address, "choice": choice, "salt": "0x" + salt.hex()},
            )
        )
    ok(city.api.post(f"/voting/polls/{single}/finalize"))
    travel(city.platform, 125)
    ok(city.api.post(f"/voting/polls/{sealed}/finalize"))
    city.polls = {"single": single, "approval": approval, "ranked": ranked, "sealed": sealed}


def build_mileage(city: City, registrar: LocalAccount) -> None:
    api, admin = city.api, city.admin
    awarder = Account.create()
    programs = [
        ok(
            api.post(
                "/mileage/programs", headers=admin, json={"name": n, "awarder": awarder.address, "annual_cap": 10**9}
            ),
            201,
        )["program_id"]
        for n in ("Eco", "Poll participation")
    ]
    biz = mileage_service.business_number_hash("1234567890", keccak(text="salt"))
    merchant = ok(
        api.post(
            "/mileage/merchants",
            headers=admin,
            json={"name": "Mangwon bakery", "business_number_hash": biz, "district": 14},
        ),
        201,
    )["merchant_id"]
    refs = iter(range(1, 10**6))

    def award(program: int, account: str, amount: int) -> None:
        item = {"account": account, "amount": amount, "ref": next(refs)}
        typed = ok(api.post(f"/mileage/programs/{program}/awards/typed-data", json=item))
        body = {**item, "deadline": typed["deadline"], "signature": sign_typed(awarder, typed["typed_data"])}
        ok(api.post(f"/mileage/programs/{program}/awards", json=body))

    def redeem(who: LocalAccount, amount: int, order: str) -> None:
        body = {
            "citizen": who.address,
            "merchant_id": merchant,
            "amount": amount,
            "order_ref": mileage_service.order_ref_of(order),
        }
        typed = ok(api.post("/mileage/redemptions/typed-data", json=body))
        signed = {
            **body,
            "nonce": typed["nonce"],
            "deadline": typed["deadline"],
            "signature": sign_typed(who, typed["typed_data"]),
        }
        ok(api.post("/mileage/redemptions", json=signed), 201)

    lab = TL.Lab(city.platform, api, registrar)
    a, b, c = lab.citizen(), lab.citizen(), lab.citizen()
    award(programs[0], a.address, 300)
    award(programs[1], a.address, 200)
    award(programs[0], a.address, 40)  # a third lot in the same epoch (Eco again)
    award(programs[1], b.address, 50)
    redeem(a, 350, "L-1")  # 300 Eco, then 50 Poll (first in, first out)
    ok(api.post(f"/mileage/merchants/{merchant}/settlements", json={"period": 1, "amount": 100}, headers=admin), 201)
    travel(city.platform, EPOCH)
    award(programs[0], b.address, 25)
    award(programs[1], c.address, 60)
    travel(city.platform, 6 * EPOCH)  # a's and b's first epoch have expired, not yet written off
    award(programs[0], b.address, 10)  # writes off b's expired points (PointsExpired)
    redeem(b, 5, "L-2")
    city.programs, city.merchants = programs, [merchant]
    city.mileage_accounts = [a.address, b.address, c.address]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    with (
        started_platform("embedded", tmp_path_factory.mktemp("figures") / "data") as platform,
        LiveServer(platform) as server,
    ):
        try:
            with server.client(timeout=120) as api:
                admin = bearer(sign_in(api, platform.operator))
                api.headers.update(admin)  # the city admin (operator) signs in like any agency
                c = City(
                    platform,
                    api,
                    f"{server.url}/rpc",
                    manifest_path(platform.settings.data_dir, platform.chain.chain_id),
                    admin,
                )
                registrar = make_registrar(platform)
                build_identity(c, registrar)
                build_notary(c)
                voters = [TL.Lab(platform, api, registrar).citizen() for _ in range(4)]
                build_credentials(c, voters)
                build_labour(c, registrar)
                build_payments(c)
                build_voting(c, voters)
                build_mileage(c, registrar)
                yield c
        finally:
            voting_service.close(platform)


@pytest.fixture(scope="module")
def figures(city: City) -> dict[str, Any]:
    run = subprocess.run(
        ["node", str(JS / "verify_figures.mjs"), city.rpc, str(city.manifest)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(NODE_MODULES.parent),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    assert out["head"] == city.platform.chain.head()  # nothing moved while it read
    return dict(out)


class Compare:
    """Collects (what, verifier's figure, API's figure) and reports every mismatch at once."""

    def __init__(self) -> None:
        self.count = 0
        self.bad: list[str] = []

    def __call__(self, what: str, js: Any, api: Any) -> None:
        self.count += 1
        if js != api:
            self.bad.append(f"{what}: verifier {js!r} != API {api!r}")

    def done(self, minimum: int) -> None:
        assert not self.bad, "\n".join(self.bad)
        assert self.count >= minimum, self.count
        print(f"figures compared: {self.count}")


# -- the verifier's own checks (events against views at one block) ------------------------------------


def test_every_check_of_the_javascript_verifier_passes(figures: dict[str, Any]) -> None:
    failed = [c for c in figures["checks"] if not c["ok"]]
    assert not failed, json.dumps(failed, indent=1)[:4000]
    areas = {c["area"] for c in figures["checks"]}
    assert areas == {"deployment", "identity", "voting", "credentials", "payments", "mileage", "labour", "notary"}
    print(f"verifier checks: {len(figures['checks'])}")


# -- every figure, verifier against API ----------------------------------------------------------------


def test_identity_figures_equal_the_api(city: City, figures: dict[str, Any]) -> None:
    same = Compare()
    ident = figures["identity"]
    assert city.api.get(f"/identity/citizens/by-id/{ident['citizenCount'] + 1}").status_code == 404
    same("citizen count", len(ident["citizens"]), ident["citizenCount"])
    for c in ident["citizens"]:
        got = ok(city.api.get(f"/identity/citizens/by-id/{c['citizenId']}"))
        w = f"citizen {c['citizenId']}"
        same(f"{w} account", c["account"], got["account"])
        same(f"{w} status", {1: "active", 2: "suspended"}[c["status"]], got["status"])
        same(f"{w} active", c["active"], got["active"])
        same(f"{w} district", c["district"], got["district"]["code"])
        same(f"{w} birth year", c["birthYear"], got["birth_year"])
        same(f"{w} residency", c["residency"], got["residency_code"])
        same(f"{w} record hash", c["recordHash"], got["record_hash"])
        same(f"{w} registered at", c["registeredAt"], got["registered_at"])
        same(f"{w} suspended", c["suspensionReason"] != 0, got["suspension_reason"] is not None)
        for old in c["retired"]:
            r = city.api.get(f"/identity/citizens/{old}")
            same(f"{w} retired key {old}", 404, r.status_code)
    assert any(c["retired"] for c in ident["citizens"]) and any(c["status"] == 2 for c in ident["citizens"])
    same.done(50)


def test_voting_figures_and_ballot_signatures_equal_the_api(city: City, figures: dict[str, Any]) -> None:
    same = Compare()
    polls = {p["pollId"]: p for p in figures["voting"]["polls"]}
    assert set(city.polls.values()) <= set(polls)
    same("poll count", figures["voting"]["pollCount"], len(ok(city.api.get("/voting/polls"))))
    for kind, pid in city.polls.items():
        p = polls[pid]
        res = ok(city.api.get(f"/voting/polls/{pid}/results"))
        poll = ok(city.api.get(f"/voting/polls/{pid}"))
        w = f"{kind} poll {pid}"
        same(f"{w} counts", p["counts"], [o["count"] for o in res["options"]])
        same(f"{w} ballots", p["ballots"], res["ballots"])
        same(f"{w} counted", p["counted"], res["counted"])
        same(f"{w} source", p["source"], res["source"])
        same(f"{w} finalized", p["finalized"], res["finalized"])
        same(f"{w} question", p["question"], poll["question"])
        same(f"{w} options", p["options"], [o["text"] for o in poll["options"]])
        same(f"{w} type", p["ballotType"].lower(), poll["ballot_type"])
        same(f"{w} secrecy", p["secrecy"].lower(), poll["secrecy"])
        for b in p["signatures"]:
            receipt = ok(city.api.get(f"/voting/receipts/{b['ballotHash']}"))
            same(f"{w} ballot {b['ballotHash']} signer", b["recovered"], receipt["voter"])
            same(f"{w} ballot {b['ballotHash']} voter key", b["citizenId"], receipt["citizen_id"])
            same(f"{w} ballot {b['ballotHash']} version", b["version"], receipt["version"])
            same(f"{w} ballot {b['ballotHash']} tx", b["tx"], receipt["tx_hash"])
            same(f"{w} ballot {b['ballotHash']} current", b["ballotHash"] in p["current"], receipt["current"])
    assert polls[city.polls["sealed"]]["counted"] == 2 and polls[city.polls["single"]]["source"] == "PollFinalized"
    assert sum(len(polls[pid]["signatures"]) for pid in city.polls.values()) == 16
    same.done(100)


def test_credential_statuses_equal_the_api(city: City, figures: dict[str, Any]) -> None:
    same = Compare()
    anchors = figures["credentials"]["anchors"]
    assert len(anchors) == 5 and sum(a["revoked"] for a in anchors) == 2 and sum(a["suspended"] for a in anchors) == 1
    for a in anchors:
        got = ok(city.api.get(f"/credentials/status/{a['anchorId']}", params={"position": a["position"]}))
        w = f"credential {a['anchorId']}/{a['position']}"
        same(f"{w} exists", True, got["exists"])
        same(f"{w} revoked", a["revoked"], got["revoked"])
        same(f"{w} suspended", a["suspended"], got["suspended"])
        same(f"{w} batch", a["batch"], got["batch"])
        same(f"{w} count", a["count"], got["count"])
        same(f"{w} issuer", a["issuerId"], got["issuer_id"])
        same(f"{w} type", a["typeId"], got["type_id"])
        same(f"{w} key", a["key"], got["key"])
        same(f"{w} anchored at", a["anchoredAt"], got["anchored_at"])
    same.done(40)


def test_payment_buckets_trails_and_totals_equal_the_api(city: City, figures: dict[str, Any]) -> None:
    same = Compare()
    projects = {p["projectId"]: p for p in figures["payments"]["projects"]}
    for pid in city.projects:
        p = projects[pid]
        api_buckets = {b["purpose"]: b for b in ok(city.api.get(f"/payments/projects/{pid}"))["buckets"]}
        for b in p["buckets"]:
            for k in ("funded", "paid", "refunded", "balance"):
                same(f"project {pid} {b['purpose']} {k}", b[k], api_buckets[b["purpose"]][k])
        trail = ok(city.api.get(f"/audit/projects/{pid}/trail"))
        same(f"project {pid} trail rows", len(p["rows"]), len(trail["rows"]))
        for mine, theirs in zip(p["rows"], trail["rows"], strict=False):
            for k in ("block", "tx", "log_index", "event", "payer", "payee", "purpose", "amount", "claim", "evidence"):
                same(f"project {pid} row {mine['log_index']}@{mine['block']} {k}", mine[k], theirs[k])
            if mine["event"] in ("LinePaid", "LineCredited", "ClaimLineAdded"):
                same(f"project {pid} row {mine['log_index']}@{mine['block']} line", mine["line"], theirs["line"])
            if mine["event"] in ("LinePaid", "LineCredited"):
                same(
                    f"project {pid} row {mine['log_index']}@{mine['block']} interest",
                    mine["interest"],
                    theirs["interest"],
                )
        rec = ok(city.api.get(f"/audit/projects/{pid}/reconcile"))
        same(f"project {pid} claims", p["claims"], rec["claims"])
        for k, v in p["totals"].items():
            same(f"project {pid} total {k}", v, rec["totals"][k])
        theirs_payees = {x["payee"]: x for x in rec["payees"]}
        same(f"project {pid} payees", sorted(x["payee"] for x in p["payees"]), sorted(theirs_payees))
        for x in p["payees"]:
            for k in ("claimed", "paid", "credited", "outstanding", "withdrawable_now"):
                same(f"project {pid} payee {x['payee']} {k}", x[k], theirs_payees[x["payee"]][k])
            same(
                f"payee {x['payee']} token balance",
                x["token_balance"],
                ok(city.api.get(f"/payments/balances/{x['payee']}"))["balance"],
            )
        same(
            f"project {pid} escrow on chain",
            figures["payments"]["escrow"]["balance_on_chain"],
            rec["escrow"]["balance_on_chain"],
        )
        same(
            f"project {pid} escrow from events",
            figures["payments"]["escrow"]["balance_from_events"],
            rec["escrow"]["balance_from_events"],
        )
        same(
            f"project {pid} open credits",
            figures["payments"]["escrow"]["credits_on_chain"],
            rec["escrow"]["credits_on_chain"],
        )
    first, second = projects[city.projects[0]], projects[city.projects[1]]
    assert first["totals"]["late_interest"] > 0 and second["totals"]["refunded"] > 0
    assert any(r["event"] == "CreditWithdrawn" for r in second["rows"])
    same.done(300)


def test_mileage_balances_and_liability_equal_the_api(city: City, figures: dict[str, Any]) -> None:
    same = Compare()
    m = figures["mileage"]
    policy = ok(city.api.get("/mileage/policy"))
    same("epoch origin", m["epochOrigin"], policy["epoch_origin"])
    same("epoch length", m["epochLength"], policy["epoch_length_s"])
    same("validity epochs", m["validityEpochs"], policy["validity_epochs"])
    same("current epoch", m["currentEpoch"], policy["current_epoch"])
    citizens = {c["citizenId"]: c for c in m["citizens"]}
    for account in city.mileage_accounts:
        bal = ok(city.api.get(f"/mileage/balances/{account}"))
        st = ok(city.api.get(f"/mileage/reports/statements/{account}"))
        c = citizens[bal["citizen_id"]]
        w = f"citizen {bal['citizen_id']}"
        same(f"{w} balance", c["balance"], bal["balance"])
        same(f"{w} expired unrealised", c["expiredUnrealised"], bal["expired_unrealised"])
        same(
            f"{w} buckets",
            c["buckets"],
            [{"epoch": x["epoch"], "amount": x["amount"], "expired": x["expired"]} for x in bal["buckets"]],
        )
        for k in ("awarded", "imported", "redeemed", "expired", "balance"):
            same(f"{w} statement {k}", c[k], st[k])
    assert any(c["expiredUnrealised"] for c in m["citizens"]) and any(
        c["expired"] > c["expiredUnrealised"] for c in m["citizens"]
    )  # one citizen's expiry is unrealised, another's written off
    report = ok(city.api.get("/mileage/reports/liability"))
    rows = {r["program_id"]: r for r in report["rows"]}
    same("programs", sorted(p["program_id"] for p in m["liability"]), sorted(rows))
    for p in m["liability"]:
        for k in ("name", "awarded", "imported", "redeemed", "expired", "outstanding"):
            same(f"program {p['program_id']} {k}", p[k], rows[p["program_id"]][k])
    same("liability total", m["liabilityTotal"], report["total"]["outstanding"])
    same("balance total", m["balanceTotal"], report["on_chain_balance_total"])
    for x in m["merchants"]:
        got = ok(city.api.get(f"/mileage/merchants/{x['merchant_id']}"))
        same(f"merchant {x['merchant_id']} unsettled", x["unsettled"], got["unsettled"])
        same(f"merchant {x['merchant_id']} redeemed", x["redeemed"], got["redeemed"])
    same.done(40)


def _yyyymmdd(iso: str) -> int:
    return int(iso.replace("-", ""))


def test_labour_figures_equal_the_api(city: City, figures: dict[str, Any]) -> None:
    same = Compare()
    contracts = {c["contractId"]: c for c in figures["labour"]["contracts"]}
    for cid in city.labour:
        c = contracts[cid]
        got = ok(city.api.get(f"/labor/contracts/{cid}"))
        same(f"{cid} employer", c["employer"], got["terms"]["employer"])
        same(f"{cid} worker", c["worker"], got["terms"]["worker"])
        same(f"{cid} document hash", c["documentHash"], got["terms"]["document_hash"])
        same(f"{cid} hourly wage", c["hourlyWage"], got["terms"]["hourly_wage"])
        weeks = {_yyyymmdd(w["week_start"]): w for w in ok(city.api.get(f"/labor/contracts/{cid}/weeks"))}
        same(f"{cid} weeks", sorted(w["weekStart"] for w in c["weeks"]), sorted(weeks))
        for w in c["weeks"]:
            theirs = weeks[w["weekStart"]]
            for mine_k, api_k in (
                ("revision", "revision"),
                ("status", "status"),
                ("minutesWorked", "minutes_worked"),
                ("entriesRoot", "entries_root"),
            ):
                same(f"{cid} week {w['weekStart']} {api_k}", w[mine_k], theirs[api_k])
            days = [WEEKDAYS[i] for i in range(7) if w["daysWorked"] >> i & 1]
            same(f"{cid} week {w['weekStart']} days", days, theirs["days_worked"])
            same(f"{cid} week {w['weekStart']} shifts", w["shifts"], len(theirs["entries"]))
        statements = {_yyyymmdd(s["period_start"]): s for s in ok(city.api.get(f"/labor/contracts/{cid}/statements"))}
        for s in c["statements"]:
            theirs = statements[s["periodStart"]]
            same(f"{cid} statement period end", s["periodEnd"], _yyyymmdd(theirs["period_end"]))
            same(f"{cid} statement payment date", s["paymentDate"], _yyyymmdd(theirs["payment_date"]))
            for mine_k, api_k in (
                ("statementHash", "statement_hash"),
                ("grossPay", "gross_pay"),
                ("basePay", "base_pay"),
                ("holidayPay", "holiday_pay"),
                ("overtimePay", "overtime_pay"),
                ("otherPay", "other_pay"),
                ("deductions", "deductions"),
                ("revision", "revision"),
            ):
                same(f"{cid} statement {api_k}", s[mine_k], theirs[api_k])
    assert {w["status"] for c in contracts.values() for w in c["weeks"]} == {"confirmed", "disputed"}
    same.done(25)


def test_notary_figures_equal_the_api(city: City, figures: dict[str, Any]) -> None:
    same = Compare()
    anchors = {a["documentHash"]: a for a in figures["notary"]["anchors"]}
    same("anchor count", figures["notary"]["anchorCount"], len(anchors))
    for h in city.anchors:
        got = ok(city.api.get(f"/notary/anchors/{h}"))
        a = anchors[h]
        same(f"{h} sequence", a["sequence"], got["sequence"])
        same(f"{h} anchored at", a["anchoredAt"], got["anchored_at"])
        same(f"{h} block", a["blockNumber"], got["block_number"])
        same(f"{h} tx", a["tx"], city.anchors[h]["tx_hash"])  # a lookup does not name the transaction
        same(f"{h} by", a["by"], city.platform.operator.address)  # the API names the Notary contract, not `by`
        same(f"{h} notary contract", city.platform.deployment.address("Notary"), got["notary"])
    same.done(10)


# -- cast call: one view of every contract, against the API ------------------------------------------------


def words(value: Any) -> list[str]:
    """A tuple or array from ``cast call --json`` (a JSON list, or cast's ``(a, b)`` text) as strings."""
    if isinstance(value, list):
        return [str(v) for v in value]
    return [w.strip() for w in str(value).strip("()[]").split(",")]


def cast_call(city: City, address: str, signature: str, *args: Any) -> list[str]:
    run = subprocess.run(
        [foundry_binary("cast"), "call", address, signature, *map(str, args), "--rpc-url", city.rpc, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, (signature, run.stderr)
    return list(json.loads(run.stdout))


def test_cast_call_reads_a_figure_of_every_contract_as_the_api_reports_it(city: City, figures: dict[str, Any]) -> None:
    d = city.platform.deployment
    same = Compare()
    # CitizenRegistry: a citizen's status and current key
    citizen = next(c for c in figures["identity"]["citizens"] if c["status"] == 2)
    api_citizen = ok(city.api.get(f"/identity/citizens/by-id/{citizen['citizenId']}"))
    (status,) = cast_call(city, d.address("CitizenRegistry"), "statusOf(uint256)(uint8)", citizen["citizenId"])
    same("cast statusOf", {"1": "active", "2": "suspended"}[str(status)], api_citizen["status"])
    (cid,) = cast_call(city, d.address("CitizenRegistry"), "citizenIdOf(address)(uint256)", api_citizen["account"])
    same("cast citizenIdOf", int(cid), api_citizen["citizen_id"])
    # MVoting: the tally of the approval poll
    pid = city.polls["approval"]
    counts, counted = cast_call(city, d.address("MVoting"), "tallyOf(uint256)(uint32[],uint32)", pid)
    res = ok(city.api.get(f"/voting/polls/{pid}/results"))
    same("cast tallyOf counts", [int(x) for x in words(counts)], [o["count"] for o in res["options"]])
    same("cast tallyOf counted", int(counted), res["counted"])
    # CredentialRegistry: a revoked credential's status
    revoked = next(a for a in figures["credentials"]["anchors"] if a["revoked"])
    got = ok(city.api.get(f"/credentials/status/{revoked['anchorId']}", params={"position": revoked["position"]}))
    values = cast_call(
        city,
        d.address("CredentialRegistry"),
        "statusOf(bytes32,uint256)(bool,bool,bool)",
        revoked["anchorId"],
        revoked["position"],
    )
    same(
        "cast credential statusOf",
        [str(v).lower() == "true" for v in values],
        [got["exists"], got["revoked"], got["suspended"]],
    )
    # SubcontractPayments: a bucket; CivicWon: a payee's balance
    pid = city.projects[0]
    bucket = next(b for b in ok(city.api.get(f"/payments/projects/{pid}"))["buckets"] if b["purpose"] == "subcontract")
    (view,) = cast_call(
        city,
        d.address("SubcontractPayments"),
        "bucketOf(uint256,uint8)((uint256,uint256,uint256,uint256))",
        pid,
        PURPOSE_CODES["subcontract"],
    )
    same("cast bucketOf", [int(x) for x in words(view)], [bucket[k] for k in ("funded", "paid", "refunded", "balance")])
    payee = figures["payments"]["projects"][0]["payees"][0]["payee"]
    (won,) = cast_call(city, d.address("CivicWon"), "balanceOf(address)(uint256)", payee)
    same("cast balanceOf", int(str(won).split()[0]), ok(city.api.get(f"/payments/balances/{payee}"))["balance"])
    # CivicMileage: a citizen's points
    bal = ok(city.api.get(f"/mileage/balances/{city.mileage_accounts[0]}"))
    points = cast_call(city, d.address("CivicMileage"), "pointsOf(uint256)(uint256,uint256)", bal["citizen_id"])
    same("cast pointsOf", [int(str(x).split()[0]) for x in points], [bal["balance"], bal["expired_unrealised"]])
    # LaborRecords: a week
    cid_ = city.labour[0]
    week = ok(city.api.get(f"/labor/contracts/{cid_}/weeks/{TL.MON}"))
    (w,) = cast_call(
        city,
        d.address("LaborRecords"),
        "weekOf(bytes32,uint32)((uint32,uint8,uint8,uint8,bytes32))",
        cid_,
        _yyyymmdd(TL.MON.isoformat()),
    )
    minutes, days, status_, revision, root = words(w)
    same("cast weekOf minutes", int(minutes), week["minutes_worked"])
    same("cast weekOf status", ["none", "recorded", "confirmed", "disputed"][int(status_)], week["status"])
    same("cast weekOf revision", int(revision), week["revision"])
    same("cast weekOf root", root, week["entries_root"])
    # Notary
    (count,) = cast_call(city, d.address("Notary"), "anchorCount()(uint256)")
    same("cast anchorCount", int(count), figures["notary"]["anchorCount"])
    anchored_at, block, sequence = cast_call(
        city, d.address("Notary"), "anchorOf(bytes32)(uint64,uint64,uint128)", list(city.anchors)[1]
    )
    got = ok(city.api.get(f"/notary/anchors/{list(city.anchors)[1]}"))
    same(
        "cast anchorOf",
        [int(anchored_at), int(block), int(sequence)],
        [got["anchored_at"], got["block_number"], got["sequence"]],
    )
    same.done(14)
