"""CitizenRegistry: registrar actions signed with EIP-712, self-rotation signed by both keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.contracts.chain import CITIZEN_TYPES as TYPES
from tests.contracts.chain import ZERO, ZERO32, Env, h, register_citizen, role
from tests.contracts.chain import citizen_action as act
from tests.contracts.chain import rotate_key as rotate


def register(env: Env, account: str, **over: Any) -> Any:
    values = {"account": account, "district": 7, "birthYear": 1985, "residency": 1, "recordHash": h("rec")}
    values.update(over)
    return act(env, "RegisterCitizen", **values)


def year(env: Env) -> int:
    return dt.datetime.fromtimestamp(env.now(), dt.UTC).year


# -- constants and roles ------------------------------------------------------------------------------


def test_typehashes_match_the_signed_type_strings(env: Env) -> None:
    from eth_utils import keccak

    registry = env["CitizenRegistry"]
    for primary, spec in TYPES.items():
        type_string = f"{primary}({','.join(f'{t} {n}' for t, n in spec)})"
        constant = {
            "RegisterCitizen": "REGISTER_CITIZEN",
            "UpdateCitizen": "UPDATE_CITIZEN",
            "SuspendCitizen": "SUSPEND_CITIZEN",
            "ReinstateCitizen": "REINSTATE_CITIZEN",
            "RecoverKey": "RECOVER_KEY",
            "RotateKey": "ROTATE_KEY",
        }[primary]
        assert getattr(registry.functions, f"{constant}_TYPEHASH")().call() == keccak(text=type_string)
    assert registry.functions.REGISTRAR_ROLE().call() == role("REGISTRAR_ROLE")
    domain = registry.functions.eip712Domain().call()
    assert domain[1:5] == ["CitizenRegistry", "1", env.w3.eth.chain_id, registry.address]


def test_admin_is_not_a_registrar(env: Env) -> None:
    fn = act(
        env,
        "RegisterCitizen",
        signer=env.admin,
        registrar=env.admin.address,
        account=env.account(3).address,
        district=1,
        birthYear=1990,
        residency=1,
        recordHash=h("r"),
    )
    assert env.reverts(fn, env.admin) == ("CitizenRegistryNotRegistrar", env.admin.address)


def test_grant_registrar_role_needs_admin(env: Env) -> None:
    outsider = env.account(5)
    assert env.reverts(
        env["CitizenRegistry"].functions.grantRole(role("REGISTRAR_ROLE"), outsider.address), outsider
    ) == ("AccessControlUnauthorizedAccount", outsider.address, role("DEFAULT_ADMIN_ROLE"))


# -- register -----------------------------------------------------------------------------------------


def test_register_binds_account_and_emits(env: Env) -> None:
    registry, alice = env["CitizenRegistry"], env.account(3)
    receipt = env.send(register(env, alice.address), env.account(9))  # relayed by anyone
    assert env.events(receipt) == [
        (
            "CitizenRegistered",
            {
                "citizenId": 1,
                "account": alice.address,
                "district": 7,
                "birthYear": 1985,
                "residency": 1,
                "recordHash": h("rec"),
                "registrar": env.registrar.address,
            },
        )
    ]
    ts = env.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert registry.functions.citizenOf(1).call() == (alice.address, 1, 7, 1985, 1, 0, ts, ts, h("rec"))
    assert registry.functions.citizenIdOf(alice.address).call() == 1
    assert registry.functions.isActive(alice.address).call() is True
    assert registry.functions.eligibilityOf(alice.address).call() == [1, True, 7, 1985]
    assert registry.functions.accountOf(1).call() == alice.address
    assert registry.functions.statusOf(1).call() == 1
    assert registry.functions.citizenCount().call() == 1
    assert registry.functions.isAccountUsed(alice.address).call() is True
    assert registry.functions.nonces(env.registrar.address).call() == 1


def test_views_of_unknown_citizen_are_zero(env: Env) -> None:
    registry, nobody = env["CitizenRegistry"], env.account(3).address
    assert registry.functions.citizenOf(42).call() == (ZERO, 0, 0, 0, 0, 0, 0, 0, ZERO32)
    assert registry.functions.eligibilityOf(nobody).call() == [0, False, 0, 0]
    assert registry.functions.isActive(nobody).call() is False
    assert registry.functions.accountOf(42).call() == ZERO
    assert registry.functions.statusOf(42).call() == 0
    assert registry.functions.retiredCitizenIdOf(nobody).call() == 0


@pytest.mark.parametrize(
    ("over", "error"),
    [
        ({"district": 0}, ("CitizenRegistryInvalidDistrict", 0)),
        ({"district": 26}, ("CitizenRegistryInvalidDistrict", 26)),
        ({"birthYear": 1899}, ("CitizenRegistryInvalidBirthYear", 1899)),
        ({"residency": 0}, ("CitizenRegistryInvalidResidency", 0)),
        ({"residency": 4}, ("CitizenRegistryInvalidResidency", 4)),
        ({"recordHash": ZERO32}, ("CitizenRegistryEmptyRecordHash",)),
    ],
)
def test_register_rejects_invalid_attributes(env: Env, over: dict[str, Any], error: tuple[Any, ...]) -> None:
    assert env.reverts(register(env, env.account(3).address, **over), env.admin) == error


def test_register_zero_account_reverts(env: Env) -> None:
    assert env.reverts(register(env, ZERO), env.admin) == ("CitizenRegistryZeroAddress",)


def test_register_birth_year_bounds(env: Env) -> None:
    this_year = year(env)
    assert env.reverts(register(env, env.account(3).address, birthYear=this_year + 1), env.admin) == (
        "CitizenRegistryInvalidBirthYear",
        this_year + 1,
    )
    env.send(register(env, env.account(3).address, birthYear=this_year, district=25, residency=3), env.admin)
    env.send(register(env, env.account(4).address, birthYear=1900, district=1), env.admin)
    assert env["CitizenRegistry"].functions.citizenCount().call() == 2


def test_register_twice_reverts_already_registered(env: Env) -> None:
    alice = env.account(3).address
    env.send(register(env, alice), env.admin)
    assert env.reverts(register(env, alice), env.admin) == ("CitizenRegistryAlreadyRegistered", alice)


def test_register_registrar_own_key_is_forbidden(env: Env) -> None:
    assert env.reverts(register(env, env.registrar.address), env.admin) == (
        "CitizenRegistryRegistrarAccountForbidden",
        env.registrar.address,
    )


def test_register_signed_by_wrong_key_reverts(env: Env) -> None:
    fn = act(
        env,
        "RegisterCitizen",
        signer=env.account(8),
        account=env.account(3).address,
        district=1,
        birthYear=1990,
        residency=1,
        recordHash=h("r"),
    )
    assert env.reverts(fn, env.admin) == ("CitizenRegistryInvalidSignature", env.registrar.address)


def test_register_expired_deadline_reverts(env: Env) -> None:
    deadline = env.now() - 1
    assert env.reverts(register(env, env.account(3).address, deadline=deadline), env.admin) == (
        "CitizenRegistrySignatureExpired",
        deadline,
    )


def test_register_at_deadline_is_accepted(env: Env) -> None:
    deadline = env.now() + 50
    fn = register(env, env.account(3).address, deadline=deadline)
    env.next_timestamp(deadline)
    env.send(fn, env.admin)


def test_register_replayed_nonce_reverts(env: Env) -> None:
    fn = register(env, env.account(3).address)
    env.send(fn, env.admin)
    assert env.reverts(fn, env.admin) == ("InvalidAccountNonce", env.registrar.address, 1)


def test_register_out_of_order_nonce_reverts(env: Env) -> None:
    assert env.reverts(register(env, env.account(3).address, nonce=1), env.admin) == (
        "InvalidAccountNonce",
        env.registrar.address,
        0,
    )


def test_revoked_registrar_signature_fails(env: Env) -> None:
    fn = register(env, env.account(3).address)
    env.send(env["CitizenRegistry"].functions.revokeRole(role("REGISTRAR_ROLE"), env.registrar.address), env.admin)
    assert env.reverts(fn, env.admin) == ("CitizenRegistryNotRegistrar", env.registrar.address)


# -- update / suspend / reinstate ---------------------------------------------------------------------


def test_update_replaces_attributes(env: Env) -> None:
    alice = env.account(3).address
    cid = register_citizen(env, alice)
    fn = act(env, "UpdateCitizen", citizenId=cid, district=25, birthYear=1970, residency=2, recordHash=h("new"))
    receipt = env.send(fn, env.admin)
    assert env.events(receipt) == [
        (
            "CitizenUpdated",
            {
                "citizenId": cid,
                "account": alice,
                "district": 25,
                "birthYear": 1970,
                "residency": 2,
                "recordHash": h("new"),
                "registrar": env.registrar.address,
            },
        )
    ]
    citizen = env["CitizenRegistry"].functions.citizenOf(cid).call()
    assert citizen[2:5] == (25, 1970, 2) and citizen[8] == h("new")
    assert citizen[7] == env.w3.eth.get_block(receipt["blockNumber"])["timestamp"]


def test_update_unknown_citizen_reverts(env: Env) -> None:
    fn = act(env, "UpdateCitizen", citizenId=9, district=1, birthYear=1990, residency=1, recordHash=h("r"))
    assert env.reverts(fn, env.admin) == ("CitizenRegistryUnknownCitizen", 9)


def test_update_invalid_district_reverts(env: Env) -> None:
    cid = register_citizen(env, env.account(3))
    fn = act(env, "UpdateCitizen", citizenId=cid, district=26, birthYear=1990, residency=1, recordHash=h("r"))
    assert env.reverts(fn, env.admin) == ("CitizenRegistryInvalidDistrict", 26)


def test_suspend_and_reinstate(env: Env) -> None:
    registry, alice = env["CitizenRegistry"], env.account(3).address
    cid = register_citizen(env, alice)
    assert env.emitted(act(env, "SuspendCitizen", citizenId=cid, reason=2), env.admin) == [
        ("CitizenSuspended", {"citizenId": cid, "account": alice, "reason": 2, "registrar": env.registrar.address})
    ]
    assert registry.functions.statusOf(cid).call() == 2
    assert registry.functions.isActive(alice).call() is False
    assert registry.functions.eligibilityOf(alice).call() == [cid, False, 1, 1990]
    # the reason of a suspension may be changed
    assert env.emitted(act(env, "SuspendCitizen", citizenId=cid, reason=4), env.admin)[0][1]["reason"] == 4
    assert registry.functions.citizenOf(cid).call()[5] == 4
    assert env.emitted(act(env, "ReinstateCitizen", citizenId=cid), env.admin) == [
        ("CitizenReinstated", {"citizenId": cid, "account": alice, "registrar": env.registrar.address})
    ]
    assert registry.functions.citizenOf(cid).call()[1] == 1 and registry.functions.citizenOf(cid).call()[5] == 0


@pytest.mark.parametrize("reason", [0, 5])
def test_suspend_invalid_reason_reverts(env: Env, reason: int) -> None:
    cid = register_citizen(env, env.account(3))
    assert env.reverts(act(env, "SuspendCitizen", citizenId=cid, reason=reason), env.admin) == (
        "CitizenRegistryInvalidSuspensionReason",
        reason,
    )


def test_suspend_unknown_citizen_reverts(env: Env) -> None:
    assert env.reverts(act(env, "SuspendCitizen", citizenId=3, reason=1), env.admin) == (
        "CitizenRegistryUnknownCitizen",
        3,
    )


def test_reinstate_active_citizen_reverts(env: Env) -> None:
    cid = register_citizen(env, env.account(3))
    assert env.reverts(act(env, "ReinstateCitizen", citizenId=cid), env.admin) == (
        "CitizenRegistryNotSuspended",
        cid,
    )


def test_reinstate_unknown_citizen_reverts(env: Env) -> None:
    assert env.reverts(act(env, "ReinstateCitizen", citizenId=4), env.admin) == ("CitizenRegistryUnknownCitizen", 4)


# -- recover / rotate ---------------------------------------------------------------------------------


def test_recover_key_moves_identity_and_retires_old(env: Env) -> None:
    registry, old, new = env["CitizenRegistry"], env.account(3).address, env.account(4).address
    cid = register_citizen(env, old)
    env.send(act(env, "SuspendCitizen", citizenId=cid, reason=1), env.admin)
    assert env.emitted(act(env, "RecoverKey", citizenId=cid, newAccount=new), env.admin) == [
        (
            "CitizenKeyRotated",
            {"citizenId": cid, "oldAccount": old, "newAccount": new, "byRegistrar": env.registrar.address},
        )
    ]
    assert registry.functions.citizenIdOf(new).call() == cid
    assert registry.functions.citizenIdOf(old).call() == 0
    assert registry.functions.retiredCitizenIdOf(old).call() == cid
    assert registry.functions.retiredCitizenIdOf(new).call() == 0
    assert registry.functions.statusOf(cid).call() == 2  # the status is kept
    assert env.reverts(register(env, old), env.admin) == ("CitizenRegistryAccountUsed", old)


def test_recover_key_errors(env: Env) -> None:
    old, other = env.account(3).address, env.account(4).address
    cid = register_citizen(env, old)
    register_citizen(env, other)
    assert env.reverts(act(env, "RecoverKey", citizenId=cid, newAccount=env.registrar.address), env.admin) == (
        "CitizenRegistryRegistrarAccountForbidden",
        env.registrar.address,
    )
    assert env.reverts(act(env, "RecoverKey", citizenId=cid, newAccount=ZERO), env.admin) == (
        "CitizenRegistryZeroAddress",
    )
    assert env.reverts(act(env, "RecoverKey", citizenId=cid, newAccount=other), env.admin) == (
        "CitizenRegistryAlreadyRegistered",
        other,
    )
    assert env.reverts(act(env, "RecoverKey", citizenId=77, newAccount=env.account(5).address), env.admin) == (
        "CitizenRegistryUnknownCitizen",
        77,
    )


def test_rotate_key_signed_by_both(env: Env) -> None:
    registry, old, new = env["CitizenRegistry"], env.account(3), env.account(4)
    cid = register_citizen(env, old)
    assert env.emitted(rotate(env, old, new), env.account(9)) == [
        (
            "CitizenKeyRotated",
            {"citizenId": cid, "oldAccount": old.address, "newAccount": new.address, "byRegistrar": ZERO},
        )
    ]
    assert registry.functions.citizenIdOf(new.address).call() == cid
    assert registry.functions.nonces(old.address).call() == 1
    assert env.reverts(rotate(env, new, old), env.admin) == ("CitizenRegistryAccountUsed", old.address)


def test_rotate_key_errors(env: Env) -> None:
    old, new, stranger = env.account(3), env.account(4), env.account(5)
    cid = register_citizen(env, old)
    deadline = env.now() - 1
    assert env.reverts(rotate(env, old, new, deadline=deadline), env.admin) == (
        "CitizenRegistrySignatureExpired",
        deadline,
    )
    assert env.reverts(rotate(env, stranger, new), env.admin) == ("CitizenRegistryNotRegistered", stranger.address)
    assert env.reverts(rotate(env, old, new, nonce=1), env.admin) == ("InvalidAccountNonce", old.address, 0)
    forged = env.sign(
        stranger,
        "CitizenRegistry",
        "RotateKey",
        TYPES["RotateKey"],
        {"oldAccount": old.address, "newAccount": new.address, "nonce": 0, "deadline": env.now() + 3600},
    )
    assert env.reverts(rotate(env, old, new, old_sig=forged), env.admin) == (
        "CitizenRegistryInvalidSignature",
        old.address,
    )
    assert env.reverts(rotate(env, old, new, new_sig=forged), env.admin) == (
        "CitizenRegistryInvalidSignature",
        new.address,
    )
    env.send(act(env, "SuspendCitizen", citizenId=cid, reason=1), env.admin)
    assert env.reverts(rotate(env, old, new), env.admin) == ("CitizenRegistryNotActive", cid)


def test_rotate_to_bound_account_reverts_already_registered(env: Env) -> None:
    old, other = env.account(3), env.account(4)
    register_citizen(env, old)
    register_citizen(env, other)
    assert env.reverts(rotate(env, old, other), env.admin) == ("CitizenRegistryAlreadyRegistered", other.address)


def test_supports_interface(env: Env) -> None:
    registry = env["CitizenRegistry"]
    assert registry.functions.supportsInterface(bytes.fromhex("7965db0b")).call() is True  # IAccessControl
    assert registry.functions.supportsInterface(bytes.fromhex("ffffffff")).call() is False


def test_constructor_rejects_zero_admin(env: Env) -> None:
    assert env.deploy_reverts("CitizenRegistry", ZERO) == ("CitizenRegistryZeroAddress",)
