"""The layering rules of the code base (issue 18), checked on the source so a change that breaks one
fails here with the file and line that break it:

- no file in ``backend/`` over 600 lines;
- no import cycle between modules (module-level imports; ``TYPE_CHECKING`` blocks are annotations);
- only the web layer (``api/``, ``web/``, ``main.py``, each area's ``router.py`` and ``deps.py``)
  imports FastAPI / Starlette or ``civic_ledger.api``;
- no private name (``_x``) imported from another area or from a library's private module
  (``web3._utils``…);
- mypy finds no error (``[tool.mypy]`` in ``pyproject.toml``).
"""

from __future__ import annotations

import ast
from pathlib import Path

from civic_ledger.platform.compiler import PROJECT_ROOT

BACKEND = PROJECT_ROOT / "backend"
PACKAGE = BACKEND / "civic_ledger"
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(BACKEND).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(name: str, path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, imported names) of each module-level import (relative ones resolved)."""
    out = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.parse(path.read_text()).body:
        if _is_type_checking(node):
            continue
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            out.append((node.lineno, module, [a.name for a in node.names]))
    return out


def _area(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 2 else ""


def _web_layer(name: str) -> bool:
    parts = name.split(".")
    return parts[1:2] in (["api"], ["web"]) or name == "civic_ledger.main" or parts[-1] in ("router", "deps")


def test_no_file_over_600_lines() -> None:
    long = {
        str(p.relative_to(PROJECT_ROOT)): n
        for p in BACKEND.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these by job: {long}"


def test_no_import_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        deps = set()
        for _, module, names in _imports(name, path):
            for n in names or [""]:
                target = f"{module}.{n}" if f"{module}.{n}" in MODULES else module
                if target in MODULES and target != name:
                    deps.add(target)
        graph[name] = deps
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_only_the_web_layer_imports_the_web_framework() -> None:
    bad = []
    for name, path in MODULES.items():
        if _web_layer(name):
            continue
        for line, module, _ in _imports(name, path):
            top = module.split(".")[0]
            if (
                top in ("fastapi", "starlette")
                or module == "civic_ledger.api"
                or module.startswith("civic_ledger.api.")
            ):
                bad.append(f"{path.relative_to(PROJECT_ROOT)}:{line} imports {module}")
    assert not bad, "\n".join(bad)


def test_no_private_import_across_areas_or_from_libraries() -> None:
    bad = []
    for name, path in MODULES.items():
        for line, module, names in _imports(name, path):
            where = f"{path.relative_to(PROJECT_ROOT)}:{line}"
            if not module.startswith("civic_ledger") and any(p.startswith("_") for p in module.split(".")[1:]):
                bad.append(f"{where} imports the private module {module}")
            if module.startswith("civic_ledger.") and _area(module) != _area(name):
                private = [n for n in names if n.startswith("_") and not n.startswith("__")]
                if private:
                    bad.append(f"{where} imports {private} from {module}")
    assert not bad, "\n".join(bad)


def test_the_backend_type_checks(tmp_path: Path) -> None:
    """mypy (its settings and the pydantic plugin in pyproject.toml) finds no error in the backend."""
    from mypy import api

    out, err, status = api.run(
        ["--config-file", str(PROJECT_ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path), str(PACKAGE)]
    )
    assert status == 0, out + err
