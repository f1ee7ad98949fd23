"""client/install.sh on a throwaway HOME: merges the template's keys into ~/.claude/settings.json with a backup,
--undo takes back exactly those keys, --dry-run writes nothing, and a second install changes nothing. The merge
itself (client/settings_merge.py) has fast unit tests in tests/test_settings_merge.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import REPO_ROOT, clean_env


def install(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["client/install.sh", *args], cwd=project, env=clean_env(home),
                          capture_output=True, text=True, timeout=60)


def settings(home: Path) -> dict:
    return json.loads((home / ".claude" / "settings.json").read_text())


def write_settings(home: Path, data: dict) -> None:
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    (home / ".claude" / "settings.json").write_text(json.dumps(data, indent=4))


def backups(home: Path) -> list[Path]:
    return sorted((home / ".claude").glob("settings.json.backup-*"))


def test_install_edit_undo_keeps_the_users_changes(generate, tmp_path):
    project = generate(anthropic_base_url="https://llm.example.com", disable_nonessential_traffic=True)
    ours = json.loads((project / "client" / "settings.json").read_text())["env"]
    user_before = {"model": "opus", "permissions": {"allow": ["Bash(ls)"]},
                   "env": {"MY_VAR": "mine", "ANTHROPIC_DEFAULT_OPUS_MODEL": "my-old-pin",
                           "CLAUDE_CODE_USE_VERTEX": "1"}}
    write_settings(tmp_path, user_before)
    original = (tmp_path / ".claude" / "settings.json").read_text()

    result = install(project, tmp_path)
    assert result.returncode == 0, result.stderr
    installed = settings(tmp_path)
    assert {k: installed["env"][k] for k in ours} == ours
    assert installed["env"]["MY_VAR"] == "mine" and installed["model"] == "opus"
    assert "CLAUDE_CODE_USE_VERTEX" not in installed["env"]  # conflicts with this setup: removed
    assert "removed   env.CLAUDE_CODE_USE_VERTEX (conflicts with this setup)" in result.stdout
    [backup] = backups(tmp_path)
    assert backup.read_text() == original

    # the user changes something else afterwards
    edited = settings(tmp_path)
    edited["env"]["MY_OTHER_VAR"] = "added later"
    edited["permissions"]["allow"].append("Bash(git status)")
    write_settings(tmp_path, edited)

    result = install(project, tmp_path, "--undo")
    assert result.returncode == 0, result.stderr
    after = settings(tmp_path)
    assert after["env"] == {"MY_VAR": "mine", "ANTHROPIC_DEFAULT_OPUS_MODEL": "my-old-pin",
                            "CLAUDE_CODE_USE_VERTEX": "1", "MY_OTHER_VAR": "added later"}
    assert after["permissions"]["allow"] == ["Bash(ls)", "Bash(git status)"]
    assert not (tmp_path / ".claude" / "settings.installed-by-template.json").exists()


def test_second_install_changes_nothing(generate, tmp_path):
    project = generate()
    write_settings(tmp_path, {"theme": "dark"})
    assert install(project, tmp_path).returncode == 0
    first = (tmp_path / ".claude" / "settings.json").read_text()
    result = install(project, tmp_path)
    assert result.returncode == 0
    assert "already up to date, nothing to change" in result.stdout
    assert (tmp_path / ".claude" / "settings.json").read_text() == first
    assert len(backups(tmp_path)) == 1


def test_install_without_existing_settings_and_undo_leaves_no_trace(generate, tmp_path):
    project = generate()
    assert install(project, tmp_path).returncode == 0
    assert settings(tmp_path)["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "claude-opus-5-5"
    assert not backups(tmp_path)  # nothing to back up
    assert install(project, tmp_path, "--undo").returncode == 0
    assert not (tmp_path / ".claude" / "settings.json").exists()
    assert not (tmp_path / ".claude" / "settings.installed-by-template.json").exists()


def test_dry_run_prints_the_diff_and_writes_nothing(generate, tmp_path):
    project = generate()
    write_settings(tmp_path, {"theme": "dark"})
    before = (tmp_path / ".claude" / "settings.json").read_text()
    result = install(project, tmp_path, "--dry-run")
    assert result.returncode == 0
    assert '+    "ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-5-5"' in result.stdout
    assert "dry run: nothing was written" in result.stdout
    assert (tmp_path / ".claude" / "settings.json").read_text() == before
    assert not backups(tmp_path) and not (tmp_path / ".claude" / "settings.installed-by-template.json").exists()


def test_broken_settings_file_is_left_alone(generate, tmp_path):
    project = generate()
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text("{ not json")
    result = install(project, tmp_path)
    assert result.returncode == 1
    assert "is not valid JSON" in result.stderr and "nothing was changed" in result.stderr
    assert (tmp_path / ".claude" / "settings.json").read_text() == "{ not json"


def test_without_its_python_helper_install_fails_and_writes_nothing(generate, tmp_path):
    project = generate()
    assert (project / "client" / "settings_merge.py").read_bytes() == \
        (REPO_ROOT / "template" / "client" / "settings_merge.py").read_bytes()  # copied verbatim
    (project / "client" / "settings_merge.py").unlink()
    result = install(project, tmp_path)
    assert result.returncode == 1
    assert result.stderr == f"install.sh: {project / 'client' / 'settings_merge.py'} is missing; nothing was changed\n"
    assert not (tmp_path / ".claude").exists()


def test_reinstall_after_answers_change_takes_back_keys_no_longer_owned(generate, tmp_path):
    with_url = generate(anthropic_base_url="https://llm.example.com")
    assert install(with_url, tmp_path).returncode == 0
    assert settings(tmp_path)["env"]["ANTHROPIC_BASE_URL"] == "https://llm.example.com"
    without_url = generate()
    assert install(without_url, tmp_path).returncode == 0
    assert "ANTHROPIC_BASE_URL" not in settings(tmp_path)["env"]
    assert install(without_url, tmp_path, "--undo").returncode == 0
    assert not (tmp_path / ".claude" / "settings.json").exists()


def test_installed_settings_pass_the_doctor(generate, tmp_path):
    project = generate(providers=["vertex"], gcp_project_id="my-team-prod")
    (tmp_path / ".config" / "gcloud").mkdir(parents=True)
    (tmp_path / ".config" / "gcloud" / "application_default_credentials.json").write_text("{}")
    assert install(project, tmp_path).returncode == 0
    doctor = subprocess.run(["scripts/check-status.sh", "--offline"], cwd=project, env=clean_env(tmp_path),
                            capture_output=True, text=True, timeout=60)
    assert doctor.returncode == 0, doctor.stdout
