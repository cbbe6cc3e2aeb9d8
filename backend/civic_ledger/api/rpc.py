"""A read-only Ethereum JSON-RPC endpoint over whatever chain the server runs on.

The embedded chain lives inside the API process and has no JSON-RPC port of its own; this
endpoint lets the chain-only tools (``voting recount``, ``credentials verify``, ``audit``,
``labor verify``) and any standard client (web3, ethers, cast) read it at
``http://HOST:PORT/rpc``. Only reads are served: nothing that signs, sends or changes state.
For trust that does not depend on the city's server, point those tools at a node of your own.

The endpoint is open to anyone, so every request is bounded (settings ``rpc_*``): an ``eth_call``
gets at most ``rpc_gas_cap`` gas and, on the embedded chain, ``rpc_call_time_s`` of wall time; a
request (a batch) at most ``rpc_max_batch`` calls, ``rpc_request_gas`` gas and
``rpc_request_time_s``; an ``eth_getLogs`` at most ``rpc_max_log_blocks`` blocks. On the embedded
chain the reads run on read-only snapshots of the store, never under the chain's lock, so a slow
read can not stall writes or the API's own reads (:class:`civic_ledger.platform.chain.UntrustedReads`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from hexbytes import HexBytes
from web3.datastructures import AttributeDict
from web3.exceptions import ContractLogicError

from civic_ledger.api.deps import PlatformDep
from civic_ledger.errors import ServiceBusy
from civic_ledger.platform.embedded import CallLimitExceeded

router = APIRouter(tags=["system"])

READ_METHODS = frozenset(
    {
        "web3_clientVersion",
        "net_version",
        "eth_chainId",
        "eth_blockNumber",
        "eth_call",
        "eth_getBalance",
        "eth_getCode",
        "eth_getStorageAt",
        "eth_getTransactionCount",
        "eth_getBlockByNumber",
        "eth_getBlockByHash",
        "eth_getTransactionByHash",
        "eth_getTransactionReceipt",
        "eth_getLogs",
        "eth_gasPrice",
        "eth_feeHistory",
    }
)


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _plain(value: Any) -> Any:
    """eth-tester's results as a JSON-RPC node writes them: camelCase keys, hex quantities."""
    if isinstance(value, (bytes, bytearray, HexBytes)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (dict, AttributeDict)):
        out = {_camel(k): _plain(v) for k, v in value.items()}
        if out.get("type") == "mined":  # eth-tester's log marker; nodes say removed: false
            out.pop("type")
            out["removed"] = False
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return hex(value)
    return value


#: Position of the block parameter, per method (JSON-RPC hex quantity → int for eth-tester).
_BLOCK_PARAM = {
    "eth_feeHistory": 1,
    "eth_call": 1,
    "eth_getBalance": 1,
    "eth_getCode": 1,
    "eth_getStorageAt": 2,
    "eth_getTransactionCount": 1,
    "eth_getBlockByNumber": 0,
}
_QUANTITY_KEYS = {"fromBlock", "toBlock", "gas", "gasPrice", "value", "nonce", "maxFeePerGas", "maxPriorityFeePerGas"}


def _snake(key: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in key)


def _quantity(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    return value


def _for_tester(method: str, params: list[Any]) -> list[Any]:
    """JSON-RPC params (camelCase, hex quantities) in the form eth-tester's provider takes."""
    params = list(params)
    position = _BLOCK_PARAM.get(method)
    if position is not None and len(params) > position:
        params[position] = _quantity(params[position])
    if method == "eth_feeHistory" and params:
        params[0] = _quantity(params[0])  # the block count is a quantity too
    if method in ("eth_call", "eth_getLogs") and params and isinstance(params[0], dict):
        params[0] = {_snake(k): (_quantity(v) if k in _QUANTITY_KEYS else v) for k, v in params[0].items()}
    return params


_TX_METHODS = frozenset({"eth_getTransactionByHash"})
_BLOCK_METHODS = frozenset({"eth_getBlockByNumber", "eth_getBlockByHash"})


def _conform_tx(tx: dict[str, Any]) -> dict[str, Any]:
    """A transaction object as the execution-API spec names it: ``input``, ``to: null`` on creation."""
    if "data" in tx and "input" not in tx:
        tx["input"] = tx.pop("data")
    if tx.get("to") in ("", "0x"):
        tx["to"] = None
    return tx


def _conform_receipt(receipt: dict[str, Any]) -> dict[str, Any]:
    """A receipt as the spec has it: ``logsBloom`` (eth-tester omits it), ``to: null``, no ``stateRoot``."""
    from eth_bloom import BloomFilter

    receipt.pop("stateRoot", None)
    if receipt.get("to") in ("", "0x"):
        receipt["to"] = None
    if "logsBloom" not in receipt:
        bloom = BloomFilter()
        for log in receipt.get("logs") or ():
            bloom.add(bytes.fromhex(log["address"][2:]))
            for topic in log.get("topics") or ():
                bloom.add(bytes.fromhex(topic[2:]))
        receipt["logsBloom"] = "0x" + int(bloom).to_bytes(256, "big").hex()
    return receipt


def _conform(method: str, result: Any) -> Any:
    """eth-tester's answer (already plain JSON) in the names and shapes of the execution-API spec."""
    if not isinstance(result, dict):
        return result
    if method in _TX_METHODS:
        return _conform_tx(result)
    if method == "eth_getTransactionReceipt":
        return _conform_receipt(result)
    if method in _BLOCK_METHODS:
        if "coinbase" in result and "miner" not in result:
            result["miner"] = result.pop("coinbase")
        result["transactions"] = [
            _conform_tx(tx) if isinstance(tx, dict) else tx for tx in result.get("transactions") or ()
        ]
    return result


def _error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


#: Fields of an ``eth_call`` object that matter to a call (the rest — chainId, type, nonce,
#: accessList, blob fields — describe a transaction to sign and are ignored, as nodes do).
_CALL_KEYS = frozenset({"from", "to", "gas", "gasPrice", "value", "data"})

#: JSON-RPC error code for a limit of this server (EIP-1474 "limit exceeded").
LIMIT_EXCEEDED = -32005


@dataclass
class _Budget:
    """What is left of one request's allowance."""

    gas: int
    deadline: float

    def expired(self) -> bool:
        return time.monotonic() > self.deadline


def _block_number(tag: Any, provider: Any) -> int | None:
    """A block tag or hex quantity as a number (None when it can not be told)."""
    if tag is None or tag in ("latest", "pending", "safe", "finalized"):
        response = provider.make_request("eth_blockNumber", [])
        result = response.get("result")
        return int(result, 16) if isinstance(result, str) else int(result) if result is not None else None
    if tag == "earliest":
        return 0
    if isinstance(tag, str) and tag.startswith("0x"):
        return int(tag, 16)
    if isinstance(tag, int):
        return tag
    return None


def _limit(platform: Any, request_id: Any, method: str, params: list[Any], budget: _Budget, provider: Any) -> Any:
    """The call with this server's limits applied, or the JSON-RPC error refusing it."""
    settings = platform.settings
    if method == "eth_call" and params and isinstance(params[0], dict):
        call = dict(params[0])
        if "input" in call:  # the execution-API name; eth-tester and older clients say `data`
            data = call.pop("input")
            call.setdefault("data", data)
        if platform.chain.is_embedded:  # a call needs none of a transaction's other fields (cast sends chainId)
            call = {k: v for k, v in call.items() if k in _CALL_KEYS}
        try:
            asked = _quantity(call["gas"]) if "gas" in call else settings.rpc_gas_cap
            gas = min(int(asked), settings.rpc_gas_cap)
        except (TypeError, ValueError):
            return _error(request_id, -32602, "invalid params: gas is not a hexadecimal quantity")
        if gas > budget.gas:
            return _error(
                request_id,
                LIMIT_EXCEEDED,
                f"the request's gas budget ({settings.rpc_request_gas} for all eth_calls of one request) is spent",
            )
        budget.gas -= gas
        call["gas"] = hex(gas)
        return [call, *params[1:]]
    if method == "eth_getLogs" and params and isinstance(params[0], dict):
        flt = params[0]
        if "blockHash" in flt:
            return params
        try:
            low = _block_number(flt.get("fromBlock", "latest"), provider)
            high = _block_number(flt.get("toBlock", "latest"), provider)
        except ValueError:
            return _error(request_id, -32602, "invalid params: fromBlock/toBlock is not a block tag or hex quantity")
        if low is not None and high is not None and high - low + 1 > settings.rpc_max_log_blocks:
            return _error(
                request_id,
                LIMIT_EXCEEDED,
                f"eth_getLogs over {high - low + 1} blocks: at most {settings.rpc_max_log_blocks} blocks per query "
                "here; split the range",
            )
    return params


def _handle(platform: Any, call: Any, budget: _Budget) -> dict[str, Any]:
    if not isinstance(call, dict) or not isinstance(call.get("method"), str):
        return _error(None, -32600, "invalid request: expected an object with a method")
    request_id = call.get("id")
    method = call["method"]
    params = call.get("params", [])
    if method not in READ_METHODS:
        return _error(request_id, -32601, f"method {method} is not served here (read-only endpoint)")
    if not isinstance(params, list):
        return _error(request_id, -32602, "params must be an array")
    if budget.expired():
        return _error(
            request_id,
            LIMIT_EXCEEDED,
            f"the request's time budget ({platform.settings.rpc_request_time_s:g} s) is spent",
        )
    if method == "eth_call" and params and isinstance(params[0], dict) and not params[0].get("from"):
        params = [{**params[0], "from": "0x" + "00" * 20}, *params[1:]]  # optional in JSON-RPC
    if method in ("eth_chainId", "net_version") and platform.chain.is_embedded:
        chain_id = platform.chain.chain_id  # eth-tester answers net_version "1" whatever the chain
        return {
            "jsonrpc": "2.0",
            "id": request_id,
            "result": hex(chain_id) if method == "eth_chainId" else str(chain_id),
        }
    try:
        with platform.untrusted.provider(wait_s=max(0.0, budget.deadline - time.monotonic())) as provider:
            limited = _limit(platform, request_id, method, params, budget, provider)
            if isinstance(limited, dict):
                return limited
            params = limited
            if platform.chain.is_embedded:
                try:
                    params = _for_tester(method, params)
                except ValueError:
                    return _error(request_id, -32602, "invalid params: a quantity is not hexadecimal")
            response = provider.make_request(method, params)
            if method == "eth_feeHistory" and platform.chain.is_embedded and "result" in response:
                # The spec's baseFeePerGas has one entry more than blocks: the next block's fee.
                pending = provider.make_request("eth_getBlockByNumber", ["pending", False]).get("result") or {}
                fees = response["result"].get("base_fee_per_gas")
                if isinstance(fees, list) and "base_fee_per_gas" in pending:
                    response["result"]["base_fee_per_gas"] = [*fees, pending["base_fee_per_gas"]]
    except ServiceBusy as exc:
        return _error(request_id, LIMIT_EXCEEDED, exc.message)
    except CallLimitExceeded as exc:
        return _error(request_id, LIMIT_EXCEEDED, str(exc))
    except ContractLogicError as exc:  # a revert: code 3 with the revert data, as nodes answer
        data = exc.data if isinstance(exc.data, str) else "0x"
        return _error(request_id, 3, "execution reverted", data)
    except Exception as exc:  # noqa: BLE001 - reported to the caller as a JSON-RPC error
        from civic_ledger.platform.revert import revert_data_of

        revert = revert_data_of(exc)
        if revert is not None:
            return _error(request_id, 3, "execution reverted", "0x" + revert.hex())
        return _error(request_id, -32000, str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__)
    if "error" in response:
        return {"jsonrpc": "2.0", "id": request_id, "error": _plain(response["error"])}
    result = _plain(response.get("result"))  # quantities are hex strings in JSON-RPC, not ints
    if platform.chain.is_embedded:
        result = _conform(method, result)
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


class _NonStandardNumber(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    """``NaN``/``Infinity`` are not JSON: Python's parser takes them, but they can not be answered."""
    raise _NonStandardNumber(f"{name} is not a JSON number")


@router.post(
    "/rpc",
    summary="Read-only Ethereum JSON-RPC",
    description="Standard JSON-RPC 2.0 (single or batch) for read methods: "
    + ", ".join(sorted(READ_METHODS))
    + ". Use it as `--rpc-url http://HOST:PORT/rpc` with the chain-only CLI commands.",
    responses={
        200: {
            "description": "The JSON-RPC answer (errors too are 200, as JSON-RPC 2.0 `error` objects).",
            "content": {
                "application/json": {
                    "examples": {
                        "result": {
                            "summary": "eth_blockNumber",
                            "value": {"jsonrpc": "2.0", "id": 1, "result": "0x47a6"},
                        },
                        "batch": {
                            "summary": "A batch: eth_chainId and eth_getBalance",
                            "value": [
                                {"jsonrpc": "2.0", "id": 1, "result": "0x7a69"},
                                {"jsonrpc": "2.0", "id": 2, "result": "0x21e19e0c9bab2400000"},
                            ],
                        },
                        "error": {
                            "summary": "A method that is not served",
                            "value": {
                                "jsonrpc": "2.0",
                                "id": 3,
                                "error": {
                                    "code": -32601,
                                    "message": "method eth_sendRawTransaction is not served here (read-only endpoint)",
                                },
                            },
                        },
                    }
                }
            },
        }
    },
)
async def rpc(request: Request, platform: PlatformDep) -> JSONResponse:
    try:
        body = json.loads(await request.body(), parse_constant=_reject_constant)
    except ValueError as exc:
        reason = f": {exc}" if isinstance(exc, _NonStandardNumber) else ""
        return JSONResponse(_error(None, -32700, f"parse error: body is not JSON{reason}"))
    from starlette.concurrency import run_in_threadpool

    settings = platform.settings
    budget = _Budget(gas=settings.rpc_request_gas, deadline=time.monotonic() + settings.rpc_request_time_s)
    if isinstance(body, list):
        if not body:
            return JSONResponse(_error(None, -32600, "invalid request: the batch is empty"))
        if len(body) > settings.rpc_max_batch:
            return JSONResponse(
                _error(
                    None,
                    -32600,
                    f"invalid request: a batch holds at most {settings.rpc_max_batch} calls, got {len(body)}",
                )
            )
        results = [await run_in_threadpool(_handle, platform, call, budget) for call in body]
        return JSONResponse(results)
    return JSONResponse(await run_in_threadpool(_handle, platform, body, budget))
