"""Connection control, independent virtual servers on one port, "all
unassigned" dispatch, the sender filter and the relay table, over real sockets."""

import socket
import unittest

from gatewayd_fixture import Gateway, GatewayTestCase, RawSmtp, free_port, metabase_text, virtual_server


def connect_from(source, host, port):
    client = RawSmtp.__new__(RawSmtp)
    client.sock = socket.create_connection((host, port), timeout=10, source_address=(source, 0))
    client.buffer = b""
    return client


class TwoServersOnOnePort(unittest.TestCase):
    """127.0.0.2:N and 127.0.0.3:N are two virtual servers with their own rules."""

    def setUp(self):
        self.port = free_port("127.0.0.2")
        deny = 'connection_control { deny { address: "127.0.0.1" prefix_length: 32 } }'
        allow = 'connection_control { allow { address: "127.0.0.9" prefix_length: 32 } }'
        self.gateway = Gateway(metabase_text([
            virtual_server("2", "127.0.0.2", self.port, extra=deny),
            virtual_server("3", "127.0.0.3", self.port, extra=allow)]))
        self.gateway.start(wait=[])
        self.gateway.wait_for_log("listening on 127.0.0.3:")

    def tearDown(self):
        self.gateway.stop()

    def test_denied_peer_gets_554_5_7_1_then_421_and_close(self):
        client = connect_from("127.0.0.1", "127.0.0.2", self.port)
        self.assertEqual(client.reply(), (554, "5.7.1 vs2.example.com Access denied for 127.0.0.1"))
        # RFC 5321 3.8: the server closes only after a 421.
        self.assertEqual(client.reply(), (421, "4.7.0 vs2.example.com Closing connection"))
        self.assertTrue(client.closed())

    def test_peer_not_in_the_deny_list_is_greeted_by_its_own_server(self):
        client = connect_from("127.0.0.7", "127.0.0.2", self.port)
        self.assertEqual(client.reply(), (220, "vs2.example.com ESMTP"))

    def test_allow_list_admits_only_listed_peers(self):
        self.assertEqual(connect_from("127.0.0.9", "127.0.0.3", self.port).reply(), (220, "vs3.example.com ESMTP"))
        code, text = connect_from("127.0.0.1", "127.0.0.3", self.port).reply()
        self.assertEqual((code, text[:5]), (554, "5.7.1"))


class AllUnassigned(unittest.TestCase):
    """An empty binding IP takes every local address no other server binds on that port."""

    def setUp(self):
        self.port = free_port("0.0.0.0")
        self.gateway = Gateway(metabase_text([
            virtual_server("1", "", self.port),
            virtual_server("2", "127.0.0.3", self.port)]))
        self.gateway.start(wait=[("127.0.0.1", self.port)])

    def tearDown(self):
        self.gateway.stop()

    def test_specific_address_goes_to_its_server_and_the_rest_to_all_unassigned(self):
        self.assertEqual(RawSmtp("127.0.0.3", self.port).reply(), (220, "vs2.example.com ESMTP"))
        self.assertEqual(RawSmtp("127.0.0.4", self.port).reply(), (220, "vs1.example.com ESMTP"))
        self.assertEqual(RawSmtp("127.0.0.1", self.port).reply(), (220, "vs1.example.com ESMTP"))


class SenderFilter(GatewayTestCase):
    def metabase(self):
        return metabase_text(
            [virtual_server("1", "127.0.0.1", self.port, extra="apply_sender_filter: true")],
            extra='message_delivery { sender_filter: "spammer@bad.example" sender_filter: "@worse.example" }')

    def session(self):
        client = RawSmtp("127.0.0.1", self.port)
        client.reply()
        client.command("EHLO filter.example.net")
        return client

    def test_listed_sender_gets_550_5_7_1(self):
        self.assertEqual(self.session().command("MAIL FROM:<spammer@bad.example>"), (550, "5.7.1 Sender denied"))

    def test_listed_domain_blocks_every_sender_of_it(self):
        self.assertEqual(self.session().command("MAIL FROM:<anyone@worse.example>"), (550, "5.7.1 Sender denied"))

    def test_other_senders_pass(self):
        self.assertEqual(self.session().command("MAIL FROM:<friend@bad.example>"), (250, "2.1.0 Sender OK"))


class RelayTable(GatewayTestCase):
    """127.0.0.1 is not in the relay list: only local and relay-connector domains are accepted."""

    def metabase(self):
        self.relay_port = free_port()
        relay = 'relay { relay_ip_list { address: "127.0.0.0" prefix_length: 8 } }'
        return metabase_text([virtual_server("1", "127.0.0.1", self.port),
                              virtual_server("9", "127.0.0.1", self.relay_port, extra=relay)])

    def rcpt(self, address, port=None):
        client = RawSmtp("127.0.0.1", port or self.port)
        client.reply()
        client.command("EHLO relay.example.net")
        client.command("MAIL FROM:<r@example.net>")
        return client.command(f"RCPT TO:<{address}>")

    def test_key_forms_of_the_relay_table(self):
        accepted = (250, "2.1.5 Recipient OK")
        denied = (550, "5.7.1 Unable to relay")
        cases = {
            "user@example.com": accepted,            # authoritative domain
            "user@EXAMPLE.COM.": accepted,           # normalized before the lookup
            "user@shared.example.org": accepted,     # non-authoritative local domain
            "user@partner.example": accepted,        # relay connector, exact domain
            "user@army.mil": accepted,               # relay connector "*.mil"
            "user@mil": denied,                      # "*.mil" does not include mil itself
            "user@sub.example.com": denied,          # a subdomain is not the domain
            "user@elsewhere.example": denied,        # remote: no relay for this client
            "postmaster": accepted,                  # RFC 5321 4.5.1
        }
        for address, expected in cases.items():
            with self.subTest(address):
                self.assertEqual(self.rcpt(address), expected)

    def test_routing_in_the_local_part_is_refused(self):
        code, text = self.rcpt("user%elsewhere.example@example.com")
        self.assertEqual((code, text[:5]), (550, "5.7.1"))

    def test_client_in_the_relay_list_may_relay(self):
        self.assertEqual(self.rcpt("user@elsewhere.example", port=self.relay_port), (250, "2.1.5 Recipient OK"))


if __name__ == "__main__":
    unittest.main()
