"""ETRN (RFC 1985) and TURN against a real gatewayd whose queues are run by the
delivery stage: a remote-triggered connector's domain is released on request
from a host in the ETRN host list, refused from anyone else, and TURN is never
accepted. Mail reaches the remote-triggered hold only after categorization, so
the release of a held message runs with a private slapd (sample organization)."""

import os
import sys
import time
import unittest

from gatewayd_fixture import GatewayTestCase, RawSmtp, directory_text, metabase_text, virtual_server

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from directory_fixture import Slapd  # noqa: E402

DIALUP = """
connectors { name: "Dial-up" allow_relay: true schedule { style: REMOTE_TRIGGERED }
             address_spaces { pattern: "dialup.example" cost: 1 }
             authorized_trn_accounts: "trn@example.com" }"""


class Etrn(GatewayTestCase):
    def metabase(self):
        open_etrn = virtual_server("1", "127.0.0.1", self.port, extra="enable_etrn: true")
        # Only 10.0.0.0/8 may ETRN on the second server: the test client may not.
        restricted = virtual_server("2", "127.0.0.2", self.port,
                                    extra='enable_etrn: true etrn_hosts { address: "10.0.0.0" prefix_length: 8 }')
        return metabase_text([open_etrn, restricted], extra=DIALUP)

    def session(self, host="127.0.0.1"):
        client = RawSmtp(host, self.port)
        client.reply()
        client.command("EHLO dialup.example")
        return client

    def test_ehlo_advertises_etrn(self):
        client = RawSmtp("127.0.0.1", self.port)
        client.reply()
        client.send(b"EHLO dialup.example\r\n")
        lines = b""
        while not lines.endswith(b"250 HELP\r\n"):
            lines += client.sock.recv(4096)
        self.assertIn(b"250-ETRN\r\n", lines)

    def test_a_remote_triggered_domain_with_nothing_waiting_is_251(self):
        self.assertEqual(self.session().command("ETRN dialup.example"),
                         (251, "2.0.0 OK, no messages waiting for node dialup.example"))

    def test_a_host_outside_the_etrn_hosts_is_459_4_7_1(self):
        self.assertEqual(self.session("127.0.0.2").command("ETRN dialup.example"),
                         (459, "4.7.1 Node dialup.example not allowed: client not authorized for ETRN"))

    def test_a_domain_not_held_here_is_459_4_7_1(self):
        self.assertEqual(self.session().command("ETRN elsewhere.example"),
                         (459, "4.7.1 Node elsewhere.example not allowed: no remote-triggered delivery for it here"))

    def test_turn_is_502_5_5_1(self):
        self.assertEqual(self.session().command("TURN"), (502, "5.5.1 TURN is insecure; use ATRN"))


class EtrnReleasesHeldMail(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        cls.slapd = Slapd()

    @classmethod
    def tearDownClass(cls):
        cls.slapd.close()

    def metabase(self):
        return metabase_text([virtual_server("1", "127.0.0.1", self.port, extra="enable_etrn: true")],
                             extra=DIALUP + directory_text(self.slapd))

    def session(self):
        client = RawSmtp("127.0.0.1", self.port)
        client.reply()
        client.command("EHLO dialup.example")
        return client

    def test_queued_mail_for_the_domain_is_released_with_253(self):
        client = self.session()
        self.assertEqual(client.command("MAIL FROM:<sender@example.com>")[0], 250)
        self.assertEqual(client.command("RCPT TO:<site@dialup.example>")[0], 250)
        self.assertEqual(client.command("DATA")[0], 354)
        self.assertEqual(client.command("Subject: held\r\n\r\nfor the dial-up site\r\n.")[0], 250)
        # The message reaches the remote-triggered hold after categorization and routing.
        deadline = time.monotonic() + 20
        while True:
            reply = client.command("ETRN dialup.example")
            if reply[0] == 253 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(reply, (253, "2.0.0 OK, 1 pending messages for node dialup.example started"))


if __name__ == "__main__":
    unittest.main()
