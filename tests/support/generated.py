"""TEST SUPPORT: run a generated project's scripts and read what they produced (test modules never import each
other)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml
from environment import clean_env
from template_clone import run_copier_cli


def sourced_env(project: Path, home: Path, **start: str) -> dict[str, str]:
    """What `. client/env.sh` leaves exported, starting from a minimal environment plus `start`."""
    script = '. ./client/env.sh >/dev/null 2>&1; env -0'
    out = subprocess.run(["sh", "-c", script], cwd=project, env=clean_env(home, **start),
                         capture_output=True, check=True, timeout=30).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if item)


def added_vars(project: Path, home: Path) -> dict[str, str]:
    """The variables sourcing client/env.sh adds to a minimal environment (the shell's own ones left out)."""
    before = clean_env(home)
    return {k: v for k, v in sourced_env(project, home).items()
            if before.get(k) != v and k not in ("PWD", "SHLVL", "_", "OLDPWD")}


def check_status(project: Path, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["scripts/check-status.sh", *args], cwd=project, env=clean_env(home, **env),
                          capture_output=True, text=True, timeout=60, check=False)


def failure_summary(stdout: str) -> tuple[int, str] | None:
    """check-status.sh's last line as (failed checks, first failing hop); the total varies with the answers."""
    match = re.fullmatch(r"(\d+) of \d+ checks failed; first failing hop: (\S+)", stdout.splitlines()[-1])
    return (int(match[1]), match[2]) if match else None


def install(project: Path, home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """client/install.sh with `args`, on the throwaway HOME `home` (or with `env` as its whole environment)."""
    return subprocess.run(["client/install.sh", *args], cwd=project, env=clean_env(home) if env is None else env,
                          capture_output=True, text=True, timeout=60, check=False)


def user_settings(home: Path) -> dict:
    """~/.claude/settings.json of the throwaway HOME `home`."""
    return json.loads((home / ".claude" / "settings.json").read_text())


def write_user_settings(home: Path, settings: dict) -> None:
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    (home / ".claude" / "settings.json").write_text(json.dumps(settings))


def read_ps1(path: Path) -> tuple[dict[str, str], list[str]]:
    """(variables set, variables removed) by a generated env.ps1, undoing its single-quote escaping."""
    text = path.read_text()
    # ps_quote doubles every kind of single quote PowerShell knows (' and the typographic ones): undo each pair.
    quotes = "'\u2018\u2019\u201a\u201b"
    literal = rf"^\$env:(\w+) = '((?:[^{quotes}]|([{quotes}])\3)*)'$"
    assigned = {m[0]: re.sub(rf"([{quotes}])\1", r"\1", m[1]) for m in re.findall(literal, text, re.MULTILINE)}
    removed = re.findall(r"^Remove-Item -Path Env:(\w+) -ErrorAction SilentlyContinue$", text, re.MULTILINE)
    return assigned, removed


def read_unsets(path: Path) -> list[str]:
    return re.findall(r"^unset (\w+)$", path.read_text(), re.MULTILINE)


def rejected(template_repo: Path, tmp_path: Path, **data) -> str:
    """Run the copier CLI with `data`; assert it failed and left no destination; return its last line."""
    dest = tmp_path / "project"
    # Run from tmp_path, so that a canary file a hostile value would create lands where the caller looks for it.
    result = run_copier_cli(template_repo, dest, data=data, cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    assert not dest.exists(), "a failed copy must not leave a half-written destination"
    assert "Traceback" not in result.stderr, result.stderr  # one clear line, not copier's internals
    return (result.stderr.strip().splitlines() or [""])[-1]


def kubernetes_manifests(project: Path) -> dict[str, list[dict]]:
    """gateway/kubernetes/'s manifests but kustomization.yaml: {file name: its documents}."""
    folder = project / "gateway" / "kubernetes"
    return {path.name: [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
            for path in sorted(folder.glob("*.yaml")) if path.name != "kustomization.yaml"}


def kubernetes_resources(project: Path) -> list[dict]:
    """Every resource of gateway/kubernetes/, in file order."""
    return [doc for docs in kubernetes_manifests(project).values() for doc in docs]
