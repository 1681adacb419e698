"""The folder a transcode writes, and what was measured in it.

    <work folder>/
      hls/master.m3u8            the master playlist (rewritten from the measured segments, see playlists.py)
      hls/<rung>/index.m3u8      one media playlist and its segments per rung
      hls/audio/index.m3u8       the shared audio rendition (when the source has audio)
      thumbnail.jpg, storyboard.jpg, storyboard.vtt
      ffmpeg.log, command.json   kept for the job's log; removed before the folder is published
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

HLS_DIR = "hls"
MASTER_NAME = "master.m3u8"
VARIANT_NAME = "index.m3u8"
AUDIO_NAME = "audio"
THUMBNAIL_NAME = "thumbnail.jpg"
STORYBOARD_IMAGE_NAME = "storyboard.jpg"
STORYBOARD_VTT_NAME = "storyboard.vtt"
LOG_NAME = "ffmpeg.log"
COMMAND_NAME = "command.json"


class TranscodeFailed(Exception):
    """ffmpeg refused the source or wrote an unusable output; retrying will not help."""


class TranscodeInterrupted(Exception):
    """ffmpeg was killed (a signal) or stopped by us; the job may be retried."""


@dataclass
class RenditionResult:
    name: str
    width: int
    height: int
    video_kbps: int
    audio_kbps: int
    codecs: str
    playlist: str  # relative to the HLS folder
    bandwidth: int  # bits/s, measured peak (video + audio)
    average_bandwidth: int  # bits/s, measured mean
    frame_rate: float


@dataclass
class TranscodeOutput:
    folder: Path  # the work folder: hls/, thumbnail.jpg, storyboard.*
    renditions: list[RenditionResult] = field(default_factory=list)
    duration: float = 0.0
