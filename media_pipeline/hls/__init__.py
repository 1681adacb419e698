"""One ffmpeg process per video: decode once, encode every rung, a poster and a storyboard.

Plain functions over paths and dataclasses (no models):

- `build_command` makes the ffmpeg command (through ffmpeg-python): the decoded
  picture is split into one scaled branch per rung (keyframes aligned at segment
  boundaries), one for the thumbnail and one for the storyboard sprite; audio is
  encoded once into its own HLS rendition shared by every rung.
- `run_ffmpeg` runs it, turning `-progress` output into percentages.
- Every input is opened with its format named and the `file` protocol only, and
  every run works in the source's private folder (see `probe.private_source`).
- `write_master` rewrites the master playlist from the written segments (ffmpeg
  does not write CODECS/AVERAGE-BANDWIDTH/FRAME-RATE correctly everywhere, and
  its BANDWIDTH is not the measured peak), and `check_output` refuses an
  incomplete output.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import ffmpeg
import m3u8

from media_pipeline.ladder import LadderPlan
from media_pipeline.probe import command_options, media_tool_environment, private_source, source_input_options

HLS_DIR = "hls"
MASTER_NAME = "master.m3u8"
VARIANT_NAME = "index.m3u8"
AUDIO_NAME = "audio"
THUMBNAIL_NAME = "thumbnail.jpg"
STORYBOARD_IMAGE_NAME = "storyboard.jpg"
STORYBOARD_VTT_NAME = "storyboard.vtt"
LOG_NAME = "ffmpeg.log"
STORYBOARD_TILE_WIDTH = 160
STORYBOARD_COLUMNS = 10
THUMBNAIL_MAX_WIDTH = 1280
# An output that covers less of the source than this was cut short (a truncated source).
MIN_COVERAGE = 0.9
AAC_CODECS = "mp4a.40.2"
PR_SET_PDEATHSIG = 1
# Our own outputs read back (the lowest rung for the storyboard, a segment for its codec string):
# named formats and files only, like a source.
OWN_HLS_INPUT = {"f": "hls", "protocol_whitelist": "file", "format_whitelist": "hls,mpegts"}
OWN_SEGMENT_INPUT = {"f": "mpegts", "protocol_whitelist": "file", "format_whitelist": "mpegts"}


class TranscodeFailed(Exception):
    """ffmpeg refused the source or wrote an unusable output; retrying will not help."""


class TranscodeInterrupted(Exception):
    """ffmpeg was killed (a signal) or stopped by us; the job may be retried."""


@dataclass(frozen=True)
class StoryboardPlan:
    interval: float
    count: int
    columns: int
    rows: int
    tile_width: int
    tile_height: int


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


def thumbnail_time(duration: float) -> float:
    """A frame a quarter of the way in (capped at 30 s): past any fade-in, inside even a 1 s clip."""
    return round(min(duration * 0.25, 30.0), 3)


def plan_storyboard(*, duration: float, width: int, height: int, interval: float, max_tiles: int) -> StoryboardPlan:
    interval = max(float(interval), duration / max_tiles)
    interval = math.ceil(interval * 10) / 10
    count = max(1, math.ceil(duration / interval))
    columns = min(count, STORYBOARD_COLUMNS)
    rows = math.ceil(count / columns)
    tile_height = max(2, int(round(STORYBOARD_TILE_WIDTH * height / width / 2)) * 2)
    return StoryboardPlan(interval, count, columns, rows, STORYBOARD_TILE_WIDTH, tile_height)


def fps_expression(fps: float) -> str:
    rate = Fraction(fps).limit_denominator(1001)
    return f"{rate.numerator}/{rate.denominator}"


def build_command(
    *,
    source: Path | str,
    source_format: str,
    folder: Path,
    plan: LadderPlan,
    preset: str,
    ffmpeg_binary: str,
) -> list[str]:
    """The ladder: decode once, each rung scaled from the one above, audio once, HLS with aligned keyframes.

    `source_format` is ffprobe's name of the source's container (an allowed one, or InvalidMedia)."""
    hls_folder = folder / HLS_DIR
    source_input = ffmpeg.input(str(source), **source_input_options(source_format))
    picture = source_input.video.filter("fps", fps=fps_expression(plan.fps)).filter("format", "yuv420p")
    streams = []
    options: dict[str, object] = {}
    stream_map = []
    audio_group = ",agroup:audio" if plan.has_audio else ""
    # Each rung is scaled from the rung above it (rungs are highest first), not from the source:
    # measured ~8 % less CPU for the whole run on a 1080p source, SSIM of the 360p rung 0.9973 vs
    # 0.9979 when scaled directly.
    previous = picture
    for index, rung in enumerate(plan.rungs):
        scaled = previous.filter("scale", rung.width, rung.height).filter("setsar", 1)
        if index + 1 < len(plan.rungs):
            fork = scaled.split()
            scaled, previous = fork[0], fork[1]
        streams.append(scaled)
        options[f"b:v:{index}"] = f"{rung.video_kbps}k"
        options[f"maxrate:v:{index}"] = f"{rung.maxrate_kbps}k"
        options[f"bufsize:v:{index}"] = f"{rung.bufsize_kbps}k"
        stream_map.append(f"v:{index}{audio_group},name:{rung.name}")
    if plan.has_audio:
        streams.append(source_input["a:0"])
        options.update({"c:a": "aac", "b:a": f"{plan.audio_kbps}k", "ac": 2, "ar": 48000})
        stream_map.append(f"a:0{audio_group},name:{AUDIO_NAME}")
    ladder_output = ffmpeg.output(
        *streams,
        str(hls_folder / "%v" / VARIANT_NAME),
        format="hls",
        vcodec="libx264",
        preset=preset,
        **{
            "profile:v": "high",
            # Keyframes exactly at segment boundaries, the same frames in every rung.
            "g": plan.gop_frames,
            "keyint_min": plan.gop_frames,
            "sc_threshold": 0,
            "hls_time": plan.segment_seconds,
            "hls_playlist_type": "vod",
            "hls_flags": "independent_segments",
            "hls_segment_type": "mpegts",
            "hls_segment_filename": str(hls_folder / "%v" / "seg_%05d.ts"),
            "master_pl_name": MASTER_NAME,
            "var_stream_map": " ".join(stream_map),
            **options,
        },
    )
    command = (
        ladder_output.global_args("-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-progress", "pipe:1")
        .overwrite_output()
        .compile(cmd=ffmpeg_binary)
    )
    return command


def build_stills_command(
    *, source: Path | str, source_format: str, folder: Path, plan: LadderPlan, duration: float,
    storyboard: StoryboardPlan, ffmpeg_binary: str,
) -> list[str]:
    """The poster frame (seeking into the source) and the storyboard sprite (from the lowest rung, cheap to decode).

    Kept out of the ladder's process on purpose: ffmpeg prints no `-progress` until every output
    has written its header, and a sprite's only frame comes at the very end.
    """
    top = plan.rungs[0]
    thumb_width = min(top.width, THUMBNAIL_MAX_WIDTH)
    thumb_height = max(2, int(round(top.height * thumb_width / top.width / 2)) * 2)
    thumbnail = ffmpeg.output(
        ffmpeg.input(str(source), ss=thumbnail_time(duration), **source_input_options(source_format)).video
        .filter("scale", thumb_width, thumb_height)
        .filter("setsar", 1),
        str(folder / THUMBNAIL_NAME),
        format="image2",
        vcodec="mjpeg",
        **{"frames:v": 1, "q:v": 3, "update": 1},
    )
    lowest = folder / HLS_DIR / plan.rungs[-1].name / VARIANT_NAME
    board = ffmpeg.output(
        ffmpeg.input(f"file:{lowest}", **OWN_HLS_INPUT).video
        .filter("fps", fps=f"1/{storyboard.interval}")
        .filter("scale", storyboard.tile_width, storyboard.tile_height)
        .filter("setsar", 1)
        .filter("tile", f"{storyboard.columns}x{storyboard.rows}"),
        str(folder / STORYBOARD_IMAGE_NAME),
        format="image2",
        vcodec="mjpeg",
        **{"frames:v": 1, "q:v": 5, "update": 1},
    )
    return (
        ffmpeg.merge_outputs(thumbnail, board)
        .global_args("-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning")
        .overwrite_output()
        .compile(cmd=ffmpeg_binary)
    )


def run_ffmpeg(
    command: list[str],
    *,
    cwd: Path,
    duration: float,
    log_path: Path,
    on_progress: Callable[[float, float], bool] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> None:
    """Run ffmpeg in `cwd` (the source's private folder); `on_progress(percent, speed)` is called as it goes
    and returns False to stop it."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, cwd=cwd,
                                   env=media_tool_environment(),
                                   preexec_fn=die_with_parent)  # noqa: PLW1509 (fork-safe: one pre-resolved call)
        if on_start:
            on_start(process.pid)
        stopped = False
        out_time = 0.0
        speed = 0.0
        try:
            for raw in process.stdout:
                key, _, value = raw.decode(errors="replace").strip().partition("=")
                if key == "out_time_us" and value.lstrip("-").isdigit():
                    out_time = max(out_time, int(value) / 1_000_000)
                elif key == "speed":
                    speed = parse_speed(value)
                elif key == "progress" and on_progress:
                    percent = 100.0 if value == "end" else min(99.0, 100.0 * out_time / duration if duration else 0.0)
                    if on_progress(percent, speed) is False:
                        stopped = True
                        process.terminate()
                        break
        finally:
            process.stdout.close()
            returncode = process.wait()
    if stopped:
        raise TranscodeInterrupted("the transcode was stopped")
    if returncode < 0:
        raise TranscodeInterrupted(f"ffmpeg was killed by signal {-returncode}")
    if returncode != 0:
        raise TranscodeFailed(f"ffmpeg could not transcode the source: {last_error_line(log_path)}")


def die_with_parent() -> None:
    """In the child: have the kernel SIGKILL ffmpeg when the worker dies (a django-q2 timeout or a crash),
    so no orphan keeps encoding beside the retry. Only calls a function resolved beforehand (fork-safe)."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


try:  # resolved in the parent: loading libraries between fork and exec is not safe
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: the sweeper's requeue still recovers the job
    _prctl = None


def parse_speed(value: str) -> float:
    try:
        return float(value.rstrip("x"))
    except ValueError:
        return 0.0


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def last_error_line(path: Path) -> str:
    lines = [line.strip() for line in log_tail(path, 50).splitlines() if line.strip()]
    for line in reversed(lines):
        if not line.startswith("Conversion failed"):
            return line[:300]
    return "unknown error"


def probe_codecs(segment: Path, *, ffprobe: str, cwd: Path) -> str:
    """RFC 6381 codec string of the H.264 stream in `segment` (avc1.PPCCLL)."""
    command = [ffprobe, "-v", "error", *command_options(OWN_SEGMENT_INPUT), "-select_streams", "v:0",
               "-show_entries", "stream=profile,level", "-of", "json", f"file:{segment}"]
    result = subprocess.run(command, cwd=cwd, env=media_tool_environment(), capture_output=True,
                            stdin=subprocess.DEVNULL, check=False)
    try:
        stream = json.loads(result.stdout)["streams"][0]
    except (json.JSONDecodeError, KeyError, IndexError):
        error = result.stderr.decode(errors="replace").strip()[-300:]
        raise TranscodeFailed(f"ffprobe cannot read the segment {segment.name} ffmpeg wrote: {error or 'no answer'}") \
            from None
    profile = (stream.get("profile") or "").lower()
    profile_idc, constraints = {"high": (0x64, 0x00), "main": (0x4D, 0x40), "baseline": (0x42, 0x00),
                                "constrained baseline": (0x42, 0xE0)}.get(profile, (0x64, 0x00))
    level = int(stream.get("level") or 40)
    return f"avc1.{profile_idc:02x}{constraints:02x}{level:02x}"


def segment_rates(playlist_path: Path) -> tuple[list[float], float, int]:
    """(bits/s of each segment, total duration, total bytes) of one media playlist."""
    playlist = m3u8.load(str(playlist_path))
    rates, total_duration, total_bytes = [], 0.0, 0
    for segment in playlist.segments:
        size = (playlist_path.parent / segment.uri).stat().st_size
        rates.append(size * 8 / segment.duration if segment.duration else 0.0)
        total_duration += segment.duration
        total_bytes += size
    return rates, total_duration, total_bytes


def check_playlist(playlist_path: Path, *, duration: float) -> None:
    if not playlist_path.is_file():
        raise TranscodeFailed(f"ffmpeg wrote no playlist {playlist_path.parent.name}/{playlist_path.name}")
    playlist = m3u8.load(str(playlist_path))
    if not playlist.is_endlist or not playlist.segments:
        raise TranscodeFailed(f"the playlist of {playlist_path.parent.name} is incomplete")
    for segment in playlist.segments:
        segment_path = playlist_path.parent / segment.uri
        if not segment_path.is_file() or segment_path.stat().st_size == 0:
            raise TranscodeFailed(f"segment {segment.uri} of {playlist_path.parent.name} is missing or empty")
        if round(segment.duration) > (playlist.target_duration or 0):
            raise TranscodeFailed(f"segment {segment.uri} of {playlist_path.parent.name} exceeds the target duration")
    covered = sum(segment.duration for segment in playlist.segments)
    if covered < duration * MIN_COVERAGE:
        raise TranscodeFailed(
            f"only {covered:.1f} s of the source's {duration:.1f} s could be decoded: the file is truncated or damaged"
        )


def write_master(*, folder: Path, plan: LadderPlan, duration: float, ffprobe: str, cwd: Path) -> list[RenditionResult]:
    """Check every playlist and write master.m3u8 from what was measured on disk."""
    hls_folder = folder / HLS_DIR
    audio_peak = audio_mean = 0.0
    audio_playlist = hls_folder / AUDIO_NAME / VARIANT_NAME
    if plan.has_audio:
        check_playlist(audio_playlist, duration=duration)
        rates, audio_duration, audio_bytes = segment_rates(audio_playlist)
        audio_peak, audio_mean = max(rates), audio_bytes * 8 / audio_duration
    results = []
    for rung in plan.rungs:
        playlist_path = hls_folder / rung.name / VARIANT_NAME
        check_playlist(playlist_path, duration=duration)
        rates, covered, video_bytes = segment_rates(playlist_path)
        first_segment = playlist_path.parent / m3u8.load(str(playlist_path)).segments[0].uri
        codecs = probe_codecs(first_segment, ffprobe=ffprobe, cwd=cwd)
        if plan.has_audio:
            codecs = f"{codecs},{AAC_CODECS}"
        results.append(
            RenditionResult(
                name=rung.name,
                width=rung.width,
                height=rung.height,
                video_kbps=rung.video_kbps,
                audio_kbps=plan.audio_kbps,
                codecs=codecs,
                playlist=f"{rung.name}/{VARIANT_NAME}",
                bandwidth=int(math.ceil(max(rates) + audio_peak)),
                average_bandwidth=int(math.ceil(video_bytes * 8 / covered + audio_mean)),
                frame_rate=plan.fps,
            )
        )
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if plan.has_audio:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_NAME}",NAME="Main",LANGUAGE="und",DEFAULT=YES,'
            f'AUTOSELECT=YES,CHANNELS="2",URI="{AUDIO_NAME}/{VARIANT_NAME}"'
        )
    for result in results:
        attributes = (
            f"BANDWIDTH={result.bandwidth},AVERAGE-BANDWIDTH={result.average_bandwidth},"
            f'CODECS="{result.codecs}",RESOLUTION={result.width}x{result.height},FRAME-RATE={result.frame_rate:.3f}'
        )
        if plan.has_audio:
            attributes += f',AUDIO="{AUDIO_NAME}"'
        lines += [f"#EXT-X-STREAM-INF:{attributes}", result.playlist]
    master_path = hls_folder / MASTER_NAME
    temporary = master_path.with_suffix(".tmp")
    temporary.write_text("\n".join(lines) + "\n")
    os.replace(temporary, master_path)
    return results


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
        (folder / "command.json").write_text(json.dumps(command))
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
