"""`make run` as a newcomer sees it: the first admin's welcome email lands in the local SMTP sink."""

import os
import signal
import subprocess
import sys

import pytest

from integrations.localnet import free_port
from integrations.mail_sink import read_mailbox
from tests.fixtures.anvil import require_anvil
from tests.fixtures.processes import ROOT, wait_for

pytestmark = pytest.mark.slow


def test_welcome_email_of_the_first_admin_reaches_the_sink(tmp_path):
    require_anvil()
    data_dir = tmp_path / "data"
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "FLOWCAST_WEB_PORT": str(free_port()),
        "FLOWCAST_ANVIL_PORT": str(free_port()),
        "FLOWCAST_SMTP_PORT": str(free_port()),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "RPC_URL", "EMAIL_PORT", "EMAIL_HOST", "SITE_URL", "DEBUG",
                 "MAIL_SINK_DIR", "Q_NAME"):
        env.pop(name, None)
    log_path = tmp_path / "run.log"
    with log_path.open("w+b") as log:
        runner = subprocess.Popen([sys.executable, "scripts/run_platform.py"], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: b"Flowcast is up" in log_path.read_bytes() or runner.poll() is not None, timeout=120,
                 what="platform up")
        assert runner.poll() is None, log_path.read_text()
        assert "/admin/notifications/outboundemail/mailbox/" in log_path.read_text()
        mail = wait_for(lambda: list(read_mailbox(data_dir / "mail")), timeout=60,
                        what=f"the welcome email in the sink\n{log_path.read_text()[-3000:]}")
        [(path, message)] = mail
        assert message["To"] == "admin@flowcast.localhost"
        assert message["Subject"] == "Welcome to Flowcast: please confirm your email address"
        listing = subprocess.run([sys.executable, "manage.py", "mailbox"], cwd=ROOT, capture_output=True, text=True,
                                 env={**env, "DEBUG": "1"})
        assert "admin@flowcast.localhost" in listing.stdout and "Welcome to Flowcast" in listing.stdout
    finally:
        runner.send_signal(signal.SIGINT)
        try:
            runner.wait(timeout=60)
        except subprocess.TimeoutExpired:
            runner.kill()
