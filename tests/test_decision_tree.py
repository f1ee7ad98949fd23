"""The seed's decision tree: two answers derive the pattern, which is never asked, stored or overridable."""

import pytest
import yaml
from claude_gateway_template.patterns import pattern_summary
from claude_gateway_template.providers import REGISTRY
from template_clone import run_copier_cli

LEAVES = [
    (False, False, "A", "Direct provider access", "5 minutes or less"),
    (False, True, "B", "Corporate proxy", "10-15 minutes"),
    (True, False, "C", "LLM gateway", "15-20 minutes"),
    (True, True, "D", "Corporate proxy + LLM gateway", "30-60 minutes"),
]


@pytest.mark.parametrize(("cost_tracking", "corporate_proxy", "pattern", "name", "setup_time"), LEAVES)
def test_leaf_derives_pattern(generate, cost_tracking, corporate_proxy, pattern, name, setup_time):
    proxy = {"proxy_url": "http://proxy.example.com:8080"} if corporate_proxy else {}
    project = generate(cost_tracking=cost_tracking, corporate_proxy=corporate_proxy, **proxy)
    readme = (project / "README.md").read_text()
    assert readme.startswith(f"# Claude Code setup: Pattern {pattern}, {name}")
    assert setup_time in readme
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["cost_tracking"] is cost_tracking and answers["corporate_proxy"] is corporate_proxy
    assert "pattern" not in answers  # derived, never stored


def test_pattern_cannot_be_forced_with_data(template_repo, tmp_path):
    result = run_copier_cli(template_repo, tmp_path / "p", data={"pattern": "D"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p" / "README.md").read_text().startswith("# Claude Code setup: Pattern A,")
    assert "pattern" not in yaml.safe_load((tmp_path / "p" / ".copier-answers.yml").read_text())


def test_post_copy_message_shows_pattern_reason_pros_cons_and_setup_time(template_repo, tmp_path):
    result = run_copier_cli(template_repo, tmp_path / "p", data={"cost_tracking": True, "corporate_proxy": True,
                                                                  "proxy_url": "http://proxy.example.com:8080"})
    assert result.returncode == 0, result.stderr
    message = result.stdout + result.stderr
    assert "Pattern D: Corporate proxy + LLM gateway" in message
    assert "you answered yes to cost tracking (cost_tracking) and yes to a required network proxy" in message
    assert "Setup time: 30-60 minutes" in message
    assert "+ Defense in depth" in message and "- Highest latency" in message



@pytest.mark.parametrize("engine", ["litellm", "claude_apps_gateway"])
def test_pattern_c_names_the_providers_its_engine_can_call(generate, engine):
    """The Multi-provider pro lists, per engine, the provider records that engine can call (LiteLLM 1.108 has no
    Claude on Google Cloud provider): in the README and in the post-copy summary."""
    extra = {"gateway_runtime": "process", "oidc_issuer": "https://login.example.com"} if engine != "litellm" else {}
    project = generate(cost_tracking=True, gateway_engine=engine, **extra)
    callable_ = [p for p in REGISTRY.values() if engine not in p.unsupported_engines]
    line = f"- Multi-provider support ({', '.join(p.short_name for p in callable_)})"
    readme = (project / "README.md").read_text()
    assert line in readme.splitlines(), readme[:2000]
    summary = pattern_summary("C", "x", engine)
    assert f"  + {line[2:]}" in summary.splitlines()
    assert ("Claude on Google Cloud" in line) is (engine != "litellm")
    if engine != "litellm":  # the engine page lists both engines, each with what it can call
        page = (project / "docs" / "claude-apps-gateway.md").read_text()
        assert f"- Upstreams: {', '.join(p.short_name for p in callable_)}, in failover order" in page
        assert "- Cannot call Claude on Google Cloud: the pinned LiteLLM (1.108) has no" in page
