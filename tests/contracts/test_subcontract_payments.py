"""SubcontractPayments: projects funded in KRW buckets, claims confirmed, approved and settled straight to payees."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from tests.contracts.chain import ZERO, ZERO32, Env, fields, h, register_citizen, role
from tests.contracts.chain import citizen_action as registrar_act
from tests.contracts.chain import rotate_key as rotate

PARTICIPANT = fields("address account,uint8 role,address employer,uint256 contractAmount")
LINE = fields("address payee,uint8 purpose,uint256 amount,bytes32 evidence")
ACTIONS: dict[str, tuple[str, str, str]] = {
    # primary type: (function, signer field, fields)
    "RegisterProject": (
        "registerProject",
        "client",
        "bytes32 projectRef,address prime,uint256 contractAmount,"
        "Participant[] participants,address client,uint256 nonce,uint256 deadline",
    ),
    "AddParticipants": (
        "addParticipants",
        "client",
        "uint256 projectId,Participant[] participants,address client,uint256 nonce,uint256 deadline",
    ),
    "FundProject": (
        "fund",
        "client",
        "uint256 projectId,uint8 purpose,uint256 amount,address client,uint256 nonce,uint256 deadline",
    ),
    "SubmitClaim": (
        "submitClaim",
        "prime",
        "uint256 projectId,Line[] lines,address prime,uint256 nonce,uint256 deadline",
    ),
    "ConfirmLines": (
        "confirmLines",
        "confirmer",
        "uint256 claimId,uint256 lines,address confirmer,uint256 nonce,uint256 deadline",
    ),
    "ApproveClaim": ("approveClaim", "inspector", "uint256 claimId,address inspector,uint256 nonce,uint256 deadline"),
    "DirectPayment": (
        "directPay",
        "client",
        "uint256 claimId,uint256 line,uint8 ground,address client,uint256 nonce,uint256 deadline",
    ),
    "CloseProject": ("closeProject", "client", "uint256 projectId,address client,uint256 nonce,uint256 deadline"),
    "Withdraw": ("withdrawTo", "", "address payee,address to,uint256 nonce,uint256 deadline"),
}
LABOUR, SUBCONTRACT, MATERIAL, EQUIPMENT, PRIME = 1, 2, 3, 4, 5
R_PRIME, R_SUB, R_SUPPLIER, R_WORKER = 1, 2, 3, 4
DAY = 24 * 3600


def act(
    env: Env,
    primary: str,
    signer: LocalAccount,
    *,
    nonce: int | None = None,
    deadline: int | None = None,
    sign_as: LocalAccount | None = None,
    **values: Any,
) -> Any:
    """Action ``primary`` with ``values`` (the signer field filled with ``signer``), signed by ``sign_as or signer``."""
    pay = env["SubcontractPayments"]
    function, who, spec = ACTIONS[primary]
    spec_fields = fields(spec)
    if who:
        values[who] = signer.address
    values["nonce"] = pay.functions.nonces(signer.address).call() if nonce is None else nonce
    values["deadline"] = env.now() + 3600 if deadline is None else deadline
    message = {n: values[n] for _, n in spec_fields}
    extra = {}
    if "participants" in message:
        extra["Participant"] = PARTICIPANT
        message["participants"] = [
            dict(zip(("account", "role", "employer", "contractAmount"), p, strict=True))
            for p in message["participants"]
        ]
    if "lines" in message and primary == "SubmitClaim":
        extra["Line"] = LINE
        message["lines"] = [
            dict(zip(("payee", "purpose", "amount", "evidence"), p, strict=True)) for p in message["lines"]
        ]
    sig = env.sign(sign_as or signer, "SubcontractPayments", primary, spec_fields, message, extra_types=extra)
    return getattr(pay.functions, function)(*(values[n] for _, n in spec_fields), sig)


class World:
    def __init__(self, env: Env) -> None:
        self.client, self.inspector, self.prime = env.account(18), env.account(19), env.account(20)
        self.sub, self.supplier = env.account(21), env.account(22)
        self.worker, self.sub_worker = env.account(6), env.account(7)  # of the prime, of the subcontractor


@pytest.fixture
def w(env: Env) -> World:
    w, pay, won = World(env), env["SubcontractPayments"], env["CivicWon"]
    env.send(pay.functions.grantRole(role("CLIENT_ROLE"), w.client.address), env.admin)
    env.send(pay.functions.grantRole(role("INSPECTOR_ROLE"), w.inspector.address), env.admin)
    for worker in (w.worker, w.sub_worker):
        register_citizen(env, worker)
    env.send(won.functions.mint(w.client.address, 100_000_000), env.admin)
    env.send(won.functions.approve(pay.address, 2**256 - 1), w.client)
    return w


def participants(w: World) -> list[tuple]:
    return [
        (w.sub.address, R_SUB, ZERO, 30_000_000),
        (w.supplier.address, R_SUPPLIER, ZERO, 5_000_000),
        (w.worker.address, R_WORKER, w.prime.address, 0),
        (w.sub_worker.address, R_WORKER, w.sub.address, 0),
    ]


@pytest.fixture
def project(env: Env, w: World) -> int:
    """Project 1 with every participant, each bucket funded with 10,000,000."""
    env.send(
        act(
            env,
            "RegisterProject",
            w.client,
            projectRef=h("road"),
            prime=w.prime.address,
            contractAmount=50_000_000,
            participants=participants(w),
        ),
        env.admin,
    )
    for purpose in (LABOUR, SUBCONTRACT, MATERIAL, EQUIPMENT, PRIME):
        env.send(act(env, "FundProject", w.client, projectId=1, purpose=purpose, amount=10_000_000), env.admin)
    return 1


def claim_lines(w: World) -> list[tuple]:
    return [
        (w.worker.address, LABOUR, 1_000, h("e0")),  # prime's worker: no confirmation
        (w.sub_worker.address, LABOUR, 2_000, h("e1")),  # the subcontractor confirms
        (w.sub.address, SUBCONTRACT, 3_000_000, h("e2")),  # the prime confirms
        (w.supplier.address, MATERIAL, 400_000, h("e3")),
        (w.prime.address, PRIME, 500_000, h("e4")),
    ]


def submit(env: Env, w: World, project: int, lines: list[tuple] | None = None) -> int:
    env.send(act(env, "SubmitClaim", w.prime, projectId=project, lines=lines or claim_lines(w)), env.admin)
    return int(env["SubcontractPayments"].functions.claimCount().call())


# -- constants ----------------------------------------------------------------------------------------


def test_typehashes_and_wiring(env: Env) -> None:
    pay = env["SubcontractPayments"].functions
    names = {
        "RegisterProject": "REGISTER_PROJECT",
        "AddParticipants": "ADD_PARTICIPANTS",
        "FundProject": "FUND_PROJECT",
        "SubmitClaim": "SUBMIT_CLAIM",
        "ConfirmLines": "CONFIRM_LINES",
        "ApproveClaim": "APPROVE_CLAIM",
        "DirectPayment": "DIRECT_PAYMENT",
        "CloseProject": "CLOSE_PROJECT",
        "Withdraw": "WITHDRAW",
    }
    participant = "Participant(address account,uint8 role,address employer,uint256 contractAmount)"
    line = "Line(address payee,uint8 purpose,uint256 amount,bytes32 evidence)"
    for primary, (_, _, spec) in ACTIONS.items():
        text = (
            f"{primary}({spec})" + (participant if "Participant[]" in spec else "") + (line if "Line[]" in spec else "")
        )
        assert getattr(pay, f"{names[primary]}_TYPEHASH")().call() == keccak(text=text)
    assert pay.PARTICIPANT_TYPEHASH().call() == keccak(text=participant)
    assert pay.LINE_TYPEHASH().call() == keccak(text=line)
    assert pay.token().call() == env["CivicWon"].address
    assert pay.registry().call() == env["CitizenRegistry"].address


# -- projects -----------------------------------------------------------------------------------------


def test_register_project_emits_every_participant(env: Env, w: World) -> None:
    pay = env["SubcontractPayments"].functions
    receipt = env.send(
        act(
            env,
            "RegisterProject",
            w.client,
            projectRef=h("road"),
            prime=w.prime.address,
            contractAmount=50_000_000,
            participants=participants(w),
        ),
        env.account(9),
    )
    assert env.events(receipt) == [
        (
            "ProjectRegistered",
            {
                "projectId": 1,
                "client": w.client.address,
                "prime": w.prime.address,
                "projectRef": h("road"),
                "contractAmount": 50_000_000,
            },
        ),
        (
            "ParticipantRegistered",
            {
                "projectId": 1,
                "account": w.prime.address,
                "role": R_PRIME,
                "employer": ZERO,
                "contractAmount": 50_000_000,
            },
        ),
        *[
            ("ParticipantRegistered", {"projectId": 1, "account": a, "role": r, "employer": e, "contractAmount": c})
            for a, r, e, c in participants(w)
        ],
    ]
    ts = env.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert pay.projectOf(1).call() == (w.client.address, w.prime.address, ts, False, 0)
    assert pay.participantOf(1, w.sub_worker.address).call() == [R_WORKER, w.sub.address, 0]
    assert pay.participantOf(1, env.account(5).address).call() == [0, ZERO, 0]
    assert pay.projectCount().call() == 1


def test_register_project_error_paths(env: Env, w: World) -> None:
    base = {"projectRef": h("r"), "prime": w.prime.address, "contractAmount": 1}
    outsider = env.account(5)

    def reg(ps: list[tuple], signer: LocalAccount = w.client, **over: Any) -> Any:
        return act(env, "RegisterProject", signer, **{**base, "participants": ps, **over})

    assert env.reverts(reg([], outsider), env.admin) == (
        "SubcontractPaymentsUnauthorized",
        outsider.address,
        role("CLIENT_ROLE"),
    )
    assert env.reverts(reg([], sign_as=outsider), env.admin) == (
        "SubcontractPaymentsInvalidSignature",
        w.client.address,
    )
    expired = env.now() - 1
    assert env.reverts(reg([], deadline=expired), env.admin) == ("SubcontractPaymentsSignatureExpired", expired)
    assert env.reverts(reg([], nonce=1), env.admin) == ("InvalidAccountNonce", w.client.address, 0)
    assert env.reverts(reg([], prime=ZERO), env.admin) == ("SubcontractPaymentsZeroAddress",)
    assert env.reverts(reg([], contractAmount=2**88), env.admin) == ("SubcontractPaymentsInvalidAmount", 2**88)
    a = env.account(3).address
    cases = [
        ([(ZERO, R_SUB, ZERO, 0)], ("SubcontractPaymentsZeroAddress",)),
        ([(w.prime.address, R_SUB, ZERO, 0)], ("SubcontractPaymentsAlreadyParticipant", 1, w.prime.address)),
        ([(a, R_SUB, ZERO, 0), (a, R_SUPPLIER, ZERO, 0)], ("SubcontractPaymentsAlreadyParticipant", 1, a)),
        ([(a, R_PRIME, ZERO, 0)], ("SubcontractPaymentsInvalidRole", a, R_PRIME)),
        ([(a, 0, ZERO, 0)], ("SubcontractPaymentsInvalidRole", a, 0)),
        ([(a, 5, ZERO, 0)], ("SubcontractPaymentsInvalidRole", a, 5)),
        ([(a, R_SUB, w.prime.address, 0)], ("SubcontractPaymentsInvalidEmployer", a, w.prime.address)),
        (
            [(w.worker.address, R_WORKER, w.sub.address, 0)],
            ("SubcontractPaymentsInvalidEmployer", w.worker.address, w.sub.address),
        ),
        ([(a, R_WORKER, w.prime.address, 0)], ("SubcontractPaymentsNotActiveCitizen", a)),
        ([(a, R_SUB, ZERO, 2**88)], ("SubcontractPaymentsInvalidAmount", 2**88)),
    ]
    for ps, error in cases:
        assert env.reverts(reg(ps), env.admin) == error


def test_add_participants(env: Env, w: World, project: int) -> None:
    new = env.account(3).address
    assert env.emitted(
        act(env, "AddParticipants", w.client, projectId=project, participants=[(new, R_SUPPLIER, ZERO, 7)]), env.admin
    ) == [
        (
            "ParticipantRegistered",
            {"projectId": project, "account": new, "role": R_SUPPLIER, "employer": ZERO, "contractAmount": 7},
        )
    ]
    other = env.account(4)
    env.send(env["SubcontractPayments"].functions.grantRole(role("CLIENT_ROLE"), other.address), env.admin)
    assert env.reverts(act(env, "AddParticipants", other, projectId=project, participants=[]), env.admin) == (
        "SubcontractPaymentsUnauthorized",
        other.address,
        role("CLIENT_ROLE"),
    )
    assert env.reverts(act(env, "AddParticipants", w.client, projectId=9, participants=[]), env.admin) == (
        "SubcontractPaymentsUnknownProject",
        9,
    )


def test_fund_moves_won_into_bucket(env: Env, w: World) -> None:
    pay, won = env["SubcontractPayments"], env["CivicWon"]
    env.send(
        act(
            env,
            "RegisterProject",
            w.client,
            projectRef=h("r"),
            prime=w.prime.address,
            contractAmount=1,
            participants=[],
        ),
        env.admin,
    )
    assert env.emitted(act(env, "FundProject", w.client, projectId=1, purpose=MATERIAL, amount=250), env.admin) == [
        ("CivicWon.Transfer", {"from": w.client.address, "to": pay.address, "value": 250}),
        ("BucketFunded", {"projectId": 1, "purpose": MATERIAL, "funder": w.client.address, "amount": 250}),
    ]
    assert pay.functions.bucketOf(1, MATERIAL).call() == (250, 0, 0, 250)
    assert won.functions.balanceOf(pay.address).call() == 250
    fund = lambda **v: act(env, "FundProject", w.client, **{"projectId": 1, "purpose": MATERIAL, "amount": 1, **v})  # noqa: E731
    for bad in (0, 6):
        assert env.reverts(fund(purpose=bad), env.admin) == ("SubcontractPaymentsInvalidPurpose", bad)
    assert env.reverts(fund(amount=0), env.admin) == ("SubcontractPaymentsInvalidAmount", 0)
    assert env.reverts(fund(amount=2**80 - 250), env.admin) == ("SubcontractPaymentsInvalidAmount", 2**80 - 250)
    assert env.reverts(fund(amount=100_000_000), env.admin) == (
        "SubcontractPaymentsTransferFailed",
        w.client.address,
        pay.address,
        100_000_000,
    )
    assert env.reverts(fund(projectId=2), env.admin) == ("SubcontractPaymentsUnknownProject", 2)


# -- claims -------------------------------------------------------------------------------------------


def test_submit_claim_emits_lines_and_auto_confirms(env: Env, w: World, project: int) -> None:
    pay = env["SubcontractPayments"].functions
    lines = claim_lines(w)
    receipt = env.send(act(env, "SubmitClaim", w.prime, projectId=project, lines=lines), env.account(9))
    total = sum(line[2] for line in lines)
    assert env.events(receipt) == [
        (
            "ClaimSubmitted",
            {"claimId": 1, "projectId": project, "prime": w.prime.address, "lineCount": 5, "total": total},
        ),
        *[
            (
                "ClaimLineAdded",
                {"claimId": 1, "projectId": project, "payee": p, "line": i, "purpose": u, "amount": a, "evidence": e},
            )
            for i, (p, u, a, e) in enumerate(lines)
        ],
    ]
    ts = env.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert pay.claimOf(1).call() == (project, 5, ts, 0, 0, 0, 0b11001, 0)
    assert pay.lineOf(1, 2).call() == [w.sub.address, SUBCONTRACT, 3_000_000]
    assert pay.projectOf(project).call()[4] == 1


def test_submit_claim_error_paths(env: Env, w: World, project: int) -> None:
    def sub(lines: list[tuple], signer: LocalAccount = w.prime, pid: int = project) -> Any:
        return act(env, "SubmitClaim", signer, projectId=pid, lines=lines)

    assert env.reverts(sub([], pid=9), env.admin) == ("SubcontractPaymentsUnknownProject", 9)
    assert env.reverts(sub([], w.sub), env.admin) == ("SubcontractPaymentsUnauthorized", w.sub.address, ZERO32)
    assert env.reverts(sub([]), env.admin) == ("SubcontractPaymentsInvalidLineCount", 0)
    many = [(w.supplier.address, MATERIAL, 1, ZERO32)] * 129
    assert env.reverts(sub(many), env.admin) == ("SubcontractPaymentsInvalidLineCount", 129)
    cases = [
        ((w.supplier.address, MATERIAL, 0, ZERO32), ("SubcontractPaymentsInvalidAmount", 0)),
        ((w.supplier.address, MATERIAL, 2**80, ZERO32), ("SubcontractPaymentsInvalidAmount", 2**80)),
        ((w.supplier.address, 0, 1, ZERO32), ("SubcontractPaymentsInvalidPurpose", 0)),
        ((w.supplier.address, 6, 1, ZERO32), ("SubcontractPaymentsInvalidPurpose", 6)),
        (
            (w.supplier.address, LABOUR, 1, ZERO32),
            ("SubcontractPaymentsPayeeNotEligible", project, w.supplier.address, LABOUR),
        ),
        (
            (w.worker.address, SUBCONTRACT, 1, ZERO32),
            ("SubcontractPaymentsPayeeNotEligible", project, w.worker.address, SUBCONTRACT),
        ),
        ((w.sub.address, PRIME, 1, ZERO32), ("SubcontractPaymentsPayeeNotEligible", project, w.sub.address, PRIME)),
        (
            (w.prime.address, EQUIPMENT, 1, ZERO32),
            ("SubcontractPaymentsPayeeNotEligible", project, w.prime.address, EQUIPMENT),
        ),
    ]
    for line, error in cases:
        assert env.reverts(sub([line]), env.admin) == error


def test_confirm_lines(env: Env, w: World, project: int) -> None:
    pay = env["SubcontractPayments"].functions
    claim = submit(env, w, project)
    confirm = lambda who, lines, **kw: act(env, "ConfirmLines", who, claimId=claim, lines=lines, **kw)  # noqa: E731
    assert env.reverts(confirm(w.prime, 0b10), env.admin) == (
        "SubcontractPaymentsUnauthorizedConfirmer",
        claim,
        1,
        w.prime.address,
    )
    assert env.reverts(confirm(w.sub, 0b100), env.admin) == (
        "SubcontractPaymentsUnauthorizedConfirmer",
        claim,
        2,
        w.sub.address,
    )
    assert env.reverts(confirm(w.sub, 0b1), env.admin) == ("SubcontractPaymentsAlreadyConfirmed", claim, 0)
    assert env.reverts(confirm(w.sub, 0), env.admin) == ("SubcontractPaymentsUnknownLine", claim, 0)
    assert env.reverts(confirm(w.sub, 1 << 7), env.admin) == ("SubcontractPaymentsUnknownLine", claim, 7)
    assert env.reverts(act(env, "ConfirmLines", w.sub, claimId=9, lines=1), env.admin) == (
        "SubcontractPaymentsUnknownClaim",
        9,
    )
    assert env.emitted(confirm(w.sub, 0b10), env.admin) == [
        ("LinesConfirmed", {"claimId": claim, "projectId": project, "confirmer": w.sub.address, "lines": 0b10})
    ]
    assert env.emitted(confirm(w.prime, 0b100), env.admin)[0][1]["lines"] == 0b100
    assert pay.claimOf(claim).call()[6] == 0b11111
    assert env.reverts(confirm(w.sub, 0b10), env.admin) == ("SubcontractPaymentsAlreadyConfirmed", claim, 1)


def test_approve_claim(env: Env, w: World, project: int) -> None:
    claim, outsider = submit(env, w, project), env.account(5)
    assert env.reverts(act(env, "ApproveClaim", outsider, claimId=claim), env.admin) == (
        "SubcontractPaymentsUnauthorized",
        outsider.address,
        role("INSPECTOR_ROLE"),
    )
    assert env.reverts(act(env, "ApproveClaim", w.inspector, claimId=claim, sign_as=outsider), env.admin) == (
        "SubcontractPaymentsInvalidSignature",
        w.inspector.address,
    )
    assert env.reverts(act(env, "ApproveClaim", w.inspector, claimId=5), env.admin) == (
        "SubcontractPaymentsUnknownClaim",
        5,
    )
    assert env.emitted(act(env, "ApproveClaim", w.inspector, claimId=claim), env.admin) == [
        ("ClaimApproved", {"claimId": claim, "projectId": project, "inspector": w.inspector.address})
    ]
    assert env.reverts(act(env, "ApproveClaim", w.inspector, claimId=claim), env.admin) == (
        "SubcontractPaymentsAlreadyApproved",
        claim,
    )


# -- settle -------------------------------------------------------------------------------------------


def test_settle_pays_confirmed_lines_in_one_transaction(env: Env, w: World, project: int) -> None:
    pay, won = env["SubcontractPayments"], env["CivicWon"]
    claim = submit(env, w, project)
    assert env.reverts(pay.functions.settle(claim), env.admin) == ("SubcontractPaymentsNotApproved", claim)
    env.send(act(env, "ApproveClaim", w.inspector, claimId=claim), env.admin)
    receipt = env.send(pay.functions.settle(claim), env.account(9))
    paid_at = env.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    lines = claim_lines(w)
    expected = []
    for i in (0, 3, 4):
        payee, purpose, amount, _ = lines[i]
        expected += [
            ("CivicWon.Transfer", {"from": pay.address, "to": payee, "value": amount}),
            (
                "LinePaid",
                {
                    "projectId": project,
                    "claimId": claim,
                    "payee": payee,
                    "line": i,
                    "purpose": purpose,
                    "amount": amount,
                    "due": 0,
                    "interest": 0,
                },
            ),
        ]
    expected.append(
        (
            "ClaimSettled",
            {"claimId": claim, "projectId": project, "lines": 0b11001, "total": 901_000, "paidAt": paid_at},
        )
    )
    assert env.events(receipt) == expected
    assert won.functions.balanceOf(w.worker.address).call() == 1_000
    assert pay.functions.bucketOf(project, LABOUR).call() == (10_000_000, 1_000, 0, 9_999_000)
    assert pay.functions.claimOf(claim).call()[4:] == (paid_at, paid_at + 15 * DAY, 0b11001, 0b11001)
    assert env.reverts(pay.functions.settle(claim), env.admin) == ("SubcontractPaymentsNothingPayable", claim)
    # the subcontract line confirmed 20 days later is 5 days late: 15.5 % a year on 3,000,000
    env.send(act(env, "ConfirmLines", w.sub, claimId=claim, lines=0b10), env.admin)
    env.send(act(env, "ConfirmLines", w.prime, claimId=claim, lines=0b100), env.admin)
    at = paid_at + 20 * DAY
    interest = 3_000_000 * 155 * (5 * DAY) // (1000 * 365 * DAY)
    assert pay.functions.lateInterest(claim, 2, at).call() == interest
    assert pay.functions.lateInterest(claim, 1, at).call() == 0
    env.next_timestamp(at)
    events = env.emitted(pay.functions.settle(claim), env.admin)
    assert events[-2] == (
        "LinePaid",
        {
            "projectId": project,
            "claimId": claim,
            "payee": w.sub.address,
            "line": 2,
            "purpose": SUBCONTRACT,
            "amount": 3_000_000,
            "due": paid_at + 15 * DAY,
            "interest": interest,
        },
    )
    assert events[-1] == (
        "ClaimSettled",
        {"claimId": claim, "projectId": project, "lines": 0b110, "total": 3_002_000, "paidAt": paid_at},
    )
    assert env.reverts(pay.functions.settle(claim), env.admin) == ("SubcontractPaymentsAlreadySettled", claim)


def test_settle_overdraft_reverts_whole_settlement(env: Env, w: World) -> None:
    pay = env["SubcontractPayments"].functions
    env.send(
        act(
            env,
            "RegisterProject",
            w.client,
            projectRef=h("r"),
            prime=w.prime.address,
            contractAmount=1,
            participants=participants(w),
        ),
        env.admin,
    )
    env.send(act(env, "FundProject", w.client, projectId=1, purpose=MATERIAL, amount=100), env.admin)
    claim = submit(env, w, 1, [(w.supplier.address, MATERIAL, 60, ZERO32), (w.supplier.address, MATERIAL, 50, ZERO32)])
    env.send(act(env, "ApproveClaim", w.inspector, claimId=claim), env.admin)
    assert env.reverts(pay.settle(claim), env.admin) == ("SubcontractPaymentsOverdraft", 1, MATERIAL, 100, 110)
    assert env.reverts(pay.settle(7), env.admin) == ("SubcontractPaymentsUnknownClaim", 7)


def test_blocked_payee_and_suspended_worker_are_credited(env: Env, w: World, project: int) -> None:

    pay, won = env["SubcontractPayments"], env["CivicWon"]
    claim = submit(env, w, project)
    env.send(act(env, "ApproveClaim", w.inspector, claimId=claim), env.admin)
    env.send(won.functions.setBlocked(w.supplier.address, True), env.admin)
    cid = env["CitizenRegistry"].functions.citizenIdOf(w.worker.address).call()
    env.send(registrar_act(env, "SuspendCitizen", citizenId=cid, reason=1), env.admin)
    events = env.emitted(pay.functions.settle(claim), env.admin)
    credited = [e for e in events if e[0] == "LineCredited"]
    assert [(e[1]["payee"], e[1]["line"], e[1]["amount"]) for e in credited] == [
        (w.worker.address, 0, 1_000),
        (w.supplier.address, 3, 400_000),
    ]
    assert pay.functions.withdrawableOf(w.supplier.address).call() == 400_000
    assert pay.functions.totalWithdrawable().call() == 401_000
    # the supplier's credit: withdraw fails while blocked, then goes to another account it signs for
    assert env.reverts(pay.functions.withdraw(w.supplier.address), env.admin) == (
        "SubcontractPaymentsTransferFailed",
        pay.address,
        w.supplier.address,
        400_000,
    )
    other = env.account(3).address
    assert env.emitted(act(env, "Withdraw", w.supplier, payee=w.supplier.address, to=other), env.admin) == [
        ("CreditWithdrawn", {"projectId": project, "payee": w.supplier.address, "to": other, "amount": 400_000}),
        ("CivicWon.Transfer", {"from": pay.address, "to": other, "value": 400_000}),
    ]
    assert env.reverts(pay.functions.withdraw(w.supplier.address), env.admin) == (
        "SubcontractPaymentsNothingToWithdraw",
        w.supplier.address,
    )
    # the worker's wages only go to an account of the same citizen, signed by its current key
    env.send(registrar_act(env, "ReinstateCitizen", citizenId=cid), env.admin)
    new = env.account(8)
    env.send(rotate(env, w.worker, new), env.admin)
    assert pay.functions.withdrawSignerOf(w.worker.address).call() == new.address
    assert env.reverts(act(env, "Withdraw", w.worker, payee=w.worker.address, to=w.worker.address), env.admin) == (
        "SubcontractPaymentsInvalidSignature",
        new.address,
    )
    assert env.reverts(act(env, "Withdraw", new, payee=w.worker.address, to=other), env.admin) == (
        "SubcontractPaymentsNotOwnAccount",
        w.worker.address,
        other,
    )
    assert env.reverts(act(env, "Withdraw", new, payee=w.worker.address, to=ZERO), env.admin) == (
        "SubcontractPaymentsZeroAddress",
    )
    env.send(act(env, "Withdraw", new, payee=w.worker.address, to=new.address), env.admin)
    assert won.functions.balanceOf(new.address).call() == 1_000
    assert pay.functions.totalWithdrawable().call() == 0


def test_direct_payment(env: Env, w: World, project: int) -> None:
    pay = env["SubcontractPayments"].functions
    claim = submit(env, w, project)

    def direct(line: int, ground: int, **kw: Any) -> Any:
        return act(env, "DirectPayment", w.client, claimId=claim, line=line, ground=ground, **kw)

    assert env.reverts(direct(2, 1), env.admin) == ("SubcontractPaymentsNotApproved", claim)
    env.send(act(env, "ApproveClaim", w.inspector, claimId=claim), env.admin)
    for line, ground in ((2, 0), (2, 5), (3, 1)):
        assert env.reverts(direct(line, ground), env.admin) == (
            "SubcontractPaymentsInvalidDirectPayment",
            claim,
            line,
            ground,
        )
    assert env.reverts(direct(5, 1), env.admin) == ("SubcontractPaymentsUnknownLine", claim, 5)
    events = env.emitted(direct(2, 2), env.admin)
    assert events[0] == (
        "DirectPaymentMade",
        {"claimId": claim, "projectId": project, "client": w.client.address, "line": 2, "ground": 2},
    )
    assert events[-1] == (
        "LinePaid",
        {
            "projectId": project,
            "claimId": claim,
            "payee": w.sub.address,
            "line": 2,
            "purpose": SUBCONTRACT,
            "amount": 3_000_000,
            "due": 0,
            "interest": 0,
        },
    )
    assert env.reverts(direct(2, 2), env.admin) == ("SubcontractPaymentsAlreadyPaid", claim, 2)
    assert pay.claimOf(claim).call()[6:] == (0b11101, 0b100)


def test_close_project_refunds_and_stops_everything(env: Env, w: World, project: int) -> None:
    pay, won = env["SubcontractPayments"], env["CivicWon"]
    claim = submit(env, w, project)
    before = won.functions.balanceOf(w.client.address).call()
    events = env.emitted(act(env, "CloseProject", w.client, projectId=project), env.admin)
    assert events == [
        *[
            ("BucketRefunded", {"projectId": project, "purpose": p, "client": w.client.address, "amount": 10_000_000})
            for p in (1, 2, 3, 4, 5)
        ],
        ("CivicWon.Transfer", {"from": pay.address, "to": w.client.address, "value": 50_000_000}),
        ("ProjectClosed", {"projectId": project, "client": w.client.address, "refunded": 50_000_000}),
    ]
    assert won.functions.balanceOf(w.client.address).call() == before + 50_000_000
    assert pay.functions.bucketOf(project, LABOUR).call() == (10_000_000, 0, 10_000_000, 0)
    closed = ("SubcontractPaymentsProjectClosed", project)
    assert env.reverts(act(env, "CloseProject", w.client, projectId=project), env.admin) == closed
    assert env.reverts(act(env, "FundProject", w.client, projectId=project, purpose=1, amount=1), env.admin) == closed
    assert env.reverts(act(env, "SubmitClaim", w.prime, projectId=project, lines=claim_lines(w)), env.admin) == closed
    assert env.reverts(act(env, "ConfirmLines", w.sub, claimId=claim, lines=0b10), env.admin) == closed
    assert env.reverts(act(env, "ApproveClaim", w.inspector, claimId=claim), env.admin) == closed
    assert env.reverts(pay.functions.settle(claim), env.admin) == closed
    assert env.reverts(act(env, "AddParticipants", w.client, projectId=project, participants=[]), env.admin) == closed


def test_replayed_signature_reverts_on_nonce(env: Env, w: World, project: int) -> None:
    fn = act(env, "FundProject", w.client, projectId=project, purpose=1, amount=1)
    env.send(fn, env.admin)
    nonce = env["SubcontractPayments"].functions.nonces(w.client.address).call()
    assert env.reverts(fn, env.admin) == ("InvalidAccountNonce", w.client.address, nonce)


def test_constructor_rejects_zero_addresses(env: Env) -> None:
    registry, won = env["CitizenRegistry"].address, env["CivicWon"].address
    for args in ((ZERO, registry, won), (env.admin.address, ZERO, won), (env.admin.address, registry, ZERO)):
        assert env.deploy_reverts("SubcontractPayments", *args) == ("SubcontractPaymentsZeroAddress",)


def test_settle_with_too_little_gas_reverts_instead_of_crediting(env: Env, w: World) -> None:
    """A relayer that sends too little gas must not turn a payable line into a credit (the push would fail
    for want of gas, not because the payee can not receive)."""
    pay = env["SubcontractPayments"].functions
    env.send(
        act(
            env,
            "RegisterProject",
            w.client,
            projectRef=h("r"),
            prime=w.prime.address,
            contractAmount=1,
            participants=participants(w),
        ),
        env.admin,
    )
    env.send(act(env, "FundProject", w.client, projectId=1, purpose=MATERIAL, amount=100), env.admin)
    claim = submit(env, w, 1, [(w.supplier.address, MATERIAL, 60, ZERO32)])
    env.send(act(env, "ApproveClaim", w.inspector, claimId=claim), env.admin)
    try:
        pay.settle(claim).call({"from": env.admin.address, "gas": 100_000}, block_identifier="pending")
    except Exception as exc:
        name, gas_left = env.decode(pay.settle(claim).address, exc)
    else:
        raise AssertionError("settle with 100,000 gas did not revert")
    assert name == "SubcontractPaymentsInsufficientGas" and 0 < gas_left < 100_000
    tx = pay.settle(claim).transact({"from": env.admin.address, "gas": 100_000})
    assert env.w3.eth.get_transaction_receipt(tx)["status"] == 0
    assert pay.withdrawableOf(w.supplier.address).call() == 0
    env.send(pay.settle(claim), env.admin)
    assert env["CivicWon"].functions.balanceOf(w.supplier.address).call() == 60
