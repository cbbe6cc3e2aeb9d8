"""The signed actions of ``LaborRecords`` as data (the EIP-712 types are :mod:`.typed`).

A labour office (``LABOR_OFFICE_ROLE``) sets a year's minimum wage with its nonce; employer and
worker co-sign a contract's terms (employer first); the employer records weeks and wage
statements, the worker confirms or disputes a week. Only the minimum wage keeps a nonce (a
contract, a week's revision and a statement's revision are single-use), and only it and the
contract name their signers in the message: a week's or a statement's signer is the contract's
employer or worker, so the service says who that is. The platform's pipeline
(:mod:`civic_ledger.platform.actions`) builds, checks and relays them.
"""

from __future__ import annotations

from typing import Any

from civic_ledger.labor.typed import TYPEHASH_CONSTANTS
from civic_ledger.platform.actions import Action, Cosigner, table

CONTRACT = "LaborRecords"

_PRIMARY = {primary: (constant, types[primary]) for constant, (primary, types) in TYPEHASH_CONSTANTS.items()}


def _action(key: str, primary: str, function: str, label: str, signer: str = "", **kw: Any) -> Action:
    """``signer=""``: the contract's employer or worker signs (the service says who)."""
    constant, fields = _PRIMARY[primary]
    nonce = any(f["name"] == "nonce" for f in fields)
    return Action(key, CONTRACT, primary, fields, signer, function, constant, label=label, uses_nonce=nonce, **kw)


def _struct(primary: str, m: dict[str, Any]) -> tuple[Any, ...]:
    """The contract's struct of a message: its signed fields in order, less the contract id and the deadline."""
    return tuple(m[f["name"]] for f in _PRIMARY[primary][1] if f["name"] not in ("contractId", "deadline"))


def _terms(m: dict[str, Any]) -> list[Any]:
    return [_struct("LaborContract", m), m["deadline"]]


def _week(m: dict[str, Any]) -> list[Any]:
    """``entries``: the shifts as the contract's tuples — call input beside the signed root."""
    return [m["contractId"], (m["weekStart"], m["revision"], m["entries"]), m["deadline"]]


def _statement(m: dict[str, Any]) -> list[Any]:
    return [m["contractId"], _struct("RecordWageStatement", m), m["deadline"]]


ACTIONS: dict[str, Action] = table(
    _action("set_minimum_wage", "SetMinimumWage", "setMinimumWage", "office", signer="office"),
    _action(
        "register_contract",
        "LaborContract",
        "registerContract",
        "employer",
        signer="employer",
        call=_terms,
        cosigners=(Cosigner("worker", "worker"),),
    ),
    _action("record_week", "RecordWeek", "recordWeek", "employer", call=_week),
    _action(
        "confirm_week",
        "ConfirmWeek",
        "confirmWeek",
        "worker",
        call=lambda m: [m["contractId"], m["weekStart"], m["deadline"]],
    ),
    _action("dispute_week", "DisputeWeek", "disputeWeek", "worker"),
    _action("record_statement", "RecordWageStatement", "recordWageStatement", "employer", call=_statement),
)
