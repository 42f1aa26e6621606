"""Configuration layer: typed, validated environment data. Never imports cdktf or modules."""

from __future__ import annotations

import os

from config.model import ConfigError, EnvironmentConfig, validate, validate_environments

OVERRIDES_FILE_VARIABLE = "AJUDA_CONFIG_FILE"


def load(names: list[str] | None = None, overrides_file: str | None = None) -> list[EnvironmentConfig]:
    """Validated environments, all of them or the ones named; raises ConfigError on any problem.

    ``overrides_file`` (default: $AJUDA_CONFIG_FILE) is applied on top of the built-in data.
    """
    from config.environments import all_environments
    from config.overrides import apply_overrides

    known = all_environments()
    path = overrides_file if overrides_file is not None else os.environ.get(OVERRIDES_FILE_VARIABLE)
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                known = apply_overrides(known, handle.read(), path)
        except OSError as error:
            raise ConfigError(f"{OVERRIDES_FILE_VARIABLE}: cannot read {path!r} ({error.strerror})") from None
        except UnicodeDecodeError as error:
            raise ConfigError(f"{OVERRIDES_FILE_VARIABLE}: {path!r} is not UTF-8 text "
                              f"(byte {error.object[error.start]:#04x} at offset {error.start})") from None
    wanted = names or list(known)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ConfigError(f"environment: unknown {', '.join(map(repr, unknown))} (known: {', '.join(known)})")
    return validate_environments(known, wanted)


__all__ = ["ConfigError", "EnvironmentConfig", "load", "validate"]
