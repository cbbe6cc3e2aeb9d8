"""EthereumTester over the persistent backend: indexed ``get_logs`` and mining left to a miner.

``get_logs`` keeps eth-tester's filter (address lists, topic positions with None and OR-lists,
block tags, ``removed``/``type``, order by block and log index) but takes its candidates from the
log index, so its cost follows the number of matching logs. Blocks the index does not cover yet
(a read-only view of a store no writer has indexed) are scanned, skipping those whose bloom
filter rules them out.

With ``defer_mining`` set, a sent transaction stays in the pending block (executed once, as
with auto-mining) and ``on_pending`` is told its hash; mining is someone else's job (the
:class:`~civic_ledger.platform.embedded.miner.BlockMiner`). eth-tester's own
``auto_mine_transactions=False`` mode is not used: it executes each transaction twice and keeps
it out of the pending block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_bloom import BloomFilter
from eth_tester import EthereumTester
from eth_tester.utils.filters import Filter, check_if_log_matches

from civic_ledger.platform.embedded.backend import PersistentPyEVMBackend


def _bloom_may_match(bloom: int, addresses: Any, topics: Any) -> bool:
    """Whether a block with this logs bloom may hold a log matching the filter."""
    if not bloom:
        return False
    flt = BloomFilter(bloom)
    if addresses:
        addrs = addresses if isinstance(addresses, (list, tuple)) else [addresses]
        if not any(bytes(a) in flt for a in addrs):
            return False
    for position in topics or ():
        if position is None:
            continue
        options = position if isinstance(position, (list, tuple)) else [position]
        if not any(bytes(t) in flt for t in options if t is not None):
            return False
    return True


class PersistentEthereumTester(EthereumTester):
    """EthereumTester whose ``get_logs`` is an index lookup and whose mining may be deferred."""

    backend: PersistentPyEVMBackend

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.defer_mining = False
        self.on_pending: Callable[[bytes], None] | None = None

    # -- sending ----------------------------------------------------------------------------

    def _sent(self, transaction_hash: Any) -> Any:
        if self.defer_mining:
            if self.on_pending is not None:
                self.on_pending(self.normalizer.normalize_inbound_transaction_hash(transaction_hash))
        else:
            self.mine_block()
        return transaction_hash

    def send_raw_transaction(self, raw_transaction_hex: Any) -> Any:
        unmined = EthereumTester.send_raw_transaction.__wrapped__  # type: ignore[attr-defined]
        return self._sent(unmined(self, raw_transaction_hex))

    def send_transaction(self, transaction: Any) -> Any:
        unmined = EthereumTester.send_transaction.__wrapped__  # type: ignore[attr-defined]
        return self._sent(unmined(self, transaction))

    # -- logs -------------------------------------------------------------------------------

    def get_logs(self, from_block=None, to_block=None, address=None, topics=None):  # type: ignore[no-untyped-def,override]
        self.validator.validate_inbound_filter_params(
            from_block=from_block, to_block=to_block, address=address, topics=topics
        )
        raw_from, raw_to, raw_address, raw_topics = self.normalizer.normalize_inbound_filter_params(
            from_block=from_block, to_block=to_block, address=address, topics=topics
        )
        params = {"from_block": raw_from, "to_block": raw_to, "addresses": raw_address, "topics": raw_topics}
        log_filter = Filter(filter_params=params, filter_fn=lambda entry: check_if_log_matches(entry, **params))
        lower = raw_from if isinstance(raw_from, int) else self.get_block_by_number(raw_from or "latest")["number"]
        upper = raw_to if isinstance(raw_to, int) else self.get_block_by_number(raw_to or "latest")["number"]
        backend = self.backend
        upper = min(upper, backend.chain.get_canonical_head().block_number)
        indexed_to = backend.log_index.indexed_to()
        normalize_out, normalize_in = (
            self.normalizer.normalize_outbound_log_entry,
            self.normalizer.normalize_inbound_log_entry,
        )
        for raw in backend.log_index.query(lower, min(upper, indexed_to), raw_address, raw_topics):
            log_filter.add(normalize_in(normalize_out(raw)))
        for number in range(max(lower, indexed_to + 1), upper + 1):
            if not _bloom_may_match(backend.header_bloom(number), raw_address, raw_topics):
                continue
            block = self.get_block_by_number(number)
            for tx_hash in block["transactions"]:
                for entry in self.get_transaction_receipt(tx_hash)["logs"]:
                    log_filter.add(normalize_in(entry))
        return tuple(normalize_out(item) for item in log_filter.get_all())
