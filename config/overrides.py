"""Per-environment overrides from a JSON file, for account-specific values kept out of the repository.

``AJUDA_CONFIG_FILE=overrides.json`` with ``{"prod": {"domain": {"name": "chat.example.tl"}}}``
replaces just those settings; every key must name an existing setting.
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import fields, is_dataclass, replace
from typing import Any

from config.model import ConfigError, EnvironmentConfig

_SECRET_SETTING = re.compile(r"password|secret|token|credential|private_key", re.I)


def _is_settings_group(owner: type, key: str) -> bool:
    """True when ``owner.key`` is an optional group of settings (e.g. ``emulator``), not a value."""
    return any(is_dataclass(option) for option in typing.get_args(typing.get_type_hints(owner)[key]))


def _apply(obj: Any, changes: dict[str, Any], path: str) -> Any:
    if not isinstance(changes, dict):
        raise ConfigError(f"{path}: expected an object of settings, got {changes!r}")
    known = {f.name: f for f in fields(obj)}
    updates = {}
    for key, value in changes.items():
        setting = f"{path}.{key}"
        if _SECRET_SETTING.search(key):
            raise ConfigError(f"{setting}: secrets are never configuration; passwords are generated in Secrets Manager "
                              "(README: Configuration)")
        if key not in known:
            raise ConfigError(f"{setting}: unknown setting (known: {', '.join(known)})")
        current = getattr(obj, key)
        if is_dataclass(current):
            updates[key] = _apply(current, value, setting)
        elif current is None and isinstance(value, dict) and _is_settings_group(type(obj), key):
            raise ConfigError(f"{setting}: not set in this environment, so there are no settings in it to override")
        else:
            updates[key] = tuple(value) if isinstance(value, list) else value
    return replace(obj, **updates)


class _Pairs(list[tuple[str, object]]):
    """A JSON object as its key/value pairs, so that a repeated key is still visible."""


def _objects(value: Any, path: str) -> Any:
    """``value`` with every JSON object made a dict; a key given twice is an error naming it."""
    if not isinstance(value, list):
        return value
    if not isinstance(value, _Pairs):
        return [_objects(item, f"{path}[{i}]") for i, item in enumerate(value)]
    result: dict[str, Any] = {}
    for key, item in value:
        setting = f"{path}.{key}" if path else key
        if key in result:
            raise ConfigError(f"{setting}: given twice in the overrides file; the JSON parser would keep only the last")
        result[key] = _objects(item, setting)
    return result


def apply_overrides(envs: dict[str, EnvironmentConfig], text: str, source: str) -> dict[str, EnvironmentConfig]:
    try:
        document = _objects(json.loads(text, object_pairs_hook=_Pairs), "")
    except json.JSONDecodeError as error:
        raise ConfigError(f"{source}: not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: expected an object keyed by environment name")
    result = dict(envs)
    for name, changes in document.items():
        if name not in result:
            raise ConfigError(f"{source}: environment: unknown {name!r} (known: {', '.join(result)})")
        result[name] = _apply(result[name], changes, name)
    return result
