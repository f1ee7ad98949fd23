"""The front door: README.md, CHANGELOG.md and docs/ have no dead relative link (file or #anchor), and docs/answers.md is what
`make docs` generates from copier.yml and the rules table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from claude_gateway_template import answers_doc
from environment import REPO_ROOT

PAGES = [REPO_ROOT / "README.md", REPO_ROOT / "CHANGELOG.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
EXTERNAL = ("http://", "https://", "mailto:")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (not `-` or `_`), spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for heading in _HEADING.findall(_FENCE.sub("", page.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def links(page: Path) -> list[str]:
    text = _CODE_SPAN.sub("", _FENCE.sub("", page.read_text()))
    return [target for target in _LINK.findall(text) if not target.startswith(EXTERNAL)]


def dead_links(page: Path) -> list[str]:
    dead = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            dead.append(f"{target}: no file {file.relative_to(REPO_ROOT) if file.is_relative_to(REPO_ROOT) else file}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            dead.append(f"{target}: no heading with the anchor #{anchor}")
    return dead


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO_ROOT)))
def test_no_dead_relative_link(page):
    assert dead_links(page) == []


def test_the_checker_finds_dead_links(tmp_path):
    (tmp_path / "there.md").write_text("# A heading, with `code`\n\n## Again\n## Again\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](there.md#a-heading-with-code) [ok](there.md#again-1) [ok](#self) `[no](gone.md)`\n"
                    "```\n[no](gone.md)\n```\n# Self\n[dead](missing.md) [dead](there.md#nowhere) "
                    "[web](https://example.com/x)\n")
    assert dead_links(page) == ["missing.md: no file " + str(tmp_path / "missing.md"),
                                "there.md#nowhere: no heading with the anchor #nowhere"]


def test_readme_stays_short():
    assert len((REPO_ROOT / "README.md").read_bytes()) <= 12 * 1024


def test_answers_reference_is_generated():
    assert (REPO_ROOT / "docs" / "answers.md").read_text() == answers_doc.render(), \
        "docs/answers.md is stale: run `make docs` (it is generated from copier.yml and the rules table)"


def test_answers_reference_lists_every_question():
    text = (REPO_ROOT / "docs" / "answers.md").read_text()
    for question in answers_doc.rules.RULES_BY_QUESTION:
        assert f"### `{question}`" in text
