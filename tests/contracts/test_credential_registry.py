"""CredentialRegistry: governance by DEFAULT_ADMIN_ROLE, anchors and status changes signed by issuer keys."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from tests.contracts.chain import ZERO, ZERO32, Env, fields, h, role

ISSUER, TYPE = h("issuer:snu"), h("type:diploma")
MAX64 = 2**64 - 1
TYPES = {
    "Issue": fields("bytes32 issuerId,bytes32 typeId,bytes32 credentialHash,uint256 deadline"),
    "IssueBatch": fields("bytes32 issuerId,bytes32 typeId,bytes32 root,uint32 count,uint256 deadline"),
    "Revoke": fields("bytes32 issuerId,bytes32[] anchorIds,uint256[] positions,uint256 deadline"),
    "Suspend": fields("bytes32 issuerId,bytes32[] anchorIds,uint256[] positions,uint256 nonce,uint256 deadline"),
    "Reinstate": fields("bytes32 issuerId,bytes32[] anchorIds,uint256[] positions,uint256 nonce,uint256 deadline"),
}


@pytest.fixture
def key(env: Env) -> LocalAccount:
    """An issuer with one open-ended key, allowed to issue TYPE."""
    reg, key = env["CredentialRegistry"], env.account(10)
    env.send(reg.functions.registerIssuer(ISSUER, "Seoul National University"), env.admin)
    env.send(reg.functions.addIssuerKey(ISSUER, key.address, 0, 0), env.admin)
    env.send(reg.functions.registerType(TYPE, "Diploma", h("schema")), env.admin)
    env.send(reg.functions.allowIssuer(TYPE, ISSUER), env.admin)
    return key


def signed(
    env: Env,
    primary: str,
    key: LocalAccount,
    *,
    signer: LocalAccount | None = None,
    deadline: int | None = None,
    nonce: int | None = None,
    **values: Any,
) -> Any:
    """The call of action ``primary`` with ``values``, signed by ``signer`` (default ``key``)."""
    reg = env["CredentialRegistry"]
    values.setdefault("issuerId", ISSUER)
    message = {**values, "deadline": env.now() + 3600 if deadline is None else deadline}
    if "nonce" in dict((n, t) for t, n in TYPES[primary]):
        message["nonce"] = reg.functions.nonces(values["issuerId"], key.address).call() if nonce is None else nonce
    message = {n: message[n] for _, n in TYPES[primary]}
    sig = env.sign(signer or key, "CredentialRegistry", primary, TYPES[primary], message)
    fn = {
        "Issue": "issue",
        "IssueBatch": "issueBatch",
        "Revoke": "revoke",
        "Suspend": "suspend",
        "Reinstate": "reinstate",
    }[primary]
    args = list(message.values())
    args.insert(len(args) - (2 if "nonce" in message else 1), key.address)
    return getattr(reg.functions, fn)(*args, sig)


def issue(env: Env, key: LocalAccount, credential: bytes, **over: Any) -> Any:
    return signed(env, "Issue", key, typeId=TYPE, credentialHash=credential, **over)


def merkle(leaves: list[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """OpenZeppelin sorted-pair tree over ``leaves`` (a power of two, for the test): root and proofs."""
    levels = [leaves]
    while len(levels[-1]) > 1:
        prev = levels[-1]
        levels.append([keccak(b"".join(sorted(prev[i : i + 2]))) for i in range(0, len(prev), 2)])
    proofs = []
    for i in range(len(leaves)):
        proof, j = [], i
        for level in levels[:-1]:
            proof.append(level[j ^ 1])
            j //= 2
        proofs.append(proof)
    return levels[-1][0], proofs


# -- governance ---------------------------------------------------------------------------------------


def test_governance_emits_and_reads(env: Env) -> None:
    reg, k = env["CredentialRegistry"], env.account(10).address
    assert env.emitted(reg.functions.registerIssuer(ISSUER, "SNU"), env.admin) == [
        ("IssuerRegistered", {"issuerId": ISSUER, "nameHash": keccak(text="SNU"), "name": "SNU"})
    ]
    assert env.emitted(reg.functions.addIssuerKey(ISSUER, k, 100, 0), env.admin) == [
        ("IssuerKeyAdded", {"issuerId": ISSUER, "key": k, "validFrom": 100, "validUntil": MAX64})
    ]
    assert env.emitted(reg.functions.registerType(TYPE, "Diploma", h("s")), env.admin) == [
        ("CredentialTypeRegistered", {"typeId": TYPE, "schemaHash": h("s"), "name": "Diploma"})
    ]
    assert env.emitted(reg.functions.allowIssuer(TYPE, ISSUER), env.admin) == [
        ("IssuerAllowedForType", {"typeId": TYPE, "issuerId": ISSUER})
    ]
    assert reg.functions.issuerInfo(ISSUER).call() == (True, keccak(text="SNU"), [k])
    assert reg.functions.keyInfo(ISSUER, k).call() == (True, 100, MAX64)
    assert reg.functions.credentialType(TYPE).call() == (True, h("s"))
    assert reg.functions.isIssuerAllowed(TYPE, ISSUER).call() is True
    assert reg.functions.isKeyValidAt(ISSUER, k, 99).call() is False
    assert reg.functions.isKeyValidAt(ISSUER, k, 100).call() is True
    assert env.emitted(reg.functions.disallowIssuer(TYPE, ISSUER), env.admin) == [
        ("IssuerDisallowedForType", {"typeId": TYPE, "issuerId": ISSUER})
    ]
    assert reg.functions.isIssuerAllowed(TYPE, ISSUER).call() is False


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.functions.registerIssuer(ISSUER, "x"),
        lambda r: r.functions.addIssuerKey(ISSUER, ZERO, 0, 0),
        lambda r: r.functions.retireIssuerKey(ISSUER, ZERO, 0),
        lambda r: r.functions.registerType(TYPE, "x", ZERO32),
        lambda r: r.functions.allowIssuer(TYPE, ISSUER),
        lambda r: r.functions.disallowIssuer(TYPE, ISSUER),
    ],
)
def test_governance_needs_admin_role(env: Env, call: Any) -> None:
    outsider = env.account(5)
    assert env.reverts(call(env["CredentialRegistry"]), outsider) == (
        "AccessControlUnauthorizedAccount",
        outsider.address,
        role("DEFAULT_ADMIN_ROLE"),
    )


def test_governance_error_paths(env: Env, key: LocalAccount) -> None:
    reg, a = env["CredentialRegistry"].functions, env.admin
    other = h("issuer:other")
    assert env.reverts(reg.registerIssuer(ZERO32, "x"), a) == ("CredentialRegistryZeroId",)
    assert env.reverts(reg.registerIssuer(other, ""), a) == ("CredentialRegistryEmptyName",)
    assert env.reverts(reg.registerIssuer(ISSUER, "again"), a) == ("CredentialRegistryIssuerAlreadyRegistered", ISSUER)
    assert env.reverts(reg.addIssuerKey(other, key.address, 0, 0), a) == ("CredentialRegistryUnknownIssuer", other)
    assert env.reverts(reg.addIssuerKey(ISSUER, ZERO, 0, 0), a) == ("CredentialRegistryZeroKey",)
    assert env.reverts(reg.addIssuerKey(ISSUER, key.address, 0, 0), a) == (
        "CredentialRegistryKeyAlreadyAdded",
        ISSUER,
        key.address,
    )
    k2 = env.account(11).address
    assert env.reverts(reg.addIssuerKey(ISSUER, k2, 50, 50), a) == ("CredentialRegistryInvalidKeyWindow", 50, 50)
    assert env.reverts(reg.addIssuerKey(ISSUER, k2, MAX64, 0), a) == (
        "CredentialRegistryInvalidKeyWindow",
        MAX64,
        MAX64,
    )
    assert env.reverts(reg.retireIssuerKey(other, k2, 0), a) == ("CredentialRegistryUnknownIssuer", other)
    assert env.reverts(reg.retireIssuerKey(ISSUER, k2, 0), a) == ("CredentialRegistryUnknownKey", ISSUER, k2)
    assert env.reverts(reg.registerType(ZERO32, "x", ZERO32), a) == ("CredentialRegistryZeroId",)
    assert env.reverts(reg.registerType(h("t2"), "", ZERO32), a) == ("CredentialRegistryEmptyName",)
    assert env.reverts(reg.registerType(TYPE, "again", ZERO32), a) == ("CredentialRegistryTypeAlreadyRegistered", TYPE)
    assert env.reverts(reg.allowIssuer(h("t2"), ISSUER), a) == ("CredentialRegistryUnknownType", h("t2"))
    assert env.reverts(reg.allowIssuer(TYPE, other), a) == ("CredentialRegistryUnknownIssuer", other)
    assert env.reverts(reg.allowIssuer(TYPE, ISSUER), a) == ("CredentialRegistryIssuerAlreadyAllowed", TYPE, ISSUER)
    assert env.reverts(reg.disallowIssuer(TYPE, other), a) == ("CredentialRegistryTypeNotAllowed", TYPE, other)


def test_retire_key_default_is_next_second_and_window_checked(env: Env, key: LocalAccount) -> None:
    reg = env["CredentialRegistry"]
    receipt = env.send(reg.functions.retireIssuerKey(ISSUER, key.address, 0), env.admin)
    ts = env.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert env.events(receipt) == [("IssuerKeyRetired", {"issuerId": ISSUER, "key": key.address, "validUntil": ts + 1})]
    # a window may only shrink
    assert env.reverts(reg.functions.retireIssuerKey(ISSUER, key.address, ts + 1), env.admin) == (
        "CredentialRegistryInvalidKeyWindow",
        0,
        ts + 1,
    )
    k2 = env.account(11).address
    env.send(reg.functions.addIssuerKey(ISSUER, k2, 1000, 0), env.admin)
    assert env.reverts(reg.functions.retireIssuerKey(ISSUER, k2, 999), env.admin) == (
        "CredentialRegistryInvalidKeyWindow",
        1000,
        999,
    )


# -- issue --------------------------------------------------------------------------------------------


def test_issue_anchors_credential(env: Env, key: LocalAccount) -> None:
    reg, cred = env["CredentialRegistry"], h("credential-1")
    receipt = env.send(issue(env, key, cred), env.account(9))
    assert env.events(receipt) == [
        ("CredentialAnchored", {"anchorId": cred, "issuerId": ISSUER, "typeId": TYPE, "key": key.address})
    ]
    ts = env.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert reg.functions.anchorOf(cred).call() == (True, False, ISSUER, TYPE, key.address, ts, 1)
    assert reg.functions.statusOf(cred, 0).call() == [True, False, False]
    assert reg.functions.statusOf(cred, 1).call() == [False, False, False]
    assert reg.functions.verify(cred, cred, [], 0).call() == (
        True,
        True,
        False,
        ISSUER,
        TYPE,
        key.address,
        ts,
        True,
        True,
        True,
        False,
        False,
    )
    assert reg.functions.verify(cred, h("other"), [], 0).call()[1] is False
    assert reg.functions.verify(h("nothing"), cred, [], 0).call()[0] is False


def test_issue_error_paths(env: Env, key: LocalAccount) -> None:
    cred = h("c")
    expired = env.now() - 1
    assert env.reverts(issue(env, key, cred, deadline=expired), env.admin) == (
        "CredentialRegistrySignatureExpired",
        expired,
    )
    stranger = env.account(12)
    assert env.reverts(issue(env, key, cred, signer=stranger), env.admin) == (
        "CredentialRegistryInvalidSignature",
        key.address,
        stranger.address,
    )
    assert env.reverts(issue(env, key, cred, issuerId=h("nobody")), env.admin) == (
        "CredentialRegistryUnknownIssuer",
        h("nobody"),
    )
    env.next_timestamp(env.now() + 10)
    error = env.reverts(issue(env, stranger, cred), env.admin)
    assert error[:3] == ("CredentialRegistryKeyNotValid", ISSUER, stranger.address)
    assert env.reverts(signed(env, "Issue", key, typeId=h("t?"), credentialHash=cred), env.admin) == (
        "CredentialRegistryUnknownType",
        h("t?"),
    )
    assert env.reverts(issue(env, key, ZERO32), env.admin) == ("CredentialRegistryZeroId",)
    env.send(issue(env, key, cred), env.admin)
    assert env.reverts(issue(env, key, cred), env.admin) == ("CredentialRegistryAlreadyAnchored", cred)


def test_issue_short_signature_recovers_zero(env: Env, key: LocalAccount) -> None:
    fn = issue(env, key, h("c"))
    args = list(fn.args)
    args[-1] = args[-1][:64]
    assert env.reverts(env["CredentialRegistry"].functions.issue(*args), env.admin) == (
        "CredentialRegistryInvalidSignature",
        key.address,
        ZERO,
    )


def test_issue_when_type_not_allowed(env: Env, key: LocalAccount) -> None:
    env.send(env["CredentialRegistry"].functions.disallowIssuer(TYPE, ISSUER), env.admin)
    assert env.reverts(issue(env, key, h("c")), env.admin) == ("CredentialRegistryTypeNotAllowed", TYPE, ISSUER)


def test_key_window_is_half_open(env: Env, key: LocalAccount) -> None:
    reg, k2 = env["CredentialRegistry"], env.account(11)
    start = env.now() + 100
    env.send(reg.functions.addIssuerKey(ISSUER, k2.address, start, start + 100), env.admin)
    fn = issue(env, k2, h("a"))
    env.next_timestamp(start - 1)
    assert env.reverts(fn, env.admin) == ("CredentialRegistryKeyNotValid", ISSUER, k2.address, start - 1)
    env.next_timestamp(start)
    env.send(fn, env.admin)
    fn = issue(env, k2, h("b"))
    env.next_timestamp(start + 100)
    assert env.reverts(fn, env.admin) == ("CredentialRegistryKeyNotValid", ISSUER, k2.address, start + 100)


def test_retired_key_keeps_old_anchors_valid_at_anchor(env: Env, key: LocalAccount) -> None:
    reg, cred = env["CredentialRegistry"], h("c")
    env.send(issue(env, key, cred), env.admin)
    env.send(reg.functions.retireIssuerKey(ISSUER, key.address, 0), env.admin)
    env.next_timestamp(env.now() + 5)
    env.send(reg.functions.disallowIssuer(TYPE, ISSUER), env.admin)
    v = reg.functions.verify(cred, cred, [], 0).call()
    assert v[7:10] == (True, False, False)  # valid at anchor, not now, issuer not allowed now


# -- batches ------------------------------------------------------------------------------------------


def test_issue_batch_and_verify_leaves(env: Env, key: LocalAccount) -> None:
    reg = env["CredentialRegistry"]
    creds = [h(f"c{i}") for i in range(4)]
    leaves = [reg.functions.batchLeaf(c, i).call() for i, c in enumerate(creds)]
    assert leaves[1] == keccak(keccak(creds[1] + (1).to_bytes(32, "big")))
    root, proofs = merkle(leaves)
    fn = signed(env, "IssueBatch", key, typeId=TYPE, root=root, count=4)
    assert env.emitted(fn, env.admin) == [
        ("CredentialBatchAnchored", {"root": root, "issuerId": ISSUER, "typeId": TYPE, "key": key.address, "count": 4})
    ]
    assert reg.functions.anchorOf(root).call()[:2] == (True, True)
    assert reg.functions.verify(root, creds[2], proofs[2], 2).call()[1] is True
    assert reg.functions.verify(root, creds[2], proofs[2], 1).call()[1] is False  # position is in the leaf
    assert reg.functions.verify(root, creds[2], proofs[2], 4).call()[1] is False


def test_issue_batch_zero_count_reverts(env: Env, key: LocalAccount) -> None:
    fn = signed(env, "IssueBatch", key, typeId=TYPE, root=h("root"), count=0)
    assert env.reverts(fn, env.admin) == ("CredentialRegistryInvalidCount", 0)


# -- revoke / suspend / reinstate ---------------------------------------------------------------------


def test_status_lifecycle_single_and_batch(env: Env, key: LocalAccount) -> None:
    reg, cred, root = env["CredentialRegistry"], h("c"), h("root")
    env.send(issue(env, key, cred), env.admin)
    env.send(signed(env, "IssueBatch", key, typeId=TYPE, root=root, count=3), env.admin)
    ids, pos = [cred, root], [0, 2]
    assert env.emitted(signed(env, "Suspend", key, anchorIds=ids, positions=pos), env.admin) == [
        ("CredentialSuspended", {"anchorId": cred, "position": 0, "issuerId": ISSUER}),
        ("CredentialSuspended", {"anchorId": root, "position": 2, "issuerId": ISSUER}),
    ]
    assert reg.functions.nonces(ISSUER, key.address).call() == 1
    assert reg.functions.statusOf(root, 2).call() == [True, False, True]
    assert reg.functions.statusOf(root, 1).call() == [True, False, False]
    assert env.reverts(signed(env, "Suspend", key, anchorIds=[root], positions=[2]), env.admin) == (
        "CredentialRegistryAlreadySuspended",
        root,
        2,
    )
    assert env.reverts(signed(env, "Suspend", key, anchorIds=[cred], positions=[0]), env.admin) == (
        "CredentialRegistryAlreadySuspended",
        cred,
        0,
    )
    assert env.emitted(signed(env, "Reinstate", key, anchorIds=ids, positions=pos), env.admin) == [
        ("CredentialReinstated", {"anchorId": cred, "position": 0, "issuerId": ISSUER}),
        ("CredentialReinstated", {"anchorId": root, "position": 2, "issuerId": ISSUER}),
    ]
    for anchor, p in ((root, 2), (cred, 0)):
        assert env.reverts(signed(env, "Reinstate", key, anchorIds=[anchor], positions=[p]), env.admin) == (
            "CredentialRegistryNotSuspended",
            anchor,
            p,
        )
    env.send(signed(env, "Suspend", key, anchorIds=[root], positions=[1]), env.admin)
    assert env.emitted(signed(env, "Revoke", key, anchorIds=ids, positions=[0, 1]), env.admin) == [
        ("CredentialRevoked", {"anchorId": cred, "position": 0, "issuerId": ISSUER, "key": key.address}),
        ("CredentialRevoked", {"anchorId": root, "position": 1, "issuerId": ISSUER, "key": key.address}),
    ]
    assert reg.functions.statusOf(root, 1).call() == [True, True, False]  # suspended reads false once revoked
    for anchor, p in ((cred, 0), (root, 1)):
        for action in ("Revoke", "Suspend", "Reinstate"):
            assert env.reverts(signed(env, action, key, anchorIds=[anchor], positions=[p]), env.admin) == (
                "CredentialRegistryAlreadyRevoked",
                anchor,
                p,
            )


def test_status_change_error_paths(env: Env, key: LocalAccount) -> None:
    reg, cred = env["CredentialRegistry"], h("c")
    env.send(issue(env, key, cred), env.admin)
    for action in ("Revoke", "Suspend", "Reinstate"):
        assert env.reverts(signed(env, action, key, anchorIds=[h("x")], positions=[0]), env.admin) == (
            "CredentialRegistryUnknownAnchor",
            h("x"),
        )
        assert env.reverts(signed(env, action, key, anchorIds=[cred], positions=[1]), env.admin) == (
            "CredentialRegistryPositionOutOfRange",
            cred,
            1,
            1,
        )
        assert env.reverts(signed(env, action, key, anchorIds=[cred, cred], positions=[0]), env.admin) == (
            "CredentialRegistryLengthMismatch",
            2,
            1,
        )
        assert env.reverts(signed(env, action, key, anchorIds=[], positions=[]), env.admin) == (
            "CredentialRegistryEmptyBatch",
        )
    # another issuer can not change this issuer's anchors
    other, k2 = h("issuer:other"), env.account(11)
    env.send(reg.functions.registerIssuer(other, "Other"), env.admin)
    env.send(reg.functions.addIssuerKey(other, k2.address, 0, 0), env.admin)
    assert env.reverts(signed(env, "Revoke", k2, issuerId=other, anchorIds=[cred], positions=[0]), env.admin) == (
        "CredentialRegistryNotAnchorIssuer",
        cred,
        other,
    )


def test_suspend_nonce_checks(env: Env, key: LocalAccount) -> None:
    reg, cred = env["CredentialRegistry"], h("c")
    env.send(issue(env, key, cred), env.admin)
    fn = signed(env, "Suspend", key, anchorIds=[cred], positions=[0])
    env.send(fn, env.admin)
    assert env.reverts(fn, env.admin) == ("CredentialRegistryInvalidNonce", ISSUER, key.address, 1, 0)
    assert env.reverts(signed(env, "Reinstate", key, anchorIds=[cred], positions=[0], nonce=5), env.admin) == (
        "CredentialRegistryInvalidNonce",
        ISSUER,
        key.address,
        1,
        5,
    )
    stranger = env.account(12)
    assert env.reverts(signed(env, "Reinstate", key, signer=stranger, anchorIds=[cred], positions=[0]), env.admin) == (
        "CredentialRegistryInvalidSignature",
        key.address,
        stranger.address,
    )
    expired = env.now() - 1
    assert env.reverts(signed(env, "Reinstate", key, anchorIds=[cred], positions=[0], deadline=expired), env.admin) == (
        "CredentialRegistrySignatureExpired",
        expired,
    )
    assert reg.functions.nonces(ISSUER, key.address).call() == 1


def test_typehashes(env: Env) -> None:
    reg = env["CredentialRegistry"].functions
    for primary, getter in (
        ("Issue", reg.ISSUE_TYPEHASH),
        ("IssueBatch", reg.ISSUE_BATCH_TYPEHASH),
        ("Revoke", reg.REVOKE_TYPEHASH),
        ("Suspend", reg.SUSPEND_TYPEHASH),
        ("Reinstate", reg.REINSTATE_TYPEHASH),
    ):
        spec = ",".join(f"{t} {n}" for t, n in TYPES[primary])
        assert getter().call() == keccak(text=f"{primary}({spec})")
