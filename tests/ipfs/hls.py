"""An HLS folder as the media pipeline publishes it (master.m3u8 + one folder per rung), made by ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path

from django.conf import settings


def make_hls_folder(clip: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        settings.FFMPEG_BINARY, "-hide_banner", "-loglevel", "error", "-y", "-i", str(clip),
        "-filter_complex", "[0:v]split=2[a][b];[a]scale=320:240[v0];[b]scale=160:120[v1]",
        "-map", "[v0]", "-map", "0:a", "-map", "[v1]", "-map", "0:a",
        "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-b:v:0", "300k", "-b:v:1", "120k",
        "-c:a", "aac", "-b:a", "64k",
        "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
        "-hls_segment_filename", str(folder / "%v" / "segment_%03d.ts"),
        "-master_pl_name", "master.m3u8",
        "-var_stream_map", "v:0,a:0,name:240p v:1,a:1,name:120p",
        str(folder / "%v" / "index.m3u8"),
    ]
    subprocess.run(command, check=True, capture_output=True)
    return folder
