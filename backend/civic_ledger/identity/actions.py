"""The signed actions of ``CitizenRegistry`` as data.

A registrar (``REGISTRAR_ROLE``) signs registrations, attribute updates, suspensions,
reinstatements and key recoveries, each with the registrar's nonce; a citizen's own key rotation
is co-signed by the old key (it authorises) and the new key (it proves possession), with the old
key's nonce. Each contract call takes the signed fields in order, then the signature(s). The
platform's pipeline (:mod:`civic_ledger.platform.actions`) builds, checks and relays them.
"""

from __future__ import annotations

from functools import partial

from civic_ledger.platform.actions import Action, Cosigner, declare, table

CONTRACT = "CitizenRegistry"

_action = partial(declare, CONTRACT, label="registrar")
#: the attributes a registrar signs, at registration and at an update
_ATTRIBUTES = (("district", "uint8"), ("birthYear", "uint16"), ("residency", "uint8"), ("recordHash", "bytes32"))
_REGISTRAR = ("registrar", "address")

ACTIONS: dict[str, Action] = table(
    _action(
        "register",
        "RegisterCitizen",
        (("account", "address"), *_ATTRIBUTES, _REGISTRAR),
        "registrar",
        "registerCitizen",
        "REGISTER_CITIZEN_TYPEHASH",
    ),
    _action(
        "update",
        "UpdateCitizen",
        (("citizenId", "uint256"), *_ATTRIBUTES, _REGISTRAR),
        "registrar",
        "updateCitizen",
        "UPDATE_CITIZEN_TYPEHASH",
    ),
    _action(
        "suspend",
        "SuspendCitizen",
        (("citizenId", "uint256"), ("reason", "uint8"), _REGISTRAR),
        "registrar",
        "suspendCitizen",
        "SUSPEND_CITIZEN_TYPEHASH",
    ),
    _action(
        "reinstate",
        "ReinstateCitizen",
        (("citizenId", "uint256"), _REGISTRAR),
        "registrar",
        "reinstateCitizen",
        "REINSTATE_CITIZEN_TYPEHASH",
    ),
    _action(
        "recover",
        "RecoverKey",
        (("citizenId", "uint256"), ("newAccount", "address"), _REGISTRAR),
        "registrar",
        "recoverKey",
        "RECOVER_KEY_TYPEHASH",
    ),
    declare(
        CONTRACT,
        "rotate",
        "RotateKey",
        (("oldAccount", "address"), ("newAccount", "address")),
        "oldAccount",
        "rotateKey",
        "ROTATE_KEY_TYPEHASH",
        label="old key",
        cosigners=(Cosigner("newAccount", "new key"),),
    ),
)
