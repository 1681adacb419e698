from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import database_config, env_bool, q_cluster_config, secret_key
from core.jobs import broker_name

DATA = Path("/srv/flowcast-data")


def test_sqlite_file_under_data_dir_by_default():
    config = database_config({}, data_dir=DATA)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(DATA / "flowcast.sqlite3")
    # Several processes share the file: WAL and a lock timeout are set.
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["timeout"] >= 5


def test_postgres_url_selects_psycopg_backend():
    config = database_config({"DATABASE_URL": "postgres://flow:s3cr%40t@db.internal:6543/flowcast"}, data_dir=DATA)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"], config["NAME"]) == (
        "flow",
        "s3cr@t",
        "db.internal",
        6543,
        "flowcast",
    )


def test_sqlite_url_keeps_sqlite_options():
    config = database_config({"DATABASE_URL": "sqlite:////tmp/other.sqlite3"}, data_dir=DATA)
    assert config["NAME"] == "/tmp/other.sqlite3"
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_connections_are_kept_by_default_outside_debug_only():
    assert database_config({}, data_dir=DATA)["CONN_MAX_AGE"] == 60
    assert database_config({"DATABASE_URL": "postgres://u@127.0.0.1:5432/x"}, data_dir=DATA)["CONN_MAX_AGE"] == 60
    assert database_config({}, data_dir=DATA, debug=True)["CONN_MAX_AGE"] == 0
    assert database_config({"DATABASE_CONN_MAX_AGE": "0"}, data_dir=DATA)["CONN_MAX_AGE"] == 0
    assert database_config({"DATABASE_CONN_MAX_AGE": "60"}, data_dir=DATA)["CONN_MAX_AGE"] == 60
    assert database_config({"DATABASE_URL": "sqlite:////tmp/o.sqlite3", "DATABASE_CONN_MAX_AGE": "30"},
                           data_dir=DATA)["CONN_MAX_AGE"] == 30


def test_unsupported_database_url_is_a_clear_error():
    with pytest.raises(ImproperlyConfigured, match="mysql"):
        database_config({"DATABASE_URL": "mysql://root@localhost/x"}, data_dir=DATA)


def test_orm_broker_without_redis_url():
    config = q_cluster_config({}, cpu_count=2)
    assert config["orm"] == "default"
    assert "redis" not in config
    assert broker_name(config) == "orm"


def test_redis_url_selects_redis_broker():
    config = q_cluster_config({"REDIS_URL": "redis://127.0.0.1:6379/2"}, cpu_count=2)
    assert config["redis"] == "redis://127.0.0.1:6379/2"
    assert "orm" not in config
    assert broker_name(config) == "redis"


def test_bad_redis_url_is_a_clear_error():
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        q_cluster_config({"REDIS_URL": "http://127.0.0.1:6379"}, cpu_count=2)


def test_retry_exceeds_timeout_in_every_cluster():
    config = q_cluster_config({}, cpu_count=2)
    assert config["retry"] > config["timeout"]
    long = config["ALT_CLUSTERS"]["flowcast-long"]
    assert long["retry"] > long["timeout"]


def test_missing_secret_key_is_an_error_without_debug():
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        secret_key({}, debug=False)
    assert secret_key({"SECRET_KEY": "k"}, debug=False) == "k"
    assert secret_key({}, debug=True).startswith("django-insecure")


@pytest.mark.parametrize("raw,expected", [("1", True), ("true", True), ("Off", False), ("0", False)])
def test_env_bool(raw, expected):
    assert env_bool({"X": raw}, "X") is expected


def test_env_bool_rejects_nonsense():
    with pytest.raises(ImproperlyConfigured, match="X='maybe'"):
        env_bool({"X": "maybe"}, "X")


def test_settings_module_refuses_to_start_without_secret_key(tmp_path):
    """Importing the real settings with DEBUG off and no SECRET_KEY fails with the readable message."""
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, cwd=Path(__file__).parents[1]
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
