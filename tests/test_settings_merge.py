"""client/settings_merge.py (the JSON work of client/install.sh), imported straight from template/: the merge for
install and undo as pure functions, and main() on a temporary settings directory. No copier, no shell: fast.
tests/test_client_install.py runs the same file through the generated install.sh."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from template_lib import load

CONFLICTING = ("CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX")
SOURCE = {"$schema": "https://json.schemastore.org/claude-code-settings.json",
          "env": {"ANTHROPIC_BASE_URL": "https://llm.example.com", "ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-5-5"}}
OURS = SOURCE["env"]


sm = load("settings_merge", "template/client")


def install(current: dict, record: dict | None = None, text: str = "x", source: dict = SOURCE):
    return sm.plan("install", text, current, record or {}, source, CONFLICTING)


def undo(current: dict, record: dict, text: str = "x"):
    return sm.plan("undo", text, current, record)


# -------------------------------------------------------------------------------------------------------------
# The merge (pure)
# -------------------------------------------------------------------------------------------------------------
def test_install_into_absent_settings_writes_our_keys_and_notes_the_file_was_created():
    result = install({}, text="")
    assert result.settings == {"env": OURS}
    assert result.text == sm.dump({"env": OURS}) and not result.remove_file
    assert result.report == ["set       env.ANTHROPIC_BASE_URL", "set       env.ANTHROPIC_DEFAULT_OPUS_MODEL"]
    assert result.record == {"keys": {
        "env.ANTHROPIC_BASE_URL": {"had_previous": False, "previous": None, "value": "https://llm.example.com",
                                   "removed": False},
        "env.ANTHROPIC_DEFAULT_OPUS_MODEL": {"had_previous": False, "previous": None, "value": "claude-opus-5-5",
                                             "removed": False},
    }, "created_settings_file": True, "original_text": None}
    assert list(result.record) == ["keys", "created_settings_file", "original_text"]  # the record file's key order


def test_install_keeps_unrelated_keys_and_leaves_its_arguments_alone():
    user = {"model": "opus", "permissions": {"allow": ["Bash(ls)"]}, "env": {"MY_VAR": "mine"}}
    before = json.loads(json.dumps(user))
    result = install(user)
    assert result.settings == {"model": "opus", "permissions": {"allow": ["Bash(ls)"]},
                               "env": {"MY_VAR": "mine", **OURS}}
    assert user == before
    assert "$schema" not in result.settings and not result.record["created_settings_file"]


def test_install_removes_conflicting_variables_and_undo_puts_them_back():
    user = {"env": {"CLAUDE_CODE_USE_VERTEX": "1", "ANTHROPIC_DEFAULT_OPUS_MODEL": "my-old-pin"}}
    installed = install(user)
    assert installed.settings == {"env": {"ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-5-5",
                                          "ANTHROPIC_BASE_URL": "https://llm.example.com"}}
    assert "removed   env.CLAUDE_CODE_USE_VERTEX (conflicts with this setup)" in installed.report
    assert "env.CLAUDE_CODE_USE_BEDROCK" not in installed.record["keys"]  # absent and unwanted: not owned
    undone = undo(installed.settings, installed.record)
    assert undone.settings == user
    assert undone.report == ["removed   env.ANTHROPIC_BASE_URL", "restored  env.ANTHROPIC_DEFAULT_OPUS_MODEL",
                             "restored  env.CLAUDE_CODE_USE_VERTEX"]
    assert undone.record["keys"] == {}


def test_second_install_changes_nothing():
    first = install({"theme": "dark"}, text='{"theme": "dark"}')
    second = install(first.settings, first.record, text=first.text)
    assert second.text == first.text and second.report == [] and second.record == first.record


def test_undo_keeps_what_the_user_changed_after_install():
    installed = install({"env": {"MY_VAR": "mine"}})
    edited = json.loads(json.dumps(installed.settings))
    edited["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"] = "chosen-by-user"  # an owned key, changed since
    edited["env"]["MY_OTHER_VAR"] = "added later"
    edited["theme"] = "dark"
    undone = undo(edited, installed.record)
    assert undone.settings == {"env": {"MY_VAR": "mine", "ANTHROPIC_DEFAULT_OPUS_MODEL": "chosen-by-user",
                                       "MY_OTHER_VAR": "added later"}, "theme": "dark"}
    assert "kept      env.ANTHROPIC_DEFAULT_OPUS_MODEL (changed since install)" in undone.report


def test_undo_of_an_install_that_created_the_file_removes_it_unless_the_user_added_keys():
    installed = install({}, text="")
    assert undo(installed.settings, installed.record, text=installed.text).remove_file
    with_theme = {**installed.settings, "theme": "dark"}
    kept = undo(with_theme, installed.record, text=sm.dump(with_theme))
    assert not kept.remove_file and kept.settings == {"theme": "dark"}


def test_reinstall_takes_back_keys_the_source_no_longer_has():
    first = install({"env": {"ANTHROPIC_BASE_URL": "https://old.example.com"}})
    second = install(first.settings, first.record, source={"env": {"ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-5-5"}})
    assert second.settings == {"env": {"ANTHROPIC_BASE_URL": "https://old.example.com",
                                       "ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-5-5"}}
    assert second.report[0] == "restored  env.ANTHROPIC_BASE_URL"
    assert set(second.record["keys"]) == {"env.ANTHROPIC_DEFAULT_OPUS_MODEL"}


def test_top_level_keys_are_owned_whole_and_a_non_object_env_is_replaced_then_given_back():
    result = install({"env": "not an object"}, source={"apiKeyHelper": "vault get", "env": {"A": "1"}})
    assert result.settings == {"env": {"A": "1"}, "apiKeyHelper": "vault get"}
    undone = undo(result.settings, result.record)
    assert undone.settings == {"env": "not an object"}
    assert undone.report == ["removed   apiKeyHelper", "removed   env.A", "restored  env"]
    assert undone.record == {"keys": {}, "created_settings_file": False}  # the note on env is gone with it


@pytest.mark.parametrize("env", ["x", ["a", "b"], 42, None, {}])
def test_undo_gives_back_an_env_that_was_not_a_non_empty_object_exactly(env):
    user = {"theme": "dark", "env": env, "model": "opus"}
    installed = install(user, text=sm.dump(user))
    assert installed.settings["env"] == OURS
    undone = undo(installed.settings, installed.record, text=installed.text)
    assert undone.text == sm.dump(user)  # same value, same type, same place in the file
    assert "sections" not in undone.record and not undone.remove_file


def test_undo_keeps_a_replaced_env_the_user_added_to_since_and_says_so():
    installed = install({"env": "x"})
    edited = json.loads(json.dumps(installed.settings))
    edited["env"]["MY_VAR"] = "added later"
    undone = undo(edited, installed.record)
    assert undone.settings == {"env": {"MY_VAR": "added later"}}
    assert undone.report[-1] == 'kept      env (changed since install; it was "x")'


def test_reinstall_without_env_keys_gives_back_the_replaced_env():
    first = install({"env": ["a"]})
    second = install(first.settings, first.record, source={"apiKeyHelper": "vault get"})
    assert second.settings == {"env": ["a"], "apiKeyHelper": "vault get"}
    assert "sections" not in second.record


def test_undo_restores_earlier_values_with_their_json_types():
    source = {"includeCoAuthoredBy": False, "cleanupPeriodDays": 30, "env": {"A": "1", "B": "x"}}
    user = {"includeCoAuthoredBy": 0, "cleanupPeriodDays": 30.0, "env": {"A": 1, "B": None}}
    installed = install(user, text=sm.dump(user), source=source)
    assert installed.text == sm.dump({"includeCoAuthoredBy": False, "cleanupPeriodDays": 30,
                                      "env": {"A": "1", "B": "x"}})  # 0 is not false, 30.0 not 30, 1 not "1"
    undone = undo(installed.settings, installed.record, text=installed.text)
    assert undone.text == sm.dump(user)


def test_undo_keeps_a_value_the_user_changed_to_an_equal_looking_one_of_another_type():
    installed = install({}, source={"cleanupPeriodDays": 1})
    undone = undo({"cleanupPeriodDays": True}, installed.record)
    assert undone.settings == {"cleanupPeriodDays": True}
    assert undone.report == ["kept      cleanupPeriodDays (changed since install)"]


def test_diff_text_is_a_unified_diff_named_after_the_settings_file():
    diff = sm.diff_text('{"a": 1}\n', '{"a": 2}\n', "/h/.claude/settings.json")
    assert diff.splitlines() == ["--- /h/.claude/settings.json (before)", "+++ /h/.claude/settings.json (after)",
                                 "@@ -1 +1 @@", '-{"a": 1}', '+{"a": 2}']
    assert sm.diff_text("same\n", "same\n", "p") == ""


def test_dump_keeps_non_ascii_as_is():
    assert sm.dump({"env": {"X": "ünï"}}) == '{\n  "env": {\n    "X": "ünï"\n  }\n}\n'


# -------------------------------------------------------------------------------------------------------------
# main(): files, messages and exit codes
# -------------------------------------------------------------------------------------------------------------
@pytest.fixture
def home(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "settings.json").write_text(json.dumps(SOURCE, indent=2))
    return tmp_path


def run(home: Path, mode: str = "install", dry_run: bool = False) -> int:
    return sm.main([mode, "1" if dry_run else "0", str(home / ".claude"), str(home / "src" / "settings.json"),
                    json.dumps(list(CONFLICTING))])


def files(home: Path) -> dict[str, str]:
    claude = home / ".claude"
    return {p.name: p.read_text() for p in sorted(claude.iterdir())} if claude.exists() else {}


def write_settings(home: Path, text: str) -> None:
    (home / ".claude").mkdir(exist_ok=True)
    (home / ".claude" / "settings.json").write_text(text)


def test_main_install_and_undo_without_earlier_settings(home, capsys):
    path = home / ".claude" / "settings.json"
    assert run(home) == 0
    assert capsys.readouterr().out == ("set       env.ANTHROPIC_BASE_URL\nset       env.ANTHROPIC_DEFAULT_OPUS_MODEL\n"
                                       f"{path}: installed\n")
    assert json.loads(path.read_text()) == {"env": OURS}
    assert set(files(home)) == {"settings.json", "settings.installed-by-template.json"}  # nothing to back up
    assert run(home, "undo") == 0
    assert capsys.readouterr().out.endswith(f"{path}: undone\n")
    [(backup, text)] = files(home).items()  # the settings and the record are gone; the backup of what undo removed
    assert backup.startswith("settings.json.backup-") and json.loads(text) == {"env": OURS}


def test_main_second_install_changes_nothing_and_makes_one_backup(home, capsys):
    write_settings(home, '{"theme": "dark"}')
    assert run(home) == 0
    first = files(home)
    [backup] = [name for name in first if ".backup-" in name]
    assert first[backup] == '{"theme": "dark"}'
    assert f"backup:   {home / '.claude' / backup}\n" in capsys.readouterr().out
    assert run(home) == 0
    assert capsys.readouterr().out == f"{home / '.claude' / 'settings.json'}: already up to date, nothing to change\n"
    assert files(home) == first


def test_main_dry_run_prints_the_diff_and_writes_nothing(home, capsys):
    write_settings(home, '{"theme": "dark"}')
    assert run(home, dry_run=True) == 0
    out = capsys.readouterr().out
    assert '+    "ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-5-5"' in out
    assert out.endswith("dry run: nothing was written\n")
    assert files(home) == {"settings.json": '{"theme": "dark"}'}
    assert run(home, "undo", dry_run=True) == 0
    assert capsys.readouterr().out == f"{home / '.claude' / 'settings.json'}: nothing to change\n" \
                                      "dry run: nothing was written\n"


@pytest.mark.parametrize("text", ["[]", "42", '"text"', "null"])
def test_main_refuses_settings_that_are_not_an_object(home, capsys, text):
    write_settings(home, text)
    assert run(home) == 1
    captured = capsys.readouterr()
    path = home / ".claude" / "settings.json"
    assert captured.err == f"install.sh: {path} does not hold a JSON object; nothing was changed\n"
    assert captured.out == ""
    assert files(home) == {"settings.json": text}


def test_main_refuses_invalid_json(home, capsys):
    write_settings(home, "{ not json")
    assert run(home) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"install.sh: {home / '.claude' / 'settings.json'} is not valid JSON (")
    assert err.endswith("); fix it first; nothing was changed\n") and err.count("\n") == 1
    assert files(home) == {"settings.json": "{ not json"}


def test_main_refuses_a_missing_source(home, capsys):
    (home / "src" / "settings.json").unlink()
    assert run(home) == 1
    assert capsys.readouterr().err == f"install.sh: {home / 'src' / 'settings.json'} is missing; nothing was changed\n"
    assert files(home) == {}


@pytest.mark.parametrize("argv", [[], ["install", "0", "d", "s"], ["remove", "0", "d", "s", "[]"],
                                  ["install", "yes", "d", "s", "[]"]])
def test_main_wrong_arguments_exit_2(capsys, argv):
    assert sm.main(argv) == 2
    assert capsys.readouterr().err.startswith("usage: settings_merge.py ")


def test_backup_names_stay_distinct_within_one_second(tmp_path):
    settings = str(tmp_path / "settings.json")
    assert sm.backup_path(settings, "20261128-120000") == f"{settings}.backup-20261128-120000"
    (tmp_path / "settings.json.backup-20261128-120000").write_text("")
    (tmp_path / "settings.json.backup-20261128-120000-1").write_text("")
    assert sm.backup_path(settings, "20261128-120000") == f"{settings}.backup-20261128-120000-2"


# -------------------------------------------------------------------------------------------------------------
# main(): file modes, symlinks, read-only files and folders, write failures (fault injection)
# -------------------------------------------------------------------------------------------------------------
SECRETS = {"env": {"ANTHROPIC_API_KEY": "sk-ant-secret-key", "HTTPS_PROXY": "http://alice:s3cret@proxy:3128"}}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file below `folder`: its mode and bytes (links as their target's text)."""
    return {str(p.relative_to(folder)): (mode(p), os.readlink(p).encode() if p.is_symlink() else p.read_bytes())
            for p in sorted(folder.rglob("*")) if not p.is_dir()}


@pytest.fixture
def umask0():
    """No umask at all: the modes must come from the code, not from a kind default."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_main_writes_settings_record_and_backup_600_in_the_users_700_folder(home, capsys, umask0):
    (home / ".claude").mkdir(mode=0o700)
    write_settings(home, json.dumps(SECRETS))
    (home / ".claude" / "settings.json").chmod(0o600)
    assert run(home) == 0
    claude = home / ".claude"
    names = sorted(p.name for p in claude.iterdir())
    assert names[0] == "settings.installed-by-template.json" and names[1] == "settings.json" and len(names) == 3
    backup = claude / names[2]
    assert "s3cret" in backup.read_text() and "sk-ant-secret-key" in backup.read_text()
    assert "s3cret" in (claude / "settings.json").read_text()
    assert {name: mode(claude / name) for name in names} == dict.fromkeys(names, 0o600)
    assert mode(claude) == 0o700
    assert run(home, "undo") == 0  # undo writes the same way
    assert json.loads((claude / "settings.json").read_text()) == SECRETS
    assert {p.name: mode(p) for p in claude.iterdir()} == {p.name: 0o600 for p in claude.iterdir()}
    assert not [p for p in claude.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_main_creates_a_missing_settings_folder_700(home, umask0):
    assert run(home) == 0
    assert mode(home / ".claude") == 0o700
    assert mode(home / ".claude" / "settings.json") == 0o600


def test_main_leaves_an_existing_folders_mode_alone(home, umask0):
    """The documented choice: a folder the user has keeps its mode (the 600 files protect the values)."""
    (home / ".claude").mkdir(mode=0o755)
    write_settings(home, json.dumps(SECRETS))
    assert run(home) == 0
    assert mode(home / ".claude") == 0o755
    assert mode(home / ".claude" / "settings.installed-by-template.json") == 0o600


def test_main_writes_through_a_symlinked_settings_file_and_keeps_the_link(home, capsys):
    dotfiles = home / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "claude-settings.json"
    original = sm.dump({"theme": "dark"})
    target.write_text(original)
    (home / ".claude").mkdir()
    link = home / ".claude" / "settings.json"
    link.symlink_to("../dotfiles/claude-settings.json")
    assert run(home) == 0
    assert link.is_symlink() and os.readlink(link) == "../dotfiles/claude-settings.json"
    assert json.loads(target.read_text()) == {"theme": "dark", "env": OURS}
    assert mode(target) == 0o600
    [backup] = (home / ".claude").glob("settings.json.backup-*")  # beside the link
    assert backup.read_text() == original
    assert not [p for p in dotfiles.iterdir() if p != target]  # no temporary file left beside the target
    assert run(home, "undo") == 0
    assert link.is_symlink() and os.readlink(link) == "../dotfiles/claude-settings.json"
    assert target.read_text() == original


@pytest.mark.parametrize("undo_too", [False, True])
def test_main_refuses_a_read_only_settings_file_and_changes_nothing(home, capsys, undo_too):
    if undo_too:  # installed first, then the user made the file read-only
        assert run(home) == 0
    else:
        write_settings(home, json.dumps(SECRETS))
    capsys.readouterr()
    path = home / ".claude" / "settings.json"
    path.chmod(0o444)
    before = snapshot(home / ".claude")
    assert run(home, "undo" if undo_too else "install") == 1
    captured = capsys.readouterr()
    assert captured.err == (f"install.sh: {path} is read-only (the settings file); make it writable "
                            f"(chmod u+w {path}) to let install.sh change it, or leave it as it is; "
                            "nothing was changed\n")
    assert captured.out == ""
    assert snapshot(home / ".claude") == before


def test_main_refuses_a_read_only_link_target_and_keeps_the_link(home, capsys):
    target = home / "settings-target.json"
    target.write_text('{"theme": "dark"}')
    target.chmod(0o400)
    (home / ".claude").mkdir()
    (home / ".claude" / "settings.json").symlink_to(target)
    before = snapshot(home)
    assert run(home) == 1
    assert capsys.readouterr().err.startswith(f"install.sh: {target} is read-only (the settings file); ")
    assert snapshot(home) == before


def test_main_refuses_a_read_only_settings_folder(home, capsys):
    write_settings(home, '{"theme": "dark"}')
    claude = home / ".claude"
    claude.chmod(0o500)
    try:
        assert run(home) == 1
        assert capsys.readouterr().err == (f"install.sh: {claude} is read-only (a folder install.sh writes in); "
                                           f"make it writable (chmod u+w {claude}) to let install.sh change it, "
                                           "or leave it as it is; nothing was changed\n")
        assert sorted(p.name for p in claude.iterdir()) == ["settings.json"]
    finally:
        claude.chmod(0o700)


def test_main_says_in_one_line_when_the_folder_cannot_be_created(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "settings.json").write_text(json.dumps(SOURCE))
    (tmp_path / "not-a-folder").write_text("")
    settings_dir = tmp_path / "not-a-folder" / ".claude"
    assert sm.main(["install", "0", str(settings_dir), str(tmp_path / "src" / "settings.json"), "[]"]) == 1
    assert capsys.readouterr().err == (f"install.sh: cannot create the folder {settings_dir} (Not a directory); "
                                       "create it yourself, or set CLAUDE_CONFIG_DIR to a folder you can write "
                                       "to; nothing was changed\n")


def test_main_a_failed_write_removes_what_it_wrote_and_says_so_in_one_line(home, capsys, monkeypatch):
    write_settings(home, json.dumps(SECRETS))
    before = snapshot(home / ".claude")
    real_stage = sm.stage

    def stage(path: str, text: str) -> str:
        if path.endswith(sm.RECORD_FILE):  # the settings are staged and the backup written by now
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.path.join(os.path.dirname(path), ".x.tmp"))
        return real_stage(path, text)

    monkeypatch.setattr(sm, "stage", stage)
    assert run(home) == 1
    assert capsys.readouterr().err == (f"install.sh: cannot write in {home / '.claude'} (No space left on device); "
                                       "make sure it is a folder you can write to, or set CLAUDE_CONFIG_DIR to "
                                       "one; nothing was changed\n")
    assert snapshot(home / ".claude") == before  # no backup, no temporary file, settings as they were


def test_main_a_settings_path_that_is_a_folder_is_one_line(home, capsys):
    (home / ".claude" / "settings.json").mkdir(parents=True)
    assert run(home) == 1
    assert capsys.readouterr().err == (f"install.sh: cannot read {home / '.claude' / 'settings.json'} (Is a "
                                       "directory); check that it is a file you can read; nothing was changed\n")


# -------------------------------------------------------------------------------------------------------------
# Strict JSON in and out, bounded nesting, the original text given back
# -------------------------------------------------------------------------------------------------------------
def run_in(folder: Path, mode: str) -> int:
    source = folder / "src.json"
    if not source.exists():
        source.write_text(json.dumps(SOURCE))
    return sm.main([mode, "0", str(folder / ".claude"), str(source), json.dumps(list(CONFLICTING))])


def test_undo_keeps_an_empty_settings_file_it_found(home, capsys):
    write_settings(home, "")
    assert run(home) == 0 and run(home, "undo") == 0
    assert (home / ".claude" / "settings.json").read_bytes() == b""


def test_undo_gives_back_the_original_text_byte_for_byte(home, capsys):
    original = '{"theme":"dark",\r\n  "env": {"MY_VAR": "x", "CLAUDE_CODE_USE_BEDROCK": "1"}}'
    write_settings(home, original)
    (home / ".claude" / "settings.json").write_bytes(original.encode())  # write_text would translate nothing
    assert run(home) == 0
    assert run(home, "undo") == 0
    assert (home / ".claude" / "settings.json").read_bytes() == original.encode()


def test_undo_after_an_unrelated_edit_keeps_the_edit(home, capsys):
    write_settings(home, '{"theme":"dark"}')
    assert run(home) == 0
    path = home / ".claude" / "settings.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "theme": "light"}))
    assert run(home, "undo") == 0
    assert json.loads(path.read_text()) == {"theme": "light"}


HOSTILE = {
    "NaN": '{"a": NaN}',
    "Infinity": '{"env": {"X": "1"}, "n": -Infinity}',
    "huge": '{"n": 1e999}',
    "surrogate": '{"env": {"X": "\\ud800"}}',
    "surrogate key": '{"\\udfff": 1}',
    "deep": '{"a": ' + "[" * 100 + "]" * 100 + "}",
    "very deep": '{"a": ' + "[" * 100000 + "]" * 100000 + "}",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_json_is_one_line_and_leaves_everything_as_it_was(home, capsys, name):
    write_settings(home, HOSTILE[name])
    before = snapshot(home / ".claude")
    for mode in ("install", "undo"):
        assert run(home, mode) == 1
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1, captured.err[:300]
        assert captured.err.startswith(f"install.sh: {home / '.claude' / 'settings.json'} ")
        assert captured.err.endswith("; fix it first; nothing was changed\n")
        assert snapshot(home / ".claude") == before


def test_dump_refuses_to_write_a_non_finite_number():
    with pytest.raises(ValueError):
        sm.dump({"n": float("inf")})


# Claude Code settings as users write them: any JSON object, any formatting.
_scalars = (st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(max_size=20))
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
_settings = st.dictionaries(st.sampled_from(["theme", "model", "env", "permissions", "hooks", "x"]), _json, max_size=5)


@st.composite
def settings_texts(draw):
    data = draw(_settings)
    if draw(st.booleans()):
        data["env"] = draw(st.dictionaries(st.sampled_from([*OURS, *CONFLICTING, "MY_VAR"]), st.text(max_size=10)))
    text = json.dumps(data, indent=draw(st.sampled_from([None, 0, 2, 4, "\t"])),
                      ensure_ascii=draw(st.booleans()), separators=draw(st.sampled_from([None, (",", ":")])))
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return draw(st.sampled_from(["", " ", "\n", "\r\n"])) + text + draw(st.sampled_from(["", "\n", "  \n"]))


@settings(max_examples=60, deadline=None)
@given(text=st.one_of(st.none(), st.just(""), settings_texts()))
def test_install_then_undo_gives_back_the_original_bytes(text):
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / ".claude" / "settings.json"
        if text is not None:
            path.parent.mkdir()
            path.write_bytes(text.encode("utf-8"))
        assert run_in(folder, "install") == 0
        assert run_in(folder, "undo") == 0
        if text is None:
            assert not path.exists()
        else:
            assert path.read_bytes() == text.encode("utf-8")
        assert not (folder / ".claude" / sm.RECORD_FILE).exists()


_hostile_values = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-2e308", '"\\ud83d"', '"a\\udc00b"'])


@st.composite
def hostile_texts(draw):
    good = json.loads(draw(settings_texts()) or "{}")
    bad = draw(_hostile_values)
    depth = draw(st.integers(0, 3))
    return '{"hostile": ' + "[" * depth + bad + "]" * depth + ", " + json.dumps(good)[1:].lstrip() \
        if good else '{"hostile": ' + "[" * depth + bad + "]" * depth + "}"


@settings(max_examples=60, deadline=None)
@given(text=st.one_of(hostile_texts(), st.integers(65, 5000).map(lambda n: "[" * n + "]" * n).map(
    lambda nested: '{"a": ' + nested + "}")))
def test_hostile_settings_are_refused_in_one_line_and_left_untouched(text):
    import contextlib
    import io
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / ".claude" / "settings.json"
        path.parent.mkdir()
        path.write_bytes(text.encode("utf-8"))
        err = io.StringIO()
        for mode in ("install", "undo"):
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()) as out:
                assert run_in(folder, mode) == 1
            assert out.getvalue() == ""
        lines = err.getvalue().splitlines()
        assert len(lines) == 2 and all(line.endswith("; fix it first; nothing was changed") for line in lines)
        assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]
        assert path.read_bytes() == text.encode("utf-8")
