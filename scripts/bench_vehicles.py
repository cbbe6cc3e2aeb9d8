"""Used-car history benchmark: gas of VehicleHistory records and the history report's latency (issue 11).

Gas (gasUsed of mined transactions on anvil, through the service's typed-data → sign → relay path;
steady state: signers who have signed before, the inspection counter in use):
- gas_register_vehicle: ``registerVehicle`` (registry-signed), owner a citizen;
- gas_odometer_reading: a dealer's ``recordOdometer``. Target ≤ 50,000;
- gas_inspection_record: ``recordInspection`` with findings and the record hash. Target ≤ 80,000;
- gas_sale: ``offerSale`` + ``acceptSale`` (seller- then buyer-signed). Target ≤ 150,000.

Report latency (embedded chain, in process, median of 15 calls of ``reads.history``: index read,
report built, one block-timestamp call):
- history_report_ms_at_100_records: one vehicle with 100 records (readings, inspections, claims…);
- history_report_ms_at_10000_vehicles: the same vehicle's report after 10,000 other vehicles were
  registered (``BENCH_VEHICLES_OTHERS`` overrides the count). Target ≤ 50 ms; it must not grow with
  the number of other vehicles (the index is keyed by vehicle).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from eth_account.signers.local import LocalAccount  # noqa: E402

from civic_ledger.platform.runtime import Platform  # noqa: E402
from civic_ledger.vehicles import reads, service  # noqa: E402
from civic_ledger.vehicles import vin as vinmod  # noqa: E402
from civic_ledger.vehicles.actions import ACTIONS  # noqa: E402
from civic_ledger.vehicles.schemas import REQUESTS  # noqa: E402
from tests.conftest import Anvil, make_settings  # noqa: E402
from tests.helpers import grant_role, make_registrar, register_citizen, sign_typed  # noqa: E402

_ALNUM = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def _say(msg: str) -> None:
    print(f"[bench vehicles] {msg}", file=sys.stderr, flush=True)


def vin_of(n: int) -> str:
    tail = ""
    for _ in range(14):
        n, r = divmod(n, len(_ALNUM))
        tail = _ALNUM[r] + tail
    return "KNA" + tail


class Actors:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.roles: dict[str, LocalAccount] = {}
        for name, role in (
            ("registry", "REGISTRY_ROLE"),
            ("dealer", "DEALER_ROLE"),
            ("inspector", "INSPECTOR_ROLE"),
            ("insurer", "INSURER_ROLE"),
            ("shop", "SHOP_ROLE"),
        ):
            self.roles[name] = Account.create()
            grant_role(platform, "VehicleHistory", role, self.roles[name].address)
        self.registrar = make_registrar(platform)

    def citizen(self) -> LocalAccount:
        a = Account.create()
        register_citizen(self.platform, self.registrar, a.address)
        return a

    def record(self, key: str, vin: str, fields: dict[str, Any], signer: LocalAccount) -> Any:
        typed_model, create_model = REQUESTS[key]
        typed = service.typed_data(self.platform, key, vin, typed_model(**fields, signer=signer.address))
        message = typed.typed_data["message"]
        extra: dict[str, Any] = {}
        if key == "offer":
            extra["offer_id"] = message["offerId"]
        if key == "accept":
            extra["seller"] = message["seller"]
        body = create_model(
            **{**fields, **extra},
            signer=signer.address,
            nonce=typed.nonce or 0,
            deadline=typed.deadline,
            signature=sign_typed(signer, typed.typed_data),
        )
        return service.relay(self.platform, key, vin, body)

    def register(self, vin: str, owner: str) -> Any:
        fields = {
            "vin": vin,
            "make": "Kia",
            "model": "K5",
            "model_year": 2022,
            "first_registered": "2022-05-01",
            "owner": owner,
        }
        return self.record("register", vin, fields, self.roles["registry"])

    def inspect(self, vin: str, km: int) -> Any:
        fields = {"km": km, "accident_repair": False, "record_hash": vinmod.document_hash(f"{vin} {km}")}
        return self.record("inspection", vin, fields, self.roles["inspector"])

    def reading(self, vin: str, km: int) -> Any:
        return self.record("reading", vin, {"km": km, "source": "dealer"}, self.roles["dealer"])


def gas_figures() -> dict[str, int]:
    node = Anvil()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            platform = Platform.start(make_settings(node.url, Path(tmp) / "data"))
            try:
                a = Actors(platform)
                seller, buyer = a.citizen(), a.citizen()
                a.register(vin_of(1), seller.address)  # warm: the registry's nonce
                a.reading(vin_of(1), 10)
                a.inspect(vin_of(1), 20)
                vin = vin_of(2)
                reg = a.register(vin, seller.address)
                a.reading(vin, 1_000)
                reading = a.reading(vin, 2_000)
                inspection = a.inspect(vin, 2_100)
                offer = a.record(
                    "offer",
                    vin,
                    {"buyer": buyer.address, "price": 12_000_000, "inspection_id": inspection.inspection_id},
                    seller,
                )
                accept = a.record(
                    "accept",
                    vin,
                    {"offer_id": offer.offer_id, "price": 12_000_000, "inspection_id": inspection.inspection_id},
                    buyer,
                )
                return {
                    "gas_register_vehicle": int(reg.gas_used),
                    "gas_odometer_reading": int(reading.gas_used),
                    "gas_inspection_record": int(inspection.gas_used),
                    "gas_offer": int(offer.gas_used),
                    "gas_accept": int(accept.gas_used),
                    "gas_sale": int(offer.gas_used + accept.gas_used),
                }
            finally:
                platform.close()
    finally:
        node.stop()


def _median_ms(platform: Platform, vin: str, n: int = 15) -> float:
    reads.history(platform, vin)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        reads.history(platform, vin)
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


def _register_many(platform: Platform, a: Actors, count: int, owner: str) -> None:
    """``count`` vehicles registered by signed transactions sent in chunks (mined together)."""
    c = service.history_contract(platform)
    registry = a.roles["registry"]
    nonce = int(c.functions.nonces(registry.address).call())
    deadline = platform.chain.now() + 7 * 86400
    act = ACTIONS["register"]
    sent: list[tuple[str, dict[str, Any]]] = []
    for start in range(0, count, 250):
        txs = []
        for i in range(start, min(count, start + 250)):
            body = REQUESTS["register"][0](
                vin=vin_of(10_000 + i),
                make="Kia",
                model="K5",
                model_year=2022,
                first_registered="2022-05-01",
                owner=owner,
                signer=registry.address,
            )
            message = act.message(vinmod.vin_hash(body.vin), body) | {"nonce": nonce, "deadline": deadline}
            nonce += 1
            sig = service.typed_message(platform, act, message).sign(registry)
            fn = c.functions.registerVehicle(*act.call(message), sig)
            txs.append({"to": c.address, "data": fn._encode_transaction_data(), "gas": 400_000})
        sent = platform.relayer.submit(txs)
        for tx_hash, _tx in sent:
            receipt = platform.relayer._wait(tx_hash)
            assert receipt["status"] == 1, tx_hash
        _say(f"registered {min(count, start + 250):,} of {count:,} other vehicles")


def report_figures() -> dict[str, Any]:
    others = int(os.environ.get("BENCH_VEHICLES_OTHERS", "10000"))
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform.start(make_settings("embedded", Path(tmp) / "data"))
        try:
            a = Actors(platform)
            owner = a.citizen()
            vin = vin_of(3)
            a.register(vin, owner.address)
            km = 0
            for i in range(99):
                km += 500
                if i % 10 == 5:
                    a.inspect(vin, km)
                else:
                    a.reading(vin, km)
            at_100 = _median_ms(platform, vin)
            records = len(reads.history(platform, vin)["timeline"])
            started = time.perf_counter()
            _register_many(platform, a, others, a.roles["dealer"].address)
            build_s = round(time.perf_counter() - started, 1)
            at_many = _median_ms(platform, vin)
            return {
                "history_report_records": records,
                "history_report_ms_at_100_records": at_100,
                f"history_report_ms_at_{others}_vehicles": at_many,
                "history_report_ms_at_10000_vehicles": at_many if others == 10_000 else None,
                "other_vehicles": others,
                "build_s_other_vehicles": build_s,
            }
        finally:
            platform.close()


def run(json_out: bool = False) -> dict[str, Any]:
    _say("gas on anvil")
    figures: dict[str, Any] = gas_figures()
    _say("history report latency on the embedded chain")
    figures.update(report_figures())
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(True), indent=2))
