"""Settings: defaults, then the TOML file, then ``PROMETHIUM_<KEY>``; bad ones are typed
errors."""

from __future__ import annotations

import pytest

from promethium_lab.core.config import Config, get_config
from promethium_lab.core.errors import ErrorCode, PromethiumError


@pytest.fixture()
def clean_env(monkeypatch, tmp_path):
    for name in ("CONFIG", "WORKERS", "ZSTD_LEVEL", "SCHEDULER_TIMEOUT_S", "PROGRESS"):
        monkeypatch.delenv(f"PROMETHIUM_{name}", raising=False)
    monkeypatch.setenv("PROMETHIUM_CONFIG", str(tmp_path / "none.toml"))
    return tmp_path


def test_file_then_environment(clean_env, monkeypatch):
    assert get_config().scheduler_timeout_s == Config().scheduler_timeout_s == 10.0
    toml = clean_env / "config.toml"
    toml.write_text("[promethium_lab]\nworkers = 3\nscheduler_timeout_s = 2.5\n"
                    "progress = false\n")
    monkeypatch.setenv("PROMETHIUM_CONFIG", str(toml))
    cfg = get_config()
    assert (cfg.workers, cfg.scheduler_timeout_s, cfg.progress) == (3, 2.5, False)
    monkeypatch.setenv("PROMETHIUM_SCHEDULER_TIMEOUT_S", "1")
    monkeypatch.setenv("PROMETHIUM_PROGRESS", "yes")
    cfg = get_config()
    assert (cfg.workers, cfg.scheduler_timeout_s, cfg.progress) == (3, 1.0, True)


@pytest.mark.parametrize(("text", "env", "says"), [
    ("workers = 2\nthreads = 4\n", {}, "unknown config keys ['threads']"),
    ("workers = [\n", {}, "is not valid TOML"),
    ("", {"PROMETHIUM_SCHEDULER_TIMEOUT_S": "soon"}, "'scheduler_timeout_s' has value 'soon'"),
])
def test_bad_settings_are_typed_errors(clean_env, monkeypatch, text, env, says):
    toml = clean_env / "config.toml"
    toml.write_text(text)
    monkeypatch.setenv("PROMETHIUM_CONFIG", str(toml))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(PromethiumError) as exc:
        get_config()
    assert exc.value.code is ErrorCode.BAD_CONFIG and says in exc.value.message
