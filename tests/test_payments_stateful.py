"""Money is conserved through random sequences of payment operations (Hypothesis, embedded chain).

After every step: minted = Σ balances of all holders (the escrow included), and the escrow holds
exactly the open buckets plus the open credits; every bucket's funded = paid + refunded +
balance, no line is paid twice, and the model's bucket totals equal the chain's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from civic_ledger.errors import ContractError
from civic_ledger.payments import service
from civic_ledger.payments.actions import PURPOSE_CODES
from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import Platform
from tests.conftest import started_platform
from tests.helpers import make_registrar, register_citizen

MINT = 10**9


class Env:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.client = Account.create()
        self.inspector = Account.create()
        self.registrar = make_registrar(platform)
        service.grant_role(platform, "client", self.client.address)
        service.grant_role(platform, "inspector", self.inspector.address)
        service.mint(platform, self.client.address, MINT)
        self.minted = MINT
        self.signed("permit", {"owner": self.client.address, "value": 2**255}, self.client)

    def signed(self, key: str, fields: dict[str, Any], signer: LocalAccount, **ids: Any) -> Any:
        message = service.message_from(self.platform, key, fields, **ids)
        typed = service.typed_data(self.platform, key, message)
        sig = "0x" + eip712.TypedMessage.from_dict(typed.typed_data).sign(signer).hex()
        return service.relay(self.platform, key, typed.typed_data["message"], sig)


ENV: Env | None = None


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with started_platform("embedded", Path(tmp_path_factory.mktemp("pay-stateful")) / "data") as platform:
        yield Env(platform)


SETTLE_REFUSALS = {
    "SubcontractPaymentsOverdraft",
    "SubcontractPaymentsNothingPayable",
    "SubcontractPaymentsAlreadySettled",
    "SubcontractPaymentsNotApproved",
    "SubcontractPaymentsProjectClosed",
}


class PaymentsMachine(RuleBasedStateMachine):
    claims = Bundle("claims")

    @initialize()
    def new_project(self) -> None:
        assert ENV is not None
        self.env = env = ENV
        p = env.platform
        self.token = service.token(p)
        self.escrow = service.payments(p).address
        self.prime, self.sub, self.supplier = Account.create(), Account.create(), Account.create()
        self.w_sub, self.w_prime = Account.create(), Account.create()
        for w in (self.w_sub, self.w_prime):
            register_citizen(p, env.registrar, w.address)
        out = env.signed(
            "register_project",
            {
                "project_ref": "0x" + keccak(text=self.prime.address).hex(),
                "prime": self.prime.address,
                "contract_amount": 10**6,
                "participants": [
                    {"account": self.sub.address, "role": "subcontractor", "contract_amount": 1},
                    {"account": self.supplier.address, "role": "supplier", "contract_amount": 1},
                    {"account": self.w_sub.address, "role": "worker", "employer": self.sub.address},
                    {"account": self.w_prime.address, "role": "worker", "employer": self.prime.address},
                ],
                "client": env.client.address,
            },
            env.client,
        )
        self.pid = out.project_id
        self.payees = [
            (self.w_sub, "labour"),
            (self.w_prime, "labour"),
            (self.sub, "subcontract"),
            (self.supplier, "material"),
            (self.supplier, "equipment"),
            (self.prime, "prime"),
        ]
        self.holders = [env.client.address, self.escrow] + [
            a.address for a in (self.prime, self.sub, self.supplier, self.w_sub, self.w_prime)
        ]
        self.extra: list[str] = []
        supply = self._call(self.token.functions.totalSupply())
        self.others = supply - sum(self._balance(h) for h in self.holders)
        self.other_escrow = self._balance(self.escrow) - self._call(service.payments(p).functions.totalWithdrawable())
        self.funded = dict.fromkeys(PURPOSE_CODES, 0)
        self.paid = dict.fromkeys(PURPOSE_CODES, 0)
        self.refunded = dict.fromkeys(PURPOSE_CODES, 0)
        self.lines_paid: set[tuple[int, int]] = set()
        self.blocked: set[str] = set()
        self.closed = False
        self.to_confirm: dict[int, dict[str, int]] = {}

    # -- helpers ---------------------------------------------------------------------------

    def _call(self, fn: Any) -> int:
        # An explicit sender: web3's eth-tester provider otherwise lists every account to guess one.
        return int(fn.call({"from": self.env.platform.operator.address}))

    def _balance(self, account: str) -> int:
        return self._call(self.token.functions.balanceOf(account))

    def _record(self, out: Any) -> None:
        for e in out.events:
            a = e.args
            if e.event in ("LinePaid", "LineCredited"):
                key = (int(a["claimId"]), int(a["line"]))
                assert key not in self.lines_paid, f"line {key} paid twice"
                self.lines_paid.add(key)
                self.paid[_purpose(a["purpose"])] += int(a["amount"])
            elif e.event == "BucketFunded":
                self.funded[_purpose(a["purpose"])] += int(a["amount"])
            elif e.event == "BucketRefunded":
                self.refunded[_purpose(a["purpose"])] += int(a["amount"])

    # -- rules -----------------------------------------------------------------------------

    @rule(purpose=st.sampled_from(list(PURPOSE_CODES)), amount=st.integers(1, 20_000))
    def fund(self, purpose: str, amount: int) -> None:
        try:
            out = self.env.signed(
                "fund",
                {"purpose": purpose, "amount": amount, "client": self.env.client.address},
                self.env.client,
                projectId=self.pid,
            )
        except ContractError as exc:
            assert self.closed and exc.error_name == "SubcontractPaymentsProjectClosed"
            return
        self._record(out)

    @rule(target=claims, picks=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 8_000)), min_size=1, max_size=4))
    def submit(self, picks: list[tuple[int, int]]) -> int:
        lines = [
            {
                "payee": self.payees[i][0].address,
                "purpose": self.payees[i][1],
                "amount": n,
                "evidence": "0x" + "ab" * 32,
            }
            for i, n in picks
        ]
        try:
            out = self.env.signed(
                "submit_claim", {"lines": lines, "prime": self.prime.address}, self.prime, projectId=self.pid
            )
        except ContractError as exc:
            assert self.closed and exc.error_name == "SubcontractPaymentsProjectClosed"
            return 0
        cid = int(out.claim_id)
        # what each confirmer must confirm: the sub its worker's labour lines, the prime subcontract lines
        self.to_confirm[cid] = {
            self.sub.address: sum(1 << k for k, (i, _n) in enumerate(picks) if i == 0),
            self.prime.address: sum(1 << k for k, (i, _n) in enumerate(picks) if i == 2),
        }
        return cid

    @rule(claim=claims)
    def confirm(self, claim: int) -> None:
        if claim == 0:
            return
        for who in (self.sub, self.prime):
            mask = self.to_confirm[claim][who.address]
            if not mask:
                continue
            try:
                self.env.signed("confirm_lines", {"confirmer": who.address, "lines": mask}, who, claimId=claim)
            except ContractError as exc:
                assert exc.error_name in ("SubcontractPaymentsAlreadyConfirmed", "SubcontractPaymentsProjectClosed"), (
                    exc.message
                )
                continue
            self.to_confirm[claim][who.address] = 0

    @rule(claim=claims)
    def approve(self, claim: int) -> None:
        if claim == 0:
            return
        try:
            self.env.signed(
                "approve_claim", {"inspector": self.env.inspector.address}, self.env.inspector, claimId=claim
            )
        except ContractError as exc:
            assert exc.error_name in ("SubcontractPaymentsAlreadyApproved", "SubcontractPaymentsProjectClosed")

    @rule(claim=claims)
    def settle(self, claim: int) -> None:
        if claim == 0:
            return
        try:
            out = service.settle(self.env.platform, claim)
        except ContractError as exc:
            assert exc.error_name in SETTLE_REFUSALS, exc.message
            return
        self._record(out)

    @rule(claim=claims, line=st.integers(0, 3), ground=st.sampled_from(["prime_insolvency", "three_party_agreement"]))
    def direct_pay(self, claim: int, line: int, ground: str) -> None:
        if claim == 0:
            return
        try:
            out = self.env.signed(
                "direct_payment",
                {"line": line, "ground": ground, "client": self.env.client.address},
                self.env.client,
                claimId=claim,
            )
        except ContractError as exc:
            assert exc.error_name in SETTLE_REFUSALS | {
                "SubcontractPaymentsInvalidDirectPayment",
                "SubcontractPaymentsAlreadyPaid",
                "SubcontractPaymentsUnknownLine",
            }, exc.message
            return
        self._record(out)

    @rule(which=st.sampled_from(["supplier", "sub"]))
    def toggle_block(self, which: str) -> None:
        account = getattr(self, which).address
        blocked = account not in self.blocked
        service.set_blocked(self.env.platform, account, blocked)
        (self.blocked.add if blocked else self.blocked.discard)(account)

    @rule(which=st.sampled_from(["supplier", "sub"]), elsewhere=st.booleans())
    def withdraw(self, which: str, elsewhere: bool) -> None:
        payee: LocalAccount = getattr(self, which)
        try:
            if elsewhere:
                to = Account.create().address
                self.env.signed("withdraw", {"to": to}, payee, payee=payee.address)
                self.extra.append(to)
            else:
                service.push_credit(self.env.platform, payee.address)
        except ContractError as exc:
            assert exc.error_name in ("SubcontractPaymentsNothingToWithdraw", "SubcontractPaymentsTransferFailed"), (
                exc.message
            )

    @rule()
    def close(self) -> None:
        if self.closed:
            return
        out = self.env.signed("close_project", {"client": self.env.client.address}, self.env.client, projectId=self.pid)
        self.closed = True
        self._record(out)

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def money_is_conserved(self) -> None:
        supply = self._call(self.token.functions.totalSupply())
        assert supply == self.env.minted  # minted = total supply: nothing is created or burnt
        held = sum(self._balance(h) for h in self.holders + self.extra)
        assert held + self.others == supply  # minted = balances + escrowed
        pay = service.payments(self.env.platform)
        buckets = 0
        for name, code in PURPOSE_CODES.items():
            funded, paid, refunded, balance = pay.functions.bucketOf(self.pid, code).call(
                {"from": self.env.platform.operator.address}
            )
            assert (funded, paid, refunded) == (self.funded[name], self.paid[name], self.refunded[name])
            assert funded == paid + refunded + balance  # no bucket below zero
            buckets += balance
        credits = self._call(pay.functions.totalWithdrawable())
        assert self._balance(self.escrow) == self.other_escrow + buckets + credits


def _purpose(code: Any) -> str:
    return {v: k for k, v in PURPOSE_CODES.items()}[int(code)]


def test_money_is_conserved_through_random_operations(env: Env) -> None:
    global ENV
    ENV = env
    run_state_machine_as_test(
        PaymentsMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            derandomize=True,
        ),
    )
