"""Health and chain information."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "chain": "http://127.0.0.1:8545",
                    "chain_id": 31337,
                    "development": True,
                    "head_block": 18_342,
                    "operator": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                    "compiler_version": "0.8.28",
                    "manifest": "data/deployment-31337.json",
                    "contracts": {
                        "CitizenRegistry": {
                            "address": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                            "deploy_tx": "0x175c514a07fb7b84ac425e7f69113155521586df65d886b7ac446e1173a82639",
                            "deploy_block": 1,
                            "code_hash": "0xf151138fa52c0955983ea537377572c0dd2b426632a62db3c1387b59d6ec8f0a",
                        }
                    },
                }
            ]
        }
    )

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
