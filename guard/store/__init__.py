"""Shared state: the ``Store`` protocol (bans, strikes, counters, and the analysis pipeline's
tallies, score indexes and incidents), its two backends, the URL factory.

``create_store(None)`` gives the in-process :class:`MemoryStore`; a ``redis://`` URL gives the
:class:`RedisStore` that every web process and worker shares. ``RedisStore`` is imported on
first use, so the embedded default never loads redis-py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guard.store._factory import create_store as create_store
from guard.store._memory import MemoryStore as MemoryStore
from guard.store.base import BanRecord as BanRecord
from guard.store.base import GroupSnapshot as GroupSnapshot
from guard.store.base import IncidentRecord as IncidentRecord
from guard.store.base import IncidentResult as IncidentResult
from guard.store.base import IncidentUpdate as IncidentUpdate
from guard.store.base import ScoreUpdate as ScoreUpdate
from guard.store.base import Store as Store
from guard.store.base import StrikeResult as StrikeResult
from guard.store.base import StrikeUpdate as StrikeUpdate
from guard.store.base import Tally as Tally
from guard.store.base import TallyResult as TallyResult
from guard.store.base import TallyUpdate as TallyUpdate

if TYPE_CHECKING:
    from guard.store._redis import RedisStore as RedisStore

__all__ = [
    "BanRecord",
    "GroupSnapshot",
    "IncidentRecord",
    "IncidentResult",
    "IncidentUpdate",
    "MemoryStore",
    "RedisStore",
    "ScoreUpdate",
    "Store",
    "StrikeResult",
    "StrikeUpdate",
    "Tally",
    "TallyResult",
    "TallyUpdate",
    "create_store",
]


def __getattr__(name: str) -> Any:
    if name == "RedisStore":
        from guard.store._redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
