"""The one HTTP client of the civic-ledger API for every command group.

Base URL from ``--api`` (env ``CIVIC_API_URL``), session token from ``--token`` (env
``CIVIC_TOKEN``). A refused connection is one :class:`ApiUnreachable` line; an error answer is an
:class:`ApiError` whose message reads ``MESSAGE (HTTP STATUS CODE)``, e.g.
``the key lacks POLL_ADMIN_ROLE (HTTP 403 MVotingNotPollAdmin)``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from civic_ledger.errors import CivicLedgerError, InvalidInput

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


class WriteOutcome(CivicLedgerError):
    """A write was sent but its answer was lost: asks the server (``GET /requests/{id}``) whether it
    landed, and says so."""

    code = "write_outcome"

    def __init__(self, client: ApiClient, method: str, path: str, rid: str, exc: httpx.HTTPError) -> None:
        what = f"{method} {path}: the connection dropped before the answer ({exc.__class__.__name__})"
        super().__init__(f"{what}; {_outcome(client, rid)}")
        self.request_id = rid


def _outcome(client: ApiClient, rid: str, wait_s: float = 15.0) -> str:
    """What the server says became of request ``rid`` (waiting while it is still being worked on)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            r = httpx.get(f"{client.base_url}/requests/{rid}", timeout=5)
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                return f"the server does not answer, so whether the write landed is unknown (request id {rid})"
            time.sleep(0.5)
            continue
        if r.status_code == 404:
            return "the server never received it: the write did NOT land (safe to retry)"
        if not r.is_success:
            return f"the server can not say whether it landed (HTTP {r.status_code}; request id {rid})"
        found = r.json()
        if not found.get("finished") and time.monotonic() < deadline:
            time.sleep(0.5)
            continue
        mined = [t for t in found.get("transactions", []) if t.get("outcome") == "mined"]
        if mined:
            blocks = ", ".join(f"{t['tx_hash']} (block {t['block_number']})" for t in mined)
            return f"the write LANDED: transaction {blocks}; do not send it again"
        if not found.get("finished"):
            return f"the server is still working on it (request id {rid}): check again before retrying"
        status = found.get("status")
        if status is not None and 200 <= status < 300:
            return f"the server finished it with HTTP {status} (no transaction was needed)"
        return f"the server refused it with HTTP {status}: the write did NOT land"


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
        try:
            url = httpx.URL(self.base_url)
        except (httpx.InvalidURL, ValueError, TypeError):
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            raise InvalidInput(
                f"--api {base_url!r} is not an API URL: use http://HOST:PORT (env CIVIC_API_URL), "
                "e.g. http://127.0.0.1:8000"
            )
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
        rid = uuid.uuid4().hex
        headers = {"X-Request-ID": rid, **({"Authorization": f"Bearer {token}"} if token else {})}
        try:
            response = self._client.request(method, path, json=json_body, params=params, headers=headers)
        except httpx.InvalidURL as exc:
            raise InvalidInput(f"{path!r} makes no valid URL under {self.base_url}: {exc}") from None
        except httpx.HTTPError as exc:
            if method != "GET" and not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                raise WriteOutcome(self, method, path, rid, exc) from None  # sent, but no answer came back
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
