"""A complete ESMTP transaction against a real gatewayd: swaks, smtplib with
PIPELINING, BDAT over a raw socket, the spool contents and the protocol log."""

import os
import smtplib
import subprocess
import unittest

from gatewayd_fixture import GatewayTestCase, RawSmtp, metabase_text, virtual_server


class Transaction(GatewayTestCase):
    def metabase(self):
        self.log_dir = os.path.join(self._log_root(), "protolog")
        extra = f'protocol_logging: true protocol_log_directory: "{self.log_dir}"'
        return metabase_text([virtual_server("1", "127.0.0.1", self.port, extra=extra)])

    def _log_root(self):
        if not hasattr(self, "_root"):
            import tempfile
            self._root = tempfile.mkdtemp(prefix="gatewayd-protolog-")
        return self._root

    def test_swaks_message_is_queued_with_250_2_6_0_and_stored_in_the_spool(self):
        result = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(self.port), "--from", "sender@example.net",
             "--to", "alice@example.com", "--helo", "client.example.net", "--header", "Subject: swaks test",
             "--body", "hello from swaks", "--timeout", "10"],
            capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertRegex(result.stdout, r"<-  250 2\.6\.0 <[0-9A-F]{24}> queued")
        ids = self.gateway.queued_ids()
        self.assertEqual(len(ids), 1)
        body = self.gateway.body(ids[0]).decode()
        self.assertTrue(body.startswith("Received: from client.example.net"), body[:200])
        self.assertIn(f"id {ids[0]}", body)
        self.assertIn("Subject: swaks test", body)
        self.assertIn("hello from swaks", body)
        envelope = self.gateway.envelope(ids[0])
        self.assertIn('sender: "sender@example.net"', envelope)
        self.assertIn('address: "alice@example.com"', envelope)
        self.assertIn("queue: AWAITING_DIRECTORY_LOOKUP", envelope)
        self.assertIn('virtual_server_id: "1"', envelope)
        self.assertIn('helo: "client.example.net"', envelope)
        self.assertIn("hop_count: 1", envelope)

    def test_pipelined_commands_get_their_replies_in_order(self):
        client = RawSmtp("127.0.0.1", self.port)
        self.assertEqual(client.reply()[0], 220)
        code, _ = client.command("EHLO pipeliner.example.net")
        self.assertEqual(code, 250)
        client.send(b"MAIL FROM:<p@example.net>\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
                    b"RCPT TO:<nobody@elsewhere.example>\r\nDATA\r\n")
        self.assertEqual(client.reply(), (250, "2.1.0 Sender OK"))
        self.assertEqual(client.reply(), (250, "2.1.5 Recipient OK"))
        self.assertEqual(client.reply(), (250, "2.1.5 Recipient OK"))
        self.assertEqual(client.reply(), (550, "5.7.1 Unable to relay"))
        self.assertEqual(client.reply()[0], 354)
        client.send(b"Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        code, text = client.reply()
        self.assertEqual((code, text[:5]), (250, "2.6.0"))
        self.assertEqual(client.reply()[0], 221)
        envelope = self.gateway.envelope(self.gateway.queued_ids()[0])
        self.assertEqual(envelope.count("recipients {"), 2)

    def test_smtplib_sends_two_messages_on_one_connection(self):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as smtp:
            smtp.ehlo("smtplib.example.net")
            self.assertTrue(smtp.has_extn("pipelining"))
            smtp.sendmail("a@example.net", ["alice@example.com"], b"Subject: one\r\n\r\n1\r\n")
            smtp.sendmail("a@example.net", ["bob@example.com"], b"Subject: two\r\n\r\n2\r\n")
        self.assertEqual(len(self.gateway.queued_ids()), 2)

    def test_bdat_chunks_are_stored_verbatim(self):
        client = RawSmtp("127.0.0.1", self.port)
        client.reply()
        client.command("EHLO chunker.example.net")
        self.assertEqual(client.command("MAIL FROM:<c@example.net> BODY=8BITMIME")[0], 250)
        self.assertEqual(client.command("RCPT TO:<alice@example.com>")[0], 250)
        first = b"Subject: chunked\r\n\r\nline one\r\n.leading dot kept\r\n"
        second = b"last line\r\n"
        client.send(b"BDAT %d\r\n" % len(first) + first)
        self.assertEqual(client.reply(), (250, f"2.0.0 {len(first)} octets received"))
        client.send(b"BDAT %d LAST\r\n" % len(second) + second + b"QUIT\r\n")
        code, text = client.reply()
        self.assertEqual((code, text[:5]), (250, "2.6.0"))
        self.assertEqual(client.reply()[0], 221)
        body = self.gateway.body(self.gateway.queued_ids()[0])
        self.assertTrue(body.endswith(first + second))
        self.assertTrue(body.startswith(b"Received: "))

    def test_protocol_log_records_each_command_in_w3c_format(self):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as smtp:
            smtp.ehlo("logger.example.net")
            smtp.sendmail("l@example.net", ["alice@example.com"], b"Subject: log\r\n\r\nx\r\n")
        day_dir = os.path.join(self.log_dir, "SMTPSVC1")
        self.gateway.stop()
        files = os.listdir(day_dir)
        self.assertEqual(len(files), 1)
        self.assertRegex(files[0], r"^ex\d{6}\.log$")
        with open(os.path.join(day_dir, files[0])) as f:
            lines = f.read().splitlines()
        self.assertIn("#Fields: date time c-ip cs-username s-computername s-ip s-port cs-method cs-uri-query "
                      "sc-status time-taken sc-bytes cs-bytes", lines)
        entries = [line.split(" ") for line in lines if not line.startswith("#")]
        methods = [(e[7], e[9]) for e in entries]
        self.assertEqual(methods[0], ("+Connect", "220"))
        self.assertIn(("EHLO", "250"), methods)
        self.assertIn(("MAIL", "250"), methods)
        self.assertIn(("DATA", "354"), methods)
        mail = next(e for e in entries if e[7] == "MAIL")
        self.assertEqual(mail[2], "127.0.0.1")
        self.assertEqual(mail[3], "logger.example.net")
        self.assertEqual(mail[4], "vs1.example.com")
        self.assertEqual(mail[6], str(self.port))
        self.assertTrue(mail[8].startswith("FROM:<l@example.net>+"), mail[8])  # spaces become "+"
        self.assertEqual(len(entries[0]), 13)


if __name__ == "__main__":
    unittest.main()
