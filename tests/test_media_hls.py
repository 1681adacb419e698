"""The ffmpeg side of the pipeline on real ffmpeg and lavfi clips: ladder, one-process HLS, master, thumbnail, storyboard."""

from __future__ import annotations

import re

import m3u8
import pytest

from media_pipeline import hls
from media_pipeline.hls.layout import (
    HLS_DIR, MASTER_NAME, STORYBOARD_IMAGE_NAME, STORYBOARD_VTT_NAME, THUMBNAIL_NAME, VARIANT_NAME, TranscodeFailed,
)
from media_pipeline.hls.playlists import segment_rates
from media_pipeline.hls.storyboard import plan_storyboard, write_storyboard_vtt
from media_pipeline.ladder import plan_ladder
from tests.media_helpers import LADDER, first_video_frame, picture_size, transcode_clip


def plan(width, height, fps=30.0, audio=True, max_fps=60):
    return plan_ladder(width=width, height=height, fps=fps, has_audio=audio, ladder=LADDER, max_fps=max_fps,
                       segment_seconds=6, audio_kbps=128)


def test_ladder_never_upscales_and_keeps_aspect():
    assert [(r.name, r.width, r.height) for r in plan(1920, 1080).rungs] == [
        ("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]
    assert [(r.width, r.height) for r in plan(640, 360).rungs] == [(640, 360)]
    # Portrait: the rung names the short side; dimensions stay even.
    assert [(r.width, r.height) for r in plan(1080, 1920).rungs] == [(1080, 1920), (720, 1280), (480, 854), (360, 640)]
    # Between rungs: 900p gets 720p and below, never 1080p.
    assert [r.name for r in plan(1600, 900).rungs] == ["720p", "480p", "360p"]


def test_ladder_small_source_gets_one_rung_at_its_size_and_fps_is_capped():
    small = plan(320, 240, audio=False)
    assert [(r.width, r.height) for r in small.rungs] == [(320, 240)]
    assert small.rungs[0].video_kbps < 800 and not small.has_audio
    capped = plan(1280, 720, fps=120, max_fps=30)
    assert capped.fps == 30 and capped.gop_frames == 180
    odd = plan(853, 479)
    assert all(r.width % 2 == 0 and r.height % 2 == 0 for r in odd.rungs)


def master_of(folder):
    return m3u8.load(str(folder / HLS_DIR / MASTER_NAME))


def check_segments(folder, rung_name, *, width, height):
    playlist_path = folder / HLS_DIR / rung_name / VARIANT_NAME
    playlist = m3u8.load(str(playlist_path))
    assert playlist.is_endlist and playlist.playlist_type == "vod"
    assert len(playlist.segments) >= 2
    for segment in playlist.segments:
        assert segment.duration <= playlist.target_duration
        frame = first_video_frame(playlist_path.parent / segment.uri)
        assert frame["key_frame"] == 1 and frame["pict_type"] == "I", f"{rung_name}/{segment.uri} starts without a keyframe"
        assert (frame["width"], frame["height"]) == (width, height)
    return playlist


def test_1080p_clip_gives_four_aligned_rungs_and_a_complete_master(make_clip, tmp_path):
    source = make_clip(width=1920, height=1080, seconds=4)
    _, _, output = transcode_clip(source, tmp_path / "out", segment_seconds=2)
    master = master_of(output.folder)
    assert [p.stream_info.resolution for p in master.playlists] == [(1920, 1080), (1280, 720), (854, 480), (640, 360)]
    durations_per_rung = []
    for rendition, variant in zip(output.renditions, master.playlists, strict=True):
        info_ = variant.stream_info
        playlist = check_segments(output.folder, rendition.name, width=rendition.width, height=rendition.height)
        durations_per_rung.append([round(s.duration, 3) for s in playlist.segments])
        # ultrafast encodes Constrained Baseline (42e0..); the string follows what was encoded.
        assert re.fullmatch(r"avc1\.(42e0|4d40|6400)[0-9a-f]{2},mp4a\.40\.2", info_.codecs), info_.codecs
        assert info_.frame_rate == 30.0
        assert info_.audio == "audio"
        # BANDWIDTH is at least the measured peak segment rate; AVERAGE-BANDWIDTH the measured mean.
        rates, covered, video_bytes = segment_rates(output.folder / HLS_DIR / rendition.playlist)
        audio_rates, audio_covered, audio_bytes = segment_rates(output.folder / HLS_DIR / "audio" / VARIANT_NAME)
        assert info_.bandwidth >= max(rates) + max(audio_rates) - 1
        assert info_.average_bandwidth == pytest.approx(video_bytes * 8 / covered + audio_bytes * 8 / audio_covered, rel=0.001)
        assert info_.average_bandwidth <= info_.bandwidth
    # Keyframes aligned across rungs: every rung cut at the same times.
    assert all(d == durations_per_rung[0] for d in durations_per_rung)
    [audio] = master.media
    assert audio.type == "AUDIO" and audio.group_id == "audio" and audio.uri == "audio/index.m3u8"


def test_360p_clip_gives_one_rung_and_a_thumbnail_for_a_3_second_clip(make_clip, tmp_path):
    source = make_clip(width=640, height=360, seconds=3)
    _, _, output = transcode_clip(source, tmp_path / "out")
    assert [p.stream_info.resolution for p in master_of(output.folder).playlists] == [(640, 360)]
    assert picture_size(output.folder / THUMBNAIL_NAME) == (640, 360)
    # The storyboard: one sprite, and a VTT whose cues cover the clip and point inside the sprite.
    sprite_width, sprite_height = picture_size(output.folder / STORYBOARD_IMAGE_NAME)
    cues = [line for line in (output.folder / STORYBOARD_VTT_NAME).read_text().splitlines() if "#xywh=" in line]
    assert len(cues) == 3
    for cue in cues:
        x, y, w, h = map(int, cue.split("#xywh=")[1].split(","))
        assert x + w <= sprite_width and y + h <= sprite_height
    assert (output.folder / STORYBOARD_VTT_NAME).read_text().startswith("WEBVTT")


def test_portrait_clip_keeps_its_aspect_ratio(make_clip, tmp_path):
    source = make_clip(width=720, height=1280, seconds=2)
    _, _, output = transcode_clip(source, tmp_path / "out", segment_seconds=1)
    assert [p.stream_info.resolution for p in master_of(output.folder).playlists] == [(720, 1280), (480, 854), (360, 640)]
    for rendition in output.renditions:
        frame = check_segments(output.folder, rendition.name, width=rendition.width, height=rendition.height)
        first = first_video_frame(output.folder / HLS_DIR / rendition.name / frame.segments[0].uri)
        assert first.get("sample_aspect_ratio", "1:1") in {"1:1", "0:1"}


def test_clip_without_audio_has_no_audio_group(make_clip, tmp_path):
    source = make_clip(width=320, height=240, seconds=3, audio=False)
    _, ladder_plan, output = transcode_clip(source, tmp_path / "out", segment_seconds=1)
    master = master_of(output.folder)
    assert not master.media
    [variant] = master.playlists
    assert variant.stream_info.audio is None and "mp4a" not in variant.stream_info.codecs
    assert variant.stream_info.resolution == (320, 240)
    assert not (output.folder / HLS_DIR / "audio").exists()
    check_segments(output.folder, ladder_plan.rungs[0].name, width=320, height=240)


def test_ffmpeg_failure_raises_readable_error(make_clip, tmp_path, settings):
    source = make_clip(width=320, height=240, seconds=1)
    bad_plan = plan(320, 240)
    with pytest.raises(TranscodeFailed, match="ffmpeg could not transcode"):
        hls.transcode_to_folder(
            source=source, source_format="mov,mp4,m4a,3gp,3g2,mj2", folder=tmp_path / "out", plan=bad_plan,
            duration=1, source_width=320, source_height=240,
            storyboard_interval=1, storyboard_max_tiles=10, preset="no-such-preset",
            ffmpeg_binary=settings.FFMPEG_BINARY, ffprobe_binary=settings.FFPROBE_BINARY,
        )


def test_phone_rotation_metadata_is_applied(make_clip, tmp_path):
    """A landscape-coded picture with a 90° display matrix (as phones record) becomes a portrait ladder."""
    import subprocess

    from django.conf import settings

    from media_pipeline.probe import probe_source

    rotated = tmp_path / "phone.mp4"
    source = str(make_clip(width=320, height=240, seconds=1))
    # ffmpeg >= 6 sets the display matrix with -display_rotation; 5.1 with the old `rotate` tag.
    newer = subprocess.run([settings.FFMPEG_BINARY, "-v", "error", "-y", "-display_rotation:v:0", "90", "-i", source,
                            "-c", "copy", str(rotated)], capture_output=True, check=False)
    if newer.returncode != 0:
        subprocess.run([settings.FFMPEG_BINARY, "-v", "error", "-y", "-i", source, "-c", "copy",
                        "-metadata:s:v:0", "rotate=90", str(rotated)], check=True)
    info = probe_source(rotated, ffprobe=settings.FFPROBE_BINARY)
    assert (info.width, info.height) == (240, 320) and info.rotation in (90, 270)
    _, _, output = transcode_clip(rotated, tmp_path / "out", segment_seconds=1)
    [variant] = master_of(output.folder).playlists
    assert variant.stream_info.resolution == (240, 320)
    check_segments_count = m3u8.load(str(output.folder / HLS_DIR / variant.uri)).segments
    assert first_video_frame(output.folder / HLS_DIR / "240p" / check_segments_count[0].uri)["width"] == 240
    assert picture_size(output.folder / THUMBNAIL_NAME) == (240, 320)


def test_storyboard_plan_widens_the_interval_for_long_videos_and_vtt_covers_the_duration(tmp_path):
    short = plan_storyboard(duration=3, width=1920, height=1080, interval=2, max_tiles=100)
    assert (short.interval, short.count, short.columns, short.rows) == (2, 2, 2, 1)
    long = plan_storyboard(duration=4 * 3600, width=1080, height=1920, interval=2, max_tiles=100)
    assert long.count <= 100 and long.interval == 144 and long.columns * long.rows >= long.count
    assert long.tile_height == 284  # portrait tiles keep the aspect ratio
    write_storyboard_vtt(folder=tmp_path, plan=short, duration=3)
    text = (tmp_path / STORYBOARD_VTT_NAME).read_text()
    assert "00:00:00.000 --> 00:00:02.000" in text and "00:00:02.000 --> 00:00:03.000" in text


def test_progress_is_reported_while_the_ladder_encodes(make_clip, tmp_path):
    """ffmpeg prints -progress only once every output has a header: stills must not sit in the ladder's process."""
    from django.conf import settings

    from media_pipeline.probe import probe_source

    source = make_clip(width=1280, height=720, seconds=6)
    info = probe_source(source, ffprobe=settings.FFPROBE_BINARY)
    ladder_plan = plan(info.width, info.height)
    seen = []
    hls.transcode_to_folder(
        source=source, source_format=info.format_name, folder=tmp_path / "out", plan=ladder_plan,
        duration=info.duration, source_width=info.width,
        source_height=info.height, storyboard_interval=2, storyboard_max_tiles=100, preset="veryfast",
        ffmpeg_binary=settings.FFMPEG_BINARY, ffprobe_binary=settings.FFPROBE_BINARY,
        on_progress=lambda percent, speed: seen.append(percent),
    )
    assert seen[-1] == 100 and seen == sorted(seen)
    assert any(0 < p < 90 for p in seen), f"no progress before the end: {seen}"
