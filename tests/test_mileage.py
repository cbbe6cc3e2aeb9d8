"""Mileage (issue 7): CivicMileage through the API — awards, redemptions, expiry, reports, CLI.

One chain + API server per module and chain kind (embedded, anvil). Tests make fresh citizens,
and fresh programs / merchants where they need a clean slate, so they do not depend on each
other. Chain time only moves forward: tests that travel in time assert relative to the epoch
they read, never to an absolute one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from web3.logs import DISCARD

from civic_ledger.errors import ContractError
from civic_ledger.mileage import service
from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import Platform
from tests.conftest import LiveServer, module_chain, started_platform
from tests.helpers import (
    bearer,
    error,
    make_registrar,
    register_citizen,
    sign_in,
    sign_typed,
    suspend_citizen,
    travel,
)

SECRET = "mileage-test-session-secret"
EPOCH = 30 * 86400


# -- fixtures: one chain + API server per module and chain kind ----------------------------


@dataclass
class Env:
    platform: Platform
    api: httpx.Client
    url: str
    registrar: LocalAccount
    admin_token: str
    tmp: Path
    awarder: LocalAccount = field(default_factory=Account.create)

    @property
    def mileage(self) -> Any:
        return self.platform.deployment.contract("CivicMileage")


@contextmanager
def make_env(chain: str, tmp: Path) -> Iterator[Env]:
    with (
        started_platform(chain, tmp / "data", session_secret=SECRET) as platform,
        LiveServer(platform) as server,
        server.client() as client,
    ):
        registrar = make_registrar(platform)
        yield Env(platform, client, server.url, registrar, sign_in(client, platform.operator), tmp)


@pytest.fixture(scope="module", params=["embedded", "anvil"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    # A node of our own: these tests move chain time months ahead, which would break the
    # wall-clock deadlines of other modules sharing the session's anvil.
    with (
        module_chain(request, own_anvil=True) as chain,
        make_env(chain, tmp_path_factory.mktemp(f"mileage-{request.param}")) as e,
    ):
        yield e


# -- helpers -------------------------------------------------------------------------------


def events(env: Env, name: str, tx_hash: str) -> list[dict[str, Any]]:
    receipt = env.platform.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    return [dict(e["args"]) for e in getattr(env.mileage.events, name)().process_receipt(receipt, errors=DISCARD)]


def citizen(env: Env) -> LocalAccount:
    """A fresh registered citizen (deadline from chain time: tests move the chain's clock ahead)."""
    account = Account.create()
    register_citizen(env.platform, env.registrar, account.address)
    return account


def new_program(env: Env, name: str = "Eco mileage", cap: int = 10**9, awarder: LocalAccount | None = None) -> int:
    r = env.api.post(
        "/mileage/programs",
        headers=bearer(env.admin_token),
        json={"name": name, "awarder": (awarder or env.awarder).address, "annual_cap": cap},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["program_id"])


_biz = iter(range(10**9))


def new_merchant(env: Env, name: str = "Mangwon bakery", district: int = 14) -> int:
    biz = service.business_number_hash(f"{next(_biz):010d}", keccak(text=f"salt {env.url}"))
    r = env.api.post(
        "/mileage/merchants",
        headers=bearer(env.admin_token),
        json={"name": name, "business_number_hash": biz, "district": district},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["merchant_id"])


_refs = iter(range(1, 10**12))


def award(
    env: Env, program_id: int, account: str, amount: int, ref: int | None = None, signer: LocalAccount | None = None
) -> httpx.Response:
    item = {"account": account, "amount": amount, "ref": next(_refs) if ref is None else ref}
    t = env.api.post(f"/mileage/programs/{program_id}/awards/typed-data", json=item)
    assert t.status_code == 200, t.text
    typed = t.json()
    return env.api.post(
        f"/mileage/programs/{program_id}/awards",
        json={
            **item,
            "deadline": typed["deadline"],
            "signature": sign_typed(signer or env.awarder, typed["typed_data"]),
        },
    )


def redeem(
    env: Env,
    who: LocalAccount,
    merchant_id: int,
    amount: int,
    *,
    order: str = "order",
    signer: LocalAccount | None = None,
    citizen_address: str | None = None,
) -> httpx.Response:
    body = {
        "citizen": citizen_address or who.address,
        "merchant_id": merchant_id,
        "amount": amount,
        "order_ref": service.order_ref_of(order),
    }
    t = env.api.post("/mileage/redemptions/typed-data", json=body)
    assert t.status_code == 200, t.text
    typed = t.json()
    return env.api.post(
        "/mileage/redemptions",
        json={
            **body,
            "nonce": typed["nonce"],
            "deadline": typed["deadline"],
            "signature": sign_typed(signer or who, typed["typed_data"]),
        },
    )


def balance(env: Env, account: str) -> dict[str, Any]:
    r = env.api.get(f"/mileage/balances/{account}")
    assert r.status_code == 200, r.text
    return dict(r.json())


# -- types, roles, policy ------------------------------------------------------------------


def test_python_types_hash_to_the_contract_typehashes(env: Env) -> None:
    for primary, constant in service.TYPEHASH_CONSTANTS.items():
        assert eip712.typehash(primary, service.TYPES[primary]) == bytes(
            getattr(env.mileage.functions, constant)().call()
        )
    r = env.api.get("/mileage/policy")
    assert r.status_code == 200, r.text
    assert r.json()["epoch_length_s"] == EPOCH and r.json()["validity_epochs"] == 6


def test_city_actions_need_the_role_holder_signed_in(env: Env) -> None:
    body = {"name": "Car-free day", "awarder": env.awarder.address, "annual_cap": 1000}
    error(env.api.post("/mileage/programs", json=body), 401, "not_signed_in")
    someone = citizen(env)
    token = sign_in(env.api, someone)
    error(env.api.post("/mileage/programs", json=body, headers=bearer(token)), 403, "missing_role")
    biz = "0x" + "42" * 32
    error(
        env.api.post(
            "/mileage/merchants", headers=bearer(token), json={"name": "x", "business_number_hash": biz, "district": 1}
        ),
        403,
        "missing_role",
    )
    error(
        env.api.post("/mileage/merchants/1/settlements", headers=bearer(token), json={"period": 1}), 403, "missing_role"
    )
    r = env.api.post("/mileage/programs", json=body, headers=bearer(env.admin_token))
    assert r.status_code == 201, r.text
    (e,) = events(env, "ProgramRegistered", r.json()["tx_hash"])
    assert (e["programId"], e["awarder"], e["annualCap"], e["name"]) == (
        r.json()["program_id"],
        env.awarder.address,
        1000,
        "Car-free day",
    )
    # validity is fixed once merchants exist
    new_merchant(env)
    msg = error(
        env.api.put("/mileage/policy", json={"validity_epochs": 3}, headers=bearer(env.admin_token)),
        409,
        "CivicMileagePolicyLocked",
    )
    assert "fixed" in msg


def test_a_closed_program_awards_nothing_and_a_new_awarder_takes_over(env: Env) -> None:
    program = new_program(env)
    pat = citizen(env)
    successor = Account.create()
    r = env.api.put(
        f"/mileage/programs/{program}",
        headers=bearer(env.admin_token),
        json={"awarder": successor.address, "annual_cap": 500},
    )
    assert r.status_code == 200 and r.json()["awarder"] == successor.address
    (e,) = events(env, "ProgramUpdated", r.json()["tx_hash"])
    assert (e["programId"], e["awarder"], e["annualCap"]) == (program, successor.address, 500)
    error(award(env, program, pat.address, 10), 403, "invalid_signature")  # the old awarder's signature
    assert award(env, program, pat.address, 10, signer=successor).json()["awarded"] is True
    r = env.api.put(
        f"/mileage/programs/{program}", headers=bearer(env.admin_token), json={"awarder": None, "annual_cap": 500}
    )
    assert r.status_code == 200 and r.json()["open"] is False
    t = env.api.post(
        f"/mileage/programs/{program}/awards/typed-data", json={"account": pat.address, "amount": 1, "ref": 1}
    )
    error(t, 403, "CivicMileageUnauthorizedAwarder")


def test_a_business_number_registers_one_merchant(env: Env) -> None:
    biz = service.business_number_hash("220-81-62517", keccak(text=f"dup {env.url}"))
    body = {"name": "Gwangjang market", "business_number_hash": biz, "district": 1}
    first = env.api.post("/mileage/merchants", headers=bearer(env.admin_token), json=body)
    assert first.status_code == 201, first.text
    (e,) = events(env, "MerchantRegistered", first.json()["tx_hash"])
    assert (e["merchantId"], "0x" + e["businessNumberHash"].hex(), e["district"]) == (
        first.json()["merchant_id"],
        biz,
        1,
    )
    msg = error(
        env.api.post("/mileage/merchants", headers=bearer(env.admin_token), json=body),
        409,
        "CivicMileageMerchantAlreadyRegistered",
    )
    assert f"merchantId={first.json()['merchant_id']}" in msg
    bad = env.api.post("/mileage/merchants", headers=bearer(env.admin_token), json={**body, "district": 26})
    assert bad.status_code == 422 and "district" in bad.json()["message"]


def test_bad_input_is_422_naming_the_field(env: Env) -> None:
    r = env.api.post("/mileage/programs/1/awards/typed-data", json={"account": "0x12", "amount": 0, "ref": -1})
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["details"]}
    assert {"account", "amount", "ref"} <= fields
    r = env.api.post(
        "/mileage/programs/0/awards/typed-data", json={"account": Account.create().address, "amount": 1, "ref": 1}
    )
    assert r.status_code == 422 and "program_id" in r.json()["message"]
    error(env.api.get("/mileage/programs/999999"), 404, "program_not_found")
    error(env.api.get("/mileage/merchants/999999"), 404, "merchant_not_found")
    error(env.api.get(f"/mileage/balances/{Account.create().address}"), 404, "citizen_not_found")


# -- awards --------------------------------------------------------------------------------


def test_award_credits_the_citizen_and_emits_points_awarded(env: Env) -> None:
    program = new_program(env)
    alice = citizen(env)
    r = award(env, program, alice.address, 1500, ref=7)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["awarded"] is True and out["tx_hash"]
    (e,) = events(env, "PointsAwarded", out["tx_hash"])
    assert (e["citizenId"], e["programId"], e["ref"], e["amount"], e["epoch"]) == (
        out["citizen_id"],
        program,
        7,
        1500,
        out["epoch"],
    )
    b = balance(env, alice.address)
    assert b["balance"] == 1500 and b["buckets"][0]["epoch"] == out["epoch"]
    assert env.api.get(f"/mileage/programs/{program}").json()["awarded_in_year"] == 1500


def test_award_to_a_non_citizen_or_a_suspended_citizen_is_rejected(env: Env) -> None:
    program = new_program(env)
    stranger = Account.create()
    msg = error(award(env, program, stranger.address, 10), 422, "CivicMileageNotCitizen")
    assert stranger.address in msg
    bob = citizen(env)
    suspend_citizen(env.platform, env.registrar, bob.address)
    error(award(env, program, bob.address, 10), 409, "CivicMileageCitizenNotActive")
    # directly on chain (the operator as a program's own awarder), the same reverts
    direct = new_program(env, awarder=env.platform.operator)
    for account, name in ((bob.address, "CivicMileageCitizenNotActive"), (stranger.address, "CivicMileageNotCitizen")):
        with pytest.raises(ContractError) as exc:
            env.platform.relayer.transact(env.mileage.functions.award(direct, account, 10, 99, 0, b""))
        assert exc.value.error_name == name
    # an unsigned award by someone who is not the awarder
    with pytest.raises(ContractError) as exc:
        env.platform.relayer.transact(env.mileage.functions.award(program, bob.address, 10, 99, 0, b""))
    assert exc.value.error_name == "CivicMileageUnauthorizedAwarder" and exc.value.status == 403
    cid = env.platform.deployment.contract("CitizenRegistry").functions.citizenIdOf(bob.address).call()
    assert env.mileage.functions.pointsOf(cid).call() == [0, 0]


def test_the_same_reference_awards_once(env: Env) -> None:
    program = new_program(env, awarder=env.platform.operator)  # the operator may award unsigned
    carol = citizen(env)
    first = env.platform.relayer.transact(env.mileage.functions.award(program, carol.address, 100, 5, 0, b""))
    assert len(env.mileage.events.PointsAwarded().process_receipt(first.raw, errors=DISCARD)) == 1
    assert (
        env.mileage.functions.award(program, carol.address, 100, 5, 0, b"").call(
            {"from": env.platform.operator.address}
        )
        is False
    )
    again = env.platform.relayer.transact(env.mileage.functions.award(program, carol.address, 100, 5, 0, b""))
    assert env.mileage.events.PointsAwarded().process_receipt(again.raw, errors=DISCARD) == ()
    (skip,) = env.mileage.events.AwardSkipped().process_receipt(again.raw, errors=DISCARD)
    assert (skip["args"]["programId"], skip["args"]["ref"], skip["args"]["reason"]) == (program, 5, 1)
    assert env.mileage.functions.balanceOf(carol.address).call() == 100
    # through the API: the duplicate answers awarded=false and sends nothing
    signed = new_program(env)
    assert award(env, signed, carol.address, 40, ref=11).json()["awarded"] is True
    nonce = env.platform.chain.w3.eth.get_transaction_count(env.platform.operator.address)
    dup = award(env, signed, carol.address, 40, ref=11)
    assert dup.status_code == 200 and dup.json()["awarded"] is False and dup.json()["tx_hash"] is None
    assert env.platform.chain.w3.eth.get_transaction_count(env.platform.operator.address) == nonce
    assert balance(env, carol.address)["balance"] == 140


def test_awards_over_the_annual_cap_are_rejected(env: Env) -> None:
    program = new_program(env, cap=1000)
    dave = citizen(env)
    assert award(env, program, dave.address, 600).status_code == 200
    msg = error(award(env, program, dave.address, 401), 409, "CivicMileageCapExceeded")
    assert "annualCap=1000" in msg and "awardedInYear=600" in msg
    assert award(env, program, dave.address, 400).status_code == 200  # exactly the cap
    items = [{"account": dave.address, "amount": 1, "ref": next(_refs)}]
    t = env.api.post(f"/mileage/programs/{program}/awards/batch/typed-data", json={"awards": items}).json()
    r = env.api.post(
        f"/mileage/programs/{program}/awards/batch",
        json={"awards": items, "deadline": t["deadline"], "signature": sign_typed(env.awarder, t["typed_data"])},
    )
    error(r, 409, "CivicMileageCapExceeded")
    assert balance(env, dave.address)["balance"] == 1000


def test_a_forged_award_signature_is_refused(env: Env) -> None:
    program = new_program(env)
    erin = citizen(env)
    msg = error(award(env, program, erin.address, 10, signer=erin), 403, "invalid_signature")
    assert env.awarder.address in msg
    deadline = service.deadline_in(env.platform, 600)
    typed = service.typed_message(
        env.platform,
        "Award",
        {"programId": program, "account": erin.address, "amount": 10, "ref": 1, "deadline": deadline},
    )
    with pytest.raises(ContractError) as exc:
        env.platform.relayer.transact(
            env.mileage.functions.award(program, erin.address, 10, 1, deadline, typed.sign(erin)), simulate=True
        )
    assert exc.value.error_name == "CivicMileageInvalidSignature" and exc.value.status == 403
    assert exc.value.error_args == {"signer": env.awarder.address}


def test_batch_credits_valid_entries_and_skips_the_rest(env: Env) -> None:
    program = new_program(env)
    a, b, suspended = citizen(env), citizen(env), citizen(env)
    suspend_citizen(env.platform, env.registrar, suspended.address)
    stranger = Account.create()
    ref = next(_refs)
    assert award(env, program, a.address, 5, ref=ref).json()["awarded"]
    items = [
        {"account": a.address, "amount": 5, "ref": ref},  # duplicate
        {"account": b.address, "amount": 7, "ref": next(_refs)},
        {"account": stranger.address, "amount": 3, "ref": next(_refs)},
        {"account": suspended.address, "amount": 3, "ref": next(_refs)},
        {"account": a.address, "amount": 9, "ref": next(_refs)},
    ]
    t = env.api.post(f"/mileage/programs/{program}/awards/batch/typed-data", json={"awards": items}).json()
    r = env.api.post(
        f"/mileage/programs/{program}/awards/batch",
        json={"awards": items, "deadline": t["deadline"], "signature": sign_typed(env.awarder, t["typed_data"])},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["awarded_count"] == 2 and [c["amount"] for c in out["credited"]] == [7, 9]
    assert [(s["account"], s["reason"]) for s in out["skipped"]] == [
        (a.address, "Duplicate"),
        (stranger.address, "NotActiveCitizen"),
        (suspended.address, "NotActiveCitizen"),
    ]
    (e,) = events(env, "PointsAwardedBatch", out["tx_hash"])
    assert e["programId"] == program and len(e["awards"]) == 2
    assert balance(env, a.address)["balance"] == 14 and balance(env, b.address)["balance"] == 7


def test_legacy_import_twice_credits_once(env: Env) -> None:
    program = new_program(env, name="e-Tax mileage")
    f, g = citizen(env), citizen(env)
    entries = [{"account": f.address, "amount": 3000}, {"account": g.address, "amount": 500}]

    def run() -> dict[str, Any]:
        t = env.api.post(f"/mileage/programs/{program}/legacy-imports/typed-data", json={"entries": entries}).json()
        r = env.api.post(
            f"/mileage/programs/{program}/legacy-imports",
            json={"entries": entries, "deadline": t["deadline"], "signature": sign_typed(env.awarder, t["typed_data"])},
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    first = run()
    assert first["imported_count"] == 2 and first["skipped"] == []
    assert [e["amount"] for e in events(env, "LegacyPointsImported", first["tx_hash"])] == [3000, 500]
    second = run()
    assert second["imported_count"] == 0
    assert [s["reason"] for s in second["skipped"]] == ["AlreadyImported", "AlreadyImported"]
    assert [e["reason"] for e in events(env, "LegacyImportSkipped", second["tx_hash"])] == [3, 3]
    assert balance(env, f.address)["balance"] == 3000 and balance(env, g.address)["balance"] == 500
    # legacy balances do not count against the annual cap
    assert env.api.get(f"/mileage/programs/{program}").json()["awarded_in_year"] == 0


# -- transfers and redemptions -------------------------------------------------------------


def test_points_can_not_be_transferred_between_citizens(env: Env) -> None:
    names = {f["name"].lower() for f in env.mileage.abi if f.get("type") == "function"}
    assert not [n for n in names if any(w in n for w in ("transfer", "approve", "allowance", "send", "move"))]
    assert not any(f.get("type") in ("fallback", "receive") for f in env.mileage.abi)
    program = new_program(env)
    henry, iris = citizen(env), citizen(env)
    award(env, program, henry.address, 100)
    # an ERC-20 style transfer call has no function to land in: it reverts
    data = (
        keccak(text="transfer(address,uint256)")[:4]
        + bytes(12)
        + bytes.fromhex(iris.address[2:])
        + (50).to_bytes(32, "big")
    )
    with pytest.raises(Exception):  # noqa: B017 - any revert: there is nothing to call
        env.platform.chain.w3.eth.call({"from": henry.address, "to": env.mileage.address, "data": "0x" + data.hex()})
    # no API route either
    assert env.api.post("/mileage/transfers", json={"from": henry.address, "to": iris.address}).status_code in (
        404,
        405,
    )
    # henry can not spend for iris: a redemption of iris's address signed by henry is refused
    merchant = new_merchant(env)
    award(env, program, iris.address, 100)
    error(redeem(env, iris, merchant, 10, signer=henry), 403, "invalid_signature")
    assert balance(env, henry.address)["balance"] == 100 and balance(env, iris.address)["balance"] == 100


def test_redeem_at_a_registered_merchant_and_settle(env: Env) -> None:
    program = new_program(env)
    merchant = new_merchant(env, "Tongin market")
    jay = citizen(env)
    award(env, program, jay.address, 500)
    r = redeem(env, jay, merchant, 120, order="T-1")
    assert r.status_code == 201, r.text
    out = r.json()
    (e,) = events(env, "PointsRedeemed", out["tx_hash"])
    assert (e["citizenId"], e["merchantId"], "0x" + e["orderRef"].hex(), e["amount"]) == (
        out["citizen_id"],
        merchant,
        service.order_ref_of("T-1"),
        120,
    )
    assert out["balance_after"] == 380 and balance(env, jay.address)["nonce"] == 1
    m = env.api.get(f"/mileage/merchants/{merchant}").json()
    assert (m["unsettled"], m["redeemed"]) == (120, 120)
    treasury = {"Authorization": f"Bearer {env.admin_token}"}
    error(
        env.api.post(f"/mileage/merchants/{merchant}/settlements", json={"period": 7, "amount": 121}, headers=treasury),
        409,
        "CivicMileageSettlementExceedsUnsettled",
    )
    s = env.api.post(f"/mileage/merchants/{merchant}/settlements", json={"period": 7}, headers=treasury)
    assert s.status_code == 201, s.text
    (se,) = events(env, "MerchantSettled", s.json()["tx_hash"])
    assert (se["merchantId"], se["period"], se["amount"], se["unsettledAfter"]) == (merchant, 7, 120, 0)
    error(
        env.api.post(f"/mileage/merchants/{merchant}/settlements", json={"period": 8}, headers=treasury),
        422,
        "nothing_to_settle",
    )


def test_redeem_at_an_unregistered_or_deactivated_merchant_is_rejected(env: Env) -> None:
    program = new_program(env)
    kim = citizen(env)
    award(env, program, kim.address, 100)
    error(redeem(env, kim, 999_999, 10), 404, "CivicMileageUnknownMerchant")
    merchant = new_merchant(env)
    r = env.api.post(f"/mileage/merchants/{merchant}/deactivate", headers=bearer(env.admin_token))
    assert r.status_code == 200 and r.json()["active"] is False
    assert events(env, "MerchantDeactivated", r.json()["tx_hash"])[0]["merchantId"] == merchant
    error(redeem(env, kim, merchant, 10), 404, "CivicMileageUnknownMerchant")
    assert balance(env, kim.address)["balance"] == 100


def test_redeem_more_than_the_balance_is_rejected(env: Env) -> None:
    program = new_program(env)
    merchant = new_merchant(env)
    lee = citizen(env)
    award(env, program, lee.address, 50)
    msg = error(redeem(env, lee, merchant, 51), 409, "CivicMileageInsufficientBalance")
    assert "balance=50" in msg and "amount=51" in msg
    assert balance(env, lee.address)["balance"] == 50


def test_forged_replayed_and_expired_redemption_signatures_are_refused(env: Env) -> None:
    program = new_program(env)
    merchant = new_merchant(env)
    moon, thief = citizen(env), citizen(env)
    award(env, program, moon.address, 100)
    msg = error(redeem(env, moon, merchant, 10, signer=thief), 403, "invalid_signature")
    assert moon.address in msg
    # directly on chain too
    m = env.mileage
    deadline = service.deadline_in(env.platform, 600)
    ref = bytes.fromhex(service.order_ref_of("x")[2:])
    typed = service.typed_message(
        env.platform,
        "Redeem",
        {
            "citizen": moon.address,
            "merchantId": merchant,
            "amount": 10,
            "orderRef": ref,
            "nonce": 0,
            "deadline": deadline,
        },
    )
    with pytest.raises(ContractError) as exc:
        env.platform.relayer.transact(
            m.functions.redeem(moon.address, merchant, 10, ref, 0, deadline, typed.sign(thief)), simulate=True
        )
    assert exc.value.error_name == "CivicMileageInvalidSignature" and exc.value.status == 403
    # a replay of a used signature: the nonce is spent
    good = typed.sign(moon)
    env.platform.relayer.transact(m.functions.redeem(moon.address, merchant, 10, ref, 0, deadline, good))
    body = {
        "citizen": moon.address,
        "merchant_id": merchant,
        "amount": 10,
        "order_ref": service.order_ref_of("x"),
        "nonce": 0,
        "deadline": deadline,
        "signature": "0x" + good.hex(),
    }
    error(env.api.post("/mileage/redemptions", json=body), 409, "CivicMileageInvalidAccountNonce")
    # a deadline in the past
    old = service.typed_message(env.platform, "Redeem", {**typed.message, "nonce": 1, "deadline": 1})
    body.update(nonce=1, deadline=1, signature="0x" + old.sign(moon).hex())
    error(env.api.post("/mileage/redemptions", json=body), 422, "CivicMileageSignatureExpired")
    assert balance(env, moon.address)["balance"] == 90


# -- expiry, oldest-first, reports ---------------------------------------------------------


def test_oldest_points_are_spent_first_and_expired_points_are_not_spendable(env: Env) -> None:
    program = new_program(env, name="Citizen health")
    merchant = new_merchant(env)
    nam = citizen(env)
    start = award(env, program, nam.address, 100).json()["epoch"]
    travel(env.platform, EPOCH)
    assert award(env, program, nam.address, 50).json()["epoch"] == start + 1
    travel(env.platform, EPOCH)
    assert award(env, program, nam.address, 20).json()["epoch"] == start + 2
    b = balance(env, nam.address)
    assert [(x["epoch"], x["amount"]) for x in b["buckets"]] == [(start, 100), (start + 1, 50), (start + 2, 20)]
    r = redeem(env, nam, merchant, 120, order="oldest-first")  # 100 from the oldest, 20 from the next
    assert r.status_code == 201, r.text
    assert [(x["epoch"], x["amount"]) for x in balance(env, nam.address)["buckets"]] == [
        (start + 1, 30),
        (start + 2, 20),
    ]
    # start+1 expires when the epoch reaches start+1+6
    current = env.api.get("/mileage/policy").json()["current_epoch"]
    travel(env.platform, (start + 7 - current) * EPOCH)
    b = balance(env, nam.address)
    assert b["balance"] == 20 and b["expired_unrealised"] == 30
    assert [x["expired"] for x in b["buckets"]] == [True, False]
    msg = error(redeem(env, nam, merchant, 21, order="too-much"), 409, "CivicMileageInsufficientBalance")
    assert "balance=20" in msg
    r = redeem(env, nam, merchant, 5, order="after-expiry")
    assert r.status_code == 201, r.text
    assert r.json()["expired"] == [{"epoch": start + 1, "amount": 30}]
    (x,) = events(env, "PointsExpired", r.json()["tx_hash"])
    assert (x["epoch"], x["amount"]) == (start + 1, 30)
    b = balance(env, nam.address)
    assert (b["balance"], b["expired_unrealised"]) == (15, 0)
    # the statement shows awards, redemptions and the expiry, and conserves points
    s = env.api.get(f"/mileage/reports/statements/{nam.address}").json()
    kinds = [(e["kind"], e["epoch"], e["amount"]) for e in s["entries"] if e["kind"] != "award"]
    # a redemption has one line per epoch its points came from (issue 16): 100 of start, 20 of start + 1
    assert kinds == [
        ("redemption", start, -100),
        ("redemption", start + 1, -20),
        ("expiry", start + 1, -30),
        ("redemption", start + 2, -5),
    ]
    assert (s["awarded"], s["redeemed"], s["expired"], s["balance"], s["conserved"]) == (170, 125, 30, 15, True)
    csv_text = env.api.get(f"/mileage/reports/statements/{nam.address}", params={"format": "csv"}).text
    assert csv_text.splitlines()[0].startswith("block_number,tx_hash,kind,epoch,amount")
    assert len(csv_text.splitlines()) == 8  # header + 3 awards + 3 redemption lines + 1 expiry


def test_an_award_long_after_the_last_one_writes_off_the_expired_points(env: Env) -> None:
    """The ring holds seven epochs: a credit that moves it past old buckets writes them off with events."""
    program = new_program(env)
    oh = citizen(env)
    first = award(env, program, oh.address, 70).json()
    travel(env.platform, 8 * EPOCH)
    later = award(env, program, oh.address, 30).json()
    assert later["epoch"] >= first["epoch"] + 8
    (x,) = events(env, "PointsExpired", later["tx_hash"])
    assert (x["epoch"], x["amount"]) == (first["epoch"], 70)
    b = balance(env, oh.address)
    assert (b["balance"], b["expired_unrealised"]) == (30, 0)
    assert [(k["epoch"], k["amount"]) for k in b["buckets"]] == [(later["epoch"], 30)]
    s = env.api.get(f"/mileage/reports/statements/{oh.address}").json()
    assert [(e["kind"], e["amount"]) for e in s["entries"]] == [("award", 70), ("expiry", -70), ("award", 30)]
    assert s["conserved"]


def test_liability_report_balances_and_merchant_report_groups_by_period(env: Env) -> None:
    p1, p2 = new_program(env, name="Eco"), new_program(env, name="Poll participation")
    merchant = new_merchant(env, "Seochon bookshop")
    a, b = citizen(env), citizen(env)
    award(env, p1, a.address, 300)
    award(env, p2, a.address, 200)
    award(env, p2, b.address, 50)
    assert redeem(env, a, merchant, 350, order="L-1").status_code == 201  # 300 of Eco, then 50 of Poll (FIFO)
    report = env.api.get("/mileage/reports/liability").json()
    rows = {r["program_id"]: r for r in report["rows"]}
    assert (rows[p1]["awarded"], rows[p1]["redeemed"], rows[p1]["outstanding"]) == (300, 300, 0)
    assert (rows[p2]["awarded"], rows[p2]["redeemed"], rows[p2]["outstanding"]) == (250, 50, 200)
    assert report["balanced"] is True
    assert report["total"]["outstanding"] == report["on_chain_balance_total"]
    total = report["total"]
    assert total["awarded"] + total["imported"] - total["redeemed"] - total["expired"] == total["outstanding"]
    csv_text = env.api.get("/mileage/reports/liability", params={"format": "csv"}).text
    assert csv_text.splitlines()[0] == "program_id,name,awarded,imported,redeemed,expired,outstanding"
    assert csv_text.splitlines()[-1].startswith("0,TOTAL,")
    mr = env.api.get("/mileage/reports/merchants").json()
    mine = [r for r in mr["rows"] if r["merchant_id"] == merchant]
    assert [(r["redemptions"], r["points"]) for r in mine] == [(1, 350)]
    assert mine[0]["period_end"] - mine[0]["period_start"] == EPOCH
    assert [x["redeemed"] for x in mr["merchants"] if x["merchant_id"] == merchant] == [350]
    assert env.api.get("/mileage/reports/merchants", params={"format": "csv"}).text.startswith("merchant_id,name,epoch")


# -- conservation property (embedded only) -------------------------------------------------


@dataclass
class Book:
    platform: Platform
    program: int
    merchant: int
    citizens: list[LocalAccount]
    ids: list[int]
    ref: int = 0
    order: int = 0


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Book]:
    with started_platform("embedded", tmp_path_factory.mktemp("mileage-prop") / "data") as platform:
        m = platform.deployment.contract("CivicMileage")
        relayer = platform.relayer
        relayer.transact(m.functions.registerProgram("Property", platform.operator.address, 2**40 - 1))
        relayer.transact(m.functions.registerMerchant("Shop", b"\x01" * 32, 1))
        registrar = make_registrar(platform)
        people = [Account.create() for _ in range(3)]
        ids = [register_citizen(platform, registrar, p.address) for p in people]
        yield Book(platform, 1, 1, people, ids)


ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("award"), st.integers(0, 2), st.integers(1, 500)),
        st.tuples(st.just("batch"), st.integers(0, 2), st.integers(1, 300)),
        st.tuples(st.just("legacy"), st.integers(0, 2), st.integers(1, 300)),
        st.tuples(st.just("redeem"), st.integers(0, 2), st.integers(1, 600)),
        st.tuples(st.just("travel"), st.just(0), st.integers(1, 4)),
    ),
    min_size=1,
    max_size=8,
)


def _event_signature(contract: Any, name: str) -> str:
    (abi,) = [e for e in contract.abi if e.get("type") == "event" and e["name"] == name]
    return f"{name}({','.join(i['type'] for i in abi['inputs'])})"


@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_points_are_conserved_for_every_citizen(book: Book, actions: list[tuple[str, int, int]]) -> None:
    """awarded = balance + redeemed + expired, for every citizen, whatever happens in between."""
    p = book.platform
    m = p.deployment.contract("CivicMileage")
    for kind, who, n in actions:
        if kind == "award":
            book.ref += 1
            p.relayer.transact(m.functions.award(book.program, book.citizens[who].address, n, book.ref, 0, b""))
        elif kind == "batch":  # the citizen and the next one, plus a duplicate of the last reference
            words = []
            for k in (who, (who + 1) % 3):
                book.ref += 1
                words.append(service.pack_award(book.citizens[k].address, n, book.ref))
            words.append(words[-1])
            p.relayer.transact(m.functions.awardBatch(book.program, words, 0, b""))
        elif kind == "legacy":  # once per citizen and program: repeats are skipped
            entry = service.pack_legacy(book.citizens[who].address, n)
            p.relayer.transact(m.functions.importLegacy(book.program, [entry], 0, b""))
        elif kind == "redeem":
            book.order += 1
            t = service.redemption_typed_data(
                p, book.citizens[who].address, book.merchant, n, service.order_ref_of(f"o{book.order}"), 3600
            )
            fields = t.typed_data["message"]
            try:
                p.relayer.transact(
                    m.functions.redeem(
                        fields["citizen"],
                        book.merchant,
                        n,
                        bytes.fromhex(fields["orderRef"][2:]),
                        fields["nonce"],
                        fields["deadline"],
                        eip712.TypedMessage.from_dict(t.typed_data).sign(book.citizens[who]),
                    ),
                    simulate=True,
                )
            except ContractError as exc:
                assert exc.error_name == "CivicMileageInsufficientBalance"
        else:
            travel(p, n * EPOCH)
    # sums of the logs, per citizen
    logs = p.chain.w3.eth.get_logs({"address": m.address, "fromBlock": 0, "toBlock": "latest"})
    awarded: dict[int, int] = {}
    redeemed: dict[int, int] = {}
    expired: dict[int, int] = {}
    names = ("PointsAwarded", "LegacyPointsImported", "PointsAwardedBatch", "PointsRedeemed", "PointsExpired")
    topics = {bytes(keccak(text=_event_signature(m, n))): n for n in names}
    for log in logs:
        name = topics.get(bytes(log["topics"][0]))
        if name is None:
            continue
        args = getattr(m.events, name)().process_log(log)["args"]
        if name == "PointsAwardedBatch":
            for w in args["awards"]:
                awarded[w >> 96] = awarded.get(w >> 96, 0) + ((w >> 64) & 0xFFFFFFFF)
            continue
        into = {"PointsRedeemed": redeemed, "PointsExpired": expired}.get(name, awarded)
        into[args["citizenId"]] = into.get(args["citizenId"], 0) + args["amount"]
    for cid in book.ids:
        bal, unrealised = m.functions.pointsOf(cid).call()
        assert awarded.get(cid, 0) == bal + redeemed.get(cid, 0) + expired.get(cid, 0) + unrealised, cid
    report = service.liability(p)
    assert report.balanced and report.total.outstanding == report.on_chain_balance_total


# -- CLI acceptance (the README walk-through) ----------------------------------------------


def test_acceptance_cli_two_programs_redeem_expiry_and_a_balanced_liability_report(tmp_path: Path) -> None:
    """A citizen earns from two programs, redeems at a merchant, sees an expiry; the liability balances.

    On a fresh embedded chain (the README walk-through, ids from 1), as the CLI runs it."""
    with make_env("embedded", tmp_path) as env:
        _walk_through(env)


def _walk_through(env: Env) -> None:
    import json as _json

    from typer.testing import CliRunner

    from civic_ledger.identity.cli import app as identity_cli
    from civic_ledger.mileage.cli import app as mileage_cli

    runner = CliRunner()
    data = env.tmp / "cli"
    common = ["--api", env.url, "--data-dir", str(data)]
    envvars = {"CIVIC_KEYSTORE_PASSWORD": "pw"}

    def run(app: Any, *args: str, ok: bool = True) -> str:
        result = runner.invoke(app, [*args], env=envvars, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, f"{args}: {result.output}"
        return result.output

    def ident(*args: str) -> str:
        return run(identity_cli, *args)

    def mil(*args: str, ok: bool = True) -> str:
        return run(mileage_cli, *args, ok=ok)

    keystore_dir = ["--data-dir", str(data), "--scrypt-n", "2"]
    ident("keystore", "import", "admin", "--private-key", "0x" + env.platform.operator.key.hex(), *keystore_dir)
    for name in ("registrar", "eco", "tax", "alice"):
        ident("keystore", "create", name, *keystore_dir)
    ident("grant-registrar", "registrar", "--admin-keystore", "admin", *common)
    ident(
        "register", "alice", "--district", "Mapo", "--birth-year", "1990", "--registrar-keystore", "registrar", *common
    )
    # the validity can be chosen until the first merchant is registered (6 epochs, the default)
    assert "valid 6 epochs" in mil("policy", "set", "--validity", "6", "-a", "admin", *common)
    eco = _json.loads(
        mil(
            "program",
            "register",
            "Eco mileage",
            "--awarder",
            "eco",
            "--cap",
            "1000000",
            "-a",
            "admin",
            "--json",
            *common,
        )
    )["program_id"]
    tax = _json.loads(
        mil(
            "program",
            "register",
            "e-Tax mileage",
            "--awarder",
            "tax",
            "--cap",
            "1000000",
            "-a",
            "admin",
            "--json",
            *common,
        )
    )["program_id"]
    shop = _json.loads(
        mil(
            "merchant",
            "register",
            "Mangwon bakery",
            "--business-number",
            "123-45-67890",
            "--district",
            "14",
            "-a",
            "admin",
            "--json",
            *common,
        )
    )["merchant_id"]
    assert (eco, tax, shop) == (1, 2, 1)
    assert "awarded" in mil("award", str(eco), "alice", "3000", "--ref", "1", "-k", "eco", *common)
    assert "already awarded" in mil("award", str(eco), "alice", "3000", "--ref", "1", "-k", "eco", *common)
    mil("advance-time", "--epochs", "1", "-a", "admin", *common)
    mil("award", str(tax), "alice", "2000", "--ref", "1", "-k", "tax", *common)
    out = mil("redeem", str(shop), "1000", "--order", "BAKERY-0001", "-k", "alice", *common)
    assert "balance now 4,000" in out
    mil("advance-time", "--epochs", "5", "-a", "admin", *common)  # the Eco points (first epoch) expire
    table = mil("balance", "alice", *common)
    assert "balance 2,000" in table and "expired" in table
    out = mil("redeem", str(shop), "500", "--order", "BAKERY-0002", "-k", "alice", *common)
    assert "expired 2,000 points" in out and "balance now 1,500" in out
    assert "insufficient" in mil(
        "redeem", str(shop), "5000", "--order", "X", "-k", "alice", *common, ok=False
    ).lower() or "not enough" in mil("redeem", str(shop), "5000", "--order", "X", "-k", "alice", *common, ok=False)
    statement = _json.loads(mil("report", "statement", "alice", "--json", *common))
    assert [e["kind"] for e in statement["entries"]] == ["award", "award", "redemption", "expiry", "redemption"]
    assert statement["conserved"] and statement["balance"] == 1500 and statement["expired"] == 2000
    api_only = ["--api", env.url]
    liability = mil("report", "liability", *api_only)
    assert "balanced" in liability and "NOT" not in liability
    report = _json.loads(mil("report", "liability", "--json", *api_only))
    rows = {r["program_id"]: r for r in report["rows"]}
    assert (rows[eco]["redeemed"], rows[eco]["expired"], rows[eco]["outstanding"]) == (1000, 2000, 0)
    assert (rows[tax]["redeemed"], rows[tax]["outstanding"]) == (500, 1500)
    csv_out = data / "merchants.csv"
    mil("report", "merchants", "--csv", str(csv_out), *api_only)
    assert csv_out.read_text().startswith("merchant_id,name,epoch")
    assert "settled" in mil("merchant", "settle", str(shop), "--period", "202611", "-a", "admin", *common)
    assert "error" in mil("award", str(eco), "alice", "1", "--ref", "2", "-k", "tax", *common, ok=False)


def test_bad_input_is_a_4xx_naming_the_problem_never_a_500(env: Env) -> None:
    if env.platform.chain.tester is None:
        pytest.skip("input validation: embedded only")
    admin = bearer(env.admin_token)
    merchant = new_merchant(env, "Overflow bakery")
    # A settlement amount past uint256 reached the contract call and failed to encode (500).
    r = env.api.post(f"/mileage/merchants/{merchant}/settlements", json={"period": 1, "amount": 2**300}, headers=admin)
    assert "amount" in error(r, 422, "invalid_input")
    # Deadlines and nonces past uint256 are refused by name.
    body = {
        "account": Account.create().address,
        "amount": 1,
        "ref": 1,
        "deadline": 2**300,
        "signature": "0x" + "11" * 65,
    }
    assert "deadline" in error(env.api.post("/mileage/programs/1/awards", json=body), 422, "invalid_input")
    body = {
        "account": Account.create().address,
        "merchant_id": merchant,
        "amount": 1,
        "nonce": 2**300,
        "deadline": 1,
        "signature": "0x" + "11" * 65,
    }
    assert "nonce" in error(env.api.post("/mileage/redemptions", json=body), 422, "invalid_input")
    # A zero business number hash got the bare contract error name "CivicMileageEmptyBusinessNumberHash()".
    r = env.api.post(
        "/mileage/merchants", json={"name": "M", "business_number_hash": "0x" + "00" * 32, "district": 1}, headers=admin
    )
    msg = error(r, 422, "invalid_input")
    assert "business_number_hash" in msg and "must not be zero" in msg
    # Names are UTF-8 on chain: an unpaired surrogate is refused, naming the field.
    body_text = json.dumps({"name": "\ud800", "awarder": Account.create().address, "annual_cap": 5})
    r = env.api.post("/mileage/programs", content=body_text, headers={**admin, "content-type": "application/json"})
    assert error(r, 422, "invalid_input").startswith("name: ")
