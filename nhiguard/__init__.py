"""nhiguard: find, verify and clean up leaked machine credentials."""

from __future__ import annotations

__version__ = "0.1.0"
