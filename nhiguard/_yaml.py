"""The only module that imports yaml. Always the safe loader: rule and config files are untrusted."""

from __future__ import annotations

from typing import Any

import yaml

# libyaml's C loader is ~10x faster; both are safe loaders (no Python object construction).
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

YAMLError = yaml.YAMLError


def load(text: str | bytes) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - the loader is a SafeLoader


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
