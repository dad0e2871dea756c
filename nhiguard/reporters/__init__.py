"""Reporters: one output format per module, each a pure function Report → text.

The registry maps a format name to the module that renders it; a module is imported only when its format is
asked for, so a pre-commit run does not pay for XML or SARIF.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Protocol

from nhiguard.model import Report


class Reporter(Protocol):
    def __call__(self, report: Report, *, show_secrets: bool = False, color: bool = False) -> str: ...


_MODULES: dict[str, str] = {
    "text": "nhiguard.reporters.text",
    "json": "nhiguard.reporters.json",
    "sarif": "nhiguard.reporters.sarif",
    "junit": "nhiguard.reporters.junit",
}


class _Registry(Mapping[str, Reporter]):
    def __getitem__(self, name: str) -> Reporter:
        module = importlib.import_module(_MODULES[name])
        render: Reporter = module.render
        return render

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


REPORTERS: Mapping[str, Reporter] = _Registry()
