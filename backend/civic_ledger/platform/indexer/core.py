"""The indexer: follows every deployed contract, block by block, into ``DATA_DIR/index.sqlite3``.

- **Catch-up** from the persisted cursor (the first time: the block before the earliest deploy
  block) with ``eth_getLogs`` over all followed addresses, ``chunk_blocks`` at a time; a node that
  refuses the range as too wide gets half of it, down to one block.
- **One SQLite transaction per block** that holds events: its decoded events, the read-model
  updates (:class:`Projection`) and the cursor (number + hash). Blocks without events of ours
  are passed over by moving the cursor in the next transaction (the end of each range).
- **Reorgs**: the cursor's hash is checked against the chain before every range; within the last
  :data:`REORG_WINDOW` blocks of the head every header is read and linked by parent hash and every
  log's block hash is checked. On a mismatch the index rolls back to the newest stored block
  still on the chain (events deleted, projections rolled back or replayed, one transaction) and
  re-applies from there. Deeper than the window: the index is rebuilt from the deploy blocks.
  The embedded chain (one local writer, instant finality) has no reorgs: only cursor hashes.
- **Follows the head** in a daemon thread (:meth:`start` / :meth:`close`), polling every
  ``poll_s``; :meth:`wait_for` lets a read wait until a given block is indexed (and wakes the
  thread at once).
- ``confirmations`` decides what is final: :meth:`final_block` = head - confirmations (0 on
  instant-finality chains). Everything up to the head is indexed (and rolled back on a reorg);
  a read that must show final data only filters on ``block <= final_block()``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any

from civic_ledger.errors import ServiceBusy
from civic_ledger.platform.indexer.decoder import EventDecoder
from civic_ledger.platform.indexer.model import Event, Projection
from civic_ledger.platform.indexer.source import Header, LogSource, RangeTooLarge, RawLog
from civic_ledger.platform.indexer.store import FORMAT, REORG_WINDOW, IndexStore, connect_reader

log = logging.getLogger("civic_ledger.indexer")

INDEX_FILE = "index.sqlite3"


class ChainChanged(Exception):
    """The chain moved under a range being read (a reorg in progress): read the range again."""


class Indexer:
    def __init__(
        self,
        path: Path,
        source: LogSource,
        contracts: dict[str, tuple[str, int, list[dict[str, Any]]]],
        projections: list[Projection],
        *,
        chain_id: int,
        chunk_blocks: int = 2_000,
        confirmations: int = 0,
        poll_s: float = 0.5,
    ) -> None:
        """``contracts``: address → (contract name, deploy block, ABI)."""
        names = [p.name for p in projections]
        if len(set(names)) != len(names):
            raise ValueError(f"two projections share a name: {names}")
        self.path = Path(path)
        self.source = source
        self.projections = list(projections)
        self.chain_id = chain_id
        self.chunk_blocks = max(1, int(chunk_blocks))
        self._chunk = self.chunk_blocks
        self._ceiling = self.chunk_blocks  # below the narrowest range a node refused
        self._successes = 0
        self.confirmations = max(0, int(confirmations))
        self.poll_s = poll_s
        self.addresses = sorted(contracts)
        self.start_block = min((block for _, block, _ in contracts.values()), default=0)
        self.decoder = EventDecoder({a: (name, abi) for a, (name, _, abi) in contracts.items()})
        self._followed = {a.lower(): [name, block] for a, (name, block, _) in sorted(contracts.items())}
        self.store = IndexStore(self.path)
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._closed = False
        self._sync_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._readers: SimpleQueue[sqlite3.Connection] = SimpleQueue()
        self._all_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self.head_seen = -1
        self._synced_at = -1.0  # monotonic time of the head read of the last sync that reached it
        self.last_error: str | None = None
        self.reorgs = 0
        self.blocks_written = 0
        self._prepare()
        cursor = self.store.cursor()
        self._cursor: tuple[int, str] | None = cursor

    # -- opening -------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Wipe what no longer matches (format, chain, followed contracts); rebuild changed projections."""
        import json

        followed = json.dumps(self._followed, sort_keys=True)
        expected = {"format": str(FORMAT), "chain_id": str(self.chain_id), "followed": followed}
        stored = {k: self.store.meta(k) for k in expected}
        with self.store.transaction() as conn:
            if stored != expected:
                if any(v is not None for v in stored.values()):
                    changed = [k for k in expected if stored[k] != expected[k]]
                    log.warning("index %s: %s changed, rebuilding it from the chain", self.path, ", ".join(changed))
                IndexStore.wipe(conn, self.projections)
                for key, value in expected.items():
                    IndexStore.set_meta(conn, key, value)
            for projection in self.projections:
                if self.store.meta(f"projection:{projection.name}") != str(projection.version):
                    IndexStore.replay(conn, projection)

    # -- state ---------------------------------------------------------------------------

    @property
    def cursor(self) -> int:
        """The last block fully indexed (-1 before the first)."""
        c = self._cursor
        return self.start_block - 1 if c is None else c[0]

    def final_block(self) -> int:
        """The newest block a read may present as final (``confirmations`` below the head)."""
        head = self.head_seen if self.head_seen >= 0 else self.cursor
        return min(self.cursor, head - self.confirmations)

    def status(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "cursor_hash": None if self._cursor is None else self._cursor[1],
            "head": self.head_seen,
            "lag": max(0, self.head_seen - self.cursor) if self.head_seen >= 0 else None,
            "final_block": self.final_block(),
            "confirmations": self.confirmations,
            "reorgs": self.reorgs,
            "last_error": self.last_error,
        }

    # -- reads ---------------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection (pooled, any thread): sees the last committed block."""
        try:
            conn = self._readers.get_nowait()
        except Empty:
            conn = connect_reader(self.path)
            with self._readers_lock:
                self._all_readers.append(conn)
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._readers.put(conn)

    @contextmanager
    def snapshot(self, block: int, timeout: float, what: str) -> Iterator[tuple[sqlite3.Connection, int]]:
        """One consistent read holding at least ``block``: (connection in a read transaction, the
        last block it holds). An index that can not get there within ``timeout`` (just after a
        restart over a long history, or the node is down) is a 503 naming ``what`` is delayed."""
        if not self.wait_for(block, timeout):
            raise ServiceBusy(
                f"the index is catching up (block {self.cursor} of {block}): {what} is not up to date yet, "
                "retry in a moment"
            )
        with self.read() as conn:
            conn.execute("BEGIN")  # every query sees the same committed block
            row = conn.execute("SELECT value FROM meta WHERE key = 'cursor_block'").fetchone()
            yield conn, -1 if row is None else int(row[0])

    def wait_for(self, block: int, timeout: float) -> bool:
        """Wait until ``block`` is indexed (True) or ``timeout`` passes (False); wakes the thread."""
        if self.cursor >= block:
            return True
        deadline = time.monotonic() + timeout
        self.poke()
        with self._cond:
            while self.cursor < block:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return self.cursor >= block
                self._cond.wait(min(left, 0.05))
                self.poke()
        return True

    def wait_fresh(self, timeout: float) -> bool:
        """Wait until the index holds every block mined before this call (True), or ``timeout``.

        For a read that just missed: whatever it looks for, if it was on chain when the read began,
        it is in the index once this returns True. Costs one indexer round (the thread is woken).
        """
        asked = time.monotonic()
        deadline = asked + timeout
        self.poke()
        with self._cond:
            while self._synced_at < asked:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return self._synced_at >= asked
                self._cond.wait(min(left, 0.05))
                self.poke()
        return True

    def poke(self) -> None:
        self._wake.set()

    # -- the thread ----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="indexer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - the chain may be down: retry at the next poll
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("indexer: %s", self.last_error)
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(30)
        with self._cond:
            self._cond.notify_all()
        with self._readers_lock:
            for conn in self._all_readers:
                conn.close()
            self._all_readers.clear()
        self.store.close()
        self.source.close()

    # -- syncing -------------------------------------------------------------------------

    def sync(self, target: int | None = None) -> int:
        """Index up to ``target`` (default: the head); returns the cursor. Safe to call repeatedly
        (one caller at a time: the thread, or the CLI and tests when no thread runs)."""
        with self._sync_lock:
            return self._sync(target)

    def _sync(self, target: int | None) -> int:
        while not self._stop.is_set():
            started = time.monotonic()
            head = self.source.head()
            self.head_seen = head
            goal = head if target is None else min(target, head)
            if self._cursor is not None and not self._cursor_on_chain(head):
                self._roll_back()
                continue
            if self.cursor >= goal:
                if goal == head:
                    with self._cond:
                        self._synced_at = started
                        self._cond.notify_all()
                return self.cursor
            try:
                self._index_range(self.cursor + 1, min(goal, self.cursor + self._chunk), head)
            except RangeTooLarge as exc:
                if self._chunk == 1:
                    raise
                self._ceiling = min(self._ceiling, self._chunk - 1)  # never ask this node for as much again
                self._chunk = max(1, self._chunk // 2)
                self._successes = 0
                log.info("indexer: node refused the log range (%s): %d blocks per query now", exc, self._chunk)
            except ChainChanged as exc:
                log.info("indexer: %s; reading the range again", exc)
                self._stop.wait(0.05)  # a reorg in progress: let the node settle
        return self.cursor

    def _cursor_on_chain(self, head: int) -> bool:
        assert self._cursor is not None
        number, block_hash = self._cursor
        if number > head:
            return False
        if number < 0:
            return True
        header = self.source.header(number)
        return header is not None and header.hash == block_hash

    def _index_range(self, start: int, end: int, head: int) -> None:
        raw = self.source.logs(start, end, self.addresses)
        self._successes += 1
        if self._successes >= 16 and self._chunk < self._ceiling:  # grow back, below what was refused
            self._chunk, self._successes = min(self._ceiling, self._chunk * 2), 0
        headers = self._headers(start, end, head, raw)
        by_block: dict[int, list[RawLog]] = {}
        for item in raw:
            if start <= item.block <= end:
                by_block.setdefault(item.block, []).append(item)
        for number in sorted(by_block):
            if self._stop.is_set():
                return
            logs = sorted(by_block[number], key=lambda x: x.log_index)
            events = [self._event(x) for x in logs]
            parent = headers[number].parent_hash if number in headers else None
            with self.store.transaction() as conn:
                self._record_headers(conn, headers, below=number)
                IndexStore.insert_events(conn, events, self.projections)
                IndexStore.set_cursor(conn, number, logs[0].block_hash, parent)
            self._advance((number, logs[0].block_hash))
        last = headers[end]
        if self.cursor < end:
            with self.store.transaction() as conn:
                self._record_headers(conn, headers, below=end)
                IndexStore.set_cursor(conn, end, last.hash, last.parent_hash)
            self._advance((end, last.hash))

    def _headers(self, start: int, end: int, head: int, raw: list[RawLog]) -> dict[int, Header]:
        """Headers to check the range with: every block near the head (linked by parent hash,
        matching every log's block hash) or, deep in history / on the embedded chain, the last."""
        near = max(start, head - REORG_WINDOW + 1)
        numbers = list(range(near, end + 1)) if self.source.reorgs_possible and near <= end else [end]
        if end not in numbers:
            numbers.append(end)
        fetched = self.source.headers(numbers)
        headers: dict[int, Header] = {}
        for n in numbers:
            h = fetched.get(n)
            if h is None:
                raise ChainChanged(f"block {n} is gone")
            headers[n] = h
        if self.source.reorgs_possible:
            previous = self._cursor[1] if self._cursor is not None and near == start else None
            for n in sorted(n for n in headers if n >= near):
                if previous is not None and headers[n].parent_hash != previous:
                    raise ChainChanged(f"block {n} does not extend block {n - 1}")
                previous = headers[n].hash
            for item in raw:
                if item.block in headers and headers[item.block].hash != item.block_hash:
                    raise ChainChanged(f"a log of block {item.block} is from another branch")
        return headers

    def _record_headers(self, conn: sqlite3.Connection, headers: dict[int, Header], *, below: int) -> None:
        for n, h in headers.items():
            if self.cursor < n < below:
                IndexStore.record_block(conn, n, h.hash, h.parent_hash)

    def _advance(self, cursor: tuple[int, str]) -> None:
        with self._cond:
            self._cursor = cursor
            self.blocks_written += 1
            self._cond.notify_all()

    def _event(self, x: RawLog) -> Event:
        decoded = self.decoder.decode(x.address, x.topics, x.data)
        topics = [*x.topics[1:4], None, None, None][:3]
        return Event(
            block=x.block,
            block_hash=x.block_hash,
            tx_hash=x.tx_hash,
            tx_index=x.tx_index,
            log_index=x.log_index,
            address=x.address,
            contract=decoded.contract,
            event=decoded.event,
            topics=(topics[0], topics[1], topics[2]),
            args=decoded.args,
        )

    # -- reorgs --------------------------------------------------------------------------

    def _roll_back(self) -> None:
        stored = self.store.recent_blocks()
        chain = self.source.headers([n for n, _ in stored]) if stored else {}
        ancestor = next(((n, h) for n, h in stored if (c := chain.get(n)) is not None and c.hash == h), None)
        self.reorgs += 1
        if ancestor is None:
            log.warning("indexer: reorg deeper than the %d blocks kept: rebuilding from the chain", REORG_WINDOW)
            with self.store.transaction() as conn:
                IndexStore.wipe(conn, self.projections)
            with self._cond:
                self._cursor = None
                self._cond.notify_all()
            return
        number, block_hash = ancestor
        with self.store.transaction() as conn:
            removed = IndexStore.rollback_to(conn, number, block_hash, self.projections)
        log.warning("indexer: reorg: rolled back to block %d (%d events removed)", number, removed)
        with self._cond:
            self._cursor = (number, block_hash)
            self._cond.notify_all()

    # -- maintenance ---------------------------------------------------------------------

    def rebuild(self) -> dict[str, int]:
        """Drop every read model and replay the stored events (one transaction); events per projection."""
        with self.store.transaction() as conn:
            return {p.name: IndexStore.replay(conn, p) for p in self.projections}
