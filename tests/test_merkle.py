"""The platform's one Merkle tree against OpenZeppelin's own ``@openzeppelin/merkle-tree`` (npm).

Every tree is built twice — by ``civic_ledger.platform.merkle`` and by the JS library run with
node (``tests/js/oz_merkle.js``) — and the roots, every proof, the multiproofs and the JSON
dumps must be identical; dumps cross over both ways. Then trees built by the JS library are used
on chain: a census of 5 and of 7 voters (the sizes where the old census tree differed) lets its
members vote through the API, ``CredentialRegistry.batchLeaf`` is the JS leaf, and the
``entriesRoot`` ``LaborRecords`` derives from a week's shifts is the JS root of those shifts.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from civic_ledger.credentials import document as D
from civic_ledger.errors import InvalidInput
from civic_ledger.labor import records
from civic_ledger.labor import service as labor_service
from civic_ledger.labor.schemas import DailyEntry
from civic_ledger.platform import eip712
from civic_ledger.platform.merkle import StandardMerkleTree, process_multi_proof
from civic_ledger.platform.runtime import Platform
from civic_ledger.voting import ballots as enc
from tests.conftest import LiveServer, started_platform
from tests.helpers import assert_error, grant_role, make_registrar, ok, register_citizen, sign_typed

ROOT = Path(__file__).resolve().parent.parent
OZ_SCRIPT = ROOT / "tests" / "js" / "oz_merkle.js"
ZERO32 = "0x" + "00" * 32


def openzeppelin(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run the JS library on ``jobs`` (see tests/js/oz_merkle.js)."""
    if not (ROOT / "node_modules" / "@openzeppelin" / "merkle-tree").is_dir():
        pytest.fail("node_modules/@openzeppelin/merkle-tree is missing: run `make install` (npm install)")
    run = subprocess.run(
        ["node", str(OZ_SCRIPT)], input=json.dumps(jobs), capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return list(json.loads(run.stdout))


def word(seed: str) -> str:
    return "0x" + keccak(text=seed).hex()


def address(seed: str) -> str:
    return to_checksum_address(keccak(text=seed)[:20])


# Values in the canonical JSON form (checksummed addresses, decimal strings, lowercase hex), so the
# JS dump, which keeps values as given, must equal the Python dump byte for byte.
ENCODINGS: dict[str, tuple[list[str], Any]] = {
    "census": (["address"], lambda i: [address(f"voter {i}")]),
    "batch": (D.BATCH_ENCODING, lambda i: [word(f"credential {i}"), str(i)]),
    "shifts": (records.ENTRY_ENCODING, lambda i: [str(20260302 + i % 7), str(540 + i), str(810 + i), "30", i % 3 == 0]),
    "mixed": (
        ["address", "uint256", "int64", "bytes", "string", "uint8[]", "bool"],
        lambda i: [
            address(f"m{i}"),
            str(10**30 + i),
            str(-i),
            "0x" + "ab" * i,
            f"claim {i}",
            [str(i), "7"],
            i % 2 == 1,
        ],
    ),
}
MULTI = [[0], [0, 1], [1, 3, 4], [8, 2, 5, 6], [], [0, 1, 2, 3, 4, 5, 6, 7, 8]]


def _multis(n: int) -> list[list[int]]:
    return [m for m in MULTI if all(i < n for i in m)]


# -- the tree itself, against the JS library ---------------------------------------------------


def test_root_proofs_multiproofs_and_dump_equal_openzeppelin_for_1_to_9_leaves() -> None:
    cases = [(name, n) for name in ENCODINGS for n in range(1, 10)]
    jobs = []
    for name, n in cases:
        encoding, make = ENCODINGS[name]
        jobs.append({"values": [make(i) for i in range(n)], "encoding": encoding, "multi": _multis(n)})
    for (name, n), job, js in zip(cases, jobs, openzeppelin(jobs), strict=True):
        tree = StandardMerkleTree.of(job["values"], job["encoding"])
        where = f"{name}, {n} leaves"
        assert js["verified"], where
        assert tree.root == js["root"], where
        assert [tree.proof(i) for i in range(n)] == js["proofs"], where
        assert [tree.proof_for(v) for v in job["values"]] == js["proofs"], where
        assert tree.dump() == js["dump"], where
        for indices, js_multi in zip(job["multi"], js["multi"], strict=True):
            multi = tree.multi_proof(indices)
            assert multi.to_dict() == js_multi, f"{where}, multiproof of {indices}"
            assert StandardMerkleTree.verify_multi_proof(tree.root, job["encoding"], multi)
        for i, value in enumerate(job["values"]):
            assert StandardMerkleTree.verify(tree.root, job["encoding"], value, js["proofs"][i]), where
            other = js["proofs"][(i + 1) % n]
            if n > 1 and other != js["proofs"][i]:
                assert not StandardMerkleTree.verify(tree.root, job["encoding"], value, other), where


def test_dumps_cross_over_both_ways() -> None:
    encoding, make = ENCODINGS["batch"]
    values = [make(i) for i in range(7)]
    (js_built,) = openzeppelin([{"values": values, "encoding": encoding}])
    loaded = StandardMerkleTree.load(js_built["dump"])  # the JS dump, read by Python
    assert loaded.root == js_built["root"] and [loaded.proof(i) for i in range(7)] == js_built["proofs"]
    assert loaded.at(3) == [bytes.fromhex(values[3][0][2:]), 3]
    python_dump = StandardMerkleTree.of([[bytes.fromhex(h[2:]), int(i)] for h, i in values], encoding).dump()
    (js_loaded,) = openzeppelin([{"dump": python_dump}])  # the Python dump, read (and validated) by JS
    assert js_loaded["verified"] and js_loaded["root"] == js_built["root"] and js_loaded["dump"] == js_built["dump"]


def test_duplicate_values_keep_two_leaves_as_in_the_js_library() -> None:
    values = [["0x" + "11" * 32, "1"], ["0x" + "22" * 32, "2"], ["0x" + "11" * 32, "1"]]
    (js,) = openzeppelin([{"values": values, "encoding": D.BATCH_ENCODING}])
    tree = StandardMerkleTree.of(values, D.BATCH_ENCODING)
    assert tree.root == js["root"] and tree.dump() == js["dump"]
    assert tree.proof_for(values[0]) == js["proofs"][2]  # the last of equal values, as JS looks it up


def test_bad_values_dumps_and_proofs_are_invalid_input_naming_the_problem() -> None:
    def fails(fragment: str, fn: Any, *args: Any) -> None:
        with pytest.raises(InvalidInput) as info:
            fn(*args)
        assert fragment in info.value.message, info.value.message

    of = StandardMerkleTree.of
    fails("at least one value", of, [], ["address"])
    fails("values[1][0]: 'bob' is not an address", of, [[address("a")], ["bob"]], ["address"])
    fails("values[0] has 1 item(s) but the leaf encoding has 2", of, [["0x" + "00" * 32]], D.BATCH_ENCODING)
    fails("values[0][1]: 256 is out of range for uint8", of, [["0x" + "00" * 32, 256]], ["bytes32", "uint8"])
    fails("expected 32 bytes (bytes32), got 2", of, [["0xabcd", 1]], D.BATCH_ENCODING)
    fails("unsupported leaf type 'uint7'", of, [[1]], ["uint7"])
    tree = of([[address(f"v{i}")] for i in range(5)], ["address"])
    fails("is not in the tree", tree.proof_for, [address("stranger")])
    fails("index 5 is out of bounds: the tree holds 5 values", tree.proof, 5)
    dump = tree.dump()
    fails("unknown Merkle tree format 'v2'", StandardMerkleTree.load, {**dump, "format": "v2"})
    forged = json.loads(json.dumps(dump))
    forged["values"][0]["value"] = [address("intruder")]
    fails("values[0] is not the leaf at tree[", StandardMerkleTree.load, forged)
    forged = json.loads(json.dumps(dump))
    forged["tree"][0] = "0x" + "00" * 32
    fails("tree[0] is not the hash of its children", StandardMerkleTree.load, forged)
    fails("proof[0] must be 32 bytes", StandardMerkleTree.verify, tree.root, ["address"], [address("v0")], ["0x01"])
    fails("leaves + proof must be proofFlags + 1", process_multi_proof, [keccak(b"x")], [], [True])


def test_the_census_of_the_voting_area_is_the_js_census_and_refuses_repeated_addresses() -> None:
    for n in range(1, 10):
        voters = [address(f"census {n} {i}") for i in range(n)]
        (js,) = openzeppelin([{"values": [[v] for v in voters], "encoding": ["address"]}])
        assert "0x" + enc.census_root(voters).hex() == js["root"]
        for i, v in enumerate(voters):
            assert ["0x" + p.hex() for p in enc.census_proof([x.lower() for x in voters], v)] == js["proofs"][i]
    with pytest.raises(InvalidInput, match="census entry 3: .* is already entry 1"):
        enc.census_root([address("a"), address("b"), address("a").lower()])
    with pytest.raises(InvalidInput, match="census entry 2: 'nobody' is not an address"):
        enc.census_root([address("a"), "nobody"])


# -- on chain: trees built by the JS library ---------------------------------------------------


@dataclass
class Stack:
    platform: Platform
    api: httpx.Client
    admin: LocalAccount
    registrar: LocalAccount


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with (
        started_platform("embedded", tmp_path_factory.mktemp("merkle") / "data") as platform,
        LiveServer(platform) as server,
        server.client() as client,
    ):
        admin = Account.create()
        grant_role(platform, "MVoting", "POLL_ADMIN_ROLE", admin.address)
        yield Stack(platform, client, admin, make_registrar(platform))


def _census_poll(s: Stack, root: str, count: int) -> int:
    draft = {"question": "Q?", "options": ["Yes", "No"], "duration_s": 600, "creator": s.admin.address}
    td = ok(
        s.api.post(
            "/voting/polls/typed-data",
            json={**draft, "eligibility": "census", "census_root": root, "eligible_count": count},
        )
    )
    sig = "0x" + eip712.TypedMessage.from_dict(td["typed_data"]).sign(s.admin).hex()
    return int(ok(s.api.post("/voting/polls", json={**td["fields"], "signature": sig}), 201)["poll_id"])


def _ballot(s: Stack, poll_id: int, voter: LocalAccount, option: int, proof: list[str]) -> httpx.Response:
    td = ok(
        s.api.post(f"/voting/polls/{poll_id}/ballots/typed-data", json={"voter": voter.address, "options": [option]})
    )
    sig = "0x" + eip712.TypedMessage.from_dict(td["typed_data"]).sign(voter).hex()
    return s.api.post(f"/voting/polls/{poll_id}/ballots", json={**td["fields"], "signature": sig, "proof": proof})


@pytest.mark.parametrize("n", [5, 7])
def test_a_census_built_by_openzeppelin_merkle_tree_lets_every_member_vote_on_chain(stack: Stack, n: int) -> None:
    voters = [Account.create() for _ in range(n)]
    (js,) = openzeppelin([{"values": [[v.address] for v in voters], "encoding": ["address"]}])
    poll_id = _census_poll(stack, js["root"], n)
    for i, voter in enumerate(voters):
        rec = ok(_ballot(stack, poll_id, voter, i % 2, js["proofs"][i]), 201)
        assert rec["citizen_id"] == str(int(voter.address, 16))  # census polls key ballots by address
    results = ok(stack.api.get(f"/voting/polls/{poll_id}/results"))
    assert [o["count"] for o in results["options"]] == [(n + 1) // 2, n // 2]
    # an outsider with a member's proof is refused by MerkleProof.verify
    assert_error(_ballot(stack, poll_id, Account.create(), 0, js["proofs"][0]), 403, "MVotingNotEligible")


def test_the_credential_registry_leaf_is_the_js_leaf(stack: Stack) -> None:
    values = [[word(f"doc {i}"), str(i)] for i in range(5)]
    (js,) = openzeppelin([{"values": values, "encoding": D.BATCH_ENCODING}])
    registry = stack.platform.deployment.contract("CredentialRegistry")
    for i, entry in enumerate(js["dump"]["values"]):
        leaf = registry.functions.batchLeaf(bytes.fromhex(values[i][0][2:]), i).call()
        assert "0x" + leaf.hex() == js["dump"]["tree"][entry["treeIndex"]]
    assert D.batch_tree([v[0] for v in values]).root == js["root"]


@pytest.mark.parametrize("shifts_per_day", [[1, 1, 1, 1, 1], [2, 1, 1, 1, 1, 1], [2, 1, 2, 1, 1, 1, 1]])
def test_labor_records_derives_the_js_root_of_a_weeks_shifts(stack: Stack, shifts_per_day: list[int]) -> None:
    employer, worker = Account.create(), Account.create()
    register_citizen(stack.platform, stack.registrar, worker.address)
    monday = date(2026, 3, 2)
    terms = {
        "employer": employer.address,
        "worker": worker.address,
        "document_hash": word(f"contract of {worker.address}"),
        "workplace_id": word("workplace"),
        "hourly_wage": 10_320,
        "daily_minutes": 240,
        "weekly_minutes": 1200,
        "work_days": ["mon", "tue", "wed", "thu", "fri"],
        "start_date": monday.isoformat(),
        "end_date": "2026-12-31",
        "pay_cycle": "weekly",
        "pay_day": 5,
        "break_minutes": 30,
        "five_or_more_employees": True,
    }
    td = ok(stack.api.post("/labor/contracts/typed-data", json=terms))
    body = {
        "terms": terms,
        "deadline": td["deadline"],
        "employer_signature": sign_typed(employer, td["typed_data"]),
        "worker_signature": sign_typed(worker, td["typed_data"]),
    }
    cid = ok(stack.api.post("/labor/contracts", json=body), 201)["contract_id"]
    shifts = []
    for day, count in enumerate(shifts_per_day):
        for k in range(count):
            start, end = (("08:00", "10:30"), ("13:00", "15:30"))[k]
            shifts.append(
                {"date": (monday + timedelta(days=day)).isoformat(), "start": start, "end": end, "break_minutes": 30}
            )
    week = {"week_start": monday.isoformat(), "entries": shifts}
    td = ok(stack.api.post(f"/labor/contracts/{cid}/weeks/typed-data", json=week))
    recorded = ok(
        stack.api.post(
            f"/labor/contracts/{cid}/weeks",
            json={**week, "deadline": td["deadline"], "signature": sign_typed(employer, td["typed_data"])},
        ),
        201,
    )
    receipt = stack.platform.chain.w3.eth.get_transaction_receipt(recorded["history"][-1]["ref"]["tx_hash"])
    (event,) = labor_service.labor(stack.platform).events.WeekRecorded().process_receipt(receipt)
    values = [list(records.entry_tuple(DailyEntry(**s))) for s in shifts]
    (js,) = openzeppelin(
        [
            {
                "values": [[str(x) if not isinstance(x, bool) else x for x in v] for v in values],
                "encoding": records.ENTRY_ENCODING,
            }
        ]
    )
    assert len(shifts) == sum(shifts_per_day) and "0x" + event["args"]["entriesRoot"].hex() == js["root"]
    assert {p["root"] for p in recorded["proofs"]} == {js["root"]}
    by_leaf = {json.dumps(v["value"]): js["proofs"][i] for i, v in enumerate(js["dump"]["values"])}
    for p in recorded["proofs"]:
        value = [str(x) if not isinstance(x, bool) else x for x in records.entry_tuple(DailyEntry(**p["entry"]))]
        assert p["proof"] == by_leaf[json.dumps(value)]
        entry = records.entry_encoding(DailyEntry(**p["entry"]))
        proof = [bytes.fromhex(h[2:]) for h in p["proof"]]
        contract = labor_service.labor(stack.platform)
        assert contract.functions.verifyDailyEntry(bytes.fromhex(cid[2:]), 20260302, entry, proof).call()
