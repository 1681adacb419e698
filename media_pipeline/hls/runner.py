"""Runs an ffmpeg command in the source's private folder and reports its progress.

ffmpeg's `-progress pipe:1` lines (`out_time_us`, `speed`, `progress`) become percentages of the
source's duration; the callback stops the run by returning False. The child dies with the worker
(PR_SET_PDEATHSIG). Its stderr goes to the job's log, whose tail becomes the error message.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from media_pipeline.hls.layout import TranscodeFailed, TranscodeInterrupted
from media_pipeline.probe import media_tool_environment

PR_SET_PDEATHSIG = 1


def run_ffmpeg(
    command: list[str],
    *,
    cwd: Path,
    duration: float,
    log_path: Path,
    on_progress: Callable[[float, float], bool] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> None:
    """Run ffmpeg in `cwd` (the source's private folder); `on_progress(percent, speed)` is called as it goes
    and returns False to stop it."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, cwd=cwd,
                                   env=media_tool_environment(),
                                   preexec_fn=die_with_parent)  # noqa: PLW1509 (fork-safe: one pre-resolved call)
        if on_start:
            on_start(process.pid)
        stopped = False
        out_time = 0.0
        speed = 0.0
        try:
            for raw in process.stdout:
                key, _, value = raw.decode(errors="replace").strip().partition("=")
                if key == "out_time_us" and value.lstrip("-").isdigit():
                    out_time = max(out_time, int(value) / 1_000_000)
                elif key == "speed":
                    speed = parse_speed(value)
                elif key == "progress" and on_progress:
                    percent = 100.0 if value == "end" else min(99.0, 100.0 * out_time / duration if duration else 0.0)
                    if on_progress(percent, speed) is False:
                        stopped = True
                        process.terminate()
                        break
        finally:
            process.stdout.close()
            returncode = process.wait()
    if stopped:
        raise TranscodeInterrupted("the transcode was stopped")
    if returncode < 0:
        raise TranscodeInterrupted(f"ffmpeg was killed by signal {-returncode}")
    if returncode != 0:
        raise TranscodeFailed(f"ffmpeg could not transcode the source: {last_error_line(log_path)}")


def die_with_parent() -> None:
    """In the child: have the kernel SIGKILL ffmpeg when the worker dies (a django-q2 timeout or a crash),
    so no orphan keeps encoding beside the retry. Only calls a function resolved beforehand (fork-safe)."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


try:  # resolved in the parent: loading libraries between fork and exec is not safe
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: the sweeper's requeue still recovers the job
    _prctl = None


def parse_speed(value: str) -> float:
    try:
        return float(value.rstrip("x"))
    except ValueError:
        return 0.0


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def last_error_line(path: Path) -> str:
    lines = [line.strip() for line in log_tail(path, 50).splitlines() if line.strip()]
    for line in reversed(lines):
        if not line.startswith("Conversion failed"):
            return line[:300]
    return "unknown error"
