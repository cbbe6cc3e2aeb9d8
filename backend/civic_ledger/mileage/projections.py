"""CivicMileage read models maintained by the platform indexer (:mod:`civic_ledger.platform.indexer`).

The contract keeps one ring of seven per-epoch buckets per citizen and emits an event for every
change of it, so the books below reproduce the chain exactly from the logs alone:

- a credit (``PointsAwarded``, each word of ``PointsAwardedBatch``, ``LegacyPointsImported``) adds
  to the citizen's bucket of the event's epoch; moving the ring past buckets seven or more epochs
  old writes them off first, with ``PointsExpired`` logged before the credit's own event;
- a redemption writes off every expired bucket it meets (``PointsExpired``, logged first: expired
  buckets are the oldest, met before any spendable one), then spends the oldest epochs first
  (``PointsRedeemed``: one event for the amount, not one per bucket);
- what has expired without a redemption or a ring move since is *unrealised*: no event says so,
  it is the buckets with ``epoch + validity <= current epoch`` — computed at read time from the
  buckets and the policy (two O(1) contract calls), exactly as ``pointsOf`` does on chain.

Programs are not known to the contract's buckets: within an epoch a citizen's points are kept as
lots per program, spent and written off first-in-first-out (oldest epoch first), so per-program
liability adds up to the citizens' balances.

Three projections (tables prefixed ``mileage_``):

- ``mileage_books``: ``mileage_programs`` (realised totals per program), ``mileage_citizens``
  (realised totals and the redemption nonce per citizen), ``mileage_lots`` (citizen, epoch, lot →
  program, points left: the buckets), ``mileage_program_epochs`` (points left per program and epoch:
  the liability report's unrealised expiry without visiting any citizen). No rollback function: a
  reorg replays it from the stored events.
- ``mileage_statements``: ``mileage_statement_lines``, one row per line of a citizen's statement.
- ``mileage_merchants``: ``mileage_merchants`` (redeemed, settled), ``mileage_merchant_epochs``
  (redemptions and points per merchant and epoch), ``mileage_settlements``.

Deterministic (``index verify`` compares digests): every key comes from the event's position.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from civic_ledger.platform.indexer import Event, Projection

CONTRACT = "CivicMileage"
_M32 = 2**32 - 1
_M64 = 2**64 - 1

BOOKS_SCHEMA = """
CREATE TABLE mileage_programs (
    program_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    awarder TEXT NOT NULL,
    annual_cap INTEGER NOT NULL,
    awarded INTEGER NOT NULL DEFAULT 0,
    imported INTEGER NOT NULL DEFAULT 0,
    redeemed INTEGER NOT NULL DEFAULT 0,
    expired INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE mileage_citizens (
    citizen_id INTEGER PRIMARY KEY,
    awarded INTEGER NOT NULL DEFAULT 0,
    imported INTEGER NOT NULL DEFAULT 0,
    redeemed INTEGER NOT NULL DEFAULT 0,
    expired INTEGER NOT NULL DEFAULT 0,
    nonce INTEGER NOT NULL DEFAULT 0,
    last_block INTEGER NOT NULL
);
CREATE INDEX mileage_citizens_by_block ON mileage_citizens (last_block);
CREATE TABLE mileage_lots (
    citizen_id INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    i INTEGER NOT NULL,
    program_id INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (citizen_id, epoch, block, log_index, i)
) WITHOUT ROWID;
CREATE TABLE mileage_program_epochs (
    program_id INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (program_id, epoch)
) WITHOUT ROWID;
"""

STATEMENTS_SCHEMA = """
CREATE TABLE mileage_statement_lines (
    citizen_id INTEGER NOT NULL,
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    i INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    program_id INTEGER,
    merchant_id INTEGER,
    ref TEXT,
    order_ref TEXT,
    PRIMARY KEY (citizen_id, block, log_index, i)
) WITHOUT ROWID;
CREATE INDEX mileage_statement_lines_by_block ON mileage_statement_lines (block);
CREATE TABLE mileage_statement_lots (
    citizen_id INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (citizen_id, epoch)
) WITHOUT ROWID;
"""

MERCHANTS_SCHEMA = """
CREATE TABLE mileage_merchants (
    merchant_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    district INTEGER NOT NULL,
    business_number_hash TEXT NOT NULL,
    active INTEGER NOT NULL,
    redeemed INTEGER NOT NULL DEFAULT 0,
    settled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE mileage_merchant_epochs (
    merchant_id INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    redemptions INTEGER NOT NULL,
    points INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, epoch)
) WITHOUT ROWID;
CREATE TABLE mileage_settlements (
    merchant_id INTEGER NOT NULL,
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    period INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    unsettled_after INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    PRIMARY KEY (merchant_id, block, log_index)
) WITHOUT ROWID;
"""


def _credits(e: Event) -> list[tuple[int, int, int, int, str, int | None]]:
    """(i, citizen, program, amount, kind, ref) of a credit event, in log order."""
    a = e.args
    if e.event == "PointsAwarded":
        return [(0, int(a["citizenId"]), int(a["programId"]), int(a["amount"]), "award", int(a["ref"]))]
    if e.event == "LegacyPointsImported":
        return [(0, int(a["citizenId"]), int(a["programId"]), int(a["amount"]), "legacy", None)]
    out: list[tuple[int, int, int, int, str, int | None]] = []
    for i, word in enumerate(int(w) for w in a["awards"]):  # citizenId << 96 | amount << 64 | ref
        out.append((i, word >> 96, int(a["programId"]), (word >> 64) & _M32, "award", word & _M64))
    return out


# -- books: programs, citizens, lots ----------------------------------------------------------


def _citizen(conn: sqlite3.Connection, cid: int, block: int, column: str | None = None, amount: int = 0) -> None:
    conn.execute(
        "INSERT INTO mileage_citizens (citizen_id, last_block) VALUES (?, ?) "
        "ON CONFLICT (citizen_id) DO UPDATE SET last_block = excluded.last_block",
        (cid, block),
    )
    if column is not None:
        conn.execute(f"UPDATE mileage_citizens SET {column} = {column} + ? WHERE citizen_id = ?", (amount, cid))


def _program_epoch(conn: sqlite3.Connection, pid: int, epoch: int, delta: int) -> None:
    conn.execute(
        "INSERT INTO mileage_program_epochs (program_id, epoch, amount) VALUES (?, ?, ?) "
        "ON CONFLICT (program_id, epoch) DO UPDATE SET amount = amount + excluded.amount",
        (pid, epoch, delta),
    )
    if delta < 0:
        conn.execute(
            "DELETE FROM mileage_program_epochs WHERE program_id = ? AND epoch = ? AND amount = 0", (pid, epoch)
        )


def _credit(conn: sqlite3.Connection, e: Event, i: int, cid: int, pid: int, amount: int, kind: str) -> None:
    epoch = int(e.args["epoch"])
    last = conn.execute(
        "SELECT block, log_index, i, program_id FROM mileage_lots WHERE citizen_id = ? AND epoch = ? "
        "ORDER BY block DESC, log_index DESC, i DESC LIMIT 1",
        (cid, epoch),
    ).fetchone()
    if last is not None and int(last[3]) == pid:  # the same program again: one lot (FIFO unchanged)
        conn.execute(
            "UPDATE mileage_lots SET amount = amount + ? WHERE citizen_id = ? AND epoch = ? AND block = ? "
            "AND log_index = ? AND i = ?",
            (amount, cid, epoch, last[0], last[1], last[2]),
        )
    else:
        conn.execute(
            "INSERT INTO mileage_lots (citizen_id, epoch, block, log_index, i, program_id, amount) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (cid, epoch, e.block, e.log_index, i, pid, amount),
        )
    _program_epoch(conn, pid, epoch, amount)
    column = "awarded" if kind == "award" else "imported"
    conn.execute(f"UPDATE mileage_programs SET {column} = {column} + ? WHERE program_id = ?", (amount, pid))
    _citizen(conn, cid, e.block, column, amount)


def _consume(conn: sqlite3.Connection, cid: int, amount: int, column: str, epoch: int | None = None) -> None:
    """Take ``amount`` from the citizen's lots, oldest epoch first, FIFO within an epoch."""
    where, params = ("AND epoch = ?", (cid, epoch)) if epoch is not None else ("", (cid,))
    lots = conn.execute(
        f"SELECT epoch, block, log_index, i, program_id, amount FROM mileage_lots WHERE citizen_id = ? {where} "
        "ORDER BY epoch, block, log_index, i",
        params,
    ).fetchall()
    left = amount
    for lot_epoch, block, log_index, i, pid, lot_amount in lots:
        if not left:
            break
        take = min(int(lot_amount), left)
        left -= take
        key = (cid, lot_epoch, block, log_index, i)
        if take == lot_amount:
            conn.execute(
                "DELETE FROM mileage_lots WHERE citizen_id = ? AND epoch = ? AND block = ? AND log_index = ? AND i = ?",
                key,
            )
        else:
            conn.execute(
                "UPDATE mileage_lots SET amount = amount - ? WHERE citizen_id = ? AND epoch = ? AND block = ? "
                "AND log_index = ? AND i = ?",
                (take, *key),
            )
        _program_epoch(conn, int(pid), int(lot_epoch), -take)
        conn.execute(f"UPDATE mileage_programs SET {column} = {column} + ? WHERE program_id = ?", (take, pid))
    # ``left`` is 0 on every chain: the contract never spends or writes off points it does not hold.


def _apply_books(conn: sqlite3.Connection, e: Event) -> None:
    a = e.args
    if e.event == "ProgramRegistered":
        conn.execute(
            "INSERT OR REPLACE INTO mileage_programs (program_id, name, awarder, annual_cap) VALUES (?, ?, ?, ?)",
            (int(a["programId"]), str(a["name"]), str(a["awarder"]), int(a["annualCap"])),
        )
    elif e.event == "ProgramUpdated":
        conn.execute(
            "UPDATE mileage_programs SET awarder = ?, annual_cap = ? WHERE program_id = ?",
            (str(a["awarder"]), int(a["annualCap"]), int(a["programId"])),
        )
    elif e.event in ("PointsAwarded", "PointsAwardedBatch", "LegacyPointsImported"):
        for i, cid, pid, amount, kind, _ref in _credits(e):
            _credit(conn, e, i, cid, pid, amount, kind)
    elif e.event == "PointsExpired":
        cid, amount = int(a["citizenId"]), int(a["amount"])
        _consume(conn, cid, amount, "expired", epoch=int(a["epoch"]))
        _citizen(conn, cid, e.block, "expired", amount)
    elif e.event == "PointsRedeemed":
        cid, amount = int(a["citizenId"]), int(a["amount"])
        _consume(conn, cid, amount, "redeemed")
        _citizen(conn, cid, e.block, "redeemed", amount)
        conn.execute("UPDATE mileage_citizens SET nonce = nonce + 1 WHERE citizen_id = ?", (cid,))


# -- statements -------------------------------------------------------------------------------

_LINE = (
    "INSERT INTO mileage_statement_lines (citizen_id, block, log_index, i, tx_hash, kind, epoch, amount, "
    "program_id, merchant_id, ref, order_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _apply_statements(conn: sqlite3.Connection, e: Event) -> None:
    a = e.args
    where = (e.block, e.log_index)
    if e.event in ("PointsAwarded", "PointsAwardedBatch", "LegacyPointsImported"):
        epoch = int(a["epoch"])
        conn.executemany(
            _LINE,
            [
                (cid, *where, i, e.tx_hash, kind, epoch, amount, pid, None, None if ref is None else str(ref), None)
                for i, cid, pid, amount, kind, ref in _credits(e)
            ],
        )
        for _i, cid, _pid, amount, _kind, _ref in _credits(e):
            _lot(conn, cid, epoch, amount)
    elif e.event == "PointsExpired":
        cid, epoch, amount = int(a["citizenId"]), int(a["epoch"]), int(a["amount"])
        line = (cid, *where, 0, e.tx_hash, "expiry", epoch, -amount)
        conn.execute(_LINE, (*line, None, None, None, None))
        _lot(conn, cid, epoch, -amount)
    elif e.event == "PointsRedeemed":
        # One line per epoch the points came from (oldest first, as the contract spends them), not
        # the epoch of the redemption; expired epochs were written off by PointsExpired just before.
        cid, left = int(a["citizenId"]), int(a["amount"])
        lots = conn.execute(
            "SELECT epoch, amount FROM mileage_statement_lots WHERE citizen_id = ? AND amount > 0 ORDER BY epoch",
            (cid,),
        ).fetchall()
        parts: list[tuple[int, int]] = []
        for epoch, available in lots:
            take = min(int(available), left)
            if take:
                parts.append((int(epoch), take))
                left -= take
            if not left:
                break
        if left:  # the index saw fewer credits than the chain spent (never on a full index): keep the total
            parts.append((int(a["epoch"]), left))
        for i, (epoch, take) in enumerate(parts):
            line = (cid, *where, i, e.tx_hash, "redemption", epoch, -take)
            conn.execute(_LINE, (*line, None, int(a["merchantId"]), None, str(a["orderRef"]).lower()))
            _lot(conn, cid, epoch, -take)


def _lot(conn: sqlite3.Connection, cid: int, epoch: int, amount: int) -> None:
    conn.execute(
        "INSERT INTO mileage_statement_lots (citizen_id, epoch, amount) VALUES (?, ?, ?) "
        "ON CONFLICT (citizen_id, epoch) DO UPDATE SET amount = amount + excluded.amount",
        (cid, epoch, amount),
    )


# -- merchants --------------------------------------------------------------------------------


def _apply_merchants(conn: sqlite3.Connection, e: Event) -> None:
    a = e.args
    if e.event == "MerchantRegistered":
        conn.execute(
            "INSERT OR REPLACE INTO mileage_merchants (merchant_id, name, district, business_number_hash, active) "
            "VALUES (?, ?, ?, ?, 1)",
            (int(a["merchantId"]), str(a["name"]), int(a["district"]), str(a["businessNumberHash"]).lower()),
        )
    elif e.event == "MerchantDeactivated":
        conn.execute("UPDATE mileage_merchants SET active = 0 WHERE merchant_id = ?", (int(a["merchantId"]),))
    elif e.event == "PointsRedeemed":
        mid, amount, epoch = int(a["merchantId"]), int(a["amount"]), int(a["epoch"])
        conn.execute("UPDATE mileage_merchants SET redeemed = redeemed + ? WHERE merchant_id = ?", (amount, mid))
        conn.execute(
            "INSERT INTO mileage_merchant_epochs (merchant_id, epoch, redemptions, points) VALUES (?, ?, 1, ?) "
            "ON CONFLICT (merchant_id, epoch) DO UPDATE SET redemptions = redemptions + 1, points = points + ?",
            (mid, epoch, amount, amount),
        )
    elif e.event == "MerchantSettled":
        mid, amount = int(a["merchantId"]), int(a["amount"])
        conn.execute("UPDATE mileage_merchants SET settled = settled + ? WHERE merchant_id = ?", (amount, mid))
        conn.execute(
            "INSERT INTO mileage_settlements (merchant_id, block, log_index, period, amount, unsettled_after, tx_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (mid, e.block, e.log_index, int(a["period"]), amount, int(a["unsettledAfter"]), e.tx_hash),
        )


_CREDITS = {"PointsAwarded", "PointsAwardedBatch", "LegacyPointsImported"}

BOOKS = Projection(
    name="mileage_books",
    consumes=frozenset(
        (CONTRACT, n) for n in (*_CREDITS, "ProgramRegistered", "ProgramUpdated", "PointsExpired", "PointsRedeemed")
    ),
    schema=BOOKS_SCHEMA,
    tables=("mileage_programs", "mileage_citizens", "mileage_lots", "mileage_program_epochs"),
    apply=_apply_books,
)
STATEMENTS = Projection(
    name="mileage_statements",
    consumes=frozenset((CONTRACT, n) for n in (*_CREDITS, "PointsExpired", "PointsRedeemed")),
    schema=STATEMENTS_SCHEMA,
    tables=("mileage_statement_lines", "mileage_statement_lots"),
    apply=_apply_statements,
    version=2,  # 2: redemption lines name the epochs the points came from (reset and replay on a reorg)
)
MERCHANTS = Projection(
    name="mileage_merchants",
    consumes=frozenset(
        (CONTRACT, n) for n in ("MerchantRegistered", "MerchantDeactivated", "PointsRedeemed", "MerchantSettled")
    ),
    schema=MERCHANTS_SCHEMA,
    tables=("mileage_merchants", "mileage_merchant_epochs", "mileage_settlements"),
    apply=_apply_merchants,
)

PROJECTIONS = [BOOKS, STATEMENTS, MERCHANTS]


# -- queries (any connection; the caller holds one read transaction for a consistent view) -----


def cursor_of(conn: sqlite3.Connection) -> int:
    """The last block the snapshot holds (-1 before the first)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'cursor_block'").fetchone()
    return -1 if row is None else int(row[0])


def buckets(conn: sqlite3.Connection, cid: int) -> list[tuple[int, int]]:
    """(epoch, points left) of a citizen's non-empty buckets, oldest first (the contract's ring)."""
    rows = conn.execute(
        "SELECT epoch, SUM(amount) FROM mileage_lots WHERE citizen_id = ? GROUP BY epoch ORDER BY epoch", (cid,)
    )
    return [(int(e), int(n)) for e, n in rows if n]


def split_expired(bucket_list: list[tuple[int, int]], current_epoch: int, validity: int) -> tuple[int, int]:
    """(unexpired balance, expired-but-not-written-off) of ``bucket_list``, as ``pointsOf`` computes it."""
    balance = sum(n for e, n in bucket_list if e + validity > current_epoch)
    return balance, sum(n for e, n in bucket_list if e + validity <= current_epoch)


def citizen_row(conn: sqlite3.Connection, cid: int) -> dict[str, int]:
    row = conn.execute(
        "SELECT awarded, imported, redeemed, expired, nonce FROM mileage_citizens WHERE citizen_id = ?", (cid,)
    ).fetchone()
    keys = ("awarded", "imported", "redeemed", "expired", "nonce")
    return dict(zip(keys, (int(x) for x in row), strict=True)) if row else dict.fromkeys(keys, 0)


def recent_citizens(conn: sqlite3.Connection, limit: int) -> list[int]:
    """The ``limit`` citizens whose points changed last (the liability report's chain sample)."""
    rows = conn.execute(
        "SELECT citizen_id FROM mileage_citizens ORDER BY last_block DESC, citizen_id DESC LIMIT ?", (limit,)
    )
    return [int(r[0]) for r in rows]


def statement_lines(conn: sqlite3.Connection, cid: int) -> list[dict[str, Any]]:
    cols = ("block", "tx_hash", "kind", "epoch", "amount", "program_id", "merchant_id", "ref", "order_ref")
    rows = conn.execute(
        f"SELECT {', '.join(cols)} FROM mileage_statement_lines WHERE citizen_id = ? ORDER BY block, log_index, i",
        (cid,),
    )
    out = []
    for r in rows:
        line = dict(zip(cols, r, strict=True))
        line["ref"] = None if line["ref"] is None else int(line["ref"])
        out.append(line)
    return out


def program_rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    cols = ("program_id", "name", "awarded", "imported", "redeemed", "expired")
    rows = conn.execute(f"SELECT {', '.join(cols)} FROM mileage_programs ORDER BY program_id")
    return [dict(zip(cols, r, strict=True)) for r in rows]


def left_by_program(conn: sqlite3.Connection, *, expired_upto: int) -> dict[int, tuple[int, int]]:
    """program → (points left in epochs <= ``expired_upto``: expired unrealised, points left after)."""
    out: dict[int, tuple[int, int]] = {}
    rows = conn.execute(
        "SELECT program_id, SUM(CASE WHEN epoch <= ? THEN amount ELSE 0 END), "
        "SUM(CASE WHEN epoch > ? THEN amount ELSE 0 END) FROM mileage_program_epochs GROUP BY program_id",
        (expired_upto, expired_upto),
    )
    for pid, expired, live in rows:
        out[int(pid)] = (int(expired or 0), int(live or 0))
    return out


_MERCHANT_COLS = ("merchant_id", "name", "district", "active", "business_number_hash", "redeemed", "settled")


def merchant_rows(conn: sqlite3.Connection, merchant_id: int | None = None) -> list[dict[str, Any]]:
    sql = f"SELECT {', '.join(_MERCHANT_COLS)} FROM mileage_merchants"
    rows = (
        conn.execute(sql + " WHERE merchant_id = ?", (merchant_id,))
        if merchant_id is not None
        else conn.execute(sql + " ORDER BY merchant_id")
    )
    out = []
    for r in rows:
        m = dict(zip(_MERCHANT_COLS, r, strict=True))
        m["active"] = bool(m["active"])
        m["unsettled"] = int(m["redeemed"]) - int(m["settled"])
        out.append(m)
    return out


def merchant_epochs(conn: sqlite3.Connection) -> list[tuple[int, int, int, int]]:
    """(merchant, epoch, redemptions, points), by merchant then epoch."""
    rows = conn.execute(
        "SELECT merchant_id, epoch, redemptions, points FROM mileage_merchant_epochs ORDER BY merchant_id, epoch"
    )
    return [(int(m), int(e), int(c), int(p)) for m, e, c, p in rows]
