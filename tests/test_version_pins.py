"""Paired version pins: versions.env records the Claude Code and LiteLLM versions a generated repository is tested
with (the same the live tests run), the gateway patterns keep Claude Code from updating itself past the gateway
(the real CLI's `claude doctor` says so), Pattern D's managed settings cap the version, and check-status.sh compares
the installed `claude --version` with the pin."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from claude_gateway_template import pin_files, versions
from environment import REPO_ROOT, clean_env, read_env_file

PROXY = "http://proxy.example.com:8080"
LITELLM = versions.LITELLM_VERSION
PATTERNS = {
    "A": {},
    "B": {"corporate_proxy": True, "proxy_url": PROXY},
    "C": {"cost_tracking": True, "gateway_runtime": "process"},
    "D": {"cost_tracking": True, "corporate_proxy": True, "proxy_url": PROXY},
}


def pinned(requirements: Path, package: str) -> str:
    for line in requirements.read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep and name.split("[")[0].strip().lower() == package:
            return version.strip()
    raise AssertionError(f"{package} is not pinned in {requirements}")


# ---- the pins are the versions the tests run -------------------------------------------------------------
def test_the_claude_code_pin_is_the_cli_the_live_tests_run():
    package = json.loads((REPO_ROOT / "tests" / "claude-cli" / "package.json").read_text())
    assert package["dependencies"][versions.CLAUDE_CODE_NPM_PACKAGE] == versions.CLAUDE_CODE_VERSION
    lock = json.loads((REPO_ROOT / "tests" / "claude-cli" / "package-lock.json").read_text())
    installed = lock["packages"][f"node_modules/{versions.CLAUDE_CODE_NPM_PACKAGE}"]["version"]
    assert installed == versions.CLAUDE_CODE_VERSION


def test_every_file_pip_and_npm_read_agrees_with_the_home():
    """requirements*.txt, constraints*.txt, tests/claude-cli/package*.json and litellm_extras.json say what versions.py
    says (`make pins` writes them); OPENTELEMETRY_SDK is LiteLLM's own proxy-runtime pin."""
    assert pin_files.disagreements() == []


@pytest.fixture
def pinned_files(tmp_path) -> Path:
    """A copy of the files disagreements() reads, to break one at a time."""
    for rel in [*pin_files.expected_files(), *pin_files.CONSTRAINTS, "tests/claude-cli/package-lock.json", "copier.yml"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text((REPO_ROOT / rel).read_text())
    return tmp_path


@pytest.mark.parametrize(("rel", "old", "new", "named"), [
    ("requirements-gateway.txt", f"litellm=={LITELLM}", "litellm==1.108.13",
     f"requirements-gateway.txt: litellm is 1.108.13, versions.py says {LITELLM}; run `make pins`"),
    ("constraints-gateway.txt", f"litellm=={LITELLM}", "litellm==1.108.7",
     f"constraints-gateway.txt: litellm is 1.108.7, versions.py says {LITELLM}; run `make pins`"),
    ("requirements.txt", f"copier=={versions.COPIER_VERSION}", "copier==9.20.0",
     f"requirements.txt: copier is 9.20.0, versions.py says {versions.COPIER_VERSION}; run `make pins`"),
    ("tests/claude-cli/package.json", f'"{versions.CLAUDE_CODE_VERSION}"', '"2.1.400"',
     (f"tests/claude-cli/package.json: @anthropic-ai/claude-code is 2.1.400, versions.py says "
      f"{versions.CLAUDE_CODE_VERSION}; run `make pins`")),
    ("copier.yml", f'_min_copier_version: "{versions.COPIER_VERSION}"', '_min_copier_version: "9.18.0"',
     f"copier.yml: _min_copier_version is 9.18.0, versions.py says {versions.COPIER_VERSION}; run `make pins`"),
], ids=["requirements-gateway", "constraints-gateway", "requirements", "package.json", "copier.yml"])
def test_a_pin_edited_by_hand_is_named_with_both_values(pinned_files, rel, old, new, named):
    path = pinned_files / rel
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    assert pin_files.disagreements(pinned_files) == [named]


def test_opentelemetry_drifting_from_litellms_own_pin_is_named(monkeypatch):
    drifted = versions.OPENTELEMETRY_SDK._replace(version="1.45.1")
    monkeypatch.setattr(versions, "OPENTELEMETRY_SDK", drifted)
    runtime = versions.litellm_extras()["proxy-runtime"]["opentelemetry-sdk"]
    assert (f"extensions/claude_gateway_template/versions.py: opentelemetry-sdk is 1.45.1, LiteLLM {LITELLM}'s "
            f"proxy-runtime extra pins {runtime}; pin the same") in pin_files.disagreements()


def test_the_gateway_requirements_use_the_companions_the_index_serves():
    lines = versions.gateway_requirements(database=False)
    for name, version in versions.LITELLM_COMPANIONS.items():
        assert f"{name}=={version}" in lines
    assert not [line for line in lines if line.startswith("litellm[")] or not versions.LITELLM_COMPANIONS


# ---- versions.env and where the pins land ------------------------------------------------------------------
@pytest.mark.parametrize("pattern", PATTERNS)
def test_versions_env_records_the_pair(generate, pattern):
    project = generate(**PATTERNS[pattern])
    pins = read_env_file(project / "versions.env")
    assert pins["CLAUDE_CODE_VERSION"] == versions.CLAUDE_CODE_VERSION
    setup = (project / "docs" / "setup.md").read_text()
    assert f"npm install -g @anthropic-ai/claude-code@{versions.CLAUDE_CODE_VERSION}" in setup
    dev = (project / "requirements-dev.txt").read_text()
    assert f"copier=={versions.COPIER_VERSION}" in dev
    if pattern in "CD":
        assert pins["LITELLM_VERSION"] == versions.LITELLM_VERSION
        compose = yaml.safe_load((project / "gateway" / "docker-compose.yml").read_text())
        assert compose["services"]["litellm"]["image"] == pins["LITELLM_IMAGE"]
        assert f"litellm=={pins['LITELLM_VERSION']}" in (project / "gateway" / "requirements.txt").read_text()
    else:
        assert set(pins) == {"CLAUDE_CODE_VERSION"}


def test_versions_env_names_the_kubernetes_image(generate):
    project = generate(cost_tracking=True, gateway_runtime="kubernetes", gateway_url="https://llm-gw.example.com")
    pins = read_env_file(project / "versions.env")
    deployment = yaml.safe_load((project / "gateway" / "kubernetes" / "deployment.yaml").read_text())
    [container] = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "litellm"]
    assert container["image"] == pins["LITELLM_IMAGE"] == versions.LITELLM_NON_ROOT_IMAGE


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_gateway_patterns_turn_self_update_off_and_d_caps_the_version(generate, pattern):
    project = generate(**PATTERNS[pattern])
    settings = json.loads((project / "client" / "settings.json").read_text())
    env_sh = (project / "client" / "env.sh").read_text()
    if pattern in "CD":
        assert settings["env"]["DISABLE_AUTOUPDATER"] == "1" and "export DISABLE_AUTOUPDATER=1" in env_sh
    else:  # direct to the provider: no gateway to outrun, updates stay the user's choice
        assert "DISABLE_AUTOUPDATER" not in settings["env"] and "DISABLE_AUTOUPDATER" not in env_sh
    managed = project / "client" / "managed-settings.json"
    if pattern == "D":
        assert json.loads(managed.read_text())["requiredMaximumVersion"] == versions.CLAUDE_CODE_VERSION
    else:
        assert not managed.exists()


# ---- the real CLI: settings installed by client/install.sh switch its updater off -------------------------
@pytest.mark.live  # runs the real CLI
def test_claude_doctor_reports_auto_updates_off_after_install(generate, claude_bin, tmp_path):
    project = generate(**PATTERNS["C"])
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    install = subprocess.run(["client/install.sh"], cwd=project, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert install.returncode == 0, install.stderr
    doctor = subprocess.run([claude_bin, "doctor"], cwd=project, env=env, capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL, check=False)
    assert f"({versions.CLAUDE_CODE_VERSION})" in doctor.stdout, doctor.stdout + doctor.stderr
    assert "Auto-updates: disabled (set by env: DISABLE_AUTOUPDATER)" in doctor.stdout
    # and without the settings, the same CLI updates itself: the line above comes from them
    bare = subprocess.run([claude_bin, "doctor"], cwd=tmp_path, env=clean_env(tmp_path / "bare"),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)
    assert "Auto-updates: disabled" not in bare.stdout


# ---- check-status.sh: the installed version against the pin ------------------------------------------------
def fake_claude(bin_dir: Path, version: str) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / "claude").write_text(f"#!/bin/sh\necho '{version} (Claude Code)'\n")
    (bin_dir / "claude").chmod(0o755)


def version_line(project: Path, home: Path, bin_dir: Path | None) -> tuple[int, str]:
    env = clean_env(home)
    if bin_dir:
        env["PATH"] = f"{bin_dir}:{env['PATH']}"
    result = subprocess.run(["scripts/check-status.sh", "--offline"], cwd=project, env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    [line] = [line for line in result.stdout.splitlines() if line[6:].startswith("version:")]
    return result.returncode, line


@pytest.mark.live  # runs the real CLI (`claude --version`)
@pytest.mark.parametrize("pattern", ["A", "C"])
def test_check_status_compares_the_installed_claude_code_with_the_pin(generate, tmp_path, claude_bin, pattern):
    project = generate(**PATTERNS[pattern])
    _, line = version_line(project, tmp_path, Path(claude_bin).parent)  # the real, pinned CLI
    assert line == f"ok    version: Claude Code {versions.CLAUDE_CODE_VERSION}, the version this setup is tested with"
    fake_claude(tmp_path / "newer", "2.9.0")
    rc, line = version_line(project, tmp_path, tmp_path / "newer")
    if pattern == "C":
        assert rc == 1
        assert line.startswith(f"FAIL  version: Claude Code 2.9.0 is installed, the gateway is tested with "
                               f"{versions.CLAUDE_CODE_VERSION} (versions.env); install it: npm install -g "
                               f"@anthropic-ai/claude-code@{versions.CLAUDE_CODE_VERSION}")
    else:
        assert line.startswith("ok    version: Claude Code 2.9.0 (this setup was tested with")
    fake_claude(tmp_path / "broken", "claude: error: something")  # an error text is not a version
    rc, line = version_line(project, tmp_path, tmp_path / "broken")
    assert rc == 1 and line.startswith("FAIL  version: `claude --version` printed no version; reinstall Claude Code")
    _, line = version_line(project, tmp_path, None)
    assert line.startswith("skip  version: claude is not in PATH; install the tested version:")
    (project / "versions.env").unlink()
    rc, line = version_line(project, tmp_path, None)
    assert rc == 1 and line == "FAIL  version: versions.env has no CLAUDE_CODE_VERSION; restore the file from git"


def test_versions_env_is_committed_not_ignored(generate):
    """`*.env` keeps credentials out of git; the version pins must not be caught by it."""
    project = generate(**PATTERNS["C"])
    subprocess.run(["git", "init", "-q"], cwd=project, check=True, timeout=30)
    ignored = subprocess.run(["git", "check-ignore", "-q", "versions.env"], cwd=project, timeout=30, check=False)
    assert ignored.returncode == 1  # not ignored
    for secret in ("gateway/.env", "prod.env"):
        assert subprocess.run(["git", "check-ignore", "-q", secret], cwd=project, timeout=30,
                              check=False).returncode == 0, secret


# ---- conformance.sh --offline: versions.env against the files that use it ----------------------------------
def offline(project: Path, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["scripts/conformance.sh", "--offline"], cwd=project, env=clean_env(home),
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("answers", "edit", "named"), [
    (PATTERNS["C"], ("gateway/requirements.txt", f"litellm=={LITELLM}", "litellm==1.109.0"),
     "gateway/requirements.txt pins litellm 1.109.0"),
    (PATTERNS["D"], ("gateway/docker-compose.yml", f":v{LITELLM}", ":v1.110.1"),
     "gateway/docker-compose.yml runs ghcr.io/berriai/litellm-database:v1.110.1"),
    (PATTERNS["D"], ("client/managed-settings.json", '"2.1.332"', '"2.2.0"'),
     "client/managed-settings.json caps Claude Code at 2.2.0"),
    ({**PATTERNS["C"], "gateway_runtime": "kubernetes", "gateway_url": "https://llm-gw.example.com"},
     ("versions.env", f"LITELLM_VERSION={LITELLM}", "LITELLM_VERSION=1.109.0"),
     f"gateway/kubernetes/deployment.yaml runs ghcr.io/berriai/litellm-non_root:v{LITELLM}"),
], ids=["requirements", "compose", "managed-settings", "kubernetes"])
def test_conformance_offline_catches_a_pair_bumped_in_one_place(generate, tmp_path, answers, edit, named):
    project = generate(**answers)
    before = offline(project, tmp_path)
    assert before.returncode == 0, before.stdout + before.stderr
    assert "versions.env (CLAUDE_CODE_VERSION=2.1.332" in before.stdout
    path, old, new = edit
    text = (project / path).read_text()
    assert old in text
    (project / path).write_text(text.replace(old, new))
    after = offline(project, tmp_path)
    assert after.returncode == 1, after.stdout
    [line] = [line for line in after.stdout.splitlines() if line.startswith("FAIL") and "pins" in line]
    assert named in line and "bump every file together" in line
