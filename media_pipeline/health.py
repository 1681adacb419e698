"""The media tools' part of `/api/health`: ffmpeg and ffprobe, registered in `MediaPipelineConfig.ready()`."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from django.conf import settings

from core.health import timed
from media_pipeline.binaries import binary_source


@timed
def check_binary(binary: str, timeout: float):
    path = shutil.which(binary)
    if path is None:
        return False, f"{binary!r} not found on PATH"
    ok, detail = binary_version(path, os.stat(path).st_mtime_ns, timeout)
    return ok, f"{detail} (from {binary_source(binary, data_dir=settings.DATA_DIR)})" if ok else detail


@functools.lru_cache(maxsize=32)
def binary_version(path: str, modified_ns: int, timeout: float) -> tuple[bool, str]:
    """`<path> -version`'s first line, run once per binary (and modification time) per process: anyone
    may call /api/health, and it must not start a process per call. A timeout is not remembered."""
    result = subprocess.run([path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        return False, f"{path} -version exited with {result.returncode}"
    version = " ".join((result.stdout.splitlines() or [""])[0].split()[:3])  # e.g. "ffmpeg version 7.0.2-static"
    return True, f"{version or path} at {path}"


def check_ffmpeg():
    return check_binary(settings.FFMPEG_BINARY, settings.HEALTH_CHECK_TIMEOUT)


def check_ffprobe():
    return check_binary(settings.FFPROBE_BINARY, settings.HEALTH_CHECK_TIMEOUT)
