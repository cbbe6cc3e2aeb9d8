"""What an operator watches: ``GET /metrics`` (Prometheus text format) and one JSON log line per
request and per relayed transaction.

Metrics (one registry per app, so several apps in one process never share counters):

- ``civic_http_requests_total{method,route,status}`` and ``civic_http_request_duration_seconds``
  (a histogram) by route *template* (``/voting/polls/{poll_id}``), never the raw path;
- ``civic_relayed_transactions_total{area,action,outcome}``, ``civic_relayed_gas_total{area,action}``
  and ``civic_relayed_batch_size{area,action}`` (the length of a batch call's list, e.g. the
  ballots of one ``castBatch``), fed by :attr:`Relayer.observers`;
- read at scrape time: ``civic_relayer_queue_depth`` (transactions waiting for the nonce lock or
  their receipt), ``civic_ballot_queue_depth``, ``civic_chain_head_block``,
  ``civic_indexer_cursor_block``, ``civic_indexer_lag_blocks``, ``civic_operator_balance_wei``.

Logs are JSON, one object a line on stderr, at ``CIVIC_LOG_LEVEL``. A request line holds the
method, route template, status, duration and request id (``X-Request-ID``: a sane incoming one is
kept, else a new one is made, and it is returned on every answer); a transaction line holds the
hash, area, action, gas and block. Neither holds bodies, query strings, tokens, addresses, IPs or
record contents.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from starlette.routing import Match

from civic_ledger.platform.relayer import TxObservation

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("civic_request_id", default=None)

access_log = logging.getLogger("civic_ledger.access")
tx_log = logging.getLogger("civic_ledger.tx")

#: contract → the area whose API relays it (the label of the transaction metrics).
AREAS = {
    "CitizenRegistry": "identity",
    "MVoting": "voting",
    "CredentialRegistry": "credentials",
    "CivicMileage": "mileage",
    "SubcontractPayments": "payments",
    "CivicWon": "payments",
    "LaborRecords": "labor",
    "VehicleHistory": "vehicles",
    "Notary": "notary",
}

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)


# -- logs ----------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "event", ...extra}``: one JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        rid = line.get("request_id") or request_id_var.get()
        if rid:
            line["request_id"] = rid
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line, ensure_ascii=False, default=str)


_HANDLER_MARK = "_civic_json"


def configure_logging(level: str) -> None:
    """JSON lines on stderr for the ``civic_ledger`` loggers, at ``level`` (idempotent)."""
    root = logging.getLogger("civic_ledger")
    root.setLevel(level.upper())
    if not any(getattr(h, _HANDLER_MARK, False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
        root.propagate = False


def _request_id(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            if _SANE_ID.match(text):
                return text
            break
    return uuid.uuid4().hex


# -- what became of a request (for a client whose connection dropped) ----------------------


class RecentRequests:
    """The last ``size`` requests by id: finished?, status, the transactions they relayed."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._items: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, rid: str, method: str, route: str) -> None:
        with self._lock:
            self._items[rid] = {"method": method, "route": route, "finished": False, "status": None, "txs": []}
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def finish(self, rid: str, status: int) -> None:
        with self._lock:
            found = self._items.get(rid)
            if found is not None:
                found.update(finished=True, status=status)

    def transaction(self, rid: str, tx: dict[str, Any]) -> None:
        with self._lock:
            found = self._items.get(rid)
            if found is not None:
                found["txs"].append(tx)

    def get(self, rid: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._items.get(rid)
            return None if found is None else {**found, "txs": list(found["txs"])}


# -- metrics -------------------------------------------------------------------------------


class Metrics:
    """The app's registry, its counters, and what is read from the platform at scrape time."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        by_route, by_action = ["method", "route"], ["area", "action"]
        self.requests = Counter(
            "civic_http_requests", "HTTP requests by route template and status.", [*by_route, "status"], registry=r
        )
        self.latency = Histogram(
            "civic_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            by_route,
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.txs = Counter(
            "civic_relayed_transactions",
            "Transactions the operator relayed, by area, action (contract function) and outcome.",
            [*by_action, "outcome"],
            registry=r,
        )
        self.gas = Counter("civic_relayed_gas", "Gas used by relayed transactions (mined).", by_action, registry=r)
        self.batch = Histogram(
            "civic_relayed_batch_size",
            "Items in one batch transaction (ballots of a castBatch, awards of a batch …).",
            by_action,
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        r.register(_PlatformCollector(app))
        self.recent = RecentRequests()
        self._names: dict[str, tuple[str, str]] = {}
        self._selectors: dict[tuple[str, str], tuple[str, Any]] = {}

    # -- relayer observer ------------------------------------------------------------------

    def _labels(self, platform: Any, tx: dict[str, Any]) -> tuple[str, str, Any]:
        """(area, action, abi entry) of a transaction, from the deployment and the build."""
        to = str(tx.get("to") or "").lower()
        if not to:
            return "platform", "deploy", None
        if not self._names:
            for name, entry in platform.deployment.entries.items():
                self._names[str(entry["address"]).lower()] = (name, AREAS.get(name, name))
        contract, area = self._names.get(to, ("unknown", "unknown"))
        data = tx.get("data") or ""
        data = data if isinstance(data, str) else "0x" + bytes(data).hex()
        selector = data[2:10].lower()
        key = (contract, selector)
        if key not in self._selectors:
            found: tuple[str, Any] = ("unknown", None)
            artifact = platform.build.artifacts.get(contract)
            if artifact is not None:
                from eth_utils import function_abi_to_4byte_selector

                for item in artifact.abi:
                    if item.get("type") == "function" and function_abi_to_4byte_selector(item).hex() == selector:
                        found = (item["name"], item)
                        break
            self._selectors[key] = found
        action, abi = self._selectors[key]
        return area, action, abi

    def observe(self, event: TxObservation) -> None:
        platform = getattr(self.app.state, "platform", None)
        if platform is None:
            return
        area, action, abi = self._labels(platform, event.tx)
        self.txs.labels(area, action, event.outcome).inc()
        if event.outcome == "sent":
            size = _batch_size(abi, event.tx)
            if size is not None:
                self.batch.labels(area, action).observe(size)
            return
        if event.gas_used is not None:
            self.gas.labels(area, action).inc(event.gas_used)
        rid = request_id_var.get()
        if rid:
            self.recent.transaction(
                rid, {"tx_hash": event.tx_hash, "block_number": event.block_number, "outcome": event.outcome}
            )
        tx_log.info(
            "transaction",
            extra={
                "fields": {
                    "tx_hash": event.tx_hash,
                    "area": area,
                    "action": action,
                    "outcome": event.outcome,
                    "gas_used": event.gas_used,
                    "gas_limit": event.tx.get("gas"),
                    "block": event.block_number,
                }
            },
        )


def _batch_size(abi: Any, tx: dict[str, Any]) -> int | None:
    """Length of the first top-level array argument of a call (ABI head: offset, then length)."""
    if not abi:
        return None
    for i, param in enumerate(abi.get("inputs", ())):
        if str(param.get("type", "")).endswith("[]"):
            data = tx.get("data") or ""
            raw = bytes.fromhex(data[10:]) if isinstance(data, str) else bytes(data)[4:]
            try:
                offset = int.from_bytes(raw[32 * i : 32 * i + 32], "big")
                return int.from_bytes(raw[offset : offset + 32], "big")
            except (ValueError, IndexError):
                return None
    return None


class _PlatformCollector:
    """Gauges read from the running platform when ``/metrics`` is scraped."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        platform = getattr(self.app.state, "platform", None)
        if platform is None:
            return
        relayer = platform.relayer
        yield _gauge(
            "civic_relayer_queue_depth",
            "Relayed transactions waiting for the nonce lock or their receipt.",
            getattr(relayer, "in_flight", 0),
        )
        voting = getattr(platform, "_areas", {}).get("voting")
        queue = getattr(getattr(voting, "relay", None), "_queue", None)
        yield _gauge("civic_ballot_queue_depth", "Ballots queued for the next castBatch.", len(queue or ()))
        try:
            yield _gauge("civic_chain_head_block", "Latest block of the chain.", platform.chain.head())
            balance = platform.chain.w3.eth.get_balance(platform.operator.address)
            yield _gauge("civic_operator_balance_wei", "Balance of the operator account, which pays the gas.", balance)
        except Exception:  # noqa: BLE001 - an unreachable chain must not break the scrape
            yield _gauge("civic_chain_up", "1 when the chain answered this scrape.", 0)
        else:
            yield _gauge("civic_chain_up", "1 when the chain answered this scrape.", 1)
        status = platform.indexer.status()
        yield _gauge("civic_indexer_cursor_block", "Last block the indexer has applied.", status.get("cursor") or 0)
        lag = status.get("lag")
        if lag is not None:
            yield _gauge("civic_indexer_lag_blocks", "Blocks between the chain head and the indexer.", lag)
        yield _gauge("civic_indexer_reorgs", "Reorgs the indexer has rolled back.", status.get("reorgs") or 0)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc)
    family.add_metric([], float(value))
    return family


# -- the middleware ------------------------------------------------------------------------


def _route_of(app: FastAPI, scope: dict[str, Any]) -> str:
    route = scope.get("route")
    if route is None:  # refused before routing (rate limit, body limit): find the template ourselves
        for candidate in app.router.routes:
            match, _ = candidate.matches(scope)
            if match == Match.FULL:
                route = candidate
                break
    return str(getattr(route, "path", None) or "unmatched")


def warm_routes(app: FastAPI) -> None:
    """Build every route's matching state now, in one thread, before the server takes requests.

    FastAPI builds a route's parameters lazily, on its first match, and several routes share one
    annotated parameter type (``CitizenId``…) whose metadata that build writes to; the first
    concurrent requests of a fresh server (the routing and this middleware's own match, many
    clients at once) raced there (pydantic's ``UnsupportedFieldAttributeWarning``). A path no route
    matches makes every route build its state."""
    _route_of(app, {"type": "http", "path": "/\x00warm-up", "method": "GET", "root_path": "", "headers": []})


class Observe:
    """Pure ASGI middleware: request id, request metrics and the request log line (outermost)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fastapi_app: FastAPI = scope["app"]
        metrics: Metrics | None = getattr(fastapi_app.state, "metrics", None)
        rid = _request_id(scope)
        token = request_id_var.set(rid)
        started = time.perf_counter()
        if metrics is not None and scope.get("method") not in ("GET", "HEAD", "OPTIONS"):
            metrics.recent.start(rid, scope.get("method", "?"), _route_of(fastapi_app, scope))
        status = 500

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER.lower().encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_of(fastapi_app, scope)
            method = scope.get("method", "?")
            if metrics is not None:
                metrics.recent.finish(rid, status)
            if metrics is not None and route != "/metrics":
                metrics.requests.labels(method, route, str(status)).inc()
                metrics.latency.labels(method, route).observe(elapsed)
            access_log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": rid,
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    }
                },
            )
            request_id_var.reset(token)


router = APIRouter(tags=["system"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"example": "civic_http_requests_total{...} 3.0\n"}}}},
)
def metrics(request: Request) -> Response:
    """Requests, latency, relayed transactions and gas, batch sizes, queue depths, chain head,
    indexer lag and operator balance, for a Prometheus scraper."""
    found: Metrics = request.app.state.metrics
    return Response(generate_latest(found.registry), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/requests/{request_id}",
    summary="What became of a write (by its X-Request-ID)",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "request_id": "3f0c9e2b7d2a4c1e9b8a6f5d4c3b2a10",
                        "method": "POST",
                        "route": "/notary/anchors",
                        "finished": True,
                        "status": 201,
                        "transactions": [{"tx_hash": "0x" + "ab" * 32, "block_number": 42, "outcome": "mined"}],
                    }
                }
            }
        }
    },
)
def request_outcome(request_id: str, request: Request) -> dict[str, Any]:
    """For a client whose connection dropped before the answer: whether the server finished its
    write, with which status, and the transactions it relayed (hash, block, mined or reverted).
    Writes of the last 20,000 requests are kept, in memory."""
    from civic_ledger.errors import NotFound

    found = request.app.state.metrics.recent.get(request_id)
    if found is None:
        raise NotFound(f"no write with request id {request_id!r} reached this server (or it is too old)")
    txs = found.pop("txs")
    return {"request_id": request_id, **found, "transactions": txs}


def install_observability(app: FastAPI, log_level: str | None = None) -> None:
    """``/metrics`` and the request middleware (add it last: outermost); with ``log_level``, also
    the JSON log handler on stderr (a served app; tests attach handlers of their own)."""
    if log_level is not None:
        configure_logging(log_level)
    app.state.metrics = Metrics(app)
    app.include_router(router)
    app.add_middleware(Observe)


def attach_relayer(app: FastAPI, platform: Any) -> None:
    """Feed ``platform.relayer``'s transactions into ``app``'s metrics and the transaction log."""
    observer = app.state.metrics.observe
    if observer not in platform.relayer.observers:
        platform.relayer.observers.append(observer)


def detach_relayer(app: FastAPI, platform: Any) -> None:
    observer = app.state.metrics.observe
    if observer in platform.relayer.observers:
        platform.relayer.observers.remove(observer)
