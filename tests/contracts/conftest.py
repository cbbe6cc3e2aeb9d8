"""Fixtures of the contract tests: one deployment per session, the chain reverted after every test (see chain.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contracts.chain import Env, make_env


@pytest.fixture(scope="session")
def env() -> Env:
    return make_env()


@pytest.fixture(autouse=True)
def _isolated(env: Env) -> Iterator[None]:
    snapshot = env.tester.take_snapshot()
    yield
    env.tester.revert_to_snapshot(snapshot)
