"""The only module that imports yaml. Always the safe loader: rule and config files are untrusted."""

from __future__ import annotations

from typing import Any

import yaml

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader
    _Dumper: type[yaml.SafeDumper] = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader
    _Dumper = yaml.SafeDumper

YAMLError = yaml.YAMLError


def load(text: str | bytes) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - the loader is a SafeLoader


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
