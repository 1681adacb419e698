"""Media settings from the environment: the ladder and the encoder binary."""

import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import bundled_ffmpeg, env_ladder

DEFAULT = "1080p:1080:5000,720p:720:2800"


def test_ladder_parses_and_refuses_malformed_rungs():
    assert env_ladder({}, "MEDIA_LADDER", DEFAULT) == [("1080p", 1080, 5000), ("720p", 720, 2800)]
    assert env_ladder({"MEDIA_LADDER": "sd:540:2000"}, "MEDIA_LADDER", DEFAULT) == [("sd", 540, 2000)]
    for bad in ("720p:720", "720p:abc:100", "../x:720:100", "720p:720:-5"):
        with pytest.raises(ImproperlyConfigured, match="MEDIA_LADDER"):
            env_ladder({"MEDIA_LADDER": bad}, "MEDIA_LADDER", DEFAULT)


def test_bundled_ffmpeg_is_an_executable_of_the_wheel_when_installed():
    path = bundled_ffmpeg()
    pytest.importorskip("imageio_ffmpeg")
    assert path and os.access(path, os.X_OK) and "imageio_ffmpeg" in path
