"""Anchor document hashes on chain (operator action) and look them up."""

from __future__ import annotations

from civic_ledger.errors import NotFound
from civic_ledger.notary import projections as q
from civic_ledger.notary.schemas import AnchorOut
from civic_ledger.platform.indexer import fresh_read
from civic_ledger.platform.runtime import Platform


def _kind_bytes(kind: str) -> bytes:
    return kind.encode().ljust(32, b"\0")


def anchor(platform: Platform, document_hash: str, kind: str) -> AnchorOut:
    notary = platform.deployment.contract("Notary")
    receipt = platform.relayer.transact(
        notary.functions.anchor(bytes.fromhex(document_hash[2:]), _kind_bytes(kind)), simulate=True
    )
    (event,) = notary.events.DocumentAnchored().process_receipt(receipt.raw)
    block = platform.chain.w3.eth.get_block(receipt.block_number)
    return AnchorOut(
        document_hash=document_hash,
        kind=kind,
        sequence=int(event["args"]["sequence"]),
        anchored_at=int(block["timestamp"]),
        block_number=receipt.block_number,
        tx_hash=receipt.tx_hash,
        notary=notary.address,
    )


def lookup(platform: Platform, document_hash: str) -> AnchorOut:
    notary = platform.deployment.contract("Notary")
    anchored_at, block_number, sequence = notary.functions.anchorOf(bytes.fromhex(document_hash[2:])).call()
    if sequence == 0:
        raise NotFound(f"document hash {document_hash} was never anchored", code="anchor_not_found")
    with fresh_read(platform, "the anchor's transaction", block=int(block_number)) as (conn, _):
        event = q.anchored(conn, document_hash)
    return AnchorOut(
        document_hash=document_hash,
        kind=None if event is None else _kind_text(str(event.args["kind"])),
        sequence=sequence,
        anchored_at=anchored_at,
        block_number=block_number,
        tx_hash=None if event is None else event.tx_hash,
        notary=notary.address,
    )


def _kind_text(kind_hex: str) -> str:
    """The ``bytes32`` kind as the text it was anchored with (zero-padded ASCII)."""
    return bytes.fromhex(kind_hex.removeprefix("0x")).rstrip(b"\0").decode(errors="replace")
