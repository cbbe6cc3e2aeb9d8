"""One place that turns every failure into ``{"error", "message", "details"}`` JSON."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from civic_ledger.errors import CivicLedgerError

log = logging.getLogger("civic_ledger.api")


#: The example of :class:`ErrorOut` in the OpenAPI document (a contract error, as decoded).
ERROR_EXAMPLE: dict[str, Any] = {
    "error": "MVotingNotPollAdmin",
    "message": "MVotingNotPollAdmin(creator=0x70997970C51812dc3A010C7d01b50e0d17dc79C8) (MVoting): "
    "`creator` does not hold POLL_ADMIN_ROLE.",
    "details": {
        "name": "MVotingNotPollAdmin",
        "args": {"creator": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
    },
}


class ErrorOut(BaseModel):
    """What every error response of the API is (each handler below and the middlewares build it)."""

    model_config = ConfigDict(json_schema_extra={"example": ERROR_EXAMPLE})

    error: str = Field(
        description="A stable code: a contract's custom error name (`MVotingNotPollAdmin`, "
        "`InvalidAccountNonce`) or a service code (`invalid_input`, `not_found`, `rate_limited`)."
    )
    message: str = Field(description="What went wrong, in words that name the field, value or contract error.")
    details: Any = Field(
        default=None,
        description="Machine-readable context: a contract error's `{name, args}`, the list of "
        "`{field, message, type}` of invalid input, `{retry_after_s}` of a rate limit, or null.",
    )


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


#: What FastAPI says when ``json.loads`` fails with something other than a syntax error (bad UTF-8,
#: an integer longer than Python's 4300-digit limit).
_FASTAPI_BODY_PARSE_ERROR = "There was an error parsing the body"


def _describe(error: dict[str, Any], content_type: str | None) -> dict[str, Any]:
    """One validation error as ``{field, message, type}``, in words a client can act on."""
    loc = tuple(error.get("loc", ()))
    kind = error.get("type")
    message = str(error.get("msg", "invalid"))
    if kind == "json_invalid":
        # FastAPI puts the character offset where the field would be: ("body", 17).
        position = loc[1] if len(loc) > 1 else None
        reason = (error.get("ctx") or {}).get("error", "")
        where = f" at character {position}" if isinstance(position, int) else ""
        return {"field": "body", "message": f"the body is not valid JSON{where}: {reason}".rstrip(": "), "type": kind}
    if loc == ("body",) and kind in ("model_attributes_type", "dict_type", "missing"):
        if kind == "missing":
            message = "a JSON object is required as the request body"
        elif content_type and "json" not in content_type.lower():
            message = f"send a JSON object with Content-Type: application/json (got Content-Type: {content_type})"
        else:
            message = "the body must be a JSON object"
    return {"field": _field(loc), "message": message, "type": kind}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CivicLedgerError)
    async def _domain(_request: Request, exc: CivicLedgerError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content=exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_describe(e, request.headers.get("content-type")) for e in exc.errors()]
        message = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return JSONResponse(status_code=422, content={"error": "invalid_input", "message": message, "details": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _FASTAPI_BODY_PARSE_ERROR:
            return JSONResponse(
                status_code=400,
                content={
                    "error": "invalid_input",
                    "message": "the body could not be read as JSON: it must be UTF-8 text, and numbers may have at "
                    "most 4300 digits",
                    "details": None,
                },
            )
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(
            status_code=exc.status_code, content={"error": code, "message": str(exc.detail), "details": None}
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(
            status_code=500,
            content={"error": "internal_error", "message": "internal error; see the server log", "details": None},
        )
