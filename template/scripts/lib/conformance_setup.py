"""conformance_setup.py: the conformance kit's view of the generated setup, and its --offline checks.

What the kit runs against, read from this repository: the model pins of client/settings.json, the pinned Claude
Code version (versions.env) and its recording (scripts/conformance/claude-code-<version>.json, one entry per
route: the provider's, or the default route towards a gateway), the gateway's
model groups, the endpoint and key (the environment over the settings; a provider's variables come from
scripts/conformance/providers.json), and whether the files that use versions.env's pins agree with it.
Standard library only.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import envfile  # scripts/lib/envfile.py: the one reading of .env files, the same as common.sh's

TIERS = ("opus", "sonnet", "haiku")
PROVIDERS_FILE = "scripts/conformance/providers.json"


class ConfigError(Exception):
    """A setup the kit cannot run against (exit 2); the message is one line."""


@dataclass
class Result:
    name: str
    status: str  # PASS, FAIL or SKIP
    detail: str
    model: str = ""


@dataclass
class Config:
    root: Path
    pattern: str
    mode: str  # gateway, or the key of a provider in providers.json (direct)
    settings_env: dict[str, str]
    models: dict[str, str]  # tier -> pinned id
    provider: dict = field(default_factory=dict)  # the provider's entry in providers.json; {} for the gateway
    version: str = ""
    version_source: str = ""
    recording_file: Path | None = None
    recording: dict = field(default_factory=dict)
    route: dict = field(default_factory=dict)  # the recording's route for `mode`
    base_url: str = ""
    key: str = ""
    key_header: str = "authorization"  # or x-api-key


# ---------------------------------------------------------------------------------------------------------------
# The generated setup: settings, pinned version, recording, endpoint, key
# ---------------------------------------------------------------------------------------------------------------
def read_settings_env(root: Path) -> dict[str, str]:
    path = root / "client" / "settings.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read {path.relative_to(root)}: {error}") from None
    env = data.get("env") if isinstance(data, dict) else None
    if not isinstance(env, dict):
        raise ConfigError("client/settings.json has no \"env\" object")
    return {str(k): str(v) for k, v in env.items()}


def model_pins(settings_env: dict[str, str]) -> dict[str, str]:
    """The pins of client/settings.json; behind the Claude apps gateway (which delivers them to signed-in clients
    through its managed policy) scripts/conformance.sh passes that policy's pins in CONFORMANCE_MODEL_PINS."""
    try:
        delivered = json.loads(os.environ.get("CONFORMANCE_MODEL_PINS") or "{}")
    except ValueError:
        delivered = {}
    delivered = delivered if isinstance(delivered, dict) else {}
    return {tier: settings_env.get(f"ANTHROPIC_DEFAULT_{tier.upper()}_MODEL") or
            str(delivered.get(f"ANTHROPIC_DEFAULT_{tier.upper()}_MODEL", "")) for tier in TIERS}


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def recorded_versions(root: Path) -> list[str]:
    found = [m.group(1) for p in (root / "scripts" / "conformance").glob("claude-code-*.json")
             if (m := re.fullmatch(r"claude-code-(\d+(?:\.\d+)*)\.json", p.name))]
    return sorted(found, key=version_key)


def read_versions_env(root: Path) -> dict[str, str] | None:
    """versions.env's non-empty values, read as every script reads a .env file (envfile.py); None when there is no
    such file."""
    pins = envfile.read(root / "versions.env")
    return None if pins is None else {name: value for name, value in pins.items() if value}


def pinned_version(root: Path) -> tuple[str, str]:
    """(version, where it came from): CLAUDE_CODE_VERSION in versions.env, else the newest recording."""
    pins = read_versions_env(root)
    if pins is not None:
        version = pins.get("CLAUDE_CODE_VERSION")
        if version and not re.fullmatch(r"\d+(\.\d+)*", version):
            raise ConfigError(f"versions.env: CLAUDE_CODE_VERSION={version!r} is not a version such as 2.1.332")
        if version:
            return version, "versions.env"
        raise ConfigError("versions.env has no CLAUDE_CODE_VERSION=<version> line")
    versions = recorded_versions(root)
    if not versions:
        raise ConfigError("no versions.env and no scripts/conformance/claude-code-<version>.json")
    return versions[-1], "the newest recording, as there is no versions.env"


def load_recording(path: Path) -> dict:
    """The recording, checked: a version, and for every route (each provider, keyed as in providers.json) the
    request path, headers and betas for every tier; `default_route` names the route of a gateway in Anthropic
    format (no provider switch)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise ConfigError(f"{path.name} is missing") from None
    except ValueError as error:
        raise ConfigError(f"{path.name} is not valid JSON ({error})") from None
    routes = data.get("routes") if isinstance(data, dict) else None
    if not isinstance(routes, dict) or not routes or data.get("default_route") not in routes:
        raise ConfigError(f"{path.name} lacks the routes (one per provider) or its default_route")
    for name, route in routes.items():
        for variant in ("tiers", "tiers_without_experimental_betas"):
            tiers = route.get(variant) if isinstance(route, dict) else None
            if not isinstance(tiers, dict) or any(not isinstance((tiers.get(t) or {}).get("betas"), list)
                                                  for t in TIERS):
                raise ConfigError(f"{path.name} lacks the beta lists of {variant} for opus, sonnet and haiku on "
                                  f"route {name}")
        if not isinstance(route.get("headers"), dict) or not str(route.get("request_path", "")).startswith("/"):
            raise ConfigError(f"{path.name} lacks the recorded headers or request path of route {name}")
    return data


def route_name(recording: dict, mode: str) -> str:
    """The route the kit speaks for `mode`: the provider's own (direct), or the default route (the gateway)."""
    return recording["default_route"] if mode == "gateway" else mode


def recorded_route(recording: dict, mode: str, path: Path) -> dict:
    """What Claude Code sends on `mode`'s route, from the recording (a ConfigError when it was not recorded)."""
    name = route_name(recording, mode)
    route = recording["routes"].get(name)
    if route is None:
        raise ConfigError(f"{path.name} records no route {name} (it has {', '.join(recording['routes'])}): "
                          f"re-record it with the template's tests/support/record_claude_code_betas.py")
    return route


def gateway_model_groups(root: Path) -> list[str] | None:
    """The model_name entries of gateway/litellm_config.yaml and its .local include; None without a gateway here."""
    config = root / "gateway" / "litellm_config.yaml"
    if not config.is_file():
        return None
    names: list[str] = []
    for path in (config, root / "gateway" / "litellm_config.local.yaml"):
        if path.is_file():
            names += [m.group(1).strip("'\"") for m in
                      re.finditer(r"^\s*-?\s*model_name:\s*(\S+)", path.read_text(encoding="utf-8"), re.MULTILINE)]
    return names


def read_providers(root: Path) -> dict[str, dict]:
    """scripts/conformance/providers.json: for each provider of this setup, what the kit needs to call it directly
    (rendered from the template's provider registry, so this file names none)."""
    path = root / PROVIDERS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise ConfigError(f"{PROVIDERS_FILE} is missing (regenerate it: copier update)") from None
    except ValueError as error:
        raise ConfigError(f"{PROVIDERS_FILE} is not valid JSON ({error})") from None
    if not isinstance(data, dict) or not all(isinstance(entry, dict) and isinstance(entry.get("key_vars"), list)
                                             for entry in data.values()):
        raise ConfigError(f"{PROVIDERS_FILE} lacks the providers' entries (base_url_var, key_vars, ...)")
    return data


def provider_entry(root: Path, mode: str) -> dict:
    """The entry of the provider `mode` names in providers.json; {} for the gateway."""
    if mode == "gateway":
        return {}
    providers = read_providers(root)
    if mode not in providers:
        raise ConfigError(f"--mode {mode}: not a provider of this setup (expected gateway or "
                          f"{', '.join(providers) or 'one in ' + PROVIDERS_FILE})")
    return providers[mode]


def endpoint(mode: str, settings_env: dict[str, str], provider: dict | None = None) -> tuple[str, str, str]:
    """(base URL, key, key header) for `mode`, from the environment over the generated client settings. A provider
    Claude Code signs requests for (its own credentials, not a key) has none the kit could use."""
    env = os.environ
    if mode == "gateway":
        url = env.get("GATEWAY_URL") or settings_env.get("ANTHROPIC_BASE_URL", "")
        return url, env.get("CONFORMANCE_KEY", ""), "authorization"
    if not provider or provider.get("signs_requests"):
        return "", "", ""
    variable = provider.get("base_url_var", "")
    url = env.get(variable) or settings_env.get(variable, "")
    resource_var = provider.get("resource_var", "")
    if not url and resource_var:  # the endpoint named by a resource: the registry's URL formula
        resource = env.get(resource_var) or settings_env.get(resource_var, "")
        if resource:
            url = provider["resource_url"].format(resource)
    url = url or provider.get("default_url", "")
    key_vars = provider["key_vars"]
    for name, header in key_vars:  # in the order Claude Code prefers them
        if env.get(name):
            return url, env[name], header
    return url, "", key_vars[-1][1] if key_vars else ""


def key_variables(provider: dict) -> list[str]:
    return [name for name, _ in provider.get("key_vars", [])]


def endpoint_problem(url: str) -> str:
    if not re.fullmatch(r"https?://[^/\s]+(/[^\s]*)?", url or ""):
        return f"'{url}' is not an http(s) URL"
    if url.rstrip("/").endswith("/v1"):
        return f"'{url}' ends in /v1; Claude Code adds /v1 itself"
    return ""


def load_config(root: Path, pattern: str, mode: str, need_recording: bool = True) -> Config:
    settings_env = read_settings_env(root)
    config = Config(root, pattern, mode, settings_env, model_pins(settings_env), provider_entry(root, mode))
    config.version, config.version_source = pinned_version(root)
    config.recording_file = root / "scripts" / "conformance" / f"claude-code-{config.version}.json"
    if need_recording:
        config.recording = load_recording(config.recording_file)
        config.route = recorded_route(config.recording, mode, config.recording_file)
    config.base_url, config.key, config.key_header = endpoint(mode, settings_env, config.provider)
    config.base_url = config.base_url.rstrip("/")
    if config.key and not re.fullmatch(r"[\x21-\x7e]+", config.key):
        # A CR from a file saved on Windows, a space, a non-ASCII character: no HTTP header can carry it as is.
        raise ConfigError("the key has a space, a control character (a trailing CR?) or a non-ASCII character; "
                          "set it again without them")
    return config


# ---------------------------------------------------------------------------------------------------------------
# --offline: the generated setup is consistent (no network)
# ---------------------------------------------------------------------------------------------------------------
def offline_checks(root: Path, pattern: str, mode: str) -> list[Result]:
    results: list[Result] = []
    try:
        version, source = pinned_version(root)
        path = root / "scripts" / "conformance" / f"claude-code-{version}.json"
        recording = load_recording(path)
        if recording.get("claude_code_version") != version:
            raise ConfigError(f"{path.name} records Claude Code {recording.get('claude_code_version')}, not {version}")
        route = route_name(recording, mode)
        recorded_route(recording, mode, path)
        results.append(Result("recording", "PASS", f"scripts/conformance/{path.name} for Claude Code {version} "
                                                   f"(from {source}) parses, with betas for {', '.join(TIERS)} on "
                                                   f"route {route}"))
    except ConfigError as error:
        results.append(Result("recording", "FAIL", str(error)))
    try:
        settings_env = read_settings_env(root)
    except ConfigError as error:
        return [*results, Result("settings", "FAIL", str(error))]
    pins = model_pins(settings_env)
    missing = [t for t, model in pins.items() if not model]
    if missing:
        results.append(Result("settings", "FAIL", f"client/settings.json pins no {', '.join(missing)} model "
                                                  f"(ANTHROPIC_DEFAULT_<TIER>_MODEL)"))
    else:
        results.append(Result("settings", "PASS", "client/settings.json pins " +
                              ", ".join(f"{t}={m}" for t, m in pins.items())))
    groups = gateway_model_groups(root)
    if groups is None:
        results.append(Result("models", "SKIP", "no gateway/litellm_config.yaml here to compare the pins with"))
    else:
        unknown = [m for m in dict.fromkeys(pins.values()) if m and m not in groups]
        if unknown:
            results.append(Result("models", "FAIL", f"no model group in gateway/litellm_config.yaml for "
                                                    f"{', '.join(unknown)}"))
        else:
            results.append(Result("models", "PASS", "every pinned model has a model group in "
                                                    "gateway/litellm_config.yaml"))
    results.append(pins_check(root))
    try:
        provider = provider_entry(root, mode)
    except ConfigError as error:
        return [*results, Result("endpoint", "FAIL", str(error))]
    if provider.get("signs_requests"):
        results.append(Result("endpoint", "SKIP", f"{mode} direct: the network checks need --replay"))
    else:
        url = endpoint(mode, settings_env, provider)[0]
        problem = endpoint_problem(url)
        results.append(Result("endpoint", "FAIL" if problem else "PASS", problem or f"{url}"))
    return results


LITELLM_PIP = re.compile(r"^\s*litellm(?:\[[^\]]*\])?==(\S+)", re.MULTILINE)
DOCKERFILE_VERSION = re.compile(r"^ARG CLAUDE_CODE_VERSION=(\S+)", re.MULTILINE)
LITELLM_IMAGE_REF = re.compile(r"image:\s*[\"']?(ghcr\.io/berriai/litellm[\w.-]*:v?([\w.-]+))")


def pins_check(root: Path) -> Result:
    """versions.env against the files that use the same versions: a pair bumped by hand in one place only is caught
    here, before a client and a gateway of different pairs meet."""
    pins = read_versions_env(root)
    if pins is None:
        return Result("pins", "SKIP", "no versions.env here")
    disagree = []
    litellm = pins.get("LITELLM_VERSION")
    gateway = root / "gateway"
    if litellm:
        requirements = gateway / "requirements.txt"
        if requirements.is_file():
            found = LITELLM_PIP.findall(requirements.read_text(encoding="utf-8"))
            if found and any(v != litellm for v in found):
                disagree.append(f"gateway/requirements.txt pins litellm {', '.join(found)}")
        manifests = [gateway / "docker-compose.yml", *sorted((gateway / "kubernetes").glob("*.yaml"))]
        for path in (p for p in manifests if p.is_file()):
            refs = LITELLM_IMAGE_REF.findall(path.read_text(encoding="utf-8"))
            wrong = sorted({ref for ref, tag in refs if tag != litellm})
            if wrong:
                disagree.append(f"{path.relative_to(root)} runs {', '.join(wrong)}")
            image = pins.get("LITELLM_IMAGE")
            if image and refs and image not in {ref for ref, _ in refs}:
                disagree.append(f"{path.relative_to(root)} does not run LITELLM_IMAGE {image}")
    claude = pins.get("CLAUDE_CODE_VERSION")
    dockerfile = gateway / "Dockerfile"  # the Claude apps gateway's image: the same Claude Code as the clients
    if claude and dockerfile.is_file():
        built = sorted(set(DOCKERFILE_VERSION.findall(dockerfile.read_text(encoding="utf-8"))) - {claude})
        if built:
            disagree.append(f"gateway/Dockerfile builds Claude Code {', '.join(built)}")
    managed = root / "client" / "managed-settings.json"
    if managed.is_file() and pins.get("CLAUDE_CODE_VERSION"):
        try:
            cap = json.loads(managed.read_text(encoding="utf-8")).get("requiredMaximumVersion")
        except (ValueError, AttributeError):
            cap = None
        if cap and cap != pins["CLAUDE_CODE_VERSION"]:
            disagree.append(f"client/managed-settings.json caps Claude Code at {cap}")
    shown = ", ".join(f"{k}={v}" for k, v in pins.items() if k != "LITELLM_IMAGE")
    if disagree:
        return Result("pins", "FAIL", f"versions.env says {shown}, but " + "; ".join(disagree) +
                      "; bump every file together (docs/versions-and-upgrades.md)")
    return Result("pins", "PASS", f"versions.env ({shown}) agrees with the files that use it")
