"""The signed actions of ``CredentialRegistry`` as data.

An issuer key signs each of them; the operator relays. The EIP-712 types are the format's
(:mod:`civic_ledger.credentials.document`: ``ISSUE_TYPES``, ``ISSUE_BATCH_TYPES``,
:func:`~civic_ledger.credentials.document.status_types`; the offline verifier reads them without a
platform), identical to the contract's ``*_TYPEHASH`` strings (checked by
``tests/test_area_actions.py``). The platform's one pipeline (:mod:`civic_ledger.platform.actions`)
builds, checks and relays them.

Who signs: the issuer key named in the request — the contract's ``key`` argument, not a field of the
signed struct — so the service names the signer (``signer=""``), and the message carries the key
beside its signed fields for the call. Every call takes the signed fields in order, then the key,
then the nonce (``Suspend``/``Reinstate``: the key's nonce per issuer, ``nonces(issuerId, key)``)
and the deadline; ``Issue``, ``IssueBatch`` and ``Revoke`` carry no nonce (an anchor is single-use,
revocation is permanent).

The ``Credential`` message the key also signs is no contract call: it is the document's proof,
checked with the same :meth:`~civic_ledger.platform.eip712.TypedMessage.require_signer`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from civic_ledger.credentials import document as D
from civic_ledger.platform import eip712
from civic_ledger.platform.actions import Action, table

__all__ = ["ACTIONS", "CONTRACT", "ISSUER_KEY", "Action"]

CONTRACT = "CredentialRegistry"
#: who signs, as a refusal names it
ISSUER_KEY = "issuer key"
_TAIL = ("nonce", "deadline")


def _keyed_call(key: str) -> Callable[[dict[str, Any]], list[Any]]:
    """The call's arguments: the signed fields before the tail, the issuer key, then nonce/deadline."""

    def call(message: dict[str, Any]) -> list[Any]:
        action = ACTIONS[key]
        head = [f for f in action.fields if f["name"] not in _TAIL]
        tail = [n for n in _TAIL if n in action.field_names]
        return [action.abi_value(f["type"], message[f["name"]]) for f in head] + [
            message["key"],
            *(int(message[n]) for n in tail),
        ]

    return call


def _action(key: str, types: dict[str, list[dict[str, str]]], function: str) -> Action:
    ((primary, fields),) = types.items()
    nonce = any(f["name"] == "nonce" for f in fields)
    return Action(
        key,
        CONTRACT,
        primary,
        fields,
        "",
        function,
        eip712.typehash_constant(primary),
        call=_keyed_call(key),
        label=ISSUER_KEY,
        uses_nonce=nonce,
        nonce_keys=("issuerId",) if nonce else (),  # the key's nonce at this issuer: nonces(issuerId, key)
    )


ACTIONS: dict[str, Action] = table(
    _action("issue", D.ISSUE_TYPES, "issue"),
    _action("issue_batch", D.ISSUE_BATCH_TYPES, "issueBatch"),
    *(_action(a, D.status_types(a), a) for a in ("revoke", "suspend", "reinstate")),
)
