"""Forward unresolved recipients to host (gwSmtpForwardUnresolvedToHost) end to
end: a private directory with the sample organization (slapd or Samba AD), a
metabase written by the real metabase-sync, a real gatewayd. With the setting on
the Default SMTP Virtual Server an unknown user of the authoritative domain
example.com is accepted at RCPT time, categorized REMOTE and delivered to that
host (a small SMTP sink on loopback); without it the same RCPT is refused 550
5.1.1."""

import socketserver
import sys
import threading
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "directory"))

from directory_gateway import BH1, DirectoryGateway  # noqa: E402
from gatewayd_fixture import wait_until  # noqa: E402

VIRTUAL_SERVER_1 = f"CN=1,CN=SMTP,CN=Protocols,{BH1}"


class SmtpSink(socketserver.ThreadingTCPServer):
    """The forward-unresolved host: accepts every message and records its RCPT TO addresses."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SmtpSinkSession)
        self.recipients = []
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self):
        return self.server_address[1]

    def received(self):
        with self.lock:
            return list(self.recipients)


class SmtpSinkSession(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 sink.example.net ESMTP")
        pending = []
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.reply("250 sink.example.net")
            elif verb == b"MAIL":
                pending = []
                self.reply("250 2.1.0 ok")
            elif verb == b"RCPT":
                pending.append(line.decode().split(":", 1)[1].strip().strip("<>").split(">")[0])
                self.reply("250 2.1.5 ok")
            elif verb == b"DATA":
                self.reply("354 go ahead")
                while (body_line := self.rfile.readline()) and body_line != b".\r\n":
                    pass
                with self.server.lock:
                    self.server.recipients.extend(pending)
                self.reply("250 2.0.0 queued")
            elif verb == b"QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("250 2.0.0 ok")


def recipient_block(envelope_text, address):
    """The text of the `recipients { ... }` block whose address is `address` ("" if none)."""
    lines = envelope_text.splitlines()
    for start, line in enumerate(lines):
        if line.strip() != "recipients {":
            continue
        depth, end = 0, start
        for end in range(start, len(lines)):
            depth += lines[end].count("{") - lines[end].count("}")
            if depth == 0:
                break
        block = "\n".join(lines[start:end + 1])
        if f'  address: "{address}"' in block:
            return block
    return ""


class ForwardUnresolvedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = DirectoryGateway()
        try:
            # A host that is not one of the gateway's own listeners (that would be 5.3.5).
            cls.sink = SmtpSink()
            cls.forward_host = f"[127.0.0.1]:{cls.sink.port}"
            cls.set_forward_host(cls.forward_host)
            cls.env.wait_for_rcpt("nobody@example.com", 250)
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.env.close()
        cls.sink.shutdown()
        cls.sink.server_close()

    @classmethod
    def set_forward_host(cls, host):
        change = f"replace: gwSmtpForwardUnresolvedToHost\ngwSmtpForwardUnresolvedToHost: {host}\n" if host \
            else "delete: gwSmtpForwardUnresolvedToHost\n"
        cls.env.directory.modify(f"dn: {VIRTUAL_SERVER_1}\nchangetype: modify\n{change}-\n")
        cls.env.sync_metabase()

    def test_unknown_user_of_authoritative_domain_is_accepted_with_the_setting(self):
        code, text = self.env.rcpt("nobody@example.com")
        self.assertEqual(code, 250, text)

    def test_known_user_is_still_resolved_normally_with_the_setting(self):
        self.assertEqual(self.env.rcpt("alice@example.com")[0], 250)

    def test_queued_unknown_user_is_delivered_to_the_forward_host(self):
        queue_id = self.env.send(["nobody@example.com", "alice@example.com"])
        seen = {"envelope": ""}

        def categorized_and_waiting():
            # The envelope is gone once the delivery stage has finished with every recipient.
            try:
                seen["envelope"] = self.env.envelope_text(queue_id)
            except FileNotFoundError:
                return False
            return "queue: WAITING_TO_BE_ROUTED" in seen["envelope"] and \
                "kind: REMOTE" in recipient_block(seen["envelope"], "nobody@example.com")

        # With the delivery stage the router sends the unknown user to the virtual server's
        # forward host, where it arrives; a gatewayd that only categorizes leaves the message
        # waiting to be routed, stamped as the router expects.
        wait_until(lambda: "nobody@example.com" in self.sink.received() or categorized_and_waiting(), 60,
                   "delivery to the forward host or categorization")
        if "nobody@example.com" in self.sink.received():
            self.assertNotIn("alice@example.com", self.sink.received())
            return
        unknown = recipient_block(seen["envelope"], "nobody@example.com")
        self.assertIn('virtual_server_id: "1"', seen["envelope"])
        self.assertIn("state: RESOLVED", unknown)
        self.assertNotIn("object_dn", unknown)
        self.assertNotIn("primary_address", unknown)
        self.assertIn("kind: MAILBOX", recipient_block(seen["envelope"], "alice@example.com"))

    def test_without_the_setting_the_unknown_user_is_refused_550_5_1_1(self):
        try:
            self.set_forward_host(None)
            code, text = self.env.wait_for_rcpt("nobody@example.com", 550)
            self.assertTrue(text.startswith("5.1.1"), text)
        finally:
            self.set_forward_host(self.forward_host)
            self.env.wait_for_rcpt("nobody@example.com", 250)


if __name__ == "__main__":
    unittest.main()
