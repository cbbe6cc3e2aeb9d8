"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from civic_ledger import __version__
from civic_ledger.api import rpc, system
from civic_ledger.api.errors import install_error_handlers
from civic_ledger.api.limits import BodyLimits
from civic_ledger.api.observability import attach_relayer, detach_relayer, install_observability, warm_routes
from civic_ledger.api.openapi import install_openapi
from civic_ledger.api.ratelimit import RateLimits
from civic_ledger.audit.router import router as audit_router
from civic_ledger.config import Settings, get_settings
from civic_ledger.credentials.router import router as credentials_router
from civic_ledger.identity.router import auth_router
from civic_ledger.identity.router import router as identity_router
from civic_ledger.labor.router import router as labor_router
from civic_ledger.mileage.router import router as mileage_router
from civic_ledger.notary.router import router as notary_router
from civic_ledger.payments.router import router as payments_router
from civic_ledger.platform.runtime import Platform
from civic_ledger.roles.router import router as roles_router
from civic_ledger.vehicles.router import router as vehicles_router
from civic_ledger.voting.router import router as voting_router
from civic_ledger.web.router import install_web

DESCRIPTION = """
Blockchain-backed civic records for a city: every record lives in a Solidity contract on an
Ethereum chain; this API relays signed actions and reads the chain for citizens, agencies,
verifiers and auditors.

Errors are JSON `{"error": CODE, "message": TEXT, "details": ...}` (schema `ErrorOut`): 404 not
found, 409 conflict (already done, replayed nonce, state forbids it), 403 not allowed (role,
signature), 401 not signed in, 422 invalid input (naming the field or the contract error), 429
rate-limited, 503 chain unavailable. A contract error's code is its name and its status is the
`@custom:http` tag beside its declaration in `contracts/interfaces/`.
"""


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    """Build the app. With ``platform`` given, use it (tests); else start one from settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = platform is None
        app.state.platform = platform or Platform.start(settings or get_settings())
        attach_relayer(app, app.state.platform)
        warm_routes(app)
        try:
            yield
        finally:
            detach_relayer(app, app.state.platform)
            if owned:
                app.state.platform.close()

    app = FastAPI(
        title="civic-ledger",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by install_web with local Swagger UI assets (no CDN)
        redoc_url=None,  # ReDoc would load from a CDN
    )
    install_error_handlers(app)
    install_openapi(app)  # every error response documented as ErrorOut
    app.add_middleware(BodyLimits)
    app.add_middleware(RateLimits)  # a flood is refused before its body is even read
    # outermost: /metrics, X-Request-ID and one JSON log line per request, refused ones included
    install_observability(app, None if platform is not None else (settings or get_settings()).log_level)
    app.include_router(system.router)
    app.include_router(rpc.router)
    app.include_router(notary_router)
    app.include_router(auth_router)
    app.include_router(identity_router)
    app.include_router(roles_router)
    app.include_router(voting_router)
    app.include_router(credentials_router)
    app.include_router(labor_router)
    app.include_router(mileage_router)
    app.include_router(payments_router)
    app.include_router(audit_router)
    app.include_router(vehicles_router)
    install_web(app)  # pages, their assets, /deployment.json and /docs
    return app
