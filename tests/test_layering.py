"""The import graph is one-way: domains depend on ``resources`` only, ``resources`` on no domain.

``narr_platform`` (the code location and its command line) may import anything; a domain
reaches another domain only through asset keys and table names, never a Python import.
"""

from __future__ import annotations

import ast

import pytest

from tests.support import PROJECT_ROOT

TOOLKIT = "resources"
DOMAINS = ("directory_assets", "fhir_assets", "reference_assets", "schedules")
PACKAGES = ("narr_platform", TOOLKIT, *DOMAINS)


def imported_packages(package: str) -> set[tuple[str, str]]:
    """(file:line, imported top-level project package) for every absolute import in a package."""
    found: set[tuple[str, str]] = set()
    for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in PACKAGES and top != package:
                    where = f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
                    found.add((where, top))
    return found


@pytest.mark.parametrize("package", DOMAINS)
def test_a_domain_imports_only_the_toolkit(package: str) -> None:
    crossing = sorted(
        f"{where} imports {top}" for where, top in imported_packages(package) if top != TOOLKIT
    )
    assert crossing == [], "\n".join(crossing)


def test_the_toolkit_imports_no_domain() -> None:
    crossing = sorted(f"{where} imports {top}" for where, top in imported_packages(TOOLKIT))
    assert crossing == [], "\n".join(crossing)


def test_every_package_says_what_it_holds() -> None:
    for package in PACKAGES:
        doc = ast.get_docstring(ast.parse((PROJECT_ROOT / package / "__init__.py").read_text()))
        assert doc, f"{package}/__init__.py has no docstring saying what the package holds"
