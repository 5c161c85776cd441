"""Worker settings from the environment and the Celery configuration they produce."""

from __future__ import annotations

import pytest

from guard.errors import ConfigurationError
from workers.app import ANALYZE, ANALYZE_BATCH, SHIP, app, make_app
from workers.settings import DEFAULT_BROKER_URL, WorkerSettings, config_from_env


def test_guard_variables_are_decoded_by_field_type() -> None:
    config = config_from_env({
        "GUARD_PASSIVE_MODE": "true",
        "GUARD_AUTO_BAN_THRESHOLD": "7",
        "GUARD_DETECTION_SEMANTIC_THRESHOLD": "0.9",
        "GUARD_WHITELIST": '["10.0.0.0/8"]',
        "GUARD_TRUSTED_PROXIES": "1",
        "GUARD_ENABLE_AGENT": "1",
        "GUARD_AGENT_API_KEY": "123",
        "GUARD_REDIS_URL": "",
        "GUARD_FAIL_MODE": "closed",
        "UNRELATED": "x",
    })
    assert config.passive_mode is True and config.enable_agent is True
    assert config.auto_ban_threshold == 7 and config.detection_semantic_threshold == 0.9
    assert config.whitelist == ["10.0.0.0/8"] and config.trusted_proxies == 1
    assert config.agent_api_key == "123" and config.redis_url is None
    assert config.fail_mode == "closed"


def test_bad_values_fail_at_start_up() -> None:
    with pytest.raises(ConfigurationError, match="GUARD_PASSIVE_MODE"):
        config_from_env({"GUARD_PASSIVE_MODE": "maybe"})
    with pytest.raises(ConfigurationError, match="auto_ban_threshold"):
        config_from_env({"GUARD_AUTO_BAN_THRESHOLD": "0"})
    with pytest.raises(ConfigurationError, match="GUARD_AGENT_TIMEOUT"):
        WorkerSettings.from_env({"GUARD_AGENT_TIMEOUT": "soon"})


def test_celery_configuration() -> None:
    settings = WorkerSettings.from_env({
        "GUARD_BROKER_KEY_PREFIX": "p:", "GUARD_BROKER_VISIBILITY_TIMEOUT": "30",
    })
    conf = make_app(settings).conf
    assert settings.broker_url == DEFAULT_BROKER_URL == conf.broker_url
    assert conf.task_serializer == "msgpack" and list(conf.accept_content) == ["msgpack"]
    assert conf.task_ignore_result and conf.result_backend is None
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["global_keyprefix"] == "p:"
    assert conf.broker_transport_options["visibility_timeout"] == 30.0
    assert conf.task_routes[ANALYZE]["queue"] == conf.task_routes[ANALYZE_BATCH]["queue"]
    assert conf.task_routes[ANALYZE]["queue"] == "guard.analysis"
    assert conf.task_routes[SHIP]["queue"] == "guard.shipping"


def test_tasks_retry_store_failures_with_backoff_and_jitter() -> None:
    from guard.errors import StorageError

    for name in (ANALYZE, ANALYZE_BATCH):
        task = app.tasks[name]
        assert StorageError in task.autoretry_for
        assert task.retry_backoff and task.retry_jitter and task.max_retries
