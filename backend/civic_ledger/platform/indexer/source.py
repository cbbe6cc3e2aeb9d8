"""Where the indexer reads the chain: raw logs and block headers, embedded or over JSON-RPC.

Both sources read on their own connection, never through the platform's chain lock: the embedded
one on a read-only snapshot of the chain's SQLite store (WAL: committed blocks only, the writer
goes on), the JSON-RPC one on a provider of its own. Results are plain values (hex strings and
ints), never web3's formatted objects, which cost about a millisecond per log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from civic_ledger.errors import ChainUnavailable


@dataclass(frozen=True)
class LogPosition:
    """Where a log stands on chain: its block, transaction and index there, and the contract that emitted it."""

    block: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    address: str


@dataclass(frozen=True)
class RawLog(LogPosition):
    topics: list[str]
    data: str


@dataclass(frozen=True)
class Header:
    number: int
    hash: str
    parent_hash: str


class RangeTooLarge(Exception):
    """The node refused a log query as too wide (blocks or results): ask for a narrower range."""


#: What nodes say when a log range is too wide (geth, Besu, Infura, Alchemy, QuickNode, our /rpc).
_TOO_LARGE = re.compile(r"range|too (many|large|big)|more than|limit|exceed|response size|split", re.IGNORECASE)


class LogSource(Protocol):
    #: False on an instant-finality chain read locally (the embedded chain): headers are then
    #: read only where the cursor lands, not for every block of a range.
    reorgs_possible: bool

    def head(self) -> int: ...
    def header(self, number: int) -> Header | None: ...
    def headers(self, numbers: list[int]) -> dict[int, Header | None]: ...
    def logs(self, start: int, end: int, addresses: list[str]) -> list[RawLog]: ...
    def close(self) -> None: ...


def _hex(value: Any) -> str:
    return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _get(d: dict[str, Any], camel: str, snake: str) -> Any:
    return d[camel] if camel in d else d[snake]


def _raw_log(x: dict[str, Any]) -> RawLog:
    return RawLog(
        block=_int(_get(x, "blockNumber", "block_number")),
        block_hash=_hex(_get(x, "blockHash", "block_hash")),
        tx_hash=_hex(_get(x, "transactionHash", "transaction_hash")),
        tx_index=_int(_get(x, "transactionIndex", "transaction_index")),
        log_index=_int(_get(x, "logIndex", "log_index")),
        address=str(x["address"]),
        topics=[_hex(t) for t in x["topics"]],
        data=_hex(x["data"]) if x["data"] else "0x",
    )


class EmbeddedSource:
    """The embedded chain in ``data_dir``, read on a read-only snapshot connection."""

    reorgs_possible = False

    def __init__(self, data_dir: Path) -> None:
        from civic_ledger.platform.embedded import open_snapshot_reader

        self.tester = open_snapshot_reader(data_dir, gas_cap=1, time_limit_s=1.0)  # no calls are made
        self._chaindb = self.tester.backend.chain.chaindb

    def head(self) -> int:
        return int(self._chaindb.get_canonical_head().block_number)

    def header(self, number: int) -> Header | None:
        from eth.exceptions import HeaderNotFound

        try:
            h = self._chaindb.get_canonical_block_header_by_number(number)
        except HeaderNotFound:
            return None
        return Header(number, "0x" + bytes(h.hash).hex(), "0x" + bytes(h.parent_hash).hex())

    def headers(self, numbers: list[int]) -> dict[int, Header | None]:
        return {n: self.header(n) for n in numbers}

    def logs(self, start: int, end: int, addresses: list[str]) -> list[RawLog]:
        self.tester.backend.refresh()  # eth-tester tells mined from pending blocks by the pending header
        return [_raw_log(x) for x in self.tester.get_logs(from_block=start, to_block=end, address=addresses)]

    def close(self) -> None:
        self.tester.backend.close()


class RpcSource:
    """A JSON-RPC node, on a provider of the indexer's own (HTTP batches where possible)."""

    reorgs_possible = True

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        from web3 import HTTPProvider, LegacyWebSocketProvider

        self.url = url
        if url.startswith(("ws://", "wss://")):
            self.provider: Any = LegacyWebSocketProvider(url, websocket_timeout=int(timeout))
        else:
            self.provider = HTTPProvider(url, request_kwargs={"timeout": timeout})

    def _request(self, method: str, params: list[Any]) -> Any:
        try:
            response = self.provider.make_request(method, params)
        except Exception as exc:  # noqa: BLE001 - transport: refused, timeout, TLS...
            raise ChainUnavailable(f"chain {self.url} is unreachable ({method}): {exc}") from None
        return self._result(method, response)

    def _result(self, method: str, response: Any) -> Any:
        if not isinstance(response, dict):
            raise ChainUnavailable(f"{method}: unexpected answer {str(response)[:200]}")
        error = response.get("error")
        if error:
            message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
            code = error.get("code") if isinstance(error, dict) else None
            if method == "eth_getLogs" and (code == -32005 or _TOO_LARGE.search(message)):
                raise RangeTooLarge(message)
            raise ChainUnavailable(f"{method} failed on {self.url}: {message}")
        return response.get("result")

    def head(self) -> int:
        return _int(self._request("eth_blockNumber", []))

    @staticmethod
    def _header(number: int, block: Any) -> Header | None:
        if not block:
            return None
        return Header(number, _hex(block["hash"]), _hex(block["parentHash"]))

    def header(self, number: int) -> Header | None:
        return self._header(number, self._request("eth_getBlockByNumber", [hex(number), False]))

    def headers(self, numbers: list[int]) -> dict[int, Header | None]:
        if len(numbers) > 1 and hasattr(self.provider, "make_batch_request"):
            out: dict[int, Header | None] = {}
            for i in range(0, len(numbers), 100):
                part = numbers[i : i + 100]
                try:
                    responses = self.provider.make_batch_request(
                        [("eth_getBlockByNumber", [hex(n), False]) for n in part]
                    )
                except Exception as exc:  # noqa: BLE001
                    raise ChainUnavailable(f"chain {self.url} is unreachable (headers): {exc}") from None
                if not isinstance(responses, list) or len(responses) != len(part):
                    raise ChainUnavailable(f"batched eth_getBlockByNumber failed: {str(responses)[:200]}")
                for n, response in zip(part, responses, strict=True):  # web3 sorts them by id
                    out[n] = self._header(n, self._result("eth_getBlockByNumber", response))
            return out
        return {n: self.header(n) for n in numbers}

    def logs(self, start: int, end: int, addresses: list[str]) -> list[RawLog]:
        result = self._request("eth_getLogs", [{"fromBlock": hex(start), "toBlock": hex(end), "address": addresses}])
        return [_raw_log(x) for x in result or []]

    def close(self) -> None:
        """Nothing to release: web3 pools HTTP sessions per process."""


def open_source(chain: str, data_dir: Path) -> LogSource:
    """The source for the configured chain (``embedded`` or a node URL)."""
    if chain == "embedded":
        return EmbeddedSource(data_dir)
    return RpcSource(chain)
