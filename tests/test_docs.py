"""The README stays a short front door, and every document it or docs/ links exists."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 150

# [text](target) and [text]: target; the target up to whitespace or ")".
_LINK = re.compile(
    r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|^\s*\[[^\]]+\]:\s*(\S+)", re.M
)
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def relative_links(markdown: str) -> list[str]:
    """Link targets that point into the repository (no scheme, no bare #anchor)."""
    text = _CODE.sub("", markdown)
    targets = [a or b for a, b in _LINK.findall(text)]
    return [
        t
        for t in targets
        if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I) and not t.startswith("#")
    ]


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines; keep it at most {README_MAX_LINES} "
        "and move details into docs/."
    )


@pytest.mark.parametrize("document", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(document: Path) -> None:
    missing = []
    for target in relative_links(document.read_text(encoding="utf-8")):
        path = unquote(target.split("#", 1)[0])
        if not (document.parent / path).exists():
            missing.append(target)
    assert not missing, f"{document.relative_to(ROOT)} links to missing files: {missing}"


def test_link_finder_sees_links_and_skips_code() -> None:
    sample = "See [a](docs/a.md#x), [web](https://x.org), [b]( b.md ), `[c](c.md)`.\n[r]: ref.md\n"
    assert relative_links(sample) == ["docs/a.md#x", "b.md", "ref.md"]
