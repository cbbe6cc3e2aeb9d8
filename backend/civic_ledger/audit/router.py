"""Audit routes: a project's payment trail (JSON or CSV with a manifest) and its reconciliation."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from civic_ledger.api.deps import PlatformDep
from civic_ledger.audit import service
from civic_ledger.audit.schemas import ReconcileOut, TrailOut

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get(
    "/projects/{project_id}/trail",
    response_model=TrailOut,
    summary="Every event of a project, as JSON or CSV",
    responses={200: {"content": {"text/csv": {}}}},
)
def trail(
    project_id: int,
    platform: PlatformDep,
    format: Literal["json", "csv"] = Query(
        "json",
        description="`csv`: columns block,time,tx,log_index,event,payer,"
        "payee,purpose,amount,claim,evidence,due,late; manifest in X-Trail-* headers.",
    ),
) -> TrailOut | Response:
    """Derived from chain events only; `civic-ledger audit trail PROJECT --rpc-url URL` rebuilds the
    same CSV (same `csv_sha256`) from any node."""
    result = service.trail(platform, project_id)
    if format == "csv":
        m = result.manifest
        headers = {
            "X-Trail-SHA256": m["csv_sha256"],
            "X-Chain-Id": str(m["chain_id"]),
            "X-Contract-SubcontractPayments": m["contracts"]["SubcontractPayments"],
            "X-Contract-CivicWon": m["contracts"]["CivicWon"],
            "X-Trail-Blocks": f"{m['from_block']}-{m['to_block']}",
            "X-Deployment-Manifest-SHA256": m["deployment"]["manifest_sha256"],
            "Content-Disposition": f'attachment; filename="project-{project_id}-trail.csv"',
        }
        return Response(result.csv_text(), media_type="text/csv", headers=headers)
    return TrailOut.model_validate(result.to_dict())


@router.get(
    "/projects/{project_id}/reconcile", response_model=ReconcileOut, summary="Reconcile a project against the chain"
)
def reconcile(project_id: int, platform: PlatformDep) -> ReconcileOut:
    """Per bucket funded = paid + refunded + balance (events vs contract state), per payee claimed
    vs paid vs credited, late lines with interest, and the escrow's token balance (tokens sent to it
    outside any project are reported as `escrow.unattributed`, not as a mismatch). Addresses are the
    server's deployment's (`deployment`)."""
    return ReconcileOut.model_validate(service.reconciliation(platform, project_id))
