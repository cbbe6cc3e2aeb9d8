"""LaborRecords: labour contracts co-signed by employer and worker, weeks confirmed or disputed, wage statements."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from tests.contracts.chain import ZERO, ZERO32, Env, fields, h, register_citizen, role

TERMS = fields(
    "address employer,address worker,bytes32 documentHash,bytes32 workplaceId,uint32 hourlyWage,uint16 dailyMinutes,"
    "uint16 weeklyMinutes,uint8 workDays,uint32 startDate,uint32 endDate,uint8 payCycle,uint8 payDay,"
    "uint16 breakMinutes,bool fiveOrMoreEmployees"
)
LABOR_CONTRACT = [*TERMS, ("uint256", "deadline")]
RECORD_WEEK = fields(
    "bytes32 contractId,uint32 weekStart,uint32 minutesWorked,uint8 daysWorked,bytes32 entriesRoot,uint8 revision,"
    "uint256 deadline"
)
CONFIRM_WEEK = fields(
    "bytes32 contractId,uint32 weekStart,uint8 revision,uint32 minutesWorked,uint8 daysWorked,bytes32 entriesRoot,"
    "uint256 deadline"
)
DISPUTE_WEEK = fields(
    "bytes32 contractId,uint32 weekStart,uint8 revision,uint32 claimedMinutes,uint8 claimedDays,bytes32 reasonHash,"
    "uint256 deadline"
)
STATEMENT = fields(
    "uint32 periodStart,uint32 periodEnd,uint32 paymentDate,bytes32 statementHash,uint64 grossPay,uint64 basePay,"
    "uint64 holidayPay,uint64 overtimePay,uint64 otherPay,uint64 deductions,uint8 revision"
)
RECORD_STATEMENT = [("bytes32", "contractId"), *STATEMENT, ("uint256", "deadline")]
SET_MINIMUM_WAGE = fields("uint16 year,uint32 hourlyWage,address office,uint256 nonce,uint256 deadline")
MONDAY = 20260105
ENTRY_TYPES = ["uint32", "uint16", "uint16", "uint16", "bool"]


def later(env: Env) -> int:
    return env.now() + 3600


def sign(env: Env, who: LocalAccount, primary: str, spec: list, message: dict[str, Any]) -> bytes:
    return env.sign(who, "LaborRecords", primary, spec, {n: message[n] for _, n in spec})


def terms(employer: str, worker: str, **over: Any) -> dict[str, Any]:
    t = {
        "employer": employer,
        "worker": worker,
        "documentHash": h("doc"),
        "workplaceId": h("cafe"),
        "hourlyWage": 10320,
        "dailyMinutes": 480,
        "weeklyMinutes": 2400,
        "workDays": 0b11111,
        "startDate": MONDAY,
        "endDate": 20261231,
        "payCycle": 2,
        "payDay": 10,
        "breakMinutes": 60,
        "fiveOrMoreEmployees": True,
    }
    t.update(over)
    return t


@pytest.fixture
def parties(env: Env) -> tuple[LocalAccount, LocalAccount]:
    employer, worker = env.account(12), env.account(13)
    register_citizen(env, worker)
    return employer, worker


def register(
    env: Env,
    employer: LocalAccount,
    worker: LocalAccount,
    t: dict[str, Any],
    *,
    signers: tuple[LocalAccount, LocalAccount] | None = None,
    deadline: int | None = None,
) -> Any:
    deadline = later(env) if deadline is None else deadline
    e_signer, w_signer = signers or (employer, worker)
    message = {**t, "deadline": deadline}
    sigs = [sign(env, s, "LaborContract", LABOR_CONTRACT, message) for s in (e_signer, w_signer)]
    return env["LaborRecords"].functions.registerContract(tuple(t.values()), deadline, *sigs)


@pytest.fixture
def contract_id(env: Env, parties: tuple[LocalAccount, LocalAccount]) -> bytes:
    employer, worker = parties
    env.send(register(env, employer, worker, terms(employer.address, worker.address)), env.admin)
    return env["LaborRecords"].functions.contractIdOf(employer.address, worker.address, h("doc")).call()


def standard_tree(entries: list[tuple]) -> tuple[bytes, list[bytes], list[bytes]]:
    """OpenZeppelin StandardMerkleTree over ``entries``: root, the tree array and the leaf hashes in entry order."""
    leaves = [keccak(keccak(encode(ENTRY_TYPES, list(e)))) for e in entries]
    ordered = sorted(leaves)
    tree = [b""] * (2 * len(leaves) - 1)
    for i, leaf in enumerate(ordered):
        tree[len(tree) - 1 - i] = leaf
    for i in range(len(tree) - len(leaves) - 1, -1, -1):
        tree[i] = keccak(b"".join(sorted([tree[2 * i + 1], tree[2 * i + 2]])))
    return tree[0], tree, leaves


def proof_of(tree: list[bytes], leaf: bytes) -> list[bytes]:
    i, proof = tree.index(leaf), []
    while i > 0:
        proof.append(tree[i + 1 if i % 2 else i - 1])
        i = (i - 1) // 2
    return proof


def record_week(
    env: Env,
    cid: bytes,
    employer: LocalAccount,
    week_start: int,
    entries: list[tuple],
    *,
    revision: int = 0,
    summary: tuple[int, int, bytes] | None = None,
    deadline: int | None = None,
) -> Any:
    deadline = later(env) if deadline is None else deadline
    if summary is None:
        root = standard_tree(entries)[0] if entries else ZERO32
        minutes = sum(e[2] - e[1] - e[3] for e in entries)
        days = 0
        for e in entries:
            days |= 1 << (e[0] - week_start)  # dates within one month in these tests
        summary = (minutes, days, root)
    message = {
        "contractId": cid,
        "weekStart": week_start,
        "minutesWorked": summary[0],
        "daysWorked": summary[1],
        "entriesRoot": summary[2],
        "revision": revision,
        "deadline": deadline,
    }
    sig = sign(env, employer, "RecordWeek", RECORD_WEEK, message)
    return env["LaborRecords"].functions.recordWeek(cid, (week_start, revision, entries), deadline, sig)


SHIFTS = [(MONDAY, 540, 1080, 60, False), (MONDAY + 1, 540, 780, 0, False), (MONDAY + 6, 1320, 1800, 30, True)]


# -- minimum wage -------------------------------------------------------------------------------------


def test_preloaded_minimum_wages(env: Env) -> None:
    labor = env["LaborRecords"].functions
    assert labor.minimumWageOf(2019).call() == 8350
    assert labor.minimumWageOf(2026).call() == 10320
    assert labor.minimumWageOf(2030).call() == 10320  # latest value after the table
    assert env.call_reverts(labor.minimumWageOf(2018)) == ("LaborRecordsMinimumWageUnknown", 2018)
    assert labor.LABOR_OFFICE_ROLE().call() == role("LABOR_OFFICE_ROLE")


def set_wage(
    env: Env,
    office: LocalAccount,
    year: int,
    wage: int,
    *,
    signer: LocalAccount | None = None,
    nonce: int | None = None,
    deadline: int | None = None,
) -> Any:
    labor = env["LaborRecords"]
    nonce = labor.functions.nonces(office.address).call() if nonce is None else nonce
    deadline = later(env) if deadline is None else deadline
    message = {"year": year, "hourlyWage": wage, "office": office.address, "nonce": nonce, "deadline": deadline}
    sig = sign(env, signer or office, "SetMinimumWage", SET_MINIMUM_WAGE, message)
    return labor.functions.setMinimumWage(year, wage, office.address, nonce, deadline, sig)


def test_set_minimum_wage(env: Env) -> None:
    labor = env["LaborRecords"].functions
    assert env.emitted(set_wage(env, env.admin, 2027, 10800), env.account(9)) == [
        ("MinimumWageSet", {"year": 2027, "hourlyWage": 10800, "office": env.admin.address})
    ]
    assert labor.minimumWageOf(2027).call() == 10800
    assert labor.minimumWageOf(2040).call() == 10800
    env.send(set_wage(env, env.admin, 2020, 9000), env.admin)  # an earlier year does not move the latest
    assert labor.minimumWageOf(2040).call() == 10800


def test_set_minimum_wage_error_paths(env: Env) -> None:
    office, outsider = env.admin, env.account(5)
    expired = env.now() - 1
    assert env.reverts(set_wage(env, office, 2027, 1, deadline=expired), office) == (
        "LaborRecordsSignatureExpired",
        expired,
    )
    assert env.reverts(set_wage(env, outsider, 2027, 1), office) == ("LaborRecordsUnauthorizedOffice", outsider.address)
    assert env.reverts(set_wage(env, office, 2027, 1, signer=outsider), office) == (
        "LaborRecordsInvalidSignature",
        office.address,
    )
    assert env.reverts(set_wage(env, office, 2027, 1, nonce=3), office) == ("InvalidAccountNonce", office.address, 0)
    assert env.reverts(set_wage(env, office, 2018, 1), office) == ("LaborRecordsInvalidYear", 2018)
    assert env.reverts(set_wage(env, office, 10000, 1), office) == ("LaborRecordsInvalidYear", 10000)
    assert env.reverts(set_wage(env, office, 2027, 0), office) == ("LaborRecordsMissingTerm", 5, "hourlyWage")
    fn = set_wage(env, office, 2027, 11000)
    env.send(fn, office)
    assert env.reverts(fn, office) == ("InvalidAccountNonce", office.address, 1)


# -- registerContract ---------------------------------------------------------------------------------


def test_register_contract(env: Env, parties: tuple[LocalAccount, LocalAccount]) -> None:
    labor, (employer, worker) = env["LaborRecords"].functions, parties
    t = terms(employer.address, worker.address)
    cid = labor.contractIdOf(employer.address, worker.address, h("doc")).call()
    assert cid == keccak(encode(["address", "address", "bytes32"], [employer.address, worker.address, h("doc")]))
    assert env.emitted(register(env, employer, worker, t), env.account(9)) == [
        (
            "LaborContractRegistered",
            {"contractId": cid, "employer": employer.address, "worker": worker.address, "terms": t},
        )
    ]
    assert labor.contractOf(cid).call() == (
        employer.address,
        10320,
        480,
        2400,
        0b11111,
        2,
        10,
        True,
        worker.address,
        MONDAY,
        20261231,
        60,
        h("doc"),
    )
    assert env.reverts(register(env, employer, worker, t), env.admin) == ("LaborRecordsAlreadyRegistered", cid)


MISSING = [
    ("documentHash", 3),
    ("workplaceId", 4),
    ("hourlyWage", 5),
    ("dailyMinutes", 6),
    ("weeklyMinutes", 7),
    ("workDays", 8),
    ("startDate", 9),
    ("endDate", 10),
    ("payCycle", 11),
    ("payDay", 12),
]


@pytest.mark.parametrize(("term", "position"), MISSING)
def test_register_rejects_missing_term(env: Env, parties: tuple, term: str, position: int) -> None:
    employer, worker = parties
    zero = ZERO32 if term in ("documentHash", "workplaceId") else 0
    fn = register(env, employer, worker, terms(employer.address, worker.address, **{term: zero}))
    assert env.reverts(fn, env.admin) == ("LaborRecordsMissingTerm", position, term)


@pytest.mark.parametrize(
    ("over", "error"),
    [
        ({"dailyMinutes": 1441}, ("LaborRecordsInvalidTerm", 1441, "dailyMinutes")),
        ({"weeklyMinutes": 10081}, ("LaborRecordsInvalidTerm", 10081, "weeklyMinutes")),
        ({"breakMinutes": 1441}, ("LaborRecordsInvalidTerm", 1441, "breakMinutes")),
        ({"workDays": 128}, ("LaborRecordsInvalidTerm", 128, "workDays")),
        ({"payCycle": 3}, ("LaborRecordsInvalidTerm", 3, "payCycle")),
        ({"payCycle": 1, "payDay": 8}, ("LaborRecordsInvalidTerm", 8, "payDay")),
        ({"payDay": 32}, ("LaborRecordsInvalidTerm", 32, "payDay")),
        ({"startDate": 20260230}, ("LaborRecordsInvalidDate", 20260230)),
        ({"startDate": 19691231}, ("LaborRecordsInvalidDate", 19691231)),
        ({"endDate": 20261301}, ("LaborRecordsInvalidDate", 20261301)),
        ({"endDate": 20260104}, ("LaborRecordsEndBeforeStart", MONDAY, 20260104)),
        ({"hourlyWage": 10319}, ("LaborRecordsBelowMinimumWage", 10319, 10320, 2026)),
        ({"startDate": 20181231, "endDate": 20190101}, ("LaborRecordsMinimumWageUnknown", 2018)),
    ],
)
def test_register_rejects_invalid_terms(env: Env, parties: tuple, over: dict, error: tuple) -> None:
    employer, worker = parties
    assert (
        env.reverts(register(env, employer, worker, terms(employer.address, worker.address, **over)), env.admin)
        == error
    )


def test_register_accepts_boundaries(env: Env, parties: tuple) -> None:
    employer, worker = parties
    t = terms(
        employer.address,
        worker.address,
        hourlyWage=10320,
        dailyMinutes=1440,
        weeklyMinutes=10080,
        workDays=127,
        payCycle=1,
        payDay=7,
        startDate=20240229,
        endDate=99991231,
        breakMinutes=1440,
    )
    env.send(register(env, employer, worker, t), env.admin)
    t2 = terms(employer.address, worker.address, documentHash=h("doc2"), startDate=20260101, endDate=20260101)
    env.send(register(env, employer, worker, t2), env.admin)


def test_register_party_and_signature_errors(env: Env, parties: tuple) -> None:
    employer, worker = parties
    stranger = env.account(14)
    t = terms(employer.address, worker.address)
    expired = env.now() - 1
    assert env.reverts(register(env, employer, worker, t, deadline=expired), env.admin) == (
        "LaborRecordsSignatureExpired",
        expired,
    )
    assert env.reverts(register(env, employer, worker, terms(ZERO, worker.address)), env.admin) == (
        "LaborRecordsZeroAddress",
    )
    assert env.reverts(register(env, worker, worker, terms(worker.address, worker.address)), env.admin) == (
        "LaborRecordsSelfEmployment",
        worker.address,
    )
    assert env.reverts(register(env, employer, worker, t, signers=(stranger, worker)), env.admin) == (
        "LaborRecordsInvalidSignature",
        employer.address,
    )
    assert env.reverts(register(env, employer, worker, t, signers=(employer, stranger)), env.admin) == (
        "LaborRecordsInvalidSignature",
        worker.address,
    )
    t3 = terms(employer.address, stranger.address)
    assert env.reverts(register(env, employer, stranger, t3), env.admin) == (
        "LaborRecordsWorkerNotCitizen",
        stranger.address,
    )


# -- weeks --------------------------------------------------------------------------------------------


def test_record_and_confirm_week(env: Env, parties: tuple, contract_id: bytes) -> None:
    labor, (employer, worker) = env["LaborRecords"].functions, parties
    root, tree, leaves = standard_tree(SHIFTS)
    minutes = 480 + 240 + 450
    events = env.emitted(record_week(env, contract_id, employer, MONDAY, SHIFTS), env.account(9))
    assert events == [
        (
            "WeekRecorded",
            {
                "contractId": contract_id,
                "weekStart": MONDAY,
                "revision": 0,
                "minutesWorked": minutes,
                "daysWorked": 0b1000011,
                "entriesRoot": root,
                "entries": tuple(
                    dict(zip(("date", "startMinute", "endMinute", "breakMinutes", "holiday"), e, strict=True))
                    for e in SHIFTS
                ),
            },
        )
    ]
    assert labor.weekOf(contract_id, MONDAY).call() == (minutes, 0b1000011, 1, 0, root)
    entry = encode(ENTRY_TYPES, list(SHIFTS[2]))
    assert labor.verifyDailyEntry(contract_id, MONDAY, entry, proof_of(tree, leaves[2])).call() is True
    assert labor.verifyDailyEntry(contract_id, MONDAY, entry, proof_of(tree, leaves[0])).call() is False
    deadline = later(env)
    message = {
        "contractId": contract_id,
        "weekStart": MONDAY,
        "revision": 0,
        "minutesWorked": minutes,
        "daysWorked": 0b1000011,
        "entriesRoot": root,
        "deadline": deadline,
    }
    bad = sign(env, employer, "ConfirmWeek", CONFIRM_WEEK, message)
    assert env.reverts(labor.confirmWeek(contract_id, MONDAY, deadline, bad), env.admin) == (
        "LaborRecordsInvalidSignature",
        worker.address,
    )
    sig = sign(env, worker, "ConfirmWeek", CONFIRM_WEEK, message)
    assert env.emitted(labor.confirmWeek(contract_id, MONDAY, deadline, sig), env.admin) == [
        ("WeekConfirmed", {"contractId": contract_id, "weekStart": MONDAY, "revision": 0, "worker": worker.address})
    ]
    assert labor.weekOf(contract_id, MONDAY).call()[2] == 2
    assert env.reverts(labor.confirmWeek(contract_id, MONDAY, deadline, sig), env.admin) == (
        "LaborRecordsWeekAlreadySettled",
        contract_id,
        MONDAY,
        2,
    )
    assert env.reverts(record_week(env, contract_id, employer, MONDAY, SHIFTS), env.admin) == (
        "LaborRecordsWeekAlreadyRecorded",
        contract_id,
        MONDAY,
        2,
    )


def test_empty_week_has_zero_root(env: Env, parties: tuple, contract_id: bytes) -> None:
    employer = parties[0]
    assert (
        env.emitted(record_week(env, contract_id, employer, MONDAY + 7, []), env.admin)[0][1]["entriesRoot"] == ZERO32
    )
    assert env["LaborRecords"].functions.verifyDailyEntry(contract_id, MONDAY + 14, b"", []).call() is False


def dispute(
    env: Env,
    cid: bytes,
    worker: LocalAccount,
    revision: int,
    minutes: int,
    days: int,
    signer: LocalAccount | None = None,
) -> Any:
    deadline = later(env)
    message = {
        "contractId": cid,
        "weekStart": MONDAY,
        "revision": revision,
        "claimedMinutes": minutes,
        "claimedDays": days,
        "reasonHash": h("why"),
        "deadline": deadline,
    }
    sig = sign(env, signer or worker, "DisputeWeek", DISPUTE_WEEK, message)
    return env["LaborRecords"].functions.disputeWeek(cid, MONDAY, revision, minutes, days, h("why"), deadline, sig)


def test_dispute_then_rerecord(env: Env, parties: tuple, contract_id: bytes) -> None:
    labor, (employer, worker) = env["LaborRecords"].functions, parties
    env.send(record_week(env, contract_id, employer, MONDAY, SHIFTS), env.admin)
    assert env.reverts(dispute(env, contract_id, worker, 1, 600, 3), env.admin) == ("LaborRecordsWrongRevision", 0, 1)
    assert env.reverts(dispute(env, contract_id, worker, 0, 10081, 3), env.admin) == (
        "LaborRecordsInvalidWeek",
        MONDAY,
        10081,
        3,
    )
    assert env.reverts(dispute(env, contract_id, worker, 0, 600, 128), env.admin) == (
        "LaborRecordsInvalidWeek",
        MONDAY,
        600,
        128,
    )
    assert env.reverts(dispute(env, contract_id, worker, 0, 600, 3, signer=employer), env.admin) == (
        "LaborRecordsInvalidSignature",
        worker.address,
    )
    assert env.emitted(dispute(env, contract_id, worker, 0, 1500, 0b1000011), env.admin) == [
        (
            "WeekDisputed",
            {
                "contractId": contract_id,
                "weekStart": MONDAY,
                "revision": 0,
                "claimedMinutes": 1500,
                "claimedDays": 0b1000011,
                "reasonHash": h("why"),
                "worker": worker.address,
            },
        )
    ]
    assert env.reverts(dispute(env, contract_id, worker, 0, 1500, 3), env.admin) == (
        "LaborRecordsWeekAlreadySettled",
        contract_id,
        MONDAY,
        3,
    )
    assert env.reverts(record_week(env, contract_id, employer, MONDAY, SHIFTS), env.admin) == (
        "LaborRecordsWrongRevision",
        1,
        0,
    )
    env.send(record_week(env, contract_id, employer, MONDAY, SHIFTS[:1], revision=1), env.admin)
    assert labor.weekOf(contract_id, MONDAY).call()[:4] == (480, 1, 1, 1)


def test_record_week_error_paths(env: Env, parties: tuple, contract_id: bytes) -> None:
    employer, worker = parties
    expired = env.now() - 1
    assert env.reverts(record_week(env, contract_id, employer, MONDAY, SHIFTS, deadline=expired), env.admin) == (
        "LaborRecordsSignatureExpired",
        expired,
    )
    assert env.reverts(record_week(env, h("none"), employer, MONDAY, SHIFTS), env.admin) == (
        "LaborRecordsUnknownContract",
        h("none"),
    )
    assert env.reverts(record_week(env, contract_id, employer, MONDAY + 1, []), env.admin) == (
        "LaborRecordsNotMonday",
        MONDAY + 1,
    )
    assert env.reverts(record_week(env, contract_id, employer, 20260132, []), env.admin) == (
        "LaborRecordsInvalidDate",
        20260132,
    )
    assert env.reverts(record_week(env, contract_id, worker, MONDAY, SHIFTS), env.admin) == (
        "LaborRecordsInvalidSignature",
        employer.address,
    )
    # a summary other than the one the contract derives is a signature of something else
    fn = record_week(env, contract_id, employer, MONDAY, SHIFTS, summary=(9999, 0b1000011, standard_tree(SHIFTS)[0]))
    assert env.reverts(fn, env.admin) == ("LaborRecordsInvalidSignature", employer.address)
    assert env.reverts(record_week(env, contract_id, employer, 20251229, []), env.admin) == (
        "LaborRecordsOutsideContract",
        contract_id,
        20251229,
    )
    assert env.reverts(record_week(env, contract_id, employer, 20270104, []), env.admin) == (
        "LaborRecordsOutsideContract",
        contract_id,
        20270104,
    )


@pytest.mark.parametrize(
    ("entries", "bad"),
    [
        ([(MONDAY + 7, 540, 600, 0, False)], 0),  # after the week
        ([(MONDAY - 1, 540, 600, 0, False)], 0),  # before the week
        ([(MONDAY, 1440, 1500, 0, False)], 0),  # start at 24:00
        ([(MONDAY, 600, 600, 0, False)], 0),  # ends when it starts
        ([(MONDAY, 600, 2041, 0, False)], 0),  # longer than 24 h
        ([(MONDAY, 600, 660, 60, False)], 0),  # break as long as the shift
        ([(MONDAY, 540, 1080, 0, False), (MONDAY, 1000, 1100, 0, False)], 1),  # overlaps the previous shift
        ([(MONDAY + 1, 540, 600, 0, False), (MONDAY, 540, 600, 0, False)], 1),  # out of order
    ],
)
def test_record_week_rejects_invalid_entries(
    env: Env, parties: tuple, contract_id: bytes, entries: list, bad: int
) -> None:
    fn = record_week(env, contract_id, parties[0], MONDAY, entries, summary=(0, 0, ZERO32))
    e = entries[bad]
    assert env.reverts(fn, env.admin) == ("LaborRecordsInvalidEntry", MONDAY, bad, e[0], e[1], e[2], e[3])


def test_record_week_rejects_more_than_a_week_of_minutes(env: Env, parties: tuple, contract_id: bytes) -> None:
    entries = [(MONDAY + d, 0, 1440, 0, False) for d in range(7)] + [(MONDAY + 6, 1440 - 1, 1440 + 1, 0, False)]
    entries[-2] = (MONDAY + 6, 0, 1439, 0, False)
    fn = record_week(env, contract_id, parties[0], MONDAY, entries, summary=(0, 0, ZERO32))
    assert env.reverts(fn, env.admin) == ("LaborRecordsInvalidWeek", MONDAY, 10081, 127)


def test_confirm_and_dispute_unknown(env: Env, parties: tuple, contract_id: bytes) -> None:
    labor, worker = env["LaborRecords"].functions, parties[1]
    deadline = later(env)
    assert env.reverts(labor.confirmWeek(h("none"), MONDAY, deadline, b""), env.admin) == (
        "LaborRecordsUnknownContract",
        h("none"),
    )
    assert env.reverts(labor.confirmWeek(contract_id, MONDAY, deadline, b""), env.admin) == (
        "LaborRecordsUnknownWeek",
        contract_id,
        MONDAY,
    )
    assert env.reverts(dispute(env, contract_id, worker, 0, 1, 1), env.admin) == (
        "LaborRecordsUnknownWeek",
        contract_id,
        MONDAY,
    )
    expired = env.now() - 1
    assert env.reverts(labor.confirmWeek(contract_id, MONDAY, expired, b""), env.admin) == (
        "LaborRecordsSignatureExpired",
        expired,
    )


# -- wage statements ----------------------------------------------------------------------------------


def statement(**over: Any) -> dict[str, Any]:
    s = {
        "periodStart": 20260101,
        "periodEnd": 20260131,
        "paymentDate": 20260210,
        "statementHash": h("stmt"),
        "grossPay": 1_000_000,
        "basePay": 800_000,
        "holidayPay": 150_000,
        "overtimePay": 40_000,
        "otherPay": 10_000,
        "deductions": 90_000,
        "revision": 0,
    }
    s.update(over)
    return s


def record_statement(env: Env, cid: bytes, employer: LocalAccount, s: dict[str, Any]) -> Any:
    deadline = later(env)
    sig = sign(env, employer, "RecordWageStatement", RECORD_STATEMENT, {**s, "contractId": cid, "deadline": deadline})
    return env["LaborRecords"].functions.recordWageStatement(cid, tuple(s.values()), deadline, sig)


def test_record_wage_statement_and_correction(env: Env, parties: tuple, contract_id: bytes) -> None:
    labor, employer = env["LaborRecords"].functions, parties[0]
    s = statement()
    assert env.emitted(record_statement(env, contract_id, employer, s), env.admin) == [
        ("WageStatementRecorded", {"contractId": contract_id, "periodStart": 20260101, "statement": s})
    ]
    assert labor.statementOf(contract_id, 20260101).call() == (
        h("stmt"),
        1_000_000,
        90_000,
        20260131,
        20260210,
        0,
        True,
    )
    assert env.reverts(record_statement(env, contract_id, employer, s), env.admin) == (
        "LaborRecordsWrongRevision",
        1,
        0,
    )
    env.send(record_statement(env, contract_id, employer, statement(revision=1, deductions=0)), env.admin)
    assert labor.statementOf(contract_id, 20260101).call()[2] == 0


@pytest.mark.parametrize(
    ("over", "error"),
    [
        ({"statementHash": ZERO32}, ("LaborRecordsEmptyStatementHash",)),
        ({"periodEnd": 20251231}, ("LaborRecordsInvalidPeriod", 20260101, 20251231, 20260210)),
        ({"paymentDate": 20251231}, ("LaborRecordsInvalidPeriod", 20260101, 20260131, 20251231)),
        ({"periodStart": 20251201, "periodEnd": 20251231}, ("LaborRecordsOutsideContract", None, 20251201)),
        (
            {"periodStart": 20270101, "periodEnd": 20270131, "paymentDate": 20270210},
            ("LaborRecordsOutsideContract", None, 20270101),
        ),
        ({"grossPay": 999_999}, ("LaborRecordsGrossMismatch", 999_999, 1_000_000)),
        ({"deductions": 1_000_001}, ("LaborRecordsDeductionsExceedGross", 1_000_001, 1_000_000)),
        ({"revision": 1}, ("LaborRecordsWrongRevision", 0, 1)),
        ({"periodEnd": 20260132}, ("LaborRecordsInvalidDate", 20260132)),
    ],
)
def test_record_wage_statement_rejects(env: Env, parties: tuple, contract_id: bytes, over: dict, error: tuple) -> None:
    expected = tuple(contract_id if v is None else v for v in error)
    assert env.reverts(record_statement(env, contract_id, parties[0], statement(**over)), env.admin) == expected


def test_record_wage_statement_signature_errors(env: Env, parties: tuple, contract_id: bytes) -> None:
    employer, worker = parties
    assert env.reverts(record_statement(env, contract_id, worker, statement()), env.admin) == (
        "LaborRecordsInvalidSignature",
        employer.address,
    )
    assert env.reverts(record_statement(env, h("none"), employer, statement()), env.admin) == (
        "LaborRecordsUnknownContract",
        h("none"),
    )


def test_typehashes(env: Env) -> None:
    labor = env["LaborRecords"].functions
    for name, primary, spec in (
        ("LABOR_CONTRACT", "LaborContract", LABOR_CONTRACT),
        ("RECORD_WEEK", "RecordWeek", RECORD_WEEK),
        ("CONFIRM_WEEK", "ConfirmWeek", CONFIRM_WEEK),
        ("DISPUTE_WEEK", "DisputeWeek", DISPUTE_WEEK),
        ("RECORD_WAGE_STATEMENT", "RecordWageStatement", RECORD_STATEMENT),
        ("SET_MINIMUM_WAGE", "SetMinimumWage", SET_MINIMUM_WAGE),
    ):
        text = f"{primary}({','.join(f'{t} {n}' for t, n in spec)})"
        assert getattr(labor, f"{name}_TYPEHASH")().call() == keccak(text=text)


def test_constructor_rejects_zero_addresses(env: Env) -> None:
    registry = env["CitizenRegistry"].address
    assert env.deploy_reverts("LaborRecords", ZERO, registry) == ("LaborRecordsZeroAddress",)
    assert env.deploy_reverts("LaborRecords", env.admin.address, ZERO) == ("LaborRecordsZeroAddress",)
