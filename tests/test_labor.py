"""Part-time worker protection: co-signed contracts, confirmed weeks, wage statements,
compliance findings and the evidence bundle — through the real HTTP API on both chains, plus
the pure compliance engine."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from civic_ledger.errors import ContractError
from civic_ledger.labor import compliance as cx
from civic_ledger.labor import records, typed
from civic_ledger.labor import service as svc
from civic_ledger.labor.router import router as labor_router
from civic_ledger.labor.schemas import DailyEntry
from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import Platform
from civic_ledger.types import example_document
from tests.conftest import LiveServer, module_chain, started_platform
from tests.helpers import make_registrar, ok, register_citizen, sign_typed

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
MON = date(2026, 3, 2)  # a Monday
DOC = "Part-time labour contract: café counter, Mon–Fri 09:00–13:00, ₩10,320/h, paid Fridays."  # hashed, never on chain


# ------------------------------------------------------------------ fixtures


@dataclass
class Lab:
    platform: Platform
    api: httpx.Client
    registrar: LocalAccount

    def citizen(self) -> LocalAccount:
        account = Account.create()
        register_citizen(self.platform, self.registrar, account.address)
        return account


@pytest.fixture(scope="module", params=["embedded", "anvil"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with (
        module_chain(request) as chain,
        started_platform(chain, Path(tmp_path_factory.mktemp("labor")) / "data") as platform,
        LiveServer(platform) as server,
        server.client() as client,
    ):
        yield Lab(platform, client, make_registrar(platform))


# ------------------------------------------------------------------ helpers


def terms(employer: str, worker: str, **overrides: Any) -> dict[str, Any]:
    base = {
        "employer": employer,
        "worker": worker,
        "document_hash": "0x" + keccak(text=DOC + worker).hex(),
        "workplace_id": "0x" + keccak(text="workplace:cafe-123-45-67890").hex(),
        "hourly_wage": 10_320,
        "daily_minutes": 240,
        "weekly_minutes": 1200,
        "work_days": WEEKDAYS,
        "start_date": "2026-03-02",
        "end_date": "2026-12-31",
        "pay_cycle": "weekly",
        "pay_day": 5,
        "break_minutes": 30,
        "five_or_more_employees": True,
    }
    base.update(overrides)
    return base


def signed_contract(
    api: httpx.Client, t: dict[str, Any], employer: LocalAccount, worker: LocalAccount
) -> dict[str, Any]:
    td = ok(api.post("/labor/contracts/typed-data", json=t))
    return {
        "terms": t,
        "deadline": td["deadline"],
        "employer_signature": sign_typed(employer, td["typed_data"]),
        "worker_signature": sign_typed(worker, td["typed_data"]),
        "_contract_id": td["contract_id"],
    }


def register(api: httpx.Client, t: dict[str, Any], employer: LocalAccount, worker: LocalAccount) -> dict[str, Any]:
    body = signed_contract(api, t, employer, worker)
    expected = body.pop("_contract_id")
    out = ok(api.post("/labor/contracts", json=body), 201)
    assert out["contract_id"] == expected
    return out


def entries(
    week_start: date, days: list[int], start: str = "09:00", end: str = "13:30", break_minutes: int = 30
) -> list[dict[str, Any]]:
    """4 h of work a day (09:00–13:30 with the 30 min break LSA Art. 54 requires)."""
    return [
        {
            "date": (week_start + timedelta(days=d)).isoformat(),
            "start": start,
            "end": end,
            "break_minutes": break_minutes,
        }
        for d in days
    ]


def record_week(
    api: httpx.Client, cid: str, employer: LocalAccount, week_start: date, days: list[int], revision: int = 0
) -> Any:
    body = {"week_start": week_start.isoformat(), "entries": entries(week_start, days), "revision": revision}
    td = ok(api.post(f"/labor/contracts/{cid}/weeks/typed-data", json=body))
    return ok(
        api.post(
            f"/labor/contracts/{cid}/weeks",
            json={**body, "deadline": td["deadline"], "signature": sign_typed(employer, td["typed_data"])},
        ),
        201,
    )


def confirm_week(api: httpx.Client, cid: str, worker: LocalAccount, week_start: date) -> httpx.Response:
    td = ok(api.post(f"/labor/contracts/{cid}/weeks/{week_start}/confirm/typed-data", json={}))
    return api.post(
        f"/labor/contracts/{cid}/weeks/{week_start}/confirm",
        json={"deadline": td["deadline"], "signature": sign_typed(worker, td["typed_data"])},
    )


def record_statement(
    api: httpx.Client,
    cid: str,
    employer: LocalAccount,
    week_start: date,
    *,
    base: int,
    holiday: int,
    paid: date | None = None,
) -> Any:
    body = {
        "period_start": week_start.isoformat(),
        "period_end": (week_start + timedelta(days=6)).isoformat(),
        "payment_date": (paid or week_start + timedelta(days=11)).isoformat(),  # the Friday after the week
        "statement_hash": "0x" + keccak(text=f"statement {cid} {week_start}").hex(),
        "base_pay": base,
        "holiday_pay": holiday,
        "deductions": 0,
    }
    td = ok(api.post(f"/labor/contracts/{cid}/statements/typed-data", json=body))
    return ok(
        api.post(
            f"/labor/contracts/{cid}/statements",
            json={**body, "deadline": td["deadline"], "signature": sign_typed(employer, td["typed_data"])},
        ),
        201,
    )


def assert_contract_error(response: httpx.Response, status: int, name: str, **args: Any) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == name, body
    for key, value in args.items():
        assert body["details"]["args"][key] == value, body
    return body


# ------------------------------------------------------------------ contract and typed data


def test_python_typed_data_hashes_to_the_contract_typehashes(lab: Lab) -> None:
    contract = svc.labor(lab.platform)
    for constant, (primary, types) in typed.TYPEHASH_CONSTANTS.items():
        assert getattr(contract.functions, constant)().call() == eip712.typehash(primary, types), constant


def test_minimum_wage_table_is_preloaded_and_only_a_labor_office_can_change_it(lab: Lab) -> None:
    table = ok(lab.api.get("/labor/minimum-wages"))
    assert {w["year"]: w["hourly_wage"] for w in table} == {
        2019: 8350,
        2020: 8590,
        2021: 8720,
        2022: 9160,
        2023: 9620,
        2024: 9860,
        2025: 10030,
        2026: 10320,
    }
    assert all(w["set_by"] is None and w["ref"]["tx_hash"].startswith("0x") for w in table)

    stranger = Account.create()
    td = ok(
        lab.api.post(
            "/labor/minimum-wages/typed-data", json={"year": 2027, "hourly_wage": 10_700, "office": stranger.address}
        )
    )
    body = {
        "year": 2027,
        "hourly_wage": 10_700,
        "office": stranger.address,
        "nonce": td["nonce"],
        "deadline": td["deadline"],
        "signature": sign_typed(stranger, td["typed_data"]),
    }
    assert_contract_error(
        lab.api.post("/labor/minimum-wages", json=body), 403, "LaborRecordsUnauthorizedOffice", signer=stranger.address
    )

    office = Account.create()
    contract = svc.labor(lab.platform)
    lab.platform.relayer.transact(
        contract.functions.grantRole(contract.functions.LABOR_OFFICE_ROLE().call(), office.address)
    )
    td = ok(
        lab.api.post(
            "/labor/minimum-wages/typed-data", json={"year": 2027, "hourly_wage": 10_700, "office": office.address}
        )
    )
    assert set(td) == set(example_document("labor-minimum-wage-typed-data"))  # the OpenAPI example's shape
    body = {
        "year": 2027,
        "hourly_wage": 10_700,
        "office": office.address,
        "nonce": td["nonce"],
        "deadline": td["deadline"],
        "signature": sign_typed(office, td["typed_data"]),
    }
    out = ok(lab.api.post("/labor/minimum-wages", json=body), 201)
    assert out["set_by"] == office.address and out["ref"]["event"] == "MinimumWageSet"
    assert contract.functions.minimumWageOf(2027).call() == 10_700
    assert contract.functions.minimumWageOf(2030).call() == 10_700  # later years use the latest value
    # replaying the same signed message fails on the nonce
    assert lab.api.post("/labor/minimum-wages", json=body).status_code == 409


def test_register_rejects_a_wage_below_the_minimum_of_its_start_year(lab: Lab) -> None:
    employer, worker = Account.create(), lab.citizen()
    body = signed_contract(lab.api, terms(employer.address, worker.address, hourly_wage=10_319), employer, worker)
    body.pop("_contract_id")
    r = lab.api.post("/labor/contracts", json=body)
    err = assert_contract_error(
        r, 422, "LaborRecordsBelowMinimumWage", hourlyWage=10_319, minimumWage=10_320, year=2026
    )
    assert "LaborRecordsBelowMinimumWage" in err["message"]
    # the same wage is legal for a contract that starts in 2025 (minimum 10,030): simulate only
    t = terms(employer.address, worker.address, hourly_wage=10_030, start_date="2025-06-02")
    body = signed_contract(lab.api, t, employer, worker)
    body.pop("_contract_id")
    fn = svc.labor(lab.platform).functions.registerContract(
        svc.terms_tuple(svc.TermsCreate(**t)),
        body["deadline"],
        bytes.fromhex(body["employer_signature"][2:]),
        bytes.fromhex(body["worker_signature"][2:]),
    )
    lab.platform.relayer.call(fn)  # does not raise


@pytest.mark.parametrize(
    ("override", "term"),
    [
        ({"work_days": []}, "workDays"),
        ({"daily_minutes": 0}, "dailyMinutes"),
        ({"pay_day": 0}, "payDay"),
        ({"workplace_id": "0x" + "00" * 32}, "workplaceId"),
    ],
)
def test_register_rejects_a_contract_missing_a_required_term(lab: Lab, override: dict[str, Any], term: str) -> None:
    employer, worker = Account.create(), Account.create()  # the term check comes before the citizen check
    body = signed_contract(lab.api, terms(employer.address, worker.address, **override), employer, worker)
    body.pop("_contract_id")
    err = assert_contract_error(lab.api.post("/labor/contracts", json=body), 422, "LaborRecordsMissingTerm", term=term)
    assert term in err["message"]


def test_register_rejects_a_one_sided_signature(lab: Lab) -> None:
    employer, worker, impostor = Account.create(), lab.citizen(), Account.create()
    body = signed_contract(lab.api, terms(employer.address, worker.address), employer, worker)
    body.pop("_contract_id")
    one_sided = {**body, "worker_signature": body["employer_signature"]}
    r = lab.api.post("/labor/contracts", json=one_sided)
    assert r.status_code == 403 and r.json()["error"] == "invalid_signature"
    assert worker.address in r.json()["message"] and "worker_signature" in r.json()["message"]
    r = lab.api.post(
        "/labor/contracts",
        json={
            **body,
            "worker_signature": sign_typed(
                impostor,
                ok(lab.api.post("/labor/contracts/typed-data", json=body["terms"] | {"deadline": body["deadline"]}))[
                    "typed_data"
                ],
            ),
        },
    )
    assert r.status_code == 403
    # the contract checks both signatures itself (relayed directly, bypassing the API's check)
    fn = svc.labor(lab.platform).functions.registerContract(
        svc.terms_tuple(svc.TermsCreate(**body["terms"])),
        body["deadline"],
        bytes.fromhex(body["employer_signature"][2:]),
        bytes.fromhex(body["employer_signature"][2:]),
    )
    with pytest.raises(ContractError) as exc:
        lab.platform.relayer.transact(fn)
    assert exc.value.error_name == "LaborRecordsInvalidSignature"
    assert exc.value.error_args["expectedSigner"] == worker.address and exc.value.status == 403
    # nothing was registered
    cid = svc.contract_id_of(employer.address, worker.address, body["terms"]["document_hash"])
    assert lab.api.get(f"/labor/contracts/{cid}").status_code == 404


def test_register_rejects_a_worker_who_is_not_an_active_citizen(lab: Lab) -> None:
    employer, stranger = Account.create(), Account.create()
    body = signed_contract(lab.api, terms(employer.address, stranger.address), employer, stranger)
    body.pop("_contract_id")
    assert_contract_error(
        lab.api.post("/labor/contracts", json=body), 422, "LaborRecordsWorkerNotCitizen", worker=stranger.address
    )


# ------------------------------------------------------------------ weeks, disputes, late pay, tampering


def test_worker_dispute_then_corrected_revision_and_late_payment(lab: Lab) -> None:
    employer, worker = Account.create(), lab.citizen()
    cid = register(lab.api, terms(employer.address, worker.address), employer, worker)["contract_id"]
    record_week(lab.api, cid, employer, MON, [0, 1, 2, 3])  # the employer leaves out Friday

    # the employer can not confirm for the worker
    td = ok(lab.api.post(f"/labor/contracts/{cid}/weeks/{MON}/confirm/typed-data", json={}))
    r = lab.api.post(
        f"/labor/contracts/{cid}/weeks/{MON}/confirm",
        json={"deadline": td["deadline"], "signature": sign_typed(employer, td["typed_data"])},
    )
    assert r.status_code == 403 and worker.address in r.json()["message"]

    dispute = {"claimed_minutes": 1200, "claimed_days": WEEKDAYS, "reason": "I also worked Friday 09:00-13:00"}
    td = ok(lab.api.post(f"/labor/contracts/{cid}/weeks/{MON}/dispute/typed-data", json=dispute))
    week = ok(
        lab.api.post(
            f"/labor/contracts/{cid}/weeks/{MON}/dispute",
            json={**dispute, "deadline": td["deadline"], "signature": sign_typed(worker, td["typed_data"])},
        )
    )
    assert week["status"] == "disputed" and week["revision"] == 0
    last = week["history"][-1]
    assert last["action"] == "disputed" and last["claimed_minutes"] == 1200 and last["claimed_days"] == WEEKDAYS
    assert last["reason_hash"] == "0x" + keccak(text=dispute["reason"]).hex()
    receipt = lab.platform.chain.w3.eth.get_transaction_receipt(last["ref"]["tx_hash"])
    (event,) = svc.labor(lab.platform).events.WeekDisputed().process_receipt(receipt)
    assert event["args"]["worker"] == worker.address and event["args"]["claimedMinutes"] == 1200

    # a disputed week can not be confirmed any more
    r = confirm_week(lab.api, cid, worker, MON)
    assert_contract_error(r, 409, "LaborRecordsWeekAlreadySettled")

    findings = ok(lab.api.get(f"/labor/contracts/{cid}/compliance", params={"as_of": "2026-03-10"}))["findings"]
    (disputed,) = [f for f in findings if f["kind"] == "disputed_week"]
    assert disputed["amount_owed"] == 41_280  # 240 claimed minutes × ₩10,320 / 60

    # revision 0 again is refused; revision 1 corrects the week, and the worker confirms it
    body = {"week_start": MON.isoformat(), "entries": entries(MON, [0, 1, 2, 3, 4]), "revision": 0}
    td = ok(lab.api.post(f"/labor/contracts/{cid}/weeks/typed-data", json=body))
    r = lab.api.post(
        f"/labor/contracts/{cid}/weeks",
        json={**body, "deadline": td["deadline"], "signature": sign_typed(employer, td["typed_data"])},
    )
    assert_contract_error(r, 409, "LaborRecordsWrongRevision", expected=1, given=0)  # a stale revision: 409
    week = record_week(lab.api, cid, employer, MON, [0, 1, 2, 3, 4], revision=1)
    assert week["revision"] == 1 and week["status"] == "recorded" and week["minutes_worked"] == 1200
    week = ok(confirm_week(lab.api, cid, worker, MON))
    assert week["status"] == "confirmed" and [h["action"] for h in week["history"]] == [
        "recorded",
        "disputed",
        "recorded",
        "confirmed",
    ]
    assert_contract_error(confirm_week(lab.api, cid, worker, MON), 409, "LaborRecordsWeekAlreadySettled")

    # paid in full but a week late: the Friday pay day was 2026-03-13, paid 2026-03-20
    record_statement(lab.api, cid, employer, MON, base=206_400, holiday=41_280, paid=date(2026, 3, 20))
    report = ok(lab.api.get(f"/labor/contracts/{cid}/compliance", params={"as_of": "2026-03-31"}))
    assert [f["kind"] for f in report["findings"]] == ["late_payment"]
    late = report["findings"][0]
    assert late["details"]["due_date"] == "2026-03-13" and late["details"]["days_late"] == 7
    assert late["details"]["gross_paid_late"] == 247_680 and late["amount_owed"] == 0


def test_a_statement_must_cover_one_pay_period(lab: Lab) -> None:
    employer, worker = Account.create(), lab.citizen()
    cid = register(lab.api, terms(employer.address, worker.address), employer, worker)["contract_id"]
    body = {
        "period_start": "2026-03-01",
        "period_end": "2026-03-31",
        "payment_date": "2026-04-03",
        "statement_hash": "0x" + "ab" * 32,
        "base_pay": 1,
    }
    r = lab.api.post(f"/labor/contracts/{cid}/statements/typed-data", json=body)
    assert r.status_code == 422 and r.json()["error"] == "invalid_pay_period"
    assert "2026-02-23 to 2026-03-01" in r.json()["message"]
    # the contract itself refuses inconsistent amounts
    body = {**body, "period_start": "2026-03-02", "period_end": "2026-03-08", "deductions": 5}
    td = ok(lab.api.post(f"/labor/contracts/{cid}/statements/typed-data", json=body))
    r = lab.api.post(
        f"/labor/contracts/{cid}/statements",
        json={**body, "deadline": td["deadline"], "signature": sign_typed(employer, td["typed_data"])},
    )
    assert_contract_error(r, 422, "LaborRecordsDeductionsExceedGross", deductions=5, grossPay=1)


def test_recording_a_week_checks_dates_and_contract(lab: Lab) -> None:
    employer, worker = Account.create(), lab.citizen()
    cid = register(
        lab.api,
        terms(employer.address, worker.address, start_date="2026-04-06", end_date="2026-04-30"),
        employer,
        worker,
    )["contract_id"]
    # not a Monday: caught before signing
    r = lab.api.post(f"/labor/contracts/{cid}/weeks/typed-data", json={"week_start": "2026-04-07", "entries": []})
    assert r.status_code == 422 and "Monday" in r.json()["message"]
    # a week after the contract ended: the contract refuses it
    week = date(2026, 5, 4)
    body = {"week_start": week.isoformat(), "entries": entries(week, [0])}
    td = ok(lab.api.post(f"/labor/contracts/{cid}/weeks/typed-data", json=body))
    r = lab.api.post(
        f"/labor/contracts/{cid}/weeks",
        json={**body, "deadline": td["deadline"], "signature": sign_typed(employer, td["typed_data"])},
    )
    assert_contract_error(r, 422, "LaborRecordsOutsideContract", date=20260504)
    assert lab.api.get(f"/labor/contracts/0x{'ab' * 32}/weeks").status_code == 404
    assert lab.api.get("/labor/contracts/0x1234/weeks").status_code == 422


def test_a_tampered_document_hash_is_detected(lab: Lab) -> None:
    employer, worker = Account.create(), lab.citizen()
    t = terms(employer.address, worker.address)
    cid = register(lab.api, t, employer, worker)["contract_id"]
    good = ok(lab.api.post(f"/labor/contracts/{cid}/document-check", json={"document_text": DOC + worker.address}))
    assert good["matches"] is True
    altered = DOC.replace("₩10,320/h", "₩9,000/h") + worker.address
    bad = ok(lab.api.post(f"/labor/contracts/{cid}/document-check", json={"document_text": altered}))
    assert bad["matches"] is False and bad["registered_hash"] == t["document_hash"] and "altered" in bad["message"]

    # a bundle whose document hash was edited no longer verifies, in the record or in the view
    bundle = ok(lab.api.get(f"/labor/contracts/{cid}/evidence", params={"as_of": "2026-03-31"}))
    assert ok(lab.api.post("/labor/evidence/verify", json=bundle))["ok"] is True
    forged_hash = "0x" + keccak(text=altered).hex()
    in_view = copy.deepcopy(bundle)
    in_view["contract"]["terms"]["document_hash"] = forged_hash
    result = ok(lab.api.post("/labor/evidence/verify", json=in_view))
    assert result["ok"] is False and any("section contract" in p for p in result["problems"])
    in_record = copy.deepcopy(in_view)
    (reg,) = [r for r in in_record["records"] if r["event"] == "LaborContractRegistered"]
    reg["args"]["terms"]["documentHash"] = forged_hash
    result = ok(lab.api.post("/labor/evidence/verify", json=in_record))
    assert result["ok"] is False
    assert any("LaborContractRegistered" in p and "arguments on chain differ" in p for p in result["problems"])


# ------------------------------------------------------------------ acceptance flow


def test_acceptance_four_weeks_underpaid_week_and_missing_holiday_pay(lab: Lab) -> None:
    """Sign a contract, log four weeks, one underpaid and one without holiday pay: the findings
    name both with exact amounts, and the evidence bundle's chain references verify."""
    employer, worker = Account.create(), lab.citizen()
    contract = register(lab.api, terms(employer.address, worker.address, hourly_wage=11_000), employer, worker)
    cid = contract["contract_id"]
    assert contract["registered"]["event"] == "LaborContractRegistered"
    receipt = lab.platform.chain.w3.eth.get_transaction_receipt(contract["registered"]["tx_hash"])
    (event,) = svc.labor(lab.platform).events.LaborContractRegistered().process_receipt(receipt)
    assert event["args"]["employer"] == employer.address and event["args"]["worker"] == worker.address
    assert receipt["gasUsed"] <= 150_000

    listed = ok(lab.api.get("/labor/contracts", params={"party": worker.address}))
    assert [c["contract_id"] for c in listed] == [cid]

    weeks = [MON + timedelta(weeks=i) for i in range(4)]
    # ₩11,000/h, 4 h a day Mon–Fri (20 h a week): a full week is ₩220,000 + ₩44,000 weekly holiday pay
    plan = [  # days worked (0 = Mon), base paid, holiday pay paid
        ([0, 1, 2, 3, 4], 220_000, 44_000),  # week 1: correct
        ([0, 1, 2, 3, 4], 210_000, 44_000),  # week 2: underpaid by ₩10,000
        ([0, 1, 2, 3, 4], 220_000, 0),  # week 3: holiday pay owed but not paid (₩44,000)
        ([0, 1, 3, 4], 176_000, 0),  # week 4: missed Wednesday, so no holiday pay is owed
    ]
    for week, (days, _, _) in zip(weeks, plan, strict=True):
        recorded = record_week(lab.api, cid, employer, week, days)
        assert recorded["minutes_worked"] == 240 * len(days) and len(recorded["proofs"]) == len(days)
        confirmed = confirm_week(lab.api, cid, worker, week)
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    gas = lab.platform.chain.w3.eth.get_transaction_receipt(confirmed.json()["history"][-1]["ref"]["tx_hash"])[
        "gasUsed"
    ]
    assert gas <= 60_000
    for week, (_, base, holiday) in zip(weeks, plan, strict=True):
        out = record_statement(lab.api, cid, employer, week, base=base, holiday=holiday)
        assert out["gross_pay"] == base + holiday and out["ref"]["event"] == "WageStatementRecorded"

    report = ok(lab.api.get(f"/labor/contracts/{cid}/compliance", params={"as_of": "2026-04-30"}))
    findings = {(f["kind"], f["period_start"]): f for f in report["findings"]}
    assert set(findings) == {("underpaid_wages", "2026-03-09"), ("weekly_holiday_pay_unpaid", "2026-03-16")}
    assert findings[("underpaid_wages", "2026-03-09")]["amount_owed"] == 10_000
    assert findings[("weekly_holiday_pay_unpaid", "2026-03-16")]["amount_owed"] == 44_000
    assert findings[("weekly_holiday_pay_unpaid", "2026-03-16")]["weeks"] == ["2026-03-16"]
    assert report["total_amount_owed"] == 54_000
    week4 = report["periods"][3]
    assert week4["holiday_owed"] == 0 and week4["base_owed"] == 176_000 and week4["amount_short"] == 0

    bundle = ok(lab.api.get(f"/labor/contracts/{cid}/evidence", params={"as_of": "2026-04-30"}))
    # the OpenAPI example is a real bundle cut short: it keeps a real bundle's keys
    example = example_document("labor-evidence-bundle")
    assert set(bundle) == set(example) and set(bundle["compliance"]) == set(example["compliance"])
    assert bundle["compliance"] == report
    events = [r["event"] for r in bundle["records"]]
    assert events.count("WeekRecorded") == 4 and events.count("WeekConfirmed") == 4
    assert events.count("WageStatementRecorded") == 4 and events.count("LaborContractRegistered") == 1
    for record in bundle["records"]:
        assert record["transactionHash"].startswith("0x") and record["blockNumber"] >= 1
        assert record["address"] == svc.labor(lab.platform).address
    result = ok(lab.api.post("/labor/evidence/verify", json=bundle))
    assert result["ok"] is True, result["problems"]
    assert result["records_checked"] == len(bundle["records"]) and all(c["ok"] for c in result["checks"])

    page = lab.api.get(f"/labor/contracts/{cid}/evidence.html", params={"as_of": "2026-04-30"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "₩10,000" in page.text and "₩44,000" in page.text and "₩54,000" in page.text

    # an edited amount in the bundle is caught
    forged = copy.deepcopy(bundle)
    forged["compliance"]["findings"][0]["amount_owed"] = 99_999
    assert ok(lab.api.post("/labor/evidence/verify", json=forged))["ok"] is False
    # leaving out the underpaid week's statement, with every section derived again to match, is caught
    from civic_ledger.labor import evidence

    partial = copy.deepcopy(bundle)
    partial["records"] = [
        r
        for r in partial["records"]
        if not (r["event"] == "WageStatementRecorded" and r["args"]["periodStart"] == 20260309)
    ]
    partial.update(evidence.derive_views(cid, partial["records"], date(2026, 4, 30)))
    result = ok(lab.api.post("/labor/evidence/verify", json=partial))
    assert result["ok"] is False
    assert any(p.startswith("completeness: WageStatementRecorded") for p in result["problems"]), result["problems"]
    # a reference to a transaction that does not exist is caught
    forged = copy.deepcopy(bundle)
    forged["records"][-1]["transactionHash"] = "0x" + "12" * 32
    result = ok(lab.api.post("/labor/evidence/verify", json=forged))
    assert result["ok"] is False and any("not found" in p for p in result["problems"])


# ------------------------------------------------------------------ compliance engine (pure)

TABLE = {2019: 8350, 2020: 8590, 2021: 8720, 2022: 9160, 2023: 9620, 2024: 9860, 2025: 10030, 2026: 10320}


def engine_terms(**overrides: Any) -> cx.Terms:
    base = dict(
        hourly_wage=10_320,
        daily_minutes=240,
        weekly_minutes=1200,
        work_days=0b11111,
        start_date=date(2026, 3, 2),
        end_date=date(2026, 12, 31),
        pay_cycle=cx.WEEKLY,
        pay_day=5,
        break_minutes=30,
        five_or_more=True,
    )
    base.update(overrides)
    return cx.Terms(**base)  # type: ignore[arg-type]


def week(start: date = MON, minutes: int = 1200, days: int = 0b11111, status: str = "confirmed") -> cx.WeekLog:
    return cx.WeekLog(week_start=start, minutes_worked=minutes, days_worked=days, status=status)


def statement(start: date = MON, base: int = 0, holiday: int = 0, paid: date | None = None) -> cx.Statement:
    return cx.Statement(
        period_start=start,
        period_end=start + timedelta(days=6),
        payment_date=paid or start + timedelta(days=11),
        gross_pay=base + holiday,
        base_pay=base,
        holiday_pay=holiday,
        overtime_pay=0,
        other_pay=0,
        deductions=0,
    )


def kinds(report: cx.Report) -> dict[str, int]:
    return {f.kind: f.amount_owed for f in report.findings}


def test_weekly_holiday_pay_is_owed_at_15_hours_not_at_14_and_a_half() -> None:
    # 14.5 h a week (3 days × 290 min = 870 min): not owed
    t = engine_terms(daily_minutes=290, weekly_minutes=870, work_days=0b10101)
    r = cx.check(t, [week(minutes=870, days=0b10101)], [statement(base=149_640)], TABLE, date(2026, 4, 1))
    assert r.periods[0].holiday_owed == 0 and kinds(r) == {}
    assert "under 15 h" in cx.holiday_pay_owed(week(minutes=870, days=0b10101), t, 10_320)[1]
    # 15 h a week (3 days × 300 min): owed 15 ÷ 40 × 8 = 3 h × ₩10,320 = ₩30,960 (not the 5 h of a day)
    t = engine_terms(daily_minutes=300, weekly_minutes=900, work_days=0b10101)
    r = cx.check(t, [week(minutes=900, days=0b10101)], [statement(base=154_800)], TABLE, date(2026, 4, 1))
    assert r.periods[0].holiday_owed == 30_960
    assert kinds(r) == {cx.WEEKLY_HOLIDAY_PAY: 30_960}
    r = cx.check(
        t, [week(minutes=900, days=0b10101)], [statement(base=154_800, holiday=30_960)], TABLE, date(2026, 4, 1)
    )
    assert kinds(r) == {}


def test_weekly_holiday_pay_is_not_owed_after_a_missed_contracted_day() -> None:
    t = engine_terms()
    missed_wednesday = week(minutes=960, days=0b11011)
    owed, why = cx.holiday_pay_owed(missed_wednesday, t, 10_320)
    assert owed == 0 and "Wed" in why
    r = cx.check(t, [missed_wednesday], [statement(base=165_120)], TABLE, date(2026, 4, 1))
    assert kinds(r) == {} and r.periods[0].holiday_owed == 0
    # working an extra, non-contracted Saturday does not make up for it
    assert cx.holiday_pay_owed(week(minutes=1200, days=0b111011), t, 10_320)[0] == 0
    # a contract starting on Wednesday only requires Wed–Fri in its first week
    late_start = engine_terms(start_date=date(2026, 3, 4))
    assert cx.holiday_pay_owed(week(minutes=720, days=0b11100), late_start, 10_320)[0] == 41_280


def test_underpayment_amount_is_exact_and_rounded_half_up_once_per_period() -> None:
    # ₩11,111/h × 1,201 min = ₩222,405.18… → ₩222,405 owed; paid ₩210,000 (above the minimum
    # wage floor of ₩206,572) → ₩12,405 short
    t = engine_terms(hourly_wage=11_111)
    r = cx.check(t, [week(minutes=1201, days=0b11110)], [statement(base=210_000)], TABLE, date(2026, 4, 1))
    assert kinds(r) == {cx.UNDERPAID_WAGES: 12_405}
    assert r.periods[0].base_owed == 222_405
    (finding,) = r.findings
    assert finding.details["paid_for_hours"] == 210_000 and finding.details["hourly_rate"] == 11_111
    # half a won rounds up: 1 min at ₩10,350/h = ₩172.5 → ₩173
    t = engine_terms(hourly_wage=10_350)
    r = cx.check(t, [week(minutes=1, days=0b1)], [statement(base=0)], TABLE, date(2026, 4, 1))
    assert r.periods[0].base_owed == 173
    # nothing paid: ₩172 (1 min at the ₩10,320 minimum, ₩172.0) is below the minimum wage, ₩1 more is contractual
    assert kinds(r) == {cx.BELOW_MINIMUM_WAGE: 172, cx.UNDERPAID_WAGES: 1}


def test_pay_below_the_minimum_wage_is_split_from_contractual_underpayment() -> None:
    # A 2025 contract at ₩10,030 continuing into 2026 (minimum ₩10,320): the 2026 rate is owed.
    t = engine_terms(hourly_wage=10_030, start_date=date(2025, 12, 1))
    r = cx.check(
        t,
        [week(date(2026, 1, 5))],
        [statement(date(2026, 1, 5), base=200_600, holiday=41_280)],
        TABLE,
        date(2026, 2, 1),
    )
    found = kinds(r)
    assert found[cx.BELOW_MINIMUM_WAGE] == 206_400 - 200_600  # ₩5,800
    assert found[cx.CONTRACT_WAGE_BELOW_MINIMUM] == 0
    assert cx.UNDERPAID_WAGES not in found


def test_late_payment_and_missing_statement() -> None:
    t = engine_terms()
    # pay day is Friday: the week of 2026-03-02 is due on 2026-03-13
    assert cx.due_date(date(2026, 3, 8), t) == date(2026, 3, 13)
    r = cx.check(
        t, [week()], [statement(base=206_400, holiday=41_280, paid=date(2026, 3, 14))], TABLE, date(2026, 4, 1)
    )
    (late,) = r.findings
    assert late.kind == cx.LATE_PAYMENT and late.details["days_late"] == 1 and late.amount_owed == 0
    r = cx.check(
        t, [week()], [statement(base=206_400, holiday=41_280, paid=date(2026, 3, 13))], TABLE, date(2026, 4, 1)
    )
    assert r.findings == []
    # no statement: nothing before the due date, the whole amount after it
    assert cx.check(t, [week()], [], TABLE, date(2026, 3, 13)).findings == []
    (missing,) = cx.check(t, [week()], [], TABLE, date(2026, 3, 14)).findings
    assert missing.kind == cx.MISSING_STATEMENT and missing.amount_owed == 247_680
    # monthly pay on the 10th: March is due on April 10; February on March 10
    monthly = engine_terms(pay_cycle=cx.MONTHLY, pay_day=10)
    assert cx.due_date(date(2026, 3, 31), monthly) == date(2026, 4, 10)
    assert cx.due_date(date(2026, 1, 31), engine_terms(pay_cycle=cx.MONTHLY, pay_day=31)) == date(2026, 2, 28)


def test_compliance_of_a_worker_year_is_fast_and_deterministic() -> None:
    t = engine_terms(start_date=date(2026, 1, 5))
    weeks = [week(date(2026, 1, 5) + timedelta(weeks=i)) for i in range(52)]
    statements = [statement(w.week_start, base=206_400, holiday=41_280 if i % 5 else 0) for i, w in enumerate(weeks)]
    started = time.perf_counter()
    first = cx.check(t, weeks, statements, TABLE, date(2027, 2, 1))
    elapsed = time.perf_counter() - started
    assert first == cx.check(t, weeks, statements, TABLE, date(2027, 2, 1))
    assert first.total_amount_owed == 11 * 41_280  # weeks 0, 5, …, 50 lack holiday pay
    assert elapsed < 1.0


# ------------------------------------------------------------------ CLI (HTTP client + local signer)


def test_cli_walkthrough_contract_week_statement_check_evidence_verify(lab: Lab, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from civic_ledger.labor.cli import app

    runner = CliRunner()
    env = {"CIVIC_API_URL": str(lab.api.base_url).rstrip("/"), "CIVIC_KEYSTORE_PASSWORD": "pw"}

    def cli(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, result.output
        return result.output

    employer, worker = Account.create(), lab.citizen()
    for name, account in (("employer", employer), ("worker", worker)):  # cheap KDF: the test is not about it
        (tmp_path / f"{name}.json").write_text(
            json.dumps(Account.encrypt(account.key, "pw", kdf="pbkdf2", iterations=2))
        )
    assert cli("keygen", str(tmp_path / "new.json")).strip().startswith("0x")
    (tmp_path / "contract.txt").write_text("Part-time labour contract — café, Mon–Fri 09:00–13:00, ₩10,320/h\n")
    t = terms(employer.address, worker.address)
    del t["document_hash"]
    (tmp_path / "terms.json").write_text(json.dumps(t))
    offer = str(tmp_path / "offer.json")

    cli("contract", "prepare", str(tmp_path / "terms.json"), "--document", str(tmp_path / "contract.txt"), "-o", offer)
    assert "needs: worker" in cli("contract", "sign", offer, "-k", str(tmp_path / "employer.json"))
    assert "not signed by: worker" in cli("contract", "submit", offer, code=1)
    assert "ready to submit" in cli("contract", "sign", offer, "-k", str(tmp_path / "worker.json"))
    cid = json.loads(Path(offer).read_text())["contract_id"]
    assert cid in cli("contract", "submit", offer)

    days = [f"{d} 09:00-13:30 30" for d in WEEKDAYS]  # 4 h of work and the 30 min break (Art. 54)
    cli(
        "week",
        "record",
        cid,
        "--week",
        "2026-03-02",
        "-k",
        str(tmp_path / "employer.json"),
        *[x for d in days for x in ("--day", d)],
    )
    assert "confirmed" in cli("week", "confirm", cid, "2026-03-02", "-k", str(tmp_path / "worker.json"))
    cli(
        "statement",
        "record",
        cid,
        "-k",
        str(tmp_path / "employer.json"),
        "--period-start",
        "2026-03-02",
        "--period-end",
        "2026-03-08",
        "--paid-on",
        "2026-03-13",
        "--base",
        "206400",
    )
    out = cli("check", cid, "--as-of", "2026-04-01")
    assert "weekly_holiday_pay_unpaid" in out and "₩41,280" in out

    cli("evidence", cid, "--as-of", "2026-04-01", "-o", str(tmp_path / "evidence"))
    assert (tmp_path / "evidence" / "report.html").read_text().count("₩41,280") >= 1
    assert "verified" in cli("verify", str(tmp_path / "evidence" / "bundle.json"))
    manifest = str(lab.platform.deployment.manifest_path)
    if not lab.platform.chain.is_embedded:  # straight against the node, without the API
        out = cli(
            "verify",
            str(tmp_path / "evidence" / "bundle.json"),
            "--rpc-url",
            lab.platform.chain.kind,
            "--manifest",
            manifest,
        )
        assert "verified" in out and "sha256" in out
        # the old spelling still works
        assert "verified" in cli(
            "verify",
            str(tmp_path / "evidence" / "bundle.json"),
            "--rpc",
            lab.platform.chain.kind,
            "--manifest",
            manifest,
        )
    bundle = json.loads((tmp_path / "evidence" / "bundle.json").read_text())
    bundle["statements"][0]["holiday_pay"] = 41_280
    (tmp_path / "forged.json").write_text(json.dumps(bundle))
    assert "NOT verified" in cli("verify", str(tmp_path / "forged.json"), code=1)

    (tmp_path / "forged.txt").write_text("Part-time labour contract — café, Mon–Fri 09:00–13:00, ₩9,000/h\n")
    good = cli("contract", "check-document", cid, str(tmp_path / "contract.txt"))
    assert good.startswith("match") and "MISMATCH" not in good
    assert "MISMATCH" in cli("contract", "check-document", cid, str(tmp_path / "forged.txt"), code=1)


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    wage=st.integers(10_320, 30_000),
    daily=st.integers(1, 600),
    work_days=st.integers(1, 127),
    weekly_extra=st.integers(0, 900),
    worked=st.integers(0, 127),
    minutes=st.integers(0, 4000),
    short=st.integers(0, 50_000),
)
def test_paying_what_is_owed_leaves_nothing_owed_and_any_shortfall_is_found_exactly(
    wage: int, daily: int, work_days: int, weekly_extra: int, worked: int, minutes: int, short: int
) -> None:
    t = engine_terms(
        hourly_wage=wage, daily_minutes=daily, weekly_minutes=min(10080, daily + weekly_extra), work_days=work_days
    )
    logged = [week(minutes=minutes, days=worked)]
    owed = cx.check(t, logged, [], TABLE, date(2026, 3, 1)).periods[0]
    paid_in_full = statement(base=owed.hours_owed, holiday=owed.holiday_owed)
    assert cx.check(t, logged, [paid_in_full], TABLE, date(2026, 4, 1)).total_amount_owed == 0
    cut = min(short, owed.hours_owed)
    underpaid = statement(base=owed.hours_owed - cut, holiday=owed.holiday_owed)
    assert cx.check(t, logged, [underpaid], TABLE, date(2026, 4, 1)).total_amount_owed == cut


def test_openapi_documents_the_labor_routes() -> None:
    from fastapi import FastAPI

    app = FastAPI()
    app.include_router(labor_router)
    spec = app.openapi()
    paths = spec["paths"]
    assert "/labor/contracts" in paths and "/labor/contracts/{contract_id}/evidence" in paths
    assert "/labor/evidence/verify" in paths and "/labor/contracts/{contract_id}/weeks/{week_start}/dispute" in paths
    assert spec["components"]["schemas"]["TermsCreate"]["properties"]["weekly_minutes"]["description"]


# ------------------------------------------------------------------ bad input is a clear 4xx


def test_out_of_range_input_is_422_naming_the_field_never_500(lab: Lab) -> None:
    if lab.platform.settings.chain != "embedded":
        pytest.skip("input validation: embedded only")
    api = lab.api
    employer, worker = Account.create(), lab.citizen()
    cid = register(
        api,
        terms(employer.address, worker.address, document_hash="0x" + keccak(text="bad input").hex()),
        employer,
        worker,
    )["contract_id"]

    def error(r: httpx.Response, code: str, *fragments: str) -> None:
        assert r.status_code == 422, r.text
        assert r.json()["error"] == code, r.text
        for fragment in fragments:
            assert fragment in r.json()["message"], r.json()["message"]

    # A deadline or nonce past uint256 crashed the EIP-712 encoder (ValueOutOfBounds, 500).
    huge = 2**256
    error(
        api.post(
            "/labor/minimum-wages/typed-data",
            json={"year": 2030, "hourly_wage": 1, "office": employer.address, "nonce": huge},
        ),
        "invalid_input",
        "nonce",
    )
    error(
        api.post("/labor/contracts/typed-data", json={**terms(employer.address, worker.address), "deadline": huge}),
        "invalid_input",
        "deadline",
    )
    week = {"week_start": MON.isoformat(), "entries": entries(MON, [0])}
    error(
        api.post(f"/labor/contracts/{cid}/weeks/typed-data", json={**week, "deadline": huge}),
        "invalid_input",
        "deadline",
    )
    error(
        api.post(f"/labor/contracts/{cid}/weeks/{MON}/confirm/typed-data", json={"deadline": huge}),
        "invalid_input",
        "deadline",
    )
    # ... and inside a signed body it was reported as a "malformed signature".
    error(
        api.post(f"/labor/contracts/{cid}/weeks", json={**week, "deadline": huge, "signature": "0x" + "11" * 65}),
        "invalid_input",
        "deadline",
    )

    # Pay components summing past uint64 crashed the typed-data endpoint (the record endpoint checked).
    statement = {
        "period_start": MON.isoformat(),
        "period_end": (MON + timedelta(days=6)).isoformat(),
        "payment_date": (MON + timedelta(days=11)).isoformat(),
        "statement_hash": "0x" + "22" * 32,
        "base_pay": 2**64 - 1,
        "holiday_pay": 1,
    }
    error(
        api.post(f"/labor/contracts/{cid}/statements/typed-data", json=statement),
        "invalid_input",
        "does not fit 64 bits",
    )

    # Whitespace in a contract id passed the length check, then web3 refused a 31-byte bytes32 (500).
    spaced = cid[:-2] + "%20%20"
    for path in (f"/labor/contracts/{spaced}", f"/labor/contracts/{spaced}/weeks"):
        error(api.get(path), "invalid_contract_id", "not hexadecimal")
    # A lone surrogate can not be UTF-8 encoded to be hashed (UnicodeEncodeError, 500).
    r = api.post(
        f"/labor/contracts/{cid}/document-check",
        content=b'{"document_text": "\\ud800"}',
        headers={"content-type": "application/json"},
    )
    error(r, "invalid_input", "document_text", "unpaired surrogate")


def test_a_week_in_the_open_ended_year_9999_is_refused_and_reports_survive_one(lab: Lab) -> None:
    """A week of 9999-12-27 was recorded on an open-ended contract; every compliance and evidence
    request of that contract then failed with `year 10000 is out of range` (500)."""
    if lab.platform.settings.chain != "embedded":
        pytest.skip("input validation: embedded only")
    employer, worker = Account.create(), lab.citizen()
    t = terms(employer.address, worker.address, end_date="9999-12-31", document_hash="0x" + keccak(text="9999").hex())
    cid = register(lab.api, t, employer, worker)["contract_id"]
    last = date(9999, 12, 27)
    body = {"week_start": last.isoformat(), "entries": entries(last, [0])}
    r = lab.api.post(f"/labor/contracts/{cid}/weeks/typed-data", json=body)
    assert r.status_code == 422 and "must end by 9998-12-31" in r.json()["message"], r.text
    # Weeks already on chain must not break the reports: the engine holds dates at 9999-12-31.
    for pay_cycle, pay_day in ((cx.WEEKLY, 5), (2, 31)):
        report = cx.check(
            engine_terms(end_date=date(9999, 12, 31), pay_cycle=pay_cycle, pay_day=pay_day),
            [week(start=last, minutes=240, days=0b1)],
            [],
            {2026: 10_320},
            date(9999, 12, 31),
        )
        assert report.periods and report.periods[-1].due_date == date(9999, 12, 31)


def test_a_year_without_a_minimum_wage_is_422_not_404(lab: Lab) -> None:
    employer, worker = Account.create(), lab.citizen()
    t = terms(employer.address, worker.address, start_date="2010-01-04", document_hash="0x" + keccak(text="2010").hex())
    body = signed_contract(lab.api, t, employer, worker)
    body.pop("_contract_id")
    r = lab.api.post("/labor/contracts", json=body)
    assert_contract_error(r, 422, "LaborRecordsMinimumWageUnknown", year=2010)
    # the message is the error's @notice in ILaborRecords.sol (was a hint patched on in labor/service.py)
    assert "No minimum wage is known for `year`" in r.json()["message"]
    assert "only in a year with a minimum wage" in r.json()["message"]


def test_a_malformed_evidence_bundle_is_422_naming_the_field(lab: Lab) -> None:
    if lab.platform.settings.chain != "embedded":
        pytest.skip("input validation: embedded only")
    employer, worker = Account.create(), lab.citizen()
    cid = register(
        lab.api,
        terms(employer.address, worker.address, document_hash="0x" + keccak(text="bundle").hex()),
        employer,
        worker,
    )["contract_id"]
    bundle = ok(lab.api.get(f"/labor/contracts/{cid}/evidence"))
    assert ok(lab.api.post("/labor/evidence/verify", json=bundle))["ok"] is True
    cases = [
        (("contract_id",), 5, "contract id 5 must be a string"),
        (("records",), [1], "records[0] must be an object"),
        (("records", 0, "logIndex"), "x", "records[0].logIndex must be a JSON integer"),
        (("records", 0, "blockNumber"), None, "records[0].blockNumber must be a JSON integer"),
        (("event_abi",), ["x"], "event_abi[0] must be an object"),
        (("chain", "chain_id"), "x", "chain.chain_id must be an integer"),
    ]
    for path, value, message in cases:
        broken = copy.deepcopy(bundle)
        target: Any = broken
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        r = lab.api.post("/labor/evidence/verify", json=broken)
        assert r.status_code == 422 and r.json()["error"] == "invalid_bundle", (path, r.text)
        assert message in r.json()["message"], (path, r.json()["message"])


# ------------------------------------------------------------------ workplace size, shifts and premiums on chain


def test_workplace_size_and_break_are_signed_by_both_parties_and_stored_on_chain(lab: Lab) -> None:
    employer, worker = Account.create(), lab.citizen()
    t = terms(
        employer.address,
        worker.address,
        five_or_more_employees=False,
        break_minutes=45,
        document_hash="0x" + keccak(text="small workplace").hex(),
    )
    # the workplace size is a term both must state: leaving it out is a 422 naming it
    r = lab.api.post("/labor/contracts/typed-data", json={k: v for k, v in t.items() if k != "five_or_more_employees"})
    assert r.status_code == 422 and "five_or_more_employees" in r.json()["message"], r.text
    td = ok(lab.api.post("/labor/contracts/typed-data", json=t))
    assert td["typed_data"]["message"]["fiveOrMoreEmployees"] is False
    assert td["typed_data"]["message"]["breakMinutes"] == 45
    assert {"name": "fiveOrMoreEmployees", "type": "bool"} in td["typed_data"]["types"]["LaborContract"]
    # signatures over "five or more" do not register a contract that says "under five"
    signed_five = signed_contract(lab.api, {**t, "five_or_more_employees": True}, employer, worker)
    forged = {**signed_five, "terms": t}
    forged.pop("_contract_id")
    r = lab.api.post("/labor/contracts", json=forged)
    assert r.status_code == 403 and r.json()["error"] == "invalid_signature"
    fn = svc.labor(lab.platform).functions.registerContract(
        svc.terms_tuple(svc.TermsCreate(**t)),
        forged["deadline"],
        bytes.fromhex(forged["employer_signature"][2:]),
        bytes.fromhex(forged["worker_signature"][2:]),
    )
    with pytest.raises(ContractError) as exc:
        lab.platform.relayer.transact(fn)
    assert exc.value.error_name == "LaborRecordsInvalidSignature"

    out = register(lab.api, t, employer, worker)
    stored = svc.labor(lab.platform).functions.contractOf(bytes.fromhex(out["contract_id"][2:])).call()
    assert stored[7] is False and stored[11] == 45  # fiveOrMoreEmployees, breakMinutes
    receipt = lab.platform.chain.w3.eth.get_transaction_receipt(out["registered"]["tx_hash"])
    (event,) = svc.labor(lab.platform).events.LaborContractRegistered().process_receipt(receipt)
    assert event["args"]["terms"]["fiveOrMoreEmployees"] is False and event["args"]["terms"]["breakMinutes"] == 45
    shown = ok(lab.api.get(f"/labor/contracts/{out['contract_id']}"))["terms"]
    assert shown["five_or_more_employees"] is False and shown["break_minutes"] == 45
    report = ok(lab.api.get(f"/labor/contracts/{out['contract_id']}/compliance"))
    night = [r for r in report["rules"] if r["legal_basis"] == "Labour Standards Act Art. 56(3)"]
    assert night and night[0]["applies"] is False and "fewer than five" in night[0]["reason"]


def test_shifts_go_on_chain_and_the_premiums_and_evidence_carry_the_same_figures(lab: Lab) -> None:
    """Contracted 4 h × Mon–Fri at ₩11,000 in a workplace of five or more. Logged: Mon–Thu 4 h,
    Fri 6 h (2 h beyond the contract), Sat 22:00–02:30 with a 30 min break (4 h on a day with no
    contracted hours, all at night), Sun 09:00–13:30 (30 min break) a holiday: 4 h of holiday work.
    Owed: straight 20 h × 11,000 = 220,000; overtime (2 + 4) h × 16,500 = 99,000; holiday work 4 h ×
    16,500 = 66,000; night premium 4 h × 5,500 = 22,000; weekly holiday pay 4 h × 11,000 = 44,000.
    Paid 220,000 + 44,000: 99,000 + 66,000 + 22,000 = 187,000 short."""
    employer, worker = Account.create(), lab.citizen()
    t = terms(employer.address, worker.address, hourly_wage=11_000, document_hash="0x" + keccak(text="shifts").hex())
    cid = register(lab.api, t, employer, worker)["contract_id"]
    shifts = [
        *entries(MON, [0, 1, 2, 3]),
        {"date": "2026-03-06", "start": "09:00", "end": "15:30", "break_minutes": 30},
        {"date": "2026-03-07", "start": "22:00", "end": "02:30", "break_minutes": 30},
        {"date": "2026-03-08", "start": "09:00", "end": "13:30", "break_minutes": 30, "holiday": True},
    ]
    body = {"week_start": MON.isoformat(), "entries": shifts}
    td = ok(lab.api.post(f"/labor/contracts/{cid}/weeks/typed-data", json=body))
    recorded = ok(
        lab.api.post(
            f"/labor/contracts/{cid}/weeks",
            json={**body, "deadline": td["deadline"], "signature": sign_typed(employer, td["typed_data"])},
        ),
        201,
    )
    assert recorded["minutes_worked"] == (4 * 4 + 6 + 4 + 4) * 60
    assert recorded["days_worked"] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert recorded["entries"][-1] == {**shifts[-1], "start": "09:00:00", "end": "13:30:00"}
    assert recorded["entries"][5]["end"] == "02:30:00"  # the next morning
    # the event carries the shifts; each proves against the root the contract computed from them
    receipt = lab.platform.chain.w3.eth.get_transaction_receipt(recorded["history"][-1]["ref"]["tx_hash"])
    (event,) = svc.labor(lab.platform).events.WeekRecorded().process_receipt(receipt)
    night = event["args"]["entries"][5]
    assert (night["startMinute"], night["endMinute"], night["breakMinutes"], night["holiday"]) == (
        1320,
        1590,
        30,
        False,
    )
    assert event["args"]["entries"][6]["holiday"] is True
    for proof in recorded["proofs"]:
        entry = DailyEntry(**proof["entry"])
        assert (
            svc.labor(lab.platform)
            .functions.verifyDailyEntry(
                bytes.fromhex(cid[2:]),
                20260302,
                records.entry_encoding(entry),
                [bytes.fromhex(p[2:]) for p in proof["proof"]],
            )
            .call()
        )
    assert ok(confirm_week(lab.api, cid, worker, MON))["status"] == "confirmed"
    record_statement(lab.api, cid, employer, MON, base=220_000, holiday=44_000)

    report = ok(lab.api.get(f"/labor/contracts/{cid}/compliance", params={"as_of": "2026-03-31"}))
    found = {f["kind"]: f for f in report["findings"]}
    assert {k: f["amount_owed"] for k, f in found.items()} == {
        "overtime_pay_unpaid": 99_000,
        "holiday_work_pay_unpaid": 66_000,
        "night_work_premium_unpaid": 22_000,
    }
    assert report["total_amount_owed"] == 187_000
    overtime = found["overtime_pay_unpaid"]
    assert overtime["legal_basis"] == "Part-time Workers Act Art. 6(3)"
    assert overtime["details"]["lines"] == [
        {"hours": 6, "hourly_rate": 11_000, "percent": 150, "rate_per_hour": 16_500, "amount": 99_000}
    ]
    assert found["night_work_premium_unpaid"]["legal_basis"] == "Labour Standards Act Art. 56(3)"
    assert found["night_work_premium_unpaid"]["details"]["hours"] == 4
    assert found["holiday_work_pay_unpaid"]["details"]["percent"] == 150
    (period,) = report["periods"]
    assert (period["base_owed"], period["overtime_owed"], period["holiday_work_owed"]) == (220_000, 99_000, 66_000)
    assert (period["night_owed"], period["holiday_owed"], period["night_minutes"]) == (22_000, 44_000, 240)

    bundle = ok(lab.api.get(f"/labor/contracts/{cid}/evidence", params={"as_of": "2026-03-31"}))
    assert bundle["compliance"] == report
    assert bundle["contract"]["terms"]["five_or_more_employees"] is True
    assert bundle["weeks"][0]["entries"] == recorded["entries"]
    assert ok(lab.api.post("/labor/evidence/verify", json=bundle))["ok"] is True
    page = lab.api.get(f"/labor/contracts/{cid}/evidence.html", params={"as_of": "2026-03-31"}).text
    assert "₩99,000" in page and "Labour Standards Act Art. 56(3)" in page and "five or more employees" in page
    assert "2026-03-07 22:00–02:30, 30 min break" in page and "2026-03-08 09:00–13:30, 30 min break, holiday" in page
    assert "weekly hours ÷ 40 × 8" in page and "daily hours × hourly wage" not in page
    # turning the holiday into an ordinary day in the bundle's record is caught
    forged = copy.deepcopy(bundle)
    (rec,) = [r for r in forged["records"] if r["event"] == "WeekRecorded"]
    rec["args"]["entries"][6]["holiday"] = False
    result = ok(lab.api.post("/labor/evidence/verify", json=forged))
    assert result["ok"] is False and any("arguments on chain differ" in p for p in result["problems"])


def test_a_shift_that_is_not_a_shift_of_the_week_is_refused(lab: Lab) -> None:
    employer, worker = Account.create(), lab.citizen()
    t = terms(employer.address, worker.address, document_hash="0x" + keccak(text="bad shifts").hex())
    cid = register(lab.api, t, employer, worker)["contract_id"]
    overlapping = entries(MON, [0]) + [{"date": "2026-03-02", "start": "13:00", "end": "15:00"}]
    r = lab.api.post(
        f"/labor/contracts/{cid}/weeks/typed-data", json={"week_start": "2026-03-02", "entries": overlapping}
    )
    assert r.status_code == 422 and r.json()["error"] == "invalid_entry" and "overlaps" in r.json()["message"]
    r = lab.api.post(
        f"/labor/contracts/{cid}/weeks/typed-data",
        json={
            "week_start": "2026-03-02",
            "entries": [{"date": "2026-03-02", "start": "09:00", "end": "10:00", "break_minutes": 60}],
        },
    )
    assert r.status_code == 422 and "not shorter than the shift" in r.json()["message"]
    # the contract checks the shifts itself (relayed directly, bypassing the API)
    fn = svc.labor(lab.platform).functions.recordWeek(
        bytes.fromhex(cid[2:]),
        (20260302, 0, [(20260302, 540, 600, 0, False), (20260302, 570, 700, 0, False)]),
        2**40,
        b"\x00" * 65,
    )
    with pytest.raises(ContractError) as exc:
        lab.platform.relayer.transact(fn)
    assert exc.value.error_name == "LaborRecordsInvalidEntry" and exc.value.error_args["index"] == 1
    assert exc.value.status == 422
