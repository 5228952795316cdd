"""Each virtual-server limit over a real socket, with its exact reply."""

import os
import socket
import unittest

from gatewayd_fixture import GatewayTestCase, RawSmtp, metabase_text, virtual_server, wait_until


def connect_from(source, port):
    client = RawSmtp.__new__(RawSmtp)
    client.sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    client.buffer = b""
    return client


def open_session(port, helo="limits.example.net"):
    client = RawSmtp("127.0.0.1", port)
    assert client.reply()[0] == 220
    assert client.command(f"EHLO {helo}")[0] == 250
    return client


class Limits(GatewayTestCase):
    def metabase(self):
        limits = ("max_message_size: 2048 max_messages_per_connection: 2 max_connections_per_ip: 3")
        server = virtual_server("1", "127.0.0.1", self.port, limits=limits)
        # max_recipients_per_message is already set by virtual_server(); replace it with 3.
        server = server.replace("max_recipients_per_message: 100", "max_recipients_per_message: 3")
        return metabase_text([server])

    def test_declared_size_over_the_limit_gets_552_5_3_4(self):
        client = open_session(self.port)
        self.assertEqual(client.command("MAIL FROM:<s@example.net> SIZE=4096"),
                         (552, "5.3.4 Message size exceeds fixed maximum message size"))

    def test_content_over_the_size_limit_gets_552_5_3_4_and_is_not_queued(self):
        client = open_session(self.port)
        client.command("MAIL FROM:<s@example.net>")
        client.command("RCPT TO:<alice@example.com>")
        self.assertEqual(client.command("DATA")[0], 354)
        client.send(b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 60 + b".\r\n")
        self.assertEqual(client.reply(), (552, "5.3.4 Message size exceeds fixed maximum message size"))
        self.assertEqual(self.gateway.queued_ids(), [])

    def test_recipient_over_the_limit_gets_452_4_5_3(self):
        client = open_session(self.port)
        client.command("MAIL FROM:<s@example.net>")
        for name in ("a", "b", "c"):
            self.assertEqual(client.command(f"RCPT TO:<{name}@example.com>")[0], 250)
        self.assertEqual(client.command("RCPT TO:<d@example.com>"), (452, "4.5.3 Too many recipients"))

    def test_message_over_the_per_connection_limit_gets_421_4_7_0_and_close(self):
        client = open_session(self.port)
        for n in range(2):
            client.command("MAIL FROM:<s@example.net>")
            client.command("RCPT TO:<alice@example.com>")
            client.command("DATA")
            client.send(b"Subject: %d\r\n\r\nx\r\n.\r\n" % n)
            self.assertEqual(client.reply()[0], 250)
        code, text = client.command("MAIL FROM:<s@example.net>")
        self.assertEqual(code, 421)
        self.assertTrue(text.startswith("4.7.0 "), text)
        self.assertTrue(client.closed())
        self.assertEqual(len(self.gateway.queued_ids()), 2)

    def test_command_line_over_512_octets_gets_500_5_5_2(self):
        client = open_session(self.port)
        code, text = client.command("MAIL FROM:<" + "a" * 600 + "@example.net>")
        self.assertEqual((code, text[:5]), (500, "5.5.2"))
        self.assertEqual(client.command("NOOP")[0], 250)  # the session is still in step

    def test_connections_over_the_per_ip_limit_get_421_4_7_0(self):
        held = [open_session(self.port) for _ in range(3)]
        extra = RawSmtp("127.0.0.1", self.port)
        code, text = extra.reply()
        self.assertEqual(code, 421)
        self.assertTrue(text.startswith("4.7.0 "), text)
        self.assertIn("Too many connections from 127.0.0.1", text)
        self.assertTrue(extra.closed())
        held[0].command("QUIT")
        held[0].close()
        # The slot is free again once the session has ended.
        self.gateway.wait_for_log("session-closed", count=2)  # the fixture's readiness probe, then held[0]
        again = RawSmtp("127.0.0.1", self.port)
        self.assertEqual(again.reply()[0], 220)

    def test_message_with_too_many_received_headers_gets_554_5_4_6(self):
        client = open_session(self.port)
        client.command("MAIL FROM:<loop@example.net>")
        client.command("RCPT TO:<alice@example.com>")
        client.command("DATA")
        hops = b"".join(b"Received: from hop%d.example.net by x; Sun, 29 Nov 2026 00:00:00 +0000\r\n" % i
                        for i in range(15))
        client.send(hops + b"Subject: loop\r\n\r\nx\r\n.\r\n")
        self.assertEqual(client.reply(), (554, "5.4.6 Too many hops: routing loop detected"))
        self.assertEqual(self.gateway.queued_ids(), [])


class ServerConnectionLimit(GatewayTestCase):
    def metabase(self):
        return metabase_text([virtual_server("1", "127.0.0.1", self.port, limits="max_connections: 2")])

    def test_connections_over_the_server_limit_get_421_4_7_0_whatever_the_peer(self):
        held = [open_session(self.port) for _ in range(2)]
        extra = connect_from("127.0.0.5", self.port)
        self.assertEqual(extra.reply(), (421, "4.7.0 vs1.example.com Too many connections, try again later"))
        self.assertTrue(extra.closed())
        self.assertEqual(len(held), 2)


class AbandonedMessage(GatewayTestCase):
    def test_client_that_disconnects_during_data_leaves_nothing_in_the_spool(self):
        client = open_session(self.port)
        client.command("MAIL FROM:<s@example.net>")
        client.command("RCPT TO:<alice@example.com>")
        client.command("DATA")
        client.send(b"Subject: cut\r\n\r\n" + b"partial line\r\n" * 1000)
        client.close()
        self.gateway.wait_for_log("messages=0 reason=", count=2)  # the fixture's probe, then this session
        incoming = os.path.join(self.gateway.spool, "incoming")
        wait_until(lambda: os.listdir(incoming) == [], what="incoming/ to be cleaned")
        self.assertEqual(self.gateway.queued_ids(), [])


class IdleTimeout(GatewayTestCase):
    def metabase(self):
        server = virtual_server("1", "127.0.0.1", self.port).replace("connection_timeout: 30",
                                                                      "connection_timeout: 1")
        return metabase_text([server])

    def test_idle_client_gets_421_4_4_2_after_the_connection_timeout(self):
        client = open_session(self.port)
        client.sock.settimeout(10)
        code, text = client.reply()
        self.assertEqual((code, text[:5]), (421, "4.4.2"))
        self.assertTrue(client.closed())


if __name__ == "__main__":
    unittest.main()
