"""Golden trees: the generated repository for a matrix of answer sets, recorded under tests/golden/<case>/.

The safety net for refactoring: a change that is meant to leave generated output alone must keep every golden
tree byte-identical (tests/test_golden.py). A change that is meant to alter output refreshes the goldens in a
commit of its own that says what changed and why:

    .venv/bin/python tests/golden_trees.py --refresh

`_commit` and `_src_path` are left out of the recorded answers file: they name the template clone, not output.
Files copied verbatim from template/ (no .jinja suffix) are not recorded: the test compares them with their
source instead of keeping one copy per answer set.
"""

from __future__ import annotations

import functools
import re
import shutil
import sys
import tempfile
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
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
}


def render(template: Path, answers: dict, dest: Path) -> None:
    from copier import run_copy

    run_copy(str(template), str(dest), data=answers, defaults=True, unsafe=True, quiet=True, vcs_ref="HEAD")


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


def refresh(template: Path) -> None:
    shutil.rmtree(GOLDEN_DIR, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, answers in CASES.items():
            out = Path(tmp) / name
            render(template, answers, out)
            for rel, data in tree(out).items():
                target = GOLDEN_DIR / name / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                shutil.copymode(out / rel, target)


if __name__ == "__main__":
    if sys.argv[1:] != ["--refresh"]:
        sys.exit("usage: golden_trees.py --refresh   (re-records tests/golden from the working tree)")
    sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
    from template_clone import clone_template

    with tempfile.TemporaryDirectory() as tmp:
        refresh(clone_template(Path(tmp) / "template"))
    print(f"recorded {len(CASES)} golden trees under {GOLDEN_DIR}")
