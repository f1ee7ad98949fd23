"""The generated documentation by topic (issue 29): README.md is a short map, docs/<topic>.md exist only where they
apply, and the README's map lists exactly the pages a tree has.

Rendered from the golden cases' answers (one per pattern and the switches that add pages): each case's answers give
the pages extensions/claude_gateway_template/docs.py says apply."""

from __future__ import annotations

import re

import pytest
from answers import complete_answers
from claude_gateway_template import derived, docs
from environment import REPO_ROOT
from golden_trees import CASES

TEMPLATE = REPO_ROOT / "template"
DOC_TEMPLATES = [TEMPLATE / "README.md.jinja", *sorted((TEMPLATE / "docs").glob("*.jinja"))]
BRANCH = re.compile(r"\{%-?\s*(?:if|elif)\s")


def context(case: str) -> dict:
    answers = complete_answers(**CASES[case])
    return {**answers, **derived.derive(answers)}


RENDERED = ["a-bedrock", "b-anthropic", "c-multi", "c-kubernetes", "d-client-only", "d-default"]


@pytest.mark.parametrize("case", RENDERED)
def test_each_tree_has_the_pages_that_apply_and_the_readme_maps_them(generate, case):
    tree = generate(**CASES[case])
    expected = [page.path for page in docs.pages(context(case))]
    assert sorted(str(p.relative_to(tree)) for p in (tree / "docs").glob("*.md")) == sorted(expected)
    readme = (tree / "README.md").read_text()
    assert re.findall(r"^\| \[(docs/[\w.-]+\.md)\]", readme, re.MULTILINE) == expected
    assert len(readme.splitlines()) <= 150


def test_every_page_template_is_in_the_table_under_its_flag():
    """A page template's file name tests the same yes/no value as its row in docs.PAGES (or none)."""
    named = {}
    for path in (TEMPLATE / "docs").glob("*.jinja"):
        match = re.fullmatch(r"(?:\{% if (\w+) %\})?([\w.-]+\.md)(?:\{% endif %\})?\.jinja", path.name)
        assert match, path.name
        named[f"docs/{match.group(2)}"] = match.group(1) or ""
    assert named == {page.path: page.applies for page in docs.PAGES}


def test_the_readme_is_a_map_and_no_documentation_template_is_a_switchboard():
    readme = (TEMPLATE / "README.md.jinja").read_text()
    assert len(BRANCH.findall(readme)) <= 15
    for path in DOC_TEMPLATES:
        text = path.read_text()
        assert len(text.splitlines()) <= 200, path.name
        # Branches test derived yes/no values, not pattern letters, provider keys or the shape of an answer.
        for pattern in (r"pattern\s*(?:==|in)", r"provider\s*(?:==|in)\s", r"client_auth\s*==", r"gateway_runtime\s*==",
                        r"in client_settings", r"\|\s*length\s*>\s*1\s*%\}"):
            assert not re.search(pattern, text), f"{path.name}: {pattern}"


def test_moved_text_is_on_its_page(generate):
    """Content moved, not lost: the master key's warning is on the keys page of a gateway tree."""
    tree = generate(**CASES["c-anthropic"])
    keys = (tree / "docs" / "keys-and-budgets.md").read_text()
    assert "is an admin credential" in keys and "spend_database=true" in keys
    assert "docker compose -f gateway/docker-compose.yml up -d" in (tree / "docs" / "gateway.md").read_text()
