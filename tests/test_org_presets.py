"""Org presets: the example data file gives the expected answers, the command line overrides it, and a bad
preset value fails with the same validator message as a typed answer."""

from __future__ import annotations

from pathlib import Path

import yaml
from environment import REPO_ROOT
from template_clone import run_copier_cli

PRESET = REPO_ROOT / "examples" / "org-defaults.yml"


def answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def test_example_preset_gives_its_answers(template_repo, tmp_path):
    result = run_copier_cli(template_repo, tmp_path / "p", "--data-file", str(PRESET))
    assert result.returncode == 0, result.stderr
    got = answers(tmp_path / "p")
    expected = {k: v for k, v in yaml.safe_load(PRESET.read_text()).items()}
    for key, value in expected.items():
        if key == "providers":  # copier stores a multiselect in the order of its choices
            assert sorted(got[key]) == sorted(value)
        else:
            assert got[key] == value, key
    readme = (tmp_path / "p" / "README.md").read_text()
    assert readme.startswith("# Claude Code setup: Pattern D,")
    assert not (tmp_path / "p" / "gateway").exists()  # deploy_gateway: false


def test_command_line_answer_overrides_the_preset(template_repo, tmp_path):
    result = run_copier_cli(template_repo, tmp_path / "p", "--data-file", str(PRESET),
                            data={"aws_region": "eu-west-1", "gateway_url": "https://llm.team.example.com"})
    assert result.returncode == 0, result.stderr
    got = answers(tmp_path / "p")
    assert got["aws_region"] == "eu-west-1" and got["gateway_url"] == "https://llm.team.example.com"
    assert got["proxy_url"] == "http://proxy.corp.example.com:8080"  # the rest of the preset still applies


def test_bad_preset_value_fails_with_the_validator_message(template_repo, tmp_path):
    bad = tmp_path / "org-defaults.yml"
    bad.write_text(PRESET.read_text().replace("http://proxy.corp.example.com:8080",
                                              "http://svc:hunter2@proxy.corp.example.com:8080"))
    dest = tmp_path / "p"
    result = run_copier_cli(template_repo, dest, "--data-file", str(bad))
    assert result.returncode != 0 and not dest.exists()
    last = result.stderr.strip().splitlines()[-1]
    assert "proxy_url: 'http://***@proxy.corp.example.com:8080' has credentials inside the URL" in last
    assert "hunter2" not in result.stdout + result.stderr


def test_preset_with_a_renamed_answer_fails_naming_the_new_name(template_repo, tmp_path):
    """An org preset written for 0.1.0 (ca_bundle) must not silently lose its CA: copier would drop the unknown key."""
    old = tmp_path / "org-defaults.yml"
    old.write_text(PRESET.read_text().replace("corporate_ca_cert:", "ca_bundle:"))
    dest = tmp_path / "p"
    result = run_copier_cli(template_repo, dest, "--data-file", str(old))
    assert result.returncode != 0 and not dest.exists()
    assert ("ca_bundle: '/usr/local/share/ca-certificates/corp-root.pem' is given under the answer name that release "
            "0.2.0 renamed; expected it as corporate_ca_cert.") in result.stderr.strip().splitlines()[-1]
