"""The FastAPI dependencies of every area's routes: the signed-in session, citizen, agency and role.

They re-check the chain on every request (see ``identity/auth.py``): a key that was rotated away, a
suspended citizen, or a revoked agency role loses access at once, whatever the token says.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from civic_ledger.api.deps import PlatformDep
from civic_ledger.errors import Forbidden, Unauthorized
from civic_ledger.identity import service
from civic_ledger.identity.auth import ADMIN_ROLE, AgencyPrincipal, AuthService, CitizenPrincipal, Session, auth_service


def get_auth(request: Request, platform: PlatformDep) -> AuthService:
    """The app's :class:`AuthService`, created on first use."""
    return auth_service(request.app.state, platform)


AuthDep = Annotated[AuthService, Depends(get_auth)]

_bearer = HTTPBearer(auto_error=False, description="Session token from POST /auth/login.")


# -- dependencies for every area's routes --------------------------------------------------


def current_session(
    auth: AuthDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Session:
    """The verified session of ``Authorization: Bearer <token>`` (401 without one)."""
    if credentials is None or not credentials.credentials:
        raise Unauthorized(
            "not signed in: send Authorization: Bearer <token> (get a token with GET /auth/nonce + POST /auth/login)",
            code="not_signed_in",
        )
    session = auth.tokens.decode(credentials.credentials)
    if auth.revoked.is_revoked(session):
        raise Unauthorized("this session was signed out: sign in again", code="session_revoked")
    return session


CurrentSession = Annotated[Session, Depends(current_session)]


def current_citizen(session: CurrentSession, platform: PlatformDep) -> CitizenPrincipal:
    """The signed-in active citizen; 403 when the key was rotated away or the citizen suspended."""
    e = service.eligibility(platform, session.address)
    if not e.active or e.district is None or e.birth_year is None:
        code, reason = service.why_not_active(platform, session.address)
        raise Forbidden(f"not an active citizen: {reason}", code=code)
    return CitizenPrincipal(session.address, e.citizen_id, e.district, e.birth_year, session)


def current_agency(session: CurrentSession, auth: AuthDep) -> AgencyPrincipal:
    """The signed-in agency; 403 when none of the session's roles is held any more."""
    if not session.roles:
        raise Forbidden(f"{session.address} signed in without any agency role", code="not_an_agency")
    held = auth.roles_held(session.address, only=set(session.roles))
    if not held:
        raise Forbidden(
            f"{session.address} no longer holds any of its roles ({', '.join(session.roles)}): sign in again",
            code="role_revoked",
        )
    return AgencyPrincipal(session.address, tuple(held), session)


CurrentCitizen = Annotated[CitizenPrincipal, Depends(current_citizen)]
CurrentAgency = Annotated[AgencyPrincipal, Depends(current_agency)]


def require_role(contract: str, role: str) -> Any:
    """A dependency: the signed-in agency must hold ``role`` of ``contract`` now (403 otherwise).

    ``def route(agency: Annotated[AgencyPrincipal, Depends(require_role("MVoting", "POLL_ADMIN_ROLE"))])``
    """
    label = f"{contract}.{role}"

    def dependency(session: CurrentSession, auth: AuthDep) -> AgencyPrincipal:
        held = auth.roles_held(session.address, only={label})
        if not held:
            raise Forbidden(
                f"{session.address} does not hold {label}"
                + ("" if label in session.roles else " (not at sign-in either)"),
                code="missing_role",
                details={"required": label},
            )
        return AgencyPrincipal(session.address, tuple(held), session)

    return dependency


#: The city admin: ``DEFAULT_ADMIN_ROLE`` of CitizenRegistry (the operator holds it).
CityAdmin = Annotated[AgencyPrincipal, Depends(require_role(service.CONTRACT, ADMIN_ROLE))]
