"""Encrypted-poll benchmark (issue 13), on the embedded chain (gas does not depend on the chain).

Figures:
- gas_per_encrypted_ballot_{2,4}_options: gasUsed of one ``castEncryptedBatch`` of 10 first
  ballots (distinct registered citizens, single choice; the poll already holds one ballot, so its
  encrypted-tally slots exist) divided by 10: signature, eligibility, the validity proof verified
  with ecAdd/ecMul, the encrypted tally updated, the ciphertexts logged;
- gas_encrypted_ballot_{2,4}_options_alone: the poll's first ballot alone, one ``castEncrypted``
  transaction (21,000 base and the creation of the tally slots included);
- gas_decryption_share[_4_options]: one trustee's ``decrypt`` (partial decryption of every counted
  option with its Chaum–Pedersen proof verified on chain), 3 trustees, threshold 2;
- gas_publish_result: ``publishResult`` (Lagrange on chain, count·G checked, PollFinalized);
- client_encrypt_ms_4_options: mean time to encrypt and prove one 4-option ballot in Python
  (py_ecc, fixed-base window tables warm), over 20 ballots.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import httpx  # noqa: E402
from eth_account import Account  # noqa: E402

from civic_ledger.platform.runtime import Platform  # noqa: E402
from civic_ledger.voting import elgamal, service  # noqa: E402
from civic_ledger.voting import encrypted_client as client  # noqa: E402
from tests.conftest import LiveServer, make_settings  # noqa: E402
from tests.helpers import grant_role, make_registrar, travel  # noqa: E402

BATCH = 10


class _Api:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def get(self, path: str) -> Any:
        r = self.http.get(path)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: Any) -> Any:
        r = self.http.post(path, json=body)
        if r.status_code >= 400:
            raise RuntimeError(r.text)
        return r.json()


def _say(msg: str) -> None:
    print(f"[bench encrypted] {msg}", file=sys.stderr, flush=True)


def _poll(platform: Platform, api: _Api, admin: Any, trustees: list[Any], options: int, tmp: Path) -> int:
    opens_at = service.chain_now(platform) + 60
    body = {
        "question": f"{options} options",
        "options": [f"option {i}" for i in range(options)],
        "secrecy": "encrypted",
        "opens_at": opens_at,
        "closes_at": opens_at + 3600,
        "creator": admin.address,
    }
    td = api.post("/voting/polls/typed-data", body)
    pid = int(
        api.post("/voting/polls", {**td["fields"], "signature": client._sign(admin, td["typed_data"])})["poll_id"]
    )
    client.name_trustees(api, pid, admin, [t.address for t in trustees], 2)
    for i, t in enumerate(trustees, start=1):
        client.trustee_commit(api, pid, t, tmp / f"{pid}-{i}.json")
    for i, t in enumerate(trustees, start=1):
        client.trustee_deal(api, pid, t, tmp / f"{pid}-{i}.json")
    return pid


def _signed(api: _Api, pid: int, voter: Any, option: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    b = client.encrypt_for_poll(api, pid, voter.address, [option])
    td = api.post(
        f"/voting/polls/{pid}/encrypted-ballots/typed-data",
        {"voter": voter.address, "ciphertexts": b.ciphertexts, "proofs": b.proofs},
    )
    f = td["fields"]
    sig = bytes.fromhex(client._sign(voter, td["typed_data"])[2:])
    return (pid, voter.address, 0, b.commitment(), f["version"], f["deadline"], sig, []), (b.ciphertexts, b.proofs, [])


def run(json_out: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-encrypted-") as tmp_s:
        tmp = Path(tmp_s)
        platform = Platform.start(make_settings("embedded", tmp / "data", rate_limits=False))
        server = LiveServer(platform)
        try:
            registrar = make_registrar(platform)
            admin = Account.create()
            grant_role(platform, "MVoting", "POLL_ADMIN_ROLE", admin.address)
            trustees = [Account.create() for _ in range(3)]
            voters = [Account.create() for _ in range(2 * BATCH + 2)]
            from tests.helpers import register_citizen

            for v in voters:
                register_citizen(platform, registrar, v.address)
            voting = platform.deployment.contract("MVoting")
            tally = platform.deployment.contract("EncryptedTally")
            with server.client() as http:
                api = _Api(http)
                polls = {n: _poll(platform, api, admin, trustees, n, tmp) for n in (2, 4)}
                travel(platform, 61)
                for n, pid in polls.items():
                    one = _signed(api, pid, voters[BATCH], 1)  # the poll's first ballot: creates the tally slots
                    alone = platform.relayer.transact(voting.functions.castEncrypted(*one), gas=2_000_000)
                    out[f"gas_encrypted_ballot_{n}_options_alone"] = alone.gas_used
                    _say(f"{n} options: batch of {BATCH}")
                    batch = [_signed(api, pid, v, i % n) for i, v in enumerate(voters[:BATCH])]
                    fn = voting.functions.castEncryptedBatch([b[0] for b in batch], [b[1] for b in batch])
                    receipt = platform.relayer.transact(fn, gas=29_000_000)
                    accepted = len(voting.events.BallotCast().process_receipt(receipt.raw))
                    assert accepted == BATCH, f"castEncryptedBatch accepted {accepted} of {BATCH}"
                    out[f"gas_per_encrypted_ballot_{n}_options"] = round(receipt.gas_used / BATCH)
                _say("client encryption, 4 options")
                e = api.get(f"/voting/polls/{polls[4]}/election")
                ctx = elgamal.BallotContext(
                    e["tally_contract"], polls[4], voters[0].address, tuple(map(int, e["election_key"]))
                )  # type: ignore[arg-type]
                elgamal.encrypt_ballot(ctx, "single", 4, 1, elgamal.bits_of("single", [0], 4, 1))  # warm
                times = []
                for i in range(20):
                    t0 = time.perf_counter()
                    elgamal.encrypt_ballot(ctx, "single", 4, 1, elgamal.bits_of("single", [i % 4], 4, 1))
                    times.append((time.perf_counter() - t0) * 1000)
                out["client_encrypt_ms_4_options"] = round(statistics.mean(times), 1)
                out["client_encrypt_ms_4_options_max"] = round(max(times), 1)
                travel(platform, 3601)
                _say("decryption shares")
                for n, pid in polls.items():
                    gas = []
                    for i in (1, 2):
                        r = client.trustee_decrypt(api, pid, trustees[i - 1], tmp / f"{pid}-{i}.json")
                        gas.append(r["gas_used"])
                    out["gas_decryption_share" + ("" if n == 2 else f"_{n}_options")] = round(statistics.mean(gas))
                    r = http.post(f"/voting/polls/{pid}/finalize")
                    assert r.status_code == 200, r.text
                    final = r.json()["finalized_tx"]
                    out["gas_publish_result" + ("" if n == 2 else f"_{n}_options")] = (
                        platform.chain.w3.eth.get_transaction_receipt(final)["gasUsed"]  # type: ignore[arg-type]
                    )
                del tally
        finally:
            service.close(platform)
            server.stop()
            platform.close()
    return out


if __name__ == "__main__":
    res = run("--json" in sys.argv)
    print(json.dumps(res, indent=2))
