"""Audit of a project's payments through the platform's node (the CLI does the same from any node)."""

from __future__ import annotations

from typing import Any

from civic_ledger.audit.trail import ChainSource, Trail, build_trail, reconcile
from civic_ledger.platform.runtime import Platform


def trail(platform: Platform, project_id: int) -> Trail:
    return build_trail(ChainSource.from_platform(platform), project_id)


def reconciliation(platform: Platform, project_id: int) -> dict[str, Any]:
    return reconcile(ChainSource.from_platform(platform), project_id)
