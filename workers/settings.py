"""Worker settings from the environment: Guard's ``GUARD_*`` config, the broker, the shipper.

Every :class:`~guard.config.SecurityConfig` field is read from ``GUARD_<FIELD>``, as
``SecurityConfig.from_mapping`` reads ``app.config``; values are JSON-decoded unless the field
is text (so ``GUARD_PASSIVE_MODE=true``, ``GUARD_WHITELIST='["10.0.0.0/8"]'`` and
``GUARD_AGENT_API_KEY=123`` all mean what they say). The worker-only settings:

=================================  ============================  ==============================
``GUARD_BROKER_URL``               ``redis://127.0.0.1:6379/0``  Celery broker
``GUARD_BROKER_KEY_PREFIX``        (none)                        prefix of every broker key
``GUARD_BROKER_VISIBILITY_TIMEOUT``  ``120``                     seconds before an unacked task
                                                                 of a dead worker is redelivered
``GUARD_BROKER_RESTORE_INTERVAL``  ``5``                         seconds between redelivery scans
``GUARD_WORKER_STORE_TIMEOUT``     ``1.0``                       store socket timeout (seconds)
``GUARD_AGENT_BATCH_SIZE``         ``100``                       events per agent batch
``GUARD_AGENT_FLUSH_INTERVAL``     ``1.0``                       seconds between agent flushes
``GUARD_AGENT_ATTEMPTS``           ``5``                         POST attempts per batch
``GUARD_AGENT_BACKOFF``            ``0.5``                       first retry delay (doubles)
``GUARD_AGENT_TIMEOUT``            ``5.0``                       POST timeout (seconds)
=================================  ============================  ==============================

The store is ``GUARD_REDIS_URL`` (under ``GUARD_REDIS_PREFIX``); without one, a worker would
keep its state to itself, so it falls back to the broker's Redis and says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from guard.config import CONFIG_PREFIX, SecurityConfig
from guard.errors import ConfigurationError
from guard.store import Store, create_store
from pipelines.shipping import ShippingPolicy

log = logging.getLogger(__name__)

DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
ANALYSIS_QUEUE = "guard.analysis"
SHIPPING_QUEUE = "guard.shipping"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def config_from_env(environ: Mapping[str, str]) -> SecurityConfig:
    """A validated ``SecurityConfig`` from the ``GUARD_*`` variables of ``environ``."""
    values: dict[str, Any] = {}
    for f in fields(SecurityConfig):
        key = CONFIG_PREFIX + f.name.upper()
        if key in environ:
            values[key] = _decode(str(f.type), environ[key], key)
    return SecurityConfig.from_mapping(values)


def _decode(annotation: str, raw: str, key: str) -> Any:
    if annotation == "bool":
        lowered = raw.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise ConfigurationError(f"{key} must be true or false, not {raw!r}")
        return lowered in _TRUE
    if annotation == "str" or annotation.startswith("Literal"):
        return raw
    if annotation == "str | None":
        return raw or None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker process reads from its environment."""

    config: SecurityConfig
    broker_url: str
    broker_key_prefix: str
    visibility_timeout: float
    restore_interval: float
    store_timeout: float
    shipping: ShippingPolicy
    test_task_delay: float
    """Seconds each event's task waits after processing it, before the ack (tests only)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WorkerSettings:
        """Read and validate the settings."""
        def number(name: str, default: float) -> float:
            raw = environ.get(name, "")
            try:
                return float(raw) if raw else default
            except ValueError as exc:
                raise ConfigurationError(f"{name} must be a number, not {raw!r}") from exc

        defaults = ShippingPolicy()
        return cls(
            config=config_from_env(environ),
            broker_url=environ.get("GUARD_BROKER_URL") or DEFAULT_BROKER_URL,
            broker_key_prefix=environ.get("GUARD_BROKER_KEY_PREFIX", ""),
            visibility_timeout=number("GUARD_BROKER_VISIBILITY_TIMEOUT", 120.0),
            restore_interval=number("GUARD_BROKER_RESTORE_INTERVAL", 5.0),
            store_timeout=number("GUARD_WORKER_STORE_TIMEOUT", 1.0),
            shipping=ShippingPolicy(
                batch_size=int(number("GUARD_AGENT_BATCH_SIZE", defaults.batch_size)),
                flush_interval=number("GUARD_AGENT_FLUSH_INTERVAL", defaults.flush_interval),
                attempts=int(number("GUARD_AGENT_ATTEMPTS", defaults.attempts)),
                backoff=number("GUARD_AGENT_BACKOFF", defaults.backoff),
                timeout=number("GUARD_AGENT_TIMEOUT", defaults.timeout),
            ),
            test_task_delay=number("GUARD_TEST_TASK_DELAY", 0.0),
        )

    def celery_config(self) -> dict[str, Any]:
        """The Celery configuration: msgpack only, no results, late acks, one task prefetched."""
        transport: dict[str, Any] = {
            "visibility_timeout": self.visibility_timeout,
            "unacked_restore_interval": self.restore_interval,
            "unacked_restore_throttle": 1,
        }
        if self.broker_key_prefix:
            transport["global_keyprefix"] = self.broker_key_prefix
        return {
            "broker_url": self.broker_url,
            "broker_transport_options": transport,
            "broker_connection_retry_on_startup": True,
            "task_serializer": "msgpack",
            "accept_content": ["msgpack"],
            "result_backend": None,
            "task_ignore_result": True,
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            "task_default_queue": ANALYSIS_QUEUE,
            "task_create_missing_queues": True,
            "worker_hijack_root_logger": False,
        }

    def store(self) -> Store:
        """The shared store: ``redis_url``, else the broker's Redis."""
        url = self.config.redis_url
        if url is None or url.startswith("memory"):
            log.warning(
                "GUARD_REDIS_URL is not set: the worker keeps its state in the broker's Redis"
            )
            url = self.broker_url
        return create_store(url, prefix=self.config.redis_prefix, timeout=self.store_timeout)
