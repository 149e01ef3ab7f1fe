"""The layering the code keeps: Nameko, eventlet and kombu stay in `shared.transport` and in each
service's entrypoints and providers; the vocabulary in `shared` and the use cases stay free of
them, so they can be tested with plain fakes and the transport could change."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORK = ("nameko", "eventlet", "kombu", "amqp")

# A service's modules that may import the framework: its entrypoints and its providers.
TRANSPORT_MODULES = {"service.py", "dependencies.py", "gate.py", "http.py"}


def _imports(path: Path) -> set[str]:
    """Top-level modules a file imports, at any depth of the file (lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _framework(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in FRAMEWORK or m.startswith("shared.transport")}


def test_shared_vocabulary_imports_no_framework():
    offenders = {}
    for path in sorted((ROOT / "shared").rglob("*.py")):
        if "transport" in path.relative_to(ROOT / "shared").parts:
            continue
        bad = _framework(_imports(path))
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_use_cases_import_no_framework():
    offenders = {}
    for path in sorted((ROOT / "services").rglob("*.py")):
        rel = path.relative_to(ROOT)
        if "migrations" in rel.parts or path.name in TRANSPORT_MODULES:
            continue
        bad = _framework(_imports(path))
        if bad:
            offenders[str(rel)] = sorted(bad)
    assert offenders == {}


def test_the_check_sees_a_framework_import(tmp_path):
    planted = tmp_path / "usecase.py"
    planted.write_text("def f():\n    from nameko.extensions import DependencyProvider\n")
    assert _framework(_imports(planted)) == {"nameko.extensions"}
