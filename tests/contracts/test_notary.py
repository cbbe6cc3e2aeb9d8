"""Notary: anchor document hashes once, NOTARY_ROLE only."""

from __future__ import annotations

from tests.contracts.chain import ZERO32, Env, h, role


def test_anchor_records_time_block_and_sequence(env: Env) -> None:
    notary = env["Notary"]
    receipt = env.send(notary.functions.anchor(h("doc-1"), h("audit-trail")), env.admin)
    assert env.events(receipt) == [
        (
            "DocumentAnchored",
            {"documentHash": h("doc-1"), "by": env.admin.address, "sequence": 1, "kind": h("audit-trail")},
        )
    ]
    block = env.w3.eth.get_block(receipt["blockNumber"])
    assert notary.functions.anchorOf(h("doc-1")).call() == [block["timestamp"], receipt["blockNumber"], 1]
    assert notary.functions.anchorCount().call() == 1


def test_sequence_counts_up_per_anchor(env: Env) -> None:
    notary = env["Notary"]
    env.send(notary.functions.anchor(h("a"), ZERO32), env.admin)
    events = env.emitted(notary.functions.anchor(h("b"), ZERO32), env.admin)
    assert events[0][1]["sequence"] == 2
    assert notary.functions.anchorCount().call() == 2


def test_anchor_of_unknown_hash_is_zeros(env: Env) -> None:
    assert env["Notary"].functions.anchorOf(h("never")).call() == [0, 0, 0]


def test_anchor_reverts_on_second_anchor_of_same_hash(env: Env) -> None:
    notary = env["Notary"]
    env.send(notary.functions.anchor(h("doc"), h("k1")), env.admin)
    assert env.reverts(notary.functions.anchor(h("doc"), h("k2")), env.admin) == ("NotaryAlreadyAnchored", h("doc"), 1)


def test_anchor_reverts_on_zero_hash(env: Env) -> None:
    assert env.reverts(env["Notary"].functions.anchor(ZERO32, h("k")), env.admin) == ("NotaryEmptyHash",)


def test_anchor_reverts_without_notary_role(env: Env) -> None:
    outsider = env.account(5)
    assert env.reverts(env["Notary"].functions.anchor(h("doc"), h("k")), outsider) == (
        "AccessControlUnauthorizedAccount",
        outsider.address,
        role("NOTARY_ROLE"),
    )


def test_granted_notary_may_anchor_and_revoked_may_not(env: Env) -> None:
    notary, clerk = env["Notary"], env.account(5)
    env.send(notary.functions.grantRole(role("NOTARY_ROLE"), clerk.address), env.admin)
    assert env.emitted(notary.functions.anchor(h("doc"), h("k")), clerk)[0][1]["by"] == clerk.address
    env.send(notary.functions.revokeRole(role("NOTARY_ROLE"), clerk.address), env.admin)
    assert env.reverts(notary.functions.anchor(h("doc2"), h("k")), clerk)[0] == "AccessControlUnauthorizedAccount"


def test_only_admin_grants_notary_role(env: Env) -> None:
    notary, outsider = env["Notary"], env.account(5)
    assert env.reverts(notary.functions.grantRole(role("NOTARY_ROLE"), outsider.address), outsider) == (
        "AccessControlUnauthorizedAccount",
        outsider.address,
        role("DEFAULT_ADMIN_ROLE"),
    )


def test_role_changes_emit_openzeppelin_events(env: Env) -> None:
    notary, clerk = env["Notary"], env.account(5).address
    assert env.emitted(notary.functions.grantRole(role("NOTARY_ROLE"), clerk), env.admin) == [
        ("RoleGranted", {"role": role("NOTARY_ROLE"), "account": clerk, "sender": env.admin.address})
    ]
    assert env.emitted(notary.functions.grantRole(role("NOTARY_ROLE"), clerk), env.admin) == []  # already held
    assert env.emitted(notary.functions.revokeRole(role("NOTARY_ROLE"), clerk), env.admin) == [
        ("RoleRevoked", {"role": role("NOTARY_ROLE"), "account": clerk, "sender": env.admin.address})
    ]
    assert env.reverts(notary.functions.renounceRole(role("NOTARY_ROLE"), env.admin.address), env.account(5)) == (
        "AccessControlBadConfirmation",
    )
