"""How the demo talks to a running server: CLI commands run in this process (``--json``), and a
few bulk paths over the same HTTP API (hundreds of citizens, ballots), with deterministic keys.

Every key of the demo is ``keccak256("civic-ledger demo " + NAME)``: a second run finds the same
accounts, so what exists is recognised and nothing is added twice. These are development keys,
printed in the clear by anyone who reads this file: the demo refuses non-development chains.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from civic_ledger.errors import CivicLedgerError
from civic_ledger.identity import keys
from civic_ledger.platform import eip712

#: Scrypt work factor of the demo's keystores: decrypting each takes a millisecond, not a second
#: (they hold development keys anyway).
DEMO_SCRYPT_N = 2**10


class DemoFailed(CivicLedgerError):
    code = "demo_failed"


def demo_account(name: str) -> LocalAccount:
    return Account.from_key(keccak(text=f"civic-ledger demo {name}"))


def sign_typed(account: LocalAccount, typed_data: dict[str, Any]) -> str:
    return "0x" + eip712.TypedMessage.from_dict(typed_data).sign(account).hex()


@dataclass
class Runner:
    """One demo run against ``api`` with keystores in ``data_dir``."""

    api: str
    data_dir: Path
    password: str
    say: Callable[[str], None]
    token: str | None = None
    made: dict[str, int] = field(default_factory=dict)
    existed: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.api.rstrip("/"), timeout=120)
        self.work = self.data_dir / "demo"
        self.work.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        self.http.close()

    def count(self, what: str, made: int, existed: int = 0) -> None:
        self.made[what] = self.made.get(what, 0) + made
        self.existed[what] = self.existed.get(what, 0) + existed

    # -- HTTP --------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: Any = None, *, token: str | None = None, ok404: bool = False
    ) -> Any:
        """JSON answer; 429 is waited out; 404 is ``None`` when ``ok404``; other errors raise."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for _ in range(60):
            try:
                r = self.http.request(method, path, json=body, headers=headers)
            except httpx.HTTPError as exc:
                raise DemoFailed(f"the API at {self.api} does not answer ({exc.__class__.__name__}: {exc})") from None
            if r.status_code == 429:
                time.sleep(float(r.headers.get("retry-after", "0.5")) or 0.5)
                continue
            if r.status_code == 404 and ok404:
                return None
            if not r.is_success:
                try:
                    message = r.json().get("message", r.text)
                except ValueError:
                    message = r.text
                raise DemoFailed(f"{method} {path}: {message} (HTTP {r.status_code})")
            return r.json() if r.content else None
        raise DemoFailed(f"{method} {path}: still rate-limited after a minute")

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def parallel(self, fn: Callable[[Any], Any], items: Iterable[Any], workers: int = 8) -> list[Any]:
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(fn, items))

    # -- keystores and CLI commands ----------------------------------------------------------

    def keystore(self, name: str) -> LocalAccount:
        """Keystore ``demo-NAME`` in DATA_DIR/keystores holding the demo key of NAME (made once)."""
        account = demo_account(name)
        path = keys.keystore_path(self.data_dir, f"demo-{name}")
        if path.exists():
            stored = json.loads(path.read_text()).get("address", "")
            if str(stored).lower().removeprefix("0x") != account.address.lower().removeprefix("0x"):
                raise DemoFailed(f"keystore {path} exists but does not hold the demo key of {name!r}")
            self.count("keystores", 0, 1)
            return account
        keys.create_keystore(
            self.data_dir, f"demo-{name}", self.password, private_key=account.key, scrypt_n=DEMO_SCRYPT_N
        )
        self.count("keystores", 1)
        return account

    def cli(self, *args: str, token: bool = False, signer: str | None = None) -> Any:
        """Run ``civic-ledger ARGS --json`` here (the same commands a user types); its JSON answer."""
        from typer.main import get_command

        from civic_ledger.cli import app

        root = get_command(app)
        leaf: Any = root
        for word in args:
            sub = getattr(leaf, "commands", {}).get(word)
            if sub is None:
                break
            leaf = sub
        takes = {opt for p in leaf.params for opt in p.opts}
        extra = {"--api": self.api, "--json": None}
        if signer is not None:
            extra.update({"--as": f"demo-{signer}", "--password": self.password, "--data-dir": str(self.data_dir)})
        if token:
            extra["--token"] = str(self.token)
        full = list(args)
        for opt, value in extra.items():
            if opt in takes:
                full += [opt] if value is None else [opt, value]
        out, err = io.StringIO(), io.StringIO()
        env = {"CIVIC_DATA_DIR": str(self.data_dir), "CIVIC_KEYSTORE_PASSWORD": self.password}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        with redirect_stdout(out), redirect_stderr(err), _restore(saved):
            try:
                code = root.main(full, prog_name="civic-ledger", standalone_mode=False)
            except Exception as exc:  # noqa: BLE001 - usage errors and the like: one clear line
                code, _ = 2, err.write(f"{exc.__class__.__name__}: {exc}")
        with (self.work / "commands.log").open("a") as log:  # what ran and what it answered, for a curious user
            log.write(f"$ civic-ledger {' '.join(args)}\n{out.getvalue()}{err.getvalue()}\n")
        if code not in (None, 0):
            text = " ".join(err.getvalue().split()) or out.getvalue().strip()
            raise DemoFailed(f"civic-ledger {' '.join(args)}: {text}")
        text = out.getvalue().strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text


@contextmanager
def _restore(saved: dict[str, str | None]) -> Iterator[None]:
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
