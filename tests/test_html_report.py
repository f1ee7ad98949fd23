"""scripts/usage-report.sh --format html, from each source's recorded answers (tests/support/report_data.py: LiteLLM's
spend database and its Prometheus counters, the Claude apps gateway's cost report, Claude Code's telemetry through the
collector's Prometheus), opened in Debian's headless Chromium (tests/support/browser.py) as a person would: the page
asks no host for anything and logs no error, the charts hold the series and values of the data, a developer named in
HTML and script is text, and the page's screenshot is not blank. The live gateway tests run the same report against
the real engines (tests/test_live_access.py, tests/test_live_apps_gateway_access.py)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from browser import Chromium, chromium_path
from environment import REPO_ROOT, clean_env
from golden_trees import render_all
from otlp_translation import exposition
from prometheus_fake import RunningFakePrometheus
from report_data import (
    ALICE_EMAIL,
    APPS_EFFECTIVE,
    BOB_EMAIL,
    HAIKU,
    HOSTILE,
    LITELLM_KEYS,
    LITELLM_METRICS,
    LITELLM_TEAMS,
    ODD_MODEL,
    OPUS,
    TELEMETRY_POINTS,
    RecordedAPI,
    apps_cost,
    litellm_daily_activity,
)

pytestmark = pytest.mark.live  # a real browser

HANG_GUARD = 60
PERIOD = ("--since", "2026-11-01", "--until", "2026-11-03")
MASTER_KEY = "sk-test-master-key-for-the-report"
READ_KEY = "read-key-for-the-report-0123456789abcdef"
ANSWERS = {
    "litellm-database": {"cost_tracking": True, "spend_database": True},
    "litellm-metrics": {"cost_tracking": True},
    "apps-gateway": {"cost_tracking": True, "gateway_engine": "claude_apps_gateway", "gateway_runtime": "process",
                     "oidc_issuer": "https://login.example.com", "usage_telemetry": True,
                     "otel_endpoint": "https://otel.example.com"},
    "telemetry": {"usage_telemetry": True, "otel_endpoint": "http://127.0.0.1:14318"},
}
# The docs' picture of the report (docs/usage-report.md of a generated repository shows it).
SCREENSHOT = REPO_ROOT / "template" / "docs" / "{% if usage_reports %}images{% endif %}" / \
    "usage-report.png"


def python_path_env() -> str:
    """PATH with this venv's python3 first: the generated scripts run `python3`, which has pygal once
    requirements-dev.txt is installed (here: requirements-test.txt pins the same pygal)."""
    return f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"


@pytest.fixture(scope="module")
def projects(template_repo, tmp_path_factory) -> dict[str, Path]:
    return render_all(template_repo, tmp_path_factory.mktemp("html-report"), ANSWERS)


def run(project: Path, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["scripts/usage-report.sh", *args], cwd=project, capture_output=True, text=True,
                          timeout=HANG_GUARD, check=False, env=clean_env(home, **{"PATH": python_path_env(), **env}))


def litellm_answers(readable: bool = False) -> dict:
    """The recorded LiteLLM answers; `readable`: the hostile developer and model renamed (the docs' picture)."""
    answers = {"/user/daily/activity": litellm_daily_activity(), "/key/list": LITELLM_KEYS,
               "/team/list": LITELLM_TEAMS, "/metrics/": LITELLM_METRICS}
    if not readable:
        return answers
    text = json.dumps(answers).replace(HOSTILE, "carol").replace(ODD_MODEL, "claude-sonnet-5-5")
    return json.loads(text)


@pytest.fixture(scope="module")
def reports(projects, tmp_path_factory) -> dict[str, Path]:
    """Each source's page, written by the generated script from the recorded answers."""
    folder = tmp_path_factory.mktemp("pages")
    home = folder / "home"
    home.mkdir()
    out = {}
    litellm = litellm_answers()
    with RecordedAPI(litellm) as api:
        for name in ("litellm-database", "litellm-metrics"):
            out[name] = folder / f"{name}.html"
            args = [*PERIOD] if name == "litellm-database" else []
            result = run(projects[name], home, *args, "--format", "html", "--output", str(out[name]),
                         GATEWAY_URL=api.url, LITELLM_MASTER_KEY=MASTER_KEY)
            assert result.returncode == 0, result.stderr
            assert result.stdout == f"wrote {out[name]}\n" and result.stderr == ""
    with RecordedAPI({"/v1/organizations/analytics/cost": apps_cost,
                      "/v1/organizations/spend_limits/effective": APPS_EFFECTIVE}) as api:
        out["apps-gateway"] = folder / "apps-gateway.html"
        result = run(projects["apps-gateway"], home, *PERIOD, "--format", "html", GATEWAY_URL=api.url,
                     GATEWAY_ADMIN_READ_KEY=READ_KEY)
        assert result.returncode == 0, result.stderr
        out["apps-gateway"].write_text(result.stdout)  # stdout without --output
        assert ("/v1/organizations/analytics/cost", {
            "starting_at": ["2026-11-01T00:00:00Z"], "ending_at": ["2026-11-04T00:00:00Z"], "group_by[]": ["actor"],
            "time_bucket_width": ["1d"]}) in api.requests
    with RunningFakePrometheus(exposition(TELEMETRY_POINTS)) as prometheus:
        out["telemetry"] = folder / "telemetry.html"
        result = run(projects["telemetry"], home, *PERIOD, "--format", "html", "--output", str(out["telemetry"]),
                     PROMETHEUS_URL=prometheus.url)
        assert result.returncode == 0, result.stderr
        beside = folder / "apps-telemetry.html"
        result = run(projects["apps-gateway"], home, "--source", "telemetry", *PERIOD, "--format", "html",
                     "--output", str(beside), PROMETHEUS_URL=prometheus.url)
        assert result.returncode == 0, result.stderr
        out["apps-telemetry"] = beside
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with Chromium(chromium_path(), tmp_path_factory.mktemp("chromium")) as chromium:
        yield chromium


CHARTS_JS = """
[...document.querySelectorAll('figure[data-chart]')].map(figure => {
  const svg = figure.querySelector('svg');
  const series = {};
  const legends = [...svg.querySelectorAll('.legends .legend text')].map(t => t.textContent);
  svg.querySelectorAll('g.plot:not(.overlay):not(.text-overlay):not(.tooltip-overlay) > g.series').forEach(g => {
    const index = Number([...g.classList].find(c => c.startsWith('serie-')).slice(6));
    const values = {};
    g.querySelectorAll('g.bar').forEach(bar => {
      values[bar.querySelector('desc.x_label').textContent] = bar.querySelector('desc.value').textContent;
    });
    series[legends[index]] = values;
  });
  return {key: figure.dataset.chart, title: svg.querySelector('.title').textContent, legends, series,
          width: svg.getBoundingClientRect().width};
})
"""


def charts(browser, page: Path) -> dict[str, dict]:
    visit = browser.open(page.as_uri())
    assert visit.problems == [], visit.problems
    return {chart["key"]: chart for chart in browser.evaluate(CHARTS_JS)}


@pytest.mark.parametrize("source", ["litellm-database", "litellm-metrics", "apps-gateway", "telemetry",
                                    "apps-telemetry"])
def test_the_page_opens_offline_without_a_request_or_an_error(browser, reports, source):
    page = reports[source]
    visit = browser.open(page.as_uri())
    assert visit.requests == [page.as_uri()]  # the document itself, nothing else
    assert visit.problems == []
    assert visit.title.startswith("Claude Code usage: ")
    csp = browser.evaluate("document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]').content")
    assert csp.startswith("default-src 'none';") and "script-src" not in csp
    assert browser.evaluate("document.scripts.length") == 0
    assert browser.evaluate("document.querySelectorAll('figure[data-chart] svg').length") >= 2
    # pygal's own stylesheet is inline in each chart: bars in the palette's colours on white, not unstyled black.
    fills = browser.evaluate("[...document.querySelectorAll('figure[data-chart] svg')].map(svg => "
                             "[getComputedStyle(svg.querySelector('rect.background')).fill, "
                             "getComputedStyle(svg.querySelector('g.series rect.rect')).fill])")
    assert all(background == "rgb(255, 255, 255)" and bar not in ("rgb(0, 0, 0)", background)
               for background, bar in fills), fills
    # Every section names its source.
    sections = browser.evaluate("[...document.querySelectorAll('section.report')].map(s => "
                                "[s.querySelector('h2').textContent, s.querySelector('p.source').textContent])")
    assert sections and all(source_line.startswith("Source: ") and len(source_line) > 20
                            for _, source_line in sections), sections


def test_litellm_database_charts_hold_the_figures(browser, reports):
    shown = charts(browser, reports["litellm-database"])
    developers = shown["spend-per-developer"]["series"]
    assert developers["spend in the period"] == {"alice": "$3.50", "bob": "$1.25", HOSTILE: "$0.7500",
                                                 "(master key)": "$0.0500"}
    # Budget left now: the key's max_budget less its spend; the developer without a budget has no bar.
    assert developers["budget left now"] == {"alice": "$37.50", "bob": "$26.00"}
    assert shown["spend-per-team"]["series"]["budget left now"] == {"platform": "$380.00", "mobile": "$199.25"}
    assert shown["spend-per-team"]["series"]["spend in the period"]["(no team)"] == "$0.0500"
    assert shown["spend-per-model"]["series"]["spend in the period"] == {OPUS: "$4.50", HAIKU: "$0.3000",
                                                                         ODD_MODEL: "$0.7500"}
    tokens = shown["tokens-per-model"]["series"]
    assert list(tokens) == ["input", "output", "cache read", "cache creation"]
    # LiteLLM's prompt tokens include the cache's: the chart's input is the uncached rest (9000 - 6000 - 300).
    assert tokens["input"][OPUS] == "2,700" and tokens["cache read"][OPUS] == "6,000"
    trend = shown["daily-trend"]["series"]
    assert trend[OPUS] == {"2026-11-01": "$1.50", "2026-11-02": "$2.00", "2026-11-03": "$1.00"}
    assert set(trend) == {OPUS, HAIKU, ODD_MODEL}
    # The numbers under the charts: requests and the prompt-cache share.
    row = browser.evaluate("[...document.querySelectorAll('#tokens-per-model tbody tr')].map(r => "
                           "[...r.children].map(c => c.textContent)).find(r => r[0] === 'claude-opus-5-5')")
    assert row == ["claude-opus-5-5", "9", "9,000", "1,300", "6,000", "300", "66.7%"]
    totals = browser.evaluate("[...document.querySelectorAll('.totals div')].map(d => d.textContent)")
    assert totals[:2] == ["spend$5.55", "requests13"]
    assert browser.evaluate("document.querySelector('.period strong').textContent") == \
        "2026-11-01 to 2026-11-03 (UTC days)"


def test_litellm_metrics_charts_hold_the_figures(browser, reports):
    shown = charts(browser, reports["litellm-metrics"])
    assert shown["spend-per-developer"]["series"]["spend in the period"] == {
        "dana": "$1.25", HOSTILE: "$0.5000", "(no end-user id sent)": "$0.2500"}
    assert shown["tokens-per-developer"]["series"]["cache read"]["dana"] == "2,500"
    assert "daily-trend" not in shown
    note = browser.evaluate("document.querySelector('#daily-trend .note').textContent")
    assert "not days" in note


def test_apps_gateway_charts_hold_the_figures(browser, reports):
    shown = charts(browser, reports["apps-gateway"])
    developers = shown["spend-per-developer"]["series"]
    assert developers["spend in the period"] == {ALICE_EMAIL: "$2.00", BOB_EMAIL: "$0.9000", HOSTILE: "$0.4500"}
    assert developers["budget left now"] == {ALICE_EMAIL: "$49.20", HOSTILE: "$19.55"}
    assert shown["spend-per-group"]["series"]["spend in the period"] == {"engineering": "$2.00", "sales": "$1.35"}
    assert shown["daily-trend"]["series"][ALICE_EMAIL] == {"2026-11-01": "$1.20", "2026-11-02": "$0.8000",
                                                           "2026-11-03": "$0"}


def test_telemetry_charts_hold_the_figures(browser, reports):
    shown = charts(browser, reports["telemetry"])
    assert shown["spend-per-developer"]["series"]["spend in the period"] == {
        "alice": "$1.30", "bob": "$0.5000", HOSTILE: "$0.2000", "(no developer attribute)": "$0.0100"}
    tokens = shown["tokens-per-developer"]["series"]
    assert tokens["input"]["alice"] == "1,000" and tokens["cache read"]["alice"] == "3,000"
    # The fake answers every day's query with the whole exposition: each day shows the same per-model cost.
    assert shown["daily-trend"]["series"]["claude-opus-5-5"] == dict.fromkeys(
        ("2026-11-01", "2026-11-02", "2026-11-03"), "$1.76")
    share = browser.evaluate("[...document.querySelectorAll('#tokens-per-developer tbody tr')].map(r => "
                             "[...r.children].map(c => c.textContent)).find(r => r[0] === 'alice')")
    assert share[-1] == "75.0%"  # 3000 cache reads of all input: 1000 uncached + 3000 read + 0 written
    beside = charts(browser, reports["apps-telemetry"])
    assert beside["spend-per-developer"]["series"] == shown["spend-per-developer"]["series"]


@pytest.mark.parametrize("source", ["litellm-database", "litellm-metrics", "apps-gateway", "telemetry"])
def test_a_developer_named_in_html_and_script_is_text(browser, reports, source):
    browser.open(reports[source].as_uri())
    assert browser.evaluate("document.title") != "pwned"
    assert browser.evaluate("document.images.length") == 0 and browser.evaluate("document.scripts.length") == 0
    cells = browser.evaluate("[...document.querySelectorAll('tbody th')].map(c => c.textContent)")
    assert HOSTILE in cells
    labels = browser.evaluate("[...document.querySelectorAll('desc.x_label')].map(d => d.textContent)")
    assert HOSTILE in labels
    text = reports[source].read_text()
    assert HOSTILE not in text and "<script" not in text


def test_the_screenshot_is_not_blank_and_the_docs_show_one(browser, reports, projects, tmp_path):
    from PIL import Image, ImageStat

    browser.open(reports["litellm-database"].as_uri())
    data = browser.screenshot(tmp_path / "report.png")
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    assert width >= 1000 and height > 1500, image.size  # the whole page, every chart
    stats = ImageStat.Stat(image.convert("L"))
    assert stats.stddev[0] > 20, stats.stddev  # text and bars on white, not one colour
    assert len(image.getcolors(1 << 20) or []) > 50
    if os.environ.get("REFRESH_SCREENSHOT"):  # the docs' picture: the top of the same page, with readable names
        page = tmp_path / "docs.html"
        home = tmp_path / "home"
        home.mkdir()
        with RecordedAPI(litellm_answers(readable=True)) as api:
            result = run(projects["litellm-database"], home, *PERIOD, "--format", "html", "--output", str(page),
                         GATEWAY_URL=api.url, LITELLM_MASTER_KEY=MASTER_KEY)
        assert result.returncode == 0, result.stderr
        browser.open(page.as_uri())
        picture = Image.open(io.BytesIO(browser.screenshot(tmp_path / "docs.png"))).convert("RGB")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        picture.crop((0, 0, picture.size[0], min(picture.size[1], 1800))).quantize(colors=64).save(
            SCREENSHOT, optimize=True)
    committed = Image.open(SCREENSHOT)
    assert committed.format == "PNG" and committed.size[0] >= 1000
    assert ImageStat.Stat(committed.convert("L")).stddev[0] > 20


def test_without_pygal_html_is_one_line_naming_the_fix(projects, tmp_path):
    blocker = tmp_path / "no-pygal" / "pygal"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('pygal is not installed')\n")
    with RunningFakePrometheus(exposition(TELEMETRY_POINTS)) as prometheus:
        result = run(projects["telemetry"], tmp_path, "--format", "html", PROMETHEUS_URL=prometheus.url,
                     PYTHONPATH=str(blocker.parent))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == ("usage-report.sh: --format html needs pygal for python3: pip install -r "
                             "requirements-dev.txt (pygal, which draws the charts)\n")
    assert prometheus.queries == []  # nothing asked before the check
