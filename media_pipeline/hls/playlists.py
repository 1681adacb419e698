"""Checks the playlists ffmpeg wrote and rewrites the master from what was measured on disk.

ffmpeg does not write CODECS, AVERAGE-BANDWIDTH and FRAME-RATE correctly everywhere, and its
BANDWIDTH is not the measured peak: `write_master` refuses an incomplete output (a missing or empty
segment, a segment longer than the target, too little of the source covered) and writes the master
with BANDWIDTH = measured peak, AVERAGE-BANDWIDTH = measured mean, CODECS read from a segment.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import m3u8

from media_pipeline.hls.layout import AUDIO_NAME, HLS_DIR, MASTER_NAME, VARIANT_NAME, RenditionResult, TranscodeFailed
from media_pipeline.ladder import LadderPlan
from media_pipeline.probe import command_options, media_tool_environment

# An output that covers less of the source than this was cut short (a truncated source).
MIN_COVERAGE = 0.9
AAC_CODECS = "mp4a.40.2"
# A segment we wrote, read back for its codec string: a named format and files only, like a source.
OWN_SEGMENT_INPUT = {"f": "mpegts", "protocol_whitelist": "file", "format_whitelist": "mpegts"}


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
