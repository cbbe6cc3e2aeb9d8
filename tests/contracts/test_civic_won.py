"""CivicWon: 0-decimal KRW ERC-20, TREASURY_ROLE mints and blocks, ERC-2612 permit."""

from __future__ import annotations

from tests.contracts.chain import ZERO, Env, fields, role

PERMIT = fields("address owner,address spender,uint256 value,uint256 nonce,uint256 deadline")


def test_metadata(env: Env) -> None:
    won = env["CivicWon"]
    assert won.functions.name().call() == "Civic Won"
    assert won.functions.symbol().call() == "KRW"
    assert won.functions.decimals().call() == 0
    assert won.functions.TREASURY_ROLE().call() == role("TREASURY_ROLE")
    assert won.functions.hasRole(role("TREASURY_ROLE"), env.admin.address).call()


def test_mint_emits_transfer_and_minted(env: Env) -> None:
    won, alice = env["CivicWon"], env.account(3)
    assert env.emitted(won.functions.mint(alice.address, 1_000_000), env.admin) == [
        ("Transfer", {"from": ZERO, "to": alice.address, "value": 1_000_000}),
        ("Minted", {"to": alice.address, "amount": 1_000_000, "treasury": env.admin.address}),
    ]
    assert won.functions.balanceOf(alice.address).call() == 1_000_000
    assert won.functions.totalMinted().call() == won.functions.totalSupply().call() == 1_000_000


def test_mint_reverts_without_treasury_role(env: Env) -> None:
    outsider = env.account(5)
    assert env.reverts(env["CivicWon"].functions.mint(outsider.address, 1), outsider) == (
        "AccessControlUnauthorizedAccount",
        outsider.address,
        role("TREASURY_ROLE"),
    )


def test_mint_to_zero_address_reverts(env: Env) -> None:
    assert env.reverts(env["CivicWon"].functions.mint(ZERO, 1), env.admin) == ("ERC20InvalidReceiver", ZERO)


def test_set_blocked_emits_and_reads(env: Env) -> None:
    won, bob = env["CivicWon"], env.account(4)
    assert env.emitted(won.functions.setBlocked(bob.address, True), env.admin) == [
        ("AccountBlocked", {"account": bob.address, "blocked": True, "treasury": env.admin.address})
    ]
    assert won.functions.isBlocked(bob.address).call() is True
    assert env.emitted(won.functions.setBlocked(bob.address, False), env.admin)[0][1]["blocked"] is False
    assert won.functions.isBlocked(bob.address).call() is False


def test_set_blocked_reverts_without_treasury_role(env: Env) -> None:
    outsider = env.account(5)
    assert env.reverts(env["CivicWon"].functions.setBlocked(outsider.address, True), outsider) == (
        "AccessControlUnauthorizedAccount",
        outsider.address,
        role("TREASURY_ROLE"),
    )


def test_blocked_account_can_neither_receive_nor_send(env: Env) -> None:
    won, alice, bob = env["CivicWon"], env.account(3), env.account(4)
    env.send(won.functions.mint(alice.address, 100), env.admin)
    env.send(won.functions.setBlocked(bob.address, True), env.admin)
    assert env.reverts(won.functions.mint(bob.address, 1), env.admin) == ("CivicWonBlocked", bob.address)
    assert env.reverts(won.functions.transfer(bob.address, 1), alice) == ("CivicWonBlocked", bob.address)
    env.send(won.functions.setBlocked(alice.address, True), env.admin)
    assert env.reverts(won.functions.transfer(env.account(6).address, 1), alice) == ("CivicWonBlocked", alice.address)


def test_transfer_beyond_balance_reverts(env: Env) -> None:
    won, alice = env["CivicWon"], env.account(3)
    env.send(won.functions.mint(alice.address, 10), env.admin)
    assert env.reverts(won.functions.transfer(env.account(4).address, 11), alice) == (
        "ERC20InsufficientBalance",
        alice.address,
        10,
        11,
    )


def _permit(env: Env, owner, spender: str, value: int, nonce: int, deadline: int, signer=None):  # type: ignore[no-untyped-def]
    sig = env.sign(
        signer or owner,
        "CivicWon",
        "Permit",
        PERMIT,
        {"owner": owner.address, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline},
    )
    return env["CivicWon"].functions.permit(
        owner.address, spender, value, deadline, 27 + sig[64] % 27, sig[:32], sig[32:64]
    )


def test_permit_sets_allowance_and_uses_nonce(env: Env) -> None:
    won, owner, spender = env["CivicWon"], env.account(3), env.account(4).address
    deadline = env.now() + 3600
    events = env.emitted(_permit(env, owner, spender, 500, 0, deadline), env.account(7))
    assert events == [("Approval", {"owner": owner.address, "spender": spender, "value": 500})]
    assert won.functions.allowance(owner.address, spender).call() == 500
    assert won.functions.nonces(owner.address).call() == 1


def test_permit_replayed_nonce_reverts(env: Env) -> None:
    owner, spender = env.account(3), env.account(4).address
    deadline = env.now() + 3600
    env.send(_permit(env, owner, spender, 500, 0, deadline), env.account(7))
    # the same signature again: the contract now expects nonce 1, so the recovered signer differs
    error = env.reverts(_permit(env, owner, spender, 500, 0, deadline), env.account(7))
    assert error[0] == "ERC2612InvalidSigner" and error[2] == owner.address and error[1] != owner.address


def test_permit_by_wrong_signer_reverts(env: Env) -> None:
    owner, spender, mallory = env.account(3), env.account(4).address, env.account(8)
    deadline = env.now() + 3600
    assert env.reverts(_permit(env, owner, spender, 500, 0, deadline, signer=mallory), env.account(7)) == (
        "ERC2612InvalidSigner",
        mallory.address,
        owner.address,
    )


def test_permit_expired_deadline_reverts(env: Env) -> None:
    owner, spender = env.account(3), env.account(4).address
    deadline = env.now() - 1
    assert env.reverts(_permit(env, owner, spender, 500, 0, deadline), env.account(7)) == (
        "ERC2612ExpiredSignature",
        deadline,
    )


def test_permit_at_deadline_is_accepted(env: Env) -> None:
    owner, spender = env.account(3), env.account(4).address
    deadline = env.now() + 100
    env.next_timestamp(deadline)
    env.send(_permit(env, owner, spender, 1, 0, deadline), env.account(7))
    assert env["CivicWon"].functions.allowance(owner.address, spender).call() == 1


def test_constructor_rejects_zero_admin(env: Env) -> None:
    assert env.deploy_reverts("CivicWon", ZERO) == ("CivicWonZeroAddress",)
