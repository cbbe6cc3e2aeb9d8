"""Online credentials: issuer/type governance (operator), signed issuance and status changes
(issuer keys sign, the relayer pays), status lookup, verification, presentations, QR export.

This module holds what sends a transaction: the operator's governance calls, and the issuer-signed
actions of :data:`civic_ledger.credentials.actions.ACTIONS`, each built, checked and relayed by the
platform's one pipeline (:mod:`civic_ledger.platform.actions`). Every read — issuers, types,
statuses, verification, presentations, QR — is in :mod:`.reads`, re-exported here so the router,
the CLI and the tests keep ``service.get_issuer`` etc.
"""

from __future__ import annotations

import secrets
from typing import Any

from eth_utils import keccak, to_checksum_address
from pydantic import BaseModel

from civic_ledger.credentials import document as D
from civic_ledger.credentials.actions import ACTIONS, CONTRACT
from civic_ledger.credentials.reads import (
    QR_PREFIX,
    document_of_qr_payload,
    get_issuer,
    get_type,
    issuer_name,
    now,
    presentation_typed_data,
    qr_payload,
    qr_png,
    registry,
    status,
    type_name,
    verify,
    verify_presentation,
)
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
    StatusAction,
    StatusChangeCreate,
    StatusChangeOut,
    TxOut,
    TypeOut,
)
from civic_ledger.errors import Conflict, InvalidInput, NotFound
from civic_ledger.platform import actions, eip712
from civic_ledger.platform.relayer import Receipt
from civic_ledger.platform.runtime import Platform

__all__ = [
    "CONTRACT",
    "QR_PREFIX",
    "add_key",
    "allow_issuer",
    "batch_typed_data",
    "change_status",
    "disallow_issuer",
    "document_of_qr_payload",
    "draft_credential",
    "get_issuer",
    "get_type",
    "issue",
    "issue_batch",
    "issue_typed_data",
    "presentation_typed_data",
    "qr_payload",
    "qr_png",
    "register_issuer",
    "register_type",
    "registry",
    "retire_key",
    "status",
    "status_typed",
    "status_typed_data",
    "verify",
    "verify_presentation",
]

#: the contract event of each status change
STATUS_EVENTS = {"revoke": "CredentialRevoked", "suspend": "CredentialSuspended", "reinstate": "CredentialReinstated"}


def _receipt(receipt: Receipt) -> dict[str, Any]:
    return {"tx_hash": receipt.tx_hash, "block_number": receipt.block_number, "gas_used": receipt.gas_used}


def _relay(platform: Platform, fn: Any) -> Receipt:
    return platform.relayer.transact(fn, simulate=True)


def _with_tx(out: BaseModel, receipt: Receipt) -> Any:
    return out.model_copy(update={"tx_hash": receipt.tx_hash, "block_number": receipt.block_number})


# -- governance (operator) ----------------------------------------------------------------------


def register_issuer(platform: Platform, code: str, name: str) -> IssuerOut:
    reg = registry(platform)
    issuer_id = D.code_id(code)
    receipt = _relay(platform, reg.functions.registerIssuer(D.b32(issuer_id), name))
    reg.events.IssuerRegistered().process_receipt(receipt.raw)
    return _with_tx(get_issuer(platform, issuer_id), receipt)


def add_key(platform: Platform, issuer_id: str, key: str, valid_from: int | None, valid_until: int | None) -> IssuerOut:
    vf = now(platform) if valid_from is None else valid_from
    fn = registry(platform).functions.addIssuerKey(D.b32(issuer_id, "issuer_id"), key, vf, valid_until or 0)
    receipt = _relay(platform, fn)
    return _with_tx(get_issuer(platform, issuer_id), receipt)


def retire_key(platform: Platform, issuer_id: str, key: str, valid_until: int | None) -> IssuerOut:
    reg = registry(platform)
    fn = reg.functions.retireIssuerKey(D.b32(issuer_id, "issuer_id"), to_checksum_address(key), valid_until or 0)
    receipt = _relay(platform, fn)
    return _with_tx(get_issuer(platform, issuer_id), receipt)


def register_type(platform: Platform, code: str, name: str, schema_hash: str | None) -> TypeOut:
    type_id = D.code_id(code)
    schema = schema_hash or D.hx(keccak(text=name))
    receipt = _relay(platform, registry(platform).functions.registerType(D.b32(type_id), name, D.b32(schema)))
    return _with_tx(get_type(platform, type_id), receipt)


def _permission(platform: Platform, function: str, type_id: str, issuer_id: str) -> TxOut:
    fn = getattr(registry(platform).functions, function)(D.b32(type_id, "type_id"), D.b32(issuer_id, "issuer_id"))
    return TxOut(**_receipt(_relay(platform, fn)))


def allow_issuer(platform: Platform, type_id: str, issuer_id: str) -> TxOut:
    return _permission(platform, "allowIssuer", type_id, issuer_id)


def disallow_issuer(platform: Platform, type_id: str, issuer_id: str) -> TxOut:
    return _permission(platform, "disallowIssuer", type_id, issuer_id)


# -- the issuer-signed actions (one pipeline) ---------------------------------------------------


def _prepare(platform: Platform, key: str, message: dict[str, Any]) -> eip712.TypedMessage:
    """The action's typed data for the issuer key, with a deadline from chain time unless given."""
    return actions.prepare(platform, ACTIONS[key], message)


def _signed_send(
    platform: Platform, key: str, message: dict[str, Any], issuer_key: str, signature: str, field: str = "signature"
) -> Receipt:
    """The issuer key must have signed the action (403 naming ``field`` otherwise; nothing sent), then
    the call is simulated and relayed. The key goes to the contract beside the signed fields."""
    signed = actions.Signed(platform, ACTIONS[key], {**message, "key": issuer_key}, signature)
    return signed.verify(signer=issuer_key, names=[field]).send()


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


def _draft(
    platform: Platform,
    issuer_id: str,
    type_id: str,
    item: CredentialRequest,
    require_citizen: bool,
    at: int | None = None,
    index: int | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]], eip712.TypedMessage]:
    """:func:`draft_credential` of one request: its subject checked, ``valid_from`` defaulting to ``at`` (now)."""
    subject = _subject(platform, item, require_citizen, index)
    valid_from = item.valid_from if item.valid_from is not None else (now(platform) if at is None else at)
    return draft_credential(
        platform.chain.chain_id,
        platform.deployment.address(CONTRACT),
        issuer_id=issuer_id,
        type_id=type_id,
        subject=subject,
        claims=item.claims,
        valid_from=valid_from,
        valid_until=item.valid_until,
    )


def issue_typed_data(platform: Platform, req: IssueTypedDataCreate) -> IssueTypedDataOut:
    message, entries, typed = _draft(platform, req.issuer_id, req.type_id, req, req.require_citizen)
    h = D.credential_hash(typed)
    signed = _prepare(platform, "issue", {"issuerId": req.issuer_id, "typeId": req.type_id, "credentialHash": h})
    return IssueTypedDataOut(
        draft=CredentialDraft(credential=message, claims=entries, key=req.key, deadline=signed.message["deadline"]),
        credential_hash=h,
        credential_typed_data=typed.to_dict(),
        issue_typed_data=signed.to_dict(),
    )


def _typed_of_draft(platform: Platform, draft: CredentialDraft, index: int | None = None) -> eip712.TypedMessage:
    where = "draft" if index is None else f"drafts[{index}]"
    try:
        c = draft.credential
        times = {"validFrom": int(c["validFrom"]), "validUntil": int(c["validUntil"])}  # a draft may carry strings
        message = D.credential_message_of({**c, **times, "claimDigests": list(c["claimDigests"])})
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(f"{where}.credential is not a Credential message: {exc}") from None
    digests = [D.hx(D.entry_digest(e, i)) for i, e in enumerate(draft.claims)]
    if digests != message["claimDigests"]:
        raise InvalidInput(f"{where}.claims do not hash to {where}.credential.claimDigests")
    if any("value" not in e for e in draft.claims):
        raise InvalidInput(f"{where}.claims: every claim must be disclosed at issuance")
    return D.credential_typed(platform.chain.chain_id, platform.deployment.address(CONTRACT), message)


def _signed_credential(
    platform: Platform, draft: CredentialDraft, signature: str, key: str, field: str, index: int | None = None
) -> eip712.TypedMessage:
    """The draft's ``Credential`` (the document's proof, no contract call), which ``key`` must have signed."""
    typed = _typed_of_draft(platform, draft, index)
    typed.require_signer(signature, key, ACTIONS["issue"].who, field=field)
    return typed


def issue(platform: Platform, body: IssueCreate) -> IssueOut:
    draft = body.draft
    if draft.deadline is None:
        raise InvalidInput("draft.deadline is missing (ask /credentials/issue/typed-data for a draft)")
    typed = _signed_credential(platform, draft, body.credential_signature, draft.key, "credential_signature")
    h = D.credential_hash(typed)
    msg = typed.message
    message = {"issuerId": msg["issuerId"], "typeId": msg["typeId"], "credentialHash": h, "deadline": draft.deadline}
    receipt = _signed_send(platform, "issue", message, draft.key, body.issue_signature, "issue_signature")
    (event,) = registry(platform).events.CredentialAnchored().process_receipt(receipt.raw)
    block = platform.chain.w3.eth.get_block(receipt.block_number)
    doc = D.build_document(
        typed=typed,
        signature=body.credential_signature,
        key=draft.key,
        issuer_name=issuer_name(platform, msg["issuerId"]),
        claims=draft.claims,
        anchor_id=h,
        created=int(block["timestamp"]),
        type_name=type_name(platform, msg["typeId"]),
    )
    assert D.hx(event["args"]["anchorId"]) == h
    return IssueOut(document=doc, credential_hash=h, anchor_id=h, **_receipt(receipt))


# -- batches ----------------------------------------------------------------------------------


def batch_typed_data(platform: Platform, req: BatchTypedDataCreate) -> BatchTypedDataOut:
    at = now(platform)
    drafts: list[CredentialDraft] = []
    hashes: list[str] = []
    typed_list: list[dict[str, Any]] = []
    for i, item in enumerate(req.credentials):
        message, entries, typed = _draft(platform, req.issuer_id, req.type_id, item, req.require_citizen, at, i)
        drafts.append(CredentialDraft(credential=message, claims=entries, key=req.key))
        hashes.append(D.credential_hash(typed))
        typed_list.append(typed.to_dict())
    root = D.batch_tree(hashes).root
    message = {"issuerId": req.issuer_id, "typeId": req.type_id, "root": root, "count": len(hashes)}
    batch = _prepare(platform, "issue_batch", message)
    return BatchTypedDataOut(
        drafts=drafts,
        credential_hashes=hashes,
        credential_typed_data=typed_list,
        root=root,
        deadline=batch.message["deadline"],
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
        typed.require_signer(sig, body.key, ACTIONS["issue_batch"].who, field=f"credential_signatures[{i}]")
        typed_list.append(typed)
    hashes = [D.credential_hash(t) for t in typed_list]
    if len(set(hashes)) != len(hashes):
        raise Conflict("the batch lists the same credential twice", code="duplicate_credential")
    tree = D.batch_tree(hashes)
    root = tree.root
    message = {
        "issuerId": body.issuer_id,
        "typeId": body.type_id,
        "root": root,
        "count": len(hashes),
        "deadline": body.deadline,
    }
    receipt = _signed_send(platform, "issue_batch", message, body.key, body.batch_signature, "batch_signature")
    (event,) = registry(platform).events.CredentialBatchAnchored().process_receipt(receipt.raw)
    assert D.hx(event["args"]["root"]) == root
    created = int(platform.chain.w3.eth.get_block(receipt.block_number)["timestamp"])
    issuer, type_ = issuer_name(platform, body.issuer_id), type_name(platform, body.type_id)
    docs = [
        D.build_document(
            typed=t,
            signature=sig,
            key=body.key,
            issuer_name=issuer,
            claims=d.claims,
            anchor_id=root,
            position=i,
            merkle_proof=tree.proof(i),
            created=created,
            type_name=type_,
        )
        for i, (t, sig, d) in enumerate(zip(typed_list, body.credential_signatures, body.drafts, strict=True))
    ]
    return BatchOut(root=root, count=len(docs), documents=docs, **_receipt(receipt))


# -- status changes ---------------------------------------------------------------------------


def _status_message(
    action: StatusAction, issuer_id: str, refs: list[CredentialRef], deadline: int | None, nonce: int | None
) -> dict[str, Any]:
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
    return message


def status_typed(
    platform: Platform,
    action: StatusAction,
    issuer_id: str,
    refs: list[CredentialRef],
    deadline: int,
    nonce: int | None,
) -> eip712.TypedMessage:
    message = _status_message(action, issuer_id, refs, deadline, nonce)
    return actions.typed_message(platform, ACTIONS[action.value], message)


def status_typed_data(
    platform: Platform, action: StatusAction, issuer_id: str, key: str, refs: list[CredentialRef]
) -> dict[str, Any]:
    """``Suspend``/``Reinstate`` carry the key's nonce at this issuer (``nonces(issuerId, key)``, filled in)."""
    message = {"issuerId": issuer_id, "anchorIds": [r.anchor_id for r in refs], "positions": [r.position for r in refs]}
    return actions.prepare(platform, ACTIONS[action.value], message, signer=key).to_dict()


def change_status(platform: Platform, action: StatusAction, body: StatusChangeCreate) -> StatusChangeOut:
    message = _status_message(action, body.issuer_id, body.credentials, body.deadline, body.nonce)
    receipt = _signed_send(platform, action.value, message, body.key, body.signature)
    events = getattr(registry(platform).events, STATUS_EVENTS[action.value])().process_receipt(receipt.raw)
    assert len(events) == len(body.credentials)
    return StatusChangeOut(action=action, credentials=body.credentials, **_receipt(receipt))
