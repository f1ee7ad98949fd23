"""TEST SUPPORT: where the tools the tests run live, and the clean environment each check runs in.

Live tests never skip when CI is set: a missing tool fails the run (`require_tool`)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CLAUDE_CLI_DIR = REPO_ROOT / "tests" / "claude-cli"
LITELLM_VENV = REPO_ROOT / ".cache" / "litellm-venv"
# LiteLLM's database mode: its own venv (prisma-client-python) and the Prisma engine stand-in (prisma-engine/README).
DB_VENV = REPO_ROOT / ".cache" / "litellm-db-venv"
ENGINE_DIR = REPO_ROOT / "tests" / "support" / "prisma-engine"
DB_INSTALL_HINT = "run `make tools` (npm ci in tests/support/prisma-engine, .cache/litellm-db-venv, prisma generate)"


def require_tool(path: str | os.PathLike | None, what: str, install_hint: str) -> str:
    """Return the tool's path; without it, skip locally but fail in CI (live tests must not skip there)."""
    if path and Path(path).exists():
        return str(path)
    message = f"{what} not found; {install_hint}"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and {message}")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment with a throwaway HOME, so nothing from this machine leaks into a check."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def read_env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
