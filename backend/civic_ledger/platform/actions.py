"""Signed actions as data, and the one pipeline that serves them all.

An area declares each EIP-712 signed action once (:class:`Action`): its primary type and fields
(identical to the contract's ``*_TYPEHASH`` preimage, checked by ``tests/test_actions.py``), the
message field that names the signer, whether the contract keeps a nonce for it, the contract
function and how the message becomes that function's arguments. This module does the rest, the
same way for every area:

- :func:`typed_message` — the :class:`~civic_ledger.platform.eip712.TypedMessage` for the
  deployed contract (domain from the deployment);
- :func:`prepare` — fill in the signer's nonce (``nonces(signer)``) and a deadline from chain
  time, then build the typed message for the signer to sign;
- :class:`Signed` — ``Signed(platform, action, message, signature).verify(...).send(...)``: the one
  off-chain signature check (:meth:`~civic_ledger.platform.eip712.TypedMessage.require_signer`: 403
  naming who had to sign) and the area's own checks (``check``), then the contract call simulated
  and sent through the platform relayer. A co-signed action (:attr:`Action.cosigners`: a contract
  taking two signatures of the same typed data) gets the further signatures as ``cosignatures``;
  each is checked the same way and passed after the signer's.

Area rules (roles, VINs, pre-checks, what to do on a particular revert) stay in the areas and come
in as arguments. An action's ``POST .../typed-data`` + ``POST ...`` routes are a
:class:`civic_ledger.platform.routes.Pair` in the area's route table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from civic_ledger.errors import CivicLedgerError, ContractError, Forbidden, InvalidInput
from civic_ledger.platform import eip712
from civic_ledger.platform.relayer import Receipt
from civic_ledger.platform.runtime import Platform

Fields = list[dict[str, str]]
Pairs = tuple[tuple[str, str], ...]
#: The EIP-712 tail of an action with a contract nonce, and of one without.
TAIL: Fields = [{"name": "nonce", "type": "uint256"}, {"name": "deadline", "type": "uint256"}]


def fields(*pairs: tuple[str, str], nonce: bool | None = None) -> Fields:
    """EIP-712 fields from ``(name, type)`` pairs; ``nonce=True``/``False`` appends the nonce and
    deadline / only the deadline (``None``: nothing)."""
    tail = [] if nonce is None else TAIL if nonce else TAIL[1:]
    return [{"name": n, "type": t} for n, t in pairs] + tail


@dataclass(frozen=True)
class Cosigner:
    """A further signer of an action's typed data: the message field naming it, and who it is (errors)."""

    signer: str
    label: str


@dataclass(frozen=True)
class Action:
    """One signed action: what is signed, by whom, and which contract call it becomes."""

    key: str
    contract: str
    primary: str
    #: the primary type's fields, in the contract's order
    fields: Fields
    #: the message field that names the signer
    signer: str
    function: str
    #: the contract's constant holding the typehash ("" when the contract keeps none public)
    typehash_constant: str
    #: message → the contract function's arguments before the signature; default (``None``): every
    #: signed field in order, each as its EIP-712 type wants it (:meth:`abi_value`)
    call: Callable[[dict[str, Any]], list[Any]] | None = None
    #: who signs, for error messages ("" → "signer of <primary>")
    label: str = ""
    #: the error code of a refused signature (a contract may have its own name for it)
    signature_error: str = "invalid_signature"
    #: struct types the primary type refers to (``Participant``, ``Line``...)
    structs: dict[str, Fields] = field(default_factory=dict)
    #: the contract keeps a per-signer nonce (``nonces(signer)``) that the message carries
    uses_nonce: bool = True
    #: the signature goes in as ``v, r, s`` (ERC-2612 ``permit``), not as ``bytes``
    split_signature: bool = False
    #: the area's own builder of the message from an API request (its signature is the area's)
    message: Callable[..., dict[str, Any]] | None = None
    #: further signers of the same typed data, in the order the contract takes their signatures
    cosigners: tuple[Cosigner, ...] = ()
    #: message fields that key the signer's nonce before the signer (``nonces(issuerId, key)``)
    nonce_keys: tuple[str, ...] = ()

    @property
    def types(self) -> dict[str, Fields]:
        return {self.primary: self.fields, **self.structs}

    @property
    def field_names(self) -> list[str]:
        return [f["name"] for f in self.fields]

    @property
    def who(self) -> str:
        return self.label or f"signer of {self.primary}"

    def type_string(self) -> str:
        """The ``*_TYPEHASH`` preimage: ``Primary(type name,...)`` and the referenced structs."""
        return eip712.type_string(self.primary, self.types)

    def args_of(self, message: dict[str, Any]) -> list[Any]:
        """The contract call's arguments before the signature (see :attr:`call`)."""
        if self.call is not None:
            return self.call(message)
        return [self.abi_value(f["type"], message[f["name"]]) for f in self.fields]

    def abi_value(self, type_: str, value: Any) -> Any:
        """A message value as the ABI wants it: hex as bytes, structs as tuples, integers as ``int``."""
        if type_.endswith("]"):
            return [self.abi_value(type_[: type_.rindex("[")], v) for v in value]
        if type_ in self.structs:
            return tuple(self.abi_value(f["type"], value[f["name"]]) for f in self.structs[type_])
        if type_.startswith("bytes"):
            return bytes(value) if isinstance(value, (bytes, bytearray)) else _bytes(str(value))
        if type_.startswith(("uint", "int")):
            return int(value)
        return value


def declare(
    contract: str, key: str, primary: str, pairs: Pairs, signer: str, function: str, constant: str, **kw: Any
) -> Action:
    """An action of ``contract`` in short: fields from ``(name, type)`` pairs with the nonce (unless
    ``uses_nonce=False``) and deadline appended; ``kw``: the other :class:`Action` fields."""
    f = fields(*pairs, nonce=kw.get("uses_nonce", True))
    return Action(key, contract, primary, f, signer, function, constant, **kw)


def table(*actions: Action) -> dict[str, Action]:
    """An area's actions by key (a key declared twice is a programming error)."""
    out: dict[str, Action] = {}
    for a in actions:
        assert a.key not in out, f"action {a.key!r} declared twice"
        out[a.key] = a
    return out


def deadline_in(platform: Platform, ttl_s: int = eip712.DEFAULT_TTL_S) -> int:
    """A deadline ``ttl_s`` after chain time (not wall time: a dev chain's clock may run ahead)."""
    return eip712.deadline(ttl_s, now=platform.chain.now())


def typed_message(platform: Platform, action: Action, message: dict[str, Any]) -> eip712.TypedMessage:
    """The action's typed message for the deployed contract; 422 naming any field it lacks."""
    missing = [f for f in action.field_names if f not in message]
    if missing:
        raise InvalidInput(f"{action.primary}: missing field(s) {', '.join(missing)}")
    domain = eip712.domain(action.contract, platform.chain.chain_id, platform.deployment.address(action.contract))
    return eip712.TypedMessage(domain, action.primary, action.types, {f: message[f] for f in action.field_names})


def nonce_of(platform: Platform, action: Action, signer: str, message: dict[str, Any] | None = None) -> int:
    """The signer's next nonce at the action's contract: ``nonces(signer)`` (OpenZeppelin ``Nonces``),
    or ``nonces(*keys, signer)`` keyed by the message's :attr:`~Action.nonce_keys` fields."""
    types = {f["name"]: f["type"] for f in action.fields}
    keys = [action.abi_value(types[k], (message or {})[k]) for k in action.nonce_keys]
    contract = platform.deployment.contract(action.contract)
    return int(platform.relayer.call(contract.functions.nonces(*keys, signer)))


def prepare(
    platform: Platform,
    action: Action,
    message: dict[str, Any],
    *,
    signer: str | None = None,
    ttl_s: int = eip712.DEFAULT_TTL_S,
) -> eip712.TypedMessage:
    """Fill what the signer does not choose — the nonce (when the action uses one) and the deadline,
    each only when the message lacks it — into ``message`` and build its typed message."""
    if action.uses_nonce and message.get("nonce") is None:
        message["nonce"] = nonce_of(platform, action, signer or message[action.signer], message)
    if message.get("deadline") is None:
        message["deadline"] = deadline_in(platform, ttl_s)
    return typed_message(platform, action, message)


@dataclass
class Signed:
    """A signed action on its way to the chain: :meth:`verify` it, then :meth:`send` it.

    ``Signed(platform, action, message, signature).verify(...).send(...)`` is the one path of every
    signed action; nothing is sent before the signature was checked. ``cosignatures``: the
    signatures of the action's :attr:`~Action.cosigners`, in their order.
    """

    platform: Platform
    action: Action
    message: dict[str, Any]
    signature: str
    cosignatures: Sequence[str] = ()
    typed: eip712.TypedMessage | None = field(default=None, init=False)

    def verify(
        self,
        *,
        signer: str | None = None,
        role: str | None = None,
        check: Callable[[eip712.TypedMessage], None] | None = None,
        names: Sequence[str] = (),
        refuse: Callable[[CivicLedgerError], Exception | None] | None = None,
    ) -> Signed:
        """The one off-chain check: the signature must recover to ``signer`` (default: the message's
        signer field), else a 403 naming ``role`` (default: the action's label); each co-signature
        to its co-signer (the message's field, the cosigner's label); then the area's
        ``check(typed)`` (pre-checks). ``names``: the request fields of the signature and of each
        co-signature, as a refusal names them (default ``signature``). ``refuse(refusal)``: the area's
        own answer to a refused or malformed signature (e.g. :meth:`contract_answer`, the contract's
        decoded revert); ``None`` (or no ``refuse``) keeps the 403 / 422. Nothing is sent."""
        typed = typed_message(self.platform, self.action, self.message)
        cosigners = self.action.cosigners
        if len(self.cosignatures) != len(cosigners):
            wanted = ", ".join(c.label for c in cosigners) or "none"
            raise InvalidInput(
                f"{self.action.primary}: {len(cosigners)} co-signature(s) needed ({wanted}), got {len(self.cosignatures)}"
            )
        expected = [(signer or self.message[self.action.signer], role or self.action.who)]
        expected += [(self.message[c.signer], c.label) for c in cosigners]
        for i, (sig, (address, who)) in enumerate(zip([self.signature, *self.cosignatures], expected, strict=True)):
            field_name = names[i] if i < len(names) else "signature"
            try:
                typed.require_signer(sig, address, who, field=field_name, code=self.action.signature_error)
            except (Forbidden, InvalidInput) as refusal:
                answer = refuse(refusal) if refuse is not None else None
                if answer is None:
                    raise
                raise answer from None
        if check is not None:
            check(typed)
        self.typed = typed
        return self

    def contract_answer(self, _refusal: CivicLedgerError | None = None) -> ContractError | None:
        """What the contract answers this call (an ``eth_call``, nothing sent): its decoded revert, or
        ``None`` when it would pass. As ``refuse``: a refusal worded exactly as the contract's."""
        contract = self.platform.deployment.contract(self.action.contract)
        try:
            self.platform.relayer.call(getattr(contract.functions, self.action.function)(*self.arguments()))
        except ContractError as exc:
            return exc
        return None

    def arguments(self, also: Sequence[str] = ()) -> list[Any]:
        """The call's arguments: the message's, the signature (``bytes``, or ``v, r, s``), then the
        further signatures ``also`` (default: the verified ``cosignatures``)."""
        sig = _bytes(self.signature)
        args = self.action.args_of(self.message)
        args += [sig[64], sig[:32], sig[32:64]] if self.action.split_signature else [sig]
        return args + [_bytes(s) for s in (also or self.cosignatures)]

    def call(self, args: list[Any] | None = None) -> Any:
        """The contract function bound to ``args`` (default: :meth:`arguments`); only once verified."""
        if self.typed is None:
            raise RuntimeError(f"{self.action.key}: verify() a signed action before calling the contract with it")
        contract = self.platform.deployment.contract(self.action.contract)
        return getattr(contract.functions, self.action.function)(*(self.arguments() if args is None else args))

    def send(
        self,
        *,
        also: Sequence[str] = (),
        gas: int | None = None,
        on_revert: Callable[[ContractError, list[Any]], Exception | None] | None = None,
    ) -> Receipt:
        """Simulate and send through the relayer; ``on_revert(error, args)`` may answer a decoded revert
        with another exception."""
        args = self.arguments(also)
        try:
            return self.platform.relayer.transact(self.call(args), simulate=True, gas=gas)
        except ContractError as exc:
            answer = on_revert(exc, args) if on_revert is not None else None
            if answer is None:
                raise
            raise answer from None


def _bytes(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text.removeprefix("0x"))
