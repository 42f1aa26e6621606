"""Per-environment overrides from a JSON file, for account-specific values kept out of the repository.

``AJUDA_CONFIG_FILE=overrides.json`` with ``{"prod": {"domain": {"name": "chat.example.tl"}}}``
replaces just those settings; every key must name an existing setting.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields, is_dataclass, replace
from typing import Any

from config.model import ConfigError, EnvironmentConfig

_SECRET_SETTING = re.compile(r"password|secret|token|credential|private_key", re.I)


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
        else:
            updates[key] = tuple(value) if isinstance(value, list) else value
    return replace(obj, **updates)


def apply_overrides(envs: dict[str, EnvironmentConfig], text: str, source: str) -> dict[str, EnvironmentConfig]:
    try:
        document = json.loads(text)
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
