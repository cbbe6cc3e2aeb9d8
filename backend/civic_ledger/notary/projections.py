"""Notary read model: each anchor's ``DocumentAnchored`` by document hash (its transaction, its
kind and who anchored it: the contract's storage keeps only the time, block and sequence)."""

from __future__ import annotations

import sqlite3

from civic_ledger.platform.indexer import Event
from civic_ledger.platform.indexer.keyed import first_event, keyed_events

BY_DOCUMENT = keyed_events("notary_by_document", "Notary", {"DocumentAnchored": ("documentHash",)})

PROJECTIONS = [BY_DOCUMENT]


def anchored(conn: sqlite3.Connection, document_hash: str) -> Event | None:
    return first_event(conn, "notary_by_document", "documentHash", document_hash, "DocumentAnchored")
