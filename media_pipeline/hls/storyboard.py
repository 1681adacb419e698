"""The storyboard: a sprite of tiles (one every `interval` seconds) and the WebVTT cues that map times to tiles.

The sprite itself is drawn by ffmpeg (command.build_stills_command); this module plans its grid and
writes the cues.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from media_pipeline.hls.layout import STORYBOARD_IMAGE_NAME, STORYBOARD_VTT_NAME

STORYBOARD_TILE_WIDTH = 160
STORYBOARD_COLUMNS = 10


@dataclass(frozen=True)
class StoryboardPlan:
    interval: float
    count: int
    columns: int
    rows: int
    tile_width: int
    tile_height: int


def plan_storyboard(*, duration: float, width: int, height: int, interval: float, max_tiles: int) -> StoryboardPlan:
    interval = max(float(interval), duration / max_tiles)
    interval = math.ceil(interval * 10) / 10
    count = max(1, math.ceil(duration / interval))
    columns = min(count, STORYBOARD_COLUMNS)
    rows = math.ceil(count / columns)
    tile_height = max(2, int(round(STORYBOARD_TILE_WIDTH * height / width / 2)) * 2)
    return StoryboardPlan(interval, count, columns, rows, STORYBOARD_TILE_WIDTH, tile_height)


def write_storyboard_vtt(*, folder: Path, plan: StoryboardPlan, duration: float) -> None:
    """WebVTT cues mapping each interval to its tile (`storyboard.jpg#xywh=x,y,w,h`), as Mux and PeerTube do."""
    lines = ["WEBVTT", ""]
    for index in range(plan.count):
        start = index * plan.interval
        if start >= duration:
            break
        end = min(duration, start + plan.interval)
        x = (index % plan.columns) * plan.tile_width
        y = (index // plan.columns) * plan.tile_height
        lines += [
            f"{vtt_time(start)} --> {vtt_time(end)}",
            f"{STORYBOARD_IMAGE_NAME}#xywh={x},{y},{plan.tile_width},{plan.tile_height}",
            "",
        ]
    (folder / STORYBOARD_VTT_NAME).write_text("\n".join(lines))


def vtt_time(seconds: float) -> str:
    milliseconds = int(round(seconds * 1000))
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"
