"""TEST SUPPORT: a throwaway PostgreSQL 15 on 127.0.0.1 with LiteLLM's schema, for the database-mode tests.

Debian's `postgresql` package (binaries in /usr/lib/postgresql/15/bin). `initdb` refuses to run as root, so when
the tests run as root the server runs as the `postgres` user (like `runuser -u postgres --`, via Popen's user/group) with its data in a temp
directory owned by that user. The schema is LiteLLM's own: the `migration.sql` files that the
`litellm-proxy-extras` package ships, applied with psql in name order and recorded in `_prisma_migrations`, as
`prisma migrate deploy` would (LiteLLM then starts with DISABLE_SCHEMA_UPDATE=true).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Self

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
DB_NAME = "litellm"
DB_USER = "litellm"
DB_PASSWORD = "litellm-test-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def available() -> bool:
    return (PG_BIN / "initdb").exists() and (PG_BIN / "postgres").exists()


def migrations_dir(site_packages: Path) -> Path:
    """litellm-proxy-extras' migrations (one directory per migration, each with a migration.sql)."""
    found = sorted(site_packages.glob("litellm_proxy_extras/migrations"))
    if not found:
        raise FileNotFoundError(f"litellm_proxy_extras/migrations not found under {site_packages}")
    return found[0]


class Postgres:
    """One server; start() then stop() (by its PID). `url` is a DATABASE_URL for LiteLLM."""

    def __init__(self, workdir: Path | None = None):
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="pg-test-"))
        self.data = self.workdir / "data"
        self.port = _free_port()
        self.pid: int | None = None
        self.as_postgres = os.geteuid() == 0
        self.url = f"postgresql://{DB_USER}:{DB_PASSWORD}@127.0.0.1:{self.port}/{DB_NAME}"

    def _as_user(self) -> dict:
        # Popen's user/group (not runuser): the PID we hold is the server's own, so stopping it by PID works.
        return {"user": "postgres", "group": "postgres", "extra_groups": []} if self.as_postgres else {}

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(list(args), capture_output=True, text=True, timeout=120, cwd="/", check=False,
                                **self._as_user())
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stdout}{result.stderr}")
        return result

    def start(self) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            self.workdir.chmod(0o755)
            shutil.chown(self.workdir, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--locale=C.UTF-8")
        log = self.workdir / "postgres.log"
        # The server in the foreground of its own process (no pg_ctl daemonising), so we hold its PID.
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [str(PG_BIN / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port),
                 "-k", str(self.workdir), "-c", "fsync=off", "-c", "full_page_writes=off",
                 "-c", "synchronous_commit=off"],
                stdout=out, stderr=subprocess.STDOUT, cwd="/", start_new_session=True, **self._as_user())
        self.pid = process.pid
        self._process = process
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"postgres exited: {log.read_text(errors='replace')}")
            if subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                              timeout=10, check=False).returncode == 0:
                break
            time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError("postgres did not accept connections within 30 s")
        self.psql("postgres", f"CREATE ROLE {DB_USER} LOGIN SUPERUSER PASSWORD '{DB_PASSWORD}'")
        self.psql("postgres", f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}")
        return self

    def psql(self, database: str, sql: str | None = None, file: Path | None = None) -> str:
        args = [str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                "-U", "postgres", "-d", database, "-At", "-c", "SET client_min_messages = warning"]
        result = subprocess.run(args + (["-c", sql] if sql is not None else ["-f", "-"]), capture_output=True,
                                text=True, timeout=120, input=file.read_text() if file else None, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr}")
        return result.stdout

    def create_database(self, name: str) -> str:
        """Another empty database (no LiteLLM schema), owned by the same role; returns its URL. For a program that
        applies its own migrations (the Claude apps gateway does at boot). `url` (the LiteLLM database) is empty too
        until apply_migrations() runs."""
        if not name.isidentifier():
            raise ValueError(f"not a plain database name: {name!r}")
        self.psql("postgres", f"CREATE DATABASE {name} OWNER {DB_USER}")
        return f"postgresql://{DB_USER}:{DB_PASSWORD}@127.0.0.1:{self.port}/{name}"

    def apply_migrations(self, directory: Path) -> int:
        """Every `*/migration.sql` under `directory`, in directory-name order, each recorded in
        `_prisma_migrations` (the table `prisma migrate` keeps). Returns how many were applied."""
        self.psql(DB_NAME, """CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
            "id" VARCHAR(36) PRIMARY KEY, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
            "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
            "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)""")
        files = sorted(directory.glob("*/migration.sql"), key=lambda p: p.parent.name)
        # No enclosing transaction: some migrations use CREATE INDEX CONCURRENTLY.
        script = []
        for sql in files:
            name = sql.parent.name.replace("'", "''")
            checksum = hashlib.sha256(sql.read_bytes()).hexdigest()
            script += [sql.read_text(), ";",
                       ("INSERT INTO \"_prisma_migrations\" (id, checksum, finished_at, migration_name, "
                       f"applied_steps_count) VALUES ('{uuid.uuid4()}', '{checksum}', now(), '{name}', 1);")]
        script_file = self.workdir / "migrations.sql"
        script_file.write_text("\n".join(script))
        self.psql(DB_NAME, file=script_file)
        return len(files)

    def stop(self) -> None:
        if self.pid is None:
            return
        # SIGINT: postgres's "fast shutdown".
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self._process.wait(timeout=10)
        self.pid = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
