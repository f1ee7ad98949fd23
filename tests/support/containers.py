"""TEST SUPPORT: podman, with this repository's configuration (CONTAINERS_CONF=tests/support/containers.conf; the
machine's /etc is never edited), and the generated Claude apps gateway image built from its own gateway/Dockerfile.

No image registry is reachable from the test machines, so the Dockerfile's pinned base image (versions.py
APPS_GATEWAY_BASE_IMAGE, Debian 12 slim) is replaced by a local one for its FROM line only: a Debian bookworm minbase
made with mmdebstrap from Debian's package mirror and `podman import`ed. The tarball is cached under
.cache/containers/, keyed by BASE_KEY (bump it to rebuild), so a rerun skips the ~40 s mmdebstrap.

The builder stage downloads @anthropic-ai/claude-code-linux-x64 from CLAUDE_CODE_TARBALL_URL (the npm registry by
default) and checks its sha512. The tests point that build argument at the same tarball in a local directory,
mounted into the build (`podman build -v`): `npm pack` fetches it once into .cache/containers/ (from npm's own cache
when `make tools` installed tests/claude-cli, so usually without a download), and the Dockerfile's sha512 check runs
on it unchanged. What users build is the same file with the default URL.

    image = gateway_image(project)        # podman build of project/gateway/Dockerfile, once per Dockerfile content
    with Container(image, name=..., args=[...]) as container: container.logs()
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Self

from claude_gateway_template import versions
from environment import REPO_ROOT, require_tool

CONTAINERS_CONF = REPO_ROOT / "tests" / "support" / "containers.conf"
CACHE = REPO_ROOT / ".cache" / "containers"
# The local stand-in for versions.APPS_GATEWAY_BASE_IMAGE: the same Debian release (bookworm), minbase (what Docker's
# slim images are made of). Bump the serial to rebuild the cached tarball (e.g. for a point release).
SUITE = "bookworm"
BASE_KEY = f"debian-{SUITE}-minbase-1"
BASE_IMAGE = f"localhost/claude-gateway-test-base:{BASE_KEY}"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
IMAGE_REPOSITORY = "localhost/claude-apps-gateway-test"
PACKAGE_MOUNT = "/claude-package"  # where the build sees the cached tarball
PODMAN_TIMEOUT = 600  # seconds any one podman call gets at most (a build, mmdebstrap)
INSTALL_HINT = ("apt-get install --no-install-recommends podman runc fuse-overlayfs slirp4netns uidmap netavark "
                "aardvark-dns catatonit iptables mmdebstrap podman-compose (tests/support/system-packages.sh)")


def podman_env(**extra: str) -> dict[str, str]:
    """The environment every podman (and podman-compose) call runs with."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8", "CONTAINERS_CONF": str(CONTAINERS_CONF), **extra}


def require_podman() -> str:
    require_tool(shutil.which("mmdebstrap"), "mmdebstrap", INSTALL_HINT)
    return require_tool(shutil.which("podman"), "podman", INSTALL_HINT)


def podman(*args: str, timeout: float = PODMAN_TIMEOUT, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, env=podman_env(),
                            stdin=subprocess.DEVNULL, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:3])} ... failed ({result.returncode}):\n"
                           f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result


def _locked(name: str):
    """A lock file under CACHE: parallel test workers build a cached artefact once."""
    import fcntl

    CACHE.mkdir(parents=True, exist_ok=True)
    handle = open(CACHE / f"{name}.lock", "w")  # noqa: SIM115 (closed by the context manager below)

    @contextlib.contextmanager
    def held():
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
    return held()


def base_image() -> str:
    """The local base image, imported from the cached mmdebstrap tarball (made first when missing)."""
    require_podman()
    with _locked("base"):
        if podman("image", "exists", BASE_IMAGE, check=False).returncode == 0:
            return BASE_IMAGE
        tarball = CACHE / f"{BASE_KEY}.tar"
        if not tarball.exists():
            partial = CACHE / f"{BASE_KEY}.partial.tar"  # mmdebstrap picks its output format by the suffix
            result = subprocess.run(["mmdebstrap", "--quiet", "--variant=minbase", SUITE, str(partial), DEBIAN_MIRROR],
                                    capture_output=True, text=True, timeout=PODMAN_TIMEOUT, check=False,
                                    stdin=subprocess.DEVNULL)
            if result.returncode != 0:
                partial.unlink(missing_ok=True)
                raise RuntimeError(f"mmdebstrap failed ({result.returncode}): {result.stderr[-3000:]}")
            partial.rename(tarball)
        podman("import", "--change", 'CMD ["bash"]', str(tarball), BASE_IMAGE)
    return BASE_IMAGE


def claude_tarball() -> Path:
    """The pinned @anthropic-ai/claude-code-linux-x64 tarball under CACHE (npm pack, once), its sha512 checked."""
    name = f"anthropic-ai-claude-code-linux-x64-{versions.CLAUDE_CODE_VERSION}.tgz"
    path = CACHE / name
    with _locked("claude-tarball"):
        if not path.exists():
            spec = f"{versions.CLAUDE_CODE_LINUX_PACKAGE}@{versions.CLAUDE_CODE_VERSION}"
            result = subprocess.run(["npm", "pack", "--prefer-offline", "--silent", "--pack-destination", str(CACHE),
                                     spec], capture_output=True, text=True, timeout=PODMAN_TIMEOUT, check=False,
                                    stdin=subprocess.DEVNULL)
            if result.returncode != 0 or not path.exists():
                raise RuntimeError(f"npm pack {spec} failed ({result.returncode}): {result.stderr[-2000:]}")
        digest = hashlib.sha512()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != versions.CLAUDE_CODE_LINUX_SHA512:
            path.unlink()
            raise RuntimeError(f"{name}: sha512 differs from versions.CLAUDE_CODE_LINUX_SHA512 (removed; rerun)")
    return path


def test_dockerfile(dockerfile: Path, base: str) -> str:
    """The Dockerfile's text with the pinned base image replaced by `base` in its FROM line, and nothing else."""
    text = dockerfile.read_text()
    pattern = re.compile(rf"^FROM {re.escape(versions.APPS_GATEWAY_BASE_IMAGE)}( AS \w+)?$", re.MULTILINE)
    replaced, count = pattern.subn(lambda m: f"FROM {base}{m.group(1) or ''}", text)
    assert count == 1, f"{dockerfile}: expected one FROM {versions.APPS_GATEWAY_BASE_IMAGE}, found {count}"
    return replaced


def gateway_image(project: Path) -> tuple[str, float]:
    """Build project/gateway/Dockerfile (base substituted) as IMAGE_REPOSITORY:<hash of its text>; returns the tag
    and the build's seconds (0 when an image of the same Dockerfile exists: podman's layer cache would say the
    same). The build context is gateway/, as for users."""
    base = base_image()
    tarball = claude_tarball()
    text = test_dockerfile(project / "gateway" / "Dockerfile", base)
    tag = f"{IMAGE_REPOSITORY}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    with _locked("image"):
        if podman("image", "exists", tag, check=False).returncode == 0:
            return tag, 0.0
        with tempfile.TemporaryDirectory(prefix="dockerfile-") as tmp:
            dockerfile = Path(tmp) / "Dockerfile"
            dockerfile.write_text(text)
            started = time.monotonic()
            # --format docker keeps HEALTHCHECK (the OCI format has none); the build's RUN steps use the host's
            # network (apt-get reaches Debian's mirror as mmdebstrap did).
            podman("build", "--format", "docker", "--network", "host", "-f", str(dockerfile), "-t", tag,
                   "-v", f"{tarball.parent}:{PACKAGE_MOUNT}:ro",
                   "--build-arg", f"CLAUDE_CODE_TARBALL_URL=file://{PACKAGE_MOUNT}/{tarball.name}",
                   str(project / "gateway"))
            return tag, time.monotonic() - started


class Container:
    """`podman run -d` of an image with `args` (options before the image) and `command` after it; removed on exit
    (stopped with `timeout` seconds for its drain, then removed by its id)."""

    def __init__(self, image: str, args: list[str], command: list[str] | None = None, stop_timeout: int = 10):
        self.image, self.args, self.command, self.stop_timeout = image, args, command or [], stop_timeout
        self.name = f"claude-gateway-test-{uuid.uuid4().hex[:10]}"
        self.id = ""

    def start(self) -> Self:
        self.id = podman("run", "-d", "--name", self.name, *self.args, self.image, *self.command).stdout.strip()
        return self

    def running(self) -> bool:
        result = podman("inspect", "--format", "{{.State.Running}}", self.id, check=False)
        return result.stdout.strip() == "true"

    def logs(self) -> str:
        result = podman("logs", self.id, check=False, timeout=60)
        return result.stdout + result.stderr

    def exec(self, *cmd: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return podman("exec", self.id, *cmd, check=False, timeout=timeout)

    def stop(self) -> None:
        if not self.id:
            return
        podman("stop", "-t", str(self.stop_timeout), self.id, check=False, timeout=self.stop_timeout + 60)
        podman("rm", "-f", self.id, check=False, timeout=60)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


STANDINS_DIR = REPO_ROOT / "tests" / "support" / "compose-standins"


def standins_image() -> str:
    """The stand-ins for what the compose file reaches (its official postgres image, the OIDC issuer;
    tests/support/compose-standins/), built on the local base once per content of its files."""
    base = base_image()
    content = hashlib.sha256(base.encode())
    for path in sorted(STANDINS_DIR.iterdir()):
        content.update(path.name.encode() + path.read_bytes())
    tag = f"localhost/claude-gateway-test-standins:{content.hexdigest()[:12]}"
    with _locked("standins"):
        if podman("image", "exists", tag, check=False).returncode != 0:
            podman("build", "--network", "host", "--build-arg", f"BASE={base}", "-t", tag, str(STANDINS_DIR))
    return tag


def compose(project_dir: Path, name: str, files: list[Path], *args: str, timeout: float = PODMAN_TIMEOUT,
            check: bool = True) -> subprocess.CompletedProcess:
    """podman-compose -p NAME -f FILE... ARGS, in `project_dir`, with this repository's podman configuration."""
    require_tool(shutil.which("podman-compose"), "podman-compose", INSTALL_HINT)
    command = ["podman-compose", "-p", name]
    for file in files:
        command += ["-f", str(file)]
    result = subprocess.run([*command, *args], cwd=project_dir, capture_output=True, text=True, timeout=timeout,
                            env=podman_env(), stdin=subprocess.DEVNULL, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"podman-compose {' '.join(args)} failed ({result.returncode}):\n"
                           f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result
