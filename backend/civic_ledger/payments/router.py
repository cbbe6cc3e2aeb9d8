"""HTTP routes of automatic subcontract payment (하도급 대금 자동지급).

Signed actions come in pairs: ``POST .../typed-data`` returns the EIP-712 typed data to sign
(nonce and deadline filled in); ``POST ...`` with the same fields plus ``nonce``, ``deadline``
and ``signature`` relays it. The server never holds an actor's key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from civic_ledger.api.deps import PlatformDep
from civic_ledger.identity.auth import AgencyPrincipal
from civic_ledger.identity.deps import require_role
from civic_ledger.payments import service
from civic_ledger.payments.schemas import (
    AddParticipantsCreate,
    AddParticipantsTypedData,
    ApproveCreate,
    ApproveTypedData,
    BalanceOut,
    BlockCreate,
    ClaimOut,
    CloseCreate,
    CloseTypedData,
    ConfirmCreate,
    ConfirmTypedData,
    CreditOut,
    DirectPaymentCreate,
    DirectPaymentTypedData,
    FundCreate,
    FundTypedData,
    MintCreate,
    PermitCreate,
    PermitTypedData,
    ProjectOut,
    RegisterProjectCreate,
    RegisterProjectTypedData,
    RoleGrant,
    SubmitClaimCreate,
    SubmitClaimTypedData,
    TxOut,
    TypedDataOut,
    WithdrawCreate,
    WithdrawTypedData,
)
from civic_ledger.platform import actions
from civic_ledger.types import UINT256_MAX, Address

router = APIRouter(prefix="/payments", tags=["payments"])

#: Signed-in holder of SubcontractPayments' DEFAULT_ADMIN_ROLE (the city admin).
PaymentsAdmin = Annotated[AgencyPrincipal, Depends(require_role("SubcontractPayments", "DEFAULT_ADMIN_ROLE"))]
#: Signed-in holder of CivicWon's TREASURY_ROLE.
Treasury = Annotated[AgencyPrincipal, Depends(require_role("CivicWon", "TREASURY_ROLE"))]
#: Ids are uint256 on chain, counted from 1: anything else is refused with a 422 before any chain call.
ProjectId = Annotated[int, Path(ge=1, le=UINT256_MAX, description="Project id (from 1).")]
ClaimId = Annotated[int, Path(ge=1, le=UINT256_MAX, description="Claim id (from 1).")]
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in (Bearer token from /auth/login)."},
    403: {"description": "Missing role."},
}


_PROJECT = ("project_id", ProjectId, "projectId")
_CLAIM = ("claim_id", ClaimId, "claimId")
_PAYEE = ("payee", Address, "payee")


def _pair(
    key: str,
    path: str,
    models: tuple[type[BaseModel], type[BaseModel]],
    param: tuple[str, Any, str] | None = None,
    *,
    name: str | None = None,
    summary: str | None = None,
    doc: str | None = None,
    status_code: int | None = None,
    typed_summary: str | None = None,
    typed_doc: str | None = None,
) -> None:
    """``POST path/typed-data`` (typed data of action ``key`` to sign) and ``POST path`` (relay it);
    the path parameter ``param`` (name, annotation, message field) goes into the message; ``name``
    (default ``key``) names the endpoints (``name``, ``name_typed_data``: the OpenAPI operation ids)."""
    name = name or key

    def ids(kw: dict[str, Any]) -> dict[str, Any]:
        return {param[2]: kw[param[0]]} if param else {}

    def typed(platform: Any, body: BaseModel, **kw: Any) -> TypedDataOut:
        return service.typed_data(platform, key, service.message_from(platform, key, body.model_dump(), **ids(kw)))

    def relay(platform: Any, body: BaseModel, **kw: Any) -> TxOut:
        data = body.model_dump()
        return service.relay(platform, key, service.message_from(platform, key, data, **ids(kw)), data["signature"])

    actions.add_route_pair(
        router,
        PlatformDep,
        path,
        actions.Route(f"{name}_typed_data", models[0], TypedDataOut, typed_doc, summary=typed_summary),
        actions.Route(name, models[1], TxOut, doc, summary=summary, status_code=status_code),
        typed,
        relay,
        [param[:2]] if param else [],
    )


# -- projects ----------------------------------------------------------------------------------

_pair(
    "register_project",
    "/projects",
    (RegisterProjectTypedData, RegisterProjectCreate),
    summary="Register a project (client-signed)",
    doc="""Workers must be active citizens (422 `SubcontractPaymentsNotActiveCitizen`); the signer must
    hold CLIENT_ROLE (403 `SubcontractPaymentsUnauthorized`). The new id is in `project_id`.""",
    status_code=201,
    typed_summary="Typed data to register a project",
    typed_doc="The client department (CLIENT_ROLE) signs `RegisterProject`: prime, participants, contract amounts.",
)


@router.get("/projects/{project_id}", response_model=ProjectOut, summary="A project: buckets and participants")
def get_project(project_id: ProjectId, platform: PlatformDep) -> ProjectOut:
    return service.get_project(platform, project_id)


_pair(
    "add_participants",
    "/projects/{project_id}/participants",
    (AddParticipantsTypedData, AddParticipantsCreate),
    _PROJECT,
    summary="Add participants",
    status_code=201,
)
_pair(
    "fund",
    "/projects/{project_id}/funding",
    (FundTypedData, FundCreate),
    _PROJECT,
    summary="Fund a purpose bucket",
    doc="""Moves won from the client's account into the bucket; the client must first allow the
    escrow to pull them (`POST /payments/allowances`, an ERC-2612 permit).""",
    status_code=201,
)
_pair(
    "close_project",
    "/projects/{project_id}/close",
    (CloseTypedData, CloseCreate),
    _PROJECT,
    summary="Close a project and refund the buckets",
    name="close",
)

# -- claims ------------------------------------------------------------------------------------

_pair(
    "submit_claim",
    "/projects/{project_id}/claims",
    (SubmitClaimTypedData, SubmitClaimCreate),
    _PROJECT,
    summary="Submit a claim (prime-signed)",
    doc="""Each payee must hold the role its purpose needs: a labour line to anyone but a registered
    worker of the project is 422 `SubcontractPaymentsPayeeNotEligible`.""",
    status_code=201,
)


@router.get("/claims/{claim_id}", response_model=ClaimOut, summary="A claim with each line's status")
def get_claim(claim_id: ClaimId, platform: PlatformDep) -> ClaimOut:
    return service.get_claim(platform, claim_id)


_pair(
    "confirm_lines",
    "/claims/{claim_id}/confirmations",
    (ConfirmTypedData, ConfirmCreate),
    _CLAIM,
    summary="Confirm lines (employer / prime)",
    typed_doc="Without `lines`, every unconfirmed line the confirmer is responsible for.",
    name="confirm",
)
_pair(
    "approve_claim",
    "/claims/{claim_id}/approvals",
    (ApproveTypedData, ApproveCreate),
    _CLAIM,
    summary="Approve a claim (inspector-signed)",
    name="approve",
)


@router.post("/claims/{claim_id}/settlement", response_model=TxOut, summary="Pay every payable line directly")
def settle(claim_id: ClaimId, platform: PlatformDep) -> TxOut:
    """Anyone may trigger it. 409 `SubcontractPaymentsAlreadySettled` when every line was paid;
    422 `SubcontractPaymentsOverdraft` when a bucket is short; 422 `...NotApproved`."""
    return service.settle(platform, claim_id)


_pair(
    "direct_payment",
    "/claims/{claim_id}/direct-payments",
    (DirectPaymentTypedData, DirectPaymentCreate),
    _CLAIM,
    summary="Client pays a subcontract line directly",
    doc="""On a legal ground (three-party agreement, prime insolvency, two missed instalments, no
    payment guarantee), recorded in `DirectPaymentMade`.""",
)

# -- credits and money -------------------------------------------------------------------------


@router.get("/credits/{payee}", response_model=CreditOut, summary="Won credited to a payee that could not receive")
def get_credit(payee: Address, platform: PlatformDep) -> CreditOut:
    return service.get_credit(platform, payee)


@router.post("/credits/{payee}/push", response_model=TxOut, summary="Push a credit to the payee itself")
def push_credit(payee: Address, platform: PlatformDep) -> TxOut:
    return service.push_credit(platform, payee)


_pair(
    "withdraw",
    "/credits/{payee}/withdrawals",
    (WithdrawTypedData, WithdrawCreate),
    _PAYEE,
    summary="Withdraw a credit to another address (payee-signed)",
    doc="""For a citizen's credit, `to` must be bound to the same citizen (403-free 422
    `SubcontractPaymentsNotOwnAccount` otherwise): wages only reach the worker's own account.""",
)


@router.get("/balances/{account}", response_model=BalanceOut, summary="KRW balance and allowance to the escrow")
def get_balance(account: Address, platform: PlatformDep) -> BalanceOut:
    return service.get_balance(platform, account)


_pair(
    "permit",
    "/allowances",
    (PermitTypedData, PermitCreate),
    summary="Relay a signed permit",
    typed_summary="ERC-2612 permit letting the escrow pull won",
)


# -- city admin / treasury (signed-in session; the operator key relays) ---------------------------------------------------------


@router.post(
    "/roles", response_model=TxOut, summary="Grant CLIENT_ROLE or INSPECTOR_ROLE (city admin)", responses=_AUTH
)
def grant_role(body: RoleGrant, platform: PlatformDep, admin: PaymentsAdmin) -> TxOut:
    """Needs a session of a holder of SubcontractPayments' `DEFAULT_ADMIN_ROLE`; the operator relays `grantRole`."""
    return service.grant_role(platform, body.role, body.account)


@router.post("/treasury/mint", response_model=TxOut, summary="Mint won to an account (treasury)", responses=_AUTH)
def mint(body: MintCreate, platform: PlatformDep, treasury: Treasury) -> TxOut:
    """Needs a session of a holder of CivicWon's `TREASURY_ROLE`; the operator (which holds it) mints."""
    return service.mint(platform, body.to, body.amount)


@router.post(
    "/treasury/blocked", response_model=TxOut, summary="Block or unblock an account (treasury)", responses=_AUTH
)
def set_blocked(body: BlockCreate, platform: PlatformDep, treasury: Treasury) -> TxOut:
    """An account under seizure or with a closed bank account: payments to it are credited, not pushed."""
    return service.set_blocked(platform, body.account, body.blocked)
