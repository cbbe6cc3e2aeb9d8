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

    ``status`` and ``notice`` are what the error's declaration says: its ``/// @custom:http`` tag
    and ``/// @notice`` in ``contracts/interfaces/*.sol``, read from the compiled artifact's devdoc
    and userdoc by :class:`civic_ledger.platform.revert.ErrorDecoder` (OpenZeppelin's errors, which
    carry no tag, get theirs from ``revert.OPENZEPPELIN_STATUS``). Build one through the decoder
    (``platform.decoder.error(name, args)``) so a service's pre-check answers exactly as the revert.
    """

    def __init__(
        self, name: str, args: dict[str, Any], contract: str | None = None, *, status: int, notice: str | None = None
    ) -> None:
        self.error_name = name
        self.error_args = args
        self.contract = contract
        self.notice = notice
        rendered = ", ".join(f"{k}={_render(v)}" for k, v in args.items())
        where = f" ({contract})" if contract else ""
        because = f": {notice}" if notice else ""
        super().__init__(
            f"{name}({rendered}){where}{because}", details={"name": name, "args": _jsonable(args)}, code=name
        )
        self.status = status


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
