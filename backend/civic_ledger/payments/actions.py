"""The signed actions of ``SubcontractPayments`` (and the token's ERC-2612 permit) as data.

Each :class:`~civic_ledger.platform.actions.Action` names its EIP-712 primary type and fields
(identical to the contract's ``*_TYPEHASH`` strings, checked by the tests), which field names the
signer, and how the message becomes the contract call's arguments; the platform's one pipeline
(:mod:`civic_ledger.platform.actions`) builds, checks and relays them. API field names are
snake_case; EIP-712 message fields are the contract's camelCase.
"""

from __future__ import annotations

from functools import partial

from civic_ledger.platform.actions import Action, declare, fields, table

__all__ = ["ACTIONS", "Action"]

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

PARTICIPANT_TYPE = fields(
    ("account", "address"), ("role", "uint8"), ("employer", "address"), ("contractAmount", "uint256")
)
LINE_TYPE = fields(("payee", "address"), ("purpose", "uint8"), ("amount", "uint256"), ("evidence", "bytes32"))


_action = partial(declare, "SubcontractPayments")

_PARTICIPANT = {"Participant": PARTICIPANT_TYPE}

ACTIONS: dict[str, Action] = table(
    _action(
        "register_project",
        "RegisterProject",
        (
            ("projectRef", "bytes32"),
            ("prime", "address"),
            ("contractAmount", "uint256"),
            ("participants", "Participant[]"),
            ("client", "address"),
        ),
        "client",
        "registerProject",
        "REGISTER_PROJECT_TYPEHASH",
        structs=_PARTICIPANT,
    ),
    _action(
        "add_participants",
        "AddParticipants",
        (("projectId", "uint256"), ("participants", "Participant[]"), ("client", "address")),
        "client",
        "addParticipants",
        "ADD_PARTICIPANTS_TYPEHASH",
        structs=_PARTICIPANT,
    ),
    _action(
        "fund",
        "FundProject",
        (("projectId", "uint256"), ("purpose", "uint8"), ("amount", "uint256"), ("client", "address")),
        "client",
        "fund",
        "FUND_PROJECT_TYPEHASH",
    ),
    _action(
        "submit_claim",
        "SubmitClaim",
        (("projectId", "uint256"), ("lines", "Line[]"), ("prime", "address")),
        "prime",
        "submitClaim",
        "SUBMIT_CLAIM_TYPEHASH",
        structs={"Line": LINE_TYPE},
    ),
    _action(
        "confirm_lines",
        "ConfirmLines",
        (("claimId", "uint256"), ("lines", "uint256"), ("confirmer", "address")),
        "confirmer",
        "confirmLines",
        "CONFIRM_LINES_TYPEHASH",
    ),
    _action(
        "approve_claim",
        "ApproveClaim",
        (("claimId", "uint256"), ("inspector", "address")),
        "inspector",
        "approveClaim",
        "APPROVE_CLAIM_TYPEHASH",
    ),
    _action(
        "direct_payment",
        "DirectPayment",
        (("claimId", "uint256"), ("line", "uint256"), ("ground", "uint8"), ("client", "address")),
        "client",
        "directPay",
        "DIRECT_PAYMENT_TYPEHASH",
    ),
    _action(
        "close_project",
        "CloseProject",
        (("projectId", "uint256"), ("client", "address")),
        "client",
        "closeProject",
        "CLOSE_PROJECT_TYPEHASH",
    ),
    _action(
        "withdraw",
        "Withdraw",
        (("payee", "address"), ("to", "address")),
        "payee",
        "withdrawTo",
        "WITHDRAW_TYPEHASH",
    ),
    declare(
        "CivicWon",
        "permit",
        "Permit",
        (("owner", "address"), ("spender", "address"), ("value", "uint256")),
        "owner",
        "permit",
        "",  # OpenZeppelin's ERC20Permit keeps its PERMIT_TYPEHASH private
        call=lambda m: [m["owner"], m["spender"], int(m["value"]), int(m["deadline"])],  # its nonce is implicit
        split_signature=True,
    ),
)
