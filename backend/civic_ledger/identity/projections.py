"""Identity read model maintained by the platform indexer: a citizen's history.

``identity_by_key``: every ``CitizenRegistry`` event of an identity by its citizen id
(registration, updates, suspensions, reinstatements, key rotations): the history of one citizen is
one index range, O(that citizen's changes), however many citizens the city has.
"""

from __future__ import annotations

import sqlite3

from civic_ledger.platform.indexer import Event
from civic_ledger.platform.indexer.keyed import events_of, keyed_events

CONTRACT = "CitizenRegistry"
BY_KEY = "identity_by_key"

EVENTS = ("CitizenRegistered", "CitizenUpdated", "CitizenSuspended", "CitizenReinstated", "CitizenKeyRotated")

BY_CITIZEN = keyed_events(BY_KEY, CONTRACT, {name: ("citizenId",) for name in EVENTS})

PROJECTIONS = [BY_CITIZEN]


def citizen_events(conn: sqlite3.Connection, citizen_id: int, *, limit: int | None = None) -> list[Event]:
    return events_of(conn, BY_KEY, "citizenId", citizen_id, limit=limit)
