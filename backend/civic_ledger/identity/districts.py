"""The 25 autonomous districts (자치구) of Seoul, and the code tables of the citizen registry.

District codes 1..25 are the order of :data:`DISTRICTS` (the order of the city's own district
listing, north of the Han river first). They are what ``CitizenRegistry`` stores; the API
accepts a code or a name (English with or without ``-gu``, or Korean with or without ``구``)
and always reports both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class District:
    code: int
    name: str  # romanised, without "-gu"
    name_ko: str  # Korean, with 구

    @property
    def label(self) -> str:
        return f"{self.name}-gu ({self.name_ko})"


_NAMES = [
    ("Jongno", "종로구"),
    ("Jung", "중구"),
    ("Yongsan", "용산구"),
    ("Seongdong", "성동구"),
    ("Gwangjin", "광진구"),
    ("Dongdaemun", "동대문구"),
    ("Jungnang", "중랑구"),
    ("Seongbuk", "성북구"),
    ("Gangbuk", "강북구"),
    ("Dobong", "도봉구"),
    ("Nowon", "노원구"),
    ("Eunpyeong", "은평구"),
    ("Seodaemun", "서대문구"),
    ("Mapo", "마포구"),
    ("Yangcheon", "양천구"),
    ("Gangseo", "강서구"),
    ("Guro", "구로구"),
    ("Geumcheon", "금천구"),
    ("Yeongdeungpo", "영등포구"),
    ("Dongjak", "동작구"),
    ("Gwanak", "관악구"),
    ("Seocho", "서초구"),
    ("Gangnam", "강남구"),
    ("Songpa", "송파구"),
    ("Gangdong", "강동구"),
]

#: code → district, codes 1..25.
DISTRICTS: dict[int, District] = {i: District(i, en, ko) for i, (en, ko) in enumerate(_NAMES, start=1)}

_BY_NAME: dict[str, District] = {}
for _d in DISTRICTS.values():
    for _key in (_d.name, f"{_d.name}-gu", f"{_d.name}gu", f"{_d.name} gu", _d.name_ko, _d.name_ko.removesuffix("구")):
        _BY_NAME[_key.casefold()] = _d


def _is_code(value: object) -> bool:
    """A code written as ASCII digits ("14"); not "²", "١٤" or a 5,000-digit number."""
    return isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 6


def district(value: int | str) -> District:
    """The district with this code (1..25, int or digits) or name; ``ValueError`` naming the choices."""
    if isinstance(value, bool):
        raise ValueError("a district is a code 1..25 or a name, not a boolean")
    if isinstance(value, int) or _is_code(value):
        code = int(value)
        if code in DISTRICTS:
            return DISTRICTS[code]
        raise ValueError(f"unknown district code {code}: Seoul's districts are coded 1..25 (GET /identity/districts)")
    if isinstance(value, str):
        found = _BY_NAME.get(value.strip().casefold())
        if found is not None:
            return found
        raise ValueError(
            f"unknown district {value[:40]!r}: use a code 1..25 or a name such as 'Mapo', 'Mapo-gu' or '마포구' "
            "(GET /identity/districts)"
        )
    raise ValueError("a district is a code 1..25 or a name")


# -- the registry's other code tables (enums of ICitizenRegistry, as uint8) -----------------

#: ``ICitizenRegistry.Status``.
STATUSES = {0: "none", 1: "active", 2: "suspended"}
#: ``ICitizenRegistry.Residency`` (0 is invalid).
RESIDENCIES = {1: "resident", 2: "registered_foreigner", 3: "overseas_korean"}
#: ``ICitizenRegistry.SuspensionReason`` (0 is invalid as an argument).
SUSPENSION_REASONS = {1: "lost_device", 2: "deceased", 3: "moved_away", 4: "other"}


def _code_of(table: dict[int, str], what: str, value: int | str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what} is a code or a name, not a boolean")
    if isinstance(value, int) or _is_code(value):
        code = int(value)
        if code in table:
            return code
    elif isinstance(value, str):
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        for code, name in table.items():
            if name == key:
                return code
    choices = ", ".join(f"{c} {n}" for c, n in table.items())
    shown = value[:40] if isinstance(value, str) else value
    raise ValueError(f"unknown {what} {shown!r}: use one of {choices}")


def residency_code(value: int | str) -> int:
    return _code_of(RESIDENCIES, "residency", value)


def suspension_reason_code(value: int | str) -> int:
    return _code_of(SUSPENSION_REASONS, "suspension reason", value)


def age_band(birth_year: int, *, year: int | None = None) -> str:
    """Ten-year band of the age reached this year (``year`` − birth year): ``"20-29"``; ``"100+"``."""
    current = year if year is not None else datetime.now(UTC).year
    age = max(current - birth_year, 0)
    if age >= 100:
        return "100+"
    low = age // 10 * 10
    return f"{low}-{low + 9}"
