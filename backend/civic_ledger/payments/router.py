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
from civic_ledger.api.types import UINT256_MAX, Address
from civic_ledger.identity.auth import AgencyPrincipal, require_role
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


def _typed(platform: Any, key: str, body: BaseModel, **ids: Any) -> TypedDataOut:
    return service.typed_data(platform, key, service.message_from(platform, key, body.model_dump(), **ids))


def _relay(platform: Any, key: str, body: BaseModel, **ids: Any) -> TxOut:
    data = body.model_dump()
    return service.relay(platform, key, service.message_from(platform, key, data, **ids), data["signature"])


# -- projects ----------------------------------------------------------------------------------


@router.post("/projects/typed-data", response_model=TypedDataOut, summary="Typed data to register a project")
def register_project_typed_data(body: RegisterProjectTypedData, platform: PlatformDep) -> TypedDataOut:
    """The client department (CLIENT_ROLE) signs `RegisterProject`: prime, participants, contract amounts."""
    return _typed(platform, "register_project", body)


@router.post("/projects", response_model=TxOut, status_code=201, summary="Register a project (client-signed)")
def register_project(body: RegisterProjectCreate, platform: PlatformDep) -> TxOut:
    """Workers must be active citizens (422 `SubcontractPaymentsNotActiveCitizen`); the signer must
    hold CLIENT_ROLE (403 `SubcontractPaymentsUnauthorized`). The new id is in `project_id`."""
    return _relay(platform, "register_project", body)


@router.get("/projects/{project_id}", response_model=ProjectOut, summary="A project: buckets and participants")
def get_project(project_id: ProjectId, platform: PlatformDep) -> ProjectOut:
    return service.get_project(platform, project_id)


@router.post("/projects/{project_id}/participants/typed-data", response_model=TypedDataOut)
def add_participants_typed_data(
    project_id: ProjectId, body: AddParticipantsTypedData, platform: PlatformDep
) -> TypedDataOut:
    return _typed(platform, "add_participants", body, projectId=project_id)


@router.post("/projects/{project_id}/participants", response_model=TxOut, status_code=201, summary="Add participants")
def add_participants(project_id: ProjectId, body: AddParticipantsCreate, platform: PlatformDep) -> TxOut:
    return _relay(platform, "add_participants", body, projectId=project_id)


@router.post("/projects/{project_id}/funding/typed-data", response_model=TypedDataOut)
def fund_typed_data(project_id: ProjectId, body: FundTypedData, platform: PlatformDep) -> TypedDataOut:
    return _typed(platform, "fund", body, projectId=project_id)


@router.post("/projects/{project_id}/funding", response_model=TxOut, status_code=201, summary="Fund a purpose bucket")
def fund(project_id: ProjectId, body: FundCreate, platform: PlatformDep) -> TxOut:
    """Moves won from the client's account into the bucket; the client must first allow the
    escrow to pull them (`POST /payments/allowances`, an ERC-2612 permit)."""
    return _relay(platform, "fund", body, projectId=project_id)


@router.post("/projects/{project_id}/close/typed-data", response_model=TypedDataOut)
def close_typed_data(project_id: ProjectId, body: CloseTypedData, platform: PlatformDep) -> TypedDataOut:
    return _typed(platform, "close_project", body, projectId=project_id)


@router.post("/projects/{project_id}/close", response_model=TxOut, summary="Close a project and refund the buckets")
def close(project_id: ProjectId, body: CloseCreate, platform: PlatformDep) -> TxOut:
    return _relay(platform, "close_project", body, projectId=project_id)


# -- claims ------------------------------------------------------------------------------------


@router.post("/projects/{project_id}/claims/typed-data", response_model=TypedDataOut)
def submit_claim_typed_data(project_id: ProjectId, body: SubmitClaimTypedData, platform: PlatformDep) -> TypedDataOut:
    return _typed(platform, "submit_claim", body, projectId=project_id)


@router.post(
    "/projects/{project_id}/claims", response_model=TxOut, status_code=201, summary="Submit a claim (prime-signed)"
)
def submit_claim(project_id: ProjectId, body: SubmitClaimCreate, platform: PlatformDep) -> TxOut:
    """Each payee must hold the role its purpose needs: a labour line to anyone but a registered
    worker of the project is 422 `SubcontractPaymentsPayeeNotEligible`."""
    return _relay(platform, "submit_claim", body, projectId=project_id)


@router.get("/claims/{claim_id}", response_model=ClaimOut, summary="A claim with each line's status")
def get_claim(claim_id: ClaimId, platform: PlatformDep) -> ClaimOut:
    return service.get_claim(platform, claim_id)


@router.post("/claims/{claim_id}/confirmations/typed-data", response_model=TypedDataOut)
def confirm_typed_data(claim_id: ClaimId, body: ConfirmTypedData, platform: PlatformDep) -> TypedDataOut:
    """Without `lines`, every unconfirmed line the confirmer is responsible for."""
    return _typed(platform, "confirm_lines", body, claimId=claim_id)


@router.post("/claims/{claim_id}/confirmations", response_model=TxOut, summary="Confirm lines (employer / prime)")
def confirm(claim_id: ClaimId, body: ConfirmCreate, platform: PlatformDep) -> TxOut:
    return _relay(platform, "confirm_lines", body, claimId=claim_id)


@router.post("/claims/{claim_id}/approvals/typed-data", response_model=TypedDataOut)
def approve_typed_data(claim_id: ClaimId, body: ApproveTypedData, platform: PlatformDep) -> TypedDataOut:
    return _typed(platform, "approve_claim", body, claimId=claim_id)


@router.post("/claims/{claim_id}/approvals", response_model=TxOut, summary="Approve a claim (inspector-signed)")
def approve(claim_id: ClaimId, body: ApproveCreate, platform: PlatformDep) -> TxOut:
    return _relay(platform, "approve_claim", body, claimId=claim_id)


@router.post("/claims/{claim_id}/settlement", response_model=TxOut, summary="Pay every payable line directly")
def settle(claim_id: ClaimId, platform: PlatformDep) -> TxOut:
    """Anyone may trigger it. 409 `SubcontractPaymentsAlreadySettled` when every line was paid;
    422 `SubcontractPaymentsOverdraft` when a bucket is short; 422 `...NotApproved`."""
    return service.settle(platform, claim_id)


@router.post("/claims/{claim_id}/direct-payments/typed-data", response_model=TypedDataOut)
def direct_payment_typed_data(claim_id: ClaimId, body: DirectPaymentTypedData, platform: PlatformDep) -> TypedDataOut:
    return _typed(platform, "direct_payment", body, claimId=claim_id)


@router.post(
    "/claims/{claim_id}/direct-payments", response_model=TxOut, summary="Client pays a subcontract line directly"
)
def direct_payment(claim_id: ClaimId, body: DirectPaymentCreate, platform: PlatformDep) -> TxOut:
    """On a legal ground (three-party agreement, prime insolvency, two missed instalments, no
    payment guarantee), recorded in `DirectPaymentMade`."""
    return _relay(platform, "direct_payment", body, claimId=claim_id)


# -- credits and money -------------------------------------------------------------------------


@router.get("/credits/{payee}", response_model=CreditOut, summary="Won credited to a payee that could not receive")
def get_credit(payee: Address, platform: PlatformDep) -> CreditOut:
    return service.get_credit(platform, payee)


@router.post("/credits/{payee}/push", response_model=TxOut, summary="Push a credit to the payee itself")
def push_credit(payee: Address, platform: PlatformDep) -> TxOut:
    return service.push_credit(platform, payee)


@router.post("/credits/{payee}/withdrawals/typed-data", response_model=TypedDataOut)
def withdraw_typed_data(payee: Address, body: WithdrawTypedData, platform: PlatformDep) -> TypedDataOut:
    return _typed(platform, "withdraw", body, payee=payee)


@router.post(
    "/credits/{payee}/withdrawals", response_model=TxOut, summary="Withdraw a credit to another address (payee-signed)"
)
def withdraw(payee: Address, body: WithdrawCreate, platform: PlatformDep) -> TxOut:
    """For a citizen's credit, `to` must be bound to the same citizen (403-free 422
    `SubcontractPaymentsNotOwnAccount` otherwise): wages only reach the worker's own account."""
    return _relay(platform, "withdraw", body, payee=payee)


@router.get("/balances/{account}", response_model=BalanceOut, summary="KRW balance and allowance to the escrow")
def get_balance(account: Address, platform: PlatformDep) -> BalanceOut:
    return service.get_balance(platform, account)


@router.post(
    "/allowances/typed-data", response_model=TypedDataOut, summary="ERC-2612 permit letting the escrow pull won"
)
def permit_typed_data(body: PermitTypedData, platform: PlatformDep) -> TypedDataOut:
    return _typed(platform, "permit", body)


@router.post("/allowances", response_model=TxOut, summary="Relay a signed permit")
def permit(body: PermitCreate, platform: PlatformDep) -> TxOut:
    return _relay(platform, "permit", body)


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
