"""Guard: penetration-attempt detection and auto-banning for Flask."""

from __future__ import annotations

from guard.config import SecurityConfig as SecurityConfig
from guard.errors import ConfigurationError as ConfigurationError
from guard.errors import GuardError as GuardError
from guard.errors import PatternError as PatternError
from guard.errors import StorageError as StorageError
from guard.extension import FlaskAPIGuard as FlaskAPIGuard
from guard.extension import Guard as Guard
from guard.extension import correlation_id as correlation_id

__all__ = [
    "ConfigurationError",
    "FlaskAPIGuard",
    "Guard",
    "GuardError",
    "PatternError",
    "SecurityConfig",
    "StorageError",
    "correlation_id",
]
