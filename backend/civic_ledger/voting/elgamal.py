"""Exponential ElGamal on alt_bn128 (BN254) with the proofs of encrypted polls — pure functions.

The exact encodings are in docs/encrypted-ballots.md and match contracts/EncryptedTally.sol word
for word: a point on the wire is ``(x, y)`` as ints, infinity is ``(0, 0)``; a Fiat–Shamir
challenge is ``keccak256(w0 ‖ w1 ‖ …) mod q`` over 32-byte big-endian words.

- ballots: per counted option ``(A, B) = (rG, rH + bG)``, ``b`` in {0, 1}. Single choice (counted
  options 0..n-2, the last option being "none of them"): one disjunctive Chaum–Pedersen proof that
  the plaintext vector is one of the n unit choices, on a Fiat–Shamir-weighted combination of the
  ciphertexts. Approval (all n options): a 0/1 proof per option and a proof that the sum is 1..k;
- partial decryptions ``D = x_i·A`` with a Chaum–Pedersen proof ``log_G X_i = log_A D``;
- Lagrange combination and the small discrete log of ``count·G``.

Curve arithmetic is py_ecc's (``optimized_bn128``, Jacobian). Multiplications by the fixed bases
G and H go through 4-bit window tables (about 5× faster than a plain multiplication).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_utils import keccak
from py_ecc.optimized_bn128 import FQ, Z1, add, curve_order, field_modulus, is_inf, multiply, neg, normalize

Q: int = int(curve_order)
P: int = int(field_modulus)
TAG_BALLOT = 1
TAG_DECRYPT = 2
TAG_SHARE = 3
TAG_WEIGHT = 4

Point = tuple[int, int]
INFINITY: Point = (0, 0)
GENERATOR: Point = (1, 2)
_J = Any  # a py_ecc Jacobian point


class ProofError(ValueError):
    """A value that is not a valid point, ciphertext or proof."""


# -- points --------------------------------------------------------------------------------


def on_curve(p: Point) -> bool:
    x, y = p
    if not (0 <= x < P and 0 <= y < P):
        return False
    return (x, y) == INFINITY or (y * y - x * x * x - 3) % P == 0


def jac(p: Point) -> _J:
    if p == INFINITY:
        return Z1
    if not on_curve(p):
        raise ProofError(f"({p[0]}, {p[1]}) is not a point of alt_bn128")
    return (FQ(p[0]), FQ(p[1]), FQ(1))


def aff(j: _J) -> Point:
    if is_inf(j):
        return INFINITY
    x, y = normalize(j)
    return (int(x.n), int(y.n))


def mul(p: Point, s: int) -> Point:
    return aff(multiply(jac(p), s % Q))


def padd(a: Point, b: Point) -> Point:
    return aff(add(jac(a), jac(b)))


def psub(a: Point, b: Point) -> Point:
    return aff(add(jac(a), neg(jac(b))))


def challenge(words: Sequence[int]) -> int:
    """``uint256(keccak256(w0 ‖ w1 ‖ …)) % q``, each word 32 bytes big-endian."""
    return int.from_bytes(keccak(b"".join(int(w).to_bytes(32, "big") for w in words)), "big") % Q


def scalar() -> int:
    return secrets.randbelow(Q - 1) + 1


class FixedBase:
    """``k·B`` for a fixed base by 4-bit windows: 64 additions instead of a double-and-add."""

    def __init__(self, base: Point) -> None:
        self.base = base
        table = []
        p = jac(base)
        for _ in range(64):
            row = [Z1]
            for _ in range(15):
                row.append(add(row[-1], p))
            table.append(row)
            for _ in range(4):
                p = add(p, p)
        self._table = table

    def mul_j(self, k: int) -> _J:
        k %= Q
        acc = Z1
        i = 0
        while k:
            d = k & 15
            if d:
                acc = add(acc, self._table[i][d])
            k >>= 4
            i += 1
        return acc

    def mul(self, k: int) -> Point:
        return aff(self.mul_j(k))


@lru_cache(maxsize=1)
def _g() -> FixedBase:
    return FixedBase(GENERATOR)


@lru_cache(maxsize=16)
def fixed(base: Point) -> FixedBase:
    return FixedBase(base)


# -- ballots -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BallotContext:
    """What a ballot proof is bound to (the challenge prefix besides the ciphertext)."""

    tally: str  # EncryptedTally address
    poll_id: int
    voter: str
    key: Point  # election key H

    def prefix(self, index: int, a: Point, b: Point) -> list[int]:
        return [
            TAG_BALLOT,
            int(self.tally, 16),
            self.poll_id,
            int(self.voter, 16),
            index,
            *self.key,
            *a,
            *b,
        ]


def counted_options(ballot_type: str, num_options: int) -> int:
    """Ciphertexts per ballot: options 0..n-2 for single choice, all n for approval."""
    if ballot_type == "single":
        return num_options - 1
    if ballot_type == "approval":
        return num_options
    raise ProofError(f"{ballot_type} ballots can not be encrypted (single choice or approval only)")


def proof_words(ballot_type: str, num_options: int, max_choices: int) -> int:
    """Proof length: single 2n (one (c, z) per possible choice); approval 4n + 2k."""
    if ballot_type == "single":
        return 2 * num_options
    return 4 * num_options + 2 * max_choices


def weights(ctx: BallotContext, cts: Sequence[int], m: int) -> list[int]:
    """β_0 = 1, β_o = H(TAG_WEIGHT, tally, pollId, voter, o, keccak256(ciphertexts)) for o ≥ 1."""
    cts_hash = int.from_bytes(keccak(b"".join(int(w).to_bytes(32, "big") for w in cts)), "big")
    base = [TAG_WEIGHT, int(ctx.tally, 16), ctx.poll_id, int(ctx.voter, 16)]
    return [1] + [challenge([*base, o, cts_hash]) for o in range(1, m)]


def _combined(cts: Sequence[int], beta: Sequence[int]) -> tuple[Point, Point]:
    sa, sb = Z1, Z1
    for o, b in enumerate(beta):
        sa = add(sa, multiply(jac((cts[4 * o], cts[4 * o + 1])), b))
        sb = add(sb, multiply(jac((cts[4 * o + 2], cts[4 * o + 3])), b))
    return aff(sa), aff(sb)


def _prove_vector(
    ctx: BallotContext, cts: list[int], rs: list[int], bits: Sequence[int], n: int, h: FixedBase
) -> list[int]:
    """Single choice: branch k says (A*, B* − β'_k·G) encrypts 0 (β'_{n-1} = 0); the real branch
    is the voter's option (the first 1, or n-1 when every bit is 0). Knowing R* = Σ β_o r_o,
    every commitment is a fixed-base multiplication."""
    g = _g()
    m = n - 1
    beta = weights(ctx, cts, m)
    bprime = [*beta, 0]
    true_k = next((o for o, b in enumerate(bits) if b), m)
    r_star = sum(b * r for b, r in zip(beta, rs, strict=True)) % Q
    plain = sum(b * v for b, v in zip(beta, bits, strict=True)) % Q  # log_G(B* − R*·H)
    a_star = g.mul(r_star)
    b_star = aff(add(h.mul_j(r_star), g.mul_j(plain)))
    commits: list[int] = []
    cs: dict[int, int] = {}
    zs: dict[int, int] = {}
    w = scalar()
    for k in range(n):
        if k == true_k:
            commits += [*g.mul(w), *h.mul(w)]
            continue
        c, z = scalar(), scalar()
        sc = (z - c * r_star) % Q
        # b_k = zH − c(B* − β'_k G) = sH − c(plain − β'_k)G
        commits += [*g.mul(sc), *aff(add(h.mul_j(sc), g.mul_j(-c * (plain - bprime[k]))))]
        cs[k], zs[k] = c, z
    total = challenge(ctx.prefix(m, a_star, b_star) + commits)
    cs[true_k] = (total - sum(cs.values())) % Q
    zs[true_k] = (w + cs[true_k] * r_star) % Q
    out: list[int] = []
    for k in range(n):
        out += [cs[k], zs[k]]
    return out


def verify_vector(ctx: BallotContext, n: int, cts: Sequence[int], words: Sequence[int]) -> bool:
    """The contract's check of a single-choice ballot's proof."""
    m = n - 1
    if len(words) != 2 * n or len(cts) != 4 * m:
        return False
    beta = weights(ctx, cts, m)
    a_star, b_star = _combined(cts, beta)
    bprime = [*beta, 0]
    commits: list[int] = []
    total = 0
    for k in range(n):
        c, z = words[2 * k], words[2 * k + 1]
        if c >= Q or z >= Q:
            return False
        bk = psub(b_star, mul(GENERATOR, bprime[k])) if bprime[k] else b_star
        commits += [*psub(mul(GENERATOR, z), mul(a_star, c)), *psub(mul(ctx.key, z), mul(bk, c))]
        total = (total + c) % Q
    return challenge(ctx.prefix(m, a_star, b_star) + commits) == total


def bits_of(ballot_type: str, options: Sequence[int], num_options: int, max_choices: int) -> list[int]:
    """The 0/1 plaintexts of the counted options for a set of chosen option indices."""
    chosen = sorted(set(options))
    if len(chosen) != len(options) or any(o < 0 or o >= num_options for o in options):
        raise ProofError(f"options must be distinct indices 0..{num_options - 1}, got {list(options)}")
    if ballot_type == "single" and len(chosen) != 1:
        raise ProofError(f"a single-choice ballot chooses exactly one option, got {len(chosen)}")
    if ballot_type == "approval" and not 1 <= len(chosen) <= max_choices:
        raise ProofError(f"an approval ballot approves 1..{max_choices} options, got {len(chosen)}")
    m = counted_options(ballot_type, num_options)
    return [1 if o in chosen else 0 for o in range(m)]


def _prove_member(
    ctx: BallotContext, index: int, a: Point, b: Point, r: int, value: int, lo: int, hi: int, h: FixedBase
) -> list[int]:
    """Disjunctive Chaum–Pedersen proof that (a, b) = (rG, rH + value·G) with value in lo..hi:
    words (c_v, z_v) for v = lo..hi. Knowing r, every commitment is a fixed-base multiplication."""
    g = _g()
    commits: list[int] = []
    cs: dict[int, int] = {}
    zs: dict[int, int] = {}
    w = scalar()
    for v in range(lo, hi + 1):
        if v == value:
            commits += [*g.mul(w), *h.mul(w)]
            continue
        c, z = scalar(), scalar()
        s = (z - c * r) % Q
        # a_v = zG − cA = sG;  b_v = zH − c(B − vG) = sH − c(value − v)G
        av = g.mul(s)
        bv = aff(add(h.mul_j(s), g.mul_j(-c * (value - v))))
        commits += [*av, *bv]
        cs[v], zs[v] = c, z
    total = challenge(ctx.prefix(index, a, b) + commits)
    cs[value] = (total - sum(cs.values())) % Q
    zs[value] = (w + cs[value] * r) % Q
    out: list[int] = []
    for v in range(lo, hi + 1):
        out += [cs[v], zs[v]]
    return out


def verify_member(ctx: BallotContext, index: int, a: Point, b: Point, lo: int, hi: int, words: Sequence[int]) -> bool:
    """The contract's check of a disjunctive proof (generic multiplications: any A, B)."""
    if len(words) != 2 * (hi - lo + 1) or not (on_curve(a) and on_curve(b)):
        return False
    commits: list[int] = []
    total = 0
    for j, v in enumerate(range(lo, hi + 1)):
        c, z = words[2 * j], words[2 * j + 1]
        if c >= Q or z >= Q:
            return False
        av = psub(mul(GENERATOR, z), mul(a, c))
        bv = psub(mul(ctx.key, z), mul(psub(b, mul(GENERATOR, v)) if v else b, c))
        commits += [*av, *bv]
        total = (total + c) % Q
    return challenge(ctx.prefix(index, a, b) + commits) == total


@dataclass
class EncryptedBallot:
    ciphertexts: list[int]  # A.x, A.y, B.x, B.y per counted option
    proofs: list[int]  # (c0, z0, c1, z1) per counted option, then the sum proof
    randomness: list[int]  # the voter's secret r per option (never sent)

    def commitment(self) -> bytes:
        return ballot_commitment(self.ciphertexts, self.proofs)


def ballot_commitment(ciphertexts: Sequence[int], proofs: Sequence[int]) -> bytes:
    """``keccak256(abi.encodePacked(ciphertexts, proofs))``: the signed Ballot's commitment."""
    return keccak(b"".join(int(w).to_bytes(32, "big") for w in [*ciphertexts, *proofs]))


def encrypt_ballot(
    ctx: BallotContext, ballot_type: str, num_options: int, max_choices: int, bits: Sequence[int]
) -> EncryptedBallot:
    """Encrypt the 0/1 plaintexts ``bits`` of the counted options and prove the ballot valid.

    ``bits`` is normally :func:`bits_of`; a test may pass anything to build an invalid ballot
    (the proof of a value outside the range is then simply wrong)."""
    g, h = _g(), fixed(ctx.key)
    cts: list[int] = []
    rs: list[int] = []
    points: list[tuple[_J, _J]] = []
    for bit in bits:
        r = scalar()
        aj = g.mul_j(r)
        bj = add(h.mul_j(r), g.mul_j(bit)) if bit else h.mul_j(r)
        cts += [*aff(aj), *aff(bj)]
        rs.append(r)
        points.append((aj, bj))
    if ballot_type == "single":
        return EncryptedBallot(cts, _prove_vector(ctx, cts, rs, bits, num_options, h), rs)
    proofs: list[int] = []
    sa, sb = Z1, Z1
    for index, bit in enumerate(bits):
        a, b = (cts[4 * index], cts[4 * index + 1]), (cts[4 * index + 2], cts[4 * index + 3])
        proofs += _prove_member(ctx, index, a, b, rs[index], bit if bit in (0, 1) else 1, 0, 1, h)
        sa, sb = add(sa, points[index][0]), add(sb, points[index][1])
    value = min(max(sum(bits), 1), max_choices)  # out of range: a proof that can not verify
    proofs += _prove_member(ctx, len(bits), aff(sa), aff(sb), sum(rs) % Q, value, 1, max_choices, h)
    return EncryptedBallot(cts, proofs, rs)


def verify_ballot(
    ctx: BallotContext, ballot_type: str, num_options: int, max_choices: int, cts: Sequence[int], proofs: Sequence[int]
) -> bool:
    """Every check ``EncryptedTally.verifyBallot`` makes of the ciphertexts and proofs."""
    m = counted_options(ballot_type, num_options)
    if len(cts) != 4 * m or len(proofs) != proof_words(ballot_type, num_options, max_choices):
        return False
    if any(not on_curve((cts[i], cts[i + 1])) for i in range(0, len(cts), 2)):
        return False
    if ballot_type == "single":
        return verify_vector(ctx, num_options, cts, proofs)
    sa, sb = INFINITY, INFINITY
    for o in range(m):
        a, b = (cts[4 * o], cts[4 * o + 1]), (cts[4 * o + 2], cts[4 * o + 3])
        if not verify_member(ctx, o, a, b, 0, 1, proofs[4 * o : 4 * o + 4]):
            return False
        sa, sb = padd(sa, a), padd(sb, b)
    return verify_member(ctx, m, sa, sb, 1, max_choices, proofs[4 * m :])


def add_ciphertexts(tally: Sequence[int], cts: Sequence[int], *, subtract: bool = False) -> list[int]:
    """Pointwise sum (or difference) of two flat ciphertext lists."""
    out: list[int] = []
    for i in range(0, len(tally), 2):
        a, b = (tally[i], tally[i + 1]), (cts[i], cts[i + 1])
        out += [*(psub(a, b) if subtract else padd(a, b))]
    return out


# -- decryption ----------------------------------------------------------------------------


def decryption_prefix(tally: str, poll_id: int, index: int, option: int, x: Point, a: Point, d: Point) -> list[int]:
    return [TAG_DECRYPT, int(tally, 16), poll_id, index, option, *x, *a, *d]


def partial_decrypt(
    tally: str, poll_id: int, index: int, share: int, encrypted_tally: Sequence[int]
) -> tuple[list[int], list[int]]:
    """Trustee ``index``'s partial decryption ``D = x_i·A`` of each counted option, with proofs."""
    g = _g()
    x = g.mul(share)
    shares: list[int] = []
    proofs: list[int] = []
    for o in range(len(encrypted_tally) // 4):
        a = (encrypted_tally[4 * o], encrypted_tally[4 * o + 1])
        d = mul(a, share)
        w = scalar()
        commits = [*g.mul(w), *mul(a, w)]
        c = challenge(decryption_prefix(tally, poll_id, index, o, x, a, d) + commits)
        shares += [*d]
        proofs += [c, (w + c * share) % Q]
    return shares, proofs


def verify_decryption(
    tally: str,
    poll_id: int,
    index: int,
    x: Point,
    encrypted_tally: Sequence[int],
    shares: Sequence[int],
    proofs: Sequence[int],
) -> int | None:
    """None when every option's proof verifies, else the first bad option."""
    m = len(encrypted_tally) // 4
    if len(shares) != 2 * m or len(proofs) != 2 * m:
        return 0
    for o in range(m):
        a = (encrypted_tally[4 * o], encrypted_tally[4 * o + 1])
        d = (shares[2 * o], shares[2 * o + 1])
        c, z = proofs[2 * o], proofs[2 * o + 1]
        if not on_curve(d) or c >= Q or z >= Q:
            return o
        ca = psub(mul(GENERATOR, z), mul(x, c))
        cb = psub(mul(a, z), mul(d, c))
        if challenge(decryption_prefix(tally, poll_id, index, o, x, a, d) + [*ca, *cb]) != c:
            return o
    return None


def lagrange_at_zero(indices: Sequence[int], i: int) -> int:
    num, den = 1, 1
    xi = indices[i]
    for j, xj in enumerate(indices):
        if j != i:
            num = num * xj % Q
            den = den * (xj - xi) % Q
    return num * pow(den, Q - 2, Q) % Q


def combine(encrypted_tally: Sequence[int], shares_by_index: dict[int, Sequence[int]], max_count: int) -> list[int]:
    """Counts of the counted options from t partial decryptions (Lagrange, then a small dlog)."""
    indices = sorted(shares_by_index)
    lambdas = [lagrange_at_zero(indices, i) for i in range(len(indices))]
    counts = []
    for o in range(len(encrypted_tally) // 4):
        combined = Z1
        for lam, idx in zip(lambdas, indices, strict=True):
            s = shares_by_index[idx]
            combined = add(combined, multiply(jac((s[2 * o], s[2 * o + 1])), lam))
        plain = aff(add(jac((encrypted_tally[4 * o + 2], encrypted_tally[4 * o + 3])), neg(combined)))
        counts.append(discrete_log(plain, max_count))
    return counts


def discrete_log(target: Point, max_count: int) -> int:
    """The ``m`` in 0..max_count with ``m·G == target`` (baby-step giant-step)."""
    step = max(1, int(max_count**0.5) + 1)
    baby: dict[Point, int] = {}
    cur = Z1
    g = jac(GENERATOR)
    for j in range(step):
        baby[aff(cur)] = j
        cur = add(cur, g)
    giant = neg(multiply(g, step))
    t = jac(target)
    for i in range(step + 1):
        found = baby.get(aff(t))
        if found is not None and i * step + found <= max_count:
            return i * step + found
        t = add(t, giant)
    raise ProofError(f"the decrypted tally is not a count in 0..{max_count}")
