"""TEST SUPPORT: the generated repositories' Python (template/scripts/lib, template/client) imported as libraries,
straight from template/: under the name a generated repository gives each file (many carry a copier condition in
theirs), and without writing __pycache__ into template/."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from types import ModuleType

from environment import REPO_ROOT

LIB = REPO_ROOT / "template" / "scripts" / "lib"
sys.path.insert(0, str(LIB))  # the modules import each other by name (http_client, envfile, ...)


def load(name: str, folder: str = "template/scripts/lib") -> ModuleType:
    """template/<folder>/<name>.py, or its `{% if ... %}<name>.py{% endif %}` twin, imported as `name`."""
    directory = REPO_ROOT / folder
    (path,) = [p for p in (directory / f"{name}.py", *directory.glob(f"{{% if *%}}{name}.py{{% endif %}}"))
               if p.is_file()]
    # An explicit loader: a name ending in `{% endif %}` is no `.py` file to importlib's suffix lookup.
    spec = importlib.util.spec_from_loader(name, importlib.machinery.SourceFileLoader(name, str(path)))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and the modules' imports of each other look it up there
    dont_write_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = dont_write_bytecode
    return module
