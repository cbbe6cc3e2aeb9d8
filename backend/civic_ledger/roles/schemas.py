from __future__ import annotations

from pydantic import BaseModel, Field

from civic_ledger.types import Address


class RoleOut(BaseModel):
    contract: str = Field(examples=["MVoting"])
    role: str = Field(examples=["POLL_ADMIN_ROLE"])
    role_id: str = Field(description="bytes32 role identifier (keccak-256 of the name; 0x00… for the admin role)")


class RoleGrant(BaseModel):
    contract: str = Field(examples=["MVoting"], description="Deployed contract name (see GET /roles).")
    role: str = Field(examples=["POLL_ADMIN_ROLE"], description="Role constant of that contract.")
    account: Address = Field(description="The agency key that gets the role.")


class RoleMembershipOut(BaseModel):
    contract: str
    role: str
    account: Address
    has_role: bool
    tx_hash: str | None = None
    block_number: int | None = None
