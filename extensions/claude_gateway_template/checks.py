"""Validators: each returns "" when the value is fine, else a message that names the question, the value and
what is expected. It is the last line a user sees, so it must stand alone. Which answer uses which check, and
when, is the rules table (rules.py)."""

from __future__ import annotations

import difflib
import ipaddress
import re
import shlex
import unicodedata
from typing import Any
from urllib.parse import urlsplit

import yaml

from .common import is_loopback, redacted, shown, split_hosts, split_list
from .records import RegionList, Rule

# Characters a URL may carry here: nothing a shell, YAML or JSON file would treat specially.
_URL_CHARS = re.compile(r"^[A-Za-z0-9._~:/%\[\]+=,-]*$")
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$")
_USERNAME = re.compile(r"^[^\x00-\x1f\x7f'\"`$]{1,128}$")  # DOMAIN\user is fine: quoted and encoded
_HOST_ENTRY = re.compile(r"^[A-Za-z0-9.*_:\[\]/-]{1,253}$")
_ABSOLUTE_PATH = re.compile(r"^(/|[A-Za-z]:\\)[^\x00-\x1f\x7f'\"`$]*$")
EXAMPLE_MODEL = "claude-opus-5-5"


def base_url_error(value: Any, question: str, forbid_v1: bool = True) -> str:
    if value in (None, ""):
        return ""
    expected = ("expected an http(s) URL" + (" without /v1" if forbid_v1 else "")
                + ", such as https://llm.example.com (empty for the provider's public endpoint)")
    if not isinstance(value, str):
        return f"{question}: {shown(value)} is not text; {expected}."
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"{question}: {shown(value)} is not a valid URL; {expected}."
    if parts.username is not None or parts.password is not None:
        masked = f"{parts.scheme}://***@{host}" + (f":{parts.port}" if parts.port else "")
        return (f"{question}: {masked!r} has credentials inside the URL; they would be stored in plain text in "
                f".copier-answers.yml and the generated files. Give the URL without user:password@; "
                f"credentials come from the environment or the provider's own login.")
    if not _URL_CHARS.fullmatch(value):
        return (f"{question}: {shown(value)} contains a character that is not allowed here (spaces, quotes, $, "
                f"backticks, ;, newlines and the like could break the generated shell and JSON files); {expected}.")
    if parts.scheme not in ("http", "https") or not host:
        return f"{question}: {shown(value)} is not an http:// or https:// URL with a host; {expected}."
    if parts.query or parts.fragment:
        return f"{question}: {shown(value)} has a query or fragment; {expected}."
    if parts.scheme == "http" and not is_loopback(host):
        return (f"{question}: {shown(value)} uses plain http:// to a non-loopback host, which would send the API "
                f"credential unencrypted; use https:// (http:// is accepted only for localhost/127.x/::1).")
    if forbid_v1 and parts.path.rstrip("/").endswith("/v1"):
        return (f"{question}: {shown(value)} ends in /v1; give it without /v1 "
                f"(Claude Code appends /v1/messages itself), e.g. {value.rstrip('/')[:-3]!r}.")
    return ""


def model_id_error(value: Any, question: str) -> str:
    if isinstance(value, str) and _MODEL_ID.fullmatch(value):
        return ""
    return (f"{question}: {shown(value)} is not a model id; expected letters, digits and . _ : @ / - "
            f"(no spaces or quotes, at most 200 characters), e.g. {EXAMPLE_MODEL!r}.")


def port_error(value: Any, question: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return ""
    return f"{question}: {shown(value)} is not a TCP port; expected a whole number from 1 to 65535, e.g. 4000."


def bind_error(value: Any) -> str:
    try:
        # Python accepts any text after % in an IPv6 address (a zone id): it would reach shell defaults unquoted.
        if "%" not in str(value):
            ipaddress.ip_address(str(value))
            return ""
    except ValueError:
        pass
    return (f"gateway_bind: {shown(value)} is not an IP address to listen on; expected 127.0.0.1 (this machine "
            f"only), 0.0.0.0 (every interface, a shared gateway) or one of this host's addresses, without a zone id.")


def default_gateway_url(bind: Any, port: Any) -> str:
    """Clients on this machine reach a loopback gateway at its bind address; a shared one has no guessable URL."""
    if not is_loopback(str(bind)):
        return ""
    host = f"[{bind}]" if ":" in str(bind) else str(bind)
    return f"http://{host}:{port}"


def gateway_url_error(value: Any, bind: Any, deployed_here: bool = True) -> str:
    if value in (None, ""):
        if not deployed_here:
            return ("gateway_url: empty, but this repository does not deploy the gateway (deploy_gateway=false), so "
                    "clients need the URL of the gateway your platform team runs; expected its https:// URL, e.g. "
                    "https://llm-gateway.example.com.")
        if is_loopback(str(bind)):
            return ""
        return (f"gateway_url: empty, but the gateway listens on {bind} (shared), so clients need its URL; "
                f"expected the https:// URL developers use, e.g. https://llm-gateway.example.com.")
    return base_url_error(value, "gateway_url")


_RFC1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def rfc1123_host(host: str) -> bool:
    """A DNS subdomain as Kubernetes checks an Ingress host (RFC 1123, lower case as URLs give it)."""
    return 0 < len(host) <= 253 and all(_RFC1123_LABEL.fullmatch(label) for label in host.split("."))


def kubernetes_gateway_url_error(value: Any) -> str:
    """On Kubernetes clients reach the gateway through the Ingress: its host and TLS come from this URL."""
    expected = "expected the https:// URL of the gateway's Ingress without a path, e.g. https://llm-gateway.example.com"
    if value in (None, ""):
        return f"gateway_url: empty, but the gateway runs on Kubernetes (gateway_runtime=kubernetes); {expected}."
    error = base_url_error(value, "gateway_url")
    if error:
        return error
    parts = urlsplit(value)
    if parts.scheme != "https" or parts.path.strip("/") or parts.port not in (None, 443) \
            or (parts.hostname or "").replace(".", "").isdigit() or ":" in (parts.hostname or ""):
        return (f"gateway_url: {shown(value)} cannot be the gateway's Ingress (gateway_runtime=kubernetes); "
                f"{expected} (a DNS name, port 443).")
    if not rfc1123_host(parts.hostname or ""):
        return (f"gateway_url: {shown(value)} has a host an Ingress cannot carry (gateway_runtime=kubernetes); "
                f"{expected}, its host a DNS name as RFC 1123 says: labels of letters, digits and inner hyphens, "
                f"each 1 to 63 characters, separated by single dots, 253 characters at most.")
    return ""


def proxy_url_error(value: Any) -> str:
    expected = "expected http://host:port or https://host:port, e.g. http://proxy.example.com:8080"
    if not isinstance(value, str) or not value:
        return f"proxy_url: {shown(value or '')} is empty; your network needs a proxy, so {expected}."
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return f"proxy_url: {shown(value)} is not a valid URL; {expected}."
    if parts.username is not None or parts.password is not None:
        masked = f"{parts.scheme}://***@{parts.hostname}" + (f":{port}" if port else "")
        return (f"proxy_url: {masked!r} has credentials inside the URL, which would be stored in plain text. Give the "
                f"URL without them, the user as proxy_username, and the password at run time in PROXY_PASSWORD "
                f"(client/env.sh adds both).")
    if not _URL_CHARS.fullmatch(value) or parts.scheme not in ("http", "https") or not parts.hostname:
        return f"proxy_url: {shown(value)} is not a proxy URL; {expected} (Claude Code supports no SOCKS)."
    if port is None or parts.path.strip("/") or parts.query or parts.fragment:
        return f"proxy_url: {shown(value)} needs a port and nothing after it; {expected}."
    return ""


def proxy_username_error(value: Any) -> str:
    if value in (None, "") or (isinstance(value, str) and _USERNAME.fullmatch(value)):
        return ""
    return (f"proxy_username: {shown(value)} is not a user name this setup can pass safely; expected up to 128 "
            f"characters without quotes, $, backticks or control characters (the password is never "
            f"asked: it is read from PROXY_PASSWORD at run time).")


def no_proxy_error(value: Any) -> str:
    # `*` inside an entry is NO_PROXY's wildcard (`*.corp.example.com` means `.corp.example.com`); a bare `*` means
    # "no proxy for any host", which contradicts corporate_proxy=yes: refused (issue 30).
    if "*" in split_hosts(value):
        return ("no_proxy_hosts: '*' would switch the proxy off for every host; list the internal hosts or domains "
                "instead (e.g. .corp.example.com), or answer corporate_proxy=no if your network needs no proxy.")
    bad = [h for h in split_hosts(value) if not _HOST_ENTRY.fullmatch(h)]
    if not bad:
        return ""
    return (f"no_proxy_hosts: {shown(bad[0])} is not a host, domain or network; expected a comma-separated list "
            f"such as .corp.example.com,git.internal,10.0.0.0/8 (localhost,127.0.0.1,::1 are always included).")


def oidc_issuer_error(value: Any) -> str:
    expected = ("expected your identity provider's issuer URL, https:// (http:// only on loopback), as its "
                "/.well-known/openid-configuration gives it, e.g. https://login.example.com")
    if value in (None, ""):
        return f"oidc_issuer: empty, but the Claude apps gateway signs developers in with OIDC; {expected}."
    error = base_url_error(value, "oidc_issuer", forbid_v1=False)
    return error.replace("(empty for the provider's public endpoint)", "") if error else ""


def otel_endpoint_error(value: Any) -> str:
    expected = ("expected your OpenTelemetry collector's OTLP/HTTP base URL, https:// (http:// only on loopback), "
                "without /v1/metrics, e.g. https://otel.example.com:4318")
    if value in (None, ""):
        return f"otel_endpoint: empty, but usage_telemetry is on, so Claude Code needs a collector; {expected}."
    error = base_url_error(value, "otel_endpoint", forbid_v1=False)
    if error:
        return error.replace("expected an http(s) URL, such as https://llm.example.com (empty for the provider's "
                             "public endpoint)", expected).replace("the API credential", "the telemetry")
    if urlsplit(value).path.rstrip("/").endswith(("/v1/metrics", "/v1/logs", "/v1/traces", "/v1")):
        return (f"otel_endpoint: {shown(value)} names a signal's path; give the base URL, {expected} (Claude Code "
                f"appends /v1/metrics and /v1/logs itself).")
    return ""


_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")


def otel_header_error(value: Any) -> str:
    if value in (None, "") or (isinstance(value, str) and _HEADER_NAME.fullmatch(value)
                               and value.lower() not in ("host", "content-type", "content-length")):
        return ""
    return (f"otel_header: {shown(value)} is not an HTTP header name this setup can send; expected letters, digits "
            f"and hyphens, e.g. Authorization or X-Collector-Token (its value is read from "
            f"OTEL_COLLECTOR_HEADER_VALUE at run time, never stored), or empty for none.")


_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,200}$")
_GROUP = re.compile(r"^[A-Za-z0-9._:@/+=() -]{1,256}$")


def oidc_client_id_error(value: Any) -> str:
    if isinstance(value, str) and _CLIENT_ID.fullmatch(value):
        return ""
    return (f"oidc_client_id: {shown(value)} is not an OIDC client id; expected 1-200 letters, digits and "
            f". _ : @ / + = - (no spaces or quotes), as your identity provider shows it, e.g. claude-apps-gateway.")


def groups_error(value: Any, question: str) -> str:
    bad = [group for group in split_list(value) if not _GROUP.fullmatch(group)]
    if not isinstance(value, (str, type(None))) or bad:
        return (f"{question}: {shown(bad[0] if bad else value)} is not a group name; expected a comma-separated "
                f"list of identity-provider group names or ids (letters, digits, spaces and . _ : @ / + = ( ) -), "
                f"e.g. engineering,platform-team.")
    return ""


def session_ttl_error(value: Any, maximum: int) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= maximum:
        return ""
    return f"session_ttl_hours: {shown(value)} is not a session lifetime; expected whole hours from 1 to {maximum}."


def corporate_ca_cert_error(value: Any) -> str:
    if value in (None, "") or (isinstance(value, str) and _ABSOLUTE_PATH.fullmatch(value)):
        return ""
    return (f"corporate_ca_cert: {shown(value)} is not an absolute path; expected where the private root CA "
            f"(PEM) lives on developers' machines, e.g. /usr/local/share/ca-certificates/corp-root.pem "
            f"(no ~, quotes or $).")


def primary_provider_error(value: Any, providers: Any) -> str:
    providers = list(providers or [])
    if value in providers:
        return ""
    return (f"primary_provider: {shown(value)} is not one of the selected providers; expected one of "
            f"{', '.join(providers)}.")


def workers_error(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 32:
        return ""
    return f"gateway_workers: {shown(value)} is not a worker count; expected a whole number from 1 to 32."


_CONTACT = re.compile(r"[A-Za-z0-9@#._:/+(),-]([A-Za-z0-9 @#._:/+(),-]{0,98}[A-Za-z0-9@#._:/+(),-])?")


def budget_contact_error(value: Any) -> str:
    if value in (None, "") or (isinstance(value, str) and _CONTACT.fullmatch(value)):
        return ""
    return (f"budget_contact: {shown(value)} is not a contact this setup can show safely; expected up to 100 "
            f"letters, digits, spaces and @ # . _ : / + ( ) , - (no quotes, $ or backticks), e.g. #llm-gateway or "
            f"platform-team@example.com.")


_API_KEY = re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")
# ANSI-C quoting ($'...') as bash reads it, for the escapes that can spell a key's characters.
_ANSI_C = re.compile(r"\$'((?:[^'\\]|\\.)*)'")
_ANSI_C_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}|.)")


def _ansi_c(body: str) -> str:
    def char(match: re.Match) -> str:
        escape = match.group(1)
        if escape[0] in "xuU":
            return chr(min(int(escape[1:], 16), 0x10FFFF))
        if escape[0].isdigit():
            return chr(int(escape, 8) & 0xFF)
        return {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f",
                "v": "\v"}.get(escape, escape)
    return "'" + _ANSI_C_ESCAPE.sub(char, body).replace("'", "'\\''") + "'"


def shell_words(command: str) -> list[str]:
    """The words of `command` as a POSIX shell (and bash, for $'...') sees them after quote removal. Only what
    quoting hides is undone: expansions (variables, command substitution) stay as written. Quoting that does not
    close (the shell would refuse it): the text without any quote or backslash, split at blanks."""
    try:
        return shlex.split(_ANSI_C.sub(lambda m: _ansi_c(m.group(1)), command), posix=True)
    except ValueError:
        return re.sub(r"[\"'\\]", "", command).split()


def api_key_helper_error(value: Any) -> str:
    if value in (None, ""):
        return ("api_key_helper: empty; expected the command that prints the gateway key, e.g. vault kv get "
                "-field=key secret/claude/gateway (client_auth=api_key_helper needs it).")
    # A key is a key however it is quoted: the words as the shell sees them are checked, not only the text.
    if isinstance(value, str) and (_API_KEY.search(value) or any(_API_KEY.search(w) for w in shell_words(value))):
        shown_words = redacted(" ".join(shell_words(value))) if not _API_KEY.search(value) else value
        return (f"api_key_helper: {shown(shown_words)} contains what looks like an API key, which would be stored "
                f"in .copier-answers.yml and client/settings.json; expected a command that fetches the key, e.g. "
                f"vault kv get -field=key secret/claude/gateway.")
    if isinstance(value, str) and value.strip() and "\n" not in value and "\r" not in value and len(value) <= 1000:
        return ""
    return (f"api_key_helper: {shown(value)} is not a command; expected one line whose output is the gateway "
            f"key and nothing else, e.g. vault kv get -field=key secret/claude/gateway.")


_BEARER = re.compile(r"Bearer\s+[A-Za-z0-9._~+/=-]{16,}")


def otel_headers_helper_error(value: Any) -> str:
    """Optional; when given, a one-line command whose output (a JSON object of headers) is never written to a file:
    a token in the command itself would be stored in .copier-answers.yml and client/settings.json."""
    if value in (None, ""):
        return ""
    if isinstance(value, str) and (_API_KEY.search(value) or _BEARER.search(value)
                                   or any(_API_KEY.search(w) or _BEARER.search(w) for w in shell_words(value))):
        return (f"otel_headers_helper: {shown(redacted(value))} contains what looks like a token, which would be "
                "stored in .copier-answers.yml and client/settings.json; expected a command that fetches it, e.g. "
                "~/bin/otel-headers.sh printing {\"Authorization\": \"Bearer ...\"} from your secret store.")
    if isinstance(value, str) and value.strip() and "\n" not in value and "\r" not in value and len(value) <= 1000:
        return ""
    return (f"otel_headers_helper: {shown(value)} is not a command; expected one line whose output is a JSON object "
            "of header names and values, or empty.")


def providers_error(value: Any, cost_tracking: Any, known: tuple[str, ...]) -> str:
    choices = ", ".join(known)
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        return f"providers: {shown(value)} is not a list; expected a list from {choices}, e.g. [anthropic]."
    if not value:
        return f"providers: nothing selected; expected at least one of {choices}."
    unknown = [p for p in value if p not in known]
    if unknown:
        return f"providers: {shown(unknown[0])} is not a known provider; expected a list from {choices}."
    if len(set(value)) != len(value):
        return f"providers: {list(value)!r} lists a provider twice; list each provider once."
    if len(value) > 1 and not cost_tracking:
        return (f"providers: {list(value)!r} selects {len(value)} providers, but without cost tracking "
                f"(Patterns A and B) Claude Code talks to exactly one provider. Choose one, or answer yes to "
                f"cost tracking (cost_tracking=true) to get a LiteLLM gateway with multi-provider routing.")
    return ""


# What copier's `type: bool` should accept from --data or a data file; it turns any other text (`flase`, "yes
# please") into true before a validator sees it, so the value as given is checked first (given_value_error).
YES_NO_WORDS = ("true", "false", "yes", "no", "y", "n", "on", "off", "1", "0")


def bool_error(value: Any, question: str) -> str:
    # A data file's YAML gives true/false, yes/no and on/off as booleans, and 1/0 as numbers.
    if isinstance(value, bool) or value in (0, 1) or (isinstance(value, str) and value.strip().lower() in YES_NO_WORDS):
        return ""
    return (f"{question}: {shown(value)} is not a yes/no answer; expected true or false "
            f"(or yes/no, y/n, on/off, 1/0).")


def choice_error(value: Any, question: str, choices: tuple[str, ...], what: str) -> str:
    if value in choices:
        return ""
    return f"{question}: {shown(value)} is not {what}; expected {' or '.join(choices)}."


# One rule for every text answer, before its own: no control characters (newlines, tabs, escapes), no line or
# paragraph separators (U+2028, U+2029, U+0085 break YAML and JavaScript), no invisible format characters
# (bidirectional overrides make a file read differently than it runs), and a length no file needs more than.
_FORBIDDEN_CATEGORIES = {"Cc": "a control character", "Cf": "an invisible format character",
                         "Zl": "a line separator", "Zp": "a paragraph separator", "Cs": "a lone surrogate"}
MAX_TEXT = 1000


def text_error(value: Any, question: str) -> str:
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return ""  # not given, or a number copier turns into text
    if not isinstance(value, str):
        return f"{question}: {shown(value)} is not text; expected a single line of text."
    for char in value:
        what = _FORBIDDEN_CATEGORIES.get(unicodedata.category(char))
        if what:
            return (f"{question}: {shown(value)} contains {what} (U+{ord(char):04X}); expected a single line of "
                    f"printable text (it is placed in shell, PowerShell, YAML and JSON files).")
    if len(value) > MAX_TEXT:
        return f"{question}: {shown(value)} is longer than {MAX_TEXT} characters; expected a shorter value."
    if "${" in value:
        # The Claude apps gateway replaces ${NAME} in its config from its environment (apps_gateway.py).
        return (f"{question}: {shown(value)} contains '${{'; expected text without it (the gateway's config would "
                f"read it as a variable of its environment).")
    return ""


def _given_list(value: Any) -> list | None:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return None
        return parsed if isinstance(parsed, list) else None
    return None


def given_value_error(rule: Rule, value: Any) -> str:
    """Whether an answer as given (--data, a data file, before copier's casts) has the question's type and is one
    of its choices: copier would otherwise stop with a traceback (`int('abc')`, "Not a YAML list", "Invalid
    choice") or, for yes/no, turn any text into true."""
    question = rule.question
    if rule.kind == "yes/no":
        return bool_error(value, question)
    if rule.kind == "number":
        if (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str)
                                                                        and re.fullmatch(r"[0-9]{1,9}", value)):
            return ""
        return f"{question}: {shown(value)} is not a whole number; expected digits only, e.g. 4000."
    if rule.kind == "list":
        items = _given_list(value)
        example = f"[{rule.choices[0]}]" if rule.choices else "[a, b]"
        if items is None:
            return f"{question}: {shown(value)} is not a list; expected a YAML list such as {example}."
        for item in items:
            if not isinstance(item, str) or (rule.choices and item not in rule.choices):
                return (f"{question}: {shown(item)} is not one of the choices; expected a list from "
                        f"{', '.join(rule.choices)}, e.g. {example}.")
        return ""
    error = text_error(value, question)
    if not error and value is None:
        error = f"{question}: empty (null); expected a value, or '' for none."
    if not error and rule.choices and value not in rule.choices:
        error = f"{question}: {shown(value)} is not one of the choices; expected {' or '.join(rule.choices)}."
    return error


def given_value(rule: Rule, value: Any) -> Any:
    """An answer as given, with the type copier gives it after parsing (given_value_error found no problem)."""
    if rule.kind == "yes/no":
        return bool(value) if not isinstance(value, str) else value.strip().lower() in ("true", "yes", "y", "on", "1")
    if rule.kind == "number":
        return int(value)
    if rule.kind == "list":
        return _given_list(value)
    return value if isinstance(value, str) else str(value)


def region_error(value: Any, question: str, regions: RegionList, service: str, example: str) -> str:
    if isinstance(value, str) and value in regions.codes:
        return ""
    close = difflib.get_close_matches(str(value), regions.codes, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return (f"{question}: {shown(value)} is not a region where {service} serves Claude; {hint}expected one of "
            f"{len(regions.codes)} region codes such as {example} (list from {regions.source}, read "
            f"{regions.checked}; a newer region needs a newer template release).")
