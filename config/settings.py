"""Flowcast settings. Every value comes from the environment, with embedded defaults.

The README lists every variable. Nothing here touches the database or the network.
"""

import os
from pathlib import Path

from config.env import (
    bundled_ffmpeg,
    database_config,
    env_bool,
    env_int,
    env_ladder,
    env_list,
    q_cluster_config,
    secret_key,
)

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
STATICFILES_DIRS = [BASE_DIR / "static"]
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

# Jobs ---------------------------------------------------------------------
Q_CLUSTER = q_cluster_config(ENV, cpu_count=os.cpu_count() or 1)

# Media ----------------------------------------------------------------------
# The encoder: imageio-ffmpeg's bundled ffmpeg 9 when installed (it runs a one-process ladder's
# outputs in parallel; bench/transcode.py measured it faster than Debian's 5.1), else the system one.
# Probing always uses ffprobe (the wheel ships none).
FFMPEG_BINARY = ENV.get("FFMPEG_BINARY") or bundled_ffmpeg() or "ffmpeg"
FFPROBE_BINARY = ENV.get("FFPROBE_BINARY", "ffprobe")
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
MEDIA_PLAYBACK_LINK_SECONDS = env_int(ENV, "MEDIA_PLAYBACK_LINK_SECONDS", 6 * 3600)
TRANSCODE_MAX_ATTEMPTS = env_int(ENV, "TRANSCODE_MAX_ATTEMPTS", 3)
# A running transcode stamps its heartbeat every few seconds; the sweeper requeues it after this silence.
TRANSCODE_STALE_SECONDS = env_int(ENV, "TRANSCODE_STALE_SECONDS", 120)

# Chain ----------------------------------------------------------------------
RPC_URL = ENV.get("RPC_URL", "http://127.0.0.1:8545")
CHAIN_ID = env_int(ENV, "CHAIN_ID", 31337)
CHAIN_CONFIRMATIONS = env_int(ENV, "CHAIN_CONFIRMATIONS", 0 if DEBUG else 3)

# IPFS -----------------------------------------------------------------------
IPFS_BACKEND = ENV.get("IPFS_BACKEND", "embedded")  # embedded | kubo | pinning
IPFS_API_URL = ENV.get("IPFS_API_URL", "http://127.0.0.1:5001")
IPFS_GATEWAY_URL = ENV.get("IPFS_GATEWAY_URL", f"{SITE_URL}/ipfs/")
IPFS_BLOCKSTORE_DIR = Path(ENV.get("IPFS_BLOCKSTORE_DIR", MEDIA_ROOT / "ipfs" / "blocks"))
PINNING_SERVICE_URL = ENV.get("PINNING_SERVICE_URL", "")
PINNING_SERVICE_TOKEN = ENV.get("PINNING_SERVICE_TOKEN", "")

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

# API ------------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 20
NINJA_PAGINATION_MAX_LIMIT = 100
HEALTH_CHECK_TIMEOUT = float(ENV.get("HEALTH_CHECK_TIMEOUT", "2"))

# Security -------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool(ENV, "SECURE_COOKIES", not DEBUG and SITE_URL.startswith("https://"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "SAMEORIGIN"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": ENV.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
