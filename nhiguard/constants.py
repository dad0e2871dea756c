"""Numbers and names shared by every layer."""

from __future__ import annotations

from typing import Final

EXIT_CLEAN: Final = 0
EXIT_FINDINGS: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERNAL: Final = 3
EXIT_INCOMPLETE: Final = 4  # no finding, but part of the input was not checked (a time bound fired)

CONFIG_FILE: Final = ".nhiguard.yml"
CONFIG_FILE_ALT: Final = ".nhiguard.yaml"
BASELINE_VERSION: Final = 1
DEFAULT_MAX_FILE_SIZE: Final = 10 * 1024 * 1024
REGEX_TIMEOUT_SECONDS: Final = 1.0
MAX_DECODE_DEPTH: Final = 2

INLINE_ALLOW_MARKERS: Final = (
    b"nhiguard:allow",
    b"gitleaks:allow",
    b"pragma: allowlist secret",
    b"trufflehog:ignore",
)
