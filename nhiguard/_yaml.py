"""The only module that imports yaml. Always the safe loader: rule and config files are untrusted.

yaml is imported on first use: a warm pre-commit run reads cached rules and often no YAML at all."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _yaml() -> Any:
    import yaml

    return yaml


def _loader() -> Any:
    yaml = _yaml()
    # libyaml's C loader is ~10x faster; both are safe loaders (no Python object construction).
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def __getattr__(name: str) -> Any:
    if name == "YAMLError":  # (an `except` clause looks it up only when something was raised)
        return _yaml().YAMLError
    raise AttributeError(name)


def load(text: str | bytes) -> Any:
    yaml = _yaml()
    try:
        return yaml.load(text, Loader=_loader())  # (a SafeLoader: no Python object construction)
    except UnicodeError:
        raise
    except (ValueError, OverflowError, RecursionError) as exc:
        # A value the safe constructors cannot build (an integer of 5,000 digits passes Python's limit on int
        # conversion, a timestamp on the 45th of a month): bad input like a syntax error, which every caller turns
        # into a one-line exit 2.
        raise yaml.YAMLError(f"{type(exc).__name__}: {exc}") from None


def dump(data: Any) -> str:
    yaml = _yaml()
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)  # type: ignore[no-any-return]
