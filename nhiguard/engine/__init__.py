"""The detection engine: keyword prefilter → rule patterns in windows → decoders → scores and filters."""

from __future__ import annotations

from nhiguard.engine.core import Engine, EngineOptions

__all__ = ["Engine", "EngineOptions"]
