"""access.yaml, new-key.sh, the sync's key delivery and the usage report, against careless and hostile input: what the
user sees (the exit code, the one line) for LiteLLM's reserved identities, values beyond what LiteLLM stores, YAML
aliases and other encodings, a keys folder that is a link or a file, a key whose delivery fails or whose answer is
lost, and CSV cells a spreadsheet would run. The sync runs in-process against a small loopback stand-in of LiteLLM's
admin API (the same calls run live in tests/test_live_access.py)."""

from __future__ import annotations

import csv
import io
import json
import socketserver
import stat
import threading
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from template_lib import load

gateway_api = load("gateway_api")
access_file = load("access_file")  # the library access.py imports, under its rendered names
access_sync = load("access_sync")
access = load("access")
report_format = load("report_format")  # usage_report.py imports it
load("html_report")  # ... and this (--format html)
usage_report = load("usage_report")

MODELS = ["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"]
MASTER = "sk-master-key-for-tests-0001"


def problems(data) -> list[str]:
    with pytest.raises(access.AccessFileError) as error:
        access.parse(data, MODELS)
    return error.value.problems


# ---------------------------------------------------------------------------------------------------------------
# Identities LiteLLM reserves
# ---------------------------------------------------------------------------------------------------------------
RESERVED = st.sampled_from(["default_user_id", "litellm-dashboard", "litellm-proxy-budget", "litellm_internal_jobs",
                            "litellm"]).flatmap(
    lambda name: st.lists(st.booleans(), min_size=len(name), max_size=len(name)).map(
        lambda upper: "".join(c.upper() if u else c for c, u in zip(name, upper))))


@settings(max_examples=60)
@given(name=RESERVED, section=st.sampled_from(["teams", "developers"]))
def test_a_name_litellm_gives_its_own_identities_is_refused_in_one_line(name, section):
    (line,) = problems({section: {name: {}}})
    assert line == (f"access.yaml: {section}.{name}: the name {name!r} is one LiteLLM gives its own identities; a "
                    "name must be not default_user_id nor starting with litellm (LiteLLM's own identities)")


@pytest.mark.parametrize("name", ["default_user_id", "DEFAULT_USER_ID", "litellm-dashboard"])
def test_new_key_refuses_a_reserved_name_before_calling_the_gateway(capsys, monkeypatch, name):
    monkeypatch.setenv("GATEWAY_URL", "http://127.0.0.1:9")  # nothing listens: a call would fail differently
    monkeypatch.setenv("GATEWAY_ADMIN_KEY", MASTER)
    code = access.main(["new-key", name, "--models", json.dumps(MODELS), "--alias-suffix", " (x)"])
    err = capsys.readouterr().err
    assert (code, err.count("\n")) == (2, 1), err
    assert err.startswith(f"new-key.sh: developer {name!r} is a name LiteLLM gives its own identities")


def test_ordinary_names_stay_allowed():
    parsed = access.parse({"teams": {"lite": {}}, "developers": {"default_user": {"team": "lite"},
                                                                  "alice.litellm": {}}}, MODELS)
    assert sorted(parsed.developers) == ["alice.litellm", "default_user"]


# ---------------------------------------------------------------------------------------------------------------
# Values within what LiteLLM stores; every message bounded
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("settings_", "expected"), [
    ({"rpm_limit": 2**31}, "developers.a.rpm_limit: 2147483648 must be a whole number of requests per minute, from 1"),
    ({"tpm_limit": 10**30}, "developers.a.tpm_limit: 1000000000000000000000000000000 must be a whole number of tokens"),
    ({"budget": {"usd": 1e300}}, "developers.a.budget.usd: 1e+300 must be a number of US dollars above 0 and at most"),
    ({"budget": {"usd": float("inf")}}, "developers.a.budget.usd: inf must be a number of US dollars"),
])
def test_numbers_beyond_what_litellm_stores_are_refused_when_read(settings_, expected):
    (line,) = problems({"developers": {"a": settings_}})
    assert line.startswith("access.yaml: " + expected), line


HOSTILE = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=2000),
                       lambda inner: st.lists(inner, max_size=50) | st.dictionaries(st.text(max_size=300), inner,
                                                                                    max_size=5), max_leaves=30)


@settings(max_examples=150, deadline=None)
@given(data=st.dictionaries(st.sampled_from(["teams", "developers", "x" * 500]),
                            st.dictionaries(st.text(max_size=300), HOSTILE, max_size=4), max_size=3))
def test_any_file_reads_or_is_refused_in_bounded_lines(data):
    try:
        access.parse(data, MODELS)
    except access.AccessFileError as error:
        assert error.problems
        for line in error.problems:
            assert "\n" not in line and len(line) <= access.MAX_PROBLEM, line


def load_text(tmp_path, content: bytes) -> list[str]:
    path = tmp_path / "access.yaml"
    path.write_bytes(content)
    with pytest.raises(access.AccessFileError) as error:
        access.load(path, MODELS)
    return error.value.problems


def test_aliases_are_refused_in_one_short_line(tmp_path):
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x]"] + [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 7)]  # 8**7 leaves once expanded
    text = "\n".join(levels) + "\nteams: {}\ndevelopers:\n  bomb:\n    models: *a6\n"
    started = time.monotonic()
    (line,) = load_text(tmp_path, text.encode())
    assert time.monotonic() - started < 10  # a hang guard
    assert "(line 2): not valid YAML: an alias (*name): access.yaml does not use aliases" in line and len(line) < 300


def test_another_encoding_is_one_line_naming_the_line(tmp_path):
    (line,) = load_text(tmp_path, "developers:\n  jos\u00e9: {}\n".encode("latin-1"))
    assert line.endswith("access.yaml (line 2): not UTF-8 text (byte 17); save it as UTF-8"), line


def test_a_huge_number_in_yaml_is_one_line(tmp_path):
    (line,) = load_text(tmp_path, b"developers:\n  a: {rpm_limit: " + b"9" * 6000 + b"}\n")
    assert "not a value access.yaml can hold" in line and len(line) < 300


# ---------------------------------------------------------------------------------------------------------------
# The sync, in-process, against a loopback stand-in of LiteLLM's admin API
# ---------------------------------------------------------------------------------------------------------------
class FakeLiteLLM(socketserver.ThreadingTCPServer):
    """Teams and keys in memory; /key/generate can be made to fail after storing the key, or to run a hook."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.teams: dict[str, dict] = {}
        self.keys: dict[str, dict] = {}  # by key
        self.calls: list[tuple[str, dict]] = []
        self.lose_generate_answer = False
        self.on_generate = None
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=10)

    def answer(self, method: str, path: str, body: dict) -> tuple[int, object]:
        self.calls.append((path, body))
        if path == "/team/list":
            return 200, list(self.teams.values())
        if path.startswith("/key/list"):
            return 200, {"keys": [{**key, "key": None} for key in self.keys.values()], "total_pages": 1}
        if path == "/team/new":
            self.teams[body["team_id"]] = body
            return 200, body
        if path == "/key/generate":
            if any(k.get("key_alias") == body.get("key_alias") for k in self.keys.values()):
                return 400, {"error": {"message": "Key with alias already exists."}}  # as LiteLLM 1.108
            key = "sk-" + uuid.uuid4().hex
            import hashlib
            self.keys[key] = {**body, "token": hashlib.sha256(key.encode()).hexdigest(), "key_name": "sk-..." + key[-4:]}
            if self.on_generate:
                self.on_generate(body)
            if self.lose_generate_answer:
                return 502, {"error": {"message": "upstream connect error"}}
            return 200, {"key": key, **body}
        if path == "/key/update":
            found = next((k for k, v in self.keys.items() if body["key"] in (k, v["token"])), None)
            if found is None:
                return 404, {"error": {"message": "key not found"}}
            self.keys[found].update({k: v for k, v in body.items() if k != "key"})
            return 200, {}
        if path == "/key/delete":
            for wanted in body["keys"]:
                for k, v in list(self.keys.items()):
                    if wanted in (k, v["token"]):
                        del self.keys[k]
            return 200, {"deleted_keys": body["keys"]}
        return 404, {"error": {"message": "no route"}}


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        request_line = self.rfile.readline(65536).decode()
        length = 0
        while (line := self.rfile.readline(65536).decode().strip()):
            if line.lower().startswith("content-length:"):
                length = int(line.split(":")[1])
        body = json.loads(self.rfile.read(length) or b"{}")
        method, path = request_line.split(" ")[:2]
        status, answer = self.server.answer(method, path, body)
        data = json.dumps(answer).encode()
        self.wfile.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                         f"Connection: close\r\n\r\n".encode() + data)


@pytest.fixture
def gateway(monkeypatch):
    server = FakeLiteLLM()
    monkeypatch.setenv("GATEWAY_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("GATEWAY_ADMIN_KEY", MASTER)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def project(tmp_path):
    (tmp_path / "gateway").mkdir()
    (tmp_path / "gateway" / "access.yaml").write_text("developers:\n  alice: {}\n  bob: {}\n")
    return tmp_path


def sync(project, capsys, *extra: str) -> tuple[int, str, str]:
    code = access.main(["sync", str(project / "gateway" / "access.yaml"), "--models", json.dumps(MODELS),
                        "--alias-suffix", " (x)", "--keys-dir", str(project / "gateway" / "keys"), *extra])
    out, err = capsys.readouterr()
    assert MASTER not in out + err
    return code, out, err


def created(gateway) -> list[str]:
    """The calls that changed something (the sync reads the teams and keys first)."""
    return [path for path, _ in gateway.calls if path != "/team/list" and not path.startswith("/key/list")]


def test_a_keys_folder_that_is_a_link_is_refused_before_anything_is_created(project, gateway, capsys, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "gateway" / "keys").symlink_to(elsewhere)
    code, _, err = sync(project, capsys)
    assert code == 2
    assert err.splitlines() == [(f"sync-access.sh: the keys folder {project}/gateway/keys is a symbolic link; keys are "
                                 "written only to a real folder (remove the link; the folder is created with mode 700)")]
    assert created(gateway) == [] and list(elsewhere.iterdir()) == []


def test_a_keys_folder_that_is_a_file_is_refused_before_anything_is_created(project, gateway, capsys):
    (project / "gateway" / "keys").write_text("not a folder")
    code, _, err = sync(project, capsys)
    assert code == 2 and "is not a folder; move that file away" in err and created(gateway) == []


def test_the_keys_folder_is_created_or_narrowed_to_700(project, gateway, capsys):
    code, _, _ = sync(project, capsys)
    keys = project / "gateway" / "keys"
    assert code == 0 and stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert stat.S_IMODE((keys / "alice.key").stat().st_mode) == 0o600
    keys.chmod(0o755)
    code, out, _ = sync(project, capsys)
    assert code == 0 and "had mode 755; now 700" in out and stat.S_IMODE(keys.stat().st_mode) == 0o700


def test_a_key_that_cannot_be_delivered_is_revoked(project, gateway, capsys):
    keys = project / "gateway" / "keys"

    def race(body):  # between the check and the write, something puts a file where bob's key goes
        if body["user_id"] == "bob":
            (keys / "bob.key").write_text("someone else's file\n")

    gateway.on_generate = race
    code, out, err = sync(project, capsys)
    assert code == 1, out + err
    assert err.strip().splitlines()[-1].startswith("sync stopped: developer bob: the new key could not be delivered "
                                                   "(File exists); it was revoked on the gateway")
    assert [key["user_id"] for key in gateway.keys.values()] == ["alice"]  # bob's key is gone from the server
    assert (keys / "bob.key").read_text() == "someone else's file\n"  # and the file it did not create is intact


def test_a_key_whose_answer_was_lost_is_reported_until_rotated(project, gateway, capsys):
    gateway.lose_generate_answer = True
    code, _, err = sync(project, capsys)
    assert code == 1 and "POST /key/generate answered HTTP 502" in err
    gateway.lose_generate_answer = False
    code, out, err = sync(project, capsys)  # alice's key is on the server, never delivered
    assert code == 1, out + err
    assert any(line.startswith("NOT DELIVERED: developer alice  key …") and line.endswith(
        "replace it: scripts/sync-access.sh --rotate alice") for line in out.splitlines()), out
    assert "1 developer(s) without a delivered key" in err
    code, out, err = sync(project, capsys)  # still: every run says so until it is resolved
    assert code == 1
    code, out, err = sync(project, capsys, "--rotate", "alice")
    assert code == 0, out + err
    assert [key["user_id"] for key in gateway.keys.values()] == ["bob", "alice"]
    assert all(key["metadata"] == {"managed_by": access.MANAGED_BY} for key in gateway.keys.values())
    assert sync(project, capsys)[0] == 0


def test_an_undelivered_key_found_in_its_file_is_confirmed(project, gateway, capsys):
    """Delivered, but the mark was not removed (the run stopped right after writing): the file proves it."""
    assert sync(project, capsys)[0] == 0
    for key in gateway.keys.values():
        key["metadata"] = {**key["metadata"], "key_delivery": "pending"}
    code, out, _ = sync(project, capsys)
    assert code == 0 and out.count("confirmed developer") == 2


# ---------------------------------------------------------------------------------------------------------------
# Reports safe to open
# ---------------------------------------------------------------------------------------------------------------
FORMULA = tuple("=+-@\t\r")


@settings(max_examples=150)
@given(names=st.lists(st.text(st.characters(blacklist_characters="\0"), min_size=1, max_size=30), min_size=1,
                      max_size=5, unique=True),
       spend=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_no_csv_cell_starts_like_a_formula_and_numbers_stay_numbers(names, spend):
    rows = [{"developer": name, "team": "=team" + name, "requests": -3, "spend_usd": spend,
             "budget_left_usd": None} for name in names]
    out = io.StringIO()
    usage_report.write(out, rows, "csv", "t")
    parsed = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert parsed[0] == ["developer", "team", "requests", "spend_usd", "budget_left_usd"]
    for row, source in zip(parsed[1:], rows):
        name = source["developer"]
        assert row[0] == ("'" + name if name.startswith(FORMULA) else name)  # neutralised, else as it was
        assert row[1] == "'" + source["team"]
        assert row[2] == "-3" and float(row[3]) == spend  # numbers: written as numbers, a minus sign included


def test_metrics_developer_names_from_a_header_cannot_run_a_formula(capsys, monkeypatch):
    text = ('litellm_spend_metric_total{end_user="=HYPERLINK(\\"http://x\\")",model="m"} 1.5\n'
            'litellm_spend_metric_total{end_user="@SUM(1)",model="m"} 2\n')
    rows = usage_report.records(usage_report.from_metrics(text, "developer", ""), "developer", None)
    out = io.StringIO()
    usage_report.write(out, rows, "csv", "t")
    cells = [row[0] for row in csv.reader(io.StringIO(out.getvalue()))][1:]
    assert cells == ["'=HYPERLINK(\\\"http://x\\\")", "'@SUM(1)"]


@pytest.mark.parametrize("until", ["9999-12-31", "0001-01-01", "0001-01-03"])
def test_an_until_at_the_calendars_edge_is_one_line(capsys, until):
    with pytest.raises(SystemExit) as exit_:
        usage_report.main(["--source", "database", "--until", until])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err, err
    assert err.splitlines()[-1] == (f"usage-report.sh: error: argument --until: {until!r} is outside 2000-01-01 to "
                                    "2999-12-31, the days a report covers")


@pytest.mark.parametrize("answer", [
    {"results": [{"breakdown": {"api_keys": {"h": {"metrics": {"spend": "lots"}, "metadata": {}}}}}]},
    {"results": [{"breakdown": {"api_keys": ["h"]}}]},
    {"results": [{"breakdown": {"api_keys": {"h": {"metrics": {"spend": 1e308}, "metadata": {}},
                                             "g": {"metrics": {"spend": 1e308}, "metadata": {}}}}}]},
])
def test_a_malformed_report_answer_is_one_line(gateway, capsys, monkeypatch, answer):
    monkeypatch.setattr(gateway, "answer", lambda method, path, body: (200, answer if "daily" in path else
                                                                       {"keys": [], "total_pages": 1}))
    code = usage_report.main(["--source", "database", "--since", "2026-11-01", "--until", "2026-11-07"])
    err = capsys.readouterr().err
    assert (code, err.count("\n")) == (1, 1), err
    assert err.startswith("usage-report.sh: the gateway answered something this report cannot read"), err
