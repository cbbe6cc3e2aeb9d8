"""Settings, from the environment (prefix ``CIVIC_``), a ``.env`` file or CLI flags."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
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
    shared_dir: Path | None = Field(
        None,
        description="A directory every API replica of one deployment reaches: the deployment manifest and the "
        "state store (sign-in nonces, signed-out tokens, the session key) live there instead of in the data "
        "directory, so a token from one replica works on all and a sign-out applies everywhere. Each replica "
        "keeps its own data directory (index) and its own operator key.",
    )
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
    ballot_inclusion_s: int = Field(
        60, ge=1, le=7 * 86_400, description="Inclusion deadline a signed ballot receipt promises (seconds)."
    )
    session_secret: SecretStr | None = Field(None, description="HMAC key of session tokens (random if unset).")
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Origin used in Sign-In with Ethereum messages. Default: http://HOST:PORT of this server "
        "(set it when a proxy or another name fronts the server).",
    )
    allow_agency_citizens: bool = Field(
        False,
        description="Allow a key that holds an agency role (any `*_ROLE` or admin role of a deployed contract) "
        "to be registered as, recovered to or rotated to a citizen. Off by default: an agency key could then "
        "vote or earn mileage. CitizenRegistry refuses a registrar's own key on chain whatever this says.",
    )

    # -- operations ---------------------------------------------------------------------------
    log_level: str = Field(
        "INFO", description="Level of the JSON log lines (one per request, one per relayed transaction)."
    )
    timezone: str = Field("Asia/Seoul", description="Time zone the CLI shows times in (IANA name).")
    api_url: str | None = Field(
        None, description="Base URL of the API for CLI commands (default: this server's host and port)."
    )

    # -- /rpc: reads for untrusted callers ---------------------------------------------------
    rpc_gas_cap: int = Field(25_000_000, ge=21_000, description="Most gas one `eth_call` on /rpc may use.")
    rpc_call_time_s: float = Field(2.0, gt=0, description="Wall-clock limit of one `eth_call` on /rpc (embedded).")
    rpc_request_time_s: float = Field(10.0, gt=0, description="Wall-clock budget of one /rpc request (a batch).")
    rpc_request_gas: int = Field(100_000_000, ge=21_000, description="Gas budget of all `eth_call`s of one request.")
    rpc_max_batch: int = Field(100, ge=1, le=10_000, description="Most calls in one /rpc batch.")
    rpc_max_log_blocks: int = Field(10_000, ge=1, description="Widest block range of one `eth_getLogs` on /rpc.")
    rpc_readers: int = Field(4, ge=1, le=64, description="/rpc reads running at once (embedded chain).")

    # -- rate limits (token buckets: a sustained rate per second and a burst) ------------------
    rate_limits: bool = Field(True, description="Refuse floods with 429 before any work or gas is spent.")
    rate_write_ip: tuple[float, int] = Field((50.0, 500), description="Writes (POST/PUT/PATCH/DELETE) per client IP.")
    rate_write_actor: tuple[float, int] = Field(
        (20.0, 200), description="Relayed writes per signed-in actor (session)."
    )
    rate_nonce_ip: tuple[float, int] = Field((2.0, 30), description="`GET /auth/nonce` per client IP.")
    rate_rpc_ip: tuple[float, int] = Field((50.0, 500), description="`/rpc` requests per client IP.")

    # -- indexer (DATA_DIR/index.sqlite3) ---------------------------------------------------
    index_chunk_blocks: int = Field(
        2_000, ge=1, le=1_000_000, description="Blocks per `eth_getLogs` of the indexer (halved when a node refuses)."
    )
    index_confirmations: int = Field(
        0,
        ge=0,
        le=10_000,
        description="Blocks below the head before a read may show an event as final (0: instant finality).",
    )
    index_poll_s: float = Field(0.5, gt=0, le=60, description="How often the indexer looks for new blocks.")

    # -- ballot batching -------------------------------------------------------------------
    block_time_s: float | None = Field(
        None,
        ge=0,
        le=600,
        description=(
            "Seconds between the node's blocks, for the ballot batcher (it sends each batch just before the "
            "next block is sealed, so one batch carries every ballot of a block). 0: the node mines each "
            "transaction at once (send at the first ballot). Unset: asked of the node (anvil/hardhat say "
            "whether they automine; other nodes are taken to mine on a timer, read from block timestamps)."
        ),
    )

    @model_validator(mode="after")
    def _public_url_follows_the_port(self) -> Settings:
        """One port setting drives the SIWE domain: unless CIVIC_PUBLIC_URL is given, it is the
        address the server listens on (a wildcard host is shown as 127.0.0.1)."""
        if "public_url" not in self.model_fields_set:
            host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
            host = f"[{host}]" if ":" in host else host
            self.public_url = f"http://{host}:{self.port}"
        return self

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"unknown log level {value!r}: use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Asia/Seoul or UTC") from None
        return value.strip()

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
