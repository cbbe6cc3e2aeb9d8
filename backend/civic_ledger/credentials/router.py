"""HTTP routes of online credentials. Issuer keys sign; the relayer pays; the server holds no issuer key.

Operator routes (issuers, keys, types, permissions) need a session of the city admin — a key
holding ``DEFAULT_ADMIN_ROLE`` of CredentialRegistry, signed in with ``/auth/login`` (SIWE) — and
are relayed with the operator account.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from civic_ledger.api.deps import PlatformDep
from civic_ledger.credentials import service
from civic_ledger.credentials.schemas import (
    AllowIssuer,
    BatchCreate,
    BatchOut,
    BatchTypedDataCreate,
    BatchTypedDataOut,
    IssueCreate,
    IssueOut,
    IssuerCreate,
    IssuerOut,
    IssueTypedDataCreate,
    IssueTypedDataOut,
    KeyCreate,
    KeyRetire,
    PresentationTypedDataCreate,
    PresentationVerifyCreate,
    PresentationVerifyOut,
    QrCreate,
    StatusAction,
    StatusChangeCreate,
    StatusChangeOut,
    StatusOut,
    StatusTypedDataCreate,
    TxOut,
    TypeCreate,
    TypeOut,
    VerifyCreate,
    VerifyOut,
)
from civic_ledger.identity.auth import AgencyPrincipal
from civic_ledger.identity.deps import require_role
from civic_ledger.platform import actions
from civic_ledger.types import Address, Bytes32

router = APIRouter(prefix="/credentials", tags=["credentials"])

#: The city admin (DEFAULT_ADMIN_ROLE of CredentialRegistry), signed in: 401 without a session, 403 without the role.
CityAdmin = Annotated[AgencyPrincipal, Depends(require_role("CredentialRegistry", "DEFAULT_ADMIN_ROLE"))]


# -- governance (operator) -------------------------------------------------------------------


@router.post("/issuers", response_model=IssuerOut, status_code=201, summary="Register an issuer (operator)")
def register_issuer(body: IssuerCreate, platform: PlatformDep, _admin: CityAdmin) -> IssuerOut:
    """The issuer id is keccak256(code). 409 `CredentialRegistryIssuerAlreadyRegistered` when taken."""
    return service.register_issuer(platform, body.code, body.name)


@router.get("/issuers/{issuer_id}", response_model=IssuerOut, summary="An issuer with its keys and their windows")
def get_issuer(issuer_id: Bytes32, platform: PlatformDep) -> IssuerOut:
    return service.get_issuer(platform, issuer_id)


@router.post(
    "/issuers/{issuer_id}/keys", response_model=IssuerOut, status_code=201, summary="Add an issuer key (operator)"
)
def add_key(issuer_id: Bytes32, body: KeyCreate, platform: PlatformDep, _admin: CityAdmin) -> IssuerOut:
    return service.add_key(platform, issuer_id, body.key, body.valid_from, body.valid_until)


@router.post(
    "/issuers/{issuer_id}/keys/{key}/retire", response_model=IssuerOut, summary="Retire an issuer key (operator)"
)
def retire_key(
    issuer_id: Bytes32, key: Address, body: KeyRetire, platform: PlatformDep, _admin: CityAdmin
) -> IssuerOut:
    """Credentials anchored while the key was valid keep verifying, unless the retirement is backdated."""
    return service.retire_key(platform, issuer_id, key, body.valid_until)


@router.post("/types", response_model=TypeOut, status_code=201, summary="Register a credential type (operator)")
def register_type(body: TypeCreate, platform: PlatformDep, _admin: CityAdmin) -> TypeOut:
    return service.register_type(platform, body.code, body.name, body.schema_hash)


@router.get("/types/{type_id}", response_model=TypeOut, summary="A credential type")
def get_type(type_id: Bytes32, platform: PlatformDep) -> TypeOut:
    return service.get_type(platform, type_id)


@router.post(
    "/types/{type_id}/issuers", response_model=TxOut, status_code=201, summary="Allow an issuer for a type (operator)"
)
def allow_issuer(type_id: Bytes32, body: AllowIssuer, platform: PlatformDep, _admin: CityAdmin) -> TxOut:
    return service.allow_issuer(platform, type_id, body.issuer_id)


@router.delete(
    "/types/{type_id}/issuers/{issuer_id}", response_model=TxOut, summary="Withdraw an issuer's permission (operator)"
)
def disallow_issuer(type_id: Bytes32, issuer_id: Bytes32, platform: PlatformDep, _admin: CityAdmin) -> TxOut:
    return service.disallow_issuer(platform, type_id, issuer_id)


# -- issuance (issuer key signs) --------------------------------------------------------------


Route = actions.Route

actions.add_route_pair(
    router,
    PlatformDep,
    "/issue",
    Route(
        "issue_typed_data",
        IssueTypedDataCreate,
        IssueTypedDataOut,
        """Salts and hashes the claims and returns two EIP-712 messages for the issuer key: the
    `Credential` (the document's proof; its digest is the credential hash) and the `Issue`
    authorisation that anchors it. Post both signatures with the draft to `/credentials/issue`.""",
        summary="Draft a credential: typed data to sign",
    ),
    Route(
        "issue",
        IssueCreate,
        IssueOut,
        """Checks both signatures (403 when not by the key), relays `issue`, returns the document.
    A replayed issuance is 409 `CredentialRegistryAlreadyAnchored`.""",
        status_code=201,
        summary="Issue (anchor) a signed credential",
    ),
    service.issue_typed_data,
    service.issue,
)
actions.add_route_pair(
    router,
    PlatformDep,
    "/batches",
    Route("batch_typed_data", BatchTypedDataCreate, BatchTypedDataOut, summary="Draft a batch: typed data to sign"),
    Route(
        "issue_batch",
        BatchCreate,
        BatchOut,
        "Each returned document carries its Merkle inclusion proof (`proof.merkle`).",
        status_code=201,
        summary="Issue a batch under one Merkle root",
    ),
    service.batch_typed_data,
    service.issue_batch,
)


# -- status (issuer key signs) ----------------------------------------------------------------


actions.add_route_pair(
    router,
    PlatformDep,
    "/status/{action}",
    Route(
        "status_typed_data",
        StatusTypedDataCreate,
        dict,
        "`Revoke` has no nonce (revocation is permanent); `Suspend`/`Reinstate` carry the key's nonce.",
        summary="Typed data of a revoke / suspend / reinstate to sign",
    ),
    Route(
        "change_status",
        StatusChangeCreate,
        StatusChangeOut,
        summary="Revoke, suspend or reinstate credentials",
    ),
    lambda platform, body, action: service.status_typed_data(
        platform, action, body.issuer_id, body.key, body.credentials
    ),
    lambda platform, body, action: service.change_status(platform, action, body),
    [("action", StatusAction)],
)


@router.get("/status/{anchor_id}", response_model=StatusOut, summary="Status of a credential")
def get_status(
    anchor_id: Bytes32,
    platform: PlatformDep,
    position: int = Query(0, ge=0, le=2**256 - 1, description="Leaf position in a batch; 0 for a single credential."),
) -> StatusOut:
    return service.status(platform, anchor_id, position)


# -- verification -----------------------------------------------------------------------------


@router.post("/verify", response_model=VerifyOut, summary="Verify a credential document, check by check")
def verify(body: VerifyCreate, platform: PlatformDep) -> VerifyOut:
    """Every check is reported separately (`pass`/`fail`/`skipped`); `valid` only when all pass.
    The registry is the server's deployment's (`deployment` says which), never the one the document
    names: a document of another registry fails the `deployment` check.
    The same checks run in `civic-ledger credentials verify FILE --rpc-url URL --manifest M` against a node alone."""
    return VerifyOut.model_validate(service.verify(platform, body.document, body.at))


@router.post("/presentations/typed-data", summary="Typed data the holder signs to present a credential")
def presentation_typed_data(body: PresentationTypedDataCreate, platform: PlatformDep) -> dict:  # type: ignore[type-arg]
    return service.presentation_typed_data(platform, body.document, body.audience, body.nonce)


@router.post("/presentations/verify", response_model=PresentationVerifyOut, summary="Verify a holder presentation")
def verify_presentation(body: PresentationVerifyCreate, platform: PlatformDep) -> PresentationVerifyOut:
    """The presenter must have signed the verifier's nonce and audience with the subject's key."""
    return PresentationVerifyOut.model_validate(
        service.verify_presentation(platform, body.presentation, body.audience, body.nonce, body.at)
    )


@router.post(
    "/qr",
    summary="A QR code (PNG) of a credential or a link to it",
    responses={200: {"content": {"image/png": {}}}},
    response_class=Response,
)
def qr(body: QrCreate) -> Response:
    return Response(service.qr_png(service.qr_payload(body.document, body.url)), media_type="image/png")
