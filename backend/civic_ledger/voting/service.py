"""M-Voting: the area's service API, by job —

- :mod:`civic_ledger.voting.state`: the per-platform state (contract, ballot relay, domain), owned
  by ``Platform`` and closed with it;
- :mod:`civic_ledger.voting.polls`: polls signed by agencies, lookups, finalization, results;
- :mod:`civic_ledger.voting.casting`: ballots signed by voters, the pre-check, the batched relay,
  receipts, reveals.

No HTTP here; every failure is a CivicLedgerError naming what is wrong.
"""

from __future__ import annotations

from civic_ledger.voting.casting import (
    ballot_digest,
    ballot_input,
    ballot_typed_data,
    ballot_typed_message,
    cast_ballot,
    cast_ballot_async,
    check_ballot,
    precheck_ballot,
    receipt,
    reveal,
    voter_key,
)
from civic_ledger.voting.polls import (
    _poll_params,
    create_poll,
    finalize,
    get_poll,
    list_polls,
    poll_typed_data,
    poll_typed_message,
    render_svg,
    results,
    results_svg,
)
from civic_ledger.voting.state import (
    BALLOT_TYPEHASH,
    CREATE_POLL_TYPEHASH,
    ZERO32,
    BallotRejected,
    PollMeta,
    ReceiptEntry,
    VotingState,
    chain_now,
    close,
    state,
)

__all__ = [
    "BALLOT_TYPEHASH",
    "CREATE_POLL_TYPEHASH",
    "ZERO32",
    "BallotRejected",
    "PollMeta",
    "ReceiptEntry",
    "VotingState",
    "_poll_params",
    "ballot_digest",
    "ballot_input",
    "ballot_typed_data",
    "ballot_typed_message",
    "cast_ballot",
    "cast_ballot_async",
    "chain_now",
    "check_ballot",
    "close",
    "create_poll",
    "finalize",
    "get_poll",
    "list_polls",
    "poll_typed_data",
    "poll_typed_message",
    "precheck_ballot",
    "receipt",
    "render_svg",
    "results",
    "results_svg",
    "reveal",
    "state",
    "voter_key",
]
