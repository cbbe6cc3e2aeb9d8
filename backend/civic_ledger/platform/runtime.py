"""The running platform: settings → compiled build → chain → operator → relayer → deployment."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from eth_account import Account
from eth_account.signers.local import LocalAccount

from civic_ledger.config import Settings
from civic_ledger.errors import ConfigError
from civic_ledger.platform.chain import Chain, UntrustedReads, connect
from civic_ledger.platform.compiler import Build, compile_contracts
from civic_ledger.platform.deploy import Deployment, deploy_all, open_deployment
from civic_ledger.platform.files import read_json
from civic_ledger.platform.indexer import Indexer, open_indexer
from civic_ledger.platform.relayer import Relayer
from civic_ledger.platform.revert import ErrorDecoder
from civic_ledger.platform.store import StateStore, open_store


def load_keystore(path: Path, password: str) -> LocalAccount:
    """Decrypt an eth-account keystore; bad path or password is a one-line ConfigError."""
    blob = read_json(path, "keystore", ConfigError)
    try:
        key = Account.decrypt(blob, password)
    except ValueError:
        raise ConfigError(f"keystore {path}: wrong password (CIVIC_KEYSTORE_PASSWORD)") from None
    return Account.from_key(key)


@contextmanager
def _deploy_lock(directory: Path) -> Iterator[None]:
    """An exclusive lock on ``directory/deploy.lock`` while one process deploys or checks."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "deploy.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def operator_account(settings: Settings, chain: Chain) -> LocalAccount:
    if settings.operator_keystore is not None:
        return load_keystore(settings.operator_keystore, settings.keystore_password.get_secret_value())
    return chain.development_key()


T = TypeVar("T")


@dataclass
class Platform:
    settings: Settings
    build: Build
    chain: Chain
    operator: LocalAccount
    relayer: Relayer
    decoder: ErrorDecoder
    deployment: Deployment
    store: StateStore
    untrusted: UntrustedReads
    indexer: Indexer
    #: Each area's per-platform state (see :meth:`area_state`), closed by :meth:`close`.
    _areas: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _areas_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def start(
        cls,
        settings: Settings,
        *,
        deploy: bool = True,
        redeploy_changed: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> Platform:
        say = progress or (lambda _msg: None)
        say(f"opening chain {settings.chain}")
        chain = connect(settings.chain, settings.data_dir)  # bad configuration fails here, first
        try:
            say("compiling contracts")
            build = compile_contracts(settings.build_dir)
            operator = operator_account(settings, chain)
            decoder = ErrorDecoder.from_build(build)  # statuses and notices from the devdoc/userdoc
            relayer = Relayer(chain, operator, decoder, gas=settings.tx_gas, receipt_timeout=settings.receipt_timeout_s)
            shared = settings.shared_dir or settings.data_dir  # manifest and state store
            if deploy:
                with _deploy_lock(shared):  # replicas starting together: one deploys, the others reuse
                    deployment = deploy_all(
                        chain, build, relayer, shared, redeploy_changed=redeploy_changed, progress=say
                    )
            else:
                deployment = open_deployment(chain, build, shared)
            decoder.bind_all(deployment.addresses())  # errors are decoded against the called contract
            store = open_store(shared)
        except BaseException:
            chain.close()
            raise
        untrusted = UntrustedReads(
            chain,
            settings.data_dir,
            gas_cap=settings.rpc_gas_cap,
            time_limit_s=settings.rpc_call_time_s,
            size=settings.rpc_readers,
        )
        try:  # follows every deployed contract in a thread of its own, from its persisted cursor
            indexer = open_indexer(settings, chain_id=chain.chain_id, entries=deployment.entries, build=build)
            indexer.start()
        except BaseException:
            untrusted.close()
            store.close()
            chain.close()
            raise
        return cls(settings, build, chain, operator, relayer, decoder, deployment, store, untrusted, indexer)

    def area_state(self, name: str, open_state: Callable[[Platform], T]) -> T:
        """The state area ``name`` keeps for this platform (a relay, a batcher, …), made by
        ``open_state(self)`` on first use; anything with a ``close()`` is closed by :meth:`close`."""
        found = self._areas.get(name)
        if found is None:
            with self._areas_lock:
                found = self._areas.get(name)
                if found is None:
                    found = self._areas[name] = open_state(self)
        return found  # type: ignore[no-any-return]

    def close_area(self, name: str) -> None:
        """Close and forget area ``name``'s state (a later use opens it again)."""
        with self._areas_lock:
            found = self._areas.pop(name, None)
        if found is not None and hasattr(found, "close"):
            found.close()

    def close(self) -> None:
        for name in list(reversed(self._areas)):
            self.close_area(name)
        self.indexer.close()
        self.untrusted.close()
        self.store.close()
        self.chain.close()
