"""Provider facts live in their registry records (extensions/claude_gateway_template/providers/<key>.py) and
their fragments (includes/providers/<key>/); every other template file takes them from there.

The golden trees (tests/golden/) are not scanned: they are outputs for given answers, and an answers file or a
rendered README naming the chosen provider is what they should record. Nor is the conformance kit's recording
(template/scripts/conformance/claude-code-<version>.json): the real CLI's requests, one route per registry record,
written by tests/support/record_claude_code_betas.py and never by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from claude_gateway_template import kit
from claude_gateway_template.providers import PROVIDERS, REGISTRY
from environment import REPO_ROOT

DEFAULT = PROVIDERS[0]  # the default answer: templates may name it (e.g. `anthropic_base_url`)
OTHERS = [key for key in PROVIDERS if key != DEFAULT]
RECORDING = re.compile(r"claude-code-[\d.]+\.json")
WHOLE_WORD = re.compile(r"\b(" + "|".join(OTHERS) + r")\b")


def scanned_files() -> list[Path]:
    files = [p for root in ("template", "includes") for p in (REPO_ROOT / root).rglob("*") if p.is_file()]
    fragments = REPO_ROOT / "includes" / "providers"
    return [p for p in files if fragments not in p.parents and not RECORDING.fullmatch(p.name)]


def naming(path: Path, root: Path = REPO_ROOT) -> list[str]:
    rel = str(path.relative_to(root))
    found = [f"{rel}: the path names {m.group(1)}" for m in WHOLE_WORD.finditer(rel)]
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        found += [f"{rel}:{number}: {m.group(1)}: {line.strip()[:100]}" for m in WHOLE_WORD.finditer(line)]
    return found


def test_only_the_providers_own_files_name_a_non_default_provider():
    assert OTHERS and len(scanned_files()) > 50
    offenders = [hit for path in scanned_files() for hit in naming(path)]
    assert not offenders, "provider keys outside includes/providers/<key>/ (take them from the registry):\n" + \
        "\n".join(offenders)


def test_the_guard_catches_a_provider_key(tmp_path):
    """The scan above cannot pass vacuously: a line like the ones removed from the kit is found, a longer name
    (an answer such as `<key>_base_url`) is not."""
    probe = tmp_path / "template" / "probe.py"
    probe.parent.mkdir()
    probe.write_text(f'if mode in ("{OTHERS[0]}", "x"):\n    url = answers["{OTHERS[0]}_base_url"]\n')
    assert naming(probe, tmp_path) == [f'template/probe.py:1: {OTHERS[0]}: if mode in ("{OTHERS[0]}", "x"):']


def test_the_foundry_url_formula_has_one_home():
    homes = [p for root in ("template", "includes", "extensions") for p in (REPO_ROOT / root).rglob("*")
             if p.is_file() and p.suffix in (".py", ".jinja", ".sh", ".json") and "services.ai.azure.com" in
             p.read_text(encoding="utf-8", errors="replace")]
    assert [p.relative_to(REPO_ROOT).as_posix() for p in homes] == [
        "extensions/claude_gateway_template/providers/foundry.py"]


@pytest.mark.parametrize("key", PROVIDERS)
def test_the_kits_data_file_is_each_record_as_the_kit_reads_it(key):
    provider = REGISTRY[key]
    entry = json.loads(kit.providers_json({"providers": [key]}))[key]
    assert entry["base_url_var"] == provider.base_url_var and entry["signs_requests"] is provider.signs_requests
    assert [tuple(pair) for pair in entry["key_vars"]] == list(provider.key_headers)
    # A provider the kit can call itself needs a key variable and a way to its endpoint.
    if not provider.signs_requests:
        assert entry["key_vars"] and all(header in ("x-api-key", "authorization") for _, header in entry["key_vars"])
        assert entry["default_url"] or entry["resource_url"] or provider.base_url_var
    if entry["resource_url"]:
        assert entry["resource_url"].count("{}") == 1 and entry["resource_var"] in provider.endpoint_vars
