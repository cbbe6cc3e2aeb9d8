"""The one signed-action table and pipeline (:mod:`civic_ledger.platform.actions`), over every area on it.

For every declared action: its EIP-712 type string is the contract's ``*_TYPEHASH`` preimage (the
string in the Solidity source, and its keccak the deployed constant's value), and a signature by
anyone but the named signer is refused through the real HTTP API with the one 403 of
``eip712.TypedMessage.require_signer`` — before any transaction is sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from civic_ledger.mileage.actions import ACTIONS as MILEAGE
from civic_ledger.payments.actions import ACTIONS as PAYMENTS
from civic_ledger.platform.actions import Action
from civic_ledger.platform.compiler import NODE_MODULES, PROJECT_ROOT
from civic_ledger.platform.runtime import Platform
from civic_ledger.vehicles.actions import ACTIONS as VEHICLES
from tests.conftest import LiveServer, started_platform
from tests.helpers import grant_role, make_registrar, ok, register_citizen, sign_in, sign_typed
from tests.test_payments import City, evidence

AREAS: dict[str, dict[str, Action]] = {"payments": PAYMENTS, "vehicles": VEHICLES, "mileage": MILEAGE}
CASES = [(area, key) for area, table in AREAS.items() for key in table]
IDS = [f"{area}.{key}" for area, key in CASES]

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
class Case:
    path: str  # the relay route; the typed-data route is path + "/typed-data"
    body: dict[str, Any]  # the action's own fields (both requests)
    role: str  # who the 403 names
    signed: Callable[[dict[str, Any]], dict[str, Any]]  # typed-data answer → the fields it adds to the relay


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

    return Case(path, body, f"signer of {PAYMENTS[key].primary}", signed)


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
    path = "/vehicles" if key == "register" else f"/vehicles/{VIN}/{SEGMENTS[key]}"

    def signed(typed: dict[str, Any]) -> dict[str, Any]:
        offer = {"offer_id": typed["typed_data"]["message"]["offerId"]} if key == "offer" else {}
        return {"nonce": typed["nonce"] or 0, "deadline": typed["deadline"], **offer}

    return Case(path, {**body, "signer": signer.address}, VEHICLES[key].label, signed)


SEGMENTS = {
    "reading": "readings",
    "inspection": "inspections",
    "claim": "claims",
    "encumbrance": "encumbrances",
    "maintenance": "maintenance",
    "purchase": "purchases",
    "offer": "offers",
    "accept": "acceptances",
}


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

    return Case(path, body, "citizen" if key == "redeem" else f"awarder of program {program}", signed)


BUILDERS: dict[str, Callable[[Stack, str], Case]] = {"payments": _payments, "vehicles": _vehicles, "mileage": _mileage}


@pytest.mark.parametrize(("area", "key"), CASES, ids=IDS)
def test_forged_signature_is_refused_before_any_transaction(stack: Stack, area: str, key: str) -> None:
    case = BUILDERS[area](stack, key)
    typed = ok(stack.api.post(case.path + "/typed-data", json=case.body))
    assert typed["typed_data"]["primaryType"] == AREAS[area][key].primary
    forger = Account.create()
    body = {**case.body, **case.signed(typed), "signature": sign_typed(forger, typed["typed_data"])}
    head = stack.platform.chain.w3.eth.block_number
    r = stack.api.post(case.path, json=body)
    assert r.status_code == 403, r.text
    wanted = typed["signer"]
    assert r.json() == {
        "error": "invalid_signature",
        "message": f"signature does not recover to the {case.role} {wanted} (it recovers to {forger.address}): "
        f"sign exactly the {AREAS[area][key].primary} typed data of the matching typed-data endpoint with that key",
        "details": {"expected_signer": wanted, "recovered": forger.address, "role": case.role, "field": "signature"},
    }
    assert stack.platform.chain.w3.eth.block_number == head  # refused off chain: no gas spent
