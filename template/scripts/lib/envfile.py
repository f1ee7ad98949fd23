"""How this project reads a .env file (gateway/.env, versions.env): the one definition, for Python scripts.

scripts/lib/common.sh's `dotenv_value` is the same reading for shell scripts; tests/test_envfile.py checks that
both give the same value for generated lines. The reference is what docker compose makes of such a line (the
gateway's compose file reads gateway/.env), for values on one line, never evaluated:

  - Blanks are spaces and tabs.
  - Lines are split at LF; a trailing CR is dropped (a file saved on Windows). Leading blanks are skipped; an
    empty line or one whose first other character is `#` is a comment.
  - An `export` prefix followed by a blank is dropped (`export NAME=value`, as a shell sources it).
  - NAME is everything before the first `=`, blanks around it trimmed (`NAME = value`); a line without `=` sets
    nothing. Blanks after `=` are skipped.
  - 'single-quoted': literal up to the next ' that is not escaped as \\'; \\' is a quote, nothing else changes.
  - "double-quoted": up to the next unescaped "; \\n, \\r, \\t, \\\\ and \\" are a newline, CR, tab, backslash and
    quote; any other backslash stays. After a closing quote the rest of the line (`# a comment`) is ignored.
  - unquoted: up to the end of the line, cut at the first ` #` (`NAME=value # comment`; `a#b` stays), trailing
    blanks trimmed.
  - A quote that does not close: the line sets nothing (docker compose refuses the whole file).
  - The last line that sets NAME wins.
Unlike docker compose, nothing is interpolated: `$OTHER` stays as written (single-quote such a value so compose
reads it the same), and a value does not continue on the next line.

Named envfile, not dotenv: `import dotenv` would be python-dotenv wherever that is installed ahead of this folder.
Python 3.9+ standard library only."""

from __future__ import annotations

import os

BLANKS = " \t"
_DOUBLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"'}


def parse_line(line: str) -> tuple[str, str] | None:
    """(NAME, value) that one line of a .env file sets; None for a comment, a blank line or a line that sets
    nothing (no `=`, a quote that does not close)."""
    line = line.removesuffix("\r")
    line = line.lstrip(BLANKS)
    if not line or line.startswith("#"):
        return None
    if line.startswith("export") and line[6:7] in (" ", "\t"):
        line = line[6:].lstrip(BLANKS)
    name, equals, rest = line.partition("=")
    if not equals:
        return None
    name, rest = name.strip(BLANKS), rest.lstrip(BLANKS)
    if rest[:1] in ("'", '"'):
        quote, value, i = rest[0], [], 1
        while i < len(rest):
            char = rest[i]
            if char == "\\" and i + 1 < len(rest):
                following = rest[i + 1]
                if quote == "'":
                    value.append("'" if following == "'" else "\\" + following)
                else:
                    value.append(_DOUBLE_ESCAPES.get(following, "\\" + following))
                i += 2
                continue
            if char == quote:
                return name, "".join(value)
            value.append(char)
            i += 1
        return None  # the quote does not close
    for i in range(1, len(rest)):
        if rest[i] == "#" and rest[i - 1] == " ":
            rest = rest[:i]
            break
    return name, rest.rstrip(BLANKS)


def parse(text: str) -> dict[str, str]:
    """Every NAME and its value (the last line that sets it wins)."""
    values: dict[str, str] = {}
    for line in text.split("\n"):
        parsed = parse_line(line)
        if parsed is not None:
            values[parsed[0]] = parsed[1]
    return values


def read(path: str | os.PathLike[str]) -> dict[str, str] | None:
    """The values of the .env file at `path`; None when there is no such file. UTF-8 (an OSError or a
    UnicodeDecodeError is the caller's to report)."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return parse(f.read())
    except FileNotFoundError:
        return None


def value(path: str | os.PathLike[str], name: str) -> str | None:
    """NAME's value in the .env file at `path`; None when the file or the name is missing."""
    values = read(path)
    return None if values is None else values.get(name)
