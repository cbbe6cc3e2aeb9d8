"""FastAPI dependencies: the running platform and its parts, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from civic_ledger.errors import ChainUnavailable
from civic_ledger.platform.chain import Chain
from civic_ledger.platform.deploy import Deployment
from civic_ledger.platform.relayer import Relayer
from civic_ledger.platform.runtime import Platform


def get_platform(request: Request) -> Platform:
    platform: Platform | None = getattr(request.app.state, "platform", None)
    if platform is None:
        raise ChainUnavailable("the platform is not started")
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_chain(platform: PlatformDep) -> Chain:
    return platform.chain


def get_relayer(platform: PlatformDep) -> Relayer:
    return platform.relayer


def get_deployment(platform: PlatformDep) -> Deployment:
    return platform.deployment


ChainDep = Annotated[Chain, Depends(get_chain)]
RelayerDep = Annotated[Relayer, Depends(get_relayer)]
DeploymentDep = Annotated[Deployment, Depends(get_deployment)]
