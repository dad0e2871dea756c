"""Reporters: one output format per module, each a pure function Report → text.

The registry maps a format name to its renderer; third-party formats come from the `nhiguard.reporters`
entry-point group (see plugins.py).
"""

from __future__ import annotations

from typing import Protocol

from nhiguard.model import Report
from nhiguard.reporters import json as json_reporter
from nhiguard.reporters import junit, sarif, text


class Reporter(Protocol):
    def __call__(self, report: Report, *, show_secrets: bool = False, color: bool = False) -> str: ...


REPORTERS: dict[str, Reporter] = {
    "text": text.render,
    "json": json_reporter.render,
    "sarif": sarif.render,
    "junit": junit.render,
}
