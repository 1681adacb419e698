"""Every benchmark starts as the README says: `.venv/bin/python bench/NAME.py` (here with `--help`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.fixtures.processes import ROOT

# The scripts (a `__main__` block), not the modules they import (bench/api_settings.py, bench/api_urls.py).
SCRIPTS = sorted(path.name for path in (ROOT / "bench").glob("*.py") if 'if __name__ == "__main__"' in path.read_text())


def test_the_bench_folder_has_its_scripts():
    assert {"api.py", "cid.py", "indexer.py", "smtp_batch.py", "transcode.py"} <= set(SCRIPTS)
    # A bench named like a standard-library module shadows it for every script in the folder.
    assert not set(SCRIPTS) & {f"{name}.py" for name in sys.stdlib_module_names}


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_bench_script_starts_and_explains_itself(script, tmp_path):
    # The script's folder, not the repository, is first on sys.path: exactly as the documented command runs it.
    result = subprocess.run([sys.executable, f"bench/{script}", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage:") and script in result.stdout
