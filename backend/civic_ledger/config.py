"""Settings, from the environment (prefix ``CIVIC_``), a ``.env`` file or CLI flags."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from civic_ledger.platform.compiler import PROJECT_ROOT


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVIC_", env_file=".env", extra="ignore")

    chain: str = Field(
        "embedded",
        description="`embedded` (py-evm in process, persisted in the data directory) or the URL "
        "of an Ethereum JSON-RPC node (http://, https://, ws://, wss://).",
    )
    data_dir: Path = Field(PROJECT_ROOT / "data", description="Chain store, deployment manifest, keystores.")
    build_dir: Path = Field(PROJECT_ROOT / "build", description="Compiled contract artifacts (a cache).")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    operator_keystore: Path | None = Field(
        None,
        description="eth-account keystore (JSON) of the operator, who deploys and pays for relayed "
        "transactions. Without it, a well-known development key is used on development chains "
        "only (embedded, chain id 31337/1337) and any other chain is refused.",
    )
    keystore_password: SecretStr = Field(SecretStr(""), description="Password of the keystores.")
    tx_gas: int = Field(6_000_000, description="Gas limit of relayed transactions (no estimation).")
    receipt_timeout_s: float = Field(120.0, description="How long to wait for a transaction to be mined.")
    session_secret: SecretStr | None = Field(None, description="HMAC key of session tokens (random if unset).")
    public_url: str = Field("http://127.0.0.1:8000", description="Origin used in Sign-In with Ethereum messages.")

    @field_validator("chain")
    @classmethod
    def _chain_kind(cls, value: str) -> str:
        value = value.strip()
        if value == "embedded" or value.startswith(("http://", "https://", "ws://", "wss://")):
            return value
        raise ValueError(f"unknown chain {value!r}: use 'embedded' or a JSON-RPC URL (http://host:port)")


@lru_cache
def get_settings() -> Settings:
    return Settings()
