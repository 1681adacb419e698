"""`make run`: the whole platform on 127.0.0.1 with embedded defaults.

Starts a local anvil chain, the SMTP sink, the web server and two django-q2
clusters (the default one and `<Q_NAME>-long` for transcodes), each in its own process group;
prints the URLs; Ctrl-C (or SIGTERM) stops every process it started.
`run_platform.py demo [args]` runs `manage.py demo` with the same settings (`make demo`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.env import q_name, transcode_cluster_name  # noqa: E402
PYTHON = sys.executable
MANAGE = [PYTHON, str(ROOT / "manage.py")]


@dataclass
class Part:
    name: str
    command: list[str]
    ready: callable
    env: dict = field(default_factory=dict)
    process: subprocess.Popen | None = None


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(check, *, timeout: float, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} while starting (see its output above)")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} was not ready after {timeout:.0f} s")


def rpc_ready(url: str) -> bool:
    response = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
    return "result" in response.json()


def tcp_ready(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def http_ready(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code < 500


def stop_all(parts: list[Part]) -> None:
    """Stop the parts in the reverse of their start order, each before the next: workers finish their
    task while the chain, the SMTP sink and the web server they talk to are still up."""
    running = [part for part in parts if part.process and part.process.poll() is None]
    for part in reversed(running):
        # The leader only: django-q2's sentinel stops its own workers in order.
        part.process.send_signal(signal.SIGTERM)
        try:
            part.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            print(f"  {part.name} did not stop in time; killing it", flush=True)
            os.killpg(part.process.pid, signal.SIGKILL)
            part.process.wait()
    for part in running:
        # Anything a part left in its own process group goes too.
        try:
            os.killpg(part.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def platform_env(environ) -> tuple[dict, int, int, int]:
    """The environment of every part (and of `make demo`, which talks to them): env, web, anvil and SMTP ports."""
    env = dict(environ)
    env.setdefault("DEBUG", "1")
    web_port = int(env.get("FLOWCAST_WEB_PORT", "8000"))
    anvil_port = int(env.get("FLOWCAST_ANVIL_PORT", "8545"))
    smtp_port = int(env.get("FLOWCAST_SMTP_PORT", "1025"))
    env.setdefault("SITE_URL", f"http://127.0.0.1:{web_port}")
    # User content on its own origins: browsers resolve *.localhost to loopback (SECURITY.md).
    env.setdefault("IPFS_GATEWAY_ORIGIN", f"http://ipfs.localhost:{web_port}")
    env.setdefault("RPC_URL", f"http://127.0.0.1:{anvil_port}")
    env.setdefault("EMAIL_HOST", "127.0.0.1")
    env.setdefault("EMAIL_PORT", str(smtp_port))
    return env, web_port, anvil_port, smtp_port


def demo(args: list[str]) -> int:
    """`make demo`: `manage.py demo` against the parts `make run` started, with the same settings."""
    env = platform_env(os.environ)[0]
    return subprocess.run([*MANAGE, "demo", *args], env=env, cwd=ROOT).returncode


def main() -> int:
    env, web_port, anvil_port, smtp_port = platform_env(os.environ)
    data_dir = Path(env.get("DATA_DIR", ROOT / "data"))
    (data_dir / "anvil").mkdir(parents=True, exist_ok=True)

    busy = [f"{name} port {port}" for name, port in (("web", web_port), ("anvil", anvil_port), ("SMTP", smtp_port)) if port_in_use(port)]
    if busy:
        print(f"Cannot start: {', '.join(busy)} already in use on 127.0.0.1. Stop what holds it, or set "
              "FLOWCAST_WEB_PORT / FLOWCAST_ANVIL_PORT / FLOWCAST_SMTP_PORT.", file=sys.stderr)
        return 2

    print("Applying migrations ...", flush=True)
    subprocess.run([*MANAGE, "migrate", "--no-input", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*MANAGE, "ensure_admin"], env=env, check=True, cwd=ROOT)

    anvil = ROOT / "node_modules" / ".bin" / "anvil"
    parts = [
        Part("anvil", [str(anvil), "--host", "127.0.0.1", "--port", str(anvil_port), "--silent",
                       "--state", str(data_dir / "anvil" / "state.json")],
             lambda: rpc_ready(env["RPC_URL"])),
        Part("smtp", [*MANAGE, "smtp_sink", "--port", str(smtp_port)], lambda: tcp_ready(smtp_port)),
        Part("web", [*MANAGE, "runserver", f"127.0.0.1:{web_port}", "--noreload"],
             lambda: http_ready(f"http://127.0.0.1:{web_port}/api/health")),
        Part("worker", [*MANAGE, "qcluster"], lambda: True),
        Part("worker-long", [*MANAGE, "qcluster"], lambda: True, env={"Q_CLUSTER_NAME": transcode_cluster_name(q_name(env))}),
    ]
    def deploy_contracts(part: Part) -> None:
        if part.name == "anvil":
            # Our contracts on the local chain (skipped when the recorded ones still have code).
            if subprocess.run([*MANAGE, "chain", "deploy", "--if-missing"], env=env, cwd=ROOT).returncode:
                raise RuntimeError("`manage.py chain deploy --if-missing` failed (see its output above)")

    banner = (
        "\nFlowcast is up:\n"
        f"  web        http://127.0.0.1:{web_port}/ (videos), http://127.0.0.1:{web_port}/studio/ (your uploads)\n"
        f"  admin      http://127.0.0.1:{web_port}/admin/\n"
        f"  API docs   http://127.0.0.1:{web_port}/api/docs\n"
        f"  health     http://127.0.0.1:{web_port}/api/health\n"
        f"  chain RPC  {env['RPC_URL']} (anvil, chain id 31337)\n"
        f"  SMTP sink  127.0.0.1:{smtp_port} (read it: .venv/bin/python manage.py mailbox)\n"
        f"  mailbox    http://127.0.0.1:{web_port}/admin/notifications/outboundemail/mailbox/ (what the sink received)\n"
        f"  IPFS       gateway http://<cidv1>.ipfs.localhost:{web_port}/ (and /ipfs/<cid>/ here),\n"
        f"             Kubo RPC http://127.0.0.1:{web_port}/api/v0/ "
        "(embedded node, served by the web process)\n"
        "Next, in another terminal: `make demo` walks you through the whole loop (upload, HLS, IPFS,\n"
        "a payment stream on the local chain, paid playback, emails) and prints the URLs to open.\n"
        "Press Ctrl-C to stop everything.\n"
    )
    return supervise(parts, env, banner=lambda: banner, after_start=deploy_contracts)


def supervise(parts: list[Part], env: dict, *, banner, after_start=None, on_failure=None) -> int:
    """Start `parts` in order, each in its own session and waiting until it is ready (`after_start(part)` then),
    print `banner()`, and run until Ctrl-C (0) or until a part exits (1). Every started part is stopped, in
    reverse order, whatever happens; a part that cannot start is reported (`on_failure()` adds what it knows)."""
    interrupted = False

    def on_signal(signum, frame):
        nonlocal interrupted
        interrupted = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for part in parts:
            print(f"Starting {part.name} ...", flush=True)
            part.process = subprocess.Popen(part.command, env={**env, **part.env}, cwd=ROOT, start_new_session=True)
            wait_until(part.ready, timeout=60, what=part.name, process=part.process)
            if after_start is not None:
                after_start(part)
            if interrupted:
                return 130
        print(banner(), flush=True)
        while not interrupted:
            for part in parts:
                if part.process.poll() is not None:
                    print(f"{part.name} exited with code {part.process.returncode}; stopping.", flush=True)
                    return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        if on_failure is not None:
            on_failure()
        return 1
    finally:
        print("Stopping ...", flush=True)
        stop_all(parts)
        print("Stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(demo(sys.argv[2:]) if sys.argv[1:2] == ["demo"] else main())
