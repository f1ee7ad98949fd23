"""Answers renamed between releases, and `rename-answers`, the step copier.yml's `_migrations` runs on update."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from .common import shown

# Old name -> (new name, release that renamed it). The `_migrations` entry in copier.yml renames them in a
# project's answers file on `copier update`; an old name arriving any other way (a data file, --data) is an
# error, because copier would drop it silently and the setting would be lost.
RENAMED_ANSWERS = {
    # It holds one certificate, the corporate root CA; "bundle" misled users (the gateway builds the bundle).
    "ca_bundle": ("corporate_ca_cert", "0.2.0"),
}


def renamed_answer_errors(answers: dict[str, Any]) -> list[str]:
    return [f"{old}: {shown(answers[old])} is given under the answer name that release {release} renamed; expected "
            f"it as {new}. Rename it in your data file or --data (copier update renames it in an existing "
            f"project's answers file)."
            for old, (new, release) in RENAMED_ANSWERS.items() if old in answers]


def rename_answers(answers_file: Path) -> list[str]:
    """Rename RENAMED_ANSWERS keys in a project's answers file in place, keeping every other line as it is.
    Returns what was renamed. Refuses (ValueError) when the old and the new name both hold different values."""
    text = answers_file.read_text()
    before = yaml.safe_load(text) or {}
    renamed, lines = [], text.splitlines(keepends=True)
    for old, (new, _release) in RENAMED_ANSWERS.items():
        if old not in before:
            continue
        if new in before and before[new] != before[old]:
            raise ValueError(f"{answers_file}: both {old} ({before[old]!r}) and {new} ({before[new]!r}) are set; "
                             f"keep the right value under {new}, delete {old}, then update again")
        # Top-level keys start a line (copier writes the file with to_nice_yaml); a value's continuation lines
        # are indented and stay with it.
        start = next(i for i, line in enumerate(lines) if line.startswith(f"{old}:"))
        end = next((i for i in range(start + 1, len(lines)) if lines[i][:1] not in (" ", "\t", "\n", "")),
                   len(lines))
        if new in before:
            del lines[start:end]
        else:
            lines[start] = new + lines[start][len(old):]
        renamed.append(f"{old} -> {new}")
    if renamed:
        after = yaml.safe_load("".join(lines))
        expected = {RENAMED_ANSWERS.get(k, (k,))[0]: v for k, v in before.items()}
        if after != expected:  # never write a damaged answers file
            raise ValueError(f"{answers_file}: renaming {', '.join(renamed)} would change other answers; "
                             f"rename by hand and update again")
        answers_file.write_text("".join(lines))
    return renamed


def main(argv: list[str]) -> int:
    """`python extensions/context.py rename-answers ANSWERS_FILE`: the step `_migrations` runs on copier update."""
    if len(argv) != 2 or argv[0] != "rename-answers":
        print("usage: context.py rename-answers ANSWERS_FILE", file=sys.stderr)
        return 2
    try:
        renamed = rename_answers(Path(argv[1]))
    except ValueError as error:
        print(f"migration: {error}", file=sys.stderr)
        return 1
    for change in renamed:
        print(f"migration: renamed the answer {change} in {argv[1]}")
    return 0
