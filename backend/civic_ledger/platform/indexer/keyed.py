"""Events by key: the read model behind every "history of one thing" answer.

An area declares which argument of which event names the thing it is about (a project, a claim,
a labour contract, a citizen, a credential anchor); :func:`keyed_events` makes the projection that
keeps ``(key, block, log_index)`` for each, and :func:`events_of` answers "every event of this
thing, in chain order" with one index range read joined to the stored events: O(size of the
answer), whatever the length of the chain or the number of other things.

A key is ``"<arg>:<value>"`` with the value as the decoder gives it (:mod:`.decoder`: decimal for
wide integers, lower-case 0x-hex for bytes, checksummed addresses) and lower-cased, so callers
never care about the case of an address or the JSON type of an id.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from civic_ledger.platform.indexer.model import EVENT_COLUMNS, Event, Projection


def key_of(arg: str, value: Any) -> str:
    """The stored key of argument ``arg`` holding ``value`` (an int, a hex string, an address)."""
    if isinstance(value, bool):
        value = int(value)
    return f"{arg}:{str(value).lower()}"


def keyed_events(name: str, contract: str, keys: Mapping[str, Sequence[str]], *, version: int = 1) -> Projection:
    """A projection indexing ``contract``'s events by the arguments ``keys[event]`` name.

    ``keys`` maps an event name to the arguments that key it, e.g. ``{"LinePaid": ("projectId",
    "claimId")}``: that event is then found both among its project's and its claim's events."""
    table = name
    schema = f"""
CREATE TABLE "{table}" (
    key TEXT NOT NULL,
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    PRIMARY KEY (key, block, log_index)
) WITHOUT ROWID;
CREATE INDEX "{table}_by_block" ON "{table}" (block);
"""
    wanted = {event: tuple(args) for event, args in keys.items()}

    def apply(conn: sqlite3.Connection, e: Event) -> None:
        rows = [
            (key_of(arg, e.args[arg]), e.block, e.log_index) for arg in wanted.get(e.event or "", ()) if arg in e.args
        ]
        conn.executemany(f'INSERT OR IGNORE INTO "{table}" (key, block, log_index) VALUES (?, ?, ?)', rows)

    def rollback(conn: sqlite3.Connection, block: int) -> None:
        conn.execute(f'DELETE FROM "{table}" WHERE block > ?', (block,))

    return Projection(
        name=name,
        consumes=frozenset((contract, event) for event in wanted),
        schema=schema,
        tables=(table,),
        apply=apply,
        rollback=rollback,
        version=version,
    )


def events_of(
    conn: sqlite3.Connection,
    table: str,
    arg: str,
    value: Any,
    *,
    events: Iterable[str] | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[Event]:
    """The stored events keyed ``arg = value`` in ``table``, in chain order (or newest first)."""
    columns = ", ".join(f"e.{c.strip()}" for c in EVENT_COLUMNS.split(","))
    sql = (
        f'SELECT {columns} FROM "{table}" k JOIN events e ON e.block = k.block AND e.log_index = k.log_index '
        "WHERE k.key = ?"
    )
    params: list[Any] = [key_of(arg, value)]
    names = sorted(set(events)) if events is not None else None
    if names is not None:
        sql += f" AND e.event IN ({', '.join('?' * len(names))})"
        params.extend(names)
    order = "DESC" if newest_first else "ASC"
    sql += f" ORDER BY k.block {order}, k.log_index {order}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [Event.from_row(r) for r in conn.execute(sql, params)]


def first_event(conn: sqlite3.Connection, table: str, arg: str, value: Any, event: str) -> Event | None:
    """The first stored ``event`` keyed ``arg = value`` (e.g. the registration of a thing)."""
    found = events_of(conn, table, arg, value, events=[event], limit=1)
    return found[0] if found else None


def events_named(conn: sqlite3.Connection, contract: str, event: str, *, limit: int | None = None) -> list[Event]:
    """Every stored ``event`` of ``contract`` in chain order (the events table's name index: O(them))."""
    sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE contract = ? AND event = ? ORDER BY block, log_index"
    params: list[Any] = [contract, event]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [Event.from_row(r) for r in conn.execute(sql, params)]
