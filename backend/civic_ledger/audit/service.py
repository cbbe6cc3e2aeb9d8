"""Audit of a project's payments for the API: the same trail and reconciliation as the chain-only
CLI (:mod:`civic_ledger.audit.trail`), with the project's events and the escrow totals read from
the server's index (:mod:`civic_ledger.payments.projections`) instead of the node's logs: O(the
project's events), however long the chain. Views (bucket balances, credits, the escrow's token
balance) are still read from the node, at the block the index holds."""

from __future__ import annotations

import sqlite3
from typing import Any

from civic_ledger.audit.trail import ChainReads, ChainSource, Event, Trail, build_trail, reconcile
from civic_ledger.payments import projections as q
from civic_ledger.platform.indexer import fresh_read
from civic_ledger.platform.runtime import Platform


class IndexReads(ChainReads):
    """:class:`ChainReads` answered from one snapshot of the index (block times from the node)."""

    def __init__(self, source: ChainSource, conn: sqlite3.Connection, cursor: int) -> None:
        super().__init__(source)
        self.conn, self.cursor = conn, cursor

    def head(self) -> int:
        return self.cursor

    def project_events(self, project_id: int, to_block: int) -> list[Event]:
        return [
            Event(e.event or "", e.args, e.block, e.block_hash, e.tx_hash, e.log_index)
            for e in q.project_events(self.conn, project_id)
            if e.block <= to_block
        ]

    def escrow_flows(self, to_block: int) -> dict[str, int]:
        return q.escrow_flows(self.conn)


def trail(platform: Platform, project_id: int) -> Trail:
    source = ChainSource.from_platform(platform)
    with fresh_read(platform, "the audit trail") as (conn, cursor):
        return build_trail(source, project_id, reads=IndexReads(source, conn, cursor))


def reconciliation(platform: Platform, project_id: int) -> dict[str, Any]:
    source = ChainSource.from_platform(platform)
    with fresh_read(platform, "the reconciliation") as (conn, cursor):
        return reconcile(source, project_id, reads=IndexReads(source, conn, cursor))
