"""Every custom error declares its HTTP status beside its declaration, and the API says so.

- each custom error of the build has a ``/// @custom:http`` tag in ``contracts/interfaces/`` (read
  from the compiled devdoc) with a status of :data:`ALLOWED_STATUSES`, and a ``@notice``;
  OpenZeppelin's errors are in ``revert.OPENZEPPELIN_STATUS`` instead;
- a service's pre-check that answers with a contract error's name answers with its status;
- decoded errors end to end through the API: status, error name and the notice in the message;
- ``/openapi.json`` documents every error response as ``ErrorOut``, never FastAPI's ``{"detail"}``.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector

from civic_ledger import errors
from civic_ledger.errors import CompileError, ContractError
from civic_ledger.main import create_app
from civic_ledger.platform import revert
from civic_ledger.platform.compiler import Build, compile_contracts
from civic_ledger.platform.revert import ALLOWED_STATUSES, OPENZEPPELIN_STATUS, ErrorDecoder, signature_of
from civic_ledger.platform.runtime import Platform
from civic_ledger.voting import ballots as ballots_enc
from civic_ledger.voting import service as voting
from civic_ledger.voting.schemas import PollCreate
from tests.conftest import BUILD_DIR, PROJECT_ROOT, LiveServer, started_platform
from tests.helpers import assert_error, bearer, grant_role, sign_in, sign_typed

INTERFACES = PROJECT_ROOT / "contracts" / "interfaces"
BACKEND = PROJECT_ROOT / "backend" / "civic_ledger"
_ERROR_DECL = re.compile(r"^\s*error\s+(\w+)\s*\(", re.MULTILINE)


@pytest.fixture(scope="module")
def build() -> Build:
    return compile_contracts(BUILD_DIR)


def _declared_in_interfaces() -> dict[str, str]:
    """Error name → interface file, for every ``error`` declared in contracts/interfaces/."""
    found: dict[str, str] = {}
    for path in sorted(INTERFACES.glob("*.sol")):
        for name in _ERROR_DECL.findall(path.read_text(encoding="utf-8")):
            found[name] = path.name
    return found


def _doc_entry(doc: dict[str, Any], signature: str, key: str) -> str | None:
    for entry in (doc.get("errors") or {}).get(signature) or ():
        if key in entry:
            return str(entry[key])
    return None


# -- the declarations ----------------------------------------------------------------------


def test_every_custom_error_of_the_build_declares_an_allowed_http_status_and_a_notice(build: Build) -> None:
    ours = _declared_in_interfaces()
    assert len(ours) > 100  # the scan found the interfaces
    problems: list[str] = []
    seen: set[str] = set()
    used_oz: set[str] = set()
    for contract, art in build.artifacts.items():
        for item in art.abi:
            if item["type"] != "error":
                continue
            signature = signature_of(item)
            tag = _doc_entry(art.devdoc, signature, revert.HTTP_TAG)
            if item["name"] in ours:
                seen.add(item["name"])
                where = f"{contract}: {signature} ({ours[item['name']]})"
                if tag is None:
                    problems.append(f"{where} has no `/// @custom:http` tag")
                elif not tag.strip().isdigit() or int(tag) not in ALLOWED_STATUSES:
                    problems.append(f"{where} declares @custom:http {tag!r}, not one of {sorted(ALLOWED_STATUSES)}")
                if not _doc_entry(art.userdoc, signature, "notice"):
                    problems.append(f"{where} has no `/// @notice`")
            elif signature in OPENZEPPELIN_STATUS:
                used_oz.add(signature)
                assert OPENZEPPELIN_STATUS[signature] in ALLOWED_STATUSES, signature
            else:
                problems.append(
                    f"{contract}: {signature} is neither declared in an interface nor in OPENZEPPELIN_STATUS"
                )
    assert not problems, "\n".join(problems)
    assert seen == set(ours), f"declared but in no contract's ABI: {sorted(set(ours) - seen)}"
    assert used_oz == set(OPENZEPPELIN_STATUS), (
        f"OPENZEPPELIN_STATUS rows no contract raises: {set(OPENZEPPELIN_STATUS) - used_oz}"
    )


def test_the_decoder_reads_every_status_from_the_build(build: Build) -> None:
    decoder = ErrorDecoder.from_build(build)
    assert all(spec.declared for spec in decoder.specs())
    expected = {
        # one status whether a service's pre-check or the contract's revert answers
        "MVotingNotPollAdmin": 403,
        # every used or out-of-order nonce is a conflict, OpenZeppelin's and ours
        "CredentialRegistryInvalidNonce": 409,
        "InvalidAccountNonce": 409,
        "CivicMileageInvalidAccountNonce": 409,
        "MVotingReplayed": 409,
        "CitizenRegistryNotRegistrar": 403,
        "AccessControlUnauthorizedAccount": 403,
        "LaborRecordsMinimumWageUnknown": 422,
        "SubcontractPaymentsUnknownClaim": 404,
    }
    assert {name: decoder.spec(name).status for name in expected} == expected  # type: ignore[union-attr]
    notice = decoder.spec("MVotingNotPollAdmin").notice  # type: ignore[union-attr]
    assert notice == "`creator` does not hold POLL_ADMIN_ROLE."
    # OpenZeppelin's errors carry their @dev text as the notice
    assert "nonce" in (decoder.spec("InvalidAccountNonce").notice or "")  # type: ignore[union-attr]


def test_revert_data_decodes_to_the_declared_status_and_notice(build: Build) -> None:
    decoder = ErrorDecoder.from_build(build)
    types = ["bytes32", "address", "uint256", "uint256"]
    selector = function_signature_to_4byte_selector(f"CredentialRegistryInvalidNonce({','.join(types)})")
    key = Account.create().address
    data = selector + abi_encode(types, [b"\x01" * 32, key, 3, 2])
    exc = decoder.decode(data, "CredentialRegistry")
    assert isinstance(exc, ContractError)
    assert (exc.error_name, exc.status, exc.contract) == ("CredentialRegistryInvalidNonce", 409, "CredentialRegistry")
    assert exc.message.endswith("(CredentialRegistry): The nonce is not the current nonce of (issuerId, key).")
    assert exc.to_dict()["details"]["args"] == {"issuerId": "0x" + "01" * 32, "key": key, "currentNonce": 3, "nonce": 2}


def test_a_status_outside_the_allowed_set_is_refused_at_start_up() -> None:
    item = {"type": "error", "name": "ThrowerTeapot", "inputs": []}
    devdoc = {"errors": {"ThrowerTeapot()": [{"custom:http": "418"}]}}
    with pytest.raises(CompileError, match=r"ThrowerTeapot\(\) declares `@custom:http 418`"):
        ErrorDecoder().add_abi("Thrower", [item], devdoc=devdoc)


def test_the_status_is_no_longer_guessed_from_the_name() -> None:
    assert not hasattr(errors, "_status_for")
    for area in ("identity", "mileage", "labor"):
        text = (BACKEND / area / "service.py").read_text(encoding="utf-8")
        assert not re.search(r"^_STATUS\b|^_HINT\b|^def refine\(", text, re.MULTILINE), area
    assert "status" not in {f for f in ballots_enc.Rejection.__dataclass_fields__}


_DOMAIN_ERRORS = {
    name: cls.status
    for name, cls in vars(errors).items()
    if isinstance(cls, type) and issubclass(cls, errors.CivicLedgerError) and cls is not errors.ContractError
}


def _prechecks() -> Iterator[tuple[str, int, str, int]]:
    """(file, line, error name, status) of every ``raise NotFound(..., code="<ContractError>")``."""
    for path in sorted(BACKEND.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            status = _DOMAIN_ERRORS.get(node.func.id)
            for kw in node.keywords:
                if status and kw.arg == "code" and isinstance(kw.value, ast.Constant):
                    yield str(path.relative_to(BACKEND)), node.lineno, str(kw.value.value), status


def test_a_precheck_named_after_a_contract_error_answers_with_its_declared_status(build: Build) -> None:
    decoder = ErrorDecoder.from_build(build)
    checked = 0
    wrong: list[str] = []
    for where, line, code, status in _prechecks():
        spec = decoder.spec(code)
        if spec is None:
            continue  # a service code (invalid_input, citizen_not_found, ...)
        checked += 1
        if spec.status != status:
            wrong.append(f"{where}:{line} answers {code} with {status}, its declaration says {spec.status}")
    assert checked >= 10
    assert not wrong, "\n".join(wrong)


# -- end to end through the API ------------------------------------------------------------


@dataclass
class Env:
    platform: Platform
    api: httpx.Client
    admin: dict[str, str]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("errors")
    with (
        started_platform("embedded", tmp / "data") as platform,
        LiveServer(platform) as server,
        server.client() as client,
    ):
        try:
            yield Env(platform, client, bearer(sign_in(client, platform.operator)))
        finally:
            voting.close(platform)


def _poll_body(env: Env, creator: Account) -> dict[str, Any]:
    draft = {"question": "Errors?", "options": ["Yes", "No"], "duration_s": 3600, "creator": creator.address}
    td = env.api.post("/voting/polls/typed-data", json=draft)
    assert td.status_code == 200, td.text
    return {**td.json()["fields"], "signature": sign_typed(creator, td.json()["typed_data"])}


def _create_poll_call(env: Env, body: dict[str, Any]) -> Any:
    create = PollCreate(**body)
    typed = voting.poll_typed_message(env.platform, create)
    args = (voting._poll_params(typed.message), create.creator, create.nonce, create.deadline)
    contract = env.platform.deployment.contract("MVoting")
    return contract.functions.createPoll(*args, bytes.fromhex(create.signature[2:]))


def test_not_poll_admin_is_403_from_the_precheck_and_from_the_revert(env: Env) -> None:
    outsider = Account.create()
    body = _poll_body(env, outsider)
    r = env.api.post("/voting/polls", json=body)
    api_status = r.status_code
    assert_error(r, 403, "MVotingNotPollAdmin", "POLL_ADMIN_ROLE")
    with pytest.raises(ContractError) as caught:
        env.platform.relayer.call(_create_poll_call(env, body))
    assert caught.value.error_name == "MVotingNotPollAdmin"
    assert caught.value.status == api_status == 403
    assert caught.value.message.endswith("(MVoting): `creator` does not hold POLL_ADMIN_ROLE.")


def test_a_replayed_nonce_is_409_with_openzeppelins_text(env: Env) -> None:
    creator = Account.create()
    grant_role(env.platform, "MVoting", "POLL_ADMIN_ROLE", creator.address)
    body = _poll_body(env, creator)
    assert env.api.post("/voting/polls", json=body).status_code == 201
    out = assert_error(env.api.post("/voting/polls", json=body), 409, "InvalidAccountNonce", "(MVoting): ")
    assert "not the expected current nonce" in out["message"]
    assert out["details"] == {"name": "InvalidAccountNonce", "args": {"account": creator.address, "currentNonce": 1}}


def test_not_registrar_is_403_with_its_notice_before_and_at_the_contract(env: Env) -> None:
    stranger = Account.create()
    draft = {"account": Account.create().address, "district": 1, "birth_year": 1990, "registrar": stranger.address}
    out = assert_error(
        env.api.post("/identity/citizens/typed-data", json=draft), 403, "CitizenRegistryNotRegistrar", stranger.address
    )
    assert out["message"].endswith(
        "(CitizenRegistry): `registrar` does not hold `REGISTRAR_ROLE` (never had it, or it was revoked)."
    )
    assert out["details"] == {"name": "CitizenRegistryNotRegistrar", "args": {"registrar": stranger.address}}


def test_an_anchor_twice_is_409_with_the_notice(env: Env) -> None:
    doc = "0x" + "ab" * 32
    assert env.api.post("/notary/anchors", headers=env.admin, json={"document_hash": doc}).status_code == 201
    again = env.api.post("/notary/anchors", headers=env.admin, json={"document_hash": doc})
    out = assert_error(again, 409, "NotaryAlreadyAnchored", "sequence=1", "The hash was anchored before")
    assert set(out) == {"error", "message", "details"}


# -- OpenAPI -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return create_app().openapi()  # the schema needs no running platform


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "responses" in op:
                yield method, path, op


def test_openapi_documents_errorout_and_never_fastapis_detail_shape(openapi: dict[str, Any]) -> None:
    text = json.dumps(openapi)
    assert "HTTPValidationError" not in text and '"ValidationError"' not in text
    schema = openapi["components"]["schemas"]["ErrorOut"]
    assert set(schema["properties"]) == {"error", "message", "details"}
    assert set(schema["required"]) == {"error", "message"}
    missing_422: list[str] = []
    for method, path, op in _operations(openapi):
        params = {p["in"] for p in op.get("parameters", [])}
        if ("requestBody" in op or "path" in params) and "422" not in op["responses"]:
            missing_422.append(f"{method} {path}")
        for status, response in op["responses"].items():
            if status[0] not in "45" or (path == "/health" and status == "503"):
                continue  # /health answers 503 with its own HealthOut
            media = response["content"]["application/json"]
            assert media["schema"] == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)
            assert set(media["example"]) == {"error", "message", "details"}, (method, path, status)
    assert not missing_422, missing_422


def test_openapi_documents_the_errors_each_kind_of_route_can_give(openapi: dict[str, Any]) -> None:
    ops = {(m, p): op["responses"] for m, p, op in _operations(openapi)}
    writes = [key for key in ops if key[0] in ("post", "put", "patch", "delete")]
    assert len(writes) > 30
    for key in writes:
        assert {"403", "404", "409", "422", "429"} <= set(ops[key]), key
    assert {"401", "403"} <= set(ops[("post", "/notary/anchors")])  # a signed-in agency route
    assert "429" in ops[("get", "/auth/nonce")]
    assert ops[("get", "/identity/citizens/by-id/{citizen_id}")]["404"]["content"]["application/json"]["example"]


def test_a_live_validation_error_has_the_documented_shape(env: Env) -> None:
    r = env.api.post("/notary/anchors", headers=env.admin, json={})
    body = assert_error(r, 422, "invalid_input", "document_hash")
    assert set(body) == {"error", "message", "details"}
    assert body["details"][0]["field"] == "document_hash"


def test_the_build_cache_key_covers_the_docs(build: Build, tmp_path: Path) -> None:
    assert "devdoc" in json.dumps(build.settings["outputSelection"])
    assert build.artifact("MVoting").devdoc["errors"]
