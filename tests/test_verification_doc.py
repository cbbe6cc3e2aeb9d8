"""docs/verification.md, rule by rule: each figure computed the way the doc says, independently of the
service code, and compared with the API or the chain; RFC 8785 against npm's ``canonicalize``; a
credential issued by the API verified by tests/js/verify_credential.mjs (ethers + JCS, the doc alone)."""

from __future__ import annotations

import copy
import json
import math
import random
import re
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak

from civic_ledger.credentials import document as D
from civic_ledger.errors import InvalidInput
from civic_ledger.platform import jcs
from civic_ledger.platform.deploy import manifest_path
from civic_ledger.voting import service as voting_service
from tests import test_credentials as TC
from tests.conftest import LiveServer, started_platform
from tests.helpers import assert_error, grant_role, make_registrar, ok, register_citizen, sign_in

JS = Path(__file__).parent / "js"
DOC = Path(__file__).parent.parent / "docs" / "verification.md"


def node(script: str, *args: str, stdin: str | None = None) -> Any:
    run = subprocess.run(
        ["node", str(JS / script), *args], input=stdin, capture_output=True, text=True, timeout=180, check=False
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


# -- RFC 8785 (JCS): byte-identical to npm's canonicalize --------------------------------------------

RFC_EXAMPLE = (
    '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
    r'"string": "\u20ac$\u000F\u000aA' + "'" + r'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}'
)
RFC_EXPECTED = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)

TABLE: list[Any] = [
    40.0,
    -0.0,
    0.1 + 0.2,
    1e21,
    1e20,
    1e-7,
    1e-6,
    1e16,
    123456789.125,
    5e-324,
    1.7976931348623157e308,
    2.0**60,
    -1.5e-9,
    1e300,
    0,
    9007199254740991,
    -9007199254740991,
    "용접 기능사 2급",
    "🎓👷‍♀️ emoji and ZWJ",
    'controls \x00\x01\x1f\b\t\n\f\r " \\ / \x7f \u2028\u2029',
    {"\ue000": 1, "\U0001f600": 2, "a": 3, "é": 4, "Z": 5, "": 6, "€": 7, "\r": 8, "1": 9, "한": 10},
    {"b": [1, {"z": None, "y": [True, False]}], "a": {"c": {"d": "x", "\U0001d11e": [{"\uffff": 0.5}]}}},
    [],
    {},
    [[[]], {"": {}}],
]


def _random_doubles(n: int, seed: int = 8785) -> list[float]:
    rng = random.Random(seed)
    out: list[float] = []
    while len(out) < n:
        f = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(f):
            out.append(f)
        out.append(round(rng.uniform(-1e6, 1e6), rng.randint(0, 9)))  # everyday decimals
    return out


def test_python_jcs_is_byte_identical_to_npm_canonicalize() -> None:
    cases = [json.dumps(v, ensure_ascii=False) for v in TABLE + _random_doubles(1500)] + [RFC_EXAMPLE]
    npm = node("jcs_table.mjs", stdin=json.dumps({"cases": cases}))
    assert len(npm) == len(cases)
    for text, got in zip(cases, npm, strict=True):
        assert got["ok"], (text, got)
        assert jcs.canonicalize(json.loads(text)).hex() == got["hex"], text
    assert jcs.canonical_text(json.loads(RFC_EXAMPLE)) == RFC_EXPECTED  # RFC 8785 §3.2.2's own example


def test_jcs_number_and_key_order_rules_that_python_json_dumps_got_wrong() -> None:
    assert jcs.canonical_text({"hours": 40.0, "big": 1e21, "tiny": 1e-7, "z": -0.0}) == (
        '{"big":1e+21,"hours":40,"tiny":1e-7,"z":0}'
    )
    assert jcs.canonical_text(0.1 + 0.2) == "0.30000000000000004"
    # keys by UTF-16 code units: U+1F600 (0xd83d 0xde00) sorts before U+E000; code points say the opposite
    keys = {"\ue000": 1, "\U0001f600": 2}
    assert jcs.canonical_text(keys) == '{"\U0001f600":2,"\ue000":1}'
    assert json.dumps(keys, sort_keys=True, ensure_ascii=False).startswith('{"\ue000"')


def test_jcs_refusals_are_clear_and_match_what_a_javascript_verifier_could_not_reproduce() -> None:
    cases = ['"\\ud800"', '{"\\udfff": 1}', str(2**53 + 1), str(-(2**53)), str(10**30)]
    npm = node("jcs_table.mjs", stdin=json.dumps({"cases": cases}))
    assert [c["ok"] for c in npm] == [False, False, True, True, True]
    assert "Lone surrogate" in npm[0]["error"]
    # npm reads 2^53+1 as the double 2^53: the reason big integers are refused rather than hashed
    assert bytes.fromhex(npm[2]["hex"]).decode() == str(2**53)
    for text in cases:
        with pytest.raises(InvalidInput):
            jcs.canonicalize(json.loads(text), "claim 'x'")
    with pytest.raises(InvalidInput, match=r"claim 'n'\.marks\[1\]: the integer 9007199254740992 is outside"):
        jcs.canonicalize({"marks": [1, 2**53]}, "claim 'n'")
    with pytest.raises(InvalidInput, match=r'give it as a string \("9007199254740992"\)'):
        D.claim_digest(b"\0" * 32, "n", 2**53)
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(InvalidInput, match="NaN and Infinity are not JSON numbers"):
            jcs.canonicalize([bad])
    with pytest.raises(InvalidInput, match="lone UTF-16 surrogate"):
        jcs.canonicalize({"k": "a\ud800"})
    with pytest.raises(InvalidInput, match="not a JSON value"):
        jcs.canonicalize({"k": b"bytes"})
    with pytest.raises(InvalidInput, match="nested deeper"):
        deep: Any = 1
        for _ in range(jcs.MAX_DEPTH + 1):
            deep = [deep]
        jcs.canonicalize(deep)
    assert jcs.canonical_text(2**53 - 1) == str(2**53 - 1) and jcs.canonical_text(-(2**53 - 1)) == str(1 - 2**53)


def test_claim_digest_is_keccak_of_abi_encoded_salt_name_and_jcs_value() -> None:
    from eth_abi import encode

    salt = bytes(range(32))
    value = {"점수": [40.0, 0.5], "a": "é"}
    expected = keccak(encode(["bytes32", "string", "string"], [salt, "성적", '{"a":"é","점수":[40,0.5]}']))
    assert D.claim_digest(salt, "성적", value) == expected
    assert D.claim_digest(salt, "성적", {"a": "é", "점수": [40, 0.5]}) == expected  # 40 and 40.0 are one number


# -- a credential issued by the API, verified in JavaScript ------------------------------------------------


@dataclass
class Cred:
    env: TC.Env
    server_url: str
    manifest: Path

    @property
    def rpc(self) -> str:
        return f"{self.server_url}/rpc"


@pytest.fixture(scope="module")
def cred(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cred]:
    with (
        started_platform("embedded", tmp_path_factory.mktemp("verification")) as platform,
        LiveServer(platform) as server,
    ):
        registrar = make_registrar(platform)
        holders = [Account.create() for _ in range(2)]
        for h in holders:
            register_citizen(platform, registrar, h.address)
        try:
            with server.client(timeout=120) as client:
                client.headers["Authorization"] = f"Bearer {sign_in(client, platform.operator)}"
                type_id = ok(client.post("/credentials/types", json={"code": "welding-cert", "name": "Welding"}), 201)[
                    "type_id"
                ]
                env = TC.Env(platform, client, "", type_id, Account.create(), holders, None)
                env.issuer_id, _ = TC.new_issuer(env, "seoul-training", key=env.key)
                yield Cred(env, server.url, manifest_path(platform.settings.data_dir, platform.chain.chain_id))
        finally:
            voting_service.close(platform)  # the ballot relay of the voting rule checks


def js_verify(c: Cred, doc: dict[str, Any], tmp_path: Path, name: str = "doc.json") -> dict[str, Any]:
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False))  # as an HTTP client would store it
    return dict(node("verify_credential.mjs", c.rpc, str(c.manifest), str(path)))


def js_checks(report: dict[str, Any]) -> dict[str, str]:
    return {ch["name"]: ch["status"] for ch in report["checks"]}


CLAIMS = {
    "course": "용접 기능사 2급 🎓",
    "hours": 40.0,
    "score": 0.1 + 0.2,
    "tiny": 1e-7,
    "big": 1e21,
    "zero": -0.0,
    "id_number": "12345678901234567890",
    "nested": {"\ue000": 1, "\U0001f600": [True, None, "x"], "a": {"b": 9007199254740991}},
}


def test_api_credential_verifies_in_javascript_with_ethers_and_jcs_only(cred: Cred, tmp_path: Path) -> None:
    out = TC.issue(cred.env, claims=CLAIMS)
    doc = out["document"]
    report = js_verify(cred, doc, tmp_path)
    assert report["verdict"] == "valid", report["checks"]
    assert set(js_checks(report).values()) == {"pass"} and list(js_checks(report)) == list(TC.CHECKS)
    assert report["credentialHash"] == out["credential_hash"] == doc["credentialStatus"]["anchorId"]
    assert report["key"] == cred.env.key.address
    assert report["claims"]["course"] == CLAIMS["course"] and report["claims"]["hours"] == 40
    (anchored,) = report["events"]["anchored"]
    assert anchored["key"] == cred.env.key.address and anchored["issuerId"] == cred.env.issuer_id
    assert report["events"]["revoked"] == []
    # the server's own verifier agrees, check by check
    assert TC.checks(TC.verify(cred.env, doc)) == js_checks(report)
    # a holder's selective disclosure (digests only for withheld claims) still verifies
    partial = js_verify(cred, D.withhold(doc, {"course"}), tmp_path, "partial.json")
    assert partial["verdict"] == "valid" and list(partial["claims"]) == ["course"]


def test_javascript_verifier_reports_a_tampered_claim(cred: Cred, tmp_path: Path) -> None:
    doc = copy.deepcopy(TC.issue(cred.env, claims={"course": "Welding II", "hours": 40})["document"])
    hours = next(c for c in doc["credentialSubject"]["claims"] if c["name"] == "hours")
    hours["value"] = 400
    report = js_verify(cred, doc, tmp_path)
    got = js_checks(report)
    assert report["verdict"] == "invalid" and got["claims"] == "fail" and "hours" in report["checks"][3]["detail"]
    assert {n: s for n, s in got.items() if n != "claims"} == {n: "pass" for n in TC.CHECKS if n != "claims"}
    assert TC.checks(TC.verify(cred.env, doc)) == got


def test_javascript_verifier_reports_revocation_with_the_revoking_key(cred: Cred, tmp_path: Path) -> None:
    doc = TC.issue(cred.env, claims={"course": "to revoke"})["document"]
    assert js_verify(cred, doc, tmp_path)["verdict"] == "valid"
    ok(TC.status_change(cred.env, "revoke", [TC.ref(doc)])[1])
    report = js_verify(cred, doc, tmp_path)
    got = js_checks(report)
    assert report["verdict"] == "invalid" and got["not_revoked"] == "fail"
    assert [n for n, s in got.items() if s != "pass"] == ["not_revoked"]
    (revoked,) = report["events"]["revoked"]  # CredentialRevoked(anchorId, position, issuerId, key)
    assert revoked["key"] == cred.env.key.address and revoked["issuerId"] == cred.env.issuer_id


def test_javascript_verifier_reports_suspension_and_reinstatement(cred: Cred, tmp_path: Path) -> None:
    doc = TC.issue(cred.env, claims={"course": "to suspend"})["document"]
    ok(TC.status_change(cred.env, "suspend", [TC.ref(doc)])[1])
    report = js_verify(cred, doc, tmp_path)
    assert [n for n, s in js_checks(report).items() if s != "pass"] == ["not_suspended"]
    assert report["events"]["suspended"] == 1 and report["events"]["reinstated"] == 0
    ok(TC.status_change(cred.env, "reinstate", [TC.ref(doc)])[1])
    report = js_verify(cred, doc, tmp_path)
    assert report["verdict"] == "valid" and report["events"]["reinstated"] == 1


def test_javascript_verifier_recomputes_a_batch_members_merkle_root(cred: Cred, tmp_path: Path) -> None:
    env = cred.env
    body = {
        "issuer_id": env.issuer_id,
        "type_id": env.type_id,
        "key": env.key.address,
        "credentials": [{"subject": h.address, "claims": {"seat": i + 0.5}} for i, h in enumerate(env.holders)],
    }
    td = ok(env.api.post("/credentials/batches/typed-data", json=body))
    create = {
        **{k: body[k] for k in ("issuer_id", "type_id", "key")},
        "deadline": td["deadline"],
        "drafts": td["drafts"],
        "credential_signatures": [TC.sign(env.key, t) for t in td["credential_typed_data"]],
        "batch_signature": TC.sign(env.key, td["batch_typed_data"]),
    }
    docs = ok(env.api.post("/credentials/batches", json=create), 201)["documents"]
    report = js_verify(cred, docs[1], tmp_path)
    assert report["verdict"] == "valid", report["checks"]
    assert report["checks"][6]["detail"].startswith("batch")
    wrong = copy.deepcopy(docs[1])
    wrong["credentialStatus"]["position"] = wrong["proof"]["merkle"]["position"] = 0
    assert js_checks(js_verify(cred, wrong, tmp_path))["anchored"] == "fail"


def test_a_big_integer_claim_is_refused_naming_the_claim_and_accepted_as_a_string(cred: Cred) -> None:
    env = cred.env
    body = {
        "issuer_id": env.issuer_id,
        "type_id": env.type_id,
        "key": env.key.address,
        "subject": env.holders[0].address,
    }
    r = env.api.post("/credentials/issue/typed-data", json={**body, "claims": {"licence": 2**64}})
    assert_error(r, 422, "invalid_input", "claim 'licence'", "outside ±(2^53−1)", "as a string")
    r = env.api.post("/credentials/issue/typed-data", json={**body, "claims": {"licence": {"n": [1, -(2**60)]}}})
    assert_error(r, 422, "invalid_input", "claim 'licence'.n[1]")
    ok(env.api.post("/credentials/issue/typed-data", json={**body, "claims": {"licence": str(2**64)}}))


# -- docs/verification.md, rule by rule ---------------------------------------------------------------


def doc_section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(title)
    end = text.find("\n## ", start + 1)
    sub = text.find("\n### ", start + 1)
    ends = [e for e in (end, sub) if e != -1]
    return text[start : min(ends) if ends else len(text)]


def table_rows(section: str, *, raw: bool = False) -> list[list[str]]:
    rows = []
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            rows.append([cell.strip() if raw else cell.strip().strip("`") for cell in line.strip("|").split("|")])
    return [r for r in rows if r[0] not in ("contract", "rule", "key", "tree")]  # without the headers


def rpc(c: Cred, method: str, params: list[Any]) -> dict[str, Any]:
    import httpx

    return dict(httpx.post(c.rpc, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json())


def test_every_eip712_type_and_domain_in_the_doc_is_the_contracts(cred: Cred) -> None:
    from civic_ledger.platform import eip712

    platform = cred.env.platform
    section = doc_section("### 3.1 EIP-712")
    rows = table_rows(section)
    domains = [r for r in rows if len(r) == 2]
    types = [r for r in rows if len(r) == 3]
    assert len(domains) == 6 and len(types) == 34
    for name, domain_name in domains:
        fields, got_name, version, chain_id, address, *_ = (
            platform.deployment.contract(name).functions.eip712Domain().call()
        )
        assert (got_name, version, chain_id, address) == (
            domain_name,
            "1",
            platform.chain.chain_id,
            platform.deployment.address(name),
        )
    for contract, constant, text in types:
        on_chain = getattr(platform.deployment.contract(contract).functions, constant)().call()
        assert on_chain == keccak(text=text), (contract, constant)
    every = {
        (n, f.fn_name)
        for n in {r[0] for r in types}
        for f in platform.deployment.contract(n).all_functions()
        if f.fn_name.endswith("_TYPEHASH")
    }
    assert every == {(r[0], r[1]) for r in types}  # the doc lists every signed action of every contract
    credential = re.search(r"`(Credential\(bytes32 issuerId[^`]*)`", DOC.read_text())
    presentation = re.search(r"`(Presentation\([^`]*)`", DOC.read_text())
    assert credential and keccak(text=credential.group(1)) == eip712.typehash("Credential", D.CREDENTIAL_TYPES)
    assert presentation and keccak(text=presentation.group(1)) == eip712.typehash("Presentation", D.PRESENTATION_TYPES)


def test_manifest_is_as_documented(cred: Cred) -> None:
    manifest = json.loads(cred.manifest.read_text())
    assert {"chain_id", "compiler_version", "deployer", "admin", "contracts"} <= set(manifest)
    assert int(rpc(cred, "eth_chainId", [])["result"], 16) == manifest["chain_id"]
    assert set(manifest["contracts"]) == {
        "Notary", "CitizenRegistry", "MVoting", "CredentialRegistry", "LaborRecords", "CivicMileage", "CivicWon",
        "SubcontractPayments", "VehicleHistory", "EncryptedTally",
    }  # fmt: skip
    keys = {"address", "tx", "block", "gas_used", "code_hash", "creation_hash", "args", "compiler_version", "abi"}
    build = cred.env.platform.build
    for name, entry in manifest["contracts"].items():
        assert keys <= set(entry), name
        code = rpc(cred, "eth_getCode", [entry["address"], "latest"])["result"]
        assert "0x" + keccak(bytes.fromhex(code[2:])).hex() == entry["code_hash"], name
        assert entry["abi"] == build.artifacts[name].abi, name
        receipt = rpc(cred, "eth_getTransactionReceipt", [entry["tx"]])["result"]
        assert (
            int(receipt["blockNumber"], 16) == entry["block"]
            and receipt["contractAddress"].lower() == entry["address"].lower()
        )


def test_rpc_refusals_are_as_documented(cred: Cred) -> None:
    import httpx

    settings = cred.env.platform.settings
    assert rpc(cred, "eth_sendRawTransaction", ["0x00"])["error"]["code"] == -32601
    high = hex(settings.rpc_max_log_blocks)  # blocks 0 .. max: one block too many
    got = rpc(cred, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": high}])["error"]
    assert got["code"] == -32005 and str(settings.rpc_max_log_blocks) in got["message"]
    batch = [
        {"jsonrpc": "2.0", "id": i, "method": "eth_chainId", "params": []} for i in range(settings.rpc_max_batch + 1)
    ]
    assert httpx.post(cred.rpc, json=batch).json()["error"]["code"] == -32600
    assert httpx.post(cred.rpc, content=b'{"jsonrpc": "2.0", "id": 1, "method": NaN}').json()["error"]["code"] == -32700
    registry = cred.env.registry
    data = registry.encode_abi("ISSUE_TYPEHASH", [])
    call = rpc(cred, "eth_call", [{"to": registry.address, "input": data}, "latest"])  # `input`, no `from`
    assert bytes.fromhex(call["result"][2:]) == registry.functions.ISSUE_TYPEHASH().call()
    data = registry.encode_abi("registerIssuer", [b"\x01" * 32, "x"])  # not the admin: reverts
    err = rpc(cred, "eth_call", [{"to": registry.address, "input": data}, "latest"])["error"]
    selector = "0x" + keccak(text="AccessControlUnauthorizedAccount(address,bytes32)")[:4].hex()
    assert err["code"] == 3 and err["message"] == "execution reverted" and err["data"].startswith(selector)


def test_ballot_hash_and_commitment_are_as_documented(cred: Cred) -> None:
    from eth_abi import encode
    from eth_account.messages import encode_typed_data

    platform = cred.env.platform
    voting = platform.deployment.contract("MVoting")
    voter, salt = cred.env.holders[0].address, keccak(text="salt")
    ballot = next(r[2] for r in table_rows(doc_section("### 3.1 EIP-712")) if r[1] == "BALLOT_TYPEHASH")
    fields = re.findall(r"(\w+) (\w+)", ballot[ballot.index("(") + 1 : -1])
    message = {"pollId": 7, "voter": voter, "choice": 0x060103, "commitment": b"\0" * 32, "version": 2, "deadline": 99}
    typed = {
        "domain": {
            "name": "MVoting",
            "version": "1",
            "chainId": platform.chain.chain_id,
            "verifyingContract": voting.address,
        },
        "types": {"Ballot": [{"name": n, "type": t} for t, n in fields]},
        "primaryType": "Ballot",
        "message": message,
    }
    signable = encode_typed_data(full_message=typed)
    expected = keccak(b"\x19\x01" + signable.header + signable.body)
    assert voting.functions.ballotDigest(*message.values()).call() == expected
    commitment = keccak(encode(["uint256", "address", "uint256", "bytes32"], [7, voter, 0x060103, salt]))
    assert voting.functions.commitmentOf(7, voter, 0x060103, salt).call() == commitment


def test_poll_texts_ballot_hashes_voter_keys_and_the_ranked_tally_are_as_documented(cred: Cred) -> None:
    from eth_abi import encode

    from tests import test_voting as TV

    env, platform = cred.env, cred.env.platform
    admin = Account.create()
    grant_role(platform, "MVoting", "POLL_ADMIN_ROLE", admin.address)
    voting = TV.Env(platform, env.api, make_registrar(platform), admin, env.holders, None)
    options = ["A", "B", "C", "D"]
    pid = voting.create_poll(question="순위 투표?", options=options, ballot_type="ranked", max_choices=3)["poll_id"]
    poll = voting.voting.functions.getPoll(pid).call()
    assert poll[0] == keccak(text="순위 투표?")  # questionHash
    assert poll[1] == keccak(b"".join(keccak(text=o) for o in options))  # optionsHash
    first, second = env.holders
    voting.vote(pid, first, options=[2, 0, 1])
    voting.vote(pid, second, options=[1])
    replaced = voting.sign_ballot(pid, second, options=[3, 2])  # version 2 replaces version 1
    assert replaced["version"] == 2 and replaced["choice"] == 0x0304
    ok(voting.post_ballot(pid, replaced), 201)
    ballots = voting.voting.events.BallotCast().get_logs(from_block=0, argument_filters={"pollId": pid})
    registry = platform.deployment.contract("CitizenRegistry")
    domain = (b"\x19\x01", voting.voting.functions.eip712Domain().call())
    separator = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak(text=domain[1][1]),
                keccak(text=domain[1][2]),
                domain[1][3],
                domain[1][4],
            ],
        )
    )
    typehash = keccak(
        text="Ballot(uint256 pollId,address voter,uint256 choice,bytes32 commitment,uint32 version,uint256 deadline)"
    )
    last: dict[int, Any] = {}
    for ev in ballots:
        a = ev["args"]
        assert a["citizenId"] == registry.functions.citizenIdOf(a["voter"]).call()  # the voter key: the citizen id
        if a["version"] == 2:
            struct_hash = keccak(
                encode(
                    ["bytes32", "uint256", "address", "uint256", "bytes32", "uint32", "uint256"],
                    [typehash, pid, a["voter"], a["choice"], a["commitment"], 2, int(replaced["deadline"])],
                )
            )
            assert a["ballotHash"] == keccak(domain[0] + separator + struct_hash)
        if a["citizenId"] not in last or a["version"] > last[a["citizenId"]]["version"]:
            last[a["citizenId"]] = a
    counts = [0] * len(options)
    for a in last.values():
        word, rank = a["choice"], 0
        while word:
            counts[(word & 0xFF) - 1] += 3 - rank  # Borda: maxChoices - rank
            word, rank = word >> 8, rank + 1
    assert counts == [2, 1, 5, 3]
    assert list(voting.voting.functions.tallyOf(pid).call()[0]) == counts == voting.counts(pid)


def test_mileage_epoch_origin_and_year_are_as_documented(cred: Cred) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    platform = cred.env.platform
    mileage = platform.deployment.contract("CivicMileage")
    entry = json.loads(cred.manifest.read_text())["contracts"]["CivicMileage"]
    deployed_at = int(rpc(cred, "eth_getBlockByNumber", [hex(entry["block"]), False])["result"]["timestamp"], 16)
    origin, length, validity = mileage.functions.epochPolicy().call()
    assert (origin, length, validity) == (deployed_at, 30 * 86400, 6)
    assert mileage.functions.EPOCH_LENGTH().call() == 2_592_000
    latest = platform.chain.w3.eth.get_block("latest")
    assert (
        mileage.functions.currentEpoch().call(block_identifier=latest["number"])
        == (latest["timestamp"] - origin) // length
    )
    kst = timezone(timedelta(hours=9))
    new_year = int(datetime(2027, 1, 1, tzinfo=kst).timestamp())
    rng = random.Random(9)
    for ts in [new_year - 1, new_year, 0, 2**32, *[rng.randrange(0, 253402300799) for _ in range(20)]]:
        assert mileage.functions.yearOf(ts).call() == datetime.fromtimestamp(ts, UTC).astimezone(kst).year, ts


def test_labour_contract_id_is_as_documented(cred: Cred) -> None:
    from eth_abi import encode

    from tests import test_labor as TL

    env = cred.env
    employer, worker = Account.create(), env.holders[1]
    out = TL.register(env.api, TL.terms(employer.address, worker.address), employer, worker)
    document_hash = keccak(text=TL.DOC + worker.address)
    expected = keccak(encode(["address", "address", "bytes32"], [employer.address, worker.address, document_hash]))
    assert out["contract_id"] == "0x" + expected.hex()
    labor = env.platform.deployment.contract("LaborRecords")
    (event,) = labor.events.LaborContractRegistered().get_logs(from_block=0, argument_filters={"contractId": expected})
    assert event["args"]["employer"] == employer.address and event["args"]["worker"] == worker.address


def test_every_test_the_doc_cites_exists() -> None:
    """The doc's last table maps each rule to its tests: each named test (or prefix*) must exist."""
    import ast

    rows = table_rows(doc_section("## Where each rule is tested"), raw=True)
    assert len(rows) >= 15
    tests_dir = Path(__file__).parent
    for rule, cited in rows:
        current = None
        refs = re.findall(r"`([^`]*::[^`]*|tests/[\w.]+\.py)`", cited)
        assert refs, rule
        for ref in refs:
            file, _, name = ref.partition("::")
            if file:
                current = tests_dir / Path(file).name
            assert current is not None and current.exists(), (rule, ref)
            if not name:
                continue
            names = {n.name for n in ast.walk(ast.parse(current.read_text())) if isinstance(n, ast.FunctionDef)}
            found = any(n.startswith(name[:-1]) for n in names) if name.endswith("*") else name in names
            assert found, (rule, ref)
