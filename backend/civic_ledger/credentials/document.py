"""The credential document: W3C-VC-2.0-shaped JSON, salted claim digests, EIP-712 proof, Merkle proof.

Format (everything a verifier needs is inside the document)::

    {
      "@context": ["https://www.w3.org/ns/credentials/v2", "urn:civic-ledger:credentials:v1"],
      "id": "urn:civic-ledger:credential:<credentialHash>",
      "type": ["VerifiableCredential", "CivicLedgerCredential"],
      "issuer": {"id": "urn:civic-ledger:issuer:<issuerId>", "name": "Seoul Training Centre"},
      "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2028-01-01T00:00:00Z",
      "credentialSchema": {"id": "urn:civic-ledger:credential-type:<typeId>", "type": "CivicLedgerCredentialType"},
      "credentialSubject": {"id": "did:pkh:eip155:<chainId>:<holder>", "claims": [
          {"name": "course", "value": "Welding II", "salt": "0x…", "digest": "0x…"},   # disclosed
          {"digest": "0x…"}                                                          # withheld
      ]},
      "credentialStatus": {"type": "CivicLedgerRegistryStatus", "chainId": …, "registry": "0x…",
                           "anchorId": "0x…", "position": 0},
      "proof": {"type": "EthereumEip712Signature2021", "proofPurpose": "assertionMethod",
                "verificationMethod": "did:pkh:eip155:<chainId>:<issuer key>#blockchainAccountId",
                "created": "…", "eip712": {"domain", "types", "primaryType": "Credential", "message"},
                "proofValue": "0x<65-byte signature>",
                "merkle": {"root": "0x…", "position": 7, "proof": ["0x…", …]}}      # batches only
    }

Claims: each claim is salted and hashed on its own,
``digest = keccak256(abi.encode(bytes32 salt, string name, string jcs(value)))`` where ``jcs`` is the
RFC 8785 canonical JSON of the value (``civic_ledger.platform.jcs``: ``40.0`` → ``40``; integers beyond
±(2^53−1) are refused, send them as strings; see docs/verification.md); the
signed ``Credential`` message carries the ordered list of digests (claims sorted by name at
issuance), never a raw value, so a holder may withhold any claim (keep only its digest) and the
credential still verifies.

Credential hash (what is anchored): the **EIP-712 signing digest** of the ``Credential`` message,
``keccak256(0x1901 ‖ domainSeparator ‖ structHash)``, domain ``CredentialRegistry``/``"1"``/chainId/
registry address. Choosing the digest (rather than the struct hash) binds the hash to one chain and
one registry, and gives ``ecrecover(credentialHash, proofValue) == issuer key``.

Batches: OpenZeppelin ``StandardMerkleTree`` over leaves ``(bytes32 credentialHash, uint256
position)`` (``civic_ledger.platform.merkle``, the same tree the JS library builds), so its root is
the anchorId and ``MerkleProof.verify`` accepts the proofs (``CredentialRegistry.batchLeaf``).
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import is_address, keccak, to_checksum_address

from civic_ledger.errors import InvalidInput
from civic_ledger.platform import eip712, jcs, merkle
from civic_ledger.platform.merkle import StandardMerkleTree
from civic_ledger.types import MAX_TIMESTAMP

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
CIVIC_CONTEXT = "urn:civic-ledger:credentials:v1"
PROOF_TYPE = "EthereumEip712Signature2021"
DOMAIN_NAME = "CredentialRegistry"

_B32 = "bytes32"
CREDENTIAL_TYPES: dict[str, list[dict[str, str]]] = {
    "Credential": [
        {"name": "issuerId", "type": _B32},
        {"name": "typeId", "type": _B32},
        {"name": "subject", "type": "address"},
        {"name": "validFrom", "type": "uint64"},
        {"name": "validUntil", "type": "uint64"},
        {"name": "claimDigests", "type": "bytes32[]"},
        {"name": "salt", "type": _B32},
    ]
}
ISSUE_TYPES = {
    "Issue": [
        {"name": "issuerId", "type": _B32},
        {"name": "typeId", "type": _B32},
        {"name": "credentialHash", "type": _B32},
        {"name": "deadline", "type": "uint256"},
    ]
}
ISSUE_BATCH_TYPES = {
    "IssueBatch": [
        {"name": "issuerId", "type": _B32},
        {"name": "typeId", "type": _B32},
        {"name": "root", "type": _B32},
        {"name": "count", "type": "uint32"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def status_types(action: str) -> dict[str, list[dict[str, str]]]:
    """``Revoke`` (no nonce: revocation is permanent), ``Suspend`` / ``Reinstate`` (with nonce)."""
    primary = action.capitalize()
    fields = [
        {"name": "issuerId", "type": _B32},
        {"name": "anchorIds", "type": "bytes32[]"},
        {"name": "positions", "type": "uint256[]"},
    ]
    if primary != "Revoke":
        fields.append({"name": "nonce", "type": "uint256"})
    fields.append({"name": "deadline", "type": "uint256"})
    return {primary: fields}


PRESENTATION_TYPES = {
    "Presentation": [
        {"name": "credentialHash", "type": _B32},
        {"name": "audience", "type": "string"},
        {"name": "nonce", "type": "string"},
    ]
}


# -- small conversions -----------------------------------------------------------------------


def b32(value: str | bytes, field: str = "value") -> bytes:
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    else:
        try:
            raw = bytes.fromhex(str(value).removeprefix("0x")) if str(value).startswith("0x") else b""
        except ValueError:
            raw = b""
    if len(raw) != 32:
        raise InvalidInput(f"{field} must be 32 bytes as 0x-hex, got {str(value)[:80]!r}")
    return raw


def hx(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def code_id(code: str) -> str:
    """The bytes32 id of an issuer or type code: keccak256 of its UTF-8 text."""
    return hx(keccak(text=code))


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any, field: str) -> int:
    """Unix seconds from an int or an ISO-8601 string."""
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a time")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if value.isascii() and value.isdigit() and len(value) <= 20:
            return int(value)
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            return int(dt.timestamp())
        except (ValueError, OverflowError):
            raise InvalidInput(f"{field} is not an ISO-8601 time: {value[:80]!r}") from None
    raise InvalidInput(f"{field} must be an ISO-8601 time or Unix seconds")


def did_pkh(chain_id: int, address: str) -> str:
    return f"did:pkh:eip155:{chain_id}:{to_checksum_address(address)}"


def address_of_did(value: str, field: str = "credentialSubject.id") -> str:
    """The address in ``did:pkh:eip155:<chain>:<address>`` (or a bare address)."""
    candidate = value.rsplit(":", 1)[-1] if value.startswith("did:pkh:") else value
    candidate = candidate.split("#", 1)[0]
    if not is_address(candidate):
        raise InvalidInput(f"{field} {value!r} is neither an address nor did:pkh:eip155:<chainId>:<address>")
    return to_checksum_address(candidate)


def _suffix(value: str, prefix: str, field: str) -> bytes:
    if not isinstance(value, str) or not value.startswith(prefix):
        raise InvalidInput(f"{field} must be {prefix}<0x…32 bytes>, got {str(value)[:80]!r}")
    return b32(value[len(prefix) :], field)


# -- claims ----------------------------------------------------------------------------------


def canonical_json(value: Any, where: str = "value") -> str:
    """The RFC 8785 (JCS) text of a claim value (``civic_ledger.platform.jcs``): 422 naming ``where``
    for NaN/Infinity, a lone surrogate, or an integer beyond ±(2^53−1) (send those as strings)."""
    return jcs.canonical_text(value, where)


def claim_digest(salt: bytes, name: str, value: Any) -> bytes:
    """``keccak256(abi.encode(salt, name, jcs(value)))``; 422 naming the claim for a value JCS can not carry."""
    where = f"claim {name[:40]!r}"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(
            f"{where}: name and value must be valid Unicode text (no unpaired surrogates such as \\ud800)"
        ) from None
    return keccak(abi_encode(["bytes32", "string", "string"], [salt, name, canonical_json(value, where)]))


def make_claims(claims: dict[str, Any]) -> list[dict[str, Any]]:
    """Disclosed claim entries (sorted by name), each with a fresh 32-byte salt and its digest."""
    if not claims:
        raise InvalidInput("claims: a credential needs at least one claim")
    out = []
    for name in sorted(claims):
        if not name or not isinstance(name, str):
            raise InvalidInput("claims: claim names must be non-empty strings")
        salt = secrets.token_bytes(32)
        out.append(
            {
                "name": name,
                "value": claims[name],
                "salt": hx(salt),
                "digest": hx(claim_digest(salt, name, claims[name])),
            }
        )
    return out


def entry_digest(entry: dict[str, Any], index: int) -> bytes:
    """The digest an entry stands for: recomputed from value and salt when disclosed."""
    if not isinstance(entry, dict):
        raise InvalidInput(f"credentialSubject.claims[{index}] must be an object")
    if "salt" in entry or "value" in entry:
        if "name" not in entry or "salt" not in entry or "value" not in entry:
            raise InvalidInput(f"credentialSubject.claims[{index}]: a disclosed claim needs name, value and salt")
        return claim_digest(
            b32(entry["salt"], f"credentialSubject.claims[{index}].salt"), str(entry["name"]), entry["value"]
        )
    if "digest" not in entry:
        raise InvalidInput(f"credentialSubject.claims[{index}] has neither value+salt nor digest")
    return b32(entry["digest"], f"credentialSubject.claims[{index}].digest")


def withhold(document: dict[str, Any], keep: set[str] | list[str]) -> dict[str, Any]:
    """A copy of ``document`` disclosing only the claims named in ``keep`` (others: digest only)."""
    keep = set(keep)
    doc = copy.deepcopy(document)
    claims = doc.get("credentialSubject", {}).get("claims", [])
    unknown = keep - {c.get("name") for c in claims if "name" in c}
    if unknown:
        raise InvalidInput(f"no disclosed claim named {', '.join(sorted(unknown))} in the document")
    doc["credentialSubject"]["claims"] = [
        c if c.get("name") in keep else {"digest": hx(entry_digest(c, i))} for i, c in enumerate(claims)
    ]
    return doc


def disclosed_claims(document: dict[str, Any]) -> dict[str, Any]:
    return {
        str(c["name"]): c["value"]
        for c in document.get("credentialSubject", {}).get("claims", [])
        if isinstance(c, dict) and "value" in c and "name" in c
    }


# -- the signed message ----------------------------------------------------------------------


def registry_domain(chain_id: int, registry: str) -> dict[str, Any]:
    return eip712.domain(DOMAIN_NAME, chain_id, registry)


def credential_message(
    *,
    issuer_id: str,
    type_id: str,
    subject: str,
    valid_from: int,
    valid_until: int,
    claim_digests: list[str],
    salt: str,
) -> dict[str, Any]:
    if not is_address(str(subject)):
        raise InvalidInput(f"subject {subject!r} is not an address")
    for name, value in (("validFrom", valid_from), ("validUntil", valid_until)):
        if not _is_uint(value, 64):
            raise InvalidInput(f"{name} must be a uint64 (Unix seconds), got {value!r}")
        if value > MAX_TIMESTAMP:
            raise InvalidInput(
                f"{name} {value} is after 9999-12-31T23:59:59Z ({MAX_TIMESTAMP}): give Unix seconds, not milliseconds"
            )
    if not isinstance(claim_digests, list):
        raise InvalidInput("claimDigests must be a list")
    return {
        "issuerId": hx(b32(issuer_id, "issuer_id")),
        "typeId": hx(b32(type_id, "type_id")),
        "subject": to_checksum_address(str(subject)),
        "validFrom": int(valid_from),
        "validUntil": int(valid_until),
        "claimDigests": [hx(b32(d, "claim digest")) for d in claim_digests],
        "salt": hx(b32(salt, "salt")),
    }


def credential_message_of(msg: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`credential_message` of a message in its EIP-712 (camelCase) form: checked, normalised."""
    return credential_message(
        issuer_id=msg["issuerId"],
        type_id=msg["typeId"],
        subject=msg["subject"],
        valid_from=msg["validFrom"],
        valid_until=msg["validUntil"],
        claim_digests=msg["claimDigests"],
        salt=msg["salt"],
    )


def credential_typed(chain_id: int, registry: str, message: dict[str, Any]) -> eip712.TypedMessage:
    return eip712.TypedMessage(registry_domain(chain_id, registry), "Credential", CREDENTIAL_TYPES, message)


def _signable_message(message: dict[str, Any]) -> dict[str, Any]:
    """Message fields as eth-account wants them (bytes for bytesN)."""
    return {
        **message,
        "issuerId": b32(message["issuerId"], "issuerId"),
        "typeId": b32(message["typeId"], "typeId"),
        "claimDigests": [b32(d, "claimDigests") for d in message["claimDigests"]],
        "salt": b32(message["salt"], "salt"),
    }


def credential_hash(typed: eip712.TypedMessage) -> str:
    """The anchored hash: the EIP-712 signing digest of the ``Credential`` message."""
    fixed = eip712.TypedMessage(typed.domain, typed.primary_type, typed.types, _signable_message(typed.message))
    return hx(fixed.digest())


# -- batch Merkle tree (the platform's StandardMerkleTree, leaf encoding [bytes32, uint256]) ------

BATCH_ENCODING = ["bytes32", "uint256"]


def batch_leaf(credential_hash_: str | bytes, position: int) -> bytes:
    """``CredentialRegistry.batchLeaf``: the standard leaf of ``(credentialHash, position)``."""
    return merkle.leaf_hash(BATCH_ENCODING, [b32(credential_hash_, "credentialHash"), position])


def batch_tree(credential_hashes: list[str]) -> StandardMerkleTree:
    """``StandardMerkleTree.of(hashes.map((h, i) => [h, i]), ["bytes32", "uint256"])``; its root is
    the batch's anchorId and ``tree.proof(i)`` the proof of the credential at position ``i``."""
    if not credential_hashes:
        raise InvalidInput("a batch needs at least one credential")
    return StandardMerkleTree.of(
        [[b32(h, f"credential_hashes[{i}]"), i] for i, h in enumerate(credential_hashes)], BATCH_ENCODING
    )


# -- the document ----------------------------------------------------------------------------


def build_document(
    *,
    typed: eip712.TypedMessage,
    signature: str,
    key: str,
    issuer_name: str,
    claims: list[dict[str, Any]],
    anchor_id: str,
    position: int = 0,
    merkle_proof: list[str] | None = None,
    created: int | None = None,
    type_name: str | None = None,
) -> dict[str, Any]:
    msg = typed.message
    chain_id = int(typed.domain["chainId"])
    registry = typed.domain["verifyingContract"]
    h = credential_hash(typed)
    schema: dict[str, Any] = {
        "id": f"urn:civic-ledger:credential-type:{msg['typeId']}",
        "type": "CivicLedgerCredentialType",
    }
    if type_name:
        schema["name"] = type_name
    doc: dict[str, Any] = {
        "@context": [VC_CONTEXT, CIVIC_CONTEXT],
        "id": f"urn:civic-ledger:credential:{h}",
        "type": ["VerifiableCredential", "CivicLedgerCredential"],
        "issuer": {"id": f"urn:civic-ledger:issuer:{msg['issuerId']}", "name": issuer_name},
        "validFrom": iso(int(msg["validFrom"])),
    }
    if int(msg["validUntil"]):
        doc["validUntil"] = iso(int(msg["validUntil"]))
    doc["credentialSchema"] = schema
    doc["credentialSubject"] = {"id": did_pkh(chain_id, msg["subject"]), "claims": claims}
    doc["credentialStatus"] = {
        "id": f"urn:civic-ledger:status:{anchor_id}:{position}",
        "type": "CivicLedgerRegistryStatus",
        "chainId": chain_id,
        "registry": registry,
        "anchorId": anchor_id,
        "position": position,
    }
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "created": iso(created if created is not None else int(msg["validFrom"])),
        "proofPurpose": "assertionMethod",
        "verificationMethod": did_pkh(chain_id, key) + "#blockchainAccountId",
        "eip712": typed.to_dict(),
        "proofValue": signature,
    }
    if merkle_proof is not None:
        proof["merkle"] = {"root": anchor_id, "position": position, "proof": merkle_proof}
    doc["proof"] = proof
    return doc


def typed_of_document(document: dict[str, Any]) -> eip712.TypedMessage:
    """The signed ``Credential`` typed data carried in ``proof.eip712`` (shape-checked)."""
    try:
        data = document["proof"]["eip712"]
    except (KeyError, TypeError):
        raise InvalidInput("document has no proof.eip712 (domain, types, primaryType, message)") from None
    typed = eip712.TypedMessage.from_dict(data)
    if typed.primary_type != "Credential" or typed.types.get("Credential") != CREDENTIAL_TYPES["Credential"]:
        raise InvalidInput("proof.eip712 is not a civic-ledger Credential message (primaryType/types differ)")
    msg = typed.message
    if not isinstance(msg, dict) or not isinstance(typed.domain, dict):
        raise InvalidInput("proof.eip712 message and domain must be objects")
    missing = [f["name"] for f in CREDENTIAL_TYPES["Credential"] if f["name"] not in msg]
    if missing:
        raise InvalidInput(f"proof.eip712.message lacks {', '.join(missing)}")
    dom = typed.domain
    if set(dom) != {"name", "version", "chainId", "verifyingContract"}:
        raise InvalidInput("proof.eip712.domain must have exactly name, version, chainId, verifyingContract")
    if not _is_uint(dom["chainId"], 256) or not is_address(str(dom["verifyingContract"])):
        raise InvalidInput("proof.eip712.domain chainId must be a number and verifyingContract an address")
    if not is_address(str(msg["subject"])):
        raise InvalidInput("proof.eip712.message.subject is not an address")
    for name in ("validFrom", "validUntil"):
        if not _is_uint(msg[name], 64):
            raise InvalidInput(f"proof.eip712.message.{name} must be a uint64 (Unix seconds)")
    if not isinstance(msg["claimDigests"], list):
        raise InvalidInput("proof.eip712.message.claimDigests must be a list")
    fixed = credential_message_of(msg)
    domain_ = registry_domain(int(dom["chainId"]), str(dom["verifyingContract"]))
    if str(dom["name"]) != DOMAIN_NAME or str(dom["version"]) != eip712.DOMAIN_VERSION:
        domain_ = {**domain_, "name": str(dom["name"]), "version": str(dom["version"])}
    return eip712.TypedMessage(domain_, "Credential", CREDENTIAL_TYPES, fixed)


def _is_uint(value: Any, bits: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**bits


def issuer_id_of(document: dict[str, Any]) -> bytes:
    issuer = document.get("issuer")
    value = issuer.get("id") if isinstance(issuer, dict) else issuer
    return _suffix(str(value), "urn:civic-ledger:issuer:", "issuer.id")


def type_id_of(document: dict[str, Any]) -> bytes:
    schema = document.get("credentialSchema") or {}
    return _suffix(
        str(schema.get("id") if isinstance(schema, dict) else schema),
        "urn:civic-ledger:credential-type:",
        "credentialSchema.id",
    )


def proof_key_of(document: dict[str, Any]) -> str:
    method = str((document.get("proof") or {}).get("verificationMethod", ""))
    return address_of_did(method, "proof.verificationMethod")
