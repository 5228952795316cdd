"""What an administrator sees of a running gatewayd: the event stream's three
sinks (application log, tracking log, /metrics) after a known sequence of SMTP
transactions, `gatewayctl track` over the tracking files, the HTTP endpoint
(/metrics, /healthz, the status page rendered by a real headless Chromium),
log reopening on SIGHUP, and the command lines' --version and usage errors.

No directory is configured: accepted messages wait in "Messages awaiting
directory lookup", which is what the metrics and the page must show."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request
from pathlib import Path

from gatewayd_fixture import (GATEWAYD, Gateway, GatewayTestCase, RawSmtp, free_port, metabase_text,
                              virtual_server, wait_until)

GATEWAYCTL = os.environ.get("GATEWAYCTL", "gatewayctl")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type"), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read().decode()


def metric(text, name, labels=""):
    """The value of one sample line `name{labels} value`, or None."""
    wanted = name + ("{" + labels + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.split(" ")[-1])
    return None


class Observability(GatewayTestCase):
    """A gateway with its HTTP endpoint on a free loopback port."""

    def setUp(self):
        self.http_port = free_port()
        self.gateway_args = ("--http", f"127.0.0.1:{self.http_port}")
        super().setUp()
        self.base = f"http://127.0.0.1:{self.http_port}"
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

    def test_metrics_count_a_known_sequence_of_messages(self):
        self.known_sequence()
        wait_until(lambda: metric(get(self.base + "/metrics")[2], "mailgw_queue_messages",
                                  'queue="Messages awaiting directory lookup",next_hop=""') == 2,
                   what="both messages in the queue gauge")
        status, content_type, text = get(self.base + "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(content_type.startswith("text/plain; version=0.0.4"), content_type)
        self.assertEqual(metric(text, "mailgw_messages_received_total", 'origin="smtp"'), 2)
        self.assertEqual(metric(text, "mailgw_recipients_rejected_total", 'code="550",status="5.7.1"'), 1)
        self.assertIn("# TYPE mailgw_messages_received_total counter", text)
        self.assertIn("# TYPE mailgw_queue_messages gauge", text)
        self.assertEqual(metric(text, "mailgw_metabase_serial"), 1)
        self.assertEqual(metric(text, "mailgw_virtual_servers", 'state="started"'), 1)
        # The fixture's readiness probe plus our two sessions, all closed now.
        self.assertGreaterEqual(metric(text, "mailgw_sessions_total", 'virtual_server="1"'), 3)
        wait_until(lambda: metric(get(self.base + "/metrics")[2], "mailgw_sessions_open") == 0, what="no open session")
        # No directory: categorization is put off, never bounced.
        self.assertGreaterEqual(metric(get(self.base + "/metrics")[2], "mailgw_categorization_deferred_total"), 1)

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

    # --- the HTTP endpoint ----------------------------------------------------------------

    def test_healthz_answers_ok_and_unknown_paths_404_and_posts_405(self):
        self.assertEqual(get(self.base + "/healthz")[::2], (200, "ok\n"))
        self.assertEqual(get(self.base + "/nothing-here")[0], 404)
        request = urllib.request.Request(self.base + "/metrics", data=b"x", method="POST")
        with self.assertRaises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=10)
        self.assertEqual(raised.exception.code, 405)

    @unittest.skipUnless(CHROMIUM, "chromium is installed by deploy/install-deps.sh")
    def test_the_status_page_renders_in_headless_chromium(self):
        self.known_sequence()
        wait_until(lambda: metric(get(self.base + "/metrics")[2], "mailgw_queue_messages",
                                  'queue="Messages awaiting directory lookup",next_hop=""') == 2,
                   what="both messages queued")
        profile = tempfile.mkdtemp(prefix="chromium-profile-")
        screenshot = os.path.join(profile, "status.png")
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}"]
        try:
            dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", self.base + "/"], capture_output=True, text=True,
                                 timeout=90)
            self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
            shot = subprocess.run([CHROMIUM, *flags, "--window-size=1100,1300", f"--screenshot={screenshot}",
                                   self.base + "/"], capture_output=True, text=True, timeout=90)
            self.assertEqual(shot.returncode, 0, shot.stderr[-2000:])
            with open(screenshot, "rb") as f:
                png = f.read()
            self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
            self.assertGreater(len(png), 10000)
            if os.environ.get("GW_STATUS_SCREENSHOT"):
                shutil.copy(screenshot, os.environ["GW_STATUS_SCREENSHOT"])
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        text = re.sub(r"<[^>]+>", " ", dom.stdout)
        text = re.sub(r"\s+", " ", text)
        self.assertIn("mailgw gateway bh1.example.com", text)
        self.assertIn("Virtual servers Id Name State Bindings FQDN 1 VS 1 started 127.0.0.1:%d vs1.example.com" % self.port, text)
        self.assertIn("Messages awaiting directory lookup 2", text)
        self.assertIn("Partner SMTP:partner.example;1 DNS (MX) ready", text)
        self.assertIn("Messages received 2", text)
        self.assertIn("Recipients rejected at RCPT 1", text)
        self.assertIn("Serial 1", text)
        self.assertIn('http-equiv="refresh"', dom.stdout)
        self.assertNotIn("<form", dom.stdout)


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

    def test_gatewayd_bad_http_address_is_a_start_error(self):
        port = free_port()
        gateway = Gateway(metabase_text([virtual_server("1", "127.0.0.1", port)]), args=("--http", "nonsense"))
        result = self.run_program(GATEWAYD, "--metabase", gateway.metabase_path, "--spool", gateway.spool,
                                  "--http", "nonsense")
        self.assertEqual(result.returncode, 1)
        self.assertIn('HTTP address "nonsense"', result.stderr)


if __name__ == "__main__":
    unittest.main()
