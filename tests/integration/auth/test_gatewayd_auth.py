"""SMTP AUTH end to end: a real gatewayd whose metabase points at a private
directory with the sample organization (the one under test: slapd or Samba
AD), a test CA and server certificate made
with openssl at test time, and real clients (swaks, Python smtplib, raw
sockets). Covers PLAIN/LOGIN over STARTTLS, wrong/unknown/disabled accounts
(535 5.7.8), on AD the down-level name DOMAIN\\user and a locked-out
account (535 5.7.8, "account locked out" in the log), a killed directory
(454 4.7.0), certificate and host-name
verification, STARTTLS command injection, the relay matrix and the AUTH
throttle. Environment (set by CMake): GATEWAYD, PROTO_DIR."""

import base64
import os
import re
import smtplib
import ssl
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))

import gatewayd_fixture  # noqa: E402
from gatewayd_fixture import GatewayTestCase, RawSmtp, directory_text, make_pki, metabase_text, virtual_server  # noqa: E402
from directory_fixture import AD, Directory, directory_kind_under_test  # noqa: E402

PASSWORD = "Passw0rd!"          # every sample user's password (directory-schema/README.md)
USER = "alice@example.com"
DISABLED_USER = "dave@example.com"  # userAccountControl 514
REMOTE = "someone@remote.example"   # routed by the "Internet" connector: relaying

# Short throttle so the lockout test needs few attempts: failures 1-2 are
# answered at once, the third is delayed (1 s) and locks the address out.
THROTTLE_ARGS = ["--auth-delay-after", "3", "--auth-lockout-after", "3", "--auth-lockout-seconds", "60"]




def swaks(port, *args, server="127.0.0.1"):
    result = subprocess.run(
        ["swaks", "--server", server, "--port", str(port), "--ehlo", "client.example.net", "--timeout", "20",
         "--tls", *args], capture_output=True, text=True, timeout=60, check=False)
    return result.stdout + result.stderr


class AuthGatewayTestCase(GatewayTestCase):
    """One directory per class; per test a gatewayd with a default server (anonymous
    allowed, basic auth, STARTTLS, relay for authenticated users) on 127.0.0.1
    and a submission server (TLS and auth required) on 127.0.0.2."""

    gateway_args = THROTTLE_ARGS

    @classmethod
    def setUpClass(cls):
        cls.pki_dir = tempfile.mkdtemp(prefix="gatewayd-auth-pki-")
        cls.ca, cls.cert, cls.key = make_pki(cls.pki_dir)
        cls.directory = Directory()

    @classmethod
    def tearDownClass(cls):
        cls.directory.close()

    def metabase(self):
        tls = f'tls {{ certificate_file: "{self.cert}" key_file: "{self.key}" }}'
        # Relayed mail asks a DNS server on a loopback port nobody answers, so it
        # waits in the spool for the test to read its envelope (a real resolver's
        # quick NXDOMAIN would bounce and remove it first).
        outbound = f' outbound {{ external_dns_servers: "127.0.0.1:{gatewayd_fixture.free_port()}" }}'
        default = virtual_server("1", "127.0.0.1", self.port,
                                 extra=tls + " relay { allow_authenticated_relay: true }" + outbound).replace(
            "anonymous: true", "anonymous: true basic: true")
        submission = virtual_server("2", "127.0.0.2", self.port,
                                    extra=tls + " relay { allow_authenticated_relay: true }" + outbound).replace(
            "anonymous: true", "basic: true require_tls: true")
        return metabase_text([default, submission], extra=directory_text(self.directory))

    def client_context(self):
        return ssl.create_default_context(cafile=self.ca)

    def assert_reply(self, output, code, status):
        self.assertRegex(output, rf"<~\*? +{code} {re.escape(status)}", output)


class AuthWithSwaks(AuthGatewayTestCase):
    def test_plain_over_starttls_authenticates_and_may_relay(self):
        out = swaks(self.port, "--auth", "PLAIN", "--auth-user", USER, "--auth-password", PASSWORD,
                    "--from", USER, "--to", REMOTE, "--quit-after", "RCPT")
        self.assert_reply(out, 235, "2.7.0")
        self.assertRegex(out, r"~> RCPT TO:<someone@remote.example>\n<~ +250 ", out)

    def test_login_over_starttls_authenticates(self):
        out = swaks(self.port, "--auth", "LOGIN", "--auth-user", "alice", "--auth-password", PASSWORD,
                    "--from", USER, "--to", REMOTE, "--quit-after", "RCPT")
        self.assert_reply(out, 235, "2.7.0")
        self.assertRegex(out, r"~> RCPT TO:<someone@remote.example>\n<~ +250 ", out)

    def test_wrong_password_is_535_5_7_8(self):
        out = swaks(self.port, "--auth", "PLAIN", "--auth-user", USER, "--auth-password", "passw0rd!",
                    "--quit-after", "AUTH")
        self.assert_reply(out, 535, "5.7.8")

    def test_unknown_user_is_535_5_7_8(self):
        out = swaks(self.port, "--auth", "LOGIN", "--auth-user", "nobody@example.com", "--auth-password", PASSWORD,
                    "--quit-after", "AUTH")
        self.assert_reply(out, 535, "5.7.8")

    def test_disabled_user_is_535_5_7_8_even_with_the_right_password(self):
        out = swaks(self.port, "--auth", "PLAIN", "--auth-user", DISABLED_USER, "--auth-password", PASSWORD,
                    "--quit-after", "AUTH")
        self.assert_reply(out, 535, "5.7.8")


class AuthWithActiveDirectoryNames(AuthGatewayTestCase):
    """Logon names only AD has, and AD's account lockout. Its own directory:
    the lockout threshold must not lock out the other classes' users."""

    @classmethod
    def setUpClass(cls):
        if directory_kind_under_test() != AD:
            raise unittest.SkipTest("Active Directory only")
        super().setUpClass()
        cls.directory.modify("dn: DC=example,DC=com\nchangetype: modify\nreplace: lockoutThreshold\n"
                             "lockoutThreshold: 2\n")

    def test_down_level_logon_name_authenticates(self):
        out = swaks(self.port, "--auth", "PLAIN", "--auth-user", "EXAMPLE\\alice", "--auth-password", PASSWORD,
                    "--from", USER, "--to", REMOTE, "--quit-after", "RCPT")
        self.assert_reply(out, 235, "2.7.0")

    def test_account_name_authenticates_with_login(self):
        out = swaks(self.port, "--auth", "LOGIN", "--auth-user", "carol", "--auth-password", PASSWORD,
                    "--quit-after", "AUTH")
        self.assert_reply(out, 235, "2.7.0")

    def test_disabled_account_is_535_5_7_8(self):
        out = swaks(self.port, "--auth", "LOGIN", "--auth-user", "EXAMPLE\\dave", "--auth-password", PASSWORD,
                    "--quit-after", "AUTH")
        self.assert_reply(out, 535, "5.7.8")
        self.gateway.wait_for_log("account disabled")

    def test_locked_out_account_is_535_5_7_8_and_the_log_says_why(self):
        for _ in range(2):
            out = swaks(self.port, "--auth", "PLAIN", "--auth-user", "frank@example.com", "--auth-password",
                        "wrong", "--quit-after", "AUTH")
            self.assert_reply(out, 535, "5.7.8")
        self.gateway.wait_for_log("wrong password (AD data 52e)")
        out = swaks(self.port, "--auth", "PLAIN", "--auth-user", "frank@example.com", "--auth-password", PASSWORD,
                    "--quit-after", "AUTH")
        self.assert_reply(out, 535, "5.7.8")
        self.gateway.wait_for_log("account locked out (AD data 775)")


class AuthWithSmtplib(AuthGatewayTestCase):
    def test_certificate_and_host_name_verify_against_the_test_ca(self):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=20) as smtp:
            smtp.ehlo("client.example.net")
            self.assertFalse(smtp.has_extn("auth"))  # basic auth only after TLS
            self.assertEqual(smtp.starttls(context=self.client_context())[0], 220)
            self.assertEqual(smtp.sock.getpeercert()["subject"], ((("commonName", "vs1.example.com"),),))
            smtp.ehlo("client.example.net")
            self.assertEqual(smtp.esmtp_features["auth"].split(), ["PLAIN", "LOGIN"])
            self.assertEqual(smtp.login(USER, PASSWORD), (235, b"2.7.0 Authentication successful"))
            smtp.sendmail(USER, [REMOTE], b"Subject: submitted\r\n\r\nhello\r\n")
        envelope = self.gateway.envelope(self.gateway.queued_ids()[0])
        self.assertIn('auth_identity: "alice@example.com"', envelope)

    def test_a_client_with_another_ca_refuses_the_certificate(self):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=20) as smtp:
            smtp.ehlo("client.example.net")
            with self.assertRaises(ssl.SSLCertVerificationError):
                smtp.starttls(context=ssl.create_default_context())


class StartTlsInjection(AuthGatewayTestCase):
    def test_commands_pipelined_with_starttls_are_never_answered(self):
        client = RawSmtp("127.0.0.1", self.port)
        client.reply()
        client.command("EHLO injector.example.net")
        client.send(b"STARTTLS\r\nRSET\r\n")
        self.assertEqual(client.reply(), (220, "2.0.0 Ready to start TLS"))
        tls = self.client_context().wrap_socket(client.sock, server_hostname="127.0.0.1")
        tls.settimeout(10)
        tls.sendall(b"QUIT\r\n")
        received = b""
        while chunk := tls.recv(4096):
            received += chunk
        tls.close()
        lines = received.decode().split("\r\n")
        self.assertEqual(len(lines), 2, received)  # the 221 and nothing for the injected RSET
        self.assertTrue(lines[0].startswith("221 2.0.0"), received)


class AuthAbuse(AuthGatewayTestCase):
    """Malformed and oversized AUTH exchanges get the RFC 4954 replies, and the
    session goes on (gateway/smtp/README.md)."""

    def metabase(self):
        return super().metabase().replace("basic: true require_tls: true",
                                          "basic: true require_tls: true require_sender_is_own_address: true")

    def secured(self, server="127.0.0.1"):
        smtp = smtplib.SMTP(server, self.port, timeout=20)
        smtp.ehlo("client.example.net")
        smtp.starttls(context=self.client_context())
        smtp.ehlo("client.example.net")
        return smtp

    def test_overlong_response_line_is_500_5_5_6_and_the_session_goes_on(self):
        with self.secured() as smtp:
            self.assertEqual(smtp.docmd("AUTH", "LOGIN")[0], 334)
            smtp.send(b"A" * 20000 + b"\r\n")
            self.assertEqual(smtp.getreply(), (500, b"5.5.6 Authentication Exchange line is too long"))
            self.assertEqual(smtp.docmd("NOOP")[0], 250)
            self.assertEqual(smtp.login(USER, PASSWORD)[0], 235)

    def test_plain_response_with_the_wrong_number_of_fields_is_501_5_5_2(self):
        with self.secured() as smtp:
            for message in (b"alice@example.com", b"alice@example.com\0" + PASSWORD.encode(),
                            b"\0alice@example.com\0" + PASSWORD.encode() + b"\0more"):
                code, text = smtp.docmd("AUTH", "PLAIN " + base64.b64encode(message).decode())
                self.assertEqual((code, text[:5]), (501, b"5.5.2"), message)
            self.assertEqual(smtp.docmd("AUTH", "PLAIN =")[0], 501)

    def test_plain_response_with_an_empty_password_is_535_5_7_8(self):
        with self.secured() as smtp:
            empty = base64.b64encode(f"\0{USER}\0".encode()).decode()
            code, text = smtp.docmd("AUTH", "PLAIN " + empty)
            self.assertEqual((code, text[:5]), (535, b"5.7.8"))

    def test_submission_sender_the_user_does_not_own_is_553_5_7_1(self):
        with self.secured("127.0.0.2") as smtp:
            smtp.login(USER, PASSWORD)
            code, text = smtp.docmd("MAIL", "FROM:<bob@example.com>")
            self.assertEqual((code, text[:5]), (553, b"5.7.1"))


class RelayMatrix(AuthGatewayTestCase):
    def test_anonymous_relay_to_a_remote_domain_is_550_5_7_1(self):
        out = swaks(self.port, "--from", "x@example.net", "--to", REMOTE, "--quit-after", "RCPT")
        self.assert_reply(out, 550, "5.7.1")

    def test_submission_server_refuses_mail_before_auth_with_530_5_7_0(self):
        out = swaks(self.port, "--from", USER, "--to", REMOTE, "--quit-after", "MAIL", server="127.0.0.2")
        self.assert_reply(out, 530, "5.7.0")

    def test_submission_server_accepts_an_authenticated_user(self):
        out = swaks(self.port, "--auth", "PLAIN", "--auth-user", USER, "--auth-password", PASSWORD,
                    "--from", USER, "--to", REMOTE, "--quit-after", "RCPT", server="127.0.0.2")
        self.assert_reply(out, 235, "2.7.0")
        self.assertRegex(out, r"~> RCPT TO:<someone@remote.example>\n<~ +250 ", out)


class Throttle(AuthGatewayTestCase):
    def test_repeated_failures_lock_the_address_out_with_454_4_7_0(self):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=20) as smtp:
            smtp.ehlo("guesser.example.net")
            smtp.starttls(context=self.client_context())
            smtp.ehlo("guesser.example.net")
            wrong = base64.b64encode(f"\0{USER}\0wrong".encode()).decode()
            for _ in range(3):
                code, _text = smtp.docmd("AUTH", "PLAIN " + wrong)
                self.assertEqual(code, 535)
            code, text = smtp.docmd("AUTH", "PLAIN " + wrong)
            self.assertEqual(code, 454)
            self.assertTrue(text.startswith(b"4.7.0"), text)
        # The right password from the same address is refused too while locked out.
        out = swaks(self.port, "--auth", "PLAIN", "--auth-user", USER, "--auth-password", PASSWORD,
                    "--quit-after", "AUTH")
        self.assert_reply(out, 454, "4.7.0")


class ImplicitTlsSubmission(AuthGatewayTestCase):
    """The submission server also listens with implicit TLS (RFC 8314, port 465 style)."""

    def metabase(self):
        self.implicit_port = gatewayd_fixture.free_port()
        binding = f'bindings {{ ip: "127.0.0.2" port: {self.implicit_port} implicit_tls: true }}'
        text = super().metabase()
        marker = 'id: "2" name: "VS 2"'
        return text.replace(marker, marker + " " + binding)

    def test_auth_plain_over_implicit_tls_authenticates_and_mail_is_queued(self):
        with smtplib.SMTP_SSL("127.0.0.2", self.implicit_port, context=self.client_context(), timeout=20) as smtp:
            smtp.ehlo("client.example.net")
            self.assertFalse(smtp.has_extn("starttls"))
            self.assertEqual(smtp.esmtp_features["auth"].split(), ["PLAIN", "LOGIN"])
            self.assertEqual(smtp.login(USER, PASSWORD), (235, b"2.7.0 Authentication successful"))
            smtp.sendmail(USER, [REMOTE], b"Subject: implicit\r\n\r\nhello\r\n")
        envelope = self.gateway.envelope(self.gateway.queued_ids()[0])
        self.assertIn('auth_identity: "alice@example.com"', envelope)
        self.assertRegex(envelope, r'tls: "TLSv1\.[23] ')

    def test_wrong_password_over_implicit_tls_is_535_5_7_8(self):
        with smtplib.SMTP_SSL("127.0.0.2", self.implicit_port, context=self.client_context(), timeout=20) as smtp:
            smtp.ehlo("client.example.net")
            with self.assertRaises(smtplib.SMTPAuthenticationError) as refused:
                smtp.login(USER, "wrong")
            self.assertEqual(refused.exception.smtp_code, 535)
            self.assertTrue(refused.exception.smtp_error.startswith(b"5.7.8"))


class DirectoryOutage(AuthGatewayTestCase):
    def test_killed_directory_is_454_4_7_0_not_535(self):
        self.directory.kill()
        out = swaks(self.port, "--auth", "PLAIN", "--auth-user", USER, "--auth-password", PASSWORD,
                    "--quit-after", "AUTH")
        self.assert_reply(out, 454, "4.7.0")


if __name__ == "__main__":
    unittest.main()
