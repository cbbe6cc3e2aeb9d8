from __future__ import annotations

from fastapi import APIRouter

from civic_ledger.api.deps import PlatformDep
from civic_ledger.api.types import Bytes32
from civic_ledger.notary import service
from civic_ledger.notary.schemas import AnchorCreate, AnchorOut

router = APIRouter(prefix="/notary", tags=["notary"])


@router.post("/anchors", response_model=AnchorOut, status_code=201, summary="Anchor a document hash on chain")
def create_anchor(body: AnchorCreate, platform: PlatformDep) -> AnchorOut:
    """Relays `Notary.anchor`: the block time proves the document existed unchanged at that moment.
    A hash can be anchored once (409 `NotaryAlreadyAnchored` after that)."""
    return service.anchor(platform, body.document_hash, body.kind)


@router.get("/anchors/{document_hash}", response_model=AnchorOut, summary="When was this hash anchored?")
def get_anchor(document_hash: Bytes32, platform: PlatformDep) -> AnchorOut:
    return service.lookup(platform, document_hash)
