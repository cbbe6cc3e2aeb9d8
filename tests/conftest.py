"""Shared fixtures: the real compiler, a real chain (embedded or anvil), real HTTP.

- ``chain_url`` is parametrised over ``embedded`` and ``anvil``; anvil is started from
  node_modules on a free loopback port for the session and stopped at the end.
- ``platform`` compiles (cached), opens the chain in a fresh data directory and deploys.
- ``api`` serves the app with uvicorn on a free loopback port (real HTTP) and yields an
  ``httpx.Client`` bound to it.

Module-scoped fixtures (one chain + server per module and chain kind) build the same stack
from ``module_chain``, ``started_platform`` and ``LiveServer`` (a context manager).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import httpx
import pytest
import uvicorn
from eth_account import Account

from civic_ledger.config import Settings
from civic_ledger.main import create_app
from civic_ledger.platform.compiler import NODE_MODULES, PROJECT_ROOT
from civic_ledger.platform.runtime import Platform
from tests.helpers import INTERVAL_NODES

BUILD_DIR = PROJECT_ROOT / "build"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def foundry_binary(tool: str) -> str:
    """Foundry's ``anvil`` or ``cast`` from node_modules (npm ``@foundry-rs/<tool>``), else PATH."""
    native = NODE_MODULES / "@foundry-rs" / f"{tool}-linux-amd64" / "bin" / tool
    if native.exists():
        return str(native)
    wrapper = NODE_MODULES / ".bin" / tool
    if wrapper.exists():
        return str(wrapper)
    found = shutil.which(tool)
    if found:
        return found
    raise RuntimeError(f"{tool} not found: run `npm install` (package @foundry-rs/{tool})")


def anvil_binary() -> str:
    return foundry_binary("anvil")


class Anvil:
    """An anvil node on a free loopback port, for the duration of a fixture."""

    def __init__(self, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [anvil_binary(), "--port", str(self.port), "--host", "127.0.0.1", "--silent", *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                r = httpx.post(
                    self.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1
                )
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"anvil exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("anvil did not start within 30 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    node = Anvil()
    yield node
    node.stop()


#: Chain id of the interval-mining anvil: not a development chain, so the platform runs as on a
#: real network (operator from a keystore, no development key).
INTERVAL_CHAIN_ID = 424_242
#: anvil's first development account (funded at genesis on any chain id), as the operator keystore.
_INTERVAL_OPERATOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#: URL of each running interval anvil → the operator settings a platform on it needs. Kept in
#: ``tests.helpers``: pytest imports this file as ``conftest`` and the test modules import it again as
#: ``tests.conftest``, so a dict defined here would exist twice.
_INTERVAL_NODES = INTERVAL_NODES


class IntervalAnvil(Anvil):
    """anvil mining a block every second (as QBFT does every 1-5 s) on a non-development chain id."""

    def __init__(self, keystore_dir: Path) -> None:
        super().__init__("--block-time", "1", "--chain-id", str(INTERVAL_CHAIN_ID))
        keystore_dir.mkdir(parents=True, exist_ok=True)
        path = keystore_dir / "operator.json"
        path.write_text(json.dumps(Account.encrypt(_INTERVAL_OPERATOR_KEY, "interval")))
        _INTERVAL_NODES[self.url] = {"operator_keystore": path, "keystore_password": "interval"}

    def stop(self) -> None:
        _INTERVAL_NODES.pop(self.url, None)
        super().stop()


@pytest.fixture(scope="session")
def interval_anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IntervalAnvil]:
    node = IntervalAnvil(tmp_path_factory.mktemp("interval-operator"))
    yield node
    node.stop()


@contextmanager
def module_chain(request: pytest.FixtureRequest, *, own_anvil: bool = False) -> Iterator[str]:
    """The chain URL for a module fixture parametrised over ``["embedded", "anvil"]`` (and
    ``"interval"``: an anvil of the module's own mining every second on a non-development chain).

    ``own_anvil`` starts a node of the module's own (stopped at the end) instead of sharing the
    session's: for modules that move chain time, which would break the wall-clock deadlines of
    other modules sharing the session's anvil.
    """
    if request.param == "embedded":
        yield "embedded"
    elif request.param == "interval" and not own_anvil:
        yield str(request.getfixturevalue("interval_anvil").url)
    elif request.param == "interval":
        node = IntervalAnvil(Path(tempfile.mkdtemp(prefix="interval-operator-")))
        try:
            yield node.url
        finally:
            node.stop()
    elif not own_anvil:
        yield str(request.getfixturevalue("anvil").url)
    else:
        node = Anvil()
        try:
            yield node.url
        finally:
            node.stop()


@pytest.fixture(params=["embedded", "anvil"])
def chain_url(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over both chains. Use ``platform``/``api`` rather than this directly.
    A module can widen it to ``["embedded", "anvil", "interval"]`` with ``pytest.mark.parametrize
    ("chain_url", CHAINS_WITH_INTERVAL, indirect=True)``."""
    if request.param == "embedded":
        return "embedded"
    if request.param == "interval":
        return str(request.getfixturevalue("interval_anvil").url)
    return str(request.getfixturevalue("anvil").url)


#: Every chain kind: the embedded chain, automining anvil, anvil mining every second (not a
#: development chain: operator from a keystore, receipts awaited across blocks).
CHAINS_WITH_INTERVAL = ["embedded", "anvil", "interval"]


def make_settings(chain: str, data_dir: Path, **extra: object) -> Settings:
    """Settings for a platform on ``chain``; on an interval anvil, with its operator keystore."""
    extra = {**_INTERVAL_NODES.get(chain, {}), **extra}
    return Settings(chain=chain, data_dir=data_dir, build_dir=BUILD_DIR, **extra)  # type: ignore[arg-type]


@pytest.fixture
def settings(chain_url: str, tmp_path: Path) -> Settings:
    return make_settings(chain_url, tmp_path / "data")


@contextmanager
def started_platform(chain: str, data_dir: Path, **extra: object) -> Iterator[Platform]:
    """A platform on ``chain`` (compiled, deployed) in ``data_dir``, closed at the end."""
    p = Platform.start(make_settings(chain, data_dir, **extra))
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    p = Platform.start(settings)
    yield p
    p.close()


class LiveServer:
    """uvicorn serving the app on a loopback port, in a thread of the test process.

    Also a context manager (stopped at the end); ``client()`` gives an ``httpx.Client`` bound to it.
    """

    def __init__(self, platform: Platform) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(platform.settings, platform=platform)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)

    def client(self, timeout: float = 60) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@pytest.fixture
def api(platform: Platform) -> Iterator[httpx.Client]:
    """An HTTP client talking to the API over real loopback HTTP."""
    with LiveServer(platform) as server, server.client() as client:
        yield client


@pytest.fixture
def new_account():
    """Factory of fresh keys (citizens, agencies): ``new_account()`` → eth-account LocalAccount."""

    def make():  # type: ignore[no-untyped-def]
        return Account.create()

    return make
