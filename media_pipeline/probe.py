"""Read what a source file holds with ffprobe, and refuse what we cannot transcode.

Plain functions over paths (no models): `probe_source` returns a `SourceInfo` or
raises `InvalidMedia` with a message a user can act on.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import ffmpeg

from config.errors import ServiceError

# Containers ffprobe "recognises" that are not videos: still images and text rendered as ANSI art.
NOT_VIDEO_FORMATS = {"tty", "image2", "apng", "gif", "webp_pipe", "svg_pipe"}
STILL_IMAGE_CODECS = {"ansi", "png", "bmp", "tiff", "webp", "gif", "svg", "jpegls", "pam", "ppm", "pgm", "ico"}
# Below this, there is nothing to segment or scrub through.
MIN_DURATION_SECONDS = 0.2


class InvalidMedia(ServiceError):
    code = "invalid_media"


@dataclass(frozen=True)
class SourceInfo:
    duration: float
    width: int  # as displayed (rotation applied)
    height: int
    fps: float
    video_codec: str
    audio_codec: str  # "" when the source has no audio
    rotation: int  # degrees the player must rotate the coded picture (0, 90, 180, 270)
    format_name: str
    size: int

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_codec)


@dataclass(frozen=True)
class ProbeLimits:
    max_width: int
    max_height: int
    max_duration: float


def probe_source(path: Path | str, *, ffprobe: str, limits: ProbeLimits | None = None) -> SourceInfo:
    path = Path(path)
    if not path.is_file():
        raise InvalidMedia("The source file is missing.")
    size = path.stat().st_size
    if size == 0:
        raise InvalidMedia("The file is empty.")
    data = run_ffprobe(path, ffprobe=ffprobe)
    return source_info_from(data, size=size, limits=limits)


def run_ffprobe(path: Path, *, ffprobe: str) -> dict:
    try:
        return ffmpeg.probe(str(path), cmd=ffprobe, v="error")
    except ffmpeg.Error as error:
        with path.open("rb") as file:
            head = file.read(512)
        if sniff_container(head) is None:
            raise InvalidMedia("This is not a video file (its content is not a known video container).") from None
        raise InvalidMedia(explain_ffprobe_error(error.stderr.decode(errors="replace"))) from None
    except json.JSONDecodeError:
        raise InvalidMedia("ffprobe gave no readable answer for this file.") from None
    except (FileNotFoundError, subprocess.SubprocessError) as error:
        # Not the user's fault: let the job fail loudly for an operator.
        raise RuntimeError(f"cannot run ffprobe ({ffprobe}): {error}") from error


def sniff_container(head: bytes) -> str | None:
    """The container a file's first bytes announce, or None: refuse text and images before storing them."""
    if len(head) >= 12 and head[4:8] in {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"}:
        return "mp4/mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska/webm"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return "mpeg-ps"
    if head.startswith(b"FLV"):
        return "flv"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "asf/wmv"
    if head[:1] == b"\x47" and head[188:189] == b"\x47":  # two 188-byte packets in sync
        return "mpeg-ts"
    return None


def explain_ffprobe_error(stderr: str) -> str:
    last = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "")
    if "moov atom not found" in stderr:
        return "The file is truncated or incomplete: its index (moov atom) is missing. Upload the whole file again."
    if "Invalid data found when processing input" in stderr:
        return "This is not a video file we can read (ffprobe: invalid data found when processing input)."
    if "End of file" in stderr or "truncated" in stderr.lower():
        return "The file is truncated or incomplete."
    return f"ffprobe cannot read this file: {last[:300] or 'unknown error'}"


def parse_rate(value: str | None) -> float:
    try:
        rate = Fraction(value or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(rate)


def stream_rotation(stream: dict) -> int:
    """Clockwise display rotation from the display matrix (or the old `rotate` tag)."""
    rotation = 0
    for side_data in stream.get("side_data_list") or []:
        if "rotation" in side_data:
            rotation = int(round(float(side_data["rotation"])))
    if not rotation and "rotate" in (stream.get("tags") or {}):
        rotation = -int(stream["tags"]["rotate"])
    return (-rotation) % 360


def source_info_from(data: dict, *, size: int, limits: ProbeLimits | None) -> SourceInfo:
    fmt = data.get("format") or {}
    format_name = fmt.get("format_name", "")
    streams = data.get("streams") or []
    videos = [s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    if format_name in NOT_VIDEO_FORMATS or format_name.endswith("_pipe"):
        raise InvalidMedia(f"This is not a video file (it reads as {format_name}, an image or text).")
    if not videos:
        kinds = sorted({s.get("codec_type", "?") for s in streams})
        what = f"only {', '.join(kinds)}" if kinds else "no streams"
        raise InvalidMedia(f"The file has no video stream ({what}); upload a video.")
    video = videos[0]
    if video.get("codec_name") in STILL_IMAGE_CODECS:
        raise InvalidMedia(f"This is a still image ({video.get('codec_name')}), not a video.")
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise InvalidMedia("The video stream has no picture size; the file is damaged.")
    rotation = stream_rotation(video)
    if rotation in (90, 270):
        width, height = height, width
    duration = parse_float(fmt.get("duration")) or parse_float(video.get("duration"))
    if not duration:
        raise InvalidMedia("The file has no readable duration; it is probably truncated or damaged.")
    if duration < MIN_DURATION_SECONDS:
        raise InvalidMedia(f"The video is only {duration:.2f} s long; it must last at least {MIN_DURATION_SECONDS} s.")
    fps = parse_rate(video.get("avg_frame_rate")) or parse_rate(video.get("r_frame_rate"))
    if not 0 < fps <= 1000:
        raise InvalidMedia("The video has no usable frame rate; the file is damaged.")
    if limits:
        if width > limits.max_width or height > limits.max_height:
            raise InvalidMedia(
                f"The video is {width}x{height}; the largest allowed is {limits.max_width}x{limits.max_height}."
            )
        if duration > limits.max_duration:
            raise InvalidMedia(
                f"The video lasts {duration:.0f} s; the longest allowed is {limits.max_duration:.0f} s."
            )
    return SourceInfo(
        duration=duration,
        width=width,
        height=height,
        fps=fps,
        video_codec=video.get("codec_name", ""),
        audio_codec=audios[0].get("codec_name", "") if audios else "",
        rotation=rotation,
        format_name=format_name,
        size=size,
    )


def parse_float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
