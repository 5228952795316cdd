"""The front door under abuse, over raw sockets against a real gatewayd:
deadlines that hold against clients that trickle (command lines and DATA, 500
of them against a 500-connection limit), the open-files limit, early talkers,
unauthorised pipelining, junk and error limits, HTTP requests, and the replies
RFC 5321, 3461 and Postfix-style limits ask for (gateway/smtp/README.md,
"Limits"). Deadlines are shortened through the metabase (connection_timeout:
2 seconds) so that the tests run in seconds; each trickling client is bounded
in octets and time and fails the test if the gateway never cuts it off."""

import select
import socket
import time
import unittest

from gatewayd_fixture import GatewayTestCase, RawSmtp, metabase_text, virtual_server, wait_until

DEADLINE = 2          # seconds: limits.connection_timeout of these tests
TRICKLE_PAUSE = 0.25  # seconds between two octets of a trickling client
# A trickler gives up (and the test fails) after this many octets: 4x the deadline.
TRICKLE_OCTETS = int(4 * DEADLINE / TRICKLE_PAUSE)


def greeted(port, helo="client.example.net"):
    client = RawSmtp("127.0.0.1", port)
    assert client.reply()[0] == 220
    assert client.command(f"EHLO {helo}")[0] == 250
    return client


def trickle(client, data):
    """Sends `data` one octet at a time until the server answers; returns the
    reply, or None when all octets (4x the deadline's worth) went out without
    one: an idle timer that each octet re-arms never fires while the client
    trickles."""
    answered = False
    for octet in data[:TRICKLE_OCTETS]:
        try:
            client.send(bytes([octet]))
        except (BrokenPipeError, ConnectionResetError):
            answered = True
            break
        readable, _, _ = select.select([client.sock], [], [], TRICKLE_PAUSE)
        if readable:
            answered = True
            break
    if not answered:
        return None
    client.sock.settimeout(DEADLINE * 3)
    try:
        return client.reply()
    except (ConnectionError, socket.timeout):
        return None


def reply_lines(sock, timeout=10):
    """Every line the server sends until it closes the connection."""
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return [line.decode() for line in data.split(b"\r\n") if line]


class Deadlines(GatewayTestCase):
    def metabase(self):
        server = virtual_server("1", "127.0.0.1", self.port, limits="")
        server = server.replace("connection_timeout: 30", f"connection_timeout: {DEADLINE}")
        return metabase_text([server])

    def test_command_line_trickled_one_octet_at_a_time_gets_421_4_4_2(self):
        client = greeted(self.port)
        reply = trickle(client, b"MAIL FROM:<" + b"s" * 200 + b"@example.net>\r\n")
        self.assertIsNotNone(reply, "the gateway let a trickling command line run on")
        code, text = reply
        self.assertEqual((code, text[:5]), (421, "4.4.2"), text)
        self.assertTrue(client.closed())

    def test_message_content_trickled_one_octet_at_a_time_gets_421_4_4_2_and_nothing_is_queued(self):
        client = greeted(self.port)
        client.command("MAIL FROM:<s@example.net>")
        client.command("RCPT TO:<alice@example.com>")
        self.assertEqual(client.command("DATA")[0], 354)
        reply = trickle(client, b"Subject: slow\r\n\r\n" + b"x" * 200 + b"\r\n.\r\n")
        self.assertIsNotNone(reply, "the gateway let a trickling DATA transfer run on")
        code, text = reply
        self.assertEqual((code, text[:5]), (421, "4.4.2"), text)
        self.assertTrue(client.closed())
        self.assertEqual(self.gateway.queued_ids(), [])

    def test_bdat_chunk_trickled_one_octet_at_a_time_gets_421_4_4_2(self):
        client = greeted(self.port)
        client.command("MAIL FROM:<s@example.net>")
        client.command("RCPT TO:<alice@example.com>")
        client.send(b"BDAT 200 LAST\r\n")
        reply = trickle(client, b"y" * 200)
        self.assertIsNotNone(reply, "the gateway let a trickling BDAT chunk run on")
        self.assertEqual(reply[0], 421)
        self.assertTrue(reply[1].startswith("4.4.2"), reply)

    def test_content_that_keeps_the_minimum_rate_may_take_longer_than_the_deadline(self):
        client = greeted(self.port)
        client.command("MAIL FROM:<s@example.net>")
        client.command("RCPT TO:<alice@example.com>")
        self.assertEqual(client.command("DATA")[0], 354)
        line = b"z" * 998 + b"\r\n"
        client.send(b"Subject: steady\r\n\r\n")
        # 3 * DEADLINE seconds at about 20 kB/s: far above 500 octets/s.
        end = time.monotonic() + 3 * DEADLINE
        while time.monotonic() < end:
            client.send(line * 2)
            time.sleep(0.1)
        client.send(b".\r\n")
        code, text = client.reply()
        self.assertEqual((code, text[:5]), (250, "2.6.0"), text)
        self.assertEqual(len(self.gateway.queued_ids()), 1)


class TricklingCrowd(GatewayTestCase):
    """500 clients that trickle against a 500-connection limit: while they hold
    every slot a new client is refused (421 4.7.0); the gateway cuts every one
    of them off at its command deadline, and then a normal client is served."""

    CROWD = 500
    CROWD_DEADLINE = 20  # seconds: time to connect and greet 500 clients on a busy machine
    PAUSE = 1.0          # seconds between two octets of each trickler

    def metabase(self):
        server = virtual_server("1", "127.0.0.1", self.port,
                                limits=f"max_connections: {self.CROWD} max_connections_per_ip: 0")
        server = server.replace("connection_timeout: 30", f"connection_timeout: {self.CROWD_DEADLINE}")
        return metabase_text([server])

    def test_500_trickling_clients_cannot_keep_a_normal_client_out(self):
        crowd = [socket.create_connection(("127.0.0.1", self.port), timeout=30) for _ in range(self.CROWD)]
        received = {sock: b"" for sock in crowd}
        try:
            for sock in crowd:
                while b"\r\n" not in received[sock]:
                    chunk = sock.recv(512)
                    self.assertTrue(chunk, "closed before the greeting")
                    received[sock] += chunk
                self.assertTrue(received[sock].startswith(b"220 "), received[sock])
            # Every slot is taken: a newcomer is turned away.
            refused = RawSmtp("127.0.0.1", self.port)
            code, text = refused.reply()
            self.assertEqual((code, text[:5]), (421, "4.7.0"), text)
            refused.close()

            # The crowd trickles one octet per pause, all together, for at
            # most 4x the deadline; a client is done when the gateway closed it.
            line = b"EHLO trickle.example.net " + b"x" * 200 + b"\r\n"
            open_ = set(crowd)
            end = time.monotonic() + 4 * self.CROWD_DEADLINE
            sent = 0
            while open_ and time.monotonic() < end:
                for sock in list(open_):
                    try:
                        sock.send(line[sent:sent + 1])
                    except OSError:
                        open_.discard(sock)
                sent += 1
                pause_end = time.monotonic() + self.PAUSE
                while open_ and (left := pause_end - time.monotonic()) > 0:
                    readable, _, _ = select.select(list(open_), [], [], left)
                    for sock in readable:
                        try:
                            chunk = sock.recv(4096)
                        except OSError:
                            chunk = b""
                        received[sock] += chunk
                        if not chunk:
                            open_.discard(sock)
                            sock.close()
            self.assertEqual(len(open_), 0, f"{len(open_)} trickling clients still hold their slots")
            cut_off = [sock for sock in crowd if b"\r\n421 4.4.2 " in received[sock]]
            self.assertEqual(len(cut_off), self.CROWD)

            # Their slots are free (once each session has seen its client
            # close): a normal client gets in and delivers.
            def greeted_client():
                client = RawSmtp("127.0.0.1", self.port)
                if client.reply()[0] == 220:
                    return client
                client.close()
                return None
            normal = None
            end = time.monotonic() + 10
            while normal is None and time.monotonic() < end:
                normal = greeted_client()
                if normal is None:
                    time.sleep(0.2)
            self.assertIsNotNone(normal, "no slot came free")
            self.assertEqual(normal.command("EHLO normal.example.net")[0], 250)
            normal.command("MAIL FROM:<n@example.net>")
            normal.command("RCPT TO:<alice@example.com>")
            self.assertEqual(normal.command("DATA")[0], 354)
            normal.send(b"Subject: let in\r\n\r\nhello\r\n.\r\n")
            code, text = normal.reply()
            self.assertEqual((code, text[:5]), (250, "2.6.0"), text)
        finally:
            for sock in crowd:
                sock.close()


class OpenFilesLimit(GatewayTestCase):
    """gatewayd under a small RLIMIT_NOFILE: connections beyond what it can
    open get 421 4.3.2 and are closed, instead of waiting without a greeting."""

    max_open_files = 64

    def metabase(self):
        return metabase_text([virtual_server("1", "127.0.0.1", self.port, limits="max_connections_per_ip: 0")])

    def test_connections_beyond_the_open_files_limit_get_421_4_3_2(self):
        held = []
        refusal = None
        try:
            for _ in range(2 * self.max_open_files):
                client = RawSmtp("127.0.0.1", self.port)
                code, text = client.reply()
                if code != 220:
                    refusal = (code, text)
                    self.assertTrue(client.closed())
                    break
                held.append(client)
            self.assertIsNotNone(refusal, "every connection was greeted")
            self.assertEqual(refusal, (421, "4.3.2 Too many open files, try again later"))
            self.assertGreater(len(held), 0)
        finally:
            for client in held:
                client.close()
        # Descriptors are free again: the next client is greeted.
        def greeting():
            client = RawSmtp("127.0.0.1", self.port)
            code = client.reply()[0]
            client.close()
            return code == 220
        wait_until(greeting, 10, "a greeting after the crowd left")
        self.gateway.wait_for_log("out of file descriptors")


class EarlyTalkers(GatewayTestCase):
    def metabase(self):
        # Long enough for any client to talk first; a patient client waits it out.
        return metabase_text([virtual_server("1", "127.0.0.1", self.port, limits="greeting_delay_ms: 1500")])

    def test_client_that_talks_before_the_greeting_gets_554_5_5_0_then_421_and_close(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock.sendall(b"EHLO eager.example.net\r\nMAIL FROM:<spam@example.net>\r\n")
        lines = reply_lines(sock)
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(lines[0].startswith("554 5.5.0 "), lines)
        self.assertTrue(lines[1].startswith("421 4.7.0 "), lines)
        sock.close()

    def test_client_that_waits_for_the_greeting_is_served(self):
        client = greeted(self.port)
        self.assertEqual(client.command("QUIT")[0], 221)


class EarlyTalkersAllowed(GatewayTestCase):
    def metabase(self):
        return metabase_text([virtual_server(
            "1", "127.0.0.1", self.port, limits="greeting_delay_ms: 1500 allow_unsynchronized_clients: true")])

    def test_virtual_server_can_serve_early_talkers(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock.sendall(b"EHLO eager.example.net\r\nQUIT\r\n")
        lines = reply_lines(sock)
        self.assertTrue(lines[0].startswith("220 "), lines)
        self.assertTrue(lines[-1].startswith("221 "), lines)
        sock.close()


class Synchronization(GatewayTestCase):
    def test_commands_pipelined_after_helo_are_503_5_5_0(self):
        client = RawSmtp("127.0.0.1", self.port)
        client.reply()
        self.assertEqual(client.command("HELO oldclient.example.net")[0], 250)
        client.send(b"MAIL FROM:<s@example.net>\r\nRCPT TO:<alice@example.com>\r\n")
        self.assertEqual(client.reply()[0], 250)
        self.assertEqual(client.reply(), (503, "5.5.0 Improper use of SMTP command pipelining"))

    def test_commands_pipelined_behind_ehlo_are_503_5_5_0(self):
        client = RawSmtp("127.0.0.1", self.port)
        client.reply()
        client.send(b"EHLO hasty.example.net\r\nMAIL FROM:<s@example.net>\r\n")
        self.assertEqual(client.reply()[0], 250)
        self.assertEqual(client.reply(), (503, "5.5.0 Improper use of SMTP command pipelining"))
        self.assertEqual(client.command("MAIL FROM:<s@example.net>")[0], 250)  # waiting is fine

    def test_content_sent_before_the_354_gets_554_5_5_0_then_421_and_nothing_is_queued(self):
        client = greeted(self.port)
        client.command("MAIL FROM:<s@example.net>")
        client.command("RCPT TO:<alice@example.com>")
        client.send(b"DATA\r\nSubject: eager\r\n\r\nRSET\r\nMAIL FROM:<x@example.net>\r\n.\r\n")
        lines = reply_lines(client.sock)
        self.assertTrue(lines[0].startswith("554 5.5.0 "), lines)
        self.assertTrue(lines[1].startswith("421 4.7.0 "), lines)
        self.assertEqual(len(lines), 2, lines)
        self.assertEqual(self.gateway.queued_ids(), [])


class JunkAndErrors(GatewayTestCase):
    def metabase(self):
        return metabase_text([virtual_server("1", "127.0.0.1", self.port,
                                             limits="junk_command_limit: 5 hard_error_limit: 3")])

    def test_junk_commands_up_to_the_limit_end_with_421_4_7_0(self):
        client = greeted(self.port)
        for line in ("NOOP", "RSET", "HELP", "XYZZY"):
            self.assertNotEqual(client.command(line)[0], 421, line)
        code, text = client.command("NOOP")
        self.assertEqual((code, text[:5]), (421, "4.7.0"), text)
        self.assertTrue(client.closed())

    def test_refused_recipients_up_to_the_hard_error_limit_end_with_421_4_7_0(self):
        client = greeted(self.port)
        client.command("MAIL FROM:<s@example.net>")
        self.assertEqual(client.command("RCPT TO:<a@remote.example>"), (550, "5.7.1 Unable to relay"))
        self.assertEqual(client.command("RCPT TO:<b@remote.example>"), (550, "5.7.1 Unable to relay"))
        self.assertEqual(client.command("RCPT TO:<c@remote.example>"), (550, "5.7.1 Unable to relay"))
        code, text = client.reply()
        self.assertEqual((code, text[:5]), (421, "4.7.0"), text)
        self.assertTrue(client.closed())

    def test_repeated_empty_bdat_chunks_are_junk(self):
        client = greeted(self.port)
        client.command("MAIL FROM:<s@example.net>")
        client.command("RCPT TO:<alice@example.com>")
        replies = [client.command("BDAT 0") for _ in range(5)]
        self.assertEqual([code for code, _ in replies[:4]], [250] * 4)
        self.assertEqual((replies[4][0], replies[4][1][:5]), (421, "4.7.0"))
        self.assertTrue(client.closed())
        self.assertEqual(self.gateway.queued_ids(), [])


class ForeignProtocols(GatewayTestCase):
    def test_http_request_is_answered_421_and_closed_at_once(self):
        for request in (b"GET / HTTP/1.1\r\nHost: bh1.example.com\r\n\r\n",
                        b"CONNECT mail.example.net:25 HTTP/1.1\r\n\r\n"):
            with self.subTest(request[:7]):
                client = RawSmtp("127.0.0.1", self.port)
                client.reply()
                client.send(request)
                lines = reply_lines(client.sock)
                self.assertEqual(len(lines), 1, lines)
                self.assertTrue(lines[0].startswith("421 4.7.0 "), lines)


class Replies(GatewayTestCase):
    def test_null_sender_with_a_second_recipient_is_550_5_5_3(self):
        client = greeted(self.port)
        client.command("MAIL FROM:<>")
        self.assertEqual(client.command("RCPT TO:<alice@example.com>")[0], 250)
        code, text = client.command("RCPT TO:<bob@example.com>")
        self.assertEqual((code, text[:5]), (550, "5.5.3"), text)

    def test_envid_or_orcpt_that_decodes_to_cr_lf_or_nul_is_501_5_5_4(self):
        client = greeted(self.port)
        code, text = client.command("MAIL FROM:<s@example.net> ENVID=a+0D+0AX-Injected:+20yes")
        self.assertEqual((code, text[:5]), (501, "5.5.4"), text)
        client.command("MAIL FROM:<s@example.net>")
        code, text = client.command("RCPT TO:<alice@example.com> ORCPT=rfc822;alice+00@example.com")
        self.assertEqual((code, text[:5]), (501, "5.5.4"), text)

    def test_bdat_with_an_unparsable_size_is_421_4_5_4_and_close(self):
        client = greeted(self.port)
        client.command("MAIL FROM:<s@example.net>")
        client.command("RCPT TO:<alice@example.com>")
        code, text = client.command("BDAT lots")
        self.assertEqual((code, text[:5]), (421, "4.5.4"), text)
        self.assertTrue(client.closed())


if __name__ == "__main__":
    unittest.main()
