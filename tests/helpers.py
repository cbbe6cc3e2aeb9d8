"""Test helpers shared by the area tests (chain set-up that is not under test itself)."""

from __future__ import annotations

from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import Platform

REGISTER_TYPES = {
    "RegisterCitizen": [
        {"name": "account", "type": "address"},
        {"name": "district", "type": "uint8"},
        {"name": "birthYear", "type": "uint16"},
        {"name": "residency", "type": "uint8"},
        {"name": "recordHash", "type": "bytes32"},
        {"name": "registrar", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}
SUSPEND_TYPES = {
    "SuspendCitizen": [
        {"name": "citizenId", "type": "uint256"},
        {"name": "reason", "type": "uint8"},
        {"name": "registrar", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}
RECOVER_TYPES = {
    "RecoverKey": [
        {"name": "citizenId", "type": "uint256"},
        {"name": "newAccount", "type": "address"},
        {"name": "registrar", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


#: URL of each running interval anvil → the operator settings a platform on it needs (see
#: ``tests.conftest.IntervalAnvil``; one dict whichever way conftest was imported).
INTERVAL_NODES: dict[str, dict[str, object]] = {}


def grant_role(platform: Platform, contract_name: str, role_constant: str, account: str) -> None:
    """Operator (admin) grants ``role_constant`` (e.g. ``REGISTRAR_ROLE``) of a contract."""
    contract = platform.deployment.contract(contract_name)
    role = getattr(contract.functions, role_constant)().call()
    platform.relayer.transact(contract.functions.grantRole(role, account))


def make_registrar(platform: Platform) -> LocalAccount:
    registrar = Account.create()
    grant_role(platform, "CitizenRegistry", "REGISTRAR_ROLE", registrar.address)
    return registrar


def register_citizen(
    platform: Platform,
    registrar: LocalAccount,
    account: str,
    *,
    district: int = 1,
    birth_year: int = 1990,
    residency: int = 1,
) -> int:
    """Register ``account`` as a citizen directly on the contract; returns the citizen id."""
    registry = platform.deployment.contract("CitizenRegistry")
    nonce = registry.functions.nonces(registrar.address).call()
    record_hash = keccak(text=f"record of {account}")
    message = {
        "account": account,
        "district": district,
        "birthYear": birth_year,
        "residency": residency,
        "recordHash": record_hash,
        "registrar": registrar.address,
        "nonce": nonce,
        "deadline": eip712.deadline(now=platform.chain.now()),
    }
    signature = _registry_typed(platform, "RegisterCitizen", REGISTER_TYPES, message).sign(registrar)
    platform.relayer.transact(
        registry.functions.registerCitizen(
            account,
            district,
            birth_year,
            residency,
            record_hash,
            registrar.address,
            nonce,
            message["deadline"],
            signature,
        )
    )
    return int(registry.functions.citizenIdOf(account).call())


def _registry_typed(
    platform: Platform, primary: str, types: dict[str, list[dict[str, str]]], message: dict[str, Any]
) -> eip712.TypedMessage:
    registry = platform.deployment.contract("CitizenRegistry")
    return eip712.TypedMessage(
        eip712.domain("CitizenRegistry", platform.chain.chain_id, registry.address), primary, types, message
    )


def citizen_id_of(platform: Platform, account: str) -> int:
    return int(platform.deployment.contract("CitizenRegistry").functions.citizenIdOf(account).call())


def suspend_citizen(
    platform: Platform, registrar: LocalAccount, citizen: int | str, *, reason: int = 1, deadline: int | None = None
) -> Any:
    """The registrar signs SuspendCitizen and the operator relays it; returns the receipt.

    ``citizen`` is a citizen id or an account; the deadline defaults to an hour after the chain's
    clock (tests move chain time ahead of the wall clock).
    """
    registry = platform.deployment.contract("CitizenRegistry")
    citizen_id = citizen if isinstance(citizen, int) else citizen_id_of(platform, citizen)
    nonce = registry.functions.nonces(registrar.address).call()
    deadline = eip712.deadline(now=platform.chain.now()) if deadline is None else deadline
    message = {
        "citizenId": citizen_id,
        "reason": reason,
        "registrar": registrar.address,
        "nonce": nonce,
        "deadline": deadline,
    }
    signature = _registry_typed(platform, "SuspendCitizen", SUSPEND_TYPES, message).sign(registrar)
    return platform.relayer.transact(
        registry.functions.suspendCitizen(citizen_id, reason, registrar.address, nonce, deadline, signature)
    )


def recover_key(platform: Platform, registrar: LocalAccount, old: str, new: str, *, deadline: int | None = None) -> Any:
    """The registrar signs RecoverKey (``old`` account's citizen → ``new``) and the operator relays it."""
    registry = platform.deployment.contract("CitizenRegistry")
    citizen_id = citizen_id_of(platform, old)
    nonce = registry.functions.nonces(registrar.address).call()
    deadline = eip712.deadline(now=platform.chain.now()) if deadline is None else deadline
    message = {
        "citizenId": citizen_id,
        "newAccount": new,
        "registrar": registrar.address,
        "nonce": nonce,
        "deadline": deadline,
    }
    signature = _registry_typed(platform, "RecoverKey", RECOVER_TYPES, message).sign(registrar)
    return platform.relayer.transact(
        registry.functions.recoverKey(citizen_id, new, registrar.address, nonce, deadline, signature)
    )


def travel(platform: Platform, seconds: int) -> None:
    """Move chain time ``seconds`` past the chain's clock and mine a block there.

    Embedded: eth-tester ``time_travel`` from the later of the pending block's time and the chain's
    clock (an idle embedded chain lags the wall clock); anvil: ``evm_increaseTime`` + ``evm_mine``.
    Modules that call this on anvil start a node of their own (``module_chain(own_anvil=True)``).
    """
    chain = platform.chain
    if chain.tester is not None:
        with chain.lock:
            pending = int(chain.tester.get_block_by_number("pending")["timestamp"])
            chain.tester.time_travel(max(pending, chain.now()) + seconds)
            chain.tester.mine_blocks(1)
    else:
        chain.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def sign_in(api: httpx.Client, account: LocalAccount) -> str:
    """A SIWE session token for ``account`` (the city admin signs in like any agency)."""
    r = api.get("/auth/nonce", params={"address": account.address})
    assert r.status_code == 200, r.text
    message = r.json()["message"]
    signature = account.sign_message(encode_defunct(text=message)).signature
    r = api.post("/auth/login", json={"message": message, "signature": "0x" + bytes(signature).hex()})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_typed(account: LocalAccount, typed_data: dict[str, Any]) -> str:
    """``0x``-hex EIP-712 signature of ``typed_data`` (the JSON the API's typed-data routes give)."""
    return "0x" + eip712.TypedMessage.from_dict(typed_data).sign(account).hex()


def ok(r: httpx.Response, status: int = 200) -> Any:
    """The JSON of ``r``, asserting its status."""
    assert r.status_code == status, r.text
    return r.json()


def assert_error(r: httpx.Response, status: int, error: str, *fragments: str) -> dict[str, Any]:
    """``r`` is the JSON error ``error`` with ``status``, its message naming every fragment."""
    assert r.status_code == status, r.text
    body = dict(r.json())
    assert body["error"] == error, body
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    return body


def error(r: httpx.Response, status: int, code: str) -> str:
    """``r`` is the JSON error ``code`` with ``status``; returns its message."""
    assert r.status_code == status, r.text
    assert r.json()["error"] == code, r.text
    return str(r.json()["message"])


class Counter:
    """Counts calls of a method of one object (the chain's own eth_getLogs, the indexer's reads)."""

    def __init__(self, obj: Any, name: str) -> None:
        self.calls: list[tuple[Any, ...]] = []
        original = getattr(obj, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((*args, *kwargs.values()))
            return original(*args, **kwargs)

        setattr(obj, name, counted)


def register_via_api(
    api: httpx.Client, registrar: LocalAccount, fields: dict[str, Any], **typed_extra: Any
) -> httpx.Response:
    """A citizen registration the way a registrar does it: ``POST /identity/citizens/typed-data``, the
    registrar's signature, ``POST /identity/citizens``. A refused typed-data request is the answer."""
    typed = api.post("/identity/citizens/typed-data", json={**fields, "registrar": registrar.address, **typed_extra})
    if typed.status_code != 200:
        return typed
    t = typed.json()
    body = {
        **fields,
        "record_hash": t["record_hash"],
        "registrar": registrar.address,
        "nonce": t["nonce"],
        "deadline": t["deadline"],
        "signature": sign_typed(registrar, t["typed_data"]),
    }
    return api.post("/identity/citizens", json=body)
