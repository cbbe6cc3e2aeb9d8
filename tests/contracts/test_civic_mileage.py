"""CivicMileage: programs award points (signed or sent by the awarder), citizens redeem at merchants, points expire."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from tests.contracts.chain import ZERO, ZERO32, Env, fields, h, register_citizen, role
from tests.contracts.chain import citizen_action as act
from tests.contracts.chain import rotate_key as rotate

AWARD = fields("uint32 programId,address account,uint32 amount,uint64 ref,uint256 deadline")
AWARD_BATCH = fields("uint32 programId,uint256[] awards,uint256 deadline")
IMPORT_LEGACY = fields("uint32 programId,uint256[] entries,uint256 deadline")
REDEEM = fields("address citizen,uint32 merchantId,uint256 amount,bytes32 orderRef,uint256 nonce,uint256 deadline")
EPOCH = 30 * 24 * 3600
MAX_BUCKET = 2**28 - 1
DUPLICATE, NOT_ACTIVE, ALREADY_IMPORTED, ZERO_AMOUNT = 1, 2, 3, 4


def packed(account: str, amount: int, ref: int) -> int:
    return int(account, 16) << 96 | amount << 64 | ref


@pytest.fixture
def program(env: Env) -> tuple[int, LocalAccount]:
    """Program 1 ("Eco mileage", cap 1,000,000), awarder account 15."""
    awarder = env.account(15)
    env.send(env["CivicMileage"].functions.registerProgram("Eco mileage", awarder.address, 1_000_000), env.admin)
    return 1, awarder


@pytest.fixture
def citizen(env: Env) -> tuple[int, LocalAccount]:
    account = env.account(16)
    return register_citizen(env, account), account


@pytest.fixture
def merchant(env: Env) -> int:
    env.send(env["CivicMileage"].functions.registerMerchant("Mangwon market", h("biz-1"), 13), env.admin)
    return 1


def sign(env: Env, who: LocalAccount, primary: str, spec: list, message: dict[str, Any]) -> bytes:
    return env.sign(who, "CivicMileage", primary, spec, message)


def signed_award(
    env: Env, pid: int, awarder: LocalAccount, account: str, amount: int, ref: int, *, deadline: int | None = None
) -> Any:
    deadline = env.now() + 3600 if deadline is None else deadline
    message = {"programId": pid, "account": account, "amount": amount, "ref": ref, "deadline": deadline}
    return env["CivicMileage"].functions.award(
        pid, account, amount, ref, deadline, sign(env, awarder, "Award", AWARD, message)
    )


def redeem(
    env: Env,
    citizen: LocalAccount,
    merchant: int,
    amount: int,
    *,
    nonce: int | None = None,
    signer: LocalAccount | None = None,
    deadline: int | None = None,
    order: bytes = b"",
) -> Any:
    mileage = env["CivicMileage"]
    nonce = mileage.functions.nonces(citizen.address).call() if nonce is None else nonce
    deadline = env.now() + 3600 if deadline is None else deadline
    order = order or h(f"order-{nonce}")
    message = {
        "citizen": citizen.address,
        "merchantId": merchant,
        "amount": amount,
        "orderRef": order,
        "nonce": nonce,
        "deadline": deadline,
    }
    sig = sign(env, signer or citizen, "Redeem", REDEEM, message)
    return mileage.functions.redeem(citizen.address, merchant, amount, order, nonce, deadline, sig)


# -- constants, city ----------------------------------------------------------------------------------


def test_constants_and_policy(env: Env) -> None:
    m = env["CivicMileage"].functions
    for name, primary, spec in (
        ("REDEEM", "Redeem", REDEEM),
        ("AWARD", "Award", AWARD),
        ("AWARD_BATCH", "AwardBatch", AWARD_BATCH),
        ("IMPORT_LEGACY", "ImportLegacy", IMPORT_LEGACY),
    ):
        assert getattr(m, f"{name}_TYPEHASH")().call() == keccak(
            text=f"{primary}({','.join(f'{t} {n}' for t, n in spec)})"
        )
    assert m.MAX_BATCH().call() == 256 and m.EPOCH_LENGTH().call() == EPOCH
    origin, length, validity = m.epochPolicy().call()
    assert (length, validity) == (EPOCH, 6)
    assert m.MERCHANT_REGISTRAR_ROLE().call() == role("MERCHANT_REGISTRAR_ROLE")
    assert m.TREASURY_ROLE().call() == role("TREASURY_ROLE")
    # KST: 15:00 UTC on 31 December is already next year
    new_year = int(dt.datetime(2026, 12, 31, 15, tzinfo=dt.UTC).timestamp())
    assert m.yearOf(new_year - 1).call() == 2026 and m.yearOf(new_year).call() == 2027


def test_set_validity_epochs(env: Env, program: tuple) -> None:
    m = env["CivicMileage"].functions
    assert env.emitted(m.setValidityEpochs(7), env.admin) == [("ValidityEpochsSet", {"validityEpochs": 7})]
    assert env.emitted(m.setValidityEpochs(1), env.admin) == [("ValidityEpochsSet", {"validityEpochs": 1})]
    for bad in (0, 8):
        assert env.reverts(m.setValidityEpochs(bad), env.admin) == ("CivicMileageInvalidValidity", bad)
    env.send(m.registerMerchant("shop", h("biz"), 1), env.admin)
    assert env.reverts(m.setValidityEpochs(3), env.admin) == ("CivicMileagePolicyLocked",)


@pytest.mark.parametrize(
    ("call", "role_name"),
    [
        (lambda m, a: m.setValidityEpochs(3), "DEFAULT_ADMIN_ROLE"),
        (lambda m, a: m.registerProgram("p", a, 1), "DEFAULT_ADMIN_ROLE"),
        (lambda m, a: m.updateProgram(1, a, 1), "DEFAULT_ADMIN_ROLE"),
        (lambda m, a: m.registerMerchant("shop", h("biz"), 1), "MERCHANT_REGISTRAR_ROLE"),
        (lambda m, a: m.deactivateMerchant(1), "MERCHANT_REGISTRAR_ROLE"),
        (lambda m, a: m.settleMerchant(1, 202611, 1), "TREASURY_ROLE"),
    ],
)
def test_roles(env: Env, call: Any, role_name: str) -> None:
    outsider = env.account(5)
    assert env.reverts(call(env["CivicMileage"].functions, outsider.address), outsider) == (
        "AccessControlUnauthorizedAccount",
        outsider.address,
        role(role_name),
    )


def test_register_and_update_program(env: Env) -> None:
    m, awarder = env["CivicMileage"].functions, env.account(15).address
    assert env.emitted(m.registerProgram("Eco", awarder, 500), env.admin) == [
        ("ProgramRegistered", {"programId": 1, "awarder": awarder, "annualCap": 500, "name": "Eco"})
    ]
    assert m.programOf(1).call() == (awarder, 500, 0, m.yearOf(env.now()).call(), "Eco")
    assert m.programCount().call() == 1
    assert env.emitted(m.updateProgram(1, ZERO, 900), env.admin) == [
        ("ProgramUpdated", {"programId": 1, "awarder": ZERO, "annualCap": 900})
    ]
    assert env.reverts(m.registerProgram("", awarder, 1), env.admin) == ("CivicMileageEmptyName",)
    assert env.reverts(m.registerProgram("x", ZERO, 1), env.admin) == ("CivicMileageZeroAddress",)
    assert env.reverts(m.registerProgram("x", awarder, 0), env.admin) == ("CivicMileageInvalidCap", 0)
    assert env.reverts(m.updateProgram(0, awarder, 1), env.admin) == ("CivicMileageUnknownProgram", 0)
    assert env.reverts(m.updateProgram(2, awarder, 1), env.admin) == ("CivicMileageUnknownProgram", 2)
    assert env.reverts(m.updateProgram(1, awarder, 0), env.admin) == ("CivicMileageInvalidCap", 0)


# -- award --------------------------------------------------------------------------------------------


def test_award_sent_by_awarder_and_signed(env: Env, program: tuple, citizen: tuple) -> None:
    m, (pid, awarder), (cid, account) = env["CivicMileage"].functions, program, citizen
    epoch = m.currentEpoch().call()
    assert env.emitted(m.award(pid, account.address, 100, 1, 0, b""), awarder) == [
        ("PointsAwarded", {"citizenId": cid, "programId": pid, "ref": 1, "amount": 100, "epoch": epoch})
    ]
    assert env.emitted(signed_award(env, pid, awarder, account.address, 50, 2), env.account(9)) == [
        ("PointsAwarded", {"citizenId": cid, "programId": pid, "ref": 2, "amount": 50, "epoch": epoch})
    ]
    assert m.balanceOf(account.address).call() == 150
    assert m.pointsOf(cid).call() == [150, 0]
    assert m.bucketsOf(cid).call() == [epoch, [150, 0, 0, 0, 0, 0, 0]]
    assert m.isAwarded(pid, 1).call() and not m.isAwarded(pid, 3).call()
    assert m.programOf(pid).call()[2] == 150
    # the same reference again is skipped, not reverted (a safe retry)
    fn = m.award(pid, account.address, 100, 1, 0, b"")
    assert fn.call({"from": awarder.address}) is False
    assert env.emitted(fn, awarder) == [
        ("AwardSkipped", {"programId": pid, "ref": 1, "account": account.address, "reason": DUPLICATE})
    ]
    assert m.balanceOf(account.address).call() == 150


def test_award_error_paths(env: Env, program: tuple, citizen: tuple) -> None:
    m, (pid, awarder), (_, account) = env["CivicMileage"].functions, program, citizen
    stranger = env.account(5)
    assert env.reverts(m.award(pid, account.address, 1, 1, 0, b""), stranger) == (
        "CivicMileageUnauthorizedAwarder",
        pid,
        stranger.address,
    )
    assert env.reverts(m.award(9, account.address, 1, 1, 0, b""), awarder) == ("CivicMileageUnknownProgram", 9)
    assert env.reverts(m.award(0, account.address, 1, 1, 0, b""), awarder) == ("CivicMileageUnknownProgram", 0)
    assert env.reverts(m.award(pid, account.address, 0, 1, 0, b""), awarder) == ("CivicMileageZeroAmount",)
    assert env.reverts(m.award(pid, stranger.address, 1, 1, 0, b""), awarder) == (
        "CivicMileageNotCitizen",
        stranger.address,
    )
    assert env.reverts(m.award(pid, account.address, 1_000_001, 1, 0, b""), awarder) == (
        "CivicMileageCapExceeded",
        pid,
        1_000_000,
        0,
        1_000_001,
    )
    expired = env.now() - 1
    assert env.reverts(signed_award(env, pid, awarder, account.address, 1, 1, deadline=expired), env.admin) == (
        "CivicMileageSignatureExpired",
        expired,
    )
    assert env.reverts(signed_award(env, pid, stranger, account.address, 1, 1), env.admin) == (
        "CivicMileageInvalidSignature",
        awarder.address,
    )
    env.send(m.updateProgram(pid, ZERO, 10), env.admin)  # closed
    assert env.reverts(signed_award(env, pid, awarder, account.address, 1, 1), env.admin) == (
        "CivicMileageUnauthorizedAwarder",
        pid,
        ZERO,
    )


def test_award_to_suspended_citizen_reverts(env: Env, program: tuple, citizen: tuple) -> None:
    m, (pid, awarder), (cid, account) = env["CivicMileage"].functions, program, citizen
    env.send(act(env, "SuspendCitizen", citizenId=cid, reason=1), env.admin)
    assert env.reverts(m.award(pid, account.address, 1, 1, 0, b""), awarder) == (
        "CivicMileageCitizenNotActive",
        cid,
        account.address,
    )


def test_cap_counts_per_kst_year(env: Env, program: tuple, citizen: tuple) -> None:
    m, (pid, awarder), (_, account) = env["CivicMileage"].functions, program, citizen
    env.send(m.award(pid, account.address, 999_999, 1, 0, b""), awarder)
    env.send(m.award(pid, account.address, 1, 2, 0, b""), awarder)  # exactly at the cap
    assert env.reverts(m.award(pid, account.address, 1, 3, 0, b""), awarder) == (
        "CivicMileageCapExceeded",
        pid,
        1_000_000,
        1_000_000,
        1,
    )
    year = m.yearOf(env.now()).call()
    env.next_timestamp(int(dt.datetime(year, 12, 31, 15, tzinfo=dt.UTC).timestamp()))
    env.send(m.award(pid, account.address, 7, 3, 0, b""), awarder)
    assert m.programOf(pid).call()[2:4] == (7, year + 1)


def test_bucket_overflow(env: Env, program: tuple, citizen: tuple) -> None:
    m, (pid, awarder), (cid, account) = env["CivicMileage"].functions, program, citizen
    env.send(m.updateProgram(pid, awarder.address, 2**40 - 1), env.admin)
    env.send(m.award(pid, account.address, MAX_BUCKET, 1, 0, b""), awarder)
    epoch = m.currentEpoch().call()
    assert env.reverts(m.award(pid, account.address, 1, 2, 0, b""), awarder) == (
        "CivicMileageBucketOverflow",
        cid,
        epoch,
    )


# -- awardBatch / importLegacy ------------------------------------------------------------------------


def test_award_batch_credits_and_skips(env: Env, program: tuple, citizen: tuple) -> None:
    m, (pid, awarder), (cid, account) = env["CivicMileage"].functions, program, citizen
    stranger = env.account(5).address
    env.send(m.award(pid, account.address, 1, 7, 0, b""), awarder)
    awards = [
        packed(account.address, 10, 1),
        packed(account.address, 0, 2),
        packed(stranger, 5, 3),
        packed(account.address, 20, 7),
        packed(account.address, 30, 4),
        packed(account.address, 30, 4),
    ]
    deadline = env.now() + 3600
    sig = sign(env, awarder, "AwardBatch", AWARD_BATCH, {"programId": pid, "awards": awards, "deadline": deadline})
    epoch = m.currentEpoch().call()
    fn = m.awardBatch(pid, awards, deadline, sig)
    assert fn.call({"from": env.admin.address}) == 2
    assert env.emitted(fn, env.account(9)) == [
        ("AwardSkipped", {"programId": pid, "ref": 2, "account": account.address, "reason": ZERO_AMOUNT}),
        ("AwardSkipped", {"programId": pid, "ref": 3, "account": stranger, "reason": NOT_ACTIVE}),
        ("AwardSkipped", {"programId": pid, "ref": 7, "account": account.address, "reason": DUPLICATE}),
        ("AwardSkipped", {"programId": pid, "ref": 4, "account": account.address, "reason": DUPLICATE}),
        (
            "PointsAwardedBatch",
            {"programId": pid, "epoch": epoch, "awards": (cid << 96 | 10 << 64 | 1, cid << 96 | 30 << 64 | 4)},
        ),
    ]
    assert m.balanceOf(account.address).call() == 41
    assert m.programOf(pid).call()[2] == 41


def test_award_batch_error_paths(env: Env, program: tuple, citizen: tuple) -> None:
    m, (pid, awarder), (_, account) = env["CivicMileage"].functions, program, citizen
    assert env.reverts(m.awardBatch(pid, [], 0, b""), awarder) == ("CivicMileageInvalidBatchSize", 0)
    big = [packed(account.address, 1, i) for i in range(257)]
    assert env.reverts(m.awardBatch(pid, big, 0, b""), awarder) == ("CivicMileageInvalidBatchSize", 257)
    assert env.reverts(m.awardBatch(pid, big[:1], 0, b""), env.account(5)) == (
        "CivicMileageUnauthorizedAwarder",
        pid,
        env.account(5).address,
    )
    over = [packed(account.address, 600_000, 1), packed(account.address, 400_001, 2)]
    assert env.reverts(m.awardBatch(pid, over, 0, b""), awarder) == (
        "CivicMileageCapExceeded",
        pid,
        1_000_000,
        0,
        1_000_001,
    )
    deadline = env.now() + 3600
    sig = sign(env, awarder, "AwardBatch", AWARD_BATCH, {"programId": pid, "awards": over[:1], "deadline": deadline})
    assert env.reverts(m.awardBatch(pid, over[1:], deadline, sig), env.admin) == (
        "CivicMileageInvalidSignature",
        awarder.address,
    )
    env.send(m.awardBatch(pid, big[:256], 0, b""), awarder)  # MAX_BATCH is accepted
    assert m.balanceOf(account.address).call() == 256


def test_import_legacy(env: Env, program: tuple, citizen: tuple) -> None:
    m, (pid, awarder), (cid, account) = env["CivicMileage"].functions, program, citizen
    stranger = env.account(5).address
    entries = [
        packed(account.address, 5000, 0),
        packed(stranger, 10, 0),
        packed(account.address, 0, 0),
        packed(account.address, 7, 0),
    ]
    deadline = env.now() + 3600
    sig = sign(
        env, awarder, "ImportLegacy", IMPORT_LEGACY, {"programId": pid, "entries": entries, "deadline": deadline}
    )
    epoch = m.currentEpoch().call()
    fn = m.importLegacy(pid, entries, deadline, sig)
    assert fn.call({"from": env.admin.address}) == 1
    assert env.emitted(fn, env.admin) == [
        ("LegacyPointsImported", {"citizenId": cid, "programId": pid, "amount": 5000, "epoch": epoch}),
        ("LegacyImportSkipped", {"programId": pid, "account": stranger, "reason": NOT_ACTIVE}),
        ("LegacyImportSkipped", {"programId": pid, "account": account.address, "reason": ZERO_AMOUNT}),
        ("LegacyImportSkipped", {"programId": pid, "account": account.address, "reason": ALREADY_IMPORTED}),
    ]
    assert m.isLegacyImported(pid, cid).call() is True
    assert m.programOf(pid).call()[2] == 0  # not counted against the cap
    assert env.reverts(m.importLegacy(pid, [], 0, b""), awarder) == ("CivicMileageInvalidBatchSize", 0)
    expired = env.now() - 1
    assert env.reverts(m.importLegacy(pid, entries, expired, sig), env.admin) == (
        "CivicMileageSignatureExpired",
        expired,
    )


# -- merchants ----------------------------------------------------------------------------------------


def test_merchant_lifecycle(env: Env, program: tuple, citizen: tuple) -> None:
    m, (pid, awarder), (_, account) = env["CivicMileage"].functions, program, citizen
    assert env.emitted(m.registerMerchant("Mangwon market", h("biz-1"), 13), env.admin) == [
        (
            "MerchantRegistered",
            {"merchantId": 1, "businessNumberHash": h("biz-1"), "district": 13, "name": "Mangwon market"},
        )
    ]
    assert m.merchantOf(1).call() == (True, 13, 0, 0, h("biz-1"), "Mangwon market")
    assert m.merchantIdOf(h("biz-1")).call() == 1 and m.merchantCount().call() == 1
    assert env.reverts(m.registerMerchant("again", h("biz-1"), 13), env.admin) == (
        "CivicMileageMerchantAlreadyRegistered",
        h("biz-1"),
        1,
    )
    assert env.reverts(m.registerMerchant("", h("b"), 1), env.admin) == ("CivicMileageEmptyName",)
    assert env.reverts(m.registerMerchant("x", ZERO32, 1), env.admin) == ("CivicMileageEmptyBusinessNumberHash",)
    for bad in (0, 26):
        assert env.reverts(m.registerMerchant("x", h("b"), bad), env.admin) == ("CivicMileageInvalidDistrict", bad)
    env.send(m.award(pid, account.address, 300, 1, 0, b""), awarder)
    env.send(redeem(env, account, 1, 120), env.admin)
    assert m.merchantOf(1).call()[2:4] == (120, 120)
    assert env.emitted(m.settleMerchant(1, 202611, 100), env.admin) == [
        ("MerchantSettled", {"merchantId": 1, "period": 202611, "amount": 100, "unsettledAfter": 20})
    ]
    assert env.reverts(m.settleMerchant(1, 202611, 21), env.admin) == (
        "CivicMileageSettlementExceedsUnsettled",
        1,
        20,
        21,
    )
    assert env.reverts(m.settleMerchant(1, 202611, 0), env.admin) == ("CivicMileageZeroAmount",)
    assert env.reverts(m.settleMerchant(2, 202611, 1), env.admin) == ("CivicMileageUnknownMerchant", 2)
    assert env.emitted(m.deactivateMerchant(1), env.admin) == [("MerchantDeactivated", {"merchantId": 1})]
    assert env.reverts(m.deactivateMerchant(1), env.admin) == ("CivicMileageUnknownMerchant", 1)
    assert env.reverts(redeem(env, account, 1, 1), env.admin) == ("CivicMileageUnknownMerchant", 1)
    env.send(m.settleMerchant(1, 202612, 20), env.admin)  # a deactivated merchant can still be settled


# -- redeem -------------------------------------------------------------------------------------------


def test_redeem_spends_and_counts_nonce(env: Env, program: tuple, citizen: tuple, merchant: int) -> None:
    m, (pid, awarder), (cid, account) = env["CivicMileage"].functions, program, citizen
    env.send(m.award(pid, account.address, 300, 1, 0, b""), awarder)
    epoch = m.currentEpoch().call()
    assert env.emitted(redeem(env, account, merchant, 300, order=h("o1")), env.account(9)) == [
        (
            "PointsRedeemed",
            {"citizenId": cid, "merchantId": merchant, "orderRef": h("o1"), "amount": 300, "epoch": epoch},
        )
    ]
    assert m.balanceOf(account.address).call() == 0
    assert m.nonces(account.address).call() == 1


def test_redeem_error_paths(env: Env, program: tuple, citizen: tuple, merchant: int) -> None:
    m, (pid, awarder), (cid, account) = env["CivicMileage"].functions, program, citizen
    env.send(m.award(pid, account.address, 100, 1, 0, b""), awarder)
    stranger = env.account(5)
    expired = env.now() - 1
    assert env.reverts(redeem(env, account, merchant, 1, deadline=expired), env.admin) == (
        "CivicMileageSignatureExpired",
        expired,
    )
    assert env.reverts(redeem(env, account, merchant, 1, signer=stranger), env.admin) == (
        "CivicMileageInvalidSignature",
        account.address,
    )
    assert env.reverts(redeem(env, account, merchant, 0), env.admin) == ("CivicMileageZeroAmount",)
    assert env.reverts(redeem(env, account, 9, 1), env.admin) == ("CivicMileageUnknownMerchant", 9)
    assert env.reverts(redeem(env, stranger, merchant, 1), env.admin) == ("CivicMileageNotCitizen", stranger.address)
    assert env.reverts(redeem(env, account, merchant, 101), env.admin) == (
        "CivicMileageInsufficientBalance",
        cid,
        100,
        101,
    )
    fn = redeem(env, account, merchant, 10)
    env.send(fn, env.admin)
    assert env.reverts(fn, env.admin) == ("CivicMileageInvalidAccountNonce", account.address, 1)
    assert env.reverts(redeem(env, account, merchant, 1, nonce=5), env.admin) == (
        "CivicMileageInvalidAccountNonce",
        account.address,
        1,
    )


def test_redeem_by_suspended_citizen_reverts(env: Env, program: tuple, citizen: tuple, merchant: int) -> None:
    m, (pid, awarder), (cid, account) = env["CivicMileage"].functions, program, citizen
    env.send(m.award(pid, account.address, 100, 1, 0, b""), awarder)
    env.send(act(env, "SuspendCitizen", citizenId=cid, reason=1), env.admin)
    assert env.reverts(redeem(env, account, merchant, 1), env.admin) == (
        "CivicMileageCitizenNotActive",
        cid,
        account.address,
    )


def test_points_expire_oldest_first(env: Env, program: tuple, citizen: tuple, merchant: int) -> None:
    m, (pid, awarder), (cid, account) = env["CivicMileage"].functions, program, citizen
    origin = m.epochPolicy().call()[0]
    e0 = m.currentEpoch().call()
    env.send(m.award(pid, account.address, 100, 1, 0, b""), awarder)  # epoch e0
    env.next_timestamp(origin + (e0 + 1) * EPOCH)
    env.send(m.award(pid, account.address, 50, 2, 0, b""), awarder)  # epoch e0 + 1
    assert m.bucketsOf(cid).call() == [e0 + 1, [50, 100, 0, 0, 0, 0, 0]]
    env.send(redeem(env, account, merchant, 30), env.admin)  # from the e0 bucket
    assert m.bucketsOf(cid).call() == [e0 + 1, [50, 70, 0, 0, 0, 0, 0]]
    env.next_timestamp(origin + (e0 + 6) * EPOCH - 1)  # the last second of e0's validity
    assert m.pointsOf(cid).call() == [120, 0]
    env.next_timestamp(origin + (e0 + 6) * EPOCH)  # e0's points expire
    env.tester.mine_blocks()
    assert m.pointsOf(cid).call() == [50, 70]
    assert env.emitted(redeem(env, account, merchant, 20, order=h("o")), env.admin) == [
        ("PointsExpired", {"citizenId": cid, "epoch": e0, "amount": 70}),
        (
            "PointsRedeemed",
            {"citizenId": cid, "merchantId": merchant, "orderRef": h("o"), "amount": 20, "epoch": e0 + 6},
        ),
    ]
    assert m.pointsOf(cid).call() == [30, 0]


def test_credit_after_seven_epochs_writes_off_the_ring(env: Env, program: tuple, citizen: tuple) -> None:
    m, (pid, awarder), (cid, account) = env["CivicMileage"].functions, program, citizen
    origin, e0 = m.epochPolicy().call()[0], m.currentEpoch().call()
    env.send(m.award(pid, account.address, 100, 1, 0, b""), awarder)
    env.next_timestamp(origin + (e0 + 7) * EPOCH)
    assert env.emitted(m.award(pid, account.address, 5, 2, 0, b""), awarder) == [
        ("PointsExpired", {"citizenId": cid, "epoch": e0, "amount": 100}),
        ("PointsAwarded", {"citizenId": cid, "programId": pid, "ref": 2, "amount": 5, "epoch": e0 + 7}),
    ]
    assert m.bucketsOf(cid).call() == [e0 + 7, [5, 0, 0, 0, 0, 0, 0]]


def test_points_follow_a_key_rotation(env: Env, program: tuple, citizen: tuple, merchant: int) -> None:
    m, (pid, awarder), (_, account) = env["CivicMileage"].functions, program, citizen
    env.send(m.award(pid, account.address, 100, 1, 0, b""), awarder)
    env.send(redeem(env, account, merchant, 10), env.admin)
    new = env.account(17)
    env.send(rotate(env, account, new), env.admin)
    assert m.balanceOf(new.address).call() == 90 and m.balanceOf(account.address).call() == 0
    assert m.nonces(new.address).call() == 1
    env.send(redeem(env, new, merchant, 90), env.admin)
    assert env.reverts(redeem(env, account, merchant, 1, nonce=0), env.admin) == (
        "CivicMileageNotCitizen",
        account.address,
    )


def test_constructor_rejects_zero_addresses(env: Env) -> None:
    registry = env["CitizenRegistry"].address
    assert env.deploy_reverts("CivicMileage", ZERO, registry) == ("CivicMileageZeroAddress",)
    assert env.deploy_reverts("CivicMileage", env.admin.address, ZERO) == ("CivicMileageZeroAddress",)
