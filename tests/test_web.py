"""The web pages in a real browser (issue 14): Playwright (PyPI ``playwright``) driving Debian's Chromium
headless, against one server on the embedded chain.

A small city is built through the API (citizens, a finalised poll, an open poll, a credential, a
payment project with a late line, a car), then a citizen opens her keystore in the page, signs in, votes,
changes her vote and checks her receipts; a verifier's page flags a tampered credential; the public
poll page recounts from chain logs; the auditor's diagram and CSV equal the API's. Every page is loaded
with its JavaScript errors counted (zero allowed) and every request leaving 127.0.0.1 refused and
counted (zero allowed). Screenshots go to build/screenshots/ (git-ignored).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from civic_ledger.platform.compiler import PROJECT_ROOT
from civic_ledger.platform.deploy import manifest_path
from civic_ledger.platform.runtime import Platform
from civic_ledger.voting import service as voting_service
from tests import test_credentials as TC
from tests import test_labor as TL
from tests import test_vehicles as TV
from tests import test_verify_figures as TF
from tests.conftest import LiveServer, started_platform
from tests.helpers import bearer, grant_role, make_registrar, ok, sign_in, sign_typed, travel
from tests.web.browser import Browser, chromium_executable

SHOTS = PROJECT_ROOT / "build" / "screenshots"
PASSWORD = "correct horse battery"


class Site:
    """The server, its API client and the things the tests refer to."""

    def __init__(self, platform: Platform, server: LiveServer, api: httpx.Client) -> None:
        self.platform = platform
        self.server = server
        self.api = api
        self.url = server.url
        self.citizen: LocalAccount = Account.create()
        self.keystore: Path = Path()
        self.finalized_poll = 0
        self.open_poll = 0
        self.project = 0
        self.credential: dict[str, Any] = {}
        self.receipts: list[str] = []
        self.vin = ""
        self.labour_contract = ""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("web")
    with started_platform("embedded", tmp / "data") as platform, LiveServer(platform) as server:
        # Sign-In with Ethereum names this server's origin (the port is only known now; the auth
        # service reads the setting on first use).
        platform.settings.public_url = server.url
        try:
            with server.client(timeout=120) as api:
                admin = bearer(sign_in(api, platform.operator))
                api.headers.update(admin)
                s = Site(platform, server, api)
                build(s, tmp, admin)
                yield s
        finally:
            voting_service.close(platform)


def build(s: Site, tmp: Path, admin: dict[str, str]) -> None:
    registrar = make_registrar(s.platform)
    lab = TL.Lab(s.platform, s.api, registrar)
    voters = [lab.citizen() for _ in range(3)]
    s.citizen = lab.citizen()
    s.keystore = tmp / "minji.json"
    s.keystore.write_text(json.dumps(Account.encrypt(s.citizen.key, PASSWORD, kdf="scrypt", iterations=2**12)))
    poll_admin = Account.create()
    grant_role(s.platform, "MVoting", "POLL_ADMIN_ROLE", poll_admin.address)
    city = TF.City(s.platform, s.api, f"{s.url}/rpc", manifest_path(s.platform.settings.data_dir, 31337), admin)
    v = TF.Voting(city, poll_admin)
    s.finalized_poll = v.poll(question="Build the tram?", options=["Yes", "No", "Later"], eligible_count=10)
    for voter, choice in zip(voters, [0, 1, 0], strict=True):
        v.vote(s.finalized_poll, voter, options=[choice])
    v.vote(s.finalized_poll, voters[1], options=[2])  # a vote change: version 2 counts
    travel(s.platform, 125)
    ok(s.api.post(f"/voting/polls/{s.finalized_poll}/finalize"))
    TF.build_payments(city)  # two projects; the first has a subcontract line paid five days late
    s.project = city.projects[0]
    type_id = ok(s.api.post("/credentials/types", json={"code": "forklift", "name": "Forklift"}), 201)["type_id"]
    env = TC.Env(s.platform, s.api, "", type_id, Account.create(), [s.citizen], None)
    env.issuer_id, _ = TC.new_issuer(env, "seoul-skills", key=env.key)
    s.credential = TC.issue(env, claims={"course": "Forklift II", "hours": 40, "grade": "A"})["document"]
    s.vin = build_car(s, registrar)
    build_work_and_points(s, admin)
    s.open_poll = v.poll(question="Open the Han river night market all year?", options=["Yes", "No"], duration_s=7200)


def build_car(s: Site, registrar: LocalAccount) -> str:
    """A car with an inspection, a later dealer reading far above it and a refused rollback (two flags)."""
    roles = {name: Account.create() for name in ("registry", "dealer", "inspector", "insurer", "shop")}
    for name, account in roles.items():
        grant_role(s.platform, "VehicleHistory", f"{name.upper()}_ROLE", account.address)
    env = TV.Env(s.platform, s.api, s.url, f"{s.url}/rpc", Path(), registrar=registrar, **roles)
    vin, _ = TV.registered(env)
    TV.inspect(env, vin, 30_000)
    ok(TV.reading(env, vin, 52_000), 201)
    assert TV.reading(env, vin, 31_000, "shop", signer=env.shop).status_code == 409  # refused, on record
    return vin


def build_work_and_points(s: Site, admin: dict[str, str]) -> None:
    """The citizen works part-time (one week recorded, waiting for her) and holds 300 mileage points."""
    employer = Account.create()
    cid = TL.register(s.api, TL.terms(employer.address, s.citizen.address), employer, s.citizen)["contract_id"]
    TL.record_week(s.api, cid, employer, TL.MON, [0, 1, 2, 3, 4])
    s.labour_contract = cid
    awarder = Account.create()
    body = {"name": "Eco", "awarder": awarder.address, "annual_cap": 10**6}
    program = ok(s.api.post("/mileage/programs", headers=admin, json=body), 201)["program_id"]
    item = {"account": s.citizen.address, "amount": 300, "ref": 1}
    typed = ok(s.api.post(f"/mileage/programs/{program}/awards/typed-data", json=item))
    signature = sign_typed(awarder, typed["typed_data"])
    ok(
        s.api.post(
            f"/mileage/programs/{program}/awards", json={**item, "deadline": typed["deadline"], "signature": signature}
        )
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_executable()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with Browser(executable, SHOTS) as b:
        yield b


@pytest.fixture(scope="module")
def citizen_page(site: Site, browser: Browser) -> Any:
    """The citizen's page with her keystore opened and signed in (shared by the voting tests, in order)."""
    page = browser.page(f"{site.url}/")
    page.wait_for_load_state("networkidle")  # the first refresh has drawn the page
    page.set_input_files("#keystore-file", str(site.keystore))
    page.fill("#password", PASSWORD)
    page.click("#unlock")
    wait(page, "#wallet-open:not([hidden])", "#wallet-status", timeout=60_000)
    assert page.text_content("#address") == site.citizen.address
    page.click("#signin")
    page.wait_for_function("document.querySelector('#who').textContent.startsWith('citizen #')", timeout=15_000)
    return page


@pytest.fixture(autouse=True)
def no_errors(browser: Browser) -> Iterator[None]:
    yield
    browser.assert_clean()


def wait(page: Any, selector: str, explain: str = "#status", timeout: float = 20_000) -> None:
    """Wait for ``selector``; on a timeout, fail with the text the page shows in ``explain``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_selector(selector, timeout=timeout)
    except PlaywrightTimeout:
        pytest.fail(f"{selector} did not appear; {explain} says: {page.inner_html(explain)[:3000]!r}")


def vote_in_booth(page: Any, poll_id: int, option: int) -> str:
    page.wait_for_selector(f"button.vote[data-poll='{poll_id}']", timeout=15_000)
    page.click(f"button.vote[data-poll='{poll_id}']")
    page.check(f"#booth-choose input[name=opt][value='{option}']")
    page.click("#booth-next")
    page.wait_for_selector("#booth-cast")
    page.click("#booth-cast")
    page.wait_for_selector("#booth-receipt:not([hidden]) #receipt-hash", timeout=30_000)
    return str(page.text_content("#booth-receipt #receipt-hash")).strip()


def ballot_on_chain(site: Site, ballot_hash: str) -> tuple[dict[str, Any], str]:
    """The receipt from the API, and the signer recovered from the ballot in its transaction's calldata."""
    receipt = ok(site.api.get(f"/voting/receipts/{ballot_hash}"))
    mvoting = site.platform.deployment.contract("MVoting")
    tx = site.platform.chain.w3.eth.get_transaction(receipt["tx_hash"])
    fn, args = mvoting.decode_function_input(tx["input"])
    ballots = args["ballots"] if fn.fn_name == "castBatch" else [args["ballot"]]
    mine = [b for b in ballots if b["voter"] == site.citizen.address and b["version"] == receipt["version"]]
    assert len(mine) == 1, ballots
    signer = Account._recover_hash(bytes.fromhex(ballot_hash[2:]), signature=bytes(mine[0]["signature"]))
    return receipt, signer


def test_citizen_votes_in_the_browser_and_the_ballot_is_on_chain_with_her_signature(
    site: Site, citizen_page: Any, browser: Browser
) -> None:
    ballot_hash = vote_in_booth(citizen_page, site.open_poll, 0)
    browser.shot(citizen_page, "citizen-receipt")
    receipt, signer = ballot_on_chain(site, ballot_hash)
    assert signer == site.citizen.address
    assert (receipt["poll_id"], receipt["voter"], receipt["version"]) == (site.open_poll, site.citizen.address, 1)
    assert receipt["current"] and receipt["counted"] and receipt["choice"] == "0"
    counts = [o["count"] for o in ok(site.api.get(f"/voting/polls/{site.open_poll}/results"))["options"]]
    assert counts == [1, 0]
    site.receipts.append(ballot_hash)


def test_vote_change_in_the_browser_replaces_the_ballot(site: Site, citizen_page: Any, browser: Browser) -> None:
    assert site.receipts, "runs after the first vote"
    citizen_page.wait_for_selector(f".poll[data-poll='{site.open_poll}'] >> text=you voted (version 1", timeout=15_000)
    assert "Change" in str(citizen_page.text_content(f"button.vote[data-poll='{site.open_poll}']")) or "변경" in str(
        citizen_page.text_content(f"button.vote[data-poll='{site.open_poll}']")
    )
    ballot_hash = vote_in_booth(citizen_page, site.open_poll, 1)
    assert ballot_hash != site.receipts[0]
    receipt, signer = ballot_on_chain(site, ballot_hash)
    assert signer == site.citizen.address and receipt["version"] == 2 and receipt["choice"] == "1"
    first = ok(site.api.get(f"/voting/receipts/{site.receipts[0]}"))
    assert not first["current"] and first["current_version"] == 2
    counts = [o["count"] for o in ok(site.api.get(f"/voting/polls/{site.open_poll}/results"))["options"]]
    assert counts == [0, 1]
    site.receipts.append(ballot_hash)


def test_receipt_check_in_the_browser_reads_the_chain(site: Site, citizen_page: Any, browser: Browser) -> None:
    assert len(site.receipts) == 2, "runs after the vote change"
    page = citizen_page
    for ballot_hash, current in ((site.receipts[0], "false"), (site.receipts[1], "true")):
        page.fill("#receipt-input", ballot_hash)
        page.click("#receipt-check")
        wait(page, f"#receipt-result .receipt-report[data-current='{current}']", "#receipt-result")
        rows = {
            r: page.get_attribute(f"#receipt-result tr[data-check='{r}']", "data-status")
            for r in ("on_chain", "signature", "chain_id", "code MVoting")
        }
        assert rows == {"on_chain": "pass", "signature": "pass", "chain_id": "pass", "code MVoting": "pass"}
    page.fill("#receipt-input", "0x" + "ab" * 32)
    page.click("#receipt-check")
    wait(page, "#receipt-result .receipt-report[data-found='false']", "#receipt-result")
    browser.shot(page, "citizen-receipt-check")


def test_verifier_page_flags_a_tampered_credential(site: Site, browser: Browser) -> None:
    page = browser.page(f"{site.url}/verify")
    page.fill("#verify-text", json.dumps(site.credential))
    page.click("#verify-run")
    page.wait_for_selector("#verdict[data-verdict='valid']", timeout=20_000)
    tampered = json.loads(json.dumps(site.credential))
    for claim in tampered["credentialSubject"]["claims"]:
        if claim.get("name") == "grade":
            claim["value"] = "A+"
    page.fill("#verify-text", json.dumps(tampered))
    page.click("#verify-run")
    page.wait_for_selector("#verdict[data-verdict='invalid']", timeout=20_000)
    failing = page.eval_on_selector_all("#checks tr[data-status='fail']", "rows => rows.map(r => r.dataset.check)")
    assert failing == ["claims"]
    assert "grade" in str(page.text_content("#checks tr[data-check='claims']"))
    # the server's own verifier agrees on which check fails
    report = ok(site.api.post("/credentials/verify", json={"document": tampered}))
    assert [c["name"] for c in report["checks"] if c["status"] == "fail"] == ["claims"]
    browser.shot(page, "verifier-tampered")


def test_recount_in_the_browser_matches_the_published_result(site: Site, browser: Browser) -> None:
    page = browser.page(f"{site.url}/polls/{site.finalized_poll}")
    page.click("#recount")
    page.wait_for_selector("#recount-verdict[data-matches]", timeout=30_000)
    assert page.get_attribute("#recount-verdict", "data-matches") == "true"
    counts = json.loads(str(page.get_attribute("#recount-verdict", "data-counts")))
    published = ok(site.api.get(f"/voting/polls/{site.finalized_poll}/results"))
    assert counts == [o["count"] for o in published["options"]] == [2, 0, 1]
    assert published["source"] == "PollFinalized"
    statuses = page.eval_on_selector_all(
        "#recount-checks tr[data-check]", "rows => rows.map(r => [r.dataset.check, r.dataset.status])"
    )
    assert dict(statuses)["signatures"] == "pass" and dict(statuses)["api"] == "pass"
    assert "3 / 10" in str(page.text_content("#turnout"))
    browser.shot(page, "poll-recount")


def test_auditor_diagram_totals_and_csv_equal_the_api(site: Site, browser: Browser) -> None:
    page = browser.page(f"{site.url}/auditor?project={site.project}")
    page.wait_for_selector("#totals-line", timeout=30_000)
    figures = page.evaluate("window.civicAudit")
    api = ok(site.api.get(f"/audit/projects/{site.project}/reconcile"))
    assert figures["totals"] == api["totals"]
    assert api["totals"]["late_interest"] > 0
    diagram = page.eval_on_selector(
        "svg.sankey", "s => ['funded','paid','refunded','balance'].map(k => Number(s.dataset[k]))"
    )
    assert diagram == [api["totals"][k] for k in ("funded", "paid", "refunded", "balance")]
    # the flows into the payees add up to what the API says was paid, per bucket and in all
    paid_flows = page.eval_on_selector_all(
        "svg.sankey path.flow[data-from^='M:']:not([data-to='R:refunded']):not([data-to='R:in escrow'])",
        "ps => ps.reduce((x, p) => x + Number(p.dataset.value), 0)",
    )
    assert paid_flows == api["totals"]["paid"]
    csv = site.api.get(f"/audit/projects/{site.project}/trail", params={"format": "csv"})
    assert figures["csvSha256"] == csv.headers["X-Trail-SHA256"]
    with page.expect_download() as download:
        page.click("#csv")
    assert Path(download.value.path()).read_text() == csv.text
    late_rows = page.eval_on_selector_all("#late tr", "rows => rows.length - 1")
    assert late_rows == len(api["late"]) > 0
    page.fill("#filter", "LinePaid")
    shown = page.eval_on_selector_all("#trail-rows tr[data-event]", "rows => rows.map(r => r.dataset.event)")
    assert shown and set(shown) == {"LinePaid"}
    browser.shot(page, "auditor")


def test_every_page_loads_offline_without_errors(site: Site, browser: Browser) -> None:
    for path, ready in (
        ("/", "#wallet"),
        ("/verify", "#nonce"),
        ("/buyer", "#vin"),
        ("/auditor", "#project"),
        (f"/polls/{site.open_poll}", "#chart svg"),
        ("/docs", ".swagger-ui .info"),
    ):
        page = browser.page(f"{site.url}{path}")
        page.wait_for_selector(ready, timeout=20_000)
        page.wait_for_load_state("networkidle")
        browser.shot(page, "page" + (path.replace("/", "-") if path != "/" else "-citizen"))
        page.close()
    assert browser.outside == [], browser.outside
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in browser.requested)
    assert any(u.endswith("/vendor/swagger-ui-bundle.js") for u in browser.requested)


def test_citizen_presents_a_credential_that_the_verifier_page_accepts(
    site: Site, citizen_page: Any, browser: Browser, tmp_path: Path
) -> None:
    verifier = browser.page(f"{site.url}/verify")
    audience, nonce = verifier.input_value("#audience"), verifier.input_value("#nonce")
    assert audience == site.url and len(nonce) == 34
    held = tmp_path / "credential.json"
    held.write_text(json.dumps(site.credential))
    page = citizen_page
    page.set_input_files("#credential-file", str(held))
    card = f".credential[data-id='{site.credential['id']}']"
    page.wait_for_selector(card)
    page.uncheck(f"{card} label[data-claim='grade'] input")  # selective disclosure: withhold the grade
    page.fill(f"{card} input.audience", audience)
    page.fill(f"{card} input.nonce", nonce)
    with page.expect_download() as download:
        page.click(f"{card} button.present")
    wait(page, f"{card} .qr svg", "#credential-status")
    presentation = json.loads(Path(download.value.path()).read_text())
    claims = presentation["verifiableCredential"][0]["credentialSubject"]["claims"]
    assert [sorted(c) for c in claims if "value" not in c] == [["digest"]]  # the grade, withheld
    verifier.fill("#verify-text", json.dumps(presentation))
    verifier.click("#verify-run")
    wait(verifier, "#verdict[data-verdict]")
    assert verifier.get_attribute("#verdict", "data-verdict") == "valid", verifier.inner_text("#checks")
    assert "grade" not in verifier.inner_text("#summary") and "Forklift II" in verifier.inner_text("#summary")
    # the server's verifier agrees, and a presentation for another nonce is refused in the page
    server = ok(
        site.api.post(
            "/credentials/presentations/verify",
            json={"presentation": presentation, "audience": audience, "nonce": nonce},
        )
    )
    assert server["valid"] and server["presenter"] == site.citizen.address
    verifier.click("#new-nonce")
    verifier.click("#verify-run")
    wait(verifier, "#verdict[data-verdict='invalid']")
    assert verifier.get_attribute("#checks tr[data-check='challenge']", "data-status") == "fail"
    browser.shot(verifier, "verifier-presentation")
    verifier.close()


def test_buyer_page_shows_the_history_and_flags_from_the_chain(site: Site, browser: Browser) -> None:
    page = browser.page(f"{site.url}/buyer?vin={site.vin}")
    wait(page, "#compare .verdict")
    report = ok(site.api.get(f"/vehicles/{site.vin}/history"))
    flags = page.eval_on_selector_all("#flags li[data-flag]", "xs => xs.map(x => x.dataset.flag)")
    assert sorted(flags) == sorted(f["code"] for f in report["flags"])
    assert {"rollback_refused", "inspection_odometer_mismatch"} <= set(flags)
    assert page.eval_on_selector_all("#mileage-chart circle", "xs => xs.length") == len(report["readings"]) == 2
    assert page.eval_on_selector_all("#timeline tr[data-event]", "xs => xs.length") == len(report["timeline"])
    assert "says what the chain says" in page.inner_text("#compare .verdict")
    browser.shot(page, "buyer")
    # the same report dropped on the verifier's desk passes; an edited one does not
    verifier = browser.page(f"{site.url}/verify")
    for edit, verdict in (({}, "valid"), ({"highest_km": 30_000}, "invalid")):
        verifier.fill("#verify-text", json.dumps({**report, **edit}))
        verifier.click("#verify-run")
        wait(verifier, f"#verdict[data-verdict='{verdict}']")
    assert verifier.get_attribute("#checks tr[data-check='highest_km']", "data-status") == "fail"
    verifier.close()


def test_worker_confirms_her_week_and_sees_her_mileage_in_the_browser(
    site: Site, citizen_page: Any, browser: Browser
) -> None:
    page = citizen_page
    wait(page, "#mileage-balance", "#status")
    assert "300" in page.inner_text("#mileage-balance") and "agrees" in page.inner_text("#mileage-body")
    row = f".poll[data-contract='{site.labour_contract}'] tr:has-text('{TL.MON.isoformat()}')"
    wait(page, f"{row} button", "#labour-body")
    page.click(f"{row} button:first-child")  # confirm, signed in the browser
    wait(page, f"{row}:has-text('confirmed')", "#labour-body")
    week = ok(site.api.get(f"/labor/contracts/{site.labour_contract}/weeks/{TL.MON.isoformat()}"))
    assert week["status"] == "confirmed"
    assert week["history"][-1]["action"] == "confirmed", week["history"]  # LaborRecords checked her signature
    browser.shot(page, "citizen-work-and-mileage")
