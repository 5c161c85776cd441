"""The documentation: the generated configuration reference is current, links resolve, and the
quick start's Python compiles."""

from __future__ import annotations

import re
from dataclasses import fields

from guard.config import SecurityConfig
from guard.config_docs import GENERATOR, field_docs, reference_markdown, undocumented
from tests.conftest import ROOT

DOCS = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


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
