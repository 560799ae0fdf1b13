"""deploy/: the example config files load, the units start Darkroom with options it has, and
the studio layout's nginx file and units agree with each other and with the server's timing.

tests/ops/test_ops_nginx.py runs the nginx file live; this checks what a live run within
a test's time cannot: timeouts above the heartbeat, and addresses that match the units.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from darkroom.config import Config, _parser, read_file
from darkroom.realtime.transports import longpoll

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NGINX = DEPLOY / "nginx" / "darkroom.conf"
STREAMING = ("= /ws", "= /events", "/ws/")


def unit_keys(unit: str) -> dict[str, str]:
    lines = (DEPLOY / unit).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def exec_start(unit: str, instance: str = "1") -> list[str]:
    return shlex.split(unit_keys(unit)["ExecStart"].replace("%i", instance))


def parse_options(argv: list[str]):
    return _parser().parse_args([a.replace("/etc/darkroom/", "") for a in argv])


@pytest.mark.parametrize("example", ["darkroom.toml.example", "studio.toml.example"])
def test_the_example_config_files_are_valid_configs(example):
    values = read_file(DEPLOY / example)
    assert values["log_format"] == "json"


def test_the_studio_config_is_lan_mode_since_nginx_makes_everyone_loopback():
    assert read_file(DEPLOY / "studio.toml.example")["lan"] is True


@pytest.mark.parametrize("unit", ["darkroom.service", "darkroom.user.service",
                                  "darkroom-web@.service"])
def test_units_run_darkroom_serve_with_known_options(unit):
    keys = unit_keys(unit)
    assert keys["Type"] in ("simple", "notify")
    argv = exec_start(unit)
    assert argv[0].endswith("/darkroom") and argv[1] == "serve"
    assert parse_options(argv[2:]).log_format == "json"
    assert keys["ExecReload"] == "/bin/kill -HUP $MAINPID"


def test_the_worker_unit_runs_darkroom_worker_on_the_studio_config():
    argv = exec_start("darkroom-worker@.service")
    assert argv[0].endswith("/darkroom") and argv[1] == "worker"
    args = parse_options(argv[2:])
    assert args.log_format == "json" and args.config == "studio.toml"
    assert unit_keys("darkroom-worker@.service")["EnvironmentFile"] == "/etc/darkroom/studio.env"


def test_web_instance_n_listens_where_nginx_sends_it_and_runs_no_jobs():
    upstream = re.search(r"upstream darkroom_web \{(.*?)\}", nginx_conf(), re.S).group(1)
    servers = re.findall(r"^\s*server (\S+?)[\s;]", upstream, re.M)
    assert servers and len(set(servers)) == len(servers)
    for n, address in enumerate(servers, start=1):
        args = parse_options(exec_start("darkroom-web@.service", str(n))[2:])
        assert f"{args.host}:{args.port}" == address
        assert args.workers == 0 and args.config == "studio.toml"


def test_nginx_listens_on_the_port_of_the_web_processes_not_on_the_wildcard():
    # The Host check compares the client's port with the process's own (deploy/README.md).
    port = parse_options(exec_start("darkroom-web@.service")[2:]).port
    listens = re.findall(r"^\s*listen (\S+);", nginx_conf(), re.M)
    assert listens and all(listen.rsplit(":", 1)[1] == str(port) for listen in listens)
    assert all(":" in listen and not listen.startswith(("0.0.0.0", "*")) for listen in listens)


def nginx_conf() -> str:
    """The nginx file without its comments."""
    return re.sub(r"#[^\n]*", "", NGINX.read_text())


def server_level(conf: str) -> str:
    return re.sub(r"location [^{]*\{[^}]*\}", "", conf.split("server {", 1)[1])


def locations(conf: str) -> dict[str, str]:
    return {spec.strip(): body for spec, body in re.findall(r"location ([^{]+)\{([^}]*)\}", conf)}


def directive(body: str, name: str) -> list[str]:
    return re.findall(rf"^\s*{name} ([^;]+);", body, re.M)


def test_nginx_passes_the_host_as_sent_and_the_websocket_upgrade():
    conf = nginx_conf()
    headers = dict(h.split(None, 1) for h in directive(server_level(conf), "proxy_set_header"))
    assert headers["Host"] == "$http_host"  # with the port: $host would drop it
    assert headers["Upgrade"] == "$http_upgrade"
    assert headers["Connection"] == "$darkroom_connection"
    assert re.search(r"map \$http_upgrade \$darkroom_connection \{\s*default upgrade;", conf)
    assert directive(server_level(conf), "proxy_http_version") == ["1.1"]
    # A location with any proxy_set_header of its own would silently lose all of these.
    for spec, body in locations(conf).items():
        assert not directive(body, "proxy_set_header"), spec


def seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m|h)?", value).groups()
    return int(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[unit]


@pytest.mark.parametrize("spec", STREAMING)
def test_nginx_streams_unbuffered_with_timeouts_above_the_heartbeat(spec):
    body = locations(nginx_conf())[spec]
    assert directive(body, "proxy_pass") == ["http://darkroom_web"]
    assert directive(body, "proxy_buffering") == ["off"]
    heartbeat = Config().ping_interval  # WebSocket pings and SSE heartbeats
    for name in ("proxy_read_timeout", "proxy_send_timeout"):
        [value] = directive(body, name)
        assert seconds(value) >= 3 * heartbeat and seconds(value) > longpoll.MAX_WAIT + 10, name


def test_nginx_never_compresses_the_event_stream():
    assert directive(locations(nginx_conf())["= /events"], "gzip") == ["off"]
