from __future__ import annotations

from pydantic import BaseModel, Field

from civic_ledger.types import Address


class RoleRef(BaseModel):  # a role of a deployed AccessControl contract
    contract: str = Field(examples=["MVoting"], description="Deployed contract name (see GET /roles).")
    role: str = Field(examples=["POLL_ADMIN_ROLE"], description="Role constant of that contract.")


class RoleOut(RoleRef):
    role_id: str = Field(description="bytes32 role identifier (keccak-256 of the name; 0x00… for the admin role)")


class RoleGrant(RoleRef):
    account: Address = Field(description="The agency key that gets the role.")


class RoleMembershipOut(RoleRef):
    account: Address
    has_role: bool
    tx_hash: str | None = None
    block_number: int | None = None


class RoleMemberOut(BaseModel):
    account: Address
    granted_block: int = Field(description="Block of the grant that made the account a member.")
    granted_tx: str = Field(description="Transaction of that grant.")


class RoleMembersOut(RoleOut):
    block: int = Field(description="The indexed block the list is as of (the chain's head when asked, or later).")
    members: list[RoleMemberOut] = Field(description="Holders of the role now, in the order they were granted.")
