"""Helpers for the media pipeline tests: run the ffmpeg side and inspect its output with ffprobe."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from django.conf import settings

from media_pipeline import hls
from media_pipeline.ladder import plan_ladder
from media_pipeline.probe import probe_source

LADDER = [("1080p", 1080, 5000), ("720p", 720, 2800), ("480p", 480, 1400), ("360p", 360, 800)]


def transcode_clip(source: Path, folder: Path, *, segment_seconds: int = 2, max_fps: int = 60):
    info = probe_source(source, ffprobe=settings.FFPROBE_BINARY)
    plan = plan_ladder(width=info.width, height=info.height, fps=info.fps, has_audio=info.has_audio, ladder=LADDER,
                       max_fps=max_fps, segment_seconds=segment_seconds, audio_kbps=128)
    output = hls.transcode_to_folder(
        source=source, source_format=info.format_name, folder=folder, plan=plan, duration=info.duration,
        source_width=info.width,
        source_height=info.height, storyboard_interval=1, storyboard_max_tiles=100, preset="ultrafast",
        ffmpeg_binary=settings.FFMPEG_BINARY, ffprobe_binary=settings.FFPROBE_BINARY,
    )
    return info, plan, output


def ffprobe_json(path: Path, *args: str) -> dict:
    result = subprocess.run([settings.FFPROBE_BINARY, "-v", "error", "-of", "json", *args, str(path)],
                            check=True, capture_output=True)
    return json.loads(result.stdout)


def first_video_frame(segment: Path) -> dict:
    data = ffprobe_json(segment, "-select_streams", "v:0", "-show_frames", "-read_intervals", "%+#1",
                        "-show_entries", "frame=key_frame,pict_type,width,height,sample_aspect_ratio")
    return data["frames"][0]


def picture_size(path: Path) -> tuple[int, int]:
    stream = ffprobe_json(path, "-select_streams", "v:0", "-show_entries", "stream=width,height")["streams"][0]
    return stream["width"], stream["height"]
