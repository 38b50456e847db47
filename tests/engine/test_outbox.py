"""The outbox (发件箱): e-mail over a real SMTP server on 127.0.0.1, SMS through the gateway, on both databases."""
from __future__ import annotations

import collections
import email
import email.policy
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller

from engine import outbox, scheduler
from engine.clock import parse_instant
from engine.context import Actor, run_command
from engine.errors import PermissionDenied, ValidationError
from engine.models import Notification, OutboxMessage, User
from engine.notify import notify_user
from tests.conftest import read

T0 = "2026-03-02T01:00:00+00:00"
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps every message and refuses the addresses in ``refuse``."""

    def __init__(self):
        self.raw: list[bytes] = []
        self.refuse: dict[str, str] = {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.raw.append(envelope.content)
        return "250 Message accepted for delivery"

    def parsed(self) -> list[email.message.EmailMessage]:  # not a property: aiosmtpd inspects handler members
        return [email.message_from_bytes(raw, policy=email.policy.default) for raw in self.raw]


class RecordingGateway:
    """A stand-in SMS provider named through ``YIMEN_SMS_GATEWAY``."""

    sent: list[tuple[str, str]] = []

    def send_sms(self, phone: str, text: str) -> None:
        RecordingGateway.sent.append((phone, text))


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    """Nothing from the developer's environment leaks in; the clock is pinned."""
    for name in ("YIMEN_SMTP_HOST", "YIMEN_SMTP_PORT", "YIMEN_SMTP_USER", "YIMEN_SMTP_PASSWORD", "YIMEN_SMTP_STARTTLS",
                 "YIMEN_SMTP_SSL", "YIMEN_MAIL_FROM", "YIMEN_SMS_GATEWAY", "YIMEN_OUTBOX_MAX_ATTEMPTS",
                 "YIMEN_OUTBOX_BACKOFF_SECONDS", "YIMEN_OUTBOX_BACKOFF_CAP_SECONDS", "YIMEN_OUTBOX_LEASE_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("YIMEN_NOW", T0)
    monkeypatch.setenv("YIMEN_SMTP_TIMEOUT", "5")


@pytest.fixture
def mailbox(monkeypatch):
    handler = Mailbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("YIMEN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("YIMEN_SMTP_PORT", str(port))
    monkeypatch.setenv("YIMEN_MAIL_FROM", "一门政务服务 <noreply@yimen.test>")
    yield handler
    controller.stop()


@pytest.fixture
def case(yimen):
    """A running standard approval held by the window group: wang (e-mail and phone) and chen (e-mail)."""
    yimen.deploy([read("standard_approval.bpmn")])
    yimen.add_user("wang", groups=["window"], email="wang@yimen.test", phone="13800138000")
    yimen.add_user("chen", groups=["window"], email="chen@yimen.test")
    yimen.add_user("li", groups=["reviewer"])
    instance = yimen.start("standard_approval", {"applicant": "zhang"})["instance"]
    return yimen, instance


def _at(monkeypatch, moment: datetime) -> None:
    """Move the clock (``YIMEN_NOW`` rather than ``clock.pinned``, so dispatcher threads see it too)."""
    monkeypatch.setenv("YIMEN_NOW", moment.isoformat())


def _put(yimen, count: int, recipient: str = "wang@yimen.test") -> None:
    def fill(ctx):
        for n in range(count):
            outbox.enqueue(ctx, "email", recipient, f"通知 Notice {n}", f"第{n}号消息", user_id="wang")
    run_command(yimen.sessions, Actor.system(), fill)


def _by_recipient(yimen, channel: str) -> dict[str, dict]:
    return {m["recipient"]: m for m in yimen.outbox() if m["channel"] == channel}


def test_urge_sends_an_email_with_the_chinese_text_exactly_once(case, mailbox):
    """催办 enqueues e-mail for each holder with an address; dispatching twice still delivers once."""
    yimen, instance = case
    yimen.urge(instance, "请今天办理，谢谢")
    assert {(m["channel"], m["recipient"]) for m in yimen.outbox()} == {
        ("email", "wang@yimen.test"), ("email", "chen@yimen.test"), ("sms", "13800138000")}
    first = yimen.dispatch_outbox()
    assert (first["sent"], first["retried"], first["failed"], first["unconfigured"]) == (3, 0, 0, 0)
    assert yimen.dispatch_outbox()["sent"] == 0
    mails = {m["To"]: m for m in mailbox.parsed()}
    assert set(mails) == {"wang@yimen.test", "chen@yimen.test"} and len(mailbox.raw) == 2
    mail = mails["wang@yimen.test"]
    assert mail["Subject"].startswith("催办：办件")
    assert mail.get_content().strip() == "请今天办理，谢谢"
    assert mail["From"].addresses[0].display_name == "一门政务服务"
    assert b"=?utf-8?" in mailbox.raw[0]  # the headers went out RFC 2047-encoded, not as raw bytes
    rows = _by_recipient(yimen, "email")
    assert mail["X-Yimen-Outbox-Id"] == str(rows["wang@yimen.test"]["id"])
    assert {r["status"] for r in yimen.outbox()} == {"sent"}
    assert rows["wang@yimen.test"]["attempts"] == 1 and rows["wang@yimen.test"]["sent"] is not None


def test_dispatching_later_does_not_send_a_sent_message_again(case, mailbox, monkeypatch):
    """A sent row is never due again, however late the next dispatch runs."""
    yimen, instance = case
    yimen.urge(instance)
    yimen.dispatch_outbox()
    _at(monkeypatch, parse_instant(T0) + timedelta(days=3))
    assert yimen.dispatch_outbox()["sent"] == 0
    assert len(mailbox.raw) == 2


def test_urge_refused_for_an_outsider_leaves_no_outbox_row(case, mailbox):
    """A rolled-back command (permission denied) writes no outbox row and nothing is sent."""
    yimen, instance = case
    with pytest.raises(PermissionDenied):
        yimen.urge(instance, "hurry", user="li")
    assert yimen.outbox() == []
    assert yimen.dispatch_outbox()["sent"] == 0 and mailbox.raw == []


def test_command_failing_after_notify_rolls_the_outbox_back(case, mailbox):
    """The outbox row shares the command's transaction: an error after notify_user discards it."""
    yimen, _ = case

    def notify_then_fail(ctx):
        notify_user(ctx, "wang", "审批结果 Result", "已批准")
        raise RuntimeError("boom after notify")

    with pytest.raises(RuntimeError):
        run_command(yimen.sessions, Actor.system(), notify_then_fail)
    assert yimen.outbox() == [] and yimen.notifications("wang") == []
    assert yimen.dispatch_outbox()["sent"] == 0 and mailbox.raw == []


def test_smtp_server_down_retries_with_backoff_then_fails(yimen, monkeypatch):
    """Connection refused: 1, 2, 4 ... minutes apart (capped at an hour), failed after the 8th attempt."""
    monkeypatch.setenv("YIMEN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("YIMEN_SMTP_PORT", str(_free_port()))  # nobody listens there
    _put(yimen, 1)
    now = parse_instant(T0)
    waits = []
    for attempt in range(1, 9):
        result = yimen.dispatch_outbox()
        (row,) = yimen.outbox()
        assert row["attempts"] == attempt and "ConnectionRefusedError" in row["last_error"]
        if attempt < 8:
            assert result["retried"] == 1 and row["status"] == "pending"
            assert yimen.dispatch_outbox()["retried"] == 0  # not due again before the backoff has passed
            due = parse_instant(row["next_attempt"])
            waits.append(int((due - now).total_seconds() // 60))
            now = due
            _at(monkeypatch, now - timedelta(seconds=1))
            assert yimen.dispatch_outbox()["retried"] == 0
            _at(monkeypatch, now)
        else:
            assert result["failed"] == 1 and row["status"] == "failed"
            assert result["errors"][0]["final"] is True
    assert waits == [1, 2, 4, 8, 16, 32, 60]
    _at(monkeypatch, now + timedelta(days=30))
    assert yimen.dispatch_outbox() == {"sent": 0, "retried": 0, "failed": 0, "unconfigured": 0}


def test_max_attempts_is_configurable(yimen, monkeypatch):
    """YIMEN_OUTBOX_MAX_ATTEMPTS=1 gives up after the first failure."""
    monkeypatch.setenv("YIMEN_OUTBOX_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("YIMEN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("YIMEN_SMTP_PORT", str(_free_port()))
    _put(yimen, 1)
    assert yimen.dispatch_outbox()["failed"] == 1
    assert yimen.outbox(status="failed")[0]["attempts"] == 1


@pytest.mark.parametrize("reply, status", [("550 5.1.1 No such mailbox", "failed"),
                                           ("450 4.2.1 Mailbox busy, try later", "pending")])
def test_smtp_recipient_refusal_counts_as_a_failure(yimen, mailbox, reply, status):
    """550 is permanent (failed at once, no retries burned); 450 is temporary (retried)."""
    mailbox.refuse["ghost@yimen.test"] = reply
    _put(yimen, 1, recipient="ghost@yimen.test")
    result = yimen.dispatch_outbox()
    (row,) = yimen.outbox()
    assert row["status"] == status and row["attempts"] == 1 and reply[:3] in row["last_error"]
    assert (result["failed"], result["retried"]) == ((1, 0) if status == "failed" else (0, 1))
    assert mailbox.raw == []


def test_sms_goes_through_the_logging_gateway(case, caplog):
    """Without a gateway configured, an SMS is written to the yimen.sms log, the number masked."""
    yimen, instance = case
    caplog.set_level(logging.INFO, logger="yimen.sms")
    yimen.urge(instance, "请今天办理")
    result = yimen.dispatch_outbox()
    assert result["sent"] == 1
    (line,) = [r.getMessage() for r in caplog.records if r.name == "yimen.sms"]
    assert "138****8000" in line and "13800138000" not in line and "请今天办理" in line
    assert _by_recipient(yimen, "sms")["13800138000"]["status"] == "sent"


def test_sms_gateway_is_chosen_by_environment(case, monkeypatch):
    """YIMEN_SMS_GATEWAY=module:Class plugs in a provider; a broken name is reported and spends no attempt."""
    yimen, instance = case
    monkeypatch.setenv("YIMEN_SMS_GATEWAY", "no_such_module_here:Gateway")
    yimen.urge(instance, "请今天办理")
    broken = yimen.dispatch_outbox()
    assert broken["errors"][0]["code"] == "channel_misconfigured" and broken["errors"][0]["channel"] == "sms"
    assert broken["unconfigured"] == 3  # e-mail is not configured either
    assert _by_recipient(yimen, "sms")["13800138000"]["attempts"] == 0
    RecordingGateway.sent.clear()
    monkeypatch.setenv("YIMEN_SMS_GATEWAY", f"{__name__}:RecordingGateway")
    assert yimen.dispatch_outbox()["sent"] == 1
    ((phone, text),) = RecordingGateway.sent
    assert phone == "13800138000" and text.startswith("催办：办件") and text.endswith("\n请今天办理")


def test_email_without_smtp_configuration_stays_pending(case, mailbox, monkeypatch):
    """No YIMEN_SMTP_HOST: e-mail rows are reported as unconfigured, untouched, and go out once configured."""
    yimen, instance = case
    monkeypatch.delenv("YIMEN_SMTP_HOST")  # the server runs; only its configuration is missing
    yimen.urge(instance)
    result = yimen.dispatch_outbox()
    assert (result["sent"], result["unconfigured"]) == (1, 2)  # the SMS went; two e-mails wait
    assert all(r["status"] == "pending" and r["attempts"] == 0 for r in _by_recipient(yimen, "email").values())
    monkeypatch.setenv("YIMEN_SMTP_HOST", "127.0.0.1")
    result = yimen.dispatch_outbox()
    assert (result["sent"], result["unconfigured"]) == (2, 0)
    assert len(mailbox.raw) == 2


class _Crash(BaseException):
    """Stands for the dispatcher process dying in the middle of a send."""


class _CrashingChannel:
    def send(self, message):
        raise _Crash()


def test_a_crashed_dispatchers_lease_expires_and_the_message_is_sent(yimen, mailbox, monkeypatch):
    """While the lease holds nobody else sends the claimed message; after it expires it goes out."""
    _put(yimen, 1)
    with pytest.raises(_Crash):
        outbox.dispatch_due(yimen.sessions, channels={"email": _CrashingChannel()})
    assert yimen.dispatch_outbox() == {"sent": 0, "retried": 0, "failed": 0, "unconfigured": 0}
    _at(monkeypatch, parse_instant(T0) + timedelta(minutes=5))
    assert yimen.dispatch_outbox()["sent"] == 1
    (row,) = yimen.outbox()
    assert row["attempts"] == 2 and row["status"] == "sent" and len(mailbox.raw) == 1


def test_a_slow_server_makes_the_dispatcher_hand_back_the_rest_of_its_batch(yimen, monkeypatch, caplog):
    """Past half the lease no new send starts; the rest is released (no attempt spent) and claimed afresh."""
    seconds = [0.0]

    class SlowChannel:
        sent: list[int] = []

        def send(self, message):
            seconds[0] += 200  # longer than half the 300 s lease
            self.sent.append(message.id)

    monkeypatch.setattr(outbox, "time", SimpleNamespace(monotonic=lambda: seconds[0]))
    _put(yimen, 3)
    caplog.set_level(logging.INFO, logger="yimen.outbox")
    result = outbox.dispatch_due(yimen.sessions, limit=3, channels={"email": SlowChannel()})
    assert [r.getMessage() for r in caplog.records if r.name == "yimen.outbox"] == [
        "outbox: half the lease used; 2 claimed messages handed back",
        "outbox: half the lease used; 1 claimed messages handed back"]
    assert result["sent"] == 3 and sorted(SlowChannel.sent) == [1, 2, 3]
    assert [(r["status"], r["attempts"]) for r in yimen.outbox()] == [("sent", 1)] * 3


def test_concurrent_dispatchers_send_each_message_exactly_once(yimen, mailbox):
    """Four dispatchers racing over 300 messages: every message reaches the server once."""
    _put(yimen, 300)
    barrier = threading.Barrier(4)
    results, failures = [], []

    def dispatcher():
        try:
            barrier.wait()
            results.append(outbox.dispatch_due(yimen.sessions, limit=7))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert failures == [] and len(results) == 4
    assert sum(r["sent"] for r in results) == 300 and all(r["errors"] == [] for r in results)
    counts = collections.Counter(m["X-Yimen-Outbox-Id"] for m in mailbox.parsed())
    assert len(counts) == 300 and set(counts.values()) == {1}
    assert {r["status"] for r in yimen.outbox(limit=1000)} == {"sent"}


def test_notify_user_channels_and_inactive_users(case):
    """channels= picks the ways to reach someone; an inactive user gets no e-mail or SMS."""
    yimen, _ = case

    def only_email(ctx):
        assert notify_user(ctx, "wang", "主题", "正文", channels=("email",)) is None
    run_command(yimen.sessions, Actor.system(), only_email)
    assert [m["channel"] for m in yimen.outbox()] == ["email"] and yimen.notifications("wang") == []
    with pytest.raises(ValidationError):
        run_command(yimen.sessions, Actor.system(), lambda ctx: notify_user(ctx, "wang", "s", "b", channels=("fax",)))
    with yimen.session() as s:
        s.get(User, "chen").active = False
        s.commit()
    run_command(yimen.sessions, Actor.system(), lambda ctx: notify_user(ctx, "chen", "s", "b", {"k": 1}, 7))
    assert [m["user"] for m in yimen.outbox()] == ["wang"]
    assert yimen.notifications("chen")[0]["instance"] == 7
    run_command(yimen.sessions, Actor.system(), lambda ctx: notify_user(ctx, "wang", "s", "b", {"k": 1}, 7))
    assert yimen.outbox()[0]["payload"] == {"k": 1, "instance": 7}
    with yimen.session() as s:
        assert s.query(Notification).count() == 2 and s.query(OutboxMessage).count() == 3


def test_outbox_listing_and_cli(case, mailbox, database_url):
    """``yimen outbox list`` and ``yimen outbox dispatch`` print JSON; an unknown status is invalid_input."""
    yimen, instance = case
    yimen.urge(instance)

    def cli(*args):
        proc = subprocess.run([sys.executable, "-m", "engine.cli", *args, "--database-url", database_url, "--json"],
                              capture_output=True, text=True, env=dict(os.environ), cwd=ROOT, timeout=120)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        return json.loads(proc.stdout.strip().splitlines()[-1])

    assert len(cli("outbox", "list", "--status", "pending")) == 3
    assert cli("outbox", "dispatch", "--until", T0)["sent"] == 3
    assert cli("outbox", "list", "--status", "pending") == []
    assert {m["status"] for m in cli("outbox", "list")} == {"sent"}
    with pytest.raises(ValidationError):
        yimen.outbox(status="bogus")
    with pytest.raises(ValidationError):
        run_command(yimen.sessions, Actor.system(), lambda ctx: outbox.enqueue(ctx, "fax", "x", "s", "b"))


def test_scheduler_runs_the_outbox_dispatch(yimen):
    """The periodic jobs include the outbox dispatcher."""
    jobs = scheduler.build(yimen.sessions)
    assert jobs.get_job("dispatch_outbox") is not None
