"""What the indexer stores and what areas plug into it: :class:`Event` and :class:`Projection`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from civic_ledger.platform.indexer.source import LogPosition


@dataclass(frozen=True)
class Event(LogPosition):
    """One decoded log of a followed contract, as stored in the ``events`` table.

    ``args`` is JSON-safe (see :mod:`civic_ledger.platform.indexer.decoder`): a projection sees
    exactly the same value when the event is first indexed and when it is replayed from the table.
    """

    contract: str
    event: str | None
    topics: tuple[str | None, str | None, str | None]  # topics 1..3 (indexed parameters), raw hex
    args: dict[str, Any]

    def row(self) -> tuple[Any, ...]:
        return (
            self.block,
            self.log_index,
            self.block_hash,
            self.tx_hash,
            self.tx_index,
            self.address,
            self.contract,
            self.event,
            *self.topics,
            json.dumps(self.args, separators=(",", ":"), sort_keys=False),
        )

    @classmethod
    def from_row(cls, r: sqlite3.Row | tuple[Any, ...]) -> Event:
        return cls(
            block=int(r[0]),
            log_index=int(r[1]),
            block_hash=str(r[2]),
            tx_hash=str(r[3]),
            tx_index=int(r[4]),
            address=str(r[5]),
            contract=str(r[6]),
            event=r[7],
            topics=(r[8], r[9], r[10]),
            args=json.loads(r[11]),
        )


EVENT_COLUMNS = (
    "block, log_index, block_hash, tx_hash, tx_index, address, contract, event, topic1, topic2, topic3, args"
)


@dataclass(frozen=True)
class Projection:
    """A read model maintained from events, registered by an area.

    - ``consumes``: the (contract, event) pairs it reads; ``apply(conn, event)`` is called for each,
      in chain order, inside the block's SQLite transaction (never commit in it);
    - ``schema``: SQL creating its ``tables`` (all of them, indexes included);
    - reset = drop ``tables`` and run ``schema``; a rebuild replays the stored events after it;
    - ``rollback(conn, block)``: undo everything above ``block`` (a reorg). Without it the
      projection is reset and replayed from the remaining events (correct, O(its events));
    - ``version``: bump it when ``schema`` or ``apply`` change: the projection is then rebuilt
      from the stored events on the next start (no chain access needed).
    """

    name: str
    consumes: frozenset[tuple[str, str]]
    schema: str
    tables: tuple[str, ...]
    apply: Callable[[sqlite3.Connection, Event], None]
    rollback: Callable[[sqlite3.Connection, int], None] | None = None
    version: int = 1
    contracts: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "contracts", frozenset(c for c, _ in self.consumes))

    def wants(self, event: Event) -> bool:
        return (event.contract, event.event or "") in self.consumes

    def reset(self, conn: sqlite3.Connection) -> None:
        for table in self.tables:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        for statement in _statements(self.schema):
            conn.execute(statement)


def _statements(sql: str) -> list[str]:
    """``sql`` split into statements (executescript would commit the open transaction)."""
    out, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out
