"""The layout holds: modules small enough to read, imports pointing down, no cycle.

What a newcomer relies on when docs/architecture.md says "imports point down only" and "no module over
500 lines": a module-level import cycle would make import order matter, and a module over the limit
is one nobody holds in their head. Imports inside functions and under ``TYPE_CHECKING`` are not edges:
they run after every module is loaded.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ledger", "commerce", "ads", "community", "bots", "web", "scheduler", "chestnut")
MAX_LINES = 500
# Who may import whom at module level: each package only itself and those listed.
MAY_IMPORT = {
    "ledger": set(),
    "commerce": {"ledger"},
    "ads": {"commerce", "ledger"},
    "community": {"ads", "commerce", "ledger"},
    "bots": {"community", "ads", "commerce", "ledger"},
    "web": {"bots", "community", "ads", "commerce", "ledger"},
    "scheduler": {"community", "ads", "commerce", "ledger"},
    "chestnut": {"web", "bots", "scheduler", "community", "ads", "commerce", "ledger"},
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _module_level_imports(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for inner in ast.walk(node) if isinstance(node, (ast.If, ast.Try)) else [node]:
            if isinstance(inner, ast.Import):
                names.extend(alias.name for alias in inner.names)
            elif isinstance(inner, ast.ImportFrom) and inner.module and not inner.level:
                for alias in inner.names:
                    full = f"{inner.module}.{alias.name}"
                    names.append(full if full in MODULES else inner.module)
    return names


def _ours(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        edges = {_ours(imported) for imported in _module_level_imports(ast.parse(path.read_text()))}
        graph[name] = {edge for edge in edges if edge is not None and edge != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for edge in edges:
                if edge not in index:
                    index[edge] = low[edge] = len(index)
                    stack.append(edge)
                    on_stack.add(edge)
                    work.append((edge, iter(sorted(graph[edge]))))
                    break
                if edge in on_stack:
                    low[node] = min(low[node], index[edge])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_every_package_is_found() -> None:
    assert {name.split(".")[0] for name in MODULES} == set(PACKAGES)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_the_limit(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines (at most {MAX_LINES})"


def test_no_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_a_cycle_is_found_when_there_is_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_point_down() -> None:
    upward = sorted(
        f"{name} imports {edge}"
        for name, edges in _graph().items()
        for edge in edges
        if (top := edge.split(".")[0]) != name.split(".")[0] and top not in MAY_IMPORT[name.split(".")[0]]
    )
    assert upward == []
