"""SMTP smuggling over a real socket: only CRLF.CRLF ends DATA. A message that
tries to end early with another line ending is refused as a whole, and the
"smuggled" second transaction never becomes a message of its own."""

import unittest

from gatewayd_fixture import GatewayTestCase, RawSmtp

SMUGGLED = (b"MAIL FROM:<admin@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\nevil\r\n")

# End-of-data imitations: bare LF, bare CR and mixed endings around the dot.
VARIANTS = {
    "lf_dot_lf": b"\n.\n",
    "cr_dot_cr": b"\r.\r",
    "crlf_dot_lf": b"\r\n.\n",
    "lf_dot_crlf": b"\n.\r\n",
    "cr_dot_crlf": b"\r.\r\n",
    "crlf_dot_cr": b"\r\n.\r",
}


class Smuggling(GatewayTestCase):
    def send_with_fake_end(self, fake_end):
        client = RawSmtp("127.0.0.1", self.port)
        client.reply()
        client.command("EHLO smuggler.example.net")
        client.command("MAIL FROM:<s@example.net>")
        client.command("RCPT TO:<alice@example.com>")
        self.assertEqual(client.command("DATA")[0], 354)
        client.send(b"Subject: outer\r\n\r\nouter body" + fake_end + SMUGGLED + b".\r\n")
        return client

    def test_fake_end_of_data_variants_are_content_and_the_message_is_refused(self):
        for name, fake_end in VARIANTS.items():
            with self.subTest(name):
                client = self.send_with_fake_end(fake_end)
                self.assertEqual(client.reply(), (554, "5.6.0 Message contains bare CR or LF characters"))
                self.assertEqual(client.command("QUIT")[0], 221)
                client.close()
        self.assertEqual(self.gateway.queued_ids(), [])

    def test_real_end_of_data_after_a_fake_one_is_still_the_only_end(self):
        client = self.send_with_fake_end(b"\n.\n")
        # One reply for one message: no second 250 for the smuggled transaction.
        self.assertEqual(client.reply()[0], 554)
        self.assertEqual(client.command("NOOP"), (250, "2.0.0 OK"))

    def test_dot_stuffed_lines_are_unstuffed(self):
        client = RawSmtp("127.0.0.1", self.port)
        client.reply()
        client.command("EHLO stuffer.example.net")
        client.command("MAIL FROM:<s@example.net>")
        client.command("RCPT TO:<alice@example.com>")
        client.command("DATA")
        client.send(b"Subject: dots\r\n\r\n..leading\r\n...\r\n.\r\n")
        self.assertEqual(client.reply()[0], 250)
        body = self.gateway.body(self.gateway.queued_ids()[0])
        self.assertTrue(body.endswith(b"\r\n\r\n.leading\r\n..\r\n"), body)


if __name__ == "__main__":
    unittest.main()
