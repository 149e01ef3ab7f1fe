"""No two of the project's modules import each other, directly or through others.

A cycle means two modules that are really one concept split in the wrong place (`ehr.cli` and
`ehr.imports` each needed the other's piece; so did `bench.__main__` and `bench.gateway`): the
shared piece gets a module of its own. Imports inside functions count too: that is where the
two cycles above hid, deferred to keep `ehr` quick to load, but still a cycle in what the code
depends on. Imports under `if TYPE_CHECKING:` do not count (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ehr", "bench", "services", "shared")


def project_modules() -> dict[str, tuple[str, bool]]:
    """Each module of the project's packages: its source and whether it is a package."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:  # alembic's scripts, loaded by path, never imported
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = (path.read_text(encoding="utf-8"), path.name == "__init__.py")
    return found


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imported_names(module: str, source: str, is_package: bool = False) -> set[str]:
    """Every dotted name `module` imports, at module level or in a function (`from a import b`
    gives `a` and `a.b`: b may be a module)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    names: set[str] = set()
    pending: list[ast.AST] = [ast.parse(source)]
    while pending:
        node = pending.pop()
        if _type_checking_only(node):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[:len(package) - node.level + 1], *([base] if base else [])])
            names |= {base, *(f"{base}.{alias.name}" for alias in node.names)}
        pending.extend(ast.iter_child_nodes(node))
    return names


def import_graph(modules: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """Which of `modules` each one imports."""
    graph = {}
    for module, (source, is_package) in modules.items():
        targets = set()
        for name in imported_names(module, source, is_package):
            while name and name not in modules:  # `a.b.func` -> the module `a.b`
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_check_sees_imports_in_functions_and_relative_ones_and_skips_type_checking_ones():
    source = ("from typing import TYPE_CHECKING\n"
              "from .state import STATE_DIR\n"
              "if TYPE_CHECKING:\n    from ehr.broker import Rights\n"
              "def command():\n    from ehr.imports import import_\n")
    names = imported_names("ehr.cli", source)
    assert {"ehr.state.STATE_DIR", "ehr.imports.import_"} <= names
    assert not any(name.startswith("ehr.broker") for name in names)
    planted = {"ehr.cli": (source, False), "ehr.imports": ("def f():\n    from ehr.cli import STATE_DIR\n", False),
               "ehr.state": ("", False), "ehr.broker": ("import ehr.cli\n", False), "ehr": ("", True)}
    assert cycles(import_graph(planted)) == [["ehr.cli", "ehr.imports"]]


def test_no_module_of_the_project_imports_itself_through_others():
    modules = project_modules()
    assert {"ehr.cli", "ehr.imports", "bench.__main__", "bench.gateway", "services.registry.service",
            "shared.transport.rpc"} <= set(modules)
    graph = import_graph(modules)
    assert "ehr.imports" in graph["ehr.cli"] and "bench.gateway" in graph["bench.__main__"]  # it sees them
    assert cycles(graph) == []
