"""Hot reload of the metabase while sessions are open: virtual servers start,
stop and pause; changed settings apply to new sessions; a broken metabase is
ignored. Open sessions always complete."""

import signal
import socket
import unittest

from gatewayd_fixture import Gateway, RawSmtp, free_port, metabase_text, virtual_server


def open_transaction(port):
    """A session with EHLO, MAIL and one RCPT done."""
    client = RawSmtp("127.0.0.1", port)
    assert client.reply()[0] == 220
    assert client.command("EHLO reload.example.net")[0] == 250
    assert client.command("MAIL FROM:<r@example.net>")[0] == 250
    assert client.command("RCPT TO:<alice@example.com>")[0] == 250
    return client


def finish_transaction(test, client):
    test.assertEqual(client.command("DATA")[0], 354)
    client.send(b"Subject: across a reload\r\n\r\nstill here\r\n.\r\n")
    code, text = client.reply()
    test.assertEqual((code, text[:5]), (250, "2.6.0"))
    test.assertEqual(client.command("QUIT")[0], 221)


def refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


class Reload(unittest.TestCase):
    def setUp(self):
        self.port1 = free_port()
        self.port2 = free_port()
        self.serial = 1
        self.gateway = Gateway(self.metabase([virtual_server("1", "127.0.0.1", self.port1)]))
        self.gateway.start(wait=[("127.0.0.1", self.port1)])

    def tearDown(self):
        self.gateway.stop()

    def metabase(self, servers):
        return metabase_text(servers, serial=self.serial)

    def reload(self, servers):
        self.serial += 1
        self.gateway.rewrite(self.metabase(servers))
        self.gateway.wait_for_log(f"applied metabase serial {self.serial}")

    def test_added_server_starts_and_removed_server_stops_while_its_session_completes(self):
        open_session = open_transaction(self.port1)
        self.reload([virtual_server("1", "127.0.0.1", self.port1), virtual_server("2", "127.0.0.1", self.port2)])
        self.assertEqual(RawSmtp("127.0.0.1", self.port2).reply(), (220, "vs2.example.com ESMTP"))
        self.reload([virtual_server("2", "127.0.0.1", self.port2)])
        self.assertTrue(refused(self.port1))
        finish_transaction(self, open_session)
        self.assertEqual(len(self.gateway.queued_ids()), 1)

    def test_paused_server_accepts_no_connections_but_finishes_open_sessions(self):
        open_session = open_transaction(self.port1)
        self.reload([virtual_server("1", "127.0.0.1", self.port1, state="PAUSED")])
        self.assertTrue(refused(self.port1))
        finish_transaction(self, open_session)
        self.reload([virtual_server("1", "127.0.0.1", self.port1, state="STARTED")])
        self.assertEqual(RawSmtp("127.0.0.1", self.port1).reply()[0], 220)

    def test_changed_limits_apply_to_new_sessions_only(self):
        old_session = open_transaction(self.port1)
        strict = virtual_server("1", "127.0.0.1", self.port1).replace("max_recipients_per_message: 100",
                                                                      "max_recipients_per_message: 1")
        self.reload([strict])
        self.assertEqual(old_session.command("RCPT TO:<bob@example.com>")[0], 250)
        new_session = open_transaction(self.port1)
        self.assertEqual(new_session.command("RCPT TO:<bob@example.com>"), (452, "4.5.3 Too many recipients"))

    def test_broken_metabase_is_ignored_and_the_running_configuration_stays(self):
        with open(self.gateway.metabase_path + ".new", "wb") as f:
            f.write(b"\xff\xffthis is not a metabase")
        import os
        os.rename(self.gateway.metabase_path + ".new", self.gateway.metabase_path)
        self.gateway.wait_for_log("keeping the running configuration")
        self.assertEqual(RawSmtp("127.0.0.1", self.port1).reply()[0], 220)
        self.assertIsNone(self.gateway.proc.poll())

    def test_sigterm_refuses_new_connections_and_lets_a_transaction_in_progress_finish(self):
        open_session = open_transaction(self.port1)
        self.gateway.proc.send_signal(signal.SIGTERM)
        self.gateway.wait_for_log("open session(s)")
        self.assertTrue(refused(self.port1))
        self.assertEqual(open_session.command("DATA")[0], 354)
        open_session.send(b"Subject: across a stop\r\n\r\nstill here\r\n.\r\n")
        code, text = open_session.reply()
        self.assertEqual((code, text[:5]), (250, "2.6.0"))
        # Then, with no transaction left, the session is closed.
        code, text = open_session.reply()
        self.assertEqual((code, text[:5]), (421, "4.3.2"))
        self.assertEqual(self.gateway.proc.wait(timeout=10), 0)
        self.assertEqual(len(self.gateway.queued_ids()), 1)

    def test_conflicting_bindings_are_rejected_as_a_whole(self):
        self.serial += 1
        self.gateway.rewrite(self.metabase([virtual_server("1", "127.0.0.1", self.port1),
                                            virtual_server("2", "127.0.0.1", self.port1)]))
        self.gateway.wait_for_log("already bound by another virtual server")
        self.assertEqual(RawSmtp("127.0.0.1", self.port1).reply(), (220, "vs1.example.com ESMTP"))


if __name__ == "__main__":
    unittest.main()
