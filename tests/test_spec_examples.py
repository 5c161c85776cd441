"""The public spec's detection examples, run as written with ``flaskapi_guard`` -> ``guard``."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask, jsonify, request

from guard import SecurityConfig
from guard.handlers.suspatterns_handler import sus_patterns_handler
from guard.utils import detect_penetration_attempt


@pytest.fixture(autouse=True)
def _restore_threshold() -> Iterator[None]:
    before = sus_patterns_handler.engine.config.detection_semantic_threshold
    yield
    sus_patterns_handler.configure_semantic_threshold(before)


def test_basic_configuration_example() -> None:
    config = SecurityConfig(
        enable_penetration_detection=True,
        auto_ban_threshold=5,
        auto_ban_duration=3600,
        detection_compiler_timeout=2.0,
        detection_max_content_length=10000,
        detection_preserve_attack_patterns=True,
        detection_semantic_threshold=0.7,
        detection_anomaly_threshold=3.0,
        detection_slow_pattern_threshold=0.1,
        detection_monitor_history_size=1000,
        detection_max_tracked_patterns=1000,
    )
    assert config.auto_ban_threshold == 5
    assert config.detection_semantic_threshold == 0.7


def test_direct_detection_example(capsys: pytest.CaptureFixture[str]) -> None:
    result = sus_patterns_handler.detect(
        content="SELECT * FROM users WHERE id=1 OR 1=1",
        ip_address="192.168.1.100",
        context="query_param",
    )
    if result["is_threat"]:
        print(f"Threat Score: {result['threat_score']}")
        for threat in result["threats"]:
            if threat["type"] == "regex":
                print(f"Pattern: {threat['pattern']}")
            elif threat["type"] == "semantic":
                print(f"Attack Type: {threat['attack_type']}")
                print(f"Probability: {threat['probability']}")
    out = capsys.readouterr().out
    assert result["is_threat"] is True
    assert 0.8 < result["threat_score"] <= 1.0
    assert "Pattern: " in out
    assert result["context"] == "query_param"
    for key in ("original_length", "processed_length", "truncated", "execution_time",
                "timeouts", "correlation_id"):
        assert key in result


def test_performance_analytics_example() -> None:
    sus_patterns_handler.detect("1 UNION SELECT 1", "10.0.0.1", "query_param")
    stats = sus_patterns_handler.get_performance_stats()
    assert isinstance(stats["slow_patterns"], list)
    assert isinstance(stats["problematic_patterns"], list)
    assert stats["summary"]["scans"] >= 1


def _spec_app() -> Flask:
    app = Flask(__name__)

    @app.route("/api/data", methods=["POST"])
    def submit_data():  # type: ignore[no-untyped-def]
        is_suspicious, trigger_info = detect_penetration_attempt(request)
        if is_suspicious:
            return jsonify({"error": f"Suspicious activity detected: {trigger_info}"}), 400
        return jsonify({"status": "success"})

    @app.route("/api/secure", methods=["POST"])
    def secure_endpoint():  # type: ignore[no-untyped-def]
        data = request.get_json()
        result = sus_patterns_handler.detect(
            content=json.dumps(data), ip_address=request.remote_addr, context="request_body"
        )
        if result["is_threat"] and result["threat_score"] > 0.8:
            threat_types = [t.get("attack_type", t["type"]) for t in result["threats"]]
            return jsonify({"error": f"Threat detected: {', '.join(threat_types)}"}), 403
        return jsonify({"status": "success"})

    return app


def test_custom_detection_logic_in_route() -> None:
    client = _spec_app().test_client()
    bad = client.post("/api/data", data={"comment": "<script>alert(1)</script>"})
    assert bad.status_code == 400
    assert "Suspicious activity detected: XSS attempt in form field comment" in bad.json["error"]
    good = client.post("/api/data", data={"comment": "Great product, fast shipping"})
    assert good.status_code == 200


def test_enhanced_detection_api_in_route() -> None:
    client = _spec_app().test_client()
    bad = client.post("/api/secure", json={"q": "1' UNION SELECT password FROM users--"})
    assert bad.status_code == 403
    assert "sqli" in bad.json["error"]
    assert client.post("/api/secure", json={"q": "blue shoes"}).status_code == 200


def test_pattern_management_example() -> None:
    pattern = r"(?i)exec\s*\(\s*['\"].*['\"]\s*\)"
    sus_patterns_handler.add_pattern(pattern, custom=True)
    try:
        assert pattern in sus_patterns_handler.get_all_patterns()
        hit = sus_patterns_handler.detect("EXEC('payload')", "10.0.0.2", "query_param")
        assert any(t.get("pattern") == pattern for t in hit["threats"])
    finally:
        sus_patterns_handler.remove_pattern(pattern, custom=True)
    patterns = sus_patterns_handler.get_all_patterns()
    assert pattern not in patterns
    assert len(patterns) > 50


def test_semantic_threshold_example() -> None:
    sus_patterns_handler.configure_semantic_threshold(0.9)
    assert sus_patterns_handler.engine.config.detection_semantic_threshold == 0.9
    sus_patterns_handler.configure_semantic_threshold(0.5)
    assert sus_patterns_handler.engine.config.detection_semantic_threshold == 0.5
    with pytest.raises(ValueError):
        sus_patterns_handler.configure_semantic_threshold(1.5)


def test_component_status_example() -> None:
    status = sus_patterns_handler.get_component_status()
    assert status == {
        "compiler": True,
        "preprocessor": True,
        "semantic_analyzer": True,
        "performance_monitor": True,
    }


def test_agent_configuration_example() -> None:
    config = SecurityConfig(
        enable_agent=True,
        agent_api_key="your-api-key",
        agent_enable_events=True,
        agent_enable_metrics=True,
    )
    assert config.enable_agent and config.agent_api_key == "your-api-key"
