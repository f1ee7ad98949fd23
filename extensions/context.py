"""Glue between copier and the template's logic (the package claude_gateway_template next to this file).

Loaded by copier through copier-template-extensions (`_jinja_extensions` in copier.yml), which imports this file
by path and does not put its folder on sys.path: the glue imports the package from this folder itself.
- `TemplateHelpers` gives copier.yml `answer_error(question)` (the rules table), the default model ids, the
  default gateway URL, and the PowerShell and Markdown quoting filters (`ps_quote`, `md_code`).
- `DerivedContext` checks the answers as given before copier parses them, re-validates every answer before the
  first file (one line, no traceback), refuses to overwrite existing files without --overwrite, and adds the
  derived values (the pattern and everything the templates place) to each rendering.
Run as a program it is the `_migrations` step: `python extensions/context.py rename-answers ANSWERS_FILE`.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

PACKAGE = "claude_gateway_template"
HERE = Path(__file__).resolve().parent


def _load_package():
    """Import the package from this folder. `copier update` renders two releases of the template in one process:
    a package of the same name loaded from another release's folder is dropped first, so each release runs
    its own logic."""
    loaded = sys.modules.get(PACKAGE)
    if loaded is not None and Path(loaded.__file__).resolve().parent.parent != HERE:
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]
    sys.path.insert(0, str(HERE))
    try:
        return {name: importlib.import_module(f"{PACKAGE}.{name}") for name in ("answer_migrations", "checks",
                                                                                 "common", "derived", "providers",
                                                                                 "rules")}
    finally:
        sys.path.remove(str(HERE))


_modules = _load_package()
rules = _modules["rules"]

if __name__ == "__main__":
    sys.exit(_modules["answer_migrations"].main(sys.argv[1:]))

# Below: only what copier loads (the migration step above runs without copier's extension loader).
import jinja2
from copier.errors import UserMessageError
from copier_template_extensions import ContextHook
from jinja2 import pass_context
from jinja2.ext import Extension


class InvalidAnswer(UserMessageError, rules.InvalidAnswer):
    """copier prints a UserMessageError as one line and exits 1, with no traceback."""


def given_answers(context) -> dict[str, Any]:
    """The answers as given on the command line or in a data file (copier's raw `data`, before its casts)."""
    conf = context.get("_copier_conf")
    return dict(conf.get("data") or {}) if conf is not None else {}


@pass_context
def answer_error(context, question: str) -> str:
    """The validator of every question in copier.yml: the rule's message for the answer typed, or "".

    DerivedContext checks every answer with the same rules before the first file is written, in one line. The
    validator leaves it the answers copier cannot re-ask, where a failing validator only turns the same message
    into a traceback: answers given with --data or a data file, every answer under --defaults, and an empty
    default (copier checks a default before it asks, so an empty one that must be filled would stop the prompt)."""
    conf = context.get("_copier_conf")
    if question in given_answers(context) or (conf is not None and conf["defaults"]):
        return ""
    if context.get(question) in (None, "") and question not in rules.REQUIRED:
        return ""
    return rules.answer_error(question, context.get_all())


def default_model(provider: str, tier: str, region: Any = "") -> str:
    return _modules["providers"].REGISTRY[provider].default_model(tier, region)


def compile_each_source_once(environment) -> None:
    """copier compiles every question's help, default, `when` and validator, and every path name, again for each
    use: about 460 Jinja compilations per copy, half of its time (bench/bench_generate.py). Compiled code depends
    only on the source and the environment, so this environment compiles each source once."""
    compile_source = environment.compile
    compiled: dict[tuple, Any] = {}

    def compile_once(source, name=None, filename=None, raw=False, defer_init=False):
        # A parsed template (not hashable) has nothing to reuse; copier's {% yield %} keeps state per compile.
        if not isinstance(source, str) or "yield" in source:
            return compile_source(source, name, filename, raw, defer_init)
        key = (source, name, filename, raw, defer_init)
        if key not in compiled:
            compiled[key] = compile_source(source, name, filename, raw, defer_init)
        return compiled[key]

    environment.compile = compile_once


class TemplateHelpers(Extension):
    """Globals and filters for copier.yml and the templates."""

    def __init__(self, environment):
        super().__init__(environment)
        compile_each_source_once(environment)
        environment.globals["answer_error"] = answer_error
        environment.globals["default_model"] = default_model
        environment.globals["asked_by"] = _modules["providers"].base.asked_by
        environment.globals["default_gateway_url"] = _modules["checks"].default_gateway_url
        environment.filters["ps_quote"] = _modules["common"].ps_quote
        environment.filters["md_code"] = _modules["common"].md_code
        environment.filters["sha256"] = _modules["common"].sha256
        environment.filters["yaml_block"] = _modules["common"].yaml_block


def rendered_paths(context: dict[str, Any], derived: dict[str, Any]) -> list[str]:
    """The relative path of every file this copy writes (its path names rendered as copier renders them)."""
    source = Path(str(context["_copier_conf"]["src_path"])) / "template"
    paths = jinja2.Environment(undefined=jinja2.StrictUndefined)
    values = {**context, **derived}
    rendered = []
    for template_file in sorted(source.rglob("*")):
        if not template_file.is_file() or "__pycache__" in template_file.parts:
            continue
        parts = paths.from_string(template_file.relative_to(source).as_posix()).render(values) \
            .removesuffix(".jinja").split("/")
        if all(parts):
            rendered.append("/".join(parts))
    return rendered


def blocked_paths(destination: Path, relatives: list[str]) -> list[str]:
    """Where this copy cannot write whatever the flags: a file (or a link to none) where it needs a folder, or a
    folder where it writes a file. copier would stop there with a traceback, after writing the files before it."""
    blocked: dict[str, None] = {}
    for relative in relatives:
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if (destination / folder).is_dir():
                continue
            if os.path.lexists(destination / folder):
                blocked[f"{folder} (a file where the template has a folder)"] = None
            break  # missing: copier creates it, and nothing below it can be in the way
        else:
            if (destination / relative).is_dir():
                blocked[f"{relative} (a folder where the template writes a file)"] = None
    return list(blocked)


def refuse_overwriting(context: dict[str, Any], derived: dict[str, Any]) -> None:
    """A copy into a folder that already has files this template writes stops at copier's first conflict
    ("Interactive session required") after writing the files before it. Without a terminal to ask on and
    without --overwrite, refuse before the first file instead. A file where a template folder goes (or a folder
    where a file goes) stops copier whatever the flags: refused before the first file too."""
    conf = context["_copier_conf"]
    destination = Path(str(conf["dst_path"]))
    if conf["pretend"] or not destination.is_dir() or not any(destination.iterdir()):
        return
    relatives = rendered_paths(context, derived)
    blocked = blocked_paths(destination, relatives)
    if blocked:
        listed = ", ".join(blocked[:3]) + (f" and {len(blocked) - 3} more" if len(blocked) > 3 else "")
        raise InvalidAnswer(f"{destination}: cannot write this template's files there: {listed}; nothing was "
                            f"written. Move it away, or copy into an empty folder.")
    interactive = sys.stdin is not None and not sys.stdin.closed and sys.stdin.isatty()  # copier asks per file
    if conf["overwrite"] or interactive:
        return
    existing = [relative for relative in relatives
                if relative != str(conf["answers_file"]) and (destination / relative).exists()]
    if existing:
        listed = ", ".join(existing[:3]) + (f" and {len(existing) - 3} more" if len(existing) > 3 else "")
        raise InvalidAnswer(f"{destination}: already has {len(existing)} file(s) this template writes ({listed}); "
                            f"nothing was written. Copy into an empty folder, move them away, or add --overwrite "
                            f"to replace them (a generated repository changes with copier update or "
                            f"scripts/migrate.sh).")


# The answers the hook needs before it can derive anything.
_DECISION_ANSWERS = ("cost_tracking", "corporate_proxy", "providers")


class DerivedContext(ContextHook):
    """Adds the derived values to every rendering once the answers are known."""

    def __init__(self, environment):
        super().__init__(environment)
        # copier-template-extensions calls the hook for every template, string and path copier renders (about 400
        # per copy), always with the same answers: validate and derive once per set of answers.
        self._derived: dict[str, Any] = {}
        self._derived_for = None
        self._checked_given = None
        self._overwrite_checked = False

    def hook(self, context: dict[str, Any]) -> None:
        if str(context.get("_copier_phase")) == "prompt":
            # Before copier parses the given answers (it renders a `when` or a default first): their types and
            # choices, which its casts would turn into a traceback or, for yes/no, into true.
            given = given_answers(context)
            if given and repr(given) != self._checked_given:
                errors = rules.given_answer_errors(given)
                if errors:
                    raise InvalidAnswer(errors[0])
                self._checked_given = repr(given)
            if context["_copier_conf"]["defaults"]:
                answers = {k: v for k, v in context.items() if not k.startswith("_")}
                errors = rules.missing_answer_errors(answers, given)
                if errors:
                    raise InvalidAnswer(errors[0])
            return  # still asking: answers may be partial, and nothing needs derived values yet
        if any(key not in context for key in _DECISION_ANSWERS):
            return
        answers = {k: v for k, v in context.items() if not k.startswith("_") and k not in self._derived}
        key = repr(sorted(answers.items()))
        if key != self._derived_for:
            errors = rules.answer_errors(answers, given_answers(context))
            if errors:
                raise InvalidAnswer(errors[0])
            self._derived = _modules["derived"].derive(answers)
            self._derived_for = key
            if not self._overwrite_checked:  # before the first file; copier's own files count after that
                refuse_overwriting(context, self._derived)
                self._overwrite_checked = True
        context.update(self._derived)
