"""The signed actions of ``CivicMileage`` as data (the EIP-712 types are :data:`.messages.TYPES`).

Awards, award batches and legacy imports are signed by the program's awarder — a program's
setting, not a message field, so the service names the signer — and carry no nonce (the award
reference is single-use, a legacy import once per program and citizen); a redemption is signed by
the citizen with the citizen's redemption nonce. Each call takes the signed fields in order. The
platform's pipeline (:mod:`civic_ledger.platform.actions`) builds, checks and relays them.
"""

from __future__ import annotations

from civic_ledger.mileage.messages import CONTRACT, TYPEHASH_CONSTANTS, TYPES
from civic_ledger.platform.actions import Action, table


def _action(key: str, primary: str, function: str, signer: str = "", label: str = "awarder") -> Action:
    """``signer=""``: the program's awarder signs (the service says who that is)."""
    fields = TYPES[primary][primary]
    nonce = any(f["name"] == "nonce" for f in fields)
    return Action(
        key, CONTRACT, primary, fields, signer, function, TYPEHASH_CONSTANTS[primary], label=label, uses_nonce=nonce
    )


ACTIONS: dict[str, Action] = table(
    _action("award", "Award", "award"),
    _action("award_batch", "AwardBatch", "awardBatch"),
    _action("import_legacy", "ImportLegacy", "importLegacy"),
    _action("redeem", "Redeem", "redeem", signer="citizen", label="citizen"),
)
