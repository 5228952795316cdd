"""Directory outages: 451 4.4.3 at RCPT time, no bounce for queued mail, recovery after the
directory returns (contract 3, docs/architecture.md)."""

import re
import time
import unittest

from directory_gateway import DirectoryGateway, wait_until


class DirectoryOutageTest(unittest.TestCase):
    def setUp(self):
        self.env = DirectoryGateway()

    def tearDown(self):
        try:
            self.env.directory.resume()
        except OSError:
            pass
        self.env.close()

    def test_killed_directory_gives_451_4_4_3_and_250_after_restart(self):
        self.assertEqual(self.env.rcpt("alice@example.com")[0], 250)
        self.env.directory.kill()
        # carol has not been looked up yet, so the categorizer's cache cannot answer for her.
        code, text = self.env.rcpt("carol@example.com")
        self.assertEqual(code, 451)
        self.assertTrue(text.startswith("4.4.3"), text)
        self.env.directory.restart()
        self.env.wait_for_rcpt("carol@example.com", 250, timeout=30)

    def test_hung_directory_gives_451_4_4_3_within_the_search_timeout(self):
        self.assertEqual(self.env.rcpt("bob@example.com")[0], 250)
        self.env.directory.pause()
        started = time.monotonic()
        code, text = self.env.rcpt("carol@example.com")
        elapsed = time.monotonic() - started
        self.assertEqual(code, 451)
        self.assertTrue(text.startswith("4.4.3"), text)
        self.assertLess(elapsed, 15.0)  # search timeout 5 s, plus slack for a loaded machine

    def test_message_queued_while_directory_is_down_waits_then_completes(self):
        # RCPT checks the group itself; its members are only looked up after queuing, and the
        # directory is gone by then.
        with self.env.smtp() as client:
            client.mail("outsider@remote.example")
            self.assertEqual(client.rcpt("platform@example.com")[0], 250)
            self.env.directory.kill()
            code, text = client.data(b"Subject: outage\r\n\r\nhello\r\n")
            self.assertEqual(code, 250, text)
            queue_id = re.search(r"<([0-9A-Za-z]+)>", text.decode()).group(1)
        # The failed attempt is recorded in the stored envelope; the message stays where it was.
        wait_until(lambda: "categorizer_attempts:" in self.env.envelope_text(queue_id), 30, "a recorded attempt")
        envelope = self.env.envelope_text(queue_id)
        self.assertIn("queue: AWAITING_DIRECTORY_LOOKUP", envelope)
        self.assertNotIn("state: FAILED", envelope)
        self.assertIn("categorize-deferred", self.env.gateway.log_text())
        self.env.directory.restart()
        envelope = self.env.wait_for_categorized(queue_id, timeout=90)
        self.assertNotIn("state: FAILED", envelope)
        self.assertIn('address: "carol@example.com"', envelope)
        self.assertIn('address: "frank@example.com"', envelope)


if __name__ == "__main__":
    unittest.main()
