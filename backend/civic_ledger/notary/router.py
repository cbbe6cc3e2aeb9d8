from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from civic_ledger.api.deps import PlatformDep
from civic_ledger.identity.auth import AgencyPrincipal
from civic_ledger.identity.deps import require_role
from civic_ledger.notary import service
from civic_ledger.notary.schemas import AnchorCreate, AnchorOut
from civic_ledger.types import Bytes32

router = APIRouter(prefix="/notary", tags=["notary"])


Notary = Annotated[AgencyPrincipal, Depends(require_role("Notary", "NOTARY_ROLE"))]


@router.post("/anchors", response_model=AnchorOut, status_code=201, summary="Anchor a document hash on chain")
def create_anchor(body: AnchorCreate, platform: PlatformDep, _notary: Notary) -> AnchorOut:
    """Relays `Notary.anchor`: the block time proves the document existed unchanged at that moment.
    The operator pays, so only a signed-in agency holding `Notary.NOTARY_ROLE` may anchor (401
    without a session, 403 without the role). A hash can be anchored once (409
    `NotaryAlreadyAnchored` after that)."""
    return service.anchor(platform, body.document_hash, body.kind)


@router.get("/anchors/{document_hash}", response_model=AnchorOut, summary="When was this hash anchored?")
def get_anchor(document_hash: Bytes32, platform: PlatformDep) -> AnchorOut:
    return service.lookup(platform, document_hash)
