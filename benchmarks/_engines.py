"""One calling convention for our detector and flaskapi-guard's, and their verdicts.

Each engine is loaded on demand: an engine whose package is not installed (flaskapi-guard outside
``.venv-bench``) or not written yet (ours, while it is being built) raises
:class:`EngineUnavailable`, and callers print "n/a" in its column. Timing calls
:attr:`Engine.detect`, the engine's own ``detect()`` and nothing else; turning its result into a
:class:`Verdict` happens outside the timed region.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from guard.engine.rules import CLASSES

OURS = "ours"
PEER = "flaskapi-guard"
ENGINE_NAMES = (OURS, PEER)

CLIENT_IP = "203.0.113.7"

CORPUS_CLASSES = CLASSES

# flaskapi-guard's regex categories and semantic attack types, in the corpus's class names.
# Categories with no corpus class (ssrf, recon, cms_probing, proto_pollution,
# deserialization) keep their own name and so never count as the right class.
CLASS_ALIASES = {
    "dir_traversal": "path_traversal",
    "file_inclusion": "path_traversal",
    "sensitive_file": "path_traversal",
    "path": "path_traversal",
    "cmd_injection": "cmdi",
    "code_injection": "cmdi",
    "command": "cmdi",
    "template": "ssti",
    "http_split": "crlf",
    "sql": "sqli",
}

Detect = Callable[[str, str], dict[str, Any]]


class EngineUnavailable(Exception):
    """The engine's package is not installed or does not expose the API yet."""


@dataclass(frozen=True)
class Verdict:
    """What one ``detect()`` call concluded, in corpus terms."""

    flagged: bool
    top_class: str | None
    classes: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class Engine:
    """A loaded detector: its name, version and raw ``detect(value, context)``."""

    name: str
    version: str
    detect: Detect
    threat_class: Callable[[dict[str, Any]], str | None]

    def judge(self, value: str, context: str) -> Verdict:
        """Run ``detect`` on ``value`` and reduce the result to a :class:`Verdict`."""
        return verdict_of(self.detect(value, context), self.threat_class)


def verdict_of(
    result: dict[str, Any], threat_class: Callable[[dict[str, Any]], str | None]
) -> Verdict:
    """Reduce a ``detect()`` result dict. The top class is the engine's own naming
    (``attack_class``) when it gives one, else the highest-scoring threat's."""
    threats = list(result.get("threats") or ())
    ranked = sorted(threats, key=threat_score, reverse=True)
    classes = _unique(c for c in map(threat_class, ranked) if c)
    named = canonical_class(result.get("attack_class"))
    top = named or (threat_class(ranked[0]) if ranked else None)
    return Verdict(
        flagged=bool(result.get("is_threat")),
        top_class=top,
        classes=classes,
        score=float(result.get("threat_score") or 0.0),
    )


def threat_score(threat: dict[str, Any]) -> float:
    """The per-threat score: a semantic probability, else a score or regex weight, else 1."""
    for key in ("probability", "score", "threat_score", "weight"):
        value = threat.get(key)
        if isinstance(value, int | float):
            return float(value)
    return 1.0


def canonical_class(name: object) -> str | None:
    """Map an engine's class or category name onto the corpus's class names."""
    if not isinstance(name, str) or not name:
        return None
    return CLASS_ALIASES.get(name, name)


def load(name: str) -> Engine:
    """Load the engine called ``name`` (``ours`` or ``flaskapi-guard``)."""
    return _LOADERS[name]()


def try_load(name: str) -> tuple[Engine | None, str]:
    """Load ``name``; return ``(engine, "")`` or ``(None, why it is unavailable)``."""
    try:
        return load(name), ""
    except EngineUnavailable as exc:
        return None, str(exc)


def package_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None when it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _load_ours() -> Engine:
    module = _import("guard.handlers.suspatterns_handler")
    handler = getattr(module, "sus_patterns_handler", None)
    if handler is None:
        raise EngineUnavailable("guard.handlers.suspatterns_handler has no sus_patterns_handler")

    def detect(value: str, context: str) -> dict[str, Any]:
        result: dict[str, Any] = handler.detect(
            content=value, ip_address=CLIENT_IP, context=context, correlation_id=None
        )
        return result

    return Engine(OURS, package_version("guard") or "source tree", detect, _our_class)


def _our_class(threat: dict[str, Any]) -> str | None:
    return canonical_class(threat.get("class") or threat.get("attack_type"))


def _load_peer() -> Engine:
    models = _import("guard_core.models")
    module = _import("guard_core.sync.handlers.suspatterns_handler")
    handler = module.sus_patterns_handler
    # Without a SecurityConfig the singleton runs in a deprecated "legacy" mode that skips the
    # preprocessor and the semantic analyser; configure it exactly as its Flask extension does.
    handler.configure(models.SecurityConfig(**PEER_CONFIG))

    def detect(value: str, context: str) -> dict[str, Any]:
        result: dict[str, Any] = handler.detect(
            content=value, ip_address=CLIENT_IP, context=context, correlation_id=None
        )
        return result

    version = f"{package_version('flaskapi-guard')} (guard-core {package_version('guard-core')})"
    return Engine(PEER, version, detect, _peer_class)


def _peer_class(threat: dict[str, Any]) -> str | None:
    if threat.get("type") == "semantic":
        return canonical_class(threat.get("attack_type"))
    return canonical_class(threat.get("category"))


# Everything that would need the network or shared state is off; penetration detection is on.
PEER_CONFIG: dict[str, Any] = {
    "enable_redis": False,
    "enable_ip_banning": False,
    "enable_rate_limiting": False,
    "enable_agent": False,
    "block_cloud_providers": None,
    "ipinfo_token": None,
    "enable_penetration_detection": True,
}


def silence_peer_logging() -> None:
    """Send flaskapi-guard's log lines to /dev/null; they are still formatted and written."""
    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    for handler in logging.getLogger("guard_core").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EngineUnavailable(f"cannot import {module}: {exc}") from exc


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


_LOADERS: dict[str, Callable[[], Engine]] = {OURS: _load_ours, PEER: _load_peer}

_worker_engine: Engine | None = None


def pool_init(name: str) -> None:
    """Multiprocessing initializer: load engine ``name`` once in the worker process."""
    global _worker_engine
    _worker_engine = load(name)


def pool_judge(item: tuple[str, str]) -> Verdict:
    """Multiprocessing task: judge one ``(value, context)`` with the worker's engine."""
    assert _worker_engine is not None, "pool_init did not run"
    value, context = item
    return _worker_engine.judge(value, context)
