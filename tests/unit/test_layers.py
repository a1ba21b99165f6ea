"""The layer rule of DESIGN.md, checked on the code: imports between the top-level packages point down,
and no module imports itself back through others (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "graph": {"core"},
    "inference": {"core"},
    "extraction": {"graph", "inference", "core"},
    "retrieval": {"graph", "inference", "core"},
    "service": {"retrieval", "extraction", "graph", "inference", "core"},
    "api": {"service", "core"},
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every module of the packages and the project modules it imports."""
    modules = {_module(p): p for pkg in ALLOWED for p in (ROOT / pkg).rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            for t in targets:
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != name and t.split(".")[0] in ALLOWED:
                    found.add(t)
        edges[name] = found
    return edges


def test_imports_point_down() -> None:
    wrong = sorted(f"{a} -> {b}" for a, targets in _imports().items() for b in targets
                   if b.split(".")[0] != a.split(".")[0] and b.split(".")[0] not in ALLOWED[a.split(".")[0]])
    assert wrong == []


def test_no_import_cycles() -> None:
    edges = _imports()
    # a package's __init__ that its own modules "import" (``from service import x``) is not a cycle by itself
    for name, targets in edges.items():
        edges[name] = {t for t in targets if not name.startswith(t + ".")}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    assert cycles == []


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_modules_stay_small(package: str) -> None:
    """DESIGN.md: most modules under ~300 lines; none past 450."""
    big = {str(p.relative_to(ROOT)): n for p in (ROOT / package).rglob("*.py")
           if (n := len(p.read_text().splitlines())) > 450}
    assert big == {}
