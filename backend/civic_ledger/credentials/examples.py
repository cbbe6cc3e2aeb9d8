"""A credential document and a presentation of it, built the way issuance builds them: the OpenAPI examples.

Deterministic (fixed salts, times and signatures) so the OpenAPI document does not change between builds. The
issuer key is Anvil's account 1 and the holder its account 2; both signatures are real (made once with those
development keys), so the example verifies except for the on-chain anchor of a fresh chain.
"""

from __future__ import annotations

from typing import Any

from civic_ledger.credentials import document as D
from civic_ledger.credentials.verify import build_presentation
from civic_ledger.types import EXAMPLE_AGENCY, EXAMPLE_CITIZEN

CHAIN_ID = 31337
REGISTRY = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9"
ISSUED_AT = 1_795_392_000  # 2026-11-23T00:00:00Z
EXPIRES_AT = 1_858_464_000  # 2028-11-22T00:00:00Z
AUDIENCE = "https://employer.example"
NONCE = "q3bY7mPz0Kd2Lr8x"

#: Made once with Anvil's development key 1 (the issuer) over the `Credential` message below.
CREDENTIAL_SIGNATURE = (
    "0xf08826bbc1ea5a16b677aeccde14b0e9ee5771aebba88652ea7a6d029b292f84"
    "060a9ed754637e1d737a6c412c12a3e0991e36ff3e41e8e3e1a9a1ccaeec11d51c"
)
#: Made once with Anvil's development key 2 (the holder) over the `Presentation` message below.
PRESENTATION_SIGNATURE = (
    "0x9151a4b102847edffd49015baee511bc564c0ea6ac846bc0413fc6432a7339d3"
    "570053f14e1a376a86ad096b09102af15d2de014600ab183a117227611227fbd1c"
)


def _claims(values: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i, name in enumerate(sorted(values)):
        salt = bytes([0x5A + i]) * 32
        out.append(
            {
                "name": name,
                "value": values[name],
                "salt": D.hx(salt),
                "digest": D.hx(D.claim_digest(salt, name, values[name])),
            }
        )
    return out


CLAIMS = _claims({"course": "Welding II", "grade": "A", "hours": 40})
TYPED = D.credential_typed(
    CHAIN_ID,
    REGISTRY,
    D.credential_message(
        issuer_id=D.code_id("seoul-training-centre"),
        type_id=D.code_id("welding-course"),
        subject=EXAMPLE_CITIZEN,
        valid_from=ISSUED_AT,
        valid_until=EXPIRES_AT,
        claim_digests=[c["digest"] for c in CLAIMS],
        salt="0x" + "c3" * 32,
    ),
)
CREDENTIAL_HASH = D.credential_hash(TYPED)
DOCUMENT: dict[str, Any] = D.build_document(
    typed=TYPED,
    signature=CREDENTIAL_SIGNATURE,
    key=EXAMPLE_AGENCY,
    issuer_name="Seoul Training Centre",
    claims=CLAIMS,
    anchor_id=CREDENTIAL_HASH,
    type_name="Welding course completion",
)
#: The same document with the grade withheld (only its digest kept), as a holder would present it.
WITHHELD: dict[str, Any] = D.withhold(DOCUMENT, ["course", "hours"])
PRESENTATION: dict[str, Any] = build_presentation(WITHHELD, AUDIENCE, NONCE, PRESENTATION_SIGNATURE)
