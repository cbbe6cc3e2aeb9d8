"""The signed actions of ``MVoting`` outside the ballot path, as data.

A poll is created from a ``CreatePoll`` message signed by its creator (a holder of
``POLL_ADMIN_ROLE``, checked by the service), with the creator's nonce; the EIP-712 type is
:data:`civic_ledger.voting.ballots.CREATE_POLL_EIP712_TYPES`, identical to the contract's
``CREATE_POLL_TYPEHASH`` string (checked by ``tests/test_area_actions.py``). The platform's one
pipeline (:mod:`civic_ledger.platform.actions`) builds, checks and relays it; a refusal carries the
contract's own error code, ``MVotingInvalidSignature``.

Ballots stay on their own batched path (:mod:`.casting`, :mod:`.relay`): a deliberate fast path
that checks and relays many voters' ballots in one ``castBatch``.
"""

from __future__ import annotations

from typing import Any

from civic_ledger.platform.actions import Action, table
from civic_ledger.voting import ballots as enc

__all__ = ["ACTIONS", "INVALID_SIGNATURE", "POLL_PARAMS", "poll_params"]

#: the ``PollParams`` struct of ``createPoll``: the signed fields before creator, nonce and deadline
POLL_PARAMS = tuple(f["name"] for f in enc.CREATE_POLL_EIP712_TYPES["CreatePoll"][:-3])
#: the error code of a refused signature (the contract's own error, as a ballot's)
INVALID_SIGNATURE = "MVotingInvalidSignature"


def poll_params(message: dict[str, Any]) -> tuple[Any, ...]:
    """The ``PollParams`` tuple of a ``CreatePoll`` message."""
    return tuple(message[k] for k in POLL_PARAMS)


ACTIONS: dict[str, Action] = table(
    Action(
        "create_poll",
        enc.CONTRACT,
        "CreatePoll",
        enc.CREATE_POLL_EIP712_TYPES["CreatePoll"],
        "creator",
        "createPoll",
        "CREATE_POLL_TYPEHASH",
        call=lambda m: [poll_params(m), m["creator"], m["nonce"], m["deadline"]],
        label="poll creator",
        signature_error=INVALID_SIGNATURE,
    ),
)
