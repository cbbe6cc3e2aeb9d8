"""Several API replicas on one node (issue 17): three `serve` processes' worth of platforms on one
anvil, each with its own operator key and data directory (its own index), sharing one directory
for the deployment manifest and the state store (`CIVIC_SHARED_DIR`).

64 clients go round-robin over the replicas (ballots, vote changes, sign-ins, reads): no nonce
error, the tally equals the acknowledged ballots, a receipt from replica A reads the same on
replica C, a nonce from one replica signs in on another, a sign-out on one is honoured on all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import Platform
from tests.conftest import Anvil, LiveServer, started_platform
from tests.helpers import bearer, grant_role
from tests.test_indexer import Census, census_poll, voters

REPLICAS = 3
CLIENTS = 64


@dataclass
class Replicas:
    platforms: list[Platform]
    servers: list[LiveServer]
    census: Census
    agencies: list[LocalAccount]


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    root = tmp_path_factory.mktemp("replicas")
    shared = root / "shared"
    node = Anvil()
    try:
        with ExitStack() as stack:
            platforms, servers = [], []
            for i in range(REPLICAS):  # one operator key per replica, funded on the node
                operator = Account.create()
                httpx.post(
                    node.url,
                    json={
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "anvil_setBalance",
                        "params": [operator.address, hex(10**21)],
                    },
                ).raise_for_status()
                keystore = root / f"operator-{i}.json"
                keystore.write_text(json.dumps(Account.encrypt(operator.key, "pw")))
                platform = stack.enter_context(
                    started_platform(
                        node.url,
                        root / f"replica-{i}",
                        shared_dir=shared,
                        operator_keystore=keystore,
                        keystore_password="pw",
                        rate_limits=False,
                    )
                )
                platforms.append(platform)
                servers.append(stack.enter_context(LiveServer(platform)))
            first = platforms[0]
            census = census_poll(first, voters(CLIENTS, seed="replicas"), question="Replicas?")
            agencies = [Account.create() for _ in range(3)]
            for a in agencies:  # agency keys may sign in
                grant_role(first, "MVoting", "POLL_ADMIN_ROLE", a.address)
            yield Replicas(platforms, servers, census, agencies)
    finally:
        node.stop()


def test_replicas_share_one_deployment_but_not_an_operator(replicas: Replicas) -> None:
    a, b, c = replicas.platforms
    assert a.deployment.addresses() == b.deployment.addresses() == c.deployment.addresses()
    assert a.deployment.manifest_path == b.deployment.manifest_path  # the shared directory's
    assert len({p.operator.address for p in replicas.platforms}) == 3
    assert a.store.path == b.store.path == c.store.path
    assert len({p.settings.data_dir for p in replicas.platforms}) == 3  # each its own index


def _ballot(api: httpx.Client, census: Census, voter: LocalAccount, choice: int) -> dict[str, Any]:
    r = api.post(
        f"/voting/polls/{census.poll_id}/ballots/typed-data", json={"voter": voter.address, "options": [choice]}
    )
    assert r.status_code == 200, r.text
    td = r.json()
    signature = eip712.TypedMessage.from_dict(td["typed_data"]).sign(voter)
    proof = ["0x" + p.hex() for p in census.proof(voter.address)]
    return {**td["fields"], "signature": "0x" + signature.hex(), "proof": proof}


def test_64_clients_round_robin_lose_and_duplicate_nothing(replicas: Replicas) -> None:
    census, servers = replicas.census, replicas.servers

    def client(i: int) -> list[tuple[str, int, httpx.Response]]:
        voter = census.voters[i]
        out = []
        with servers[i % 3].client() as first, servers[(i + 1) % 3].client() as second:
            r = first.post(f"/voting/polls/{census.poll_id}/ballots", json=_ballot(first, census, voter, i % 3))
            out.append((voter.address, i % 3, r))
            assert first.get(f"/voting/polls/{census.poll_id}").status_code == 200  # a read in between
            if i % 2 == 0:  # half change their vote, through the next replica
                r = second.post(
                    f"/voting/polls/{census.poll_id}/ballots", json=_ballot(second, census, voter, (i + 1) % 3)
                )
                out.append((voter.address, (i + 1) % 3, r))
        return out

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [x for chunk in pool.map(client, range(CLIENTS)) for x in chunk]
    failures = [r.text for _, _, r in results if r.status_code != 201]
    assert failures == [], failures[:3]  # no nonce errors, no lost ballot
    final: dict[str, int] = {}
    for voter, choice, _ in results:  # every client's second ballot was sent after its first was acknowledged
        final[voter] = choice
    expected = [sum(1 for c in final.values() if c == k) for k in range(3)]
    for server in servers:  # every replica's index says the same
        with server.client() as api:
            got = api.get(f"/voting/polls/{census.poll_id}/results").json()
        assert [o["count"] for o in got["options"]] == expected and got["ballots"] == CLIENTS
    # a receipt acknowledged by one replica reads the same on another
    for k, (_voter, _choice, r) in enumerate(results[:12]):
        body = r.json()
        with servers[(k + 2) % 3].client() as other:
            elsewhere = other.get(f"/voting/receipts/{body['ballot_hash']}")
        assert elsewhere.status_code == 200, elsewhere.text
        assert elsewhere.json()["tx_hash"] == body["tx_hash"] and elsewhere.json()["version"] == body["version"]
    # the replicas' operators shared the work (each relayed castBatch transactions)
    senders = set()
    w3 = replicas.platforms[0].chain.w3
    for _voter, _choice, r in results:
        senders.add(w3.eth.get_transaction(r.json()["tx_hash"])["from"])
    assert senders == {p.operator.address for p in replicas.platforms}


def test_sign_in_and_sign_out_hold_on_every_replica(replicas: Replicas) -> None:
    a, b, c = (s.client() for s in replicas.servers)
    with a, b, c:
        for agency in replicas.agencies:
            nonce = a.get("/auth/nonce", params={"address": agency.address})  # issued by replica A
            assert nonce.status_code == 200, nonce.text
            message = nonce.json()["message"]
            signature = "0x" + bytes(agency.sign_message(encode_defunct(text=message)).signature).hex()
            login = b.post("/auth/login", json={"message": message, "signature": signature})  # burnt on B
            assert login.status_code == 200, login.text
            again = c.post("/auth/login", json={"message": message, "signature": signature})  # and nowhere else
            assert again.status_code in (401, 409), again.text
            token = bearer(login.json()["token"])
            for api in (a, b, c):
                me = api.get("/auth/me", headers=token)
                assert me.status_code == 200 and me.json()["address"] == agency.address, me.text
            assert c.post("/auth/logout", headers=token).status_code == 204  # signed out on C
            for api in (a, b, c):
                assert api.get("/auth/me", headers=token).status_code == 401
