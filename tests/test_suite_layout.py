"""The test suite's own rules: helpers live in tests/support (which holds no tests), no test
imports from conftest or from another test module, and every marker is declared and used."""

import ast
import tomllib

from tests.support import PROJECT_ROOT

TESTS = PROJECT_ROOT / "tests"


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_helpers_are_imported_from_support_only():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for name in _imports(path):
            if name.startswith("tests.conftest") or name.startswith("tests.test_"):
                offenders.append(f"{path.relative_to(PROJECT_ROOT)}: {name}")
    assert not offenders


def test_the_tests_root_holds_only_test_modules():
    """Helpers, plugins and test-only code locations live in tests/support, not beside tests."""
    allowed = {"__init__.py", "conftest.py"}
    stray = [
        p.name
        for p in TESTS.glob("*.py")
        if p.name not in allowed and not p.name.startswith("test_")
    ]
    assert not stray, f"move {stray} to tests/support/"


def test_support_holds_no_tests_and_every_test_module_holds_tests():
    for path in (TESTS / "support").glob("*.py"):
        assert "def test_" not in path.read_text(), path
    for path in TESTS.glob("test_*.py"):
        assert "def test_" in path.read_text(), f"{path.name} holds no test: move it to support/"


def test_markers_are_declared_and_make_test_fast_deselects_them():
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    declared = {m.split(":")[0] for m in config["tool"]["pytest"]["ini_options"]["markers"]}
    assert {"slow", "spark", "ui"} <= declared
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert '-m "not slow and not spark and not ui"' in makefile
