"""Credential read models maintained by the platform indexer.

``credentials_by_key``: the registry's events by issuer, by credential type and by anchor: the name
an issuer or a type was registered with (only its hash is in storage) is one point read, and an
anchor's history (anchored, revoked, suspended, reinstated) one index range.
"""

from __future__ import annotations

import sqlite3

from civic_ledger.platform.indexer import Event
from civic_ledger.platform.indexer.keyed import events_of, first_event, keyed_events

CONTRACT = "CredentialRegistry"
BY_KEY = "credentials_by_key"

BY_ISSUER_TYPE_ANCHOR = keyed_events(
    BY_KEY,
    CONTRACT,
    {
        "IssuerRegistered": ("issuerId",),
        "IssuerKeyAdded": ("issuerId",),
        "IssuerKeyRetired": ("issuerId",),
        "CredentialTypeRegistered": ("typeId",),
        "IssuerAllowedForType": ("typeId", "issuerId"),
        "IssuerDisallowedForType": ("typeId", "issuerId"),
        "CredentialAnchored": ("anchorId",),
        "CredentialBatchAnchored": ("root",),
        "CredentialRevoked": ("anchorId",),
        "CredentialSuspended": ("anchorId",),
        "CredentialReinstated": ("anchorId",),
    },
)

PROJECTIONS = [BY_ISSUER_TYPE_ANCHOR]


def registered_name(conn: sqlite3.Connection, event: str, arg: str, ident: str) -> str | None:
    """The name ``event`` (IssuerRegistered / CredentialTypeRegistered) emitted for ``ident``."""
    e = first_event(conn, BY_KEY, arg, ident, event)
    return None if e is None else str(e.args["name"])


def anchor_events(conn: sqlite3.Connection, anchor_id: str) -> list[Event]:
    """An anchor's events: its anchoring (a batch's root is its anchor id) and status changes."""
    both = events_of(conn, BY_KEY, "anchorId", anchor_id) + events_of(conn, BY_KEY, "root", anchor_id)
    return sorted(both, key=lambda e: (e.block, e.log_index))
