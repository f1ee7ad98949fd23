"""The one reading of a .env file (gateway/.env, versions.env): scripts/lib/envfile.py for Python, and
scripts/lib/common.sh's dotenv_read/dotenv_value for the shell scripts, give the same value for every line
(Hypothesis), and both read docker compose's documented examples as compose does. No copier: fast."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from template_lib import LIB, load

dotenv = load("envfile")
MISSING = "\x01missing"
# Each NAME's value as the shell scripts read it (dotenv_value, as they call it), trailing newlines kept.
SHELL_READER = r'''set -eu
. "$1/common.sh"
file=$2; shift 2
for name; do
  if value=$(dotenv_value "$file" "$name" && printf x); then value=${value%x}; value=${value%$'\n'}; else value=$'\x01missing'; fi
  printf '%s\0' "$value"
done
'''


def shell_values(text: str, names: list[str]) -> dict[str, str | None]:
    with tempfile.TemporaryDirectory() as tmp:
        env_file = Path(tmp) / ".env"
        env_file.write_bytes(text.encode())
        result = subprocess.run(["bash", "-c", SHELL_READER, "reader", str(LIB), str(env_file), *names],
                                capture_output=True, timeout=60, check=False, env={"LC_ALL": "C.UTF-8"})
    assert result.returncode == 0, result.stderr
    values = result.stdout.decode().split("\0")[:-1]
    return {name: None if value == MISSING else value for name, value in zip(names, values)}


COMPOSE_EXAMPLES = {  # https://docs.docker.com/compose/env-file/ (without interpolation), and the forms users write
    "VAR=VAL": "VAL",
    'VAR="VAL"': "VAL",
    "VAR='VAL'": "VAL",
    "VAR=VAL # comment": "VAL",
    "VAR=VAL# not a comment": "VAL# not a comment",
    'VAR="VAL # not a comment"': "VAL # not a comment",
    'VAR="VAL" # comment': "VAL",
    "VAR='$OTHER'": "$OTHER",
    "VAR='${OTHER}'": "${OTHER}",
    "VAR='Let\\'s go!'": "Let's go!",
    'VAR="{\\"hello\\": \\"json\\"}"': '{"hello": "json"}',
    'VAR="some\\tvalue"': "some\tvalue",
    "VAR='some\\tvalue'": "some\\tvalue",
    "VAR=some\\tvalue": "some\\tvalue",
    'export VAR = "value"': "value",
    "VAR = value  ": "value",
    "  export\tVAR=sk-x=y\r": "sk-x=y",
    "VAR=": "",
    'VAR="unterminated': None,
    "# VAR=commented": None,
    "VAR": None,
}


@pytest.mark.parametrize("line", COMPOSE_EXAMPLES)
def test_both_readers_read_compose_examples_as_compose_does(line):
    expected = COMPOSE_EXAMPLES[line]
    parsed = dotenv.parse_line(line)
    assert (parsed[1] if parsed else None) == expected
    assert shell_values(line + "\n", ["VAR"]) == {"VAR": expected}


NAMES = st.sampled_from(["LITELLM_MASTER_KEY", "KEY", "A_1", "_X"])
VALUE_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\x00")
BLANK = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def env_line(draw) -> str:
    if draw(st.integers(0, 9)) == 0:  # anything at all on a line
        return draw(st.text(VALUE_CHARS, max_size=30))
    value = draw(st.text(VALUE_CHARS, max_size=20))
    form = draw(st.sampled_from(["plain", "single", "double", "escaped-double", "escaped-single"]))
    if form == "single":
        value = "'" + value.replace("'", "") + "'"
    elif form == "double":
        value = '"' + value.replace('"', "").replace("\\", "") + '"'
    elif form == "escaped-double":
        value = '"' + "".join(draw(st.lists(st.sampled_from(['\\"', "\\n", "\\t", "\\\\", "\\x", "a", " ", "#",
                                                              "'"]), max_size=8))) + '"'
    elif form == "escaped-single":
        value = "'" + "".join(draw(st.lists(st.sampled_from(["\\'", "\\n", "\\\\", "a", " ", '"', "#"]), max_size=8))) + "'"
    line = (draw(BLANK) + draw(st.sampled_from(["", "export ", "export\t", "#", "# "])) + draw(NAMES) + draw(BLANK)
            + "=" + draw(BLANK) + value + draw(st.sampled_from(["", " # comment", "# x", "  ", "\t"])))
    return line + draw(st.sampled_from(["", "\r"]))


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(env_line(), min_size=1, max_size=6), final_newline=st.booleans())
def test_the_shell_and_python_readers_agree(lines, final_newline):
    text = "\n".join(lines) + ("\n" if final_newline else "")
    names = ["LITELLM_MASTER_KEY", "KEY", "A_1", "_X", "MISSING"]
    parsed = dotenv.parse(text)
    assert shell_values(text, names) == {name: parsed.get(name) for name in names}


def test_value_reads_a_file_and_says_none_when_missing(tmp_path):
    (tmp_path / ".env").write_bytes(b"KEY=first\r\nexport KEY = \"last\"\r\n")
    assert dotenv.value(tmp_path / ".env", "KEY") == "last"
    assert dotenv.value(tmp_path / ".env", "OTHER") is None
    assert dotenv.value(tmp_path / "absent.env", "KEY") is None
