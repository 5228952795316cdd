"""gatewayctl's queue commands on several messages at once, against a real
gatewayd without a directory (accepted messages wait in "Messages awaiting
directory lookup"): list over every queue, show with several ids and with the
stored content, freeze several ids, retry on a frozen message, and a bulk
delete selected by queue and sender that needs --yes."""

import json
import os
import subprocess
import unittest

from gatewayd_fixture import GatewayTestCase, RawSmtp, wait_until

GATEWAYCTL = os.environ.get("GATEWAYCTL", "gatewayctl")


class QueueCli(GatewayTestCase):
    def ctl(self, *args):
        return subprocess.run([GATEWAYCTL, "--spool", self.gateway.spool, *args], capture_output=True, text=True,
                              timeout=60)

    def send(self, sender, subject):
        client = RawSmtp("127.0.0.1", self.port)
        client.reply()
        client.command("EHLO client.example.net")
        client.command(f"MAIL FROM:<{sender}>")
        client.command("RCPT TO:<alice@example.com>")
        client.command("DATA")
        client.send(f"Subject: {subject}\r\nMessage-ID: <{subject}@x>\r\n\r\nbody of {subject}\r\n.\r\n".encode())
        code, text = client.reply()
        self.assertEqual(code, 250, text)
        client.command("QUIT")
        client.close()
        return text.split("<")[1].split(">")[0]

    def setUp(self):
        super().setUp()
        self.ids = [self.send("a@example.net", "one"), self.send("a@example.net", "two"),
                    self.send("b@example.net", "three")]
        wait_until(lambda: os.path.exists(os.path.join(self.gateway.spool, "control.sock")), what="control socket")

    def test_list_without_a_queue_shows_every_queue(self):
        result = self.ctl("list")
        self.assertEqual(result.returncode, 0, result.stderr)
        for queue_id in self.ids:
            self.assertIn(queue_id, result.stdout)
        self.assertIn("Messages awaiting directory lookup", result.stdout)
        self.assertTrue(result.stdout.rstrip().endswith("3 message(s)."), result.stdout)
        listed = json.loads(self.ctl("--json", "list").stdout)["messages"]
        self.assertEqual(sorted(m["id"] for m in listed), sorted(self.ids))

    def test_show_takes_several_ids_and_prints_the_stored_message(self):
        result = self.ctl("show", self.ids[0], self.ids[1], "--content")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.count("Queue id:"), 2)
        self.assertIn("Message-ID:     <one@x>", result.stdout)
        self.assertIn("Content:\nReceived: from client.example.net", result.stdout)
        self.assertIn("body of two", result.stdout)

    def test_one_bad_id_among_several_is_reported_once_and_the_rest_is_done(self):
        missing = "0" * 24
        result = self.ctl("freeze", self.ids[0], missing, self.ids[1])
        self.assertEqual(result.returncode, 3)
        self.assertEqual(result.stderr.count("gatewayctl:"), 1, result.stderr)
        self.assertIn(f"Message {self.ids[0]} frozen.", result.stdout)
        self.assertIn(f"Message {self.ids[1]} frozen.", result.stdout)

    def test_retry_on_a_frozen_message_says_it_stays_frozen(self):
        self.assertEqual(self.ctl("freeze", self.ids[0]).returncode, 0)
        result = self.ctl("retry", self.ids[0])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("is frozen: it stays frozen", result.stdout)
        self.assertEqual(json.loads(self.ctl("--json", "retry", self.ids[0]).stdout), {"ok": True, "frozen": True})
        show = self.ctl("show", self.ids[0]).stdout
        self.assertIn("State:          frozen (4.3.2)", show)

    def test_bulk_delete_counts_first_and_acts_only_with_yes(self):
        dry = self.ctl("delete", "--queue", "awaiting-directory-lookup", "--from", "a@example.net", "--all")
        self.assertEqual(dry.returncode, 1)
        self.assertIn("2 message(s) match; nothing done: add --yes", dry.stderr)
        self.assertEqual(len(self.gateway.queued_ids()), 3)
        done = self.ctl("delete", "--queue", "awaiting-directory-lookup", "--from", "a@example.net", "--all", "--yes")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("2 message(s) selected.", done.stdout)
        wait_until(lambda: self.gateway.queued_ids() == [self.ids[2]], what="only b's message left")

    def test_a_selection_needs_all(self):
        result = self.ctl("delete", "--queue", "awaiting-directory-lookup")
        self.assertEqual(result.returncode, 1)
        self.assertIn("only with --all", result.stderr)


if __name__ == "__main__":
    unittest.main()
