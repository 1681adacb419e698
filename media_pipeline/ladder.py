"""Plan the rendition ladder for one source: never upscale, keep the aspect ratio.

A rung's height in the configured ladder names the picture's short side, so a
portrait 1080x1920 source gets a "1080p" rung of 1080x1920, not 608x1080.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Apple's HLS authoring guide: keep peaks close to the declared rate; VBV of 1.5x the average.
MAXRATE_FACTOR = 1.07
BUFSIZE_FACTOR = 1.5


@dataclass(frozen=True)
class Rung:
    name: str
    width: int
    height: int
    video_kbps: int

    @property
    def maxrate_kbps(self) -> int:
        return int(round(self.video_kbps * MAXRATE_FACTOR))

    @property
    def bufsize_kbps(self) -> int:
        return int(round(self.video_kbps * BUFSIZE_FACTOR))


@dataclass(frozen=True)
class LadderPlan:
    rungs: list[Rung]  # highest first
    fps: float
    gop_frames: int  # keyframe interval: one segment
    segment_seconds: int
    audio_kbps: int  # 0 when the source has no audio

    @property
    def has_audio(self) -> bool:
        return self.audio_kbps > 0


def even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


# The rates players and displays expect (NTSC's as exact fractions).
STANDARD_FPS = (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 48.0, 50.0, 60000 / 1001, 60.0)
# A rate this close (relative) to a standard one is that rate: a variable-frame-rate source's
# average (a phone's 31.755) becomes 30; a slideshow's 10 fps stays 10.
SNAP_TOLERANCE = 0.10


class PictureTooSmall(ValueError):
    """The source's picture is below MEDIA_MIN_SIDE on a side."""


def snap_fps(fps: float) -> float:
    nearest = min(STANDARD_FPS, key=lambda rate: abs(rate - fps))
    return nearest if abs(nearest - fps) <= SNAP_TOLERANCE * nearest else fps


def output_fps(source_fps: float, max_fps: int) -> float:
    """Snap to a standard rate, then cap by halving (60 → 30 when capped at 30), never by an uneven drop."""
    fps = snap_fps(source_fps)
    while fps > max_fps + 0.01:
        fps /= 2
    return fps


def plan_ladder(
    *,
    width: int,
    height: int,
    fps: float,
    has_audio: bool,
    ladder: list[tuple[str, int, int]],
    max_fps: int,
    segment_seconds: int,
    audio_kbps: int,
    min_side: int = 2,
) -> LadderPlan:
    if min(width, height) < min_side:
        raise PictureTooSmall(
            f"The picture is {width}×{height} pixels; the smallest we accept is {min_side}×{min_side}."
        )
    short_side, long_side = min(width, height), max(width, height)
    landscape = width >= height
    rungs: list[Rung] = []
    for name, rung_short, kbps in sorted(ladder, key=lambda item: -item[1]):
        if rung_short > short_side:
            continue  # never upscale
        rung_long = even(long_side * rung_short / short_side)
        size = (rung_long, even(rung_short)) if landscape else (even(rung_short), rung_long)
        rungs.append(Rung(name=name, width=size[0], height=size[1], video_kbps=kbps))
    if not rungs:
        # Smaller than the lowest rung: one rung at the source size, its bitrate scaled by pixel count.
        name, rung_short, kbps = min(ladder, key=lambda item: item[1])
        pixel_ratio = (short_side * long_side) / (rung_short * rung_short * 16 / 9)
        scaled = max(100, int(kbps * min(1.0, pixel_ratio)))
        rungs.append(Rung(name=f"{even(short_side)}p", width=even(width), height=even(height), video_kbps=scaled))
    out_fps = output_fps(fps, max_fps)
    return LadderPlan(
        rungs=rungs,
        fps=out_fps,
        gop_frames=max(1, int(math.ceil(out_fps * segment_seconds - 1e-6))),
        segment_seconds=segment_seconds,
        audio_kbps=audio_kbps if has_audio else 0,
    )
