"""``guard detect``: arguments, files, JSON Lines, stdin, table and JSON output."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from guard.cli import main
from guard.engine.detector import DetectionEngine
from tests.conftest import free_port


def test_detect_arguments_table() -> None:
    result = CliRunner().invoke(main, ["detect", "1' OR '1'='1", "hello world"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("VERDICT")
    assert lines[1].startswith("THREAT") and "sqli" in lines[1]
    assert lines[2].startswith("ok")
    assert "2 values, 1 threats (sqli=1)" in result.output


def test_detect_jsonl_file_json_output(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"payload": "<svg onload=alert(1)>", "label": "attack"}) + "\n"
        + "plain benign line\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["detect", "--file", str(source), "--json"])
    assert result.exit_code == 0
    rows = [json.loads(x) for x in result.output.splitlines() if x.startswith('{"value"')]
    assert [r["is_threat"] for r in rows] == [True, False]
    assert rows[0]["attack_class"] == "xss"


def test_detect_stdin_and_fail_flag() -> None:
    result = CliRunner().invoke(main, ["detect", "--fail-on-threat"],
                                input="../../etc/passwd\nfine\n")
    assert result.exit_code == 1
    assert "path_traversal" in result.output


def test_detect_escapes_control_characters() -> None:
    result = CliRunner().invoke(main, ["detect", "x\x1b[2J\r\nSet-Cookie: a=b"])
    assert "\x1b" not in result.output and "\\x1b" in result.output


def test_installed_entry_point_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "guard", "detect", "{{7*7}}"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ssti" in done.stdout


def test_demo_shows_verdicts_bans_and_pipeline() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert result.output.count("blocked") >= 5
    assert "refused: client banned" in result.output
    assert "Active bans: 2" in result.output
    assert "analysed, 2 incidents" in result.output
    assert "how to drop a union in SQL" in result.output and "allowed" in result.output


def test_status_reports_an_unreachable_store_with_exit_1() -> None:
    port = free_port()
    result = CliRunner().invoke(main, ["status", "--redis-url", f"redis://127.0.0.1:{port}/0"])
    assert result.exit_code == 1
    assert "reachable: False" in result.output


def test_explain_shows_steps_rules_model_and_verdict() -> None:
    encoded = "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
    result = CliRunner().invoke(main, ["explain", "--json", encoded])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["steps"][0] == {"step": "url", "output": "<img src=x onerror=alert(1)>"}
    assert any(r["id"] == "xss-event-handler" and r["class"] == "xss" for r in report["rules"])
    assert report["model"]["attack_type"] == "xss" and report["model"]["features"]
    assert report["verdict"]["is_threat"] and report["verdict"]["attack_class"] == "xss"
    clean = CliRunner().invoke(main, ["explain", "Ben & Jerry's"])
    assert "Verdict: clean" in clean.output


def test_explain_lists_every_rule_even_after_the_verdict_is_certain() -> None:
    # Screening stops at the first conclusive hit; an explanation reads on to the end.
    value = "1' UNION SELECT username, password FROM users WHERE '1'='1' -- "
    report = json.loads(CliRunner().invoke(main, ["explain", "--json", value]).output)
    rules = {r["id"] for r in report["rules"]}
    screened = {t["pattern_id"] for t in DetectionEngine().detect(value)["threats"]}
    assert "sqli-union-select" in rules and screened < rules


@pytest.mark.parametrize(
    ("value", "discount"),
    [
        ("curl -L -o /home/me/guide.pdf https://docs.example.org/guide.pdf", "model_doubt"),
        ("Is `WHERE 1=1` in a dynamic query builder bad practice, or just a convenience?", "prose"),
    ],
)
def test_explain_names_the_discount_that_cleared_a_rule_hit(value: str, discount: str) -> None:
    """An operator reading a verdict sees why a rule that fired did not make it a threat."""
    report = json.loads(CliRunner().invoke(main, ["explain", "--json", value]).output)
    assert not report["verdict"]["is_threat"]
    assert [rule["discounts"] for rule in report["rules"]] == [[discount]]
    text = CliRunner().invoke(main, ["explain", value]).output
    assert ("×model doubt" if discount == "model_doubt" else "×prose") in text


def test_bans_and_incidents_commands(redis_url: str, key_prefix: str) -> None:
    from guard.events import DetectionEvent
    from guard.store import create_store
    from pipelines import PipelineContext, process_events
    from workers.settings import config_from_env

    store_args = ["--redis-url", redis_url, "--prefix", key_prefix]
    runner = CliRunner()
    added = runner.invoke(main, ["bans", "add", "203.0.113.9", "--duration", "600",
                                 "--reason", "scanner", *store_args])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(main, ["bans", "list", "--json", *store_args])
    bans = json.loads(listed.output)
    assert [b["key"] for b in bans] == ["203.0.113.9"] and bans[0]["source"] == "manual"
    assert runner.invoke(main, ["bans", "remove", "203.0.113.9", *store_args]).exit_code == 0
    missing = runner.invoke(main, ["bans", "remove", "203.0.113.9", *store_args])
    assert missing.exit_code == 2 and "is not banned" in missing.output
    bad = runner.invoke(main, ["bans", "add", "not-an-ip", *store_args])
    assert bad.exit_code == 2 and "not an IP address" in bad.output

    store = create_store(redis_url, prefix=key_prefix)
    config = config_from_env({}).replace(redis_url=redis_url, redis_prefix=key_prefix)
    event = DetectionEvent.build(client_ip="198.51.100.5", ban_key="198.51.100.5", method="GET",
                                 path="/x", action="blocked", attack_class="sqli",
                                 strike_counted=True)
    process_events([event], PipelineContext(config=config, store=store))
    listed = json.loads(runner.invoke(main, ["incidents", "list", "--json", *store_args]).output)
    assert len(listed) == 1 and listed[0]["client"] == "198.51.100.5"
    incident_id = listed[0]["incident_id"]
    shown = runner.invoke(main, ["incidents", "show", incident_id, "--json", *store_args])
    assert json.loads(shown.output)["classes"] == ["sqli"]
    text = runner.invoke(main, ["incidents", "show", incident_id, *store_args]).output
    assert re.search(r"^classes +sqli$", text, re.M) and re.search(r"^events +1$", text, re.M)
    assert runner.invoke(main, ["incidents", "show", "nope", *store_args]).exit_code == 2
    store.close()


def test_unreachable_store_is_one_line_error() -> None:
    result = CliRunner().invoke(main, ["bans", "list", "--redis-url", "redis://127.0.0.1:1/0"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("guard: store") and "Traceback" not in result.output


def test_patterns_commands(redis_url: str, key_prefix: str) -> None:
    store_args = ["--redis-url", redis_url, "--prefix", key_prefix]
    runner = CliRunner()
    added = runner.invoke(main, ["patterns", "add", r"acme-\d{6}", *store_args])
    assert added.exit_code == 0 and "version 1" in added.output, added.output
    rows = json.loads(runner.invoke(main, ["patterns", "list", "--json", *store_args]).output)
    shared = [r for r in rows if r["shared"]]
    assert [r["regex"] for r in shared] == [r"acme-\d{6}"] and shared[0]["engine"] == "linear"
    assert len(rows) > 80
    assert runner.invoke(main, ["patterns", "remove", r"acme-\d{6}", *store_args]).exit_code == 0
    gone = runner.invoke(main, ["patterns", "remove", r"acme-\d{6}", *store_args])
    assert gone.exit_code == 2
    invalid = runner.invoke(main, ["patterns", "add", "(unclosed", *store_args])
    assert invalid.exit_code == 2 and "guard:" in invalid.output


def test_patterns_test_reports_engine_and_timeouts() -> None:
    linear = json.loads(CliRunner().invoke(main, ["patterns", "test", "^(a+)+$", "--json"]).output)
    assert linear["engine"].startswith("linear")
    assert all(row["ms"] < 1000 and not row["timed_out"] for row in linear["inputs"])
    result = CliRunner().invoke(main, ["patterns", "test", r"^(\w|\w\w)+\1\d", "--timeout", "0.2",
                                       "--json"])
    report = json.loads(result.output[result.output.index("{"):])
    assert report["engine"].startswith("regex with a 0.2 s timeout")
    assert any(row["timed_out"] and row["ms"] < 1200 for row in report["inputs"])


def test_registered_as_a_flask_command() -> None:
    done = subprocess.run([sys.executable, "-m", "flask", "guard", "detect", "{{7*7}}"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "ssti" in done.stdout


def test_config_check(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["config", "check", "--redis-url", redis_url,
                              "--broker-url", redis_url])
    assert ok.exit_code == 0, ok.output
    assert "settings: valid" in ok.output and ok.output.count("reachable") == 2
    dead = runner.invoke(main, ["config", "check", "--redis-url", "redis://127.0.0.1:1/0"])
    assert dead.exit_code == 1 and "UNREACHABLE" in dead.output
    monkeypatch.setenv("GUARD_FAIL_MODE", "sideways")
    invalid = runner.invoke(main, ["config", "check"])
    assert invalid.exit_code == 2
    assert invalid.output.startswith("guard: invalid configuration")
    assert "fail_mode" in invalid.output


def test_json_variants_of_ban_and_pattern_changes(redis_url: str, key_prefix: str) -> None:
    store_args = ["--redis-url", redis_url, "--prefix", key_prefix]
    runner = CliRunner()
    added = json.loads(runner.invoke(main, ["bans", "add", "2001:db8::7/64", "--json",
                                            *store_args]).output)
    assert added["key"] == "2001:db8::/64" and added["source"] == "manual"
    removed = runner.invoke(main, ["bans", "remove", "2001:db8::7/64", "--json", *store_args])
    assert json.loads(removed.output) == {"unbanned": "2001:db8::/64"}
    pattern = runner.invoke(main, ["patterns", "add", r"zq-\d{4}", "--json", *store_args])
    assert json.loads(pattern.output) == {"added": True, "version": 1}
    gone = runner.invoke(main, ["patterns", "remove", r"zq-\d{4}", "--json", *store_args])
    assert json.loads(gone.output) == {"removed": True, "version": 2}


def test_config_check_json_and_reference(redis_url: str) -> None:
    from guard.config_docs import reference_markdown

    runner = CliRunner()
    checked = runner.invoke(main, ["config", "check", "--json", "--redis-url", redis_url])
    report = json.loads(checked.output)
    assert checked.exit_code == 0 and report["store"]["reachable"] is True
    assert report["broker"]["reachable"] is None and report["settings"] == "valid"
    dead = runner.invoke(main, ["config", "check", "--json", "--redis-url",
                                "redis://127.0.0.1:1/0"])
    assert dead.exit_code == 1 and json.loads(dead.output)["store"]["reachable"] is False
    assert runner.invoke(main, ["config", "reference"]).output == reference_markdown()


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


NOT_DATA = {("demo",), ("worker",), ("config", "reference")}
"""Commands whose output is a show, a server or a document rather than data."""


def test_every_command_has_help() -> None:
    commands = list(_commands(main))
    assert len(commands) >= 20
    for path, command in commands:
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert result.output.startswith(f"Usage: main {' '.join(path)}"), path
        assert (command.help or "").strip(), f"{' '.join(path)} has no help text"


def test_every_data_command_takes_json() -> None:
    leaves = {path: command for path, command in _commands(main)
              if not isinstance(command, click.Group)}
    without = {path for path, command in leaves.items()
               if not any("--json" in p.opts for p in command.params)}
    assert without == NOT_DATA


def _run_on_terminal(args: list[str], tmp_path: Path, terminal: bool) -> tuple[str, bytes, int]:
    """Run ``python -m guard ARGS`` with standard error on a pseudo-terminal (or a pipe);
    return standard output, everything written to standard error, and the exit status."""
    out_path = tmp_path / "stdout"
    with out_path.open("wb") as out:
        if not terminal:
            done = subprocess.run([sys.executable, "-m", "guard", *args], stdout=out,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                  timeout=120, check=False)
            return out_path.read_text("utf-8"), done.stderr, done.returncode
        master, slave = pty.openpty()
        process = subprocess.Popen([sys.executable, "-m", "guard", *args], stdout=out,
                                   stderr=slave, stdin=subprocess.DEVNULL)
        os.close(slave)
        written = bytearray()
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            written += chunk
        os.close(master)
        status = process.wait(timeout=120)
    return out_path.read_text("utf-8"), bytes(written), status


def test_progress_bar_on_a_terminal_but_never_in_a_pipe(tmp_path: Path) -> None:
    args = ["patterns", "test", "^(a+)+$", "--json"]
    stdout, stderr, status = _run_on_terminal(args, tmp_path, terminal=True)
    assert status == 0
    assert b"timing [" in stderr and b"] 6/6" in stderr
    assert stderr.endswith(b"\r\x1b[K"), stderr[-40:]
    assert len(json.loads(stdout)["inputs"]) == 6
    piped_out, piped_err, piped_status = _run_on_terminal(args, tmp_path, terminal=False)
    assert piped_status == 0 and piped_err == b""
    assert json.loads(piped_out)["engine"] == json.loads(stdout)["engine"]


def test_detect_bar_only_for_many_values(tmp_path: Path) -> None:
    many = tmp_path / "many.txt"
    many.write_text("".join(f"value {i}\n" for i in range(250)), encoding="utf-8")
    stdout, stderr, _ = _run_on_terminal(["detect", "-f", str(many)], tmp_path, terminal=True)
    assert b"screening [" in stderr and b"250/250" in stderr
    assert "250 values, 0 threats" in stdout and "screening" not in stdout
    _, few_err, _ = _run_on_terminal(["detect", "a", "b"], tmp_path, terminal=True)
    assert b"screening" not in few_err


def test_demo_and_status_bars_leave_stdout_alone(tmp_path: Path) -> None:
    stdout, stderr, status = _run_on_terminal(["demo"], tmp_path, terminal=True)
    assert status == 0 and b"demo [" in stderr and b"pipeline" in stderr
    assert "\x1b[K" not in stdout and "Active bans: 2" in stdout
    assert stdout.count("\n") == _run_on_terminal(["demo"], tmp_path, terminal=False)[0].count(
        "\n")
    _, status_err, _ = _run_on_terminal(["status", "--redis-url", "redis://127.0.0.1:1/0"],
                                        tmp_path, terminal=True)
    assert b"status [" in status_err and b"] 2/7 events" in status_err


def test_error_message_gets_its_own_line_under_a_bar(tmp_path: Path) -> None:
    _, stderr, status = _run_on_terminal(
        ["bans", "list", "--redis-url", "redis://127.0.0.1:1/0"], tmp_path, terminal=True)
    assert status == 2 and b"bans [" in stderr
    assert b"\r\x1b[Kguard: store redis://127.0.0.1:1/0 is unreachable" in stderr


def test_queue_depths_read_the_workers_broker_key_prefix(redis_url: str, key_prefix: str) -> None:
    import redis

    from guard.cli import _broker_status

    client = redis.Redis.from_url(redis_url)
    queue = f"{key_prefix}broker:guard.analysis"
    try:
        client.rpush(queue, b"a", b"b", b"c")
        status = _broker_status(redis_url, ("guard.analysis",), key_prefix=f"{key_prefix}broker:")
        assert status["reachable"] and status["queues"] == {"guard.analysis": 3}
    finally:
        client.delete(queue)
        client.close()
