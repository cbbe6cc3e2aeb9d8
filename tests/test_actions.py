"""The one signed-action table and pipeline (:mod:`civic_ledger.platform.actions`), over every area on it.

For every declared action: its EIP-712 type string is the contract's ``*_TYPEHASH`` preimage (the
string in the Solidity source, and its keccak the deployed constant's value), and a signature by
anyone but the named signer is refused through the real HTTP API with the one 403 of
``eip712.TypedMessage.require_signer`` — before any transaction is sent. A co-signed action (a
key rotation, a labour contract) is tried once per signer: that one forged, the others genuine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from civic_ledger.errors import InvalidInput
from civic_ledger.identity.actions import ACTIONS as IDENTITY
from civic_ledger.labor.actions import ACTIONS as LABOR
from civic_ledger.mileage.actions import ACTIONS as MILEAGE
from civic_ledger.payments.actions import ACTIONS as PAYMENTS
from civic_ledger.platform.actions import Action, Signed
from civic_ledger.platform.compiler import NODE_MODULES, PROJECT_ROOT
from civic_ledger.platform.runtime import Platform
from civic_ledger.vehicles.actions import ACTIONS as VEHICLES
from tests.conftest import LiveServer, started_platform
from tests.helpers import grant_role, make_registrar, ok, register_citizen, sign_in, sign_typed, suspend_citizen
from tests.test_payments import City, evidence
from tests.test_vehicles import path_of

AREAS: dict[str, dict[str, Action]] = {
    "payments": PAYMENTS,
    "vehicles": VEHICLES,
    "mileage": MILEAGE,
    "identity": IDENTITY,
    "labor": LABOR,
}
CASES = [(area, key) for area, table in AREAS.items() for key in table]
IDS = [f"{area}.{key}" for area, key in CASES]
#: every signer of every action: 0 the signer, 1... its co-signers
SIGNERS = [(area, key, i) for area, key in CASES for i in range(1 + len(AREAS[area][key].cosigners))]
COSIGNED = [(area, key) for area, key in CASES if AREAS[area][key].cosigners]
SIGNER_IDS = [
    f"{area}.{key}" + (f"+{AREAS[area][key].cosigners[i - 1].signer}" if i else "") for area, key, i in SIGNERS
]

#: typehashes a contract inherits privately: (source file, constant)
INHERITED = {
    "permit": (NODE_MODULES / "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol", "PERMIT_TYPEHASH")
}


def preimage(action: Action) -> str:
    """The string the contract's source hashes into the action's typehash constant."""
    source, constant = INHERITED.get(action.key) or (
        PROJECT_ROOT / "contracts" / f"{action.contract}.sol",
        action.typehash_constant,
    )
    m = re.search(rf"\b{constant}\s*=\s*keccak256\(((?:\s*\"[^\"]*\")+)\s*\)", source.read_text())
    assert m, f"{constant} not found in {source}"
    return "".join(re.findall(r'"([^"]*)"', m.group(1)))  # adjacent literals concatenate


# -- the stack: one embedded chain and server for the module ------------------------------------


@dataclass
class Stack:
    platform: Platform
    api: httpx.Client
    made: dict[str, Any] = field(default_factory=dict)

    def once(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self.made:
            self.made[name] = make()
        return self.made[name]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = Path(tmp_path_factory.mktemp("actions")) / "data"
    with started_platform("embedded", data) as p, LiveServer(p) as server, server.client(timeout=120) as client:
        yield Stack(p, client)


def test_every_area_declares_its_actions_on_the_platform_dataclass() -> None:
    assert {type(a) for table in AREAS.values() for a in table.values()} == {Action}
    assert all(key == a.key for table in AREAS.values() for key, a in table.items())


@pytest.mark.parametrize(("area", "key"), CASES, ids=IDS)
def test_type_string_is_the_contracts_typehash_preimage(stack: Stack, area: str, key: str) -> None:
    action = AREAS[area][key]
    assert action.type_string() == preimage(action)
    if action.typehash_constant:  # public: the deployed constant is the keccak of the same string
        contract = stack.platform.deployment.contract(action.contract)
        deployed = bytes(getattr(contract.functions, action.typehash_constant)().call())
        assert keccak(text=action.type_string()) == deployed


# -- a forged signature, per action ---------------------------------------------------------------


@dataclass
class Signer:
    role: str  # who the 403 names
    body_field: str = "signature"  # the relay request's field carrying the signature
    named: str = ""  # the field the 403 names (default: body_field)
    key: LocalAccount | None = None  # signs for real while another signer's signature is forged

    @property
    def field(self) -> str:
        return self.named or self.body_field


@dataclass
class Case:
    path: str  # the relay route; the typed-data route is path + "/typed-data"
    body: dict[str, Any]  # the action's own fields (both requests)
    signers: list[Signer]  # the signer, then the co-signers
    signed: Callable[[dict[str, Any]], dict[str, Any]]  # typed-data answer → the fields it adds to the relay
    relay_body: dict[str, Any] | None = None  # the relay's own fields when not ``body``


def _payments(s: Stack, key: str) -> Case:
    def setup() -> dict[str, Any]:
        city = City(s.platform, s.api)
        project = city.project(workers=1)
        claim = project.claim([(project.sub, "subcontract", 1_000)])["claim_id"]
        return {"city": city, "project": project, "claim": claim}

    env = s.once("payments", setup)
    city, project, claim = env["city"], env["project"], env["claim"]
    client, prime = city.client.address, project.prime.address
    pid = project.id
    stranger = Account.create().address
    line = {"payee": project.sub.address, "purpose": "subcontract", "amount": 5, "evidence": evidence(key)}
    cases: dict[str, tuple[str, dict[str, Any]]] = {
        "register_project": (
            "/payments/projects",
            {
                "project_ref": evidence("forged project"),
                "prime": prime,
                "contract_amount": 1_000,
                "participants": [{"account": stranger, "role": "supplier", "contract_amount": 10}],
                "client": client,
            },
        ),
        "add_participants": (
            f"/payments/projects/{pid}/participants",
            {"participants": [{"account": stranger, "role": "supplier", "contract_amount": 10}], "client": client},
        ),
        "fund": (f"/payments/projects/{pid}/funding", {"purpose": "labour", "amount": 1, "client": client}),
        "close_project": (f"/payments/projects/{pid}/close", {"client": client}),
        "submit_claim": (f"/payments/projects/{pid}/claims", {"lines": [line], "prime": prime}),
        "confirm_lines": (f"/payments/claims/{claim}/confirmations", {"confirmer": prime, "lines": [0]}),
        "approve_claim": (f"/payments/claims/{claim}/approvals", {"inspector": city.inspector.address}),
        "direct_payment": (
            f"/payments/claims/{claim}/direct-payments",
            {"line": 0, "ground": "three_party_agreement", "client": client},
        ),
        "withdraw": (f"/payments/credits/{project.sub.address}/withdrawals", {"to": stranger}),
        "permit": ("/payments/allowances", {"owner": client, "value": 1}),
    }
    path, body = cases[key]

    def signed(typed: dict[str, Any]) -> dict[str, Any]:
        m = typed["typed_data"]["message"]
        return {
            "nonce": m["nonce"],
            "deadline": m["deadline"],
            **({"lines": m["lines"]} if key == "confirm_lines" else {}),
        }

    return Case(path, body, [Signer(f"signer of {PAYMENTS[key].primary}")], signed)


VEHICLE_ROLES = {"registry": "REGISTRY_ROLE", "dealer": "DEALER_ROLE", "inspector": "INSPECTOR_ROLE"}
VEHICLE_ROLES |= {"insurer": "INSURER_ROLE", "shop": "SHOP_ROLE"}
VIN = "KMHAC81CBLU000001"


def _vehicles(s: Stack, key: str) -> Case:
    def setup() -> dict[str, LocalAccount]:
        roles = {name: Account.create() for name in VEHICLE_ROLES}
        for name, role in VEHICLE_ROLES.items():
            grant_role(s.platform, "VehicleHistory", role, roles[name].address)
        registry = roles["registry"]
        fields = {"vin": VIN, "make": "Kia", "model": "K5", "model_year": 2022, "first_registered": "2022-05-01"}
        fields |= {"owner": roles["dealer"].address, "signer": registry.address}
        typed = ok(s.api.post("/vehicles/typed-data", json=fields))
        sig = sign_typed(registry, typed["typed_data"])
        signed = {"nonce": typed["nonce"], "deadline": typed["deadline"], "signature": sig}
        ok(s.api.post("/vehicles", json={**fields, **signed}), 201)
        return roles

    r = s.once("vehicles", setup)
    h = evidence(key)
    buyer = Account.create().address
    fields: dict[str, tuple[LocalAccount, dict[str, Any]]] = {
        "register": (
            r["registry"],
            {"vin": "KMHAC81CBLU000002", "make": "Kia", "model": "K5", "model_year": 2022}
            | {"first_registered": "2022-05-01", "owner": r["dealer"].address},
        ),
        "reading": (r["inspector"], {"km": 10, "source": "inspection"}),
        "inspection": (r["inspector"], {"km": 10, "accident_repair": False, "record_hash": h}),
        "claim": (r["insurer"], {"kind": "accident", "claim_hash": h}),
        "encumbrance": (r["registry"], {"kind": "lien", "active": True, "ref_hash": h}),
        "maintenance": (r["shop"], {"km": 10, "work_hash": h}),
        "purchase": (r["dealer"], {"seller": Account.create().address, "price": 1}),
        "offer": (r["dealer"], {"buyer": buyer, "price": 1, "inspection_id": 1}),
        "accept": (r["dealer"], {"offer_id": 1, "price": 1, "inspection_id": 1}),
    }
    signer, body = fields[key]
    path = path_of(key, VIN)

    def signed(typed: dict[str, Any]) -> dict[str, Any]:
        offer = {"offer_id": typed["typed_data"]["message"]["offerId"]} if key == "offer" else {}
        return {"nonce": typed["nonce"] or 0, "deadline": typed["deadline"], **offer}

    return Case(path, {**body, "signer": signer.address}, [Signer(VEHICLES[key].label)], signed)


def _mileage(s: Stack, key: str) -> Case:
    def setup() -> dict[str, Any]:
        admin = {"Authorization": f"Bearer {sign_in(s.api, s.platform.operator)}"}
        awarder, citizen = Account.create(), Account.create()
        register_citizen(s.platform, make_registrar(s.platform), citizen.address)
        body = {"name": "forgery test", "awarder": awarder.address, "annual_cap": 10**6}
        program = ok(s.api.post("/mileage/programs", json=body, headers=admin), 201)["program_id"]
        return {"program": program, "citizen": citizen.address}

    env = s.once("mileage", setup)
    program, citizen = env["program"], env["citizen"]
    item = {"account": citizen, "amount": 10, "ref": 1}
    cases = {
        "award": (f"/mileage/programs/{program}/awards", item),
        "award_batch": (f"/mileage/programs/{program}/awards/batch", {"awards": [item]}),
        "import_legacy": (
            f"/mileage/programs/{program}/legacy-imports",
            {"entries": [{"account": citizen, "amount": 10}]},
        ),
        "redeem": (
            "/mileage/redemptions",
            {"citizen": citizen, "merchant_id": 1, "amount": 1, "order_ref": evidence("order")},
        ),
    }
    path, body = cases[key]

    def signed(typed: dict[str, Any]) -> dict[str, Any]:
        return {"deadline": typed["deadline"], **({"nonce": typed["nonce"]} if key == "redeem" else {})}

    return Case(path, body, [Signer("citizen" if key == "redeem" else f"awarder of program {program}")], signed)


def _identity(s: Stack, key: str) -> Case:
    def setup() -> dict[str, Any]:
        registrar, active, suspended = make_registrar(s.platform), Account.create(), Account.create()
        ids = {a.address: register_citizen(s.platform, registrar, a.address) for a in (active, suspended)}
        suspend_citizen(s.platform, registrar, ids[suspended.address])
        return {
            "registrar": registrar,
            "active": active,
            "id": ids[active.address],
            "suspended": ids[suspended.address],
        }

    env = s.once("identity", setup)
    registrar, active = env["registrar"], env["active"]

    def signed(typed: dict[str, Any]) -> dict[str, Any]:
        record = {"record_hash": typed["record_hash"]} if "record_hash" in typed else {}
        return {"nonce": typed["nonce"], "deadline": typed["deadline"], **record}

    if key == "rotate":  # both keys sign; the 403 names the request's signature field either way
        new = Account.create()
        keys = [
            Signer("old key", "old_signature", "signature", active),
            Signer("new key", "new_signature", "signature", new),
        ]
        return Case("/identity/rotations", {"old_account": active.address, "new_account": new.address}, keys, signed)
    attributes = {"district": "Mapo", "birth_year": 1990, "residency": "resident"}
    by_id = f"/identity/citizens/by-id/{env['id']}"
    cases = {
        "register": ("/identity/citizens", {"account": Account.create().address, **attributes}),
        "update": (f"{by_id}/update", attributes),
        "suspend": (f"{by_id}/suspend", {"reason": "lost_device"}),
        "reinstate": (f"/identity/citizens/by-id/{env['suspended']}/reinstate", {}),
        "recover": (f"{by_id}/recover", {"new_account": Account.create().address}),
    }
    path, body = cases[key]
    return Case(path, {**body, "registrar": registrar.address}, [Signer("registrar", key=registrar)], signed)


MON = date(2026, 3, 2)  # a Monday


def _shifts(week_start: date) -> list[dict[str, Any]]:
    days = [week_start + timedelta(days=d) for d in range(5)]
    return [{"date": d.isoformat(), "start": "09:00", "end": "13:30", "break_minutes": 30} for d in days]


def _labor(s: Stack, key: str) -> Case:
    def setup() -> dict[str, Any]:
        employer, worker = Account.create(), Account.create()
        register_citizen(s.platform, make_registrar(s.platform), worker.address)
        terms = {"employer": employer.address, "worker": worker.address, "document_hash": evidence("labour contract")}
        terms |= {"workplace_id": evidence("workplace"), "hourly_wage": 10_320, "daily_minutes": 240}
        terms |= {"weekly_minutes": 1200, "work_days": ["mon", "tue", "wed", "thu", "fri"]}
        terms |= {"start_date": "2026-03-02", "end_date": "2026-12-31", "pay_cycle": "weekly", "pay_day": 5}
        terms |= {"break_minutes": 30, "five_or_more_employees": True}
        td = ok(s.api.post("/labor/contracts/typed-data", json=terms))
        both = {
            f"{p}_signature": sign_typed(a, td["typed_data"]) for p, a in (("employer", employer), ("worker", worker))
        }
        ok(s.api.post("/labor/contracts", json={"terms": terms, "deadline": td["deadline"], **both}), 201)
        weeks = f"/labor/contracts/{td['contract_id']}/weeks"
        week = {"week_start": MON.isoformat(), "entries": _shifts(MON)}
        wtd = ok(s.api.post(f"{weeks}/typed-data", json=week))
        signature = sign_typed(employer, wtd["typed_data"])
        ok(s.api.post(weeks, json={**week, "deadline": wtd["deadline"], "signature": signature}), 201)
        return {
            "employer": employer,
            "worker": worker,
            "terms": terms,
            "contract": f"/labor/contracts/{td['contract_id']}",
        }

    env = s.once("labor", setup)
    employer = Signer("employer", named="employer_signature", key=env["employer"])
    worker = Signer("worker", named="worker_signature", key=env["worker"])

    def deadline(typed: dict[str, Any]) -> dict[str, Any]:
        return {"deadline": typed["deadline"]}

    if key == "set_minimum_wage":  # the office's signature comes as `signature`, the 403 names `office_signature`
        body = {"year": 2027, "hourly_wage": 10_700, "office": Account.create().address}
        return Case(
            "/labor/minimum-wages",
            body,
            [Signer("office", named="office_signature")],
            lambda t: {"nonce": t["nonce"], **deadline(t)},
        )
    if key == "register_contract":  # co-signed: the terms go in `terms`
        terms = {**env["terms"], "document_hash": evidence("another labour contract")}
        both = [
            Signer("employer", "employer_signature", key=env["employer"]),
            Signer("worker", "worker_signature", key=env["worker"]),
        ]
        return Case("/labor/contracts", terms, both, deadline, relay_body={"terms": terms})
    week, next_monday = f"{env['contract']}/weeks/{MON.isoformat()}", MON + timedelta(days=7)
    statement = {"period_start": MON.isoformat(), "period_end": (MON + timedelta(days=6)).isoformat()}
    statement |= {"payment_date": "2026-03-13", "statement_hash": evidence("statement"), "base_pay": 1}
    cases = {
        "record_week": (
            f"{env['contract']}/weeks",
            {"week_start": next_monday.isoformat(), "entries": _shifts(next_monday)},
            employer,
        ),
        "confirm_week": (f"{week}/confirm", {}, worker),
        "dispute_week": (f"{week}/dispute", {"claimed_minutes": 600, "claimed_days": ["mon"], "reason": "x"}, worker),
        "record_statement": (f"{env['contract']}/statements", statement, employer),
    }
    path, body, signer = cases[key]
    return Case(path, body, [signer], deadline)


BUILDERS: dict[str, Callable[[Stack, str], Case]] = {
    "payments": _payments,
    "vehicles": _vehicles,
    "mileage": _mileage,
    "identity": _identity,
    "labor": _labor,
}


def _signers_of(typed: dict[str, Any]) -> list[str]:
    """Who the typed-data answer says must sign, in order (`signers`, or `signer`: one or a list)."""
    signers = typed.get("signers") or typed["signer"]
    return [to_checksum_address(a) for a in ([signers] if isinstance(signers, str) else signers)]


@pytest.mark.parametrize(("area", "key", "forged"), SIGNERS, ids=SIGNER_IDS)
def test_forged_signature_is_refused_before_any_transaction(stack: Stack, area: str, key: str, forged: int) -> None:
    action = AREAS[area][key]
    case = BUILDERS[area](stack, key)
    assert len(case.signers) == 1 + len(action.cosigners)
    typed = ok(stack.api.post(case.path + "/typed-data", json=case.body))
    assert typed["typed_data"]["primaryType"] == action.primary
    message = typed["typed_data"]["message"]
    wanted = _signers_of(typed)
    assert wanted[1:] == [to_checksum_address(message[c.signer]) for c in action.cosigners]
    forger = Account.create()
    signatures = {}
    for i, signer in enumerate(case.signers):
        by = forger if i == forged else signer.key
        assert by is not None, f"{area}.{key}: the genuine {signer.role} key is needed to forge another signer"
        signatures[signer.body_field] = sign_typed(by, typed["typed_data"])
    body = {**(case.relay_body or case.body), **case.signed(typed), **signatures}
    head = stack.platform.chain.w3.eth.block_number
    r = stack.api.post(case.path, json=body)
    assert r.status_code == 403, r.text
    who, field_, address = case.signers[forged].role, case.signers[forged].field, wanted[forged]
    assert r.json() == {
        "error": "invalid_signature",
        "message": f"{field_} does not recover to the {who} {address} (it recovers to {forger.address}): "
        f"sign exactly the {action.primary} typed data of the matching typed-data endpoint with that key",
        "details": {"expected_signer": address, "recovered": forger.address, "role": who, "field": field_},
    }
    assert stack.platform.chain.w3.eth.block_number == head  # refused off chain: no gas spent


@pytest.mark.parametrize(("area", "key"), COSIGNED, ids=[f"{a}.{k}" for a, k in COSIGNED])
def test_a_co_signed_action_is_not_sent_without_every_co_signature(stack: Stack, area: str, key: str) -> None:
    action = AREAS[area][key]
    message = {f: 0 for f in action.field_names} | {action.signer: Account.create().address}
    with pytest.raises(
        InvalidInput, match=rf"{action.primary}: 1 co-signature\(s\) needed \({action.cosigners[0].label}\), got 0"
    ):
        Signed(stack.platform, action, message, "0x" + "00" * 65).verify()
