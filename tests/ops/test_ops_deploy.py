"""deploy/: the example config file loads, and the units start Darkroom with options it has."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from darkroom.config import _parser, read_file

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_the_example_config_file_is_a_valid_config():
    values = read_file(DEPLOY / "darkroom.toml.example")
    assert values["log_format"] == "json" and values["port"] == 5100


@pytest.mark.parametrize("unit", ["darkroom.service", "darkroom.user.service"])
def test_units_run_darkroom_serve_with_known_options(unit):
    lines = (DEPLOY / unit).read_text().splitlines()
    keys = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    assert keys["Type"] in ("simple", "notify")
    argv = shlex.split(keys["ExecStart"])
    assert argv[0].endswith("/darkroom") and argv[1] == "serve"
    args = _parser().parse_args([a.replace("/etc/darkroom/darkroom.toml", "x.toml") for a in argv[2:]])
    assert args.log_format == "json"
    assert keys["ExecReload"] == "/bin/kill -HUP $MAINPID"
