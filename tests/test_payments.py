"""Automatic subcontract payment: contract rules through the real HTTP API, on both chains."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from civic_ledger.payments.actions import ACTIONS
from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import Platform
from tests.conftest import LiveServer, module_chain, started_platform
from tests.helpers import Counter, make_registrar, recover_key, register_citizen, sign_in, suspend_citizen, travel

DAY = 86400


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["embedded", "anvil", "interval"])
def pay_platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    # A node of its own: a test here moves chain time 25 days, which would expire the wall-clock
    # deadlines of modules sharing the session's anvil after it.
    with (
        module_chain(request, own_anvil=True) as chain,
        started_platform(chain, Path(tmp_path_factory.mktemp("pay")) / "data") as p,
    ):
        yield p


@pytest.fixture(scope="module")
def pay_api(pay_platform: Platform) -> Iterator[httpx.Client]:
    with LiveServer(pay_platform) as server, server.client(timeout=120) as client:
        yield client


class City:
    """The cast of one test module: a client department, an inspector, a registrar, money."""

    def __init__(self, platform: Platform, api: httpx.Client) -> None:
        self.platform = platform
        self.api = api
        self.client = Account.create()
        self.inspector = Account.create()
        self.registrar = make_registrar(platform)
        self.admin = {"Authorization": f"Bearer {sign_in(api, platform.operator)}"}
        ok(api.post("/payments/roles", json={"role": "client", "account": self.client.address}, headers=self.admin))
        ok(
            api.post(
                "/payments/roles", json={"role": "inspector", "account": self.inspector.address}, headers=self.admin
            )
        )
        ok(api.post("/payments/treasury/mint", json={"to": self.client.address, "amount": 10**12}, headers=self.admin))
        signed(api, "/payments/allowances", {"owner": self.client.address, "value": 2**255}, self.client)

    def worker(self) -> LocalAccount:
        account = Account.create()
        register_citizen(self.platform, self.registrar, account.address)
        return account

    def project(self, *, funding: dict[str, int] | None = None, workers: int = 2) -> Project:
        return Project(self, funding=funding, workers=workers)


class Project:
    """A registered, funded project: prime, subcontractor, supplier, workers (w0 by the sub, w1 by the prime)."""

    def __init__(self, city: City, *, funding: dict[str, int] | None, workers: int) -> None:
        self.city = city
        api = city.api
        self.prime, self.sub, self.supplier = Account.create(), Account.create(), Account.create()
        self.workers = [city.worker() for _ in range(workers)]
        participants: list[dict[str, Any]] = [
            {"account": self.sub.address, "role": "subcontractor", "contract_amount": 300_000_000},
            {"account": self.supplier.address, "role": "supplier", "contract_amount": 100_000_000},
        ]
        for i, w in enumerate(self.workers):
            employer = self.sub if i % 2 == 0 else self.prime
            participants.append({"account": w.address, "role": "worker", "employer": employer.address})
        out = signed(
            api,
            "/payments/projects",
            {
                "project_ref": "0x" + keccak(text=f"contract {self.prime.address}").hex(),
                "prime": self.prime.address,
                "contract_amount": 1_000_000_000,
                "participants": participants,
                "client": city.client.address,
            },
            city.client,
            status=201,
        )
        self.id = out["project_id"]
        self.registration = out
        for purpose, amount in (
            funding or {"labour": 10_000_000, "subcontract": 50_000_000, "material": 20_000_000, "prime": 30_000_000}
        ).items():
            self.fund(purpose, amount)

    def fund(self, purpose: str, amount: int) -> dict[str, Any]:
        return signed(
            self.city.api,
            f"/payments/projects/{self.id}/funding",
            {"purpose": purpose, "amount": amount, "client": self.city.client.address},
            self.city.client,
            status=201,
        )

    def claim(self, lines: list[tuple[Any, str, int]], *, status: int = 201) -> dict[str, Any]:
        body = {
            "lines": [
                {
                    "payee": a.address if hasattr(a, "address") else a,
                    "purpose": p,
                    "amount": n,
                    "evidence": evidence(f"{p}{n}{i}"),
                }
                for i, (a, p, n) in enumerate(lines)
            ],
            "prime": self.prime.address,
        }
        return signed(self.city.api, f"/payments/projects/{self.id}/claims", body, self.prime, status=status)

    def confirm(
        self, claim_id: int, confirmer: LocalAccount, lines: list[int] | None = None, *, status: int = 200
    ) -> dict[str, Any]:
        return signed(
            self.city.api,
            f"/payments/claims/{claim_id}/confirmations",
            {"confirmer": confirmer.address, "lines": lines},
            confirmer,
            status=status,
        )

    def approve(self, claim_id: int, inspector: LocalAccount | None = None, *, status: int = 200) -> dict[str, Any]:
        inspector = inspector or self.city.inspector
        return signed(
            self.city.api,
            f"/payments/claims/{claim_id}/approvals",
            {"inspector": inspector.address},
            inspector,
            status=status,
        )

    def settle(self, claim_id: int, *, status: int = 200) -> dict[str, Any]:
        r = self.city.api.post(f"/payments/claims/{claim_id}/settlement")
        assert r.status_code == status, r.text
        return dict(r.json())


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def evidence(text: str) -> str:
    return "0x" + keccak(text=text).hex()


def signed(
    api: httpx.Client, path: str, body: dict[str, Any], signer: LocalAccount, *, status: int = 200
) -> dict[str, Any]:
    """typed-data → sign locally → post; returns the JSON answer (asserting ``status``)."""
    typed = ok(api.post(path + "/typed-data", json=body))
    message = typed["typed_data"]["message"]
    signature = "0x" + eip712.TypedMessage.from_dict(typed["typed_data"]).sign(signer).hex()
    full = {**body, "nonce": message["nonce"], "deadline": message["deadline"], "signature": signature}
    if "lines" in body and isinstance(message.get("lines"), int):
        full["lines"] = message["lines"]
    r = api.post(path, json=full)
    assert r.status_code == status, r.text
    return dict(r.json())


def events(out: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e["args"] for e in out["events"] if e["event"] == name]


@pytest.fixture(scope="module")
def city(pay_platform: Platform, pay_api: httpx.Client) -> City:
    return City(pay_platform, pay_api)


# -- tests -------------------------------------------------------------------------------------


def test_python_types_hash_to_the_contract_typehashes(pay_platform: Platform) -> None:
    for action in ACTIONS.values():
        if not action.typehash_constant:
            continue
        contract = pay_platform.deployment.contract(action.contract)
        expected = bytes(getattr(contract.functions, action.typehash_constant)().call())
        assert eip712.typehash(action.primary, action.types) == expected, action.key


def test_full_flow_pays_every_line_directly_from_its_bucket(city: City) -> None:
    p = city.project()
    reg = p.registration
    assert events(reg, "ProjectRegistered")[0]["prime"] == p.prime.address
    assert {e["account"] for e in events(reg, "ParticipantRegistered")} == {
        p.prime.address,
        p.sub.address,
        p.supplier.address,
        *(w.address for w in p.workers),
    }
    lines = [
        (p.workers[0], "labour", 2_000_000),  # employed by the sub: the sub confirms
        (p.workers[1], "labour", 1_500_000),  # employed by the prime: its claim is its confirmation
        (p.sub, "subcontract", 20_000_000),  # the prime confirms
        (p.supplier, "material", 5_000_000),
        (p.prime, "prime", 10_000_000),
    ]
    claim = p.claim(lines)
    cid = claim["claim_id"]
    assert [e["line"] for e in events(claim, "ClaimLineAdded")] == [0, 1, 2, 3, 4]
    # The claim's event comes before its lines' (a reader meets the claim first).
    assert [e["event"] for e in claim["events"]] == ["ClaimSubmitted"] + ["ClaimLineAdded"] * 5
    assert events(claim, "ClaimSubmitted")[0]["total"] == 38_500_000

    view = ok(city.api.get(f"/payments/claims/{cid}"))
    assert [ln["confirmed"] for ln in view["lines"]] == [False, True, False, True, True]
    assert view["lines"][0]["confirmer"] == p.sub.address and view["lines"][2]["confirmer"] == p.prime.address

    p.settle(cid, status=409)  # not approved yet (SubcontractPaymentsNotApproved, was 422)
    conf = p.confirm(cid, p.sub)
    assert events(conf, "LinesConfirmed") == [
        {"claimId": cid, "projectId": p.id, "confirmer": p.sub.address, "lines": 0b1}
    ]
    p.confirm(cid, p.prime)
    approved = p.approve(cid)
    assert events(approved, "ClaimApproved")[0]["inspector"] == city.inspector.address

    settled = p.settle(cid)
    paid = events(settled, "LinePaid")
    assert [(e["payee"], e["amount"], e["purpose"]) for e in paid] == [
        (a.address, n, {"labour": 1, "subcontract": 2, "material": 3, "prime": 5}[pp]) for a, pp, n in lines
    ]
    assert all(e["interest"] == 0 for e in paid)
    assert paid[2]["due"] > 0 and paid[0]["due"] == 0  # only subcontract lines carry a due date
    assert events(settled, "ClaimSettled")[0]["total"] == 38_500_000
    for account, _purpose, amount in lines:
        assert ok(city.api.get(f"/payments/balances/{account.address}"))["balance"] == amount
    buckets = {b["purpose"]: b for b in ok(city.api.get(f"/payments/projects/{p.id}"))["buckets"]}
    assert buckets["labour"] == {
        "purpose": "labour",
        "funded": 10_000_000,
        "paid": 3_500_000,
        "refunded": 0,
        "balance": 6_500_000,
    }
    assert buckets["subcontract"]["balance"] == 30_000_000

    # no line is paid twice
    again = city.api.post(f"/payments/claims/{cid}/settlement")
    assert again.status_code == 409 and again.json()["error"] == "SubcontractPaymentsAlreadySettled"


def test_unconfirmed_lines_wait_and_only_their_confirmer_may_confirm(city: City) -> None:
    p = city.project()
    cid = p.claim([(p.workers[0], "labour", 1_000), (p.supplier, "material", 2_000), (p.sub, "subcontract", 3_000)])[
        "claim_id"
    ]
    p.approve(cid)
    first = p.settle(cid)
    assert [e["line"] for e in events(first, "LinePaid")] == [1]
    r = city.api.post(f"/payments/claims/{cid}/settlement")
    assert r.status_code == 409 and r.json()["error"] == "SubcontractPaymentsNothingPayable"
    # the prime is not the employer of worker 0
    bad = p.confirm(cid, p.prime, [0], status=403)
    assert bad["error"] == "SubcontractPaymentsUnauthorizedConfirmer"
    assert bad["details"]["args"]["line"] == 0
    p.confirm(cid, p.sub, [0])
    dup = p.confirm(cid, p.sub, [0], status=409)
    assert dup["error"] == "SubcontractPaymentsAlreadyConfirmed"
    assert [e["line"] for e in events(p.settle(cid), "LinePaid")] == [0]


def test_unauthorised_approval_is_refused(city: City) -> None:
    p = city.project(funding={})
    cid = p.claim([(p.supplier, "material", 1_000)])["claim_id"]
    stranger = Account.create()
    out = p.approve(cid, stranger, status=403)
    assert out["error"] == "SubcontractPaymentsUnauthorized"
    assert out["details"]["args"]["signer"] == stranger.address
    # a signature by someone else than the named inspector never reaches the chain
    typed = ok(
        city.api.post(f"/payments/claims/{cid}/approvals/typed-data", json={"inspector": city.inspector.address})
    )
    forged = "0x" + eip712.TypedMessage.from_dict(typed["typed_data"]).sign(stranger).hex()
    msg = typed["typed_data"]["message"]
    r = city.api.post(
        f"/payments/claims/{cid}/approvals",
        json={
            "inspector": city.inspector.address,
            "nonce": msg["nonce"],
            "deadline": msg["deadline"],
            "signature": forged,
        },
    )
    assert r.status_code == 403 and r.json()["error"] == "invalid_signature"
    assert stranger.address in r.json()["message"]
    # the prime may not approve its own claim either
    assert p.approve(cid, p.prime, status=403)["error"] == "SubcontractPaymentsUnauthorized"
    p.approve(cid)
    assert p.approve(cid, status=409)["error"] == "SubcontractPaymentsAlreadyApproved"


def test_replayed_signature_is_refused(city: City) -> None:
    p = city.project(funding={})
    typed = ok(
        city.api.post(
            f"/payments/projects/{p.id}/funding/typed-data",
            json={"purpose": "material", "amount": 5, "client": city.client.address},
        )
    )
    sig = "0x" + eip712.TypedMessage.from_dict(typed["typed_data"]).sign(city.client).hex()
    msg = typed["typed_data"]["message"]
    body = {
        "purpose": "material",
        "amount": 5,
        "client": city.client.address,
        "nonce": msg["nonce"],
        "deadline": msg["deadline"],
        "signature": sig,
    }
    ok(city.api.post(f"/payments/projects/{p.id}/funding", json=body), 201)
    r = city.api.post(f"/payments/projects/{p.id}/funding", json=body)
    assert r.status_code == 409 and r.json()["error"] == "InvalidAccountNonce"


def test_labour_line_to_a_non_worker_is_refused(city: City) -> None:
    p = city.project(funding={})
    out = p.claim([(p.sub, "labour", 1_000)], status=422)
    assert out["error"] == "SubcontractPaymentsPayeeNotEligible"
    assert out["details"]["args"] == {"projectId": p.id, "payee": p.sub.address, "purpose": 1}
    outsider = city.worker()  # a citizen, but not a worker of this project
    assert p.claim([(outsider, "labour", 1_000)], status=422)["error"] == "SubcontractPaymentsPayeeNotEligible"
    # a worker must be an active citizen to be registered at all
    stranger = Account.create()
    r = signed(
        city.api,
        f"/payments/projects/{p.id}/participants",
        {
            "participants": [{"account": stranger.address, "role": "worker", "employer": p.sub.address}],
            "client": city.client.address,
        },
        city.client,
        status=422,
    )
    assert r["error"] == "SubcontractPaymentsNotActiveCitizen"


def test_overdraft_is_refused_and_nothing_moves(city: City) -> None:
    p = city.project(funding={"material": 1_000})
    cid = p.claim([(p.supplier, "material", 600), (p.supplier, "material", 600)])["claim_id"]
    p.approve(cid)
    out = p.settle(cid, status=409)
    assert out["error"] == "SubcontractPaymentsOverdraft"
    assert out["details"]["args"] == {"projectId": p.id, "purpose": 3, "balance": 1_000, "required": 1_200}
    assert ok(city.api.get(f"/payments/balances/{p.supplier.address}"))["balance"] == 0
    p.fund("material", 200)
    assert len(events(p.settle(cid), "LinePaid")) == 2


def test_payment_after_close_is_refused(city: City) -> None:
    p = city.project(funding={"material": 5_000, "prime": 1_000})
    cid = p.claim([(p.supplier, "material", 1_000)])["claim_id"]
    p.approve(cid)
    before = ok(city.api.get(f"/payments/balances/{city.client.address}"))["balance"]
    closed = signed(city.api, f"/payments/projects/{p.id}/close", {"client": city.client.address}, city.client)
    assert {(e["purpose"], e["amount"]) for e in events(closed, "BucketRefunded")} == {(3, 5_000), (5, 1_000)}
    assert events(closed, "ProjectClosed")[0]["refunded"] == 6_000
    assert ok(city.api.get(f"/payments/balances/{city.client.address}"))["balance"] == before + 6_000
    out = p.settle(cid, status=409)
    assert out["error"] == "SubcontractPaymentsProjectClosed"
    fund = signed(
        city.api,
        f"/payments/projects/{p.id}/funding",
        {"purpose": "material", "amount": 1, "client": city.client.address},
        city.client,
        status=409,
    )
    assert fund["error"] == "SubcontractPaymentsProjectClosed"


def test_direct_payment_records_its_legal_ground(city: City) -> None:
    p = city.project()
    cid = p.claim([(p.sub, "subcontract", 4_000_000), (p.supplier, "material", 1_000)])["claim_id"]
    body = {"line": 0, "ground": "prime_insolvency", "client": city.client.address}
    early = signed(city.api, f"/payments/claims/{cid}/direct-payments", body, city.client, status=409)
    assert early["error"] == "SubcontractPaymentsNotApproved"
    p.approve(cid)
    out = signed(city.api, f"/payments/claims/{cid}/direct-payments", body, city.client)
    assert events(out, "DirectPaymentMade")[0]["ground"] == 2
    assert events(out, "LinePaid")[0]["payee"] == p.sub.address
    assert ok(city.api.get(f"/payments/balances/{p.sub.address}"))["balance"] == 4_000_000
    again = signed(city.api, f"/payments/claims/{cid}/direct-payments", body, city.client, status=409)
    assert again["error"] == "SubcontractPaymentsAlreadyPaid"
    wrong = signed(city.api, f"/payments/claims/{cid}/direct-payments", {**body, "line": 1}, city.client, status=422)
    assert wrong["error"] == "SubcontractPaymentsInvalidDirectPayment"
    bad = city.api.post(f"/payments/claims/{cid}/direct-payments/typed-data", json={**body, "ground": "because"})
    assert bad.status_code == 422 and "ground" in bad.json()["message"]
    # the rest of the claim settles normally, the direct line is not paid twice
    assert [e["line"] for e in events(p.settle(cid), "LinePaid")] == [1]


def test_failed_push_is_credited_for_withdrawal(city: City) -> None:
    p = city.project()
    ok(
        city.api.post(
            "/payments/treasury/blocked", json={"account": p.supplier.address, "blocked": True}, headers=city.admin
        )
    )
    cid = p.claim([(p.supplier, "material", 7_000), (p.prime, "prime", 1_000)])["claim_id"]
    p.approve(cid)
    out = p.settle(cid)
    credited = events(out, "LineCredited")
    assert [(e["payee"], e["amount"]) for e in credited] == [(p.supplier.address, 7_000)]
    assert [e["payee"] for e in events(out, "LinePaid")] == [p.prime.address]
    credit = ok(city.api.get(f"/payments/credits/{p.supplier.address}"))
    assert credit == {"payee": p.supplier.address, "withdrawable": 7_000, "balance": 0, "blocked": True}
    push = city.api.post(f"/payments/credits/{p.supplier.address}/push")
    assert push.status_code == 422 and push.json()["error"] == "SubcontractPaymentsTransferFailed"
    new_account = Account.create()
    w = signed(city.api, f"/payments/credits/{p.supplier.address}/withdrawals", {"to": new_account.address}, p.supplier)
    assert events(w, "CreditWithdrawn") == [
        {"projectId": p.id, "payee": p.supplier.address, "to": new_account.address, "amount": 7_000}
    ]
    assert ok(city.api.get(f"/payments/balances/{new_account.address}"))["balance"] == 7_000
    nothing = city.api.post(f"/payments/credits/{p.supplier.address}/push")
    assert nothing.status_code == 409 and nothing.json()["error"] == "SubcontractPaymentsNothingToWithdraw"


def test_a_withdrawal_of_credit_from_two_projects_names_each_project(city: City) -> None:
    first, second = city.project(), city.project()
    ok(
        city.api.post(
            "/payments/treasury/blocked", json={"account": first.supplier.address, "blocked": True}, headers=city.admin
        )
    )
    # The same supplier in a second project: register it there too (participants are per project).
    shared = first.supplier
    signed(
        city.api,
        f"/payments/projects/{second.id}/participants",
        {
            "participants": [{"account": shared.address, "role": "supplier", "contract_amount": 1_000_000}],
            "client": city.client.address,
        },
        city.client,
        status=201,
    )
    for project, amount in ((first, 3_000), (second, 4_000)):
        cid = project.claim([(shared, "material", amount)])["claim_id"]
        project.approve(cid)
        assert events(project.settle(cid), "LineCredited")[0]["projectId"] == project.id
    to = Account.create()
    w = signed(city.api, f"/payments/credits/{shared.address}/withdrawals", {"to": to.address}, shared)
    assert events(w, "CreditWithdrawn") == [
        {"projectId": first.id, "payee": shared.address, "to": to.address, "amount": 3_000},
        {"projectId": second.id, "payee": shared.address, "to": to.address, "amount": 4_000},
    ]
    assert ok(city.api.get(f"/payments/balances/{to.address}"))["balance"] == 7_000
    # Each project's trail holds its own part of the withdrawal, and each still reconciles.
    for project, amount in ((first, 3_000), (second, 4_000)):
        trail = ok(city.api.get(f"/audit/projects/{project.id}/trail"))
        withdrawn = [r for r in trail["rows"] if r["event"] == "CreditWithdrawn"]
        assert [r["amount"] for r in withdrawn] == [amount], withdrawn
        assert ok(city.api.get(f"/audit/projects/{project.id}/reconcile"))["matches"] is True


def test_suspended_workers_wage_is_credited_and_only_goes_to_the_same_citizen(city: City) -> None:
    p = city.project()
    worker = p.workers[1]  # employed by the prime: no extra confirmation
    cid = p.claim([(worker, "labour", 9_000)])["claim_id"]
    p.approve(cid)
    suspend_citizen(city.platform, city.registrar, worker.address)
    out = p.settle(cid)
    assert [(e["payee"], e["amount"]) for e in events(out, "LineCredited")] == [(worker.address, 9_000)]
    other = Account.create()
    r = signed(city.api, f"/payments/credits/{worker.address}/withdrawals", {"to": other.address}, worker, status=403)
    assert r["error"] == "SubcontractPaymentsNotOwnAccount"
    # the lost device: the registrar moves the identity to a new key; that key withdraws the wage to itself
    new_key = Account.create()
    recover_key(city.platform, city.registrar, worker.address, new_key.address)
    typed = ok(
        city.api.post(f"/payments/credits/{worker.address}/withdrawals/typed-data", json={"to": new_key.address})
    )
    assert typed["signer"] == new_key.address
    w = signed(city.api, f"/payments/credits/{worker.address}/withdrawals", {"to": new_key.address}, new_key)
    assert events(w, "CreditWithdrawn") == [
        {"projectId": p.id, "payee": worker.address, "to": new_key.address, "amount": 9_000}
    ]
    assert ok(city.api.get(f"/payments/balances/{new_key.address}"))["balance"] == 9_000


def test_role_grants_and_minting_need_the_city_admin(city: City) -> None:
    someone = Account.create()
    r = city.api.post("/payments/treasury/mint", json={"to": someone.address, "amount": 5})
    assert r.status_code == 401
    # an inspector may sign in (an agency role) but may not grant roles or mint
    stranger = {"Authorization": f"Bearer {sign_in(city.api, city.inspector)}"}
    r = city.api.post("/payments/roles", json={"role": "client", "account": someone.address}, headers=stranger)
    assert r.status_code == 403 and "DEFAULT_ADMIN_ROLE" in r.json()["message"]
    r = city.api.post("/payments/treasury/mint", json={"to": someone.address, "amount": 5}, headers=stranger)
    assert r.status_code == 403 and "TREASURY_ROLE" in r.json()["message"]
    out = ok(city.api.post("/payments/treasury/mint", json={"to": someone.address, "amount": 5}, headers=city.admin))
    assert out["events"][0] == {
        "event": "Minted",
        "args": {"to": someone.address, "amount": 5, "treasury": city.platform.operator.address},
        "log_index": out["events"][0]["log_index"],
    }


def test_bad_input_is_a_4xx_naming_the_field(city: City) -> None:
    r = city.api.post(
        "/payments/projects/1/claims/typed-data",
        json={
            "lines": [{"payee": "0x12", "purpose": "labour", "amount": 1, "evidence": "0x" + "00" * 32}],
            "prime": city.client.address,
        },
    )
    assert r.status_code == 422 and "lines.0.payee" in r.json()["message"]
    r = city.api.post(
        "/payments/projects/1/funding/typed-data",
        json={"purpose": "snacks", "amount": 1, "client": city.client.address},
    )
    assert r.status_code == 422 and "purpose" in r.json()["message"]
    r = city.api.post("/payments/projects/1/claims/typed-data", json={"lines": [], "prime": city.client.address})
    assert r.status_code == 422 and "lines" in r.json()["message"]
    assert city.api.get("/payments/projects/999999").status_code == 404
    assert city.api.get("/payments/claims/999999").status_code == 404
    r = city.api.post("/payments/claims/999999/settlement")
    assert r.status_code == 404


def test_trail_and_reconciliation_match_the_chain(city: City) -> None:
    import csv
    import hashlib
    import io
    import json

    from typer.testing import CliRunner

    from civic_ledger.audit.cli import app as audit_app

    p = city.project()
    c1 = p.claim([(p.workers[1], "labour", 1_000_000), (p.supplier, "material", 2_000_000)])["claim_id"]
    c2 = p.claim([(p.sub, "subcontract", 5_000_000), (p.prime, "prime", 3_000_000)])["claim_id"]
    for cid in (c1, c2):
        p.approve(cid)
    p.confirm(c2, p.prime)
    p.settle(c1)
    s2 = p.settle(c2)

    body = ok(city.api.get(f"/audit/projects/{p.id}/trail"))
    manifest = body["manifest"]
    assert manifest["chain_id"] == city.platform.chain.chain_id
    assert manifest["contracts"]["SubcontractPayments"] == city.platform.deployment.address("SubcontractPayments")
    assert manifest["claims"] == [c1, c2]
    paid_rows = [r for r in body["rows"] if r["event"] == "LinePaid"]
    assert [(r["payee"], r["amount"], r["purpose"]) for r in paid_rows] == [
        (p.workers[1].address, 1_000_000, "labour"),
        (p.supplier.address, 2_000_000, "material"),
        (p.sub.address, 5_000_000, "subcontract"),
        (p.prime.address, 3_000_000, "prime"),
    ]
    assert paid_rows[2]["due"] and paid_rows[2]["late"] == "false" and paid_rows[0]["due"] == ""
    assert all(r["evidence"].startswith("0x") and len(r["evidence"]) == 66 for r in paid_rows)
    # each row's inclusion reference checks out on the node
    last = paid_rows[-1]
    receipt = city.platform.chain.w3.eth.get_transaction_receipt(last["tx"])
    assert receipt["blockHash"].to_0x_hex() == last["block_hash"] and last["tx"] == s2["tx_hash"]
    assert any(int(log["logIndex"]) == last["log_index"] for log in receipt["logs"])

    r = city.api.get(f"/audit/projects/{p.id}/trail", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert hashlib.sha256(r.content).hexdigest() == r.headers["X-Trail-SHA256"] == manifest["csv_sha256"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0].keys()) == [
        "block",
        "time",
        "tx",
        "log_index",
        "event",
        "payer",
        "payee",
        "purpose",
        "amount",
        "claim",
        "evidence",
        "due",
        "late",
    ]
    assert sum(int(x["amount"]) for x in rows if x["event"] == "LinePaid") == 11_000_000

    rec = ok(city.api.get(f"/audit/projects/{p.id}/reconcile"))
    assert rec["matches"] is True
    buckets = {b["purpose"]: b for b in rec["buckets"]}
    assert buckets["material"] == {
        "purpose": "material",
        "funded": 20_000_000,
        "paid": 2_000_000,
        "refunded": 0,
        "balance": 18_000_000,
        "balance_on_chain": 18_000_000,
        "matches": True,
    }
    assert rec["totals"]["paid"] == 11_000_000 and rec["totals"]["claimed"] == 11_000_000
    assert {x["payee"]: x["outstanding"] for x in rec["payees"]} == {
        p.workers[1].address: 0,
        p.supplier.address: 0,
        p.sub.address: 0,
        p.prime.address: 0,
    }
    assert city.api.get("/audit/projects/999999/reconcile").status_code == 404

    # The chain-only CLI: anvil's own JSON-RPC, or the embedded chain's read-only /rpc endpoint.
    rpc = city.platform.chain.kind if city.platform.chain.tester is None else f"{city.api.base_url}/rpc"
    runner = CliRunner()
    path = str(city.platform.deployment.manifest_path)
    res = runner.invoke(audit_app, ["reconcile", str(p.id), "--rpc-url", rpc, "--manifest", path, "--json"])
    assert res.exit_code == 0, res.output
    cli = json.loads(res.stdout)
    assert cli["totals"] == rec["totals"] and cli["buckets"] == rec["buckets"] and cli["matches"] is True
    res = runner.invoke(audit_app, ["trail", str(p.id), "--rpc-url", rpc, "--manifest", path])
    assert res.exit_code == 0, res.output
    if city.platform.chain.head() == manifest["to_block"]:
        assert hashlib.sha256(res.stdout.encode()).hexdigest() == manifest["csv_sha256"]
    assert res.stdout.splitlines()[1:] == r.text.splitlines()[1:]


def test_cli_walks_a_claim_from_submission_to_settlement(city: City, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from civic_ledger.identity.keys import create_keystore
    from civic_ledger.payments.cli import app as payments_app

    p = city.project()
    data = tmp_path / "cli"
    for name, account in (("prime", p.prime), ("sub", p.sub), ("inspector", city.inspector), ("dept", city.client)):
        create_keystore(data, name, "pw", private_key=account.key, scrypt_n=2)
    common = ["--api", str(city.api.base_url), "--data-dir", str(data), "--password", "pw"]
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        res = runner.invoke(
            payments_app,
            [*args, *common]
            if args[0] not in ("settle", "project", "claim")
            else [*args, "--api", str(city.api.base_url)],
        )
        assert res.exit_code == code, res.output
        return res.output

    out = run(
        "submit-claim",
        str(p.id),
        "--as",
        "prime",
        "--line",
        f"{p.sub.address}:subcontract:7000:invoice-7",
        "--line",
        f"{p.supplier.address}:material:3000:note-3",
    )
    cid = int(out.split("claim ")[1].split(")")[0])
    assert "ClaimLineAdded" in out and "subcontract" in out
    run("approve", str(cid), "--as", "inspector")
    assert "LinePaid" in run("settle", str(cid))  # the material line
    assert "no" in run("claim", str(cid))  # the subcontract line still waits
    run("confirm", str(cid), "--as", "prime")
    out = run("settle", str(cid))
    assert "LinePaid" in out and p.sub.address in out
    view = ok(city.api.get(f"/payments/claims/{cid}"))
    assert view["settled"] is True
    assert "subcontract" in run("project", str(p.id))
    # a key without INSPECTOR_ROLE: the API refuses it (403), which the CLI reports as one error line
    res = runner.invoke(payments_app, ["approve", str(cid), "--as", "sub", *common])
    assert res.exit_code == 1 and res.stdout == "" and "Traceback" not in res.output
    assert res.stderr.startswith("error: ") and "(HTTP 403 SubcontractPaymentsUnauthorized)" in res.stderr


# Moves the chain clock forward: keep it last (helpers sign with wall-clock deadlines).
def test_late_subcontract_payment_is_flagged_with_interest(city: City) -> None:
    p = city.project()
    amount = 36_500_000
    cid = p.claim([(p.prime, "prime", 1_000_000), (p.sub, "subcontract", amount)])["claim_id"]
    p.approve(cid)
    first = p.settle(cid)  # the client pays the claim: the prime is paid, the subcontract clock starts
    paid_at = events(first, "ClaimSettled")[0]["paidAt"]
    view = ok(city.api.get(f"/payments/claims/{cid}"))
    assert view["paid_at"] == paid_at and view["subcontract_due"] == paid_at + 15 * DAY
    travel(city.platform, 25 * DAY)  # the prime sits on the confirmation for 25 days
    assert ok(city.api.get(f"/payments/claims/{cid}"))["lines"][1]["interest_if_paid_now"] > 0
    p.confirm(cid, p.prime)
    late = events(p.settle(cid), "LinePaid")[0]
    assert late["due"] == paid_at + 15 * DAY
    block_time = int(city.platform.chain.w3.eth.get_block("latest")["timestamp"])
    assert block_time > late["due"]
    assert late["interest"] == amount * 155 * (block_time - late["due"]) // (1000 * 365 * DAY)
    assert 150_000 < late["interest"] < 160_000  # ≈ 10 days at 15.5 %/yr on 36.5 M won
    trail = ok(city.api.get(f"/audit/projects/{p.id}/trail"))
    row = [r for r in trail["rows"] if r["event"] == "LinePaid" and r["purpose"] == "subcontract"][0]
    assert row["late"] == "true" and row["interest"] == late["interest"]
    rec = ok(city.api.get(f"/audit/projects/{p.id}/reconcile"))
    assert rec["late"][0]["interest"] == late["interest"] and rec["totals"]["late_interest"] == late["interest"]


def test_ids_out_of_range_are_422_never_a_500(city: City) -> None:
    # Negative ids and ids past uint256 failed to encode the contract call (500).
    for bad in (-1, 2**256, 2**300):
        for method, url in [
            ("GET", f"/payments/projects/{bad}"),
            ("GET", f"/payments/claims/{bad}"),
            ("POST", f"/payments/claims/{bad}/settlement"),
        ]:
            r = city.api.request(method, url)
            assert r.status_code == 422, (url, r.text)
            assert r.json()["error"] == "invalid_input" and "_id" in r.json()["message"], r.text
        r = city.api.post(f"/payments/claims/{bad}/confirmations/typed-data", json={"confirmer": city.client.address})
        assert r.status_code == 422 and "claim_id" in r.json()["message"], r.text
    r = city.api.post(
        "/payments/projects/typed-data",
        json={
            "project_ref": "0x" + "00" * 32,
            "prime": city.client.address,
            "contract_amount": 1,
            "client": city.client.address,
            "nonce": 2**256,
        },
    )
    assert r.status_code == 422 and "nonce" in r.json()["message"], r.text


def test_project_claim_trail_and_reconciliation_answer_from_the_index(city: City) -> None:
    """The API's project, claim, trail and reconciliation read the index, never the node's logs;
    the chain-only trail (the auditor's) asks the node only for this project's events (topic filter
    on its id) and gets the same rows and CSV hash."""
    from civic_ledger.audit.trail import ChainSource, build_trail

    if city.platform.chain.tester is None:
        pytest.skip("counts the embedded chain's own eth_getLogs")
    busy = city.project()  # another project's events must not be read for this one
    busy.claim([(busy.supplier, "material", 1_000)])
    p = city.project()
    claim = p.claim([(p.supplier, "material", 2_000_000), (p.workers[1], "labour", 500_000)])["claim_id"]
    p.approve(claim)
    p.settle(claim)
    chain_logs = Counter(city.platform.chain.tester, "get_logs")
    project = ok(city.api.get(f"/payments/projects/{p.id}"))
    got_claim = ok(city.api.get(f"/payments/claims/{claim}"))
    trail = ok(city.api.get(f"/audit/projects/{p.id}/trail"))
    reconciliation = ok(city.api.get(f"/audit/projects/{p.id}/reconcile"))
    assert chain_logs.calls == []
    assert {x["account"] for x in project["participants"]} == {
        p.prime.address,
        p.sub.address,
        p.supplier.address,
        *(w.address for w in p.workers),
    }
    assert [line["evidence"] for line in got_claim["lines"]] == [
        evidence(f"material{2_000_000}0"),
        evidence(f"labour{500_000}1"),
    ]
    assert reconciliation["matches"] is True and reconciliation["claims"] == [claim]
    assert {r["event"] for r in trail["rows"]} >= {"ProjectRegistered", "ClaimSubmitted", "LinePaid", "ClaimSettled"}

    chain_only = build_trail(ChainSource.from_platform(city.platform), p.id, to_block=trail["manifest"]["to_block"])
    assert chain_only.manifest["csv_sha256"] == trail["manifest"]["csv_sha256"]
    assert len(chain_logs.calls) >= 2
    wanted = "0x" + p.id.to_bytes(32, "big").hex()
    for call in chain_logs.calls:  # the chain-only reader filters on the project id topic
        topics = call[3] if len(call) > 3 else None
        flat = [str(t).lower() for t in (topics or []) if not isinstance(t, (list, tuple))]
        assert wanted in flat, call
