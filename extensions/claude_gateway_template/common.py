"""Small helpers shared by the other modules: URLs, hosts, quoting and how a value is shown in a message."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from typing import Any
from urllib.parse import urlsplit

# What must not be echoed back: a URL's user:password@ and query, an API key, a bearer token.
_SECRETS = (
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]*@"), r"\1***@"),
    (re.compile(r"(://[^?#\s]*)\?[^#\s]*"), r"\1?***"),
    (re.compile(r"\b(sk-[A-Za-z0-9]{0,8})[A-Za-z0-9_-]{8,}"), r"\1***"),
    (re.compile(r"(?i)\b(bearer\s+)\S+"), r"\1***"),
)


def redacted(text: str) -> str:
    """`text` with anything that looks like a credential replaced by ***."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def shown(value: Any) -> str:
    """The value as the user should see it in a message: quoted, control characters escaped, credentials
    (user:password@ and the query of a URL, API keys, bearer tokens) redacted, at most 120 characters."""
    text = redacted(value if isinstance(value, str) else str(value))
    if len(text) > 120:
        text = text[:100] + f"... ({len(text)} characters)"
    return repr(text)


def ps_quote(value: Any) -> str:
    """A PowerShell single-quoted string literal: nothing inside is expanded. PowerShell treats the typographic
    single quotes as quote characters too, so every kind is doubled."""
    return "'" + re.sub("(['\u2018\u2019\u201a\u201b])", r"\1\1", str(value)) + "'"


def md_code(value: Any, in_table: bool = False) -> str:
    """A Markdown code span showing `value` literally: fenced with more backticks than any run inside it, padded
    when it starts or ends with one (CommonMark); in a table cell, `|` escaped (GFM splits cells first)."""
    text = str(value)
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    # Padding keeps edge backticks apart from the fence; CommonMark strips one space from each end, so a value
    # that starts and ends with a space gets one more.
    pad = " " if "`" in (text[:1], text[-1:]) or (text[:1] == text[-1:] == " " and text.strip()) else ""
    span = f"{fence}{pad}{text}{pad}{fence}"
    return span.replace("|", "\\|") if in_table else span


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def with_v1(url: str) -> str:
    """Vertex base URLs are given to Claude Code with /v1; accept the answer with or without it."""
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or url, parts.port or (443 if parts.scheme == "https" else 80)


def split_hosts(value: Any) -> list[str]:
    return [h.strip() for h in str(value or "").replace(" ", ",").split(",") if h.strip()]


def split_list(value: Any) -> list[str]:
    """A comma-separated answer's items (names may hold spaces, e.g. identity-provider groups)."""
    return [item.strip() for item in str(value or "").split(",") if item.strip()]


def bracketed(host: str) -> str:
    """An IPv6 address in brackets, as URLs and host:port strings need it."""
    return f"[{host}]" if ":" in host else host


def sha256(value: Any) -> str:
    """The hex sha256 of a text (UTF-8): e.g. the gateway config's, in the pod annotation that rolls the pods."""
    return hashlib.sha256(str(value).encode()).hexdigest()


_PRINTABLE_LINE = re.compile(r"[^\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]*")


def yaml_block(value: Any, key_column: int = 0) -> str:
    """`value` as the YAML scalar of a mapping key at `key_column` that reads back exactly: a literal block (`|`
    with an explicit indentation of 2 and the chomping its final newlines need); a JSON string (which YAML reads
    too) when a character or a line break a block cannot hold is in it."""
    text = str(value)
    lines = text.split("\n")
    if not text.strip() or "\r" in text or any(not _PRINTABLE_LINE.fullmatch(line) for line in lines) \
            or any(line.rstrip(" ") != line and not line.strip() for line in lines[:-1]):
        return json.dumps(text, ensure_ascii=False)
    body = text.removesuffix("\n")  # the final line break is the block's own; more are kept by "+"
    chomp = {0: "-", 1: ""}.get(len(text) - len(text.rstrip("\n")), "+")
    pad = " " * (key_column + 2)
    return f"|2{chomp}\n" + "\n".join(pad + line if line else "" for line in body.split("\n"))
