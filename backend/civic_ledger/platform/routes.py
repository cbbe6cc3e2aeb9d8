"""HTTP routes as data: a router declares its routes in a table, :func:`add_routes` registers them.

Two kinds of entry, both thin (parse, call one function, answer what it returns):

- :class:`Pair` — a signed action's ``POST path/typed-data`` (the EIP-712 typed data to sign, nonce
  and deadline filled in) and ``POST path`` (relay it signed);
- :class:`Call` — any other route that only delegates (:func:`get`, :func:`post`, :func:`put`,
  :func:`delete`).

Every function is called the same way: ``fn(platform, *params, body)`` — the platform (unless
``platform=False``), the route's path and query parameters in the order declared, then the request
body when the route has one (``None`` for a left-out optional body).

Each endpoint is built with an :class:`inspect.Signature`, so the web framework sees real
parameters: ``params`` as ``(name, annotation)`` or ``(name, annotation, default)`` (a path
parameter with its ``Annotated`` constraints, a query parameter with its default), the body model,
the platform dependency and a ``guard`` (a dependency that must run — e.g. a role check — and whose
value the function does not take). The endpoint's ``__name__`` is the entry's ``name`` (the OpenAPI
operation id) and its ``__doc__`` the ``doc`` (the description). Duck-typed: routes are registered
with ``router.<method>(path, **options)(endpoint)``; nothing here imports the web framework.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import KW_ONLY, dataclass
from functools import partial
from typing import Any

#: ``(name, annotation)``, or ``(name, annotation, default)`` for a parameter that may be left out.
Param = tuple[Any, ...]
Responses = dict[int | str, dict[str, Any]]

_KW = inspect.Parameter.KEYWORD_ONLY


@dataclass(frozen=True)
class Call:
    """One route that delegates to ``fn`` (see the module's calling convention)."""

    method: str
    path: str
    fn: Callable[..., Any]
    #: the response model
    response: Any
    summary: str | None = None
    _: KW_ONLY
    #: the endpoint's name, i.e. its OpenAPI operation id (default: ``fn``'s name)
    name: str = ""
    #: the description
    doc: str | None = None
    params: Sequence[Param] = ()
    #: the request body's model (``None``: no body)
    body: Any = None
    #: the body may be left out (the function then gets ``None``)
    optional: bool = False
    #: a dependency that must run before the call (its value is not passed on)
    guard: Any = None
    #: the function takes the platform first
    platform: bool = True
    status_code: int | None = None
    responses: Responses | None = None
    include_in_schema: bool = True

    def options(self) -> dict[str, Any]:
        """The keywords of ``router.<method>(path, ...)``."""
        return {
            "response_model": self.response,
            "summary": self.summary,
            "status_code": self.status_code,
            "responses": self.responses,
            "include_in_schema": self.include_in_schema,
        }

    def endpoint(self, platform_dep: Any) -> Callable[..., Any]:
        """The endpoint function: its signature is the route's parameters, its body calls ``fn``."""
        names = [p[0] for p in self.params]
        fn, with_platform, with_body = self.fn, self.platform, self.body is not None

        def endpoint(**kw: Any) -> Any:
            head = [kw["platform"]] if with_platform else []
            tail = [kw["body"]] if with_body else []
            return fn(*head, *(kw[n] for n in names), *tail)

        empty = inspect.Parameter.empty
        params = [
            inspect.Parameter(p[0], _KW, annotation=p[1], default=p[2] if len(p) > 2 else empty) for p in self.params
        ]
        if with_body:  # keyword-only parameters: one with a default may stand anywhere
            body, default = (self.body | None, None) if self.optional else (self.body, empty)
            params.append(inspect.Parameter("body", _KW, annotation=body, default=default))
        if with_platform:
            params.append(inspect.Parameter("platform", _KW, annotation=platform_dep))
        if self.guard is not None:
            params.append(inspect.Parameter("_guard", _KW, annotation=self.guard))
        endpoint.__signature__ = inspect.Signature(params, return_annotation=self.response)  # type: ignore[attr-defined]
        endpoint.__name__ = endpoint.__qualname__ = self.name or self.fn.__name__
        endpoint.__doc__ = self.doc
        return endpoint


#: ``get(path, fn, response, summary, **kw)``: ``GET path`` answered by ``fn`` (``kw``: the other
#: :class:`Call` fields); likewise ``post``, ``put`` and ``delete``.
get = partial(Call, "get")
post = partial(Call, "post")
put = partial(Call, "put")
delete = partial(Call, "delete")


@dataclass(frozen=True)
class Pair:
    """A signed action's two routes: ``POST path/typed-data`` → ``prepare(platform, *params, body)``,
    the typed data to sign; ``POST path`` → ``relay(platform, *params, body)``, the action relayed.

    ``name`` names the relay endpoint, ``typed_name`` (default ``<name>_typed_data``) the typed-data
    one; ``summary``/``doc``/``status_code`` are the relay route's, ``typed_summary``/``typed_doc``
    the typed-data route's; ``responses`` and ``params`` are both routes'. ``optional``: the
    typed-data body may be left out.
    """

    name: str
    path: str
    #: the request models of the typed-data route and of the relay route
    typed: Any
    create: Any
    prepare: Callable[..., Any]
    relay: Callable[..., Any]
    _: KW_ONLY
    #: the response models of the relay route and of the typed-data route
    response: Any
    typed_response: Any
    summary: str | None = None
    doc: str | None = None
    status_code: int | None = None
    typed_name: str = ""
    typed_summary: str | None = None
    typed_doc: str | None = None
    optional: bool = False
    params: Sequence[Param] = ()
    responses: Responses | None = None

    def calls(self) -> tuple[Call, Call]:
        """The typed-data route, then the relay route."""
        shared: dict[str, Any] = {"params": self.params, "responses": self.responses}
        typed = post(
            f"{self.path}/typed-data",
            self.prepare,
            self.typed_response,
            self.typed_summary,
            name=self.typed_name or f"{self.name}_typed_data",
            doc=self.typed_doc,
            body=self.typed,
            optional=self.optional,
            **shared,
        )
        relay = post(
            self.path,
            self.relay,
            self.response,
            self.summary,
            name=self.name,
            doc=self.doc,
            body=self.create,
            status_code=self.status_code,
            **shared,
        )
        return typed, relay


#: One entry of a route table.
Entry = Call | Pair


def add_routes(router: Any, platform_dep: Any, table: Iterable[Entry]) -> None:
    """Register the table's routes on ``router`` in its order (a pair: typed-data route first);
    ``platform_dep``: the annotation that injects the platform."""
    for entry in table:
        for call in entry.calls() if isinstance(entry, Pair) else (entry,):
            getattr(router, call.method)(call.path, **call.options())(call.endpoint(platform_dep))
