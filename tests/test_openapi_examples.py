"""The OpenAPI document shows what to send and what comes back, and its examples tell the truth.

- every JSON request body and every JSON 2xx response has an example somewhere: on the media type, on its
  schema or a schema it references, or on one of their properties (following ``$ref``, ``items``,
  ``anyOf``/``allOf``/``oneOf`` and ``additionalProperties`` a few levels down), so ``/docs`` never shows a
  bare ``"string"``/``0`` skeleton;
- every model-level example of a pydantic model the app uses validates as that model.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from civic_ledger.main import create_app

DEPTH = 4
_SUBSCHEMAS = ("anyOf", "allOf", "oneOf", "prefixItems")


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app()


def _has_example(schema: Any, components: dict[str, Any], depth: int = 0, seen: frozenset[str] = frozenset()) -> bool:
    if depth > DEPTH or not isinstance(schema, dict):
        return False
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen or name not in components:
            return False
        seen, schema = seen | {name}, components[name]
    if "example" in schema or "examples" in schema:
        return True
    children: list[Any] = list((schema.get("properties") or {}).values())
    children += [schema[k] for k in ("items", "additionalProperties") if isinstance(schema.get(k), dict)]
    children += [s for k in _SUBSCHEMAS for s in schema.get(k, [])]
    return any(_has_example(child, components, depth + 1, seen) for child in children)


def _documented(media: dict[str, Any], components: dict[str, Any]) -> bool:
    return "example" in media or "examples" in media or _has_example(media.get("schema", {}), components)


def test_every_json_body_and_2xx_response_has_an_example(app: Any) -> None:
    spec = app.openapi()
    components = spec.get("components", {}).get("schemas", {})
    bodies, answers = [], []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            media = op.get("requestBody", {}).get("content", {}).get("application/json")
            if media is not None and not _documented(media, components):
                bodies.append(f"{method} {path}")
            for status, response in op.get("responses", {}).items():
                media = (response.get("content") or {}).get("application/json")
                if status.startswith("2") and media is not None and not _documented(media, components):
                    answers.append(f"{method} {path} {status}")
    assert not bodies and not answers, (
        f"{len(bodies)} request bodies without an example:\n  " + "\n  ".join(bodies) + f"\n{len(answers)} 2xx "
        "responses without an example:\n  " + "\n  ".join(answers)
    )


def _models_in(annotation: Any, found: dict[str, type[BaseModel]]) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        key = f"{annotation.__module__}.{annotation.__qualname__}"
        if key in found:
            return
        found[key] = annotation
        for field in annotation.model_fields.values():
            _models_in(field.annotation, found)
        return
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            _models_in(arg, found)


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, also those of included routers (FastAPI ≥ 0.16x keeps them in ``original_router``)."""
    out: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):
            out += _api_routes(route.original_router.routes)
    return out


def _app_models(app: Any) -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for route in _api_routes(app.routes):
        _models_in(route.response_model, found)
        for param in route.dependant.body_params:
            _models_in(param.field_info.annotation, found)
        for extra in route.responses.values():
            _models_in(extra.get("model"), found)
    return found


def test_every_model_level_example_validates_as_its_model(app: Any) -> None:
    models = _app_models(app)
    assert len(models) > 100, f"only {len(models)} models found: the walk over the routes is broken"
    checked, wrong = 0, []
    for name, model in sorted(models.items()):
        schema = model.model_json_schema()
        for i, example in enumerate(
            [*schema.get("examples", []), *([schema["example"]] if "example" in schema else [])]
        ):
            checked += 1
            try:
                model.model_validate(example)
            except Exception as exc:  # noqa: BLE001 - reported below with the model and the example's index
                wrong.append(f"{name} example {i}: {exc}")
    assert checked >= 20, f"only {checked} model-level examples found"
    assert not wrong, "examples that do not validate as their model:\n" + "\n".join(wrong)
