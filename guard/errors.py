"""Guard's exceptions.

A detection is never an exception: the engine returns verdicts as values. Exceptions mean
something failed::

    GuardError
    ├── ConfigurationError      a setting is invalid (raised at start-up)
    ├── PatternError            a pattern is invalid (also a ValueError)
    └── StorageError            the ban/strike store could not be reached or answered wrongly
"""

from __future__ import annotations


class GuardError(Exception):
    """Base class of every exception Guard raises on purpose."""


class ConfigurationError(GuardError, ValueError):
    """A configuration value is invalid."""


class PatternError(GuardError, ValueError):
    """A pattern could not be compiled by any engine; the message names the problem."""


class StorageError(GuardError):
    """The store backend failed; wraps the backend's own exception."""
