"""gatewayctl against a real gatewayd: a private slapd with the sample
organization, a metabase from the real metabase-sync, both mailbox servers'
delivery endpoints pointed at a closed loopback port (so delivery fails with a
4xx and the message waits in its queue), and the control socket in the spool.
Environment (set by CMake): GATEWAYD, GATEWAYCTL, METABASE_SYNC, PROTO_DIR."""

import json
import os
import re
import smtplib
import socket
import sys
import threading
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fixtures"))
sys.path.insert(0, str(HERE.parent / "gateway"))
sys.path.insert(0, str(HERE.parent / "directory"))

from directory_gateway import BH1, DirectoryGateway  # noqa: E402
from gatewayd_fixture import free_port, wait_until  # noqa: E402
import sanitizer  # noqa: E402

GATEWAYCTL = os.environ.get("GATEWAYCTL", "gatewayctl")
MBX1 = BH1.replace("CN=BH1,", "CN=MBX1,", 1)


class SlowRefusingServer:
    """A mailbox server that answers each connection only after `delay`
    seconds, and then with 421: a delivery attempt that is in flight for a
    while and ends in a retry."""

    def __init__(self, delay):
        self.delay = delay
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        time.sleep(self.delay)
        try:
            conn.sendall(b"421 4.3.2 mailbox server busy, try later\r\n")
        except OSError:
            pass
        conn.close()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class GatewayctlFixture(unittest.TestCase):
    """A gateway whose mailbox servers' delivery endpoint is mailbox_port()."""

    @classmethod
    def mailbox_port(cls):
        return free_port()  # nothing listens here: delivery gets 4.4.1

    @classmethod
    def setUpClass(cls):
        cls.unreachable = cls.mailbox_port()
        cls.env = DirectoryGateway(extra_ldif=f"""dn: {BH1}
changetype: modify
replace: gwDeliveryEndpoint
gwDeliveryEndpoint: 127.0.0.1:{cls.unreachable}
-

dn: {MBX1}
changetype: modify
replace: gwDeliveryEndpoint
gwDeliveryEndpoint: 127.0.0.1:{cls.unreachable}
-
""")
        cls.directory, cls.gateway, cls.port = cls.env.directory, cls.env.gateway, cls.env.port
        try:
            cls.socket = os.path.join(cls.gateway.spool, "control.sock")
            wait_until(lambda: os.path.exists(cls.socket), 10, "the control socket")
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def tearDown(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is not None and any(t is self for t, _ in result.failures + result.errors):
            print("---- gatewayd log ----\n" + self.gateway.log_text()[-6000:])

    # ---- helpers ----
    def ctl(self, *args, json_output=False):
        argv = [GATEWAYCTL, "--socket", self.socket] + (["--json"] if json_output else []) + list(args)
        return sanitizer.run(argv, text=True, timeout=60)

    def ctl_json(self, *args):
        result = self.ctl(*args, json_output=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def send(self, sender, recipient):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
            client.ehlo("client.example.net")
            client.mail(sender)
            code, text = client.rcpt(recipient)
            self.assertEqual(code, 250, text)
            code, text = client.data(b"Subject: held for the administrator\r\n\r\nhello\r\n")
            self.assertEqual(code, 250, text)
            return re.search(r"<([0-9A-F]{24})>", text.decode()).group(1)

    def recipient(self, queue_id):
        return self.ctl_json("show", queue_id)["message"]["recipients"][0]

    def wait_for_retry(self, queue_id, attempts_above=0):
        """Waits until the delivery stage has tried and deferred the message."""
        def deferred():
            result = self.ctl("show", queue_id, json_output=True)
            if result.returncode != 0:
                return False
            rcpt = json.loads(result.stdout)["message"]["recipients"][0]
            return rcpt["state"] == "retry" and rcpt["attempts"] > attempts_above
        wait_until(deferred, 60, f"{queue_id} deferred after attempt {attempts_above + 1}")
        return self.recipient(queue_id)


class GatewayctlTest(GatewayctlFixture):

    def test_undeliverable_message_is_listed_shown_frozen_thawed_and_deleted_with_an_ndr(self):
        queue_id = self.send("alice@example.com", "bob@example.com")
        rcpt = self.wait_for_retry(queue_id)
        self.assertEqual(rcpt["address"], "bob@example.com")
        self.assertTrue(rcpt["status"].startswith("4."), rcpt)
        # Bob's mailbox is on this server (BH1): the Local delivery queue.
        queue_name = self.ctl_json("show", queue_id)["message"]["queue"]
        self.assertEqual(queue_name, "local-delivery")

        # queues: the message's queue with its count.
        queues = self.ctl_json("queues")["queues"]
        holding = [q for q in queues if q["queue"] == queue_name and q["next_hop"] == rcpt["next_hop"]]
        self.assertEqual(len(holding), 1, queues)
        self.assertEqual(holding[0]["messages"], 1)
        self.assertFalse(holding[0]["frozen"])
        table = self.ctl("queues")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertRegex(table.stdout, re.escape(holding[0]["name"]) + r" +1\n")

        # list: the message in its queue, by enum name and by display name.
        listed = self.ctl_json("list", queue_name)["messages"]
        self.assertEqual([m["id"] for m in listed], [queue_id])
        self.assertEqual(listed[0]["sender"], "alice@example.com")
        by_display_name = self.ctl("list", holding[0]["name"])
        self.assertEqual(by_display_name.returncode, 0, by_display_name.stderr)
        self.assertIn(queue_id, by_display_name.stdout)

        # show: message properties.
        message = self.ctl_json("show", queue_id)["message"]
        self.assertEqual(message["sender"], "alice@example.com")
        self.assertEqual(message["helo"], "client.example.net")
        self.assertTrue(message["client"].startswith("127.0.0.1:"), message)
        self.assertEqual(message["auth"], "")
        self.assertFalse(message["frozen"])
        shown = self.ctl("show", queue_id)
        self.assertRegex(shown.stdout, r"\nSender: +<alice@example\.com>\n")
        # Its one recipient waits for the next attempt: the queue viewer says "retry".
        self.assertRegex(shown.stdout, r"\nState: +retry\n")

        # freeze: show says frozen, and retry does not attempt it.
        frozen = self.ctl("freeze", queue_id)
        self.assertEqual(frozen.returncode, 0, frozen.stderr)
        self.assertEqual(frozen.stdout, f"Message {queue_id} frozen.\n")
        self.assertTrue(self.ctl_json("show", queue_id)["message"]["frozen"])
        self.assertRegex(self.ctl("show", queue_id).stdout, r"\nState: +frozen \(4\.3\.2\)\n")
        attempts = self.recipient(queue_id)["attempts"]
        self.assertEqual(self.ctl("retry", queue_id).returncode, 0)
        time.sleep(2)  # a refused connection would be recorded well within this
        self.assertEqual(self.recipient(queue_id)["attempts"], attempts)

        # thaw: retry attempts it again (and it is deferred again).
        self.assertEqual(self.ctl("thaw", queue_id).returncode, 0)
        self.assertFalse(self.ctl_json("show", queue_id)["message"]["frozen"])
        self.assertEqual(self.ctl("retry", queue_id).returncode, 0)
        self.wait_for_retry(queue_id, attempts_above=attempts)

        # delete --ndr: the message is gone and a report to the sender is queued.
        before = set(self.gateway.queued_ids())
        deleted = self.ctl("delete", "--ndr", queue_id)
        self.assertEqual(deleted.returncode, 0, deleted.stderr)
        self.assertNotIn(queue_id, self.gateway.queued_ids())
        gone = self.ctl("show", queue_id)
        self.assertEqual(gone.returncode, 3)
        self.assertEqual(gone.stderr, f"gatewayctl: no message {queue_id} in the queue\n")
        reports = [i for i in set(self.gateway.queued_ids()) - before]
        self.assertEqual(len(reports), 1, reports)
        report = self.gateway.envelope(reports[0])
        self.assertIn('address: "alice@example.com"', report)
        self.assertNotIn("sender:", report)  # the null reverse-path
        self.assertIn(queue_id, self.gateway.body(reports[0]).decode(errors="replace"))

    def test_a_frozen_queue_stays_frozen_after_a_restart(self):
        frozen = self.ctl("freeze-queue", "remote-delivery", "partner.example")
        self.assertEqual(frozen.returncode, 0, frozen.stderr)
        self.gateway.stop()
        self.gateway.start(wait=[("127.0.0.1", self.port)])
        wait_until(lambda: self.ctl("queues").returncode == 0, 10, "the control socket after the restart")
        queues = self.ctl_json("queues")["queues"]
        partner = [q for q in queues if (q["queue"], q["next_hop"]) == ("remote-delivery", "partner.example")]
        self.assertEqual(len(partner), 1, queues)
        self.assertTrue(partner[0]["frozen"])
        self.assertEqual(self.ctl("thaw-queue", "remote-delivery", "partner.example").returncode, 0)
        self.assertFalse(any(q["frozen"] for q in self.ctl_json("queues")["queues"]))

    def test_socket_is_private_to_the_gateway_account(self):
        self.assertEqual(os.stat(self.socket).st_mode & 0o777, 0o600)

    def test_unknown_queue_id_is_exit_3_with_the_reason_on_stderr(self):
        result = self.ctl("freeze", "0" * 24)
        self.assertEqual(result.returncode, 3)
        self.assertEqual(result.stderr, f"gatewayctl: no message {'0' * 24} in the queue\n")
        self.assertEqual(result.stdout, "")

    def test_malformed_queue_id_is_a_usage_error_exit_1(self):
        result = self.ctl("show", "12345")
        self.assertEqual(result.returncode, 1)
        self.assertIn("is not a queue id", result.stderr)

    def test_no_gateway_on_the_socket_is_exit_2(self):
        result = sanitizer.run([GATEWAYCTL, "--spool", str(self.directory.directory), "queues"],
                               text=True, timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertIn("cannot connect to the control socket", result.stderr)


class AdminChangeDuringDelivery(GatewayctlFixture):
    """The mailbox server takes 3 s to answer (421): an admin change made while
    the attempt is in flight is applied after it, not overwritten by it."""

    @classmethod
    def mailbox_port(cls):
        cls.server = SlowRefusingServer(delay=3)
        return cls.server.port

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.server.close()

    def test_a_freeze_during_a_delivery_attempt_outlasts_the_attempt(self):
        queue_id = self.send("alice@example.com", "bob@example.com")
        wait_until(lambda: self.server.connections >= 1, 30, "the delivery attempt to start")
        frozen = self.ctl("freeze", queue_id)
        self.assertEqual(frozen.returncode, 0, frozen.stderr)
        message = self.ctl_json("show", queue_id)["message"]
        self.assertEqual(message["recipients"][0]["state"], "retry")  # the attempt ended first (421)
        self.assertTrue(message["frozen"])
        connections = self.server.connections
        self.assertEqual(self.ctl("retry", queue_id).returncode, 0)
        time.sleep(2)
        self.assertEqual(self.server.connections, connections)  # frozen: not attempted
        self.assertTrue(self.ctl_json("show", queue_id)["message"]["frozen"])
        self.assertEqual(self.ctl("delete", queue_id).returncode, 0)


if __name__ == "__main__":
    unittest.main()
