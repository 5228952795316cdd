"""Implicit TLS (RFC 8314) bindings of a real gatewayd, and AUTH on a gateway
whose metabase names no directory: the TLS handshake comes before the
greeting, the session then behaves as after STARTTLS, a plaintext client gets
no greeting, a binding without a usable certificate is not served while the
server's other bindings are, and AUTH attempts without a directory are a
temporary failure (454 4.7.0), never 502 or 535."""

import base64
import smtplib
import socket
import ssl
import tempfile
import unittest

from gatewayd_fixture import GatewayTestCase, RawSmtp, free_port, make_pki, metabase_text




def server_text(vs_id, bindings, extra="", timeout=30):
    return f"""
virtual_servers {{
  id: "{vs_id}" name: "VS {vs_id}" fqdn: "vs{vs_id}.example.com" state: STARTED
  {bindings}
  authentication {{ anonymous: true basic: true }}
  limits {{ max_recipients_per_message: 100 max_hop_count: 15 connection_timeout: {timeout} }}
  {extra}
}}"""


class ImplicitTlsTestCase(GatewayTestCase):
    """Virtual server 1: plaintext on self.port, implicit TLS on self.tls_port,
    the test CA's certificate, basic authentication and no directory.
    Virtual server 2: an implicit-TLS binding but no certificate."""

    handshake_timeout = 30

    @classmethod
    def setUpClass(cls):
        cls.pki_dir = tempfile.mkdtemp(prefix="gatewayd-implicit-tls-")
        cls.ca, cls.cert, cls.key = make_pki(cls.pki_dir)

    def metabase(self):
        self.tls_port = free_port()
        self.untrusted_port = free_port()
        tls = f'tls {{ certificate_file: "{self.cert}" key_file: "{self.key}" }}'
        vs1 = server_text("1", f"""bindings {{ ip: "127.0.0.1" port: {self.port} }}
            bindings {{ ip: "127.0.0.1" port: {self.tls_port} implicit_tls: true }}""", tls,
                          timeout=self.handshake_timeout)
        vs2 = server_text("2", f'bindings {{ ip: "127.0.0.1" port: {self.untrusted_port} implicit_tls: true }}')
        return metabase_text([vs1, vs2])

    def client_context(self):
        return ssl.create_default_context(cafile=self.ca)


class ImplicitTls(ImplicitTlsTestCase):
    def test_greeting_comes_after_the_handshake_and_verifies_against_the_test_ca(self):
        with smtplib.SMTP_SSL("127.0.0.1", self.tls_port, context=self.client_context(), timeout=10) as smtp:
            code, _ = smtp.noop()
            self.assertEqual(code, 250)
            self.assertTrue(smtp.sock.version().startswith("TLSv1."))

    def test_ehlo_lacks_starttls_and_offers_auth(self):
        with smtplib.SMTP_SSL("127.0.0.1", self.tls_port, context=self.client_context(), timeout=10) as smtp:
            smtp.ehlo("client.example.net")
            self.assertFalse(smtp.has_extn("starttls"))
            self.assertEqual(smtp.esmtp_features.get("auth", "").split(), ["PLAIN", "LOGIN"])

    def test_starttls_inside_implicit_tls_is_503_5_5_1(self):
        with smtplib.SMTP_SSL("127.0.0.1", self.tls_port, context=self.client_context(), timeout=10) as smtp:
            smtp.ehlo("client.example.net")
            self.assertEqual(smtp.docmd("STARTTLS"), (503, b"5.5.1 TLS already active"))

    def test_mail_is_queued_with_the_tls_details_in_envelope_and_received(self):
        with smtplib.SMTP_SSL("127.0.0.1", self.tls_port, context=self.client_context(), timeout=10) as smtp:
            smtp.sendmail("t@example.net", ["alice@example.com"], b"Subject: implicit\r\n\r\nover tls\r\n")
        queue_id = self.gateway.queued_ids()[0]
        self.assertRegex(self.gateway.envelope(queue_id), r'tls: "TLSv1\.[23] ')
        body = self.gateway.body(queue_id)
        self.assertIn(b"with ESMTPS id " + queue_id.encode(), body)
        self.assertRegex(body, rb"\(using TLSv1\.[23] ")

    def test_plaintext_client_gets_no_greeting_and_is_closed(self):
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=10) as sock:
            sock.settimeout(1.0)
            with self.assertRaises(socket.timeout):
                sock.recv(512)  # the server waits for a ClientHello, it never speaks first
            sock.settimeout(10)
            sock.sendall(b"EHLO plain.example.net\r\n")
            received = b""
            try:
                while chunk := sock.recv(4096):
                    received += chunk
            except ConnectionResetError:
                pass
            self.assertNotIn(b"220", received)
            self.assertNotIn(b"250", received)
        self.gateway.wait_for_log("TLS handshake failed")

    def test_plaintext_binding_of_the_same_server_still_offers_starttls(self):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as smtp:
            smtp.ehlo("client.example.net")
            self.assertTrue(smtp.has_extn("starttls"))

    def test_binding_without_a_certificate_is_not_served_and_the_error_logged(self):
        self.gateway.wait_for_log(f"127.0.0.1:{self.untrusted_port}: implicit TLS binding of virtual server 2 refused")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.untrusted_port), timeout=5).close()


class ImplicitTlsHandshakeTimeout(ImplicitTlsTestCase):
    handshake_timeout = 2

    def test_a_client_that_never_starts_the_handshake_is_closed_without_a_reply(self):
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=15) as sock:
            self.assertEqual(sock.recv(512), b"")  # EOF after the deadline, no greeting
        self.gateway.wait_for_log("TLS handshake failed: timeout")


class AuthWithoutDirectory(ImplicitTlsTestCase):
    def test_auth_plain_is_454_4_7_0(self):
        with smtplib.SMTP_SSL("127.0.0.1", self.tls_port, context=self.client_context(), timeout=10) as smtp:
            smtp.ehlo("client.example.net")
            credentials = base64.b64encode(b"\0alice@example.com\0Passw0rd!").decode()
            self.assertEqual(smtp.docmd("AUTH", "PLAIN " + credentials),
                             (454, b"4.7.0 Temporary authentication failure"))

    def test_auth_login_is_454_4_7_0_before_any_challenge(self):
        client = RawSmtp("127.0.0.1", self.port)
        client.reply()
        client.command("EHLO client.example.net")
        client.command("STARTTLS")
        client.sock = self.client_context().wrap_socket(client.sock, server_hostname="vs1.example.com")
        client.command("EHLO client.example.net")
        self.assertEqual(client.command("AUTH LOGIN"), (454, "4.7.0 Temporary authentication failure"))
        self.assertEqual(client.command("NOOP"), (250, "2.0.0 OK"))


if __name__ == "__main__":
    unittest.main()
