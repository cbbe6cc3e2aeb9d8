"""Test helpers shared by the area tests (chain set-up that is not under test itself)."""

from __future__ import annotations

from eth_account import Account
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
    typed = eip712.TypedMessage(
        eip712.domain("CitizenRegistry", platform.chain.chain_id, registry.address),
        "RegisterCitizen",
        REGISTER_TYPES,
        message,
    )
    signature = typed.sign(registrar)
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
