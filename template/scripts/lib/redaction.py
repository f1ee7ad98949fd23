"""redaction.py: what this project's tools never print, the one definition (Python 3.9+ standard library only).

Everything a tool prints that could echo a key (a server's error message, a URL, a JSON report) passes one of
these first:

  - `redact(text, key)`: the key itself, anything shaped like a key (`sk-...`, an AWS access key id `AKIA...`),
    and the `user:password@` of a (proxy) URL, even a malformed one, become `***`. The conformance kit's output.
  - `redacted(value, key)`: the same for every text inside a JSON-like value (keys of objects too), before it is
    encoded: JSON escapes a key holding `"` or `\\` (or non-ASCII) past a text search.
  - `shorten_keys(text)`: a gateway key `sk-...` becomes `sk-…`, so a message still says that a key was there.
    The admin tools' messages (gateway_api.py, the sync, the reports).
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
_SECRET = re.compile(r"(?<![A-Za-z0-9])(sk-[A-Za-z0-9_-]{6,}|AKIA[A-Z0-9]{12,})")
_USERINFO = re.compile(r"[^\s/:'\"@]+:[^\s/@'\"]+@")  # user:password@ in a (proxy) URL, even a malformed one
_GATEWAY_KEY = re.compile(r"sk-[A-Za-z0-9_-]{6,}")


def redact(text: str, key: str = "") -> str:
    """`text` with the key and anything shaped like a key replaced."""
    if key:
        text = text.replace(key, MASK)
    return _USERINFO.sub(MASK + "@", _SECRET.sub(MASK, text))


def redacted(value: Any, key: str = "") -> Any:
    """`value` with every text in it (keys of objects too) redacted; tuples become lists, as JSON has them."""
    if isinstance(value, str):
        return redact(value, key)
    if isinstance(value, dict):
        return {redacted(str(name), key): redacted(item, key) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redacted(item, key) for item in value]
    return value


def shorten_keys(text: str) -> str:
    """`text` with anything shaped like a gateway key replaced by `sk-…`: server messages can quote the key they
    refused."""
    return _GATEWAY_KEY.sub("sk-…", text)
