"""The demo city, section by section, in the order the chain clock allows.

Each section records what it made in ``DATA_DIR/demo/state-<chainId>-<MVoting>.json`` when it is
done; a later run skips a recorded section (after checking its record still exists on the
server) and says so. Citizens and role grants are looked up one by one, so a section that was
interrupted adds only what is missing.

Chain time: the closed polls, the late subcontract payment and the mileage expiry need time to
pass; the demo moves the development chain's clock with ``mileage advance-time`` (refused on
other chains), so open polls, credentials, labour and vehicles come after it.
"""

from __future__ import annotations

import json
import random
import secrets
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from civic_ledger.clikit.signer import sign_in
from civic_ledger.demo.runner import DemoFailed, Runner, demo_account, sign_typed
from civic_ledger.voting import ballots as enc

CITIZENS = 300
#: (name, district code, birth year): the citizens who hold keystores (the walk-throughs' cast).
NAMED = [
    ("minji", 14, 1998),
    ("alice", 14, 1990),
    ("bob", 1, 1985),
    ("w1", 14, 1988),
    ("w2", 17, 1975),
    ("seojun", 14, 1985),
    ("haeun", 4, 1996),
    ("jiwoo", 13, 2001),
]
AGENCIES = {
    "seoul-dept": [("MVoting", "POLL_ADMIN_ROLE"), ("SubcontractPayments", "CLIENT_ROLE")],
    "inspector": [("SubcontractPayments", "INSPECTOR_ROLE")],
    "vehicle-office": [("VehicleHistory", "REGISTRY_ROLE")],
    "jangan-motors": [("VehicleHistory", "DEALER_ROLE")],
    "jangan-check": [("VehicleHistory", "INSPECTOR_ROLE")],
}
OFFICES = {14: "mapo-office", 1: "jongno-office"}  # the others register through their own office
VIN = "KMHD341CBMU123457"
DAY = 86_400


class City:
    def __init__(self, run: Runner, citizens: int = CITIZENS) -> None:
        self.run = run
        self.size = max(citizens, 40)
        chain = run.get("/chain")
        if not chain["development"]:
            raise DemoFailed(
                f"chain id {chain['chain_id']} is not a development chain: the demo fills only the embedded "
                "chain or a local node (chain id 31337/1337), never a real one"
            )
        voting = chain["contracts"]["MVoting"]["address"]
        self.state_path = run.work / f"state-{chain['chain_id']}-{voting[2:10].lower()}.json"
        self.state: dict[str, Any] = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}
        self.admin = self._admin_keystore()
        run.token = sign_in(_Client(run), self.admin)["token"]  # type: ignore[arg-type]
        self.citizens: list[tuple[LocalAccount, int, int]] = []

    # -- bookkeeping ---------------------------------------------------------------------------

    def _admin_keystore(self) -> LocalAccount:
        from eth_account import Account

        from civic_ledger.identity import keys

        key = "0x" + "00" * 31 + "01"  # the embedded chain's development operator: the city admin
        account = Account.from_key(key)
        path = keys.keystore_path(self.run.data_dir, "demo-city-admin")
        if not path.exists():
            keys.create_keystore(
                self.run.data_dir, "demo-city-admin", self.run.password, private_key=key, scrypt_n=2**10
            )
            self.run.count("keystores", 1)
        return account

    def done(self, section: str, check: str | None = None) -> bool:
        """Was ``section`` completed by an earlier run (and does ``check`` still answer)?"""
        if section not in self.state:
            return False
        if check is not None and self.run.get(check.format(**self.state[section]), ok404=True) is None:
            return False
        self.run.say(f"[dim]exists[/] {section}: {self._describe(self.state[section])}")
        return True

    def record(self, section: str, **what: Any) -> None:
        self.state[section] = what
        self.state_path.write_text(json.dumps(self.state, indent=2) + "\n")
        self.run.say(f"[green]made[/] {section}: {self._describe(what)}")

    @staticmethod
    def _describe(what: dict[str, Any]) -> str:
        return ", ".join(f"{k} {v}" for k, v in what.items())

    def advance(self, *, epochs: int = 0, seconds: int = 0) -> None:
        self.run.cli("mileage", "advance-time", "--epochs", str(epochs), "--seconds", str(seconds), token=True)

    # -- identity and agencies -----------------------------------------------------------------

    def grant(self, contract: str, role: str, account: str) -> None:
        found = self.run.get(f"/roles/{contract}/{role}/{account}")
        if found.get("has_role") or found.get("holds"):
            self.run.count("role grants", 0, 1)
            return
        self.run.post("/roles", {"contract": contract, "role": role, "account": account}, token=self.run.token)
        self.run.count("role grants", 1)

    def identity(self) -> None:
        offices = {code: self.run.keystore(name) for code, name in OFFICES.items()}
        for code in range(1, 26):
            if code not in offices:
                offices[code] = demo_account(f"office-{code}")
        for office in offices.values():
            self.grant("CitizenRegistry", "REGISTRAR_ROLE", office.address)
        for name, roles in AGENCIES.items():
            account = self.run.keystore(name)
            for contract, role in roles:
                self.grant(contract, role, account.address)
        named = [(self.run.keystore(n), d, y) for n, d, y in NAMED]
        rng = random.Random(16)
        crowd = [
            (demo_account(f"citizen-{i}"), rng.randint(1, 25), rng.randint(1940, 2007))
            for i in range(self.size - len(named))
        ]
        self.citizens = named + crowd
        by_office: dict[int, list[tuple[LocalAccount, int, int]]] = {}
        for c in self.citizens:
            by_office.setdefault(c[1], []).append(c)

        def register_all(code: int) -> tuple[int, int]:
            made = existed = 0
            office = offices[code]
            for account, district, year in by_office.get(code, []):
                if self.run.get(f"/identity/citizens/{account.address}", ok404=True) is not None:
                    existed += 1
                    continue
                fields = {"account": account.address, "district": district, "birth_year": year, "residency": 1}
                td = self.run.post("/identity/citizens/typed-data", {**fields, "registrar": office.address})
                body = {
                    **fields,
                    "record_hash": td["record_hash"],
                    "registrar": office.address,
                    "nonce": td["nonce"],
                    "deadline": td["deadline"],
                    "signature": sign_typed(office, td["typed_data"]),
                }
                self.run.post("/identity/citizens", body)
                made += 1
            return made, existed

        results = self.run.parallel(register_all, sorted(by_office))
        self.run.count("citizens", sum(m for m, _ in results), sum(e for _, e in results))

    # -- payments --------------------------------------------------------------------------------

    def payments_start(self) -> None:
        if self.done("payments", "/payments/projects/{project}"):
            return
        for name in ("prime", "sub", "supplier"):
            self.run.keystore(name)
        self.run.cli("payments", "mint", "demo-seoul-dept", "2000000000", token=True)
        project = self.run.cli(
            "payments", "register", "--prime", "demo-prime", "--amount", "1200000000",
            "--ref", "Mapo-gu library annex, contract 2026-041 (demo)", "--sub", "demo-sub=300000000",
            "--supplier", "demo-supplier=80000000", "--worker", "demo-w1@demo-sub", "--worker", "demo-w2@demo-prime",
            signer="seoul-dept",
        )  # fmt: skip
        pid = str(_id(project, "project_id"))
        for purpose, amount in (("labour", 20_000_000), ("subcontract", 100_000_000), ("material", 30_000_000),
                                ("prime", 50_000_000)):  # fmt: skip
            self.run.cli("payments", "fund", pid, purpose, str(amount), signer="seoul-dept")
        claim1 = _id(
            self.run.cli(
                "payments", "submit-claim", pid, "--line", "demo-w1:labour:2400000:timesheet-w1-2026-05",
                "--line", "demo-w2:labour:2100000:timesheet-w2-2026-05",
                "--line", "demo-sub:subcontract:45000000:invoice-sub-0001",
                "--line", "demo-supplier:material:8000000:delivery-note-17",
                "--line", "demo-prime:prime:15000000:progress-report-1", signer="prime",
            ),
            "claim_id",
        )  # fmt: skip
        self.run.cli("payments", "confirm", str(claim1), signer="sub")
        self.run.cli("payments", "confirm", str(claim1), signer="prime")
        self.run.cli("payments", "approve", str(claim1), signer="inspector")
        self.run.cli("payments", "settle", str(claim1))
        claim2 = _id(
            self.run.cli(
                "payments", "submit-claim", pid, "--line", "demo-sub:subcontract:30000000:invoice-sub-0002",
                "--line", "demo-supplier:material:6500000:delivery-note-18", signer="prime",
            ),
            "claim_id",
        )  # fmt: skip
        self.run.cli("payments", "approve", str(claim2), signer="inspector")
        self.run.cli("payments", "settle", str(claim2))  # the material line; the subcontract line waits
        self.state["payments_pending"] = {"project": pid, "claims": [claim1, claim2]}

    def payments_finish(self) -> None:
        pending = self.state.pop("payments_pending", None)
        if pending is None:
            return
        claim2 = pending["claims"][1]
        self.run.cli("payments", "confirm", str(claim2), signer="prime")  # a month late
        self.run.cli("payments", "settle", str(claim2))
        self.record("payments", project=pending["project"], claims=pending["claims"], late_claim=claim2)

    # -- mileage ---------------------------------------------------------------------------------

    def mileage_start(self) -> None:
        if self.done("mileage", "/mileage/programs/{eco}"):
            return
        eco, tax = self.run.keystore("eco"), self.run.keystore("tax")
        programs = {}
        for key, name, awarder in (("eco", "Eco mileage (demo)", eco), ("tax", "e-Tax mileage (demo)", tax)):
            p = self.run.cli("mileage", "program", "register", name, "--awarder", awarder.address, "--cap", "100000000",
                             token=True)  # fmt: skip
            programs[key] = _id(p, "program_id", "id")
        merchant = self.run.cli(
            "mileage", "merchant", "register", "Mangwon bakery (demo)", "--business-number", "1234567890",
            "--district", "14", token=True,
        )  # fmt: skip
        rows = self.run.work / "eco-awards.csv"
        rows.write_text(
            "account,amount,ref\n" + "".join(f"{a.address},{3000 + 10 * i},{i + 1}\n" for i, (a, _, _) in
                                             enumerate(self.citizens[: self.size * 2 // 3]))
        )  # fmt: skip
        self.run.cli("mileage", "award-batch", str(programs["eco"]), str(rows), signer="eco")
        self.state["mileage_pending"] = {**programs, "merchant": _id(merchant, "merchant_id", "id")}

    def mileage_middle(self) -> None:
        pending = self.state.get("mileage_pending")
        if pending is None:
            return
        rows = self.run.work / "tax-awards.csv"
        rows.write_text(
            "account,amount,ref\n"
            + "".join(f"{a.address},2000,{i + 1}\n" for i, (a, _, _) in enumerate(self.citizens[: self.size // 6]))
        )
        self.run.cli("mileage", "award-batch", str(pending["tax"]), str(rows), signer="tax")
        self.run.cli("mileage", "redeem", str(pending["merchant"]), "1000", "--order", "BAKERY-0001", signer="alice")

    def mileage_finish(self) -> None:
        pending = self.state.pop("mileage_pending", None)
        if pending is None:
            return
        self.run.cli("mileage", "redeem", str(pending["merchant"]), "500", "--order", "BAKERY-0002", signer="alice")
        self.record("mileage", **pending)

    # -- voting ----------------------------------------------------------------------------------

    def _poll(self, question: str, options: list[str], *, sealed: bool, duration: int, reveal: int = DAY) -> int:
        args = ["voting", "create", question, "--duration", str(duration), "--reveal-window", str(reveal)]
        for o in options:
            args += ["--option", o]
        if sealed:
            args.append("--sealed")
        return int(_id(self.run.cli(*args, signer="seoul-dept"), "poll_id", "id"))

    def _ballots(self, poll: int, voters: list[LocalAccount], n_options: int, sealed: bool) -> list[dict[str, Any]]:
        rng = random.Random(poll)
        choices = [rng.choice([0, 0, 1, 1, 2][: n_options + 2]) % n_options for _ in voters]

        def cast(item: tuple[LocalAccount, int]) -> dict[str, Any]:
            voter, option = item
            draft: dict[str, Any] = {"voter": voter.address}
            opening: dict[str, Any] = {}
            if sealed:
                choice = enc.encode_choice("single", [option], n_options, 1)
                salt = secrets.token_bytes(32)
                draft["commitment"] = "0x" + enc.commitment(poll, voter.address, choice, salt).hex()
                opening = {"voter": voter.address, "choice": choice, "salt": "0x" + salt.hex()}
            else:
                draft["options"] = [option]
            td = self.run.post(f"/voting/polls/{poll}/ballots/typed-data", draft)
            self.run.post(
                f"/voting/polls/{poll}/ballots", {**td["fields"], "signature": sign_typed(voter, td["typed_data"])}
            )
            return opening

        return self.run.parallel(cast, list(zip(voters, choices, strict=True)), workers=16)

    def polls_closing(self) -> None:
        if self.done("closed polls", "/voting/polls/{public}"):
            return
        voters = [a for a, _, _ in self.citizens]
        public = self._poll("Open the Han river night market all year? (demo)", ["Yes", "No", "Only in summer"],
                            sealed=False, duration=120)  # fmt: skip
        sealed = self._poll("Which district gets the next public library? (demo)", ["Mapo", "Guro", "Jongno"],
                            sealed=True, duration=120, reveal=40 * DAY)  # fmt: skip
        n = self.size
        self._ballots(public, voters[: n * 3 // 5], 3, False)
        openings = self._ballots(sealed, voters[: n * 2 // 5], 3, True)
        (self.run.work / f"sealed-{sealed}-openings.json").write_text(json.dumps(openings))
        self.state["polls_pending"] = {
            "public": public, "sealed": sealed, "ballots": n * 3 // 5, "sealed_ballots": n * 2 // 5,
            "revealed": n // 3,
        }  # fmt: skip

    def polls_reveal(self) -> None:
        pending = self.state.get("polls_pending")
        if pending is None:
            return
        self.run.cli("voting", "close", str(pending["public"]))
        openings = json.loads((self.run.work / f"sealed-{pending['sealed']}-openings.json").read_text())
        self.run.parallel(
            lambda o: self.run.post(f"/voting/polls/{pending['sealed']}/reveals", o), openings[: pending["revealed"]]
        )

    def polls_finish(self) -> None:
        pending = self.state.pop("polls_pending", None)
        if pending is None:
            return
        self.run.cli("voting", "close", str(pending["sealed"]))
        self.record("closed polls", **pending)

    def polls_open(self) -> None:
        if self.done("open polls", "/voting/polls/{public}"):
            return
        voters = [a for a, _, _ in self.citizens]
        public = self._poll("Extend the Seoul bike lanes on Mapo-daero? (demo)", ["Yes", "No"], sealed=False,
                            duration=30 * DAY)  # fmt: skip
        sealed = self._poll("Rename the Mangwon market square? (demo)", ["Keep the name", "Rename it"], sealed=True,
                            duration=30 * DAY)  # fmt: skip
        n = self.size
        self._ballots(public, voters[: n // 2], 2, False)
        self._ballots(sealed, voters[n // 3 : n // 2], 2, True)
        self.record("open polls", public=public, sealed=sealed, ballots=n // 2, sealed_ballots=n // 2 - n // 3)

    # -- credentials, labour, vehicles -----------------------------------------------------------

    def credentials(self) -> None:
        if self.done("credentials"):
            return
        out = self.run.work / "credentials"
        out.mkdir(exist_ok=True)
        issuer_key = self.run.keystore("campus-issuer")
        issuer = _id(self.run.cli("credentials", "register-issuer", "DEMO-DIGITAL-CAMPUS", "Seoul Digital Campus (demo)",
                                  token=True), "issuer_id", "id")  # fmt: skip
        self.run.cli("credentials", "add-key", str(issuer), issuer_key.address, token=True)
        ctype = _id(self.run.cli("credentials", "register-type", "DEMO-AI-TRAINING", "AI training completion (demo)",
                                 token=True), "type_id", "id")  # fmt: skip
        self.run.cli("credentials", "allow", str(ctype), str(issuer), token=True)
        issued: list[str] = []
        for i, (name, _, _) in enumerate(NAMED[:6]):
            doc = out / f"{name}-ai-training.json"
            self.run.cli("credentials", "issue", "--issuer", str(issuer), "--type", str(ctype), "--subject",
                         demo_account(name).address, "--claim", "course=AI basics", "--claim", f"hours={40 - i}", "--out", str(doc),
                         signer="campus-issuer")  # fmt: skip
            issued.append(str(doc))
        revoked = issued[-2:]
        for document in revoked:
            self.run.cli("credentials", "revoke", document, signer="campus-issuer")
        self.record("credentials", issuer=issuer, type=ctype, issued=len(issued), revoked=len(revoked),
                    documents=str(out))  # fmt: skip

    def labor(self) -> None:
        if self.done("labour"):
            return
        employer, worker = self.run.keystore("employer"), self.run.keystore("worker")
        if self.run.get(f"/identity/citizens/{worker.address}", ok404=True) is None:
            self._register_one(worker, 14, 2001)
        terms = {
            "employer": employer.address, "worker": worker.address, "workplace_id": "0x" + "de" * 32,
            "hourly_wage": 11000, "daily_minutes": 240, "weekly_minutes": 1200,
            "work_days": ["mon", "tue", "wed", "thu", "fri"], "start_date": "2026-03-02", "end_date": "2026-12-31",
            "pay_cycle": "weekly", "pay_day": 5, "break_minutes": 30, "five_or_more_employees": True,
        }  # fmt: skip
        w = self.run.work
        (w / "terms.json").write_text(json.dumps(terms))
        (w / "contract.txt").write_text("Part-time labour contract (demo): Mangwon bakery, counter staff.\n")
        offer = w / "offer.json"
        self.run.cli("labor", "contract", "prepare", str(w / "terms.json"), "--document", str(w / "contract.txt"),
                     "-o", str(offer))  # fmt: skip
        self.run.cli("labor", "contract", "sign", str(offer), signer="employer")
        self.run.cli("labor", "contract", "sign", str(offer), signer="worker")
        contract = str(_id(self.run.cli("labor", "contract", "submit", str(offer)), "contract_id", "id"))
        days = [f"{d} 09:00-13:30 30" for d in ("mon", "tue", "wed", "thu", "fri")]
        for week in ("2026-03-02", "2026-03-09", "2026-03-16"):
            args = ["labor", "week", "record", contract, "--week", week]
            for d in days:
                args += ["--day", d]
            self.run.cli(*args, signer="employer")
            self.run.cli("labor", "week", "confirm", contract, week, signer="worker")
        for start, end, paid, base, holiday in (("2026-03-02", "2026-03-08", "2026-03-13", 220000, 44000),
                                                ("2026-03-09", "2026-03-15", "2026-03-20", 210000, 44000),
                                                ("2026-03-16", "2026-03-22", "2026-03-27", 220000, 0)):  # fmt: skip
            args = ["labor", "statement", "record", contract, "--period-start", start, "--period-end", end,
                    "--paid-on", paid, "--base", str(base)]  # fmt: skip
            if holiday:
                args += ["--holiday", str(holiday)]
            self.run.cli(*args, signer="employer")
        self.record("labour", contract=contract, weeks=3, statements=3)

    def _register_one(self, account: LocalAccount, district: int, year: int) -> None:
        office = demo_account("mapo-office")
        fields = {"account": account.address, "district": district, "birth_year": year, "residency": 1}
        td = self.run.post("/identity/citizens/typed-data", {**fields, "registrar": office.address})
        self.run.post("/identity/citizens", {**fields, "record_hash": td["record_hash"],
                                            "registrar": office.address, "nonce": td["nonce"],
                                            "deadline": td["deadline"], "signature": sign_typed(office, td["typed_data"])})  # fmt: skip
        self.run.count("citizens", 1)

    def vehicles(self) -> None:
        if self.done("used cars", "/vehicles/{vin}"):
            return
        if self.run.get(f"/vehicles/{VIN}", ok404=True) is None:
            self.run.cli("vehicles", "register", VIN, "--make", "Hyundai", "--model", "Avante", "--year", "2021",
                         "--first-registered", "2021-03-15", "--owner", "demo-seojun", "--data-dir",
                         str(self.run.data_dir), signer="vehicle-office")  # fmt: skip
        self.run.cli("vehicles", "purchase", VIN, "--seller", "demo-seojun", "--price", "9000000",
                     signer="jangan-motors")  # fmt: skip
        self.run.cli("vehicles", "odometer", VIN, "48200", "--source", "dealer", signer="jangan-motors")
        record = self.run.work / "inspection-2026-0412.txt"
        record.write_text("Performance and condition inspection record (demo)\n")
        inspection = _id(self.run.cli("vehicles", "inspect", VIN, "--km", "48250", "--record", str(record),
                                      "--accident-repair", "--panels", "hood,front_fender_left",
                                      signer="jangan-check"), "inspection_id", "id")  # fmt: skip
        try:
            self.run.cli("vehicles", "odometer", VIN, "21000", "--source", "dealer", signer="jangan-motors")
        except DemoFailed as exc:  # the rollback is refused on chain and put on record
            if "Rollback" not in str(exc):
                raise
        self.run.cli("vehicles", "offer", VIN, "--buyer", "demo-haeun", "--price", "12500000", "--inspection",
                     str(inspection), signer="jangan-motors")  # fmt: skip
        self.run.cli("vehicles", "accept", VIN, "1", "--price", "12500000", "--inspection", str(inspection),
                     signer="haeun")  # fmt: skip
        self.record("used cars", vin=VIN, inspection=inspection)

    # -- the whole city --------------------------------------------------------------------------

    def build(self) -> None:
        self.identity()
        self.payments_start()
        self.mileage_start()
        self.polls_closing()
        self.advance(epochs=1)  # 30 days: the closed polls end, the subcontract payment is late
        self.polls_reveal()
        self.mileage_middle()
        self.payments_finish()
        self.advance(epochs=5)  # epoch-0 eco points expire; the sealed poll's reveal window ends
        self.polls_finish()
        self.mileage_finish()
        self.polls_open()
        self.credentials()
        self.labor()
        self.vehicles()
        self.state_path.write_text(json.dumps(self.state, indent=2) + "\n")


class _Client:
    """The little of :class:`~civic_ledger.clikit.client.ApiClient` that ``sign_in`` needs."""

    def __init__(self, run: Runner) -> None:
        self.run = run

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        return self.run.get(f"{path}?{query}" if query else path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.run.post(path, body)


def _id(answer: Any, *names: str) -> Any:
    if isinstance(answer, dict):
        for name in names:
            if answer.get(name) is not None:
                return answer[name]
        for value in answer.values():
            if isinstance(value, dict):
                found = _id(value, *names)
                if found is not None:
                    return found
    if isinstance(answer, list) and answer:
        return _id(answer[0], *names)
    return None


def checksum(address: str) -> str:
    return to_checksum_address(address)


def keystore_names(data_dir: Path) -> list[str]:
    return sorted(p.stem for p in (data_dir / "keystores").glob("demo-*.json"))
