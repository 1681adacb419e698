"""A real js-ipfs daemon (Kubo-compatible RPC API) on free loopback ports, started once per session.

Installed by `.ci/run` from `.ci/node-ipfs/` (not by `make run`/`make test`: ~1,000 npm packages).
Where it is absent the tests that need it skip, except in CI, where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import httpx
import pytest

from integrations.localnet import free_port
from tests.fixtures.processes import ROOT, ManagedProcess, missing_part, wait_for

JS_IPFS_DIR = ROOT / ".ci" / "node-ipfs"
CLI = JS_IPFS_DIR / "node_modules" / "ipfs" / "src" / "cli.js"


def require_js_ipfs() -> None:
    if shutil.which("node") is None:
        missing_part("node is not on PATH", part="node", install="apt-get install nodejs npm")
    if not CLI.is_file():
        missing_part("the js-ipfs daemon is not installed", part="js-ipfs",
                     install="cd .ci/node-ipfs && npm install --no-save, as .ci/run does")


@pytest.fixture(scope="session")
def js_ipfs(tmp_path_factory):
    """Base URL of a running js-ipfs daemon's RPC API (offline, loopback only)."""
    require_js_ipfs()
    repo = tmp_path_factory.mktemp("js-ipfs") / "repo"
    env = {**os.environ, "IPFS_PATH": str(repo)}
    subprocess.run(["node", str(CLI), "init", "--profile=test"], env=env, check=True, capture_output=True, timeout=120)
    config_path = repo / "config"
    config = json.loads(config_path.read_text())
    api_port = free_port()
    config["Addresses"].update({
        "API": f"/ip4/127.0.0.1/tcp/{api_port}",
        "Gateway": f"/ip4/127.0.0.1/tcp/{free_port()}",
        "RPC": f"/ip4/127.0.0.1/tcp/{free_port()}",
        "Swarm": [f"/ip4/127.0.0.1/tcp/{free_port()}"],
    })
    config["Bootstrap"] = []
    config.setdefault("Discovery", {})["MDNS"] = {"Enabled": False}
    config["Discovery"]["webRTCStar"] = {"Enabled": False}
    config_path.write_text(json.dumps(config))
    process = ManagedProcess(["node", str(CLI), "daemon", "--offline", "--enable-preload=false"], env=env,
                             log_path=repo.parent / "daemon.log", cwd=JS_IPFS_DIR).start()
    url = f"http://127.0.0.1:{api_port}"
    try:
        wait_for(lambda: httpx.post(f"{url}/api/v0/version", timeout=2).status_code == 200 or not process.running,
                 timeout=90, what="js-ipfs daemon")
        if not process.running:
            raise RuntimeError(f"js-ipfs exited:\n{process.log_tail()}")
        yield url
    finally:
        process.stop()
