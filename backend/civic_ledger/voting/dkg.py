"""Dealer-free distributed key generation (joint Feldman / Pedersen DKG) on alt_bn128 — pure functions.

n trustees, threshold t, indices 1..n. Trustee i picks a random polynomial
``f_i(z) = a_{i,0} + a_{i,1} z + … + a_{i,t-1} z^{t-1}`` and a share-encryption key ``e_i``.

1. **commit**: publish ``C_{i,k} = a_{i,k}·G`` (k = 0..t-1) and ``E_i = e_i·G``;
2. **deal**: pick ``r``, publish ``R_i = r·G`` and, for every trustee j,
   ``ŝ_{i,j} = f_i(j) + pad_{i,j} mod q`` with
   ``pad_{i,j} = keccak(TAG_SHARE, tally, pollId, i, j, K.x, K.y) mod q``, ``K = r·E_j = e_j·R_i``;
3. trustee j recovers ``s_{i,j} = ŝ_{i,j} − pad_{i,j}`` and checks it against the commitments:
   ``s_{i,j}·G == Σ_k j^k·C_{i,k}`` (Feldman). Its secret share is ``x_j = Σ_i s_{i,j}``; its
   public verification key ``X_j = x_j·G = Σ_k j^k·Ĉ_k`` with ``Ĉ_k = Σ_i C_{i,k}`` is computed
   on chain. The election key is ``H = Ĉ_0 = Σ_i C_{i,0}``; its secret ``x = Σ_i a_{i,0}`` is never
   held by anyone, and any t shares give ``x`` by Lagrange interpolation at 0.

A share that fails the Feldman check can be shown to anyone: the recipient discloses
``K = e_j·R_i`` (:func:`open_share` / :func:`check_disclosed_share`), and everybody recomputes the
pad and the check (the disclosed ``K`` is checked by a Chaum–Pedersen proof that
``log_G E_j = log_{R_i} K``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from py_ecc.optimized_bn128 import Z1, add, multiply

from civic_ledger.voting.elgamal import (
    GENERATOR,
    TAG_SHARE,
    Point,
    ProofError,
    Q,
    _g,
    aff,
    challenge,
    jac,
    mul,
    padd,
    psub,
    scalar,
)


@dataclass
class TrusteeSecrets:
    """What one trustee keeps for one poll (in its own file, never on the operator's server)."""

    tally: str
    poll_id: int
    index: int
    trustee: str
    coefficients: list[int]
    encryption_secret: int
    dealer_randomness: int = 0

    def commitments(self) -> list[int]:
        out: list[int] = []
        for a in self.coefficients:
            out += [*_g().mul(a)]
        return out

    def encryption_key(self) -> list[int]:
        return [*_g().mul(self.encryption_secret)]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({k: (str(v) if isinstance(v, int) else v) for k, v in asdict(self).items()}, fh, indent=2)
            fh.write("\n")

    @classmethod
    def load(cls, path: Path) -> TrusteeSecrets:
        try:
            return cls._load(path)
        except FileNotFoundError:
            raise ProofError(f"no trustee secrets file at {path}: run `voting trustee commit` first") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ProofError(f"{path} is not a trustee secrets file ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _load(cls, path: Path) -> TrusteeSecrets:
        raw = json.loads(path.read_text())
        return cls(
            tally=raw["tally"],
            poll_id=int(raw["poll_id"]),
            index=int(raw["index"]),
            trustee=raw["trustee"],
            coefficients=[int(c) for c in raw["coefficients"]],
            encryption_secret=int(raw["encryption_secret"]),
            dealer_randomness=int(raw.get("dealer_randomness") or 0),
        )


def new_trustee(tally: str, poll_id: int, index: int, trustee: str, threshold: int) -> TrusteeSecrets:
    return TrusteeSecrets(tally, poll_id, index, trustee, [scalar() for _ in range(threshold)], scalar())


def poly_eval(coefficients: Sequence[int], x: int) -> int:
    acc = 0
    for a in reversed(coefficients):
        acc = (acc * x + a) % Q
    return acc


def share_pad(tally: str, poll_id: int, dealer: int, recipient: int, k: Point) -> int:
    return challenge([TAG_SHARE, int(tally, 16), poll_id, dealer, recipient, *k])


def deal(secrets_: TrusteeSecrets, encryption_keys: Sequence[Point]) -> tuple[list[int], list[int]]:
    """(ephemeral R, encrypted shares for trustees 1..n) from the trustees' encryption keys."""
    r = secrets_.dealer_randomness or scalar()
    secrets_.dealer_randomness = r
    ephemeral = [*_g().mul(r)]
    shares = []
    for j, e in enumerate(encryption_keys, start=1):
        k = mul(e, r)
        pad = share_pad(secrets_.tally, secrets_.poll_id, secrets_.index, j, k)
        shares.append((poly_eval(secrets_.coefficients, j) + pad) % Q)
    return ephemeral, shares


def feldman_point(commitments: Sequence[int], j: int) -> Point:
    """``Σ_k j^k·C_k`` for flat commitments (x, y per coefficient)."""
    acc = Z1
    power = 1
    for k in range(len(commitments) // 2):
        acc = add(acc, multiply(jac((commitments[2 * k], commitments[2 * k + 1])), power))
        power = power * j % Q
    return aff(acc)


def receive_share(
    secrets_: TrusteeSecrets, dealer: int, ephemeral: Point, encrypted_share: int, commitments: Sequence[int]
) -> int:
    """Decrypt the share dealer ``dealer`` sent us and check it against its commitments."""
    k = mul(ephemeral, secrets_.encryption_secret)
    s = (encrypted_share - share_pad(secrets_.tally, secrets_.poll_id, dealer, secrets_.index, k)) % Q
    if _g().mul(s) != feldman_point(commitments, secrets_.index):
        raise ProofError(f"the share trustee {dealer} sent to trustee {secrets_.index} does not match its commitments")
    return s


def secret_share(
    secrets_: TrusteeSecrets,
    dealt: dict[int, tuple[Point, list[int]]],
    commitments: dict[int, list[int]],
) -> int:
    """``x_j = Σ_i s_{i,j}`` over every dealer, each share checked (raises on a bad one)."""
    total = 0
    for dealer, (ephemeral, shares) in sorted(dealt.items()):
        total += receive_share(secrets_, dealer, ephemeral, shares[secrets_.index - 1], commitments[dealer])
    return total % Q


def election_key(commitments: dict[int, list[int]]) -> Point:
    key = (0, 0)
    for c in commitments.values():
        key = padd(key, (c[0], c[1]))
    return key


def verification_key(commitments: dict[int, list[int]], j: int) -> Point:
    key = (0, 0)
    for c in commitments.values():
        key = padd(key, feldman_point(c, j))
    return key


# -- disclosing a bad share (a complaint anyone can check) ---------------------------------


def open_share(secrets_: TrusteeSecrets, ephemeral: Point) -> tuple[Point, int, int]:
    """The recipient's disclosure ``K = e·R`` with a Chaum–Pedersen proof (c, z) of
    ``log_G E = log_R K``; the challenge words are (TAG_SHARE, tally, pollId, 0, index, E, R, K, a, b)."""
    e = secrets_.encryption_secret
    k = mul(ephemeral, e)
    w = scalar()
    a, b = _g().mul(w), mul(ephemeral, w)
    big_e = _g().mul(e)
    c = challenge(
        [TAG_SHARE, int(secrets_.tally, 16), secrets_.poll_id, 0, secrets_.index, *big_e, *ephemeral, *k, *a, *b]
    )
    return k, c, (w + c * e) % Q


def check_disclosed_share(
    tally: str,
    poll_id: int,
    dealer: int,
    recipient: int,
    encryption_key: Point,
    ephemeral: Point,
    disclosed: tuple[Point, int, int],
    encrypted_share: int,
    commitments: Sequence[int],
) -> bool:
    """Anyone's check of a complaint: True when the disclosed key is genuine and the dealer's
    share really fails the Feldman check (the dealer cheated)."""
    k, c, z = disclosed
    a = psub(mul(GENERATOR, z), mul(encryption_key, c))
    b = psub(mul(ephemeral, z), mul(k, c))
    words = [TAG_SHARE, int(tally, 16), poll_id, 0, recipient, *encryption_key, *ephemeral, *k, *a, *b]
    if challenge(words) != c:
        raise ProofError("the disclosed share key does not verify")
    s = (encrypted_share - share_pad(tally, poll_id, dealer, recipient, k)) % Q
    return _g().mul(s) != feldman_point(commitments, recipient)
