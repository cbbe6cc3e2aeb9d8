"""Online credentials: everything that sends no transaction — issuers, types and statuses from the
registry (names from the index), verification and presentations against the trusted deployment,
and the QR export. Re-exported by :mod:`civic_ledger.credentials.service`."""

from __future__ import annotations

import base64
import io
import json
import time
import zlib
from typing import Any

from civic_ledger.credentials import document as D
from civic_ledger.credentials import verify as V
from civic_ledger.credentials.actions import CONTRACT
from civic_ledger.credentials.projections import registered_name
from civic_ledger.credentials.schemas import IssuerOut, KeyOut, StatusOut, TypeOut
from civic_ledger.errors import InvalidInput, NotFound
from civic_ledger.platform.indexer import fresh_read
from civic_ledger.platform.runtime import Platform
from civic_ledger.platform.trust import TrustedDeployment

_MAX_U64 = 2**64 - 1


def registry(platform: Platform) -> Any:
    return platform.deployment.contract(CONTRACT)


def now(platform: Platform) -> int:
    """Chain time: the later of the latest block's timestamp and the wall clock."""
    return max(int(time.time()), int(platform.chain.w3.eth.get_block("latest")["timestamp"]))


# -- names (emitted only) -----------------------------------------------------------------------


def emitted_name(platform: Platform, event: str, arg: str, ident: str) -> str | None:
    """The name emitted when an issuer or type was registered (only its hash is stored): one
    point read of the index (:mod:`civic_ledger.credentials.projections`)."""
    with fresh_read(platform, "credential names") as (conn, _):
        return registered_name(conn, event, arg, D.hx(D.b32(ident)))


def issuer_name(platform: Platform, issuer_id: str) -> str:
    name = emitted_name(platform, "IssuerRegistered", "issuerId", issuer_id)
    if name is None:
        raise NotFound(f"issuer {issuer_id} is not registered", code="CredentialRegistryUnknownIssuer")
    return name


def type_name(platform: Platform, type_id: str) -> str | None:
    return emitted_name(platform, "CredentialTypeRegistered", "typeId", type_id)


# -- issuers, types, statuses -------------------------------------------------------------------


def get_issuer(platform: Platform, issuer_id: str) -> IssuerOut:
    reg = registry(platform)
    registered, _name_hash, keys = reg.functions.issuerInfo(D.b32(issuer_id, "issuer_id")).call()
    if not registered:
        raise NotFound(f"issuer {issuer_id} is not registered", code="issuer_not_found")
    at = now(platform)
    out = []
    for key in keys:
        _reg, vf, vu = reg.functions.keyInfo(D.b32(issuer_id), key).call()
        out.append(KeyOut(key=key, valid_from=vf, valid_until=None if vu >= _MAX_U64 else vu, valid_now=vf <= at < vu))
    name = emitted_name(platform, "IssuerRegistered", "issuerId", issuer_id)
    return IssuerOut(issuer_id=issuer_id, name=name, registered=True, keys=out)


def get_type(platform: Platform, type_id: str) -> TypeOut:
    registered, schema_hash = registry(platform).functions.credentialType(D.b32(type_id, "type_id")).call()
    if not registered:
        raise NotFound(f"credential type {type_id} is not registered", code="type_not_found")
    return TypeOut(type_id=type_id, name=type_name(platform, type_id), registered=True, schema_hash=D.hx(schema_hash))


def status(platform: Platform, anchor_id: str, position: int) -> StatusOut:
    reg = registry(platform)
    a = reg.functions.anchorOf(D.b32(anchor_id, "anchor_id")).call()
    anchored, batch, issuer_id, type_id, key, anchored_at, count = a
    if not anchored:
        raise NotFound(f"nothing is anchored under {anchor_id}", code="anchor_not_found")
    exists, revoked, suspended = reg.functions.statusOf(D.b32(anchor_id), position).call()
    if not exists:
        raise NotFound(
            f"position {position} is out of range: anchor {anchor_id} holds {count} credential(s)",
            code="position_out_of_range",
        )
    return StatusOut(
        anchor_id=anchor_id,
        position=position,
        exists=True,
        batch=batch,
        count=count,
        issuer_id=D.hx(issuer_id),
        type_id=D.hx(type_id),
        key=key,
        anchored_at=anchored_at,
        revoked=revoked,
        suspended=suspended,
    )


# -- verification and presentations ------------------------------------------------------------


def verify(platform: Platform, document: dict[str, Any], at: int | None = None) -> dict[str, Any]:
    return V.verify_document(TrustedDeployment.from_platform(platform), document, at=at).to_dict()


def presentation_typed_data(platform: Platform, document: dict[str, Any], audience: str, nonce: str) -> dict[str, Any]:
    typed = D.typed_of_document(document)
    return V.presentation_typed(
        platform.chain.chain_id, platform.deployment.address(CONTRACT), D.credential_hash(typed), audience, nonce
    ).to_dict()


def verify_presentation(
    platform: Platform, presentation: dict[str, Any], audience: str, nonce: str, at: int | None
) -> dict[str, Any]:
    report = V.verify_presentation(
        TrustedDeployment.from_platform(platform), presentation, audience=audience, nonce=nonce, at=at
    )
    return report.to_dict()


# -- QR -------------------------------------------------------------------------------------------


def qr_png(payload: str) -> bytes:
    """A PNG QR code of ``payload`` (a link, or a compact JSON document; up to ~2.9 kB)."""
    import qrcode
    from qrcode.image.pure import PyPNGImage

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, border=2)
    qr.add_data(payload.encode())
    try:
        qr.make(fit=True)
    except Exception:  # noqa: BLE001 - qrcode raises DataOverflowError past version 40
        raise InvalidInput(
            f"{len(payload.encode())} bytes do not fit in a QR code (max ~2,900): withhold claims or encode a link"
        ) from None
    buf = io.BytesIO()
    qr.make_image(image_factory=PyPNGImage).save(buf)
    return buf.getvalue()


QR_PREFIX = "civic-ledger-vc:"


def qr_payload(document: dict[str, Any] | None, url: str | None) -> str:
    """A link as is, or ``civic-ledger-vc:`` + base64url(zlib(compact JSON)) of a document."""
    if url is not None:
        return url
    raw = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return QR_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode()


def document_of_qr_payload(payload: str) -> dict[str, Any]:
    if not payload.startswith(QR_PREFIX):
        raise InvalidInput(f"not a {QR_PREFIX} payload")
    try:
        return dict(json.loads(zlib.decompress(base64.urlsafe_b64decode(payload[len(QR_PREFIX) :]))))
    except Exception:  # noqa: BLE001
        raise InvalidInput("the QR payload is corrupt") from None
