"""Vehicle identification numbers (ISO 3779) and the code tables of VehicleHistory. Pure, no chain.

A VIN is 17 characters of the ISO 3779 alphabet: digits and the Latin capitals except I, O and Q
(they look like 1 and 0). Input is normalised (spaces and hyphens dropped, upper case) and checked
here, before anything reaches the chain, with an error that names the VIN and what is wrong with
it. On chain a vehicle is ``keccak256`` of the normalised VIN's ASCII. The ninth character is a
check digit only in North America (49 CFR 565): it is reported, never required.
"""

from __future__ import annotations

from eth_utils import keccak

from civic_ledger.errors import InvalidInput

VIN_LENGTH = 17
ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPRSTUVWXYZ")
_FORBIDDEN = {"I": "1", "O": "0", "Q": "0"}

#: ``Source`` of the contract, in enum order, and the role each needs.
SOURCES = ("inspection", "periodic_inspection", "shop", "dealer", "owner")
SOURCE_ROLES = {
    "inspection": "INSPECTOR_ROLE",
    "periodic_inspection": "REGISTRY_ROLE",
    "shop": "SHOP_ROLE",
    "dealer": "DEALER_ROLE",
    "owner": None,
}
CLAIM_KINDS = ("accident", "flood", "total_loss")
ENCUMBRANCE_KINDS = ("lien", "seizure")

#: Bits of ``InspectionFindings.panels``: the outer panels of the 성능·상태점검기록부, bit 0 first.
PANELS = (
    "hood",
    "front_fender_left",
    "front_fender_right",
    "front_door_left",
    "front_door_right",
    "rear_door_left",
    "rear_door_right",
    "trunk_lid",
    "roof",
    "quarter_panel_left",
    "quarter_panel_right",
    "side_sill_left",
    "side_sill_right",
    "radiator_support",
    "front_panel",
    "rear_panel",
)

_TRANSLIT = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def normalise(vin: str) -> str:
    """The VIN upper-cased without spaces and hyphens, or :class:`InvalidInput` naming the problem."""
    raw = str(vin)
    text = "".join(ch for ch in raw if ch not in " -\t").upper()
    shown = raw[:40]
    for i, ch in enumerate(text):
        if ch in _FORBIDDEN:
            raise InvalidInput(
                f"VIN {shown!r}: character {i + 1} is {ch!r}, which ISO 3779 VINs never use (no I, O or Q; "
                f"did you mean {_FORBIDDEN[ch]!r}?)",
                code="invalid_vin",
                details={"vin": shown, "position": i + 1},
            )
        if ch not in ALPHABET:
            raise InvalidInput(
                f"VIN {shown!r}: character {i + 1} ({ch!r}) is not a digit or a capital letter A-Z",
                code="invalid_vin",
                details={"vin": shown, "position": i + 1},
            )
    if len(text) != VIN_LENGTH:
        raise InvalidInput(
            f"VIN {shown!r} has {len(text)} characters: a VIN (ISO 3779) has exactly {VIN_LENGTH}",
            code="invalid_vin",
            details={"vin": shown, "length": len(text)},
        )
    return text


def vin_hash(vin: str) -> str:
    """``0x``-hex keccak-256 of the normalised VIN: the vehicle's key on chain."""
    return "0x" + keccak(text=normalise(vin)).hex()


def check_digit_ok(vin: str) -> bool:
    """Whether character 9 is the North American check digit (informative only)."""
    text = normalise(vin)
    total = sum(_TRANSLIT[ch] * w for ch, w in zip(text, _WEIGHTS, strict=True))
    expected = "X" if total % 11 == 10 else str(total % 11)
    return text[8] == expected


def panels_mask(names: list[str] | tuple[str, ...]) -> int:
    mask = 0
    for name in names:
        key = name.strip().lower().replace("-", "_").replace(" ", "_")
        if not key:
            continue
        if key not in PANELS:
            raise InvalidInput(f"unknown panel {name!r}: use any of {', '.join(PANELS)}", code="invalid_panel")
        mask |= 1 << PANELS.index(key)
    return mask


def panels_of(mask: int) -> list[str]:
    return [name for i, name in enumerate(PANELS) if mask >> i & 1]


def date_code(text: str) -> int:
    """``YYYY-MM-DD`` → ``yyyymmdd`` (the contract's first-registration date)."""
    from datetime import date

    try:
        d = date.fromisoformat(str(text))
    except ValueError:
        raise InvalidInput(f"first_registered {text!r} is not a date YYYY-MM-DD", code="invalid_date") from None
    return d.year * 10000 + d.month * 100 + d.day


def date_text(code: int) -> str:
    return f"{code // 10000:04d}-{code // 100 % 100:02d}-{code % 100:02d}"


def document_hash(data: bytes | str) -> str:
    """keccak-256 of a document kept off chain (an inspection record, a claim file, a work order)."""
    return "0x" + keccak(data.encode() if isinstance(data, str) else data).hex()
