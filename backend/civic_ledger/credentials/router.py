"""HTTP routes of online credentials. Issuer keys sign; the relayer pays; the server holds no issuer key.

Operator routes (issuers, keys, types, permissions) need a session of the city admin — a key
holding ``DEFAULT_ADMIN_ROLE`` of CredentialRegistry, signed in with ``/auth/login`` (SIWE) — and
are relayed with the operator account.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from civic_ledger.api.deps import PlatformDep
from civic_ledger.credentials import schemas, service
from civic_ledger.identity.auth import AgencyPrincipal
from civic_ledger.identity.deps import require_role
from civic_ledger.platform import routes
from civic_ledger.types import Address, Bytes32

router = APIRouter(prefix="/credentials", tags=["credentials"])

#: The city admin (DEFAULT_ADMIN_ROLE of CredentialRegistry), signed in: 401 without a session, 403 without the role.
CityAdmin = Annotated[AgencyPrincipal, Depends(require_role("CredentialRegistry", "DEFAULT_ADMIN_ROLE"))]


# -- governance (operator) -------------------------------------------------------------------


@router.post("/issuers", response_model=schemas.IssuerOut, status_code=201, summary="Register an issuer (operator)")
def register_issuer(body: schemas.IssuerCreate, platform: PlatformDep, _admin: CityAdmin) -> schemas.IssuerOut:
    """The issuer id is keccak256(code). 409 `CredentialRegistryIssuerAlreadyRegistered` when taken."""
    return service.register_issuer(platform, body.code, body.name)


@router.post(
    "/issuers/{issuer_id}/keys",
    response_model=schemas.IssuerOut,
    status_code=201,
    summary="Add an issuer key (operator)",
)
def add_key(issuer_id: Bytes32, body: schemas.KeyCreate, platform: PlatformDep, _admin: CityAdmin) -> schemas.IssuerOut:
    return service.add_key(platform, issuer_id, body.key, body.valid_from, body.valid_until)


@router.post(
    "/issuers/{issuer_id}/keys/{key}/retire",
    response_model=schemas.IssuerOut,
    summary="Retire an issuer key (operator)",
)
def retire_key(
    issuer_id: Bytes32, key: Address, body: schemas.KeyRetire, platform: PlatformDep, _admin: CityAdmin
) -> schemas.IssuerOut:
    """Credentials anchored while the key was valid keep verifying, unless the retirement is backdated."""
    return service.retire_key(platform, issuer_id, key, body.valid_until)


@router.post("/types", response_model=schemas.TypeOut, status_code=201, summary="Register a credential type (operator)")
def register_type(body: schemas.TypeCreate, platform: PlatformDep, _admin: CityAdmin) -> schemas.TypeOut:
    return service.register_type(platform, body.code, body.name, body.schema_hash)


@router.post(
    "/types/{type_id}/issuers",
    response_model=schemas.TxOut,
    status_code=201,
    summary="Allow an issuer for a type (operator)",
)
def allow_issuer(
    type_id: Bytes32, body: schemas.AllowIssuer, platform: PlatformDep, _admin: CityAdmin
) -> schemas.TxOut:
    return service.allow_issuer(platform, type_id, body.issuer_id)


GOVERNANCE: list[routes.Entry] = [
    routes.get(
        "/issuers/{issuer_id}",
        service.get_issuer,
        schemas.IssuerOut,
        "An issuer with its keys and their windows",
        params=[("issuer_id", Bytes32)],
    ),
    routes.get(
        "/types/{type_id}", service.get_type, schemas.TypeOut, "A credential type", params=[("type_id", Bytes32)]
    ),
    routes.delete(
        "/types/{type_id}/issuers/{issuer_id}",
        service.disallow_issuer,
        schemas.TxOut,
        "Withdraw an issuer's permission (operator)",
        params=[("type_id", Bytes32), ("issuer_id", Bytes32)],
        guard=CityAdmin,
    ),
]

# -- issuance and status (an issuer key signs) ------------------------------------------------

SIGNED: list[routes.Entry] = [
    routes.Pair(
        "issue",
        "/issue",
        schemas.IssueTypedDataCreate,
        schemas.IssueCreate,
        service.issue_typed_data,
        service.issue,
        typed_response=schemas.IssueTypedDataOut,
        typed_summary="Draft a credential: typed data to sign",
        typed_doc="""Salts and hashes the claims and returns two EIP-712 messages for the issuer key: the
    `Credential` (the document's proof; its digest is the credential hash) and the `Issue`
    authorisation that anchors it. Post both signatures with the draft to `/credentials/issue`.""",
        response=schemas.IssueOut,
        summary="Issue (anchor) a signed credential",
        doc="""Checks both signatures (403 when not by the key), relays `issue`, returns the document.
    A replayed issuance is 409 `CredentialRegistryAlreadyAnchored`.""",
        status_code=201,
    ),
    routes.Pair(
        "issue_batch",
        "/batches",
        schemas.BatchTypedDataCreate,
        schemas.BatchCreate,
        service.batch_typed_data,
        service.issue_batch,
        typed_name="batch_typed_data",
        typed_response=schemas.BatchTypedDataOut,
        typed_summary="Draft a batch: typed data to sign",
        response=schemas.BatchOut,
        summary="Issue a batch under one Merkle root",
        doc="Each returned document carries its Merkle inclusion proof (`proof.merkle`).",
        status_code=201,
    ),
    routes.Pair(
        "change_status",
        "/status/{action}",
        schemas.StatusTypedDataCreate,
        schemas.StatusChangeCreate,
        lambda platform, action, body: service.status_typed_data(
            platform, action, body.issuer_id, body.key, body.credentials
        ),
        service.change_status,
        params=[("action", schemas.StatusAction)],
        typed_name="status_typed_data",
        typed_response=schemas.StatusTypedDataOut,
        typed_summary="Typed data of a revoke / suspend / reinstate to sign",
        typed_doc="`Revoke` has no nonce (revocation is permanent); `Suspend`/`Reinstate` carry the key's nonce.",
        response=schemas.StatusChangeOut,
        summary="Revoke, suspend or reinstate credentials",
    ),
    routes.get(
        "/status/{anchor_id}",
        service.status,
        schemas.StatusOut,
        "Status of a credential",
        name="get_status",
        params=[
            ("anchor_id", Bytes32),
            (
                "position",
                int,
                Query(0, ge=0, le=2**256 - 1, description="Leaf position in a batch; 0 for a single credential."),
            ),
        ],
    ),
]

routes.add_routes(router, PlatformDep, [*GOVERNANCE, *SIGNED])


# -- verification -----------------------------------------------------------------------------


@router.post("/verify", response_model=schemas.VerifyOut, summary="Verify a credential document, check by check")
def verify(body: schemas.VerifyCreate, platform: PlatformDep) -> schemas.VerifyOut:
    """Every check is reported separately (`pass`/`fail`/`skipped`); `valid` only when all pass.
    The registry is the server's deployment's (`deployment` says which), never the one the document
    names: a document of another registry fails the `deployment` check.
    The same checks run in `civic-ledger credentials verify FILE --rpc-url URL --manifest M` against a node alone."""
    return schemas.VerifyOut.model_validate(service.verify(platform, body.document, body.at))


@router.post(
    "/presentations/typed-data",
    response_model=schemas.PresentationTypedDataOut,
    summary="Typed data the holder signs to present a credential",
)
def presentation_typed_data(body: schemas.PresentationTypedDataCreate, platform: PlatformDep) -> dict[str, Any]:
    return service.presentation_typed_data(platform, body.document, body.audience, body.nonce)


@router.post(
    "/presentations/verify", response_model=schemas.PresentationVerifyOut, summary="Verify a holder presentation"
)
def verify_presentation(body: schemas.PresentationVerifyCreate, platform: PlatformDep) -> schemas.PresentationVerifyOut:
    """The presenter must have signed the verifier's nonce and audience with the subject's key."""
    return schemas.PresentationVerifyOut.model_validate(
        service.verify_presentation(platform, body.presentation, body.audience, body.nonce, body.at)
    )


@router.post(
    "/qr",
    summary="A QR code (PNG) of a credential or a link to it",
    responses={200: {"content": {"image/png": {}}}},
    response_class=Response,
)
def qr(body: schemas.QrCreate) -> Response:
    return Response(service.qr_png(service.qr_payload(body.document, body.url)), media_type="image/png")
