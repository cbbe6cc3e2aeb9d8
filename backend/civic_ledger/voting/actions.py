"""The signed actions of ``MVoting`` outside the ballot path, as data.

A poll is created from a ``CreatePoll`` message signed by its creator (a holder of
``POLL_ADMIN_ROLE``, checked by the service), with the creator's nonce; the EIP-712 type is
:data:`civic_ledger.voting.ballots.CREATE_POLL_EIP712_TYPES`, identical to the contract's
``CREATE_POLL_TYPEHASH`` string (checked by ``tests/test_area_actions.py``). The platform's one
pipeline (:mod:`civic_ledger.platform.actions`) builds, checks and relays it; a refusal carries the
contract's own error code, ``MVotingInvalidSignature``.

The trustee actions of an encrypted poll are ``EncryptedTally``'s (``NAME_TRUSTEES_TYPEHASH``,
``TRUSTEE_ACTION_TYPEHASH``): the poll's creator names the trustees (``NameTrustees``; the creator is
chain state, not a message field, so the service names the signer), and each trustee signs each of
its steps (``TrusteeAction`` over the hash of the step's data: one declaration per contract function,
``commit``/``deal``/``decrypt``). Neither carries a nonce (each step is done once; naming, once per
poll). A refusal is the contract's own answer (its first failing check, decoded from an ``eth_call``)
exactly as when the contract alone checked the signature.

Ballots stay on their own batched path (:mod:`.casting`, :mod:`.relay`): a deliberate fast path
that checks and relays many voters' ballots in one ``castBatch``.
"""

from __future__ import annotations

from typing import Any

from civic_ledger.platform.actions import Action, declare, table
from civic_ledger.voting import ballots as enc

__all__ = ["ACTIONS", "INVALID_SIGNATURE", "POLL_PARAMS", "TALLY", "TRUSTEE_STEPS", "poll_params", "trustee_step"]

#: the ``PollParams`` struct of ``createPoll``: the signed fields before creator, nonce and deadline
POLL_PARAMS = tuple(f["name"] for f in enc.CREATE_POLL_EIP712_TYPES["CreatePoll"][:-3])
#: the error code of a refused signature (the contract's own error, as a ballot's)
INVALID_SIGNATURE = "MVotingInvalidSignature"


#: the contract of the trustee actions
TALLY = "EncryptedTally"
#: a trustee step: its number in ``TrusteeAction.step`` and its data (the contract function's
#: arguments between trustee and deadline, in the order ``dataHash`` packs them)
TRUSTEE_STEPS: dict[str, tuple[int, tuple[str, str]]] = {
    "commit": (1, ("commitments", "encryption_key")),
    "deal": (2, ("ephemeral", "encrypted_shares")),
    "decrypt": (3, ("shares", "proofs")),
}


def _trustee_step(step: str) -> Action:
    """The ``TrusteeAction`` of one step; the call: poll, trustee, the step's data, deadline."""
    words = TRUSTEE_STEPS[step][1]
    return declare(
        TALLY,
        f"trustee_{step}",
        "TrusteeAction",
        (("pollId", "uint256"), ("trustee", "address"), ("step", "uint8"), ("dataHash", "bytes32")),
        "trustee",
        step,
        "TRUSTEE_ACTION_TYPEHASH",
        call=lambda m: [int(m["pollId"]), m["trustee"], *(m[w] for w in words), int(m["deadline"])],
        label="trustee",
        signature_error="EncryptedTallyInvalidSignature",
        uses_nonce=False,
    )


def trustee_step(step: str) -> Action:
    """The declared action of a trustee step (``commit``, ``deal``, ``decrypt``)."""
    return ACTIONS[f"trustee_{step}"]


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
    declare(
        TALLY,
        "name_trustees",
        "NameTrustees",
        (("pollId", "uint256"), ("trustees", "address[]"), ("threshold", "uint8")),
        "",  # the poll's creator: chain state, named by the service
        "nameTrustees",
        "NAME_TRUSTEES_TYPEHASH",
        label="poll creator",
        signature_error="EncryptedTallyNotPollCreator",
        uses_nonce=False,
    ),
    *(_trustee_step(step) for step in TRUSTEE_STEPS),
)
