"""A read-only Ethereum JSON-RPC endpoint over whatever chain the server runs on.

The embedded chain lives inside the API process and has no JSON-RPC port of its own; this
endpoint lets the chain-only tools (``voting recount``, ``credentials verify``, ``audit``,
``labor verify``) and any standard client (web3, ethers, cast) read it at
``http://HOST:PORT/rpc``. Only reads are served: nothing that signs, sends or changes state.
For trust that does not depend on the city's server, point those tools at a node of your own.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from hexbytes import HexBytes
from web3.datastructures import AttributeDict

from civic_ledger.api.deps import PlatformDep

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
    if method in ("eth_call", "eth_getLogs") and params and isinstance(params[0], dict):
        params[0] = {_snake(k): (_quantity(v) if k in _QUANTITY_KEYS else v) for k, v in params[0].items()}
    return params


def _error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def _handle(platform: Any, call: Any) -> dict[str, Any]:
    if not isinstance(call, dict) or not isinstance(call.get("method"), str):
        return _error(None, -32600, "invalid request: expected an object with a method")
    request_id = call.get("id")
    method = call["method"]
    params = call.get("params", [])
    if method not in READ_METHODS:
        return _error(request_id, -32601, f"method {method} is not served here (read-only endpoint)")
    if not isinstance(params, list):
        return _error(request_id, -32602, "params must be an array")
    if method == "eth_call" and params and isinstance(params[0], dict) and not params[0].get("from"):
        params = [{**params[0], "from": "0x" + "00" * 20}, *params[1:]]  # optional in JSON-RPC
    if platform.chain.is_embedded:
        try:
            params = _for_tester(method, params)
        except ValueError:
            return _error(request_id, -32602, "invalid params: a quantity is not hexadecimal")
    try:
        response = platform.chain.w3.provider.make_request(method, params)
    except Exception as exc:  # noqa: BLE001 - reported to the caller as a JSON-RPC error
        from civic_ledger.platform.revert import revert_data_of

        data = revert_data_of(exc)
        if data is not None:
            return _error(request_id, 3, "execution reverted", "0x" + data.hex())
        return _error(request_id, -32000, str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__)
    if "error" in response:
        return {"jsonrpc": "2.0", "id": request_id, "error": _plain(response["error"])}
    result = response.get("result")
    # Quantities are hex strings in JSON-RPC; eth-tester hands back Python ints.
    return {"jsonrpc": "2.0", "id": request_id, "result": _plain(result)}


#: Most calls one batch may hold (each is a chain read on a worker thread).
MAX_BATCH = 1000


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
)
async def rpc(request: Request, platform: PlatformDep) -> JSONResponse:
    try:
        body = json.loads(await request.body(), parse_constant=_reject_constant)
    except ValueError as exc:
        reason = f": {exc}" if isinstance(exc, _NonStandardNumber) else ""
        return JSONResponse(_error(None, -32700, f"parse error: body is not JSON{reason}"))
    from starlette.concurrency import run_in_threadpool

    if isinstance(body, list):
        if not body:
            return JSONResponse(_error(None, -32600, "invalid request: the batch is empty"))
        if len(body) > MAX_BATCH:
            return JSONResponse(
                _error(None, -32600, f"invalid request: a batch holds at most {MAX_BATCH} calls, got {len(body)}")
            )
        results = [await run_in_threadpool(_handle, platform, call) for call in body]
        return JSONResponse(results)
    return JSONResponse(await run_in_threadpool(_handle, platform, body))
