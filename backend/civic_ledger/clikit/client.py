"""The one HTTP client of the civic-ledger API for every command group.

Base URL from ``--api`` (env ``CIVIC_API_URL``), session token from ``--token`` (env
``CIVIC_TOKEN``). A refused connection is one :class:`ApiUnreachable` line; an error answer is an
:class:`ApiError` whose message reads ``MESSAGE (HTTP STATUS CODE)``, e.g.
``the key lacks POLL_ADMIN_ROLE (HTTP 403 MVotingNotPollAdmin)``.
"""

from __future__ import annotations

from typing import Any

import httpx

from civic_ledger.errors import CivicLedgerError

DEFAULT_API_URL = "http://127.0.0.1:8000"


class ApiError(CivicLedgerError):
    """The API answered with an error: status, the API's ``error`` code, message and details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{message} (HTTP {status} {code})", details=details, code=code)
        self.status = status
        self.reason = message


class ApiUnreachable(CivicLedgerError):
    """No answer at all: nothing listens at the URL, a timeout, a DNS failure."""

    code = "api_unreachable"

    def __init__(self, base_url: str, exc: httpx.HTTPError) -> None:
        if isinstance(exc, httpx.ConnectError):
            why = "connection refused" if "refused" in str(exc).lower() else f"can not connect: {exc}"
        elif isinstance(exc, httpx.TimeoutException):
            why = "no answer in time"
        else:
            why = f"{exc.__class__.__name__}: {exc}"
        super().__init__(
            f"cannot reach the API at {base_url} ({why}); start it with `civic-ledger serve`, "
            "or pass --api URL (env CIVIC_API_URL)"
        )


def _error_of(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = body.get("message") or body.get("detail") or response.reason_phrase
        return ApiError(response.status_code, str(body.get("error", "http_error")), str(message), body.get("details"))
    text = response.text.strip()[:300] or response.reason_phrase
    return ApiError(response.status_code, "http_error", text)


class ApiClient:
    """Thin JSON client of the API: ``get``/``post``/``put``/``delete`` return the decoded answer
    (JSON, text for ``text/*`` answers, bytes otherwise)."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 300.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def request(
        self, method: str, path: str, *, json_body: Any = None, params: Any = None, token: str | None = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        try:
            response = self._client.request(method, path, json=json_body, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise ApiUnreachable(self.base_url, exc) from None
        if not response.is_success:
            raise _error_of(response)
        kind = response.headers.get("content-type", "")
        if not response.content:
            return None
        if "json" in kind:
            return response.json()
        return response.text if kind.startswith("text/") or "svg" in kind else response.content

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, json_body=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PUT", path, json_body=body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)
