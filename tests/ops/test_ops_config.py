"""Configuration: file < environment < flags, strict values, platform directories, --help, explain()."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from darkroom.config import Config, ConfigError, env_names, explain, flag_name

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_file_then_env_then_flags(tmp_path):
    toml = write(tmp_path / "darkroom.toml", 'port = 6001\nmax_clients = 10\nhot_folder = false\n'
                 'log_format = "json"\nallowed_hosts = ["studio.local"]\n')
    env = {"DARKROOM_CONFIG": str(toml), "DARKROOM_MAX_CLIENTS": "20", "DARKROOM_DATA_DIR": str(tmp_path)}
    from_file = Config.load([], env={"DARKROOM_CONFIG": str(toml), "DARKROOM_DATA_DIR": str(tmp_path)})
    assert (from_file.port, from_file.max_clients, from_file.hot_folder) == (6001, 10, False)
    assert from_file.log_format == "json" and from_file.allowed_hosts == ["studio.local"]
    layered = Config.load(["--max-clients", "30", "--hot-folder"], env=env)
    assert (layered.port, layered.max_clients, layered.hot_folder) == (6001, 30, True)
    assert Config.load([], env=env).max_clients == 20
    other = write(tmp_path / "other.toml", "port = 6002\n")
    assert Config.load(["serve", "--config", str(other)], env=env).port == 6002  # --config beats the env's


def test_explain_says_where_each_value_came_from(tmp_path):
    toml = write(tmp_path / "d.toml", "port = 6001\nworkers = 3\n")
    text = explain(["--workers", "4", "--config", str(toml)],
                   env={"DARKROOM_LAN": "yes", "DARKROOM_DATA_DIR": str(tmp_path)})
    lines = {line.split("=")[0].strip(): line for line in text.splitlines() if not line.startswith("#")}
    assert lines["port"].endswith(f"# file {toml}")
    assert lines["workers"].startswith("workers") and "= 4" in lines["workers"]
    assert lines["workers"].endswith("# flag --workers")
    assert lines["lan"].endswith("# env DARKROOM_LAN") and "= true" in lines["lan"]
    assert lines["max_clients"].endswith("# default")
    assert set(lines) == {f.name for f in fields(Config)}
    assert f"# config file: {toml} (--config)" in text
    hidden = explain([], env={"DARKROOM_DATABASE_URL": "postgresql://u:s3cret@db/x",
                              "DARKROOM_DATA_DIR": str(tmp_path)})
    assert "s3cret" not in hidden and "[redacted]" in hidden


@pytest.mark.parametrize("env, message", [
    ({"DARKROOM_HOT_FOLDER": "ture"}, "'ture' is not a boolean"),
    ({"DARKROOM_LAN": "2"}, "not a boolean"),
    ({"DARKROOM_PORT": "51OO"}, "not an integer"),
    ({"DARKROOM_CPU_WARNING": "high"}, "not a number"),
    ({"DARKROOM_LOG_FORMAT": "xml"}, "not one of text, json"),
    ({"DARKROOM_WORKERS": "-1"}, "-1 is below the least allowed, 0"),
    ({"DARKROOM_JOB_LEASE": "0"}, "below the least allowed, 1"),
])
def test_bad_values_are_refused_not_guessed(env, message):
    with pytest.raises(ConfigError, match=message):
        Config.load(None, env=env)


@pytest.mark.parametrize("text, message", [
    ('hot_folder = "ture"\n', "not a boolean"),
    ("hot_folder = 1\n", "not a boolean"),
    ("prot = 5100\n", "unknown key 'prot'"),
    ('port = "5100"\n', "not an integer"),
    ("port = \n", "config file"),
    ("job_lease = 0.5\n", "0.5 is below the least allowed, 1"),
])
def test_bad_config_files_are_refused(tmp_path, text, message):
    toml = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError, match=message):
        Config.load(None, env={"DARKROOM_CONFIG": str(toml)})
    with pytest.raises(ConfigError, match="not found"):
        Config.load(None, env={"DARKROOM_CONFIG": str(tmp_path / "missing.toml")})


def run_app(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, env=env)


def clean_env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DARKROOM_") and k != "DATABASE_URL"}
    return {**env, "HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
            "XDG_DATA_HOME": str(tmp_path / "xdg-data"), **extra}


def test_the_command_line_refuses_a_bad_boolean_with_one_line_and_status_2(tmp_path):
    done = run_app(env=clean_env(tmp_path, DARKROOM_HOT_FOLDER="ture"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "darkroom: error: env DARKROOM_HOT_FOLDER: 'ture' is not a boolean (use true/false, 1/0, yes/no, on/off)")
    assert "Traceback" not in done.stderr


def test_help_lists_every_option_with_its_env_name_and_default_and_an_epilog(tmp_path):
    done = run_app("--help", env=clean_env(tmp_path))
    assert done.returncode == 0
    text = " ".join(done.stdout.split())  # argparse wraps lines
    for f in fields(Config):
        assert flag_name(f) in text, f.name
        assert f"env {env_names(f)[0]}" in text, f.name
    assert "default 5100" in text and "default 1000" in text and "--version" in text and "--config" in text
    assert "http://127.0.0.1:5100" in text
    assert f"Data directory: {tmp_path / 'xdg-data' / 'darkroom'}" in text
    assert str(tmp_path / "xdg-config" / "darkroom" / "darkroom.toml") in text


def data_dir_of(tmp_path: Path, **extra) -> str:
    code = "from darkroom.config import Config; print(Config.load([], env={}).data_dir)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30,
                          env=clean_env(tmp_path, **extra))
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_data_dir_is_the_platform_one_unless_the_old_one_exists(tmp_path):
    assert data_dir_of(tmp_path) == str(tmp_path / "xdg-data" / "darkroom")
    (tmp_path / "home" / ".darkroom").mkdir(parents=True)
    assert data_dir_of(tmp_path) == str(tmp_path / "home" / ".darkroom")


def test_the_platform_config_file_is_read_when_it_exists(tmp_path):
    config_dir = tmp_path / "xdg-config" / "darkroom"
    config_dir.mkdir(parents=True)
    write(config_dir / "darkroom.toml", "max_clients = 7\n")
    code = "from darkroom.config import Config; print(Config.load([], env={}).max_clients)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30,
                          env=clean_env(tmp_path))
    assert done.stdout.strip() == "7", done.stderr
