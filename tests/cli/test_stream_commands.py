"""``darkroom tail`` and ``darkroom broadcast`` against a real server, and the commands' help
and exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys

import pytest
from clitools import cli_command, popen_cli, run_cli, wait_line
from harness import ROOT, free_port

from darkroom.client import Client

READY = "darkroom tail: following"


@pytest.fixture
def hub_server(make_server):
    return make_server(with_pipeline=False)


def test_tail_json_count_prints_three_json_lines_and_exits_0(hub_server):
    proc = popen_cli("tail", "--json", "--count", "3", "--channels", "jobs,system",
                     "--url", hub_server.url)
    try:
        wait_line(proc.stderr, READY)
        sent = []
        for n in range(3):
            answer = hub_server.post("/websocket/broadcast",
                                     {"type": "custom_event", "channel": "system", "data": {"n": n}})
            assert answer.status_code == 200, answer.text
            sent.append(answer.json()["seq"])
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 3, out
    events = [json.loads(line) for line in lines]
    assert [e["seq"] for e in events] == sent
    assert [e["n"] for e in events] == [0, 1, 2]
    assert all(e["type"] == "custom_event" and e["channel"] == "system" for e in events)


def test_tail_human_lines_name_the_type_and_fields(hub_server):
    proc = popen_cli("tail", "--count", "1", "--channels", "jobs", "--url", hub_server.url)
    try:
        wait_line(proc.stderr, READY)
        hub_server.post("/websocket/broadcast", {"type": "job_progress", "data": {
            "job_id": "task-1", "stage": "developing", "progress": 75.5, "message": "Applying preset"}})
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    (line,) = out.splitlines()
    assert "jobs" in line and "job_progress" in line
    assert "job_id=task-1" in line and "progress=75.5" in line and 'message="Applying preset"' in line


def test_broadcast_reaches_a_subscriber_and_is_in_the_log(hub_server):
    got: "queue.Queue" = queue.Queue()
    with Client(hub_server.url, channels=["system"]) as client:
        client.on("*", got.put)
        done = run_cli("broadcast", "custom_event", "--channel", "system",
                       "--data", '{"message": "Hello"}', "--json", "--url", hub_server.url)
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        assert answer["success"] is True and answer["subscribers"] == 1
        event = got.get(timeout=10)
    assert event.type == "custom_event" and event.message == "Hello" and event.seq == answer["seq"]
    history = hub_server.get("/api/events", params={"since": answer["seq"] - 1}).json()
    assert history["events"][0]["seq"] == answer["seq"]


def test_broadcast_refusals_and_bad_arguments(hub_server):
    refused = run_cli("broadcast", "job_progress", "--data", '{"job_id": 1, "stage": "x", "progress": 500}',
                      "--url", hub_server.url)
    assert refused.returncode == 1
    assert "progress" in refused.stderr and "invalid_event" in refused.stderr
    for data in ("[1, 2]", "{not json"):
        bad = run_cli("broadcast", "custom_event", "--channel", "system", "--data", data,
                      "--url", hub_server.url)
        assert bad.returncode == 2, bad.stderr
    assert run_cli("broadcast", "x", "--channel", "nowhere", "--url", hub_server.url).returncode == 2


def test_tail_bad_arguments_exit_2():
    assert run_cli("tail", "--channels", "nope").returncode == 2
    assert run_cli("tail", "--count", "0").returncode == 2
    assert run_cli("tail", "--since", "no-seq").returncode == 2
    assert run_cli("tail", "--url", "ftp://example").returncode == 2


@pytest.mark.parametrize("args", [
    ["tail", "--count", "1"], ["status"], ["approve", "1"], ["reject", "1", "--reason", "blurry"],
    ["broadcast", "custom_event", "--channel", "system"], ["import", "."]])
def test_an_unreachable_server_exits_2_with_one_line(args):
    done = run_cli(*args, "--url", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "cannot reach Darkroom" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["tail", "import", "status", "approve", "reject", "broadcast",
                                     "rotate-token", "serve", "config"])
def test_every_subcommand_has_help(command):
    done = run_cli(command, "--help")
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


def test_the_client_commands_import_no_server_parts():
    """The client commands start fast: none of them loads the app, the pipeline's wiring,
    SQLAlchemy or Alembic (0.8 s of imports when darkroom/pipeline/__init__.py did)."""
    check = ("import sys; import darkroom.cli, darkroom.commands.imports, darkroom.commands.tail, "
             "darkroom.commands.admin; "
             "print(sorted(m for m in ('app', 'darkroom.pipeline.wiring', 'sqlalchemy', 'alembic')"
             " if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]", done


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"], ["serve", "--version"]])
def test_the_server_help_and_version_import_no_server_parts(argv):
    """The server's options print in a fraction of a second: without Flask, SQLAlchemy or the app."""
    check = ("import contextlib, io, sys, darkroom.cli\n"
             "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
             "    try:\n"
             f"        darkroom.cli.main({argv!r})\n"
             "    except SystemExit as exc:\n"
             "        assert exc.code == 0, exc\n"
             "assert '--port' in out.getvalue() or 'darkroom ' in out.getvalue(), out.getvalue()\n"
             "print(sorted(m for m in ('app', 'flask', 'sqlalchemy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done


def test_the_server_entry_points_are_unchanged():
    from darkroom import __version__

    for argv in (["--version"], ["serve", "--version"]):
        done = run_cli(*argv)
        assert done.returncode == 0 and done.stdout.strip() == f"darkroom {__version__}", done
    overview = run_cli("--help")
    assert overview.returncode == 0
    for word in ("tail", "import", "status", "approve", "reject", "broadcast", "rotate-token",
                 "--port", "--data-dir"):
        assert word in overview.stdout
    assert run_cli("--no-such-flag").returncode == 2


def test_config_prints_each_value_and_its_source(tmp_path):
    done = run_cli("config", "--port", "5123", "--data-dir", str(tmp_path / "d"))
    assert done.returncode == 0, done.stderr
    lines = {line.split("=")[0].strip(): line for line in done.stdout.splitlines() if "=" in line}
    assert "5123" in lines["port"] and "flag" in lines["port"]
    assert "default" in lines["max_clients"]


@contextlib.contextmanager
def stdout_nobody_reads():
    """The write end of a pipe whose reader has gone (`darkroom ... | head` after head exits)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        yield write_end
    finally:
        os.close(write_end)


@pytest.mark.parametrize("args", [["help"], ["--version"], ["tail", "--help"]])
def test_a_reader_that_went_away_ends_the_command_quietly(args):
    """`darkroom ... | head`: stdout's reader is gone before the first line."""
    with stdout_nobody_reads() as stdout:
        done = subprocess.run(cli_command(*args), cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_tail_whose_reader_went_away_closes_its_link_and_exits_quietly(hub_server):
    with stdout_nobody_reads() as stdout:
        proc = subprocess.Popen(cli_command("tail", "--channels", "system", "--url", hub_server.url),
                                cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
    try:
        wait_line(proc.stderr, READY)
        answer = hub_server.post("/websocket/broadcast",
                                 {"type": "custom_event", "channel": "system", "data": {}})
        assert answer.status_code == 200, answer.text
        err = proc.communicate(timeout=30)[1]
    finally:
        proc.kill()
    assert proc.returncode == 0 and err == "", err
    # The link ended with a close frame, not a dropped connection.
    hub_server.wait_for(lambda: hub_server.stats()["disconnected"]["closed"] == 1,
                        what="the link closed with a close frame")
