"""The error tree. Every error a user can cause is a NhiguardError and maps to exit code 2.

    NhiguardError
    ├── ConfigError      bad .nhiguard.yml / pyproject section / CLI option value
    ├── RuleError        a rule file or rule record is invalid (names file and rule id)
    ├── SourceError      a path, repository or stream cannot be read as asked
    └── VerifyError      a verifier was misconfigured (never raised for provider answers)
"""

from __future__ import annotations


class NhiguardError(Exception):
    """Base class: a problem to report to the user without a traceback."""


class ConfigError(NhiguardError):
    pass


class RuleError(NhiguardError):
    pass


class SourceError(NhiguardError):
    pass


class VerifyError(NhiguardError):
    pass
