"""HTTP routes of automatic subcontract payment (하도급 대금 자동지급).

Signed actions come in pairs: ``POST .../typed-data`` returns the EIP-712 typed data to sign
(nonce and deadline filled in); ``POST ...`` with the same fields plus ``nonce``, ``deadline``
and ``signature`` relays it. The server never holds an actor's key.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from civic_ledger.api.deps import PlatformDep
from civic_ledger.identity.auth import AgencyPrincipal
from civic_ledger.identity.deps import require_role
from civic_ledger.payments import schemas, service
from civic_ledger.platform import routes
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

_PROJECT = [("project_id", ProjectId)]
_CLAIM = [("claim_id", ClaimId)]
_PAYEE = [("payee", Address)]
#: Every signed action answers its typed data, then the relayed transaction.
Pair = partial(routes.Pair, typed_response=schemas.TypedDataOut, response=schemas.TxOut)


def _signed(key: str, field: str | None = None) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The typed-data and relay functions of action ``key``, ``fn(platform[, id], body)``: the
    message from the body's fields, and the path's id as the message field ``field``."""

    def message(platform: Any, args: tuple[Any, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
        *ids, body = args
        data = body.model_dump()
        return service.message_from(platform, key, data, **({field: ids[0]} if field else {})), data

    def typed(platform: Any, *args: Any) -> schemas.TypedDataOut:
        return service.typed_data(platform, key, message(platform, args)[0])

    def relay(platform: Any, *args: Any) -> schemas.TxOut:
        msg, data = message(platform, args)
        return service.relay(platform, key, msg, data["signature"])

    return typed, relay


# -- projects ----------------------------------------------------------------------------------

PROJECTS: list[routes.Entry] = [
    Pair(
        "register_project",
        "/projects",
        schemas.RegisterProjectTypedData,
        schemas.RegisterProjectCreate,
        *_signed("register_project"),
        summary="Register a project (client-signed)",
        doc="""Workers must be active citizens (422 `SubcontractPaymentsNotActiveCitizen`); the signer must
    hold CLIENT_ROLE (403 `SubcontractPaymentsUnauthorized`). The new id is in `project_id`.""",
        status_code=201,
        typed_summary="Typed data to register a project",
        typed_doc="The client department (CLIENT_ROLE) signs `RegisterProject`: prime, participants, contract amounts.",
    ),
    routes.get(
        "/projects/{project_id}",
        service.get_project,
        schemas.ProjectOut,
        "A project: buckets and participants",
        params=_PROJECT,
    ),
    Pair(
        "add_participants",
        "/projects/{project_id}/participants",
        schemas.AddParticipantsTypedData,
        schemas.AddParticipantsCreate,
        *_signed("add_participants", "projectId"),
        params=_PROJECT,
        summary="Add participants",
        status_code=201,
    ),
    Pair(
        "fund",
        "/projects/{project_id}/funding",
        schemas.FundTypedData,
        schemas.FundCreate,
        *_signed("fund", "projectId"),
        params=_PROJECT,
        summary="Fund a purpose bucket",
        doc="""Moves won from the client's account into the bucket; the client must first allow the
    escrow to pull them (`POST /payments/allowances`, an ERC-2612 permit).""",
        status_code=201,
    ),
    Pair(
        "close",
        "/projects/{project_id}/close",
        schemas.CloseTypedData,
        schemas.CloseCreate,
        *_signed("close_project", "projectId"),
        params=_PROJECT,
        summary="Close a project and refund the buckets",
    ),
]

# -- claims ------------------------------------------------------------------------------------

CLAIMS: list[routes.Entry] = [
    Pair(
        "submit_claim",
        "/projects/{project_id}/claims",
        schemas.SubmitClaimTypedData,
        schemas.SubmitClaimCreate,
        *_signed("submit_claim", "projectId"),
        params=_PROJECT,
        summary="Submit a claim (prime-signed)",
        doc="""Each payee must hold the role its purpose needs: a labour line to anyone but a registered
    worker of the project is 422 `SubcontractPaymentsPayeeNotEligible`.""",
        status_code=201,
    ),
    routes.get(
        "/claims/{claim_id}", service.get_claim, schemas.ClaimOut, "A claim with each line's status", params=_CLAIM
    ),
    Pair(
        "confirm",
        "/claims/{claim_id}/confirmations",
        schemas.ConfirmTypedData,
        schemas.ConfirmCreate,
        *_signed("confirm_lines", "claimId"),
        params=_CLAIM,
        summary="Confirm lines (employer / prime)",
        typed_doc="Without `lines`, every unconfirmed line the confirmer is responsible for.",
    ),
    Pair(
        "approve",
        "/claims/{claim_id}/approvals",
        schemas.ApproveTypedData,
        schemas.ApproveCreate,
        *_signed("approve_claim", "claimId"),
        params=_CLAIM,
        summary="Approve a claim (inspector-signed)",
    ),
    routes.post(
        "/claims/{claim_id}/settlement",
        service.settle,
        schemas.TxOut,
        "Pay every payable line directly",
        params=_CLAIM,
        doc="""Anyone may trigger it. 409 `SubcontractPaymentsAlreadySettled` when every line was paid;
    422 `SubcontractPaymentsOverdraft` when a bucket is short; 422 `...NotApproved`.""",
    ),
    Pair(
        "direct_payment",
        "/claims/{claim_id}/direct-payments",
        schemas.DirectPaymentTypedData,
        schemas.DirectPaymentCreate,
        *_signed("direct_payment", "claimId"),
        params=_CLAIM,
        summary="Client pays a subcontract line directly",
        doc="""On a legal ground (three-party agreement, prime insolvency, two missed instalments, no
    payment guarantee), recorded in `DirectPaymentMade`.""",
    ),
]

# -- credits and money -------------------------------------------------------------------------

MONEY: list[routes.Entry] = [
    routes.get(
        "/credits/{payee}",
        service.get_credit,
        schemas.CreditOut,
        "Won credited to a payee that could not receive",
        params=_PAYEE,
    ),
    routes.post(
        "/credits/{payee}/push", service.push_credit, schemas.TxOut, "Push a credit to the payee itself", params=_PAYEE
    ),
    Pair(
        "withdraw",
        "/credits/{payee}/withdrawals",
        schemas.WithdrawTypedData,
        schemas.WithdrawCreate,
        *_signed("withdraw", "payee"),
        params=_PAYEE,
        summary="Withdraw a credit to another address (payee-signed)",
        doc="""For a citizen's credit, `to` must be bound to the same citizen (403-free 422
    `SubcontractPaymentsNotOwnAccount` otherwise): wages only reach the worker's own account.""",
    ),
    routes.get(
        "/balances/{account}",
        service.get_balance,
        schemas.BalanceOut,
        "KRW balance and allowance to the escrow",
        params=[("account", Address)],
    ),
    Pair(
        "permit",
        "/allowances",
        schemas.PermitTypedData,
        schemas.PermitCreate,
        *_signed("permit"),
        summary="Relay a signed permit",
        typed_summary="ERC-2612 permit letting the escrow pull won",
    ),
]

routes.add_routes(router, PlatformDep, [*PROJECTS, *CLAIMS, *MONEY])


# -- city admin / treasury (signed-in session; the operator key relays) ---------------------------------------------------------


@router.post(
    "/roles", response_model=schemas.TxOut, summary="Grant CLIENT_ROLE or INSPECTOR_ROLE (city admin)", responses=_AUTH
)
def grant_role(body: schemas.RoleGrant, platform: PlatformDep, admin: PaymentsAdmin) -> schemas.TxOut:
    """Needs a session of a holder of SubcontractPayments' `DEFAULT_ADMIN_ROLE`; the operator relays `grantRole`."""
    return service.grant_role(platform, body.role, body.account)


@router.post(
    "/treasury/mint", response_model=schemas.TxOut, summary="Mint won to an account (treasury)", responses=_AUTH
)
def mint(body: schemas.MintCreate, platform: PlatformDep, treasury: Treasury) -> schemas.TxOut:
    """Needs a session of a holder of CivicWon's `TREASURY_ROLE`; the operator (which holds it) mints."""
    return service.mint(platform, body.to, body.amount)


@router.post(
    "/treasury/blocked", response_model=schemas.TxOut, summary="Block or unblock an account (treasury)", responses=_AUTH
)
def set_blocked(body: schemas.BlockCreate, platform: PlatformDep, treasury: Treasury) -> schemas.TxOut:
    """An account under seizure or with a closed bank account: payments to it are credited, not pushed."""
    return service.set_blocked(platform, body.account, body.blocked)
