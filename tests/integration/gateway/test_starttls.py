"""STARTTLS (RFC 3207) over a real socket with a throw-away self-signed
certificate: the upgrade, mail over TLS, plaintext pipelined after STARTTLS
being discarded, and "TLS required" servers refusing mail in the clear."""

import os
import smtplib
import ssl
import subprocess
import tempfile
import unittest

from gatewayd_fixture import GatewayTestCase, RawSmtp, metabase_text, virtual_server


def make_certificate(directory):
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=vs1.example.com"],
                   check=True, capture_output=True)
    return cert, key


def client_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # a throw-away self-signed certificate
    return context


class StartTls(GatewayTestCase):
    def metabase(self):
        cert, key = make_certificate(tempfile.mkdtemp(prefix="gatewayd-tls-"))
        tls = f'tls {{ certificate_file: "{cert}" key_file: "{key}" }}'
        required = virtual_server("2", "127.0.0.2", self.port, extra=tls).replace(
            "anonymous: true", "anonymous: true require_tls: true")
        return metabase_text([virtual_server("1", "127.0.0.1", self.port, extra=tls), required])

    def test_ehlo_offers_starttls_and_mail_is_queued_over_tls(self):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as smtp:
            smtp.ehlo("tls.example.net")
            self.assertTrue(smtp.has_extn("starttls"))
            code, text = smtp.starttls(context=client_context())
            self.assertEqual((code, text), (220, b"2.0.0 Ready to start TLS"))
            smtp.ehlo("tls.example.net")
            self.assertFalse(smtp.has_extn("starttls"))
            smtp.sendmail("t@example.net", ["alice@example.com"], b"Subject: over tls\r\n\r\nsecret\r\n")
        queue_id = self.gateway.queued_ids()[0]
        self.assertRegex(self.gateway.envelope(queue_id), r'tls: "TLSv1\.[23] ')
        self.assertIn(b"with ESMTPS id " + queue_id.encode(), self.gateway.body(queue_id))

    def test_plaintext_pipelined_after_starttls_is_discarded(self):
        client = RawSmtp("127.0.0.1", self.port)
        client.reply()
        client.command("EHLO injector.example.net")
        client.send(b"STARTTLS\r\nMAIL FROM:<injected@example.net>\r\n")
        self.assertEqual(client.reply(), (220, "2.0.0 Ready to start TLS"))
        tls = client_context().wrap_socket(client.sock, server_hostname="vs1.example.com")
        tls.settimeout(10)
        tls.sendall(b"RCPT TO:<alice@example.com>\r\n")
        # Had the injected MAIL been executed, this RCPT would be accepted.
        self.assertEqual(tls.recv(4096), b"503 5.5.1 Send HELO/EHLO first\r\n")
        tls.close()

    def test_server_requiring_tls_refuses_mail_in_the_clear_with_530_5_7_0(self):
        client = RawSmtp("127.0.0.2", self.port)
        client.reply()
        client.command("EHLO clear.example.net")
        self.assertEqual(client.command("MAIL FROM:<c@example.net>"),
                         (530, "5.7.0 Must issue a STARTTLS command first"))


if __name__ == "__main__":
    unittest.main()
