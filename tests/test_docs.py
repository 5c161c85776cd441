"""The documentation: the generated configuration reference is current, links resolve, and the
quick start's Python compiles."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from guard.config import SecurityConfig
from guard.config_docs import GENERATOR, field_docs, reference_markdown, undocumented
from tests.conftest import ROOT

DOCS = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
URL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def test_every_setting_has_a_description() -> None:
    assert undocumented() == []
    assert set(field_docs()) == {f.name for f in fields(SecurityConfig)}


def test_configuration_reference_is_current() -> None:
    written = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert written == reference_markdown(), (
        f"docs/configuration.md is stale: run `{GENERATOR} > docs/configuration.md`"
    )


def test_reference_lists_each_field_with_its_key_and_default() -> None:
    text = reference_markdown()
    for f in fields(SecurityConfig):
        row = next(line for line in text.splitlines() if line.startswith(f"| `{f.name}` |"))
        assert f"`GUARD_{f.name.upper()}`" in row
        assert row.count(" | ") == 4 and not row.endswith("|  |")
    assert "| `fail_mode` | `Literal['open', 'closed']` | `\"open\"` |" in text
    assert "| `whitelist` | `list[str]` | `[]` |" in text


def _links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return [target for target in LINK.findall(text) if not URL.match(target)]


@pytest.mark.parametrize("page", [*DOCS, ROOT / "README.md"], ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    for target in _links(page):
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        assert resolved.exists(), f"{page.name}: {target} does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{page.name}: no #{anchor} in {file}"


def _anchors(page: Path) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", FENCE.sub("", page.read_text(encoding="utf-8")), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_link_checker_notices_a_missing_file(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("[gone](nowhere.md) [web](https://example.com/x.md)\n"
                    "```\n[in code](x.md)\n```\n", encoding="utf-8")
    assert _links(page) == ["nowhere.md"]


def test_quickstart_python_compiles() -> None:
    text = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)
    assert len(blocks) >= 5
    for number, block in enumerate(blocks, 1):
        compile(block, f"quickstart.md python block {number}", "exec")


OPERATOR_PAGES = ("quickstart", "configuration", "tuning", "deployment", "observability",
                  "migration")


def test_readme_links_the_operator_pages() -> None:
    linked = set(_links(ROOT / "README.md"))
    assert {f"docs/{name}.md" for name in OPERATOR_PAGES} <= linked
