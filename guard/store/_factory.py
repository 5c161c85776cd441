"""Choose a store backend by URL: ``memory://`` (or none) in process, Redis otherwise."""

from __future__ import annotations

import inspect
from typing import Any
from urllib.parse import urlsplit

from guard.errors import ConfigurationError
from guard.logsafe import safe
from guard.store._memory import MemoryStore
from guard.store.base import Store

REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})


def create_store(url: str | None, prefix: str = "guard:", **options: Any) -> Store:
    """The store for ``url``: None or ``memory://`` is a :class:`MemoryStore`, ``redis://``,
    ``rediss://`` and ``unix://`` a :class:`RedisStore`.

    ``options`` go to the backend's constructor. ``timeout`` is understood by every backend: for
    Redis it sets both socket timeouts, and the memory store, which never waits, ignores it.
    An unknown scheme or option raises :class:`~guard.errors.ConfigurationError`.
    """
    timeout = options.pop("timeout", None)
    scheme = urlsplit(url).scheme.lower() if url is not None else "memory"
    if url is None or scheme == "memory":
        return _build(MemoryStore, prefix, options)
    if scheme in REDIS_SCHEMES:
        from guard.store._redis import RedisStore

        if timeout is not None:
            options.setdefault("socket_timeout", timeout)
            options.setdefault("socket_connect_timeout", timeout)
        return _build(RedisStore, prefix, options, url)
    named = f"scheme {safe(scheme, 40)!r}" if scheme else f"no scheme in {safe(url, 80)!r}"
    raise ConfigurationError(
        f"unknown store URL ({named}): use memory://, redis://, rediss:// or unix://"
    )


def _build(backend: type[Any], prefix: str, options: dict[str, Any], *url: str) -> Store:
    try:
        inspect.signature(backend).bind(*url, prefix, **options)
    except TypeError as exc:
        raise ConfigurationError(f"{backend.__name__}: {exc}") from exc
    store: Store = backend(*url, prefix, **options)
    return store
