"""A transcode of one source into an HLS ladder, a poster and a storyboard, in two ffmpeg processes.

`transcode_to_folder` runs the whole of it into a work folder and checks the result:
1. the ladder (command.build_command), run by runner.run_ffmpeg with progress: the source is
   decoded once and every rung and the audio are encoded in that one process;
2. the playlists are checked and the master rewritten from the measured segments (playlists.write_master);
3. the poster and the storyboard sprite (command.build_stills_command), a second, short process
   (ffmpeg prints no progress until every output has written its header, and a sprite's only
   frame comes at the very end); then the storyboard's cues (storyboard.write_storyboard_vtt).
Plain functions over paths and dataclasses, no models. Every run works in the source's private
folder (probe.private_source); layout.py names the files it writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from media_pipeline.hls.command import build_command, build_stills_command
from media_pipeline.hls.layout import (
    COMMAND_NAME, HLS_DIR, LOG_NAME, STORYBOARD_IMAGE_NAME, THUMBNAIL_NAME, TranscodeFailed, TranscodeOutput,
)
from media_pipeline.hls.playlists import write_master
from media_pipeline.hls.runner import run_ffmpeg
from media_pipeline.hls.storyboard import plan_storyboard, write_storyboard_vtt
from media_pipeline.ladder import LadderPlan
from media_pipeline.probe import private_source


def transcode_to_folder(
    *,
    source: Path,
    source_format: str,
    folder: Path,
    plan: LadderPlan,
    duration: float,
    source_width: int,
    source_height: int,
    storyboard_interval: float,
    storyboard_max_tiles: int,
    preset: str,
    ffmpeg_binary: str,
    ffprobe_binary: str,
    on_progress: Callable[[float, float], bool] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> TranscodeOutput:
    """Run the whole transcode of `source` (whose container ffprobe named `source_format`) into `folder`
    (which must be empty or missing) and check it."""
    (folder / HLS_DIR).mkdir(parents=True, exist_ok=True)
    storyboard = plan_storyboard(
        duration=duration, width=source_width, height=source_height,
        interval=storyboard_interval, max_tiles=storyboard_max_tiles,
    )
    with private_source(source) as (private, source_url):
        command = build_command(source=source_url, source_format=source_format, folder=folder, plan=plan,
                                preset=preset, ffmpeg_binary=ffmpeg_binary)
        (folder / COMMAND_NAME).write_text(json.dumps(command))
        run_ffmpeg(command, cwd=private, duration=duration, log_path=folder / LOG_NAME, on_progress=on_progress,
                   on_start=on_start)
        renditions = write_master(folder=folder, plan=plan, duration=duration, ffprobe=ffprobe_binary, cwd=private)
        stills = build_stills_command(source=source_url, source_format=source_format, folder=folder, plan=plan,
                                      duration=duration, storyboard=storyboard, ffmpeg_binary=ffmpeg_binary)
        run_ffmpeg(stills, cwd=private, duration=duration, log_path=folder / LOG_NAME, on_start=on_start)
    for name in (THUMBNAIL_NAME, STORYBOARD_IMAGE_NAME):
        if not (folder / name).is_file() or (folder / name).stat().st_size == 0:
            raise TranscodeFailed(f"ffmpeg wrote no {name}")
    write_storyboard_vtt(folder=folder, plan=storyboard, duration=duration)
    return TranscodeOutput(folder=folder, renditions=renditions, duration=duration)

