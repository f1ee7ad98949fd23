"""Golden trees: the generated repository for a matrix of answer sets, recorded as tests/golden/<case>.txt.

The safety net for refactoring: a change that is meant to leave generated output alone must keep every golden
tree byte-identical (tests/test_golden.py). A change that is meant to alter output refreshes the goldens in a
commit of its own that says what changed and why (tests/test_golden.py holds commits to that):

    make goldens        (or: .venv/bin/python tests/golden_trees.py --refresh; it prints the diff it records)

One text file per tree, so that the template's git clone, which copier makes for every copy and update, checks out
18 small files instead of hundreds: each file of the tree follows a header line `=== <mode> <bytes> <path>`; a file
copied verbatim from template/ is listed as `=== <mode> verbatim <path>` (the test compares it with its source
instead of keeping one copy per answer set). `_commit` and `_src_path` are left out of the recorded answers file:
they name the template clone, not output.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
HEADER = "=== "
MAX_DIFF_LINES = 400  # of the diff a refresh prints
TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "template"
VOLATILE_ANSWERS = ("_commit:", "_src_path:")

# Every pattern, every provider, and the answers that switch files or blocks on and off.
CASES: dict[str, dict] = {
    "a-anthropic": {},
    "a-anthropic-custom": {"anthropic_base_url": "https://llm.internal.example.com", "customize_models": True,
                           "anthropic_opus_model": "claude-opus-custom", "disable_nonessential_traffic": True},
    "a-bedrock": {"providers": ["bedrock"], "aws_region": "eu-central-1", "aws_profile": "claude-sso",
                  "bedrock_base_url": "https://vpce-1.bedrock-runtime.eu-central-1.vpce.amazonaws.com"},
    "a-vertex": {"providers": ["vertex"], "gcp_project_id": "my-team-prod", "gcp_region": "us-east5",
                 "vertex_base_url": "https://psc.example.com"},
    "a-foundry": {"providers": ["foundry"], "foundry_resource": "my-foundry"},
    "b-foundry": {"corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080", "providers": ["foundry"],
                  "foundry_base_url": "https://foundry.internal.example.com/anthropic"},
    "c-foundry": {"cost_tracking": True, "providers": ["anthropic", "foundry"], "primary_provider": "foundry",
                  "foundry_resource": "my-foundry", "customize_models": True, "foundry_opus_model": "opus-prod"},
    # Claude Platform on AWS, Bedrock Mantle and Claude on Google Cloud (Anthropic-managed): A, B, and a gateway each.
    "a-anthropic-aws": {"providers": ["anthropic_aws"], "anthropic_aws_workspace_id": "wrkspc_01example",
                        "aws_region": "eu-west-1"},
    "b-anthropic-aws": {"corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080",
                        "providers": ["anthropic_aws"], "anthropic_aws_workspace_id": "wrkspc_01example",
                        "anthropic_aws_base_url": "https://vpce-1.aws-external-anthropic.us-east-1.vpce.amazonaws.com"},
    "a-mantle": {"providers": ["mantle"], "aws_region": "us-west-2"},
    "b-mantle": {"corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080", "providers": ["mantle"],
                 "mantle_base_url": "https://mantle.internal.example.com/anthropic"},
    "c-aws-routes": {"cost_tracking": True, "providers": ["anthropic_aws", "mantle"], "primary_provider": "mantle",
                     "anthropic_aws_workspace_id": "wrkspc_01example"},
    "a-anthropic-google-cloud": {"providers": ["anthropic_google_cloud"], "anthropic_google_cloud_project": "my-team-prod",
                                 "anthropic_google_cloud_workspace_id": "wrkspc_01example"},
    "b-anthropic-google-cloud": {
        "corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080", "providers": ["anthropic_google_cloud"],
        "anthropic_google_cloud_project": "my-team-prod", "anthropic_google_cloud_workspace_id": "wrkspc_01example",
        "anthropic_google_cloud_location": "us-east5", "anthropic_google_cloud_base_url":
            "https://psc.example.com/v1/projects/my-team-prod/locations/us-east5/workspaces/wrkspc_01example/invoke"},
    "c-apps-gateway-new-routes": {"cost_tracking": True, "gateway_engine": "claude_apps_gateway",
                                  "gateway_runtime": "process", "oidc_issuer": "https://login.example.com",
                                  "providers": ["anthropic_google_cloud", "anthropic_aws", "mantle"],
                                  "primary_provider": "anthropic_google_cloud",
                                  "anthropic_google_cloud_project": "my-team-prod",
                                  "anthropic_google_cloud_workspace_id": "wrkspc_01example",
                                  "anthropic_aws_workspace_id": "wrkspc_01example"},
    "b-anthropic": {"corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080",
                    "proxy_username": "DOMAIN\\alice", "no_proxy_hosts": ".corp.example.com,git.internal",
                    "corporate_ca_cert": "/usr/local/share/ca-certificates/corp-root.pem"},
    "b-bedrock": {"corporate_proxy": True, "proxy_url": "https://proxy.example.com:3128", "providers": ["bedrock"]},
    "b-vertex": {"corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080", "providers": ["vertex"],
                 "gcp_project_id": "my-team-prod"},
    "c-anthropic": {"cost_tracking": True},
    "c-multi": {"cost_tracking": True, "providers": ["anthropic", "bedrock", "vertex"],
                "primary_provider": "bedrock", "gcp_project_id": "my-team-prod", "aws_profile": "claude-sso",
                "gateway_runtime": "process", "gateway_workers": 2, "spend_database": True,
                "client_auth": "api_key_helper", "api_key_helper": "vault kv get -field=key secret/claude"},
    "c-vertex-shared": {"cost_tracking": True, "providers": ["vertex"], "gcp_project_id": "my-team-prod",
                        "gateway_bind": "0.0.0.0", "gateway_url": "https://llm-gateway.example.com"},
    "d-default": {"cost_tracking": True, "corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080",
                  "corporate_ca_cert": "/etc/ssl/corp-root.pem", "proxy_username": "alice"},
    "d-multi-process": {"cost_tracking": True, "corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080",
                        "providers": ["anthropic", "bedrock"], "gateway_runtime": "process",
                        "gateway_via_proxy": True, "spend_database": False},
    "c-kubernetes": {"cost_tracking": True, "gateway_runtime": "kubernetes",
                     "gateway_url": "https://llm-gateway.example.com", "spend_database": True},
    "d-kubernetes": {"cost_tracking": True, "corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080",
                     "corporate_ca_cert": "/etc/ssl/corp-root.pem", "gateway_runtime": "kubernetes",
                     "gateway_url": "https://llm-gateway.example.com", "kubernetes_redis": "in_cluster",
                     "providers": ["anthropic", "bedrock"]},
    "d-client-only": {"cost_tracking": True, "corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080",
                      "deploy_gateway": False, "gateway_url": "https://llm-gateway.example.com"},
    # The Claude apps gateway: shared over https with failover and a private CA (C), behind the proxy (D), and the
    # developer side only of a gateway run elsewhere.
    "c-apps-gateway": {"cost_tracking": True, "gateway_engine": "claude_apps_gateway",
                       "providers": ["anthropic", "bedrock"], "gateway_bind": "0.0.0.0",
                       "gateway_url": "https://claude-gateway.corp.example.com",
                       "corporate_ca_cert": "/usr/local/share/ca-certificates/corp-root.pem",
                       "oidc_issuer": "https://login.example.com", "oidc_allowed_groups": "engineering,contractors",
                       "oidc_admin_groups": "platform", "session_ttl_hours": 8, "budget_contact": "#llm-gateway"},
    # Both engines: the Claude apps gateway signs developers in, LiteLLM behind it (with its spend database) fails over.
    "c-sso-front-litellm": {"cost_tracking": True, "gateway_engine": "claude_apps_gateway_with_litellm",
                            "providers": ["anthropic", "bedrock"], "spend_database": True, "gateway_bind": "0.0.0.0",
                            "gateway_url": "https://claude-gateway.corp.example.com",
                            "oidc_issuer": "https://login.example.com", "oidc_admin_groups": "platform"},
    # ...on Kubernetes: LiteLLM's manifests beside the front's, reachable from the front's pods only (C with the spend
    # database; D behind the proxy with a private CA, an in-cluster Redis and no database).
    "c-sso-front-kubernetes": {"cost_tracking": True, "gateway_engine": "claude_apps_gateway_with_litellm",
                               "gateway_runtime": "kubernetes", "providers": ["anthropic", "bedrock"],
                               "spend_database": True, "gateway_url": "https://claude-gateway.corp.example.com",
                               "oidc_issuer": "https://login.example.com", "oidc_admin_groups": "platform"},
    "d-sso-front-kubernetes": {"cost_tracking": True, "corporate_proxy": True,
                               "proxy_url": "http://proxy.example.com:8080", "corporate_ca_cert": "/etc/ssl/corp-root.pem",
                               "gateway_engine": "claude_apps_gateway_with_litellm", "gateway_runtime": "kubernetes",
                               "kubernetes_redis": "in_cluster", "spend_database": False,
                               "gateway_url": "https://claude-gateway.corp.example.com",
                               "oidc_issuer": "https://login.example.com/oauth2/default"},
    # ...in docker compose: C with LiteLLM's spend database and failover, D behind the proxy.
    "c-sso-front-compose": {"cost_tracking": True, "gateway_engine": "claude_apps_gateway_with_litellm",
                            "gateway_runtime": "docker", "providers": ["anthropic", "bedrock"], "spend_database": True,
                            "gateway_bind": "0.0.0.0", "gateway_url": "https://claude-gateway.corp.example.com",
                            "oidc_issuer": "https://login.example.com"},
    "d-sso-front-compose": {"cost_tracking": True, "corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080",
                            "gateway_engine": "claude_apps_gateway_with_litellm", "gateway_runtime": "docker",
                            "oidc_issuer": "https://login.example.com/oauth2/default"},
    "d-apps-gateway": {"cost_tracking": True, "corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080",
                       "gateway_engine": "claude_apps_gateway", "providers": ["vertex"],
                       "gcp_project_id": "my-team-prod", "gateway_bind": "0.0.0.0", "gateway_port": 8443,
                       "gateway_url": "https://claude-gateway.corp.example.com:8443",
                       "oidc_issuer": "https://login.example.com/oauth2/default"},
    # ...in its image: compose on one host over https with a private CA (C), and Kubernetes behind the proxy (D).
    "c-apps-gateway-compose": {"cost_tracking": True, "gateway_engine": "claude_apps_gateway",
                               "gateway_runtime": "docker", "gateway_bind": "0.0.0.0",
                               "gateway_url": "https://claude-gateway.corp.example.com",
                               "corporate_ca_cert": "/usr/local/share/ca-certificates/corp-root.pem",
                               "oidc_issuer": "https://login.example.com"},
    "d-apps-gateway-kubernetes": {"cost_tracking": True, "corporate_proxy": True,
                                  "proxy_url": "http://proxy.example.com:8080",
                                  "gateway_engine": "claude_apps_gateway", "gateway_runtime": "kubernetes",
                                  "providers": ["anthropic", "bedrock"],
                                  "gateway_url": "https://claude-gateway.corp.example.com",
                                  "oidc_issuer": "https://login.example.com/oauth2/default"},
    # Usage telemetry: the collector beside the client (B, a header from a helper command), and on Kubernetes beside
    # the gateway (D).
    "b-telemetry": {"corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080", "usage_telemetry": True,
                    "otel_endpoint": "https://otel.corp.example.com:4318", "otel_header": "Authorization",
                    "otel_headers_helper": "/usr/local/bin/otel-token"},
    "d-kubernetes-telemetry": {"cost_tracking": True, "corporate_proxy": True,
                               "proxy_url": "http://proxy.example.com:8080", "gateway_runtime": "kubernetes",
                               "gateway_url": "https://llm-gateway.example.com", "spend_database": True,
                               "usage_telemetry": True, "otel_endpoint": "https://otel.example.com:4318"},
    "d-apps-gateway-client-only": {"cost_tracking": True, "corporate_proxy": True,
                                   "proxy_url": "http://proxy.example.com:8080",
                                   "gateway_engine": "claude_apps_gateway", "deploy_gateway": False,
                                   "gateway_url": "https://claude-gateway.corp.example.com"},
}


def render(template: Path, answers: dict, dest: Path) -> None:
    from copier import run_copy

    run_copy(str(template), str(dest), data=answers, defaults=True, unsafe=True, quiet=True, vcs_ref="HEAD")


def render_all(template: Path, root: Path, variants: dict[str, dict]) -> dict[str, Path]:
    """Each variant's answers rendered under root/<name> (a test module's `projects` fixture): {name: project}."""
    for name, answers in variants.items():
        render(template, answers, root / name)
    return {name: root / name for name in variants}


_CONDITION = re.compile(r"\{% if [^%]*%\}(.*?)\{% endif %\}")


def verbatim_source(rel: str) -> Path | None:
    """The template file a generated file is a verbatim copy of (nothing rendered in it but, maybe, its name's
    `{% if ... %}name{% endif %}` condition); None for rendered files."""
    if (TEMPLATE_DIR / rel).is_file():
        return TEMPLATE_DIR / rel
    return _conditional_copies().get(rel)


@functools.cache
def _conditional_copies() -> dict[str, Path]:
    return {_CONDITION.sub(r"\1", str(path.relative_to(TEMPLATE_DIR))): path for path in TEMPLATE_DIR.rglob("*{% if *")
            if path.is_file() and not path.name.endswith(".jinja")}


def verbatim(rel: str) -> bool:
    """Whether a generated file is a verbatim copy of a template file."""
    return verbatim_source(rel) is not None


def tree(root: Path, with_verbatim: bool = False) -> dict[str, bytes]:
    """Every rendered file under root (relative path -> bytes), the answers file without its volatile lines;
    with_verbatim: the verbatim copies too."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_file() and ".git" not in path.relative_to(root).parts and (with_verbatim or not verbatim(rel)):
            data = path.read_bytes()
            if path.name == ".copier-answers.yml":
                data = b"".join(line for line in data.splitlines(keepends=True)
                                if not line.decode().startswith(VOLATILE_ANSWERS))
            files[rel] = data
    return files


class GoldenFile(NamedTuple):
    mode: int  # the permission bits (0o644, 0o755)
    data: bytes | None  # None: a verbatim copy of a template file, compared with its source


def snapshot(root: Path) -> dict[str, GoldenFile]:
    """The generated tree at `root` as it is recorded: rendered files with their bytes, verbatim copies by name."""
    rendered = tree(root)
    files = {}
    for rel in tree(root, with_verbatim=True):
        mode = os.stat(root / rel).st_mode & 0o777
        files[rel] = GoldenFile(mode, rendered.get(rel))
    return files


def dump(files: dict[str, GoldenFile]) -> bytes:
    out = []
    for rel, file in sorted(files.items()):
        if file.data is None:
            out.append(f"{HEADER}{file.mode:o} verbatim {rel}\n".encode())
        else:
            out.append(f"{HEADER}{file.mode:o} {len(file.data)} {rel}\n".encode() + file.data + b"\n")
    return b"".join(out)


def load(case: str, path: Path | None = None) -> dict[str, GoldenFile]:
    """tests/golden/<case>.txt (or `path`) as written by dump()."""
    path = path or golden_file(case)
    text, files, at = path.read_bytes(), {}, 0
    while at < len(text):
        end = text.index(b"\n", at)
        header = text[at:end].decode()
        if not header.startswith(HEADER):
            raise ValueError(f"{path}: expected a `{HEADER}` header at byte {at}, got {header[:60]!r}")
        mode, size, rel = header[len(HEADER):].split(" ", 2)
        at = end + 1
        if size == "verbatim":
            files[rel] = GoldenFile(int(mode, 8), None)
            continue
        files[rel] = GoldenFile(int(mode, 8), text[at:at + int(size)])
        at += int(size) + 1  # the content, then the newline that ends it
    return files


def golden_file(case: str) -> Path:
    return GOLDEN_DIR / f"{case}.txt"


def diff(case: str, old: dict[str, GoldenFile], new: dict[str, GoldenFile]) -> list[str]:
    """What a refresh changes in one tree: a unified diff per rendered file, one line per other change."""
    lines = []
    for rel in sorted(set(old) | set(new)):
        before, after = old.get(rel), new.get(rel)
        if before == after:
            continue
        if before is None or after is None:
            lines.append(f"{'added' if before is None else 'removed'}: {case}/{rel}")
        elif before.mode != after.mode:
            lines.append(f"mode {before.mode:o} -> {after.mode:o}: {case}/{rel}")
        if before and after and before.data != after.data:
            if before.data is None or after.data is None:
                lines.append(f"now {'rendered' if before.data is None else 'a verbatim copy'}: {case}/{rel}")
            else:
                lines += difflib.unified_diff(before.data.decode(errors="replace").splitlines(),
                                              after.data.decode(errors="replace").splitlines(),
                                              f"a/{case}/{rel}", f"b/{case}/{rel}", lineterm="")
    return lines


GOLDENS_TRAILER = "Goldens:"


def golden_commit_problems(repo: Path, base: str) -> list[str]:
    """The commits after `base` (merges aside) that change tests/golden/ together with other files without a
    `Goldens: <what changed in the output, and why>` line in their message: a refresh mixed into a code change hides
    what the change did to the generated output. One line per commit."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                              timeout=60).stdout

    problems = []
    for commit in git("log", "--no-merges", "--format=%H", f"{base}..HEAD", "--", "tests/golden").split():
        others = [f for f in git("show", "--name-only", "--format=", commit).splitlines()
                  if f and not f.startswith("tests/golden/")]
        message = git("log", "-1", "--format=%B", commit)
        if others and not any(line.startswith(GOLDENS_TRAILER) for line in message.splitlines()):
            problems.append(f"{commit[:12]} {message.splitlines()[0][:60]!r} changes tests/golden/ and {others[0]}"
                            f"{f' (+{len(others) - 1})' if len(others) > 1 else ''}: refresh the goldens in a commit "
                            f"of their own, or add a `{GOLDENS_TRAILER} <what changed and why>` line")
    return problems


def refresh(template: Path) -> list[str]:
    """Record every case again; the diff from what was recorded."""
    changes = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, answers in CASES.items():
            out = Path(tmp) / name
            render(template, answers, out)
            new = snapshot(out)
            old = load(name) if golden_file(name).exists() else {}
            changes += diff(name, old, new)
            GOLDEN_DIR.mkdir(exist_ok=True)
            golden_file(name).write_bytes(dump(new))
    for stale in set(GOLDEN_DIR.glob("*.txt")) - {golden_file(name) for name in CASES}:
        changes.append(f"removed: {stale.name}")
        stale.unlink()
    return changes


if __name__ == "__main__":
    if sys.argv[1:] != ["--refresh"]:
        sys.exit("usage: golden_trees.py --refresh   (re-records tests/golden from the working tree)")
    sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
    from template_clone import clone_template

    with tempfile.TemporaryDirectory() as tmp:
        changes = refresh(clone_template(Path(tmp) / "template"))
    print("\n".join(changes[:MAX_DIFF_LINES]))
    if len(changes) > MAX_DIFF_LINES:
        print(f"... {len(changes) - MAX_DIFF_LINES} more lines: git diff tests/golden")
    print(f"recorded {len(CASES)} golden trees under {GOLDEN_DIR}: "
          + (f"{len(changes)} lines of changes above" if changes else "unchanged"))
