"""Pattern B, static: the proxy variables with and without authentication, the password handling, the egress
allowlist, and the proxy answers' validators (the live module runs a real proxy)."""

from __future__ import annotations

import json
import subprocess

import pytest
from environment import clean_env
from generated import added_vars, read_ps1, rejected, sourced_env

PROXY = "http://proxy.example.com:8080"
B = {"corporate_proxy": True, "proxy_url": PROXY}
PINS = {"ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-5-5", "ANTHROPIC_DEFAULT_SONNET_MODEL": "claude-sonnet-5-5",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-5-5"}


def test_exact_variables_without_authentication(generate, tmp_path):
    project = generate(**B, no_proxy_hosts=".corp.example.com, git.internal", corporate_ca_cert="/etc/corp/root.pem")
    expected = {**PINS, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "HTTPS_PROXY": PROXY, "HTTP_PROXY": PROXY,
                "NO_PROXY": "localhost,127.0.0.1,::1,.corp.example.com,git.internal",
                "NODE_EXTRA_CA_CERTS": "/etc/corp/root.pem"}
    assert added_vars(project, tmp_path) == expected
    assert json.loads((project / "client" / "settings.json").read_text())["env"] == expected
    assert read_ps1(project / "client" / "env.ps1")[0] == expected


def test_no_corporate_ca_cert_no_extra_ca_and_never_reject_unauthorized(generate, tmp_path):
    project = generate(**B)
    env = sourced_env(project, tmp_path, NODE_TLS_REJECT_UNAUTHORIZED="0")
    assert "NODE_EXTRA_CA_CERTS" not in env and "NODE_TLS_REJECT_UNAUTHORIZED" not in env
    for path in project.rglob("*"):
        if path.is_file() and path.suffix in (".sh", ".ps1", ".json"):
            assert "NODE_TLS_REJECT_UNAUTHORIZED=0" not in path.read_text()


@pytest.mark.parametrize(("password", "encoded"), [
    ("simple", "simple"),
    ("p@ss:w/rd%", "p%40ss%3Aw%2Frd%25"),
    ("sp ace+plus&amp'quote\"", "sp%20ace%2Bplus%26amp%27quote%22"),
    ("ünï", "%C3%BCn%C3%AF"),
    ("$(touch PWNED)`id`", "%24%28touch%20PWNED%29%60id%60"),
])
@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_proxy_credentials_are_percent_encoded_at_run_time(generate, tmp_path, password, encoded, shell):
    project = generate(**B, proxy_username="CORP\\alice")
    out = subprocess.run([shell, "-c", '. ./client/env.sh 2>/dev/null; printf "%s\\n%s" "$HTTPS_PROXY" "$HTTP_PROXY"'],
                         cwd=project, env=clean_env(tmp_path, PROXY_PASSWORD=password), capture_output=True,
                         text=True, timeout=30, check=False)
    https_proxy, http_proxy = out.stdout.split("\n")
    assert https_proxy == http_proxy == f"http://CORP%5Calice:{encoded}@proxy.example.com:8080"
    assert not (project / "PWNED").exists() and not (tmp_path / "PWNED").exists()


def test_with_authentication_the_proxy_urls_stay_out_of_settings_json(generate, tmp_path):
    project = generate(**B, proxy_username="alice")
    settings = json.loads((project / "client" / "settings.json").read_text())["env"]
    assert "HTTPS_PROXY" not in settings and "HTTP_PROXY" not in settings
    assert settings["NO_PROXY"] == "localhost,127.0.0.1,::1"
    install = (project / "client" / "install.sh").read_text()
    assert '"HTTPS_PROXY", "HTTP_PROXY"' in install  # removed from user settings, where they would win


def test_without_password_env_sh_warns_and_sets_the_bare_proxy(generate, tmp_path):
    project = generate(**B, proxy_username="alice")
    out = subprocess.run(["sh", "-c", '. ./client/env.sh; printf "%s" "$HTTPS_PROXY"'], cwd=project,
                         env=clean_env(tmp_path), capture_output=True, text=True, timeout=30, check=False)
    assert out.stdout == PROXY
    assert "PROXY_PASSWORD is not set; the proxy will refuse requests (HTTP 407)" in out.stderr


def test_env_ps1_composes_the_proxy_url_from_proxy_password(generate):
    text = (generate(**B, proxy_username="alice") / "client" / "env.ps1").read_text()
    assert "[uri]::EscapeDataString($env:PROXY_PASSWORD)" in text
    assert "$env:HTTPS_PROXY = $claudeSetupProxy" in text and "$env:HTTP_PROXY = $claudeSetupProxy" in text


@pytest.mark.parametrize("answers", [B, {**B, "proxy_username": "alice", "corporate_ca_cert": "/etc/ca.pem"},
                                     {**B, "providers": ["bedrock"]}])
def test_shellcheck_clean(generate, shellcheck, answers):
    shellcheck(generate(**answers))


@pytest.mark.parametrize(("answers", "hosts"), [
    ({}, ["api.anthropic.com"]),
    ({"anthropic_base_url": "https://llm.example.com:8443"}, ["llm.example.com"]),
    ({"providers": ["bedrock"], "aws_region": "eu-west-1"},
     ["bedrock-runtime.eu-west-1.amazonaws.com", "bedrock.eu-west-1.amazonaws.com"]),
    ({"providers": ["vertex"], "gcp_project_id": "my-team-prod", "gcp_region": "us-east5"},
     ["us-east5-aiplatform.googleapis.com", "oauth2.googleapis.com"]),
])
def test_egress_allowlist_lists_the_required_hosts(generate, answers, hosts):
    doc = (generate(**B, **answers) / "docs" / "egress-allowlist.md").read_text()
    required = [line.split("`")[1] for line in doc.splitlines() if line.startswith("| `") and "| required |" in line]
    assert required == hosts
    assert "| `downloads.claude.ai` | 443 |" in doc and "optional" in doc
    if "anthropic_base_url" in answers:
        assert "| `llm.example.com` | 8443 |" in doc


def test_no_egress_doc_without_a_proxy(generate):
    docs = generate() / "docs"
    assert docs.is_dir()  # every pattern has its topic pages; the proxy's exist only with a proxy
    assert not (docs / "egress-allowlist.md").exists() and not (docs / "proxy.md").exists()


def test_doctor_offline_checks_the_proxy_configuration(generate, tmp_path):
    project = generate(**B, proxy_username="alice")
    good = subprocess.run(["sh", "-c", ". ./client/env.sh && scripts/check-status.sh --offline"], cwd=project,
                          env=clean_env(tmp_path, ANTHROPIC_API_KEY="k", PROXY_PASSWORD="pw-secret"),
                          capture_output=True, text=True, timeout=60, check=False)
    assert good.returncode == 0, good.stdout
    assert "pw-secret" not in good.stdout
    stale = tmp_path / ".claude"
    stale.mkdir()
    (stale / "settings.json").write_text(json.dumps({"env": {"HTTPS_PROXY": PROXY}}))
    bad = subprocess.run(["sh", "-c", ". ./client/env.sh && scripts/check-status.sh --offline"], cwd=project,
                         env=clean_env(tmp_path, ANTHROPIC_API_KEY="k", PROXY_PASSWORD="pw-secret"),
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 1
    assert "carries no credentials and overrides your shell; run client/install.sh (it removes it)" in bad.stdout


# -------------------------------------------------------------------------------------------------------
# Proxy answers: bad input
# -------------------------------------------------------------------------------------------------------
def test_proxy_url_with_credentials_is_rejected_without_echoing_the_password(template_repo, tmp_path):
    from template_clone import run_copier_cli

    dest = tmp_path / "p"
    result = run_copier_cli(template_repo, dest, data={**B, "proxy_url": "http://bob:hunter2@proxy.example.com:8080"})
    assert result.returncode != 0 and not dest.exists()
    last = result.stderr.strip().splitlines()[-1]
    assert "proxy_url: 'http://***@proxy.example.com:8080' has credentials inside the URL" in last
    assert "proxy_username" in last and "PROXY_PASSWORD" in last
    assert "hunter2" not in result.stdout + result.stderr


@pytest.mark.parametrize(("data", "message"), [
    ({"corporate_proxy": True}, "proxy_url: '' is empty; your network needs a proxy"),
    ({**B, "proxy_url": "socks5://proxy.example.com:1080"}, "proxy_url: 'socks5://proxy.example.com:1080' is not a proxy URL"),
    ({**B, "proxy_url": "http://proxy.example.com"}, "proxy_url: 'http://proxy.example.com' needs a port"),
    ({**B, "proxy_url": "http://proxy.example.com:8080/x"}, "needs a port and nothing after it"),
    ({**B, "proxy_username": "al'ice"}, "proxy_username: \"al'ice\" is not a user name this setup can pass safely"),
    ({**B, "no_proxy_hosts": ".corp.example.com,$(id)"}, "no_proxy_hosts: '$(id)' is not a host, domain or network"),
    ({**B, "corporate_ca_cert": "~/corp.pem"}, "corporate_ca_cert: '~/corp.pem' is not an absolute path"),
    ({**B, "corporate_ca_cert": "/etc/ca.pem\nexport X=1"}, "corporate_ca_cert: '/etc/ca.pem\\nexport X=1' contains a control character (U+000A)"),
])
def test_bad_proxy_input(template_repo, tmp_path, data, message):
    assert message in rejected(template_repo, tmp_path, **data)


def test_a_bare_wildcard_no_proxy_is_refused_in_one_line(template_repo, tmp_path):
    """`*` alone would send nothing through the proxy the answers say the network needs (issue 30's decision);
    `*.corp.example.com` is NO_PROXY's domain wildcard and stays accepted."""
    last = rejected(template_repo, tmp_path, **B, no_proxy_hosts="*")
    assert last.startswith("no_proxy_hosts: '*' would switch the proxy off for every host"), last
