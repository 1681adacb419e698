"""A local SMTP server that keeps what it receives: `make run`'s sink and the tests' server.

Plain Python over aiosmtpd; no Django models. Messages are kept in memory and,
when a folder is given, written there as `.eml` files (atomically, so a reader
never sees half a message).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

from integrations.localnet import free_port


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    path: Path | None = None

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


class RecordingHandler:
    """aiosmtpd handler that records every message.

    `reply_with` lets a test make the server answer DATA with an error (e.g.
    "451 4.3.0 Try again later" or "550 5.1.1 No such user") for the next N
    messages, to exercise a sender's retry rules on a real SMTP conversation.
    """

    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory) if directory else None
        if self.directory:
            self.directory.mkdir(parents=True, exist_ok=True)
        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._scripted_replies: list[str] = []
        self._data_delays: list[float] = []
        self._mail_holds: dict[int, float] = {}
        self.mail_commands = 0
        self.holding = False
        self.sessions = 0

    def reply_with(self, reply: str, times: int = 1) -> None:
        with self._lock:
            self._scripted_replies.extend([reply] * times)

    def delay_data(self, seconds: float, times: int = 1) -> None:
        """Record the next N messages, then hold their 250 reply for `seconds`: a sender
        killed meanwhile never learns that the server has the message."""
        with self._lock:
            self._data_delays.extend([seconds] * times)

    def hold_mail(self, seconds: float, *, at: int) -> None:
        """Hold the reply to the `at`-th MAIL FROM (counted since `clear`) for `seconds`: a sender
        killed meanwhile is mid-batch, with nothing of that message accepted yet."""
        with self._lock:
            self._mail_holds[at] = seconds

    @property
    def pending_replies(self) -> int:
        with self._lock:
            return len(self._scripted_replies)

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self._scripted_replies.clear()
            self._data_delays.clear()
            self._mail_holds.clear()
            self.mail_commands = 0
            self.holding = False
            self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self._lock:
            self.sessions += 1
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self._lock:
            self.mail_commands += 1
            hold = self._mail_holds.pop(self.mail_commands, 0)
            self.holding = bool(hold)
        if hold:
            await asyncio.sleep(hold)
            self.holding = False
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            if self._scripted_replies:
                return self._scripted_replies.pop(0)
            delay = self._data_delays.pop(0) if self._data_delays else 0
        path = self._store(envelope.content) if self.directory else None
        mail = ReceivedMail(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=envelope.content,
            path=path,
        )
        with self._lock:
            self.messages.append(mail)
        if delay:
            # Kept already; only the 250 is late (a sender killed now never learns it was accepted).
            await asyncio.sleep(delay)
        return "250 Message accepted for delivery"

    def _store(self, data: bytes) -> Path:
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(data)
        final = self.directory / name
        os.replace(partial, final)
        return final


def start_smtp_server(handler: RecordingHandler, *, host: str = "127.0.0.1", port: int | None = None) -> Controller:
    """Start a threaded SMTP server; `port=None` picks a free one.

    aiosmtpd's Controller cannot take port 0 (it connects to `.port` to check
    itself), so a free port is found first.
    """
    controller = Controller(handler, hostname=host, port=port or free_port(host), ready_timeout=10)
    controller.start()
    return controller


def read_mailbox(directory: Path) -> Iterator[tuple[Path, EmailMessage]]:
    """Messages stored by the sink, newest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("*.eml"), reverse=True):
        with path.open("rb") as handle:
            yield path, email.message_from_binary_file(handle, policy=email.policy.default)
