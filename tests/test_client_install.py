"""client/install.sh on a throwaway HOME: merges the template's keys into ~/.claude/settings.json with a backup,
--undo takes back exactly those keys, --dry-run writes nothing, and a second install changes nothing. The merge
itself (client/settings_merge.py) has fast unit tests in tests/test_settings_merge.py."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

from environment import REPO_ROOT, clean_env
from generated import install
from generated import user_settings as settings


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
                            capture_output=True, text=True, timeout=60, check=False)
    assert doctor.returncode == 0, doctor.stdout


# -------------------------------------------------------------------------------------------------------------
# A hostile or unusual machine: secrets, symlinks, read-only files, unwritable folders, no HOME, no python3
# -------------------------------------------------------------------------------------------------------------
SECRET_SETTINGS = {"env": {"ANTHROPIC_API_KEY": "sk-ant-secret-key", "HTTPS_PROXY": "http://alice:s3cret@proxy:3128"}}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def tree(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(folder)): (mode(p), os.readlink(p).encode() if p.is_symlink() else p.read_bytes())
            for p in sorted(folder.rglob("*")) if not p.is_dir()}


def test_help_lists_the_exit_codes(generate, tmp_path):
    result = install(generate(), tmp_path, "--help")
    assert result.returncode == 0
    assert "Exit:   0  done, or nothing to do\n" in result.stdout
    assert "\n        1  failed, nothing was changed" in result.stdout
    assert "\n        2  usage error\n" in result.stdout
    assert not result.stdout.startswith("!")  # the #! line is not part of the help


def test_copies_of_secret_settings_are_600_in_a_700_folder(generate, tmp_path):
    project = generate()
    claude = tmp_path / ".claude"
    claude.mkdir(mode=0o700)
    write_settings(tmp_path, SECRET_SETTINGS)
    (claude / "settings.json").chmod(0o600)
    result = install(project, tmp_path)
    assert result.returncode == 0, result.stderr
    [backup] = backups(tmp_path)
    record = claude / "settings.installed-by-template.json"
    assert "s3cret" in backup.read_text() and "sk-ant-secret-key" in (claude / "settings.json").read_text()
    assert {p.name: mode(p) for p in claude.iterdir()} == {"settings.json": 0o600, record.name: 0o600,
                                                           backup.name: 0o600}
    assert mode(claude) == 0o700
    assert install(project, tmp_path, "--undo").returncode == 0
    assert settings(tmp_path) == SECRET_SETTINGS
    assert all(mode(p) == 0o600 for p in claude.iterdir()) and mode(claude) == 0o700


def test_a_missing_settings_folder_is_created_700(generate, tmp_path):
    project = generate()
    config = tmp_path / "config" / "claude"
    result = install(project, tmp_path, env=clean_env(tmp_path, CLAUDE_CONFIG_DIR=str(config)))
    assert result.returncode == 0, result.stderr
    assert mode(config) == 0o700 and mode(config / "settings.json") == 0o600
    assert not (tmp_path / ".claude").exists()  # CLAUDE_CONFIG_DIR wins over HOME


def test_a_symlinked_settings_file_stays_a_link_through_install_and_undo(generate, tmp_path):
    project = generate()
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "claude.json"
    original = json.dumps({"theme": "dark", "env": {"MY_VAR": "mine"}}, indent=2) + "\n"
    target.write_text(original)
    (tmp_path / ".claude").mkdir()
    link = tmp_path / ".claude" / "settings.json"
    link.symlink_to(target)
    ours = json.loads((project / "client" / "settings.json").read_text())["env"]

    result = install(project, tmp_path)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text()) == {"theme": "dark", "env": {"MY_VAR": "mine", **ours}}
    assert install(project, tmp_path, "--undo").returncode == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == original
    assert [p.name for p in dotfiles.iterdir()] == ["claude.json"]


def test_a_read_only_settings_file_is_refused_and_left_as_it_was(generate, tmp_path):
    project = generate()
    write_settings(tmp_path, SECRET_SETTINGS)
    path = tmp_path / ".claude" / "settings.json"
    path.chmod(0o444)
    before = tree(tmp_path / ".claude")
    result = install(project, tmp_path)
    assert result.returncode == 1
    assert result.stderr == (f"install.sh: {path} is read-only (the settings file); make it writable "
                             f"(chmod u+w {path}) to let install.sh change it, or leave it as it is; "
                             "nothing was changed\n")
    assert result.stdout == ""
    assert tree(tmp_path / ".claude") == before


def test_a_folder_it_cannot_create_is_one_line_without_a_traceback(generate, tmp_path):
    project = generate()
    (tmp_path / "a-file").write_text("")
    config = tmp_path / "a-file" / "claude"
    result = install(project, tmp_path, env=clean_env(tmp_path, CLAUDE_CONFIG_DIR=str(config)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert result.stderr == (f"install.sh: cannot create the folder {config} (Not a directory); create it "
                             "yourself, or set CLAUDE_CONFIG_DIR to a folder you can write to; nothing was changed\n")
    assert (tmp_path / "a-file").read_text() == ""


def test_a_read_only_settings_folder_is_refused_in_one_line(generate, tmp_path):
    project = generate()
    write_settings(tmp_path, {"theme": "dark"})
    claude = tmp_path / ".claude"
    before = tree(claude)
    claude.chmod(0o555)
    try:
        result = install(project, tmp_path)
    finally:
        claude.chmod(0o755)
    assert result.returncode == 1
    assert result.stderr == (f"install.sh: {claude} is read-only (a folder install.sh writes in); make it writable "
                             f"(chmod u+w {claude}) to let install.sh change it, or leave it as it is; "
                             "nothing was changed\n")
    assert tree(claude) == before


def test_undo_gives_back_a_non_object_env_exactly(generate, tmp_path):
    project = generate()
    (tmp_path / ".claude").mkdir()
    path = tmp_path / ".claude" / "settings.json"
    original = json.dumps({"env": "x", "theme": "dark"}, indent=2) + "\n"
    path.write_text(original)
    assert install(project, tmp_path).returncode == 0
    assert isinstance(settings(tmp_path)["env"], dict)
    result = install(project, tmp_path, "--undo")
    assert result.returncode == 0, result.stderr
    assert "restored  env\n" in result.stdout
    assert path.read_text() == original
    assert not (tmp_path / ".claude" / "settings.installed-by-template.json").exists()


def test_without_home_it_says_so_in_one_line(generate, tmp_path):
    project = generate()
    env = clean_env(tmp_path)
    del env["HOME"]
    result = install(project, tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr == ("install.sh: HOME is not set, so ~/.claude cannot be found; set HOME, or "
                             "CLAUDE_CONFIG_DIR to the folder of your settings.json; nothing was changed\n")
    result = install(project, tmp_path, env={**env, "CLAUDE_CONFIG_DIR": str(tmp_path / "cfg")})
    assert result.returncode == 0, result.stderr  # CLAUDE_CONFIG_DIR alone is enough
    assert (tmp_path / "cfg" / "settings.json").exists()


def test_without_python3_it_says_so_in_one_line(generate, tmp_path):
    project = generate()
    bin_dir = tmp_path / "bin"  # what install.sh needs before python3, and no python3
    bin_dir.mkdir()
    for tool in ("bash", "dirname"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    result = install(project, tmp_path, env=clean_env(tmp_path, PATH=str(bin_dir)))
    assert result.returncode == 1
    assert result.stderr == "install.sh: python3 is needed for the JSON work; install it\n"
    (bin_dir / "python3").write_text("#!/bin/sh\nexit 1\n")  # a python3 that is too old fails the version check
    (bin_dir / "python3").chmod(0o755)
    result = install(project, tmp_path, env=clean_env(tmp_path, PATH=str(bin_dir)))
    assert result.returncode == 1
    assert result.stderr == "install.sh: python3 3.8 or newer is needed for the JSON work; install it\n"
    assert not (tmp_path / ".claude").exists()


def test_with_usage_telemetry_install_writes_the_developers_name_into_the_user_settings(generate, tmp_path):
    """Where env.sh is not sourced (an IDE), the user settings carry the per-developer attribute: the login name,
    or CLAUDE_TELEMETRY_DEVELOPER (made safe as env.sh makes it). Never client/settings.json (the same for
    everyone); --undo takes it back like every key install set."""
    project = generate(anthropic_base_url="https://llm.example.com", usage_telemetry=True,
                       otel_endpoint="https://otel.example.com:4318")
    assert "OTEL_RESOURCE_ATTRIBUTES" not in json.loads((project / "client" / "settings.json").read_text())["env"]
    result = install(project, tmp_path, env=clean_env(tmp_path, USER="alice"))
    assert result.returncode == 0, result.stderr
    env = settings(tmp_path)["env"]
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == "developer=alice"
    assert env["CLAUDE_CODE_ENABLE_TELEMETRY"] == "1"
    result = install(project, tmp_path, env=clean_env(tmp_path, USER="alice",
                                                      CLAUDE_TELEMETRY_DEVELOPER='Bob "B" O\'Neil'))
    assert result.returncode == 0, result.stderr
    assert settings(tmp_path)["env"]["OTEL_RESOURCE_ATTRIBUTES"] == "developer=Bob__B__O_Neil"
    sourced = subprocess.run(["sh", "-c", '. ./client/env.sh 2>/dev/null; printf %s "$OTEL_RESOURCE_ATTRIBUTES"'],
                             cwd=project, env=clean_env(tmp_path, USER="alice",
                                                        CLAUDE_TELEMETRY_DEVELOPER='Bob "B" O\'Neil'),
                             capture_output=True, text=True, timeout=60, check=False)
    assert sourced.stdout == "developer=Bob__B__O_Neil"  # the same name both ways
    result = install(project, tmp_path, "--undo")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / ".claude" / "settings.json").exists()


def test_without_usage_telemetry_install_writes_no_developer_name(generate, tmp_path):
    project = generate(anthropic_base_url="https://llm.example.com")
    result = install(project, tmp_path, env=clean_env(tmp_path, USER="alice"))
    assert result.returncode == 0, result.stderr
    assert "OTEL_RESOURCE_ATTRIBUTES" not in settings(tmp_path)["env"]
