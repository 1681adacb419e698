"""An optional system part that is missing: its tests skip with the reason, the summary says how to install it,
and with CI set they fail instead."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.fixtures.processes import ROOT

TEST = "tests/ipfs/test_importer.py::test_files_against_debian_ipfs_cid"


def run_pytest(tmp_path, **extra: str) -> subprocess.CompletedProcess:
    # A PATH without Debian's ipfs_cid (nor anything else): what a fresh machine has of the optional parts.
    env = {key: value for key, value in os.environ.items() if key not in {"CI", "DATA_DIR", "Q_NAME"}}
    env.update(PATH=str(tmp_path), **extra)
    return subprocess.run([sys.executable, "-m", "pytest", TEST, "-p", "no:cacheprovider", "-rs"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_missing_part_skips_and_the_summary_says_how_to_install_it(tmp_path):
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 skipped" in result.stdout and "ipfs_cid is not on PATH" in result.stdout
    summary = [line for line in result.stdout.splitlines() if line.startswith("Skipped for missing optional parts:")]
    assert summary == ["Skipped for missing optional parts: ipfs_cid (apt-get install ipfs-cid)"], result.stdout[-3000:]


def test_in_ci_a_missing_part_fails(tmp_path):
    result = run_pytest(tmp_path, CI="true")
    assert result.returncode == 1 and "1 failed" in result.stdout
    assert "CI installs every part" in result.stdout
    assert "Skipped for missing optional parts" not in result.stdout
