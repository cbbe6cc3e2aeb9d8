"""One root exception, one subclass per kind of failure.

Every exception builds its message in ``__init__`` and carries a stable ``code`` and an HTTP
``status``; the API's single exception handler turns any of them into
``{"error": code, "message": message, "details": details}``.
"""

from __future__ import annotations

from typing import Any


class CivicLedgerError(Exception):
    """Root of every error civic-ledger raises on purpose."""

    status = 400
    code = "civic_ledger_error"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "details": self.details}


class InvalidInput(CivicLedgerError):
    status = 422
    code = "invalid_input"


class NotFound(CivicLedgerError):
    status = 404
    code = "not_found"


class Conflict(CivicLedgerError):
    status = 409
    code = "conflict"


class Forbidden(CivicLedgerError):
    status = 403
    code = "forbidden"


class Unauthorized(CivicLedgerError):
    status = 401
    code = "unauthorized"


class RateLimited(CivicLedgerError):
    """Too many requests from one client or actor: nothing was done, nothing was spent."""

    status = 429
    code = "rate_limited"


class ServiceBusy(CivicLedgerError):
    """Every slot for this kind of work is taken: retry shortly."""

    status = 503
    code = "service_busy"


class ConfigError(CivicLedgerError):
    """Bad configuration: reported as one line at start-up."""

    status = 500
    code = "config_error"


class CompileError(CivicLedgerError):
    status = 500
    code = "compile_error"


class ChainUnavailable(CivicLedgerError):
    status = 503
    code = "chain_unavailable"


class DeploymentMismatch(CivicLedgerError):
    """The deployment manifest does not match the code on chain."""

    status = 503
    code = "deployment_mismatch"


class TransactionFailed(CivicLedgerError):
    """A transaction reverted without a custom error we know."""

    status = 422
    code = "transaction_failed"


class ContractError(CivicLedgerError):
    """A contract reverted with a custom error; ``code`` is the error's name.

    The status comes from the error's name: ``...NotFound``/``...Unknown`` → 404,
    ``...Unauthorized``/``...AccessControl...``/``...Forbidden``/``...NotRole`` → 403,
    ``...Already...``/``...Duplicate...``/``...Used``/``...Replayed`` → 409, else 422.
    """

    def __init__(self, name: str, args: dict[str, Any], contract: str | None = None) -> None:
        self.error_name = name
        self.error_args = args
        self.contract = contract
        rendered = ", ".join(f"{k}={_render(v)}" for k, v in args.items())
        where = f" ({contract})" if contract else ""
        super().__init__(f"{name}({rendered}){where}", details={"name": name, "args": _jsonable(args)}, code=name)
        self.status = _status_for(name)


def _status_for(name: str) -> int:
    lowered = name.lower()
    if any(w in lowered for w in ("notfound", "unknown", "notregistered", "nosuch")):
        return 404
    if any(
        w in lowered
        for w in (
            "unauthorized",
            "accesscontrol",
            "forbidden",
            "notrole",
            "invalidsigner",
            "badsignature",
            "invalidsignature",
        )
    ):
        return 403
    if any(w in lowered for w in ("already", "duplicate", "used", "replayed", "invalidaccountnonce")):
        return 409
    return 422


def _render(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    return value
