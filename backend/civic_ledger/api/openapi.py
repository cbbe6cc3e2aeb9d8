"""OpenAPI that documents the errors the API really returns: ``ErrorOut {error, message, details}``.

FastAPI documents a 422 of its own shape (``HTTPValidationError``, ``{"detail": [...]}``) that this
API never sends (see :mod:`civic_ledger.api.errors`). :func:`install_openapi` rewrites the generated
schema once: every operation gets the error responses that can happen to it, each referencing
``ErrorOut`` with an example, and FastAPI's validation schemas are dropped.

Which errors an operation documents (from how the API fails, see ``api/ratelimit.py``,
``api/limits.py`` and ``platform/revert.py``):

- 422 on every operation with a body, path or query parameters, or that writes;
- 400 and 413 on every operation with a body (not JSON / too large);
- 404 with path parameters or on writes (a contract's ``...Unknown...``);
- 403 and 409 on writes (a role, a signature, a used nonce, already done); 401 and 403 when the
  operation takes a session token;
- 429 on writes, ``GET /auth/nonce`` and ``/rpc`` (the rate limits);
- 503 everywhere (the chain is unreachable or every slot is busy).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from fastapi import FastAPI

from civic_ledger.api.errors import ERROR_EXAMPLE, ErrorOut

REF = "#/components/schemas/ErrorOut"
_WRITES = frozenset({"post", "put", "patch", "delete"})
_FASTAPI_SCHEMAS = ("HTTPValidationError", "ValidationError")

_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

#: status → (description, example body).
ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: (
        "The body could not be read as JSON.",
        {
            "error": "invalid_input",
            "message": "the body could not be read as JSON: it must be UTF-8 text, and numbers may have at most "
            "4300 digits",
            "details": None,
        },
    ),
    401: (
        "Not signed in, or the session token is invalid, expired or signed out.",
        {
            "error": "not_signed_in",
            "message": "not signed in: send Authorization: Bearer <token> (get a token with GET /auth/nonce + "
            "POST /auth/login)",
            "details": None,
        },
    ),
    403: (
        "Not allowed: a role is missing, or the signature is not the expected signer's (contract errors "
        "declared `@custom:http 403`).",
        ERROR_EXAMPLE,
    ),
    404: (
        "What the request names does not exist (contract errors declared `@custom:http 404`).",
        {
            "error": "CitizenRegistryUnknownCitizen",
            "message": "CitizenRegistryUnknownCitizen(citizenId=42) (CitizenRegistry): No citizen has id `citizenId`.",
            "details": {"name": "CitizenRegistryUnknownCitizen", "args": {"citizenId": 42}},
        },
    ),
    409: (
        "Conflict: already done, a nonce or version used or stale, or the current state forbids it "
        "(contract errors declared `@custom:http 409`).",
        {
            "error": "InvalidAccountNonce",
            "message": f"InvalidAccountNonce(account={_ADDRESS}, currentNonce=1) (MVoting): The nonce used for an "
            "`account` is not the expected current nonce.",
            "details": {"name": "InvalidAccountNonce", "args": {"account": _ADDRESS, "currentNonce": 1}},
        },
    ),
    413: (
        "The body is larger than the limit.",
        {"error": "body_too_large", "message": "the request body is larger than 1048576 bytes", "details": None},
    ),
    422: (
        "Invalid input: each invalid field with a message, or a contract error declared `@custom:http 422`.",
        {
            "error": "invalid_input",
            "message": "question: Field required",
            "details": [{"field": "question", "message": "Field required", "type": "missing"}],
        },
    ),
    429: (
        "Too many requests: retry after `details.retry_after_s` (also the `Retry-After` header).",
        {
            "error": "rate_limited",
            "message": "too many writes: the limit is 20 per second (burst 40); retry in 0.4 s",
            "details": {"retry_after_s": 0.4},
        },
    ),
    503: (
        "The chain is unreachable or every slot for this kind of work is taken: retry shortly.",
        {"error": "chain_unavailable", "message": "chain http://127.0.0.1:8545 is unreachable", "details": None},
    ),
}


def statuses_for(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses ``operation`` (``method`` ``path``) can answer with."""
    params = {p.get("in") for p in operation.get("parameters", [])}
    body = "requestBody" in operation
    write = method in _WRITES
    found = {503}
    if body or params & {"path", "query"} or write:
        found.add(422)
    if body:
        found |= {400, 413}
    if "path" in params or write:
        found.add(404)
    if write:
        found |= {403, 409, 429}
    if operation.get("security"):
        found |= {401, 403}
    if path == "/rpc" or (method == "get" and path == "/auth/nonce"):
        found.add(429)
    return found


def _error_response(status: int, existing: dict[str, Any] | None) -> dict[str, Any]:
    description, example = ERRORS[status]
    kept = (existing or {}).get("description")
    if kept and kept not in ("Validation Error", "Successful Response"):
        description = kept
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF}, "example": deepcopy(example)}},
    }


def _is_own(response: dict[str, Any]) -> bool:
    """A response a route documented with a model of its own (e.g. /health's 503 HealthOut)."""
    for media in (response.get("content") or {}).values():
        ref = (media.get("schema") or {}).get("$ref", "")
        if ref and not ref.endswith(("/HTTPValidationError", "/ErrorOut")):
            return True
    return False


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite ``schema`` (in place, and return it) so every error response is an ``ErrorOut``."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_SCHEMAS:
        components.pop(name, None)
    components["ErrorOut"] = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in sorted(statuses_for(method, path, operation) | {int(s) for s in responses if s[0] in "45"}):
                existing = responses.get(str(status))
                if existing is not None and _is_own(existing):
                    continue
                if status not in ERRORS:  # a status of a route's own (none today): the same model
                    responses[str(status)] = {
                        "description": (existing or {}).get("description", "Error"),
                        "content": {"application/json": {"schema": {"$ref": REF}}},
                    }
                    continue
                responses[str(status)] = _error_response(status, existing)
            operation["responses"] = dict(sorted(responses.items()))
    return schema


#: Every tag of the API, with what it is for (shown as the sections of /docs).
TAGS: dict[str, str] = {
    "system": "Health, the chain and the deployment, `/metrics` (Prometheus) and what became of a write "
    "(`/requests/{request_id}`).",
    "auth": "Sign-In with Ethereum (EIP-4361): a single-use nonce, then a session token for agency actions.",
    "identity": "Citizen Card identity: districts, citizens registered by district registrars, key rotation, "
    "suspension and recovery.",
    "roles": "Agency roles of every contract (POLL_ADMIN_ROLE, REGISTRAR_ROLE, …): list, check, grant, revoke.",
    "voting": "M-Voting: polls created by poll admins, ballots signed by citizens and relayed in batches, "
    "sealed commit-reveal, results and receipts.",
    "credentials": "Online credentials: issuers and their keys, types, issue (single or a Merkle batch), "
    "revoke, verify, present.",
    "mileage": "ZeroPay-linked mileage: programs, awards, redemptions at merchants, expiry by epoch, "
    "settlements and reports.",
    "payments": "Automatic subcontract payment: projects, purpose buckets, claims confirmed and approved by "
    "signature, direct settlement, late interest.",
    "audit": "A project's payment trail and reconciliation, from chain data alone.",
    "labor": "Part-time worker protection: co-signed contracts, weekly logs, wage statements, findings and "
    "evidence bundles.",
    "vehicles": "Used-car history: registration, odometer, inspections, claims, liens, trades and the buyer's report.",
    "notary": "Anchor a document hash: the block time proves the document existed unchanged.",
}


def short_schema_names(schema: dict[str, Any]) -> dict[str, Any]:
    """``civic_ledger__labor__schemas__ContractOut`` → ``LaborContractOut`` (in place, refs too).

    FastAPI spells a model's module path when two models share a name; clients generated from
    the document should see the area and the name only."""
    components = schema.get("components", {}).get("schemas", {})
    renames: dict[str, str] = {}
    for name in list(components):
        if "__" not in name:
            continue
        base, dash, suffix = name.partition("-")
        parts = base.split("__")
        area = parts[1] if len(parts) > 2 and parts[1] != "api" else parts[-2]
        new = "".join(w.capitalize() for w in area.split("_")) + parts[-1] + (dash + suffix if dash else "")
        while new in components or new in renames.values():
            new += "_"
        renames[name] = new
    if not renames:
        return schema
    for old, new in renames.items():
        components[new] = components.pop(old)
        components[new]["title"] = new.split("-")[0]
    refs = {f"#/components/schemas/{old}": f"#/components/schemas/{new}" for old, new in renames.items()}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref in refs:
                node["$ref"] = refs[ref]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def describe_tags(schema: dict[str, Any]) -> dict[str, Any]:
    """The document's ``tags``: each used tag with its description, in :data:`TAGS` order."""
    used = {t for item in schema.get("paths", {}).values() for op in item.values() if isinstance(op, dict)
            for t in op.get("tags", [])}  # fmt: skip
    schema["tags"] = [{"name": n, "description": d} for n, d in TAGS.items() if n in used] + [
        {"name": n} for n in sorted(used - set(TAGS))
    ]
    return schema


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the schema with the errors documented (built once, cached)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_tags(short_schema_names(document_errors(generate())))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
