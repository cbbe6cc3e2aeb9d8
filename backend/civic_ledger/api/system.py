"""Health and chain information."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from civic_ledger.api.deps import PlatformDep
from civic_ledger.errors import CivicLedgerError
from civic_ledger.platform.deploy import load_manifest, verify

router = APIRouter(tags=["system"])


class HealthOut(BaseModel):
    status: str = Field(examples=["ok"])
    chain_reachable: bool
    head_block: int | None
    deployment_matches: bool
    problems: list[str] = []


class ContractOut(BaseModel):
    address: str
    deploy_tx: str
    deploy_block: int
    code_hash: str


class ChainOut(BaseModel):
    chain: str = Field(description="`embedded` or the node URL")
    chain_id: int
    development: bool
    head_block: int
    operator: str
    compiler_version: str
    manifest: str
    contracts: dict[str, ContractOut]


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
def health(platform: PlatformDep) -> JSONResponse:
    """`ok` when the chain answers and every contract in the manifest has the recorded code."""
    problems: list[str] = []
    head: int | None = None
    try:
        head = platform.chain.head()
    except CivicLedgerError as exc:
        problems.append(exc.message)
    if head is not None:
        manifest = load_manifest(platform.deployment.manifest_path) or {}
        problems.extend(verify(platform.chain, platform.build, manifest, platform.deployment.manifest_path))
    body = HealthOut(
        status="ok" if not problems else "degraded",
        chain_reachable=head is not None,
        head_block=head,
        deployment_matches=head is not None and not problems,
        problems=problems,
    )
    return JSONResponse(status_code=200 if not problems else 503, content=body.model_dump())


@router.get("/chain", response_model=ChainOut)
def chain_info(platform: PlatformDep) -> ChainOut:
    d = platform.deployment
    return ChainOut(
        chain=platform.chain.kind,
        chain_id=platform.chain.chain_id,
        development=platform.chain.is_development,
        head_block=platform.chain.head(),
        operator=platform.operator.address,
        compiler_version=d.compiler_version,
        manifest=str(d.manifest_path),
        contracts={
            name: ContractOut(
                address=e["address"], deploy_tx=e["tx"], deploy_block=e["block"], code_hash=e["code_hash"]
            )
            for name, e in d.entries.items()
        },
    )
