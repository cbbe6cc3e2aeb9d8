"""Online credentials: issuer/type governance (operator), signed issuance and status changes
(issuer keys sign, the relayer pays), status lookup, verification, presentations, QR export."""

from __future__ import annotations

import base64
import io
import json
import secrets
import time
import zlib
from typing import Any

from eth_utils import keccak, to_checksum_address

from civic_ledger.credentials import document as D
from civic_ledger.credentials import verify as V
from civic_ledger.credentials.projections import registered_name
from civic_ledger.credentials.schemas import (
    BatchCreate,
    BatchOut,
    BatchTypedDataCreate,
    BatchTypedDataOut,
    CredentialDraft,
    CredentialRef,
    CredentialRequest,
    IssueCreate,
    IssueOut,
    IssuerOut,
    IssueTypedDataCreate,
    IssueTypedDataOut,
    KeyOut,
    StatusAction,
    StatusChangeCreate,
    StatusChangeOut,
    StatusOut,
    TxOut,
    TypeOut,
)
from civic_ledger.errors import Conflict, InvalidInput, NotFound
from civic_ledger.platform import eip712
from civic_ledger.platform.indexer import fresh_read
from civic_ledger.platform.runtime import Platform
from civic_ledger.platform.trust import TrustedDeployment

CONTRACT = "CredentialRegistry"
_MAX_U64 = 2**64 - 1


def registry(platform: Platform) -> Any:
    return platform.deployment.contract(CONTRACT)


def _domain(platform: Platform) -> dict[str, Any]:
    return D.registry_domain(platform.chain.chain_id, platform.deployment.address(CONTRACT))


def _tx(receipt: Any) -> TxOut:
    return TxOut(tx_hash=receipt.tx_hash, block_number=receipt.block_number, gas_used=receipt.gas_used)


def _now(platform: Platform) -> int:
    """Chain time: the later of the latest block's timestamp and the wall clock."""
    return max(int(time.time()), int(platform.chain.w3.eth.get_block("latest")["timestamp"]))


# -- names (emitted only) -----------------------------------------------------------------------


def _emitted_name(platform: Platform, event: str, arg: str, ident: str) -> str | None:
    """The name emitted when an issuer or type was registered (only its hash is stored): one
    point read of the index (:mod:`civic_ledger.credentials.projections`)."""
    with fresh_read(platform, "credential names") as (conn, _):
        return registered_name(conn, event, arg, D.hx(D.b32(ident)))


# -- governance (operator) ----------------------------------------------------------------------


def register_issuer(platform: Platform, code: str, name: str) -> IssuerOut:
    reg = registry(platform)
    issuer_id = D.code_id(code)
    receipt = platform.relayer.transact(reg.functions.registerIssuer(D.b32(issuer_id), name), simulate=True)
    reg.events.IssuerRegistered().process_receipt(receipt.raw)
    out = get_issuer(platform, issuer_id)
    return out.model_copy(update={"tx_hash": receipt.tx_hash, "block_number": receipt.block_number})


def get_issuer(platform: Platform, issuer_id: str) -> IssuerOut:
    reg = registry(platform)
    registered, _name_hash, keys = reg.functions.issuerInfo(D.b32(issuer_id, "issuer_id")).call()
    if not registered:
        raise NotFound(f"issuer {issuer_id} is not registered", code="issuer_not_found")
    now = _now(platform)
    out = []
    for key in keys:
        _reg, vf, vu = reg.functions.keyInfo(D.b32(issuer_id), key).call()
        out.append(KeyOut(key=key, valid_from=vf, valid_until=None if vu >= _MAX_U64 else vu, valid_now=vf <= now < vu))
    name = _emitted_name(platform, "IssuerRegistered", "issuerId", issuer_id)
    return IssuerOut(issuer_id=issuer_id, name=name, registered=True, keys=out)


def add_key(platform: Platform, issuer_id: str, key: str, valid_from: int | None, valid_until: int | None) -> IssuerOut:
    reg = registry(platform)
    vf = _now(platform) if valid_from is None else valid_from
    fn = reg.functions.addIssuerKey(D.b32(issuer_id, "issuer_id"), key, vf, valid_until or 0)
    receipt = platform.relayer.transact(fn, simulate=True)
    return get_issuer(platform, issuer_id).model_copy(
        update={"tx_hash": receipt.tx_hash, "block_number": receipt.block_number}
    )


def retire_key(platform: Platform, issuer_id: str, key: str, valid_until: int | None) -> IssuerOut:
    reg = registry(platform)
    fn = reg.functions.retireIssuerKey(D.b32(issuer_id, "issuer_id"), to_checksum_address(key), valid_until or 0)
    receipt = platform.relayer.transact(fn, simulate=True)
    return get_issuer(platform, issuer_id).model_copy(
        update={"tx_hash": receipt.tx_hash, "block_number": receipt.block_number}
    )


def register_type(platform: Platform, code: str, name: str, schema_hash: str | None) -> TypeOut:
    reg = registry(platform)
    type_id = D.code_id(code)
    schema = schema_hash or D.hx(keccak(text=name))
    receipt = platform.relayer.transact(reg.functions.registerType(D.b32(type_id), name, D.b32(schema)), simulate=True)
    return get_type(platform, type_id).model_copy(
        update={"tx_hash": receipt.tx_hash, "block_number": receipt.block_number}
    )


def get_type(platform: Platform, type_id: str) -> TypeOut:
    registered, schema_hash = registry(platform).functions.credentialType(D.b32(type_id, "type_id")).call()
    if not registered:
        raise NotFound(f"credential type {type_id} is not registered", code="type_not_found")
    name = _emitted_name(platform, "CredentialTypeRegistered", "typeId", type_id)
    return TypeOut(type_id=type_id, name=name, registered=True, schema_hash=D.hx(schema_hash))


def allow_issuer(platform: Platform, type_id: str, issuer_id: str) -> TxOut:
    reg = registry(platform)
    fn = reg.functions.allowIssuer(D.b32(type_id, "type_id"), D.b32(issuer_id, "issuer_id"))
    return _tx(platform.relayer.transact(fn, simulate=True))


def disallow_issuer(platform: Platform, type_id: str, issuer_id: str) -> TxOut:
    reg = registry(platform)
    fn = reg.functions.disallowIssuer(D.b32(type_id, "type_id"), D.b32(issuer_id, "issuer_id"))
    return _tx(platform.relayer.transact(fn, simulate=True))


# -- drafting and signing -----------------------------------------------------------------------


def _subject(platform: Platform, req: CredentialRequest, require_citizen: bool, index: int | None = None) -> str:
    where = "subject" if index is None else f"credentials[{index}].subject"
    citizens = platform.deployment.contract("CitizenRegistry")
    if req.citizen_id is not None:
        account = citizens.functions.accountOf(req.citizen_id).call()
        if int(account, 16) == 0:
            raise NotFound(f"citizen {req.citizen_id} is not registered", code="citizen_not_found")
        return to_checksum_address(account)
    assert req.subject is not None
    if require_citizen and not citizens.functions.isActive(req.subject).call():
        raise InvalidInput(
            f"{where} {req.subject} is not an active citizen in the citizen registry "
            "(register the holder first, or set require_citizen=false)"
        )
    return req.subject


def draft_credential(
    chain_id: int,
    registry_address: str,
    *,
    issuer_id: str,
    type_id: str,
    subject: str,
    claims: dict[str, Any],
    valid_from: int,
    valid_until: int | None,
) -> tuple[dict[str, Any], list[dict[str, Any]], eip712.TypedMessage]:
    """A fresh ``Credential`` message (salted claims, random credential salt) and its typed data."""
    if valid_until is not None and valid_until <= valid_from:
        raise InvalidInput(f"valid_until ({valid_until}) must be after valid_from ({valid_from})")
    entries = D.make_claims(claims)
    message = D.credential_message(
        issuer_id=issuer_id,
        type_id=type_id,
        subject=subject,
        valid_from=valid_from,
        valid_until=valid_until or 0,
        claim_digests=[e["digest"] for e in entries],
        salt=D.hx(secrets.token_bytes(32)),
    )
    return message, entries, D.credential_typed(chain_id, registry_address, message)


def _issue_typed(
    platform: Platform, issuer_id: str, type_id: str, credential_hash: str, deadline: int
) -> eip712.TypedMessage:
    return eip712.TypedMessage(
        _domain(platform),
        "Issue",
        D.ISSUE_TYPES,
        {"issuerId": issuer_id, "typeId": type_id, "credentialHash": credential_hash, "deadline": deadline},
    )


def _batch_typed(
    platform: Platform, issuer_id: str, type_id: str, root: str, count: int, deadline: int
) -> eip712.TypedMessage:
    return eip712.TypedMessage(
        _domain(platform),
        "IssueBatch",
        D.ISSUE_BATCH_TYPES,
        {"issuerId": issuer_id, "typeId": type_id, "root": root, "count": count, "deadline": deadline},
    )


def issue_typed_data(platform: Platform, req: IssueTypedDataCreate) -> IssueTypedDataOut:
    subject = _subject(platform, req, req.require_citizen)
    message, entries, typed = draft_credential(
        platform.chain.chain_id,
        platform.deployment.address(CONTRACT),
        issuer_id=req.issuer_id,
        type_id=req.type_id,
        subject=subject,
        claims=req.claims,
        valid_from=req.valid_from if req.valid_from is not None else _now(platform),
        valid_until=req.valid_until,
    )
    h = D.credential_hash(typed)
    deadline = eip712.deadline(now=platform.chain.now())
    return IssueTypedDataOut(
        draft=CredentialDraft(credential=message, claims=entries, key=req.key, deadline=deadline),
        credential_hash=h,
        credential_typed_data=typed.to_dict(),
        issue_typed_data=_issue_typed(platform, req.issuer_id, req.type_id, h, deadline).to_dict(),
    )


def _typed_of_draft(platform: Platform, draft: CredentialDraft, index: int | None = None) -> eip712.TypedMessage:
    where = "draft" if index is None else f"drafts[{index}]"
    try:
        message = D.credential_message(
            issuer_id=draft.credential["issuerId"],
            type_id=draft.credential["typeId"],
            subject=draft.credential["subject"],
            valid_from=int(draft.credential["validFrom"]),
            valid_until=int(draft.credential["validUntil"]),
            claim_digests=list(draft.credential["claimDigests"]),
            salt=draft.credential["salt"],
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(f"{where}.credential is not a Credential message: {exc}") from None
    digests = [D.hx(D.entry_digest(e, i)) for i, e in enumerate(draft.claims)]
    if digests != message["claimDigests"]:
        raise InvalidInput(f"{where}.claims do not hash to {where}.credential.claimDigests")
    if any("value" not in e for e in draft.claims):
        raise InvalidInput(f"{where}.claims: every claim must be disclosed at issuance")
    return D.credential_typed(platform.chain.chain_id, platform.deployment.address(CONTRACT), message)


def _issuer_name(platform: Platform, issuer_id: str) -> str:
    name = _emitted_name(platform, "IssuerRegistered", "issuerId", issuer_id)
    if name is None:
        raise NotFound(f"issuer {issuer_id} is not registered", code="CredentialRegistryUnknownIssuer")
    return name


def issue(platform: Platform, body: IssueCreate) -> IssueOut:
    draft = body.draft
    if draft.deadline is None:
        raise InvalidInput("draft.deadline is missing (ask /credentials/issue/typed-data for a draft)")
    typed = _typed_of_draft(platform, draft)
    typed.require_signer(body.credential_signature, draft.key, "issuer key", field="credential_signature")
    h = D.credential_hash(typed)
    msg = typed.message
    issue_typed = _issue_typed(platform, msg["issuerId"], msg["typeId"], h, draft.deadline)
    issue_typed.require_signer(body.issue_signature, draft.key, "issuer key", field="issue_signature")
    reg = registry(platform)
    fn = reg.functions.issue(
        D.b32(msg["issuerId"]),
        D.b32(msg["typeId"]),
        D.b32(h),
        draft.key,
        draft.deadline,
        bytes.fromhex(body.issue_signature[2:]),
    )
    receipt = platform.relayer.transact(fn, simulate=True)
    (event,) = reg.events.CredentialAnchored().process_receipt(receipt.raw)
    block = platform.chain.w3.eth.get_block(receipt.block_number)
    doc = D.build_document(
        typed=typed,
        signature=body.credential_signature,
        key=draft.key,
        issuer_name=_issuer_name(platform, msg["issuerId"]),
        claims=draft.claims,
        anchor_id=h,
        created=int(block["timestamp"]),
        type_name=_emitted_name(platform, "CredentialTypeRegistered", "typeId", msg["typeId"]),
    )
    assert D.hx(event["args"]["anchorId"]) == h
    return IssueOut(
        document=doc,
        credential_hash=h,
        anchor_id=h,
        tx_hash=receipt.tx_hash,
        block_number=receipt.block_number,
        gas_used=receipt.gas_used,
    )


# -- batches ----------------------------------------------------------------------------------


def batch_typed_data(platform: Platform, req: BatchTypedDataCreate) -> BatchTypedDataOut:
    now = _now(platform)
    drafts: list[CredentialDraft] = []
    hashes: list[str] = []
    typed_list: list[dict[str, Any]] = []
    for i, item in enumerate(req.credentials):
        subject = _subject(platform, item, req.require_citizen, i)
        message, entries, typed = draft_credential(
            platform.chain.chain_id,
            platform.deployment.address(CONTRACT),
            issuer_id=req.issuer_id,
            type_id=req.type_id,
            subject=subject,
            claims=item.claims,
            valid_from=item.valid_from if item.valid_from is not None else now,
            valid_until=item.valid_until,
        )
        drafts.append(CredentialDraft(credential=message, claims=entries, key=req.key))
        hashes.append(D.credential_hash(typed))
        typed_list.append(typed.to_dict())
    root = D.batch_tree(hashes).root
    deadline = eip712.deadline(now=platform.chain.now())
    batch = _batch_typed(platform, req.issuer_id, req.type_id, root, len(hashes), deadline)
    return BatchTypedDataOut(
        drafts=drafts,
        credential_hashes=hashes,
        credential_typed_data=typed_list,
        root=root,
        deadline=deadline,
        batch_typed_data=batch.to_dict(),
    )


def issue_batch(platform: Platform, body: BatchCreate) -> BatchOut:
    if len(body.credential_signatures) != len(body.drafts):
        raise InvalidInput(f"{len(body.drafts)} drafts but {len(body.credential_signatures)} credential_signatures")
    typed_list = []
    for i, (draft, sig) in enumerate(zip(body.drafts, body.credential_signatures, strict=True)):
        typed = _typed_of_draft(platform, draft, i)
        msg = typed.message
        if msg["issuerId"] != body.issuer_id or msg["typeId"] != body.type_id:
            raise InvalidInput(f"drafts[{i}] is for another issuer or type than the batch")
        typed.require_signer(sig, body.key, "issuer key", field=f"credential_signatures[{i}]")
        typed_list.append(typed)
    hashes = [D.credential_hash(t) for t in typed_list]
    if len(set(hashes)) != len(hashes):
        raise Conflict("the batch lists the same credential twice", code="duplicate_credential")
    tree = D.batch_tree(hashes)
    root = tree.root
    batch = _batch_typed(platform, body.issuer_id, body.type_id, root, len(hashes), body.deadline)
    batch.require_signer(body.batch_signature, body.key, "issuer key", field="batch_signature")
    reg = registry(platform)
    fn = reg.functions.issueBatch(
        D.b32(body.issuer_id),
        D.b32(body.type_id),
        D.b32(root),
        len(hashes),
        body.key,
        body.deadline,
        bytes.fromhex(body.batch_signature[2:]),
    )
    receipt = platform.relayer.transact(fn, simulate=True)
    (event,) = reg.events.CredentialBatchAnchored().process_receipt(receipt.raw)
    assert D.hx(event["args"]["root"]) == root
    created = int(platform.chain.w3.eth.get_block(receipt.block_number)["timestamp"])
    issuer_name = _issuer_name(platform, body.issuer_id)
    type_name = _emitted_name(platform, "CredentialTypeRegistered", "typeId", body.type_id)
    docs = [
        D.build_document(
            typed=t,
            signature=sig,
            key=body.key,
            issuer_name=issuer_name,
            claims=d.claims,
            anchor_id=root,
            position=i,
            merkle_proof=tree.proof(i),
            created=created,
            type_name=type_name,
        )
        for i, (t, sig, d) in enumerate(zip(typed_list, body.credential_signatures, body.drafts, strict=True))
    ]
    return BatchOut(
        root=root,
        count=len(docs),
        documents=docs,
        tx_hash=receipt.tx_hash,
        block_number=receipt.block_number,
        gas_used=receipt.gas_used,
    )


# -- status changes ---------------------------------------------------------------------------


def status_typed(
    platform: Platform,
    action: StatusAction,
    issuer_id: str,
    refs: list[CredentialRef],
    deadline: int,
    nonce: int | None,
) -> eip712.TypedMessage:
    message: dict[str, Any] = {
        "issuerId": issuer_id,
        "anchorIds": [r.anchor_id for r in refs],
        "positions": [r.position for r in refs],
    }
    if action is not StatusAction.revoke:
        if nonce is None:
            raise InvalidInput(f"nonce is required for {action.value}")
        message["nonce"] = nonce
    message["deadline"] = deadline
    return eip712.TypedMessage(_domain(platform), action.value.capitalize(), D.status_types(action.value), message)


def status_typed_data(
    platform: Platform, action: StatusAction, issuer_id: str, key: str, refs: list[CredentialRef]
) -> dict[str, Any]:
    nonce = None
    if action is not StatusAction.revoke:
        nonce = int(registry(platform).functions.nonces(D.b32(issuer_id, "issuer_id"), key).call())
    return status_typed(platform, action, issuer_id, refs, eip712.deadline(now=platform.chain.now()), nonce).to_dict()


def change_status(platform: Platform, action: StatusAction, body: StatusChangeCreate) -> StatusChangeOut:
    typed = status_typed(platform, action, body.issuer_id, body.credentials, body.deadline, body.nonce)
    typed.require_signer(body.signature, body.key, "issuer key", field="signature")
    reg = registry(platform)
    args: list[Any] = [
        D.b32(body.issuer_id),
        [D.b32(r.anchor_id) for r in body.credentials],
        [r.position for r in body.credentials],
        body.key,
    ]
    if action is not StatusAction.revoke:
        args.append(body.nonce)
    args += [body.deadline, bytes.fromhex(body.signature[2:])]
    receipt = platform.relayer.transact(getattr(reg.functions, action.value)(*args), simulate=True)
    event = {"revoke": "CredentialRevoked", "suspend": "CredentialSuspended", "reinstate": "CredentialReinstated"}[
        action.value
    ]
    events = getattr(reg.events, event)().process_receipt(receipt.raw)
    assert len(events) == len(body.credentials)
    return StatusChangeOut(
        action=action,
        credentials=body.credentials,
        tx_hash=receipt.tx_hash,
        block_number=receipt.block_number,
        gas_used=receipt.gas_used,
    )


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
