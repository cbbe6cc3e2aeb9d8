"""Online credentials benchmark (embedded chain, fresh data directory, own API server).

Figures:
- gas_issue_single: median gasUsed of ``issue`` (one credential anchored by its hash), relayed
  through the API (typed data → two issuer signatures → ``POST /credentials/issue``).
- gas_per_credential_batch_1000: gasUsed of one ``issueBatch`` anchoring the Merkle root of 1,000
  credentials (each signed by the issuer, each document carrying its inclusion proof) / 1,000.
- gas_revoke_single: median gasUsed of ``revoke`` of one single-issued credential.
- gas_per_revoke_batch_100: gasUsed of one ``revoke`` of 100 credentials of the batch / 100
  (batch members share status bitmap words).
- gas_per_revoke_batch_100_singles: the same for 100 separately issued credentials (one anchor
  slot each) — the worst case, reported for honesty.
- verify_ms_median / verify_ms_p95: wall time of ``POST /credentials/verify`` over loopback HTTP
  (all nine checks, five registry views), embedded chain.
Anchors from the issue: EAS attest ≈ 227,000 gas, multiAttest ≈ 189,000/credential, revoke ≈ 66,000.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from eth_account import Account  # noqa: E402
from eth_account.messages import encode_defunct, encode_typed_data  # noqa: E402

from civic_ledger.credentials import service  # noqa: E402
from civic_ledger.credentials.schemas import (  # noqa: E402
    BatchCreate,
    BatchTypedDataCreate,
    CredentialRef,
    CredentialRequest,
    StatusAction,
    StatusChangeCreate,
)
from civic_ledger.platform.runtime import Platform  # noqa: E402
from tests.conftest import LiveServer, make_settings  # noqa: E402

N_SINGLE = 5
N_BATCH = 1000
N_REVOKE_BATCH = 100
N_VERIFY = 60


def _say(msg: str) -> None:
    print(f"[bench credentials] {msg}", file=sys.stderr, flush=True)


def _sign(key: Any, typed: dict[str, Any]) -> str:
    return "0x" + bytes(key.sign_message(encode_typed_data(full_message=typed)).signature).hex()


def _revoke(platform: Platform, issuer_id: str, key: Any, refs: list[CredentialRef]) -> int:
    typed = service.status_typed_data(platform, StatusAction.revoke, issuer_id, key.address, refs)
    body = StatusChangeCreate(
        issuer_id=issuer_id,
        key=key.address,
        credentials=refs,
        deadline=typed["message"]["deadline"],
        signature=_sign(key, typed),
    )
    return service.change_status(platform, StatusAction.revoke, body).gas_used


def run(json_out: bool) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-credentials-"))
    platform = Platform.start(make_settings("embedded", tmp / "data", rate_limits=False))  # one client IP
    server = LiveServer(platform)
    try:
        api = httpx.Client(base_url=server.url, timeout=300)
        # governance routes need the city admin signed in (SIWE); the operator holds the admin role
        message = api.get("/auth/nonce", params={"address": platform.operator.address}).json()["message"]
        sig = platform.operator.sign_message(encode_defunct(text=message)).signature
        login = api.post("/auth/login", json={"message": message, "signature": "0x" + bytes(sig).hex()})
        api.headers["Authorization"] = "Bearer " + login.json()["token"]
        key = Account.create()
        issuer_id = api.post("/credentials/issuers", json={"code": "bench-agency", "name": "Bench Agency"}).json()[
            "issuer_id"
        ]
        api.post(f"/credentials/issuers/{issuer_id}/keys", json={"key": key.address}).raise_for_status()
        type_id = api.post("/credentials/types", json={"code": "bench-type", "name": "Bench"}).json()["type_id"]
        api.post(f"/credentials/types/{type_id}/issuers", json={"issuer_id": issuer_id}).raise_for_status()
        holders = [Account.create().address for _ in range(N_BATCH)]

        _say(f"{N_SINGLE + N_REVOKE_BATCH} single issuances through the API")
        single_gas, singles = [], []
        for i in range(N_SINGLE + N_REVOKE_BATCH):
            td = api.post(
                "/credentials/issue/typed-data",
                json={
                    "issuer_id": issuer_id,
                    "type_id": type_id,
                    "key": key.address,
                    "subject": holders[i],
                    "claims": {"course": "Bench", "hours": 40, "seq": i},
                    "require_citizen": False,
                },
            ).json()
            out = api.post(
                "/credentials/issue",
                json={
                    "draft": td["draft"],
                    "credential_signature": _sign(key, td["credential_typed_data"]),
                    "issue_signature": _sign(key, td["issue_typed_data"]),
                },
            )
            out.raise_for_status()
            single_gas.append(out.json()["gas_used"])
            singles.append(out.json()["document"])

        _say(f"batch of {N_BATCH}: drafting, signing, anchoring")
        req = BatchTypedDataCreate(
            issuer_id=issuer_id,
            type_id=type_id,
            key=key.address,
            require_citizen=False,
            credentials=[
                CredentialRequest(subject=h, claims={"course": "Batch", "seq": i}) for i, h in enumerate(holders)
            ],
        )
        td = service.batch_typed_data(platform, req)
        sigs = [_sign(key, t) for t in td.credential_typed_data]
        batch = service.issue_batch(
            platform,
            BatchCreate(
                issuer_id=issuer_id,
                type_id=type_id,
                key=key.address,
                deadline=td.deadline,
                drafts=td.drafts,
                credential_signatures=sigs,
                batch_signature=_sign(key, td.batch_typed_data),
            ),
        )

        _say("revocations")
        revoke_single = [
            _revoke(platform, issuer_id, key, [CredentialRef(anchor_id=d["credentialStatus"]["anchorId"])])
            for d in singles[:N_SINGLE]
        ]
        batch_refs = [CredentialRef(anchor_id=batch.root, position=p) for p in range(N_REVOKE_BATCH)]
        revoke_batch = _revoke(platform, issuer_id, key, batch_refs)
        single_refs = [CredentialRef(anchor_id=d["credentialStatus"]["anchorId"]) for d in singles[N_SINGLE:]]
        revoke_singles = _revoke(platform, issuer_id, key, single_refs)

        _say(f"{N_VERIFY} verifications through the API")
        doc = batch.documents[-1]
        api.post("/credentials/verify", json={"document": doc}).raise_for_status()  # warm-up
        times = []
        for _ in range(N_VERIFY):
            t0 = time.perf_counter()
            r = api.post("/credentials/verify", json={"document": doc})
            times.append((time.perf_counter() - t0) * 1000)
            assert r.json()["valid"], r.text
        api.close()
        times.sort()
        return {
            "gas_issue_single": int(statistics.median(single_gas)),
            "gas_per_credential_batch_1000": round(batch.gas_used / N_BATCH, 1),
            "gas_batch_1000_total": batch.gas_used,
            "gas_revoke_single": int(statistics.median(revoke_single)),
            "gas_per_revoke_batch_100": round(revoke_batch / N_REVOKE_BATCH, 1),
            "gas_per_revoke_batch_100_singles": round(revoke_singles / N_REVOKE_BATCH, 1),
            "verify_ms_median": round(statistics.median(times), 2),
            "verify_ms_p95": round(times[int(0.95 * (len(times) - 1))], 2),
        }
    finally:
        server.stop()
        platform.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    import json

    print(json.dumps(run(True), indent=2))
