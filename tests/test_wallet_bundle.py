"""The wallet bundles in static/wallet/ are committed (running the platform needs no node build step, like the
contract artifacts): they must be exactly what esbuild builds from frontend/ with the locked node_modules."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.fixtures.processes import ROOT, missing_part

BUNDLES = ("checkout.js", "siwe.js")


def test_committed_wallet_bundles_match_a_fresh_esbuild_build(tmp_path):
    if shutil.which("node") is None:
        missing_part("node is not on PATH", part="node", install="apt-get install nodejs")
    if not (ROOT / "node_modules" / "esbuild").exists() or not (ROOT / "node_modules" / "viem").exists():
        missing_part("node_modules has no esbuild/viem", part="esbuild", install="npm ci")
    subprocess.run(["node", str(ROOT / "frontend" / "build.mjs"), str(tmp_path)], check=True, cwd=ROOT, timeout=120,
                   capture_output=True, text=True)
    for name in BUNDLES:
        committed = ROOT / "static" / "wallet" / name
        assert committed.exists(), f"static/wallet/{name} is missing: node frontend/build.mjs"
        assert (tmp_path / name).read_bytes() == committed.read_bytes(), (
            f"static/wallet/{name} is stale: run `node frontend/build.mjs` and commit static/wallet/"
        )


@pytest.mark.parametrize("name", BUNDLES)
def test_bundles_need_no_eval_under_the_apps_csp(name):
    """script-src 'self' without 'unsafe-eval': a bundle that builds code from strings would break at run time."""
    text = (ROOT / "static" / "wallet" / name).read_text()
    assert "new Function(" not in text and "eval(" not in text
