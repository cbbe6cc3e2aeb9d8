"""Verify a credential document (and a holder presentation) against any node.

Used by the API (``POST /credentials/verify``) and by ``civic-ledger credentials verify`` alike: it
needs a :class:`~civic_ledger.platform.trust.TrustedDeployment` (a manifest the verifier trusts, or
the server's deployment) for the registry address, nothing of the server, and never takes the
registry from the document. Every check is reported on its own (``pass`` / ``fail`` / ``skipped``
when an earlier failure makes it meaningless); the verdict is ``valid`` only when every check passes.

Checks, in order: ``deployment`` (the proof's domain and ``credentialStatus.registry`` name the
trusted chain and CredentialRegistry: a document of a look-alike registry fails here), ``document``
(the document's visible fields equal the signed message), ``signature`` (``proofValue`` recovers to the proof's key),
``claims`` (disclosed claims hash to their digests; the digests are the signed ones), ``issuer_key``
(issuer registered; the key is one of its keys, valid when the credential was anchored),
``type_allowed`` (type registered; the issuer was allowed for it when anchoring), ``anchored`` (the
credential hash is anchored, or included in the anchored Merkle root at its position), ``not_revoked``,
``not_suspended``, ``not_expired`` (``validFrom <= at < validUntil``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3

from civic_ledger.credentials import document as D
from civic_ledger.errors import ChainUnavailable, InvalidInput
from civic_ledger.platform import eip712
from civic_ledger.platform.trust import TrustedDeployment

CONTRACT = "CredentialRegistry"

CHECKS = (
    "deployment",
    "document",
    "signature",
    "claims",
    "issuer_key",
    "type_allowed",
    "anchored",
    "not_revoked",
    "not_suspended",
    "not_expired",
)

_VERIFICATION_TUPLE = (
    ("anchored", "bool"),
    ("included", "bool"),
    ("batch", "bool"),
    ("issuerId", "bytes32"),
    ("typeId", "bytes32"),
    ("key", "address"),
    ("anchoredAt", "uint64"),
    ("keyValidAtAnchor", "bool"),
    ("keyValidNow", "bool"),
    ("issuerAllowedNow", "bool"),
    ("revoked", "bool"),
    ("suspended", "bool"),
)


def _view(name: str, inputs: str, *struct: tuple[str, str], returns: str = "") -> dict[str, Any]:
    """A view's ABI entry: ``inputs`` as ``"type name, ..."``; it returns one ``struct`` (a tuple of
    ``(name, type)`` components) or a single value of type ``returns``."""
    output: dict[str, Any] = {"name": "", "type": returns or "tuple"}
    if struct:
        output["components"] = [{"name": n, "type": t} for n, t in struct]
    return {
        "type": "function",
        "name": name,
        "stateMutability": "view",
        "inputs": [{"name": n, "type": t} for t, n in (p.split() for p in inputs.split(","))],
        "outputs": [output],
    }


#: The registry views a verifier needs (a verifier needs no compiler; a test checks these match the build).
REGISTRY_VIEWS_ABI: list[dict[str, Any]] = [
    _view(
        "verify",
        "bytes32 anchorId, bytes32 credentialHash, bytes32[] proof, uint256 position",
        *_VERIFICATION_TUPLE,
    ),
    _view("issuerInfo", "bytes32 issuerId", ("registered", "bool"), ("nameHash", "bytes32"), ("keys", "address[]")),
    _view(
        "keyInfo",
        "bytes32 issuerId, address key",
        ("registered", "bool"),
        ("validFrom", "uint64"),
        ("validUntil", "uint64"),
    ),
    _view("credentialType", "bytes32 typeId", ("registered", "bool"), ("schemaHash", "bytes32")),
    _view("isIssuerAllowed", "bytes32 typeId, bytes32 issuerId", returns="bool"),
]


@dataclass
class Check:
    name: str
    status: str  # "pass" | "fail" | "skipped"
    detail: str

    @property
    def ok(self) -> bool:
        return self.status == "pass"


@dataclass
class Report:
    valid: bool
    verdict: str
    checks: list[Check]
    credential_hash: str | None = None
    issuer_id: str | None = None
    type_id: str | None = None
    subject: str | None = None
    key: str | None = None
    anchor_id: str | None = None
    position: int | None = None
    anchored_at: int | None = None
    registry: str | None = None
    chain_id: int | None = None
    at: int = 0
    claims: dict[str, Any] = field(default_factory=dict)
    deployment: dict[str, Any] = field(default_factory=dict)

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for c in out["checks"]:
            c["ok"] = c["status"] == "pass"
        return out


class _Checks:
    def __init__(self) -> None:
        self.items: dict[str, Check] = {}

    def set(self, name: str, ok: bool, detail: str) -> bool:
        self.items[name] = Check(name, "pass" if ok else "fail", detail)
        return ok

    def skip(self, name: str, detail: str) -> None:
        self.items.setdefault(name, Check(name, "skipped", detail))

    def ordered(self) -> list[Check]:
        for name in CHECKS:
            self.skip(name, "not checked")
        return [self.items[n] for n in CHECKS]


def registry_views(w3: Web3, registry: str) -> Any:
    return w3.eth.contract(address=to_checksum_address(registry), abi=REGISTRY_VIEWS_ABI)


def _call(fn: Any) -> Any:
    try:
        return fn.call()
    except Exception as exc:  # noqa: BLE001 - no contract at the address, node down, ...
        raise ChainUnavailable(f"registry view {fn.fn_name} failed: {str(exc).splitlines()[0][:200]}") from None


def verify_document(trusted: TrustedDeployment, doc: dict[str, Any], *, at: int | None = None) -> Report:
    """Check ``doc`` against the trusted deployment's CredentialRegistry, on its node."""
    if not isinstance(doc, dict):
        raise InvalidInput("the credential document must be a JSON object")
    for name, kinds in (
        ("credentialSubject", dict),
        ("issuer", (dict, str)),
        ("credentialSchema", dict),
        ("proof", dict),
    ):
        if not isinstance(doc.get(name), kinds):
            raise InvalidInput(f"the credential document's {name} is missing or not an object")
    w3, chain_id, registry = trusted.w3, trusted.chain_id, trusted.address(CONTRACT)
    if at is None:  # the later of the wall clock and the node's latest block (a dev chain may run ahead)
        at = max(int(time.time()), int(w3.eth.get_block("latest")["timestamp"]))
    c = _Checks()
    typed = D.typed_of_document(doc)
    msg = typed.message
    try:
        h = D.credential_hash(typed)
    except Exception as exc:  # noqa: BLE001 - any encoding failure of a malformed message
        raise InvalidInput(f"proof.eip712 can not be hashed: {str(exc)[:160]}") from None
    issuer_id = D.hx(D.b32(msg["issuerId"], "issuerId"))
    type_id = D.hx(D.b32(msg["typeId"], "typeId"))
    subject = to_checksum_address(msg["subject"])
    report = Report(
        False,
        "invalid",
        [],
        credential_hash=h,
        issuer_id=issuer_id,
        type_id=type_id,
        subject=subject,
        registry=registry,
        chain_id=chain_id,
        at=at,
        deployment=trusted.describe(CONTRACT).model_dump(),
    )

    # -- deployment: the document names the trusted chain and registry (compared, never used) ----
    named: list[str] = []
    if int(typed.domain.get("chainId", -1)) != chain_id:
        named.append(f"proof domain chainId {typed.domain.get('chainId')} is not the trusted chain id {chain_id}")
    wrong = trusted.compare_address(CONTRACT, typed.domain.get("verifyingContract"), "proof domain verifyingContract")
    if wrong:
        named.append(wrong)
    given_status = doc.get("credentialStatus")
    named_status: dict[str, Any] = given_status if isinstance(given_status, dict) else {}
    if "chainId" in named_status and named_status["chainId"] != chain_id:
        named.append(f"credentialStatus.chainId {named_status['chainId']!r:.40} is not the trusted chain id {chain_id}")
    status_registry = named_status.get("registry")
    if status_registry is not None:
        wrong = trusted.compare_address(CONTRACT, status_registry, "credentialStatus.registry")
        if wrong:
            named.append(wrong)
    c.set("deployment", not named, "; ".join(named) or f"checked against {trusted.label(CONTRACT)}")

    # -- document: visible fields == signed message ----------------------------------------------
    problems: list[str] = []
    if typed.domain.get("name") != D.DOMAIN_NAME or typed.domain.get("version") != eip712.DOMAIN_VERSION:
        problems.append("proof domain name/version is not CredentialRegistry/1")
    try:
        if D.hx(D.issuer_id_of(doc)) != issuer_id:
            problems.append("issuer.id differs from the signed issuerId")
        if D.hx(D.type_id_of(doc)) != type_id:
            problems.append("credentialSchema.id differs from the signed typeId")
        if D.address_of_did(str((doc.get("credentialSubject") or {}).get("id", ""))) != subject:
            problems.append("credentialSubject.id differs from the signed subject")
        if D.parse_time(doc.get("validFrom"), "validFrom") != int(msg["validFrom"]):
            problems.append("validFrom differs from the signed validFrom")
        until = doc.get("validUntil")
        if (D.parse_time(until, "validUntil") if until is not None else 0) != int(msg["validUntil"]):
            problems.append("validUntil differs from the signed validUntil")
    except InvalidInput as exc:
        problems.append(exc.message)
    c.set(
        "document", not problems, "; ".join(problems) or "issuer, type, subject and validity match the signed message"
    )

    # -- signature -------------------------------------------------------------------------------
    proof = doc.get("proof") or {}
    key: str | None = None
    try:
        key = D.proof_key_of(doc)
        recovered = eip712.recover_digest(bytes.fromhex(h[2:]), str(proof.get("proofValue", "")))
        if recovered == key:
            c.set("signature", True, f"EIP-712 signature by {key}")
        else:
            c.set("signature", False, f"proofValue was signed by {recovered}, not by the proof's key {key}")
    except InvalidInput as exc:
        c.set("signature", False, exc.message)
    except Exception as exc:  # noqa: BLE001 - malformed signature bytes
        c.set("signature", False, f"malformed proofValue: {str(exc)[:120]}")
    report.key = key

    # -- claims ----------------------------------------------------------------------------------
    entries = (doc.get("credentialSubject") or {}).get("claims")
    signed = [D.hx(D.b32(d, "claimDigests")) for d in msg["claimDigests"]]
    if not isinstance(entries, list):
        c.set("claims", False, "credentialSubject.claims is missing")
    else:
        try:
            digests = [D.hx(D.entry_digest(e, i)) for i, e in enumerate(entries)]
            if len(digests) != len(signed):
                c.set("claims", False, f"{len(digests)} claims in the document, {len(signed)} signed")
            else:
                bad = [
                    str(e.get("name", f"#{i}"))
                    for i, (e, d, s) in enumerate(zip(entries, digests, signed, strict=True))
                    if d != s
                ]
                disclosed = sum(1 for e in entries if "value" in e)
                c.set(
                    "claims",
                    not bad,
                    f"claim(s) {', '.join(bad)} do not match their signed digest"
                    if bad
                    else f"{disclosed} disclosed claim(s) match their digests, {len(entries) - disclosed} withheld",
                )
            report.claims = D.disclosed_claims(doc)
        except InvalidInput as exc:
            c.set("claims", False, exc.message)

    # -- on chain --------------------------------------------------------------------------------
    status = doc.get("credentialStatus") or {}
    merkle = proof.get("merkle")
    try:
        if not isinstance(status, dict) or (merkle is not None and not isinstance(merkle, dict)):
            raise InvalidInput("credentialStatus and proof.merkle must be objects")
        anchor_id = D.hx(D.b32(status.get("anchorId", h if not merkle else ""), "credentialStatus.anchorId"))
        position = status.get("position", 0)
        if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position < 2**32:
            raise InvalidInput(f"credentialStatus.position {position!r} is not a leaf position")
        proof_list = (merkle or {}).get("proof", [])
        if not isinstance(proof_list, list) or len(proof_list) > 64:
            raise InvalidInput("proof.merkle.proof must be a list of at most 64 hashes")
        merkle_proof = [D.hx(D.b32(p, "proof.merkle.proof")) for p in proof_list]
        if merkle and (str(merkle.get("root", "")).lower() != anchor_id or merkle.get("position") != position):
            raise InvalidInput("proof.merkle root/position differ from credentialStatus anchorId/position")
    except (InvalidInput, ValueError, TypeError) as exc:
        c.set("anchored", False, getattr(exc, "message", str(exc)))
        anchor_id, position, merkle_proof = h, 0, []
    report.anchor_id, report.position = anchor_id, position
    views = registry_views(w3, registry)
    v = _call(views.functions.verify(D.b32(anchor_id), D.b32(h), [D.b32(p) for p in merkle_proof], position))
    (
        anchored,
        included,
        batch,
        a_issuer,
        a_type,
        a_key,
        anchored_at,
        key_ok_at_anchor,
        _key_now,
        allowed_now,
        revoked,
        suspended,
    ) = v
    anchored_ok = anchored and included and D.hx(a_issuer) == issuer_id and D.hx(a_type) == type_id
    if "anchored" not in c.items:
        if not anchored:
            c.set("anchored", False, f"{anchor_id} is not anchored in registry {registry}")
        elif not included:
            what = (
                "the Merkle proof does not lead to the anchored root"
                if batch
                else "the credential hash is not the anchored hash"
            )
            c.set("anchored", False, f"{what} (position {position})")
        elif not anchored_ok:
            c.set("anchored", False, "anchored by another issuer or under another type than the document states")
        else:
            kind = f"in batch {anchor_id} at position {position}" if batch else "as a single credential"
            c.set("anchored", True, f"anchored {kind} at {D.iso(anchored_at)}")
    anchored_ok = c.items["anchored"].ok
    if anchored_ok:
        report.anchored_at = int(anchored_at)

    # Happy path: two views (verify, keyInfo). A key exists only for a registered issuer, and an
    # anchor under this issuer and type proves both were registered and allowed when anchoring.
    key_info = _call(views.functions.keyInfo(D.b32(issuer_id), key)) if key is not None else (False, 0, 0)
    issuer_registered = bool(key_info[0]) or bool(_call(views.functions.issuerInfo(D.b32(issuer_id)))[0])
    if not issuer_registered:
        c.set("issuer_key", False, f"issuer {issuer_id} is not registered")
    elif key is None:
        c.set("issuer_key", False, "the proof names no key")
    else:
        registered, valid_from, valid_until = key_info
        when = int(anchored_at) if anchored_ok else int(msg["validFrom"])
        label = "anchoring" if anchored_ok else "the stated validFrom"
        window = f"[{D.iso(valid_from)}, {'open' if valid_until >= 2**64 - 1 else D.iso(valid_until)})"
        if not registered:
            c.set("issuer_key", False, f"{key} is not a key of issuer {issuer_id}")
        elif not valid_from <= when < valid_until:
            c.set("issuer_key", False, f"key {key} was not valid at {label} ({D.iso(when)}); its window is {window}")
        elif anchored_ok and not key_ok_at_anchor:
            c.set("issuer_key", False, f"the anchoring key {a_key} was not valid at anchoring (retired retroactively)")
        else:
            c.set(
                "issuer_key", True, f"key {key} of issuer {issuer_id} valid at {label} ({D.iso(when)}), window {window}"
            )

    anchor_matches = anchored and D.hx(a_issuer) == issuer_id and D.hx(a_type) == type_id
    if not issuer_registered:
        c.skip("type_allowed", "the issuer is not registered")
    elif anchor_matches:
        note = "" if allowed_now else " (permission withdrawn since; earlier credentials stay valid)"
        c.set("type_allowed", True, f"the issuer was allowed for the type when anchoring{note}")
    elif anchored:
        c.set("type_allowed", False, "the anchor does not record this issuer and type")
    elif not _call(views.functions.credentialType(D.b32(type_id)))[0]:
        c.set("type_allowed", False, f"credential type {type_id} is not registered")
    else:
        ok = bool(_call(views.functions.isIssuerAllowed(D.b32(type_id), D.b32(issuer_id))))
        c.set(
            "type_allowed",
            ok,
            "issuer allowed for the type (not anchored)"
            if ok
            else f"issuer {issuer_id} is not allowed to issue type {type_id}",
        )

    if anchored_ok:
        c.set("not_revoked", not revoked, "revoked by the issuer" if revoked else "not revoked")
        c.set("not_suspended", not suspended, "suspended by the issuer" if suspended else "not suspended")
    else:
        c.skip("not_revoked", "status unknown: not anchored")
        c.skip("not_suspended", "status unknown: not anchored")

    valid_from, valid_until = int(msg["validFrom"]), int(msg["validUntil"])
    if at < valid_from:
        c.set("not_expired", False, f"not valid before {D.iso(valid_from)}")
    elif valid_until and at >= valid_until:
        c.set("not_expired", False, f"expired at {D.iso(valid_until)}")
    else:
        c.set("not_expired", True, f"valid until {D.iso(valid_until)}" if valid_until else "no expiry")

    report.checks = c.ordered()
    report.valid = all(ch.ok for ch in report.checks)
    report.verdict = "valid" if report.valid else "invalid"
    return report


# -- presentations ----------------------------------------------------------------------------


def presentation_typed(
    chain_id: int, registry: str, credential_hash: str, audience: str, nonce: str
) -> eip712.TypedMessage:
    return eip712.TypedMessage(
        D.registry_domain(chain_id, registry),
        "Presentation",
        D.PRESENTATION_TYPES,
        {"credentialHash": D.hx(D.b32(credential_hash, "credentialHash")), "audience": audience, "nonce": nonce},
    )


def build_presentation(document: dict[str, Any], audience: str, nonce: str, signature: str) -> dict[str, Any]:
    typed = D.typed_of_document(document)
    chain_id = int(typed.domain["chainId"])
    ptyped = presentation_typed(chain_id, typed.domain["verifyingContract"], D.credential_hash(typed), audience, nonce)
    return {
        "@context": [D.VC_CONTEXT],
        "type": ["VerifiablePresentation"],
        "holder": D.did_pkh(chain_id, typed.message["subject"]),
        "verifiableCredential": [document],
        "proof": {
            "type": D.PROOF_TYPE,
            "proofPurpose": "authentication",
            "challenge": nonce,
            "domain": audience,
            "eip712": ptyped.to_dict(),
            "proofValue": signature,
        },
    }


@dataclass
class PresentationReport:
    valid: bool
    verdict: str
    holder_check: Check
    challenge_check: Check
    presenter: str | None
    credential: Report

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "verdict": self.verdict,
            "presenter": self.presenter,
            "checks": [
                {**asdict(self.challenge_check), "ok": self.challenge_check.ok},
                {**asdict(self.holder_check), "ok": self.holder_check.ok},
            ],
            "credential": self.credential.to_dict(),
        }


def verify_presentation(
    trusted: TrustedDeployment,
    presentation: dict[str, Any],
    *,
    audience: str,
    nonce: str,
    at: int | None = None,
) -> PresentationReport:
    """Check that the presenter signed the verifier's ``nonce``/``audience`` for this credential
    with the subject's key, and verify the credential itself."""
    try:
        (document,) = presentation["verifiableCredential"]
        proof = presentation["proof"]
        signature = str(proof["proofValue"])
        p_aud, p_nonce = str(proof["domain"]), str(proof["challenge"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(
            "a presentation needs verifiableCredential (one document) and proof {challenge, domain, proofValue}"
        ) from None
    report = verify_document(trusted, document, at=at)
    if p_aud != audience or p_nonce != nonce:
        challenge = Check(
            "challenge",
            "fail",
            f"presented for audience {p_aud!r} / nonce {p_nonce!r}, expected {audience!r} / {nonce!r}",
        )
    else:
        challenge = Check("challenge", "pass", "the verifier's nonce and audience")
    typed = presentation_typed(
        trusted.chain_id, trusted.address(CONTRACT), str(report.credential_hash), audience, nonce
    )
    try:
        presenter: str | None = typed.recover(signature)
    except InvalidInput:
        presenter = None
    if presenter is None:
        holder = Check("holder", "fail", "malformed presentation signature")
    elif presenter != report.subject:
        holder = Check("holder", "fail", f"signed by {presenter}, who is not the credential subject {report.subject}")
    else:
        holder = Check("holder", "pass", f"signed by the subject {presenter}")
    valid = report.valid and holder.ok and challenge.ok
    return PresentationReport(valid, "valid" if valid else "invalid", holder, challenge, presenter, report)
