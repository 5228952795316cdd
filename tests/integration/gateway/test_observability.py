"""What an administrator sees of a running gatewayd: the event stream's
sinks (application log, tracking log) after a known sequence of SMTP
transactions, `gatewayctl track` over the tracking files, log reopening on
SIGHUP, and the command lines' --version and usage errors.

No directory is configured: accepted messages wait in "Messages awaiting
directory lookup"."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest
from pathlib import Path

from gatewayd_fixture import GATEWAYD, GatewayTestCase, RawSmtp, wait_until

GATEWAYCTL = os.environ.get("GATEWAYCTL", "gatewayctl")


class Observability(GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.tracking = os.path.join(self.gateway.spool, "tracking")

    def send(self, sender, recipients, message_id, utf8=False):
        """One transaction; returns the RCPT replies and the queue id (None when nothing was accepted)."""
        client = RawSmtp("127.0.0.1", self.port)
        client.reply()
        client.command("EHLO client.example.net")
        code, _ = client.command(f"MAIL FROM:<{sender}>" + (" SMTPUTF8" if utf8 else ""))
        assert code == 250, code
        replies = [client.command(f"RCPT TO:<{rcpt}>") for rcpt in recipients]
        queue_id = None
        if any(code == 250 for code, _ in replies):
            self.assertEqual(client.command("DATA")[0], 354)
            client.send(f"Message-ID: {message_id}\r\nSubject: observed\r\n\r\nbody\r\n.\r\n".encode())
            code, text = client.reply()
            self.assertEqual(code, 250, text)
            queue_id = re.search(r"<([0-9A-F]{24})>", text).group(1)
        client.command("QUIT")
        client.close()
        return replies, queue_id

    def known_sequence(self):
        """Two accepted messages (three recipients) and one recipient refused for relaying."""
        replies, first = self.send("alice@example.net", ["bob@example.com", "nobody@elsewhere.example"],
                                   "<one@client.example>")
        self.assertEqual(replies[1], (550, "5.7.1 Unable to relay"))
        _, second = self.send("carol@example.net", ["dave@example.com", "erin@example.com"], "<two@client.example>")
        return first, second

    def tracking_lines(self):
        wait_until(lambda: os.path.isdir(self.tracking) and os.listdir(self.tracking), what="a tracking file")
        text = ""
        for name in sorted(os.listdir(self.tracking)):
            with open(os.path.join(self.tracking, name), encoding="utf-8") as f:
                text += f.read()
        return text

    def gatewayctl(self, *args):
        return subprocess.run([GATEWAYCTL, "--spool", self.gateway.spool, *args], capture_output=True, text=True,
                              timeout=30)

    # --- the event stream's sinks ---------------------------------------------------

    def test_rcpt_rejects_are_in_the_application_log_with_reason_and_utf8_addresses(self):
        replies, _ = self.send("jörg@example.net", ["grüße@elsewhere.example"], "<u@x>", utf8=True)
        self.assertEqual(replies[0][0], 550)
        self.gateway.wait_for_log("rcpt-rejected")
        line = next(l for l in self.gateway.log_text().splitlines() if "rcpt-rejected" in l)
        self.assertIn("to=<grüße@elsewhere.example>", line)
        self.assertIn("from=<jörg@example.net>", line)
        self.assertIn('status="550 5.7.1"', line)
        self.assertIn("Unable to relay", line)
        # The time carries its UTC offset.
        self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d ")

    def test_the_tracking_log_has_one_line_per_event_with_message_id(self):
        first, second = self.known_sequence()
        wait_until(lambda: "categorize-deferred" in self.tracking_lines(), what="categorization to be put off")
        text = self.tracking_lines()
        self.assertTrue(text.startswith("#Software: mailgw gatewayd\n#Version: 1\n#Fields: date-time\tevent\t"))
        received = [l.split("\t") for l in text.splitlines() if "\treceived\t" in l]
        self.assertEqual([(r[2], r[3], r[4]) for r in received],
                         [(first, "<one@client.example>", "alice@example.net"),
                          (second, "<two@client.example>", "carol@example.net")])
        rejected = [l.split("\t") for l in text.splitlines() if "\trcpt-rejected\t" in l]
        self.assertEqual([(r[4], r[5], r[6]) for r in rejected],
                         [("alice@example.net", "nobody@elsewhere.example", "550 5.7.1")])

    def test_gatewayctl_track_follows_a_message_by_message_id(self):
        first, _ = self.known_sequence()
        wait_until(lambda: "categorize-deferred" in self.tracking_lines(), what="categorization to be put off")
        result = self.gatewayctl("track", "--message-id", "<one@client.example>", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        events = json.loads(result.stdout)["events"]
        self.assertEqual({e["queue_id"] for e in events}, {first})
        self.assertEqual(events[0]["event"], "received")
        self.assertEqual(events[0]["detail"]["recipients"], "bob@example.com")
        self.assertIn("categorize-deferred", [e["event"] for e in events])

    def test_gatewayctl_track_filters_by_sender_recipient_and_time(self):
        first, second = self.known_sequence()
        wait_until(lambda: self.tracking_lines().count("\treceived\t") == 2, what="two received lines")
        by_sender = json.loads(self.gatewayctl("track", "--from", "carol@example.net", "--json").stdout)["events"]
        self.assertEqual({e["queue_id"] for e in by_sender}, {second})
        by_recipient = json.loads(self.gatewayctl("track", "--to", "ERIN@example.com", "--json").stdout)["events"]
        self.assertEqual({e["queue_id"] for e in by_recipient}, {second})
        refused = self.gatewayctl("track", "--to", "nobody@elsewhere.example")
        self.assertEqual(refused.returncode, 0, refused.stderr)
        self.assertIn("rcpt-rejected", refused.stdout)
        self.assertIn("550 5.7.1", refused.stdout)
        future = json.loads(self.gatewayctl("track", "--since", "2100-01-01", "--json").stdout)
        self.assertEqual(future, {"events": []})
        bad = self.gatewayctl("track", "--since", "yesterday-ish")
        self.assertEqual(bad.returncode, 1)
        self.assertEqual(bad.stderr.count("gatewayctl:"), 1, bad.stderr)

    def test_sighup_reopens_the_tracking_file_after_a_rotation(self):
        self.send("alice@example.net", ["bob@example.com"], "<before@x>")
        wait_until(lambda: "<before@x>" in self.tracking_lines(), what="the first message tracked")
        [name] = [n for n in os.listdir(self.tracking) if n.startswith("tracking-") and n.endswith(".log")]
        os.rename(os.path.join(self.tracking, name), os.path.join(self.tracking, "rotated"))
        self.gateway.proc.send_signal(signal.SIGHUP)
        self.gateway.wait_for_log("SIGHUP")
        self.send("alice@example.net", ["bob@example.com"], "<after@x>")
        fresh = os.path.join(self.tracking, name)
        wait_until(lambda: os.path.exists(fresh) and "<after@x>" in Path(fresh).read_text(encoding="utf-8"),
                   what="the next message in a new file")
        with open(os.path.join(self.tracking, "rotated"), encoding="utf-8") as f:
            self.assertNotIn("<after@x>", f.read())


class CommandLines(unittest.TestCase):
    def run_program(self, *args):
        return subprocess.run(list(args), capture_output=True, text=True, timeout=30)

    def test_every_program_prints_its_version(self):
        for program, name in ((GATEWAYD, "gatewayd"), (GATEWAYCTL, "gatewayctl")):
            result = self.run_program(program, "--version")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertRegex(result.stdout.strip(), rf"^{name} \d+\.\d+\.\d+$")

    def test_gatewayd_usage_error_exits_1_with_one_message(self):
        result = self.run_program(GATEWAYD)
        self.assertEqual(result.returncode, 1)
        self.assertIn("--metabase", result.stderr)
        self.assertEqual(result.stderr.count("is required"), 1, result.stderr)

    def test_gatewayd_start_error_is_printed_once(self):
        directory = tempfile.mkdtemp(prefix="gatewayd-bad-")
        try:
            result = self.run_program(GATEWAYD, "--metabase", os.path.join(directory, "missing.pb"), "--spool",
                                      os.path.join(directory, "spool"))
            self.assertEqual(result.returncode, 1)
            self.assertEqual(result.stderr.count("missing.pb"), 1, result.stderr)
        finally:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
