"""The signed actions of ``SubcontractPayments`` (and the token's ERC-2612 permit) as data.

Each :class:`Action` knows its EIP-712 primary type and fields (identical to the contract's
``*_TYPEHASH`` strings, checked by the tests), which field names the signer, and how the
message becomes the contract call's arguments. API field names are snake_case; EIP-712 message
fields are the contract's camelCase.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PURPOSES: dict[int, str] = {1: "labour", 2: "subcontract", 3: "material", 4: "equipment", 5: "prime"}
PURPOSE_CODES: dict[str, int] = {v: k for k, v in PURPOSES.items()}
ROLES: dict[int, str] = {1: "prime", 2: "subcontractor", 3: "supplier", 4: "worker"}
ROLE_CODES: dict[str, int] = {v: k for k, v in ROLES.items()}
GROUNDS: dict[int, str] = {
    1: "three_party_agreement",
    2: "prime_insolvency",
    3: "two_missed_instalments",
    4: "no_payment_guarantee",
}
GROUND_CODES: dict[str, int] = {v: k for k, v in GROUNDS.items()}

PARTICIPANT_TYPE = [
    {"name": "account", "type": "address"},
    {"name": "role", "type": "uint8"},
    {"name": "employer", "type": "address"},
    {"name": "contractAmount", "type": "uint256"},
]
LINE_TYPE = [
    {"name": "payee", "type": "address"},
    {"name": "purpose", "type": "uint8"},
    {"name": "amount", "type": "uint256"},
    {"name": "evidence", "type": "bytes32"},
]
_TAIL = [{"name": "nonce", "type": "uint256"}, {"name": "deadline", "type": "uint256"}]


def _f(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": n, "type": t} for n, t in pairs] + _TAIL


@dataclass(frozen=True)
class Action:
    """One signed action: EIP-712 types, the signer field, the contract function and its args."""

    key: str
    primary: str
    types: dict[str, list[dict[str, str]]]
    signer: str
    function: str
    #: message field names in the order of the contract function's arguments (before the signature)
    args: tuple[str, ...]
    typehash_constant: str
    contract: str = "SubcontractPayments"

    @property
    def fields(self) -> list[str]:
        return [f["name"] for f in self.types[self.primary]]


ACTIONS: dict[str, Action] = {
    a.key: a
    for a in [
        Action(
            "register_project",
            "RegisterProject",
            {
                "RegisterProject": _f(
                    ("projectRef", "bytes32"),
                    ("prime", "address"),
                    ("contractAmount", "uint256"),
                    ("participants", "Participant[]"),
                    ("client", "address"),
                ),
                "Participant": PARTICIPANT_TYPE,
            },
            "client",
            "registerProject",
            ("projectRef", "prime", "contractAmount", "participants", "client", "nonce", "deadline"),
            "REGISTER_PROJECT_TYPEHASH",
        ),
        Action(
            "add_participants",
            "AddParticipants",
            {
                "AddParticipants": _f(
                    ("projectId", "uint256"), ("participants", "Participant[]"), ("client", "address")
                ),
                "Participant": PARTICIPANT_TYPE,
            },
            "client",
            "addParticipants",
            ("projectId", "participants", "client", "nonce", "deadline"),
            "ADD_PARTICIPANTS_TYPEHASH",
        ),
        Action(
            "fund",
            "FundProject",
            {
                "FundProject": _f(
                    ("projectId", "uint256"), ("purpose", "uint8"), ("amount", "uint256"), ("client", "address")
                )
            },
            "client",
            "fund",
            ("projectId", "purpose", "amount", "client", "nonce", "deadline"),
            "FUND_PROJECT_TYPEHASH",
        ),
        Action(
            "submit_claim",
            "SubmitClaim",
            {
                "SubmitClaim": _f(("projectId", "uint256"), ("lines", "Line[]"), ("prime", "address")),
                "Line": LINE_TYPE,
            },
            "prime",
            "submitClaim",
            ("projectId", "lines", "prime", "nonce", "deadline"),
            "SUBMIT_CLAIM_TYPEHASH",
        ),
        Action(
            "confirm_lines",
            "ConfirmLines",
            {"ConfirmLines": _f(("claimId", "uint256"), ("lines", "uint256"), ("confirmer", "address"))},
            "confirmer",
            "confirmLines",
            ("claimId", "lines", "confirmer", "nonce", "deadline"),
            "CONFIRM_LINES_TYPEHASH",
        ),
        Action(
            "approve_claim",
            "ApproveClaim",
            {"ApproveClaim": _f(("claimId", "uint256"), ("inspector", "address"))},
            "inspector",
            "approveClaim",
            ("claimId", "inspector", "nonce", "deadline"),
            "APPROVE_CLAIM_TYPEHASH",
        ),
        Action(
            "direct_payment",
            "DirectPayment",
            {
                "DirectPayment": _f(
                    ("claimId", "uint256"), ("line", "uint256"), ("ground", "uint8"), ("client", "address")
                )
            },
            "client",
            "directPay",
            ("claimId", "line", "ground", "client", "nonce", "deadline"),
            "DIRECT_PAYMENT_TYPEHASH",
        ),
        Action(
            "close_project",
            "CloseProject",
            {"CloseProject": _f(("projectId", "uint256"), ("client", "address"))},
            "client",
            "closeProject",
            ("projectId", "client", "nonce", "deadline"),
            "CLOSE_PROJECT_TYPEHASH",
        ),
        Action(
            "withdraw",
            "Withdraw",
            {"Withdraw": _f(("payee", "address"), ("to", "address"))},
            "payee",
            "withdrawTo",
            ("payee", "to", "nonce", "deadline"),
            "WITHDRAW_TYPEHASH",
        ),
        Action(
            "permit",
            "Permit",
            {
                "Permit": [
                    {"name": "owner", "type": "address"},
                    {"name": "spender", "type": "address"},
                    {"name": "value", "type": "uint256"},
                ]
                + _TAIL
            },
            "owner",
            "permit",
            ("owner", "spender", "value", "deadline"),
            "",
            contract="CivicWon",
        ),
    ]
}


def to_contract_value(name: str, value: Any) -> Any:
    """A message value as the contract call wants it (structs as tuples, hex as bytes)."""
    if name == "participants":
        return [(p["account"], int(p["role"]), p["employer"], int(p["contractAmount"])) for p in value]
    if name == "lines":
        if isinstance(value, list):
            return [(ln["payee"], int(ln["purpose"]), int(ln["amount"]), _bytes32(ln["evidence"])) for ln in value]
        return int(value)
    if name in ("projectRef", "evidence"):
        return _bytes32(value)
    return value


def _bytes32(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return bytes.fromhex(str(value).removeprefix("0x"))
