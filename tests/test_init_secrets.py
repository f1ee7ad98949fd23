"""scripts/init-secrets.sh against hostile gateway/.env files: it only appends, reads bytes safely, backs up first,
writes through a symlink, keeps modes, and refuses (exit 3, nothing changed) what it cannot handle safely.

One generated project per module (a gateway with a database and Redis, so every generated key is in play); each
test works on its own copy of it.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from environment import clean_env, require_tool

ANSWERS = {"cost_tracking": True, "spend_database": True, "gateway_workers": 2, "gateway_runtime": "process"}
GENERATED = ["LITELLM_MASTER_KEY", "LITELLM_SALT_KEY", "POSTGRES_PASSWORD", "DATABASE_URL", "REDIS_PASSWORD",
             "REDIS_HOST", "REDIS_PORT"]
ASSIGNMENT = re.compile(rb"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
NOBODY = 65534  # the unprivileged user the permission tests run as when the tests run as root


@pytest.fixture(scope="module")
def generated(copie_module, template_repo) -> Path:
    result = copie_module.copy(extra_answers=ANSWERS, template_dir=template_repo)
    assert result.exception is None, result.exception
    assert not (result.project_dir / "gateway" / ".env").exists()
    return result.project_dir


@pytest.fixture
def project(generated, tmp_path) -> Path:
    return Path(shutil.copytree(generated, tmp_path / "project", symlinks=True))


def init(project: Path, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, str(project / "scripts" / "init-secrets.sh")], cwd=project, capture_output=True,
                          text=True, timeout=60, check=False,
                          env=clean_env(project.parent) if env is None else env)


def envfile(project: Path) -> Path:
    return project / "gateway" / ".env"


def backups(project: Path) -> list[Path]:
    return sorted((project / "gateway").glob(".env.bak.*"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assignments(data: bytes) -> list[tuple[str, str]]:
    """(name, value) of every uncommented assignment, as docker compose reads them (export, blanks, quotes, CR)."""
    found = []
    for line in data.split(b"\n"):
        match = ASSIGNMENT.match(line.rstrip(b"\r"))
        if match:
            value = match[2]
            if len(value) >= 2 and value[:1] == value[-1:] and value[:1] in b"'\"":
                value = value[1:-1]
            found.append((match[1].decode(), value.decode("latin-1")))
    return found


def final_values(data: bytes) -> dict[str, str]:
    return dict(assignments(data))  # the last line wins, as for docker compose and gateway/run-local.sh


def one_line(result: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """Assert `result` exited with `code` and printed exactly one stderr line (and nothing on stdout) holding
    `words`."""
    assert result.returncode == code, result.stdout + result.stderr
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("init-secrets.sh: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def gateway_listing(project: Path) -> dict[str, bytes | str]:
    """Everything in gateway/ (a link as its target), to show a refusal wrote nothing."""
    listing: dict[str, bytes | str] = {}
    for path in sorted((project / "gateway").iterdir()):
        if path.is_symlink():
            listing[path.name] = "-> " + os.readlink(path)
        elif path.is_file():
            listing[path.name] = path.read_bytes()
        else:
            listing[path.name] = "<other>"
    return listing


# -------------------------------------------------------------------------------------------------------
# A new gateway/.env, and running again
# -------------------------------------------------------------------------------------------------------
def test_creates_env_with_mode_600_and_every_key_once(project):
    result = init(project)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    data = envfile(project).read_bytes()
    assert mode(envfile(project)) == 0o600
    names = [name for name, _ in assignments(data)]
    assert sorted(names) == sorted(GENERATED)
    values = final_values(data)
    assert re.fullmatch(r"sk-[0-9a-f]{48}", values["LITELLM_MASTER_KEY"])
    assert re.fullmatch(r"sk-[0-9a-f]{48}", values["LITELLM_SALT_KEY"])
    assert values["LITELLM_MASTER_KEY"] != values["LITELLM_SALT_KEY"]
    assert re.fullmatch(r"[0-9a-f]{36}", values["POSTGRES_PASSWORD"])
    assert values["DATABASE_URL"] == f"postgresql://litellm:{values['POSTGRES_PASSWORD']}@127.0.0.1:5432/litellm"
    assert b"\n# ANTHROPIC_API_KEY=\n" in data and b"\r" not in data
    assert backups(project) == []  # nothing to back up
    assert (project / "gateway" / "litellm_config.local.yaml").is_file()
    assert "fill in gateway/.env: ANTHROPIC_API_KEY" in result.stdout


def test_second_run_changes_nothing_and_makes_no_backup(project):
    assert init(project).returncode == 0
    before = envfile(project).read_bytes()
    result = init(project)
    assert result.returncode == 0, result.stderr
    assert "nothing changed" in result.stdout
    assert envfile(project).read_bytes() == before
    assert backups(project) == []


# -------------------------------------------------------------------------------------------------------
# An existing gateway/.env: only appended to, backed up first
# -------------------------------------------------------------------------------------------------------
USER_FILES = {
    # Latin-1 bytes made grep call the file binary: the old script then rewrote it without these lines.
    "latin-1": b"# caf\xe9 notes\nLITELLM_MASTER_KEY=sk-user-master-\xe9\nANTHROPIC_API_KEY=sk-ant-\xff\xfe\n",
    "export": b"export LITELLM_SALT_KEY=sk-user-salt\nexport LITELLM_MASTER_KEY=sk-user-master\n",
    "spaces-and-quotes": b"  LITELLM_SALT_KEY = 'sk-user-salt'\nLITELLM_MASTER_KEY=\"sk-user-master\"\n",
    "crlf": b"LITELLM_MASTER_KEY=sk-user-master\r\n# a note\r\nLITELLM_SALT_KEY=sk-user-salt\r\n",
    "no-final-newline": b"LITELLM_MASTER_KEY=sk-user-master\nLITELLM_SALT_KEY=sk-user-salt",
    "crlf-no-final-newline": b"LITELLM_SALT_KEY=sk-user-salt\r\nLITELLM_MASTER_KEY=sk-user-master",
    "empty-placeholders": b"LITELLM_MASTER_KEY=\nLITELLM_SALT_KEY=sk-user-salt\nPOSTGRES_PASSWORD=\n",
    "commented-credential": b"LITELLM_SALT_KEY=sk-user-salt\n#export ANTHROPIC_API_KEY=\n",
}


@pytest.mark.parametrize("original", USER_FILES.values(), ids=USER_FILES.keys())
def test_user_file_is_only_appended_to_after_a_backup(project, original):
    envfile(project).write_bytes(original)
    envfile(project).chmod(0o600)
    result = init(project)
    assert result.returncode == 0, result.stderr
    data = envfile(project).read_bytes()
    # Every byte of the user's file is still there, in place; the new lines start on a line of their own.
    assert data.startswith(original)
    appended = data[len(original):]
    crlf = b"\r\n" in original
    if not original.endswith(b"\n"):
        assert appended.startswith(b"\r\n" if crlf else b"\n")
    if crlf:  # a CRLF file gets CRLF lines
        assert appended.count(b"\r\n") == appended.count(b"\n") > 0
    else:
        assert b"\r" not in appended
    # Each generated key has exactly one value; the user's values are the ones that count.
    before = final_values(original)
    after = final_values(data)
    for name in GENERATED:
        set_lines = [v for n, v in assignments(data) if n == name and v]
        assert len(set_lines) == 1, (name, set_lines)
        if before.get(name):
            assert after[name] == before[name], name
    assert after["LITELLM_SALT_KEY"] == "sk-user-salt" or "LITELLM_SALT_KEY" not in before
    # A credential the user already mentions is not listed again.
    assert data.count(b"ANTHROPIC_API_KEY") == max(1, original.count(b"ANTHROPIC_API_KEY"))
    # The backup: one file, mode 600, the original bytes; the file keeps its mode.
    [backup] = backups(project)
    assert backup.read_bytes() == original
    assert mode(backup) == 0o600
    assert mode(envfile(project)) == 0o600
    assert f"backed up to gateway/{backup.name}" in result.stdout
    # Running again finds everything set.
    again = init(project)
    assert again.returncode == 0 and "nothing changed" in again.stdout, again.stdout + again.stderr
    assert envfile(project).read_bytes() == data and backups(project) == [backup]


def test_empty_placeholder_lines_are_kept_with_a_warning(project):
    envfile(project).write_bytes(USER_FILES["empty-placeholders"])
    envfile(project).chmod(0o600)
    result = init(project)
    assert result.returncode == 0, result.stderr
    [warning] = result.stderr.splitlines()
    assert warning.startswith("init-secrets.sh: warning: ") and " LITELLM_MASTER_KEY POSTGRES_PASSWORD " in warning
    assert envfile(project).read_bytes().startswith(USER_FILES["empty-placeholders"])


def test_export_salt_key_is_not_given_a_second_value(project):
    """The hostile review's case: a second, different salt key would make stored credentials undecryptable."""
    envfile(project).write_bytes(b"export LITELLM_SALT_KEY=sk-the-only-salt\n")
    assert init(project).returncode == 0
    data = envfile(project).read_bytes()
    assert data.count(b"LITELLM_SALT_KEY") == 1
    assert final_values(data)["LITELLM_SALT_KEY"] == "sk-the-only-salt"


def test_existing_mode_is_never_widened_nor_changed(project):
    envfile(project).write_bytes(b"LITELLM_SALT_KEY=sk-user-salt\n")
    envfile(project).chmod(0o640)
    result = init(project)
    assert result.returncode == 0, result.stderr
    assert mode(envfile(project)) == 0o640
    assert result.stderr == "init-secrets.sh: warning: others can read gateway/.env; run: chmod 600 gateway/.env\n"
    [backup] = backups(project)
    assert mode(backup) == 0o600


def test_backup_never_overwrites_an_older_backup(project, tmp_path):
    """The clock is fixed (a `date` stand-in first on PATH), so the run's stamp is the older backup's: the collision
    always happens (it used to be pre-created for a 3 s window, and a slower run missed it and proved nothing)."""
    envfile(project).write_bytes(b"LITELLM_SALT_KEY=sk-user-salt\n")
    stamp = "20260101-000000"
    fake = tmp_path / "fake-date"
    fake.mkdir()
    (fake / "date").write_text(f'#!/bin/sh\n[ "$1" = "+%Y%m%d-%H%M%S" ] && echo {stamp} && exit 0\nexec /bin/date "$@"\n')
    (fake / "date").chmod(0o755)
    older = project / "gateway" / f".env.bak.{stamp}"
    older.write_bytes(b"an older backup\n")
    env = clean_env(project.parent)
    env["PATH"] = f"{fake}:{env['PATH']}"
    result = init(project, env=env)
    assert result.returncode == 0, result.stderr
    assert older.read_bytes() == b"an older backup\n"
    [new] = [p for p in backups(project) if p != older]
    assert new.name.startswith(f".env.bak.{stamp}.") and new.read_bytes() == b"LITELLM_SALT_KEY=sk-user-salt\n"
    assert f"backed up to gateway/{new.name}" in result.stdout


# -------------------------------------------------------------------------------------------------------
# A symlinked gateway/.env
# -------------------------------------------------------------------------------------------------------
def test_symlink_stays_a_link_and_its_target_gets_the_keys(project, tmp_path):
    target = tmp_path / "secrets" / "gateway.env"
    target.parent.mkdir()
    original = b"LITELLM_MASTER_KEY=sk-user-master\n"
    target.write_bytes(original)
    target.chmod(0o600)
    envfile(project).symlink_to(target)
    result = init(project)
    assert result.returncode == 0, result.stderr
    assert envfile(project).is_symlink() and os.readlink(envfile(project)) == str(target)
    data = target.read_bytes()
    assert data.startswith(original)
    assert final_values(data)["LITELLM_MASTER_KEY"] == "sk-user-master"
    assert re.fullmatch(r"sk-[0-9a-f]{48}", final_values(data)["LITELLM_SALT_KEY"])
    assert mode(target) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["gateway.env"]  # nothing left beside the target
    [backup] = backups(project)  # the backup is in gateway/ (gitignored), a plain file
    assert not backup.is_symlink() and backup.read_bytes() == original and mode(backup) == 0o600


def test_dangling_symlink_is_refused(project, tmp_path):
    envfile(project).symlink_to(tmp_path / "missing.env")
    before = gateway_listing(project)
    one_line(init(project), 3, "symlink to a missing file", "nothing changed")
    assert gateway_listing(project) == before
    assert not (tmp_path / "missing.env").exists()


# -------------------------------------------------------------------------------------------------------
# Refusals: exit 3, one line, nothing changed
# -------------------------------------------------------------------------------------------------------
def test_nul_byte_is_refused_and_the_file_kept(project):
    original = b"LITELLM_MASTER_KEY=sk-user-master\nANTHROPIC_API_KEY=sk-ant-\x00x\n"
    envfile(project).write_bytes(original)
    envfile(project).chmod(0o600)
    before = gateway_listing(project)
    one_line(init(project), 3, "NUL byte", "nothing changed")
    assert gateway_listing(project) == before  # untouched, no backup, no litellm_config.local.yaml either
    assert mode(envfile(project)) == 0o600


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_not_a_regular_file_is_refused(project, kind):
    if kind == "directory":
        envfile(project).mkdir()
    else:
        os.mkfifo(envfile(project))  # reading it would hang: the timeout of init() would fail the test
    before = gateway_listing(project)
    one_line(init(project), 3, "not a regular file")
    assert gateway_listing(project) == before


def test_read_only_file_is_refused_even_for_root(project):
    """No write bit means "leave it alone", also for root (for whom the kernel would ignore the mode)."""
    original = b"LITELLM_MASTER_KEY=sk-user-master\n"
    envfile(project).write_bytes(original)
    envfile(project).chmod(0o400)
    before = gateway_listing(project)
    one_line(init(project), 3, "read-only", "nothing changed")
    assert gateway_listing(project) == before and mode(envfile(project)) == 0o400


def test_read_only_file_with_every_key_set_is_fine(project):
    assert init(project).returncode == 0
    envfile(project).chmod(0o400)
    data = envfile(project).read_bytes()
    result = init(project)
    assert result.returncode == 0 and "nothing changed" in result.stdout, result.stderr
    assert envfile(project).read_bytes() == data


# Permissions the kernel enforces: as root they would not stop anything, so the script runs as `nobody` there.
@pytest.fixture
def unprivileged_project(generated):
    """A copy of the project owned by the user the script runs as, and that user's command prefix."""
    if os.geteuid() != 0:
        base = Path(tempfile.mkdtemp())
        prefix: tuple[str, ...] = ()
    else:
        setpriv = require_tool(shutil.which("setpriv"), "setpriv", "apt-get install util-linux")
        base = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's root-only tmp_path is not reachable for nobody
        base.chmod(0o755)
        prefix = (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
    copy = Path(shutil.copytree(generated, base / "project", symlinks=True))
    if prefix:
        for path in [copy, *copy.rglob("*")]:
            os.lchown(path, NOBODY, NOBODY)
    try:
        yield copy, prefix
    finally:
        for path in [copy, *copy.rglob("*")]:  # writable again, so it can be removed
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(base)


def test_unprivileged_user_really_is_unprivileged(unprivileged_project):
    """The premise of the two tests below: the kernel stops this user writing to a read-only folder."""
    project, prefix = unprivileged_project
    (project / "gateway").chmod(0o555)
    probe = subprocess.run([*prefix, "sh", "-c", "echo x > gateway/probe"], cwd=project, capture_output=True,
                           timeout=30, check=False)
    assert probe.returncode != 0 and not (project / "gateway" / "probe").exists()


@pytest.mark.parametrize("has_env", [True, False], ids=["env-exists", "no-env"])
def test_unwritable_gateway_folder_is_refused(unprivileged_project, has_env):
    project, prefix = unprivileged_project
    if has_env:
        envfile(project).write_bytes(b"LITELLM_MASTER_KEY=sk-user-master\n")
        envfile(project).chmod(0o600)
        if prefix:
            os.chown(envfile(project), NOBODY, NOBODY)
    (project / "gateway").chmod(0o555)
    before = gateway_listing(project)
    one_line(init(project, env=clean_env(project.parent), prefix=prefix), 3, "cannot write to gateway/",
             "nothing changed")
    assert gateway_listing(project) == before


def test_file_the_user_cannot_write_is_refused(unprivileged_project):
    project, prefix = unprivileged_project
    original = b"LITELLM_MASTER_KEY=sk-user-master\n"
    envfile(project).write_bytes(original)
    if prefix:  # root's file, readable by all, writable by root only: the write bit is set, but not for nobody
        envfile(project).chmod(0o644)
    else:
        envfile(project).chmod(0o444)
    before = gateway_listing(project)
    one_line(init(project, env=clean_env(project.parent), prefix=prefix), 3, "read-only", "nothing changed")
    assert gateway_listing(project) == before


# -------------------------------------------------------------------------------------------------------
# The environment: HOME, tools, randomness, arguments
# -------------------------------------------------------------------------------------------------------
def test_home_unset_is_not_needed(project):
    env = clean_env(project.parent)
    del env["HOME"]
    result = init(project, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "LITELLM_SALT_KEY" in final_values(envfile(project).read_bytes())


def path_without(tmp_path: Path, *missing: str, fake: dict[str, str] | None = None) -> str:
    """A PATH holding every program of this machine's PATH except `missing`, plus `fake` scripts."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            link = bin_dir / entry.name
            if entry.name in missing or entry.name in (fake or {}) or link.exists() or link.is_symlink():
                continue
            link.symlink_to(entry.path)
    for name, body in (fake or {}).items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return str(bin_dir)


@pytest.mark.parametrize("tool", ["od", "tr", "cmp", "find"])
def test_missing_tool_is_named_and_nothing_written(project, tmp_path, tool):
    envfile(project).write_bytes(b"LITELLM_SALT_KEY=sk-user-salt\n")
    before = gateway_listing(project)
    result = init(project, env=clean_env(project.parent, PATH=path_without(tmp_path, tool)))
    one_line(result, 1, f"needs '{tool}'", "nothing changed")
    assert gateway_listing(project) == before


def test_broken_randomness_writes_no_weak_key(project, tmp_path):
    """od printing nothing must not give `LITELLM_MASTER_KEY=sk-` (an argument's failed $(...) is not set -e)."""
    result = init(project, env=clean_env(project.parent, PATH=path_without(tmp_path, fake={"od": "exit 0"})))
    one_line(result, 1, "random bytes", "nothing changed")
    assert not envfile(project).exists()
    assert not (project / "gateway" / "litellm_config.local.yaml").exists()


def test_arguments_are_a_usage_error(project):
    extra = subprocess.run([str(project / "scripts" / "init-secrets.sh"), "--force"], cwd=project, text=True,
                           capture_output=True, timeout=30, check=False, env=clean_env(project.parent))
    assert extra.returncode == 2 and extra.stderr.startswith("usage: "), extra.stderr
    assert not envfile(project).exists()


def test_help_documents_the_exit_codes(project):
    result = subprocess.run([str(project / "scripts" / "init-secrets.sh"), "--help"], cwd=project, text=True,
                            capture_output=True, timeout=30, check=False, env=clean_env(project.parent))
    assert result.returncode == 0
    for code in ("0 done", "1 cannot run", "2 usage error", "3 refused"):
        assert re.search(rf"^(Exit: +| +){code}", result.stdout, re.MULTILINE), code
    assert not envfile(project).exists()
